"""Hostile rules and datasets are refused with a clear reason, and leave nothing behind."""

import json

import pytest
from django.core.management import CommandError, call_command

from budget.models import Dataset
from budget.services import upload_dataset
from checks.models import CheckRun
from engine.errors import InvalidDataset, InvalidDocument
from rules.models import Rule, RuleVersion
from rules.services import push_rule_version
from tests.conftest import document, pipeline_events

DEEP = ('{"rule": "deep", "eligibility": ' + '{"!": [' * 10_000 + "true" + "]}" * 10_000 + "}").encode()
UNKNOWN_OPERATOR = document(eligibility={"substr": [{"var": "county"}, 0, 2]}, inputs=["county"], tests=[])
INTERNALS = document(eligibility={"var": "__proto__.polluted"}, inputs=None, tests=[])


def test_a_rule_ten_thousand_levels_deep_is_refused_at_the_door(drafter):
    """Nothing is stored: no rule, no version; the refusal is audited."""
    with pytest.raises(InvalidDocument, match="nested too deeply"):
        push_rule_version(DEEP, actor=drafter)
    assert not Rule.objects.exists() and not RuleVersion.objects.exists()
    assert pipeline_events().get(action="rule.push").outcome == "refused"


@pytest.mark.parametrize(
    "raw, code",
    [(UNKNOWN_OPERATOR, "LOGIC_OPERATOR"), (INTERNALS, "LOGIC_VAR_INTERNAL")],
    ids=["unknown-operator", "internals"],
)
def test_logic_outside_the_subset_stops_at_lint(raw, code, push, drafter):
    """The version's lint fails with the finding; no simulation is run or stored."""
    version = push(raw, actor=drafter)
    lint = version.checks.get(kind=CheckRun.Kind.LINT)
    assert version.status == "lint_failed"
    assert code in {f["code"] for f in lint.findings}
    assert not version.checks.filter(kind=CheckRun.Kind.SIMULATION).exists()


@pytest.mark.parametrize(
    "raw, code", [(UNKNOWN_OPERATOR, "LOGIC_OPERATOR"), (INTERNALS, "LOGIC_VAR_INTERNAL")], ids=["op", "internals"]
)
def test_the_simulate_command_reports_the_finding_and_stores_nothing(raw, code, tmp_path, capsys, db):
    """`manage.py simulate` fails at lint with the finding and writes no row."""
    path = tmp_path / "rule.json"
    path.write_bytes(raw)
    with pytest.raises(SystemExit) as exit_:
        call_command("simulate", str(path), "--json")
    assert exit_.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["stage"] == "lint" and not report["passed"]
    assert code in {f["code"] for f in report["findings"]}
    assert not RuleVersion.objects.exists() and not pipeline_events().exists()


def test_the_simulate_command_refuses_a_deep_rule(tmp_path, db):
    """A rule too deep to read is a one-line error."""
    path = tmp_path / "deep.json"
    path.write_bytes(DEEP)
    with pytest.raises(CommandError, match="nested too deeply"):
        call_command("simulate", str(path))


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"id,age,weight\n1,40,1\n2,50\n", "wrong number of fields"),
        (b"id,age,weight\n1,40,1\n2,unknown,1\n", "mixes numbers and text"),
        (b"", "empty"),
    ],
    ids=["ragged-row", "mixed-column", "zero-bytes"],
)
def test_hostile_datasets_are_refused_and_nothing_is_stored(content, reason, budget_officer, settings, tmp_path):
    """The upload is refused with its reason: no Dataset row, no file, a refused audit event."""
    settings.DATA_DIR = tmp_path
    with pytest.raises(InvalidDataset, match=reason):
        upload_dataset(content, actor=budget_officer, name="hostile", filename="people.csv")
    assert not Dataset.objects.exists()
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())
    assert pipeline_events().latest("id").outcome == "refused"


@pytest.mark.parametrize(
    "content, reason",
    [(b"id,age,weight\n1,40,1\n2,50\n", "wrong number of fields"), (b"", "empty")],
    ids=["ragged-row", "zero-bytes"],
)
def test_the_simulate_command_refuses_a_hostile_dataset(content, reason, tmp_path, db):
    """`simulate --dataset` names what is wrong with the file."""
    rule, data = tmp_path / "rule.json", tmp_path / "people.csv"
    rule.write_bytes(document())
    data.write_bytes(content)
    with pytest.raises(CommandError, match=reason):
        call_command("simulate", str(rule), "--dataset", str(data))
