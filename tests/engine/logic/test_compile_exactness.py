"""On a generated population, compiled eligibility and amounts equal the scalar path row by row."""

import pytest

from engine.logic.compile import compile_rule
from engine.logic.evaluate import CompiledRule, EvaluationError

from .rules_for_tests import MIXED, TIERED, WILDFIRE, population

ROWS = 20_000


@pytest.fixture(scope="module")
def frame():
    return population(ROWS, seed=11)


def scalar_decisions(document, frame):
    rule = CompiledRule.from_document(document)
    out = []
    for citizen in frame.iter_rows(named=True):
        try:
            out.append(rule.decide(citizen))
        except EvaluationError:
            out.append(None)
    return out


def compare(document, frame):
    """(rows eligible, rows in error, compiled cost, scalar cost) after asserting row equality."""
    columns = compile_rule(document, frame.schema)
    out = frame.select(*columns, columns.error, columns.inexact, frame["weight"])
    eligible_rows = errors = 0
    compiled_cost = scalar_cost = 0.0
    for (eligible, amount, error, inexact, weight), reference in zip(
        out.iter_rows(), scalar_decisions(document, frame), strict=True
    ):
        assert not inexact
        if reference is None:
            errors += 1
            assert error and eligible is None and amount is None
            continue
        assert not error
        assert (eligible, amount) == reference  # exact: bit-for-bit floats
        eligible_rows += eligible
        compiled_cost += weight * amount
        scalar_cost += weight * reference[1]
    total = out.filter(~out["error"]).select((out["amount"] * out["weight"]).sum()).item()
    assert round(total, 2) == round(scalar_cost, 2)
    return eligible_rows, errors, compiled_cost, scalar_cost


def test_wildfire_example_decides_exactly(frame):
    """The shipped wildfire rule: same eligible rows and amounts, no error rows."""
    eligible_rows, errors, compiled_cost, scalar_cost = compare(WILDFIRE, frame)
    assert errors == 0
    assert eligible_rows > 0
    assert compiled_cost == scalar_cost


def test_tiered_rule_with_if_and_arithmetic_decides_exactly(frame):
    """Income tiers with *, -, / (by a constant), min, max and bonuses: exact to the bit."""
    columns = compile_rule(TIERED, frame.schema)
    assert not columns.may_error  # integers and booleans: nothing can raise
    assert columns.may_be_inexact  # an Int64 income past 2**53 would be; none is (compare asserts it)
    eligible_rows, errors, _, _ = compare(TIERED, frame)
    assert errors == 0
    assert eligible_rows > 100


def test_mixed_type_columns_flag_the_rows_that_raise(frame):
    """Text codes times numbers, nullable decimals with NaN, a null column: errors flagged exactly."""
    eligible_rows, errors, _, _ = compare(MIXED, frame)
    assert eligible_rows > 100
    assert errors > 10  # the code "A" in arithmetic raises for eligible rows
