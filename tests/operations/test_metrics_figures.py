"""/metrics: the portal's figures are there and move with what happens."""

import pytest
from django.utils import timezone

from audit.services import record_event
from checks.models import CheckRun
from deployments.services import promote
from operations import metrics
from operations.models import AuditChainCheck
from operations.services import record_worker_beat, verify_audit_chain
from tests.conftest import document

NAMES = (
    "pdp_checks",
    "pdp_check_oldest_age_seconds",
    "pdp_audit_appends_total",
    "pdp_audit_last_append_timestamp_seconds",
    "pdp_audit_chain_verified",
    "pdp_audit_chain_verified_timestamp_seconds",
    "pdp_worker_last_beat_timestamp_seconds",
    "pdp_decision_log_lag_seconds",
    "pdp_decision_log_pending",
    "pdp_decision_log_dropped_total",
    "pdp_metrics_database_up",
    "django_http_requests_before_middlewares_total",
)


def value(figures, name, **labels):
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_the_metric_names_are_there(figures):
    names = {name for name, _ in figures()}
    missing = [name for name in NAMES if name not in names]
    assert missing == []
    assert value(figures(), "pdp_metrics_database_up") == 1


def test_checks_gauges_move_when_a_check_is_queued_and_runs(figures, drafter, push_queued):
    before = figures()
    version = push_queued(actor=drafter)
    after_push = figures()
    assert value(after_push, "pdp_checks", status="queued") == value(before, "pdp_checks", status="queued") + 1
    assert value(after_push, "pdp_check_oldest_age_seconds", status="queued") >= 0
    lint = version.checks.get(kind=CheckRun.Kind.LINT)
    CheckRun.objects.filter(pk=lint.pk).update(status="running", started_at=timezone.now())
    running = figures()
    assert value(running, "pdp_checks", status="running") == value(before, "pdp_checks", status="running") + 1
    assert value(running, "pdp_checks", status="queued") == value(before, "pdp_checks", status="queued")
    CheckRun.objects.filter(pk=lint.pk).update(status="failed", finished_at=timezone.now(), duration_s=0.7)
    failed = figures()
    assert value(failed, "pdp_checks", status="failed") == value(before, "pdp_checks", status="failed") + 1
    assert value(failed, "pdp_check_duration_seconds_count", kind="lint") == 1
    assert value(failed, "pdp_check_duration_seconds_bucket", kind="lint", le="0.5") == 0
    assert value(failed, "pdp_check_duration_seconds_bucket", kind="lint", le="1.0") == 1
    assert value(failed, "pdp_check_duration_seconds_sum", kind="lint") == pytest.approx(0.7)


def test_finished_checks_fill_the_duration_histogram(figures, in_review):
    """A push that ran lint and simulation: both durations are in, each under +Inf."""
    now = figures()
    for kind in ("lint", "simulation"):
        run = in_review.checks.get(kind=kind)
        assert value(now, "pdp_check_duration_seconds_count", kind=kind) >= 1
        assert value(now, "pdp_check_duration_seconds_bucket", kind=kind, le="+Inf") >= 1
        assert value(now, "pdp_check_duration_seconds_sum", kind=kind) >= run.duration_s


def test_promotions_and_rollbacks_are_counted(figures, on_staging, release_manager):
    before = figures()
    assert value(before, "pdp_deployments_total", kind="promote", environment="staging") >= 1
    promote(on_staging.rule, actor=release_manager)
    after = figures()
    assert value(after, "pdp_deployments_total", kind="promote", environment="production") == (
        value(before, "pdp_deployments_total", kind="promote", environment="production") + 1
    )


@pytest.mark.django_db
def test_audit_appends_move(figures):
    before = value(figures(), "pdp_audit_appends_total")
    event = record_event("test.counted", actor=None)
    after = figures()
    assert value(after, "pdp_audit_appends_total") == event.pk > before
    assert value(after, "pdp_audit_last_append_timestamp_seconds") == pytest.approx(event.created_at.timestamp())


@pytest.mark.django_db
def test_the_chain_verification_and_the_beat_show(figures):
    assert value(figures(), "pdp_audit_chain_verified") == 0  # none has run yet
    record_event("test.verified", actor=None)
    check = verify_audit_chain()
    beat = record_worker_beat("celery@metrics")
    now = figures()
    assert value(now, "pdp_audit_chain_verified") == 1
    assert value(now, "pdp_audit_chain_verified_timestamp_seconds") == pytest.approx(check.finished_at.timestamp())
    assert value(now, "pdp_worker_last_beat_timestamp_seconds") == pytest.approx(beat.beat_at.timestamp())


@pytest.mark.django_db
def test_a_failed_chain_verification_shows_as_0(figures, settings):
    settings.PDP_AUDIT_KEY = "another-key"
    record_event("test.sealed-elsewhere", actor=None)
    settings.PDP_AUDIT_KEY = "the-portal's-own-key"
    check = verify_audit_chain()
    assert not check.verified and AuditChainCheck.objects.newest() == check
    assert value(figures(), "pdp_audit_chain_verified") == 0


@pytest.mark.django_db
def test_the_decision_api_moves_its_figures(figures):
    labels = {"rule": "wildfire-aid-2024", "version": "3", "environment": "production"}
    before = figures()
    metrics.count_decisions("wildfire-aid-2024", 3, "production")
    metrics.count_decisions("wildfire-aid-2024", "3", "production", n=4)
    metrics.set_decision_log_state(pending=17, lag_seconds=2.5)
    metrics.count_dropped(2)
    after = figures()
    assert value(after, "pdp_decisions_total", **labels) == value(before, "pdp_decisions_total", **labels) + 5
    assert value(after, "pdp_decision_log_pending") == 17
    assert value(after, "pdp_decision_log_lag_seconds") == 2.5
    assert value(after, "pdp_decision_log_dropped_total") == value(before, "pdp_decision_log_dropped_total") + 2
    metrics.set_decision_log_state(pending=0, lag_seconds=0)
    assert value(figures(), "pdp_decision_log_pending") == 0


def test_the_decision_api_refuses_counts_that_go_down():
    for call in (
        lambda: metrics.count_decisions("r", 1, "production", n=-1),
        lambda: metrics.count_dropped(-1),
        lambda: metrics.set_decision_log_state(pending=-1, lag_seconds=0),
        lambda: metrics.set_decision_log_state(pending=0, lag_seconds=-0.1),
    ):
        with pytest.raises(ValueError):
            call()


def test_a_scrape_costs_the_same_few_queries_however_much_history(client, drafter, push, django_assert_max_num_queries):
    """Seven aggregate queries, at one pushed version and at eleven."""
    push(actor=drafter)
    with django_assert_max_num_queries(7):
        assert client.get("/metrics").status_code == 200
    for number in range(10):
        push(document(rule=f"metrics-rule-{number}"), actor=drafter)
    with django_assert_max_num_queries(7):
        assert client.get("/metrics").status_code == 200


def test_failing_webhook_deliveries_show_in_the_metrics(client, superuser):
    from django.utils import timezone

    from audit.services import record_event
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        name="siem", url="https://siem.example.org/in", secret="s", created_by=superuser, created_at=now
    )
    event = record_event("demo.seed", actor=None)
    WebhookDelivery.objects.create(endpoint=endpoint, event=event, state="failing", created_at=now, next_attempt_at=now)
    text = client.get("/metrics").content.decode()
    assert "pdp_webhook_deliveries_failing 1.0" in text
    assert 'pdp_webhook_deliveries{state="failing"} 1.0' in text
