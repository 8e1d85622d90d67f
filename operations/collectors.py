"""Cluster-wide figures for /metrics, read from the database at each scrape (see operations/metrics.py)."""

from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from audit.models import AuditEvent
from checks.models import CheckRun
from deployments.models import Deployment
from webhooks.services import delivery_counts

from .models import AuditChainCheck, WorkerBeat

# Upper bounds, in seconds, of the check duration histogram's buckets.
CHECK_DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def _timestamp(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


class DatabaseCollector(Collector):
    """Cluster-wide figures, read from the database at each scrape: six small aggregate queries."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("pdp_metrics_database_up", "1 when the database figures below could be read.")
        try:
            figures = list(self._figures())
        except DatabaseError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _figures(self) -> Iterator[Metric]:
        now = timezone.now()
        S = CheckRun.Status
        watched = (S.QUEUED, S.RUNNING, S.FAILED)
        checks = GaugeMetricFamily(
            "pdp_checks", "Checks (lint, simulation) by status now (cluster-wide).", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "pdp_check_oldest_age_seconds",
            "Age of the oldest check queued (since queued) or running (since started), 0 when none (cluster-wide).",
            labels=["status"],
        )
        rows = {
            row["status"]: row
            for row in CheckRun.objects.filter(status__in=watched)
            .order_by()
            .values("status")
            .annotate(n=Count("id"), queued=Min("queued_at"), started=Min("started_at"))
        }
        for status in watched:
            row = rows.get(status, {})
            checks.add_metric([status], row.get("n", 0))
            if status != S.FAILED:
                since = row.get("queued" if status == S.QUEUED else "started")
                oldest.add_metric([status], max((now - since).total_seconds(), 0.0) if since else 0.0)
        yield checks
        yield oldest

        buckets = {f"le{i}": Count("id", filter=Q(duration_s__lte=b)) for i, b in enumerate(CHECK_DURATION_BUCKETS)}
        durations = HistogramMetricFamily(
            "pdp_check_duration_seconds",
            "Durations of finished checks, by kind, from their rows (cluster-wide).",
            labels=["kind"],
        )
        finished = (
            CheckRun.objects.filter(duration_s__isnull=False)
            .order_by()
            .values("kind")
            .annotate(count=Count("id"), total=Sum("duration_s"), **buckets)
        )
        for row in finished:
            durations.add_metric(
                [row["kind"]],
                [(floatToGoString(b), row[f"le{i}"]) for i, b in enumerate(CHECK_DURATION_BUCKETS)]
                + [("+Inf", row["count"])],
                row["total"] or 0.0,
            )
        yield durations

        deployments = CounterMetricFamily(
            "pdp_deployments",
            "Moves of a live pointer, by kind (promote, redeploy, rollback) and environment (cluster-wide).",
            labels=["kind", "environment"],
        )
        for row in Deployment.objects.order_by().values("kind", "environment__name").annotate(n=Count("id")):
            deployments.add_metric([row["kind"], row["environment__name"]], row["n"])
        yield deployments

        head = AuditEvent.objects.order_by("-id").values("id", "created_at").first()
        appends = CounterMetricFamily(
            "pdp_audit_appends",
            "Audit events appended: the newest event's id (rows are never deleted; on PostgreSQL a rolled-back "
            "append can skip an id) (cluster-wide).",
        )
        appends.add_metric([], head["id"] if head else 0)
        yield appends
        last_append = GaugeMetricFamily(
            "pdp_audit_last_append_timestamp_seconds", "When the newest audit event was written (cluster-wide)."
        )
        last_append.add_metric([], _timestamp(head["created_at"]) if head else 0.0)
        yield last_append

        check = AuditChainCheck.objects.newest()
        verified = GaugeMetricFamily(
            "pdp_audit_chain_verified",
            "1 when the last scheduled walk of the audit chain found no problem, 0 when it found one or "
            "none has run yet (cluster-wide).",
        )
        verified.add_metric([], 1 if check is not None and check.verified else 0)
        yield verified
        verified_at = GaugeMetricFamily(
            "pdp_audit_chain_verified_timestamp_seconds",
            "When the last scheduled walk of the audit chain finished, 0 when none has (cluster-wide).",
        )
        verified_at.add_metric([], _timestamp(check.finished_at) if check else 0.0)
        yield verified_at

        beat = WorkerBeat.objects.aggregate(newest=Max("beat_at"))["newest"]
        last_beat = GaugeMetricFamily(
            "pdp_worker_last_beat_timestamp_seconds",
            "When a Celery worker last ran the beat task, 0 when none has (cluster-wide).",
        )
        last_beat.add_metric([], _timestamp(beat))
        yield last_beat

        deliveries = delivery_counts()
        by_state = GaugeMetricFamily(
            "pdp_webhook_deliveries", "Outbound webhook deliveries by state (cluster-wide).", labels=["state"]
        )
        for state, count in deliveries.items():
            by_state.add_metric([state], count)
        yield by_state
        failing = GaugeMetricFamily(
            "pdp_webhook_deliveries_failing",
            "Webhook deliveries failing (to be retried) or given up (cluster-wide); alert when above 0 for long.",
        )
        failing.add_metric([], deliveries.get("failing", 0) + deliveries.get("gave_up", 0))
        yield failing
