from django.apps import AppConfig


class ChecksConfig(AppConfig):
    """The lint and simulation jobs of each version, and the sweeper that re-queues stuck ones."""

    name = "checks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the system check that reports an unusable governance setting (manage.py check).
        from pdp_portal import governance  # noqa: F401
