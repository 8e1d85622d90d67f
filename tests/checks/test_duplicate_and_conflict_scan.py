import json

from checks.models import CheckRun
from tests.conftest import WILDFIRE


def lint_findings(version):
    return {f["code"]: f for f in version.checks.get(kind=CheckRun.Kind.LINT).findings}


def test_the_same_document_under_another_name_is_a_duplicate_law(in_production, push, other_drafter):
    """The same document under another identifier is an error naming the live rule."""
    twin = dict(WILDFIRE, rule="wildfire-aid-copy")
    version = push(json.dumps(twin).encode(), actor=other_drafter)
    found = lint_findings(version)
    assert version.status == "lint_failed"
    assert found["DUPLICATE_CONTENT"]["severity"] == "error"
    assert "wildfire-aid-2024 v1 (live on" in found["DUPLICATE_CONTENT"]["message"]


def test_the_same_logic_under_another_name_is_a_duplicate_law(in_production, push, other_drafter):
    """The same eligibility and amount as a live rule, in an overlapping period, is an error at the logic."""
    twin = dict(WILDFIRE, rule="wildfire-relief", title="Another title", budget_cap=110_000_000)
    version = push(json.dumps(twin).encode(), actor=other_drafter)
    found = lint_findings(version)
    assert version.status == "lint_failed"
    assert "DUPLICATE_CONTENT" not in found
    assert found["DUPLICATE_LOGIC"]["severity"] == "error"
    assert "people would be paid twice" in found["DUPLICATE_LOGIC"]["message"]
    assert found["DUPLICATE_LOGIC"]["path"] == "$.eligibility"


def test_same_logic_in_a_later_period_is_only_a_warning(in_production, push, other_drafter):
    """Next year's rule with the same logic but a period that does not overlap passes with a warning."""
    later = dict(WILDFIRE, rule="wildfire-aid-2025", valid_from="2025-09-01", valid_to="2026-08-31")
    version = push(json.dumps(later).encode(), actor=other_drafter)
    found = lint_findings(version)
    assert found["DUPLICATE_LOGIC"]["severity"] == "warning"
    assert version.status == "in_review"


def test_other_live_rules_of_the_program_are_named(in_production, push, other_drafter):
    """A new rule of the same program is told which live rules it may overlap with."""
    other = dict(WILDFIRE, rule="smoke-aid", eligibility={">=": [{"var": "age"}, 65]}, inputs=["age"], tests=[])
    version = push(json.dumps(other).encode(), actor=other_drafter)
    found = lint_findings(version)
    assert "DUPLICATE_LOGIC" not in found
    assert found["SAME_PROGRAM"]["severity"] == "info"
    assert "wildfire-aid-2024" in found["SAME_PROGRAM"]["message"]


def test_a_rules_own_live_version_is_not_a_duplicate(in_production, push, drafter):
    """A new version of the live rule is not a duplicate of itself."""
    version = push(json.dumps(dict(WILDFIRE, title="Amended")).encode(), actor=drafter)
    found = lint_findings(version)
    assert "DUPLICATE_LOGIC" not in found and "DUPLICATE_CONTENT" not in found
