"""The budget office's models in the admin: a dataset's name only; funds change on the portal's Funds page."""

from django.contrib import admin

from audit.admin import AuditedAdminMixin, ReadOnlyAdminMixin

from .models import Dataset, Fund


@admin.register(Dataset)
class DatasetAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A dataset's file facts are measured, not typed: only its name can be changed here."""

    list_display = ["name", "format", "row_count", "is_default", "short_hash", "created_at"]
    readonly_fields = [
        "path",
        "format",
        "row_count",
        "sha256",
        "stored_sha256",
        "size_bytes",
        "columns",
        "is_default",
        "created_by",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="sha256")
    def short_hash(self, dataset):
        return dataset.sha256[:12]


@admin.register(Fund)
class FundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Funds are created and changed on the portal's Funds page, through the fund services."""

    list_display = ["code", "name", "appropriation", "fiscal_year", "created_at"]
    list_filter = ["fiscal_year"]
    search_fields = ["code", "name"]
