from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """What an operations team runs the portal with: health and readiness probes, metrics, structured logs."""

    name = "operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The request id travels with the jobs a request queues, and every job ends in one log line.
        from . import jobs, metrics

        jobs.connect()
        # The decision figures exist, at 0, from each process's start, not from its first decision.
        metrics.touch()
