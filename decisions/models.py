"""What decision serving keeps in the database: the serving generation and the decision log."""

from django.db import models


class ServingGeneration(models.Model):
    """One row whose value goes up, in the same transaction, with every change that can alter a decision:
    a live pointer, a test account, an API token, a person's groups or active flag.

    Each serving process reads it once per request and reloads what it caches when it has moved, so a
    promote or rollback takes effect for the very next decision on every process.
    """

    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="one_serving_generation")]

    def __str__(self) -> str:
        return f"serving generation {self.value}"


class DecisionBatch(models.Model):
    """Decisions of one version in one environment, recorded together by one serving process.

    `decisions` holds one row per decision (time, request id, account, in force, eligible, amount, error)
    as Arrow IPC, and `inputs` the declared inputs each used, in the same order: Arrow IPC columns for a
    large batch whose inputs each fit one typed column, else a compressed JSON array
    (decisions.recorder.read_decisions reads every form). The inputs are
    removed after PDP_DECISION_LOG_INPUTS_DAYS, the batch itself after PDP_DECISION_LOG_DAYS.
    """

    rule = models.ForeignKey("rules.Rule", on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey("rules.RuleVersion", on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=30)
    content_hash = models.CharField(max_length=64)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    eligible_count = models.PositiveIntegerField()
    decisions = models.BinaryField()
    inputs = models.BinaryField(null=True)
    accounts_hashed = models.BooleanField(default=False)
    written_at = models.DateTimeField(auto_now_add=True)
    writer = models.CharField(max_length=100, help_text="host:pid of the process that served these decisions")

    class Meta:
        indexes = [
            models.Index(fields=["version", "last_at"], name="decisions_by_version"),
            models.Index(fields=["rule", "environment", "last_at"], name="decisions_by_rule"),
            models.Index(fields=["last_at"], name="decisions_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.count} decisions of version {self.version_id} in {self.environment}"
