"""The Datasets and Funds lists make the same number of queries however many rows they show."""

import polars as pl
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budget.services import create_fund, upload_dataset

from .conftest import parquet_bytes


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _upload(actor, start, count):
    for i in range(start, start + count):
        raw = parquet_bytes(pl.DataFrame({"id": [i], "age": [30 + i], "weight": [1.5]}))
        upload_dataset(raw, actor=actor, name=f"Dataset {i}", filename=f"d{i}.parquet")


def _funds(actor, start, count):
    for i in range(start, start + count):
        create_fund(actor=actor, code=f"FUND-{i:03d}", name=f"Fund {i}", appropriation=1000 * i, fiscal_year=2025)


def test_datasets_list_query_count_is_flat(client, django_assert_num_queries, budget_officer):
    """The datasets list at 5 and 50 datasets makes the same queries."""
    _upload(budget_officer, 0, 5)
    client.force_login(budget_officer)
    url = reverse("dataset-list")
    baseline = _count_queries(client, url)
    _upload(budget_officer, 5, 45)
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert response.content.decode().count("Make default<span") == 50


def test_funds_list_query_count_is_flat(client, django_assert_num_queries, in_production, budget_officer):
    """The funds list at 5 and 50 funds (with a rule live in production on one) makes the same queries."""
    create_fund(actor=budget_officer, code="DRF-FY2025", name="Relief", appropriation=10**9, fiscal_year=2025)
    _funds(budget_officer, 0, 4)
    client.force_login(budget_officer)
    url = reverse("fund-list")
    baseline = _count_queries(client, url)
    _funds(budget_officer, 4, 45)
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert response.content.decode().count(">Edit<span") == 50
