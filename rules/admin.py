import json

from django.contrib import admin, messages
from django.utils.html import format_html

from audit.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from deployments.services import promote
from engine.errors import DomainError
from pdp_portal import permissions

from .models import CheckRun, Dataset, Fund, Rule, RuleVersion


def _pretty_json(value):
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))


@admin.register(Rule)
class RuleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rules are created by a push and take their title and program from their document."""

    list_display = ["slug", "title", "program", "created_by", "created_at"]
    list_filter = ["program"]
    search_fields = ["slug", "title"]
    list_select_related = ["created_by"]


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


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Immutable versions. The one action moves a live pointer through the same service as the portal."""

    list_display = ["__str__", "status", "uploaded_by", "created_at", "short_hash"]
    list_filter = ["status"]
    search_fields = ["rule__slug", "content_hash"]
    list_select_related = ["rule", "uploaded_by"]

    def get_queryset(self, request):
        # The list shows labels; the change page reads the document when it shows it (one query).
        return super().get_queryset(request).defer("document")

    fields = [
        "rule",
        "number",
        "status",
        "status_changed_at",
        "uploaded_by",
        "created_at",
        "content_hash",
        "document_pretty",
    ]
    readonly_fields = fields
    inlines = [CheckRunInline]
    actions = ["promote_to_production"]

    @admin.display(description="content hash")
    def short_hash(self, version):
        return version.content_hash[:12]

    @admin.display(description="document")
    def document_pretty(self, version):
        return _pretty_json(version.parsed())

    def has_promote_permission(self, request):
        return permissions.can_promote(request.user)

    @admin.action(description="Promote to production", permissions=["promote"])
    def promote_to_production(self, request, queryset):
        for version in queryset.select_related("rule"):
            try:
                deployment = promote(version.rule, actor=request.user, number=version.number)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"🎉 {version.rule.display_name} now LIVE in production ({deployment.to_label}), "
                    f"in {deployment.duration_s}s.",
                    messages.SUCCESS,
                )


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
        "engine_version", "dataset", "dataset_hash", "task_id", "attempts", "queued_at", "started_at",
        "heartbeat_at", "finished_at", "duration_s",
    ]  # fmt: skip

    @admin.display(description="findings")
    def findings_pretty(self, check):
        return _pretty_json(check.findings)

    @admin.display(description="result")
    def result_pretty(self, check):
        return _pretty_json(check.result)


@admin.register(Dataset)
class DatasetAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A dataset's file facts are measured, not typed: only its name can be changed here."""

    list_display = ["name", "format", "row_count", "is_default", "short_hash", "created_at"]
    readonly_fields = [
        "path",
        "format",
        "row_count",
        "sha256",
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
