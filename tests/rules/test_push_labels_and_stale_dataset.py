import json

from budget.models import Dataset
from budget.services import set_default_dataset, upload_dataset
from checks.models import CheckRun
from rules.models import Rule
from tests.conftest import WILDFIRE


def test_a_title_the_schema_refuses_is_not_copied_onto_the_rule(push, drafter):
    """A null or non-text title is a lint error on the version, never a server error or junk on the rule."""
    version = push(json.dumps({**WILDFIRE, "title": None}).encode(), actor=drafter)
    assert version.status == "lint_failed"
    assert Rule.objects.get().title == ""
    version = push(json.dumps({**WILDFIRE, "title": {"a": 1}, "program": "Not A Slug"}).encode(), actor=drafter)
    rule = Rule.objects.get()
    assert (rule.title, rule.program) == ("", "")


def test_simulation_refuses_a_default_dataset_without_the_rules_columns(
    push_queued_and_lint, drafter, budget_officer, settings, tmp_path
):
    """If the default dataset changes between lint and simulation, the simulation fails, naming the column."""
    settings.DATA_DIR = tmp_path
    version = push_queued_and_lint(drafter)
    upload_dataset(b"id,county,weight\n1,Lane,2\n", actor=budget_officer, name="no ages", filename="p.csv")
    set_default_dataset(Dataset.objects.get(name="no ages"), actor=budget_officer)
    from checks.services import run_simulation

    run_simulation(version.checks.get(kind=CheckRun.Kind.SIMULATION).pk)
    version.refresh_from_db()
    sim = version.checks.get(kind=CheckRun.Kind.SIMULATION)
    assert version.status == "simulation_failed"
    assert [f["code"] for f in sim.findings] == ["INPUT_NOT_IN_POPULATION"]
    assert "'age'" in sim.findings[0]["message"]
