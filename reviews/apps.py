from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_groups(sender, **kwargs):
    from .services import GROUP_PERMISSIONS, ensure_groups

    # post_migrate comes once per installed app, each after that app's permissions are made: the
    # groups are brought up to date after the apps whose permissions they take (and this one), not
    # after every app (a database flush, as each transactional test ends, sends them all too).
    apps = {"reviews", *(label.split(".")[0] for labels in GROUP_PERMISSIONS.values() for label in labels)}
    if sender.label in apps:
        ensure_groups()


class ReviewsConfig(AppConfig):
    name = "reviews"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_ensure_groups, dispatch_uid="reviews.ensure_groups")
