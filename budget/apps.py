from django.apps import AppConfig


class BudgetConfig(AppConfig):
    """The budget office's populations and funds, and what live rules have committed of each fund."""

    name = "budget"
    default_auto_field = "django.db.models.BigAutoField"
