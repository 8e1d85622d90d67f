"""The budget office's data: citizen populations (datasets) and funds (appropriations)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DatasetQuerySet(models.QuerySet):
    def default(self):
        return self.filter(is_default=True).first()


class Dataset(models.Model):
    """A citizen population, one row per person-type with a weight."""

    # Audit events written while the model was in the rules app name it so.
    AUDIT_FORMER_LABELS = ("rules.dataset",)

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        PARQUET = "parquet", "Parquet"

    name = models.CharField(max_length=200)
    path = models.CharField(max_length=500, help_text="File path, relative to the data folder.")
    format = models.CharField(max_length=10, choices=Format.choices)
    row_count = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_sha256 = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the stored Parquet copy under the data folder, which every worker checks before reading it.",
    )
    stored_layout = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text=(
            "Where the stored Parquet copy keeps each row group, with the SHA-256 of each and of the bytes around "
            "them (engine.parquet_layout.measure): a partition of a simulation checks the bytes it reads."
        ),
    )
    size_bytes = models.PositiveBigIntegerField()
    columns = models.JSONField(default=dict, help_text="Column name → type.")
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        # The tables keep the names they had when the budget office's models lived in the rules app.
        db_table = "rules_dataset"
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_dataset"),
        ]

    def __str__(self):
        return f"{self.name} ({self.row_count:,} rows)"

    @property
    def file_path(self):
        return settings.DATA_DIR / self.path


class Fund(models.Model):
    """An appropriation that live rules draw on."""

    # Audit events written while the model was in the rules app name it so.
    AUDIT_FORMER_LABELS = ("rules.fund",)

    code = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200, blank=True)
    appropriation = models.DecimalField(max_digits=18, decimal_places=2)
    fiscal_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "rules_fund"
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(appropriation__gte=0), name="appropriation_not_negative")]

    def __str__(self):
        return self.code


class DatasetUploadQuerySet(models.QuerySet):
    def for_page(self):
        """The latest uploads checked in the background, newest first, with who sent them: the Datasets page's list."""
        return self.select_related("uploaded_by", "dataset").order_by("-id")[:10]


class DatasetUpload(models.Model):
    """A population file too large to check while its request waits (PDP_DATASET_INLINE_BYTES), checked by the
    worker with progress. It ends stored (its Dataset), refused (the file's problems) or failed (an error)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        CHECKING = "checking", "being checked"
        STORED = "stored", "stored"
        REFUSED = "refused", "refused"
        FAILED = "failed", "failed"

    FINISHED = (Status.STORED, Status.REFUSED, Status.FAILED)

    name = models.CharField(max_length=200)
    filename = models.CharField(max_length=200, blank=True)
    path = models.CharField(
        max_length=500, help_text="The file as received, relative to the data folder, until checked."
    )
    size_bytes = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_note = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    problems = models.JSONField(default=dict, blank=True, help_text="A refusal's details: the file's problems.")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now, help_text="When its job was last published.")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DatasetUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in self.FINISHED

    @property
    def file_path(self):
        return settings.DATA_DIR / self.path
