"""Celery tasks of the review gate: the e-mails, sent by the worker after the change is committed.

A slow or stalled mail server then holds up a worker for at most EMAIL_TIMEOUT, never the person
who pressed Approve. The tasks take ids and read what was committed.
"""

from celery import shared_task

from . import notifications

# smtplib.SMTPException and refused or timed-out connections are all OSError.
RETRY = {"autoretry_for": (OSError,), "retry_backoff": 30, "max_retries": 3}


@shared_task(name="reviews.tasks.send_review_requested", **RETRY)
def send_review_requested_task(assignment_id):
    return notifications.send_review_requested(assignment_id)


@shared_task(name="reviews.tasks.send_review_ended", **RETRY)
def send_review_ended_task(version_id):
    return notifications.send_review_ended(version_id)
