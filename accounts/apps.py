from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People and their roles: who belongs to which group, who is active or a superuser, and who may log in."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (connects the sign-in receivers)
