"""A check whose job meets an error it would meet again fails at once, with its cause, instead of being retried
until CHECK_ABANDONED; figures that overflow fail the simulation with a finding instead of crashing its job."""

from budget.models import Dataset
from budget.services import set_default_dataset, upload_dataset
from checks.models import CheckRun
from tests.conftest import document, pipeline_events

HUGE_WEIGHTS = (
    b"id,county,age,income,in_fire_zone,home_damaged,zip,weight\n"
    b"1,Lane,34,52000,true,true,97401,1e308\n"
    b"2,Marion,40,61000,true,true,02134,1e308\n"
)


def simulation_of(version):
    return version.checks.get(kind=CheckRun.Kind.SIMULATION)


def test_a_lost_population_file_fails_the_simulation_at_once_with_its_cause(push, drafter):
    """The default population's file removed from disk: the simulation fails on its first attempt, CHECK_ERROR says
    what happened, the version fails with it, and the failure is in the audit history."""
    push(document(title="First"), actor=drafter)  # the default population is made and stored
    Dataset.objects.get(is_default=True).file_path.unlink()

    version = push(document(title="Second"), actor=drafter)

    check = simulation_of(version)
    assert (check.status, check.attempts, version.status) == ("failed", 1, "simulation_failed")
    (error,) = check.findings
    assert error["code"] == "CHECK_ERROR" and error["severity"] == "error"
    assert "stopped on an error it would meet again, so it was not retried" in error["message"]
    assert "No such file" in error["message"] or "not found" in error["message"].lower()
    event = pipeline_events().filter(action="check.simulation").order_by("-id").first()
    assert event.data["status"] == "failed" and event.data["errors"] == 1


def test_weights_that_overflow_fail_the_simulation_with_the_cause(push, drafter, budget_officer):
    """Weights of 1e308: the cost is not a finite number, so the simulation fails with FIGURES_OVERFLOW and
    stores no figures, instead of its job crashing on storing infinity."""
    dataset = upload_dataset(HUGE_WEIGHTS, actor=budget_officer, name="Huge weights", filename="huge.csv")
    set_default_dataset(dataset, actor=budget_officer)

    version = push(document(tests=[]), actor=drafter)

    check = simulation_of(version)
    assert (check.status, check.attempts, version.status) == ("failed", 1, "simulation_failed")
    assert "FIGURES_OVERFLOW" in {f["code"] for f in check.findings}
    assert check.result == {}


def test_a_changed_population_file_fails_the_simulation_naming_the_rows(push, drafter):
    """A byte of the default population's stored file changed after it was stored: the one-task simulation checks
    the bytes it reads against the SHA-256s recorded for them, and fails at once rather than simulate other data."""
    push(document(title="First"), actor=drafter)
    dataset = Dataset.objects.get(is_default=True)
    assert dataset.stored_layout["row_groups"]
    original = dataset.file_path.read_bytes()
    changed = bytearray(original)
    _, rows, start, end, _ = dataset.stored_layout["row_groups"][0]
    changed[(start + end) // 2] ^= 0xFF
    dataset.file_path.write_bytes(bytes(changed))
    try:
        version = push(document(title="Second"), actor=drafter)
    finally:
        dataset.file_path.write_bytes(original)
    check = simulation_of(version)
    assert (check.status, check.attempts, version.status) == ("failed", 1, "simulation_failed")
    (error,) = check.findings
    assert error["code"] == "CHECK_ERROR"
    assert f"holds other bytes for rows 1 to {rows:,} than those whose SHA-256 was recorded" in error["message"]
