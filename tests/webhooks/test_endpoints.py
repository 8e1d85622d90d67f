"""Adding, pausing, resuming and removing webhook endpoints, and retrying a delivery: each one audit event,
administrators only, bad input refused naming its field with nothing stored."""

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record_event
from engine.errors import InvalidInput
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from tests.webhooks.conftest import add_endpoint
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    collect_deliveries,
    delivery_counts,
    pause_endpoint,
    remove_endpoint,
    resume_endpoint,
    retry_delivery,
)


def last(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def test_create_stores_the_endpoint_records_it_and_returns_the_secret_once(superuser):
    """The endpoint starts active after its own create event; the event names it but never holds the secret."""
    endpoint, secret = add_endpoint(superuser, "https://198.51.100.7/hook", events="release., fund.create")
    assert secret.startswith("whsec_") and len(secret) > 40 and endpoint.secret == secret
    assert (endpoint.is_active, endpoint.events, endpoint.created_by) == (True, ["fund.create", "release."], superuser)
    event = last("webhook.endpoint.create")
    assert (event.outcome, event.actor, event.target_id) == ("done", superuser, str(endpoint.pk))
    assert event.data == {
        "endpoint": endpoint.pk,
        "name": "SIEM",
        "url": "https://198.51.100.7/hook",
        "events": ["fund.create", "release."],
    }
    assert endpoint.cursor == event.pk
    assert secret not in str(event.data) and secret not in event.target_repr


def test_each_endpoint_gets_its_own_secret(superuser):
    _, one = add_endpoint(superuser, "https://198.51.100.7/a", name="A")
    _, two = add_endpoint(superuser, "https://198.51.100.7/b", name="B")
    assert one != two


HOSTILE = [
    ("url", "", "Enter the URL"),
    ("url", "ftp://198.51.100.7/hook", "must start with https://"),
    ("url", "javascript:alert(1)", "must start with https://"),
    ("url", "https:///nohost", "names no host"),
    ("url", "https://user:pw@198.51.100.7/", "no user name or password"),
    ("url", "https://198.51.100.7/a b", "spaces or control characters"),
    ("url", "https://198.51.100.7:99999/", "cannot be read"),
    ("url", "https://" + "a" * 600 + ".org/", "at most 500"),
    ("events", "release.*", "is not an action name"),
    ("events", "DROP TABLE", "is not an action name"),
    ("events", "nonsense.thing", "matches no audit action"),
    ("events", "<script>.", "is not an action name"),
    ("name", "   ", "Give the endpoint a name"),
    ("name", "x" * 101, "at most 100"),
]


@pytest.mark.parametrize(("field", "value", "message"), HOSTILE, ids=[f"{f}:{v[:20]}" for f, v, _ in HOSTILE])
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(superuser, field, value, message):
    given = {"name": "SIEM", "url": "https://198.51.100.7/hook", "events": "", field: value}
    with pytest.raises(InvalidInput) as refused:
        add_endpoint(superuser, given["url"], name=given["name"], events=given["events"])
    assert message in refused.value.message
    assert set(refused.value.details["fields"]) == {field}
    assert not WebhookEndpoint.objects.exists()
    assert last("webhook.endpoint.create").outcome == "refused"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_private_or_loopback_address_is_refused_unless_allowed(superuser, settings, url):
    settings.PDP_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(InvalidInput, match="private or loopback address"):
        add_endpoint(superuser, url)
    assert not WebhookEndpoint.objects.exists()
    settings.PDP_WEBHOOK_ALLOW_PRIVATE = True
    assert add_endpoint(superuser, url)[0].url == url


def test_a_filter_may_name_an_action_already_in_the_history(superuser):
    """An action outside the portal's families is accepted once the history holds it (another app's, say)."""
    with pytest.raises(InvalidInput):
        add_endpoint(superuser, "https://198.51.100.7/hook", events="partner.sync")
    record_event("partner.sync", actor=None)
    assert add_endpoint(superuser, "https://198.51.100.7/hook", events="partner.sync")[0].events == ["partner.sync"]


def test_a_second_endpoint_of_the_same_name_is_refused(superuser):
    add_endpoint(superuser, "https://198.51.100.7/a")
    with pytest.raises(InvalidInput, match="exists already"):
        add_endpoint(superuser, "https://198.51.100.7/b")
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize("who", ["release_manager", "counsel", "outsider"])
def test_only_an_administrator_may_add_one(request, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        add_endpoint(actor, "https://198.51.100.7/hook")
    assert not WebhookEndpoint.objects.exists()
    event = last("webhook.endpoint.create")
    assert (event.outcome, event.actor) == ("refused", actor)


def test_pause_and_resume_are_recorded_and_a_paused_endpoint_takes_nothing_until_resumed(superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    pause_endpoint(endpoint, actor=superuser)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert last("webhook.endpoint.pause").data["endpoint"] == endpoint.pk
    with pytest.raises(InvalidTransition):
        pause_endpoint(endpoint, actor=superuser)
    record_event("rule.push", actor=None)
    assert collect_deliveries() == 0
    resume_endpoint(endpoint, actor=superuser)
    endpoint.refresh_from_db()
    assert endpoint.is_active and last("webhook.endpoint.resume").actor == superuser
    # What happened while paused is delivered after: the pause, the refused second pause, the push, the resume.
    assert collect_deliveries() == 4
    taken = list(endpoint.deliveries.order_by("event_id").values_list("event__action", "event__outcome"))
    assert taken == [
        ("webhook.endpoint.pause", "done"),
        ("webhook.endpoint.pause", "refused"),
        ("rule.push", "done"),
        ("webhook.endpoint.resume", "done"),
    ]


def test_pause_by_someone_else_is_refused_and_changes_nothing(superuser, release_manager):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    with pytest.raises(NotPermitted):
        pause_endpoint(endpoint, actor=release_manager)
    endpoint.refresh_from_db()
    assert endpoint.is_active and last("webhook.endpoint.pause").outcome == "refused"


def test_remove_deletes_the_endpoint_and_its_log_and_records_what_it_had(superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    record_event("rule.push", actor=None)
    collect_deliveries()
    remove_endpoint(endpoint, actor=superuser)
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    event = last("webhook.endpoint.remove")
    assert (event.actor, event.data["name"], event.data["deliveries"]) == (superuser, "SIEM", {"pending": 1})


def test_retry_makes_a_given_up_delivery_due_now_and_is_recorded(superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    record_event("rule.push", actor=None)
    collect_deliveries()
    delivery = endpoint.deliveries.get()
    later = timezone.now() + timezone.timedelta(hours=2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="gave_up", attempt_count=8, next_attempt_at=later)
    with pytest.raises(NotPermitted):
        retry_delivery(delivery, actor=endpoint.created_by.__class__.objects.create(username="nobody"))
    retry_delivery(delivery, actor=superuser)
    delivery.refresh_from_db()
    assert delivery.state == "failing" and delivery.next_attempt_at <= timezone.now()
    event = last("webhook.delivery.retry")
    assert (event.outcome, event.data["delivery"], event.data["from"]) == ("done", delivery.pk, "gave_up")


def test_a_delivered_or_pending_delivery_cannot_be_retried(superuser):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    collect_deliveries()
    record_event("rule.push", actor=None)
    collect_deliveries()
    delivery = endpoint.deliveries.get()
    with pytest.raises(InvalidTransition, match="nothing to retry"):
        retry_delivery(delivery, actor=superuser)
    assert last("webhook.delivery.retry").outcome == "refused"


def test_delivery_counts_names_every_state(superuser):
    assert delivery_counts() == {"pending": 0, "delivered": 0, "failing": 0, "gave_up": 0}
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    for _ in range(3):
        record_event("rule.push", actor=None)
    collect_deliveries()
    WebhookDelivery.objects.filter(pk=endpoint.deliveries.order_by("id").first().pk).update(state="failing")
    assert delivery_counts() == {"pending": 2, "delivered": 0, "failing": 1, "gave_up": 0}
