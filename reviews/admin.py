from django.contrib import admin

from audit.admin import ReadOnlyAdminMixin

from .models import Review


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["version", "role", "decision", "reviewer", "created_at"]
    list_filter = ["role", "decision"]
    search_fields = ["version__rule__slug", "reviewer__username", "comment"]
    list_select_related = ["version__rule", "reviewer"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("version__document")

    readonly_fields = [
        "version",
        "reviewer",
        "role",
        "decision",
        "comment",
        "content_hash",
        "simulation_run",
        "created_at",
    ]
