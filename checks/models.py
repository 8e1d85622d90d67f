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
    # What a partitioned simulation compares with, fixed when it starts so every partition uses the
    # same: {"live": version id or None, "others": [version ids], "columns": [...], "partitions": N}.
    plan = models.JSONField(default=dict, blank=True)
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


class SimulationPartition(models.Model):
    """One part of a partitioned simulation: a run of the population's rows, simulated by one Celery task.

    Its figures are stored here once, by the first delivery of its task to finish; the merge adds up
    these rows, never the tasks' return values, so a task delivered twice is counted once.
    """

    class Stage(models.TextChoices):
        FIGURES = "figures", "figures"
        HISTOGRAM = "histogram", "histogram"  # a second pass, once the largest payment of all is known

    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="partitions")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.FIGURES)
    index = models.PositiveIntegerField()
    first_row = models.PositiveBigIntegerField()
    rows = models.PositiveBigIntegerField()
    top = models.FloatField(null=True, blank=True, help_text="The histogram's top, on the histogram stage.")
    figures = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "stage", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "stage", "index"], name="one_partition_per_place"),
        ]

    def __str__(self):
        return f"partition {self.index + 1} ({self.stage}) of {self.run}"

    @property
    def is_done(self):
        return self.figures is not None
