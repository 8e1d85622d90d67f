"""checks/services.py run_simulation: results, budget, idempotence and cancellation."""

import polars as pl

from budget.models import Dataset
from checks.models import CheckRun
from checks.services import run_lint, run_simulation
from engine.logic.evaluate import ENGINE_VERSION
from engine.simulation import load_population
from pdp_portal import permissions
from rules.services import push_rule_version
from tests.conftest import EXAMPLES, document, last_event, pipeline_events
from tests.deployments.support import events


def linted(push_queued, drafter, raw=None):
    version = push_queued(raw, actor=drafter)
    run_lint(version.checks.get(kind="lint").pk)
    version.refresh_from_db()
    assert version.status == "simulating", version.checks.get(kind="lint").findings
    return version, version.checks.get(kind="simulation")


def test_simulation_passes_into_review(push_queued, drafter, counsel, budget_officer):
    """A passing simulation stores its figures, dataset and engine, opens review and grants sign-off permissions."""
    version, simulation = linted(push_queued, drafter)
    assert permissions.signoff_roles(counsel, version) == set()
    check = run_simulation(simulation.pk)
    version.refresh_from_db()
    simulation.refresh_from_db()
    dataset = Dataset.objects.default()
    assert check.pk == simulation.pk
    assert version.status == "in_review"
    assert (simulation.status, simulation.progress, simulation.attempts) == ("passed", 100, 1)
    assert (simulation.dataset, simulation.dataset_hash, simulation.engine_version) == (
        dataset,
        dataset.sha256,
        ENGINE_VERSION,
    )
    result = simulation.result
    assert result["rows"] == dataset.row_count == 2_000
    assert result["cost_source"] == "simulated"
    assert result["rule_hash"] == version.content_hash
    assert result["dataset_hash"] == dataset.sha256
    assert result["engine"] == ENGINE_VERSION
    assert result["binding_limit"] == "budget cap"
    assert result["budget_limit"] == 120_000_000
    assert result["within_budget"] is True
    assert 0 < result["cost"] <= 120_000_000

    # The figures are the example rule's own, recomputed here over the same file.
    frame = load_population(dataset.file_path)
    eligible = frame.filter((pl.col("age") >= 18) & pl.col("in_fire_zone") & pl.col("home_damaged"))
    assert result["eligible_rows"] == eligible.height
    assert abs(result["recipients"] - eligible["weight"].sum()) < 0.01
    assert abs(result["cost"] - 5000 * eligible["weight"].sum()) < 1

    assert permissions.signoff_roles(counsel, version) == {"legal"}
    assert permissions.signoff_roles(budget_officer, version) == {"budget"}
    event = last_event("check.simulation")
    assert (event.outcome, event.actor, event.target_id) == ("done", None, str(version.pk))
    assert event.data["status"] == "passed"
    assert event.data["cost"] == result["cost"]
    assert event.data["within_budget"] is True
    assert event.data["errors"] == 0


def test_dataset_is_generated_once_and_recorded(push, drafter):
    """The default population is generated on first use, with its hash and columns, and an audit event."""
    push(actor=drafter)
    push(document(amount=4000, tests=None), actor=drafter)
    dataset = Dataset.objects.get()
    assert (dataset.is_default, dataset.row_count, dataset.format) == (True, 2_000, "parquet")
    assert set(dataset.columns) >= {"age", "in_fire_zone", "home_damaged", "weight", "county"}
    (event,) = events("dataset.generate")
    assert event.data == {"rows": 2_000, "seed": 2024, "sha256": dataset.sha256}


def test_over_budget_example_fails_at_simulation(push, drafter):
    """examples/wildfire-aid-over-budget.json stops at simulation: OVER_BUDGET, over the site default by $1B."""
    version = push((EXAMPLES / "wildfire-aid-over-budget.json").read_bytes(), actor=drafter)
    simulation = version.checks.get(kind="simulation")
    assert version.status == "simulation_failed"
    assert simulation.status == "failed"
    over = [f for f in simulation.findings if f["code"] == "OVER_BUDGET"]
    assert len(over) == 1
    assert (over[0]["severity"], over[0]["path"]) == ("error", "$.cost")
    assert over[0]["message"] == "The cost of $2B is over the site default of $1B by $1B."
    assert (simulation.result["cost"], simulation.result["over_by"], simulation.result["within_budget"]) == (
        2e9,
        1e9,
        False,
    )
    event = last_event("check.simulation")
    assert (event.data["status"], event.data["within_budget"], event.data["errors"]) == ("failed", False, 1)


def test_minimal_example_passes_with_its_warnings(push, drafter):
    """examples/wildfire-aid-minimal.json passes, warning that only the declared cost can be checked."""
    version = push((EXAMPLES / "wildfire-aid-minimal.json").read_bytes(), actor=drafter)
    lint, simulation = version.checks.get(kind="lint"), version.checks.get(kind="simulation")
    assert version.status == "in_review"
    assert lint.status == simulation.status == "passed"
    assert ("NO_ELIGIBILITY", "warning") in [(f["code"], f["severity"]) for f in lint.findings]
    assert [(f["code"], f["severity"]) for f in simulation.findings] == [("DECLARED_COST_ONLY", "warning")]
    assert simulation.result["cost_source"] == "declared"
    assert simulation.result["cost"] == 98_000_000
    assert simulation.result["binding_limit"] == "site default"


def test_evaluation_error_fails_the_simulation(push, drafter):
    """A rule whose amount is not a number for some citizen fails its simulation, naming the row."""
    raw = document(amount={"cat": ["$", {"var": "age"}]}, inputs=["age", "in_fire_zone", "home_damaged"], tests=None)
    version = push(raw, actor=drafter)
    simulation = version.checks.get(kind="simulation")
    assert version.status == "simulation_failed"
    assert [f["code"] for f in simulation.findings] == ["EVALUATION_ERROR"]
    assert "row " in simulation.findings[0]["message"] and "(id " in simulation.findings[0]["message"]
    assert simulation.result == {}
    event = last_event("check.simulation")
    assert (event.data["status"], event.data["errors"]) == ("failed", 1)
    assert "cost" not in event.data


def test_rerun_on_a_finished_simulation_changes_nothing(in_review):
    """A re-delivered simulation job for a finished check returns without a change or a second event."""
    simulation = in_review.checks.get(kind="simulation")
    before = pipeline_events().count()
    assert run_simulation(simulation.pk) is None
    after = CheckRun.objects.get(pk=simulation.pk)
    assert (after.status, after.attempts, after.result) == ("passed", simulation.attempts, simulation.result)
    assert pipeline_events().count() == before
    assert len(events("check.simulation")) == 1


def test_simulation_superseded_mid_way_is_cancelled(
    push_queued, drafter, monkeypatch, django_capture_on_commit_callbacks
):
    """A newer push while the population is being read cancels the running simulation; its result is dropped."""
    version, simulation = linted(push_queued, drafter)
    real_read = pl.read_parquet
    pushed = []

    def read_while_someone_pushes(*args, **kwargs):  # the file read is the edge we interpose on
        with django_capture_on_commit_callbacks(execute=False):
            pushed.append(push_rule_version(document(amount=4000, tests=None), actor=drafter))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(pl, "read_parquet", read_while_someone_pushes)
    assert run_simulation(simulation.pk) is None
    assert len(pushed) == 1
    version.refresh_from_db()
    simulation.refresh_from_db()
    assert version.status == "superseded"
    assert (simulation.status, simulation.result, simulation.attempts) == ("cancelled", {}, 1)
    assert not events("check.simulation")
