from django.contrib import admin, messages

from audit.admin import ReadOnlyAdminMixin
from checks.admin import CheckRunInline, pretty_json
from deployments.services import promote
from engine.errors import DomainError
from pdp_portal import permissions
from portal.pages import moved

from .models import Rule, RuleVersion


@admin.register(Rule)
class RuleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rules are created by a push and take their title and program from their document."""

    list_display = ["slug", "title", "program", "created_by", "created_at"]
    list_filter = ["program"]
    search_fields = ["slug", "title"]
    list_select_related = ["created_by"]


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Immutable versions. The one action moves a live pointer through the same service as the portal."""

    list_display = ["__str__", "where", "uploaded_by", "created_at", "short_hash"]
    list_filter = ["status"]
    search_fields = ["rule__slug", "content_hash"]
    list_select_related = ["rule", "uploaded_by"]

    def get_queryset(self, request):
        # The list shows labels; the change page reads the document when it shows it (one query).
        return super().get_queryset(request).defer("document").with_live_places()

    fields = [
        "rule",
        "number",
        "where",
        "status_changed_at",
        "uploaded_by",
        "created_at",
        "content_hash",
        "document_pretty",
    ]
    readonly_fields = fields
    inlines = [CheckRunInline]
    actions = ["promote_to_production"]

    @admin.display(description="status", ordering="status")
    def where(self, version):
        """Where the version is live first (never "superseded" while it serves), else its status."""
        return version.status_label

    @admin.display(description="content hash")
    def short_hash(self, version):
        return version.content_hash[:12]

    @admin.display(description="document")
    def document_pretty(self, version):
        return pretty_json(version.parsed())

    def has_promote_permission(self, request):
        return permissions.can_promote(request.user)

    @admin.action(
        description="Promote to production (the version on staging, or one live in production before)",
        permissions=["promote"],
    )
    def promote_to_production(self, request, queryset):
        for version in queryset.select_related("rule"):
            try:
                deployment = promote(version.rule, actor=request.user, number=version.number)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, moved(deployment), messages.SUCCESS)
