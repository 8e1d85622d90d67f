from django.contrib import admin

from .models import AuditEvent, ChainVerification
from .services import delete_reference_record, save_reference_record


class ReadOnlyAdminMixin:
    """Shown, never written from the admin: every write goes through a service."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdminMixin:
    """Reference records edited here (funds, test accounts, ...) write an audit event per change."""

    def save_model(self, request, obj, form, change):
        save_reference_record(obj, actor=request.user, changed_fields=form.changed_data, created=not change)

    def delete_model(self, request, obj):
        delete_reference_record(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            delete_reference_record(obj, actor=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "actor_name", "action", "outcome", "target_repr", "rule_slug", "ip"]
    list_filter = ["action", "outcome"]
    search_fields = ["rule_slug", "actor_name"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 100
    readonly_fields = [
        "actor", "actor_name", "action", "outcome", "target_type", "target_id", "target_repr",
        "rule_slug", "data", "ip", "created_at", "prev_hash", "hash",
    ]  # fmt: skip


@admin.register(ChainVerification)
class ChainVerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "requested_by", "status", "checked", "total", "problem_count", "duration_s"]
    list_filter = ["status"]
    list_select_related = ["requested_by"]
    readonly_fields = [
        "requested_by", "status", "total", "checked", "problem_count", "problems", "note",
        "created_at", "started_at", "heartbeat_at", "finished_at", "duration_s",
    ]  # fmt: skip
