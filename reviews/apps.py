from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_groups(sender, **kwargs):
    from .services import ensure_groups

    ensure_groups()


class ReviewsConfig(AppConfig):
    name = "reviews"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Runs after each app's migrations, once that app's permissions exist.
        post_migrate.connect(_ensure_groups, dispatch_uid="reviews.ensure_groups")
