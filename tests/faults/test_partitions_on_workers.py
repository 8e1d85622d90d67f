"""The partitioned simulation on two real Celery workers over Redis: exact, shared out, and whole after kill -9.

The workers (tests/faults/support.py) simulate a population of POPULATION_ROWS rows in partitions of
PARTITION_ROWS, as a chord. Each check's figures are compared, to the cent, with `simulate` over the
same file in this process.
"""

import json
import os
import random
import signal

import pytest

from audit.services import verify_chain
from checks.models import CheckRun, SimulationPartition
from deployments.apps import ensure_environments
from engine.simulation import load_population, needed_columns, simulate
from rules.services import push_rule_version
from tests.conftest import EXAMPLES, require_postgres
from tests.deployments.support import POSTGRES_ONLY
from tests.rule_variants import pushable, random_rule

from .support import POPULATION_ROWS, lost_and_duplicated, publishing_to, slow_rule, tally, wait_for

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]

PARTITION_ROWS = 50_000
FIGURES = ("rows", "eligible_rows", "recipients", "cost", "mean_payment", "max_payment", "by_county", "histogram")


@pytest.fixture
def partitioned(monkeypatch):
    """Workers started from here split each simulation into partitions of `rows` rows."""

    def split(rows):
        monkeypatch.setenv("PDP_PARTITION_ROWS", str(rows))

    return split


def documents():
    """Every example rule that is simulated, and rules drawn at random, each as a rule of its own."""
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(path.read_text())
        if "eligibility" in document:
            slug = f"parts-{path.stem}"
            found.append({**document, "rule": slug, "program": slug})
    rng = random.Random(20261207)
    found += [pushable(random_rule(rng, f"parts-random-{n}")) for n in range(4)]
    return found


def finished(version, worker):
    return wait_for(
        lambda: CheckRun.objects.filter(version=version, kind="simulation", status__in=["passed", "failed"]).first(),
        what=f"the simulation of {version} finishing",
        interval=0.1,
        context=worker.tail,
    )


def one_process_figures(document, check, data_dir):
    """The figures `simulate` gives over the check's own stored file, in this process."""
    dataset = check.dataset
    frame = load_population(data_dir / dataset.path, columns=needed_columns([document], list(dataset.columns)))
    result, _ = simulate(document, frame)
    return result


def test_two_workers_share_the_partitions_and_give_the_figures_of_one_process(
    drafter, own_redis, start_worker, partitioned, worker_data_dir
):
    require_postgres()
    ensure_environments()
    partitioned(PARTITION_ROWS)
    cases = documents()
    with publishing_to(own_redis.url):
        workers = [start_worker(own_redis.url), start_worker(own_redis.url)]
        versions = [push_rule_version(json.dumps(d).encode(), actor=drafter) for d in cases]
        checks = [finished(v, workers[0]) for v in versions]
    hosts = set()
    for document, check in zip(cases, checks, strict=True):
        assert check.result, (document["rule"], check.findings)
        assert check.result["partitions"] == POPULATION_ROWS // PARTITION_ROWS
        expected = one_process_figures(document, check, worker_data_dir)
        for key in FIGURES:
            assert check.result[key] == expected[key], (document["rule"], key)
        assert check.result["examples"] == expected["examples"]
        parts = SimulationPartition.objects.filter(run=check)
        assert parts.filter(stage="figures").count() == 4
        assert sum(p.rows for p in parts.filter(stage="figures")) == POPULATION_ROWS
        assert all(p.attempts == 1 and p.is_done for p in parts)
        hosts |= {p.worker.split("@")[0] for p in parts}
    # Both workers took partitions.
    assert hosts == {w.name for w in workers}
    uncapped = [c for d, c in zip(cases, checks, strict=True) if not d.get("max_payment")]
    assert uncapped and all(c.partitions.filter(stage="histogram").count() == 4 for c in uncapped)


def test_a_partition_whose_worker_is_killed_runs_again_and_counts_once(
    drafter, own_redis, start_worker, partitioned, worker_data_dir, capsys
):
    """kill -9 of the pool process running a partition: the broker gives it back, the figures stay exact."""
    require_postgres()
    ensure_environments()
    partitioned(100_000)  # two partitions of the slow rule, about half a second each
    raw = slow_rule("parts-worker-killed")
    with publishing_to(own_redis.url):
        workers = [start_worker(own_redis.url), start_worker(own_redis.url)]
        version = push_rule_version(raw, actor=drafter)
        running = wait_for(
            lambda: SimulationPartition.objects.filter(
                run__version=version, started_at__isnull=False, figures__isnull=True
            ).first(),
            what="a partition under way",
            interval=0.01,
            context=workers[0].tail,
        )
        (victim,) = [w for w in workers if running.worker.startswith(w.name + "@")]
        os.kill(victim.pool_process(), signal.SIGKILL)
        check = finished(version, victim)
    assert check.status == "passed", check.findings
    running.refresh_from_db()
    assert running.attempts == 2 and running.is_done
    assert sorted(check.partitions.values_list("attempts", flat=True)) == [1, 2]
    expected = one_process_figures(json.loads(raw), check, worker_data_dir)
    for key in FIGURES:
        assert check.result[key] == expected[key], key
    line = tally(
        "kill -9 of a partition's worker",
        capsys,
        survived=int(check.status == "passed"),
        total=1,
        lost=lost_and_duplicated(version)[0],
        duplicated=lost_and_duplicated(version)[1],
    )
    assert line == "faults survived 1/1, lost 0, duplicated 0"
    assert verify_chain()[1] == []
