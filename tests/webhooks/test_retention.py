"""The delivery log's retention: finished deliveries older than PDP_WEBHOOK_DELIVERY_DAYS go, with their
attempts, in one audited purge; deliveries still being tried stay whatever their age."""

from datetime import timedelta

from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record_event
from tests.webhooks.conftest import add_endpoint
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import collect_deliveries, purge_deliveries


def deliveries(superuser, states):
    endpoint, _ = add_endpoint(superuser, "https://198.51.100.7/hook")
    for _ in states:
        record_event("rule.push", actor=None)
    collect_deliveries()
    made = list(endpoint.deliveries.order_by("id"))
    for delivery, state in zip(made, states, strict=True):
        delivery.state = state
        delivery.save(update_fields=["state"])
        WebhookAttempt.objects.create(delivery=delivery, started_at=timezone.now(), duration_ms=5, status_code=500)
    return made


def test_finished_deliveries_past_retention_are_removed_with_their_attempts_and_audited(superuser, settings):
    settings.PDP_WEBHOOK_DELIVERY_DAYS = 30
    now = timezone.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    delivered_old, gave_up_old, failing_old, pending_old, delivered_recent = deliveries(
        superuser, ["delivered", "gave_up", "failing", "pending", "delivered"]
    )
    WebhookDelivery.objects.filter(pk=delivered_old.pk).update(delivered_at=old, created_at=old)
    WebhookDelivery.objects.filter(pk__in=[gave_up_old.pk, failing_old.pk, pending_old.pk]).update(created_at=old)
    WebhookDelivery.objects.filter(pk=delivered_recent.pk).update(delivered_at=recent, created_at=old)

    assert purge_deliveries(now=now) == {"deliveries_removed": 2, "attempts_removed": 2}

    kept = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert kept == {failing_old.pk, pending_old.pk, delivered_recent.pk}
    assert set(WebhookAttempt.objects.values_list("delivery_id", flat=True)) == kept
    event = AuditEvent.objects.filter(action="webhook.delivery.purge").get()
    assert (event.actor, event.outcome) == (None, "done")
    assert event.data == {
        "deliveries_removed": 2,
        "attempts_removed": 2,
        "before": (now - timedelta(days=30)).isoformat(),
    }


def test_a_purge_that_removes_nothing_records_nothing(superuser):
    deliveries(superuser, ["delivered", "failing"])
    WebhookDelivery.objects.update(delivered_at=timezone.now())
    assert purge_deliveries() == {"deliveries_removed": 0, "attempts_removed": 0}
    assert not AuditEvent.objects.filter(action="webhook.delivery.purge").exists()
    assert WebhookDelivery.objects.count() == 2


def test_the_worker_purges_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-webhook-deliveries"]
    assert (entry["task"], entry["schedule"]) == ("webhooks.tasks.purge_deliveries", 3600.0)
    from webhooks.tasks import purge_deliveries_task

    assert purge_deliveries_task.name == entry["task"]
