from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from audit.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from engine.errors import DomainError
from pdp_portal import permissions
from portal.pages import moved

from .models import Deployment, Environment, Release, ScheduledPromotion, TestAccount
from .services import cancel_scheduled_promotion, previous_version, promote, rollback


@admin.register(Environment)
class EnvironmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The environments are fixed (a migration makes them); only their label and order change."""

    list_display = ["name", "label", "order"]
    readonly_fields = ["name"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Live pointers. They move only through the actions, which call the same services as the portal."""

    list_display = ["rule", "environment", "version_label", "updated_at"]
    list_filter = ["environment"]
    search_fields = ["rule__slug"]
    list_select_related = ["rule", "environment", "version"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("version__document")

    actions = ["promote_to_production", "roll_back"]

    def has_promote_permission(self, request):
        return permissions.can_promote(request.user)

    def has_rollback_permission(self, request):
        return permissions.can_rollback(request.user)

    @admin.display(description="version")
    def version_label(self, release):
        return release.version_label

    @admin.action(description="Promote to production", permissions=["promote"])
    def promote_to_production(self, request, queryset):
        # A staging and a production pointer of one rule selected together are one promotion.
        rules = {release.rule_id: release.rule for release in queryset.select_related("rule")}
        for rule in rules.values():
            try:
                deployment = promote(rule, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, moved(deployment), messages.SUCCESS)

    @admin.action(description="Roll back", permissions=["rollback"])
    def roll_back(self, request, queryset):
        """Ask for the reason on a confirmation page, then roll each selected pointer back to its previous version."""
        releases = list(queryset.select_related("rule", "environment", "version"))
        if request.POST.get("confirm") != "yes":
            rows = [{"release": r, "previous": (v.label if (v := previous_version(r)) else "v0")} for r in releases]
            context = {
                **self.admin_site.each_context(request),
                "title": "Roll back: are you sure?",
                "opts": self.model._meta,
                "rows": rows,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/deployments/release/rollback_confirmation.html", context)
        reason = request.POST.get("reason", "")
        for release in releases:
            try:
                deployment = rollback(
                    release.rule, actor=request.user, reason=reason, to="previous", environment=release.environment.name
                )
            except DomainError as exc:
                self.message_user(request, f"{release}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, moved(deployment), messages.SUCCESS)
        return None


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "rule",
        "environment",
        "kind",
        "from_label",
        "to_label",
        "actor",
        "reason",
        "duration_s",
    ]
    list_filter = ["environment", "kind"]
    search_fields = ["rule__slug", "actor__username", "reason"]
    list_select_related = ["rule", "environment", "from_version", "to_version", "actor"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("from_version__document", "to_version__document")

    actions = ["deploy_again"]

    def has_promote_permission(self, request):
        return permissions.can_promote(request.user)

    @admin.action(description="Deploy again (the version each move put live, where it put it)", permissions=["promote"])
    def deploy_again(self, request, queryset):
        """Put live again the version each selected move put live, in its environment: Argo CD's redeploy."""
        for past in queryset.select_related("rule", "environment", "to_version"):
            if past.to_version is None:
                self.message_user(
                    request, f"{past}: it withdrew the rule; there is no version to deploy.", messages.ERROR
                )
                continue
            try:
                deployment = promote(
                    past.rule, actor=request.user, environment=past.environment.name, number=past.to_version.number
                )
            except DomainError as exc:
                self.message_user(request, f"{past}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, moved(deployment), messages.SUCCESS)


@admin.register(ScheduledPromotion)
class ScheduledPromotionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Promotions waiting for their time, and what became of them. They are made from the rule page, the API
    and hms; here they can be read and cancelled, through the same service."""

    list_display = ["at", "rule", "environment", "version_label", "state", "created_by", "outcome"]
    list_filter = ["state", "environment"]
    search_fields = ["rule__slug", "created_by__username", "note", "outcome"]
    list_select_related = ["rule", "environment", "version", "created_by"]
    ordering = ["-at"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("version__document", "from_version__document")

    actions = ["cancel"]

    def has_promote_permission(self, request):
        return permissions.can_promote(request.user)

    @admin.display(description="version")
    def version_label(self, schedule):
        return schedule.version.label

    @admin.action(description="Cancel the selected scheduled promotions", permissions=["promote"])
    def cancel(self, request, queryset):
        for schedule in queryset:
            try:
                cancel_scheduled_promotion(schedule, actor=request.user, reason="Cancelled in the admin.")
            except DomainError as exc:
                self.message_user(request, f"{schedule}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{schedule}: cancelled.", messages.SUCCESS)


@admin.register(TestAccount)
class TestAccountAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["account_id", "note", "created_at"]
    search_fields = ["account_id", "note"]
