from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks: the audit history POSTed, signed, to compliance and observability systems by the worker."""

    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
