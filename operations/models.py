from django.db import models


class WorkerBeatQuerySet(models.QuerySet):
    def newest(self):
        return self.order_by("-beat_at").first()


class WorkerBeat(models.Model):
    """The last time each Celery worker ran the beat task (every 10 s, through the broker).

    Operational state, one row per worker, moved on in place: readiness reads the newest.
    """

    hostname = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    objects = WorkerBeatQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["beat_at"], name="operations_beat_at")]

    def __str__(self):
        return f"{self.hostname} beat at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class AuditChainCheckQuerySet(models.QuerySet):
    def newest(self):
        return self.order_by("-id").first()


class AuditChainCheck(models.Model):
    """One scheduled verification of the whole audit chain (every PDP_AUDIT_VERIFY_SECONDS) and its result."""

    verified = models.BooleanField()
    checked = models.PositiveBigIntegerField(default=0)
    problem_count = models.PositiveBigIntegerField(default=0)
    # The first few problems, as the verification service words them.
    problems = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField()
    duration_s = models.FloatField()

    objects = AuditChainCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"audit chain {'verified' if self.verified else 'BROKEN'} at {self.finished_at:%Y-%m-%d %H:%M:%S}"
