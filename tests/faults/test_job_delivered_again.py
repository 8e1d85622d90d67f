"""A job delivered again takes over its check, which the attempt that died left running with a recent heartbeat.

The real worker, broker and kill -9 are in test_worker_killed.py; here the state a dead attempt
leaves is made directly, so the rule runs on either database.
"""

from django.utils import timezone

from checks.models import CheckRun
from checks.services import run_simulation
from checks.tasks import run_simulation_task
from tests.deployments.support import events


def left_running(check):
    """As an attempt leaves its check when its worker dies mid-simulation: running, heard of just now."""
    now = timezone.now()
    CheckRun.objects.filter(pk=check.pk).update(status="running", attempts=1, started_at=now, heartbeat_at=now)


def test_a_job_delivered_again_takes_over_its_running_check(push_queued_and_lint, drafter):
    """The same job given back (resuming its id) runs the check to the end, once; a first delivery or another job does not."""
    version = push_queued_and_lint(drafter)
    check = version.checks.get(kind="simulation")
    left_running(check)
    assert run_simulation(check.pk) is None  # a first delivery: another worker may be on it
    assert run_simulation(check.pk, resuming="another-job") is None  # not this check's job
    assert CheckRun.objects.get(pk=check.pk).attempts == 1

    finished = run_simulation(check.pk, resuming=check.task_id)

    assert (finished.status, finished.attempts) == ("passed", 2)
    version.refresh_from_db()
    assert version.status == "in_review"
    assert [e.data["check"] for e in events("check.simulation")] == [check.pk]
    assert run_simulation(check.pk, resuming=check.task_id) is None  # once finished, never again
    assert len(events("check.simulation")) == 1


def test_a_retried_job_resumes_its_check(push_queued_and_lint, drafter):
    """A retry of the job (after a database error mid-run) takes over the check its first run left running."""
    version = push_queued_and_lint(drafter)
    check = version.checks.get(kind="simulation")
    left_running(check)

    result = run_simulation_task.apply(args=[check.pk], task_id=check.task_id, retries=1)

    assert result.get() == "passed"
    assert CheckRun.objects.get(pk=check.pk).attempts == 2
    assert len(events("check.simulation")) == 1
