from django.contrib import admin

from audit.admin import ReadOnlyAdminMixin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Tokens, to see who holds which; they are issued at login or with `manage.py issue_token`, and revoked by their owner."""

    list_display = ("name", "user", "prefix", "scope", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("scope",)
    search_fields = ("user__username", "name", "prefix")
    list_select_related = ("user",)
    exclude = ("key_hash",)
