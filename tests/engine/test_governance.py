"""engine/governance.py: the built-in governance checks, their runner, and lint with them."""

import json
from pathlib import Path

import pytest

from engine.governance import (
    DEFAULT_FORBIDDEN_INPUTS,
    GovernanceFinding,
    authority_check,
    builtin_checks,
    forbidden_inputs_check,
    max_payment_check,
    run_checks,
)
from engine.lint import has_errors, lint_document
from tests.conftest import WILDFIRE, document

ROOT = Path(__file__).resolve().parents[2]
forbidden = forbidden_inputs_check(DEFAULT_FORBIDDEN_INPUTS)


def wildfire(**changes):
    """The wildfire example as a dict, with `changes` applied (None removes a key)."""
    return json.loads(document(**changes))


def codes_and_paths(findings):
    return [(f.code, f.path) for f in findings]


def test_the_example_reads_no_protected_attribute():
    """The wildfire example reads age, fire zone and damage: no finding."""
    assert forbidden(WILDFIRE) == []


def test_a_protected_attribute_read_in_the_logic_is_found_where_it_is_read():
    """`race` read inside eligibility and `Gender` in the amount (any case) are each found at their `var`."""
    doc = wildfire(
        inputs=["age", "race", "Gender"],
        eligibility={"and": [{">=": [{"var": "age"}, 18]}, {"!=": [{"var": "race"}, "x"]}]},
        amount={"if": [{"==": [{"var": "Gender"}, "f"]}, 10, 5]},
    )
    findings = forbidden(doc)
    assert codes_and_paths(findings) == [
        ("GOVERNANCE_FORBIDDEN_INPUT", "$.inputs[1]"),
        ("GOVERNANCE_FORBIDDEN_INPUT", "$.inputs[2]"),
        ("GOVERNANCE_FORBIDDEN_INPUT", "$.eligibility.and[1].!=[0].var"),
        ("GOVERNANCE_FORBIDDEN_INPUT", "$.amount.if[0].==[0].var"),
    ]
    assert findings[2].message == (
        "The rule's eligibility reads 'race'. It is a protected attribute, which no rule may use "
        "to decide who is paid or how much."
    )


@pytest.mark.parametrize("name", ["applicant.race", "RELIGION", "household.Sexual_Orientation.code"])
def test_a_dotted_part_matches(name):
    """A dotted variable matches when one of its parts is a protected attribute, in any case."""
    doc = {"rule": "r", "eligibility": {"==": [{"var": name}, 1]}}
    assert codes_and_paths(forbidden(doc)) == [("GOVERNANCE_FORBIDDEN_INPUT", "$.eligibility.==[0].var")]


@pytest.mark.parametrize("name", ["racecourse", "sex_offender_registry_check", "gendered", "disabled"])
def test_a_name_that_only_contains_a_protected_word_passes(name):
    """Whole parts only: `racecourse` is not `race`."""
    doc = {"rule": "r", "eligibility": {"==": [{"var": name}, 1]}}
    assert forbidden(doc) == []


def test_missing_reads_a_variable_too():
    """`missing` and `missing_some` read the variables they name."""
    doc = {"rule": "r", "eligibility": {"!": {"missing_some": [1, ["age", "religion"]]}}}
    assert codes_and_paths(forbidden(doc)) == [("GOVERNANCE_FORBIDDEN_INPUT", "$.eligibility.!.missing_some")]


def test_a_dotted_forbidden_name_matches_that_run_of_parts():
    """An operator's `demographics.race` forbids exactly that path, not every `race`."""
    check = forbidden_inputs_check(["demographics.race"])
    read = lambda name: {"rule": "r", "eligibility": {"==": [{"var": name}, 1]}}  # noqa: E731
    assert len(check(read("person.Demographics.race"))) == 1
    assert check(read("race")) == []


def test_max_payment_within_the_statutory_maximum_passes():
    assert max_payment_check(5000)(WILDFIRE) == []


def test_max_payment_above_the_statutory_maximum_fails_at_max_payment():
    findings = max_payment_check(4000)(WILDFIRE)
    assert findings == [
        GovernanceFinding(
            "GOVERNANCE_MAX_PAYMENT",
            "The rule's maximum payment of $5,000 exceeds the statutory maximum payment of $4,000.",
            "$.max_payment",
        )
    ]


def test_without_max_payment_a_fixed_amount_is_what_is_checked():
    doc = wildfire(max_payment=None, tests=None)
    assert max_payment_check(5000)(doc) == []
    assert codes_and_paths(max_payment_check(4999.99)(doc)) == [("GOVERNANCE_MAX_PAYMENT", "$.amount")]


def test_computed_amounts_without_a_cap_cannot_be_shown_within_the_maximum():
    doc = wildfire(max_payment=None, amount={"*": [{"var": "age"}, 100]}, tests=None)
    (finding,) = max_payment_check(5000)(doc)
    assert (finding.code, finding.path) == ("GOVERNANCE_MAX_PAYMENT", "$")
    assert "sets no maximum payment" in finding.message


def test_authority_with_a_citation_passes():
    assert authority_check(WILDFIRE) == []


@pytest.mark.parametrize(
    ("authority", "path"),
    [(None, "$"), ([], "$.authority"), ([{"citation": " \u200b "}], "$.authority")],
)
def test_no_citation_or_only_blank_ones_fails(authority, path):
    """Absent, empty, or citations that show nothing: GOVERNANCE_AUTHORITY."""
    (finding,) = authority_check(wildfire(authority=authority))
    assert (finding.code, finding.path) == ("GOVERNANCE_AUTHORITY", path)
    assert finding.message.startswith("The rule cites no legal authority.")


def test_one_real_citation_among_blank_ones_passes():
    assert authority_check(wildfire(authority=[{"citation": " "}, {"citation": "7 U.S.C. 2011"}])) == []


def test_builtin_checks_turn_each_off():
    """No names, no maximum and no citation required: no check at all; each turns its own on."""
    assert builtin_checks(forbidden_inputs=(), max_payment=None, require_authority=False) == []
    names = [c.__name__ for c in builtin_checks(forbidden_inputs=["race"], max_payment=10, require_authority=True)]
    assert names == ["forbidden_inputs", "statutory_max_payment", "authority_check"]


def test_run_checks_gives_lint_errors():
    findings = run_checks(WILDFIRE, [("cap", max_payment_check(1))])
    assert findings == [
        {
            "code": "GOVERNANCE_MAX_PAYMENT",
            "severity": "error",
            "message": "The rule's maximum payment of $5,000 exceeds the statutory maximum payment of $1.",
            "path": "$.max_payment",
        }
    ]


def test_a_check_that_raises_fails_closed():
    """A check that raises does not let the rule through: GOVERNANCE_CHECK_ERROR names it and the error."""

    def broken(document):
        raise KeyError("eligibility")

    (finding,) = run_checks(WILDFIRE, [("mychecks:broken", broken)])
    assert finding["code"] == "GOVERNANCE_CHECK_ERROR" and finding["severity"] == "error"
    assert "mychecks:broken" in finding["message"] and "KeyError" in finding["message"]


def test_a_check_returning_something_else_fails_closed():
    (finding,) = run_checks(WILDFIRE, [("odd", lambda document: ["not a finding"])])
    assert finding["code"] == "GOVERNANCE_CHECK_ERROR"


def test_plain_tuples_and_dicts_are_findings_too():
    """A check may yield (code, message[, path]) or a dict with those keys; a bare field name becomes a path."""

    def check(document):
        yield ("X_ONE", "one")
        yield {"code": "X_TWO", "message": "two", "path": "title"}

    assert [(f["code"], f["path"]) for f in run_checks(WILDFIRE, [("c", check)])] == [
        ("X_ONE", "$"),
        ("X_TWO", "$.title"),
    ]


def test_lint_fails_with_the_governance_finding_at_its_path():
    doc = wildfire(max_payment=6000)
    findings = lint_document(doc, governance=[("cap", max_payment_check(5500))])
    assert has_errors(findings)
    assert [(f["code"], f["path"]) for f in findings if f["severity"] == "error"] == [
        ("GOVERNANCE_MAX_PAYMENT", "$.max_payment")
    ]
    assert not has_errors(lint_document(doc))


def test_lint_does_not_run_governance_on_a_document_failing_the_schema():
    """Checks may rely on the schema: a document failing it gets only the schema's findings."""
    called = []
    findings = lint_document({"rule": "r", "max_payment": "lots"}, governance=[("c", called.append)])
    assert [f["code"] for f in findings] == ["SCHEMA"] and called == []


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "examples").glob("*.json")) + sorted(Path("/work/shared/examples").glob("*.json")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_the_examples_pass_the_default_set(path):
    """The shipped and shared examples read no protected attribute (the default set: forbidden inputs only)."""
    checks = builtin_checks(forbidden_inputs=DEFAULT_FORBIDDEN_INPUTS, max_payment=None, require_authority=False)
    assert run_checks(json.loads(path.read_text()), [("built-in", c) for c in checks]) == []
