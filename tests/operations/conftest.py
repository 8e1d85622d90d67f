"""Helpers of the operations tests: reading /metrics as figures."""

import pytest
from prometheus_client.parser import text_string_to_metric_families


def scrape(client, **extra):
    """GET /metrics and return {(sample name, sorted labels): value}; fails unless it answered 200."""
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.fixture
def figures(client):
    return lambda **extra: scrape(client, **extra)
