"""The checks of a version: one lint and one simulation job, their progress, findings and result."""

from django.db import models
from django.db.models import Q


class CheckRun(models.Model):
    """One lint or simulation job for one version. The database, not the broker, is its truth."""

    # Audit events written while the model was in the rules app name it so.
    AUDIT_FORMER_LABELS = ("rules.checkrun",)

    class Kind(models.TextChoices):
        LINT = "lint", "lint"
        SIMULATION = "simulation", "simulation"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    version = models.ForeignKey("rules.RuleVersion", on_delete=models.PROTECT, related_name="checks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_note = models.CharField(max_length=200, blank=True)
    findings = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    engine_version = models.CharField(max_length=40, blank=True)
    dataset = models.ForeignKey("budget.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    dataset_hash = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when checks lived in the rules app.
        db_table = "rules_checkrun"
        ordering = ["version", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["version", "kind"], name="one_check_per_kind_per_version"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="progress_at_most_100"),
        ]

    def __str__(self):
        return f"{self.kind} of {self.version} ({self.status})"

    @property
    def audit_rule_slug(self):
        return self.version.rule.slug

    @property
    def is_finished(self):
        return self.status in (self.Status.PASSED, self.Status.FAILED, self.Status.CANCELLED)
