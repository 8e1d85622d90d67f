from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The release environments, in order: (name, label). The only place they are defined.
ENVIRONMENTS = (("staging", "Staging (test accounts)"), ("production", "Production (everyone)"))


def ensure_environments(sender=None, *, environment_model=None, **kwargs):
    """Staging and production always exist: after every migrate and database flush (idempotent).

    The data migration passes its historical model as `environment_model`.
    """
    if environment_model is None:
        from .models import Environment as environment_model
    for order, (name, label) in enumerate(ENVIRONMENTS, start=1):
        environment_model.objects.get_or_create(name=name, defaults={"label": label, "order": order})


class DeploymentsConfig(AppConfig):
    name = "deployments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(ensure_environments, sender=self, dispatch_uid="deployments.ensure_environments")
