from django.apps import AppConfig


class TokensConfig(AppConfig):
    """API tokens: issued at login or to a system, with an expiry, a scope and revocation."""

    name = "tokens"
    default_auto_field = "django.db.models.BigAutoField"
