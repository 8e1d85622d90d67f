"""checks/services.py sweep_stuck_checks: stale checks are re-queued, then failed after the attempt limit."""

import datetime as dt

from django.utils import timezone

from checks.models import CheckRun
from checks.services import sweep_stuck_checks
from tests.conftest import last_event
from tests.deployments.support import events


def age(check, *, seconds, **fields):
    """Make a check look as if it was queued (and last heard of) `seconds` ago."""
    past = timezone.now() - dt.timedelta(seconds=seconds)
    CheckRun.objects.filter(pk=check.pk).update(queued_at=past, **fields)
    check.refresh_from_db()


def test_stale_queued_check_is_requeued(push_queued, drafter, django_capture_on_commit_callbacks, settings):
    """A check queued longer than the threshold gets a new task id and is published again after commit."""
    settings.PDP_STUCK_CHECK_SECONDS = 300
    version = push_queued(actor=drafter)
    lint = version.checks.get()
    age(lint, seconds=600)
    old_task = lint.task_id
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sweep_stuck_checks() == ([lint.pk], [])
    lint.refresh_from_db()
    assert lint.status == "queued"
    assert lint.task_id != old_task
    assert timezone.now() - lint.queued_at < dt.timedelta(seconds=60)
    assert len(callbacks) == 1
    event = last_event("check.sweep")
    assert (event.outcome, event.actor, event.data) == ("done", None, {"requeued": [lint.pk], "failed": []})
    callbacks[0]()  # the re-published job runs and completes
    lint.refresh_from_db()
    assert lint.status == "passed"


def test_stale_running_check_is_requeued(push_queued, drafter, django_capture_on_commit_callbacks):
    """A running check whose heartbeat stopped is put back in the queue."""
    version = push_queued(actor=drafter)
    lint = version.checks.get()
    past = timezone.now() - dt.timedelta(seconds=900)
    age(lint, seconds=900, status="running", attempts=1, heartbeat_at=past, started_at=past)
    with django_capture_on_commit_callbacks(execute=False):
        assert sweep_stuck_checks(older_than=300) == ([lint.pk], [])
    lint.refresh_from_db()
    assert (lint.status, lint.attempts) == ("queued", 1)
    assert last_event("check.sweep").data == {"requeued": [lint.pk], "failed": []}


def test_fresh_checks_are_left_alone(push_queued, drafter, django_capture_on_commit_callbacks):
    """Recent checks, and running ones with a recent heartbeat, are not touched and nothing is recorded."""
    version = push_queued(actor=drafter)
    lint = version.checks.get()
    age(lint, seconds=900, status="running", attempts=1, heartbeat_at=timezone.now())
    other = push_queued(b'{"rule": "other-rule", "max_payment": 1, "cost": 1}', actor=drafter).checks.get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sweep_stuck_checks(older_than=300) == ([], [])
    assert callbacks == []
    assert CheckRun.objects.get(pk=lint.pk).status == "running"
    assert CheckRun.objects.get(pk=other.pk).status == "queued"
    assert not events("check.sweep")


def test_finished_checks_are_never_swept(in_review):
    """Passed checks, however old, are not re-queued."""
    for check in in_review.checks.all():
        age(check, seconds=10_000)
    assert sweep_stuck_checks(older_than=1) == ([], [])


def test_check_past_the_attempt_limit_fails_with_its_version(
    push_queued, drafter, settings, django_capture_on_commit_callbacks
):
    """A stale check that used all its attempts fails (CHECK_ABANDONED) and fails its version."""
    settings.PDP_CHECK_MAX_ATTEMPTS = 3
    version = push_queued(actor=drafter)
    version.status = "linting"
    version.save(update_fields=["status"])
    lint = version.checks.get()
    past = timezone.now() - dt.timedelta(seconds=900)
    age(lint, seconds=900, status="running", attempts=3, heartbeat_at=past)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sweep_stuck_checks(older_than=300) == ([], [lint.pk])
    assert callbacks == []
    lint.refresh_from_db()
    version.refresh_from_db()
    assert lint.status == "failed" and lint.finished_at is not None
    assert [(f["code"], f["severity"]) for f in lint.findings] == [("CHECK_ABANDONED", "error")]
    assert "after 3 attempts" in lint.findings[0]["message"]
    assert version.status == "lint_failed"
    assert last_event("check.sweep").data == {"requeued": [], "failed": [lint.pk]}


def test_repeated_loss_ends_in_failure(push_queued, drafter, settings, django_capture_on_commit_callbacks):
    """A job lost on every delivery is re-queued until the attempt limit, then failed."""
    settings.PDP_CHECK_MAX_ATTEMPTS = 2
    version = push_queued(actor=drafter)
    lint = version.checks.get()
    for attempt in (1, 2):
        # A worker claims the job and dies: the check is left running with a stale heartbeat.
        past = timezone.now() - dt.timedelta(seconds=900)
        age(lint, seconds=900, status="running", attempts=attempt, heartbeat_at=past)
        version.status = "linting"
        version.save(update_fields=["status"])
        with django_capture_on_commit_callbacks(execute=False):
            requeued, failed = sweep_stuck_checks(older_than=300)
        if attempt == 1:
            assert (requeued, failed) == ([lint.pk], [])
        else:
            assert (requeued, failed) == ([], [lint.pk])
    version.refresh_from_db()
    lint.refresh_from_db()
    assert (lint.status, version.status) == ("failed", "lint_failed")
    assert [e.data for e in events("check.sweep")] == [
        {"requeued": [lint.pk], "failed": []},
        {"requeued": [], "failed": [lint.pk]},
    ]


def test_a_running_check_silent_past_the_dead_worker_threshold_is_requeued(
    push_queued, drafter, django_capture_on_commit_callbacks, settings
):
    """Queued a minute ago, running, heartbeat 40 s old: its worker is gone, and it is re-queued now, not after
    PDP_STUCK_CHECK_SECONDS."""
    settings.PDP_STUCK_CHECK_SECONDS, settings.PDP_DEAD_WORKER_SECONDS = 300, 30
    version = push_queued(actor=drafter)
    lint = version.checks.get()
    silent = timezone.now() - dt.timedelta(seconds=40)
    age(lint, seconds=60, status="running", attempts=1, heartbeat_at=silent, started_at=silent)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sweep_stuck_checks() == ([lint.pk], [])
    assert len(callbacks) == 1
    assert CheckRun.objects.get(pk=lint.pk).status == "queued"


def test_a_running_check_that_beat_recently_is_left_alone(push_queued, drafter, settings):
    """Queued ten minutes ago, still running, heartbeat 20 s old: alive, however long it has run."""
    settings.PDP_STUCK_CHECK_SECONDS, settings.PDP_DEAD_WORKER_SECONDS = 300, 30
    version = push_queued(actor=drafter)
    lint = version.checks.get()
    beat = timezone.now() - dt.timedelta(seconds=20)
    age(lint, seconds=600, status="running", attempts=1, heartbeat_at=beat, started_at=beat)
    assert sweep_stuck_checks() == ([], [])
    assert CheckRun.objects.get(pk=lint.pk).status == "running"


def test_the_sweeper_runs_often_enough_to_notice_a_dead_worker_in_time(settings):
    """Beat runs the sweeper at least three times within the dead-worker threshold, and jobs beat well inside it."""
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stuck-checks"]
    assert entry["task"] == "checks.tasks.sweep_stuck_checks"
    assert entry["schedule"] * 3 <= settings.PDP_DEAD_WORKER_SECONDS
    assert settings.PDP_HEARTBEAT_SECONDS * 3 <= settings.PDP_DEAD_WORKER_SECONDS
