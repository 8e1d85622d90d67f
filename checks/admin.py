"""The checks in the admin: read-only, as the jobs wrote them; a version's page lists its checks inline."""

import json

from django.contrib import admin
from django.utils.html import format_html

from audit.admin import ReadOnlyAdminMixin

from .models import CheckRun, SimulationPartition


def pretty_json(value):
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))


class CheckRunInline(admin.TabularInline):
    model = CheckRun
    fields = ["kind", "status", "progress", "attempts", "duration_s", "finished_at", "finding_count"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="findings")
    def finding_count(self, check):
        return len(check.findings or [])


@admin.register(CheckRun)
class CheckRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["version", "kind", "status", "progress", "attempts", "duration_s", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["version__rule__slug", "task_id"]
    list_select_related = ["version__rule"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("version__document")

    exclude = ["findings", "result"]
    readonly_fields = [
        "version", "kind", "status", "progress", "progress_note", "findings_pretty", "result_pretty",
        "engine_version", "dataset", "dataset_hash", "plan", "task_id", "attempts", "queued_at", "started_at",
        "heartbeat_at", "finished_at", "duration_s",
    ]  # fmt: skip

    @admin.display(description="findings")
    def findings_pretty(self, check):
        return pretty_json(check.findings)

    @admin.display(description="result")
    def result_pretty(self, check):
        return pretty_json(check.result)


@admin.register(SimulationPartition)
class SimulationPartitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The partitions of partitioned simulations, as their tasks wrote them."""

    list_display = ["run", "stage", "index", "first_row", "rows", "worker", "attempts", "duration_s", "finished_at"]
    list_filter = ["stage"]
    search_fields = ["run__version__rule__slug", "worker"]
    list_select_related = ["run__version__rule"]
    exclude = ["figures"]
    readonly_fields = [
        "run", "stage", "index", "first_row", "rows", "top", "figures_pretty", "attempts", "worker",
        "started_at", "finished_at", "duration_s",
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).defer("run__version__document", "run__result", "run__plan")

    @admin.display(description="figures")
    def figures_pretty(self, part):
        return pretty_json(part.figures)
