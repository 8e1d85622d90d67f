from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_environments(sender=None, **kwargs):
    """Staging and production always exist, also after a database flush (idempotent)."""
    from .models import Environment

    Environment.objects.get_or_create(name="staging", defaults={"label": "Staging (test accounts)", "order": 1})
    Environment.objects.get_or_create(name="production", defaults={"label": "Production (everyone)", "order": 2})


class DeploymentsConfig(AppConfig):
    name = "deployments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(ensure_environments, sender=self, dispatch_uid="deployments.ensure_environments")
