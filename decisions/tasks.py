from celery import shared_task

from .services import purge_decision_log


@shared_task(name="decisions.purge_decision_log")
def purge_decision_log_task() -> dict[str, int]:
    """Hourly, from the worker's beat: the decision log's retention."""
    return purge_decision_log()
