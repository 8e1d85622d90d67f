from django.contrib import admin

from audit.admin import ReadOnlyAdminMixin

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Endpoints, to look at; they are added, paused and removed on the portal's Webhooks page (audited)."""

    list_display = ("name", "url", "is_active", "events", "cursor", "created_by", "created_at")
    list_filter = ("is_active",)
    list_select_related = ("created_by",)
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "endpoint", "event", "state", "attempt_count", "next_attempt_at", "delivered_at")
    list_filter = ("state", "endpoint")
    list_select_related = ("endpoint", "event")
    raw_id_fields = ("event",)
    show_full_result_count = False


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "delivery", "started_at", "status_code", "error", "duration_ms")
    list_select_related = ("delivery",)
    raw_id_fields = ("delivery",)
    show_full_result_count = False
