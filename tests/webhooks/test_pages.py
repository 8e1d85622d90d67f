"""The Webhooks pages: administrators only; the list with each endpoint's health, the add form (USWDS errors,
the secret shown once), pause/resume/remove, and the delivery log (newest first, paginated, filtered by state,
each attempt, Retry now). Query counts are pinned at N and N+10 rows."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record_event
from tests.webhooks.conftest import add_endpoint
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import collect_deliveries
from webhooks.views import LOG_PAGE_SIZE


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def _deliveries(endpoint, count, *, state="failing"):
    for index in range(count):
        record_event("rule.push", actor=None, data={"n": index})
    collect_deliveries()
    now = timezone.now()
    for delivery in endpoint.deliveries.filter(state="pending"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(state=state, attempt_count=1)
        WebhookAttempt.objects.create(
            delivery=delivery, started_at=now, duration_ms=12, status_code=503, error="HTTP 503 Service Unavailable"
        )


def test_the_list_shows_each_endpoint_with_its_health(admin_client, superuser):
    endpoint, secret = add_endpoint(superuser, "https://198.51.100.7/hook", events="rule.")
    _deliveries(endpoint, 2)
    response = admin_client.get(reverse("webhook-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "SIEM" in body and "https://198.51.100.7/hook" in body and "rule." in body
    assert 'class="usa-tag pdp-tag pdp-tag--warning">2<' in body  # two failing
    assert secret not in body
    assert f'href="{reverse("webhook-list")}"' in body  # the navigation link, for an administrator


def test_the_navigation_offers_webhooks_to_administrators_only(client, release_manager):
    client.force_login(release_manager)
    assert reverse("webhook-list").encode() not in client.get(reverse("home")).content
    assert client.get(reverse("webhook-list")).status_code == 403


def test_adding_shows_the_secret_once(admin_client):
    response = admin_client.post(
        reverse("webhook-list"), {"name": "SIEM", "url": "https://198.51.100.7/hook", "events": "release., fund.create"}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 200
    assert endpoint.secret.encode() in response.content
    assert endpoint.events == ["fund.create", "release."]
    assert endpoint.secret.encode() not in admin_client.get(reverse("webhook-list")).content


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "SIEM", "url": "gopher://198.51.100.7/"}, "url", "must start with https://"),
        ({"name": "SIEM", "url": "http://127.0.0.1/"}, "url", "private or loopback address"),
        (
            {"name": "SIEM", "url": "https://198.51.100.7/", "events": "bogus.thing"},
            "events",
            "matches no audit action",
        ),
        ({"name": "", "url": "https://198.51.100.7/"}, "name", "Give the endpoint a name"),
        ({"name": "SIEM", "url": "https://198.51.100.7/" + "a" * 600}, "url", "Ensure this value has at most 500"),
    ],
)
def test_a_refused_endpoint_is_shown_on_the_form_and_nothing_is_stored(admin_client, settings, data, field, message):
    settings.PDP_WEBHOOK_ALLOW_PRIVATE = "127.0.0.1" not in data["url"]
    response = admin_client.post(reverse("webhook-list"), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "The endpoint was not added" in body and message in body
    assert f'id="id_{field}_error"' in body and 'aria-invalid="true"' in body
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("who", ["release_manager", "outsider"])
def test_someone_not_an_administrator_cannot_add_one(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("webhook-list"), {"name": "SIEM", "url": "https://198.51.100.7/hook"})
    assert response.status_code == 403 and not WebhookEndpoint.objects.exists()


def test_pause_resume_and_remove_from_the_list(admin_client, superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    assert admin_client.post(reverse("webhook-pause", args=[endpoint.pk])).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    page = admin_client.get(reverse("webhook-list")).content.decode()
    assert reverse("webhook-resume", args=[endpoint.pk]) in page and "paused" in page
    again = admin_client.post(reverse("webhook-pause", args=[endpoint.pk]), follow=True)
    assert "is paused already" in again.content.decode()
    admin_client.post(reverse("webhook-resume", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active
    admin_client.post(reverse("webhook-remove", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists()
    assert admin_client.post(reverse("webhook-remove", args=[endpoint.pk])).status_code == 404


def test_the_delivery_log_lists_deliveries_newest_first_with_their_attempts(admin_client, superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    _deliveries(endpoint, 3)
    response = admin_client.get(reverse("webhook-deliveries", args=[endpoint.pk]))
    body = response.content.decode()
    ids = list(endpoint.deliveries.order_by("-id").values_list("pk", flat=True))
    positions = [body.index(f"#{pk}</th>") for pk in ids]
    assert positions == sorted(positions)
    assert body.count("HTTP 503") == 3 and "12 ms" in body
    assert body.count("Retry now") == 3


def test_the_delivery_log_filters_by_state_and_paginates(admin_client, superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    _deliveries(endpoint, LOG_PAGE_SIZE + 2)
    WebhookDelivery.objects.filter(pk=endpoint.deliveries.order_by("id").first().pk).update(state="delivered")
    url = reverse("webhook-deliveries", args=[endpoint.pk])
    delivered = admin_client.get(url, {"state": "delivered"}).content.decode()
    assert "(1 in all)" in delivered and "Retry now" not in delivered
    first = admin_client.get(url, {"state": "failing"}).content.decode()
    assert f"({LOG_PAGE_SIZE + 1} in all)" in first and first.count("Retry now") == LOG_PAGE_SIZE
    assert "?state=failing&amp;page=2" in first
    second = admin_client.get(url, {"state": "failing", "page": 2}).content.decode()
    assert second.count("Retry now") == 1


def test_an_unknown_state_is_a_clear_error(admin_client, superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    response = admin_client.get(reverse("webhook-deliveries", args=[endpoint.pk]), {"state": "<script>"})
    assert response.status_code == 400
    assert "Unknown state" in response.content.decode() and b"<script>" not in response.content


def test_retry_now_from_the_log(admin_client, superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    _deliveries(endpoint, 1, state="gave_up")
    delivery = endpoint.deliveries.get()
    response = admin_client.post(reverse("webhook-retry", args=[delivery.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("webhook-deliveries", args=[endpoint.pk])
    delivery.refresh_from_db()
    assert delivery.state == "failing"
    assert AuditEvent.objects.filter(action="webhook.delivery.retry", outcome="done").count() == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="delivered")
    refused = admin_client.post(reverse("webhook-retry", args=[delivery.pk]), follow=True)
    assert refused.status_code == 200 and "nothing to retry" in refused.content.decode()
    assert list(AuditEvent.objects.filter(action="webhook.delivery.retry").values_list("outcome", flat=True)) == [
        "done",
        "refused",
    ]


def _count(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_takes_the_same_queries_for_n_and_n_plus_10_endpoints(
    admin_client, superuser, django_assert_max_num_queries
):
    for index in range(2):
        _deliveries(add_endpoint(superuser, f"https://198.51.100.7/{index}", name=f"E{index}")[0], 2)
    url = reverse("webhook-list")
    baseline = _count(admin_client, url)
    for index in range(2, 12):
        _deliveries(add_endpoint(superuser, f"https://198.51.100.7/{index}", name=f"E{index}")[0], 2)
    with django_assert_max_num_queries(baseline):
        assert admin_client.get(url).content.count(b"/pause/") == 12


def test_the_delivery_log_takes_the_same_queries_for_n_and_n_plus_10_deliveries(
    admin_client, superuser, django_assert_max_num_queries
):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    _deliveries(endpoint, 2)
    url = reverse("webhook-deliveries", args=[endpoint.pk])
    baseline = _count(admin_client, url)
    _deliveries(endpoint, 10)
    with django_assert_max_num_queries(baseline):
        assert admin_client.get(url).content.count(b"Retry now") == 12
