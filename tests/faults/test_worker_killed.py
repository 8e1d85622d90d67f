"""kill -9 of the worker during a simulation: the job comes back and the check finishes exactly once.

Three faults, each on a version of its own, against a real `celery worker` on the test database and
a Redis of the test's own:

1. the pool process running the simulation is killed: the worker's main process gives the job back
   to the broker at once (task_acks_late, task_reject_on_worker_lost) and runs it again;
2. the whole worker is killed (main and pool process): nothing gives the job back within the test
   (production's 15-minute visibility timeout), so the sweeper re-queues the check, whose heartbeat
   has stopped (PDP_DEAD_WORKER_SECONDS), and a new worker runs it;
3. the whole worker is killed and a new one starts with a 3 s visibility timeout: Redis gives the
   unacknowledged job back by itself, with no sweeper.
"""

import os
import signal
import time

import pytest

from audit.services import verify_chain
from checks.models import CheckRun
from checks.tasks import sweep_stuck_checks
from deployments.apps import ensure_environments
from rules.services import push_rule_version
from tests.conftest import require_postgres
from tests.deployments.support import POSTGRES_ONLY

from .support import WAIT, lost_and_duplicated, publishing_to, slow_rule, tally, wait_for

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]


def simulating(version, worker):
    """Wait until the version's simulation is under way (running, with a heartbeat past its first tenth)."""
    return wait_for(
        lambda: CheckRun.objects.filter(
            version=version, kind="simulation", status="running", progress__gte=10, progress__lt=100
        ).first(),
        what=f"the simulation of {version} running",
        interval=0.02,
        context=worker.tail,
    )


def finishes(version, seconds=WAIT):
    """Whether the version's simulation check ends (passed or failed) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if CheckRun.objects.filter(version=version, kind="simulation", status__in=["passed", "failed"]).exists():
            return True
        time.sleep(0.1)
    return False


def test_a_worker_killed_during_a_simulation_loses_and_doubles_nothing(
    drafter, own_redis, start_worker, settings, capsys
):
    """Each kill -9 during a simulation ends with the check passed once, one simulation event and a whole chain."""
    require_postgres()
    ensure_environments()
    # The sweeper of fault 2 (run here, as beat would) takes a check whose heartbeat is silent this
    # long for one whose worker is gone; the workers beat every PDP_HEARTBEAT_SECONDS (support.py).
    settings.PDP_DEAD_WORKER_SECONDS = 2
    versions = []
    with publishing_to(own_redis.url):
        first = start_worker(own_redis.url)

        # 1. The pool process dies; the main process gives the job back at once.
        versions.append(push_rule_version(slow_rule("fault-pool-killed"), actor=drafter))
        simulating(versions[-1], first)
        os.kill(first.pool_process(), signal.SIGKILL)
        finished_1 = finishes(versions[-1])

        # 2. The whole worker dies; the sweeper re-queues the check, a new worker runs it.
        versions.append(push_rule_version(slow_rule("fault-worker-killed-sweeper"), actor=drafter))
        simulating(versions[-1], first)
        first.kill()
        second = start_worker(own_redis.url)
        wait_for(lambda: sweep_stuck_checks()["requeued"], what="the sweeper re-queuing the check", interval=0.5)
        finished_2 = finishes(versions[-1])

        # 3. The whole worker dies; Redis gives the job back after a short visibility timeout.
        versions.append(push_rule_version(slow_rule("fault-worker-killed-redelivered"), actor=drafter))
        simulating(versions[-1], second)
        second.kill()
        start_worker(own_redis.url, visibility_timeout=3)
        finished_3 = finishes(versions[-1])

    outcomes = [lost_and_duplicated(v) for v in versions]
    survived = sum(
        done and outcome == (0, 0) for done, outcome in zip((finished_1, finished_2, finished_3), outcomes, strict=True)
    )
    line = tally(
        "kill -9 of the worker",
        capsys,
        survived=survived,
        total=3,
        lost=sum(lost for lost, _ in outcomes),
        duplicated=sum(duplicated for _, duplicated in outcomes),
    )
    assert line == "faults survived 3/3, lost 0, duplicated 0", outcomes
    attempts = [v.checks.get(kind="simulation").attempts for v in versions]
    assert attempts == [2, 2, 2], "each simulation ran once before its kill and once after"
    assert verify_chain()[1] == []
