"""checks/partitions.py: a simulation over more rows than PDP_PARTITION_ROWS runs as a chord of partitions.

These run the chord in this process (tasks eager); tests/checks/test_partitions_on_workers.py runs it
on real workers over Redis, and tests/faults/test_partition_worker_killed.py kills one.
"""

import io
import json

import pytest
from django.test import TestCase

from budget.models import Dataset
from budget.services import set_default_dataset, upload_dataset
from checks import partitions
from checks.models import CheckRun, SimulationPartition
from checks.services import run_simulation, sweep_stuck_checks
from checks.tasks import merge_partitions_task, simulate_partition_task
from engine.population import generate
from tests.checks.test_run_simulation import linted
from tests.conftest import WILDFIRE, last_event

EXACT_KEYS = ("rows", "eligible_rows", "recipients", "cost", "mean_payment", "max_payment", "by_county", "histogram")


def simulated(push_queued, drafter, settings, partition_rows, raw=None):
    """Push, lint and simulate with PDP_PARTITION_ROWS = partition_rows; the simulation check, refreshed."""
    settings.PDP_PARTITION_ROWS = partition_rows
    _, check = linted(push_queued, drafter, raw)
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_simulation(check.pk)
    check.refresh_from_db()
    return check


def planned(push_queued, drafter, settings):
    """A version whose simulation is planned as 4 partitions of 500 rows, none of them run yet."""
    settings.PDP_PARTITION_ROWS = 500
    version, check = linted(push_queued, drafter)
    with TestCase.captureOnCommitCallbacks(execute=False) as chord:
        run_simulation(check.pk)
    assert len(chord) == 1  # the chord, published once the plan commits
    return version, check


def uncapped(slug):
    document = {**WILDFIRE, "rule": slug}
    document.pop("max_payment")
    document.pop("tests")  # they expect the capped amounts
    document["amount"] = {"*": [{"var": "household_size"}, 1250.5]}
    document["inputs"] = [*document["inputs"], "household_size"]
    return json.dumps(document).encode()


def test_spans_cover_every_row_once():
    assert partitions.spans(10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert partitions.spans(8, 4) == [(0, 4), (4, 4)]
    assert partitions.spans(3, 4) == [(0, 3)]


def test_partitions_are_whole_row_groups_when_larger_than_one(settings):
    settings.PDP_PARTITION_ROWS = 2_100_000
    assert partitions.partition_rows() == 2_000_000
    settings.PDP_PARTITION_ROWS = 300
    assert partitions.partition_rows() == 300


def test_a_partitioned_simulation_gives_the_figures_of_one_process(push_queued, drafter, settings):
    """2,000 rows as partitions of 300 (7, the last of 200): every figure equals the one-task simulation's."""
    whole = simulated(push_queued, drafter, settings, 0)
    assert whole.status == "passed" and whole.partitions.count() == 0
    raw = json.dumps({**WILDFIRE, "rule": "wildfire-aid-parts"}).encode()
    split = simulated(push_queued, drafter, settings, 300, raw)
    assert split.status == "passed", split.findings
    assert split.result["partitions"] == 7
    for key in EXACT_KEYS:
        assert split.result[key] == whole.result[key], key
    assert split.result["examples"] == whole.result["examples"]
    parts = list(split.partitions.order_by("index"))
    assert [(p.first_row, p.rows) for p in parts] == [(i * 300, 300) for i in range(6)] + [(1800, 200)]
    assert all(p.is_done and p.attempts == 1 and p.stage == "figures" for p in parts)
    assert (split.progress, split.plan["partitions"], split.plan["passes"]) == (100, 7, 1)
    # One audit event for the check, with its figures, as for a simulation in one task.
    event = last_event("check.simulation")
    assert event.data["check"] == split.pk
    assert (event.data["status"], event.data["cost"]) == ("passed", split.result["cost"])


def test_a_rule_without_a_maximum_payment_takes_a_histogram_pass(push_queued, drafter, settings):
    """The histogram's top is the largest payment of all the rows, so a second pass bins them once it is known."""
    whole = simulated(push_queued, drafter, settings, 0, uncapped("uncapped-whole"))
    split = simulated(push_queued, drafter, settings, 500, uncapped("uncapped-split"))
    assert split.status == "passed", split.findings
    stages = list(split.partitions.values_list("stage", flat=True))
    assert stages.count("figures") == stages.count("histogram") == 4
    assert split.plan["passes"] == 2
    for key in EXACT_KEYS:
        assert split.result[key] == whole.result[key], key
    assert split.result["histogram"][-1]["to"] == whole.result["max_payment"]


def test_a_partition_delivered_again_counts_once(push_queued, drafter, settings):
    """A partition's task run twice, and the merge run twice: the figures are stored once, the check finished once."""
    _, check = planned(push_queued, drafter, settings)
    first = SimulationPartition.objects.get(run=check, index=0)
    assert simulate_partition_task.apply(args=(check.pk, "figures", 0)).get() == "done"
    stored = SimulationPartition.objects.get(pk=first.pk).figures
    assert simulate_partition_task.apply(args=(check.pk, "figures", 0)).get() == "skipped"
    assert SimulationPartition.objects.get(pk=first.pk).figures == stored
    check.refresh_from_db()
    assert (check.status, check.progress) == ("running", 25)
    assert check.progress_note == "1 of 4 partitions done (500 of 2,000 rows simulated)"
    # The merge before every partition is done does nothing.
    assert merge_partitions_task.apply(args=([], check.pk, "figures")).get() == "merged nothing"
    for index in (1, 2, 3, 3, 2):
        simulate_partition_task.apply(args=(check.pk, "figures", index)).get()
    assert merge_partitions_task.apply(args=([], check.pk, "figures")).get() == "passed"
    assert merge_partitions_task.apply(args=([], check.pk, "figures")).get() == "merged nothing"
    check.refresh_from_db()
    assert check.status == "passed"
    assert check.result["rows"] == 2_000
    assert sum(p.rows for p in check.partitions.all()) == 2_000
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="check.simulation", data__check=check.pk).count() == 1


def test_a_partition_failing_for_good_fails_the_check_naming_it(push_queued, drafter, settings):
    """The stored file changed under the check: the partition that reads it fails the check with the cause."""
    version, check = planned(push_queued, drafter, settings)
    simulate_partition_task.apply(args=(check.pk, "figures", 0)).get()
    dataset = Dataset.objects.default()
    with open(dataset.file_path, "ab") as handle:
        handle.write(b"tampered")
    try:
        assert simulate_partition_task.apply(args=(check.pk, "figures", 1)).get() == "failed"
    finally:
        with open(dataset.file_path, "rb+") as handle:
            handle.truncate(dataset.size_bytes)
    check.refresh_from_db()
    version.refresh_from_db()
    assert (check.status, version.status) == ("failed", "simulation_failed")
    (found,) = [f for f in check.findings if f["code"] == "PARTITION_FAILED"]
    assert found["severity"] == "error"
    assert found["message"].startswith("Partition 2 of 4 (rows 501 to 1,000) failed")
    assert "SHA-256" in found["message"]
    event = last_event("check.simulation")
    assert (event.data["check"], event.data["status"], event.data["errors"]) == (check.pk, "failed", 1)
    # The rest of the chord changes nothing.
    assert simulate_partition_task.apply(args=(check.pk, "figures", 2)).get() == "skipped"
    assert merge_partitions_task.apply(args=([], check.pk, "figures")).get() == "merged nothing"


def test_an_evaluation_error_names_the_first_failing_row_of_all(push_queued, drafter, settings):
    """A rule failing on rows of two partitions: the finding names the first row, as one process would."""
    document = {**WILDFIRE, "rule": "fails-late"}
    document.pop("tests")
    document["amount"] = {"if": [{">": [{"var": "id"}, 1234]}, {"+": [1, "x"]}, 100]}
    document["inputs"] = [*document["inputs"], "id"]
    whole = simulated(push_queued, drafter, settings, 0, json.dumps({**document, "rule": "fails-whole"}).encode())
    split = simulated(push_queued, drafter, settings, 500, json.dumps(document).encode())
    assert whole.status == split.status == "failed"
    whole_errors = [f for f in whole.findings if f["code"] == "EVALUATION_ERROR"]
    split_errors = [f for f in split.findings if f["code"] == "EVALUATION_ERROR"]
    assert whole_errors and split_errors == whole_errors


def test_the_sweeper_publishes_again_only_what_is_not_done(push_queued, drafter, settings):
    """A partitioned check whose partitions all stalled is re-queued; the done partitions are kept, not redone."""
    _, check = planned(push_queued, drafter, settings)
    simulate_partition_task.apply(args=(check.pk, "figures", 0)).get()
    done = SimulationPartition.objects.get(run=check, index=0)
    # Silent for less than PDP_STUCK_CHECK_SECONDS: partitions may still be waiting for a worker.
    CheckRun.objects.filter(pk=check.pk).update(heartbeat_at=done.finished_at.replace(year=2000))
    with TestCase.captureOnCommitCallbacks(execute=True):
        requeued, failed = sweep_stuck_checks(older_than=10**9, silent_for=1)
    assert (requeued, failed) == ([], [])
    with TestCase.captureOnCommitCallbacks(execute=True):
        requeued, _ = sweep_stuck_checks(silent_for=1)
    assert requeued == [check.pk]
    check.refresh_from_db()
    assert check.status == "passed", check.findings
    again = SimulationPartition.objects.get(pk=done.pk)
    assert (again.attempts, again.finished_at) == (1, done.finished_at)
    assert sorted(check.partitions.values_list("attempts", flat=True)) == [1, 1, 1, 1]


@pytest.mark.parametrize("rows", [0, 2_000])
def test_populations_at_or_under_the_size_run_in_one_task(push_queued, drafter, settings, rows):
    check = simulated(push_queued, drafter, settings, rows)
    assert check.status == "passed"
    assert check.partitions.count() == 0 and "partitions" not in check.result


def test_each_partition_checks_only_its_own_row_groups(push_queued, drafter, budget_officer, settings, monkeypatch):
    """A default population stored in 4 row groups of 500 rows, one partition each: a byte changed in the third
    row group fails the partition that reads it, naming its rows, while the others check and simulate theirs."""
    monkeypatch.setattr("engine.datasets.ROW_GROUP_ROWS", 500)
    raw = io.BytesIO()
    generate(2_000, seed=3).write_parquet(raw)
    stored = upload_dataset(raw.getvalue(), actor=budget_officer, name="In row groups", filename="people.parquet")
    set_default_dataset(stored, actor=budget_officer)
    _, _, start, end, _ = stored.stored_layout["row_groups"][2]
    original = stored.file_path.read_bytes()
    changed = bytearray(original)
    changed[(start + end) // 2] ^= 0xFF
    _, check = planned(push_queued, drafter, settings)
    check.refresh_from_db()
    assert check.plan["dataset"] == stored.pk
    stored.file_path.write_bytes(bytes(changed))
    try:
        assert [simulate_partition_task.apply(args=(check.pk, "figures", i)).get() for i in (0, 1, 3)] == ["done"] * 3
        assert simulate_partition_task.apply(args=(check.pk, "figures", 2)).get() == "failed"
    finally:
        stored.file_path.write_bytes(original)
    check.refresh_from_db()
    assert check.status == "failed"
    (found,) = [f for f in check.findings if f["code"] == "PARTITION_FAILED"]
    assert found["message"].startswith("Partition 3 of 4 (rows 1,001 to 1,500) failed")
    assert "holds other bytes for rows 1,001 to 1,500 than those whose SHA-256 was recorded" in found["message"]
    assert sorted(p.index for p in check.partitions.all() if p.is_done) == [0, 1, 3]
