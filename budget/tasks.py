"""Celery tasks of the budget office: thin, taking ids, owning only the retry policy."""

import logging

from celery import shared_task
from django.db import OperationalError

from . import services

logger = logging.getLogger(__name__)
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 5}


@shared_task(name="budget.tasks.check_dataset_upload", acks_late=True, **RETRY)
def check_dataset_upload(upload_id: int) -> str:
    """Check a large upload. A lost database connection is retried; any other error would recur, so the upload
    fails at once with it."""
    try:
        upload = services.run_dataset_upload(upload_id)
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("dataset upload %s failed", upload_id)
        upload = services.fail_dataset_upload(upload_id, error=exc)
    return upload.status if upload else "skipped"


@shared_task(name="budget.tasks.sweep_dataset_uploads")
def sweep_dataset_uploads() -> list[int]:
    return services.sweep_dataset_uploads()
