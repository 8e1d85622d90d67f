"""Redis restarted during a run: nothing is lost, and the checks finish, each once.

Three versions are pushed to a real worker through a Redis of the test's own. While the first
simulation runs, Redis is killed and started again on the same port; it keeps nothing on disk (as
the shared one), so the jobs waiting in it and the one being run are gone from the broker. The
running simulation goes on (its truth is its row) and finishes; the worker reconnects by itself;
the checks whose messages went with Redis stay queued until the sweeper, run here as beat would
run it, re-queues them.
"""

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

VERSIONS = 3


def test_a_redis_restart_during_a_run_loses_no_check(drafter, own_redis, start_worker, settings, capsys):
    """Redis killed and started empty while a simulation runs and jobs wait: every check passes, once."""
    require_postgres()
    ensure_environments()
    settings.PDP_STUCK_CHECK_SECONDS = 3
    with publishing_to(own_redis.url):
        worker = start_worker(own_redis.url)
        versions = [push_rule_version(slow_rule(f"fault-redis-restart-{n}"), actor=drafter) for n in range(VERSIONS)]
        wait_for(
            lambda: CheckRun.objects.filter(kind="simulation", status="running", progress__gte=10).exists(),
            what="a simulation running",
            interval=0.02,
            context=worker.tail,
        )
        own_redis.kill()
        time.sleep(1)
        own_redis.start()

        simulated = CheckRun.objects.filter(version__in=versions, kind="simulation", status="passed")
        deadline = time.monotonic() + WAIT
        while simulated.count() < VERSIONS and time.monotonic() < deadline:
            sweep_stuck_checks()
            time.sleep(1)

    outcomes = [lost_and_duplicated(v) for v in versions]
    line = tally(
        "Redis restarted during a run",
        capsys,
        survived=sum(outcome == (0, 0) for outcome in outcomes),
        total=VERSIONS,
        lost=sum(lost for lost, _ in outcomes),
        duplicated=sum(duplicated for _, duplicated in outcomes),
    )
    assert line == f"faults survived {VERSIONS}/{VERSIONS}, lost 0, duplicated 0", (outcomes, worker.tail())
    assert worker.process.poll() is None, "the worker reconnected rather than exiting"
    assert verify_chain()[1] == []
