"""The budget office's data: citizen populations (datasets) and funds (appropriations)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


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
