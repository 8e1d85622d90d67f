"""The worker's delivery against a real receiver on 127.0.0.1: signed, filtered, retried with back-off,
given up after the last attempt; a receiver that fails or hangs never touches the audit append."""

import hashlib
import hmac
import json
import time

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record_event
from tests.webhooks.conftest import add_endpoint
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import backoff_seconds, collect_deliveries, dispatch, send_due_deliveries
from webhooks.tasks import dispatch_task


def verify(secret, headers, body, *, tolerance=300):
    """What a receiver does (docs/operation.md): recompute the HMAC over "<t>.<body>" and compare in constant time."""
    parts = dict(item.split("=", 1) for item in headers["X-PDP-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < tolerance


@pytest.fixture
def no_wait(settings):
    """Retries due at once, so one test can walk a delivery through every attempt."""
    settings.PDP_WEBHOOK_BACKOFF_SECONDS = [0.0]


def test_an_event_arrives_signed_with_the_endpoint_secret(superuser, receiver):
    endpoint, secret = add_endpoint(superuser, receiver.url)
    event = record_event("rule.push", actor=superuser, data={"number": 1})
    assert dispatch() == {"collected": 1, "delivered": 1, "failed": 0}
    (got,) = receiver.received
    assert verify(secret, got.headers, got.body)
    assert not verify("whsec_another", got.headers, got.body)
    assert not verify(secret, got.headers, got.body.replace(b'"number":1', b'"number":2'))
    delivery = endpoint.deliveries.get()
    assert got.headers["X-PDP-Event"] == "rule.push"
    assert got.headers["X-PDP-Delivery"] == str(delivery.pk)
    assert got.headers["Content-Type"] == "application/json"
    assert got.json == {
        "id": event.pk,
        "time": event.created_at.isoformat(),
        "actor": "root",
        "action": "rule.push",
        "outcome": "done",
        "object": None,
        "rule": None,
        "details": {"number": 1},
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }
    assert (delivery.state, delivery.attempt_count) == ("delivered", 1)
    attempt = delivery.attempts.get()
    assert (attempt.status_code, attempt.error, attempt.response_excerpt) == (200, "", "ok")


def test_a_filter_delivers_only_the_matching_actions(superuser, receiver):
    add_endpoint(superuser, receiver.url, events="release., fund.create")
    for action in ("rule.push", "release.promote", "fund.create", "fund.change", "release.rollback", "releases.x"):
        record_event(action, actor=None)
    dispatch()
    assert sorted(r.headers["X-PDP-Event"] for r in receiver.received) == [
        "fund.create",
        "release.promote",
        "release.rollback",
    ]


def test_a_receiver_answering_500_then_200_gets_a_retry_and_two_attempts_are_logged(superuser, receiver, settings):
    receiver.statuses = [500, 200]
    endpoint, _ = add_endpoint(superuser, receiver.url)
    record_event("rule.push", actor=None)
    assert dispatch()["failed"] == 1
    delivery = endpoint.deliveries.get()
    assert (delivery.state, delivery.attempt_count) == ("failing", 1)
    # Backed off by the first step of the schedule (10 s), with jitter.
    wait = (delivery.next_attempt_at - delivery.attempts.get().started_at).total_seconds()
    assert 7.9 <= wait <= 12.1
    assert send_due_deliveries() == {"delivered": 0, "failed": 0}  # not due yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert send_due_deliveries() == {"delivered": 1, "failed": 0}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == ("delivered", 2)
    first, second = delivery.attempts.all()
    assert (first.status_code, first.error, first.response_excerpt) == (
        500,
        "HTTP 500 Internal Server Error",
        "receiver says no",
    )
    assert (second.status_code, second.error) == (200, "")
    # The same delivery id both times: the receiver's idempotency key.
    assert receiver.delivery_ids() == [str(delivery.pk)] * 2


def test_the_back_off_grows_and_stays_at_its_last_step_with_jitter():
    steps = [10, 30, 120, 600, 1800, 7200, 7200, 7200]
    for attempts, base in enumerate(steps, start=1):
        values = [backoff_seconds(attempts) for _ in range(50)]
        assert all(0.8 * base <= v <= 1.2 * base for v in values)
        assert len(set(values)) > 1


def test_a_receiver_that_is_down_fails_then_is_given_up_after_the_last_attempt(superuser, down_url, settings, no_wait):
    settings.PDP_WEBHOOK_MAX_ATTEMPTS = 3
    endpoint, _ = add_endpoint(superuser, down_url)
    record_event("rule.push", actor=None)
    collect_deliveries()
    states = []
    for _ in range(4):
        send_due_deliveries()
        states.append(endpoint.deliveries.values_list("state", "attempt_count").get())
    assert states == [("failing", 1), ("failing", 2), ("gave_up", 3), ("gave_up", 3)]
    errors = list(WebhookAttempt.objects.values_list("status_code", "error"))
    assert len(errors) == 3 and all(code is None and "refused" in error.lower() for code, error in errors), errors


def test_a_receiver_that_hangs_times_out_and_counts_as_a_failure(superuser, receiver, settings):
    settings.PDP_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    endpoint, _ = add_endpoint(superuser, receiver.url)
    record_event("rule.push", actor=None)
    started = time.perf_counter()
    assert dispatch()["failed"] == 1
    assert time.perf_counter() - started < 0.9
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "timed out" in attempt.error and 250 <= attempt.duration_ms < 900
    assert endpoint.deliveries.get().state == "failing"


def test_a_redirect_is_not_followed(superuser, receiver):
    receiver.statuses = [302]
    endpoint, _ = add_endpoint(superuser, receiver.url)
    record_event("rule.push", actor=None)
    dispatch()
    assert len(receiver.received) == 1
    assert endpoint.deliveries.get().state == "failing"
    assert WebhookAttempt.objects.get().status_code == 302


def test_a_failing_endpoint_costs_one_attempt_per_run_and_does_not_hold_up_another(superuser, receiver, down_url):
    dead, _ = add_endpoint(superuser, down_url, name="Dead")
    alive, _ = add_endpoint(superuser, receiver.url, name="Alive")
    for _ in range(5):
        record_event("rule.push", actor=None)
    result = dispatch()
    assert dead.deliveries.filter(attempt_count=1).count() == 1
    assert alive.deliveries.filter(state="delivered").count() == alive.deliveries.count() == 5
    assert result["failed"] == 1


def test_the_response_body_is_kept_only_as_a_short_excerpt(superuser, receiver):
    receiver.statuses = [500]
    add_endpoint(superuser, receiver.url)
    record_event("rule.push", actor=None)
    dispatch()
    assert len(WebhookAttempt.objects.get().response_excerpt) <= WebhookAttempt.EXCERPT


def test_the_collection_is_bounded_and_the_cursor_moves_past_unmatched_events(superuser, receiver, settings):
    settings.PDP_WEBHOOK_BATCH = 4
    endpoint, _ = add_endpoint(superuser, receiver.url, events="fund.create")
    for index in range(10):
        record_event("fund.create" if index % 2 else "rule.push", actor=None)
    made = [collect_deliveries() for _ in range(4)]
    assert made == [2, 2, 1, 0]
    endpoint.refresh_from_db()
    assert endpoint.cursor == AuditEvent.objects.order_by("-id").first().pk
    assert endpoint.deliveries.count() == 5


def test_the_beat_task_runs_the_loop(superuser, receiver, settings):
    assert settings.CELERY_BEAT_SCHEDULE["webhooks-dispatch"]["task"] == "webhooks.tasks.dispatch"
    add_endpoint(superuser, receiver.url)
    record_event("rule.push", actor=None)
    assert dispatch_task.delay().get() == {"collected": 1, "delivered": 1, "failed": 0}
    assert json.loads(receiver.received[0].body)["action"] == "rule.push"


def test_the_address_is_checked_again_before_each_request(superuser, receiver, settings):
    """An endpoint whose host is private by the time of sending gets no request: a failed attempt says why."""
    endpoint, _ = add_endpoint(superuser, receiver.url)
    settings.PDP_WEBHOOK_ALLOW_PRIVATE = False
    record_event("rule.push", actor=None)
    assert dispatch()["failed"] == 1
    assert receiver.received == []
    assert "private or loopback address" in WebhookAttempt.objects.get().error
    assert endpoint.deliveries.get().state == "failing"
