"""Numbers too large for a rule are a lint error at their JSON path, before anything computes with them."""

import json

import pytest

from engine.lint import MAX_MAGNITUDE, lint_document
from tests.conftest import document


def lint(**changes):
    return lint_document(json.loads(document(**changes)))


@pytest.mark.parametrize(
    "changes, path, shown",
    [
        ({"amount": 1e308, "max_payment": 1e308}, "$.amount", "1e+308"),
        ({"cost": 10**300}, "$.cost", "A number of 301 digits"),
        ({"budget_cap": 2 * 10**15}, "$.budget_cap", "2,000,000,000,000,000"),
        ({"amount": {"*": [1e200, {"var": "age"}]}}, "$.amount.*[0]", "1e+200"),
        ({"eligibility": {">": [{"var": "age"}, -1e16]}}, "$.eligibility.>[1]", "-1e+16"),
    ],
    ids=["amount-and-max-payment", "cost-301-digits", "budget-cap", "inside-the-logic", "negative-threshold"],
)
def test_a_number_over_a_quadrillion_is_an_error_at_its_path(changes, path, shown):
    """NUMBER_TOO_LARGE names the number and where it is; nothing else is linted after it."""
    findings = lint(**changes)
    assert {f["code"] for f in findings} == {"NUMBER_TOO_LARGE"}
    (at_path,) = [f for f in findings if f["path"] == path]
    assert at_path["severity"] == "error"
    assert at_path["message"].startswith(f"{shown} is larger than the largest figure a rule may hold")


def test_a_quadrillion_itself_is_allowed():
    """The bound is inclusive: a figure of exactly MAX_MAGNITUDE is linted as usual."""
    assert "NUMBER_TOO_LARGE" not in {f["code"] for f in lint(budget_cap=MAX_MAGNITUDE)}
