"""/metrics is served with the bearer token, or to PDP_METRICS_ALLOWED_NETWORKS; anyone else gets a 403 JSON."""

import pytest

from audit.models import AuditEvent, RefusalTally

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def guarded(settings):
    settings.PDP_METRICS_TOKEN = TOKEN
    settings.PDP_METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128", "10.20.0.0/16"]
    return settings


def status(client, remote_addr, authorization=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    return client.get("/metrics", **extra).status_code


@pytest.mark.django_db
def test_served_from_the_allowed_networks(client, guarded):
    assert [status(client, a) for a in ("127.0.0.1", "::1", "10.20.3.4", "::ffff:127.0.0.1")] == [200] * 4


@pytest.mark.django_db
def test_refused_from_other_networks_without_the_token(client, guarded):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert "PDP_METRICS_TOKEN" in response.json()["detail"]
    assert [status(client, a) for a in ("10.21.0.1", "127.0.0.2", "::2", "not-an-address", "")] == [403] * 5


@pytest.mark.django_db
def test_served_anywhere_with_the_token_and_refused_with_a_wrong_one(client, guarded):
    assert status(client, "203.0.113.9", f"Bearer {TOKEN}") == 200
    assert status(client, "203.0.113.9", f"bearer {TOKEN}") == 200
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Token {TOKEN}", TOKEN, "Bearer ", ""):
        assert status(client, "203.0.113.9", wrong) == 403, wrong


@pytest.mark.django_db
def test_no_token_configured_opens_nothing(client, settings):
    """Without PDP_METRICS_TOKEN, a bearer header (even an empty one) opens nothing: only the networks count."""
    settings.PDP_METRICS_TOKEN = ""
    assert status(client, "203.0.113.9", "Bearer ") == 403
    assert status(client, "203.0.113.9", "Bearer") == 403


@pytest.mark.django_db
def test_an_empty_network_list_means_token_only(client, guarded):
    guarded.PDP_METRICS_ALLOWED_NETWORKS = []
    assert status(client, "127.0.0.1") == 403
    assert status(client, "127.0.0.1", f"Bearer {TOKEN}") == 200


@pytest.mark.django_db
def test_a_refusal_of_a_signed_in_person_is_not_a_portal_refusal(client, guarded, outsider):
    """The audit middleware does not count /metrics refusals (nor probes) as refused page requests."""
    client.force_login(outsider)
    before = AuditEvent.objects.count()
    assert status(client, "203.0.113.9") == 403
    assert AuditEvent.objects.count() == before
    assert not RefusalTally.objects.exists()
