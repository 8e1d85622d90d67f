"""The compiler's contract: typed values, refusals with reasons and paths, flags, rule documents."""

import time

import polars as pl
import pytest

from engine.logic.compile import NotCompilable, compile_expr, compile_logic, compile_rule
from engine.logic.evaluate import CompiledRule, EvaluationError

from .rules_for_tests import WILDFIRE

SCHEMA = {"age": pl.Int64, "income": pl.Float64, "veteran": pl.Boolean, "code": pl.String, "notes": pl.Null}
FRAME = pl.DataFrame(
    {
        "age": [40, 16, None, 70],
        "income": [12000.5, None, 80000.0, 0.0],
        "veteran": [True, None, False, True],
        "code": ["7", "A", None, ""],
        "notes": pl.Series([None] * 4, dtype=pl.Null),
    }
)


def values(expr):
    return FRAME.select(expr).to_series().to_list()


def test_values_have_one_natural_type():
    """Integers from integer columns stay Int64; arithmetic gives Float64; comparisons Boolean."""
    assert FRAME.select(compile_expr({"var": "age"}, SCHEMA)).dtypes == [pl.Int64]
    assert FRAME.select(compile_expr({"+": [{"var": "age"}, 0.5]}, SCHEMA)).dtypes == [pl.Float64]
    assert FRAME.select(compile_expr({">=": [{"var": "age"}, 18]}, SCHEMA)).dtypes == [pl.Boolean]
    assert values(compile_expr({"==": [{"var": "age"}, "40"]}, SCHEMA)) == [True, False, False, False]


def test_compile_expr_raises_on_a_row_it_cannot_reproduce_instead_of_differing():
    """An integer past 2**40 in arithmetic: evaluation raises, naming the scalar path; else the value."""
    expr = compile_expr({"*": [{"var": "n"}, 3]}, {"n": pl.Int64})
    assert pl.DataFrame({"n": [1, 2]}).select(expr).to_series().to_list() == [3.0, 6.0]
    with pytest.raises(pl.exceptions.InvalidOperationError, match="scalar path"):
        pl.DataFrame({"n": [1, 2**45]}).select(expr)


def test_absent_and_null_columns_read_as_json_null_with_defaults_for_absent_only():
    """A missing column takes the var default; a Null-typed column is present, so null."""
    assert values(compile_expr({"var": ["nope", 3]}, SCHEMA)) == [3, 3, 3, 3]
    assert values(compile_expr({"var": ["notes", 3]}, SCHEMA)) == [None] * 4
    assert values(compile_expr({"var": ["age", 3]}, SCHEMA)) == [40, 16, None, 70]


def test_compile_expr_refuses_when_a_row_could_raise_and_compile_logic_flags_it():
    """Text in arithmetic can raise: compile_expr refuses; compile_logic gives null plus the flag."""
    rule = {"+": [{"var": "code"}, 1]}
    with pytest.raises(NotCompilable, match="raise"):
        compile_expr(rule, SCHEMA)
    compiled = compile_logic(rule, SCHEMA)
    out = FRAME.select(compiled.value, compiled.error)
    assert out.rows() == [(8.0, False), (None, True), (1.0, False), (1.0, False)]


@pytest.mark.parametrize(
    ("rule", "reason", "path"),
    [
        ({"and": [{"substr": ["abc", 1]}]}, "Operator 'substr' is not in the rule subset", "$.and[0].substr"),
        ({"var": {"cat": ["a", "ge"]}}, "name its variable as plain text", "$.var"),
        ([1, {"var": "age"}], "The result is a list or object", "$"),
        ({"if": [{"var": "veteran"}, "yes", 1]}, "string depending on the row", "$"),
        ({"a": 1, "b": 2}, "exactly one operator", "$"),
    ],
)
def test_refusals_name_the_reason_and_the_path(rule, reason, path):
    """Each construct the compiler cannot take is refused with a plain reason and its JSON path."""
    with pytest.raises(NotCompilable) as caught:
        compile_logic(rule, SCHEMA).value  # noqa: B018 - the refusal may come when asking for the value
    assert reason in caught.value.reason
    assert caught.value.path == path


def test_a_varying_type_is_still_available_as_a_tagged_struct_and_as_truthiness():
    """A result that is text on some rows and a number on others is refused as one column only."""
    compiled = compile_logic({"if": [{"var": "veteran"}, "yes", 1]}, SCHEMA)
    assert compiled.kinds == {"string", "number"}
    tagged = FRAME.select(compiled.tagged).to_series().to_list()
    assert [t["kind"] for t in tagged] == ["string", "number", "number", "string"]
    assert values(compiled.truthy) == [True, True, True, True]


def test_unsupported_column_types_are_refused():
    """A date column is not one the compiler reads."""
    with pytest.raises(NotCompilable, match="type Date"):
        compile_logic({"var": "born"}, {"born": pl.Date})


def test_deep_nesting_is_refused_quickly_instead_of_blowing_up():
    """polars expands shared sub-expressions; a rule that would explode is refused in well under a second."""
    rule = {"var": "age"}
    for _ in range(30):
        rule = {"if": [{"<": [rule, 5]}, {"+": [rule, 1]}, {"-": [rule, 1]}]}
    start = time.perf_counter()
    with pytest.raises(NotCompilable, match="too large"):
        compile_logic(rule, SCHEMA)
    assert time.perf_counter() - start < 2


def test_integers_past_two_to_the_53_are_deferred_to_the_scalar_path():
    """The engine adds 64-bit integers exactly; float columns cannot, so those rows are inexact."""
    frame = pl.DataFrame({"n": [1, 2**53 + 1, -(2**62), 5]})
    compiled = compile_logic({"+": [{"var": "n"}, 1]}, frame.schema)
    out = frame.select(compiled.value, compiled.inexact)
    assert out["inexact"].to_list() == [False, True, True, False]
    assert out.filter(~pl.col("inexact"))["value"].to_list() == [2.0, 6.0]
    exact = compile_logic({"==": [{"var": "n"}, 2**53 + 1]}, frame.schema)  # Int64 against Int64: exact
    assert not exact.may_be_inexact
    assert frame.select(exact.value).to_series().to_list() == [False, True, False, False]


def test_constant_results_are_full_length_columns():
    """A rule without eligibility and a constant amount still gives one value per row."""
    columns = compile_rule({"rule": "flat", "amount": 250, "max_payment": 200}, SCHEMA)
    out = FRAME.select(*columns)
    assert out.rows() == [(True, 200.0)] * 4
    assert not columns.may_error and not columns.may_be_inexact


def test_rule_documents_follow_compiled_rule_decide():
    """Eligibility, default amount (max_payment), clamping to [0, max_payment], 0 when not eligible."""
    document = {
        "rule": "r",
        "max_payment": 1000,
        "eligibility": {"or": [{"var": "veteran"}, {"<": [{"var": "age"}, 18]}]},
        "amount": {"-": [{"/": [{"var": "income"}, 10]}, 100]},
    }
    columns = compile_rule(document, SCHEMA)
    out = FRAME.select(*columns, columns.error)
    reference = CompiledRule.from_document(document)
    for citizen, (eligible, amount, error) in zip(FRAME.iter_rows(named=True), out.iter_rows(), strict=True):
        assert not error
        assert (eligible, amount) == reference.decide(citizen)


def test_an_amount_that_is_not_a_number_is_an_error_for_eligible_rows_only():
    """A text amount for an eligible row raises in decide(); compiled, the row is flagged, others are not."""
    document = {"rule": "r", "eligibility": {"var": "veteran"}, "amount": {"cat": ["$", {"var": "age"}]}}
    columns = compile_rule(document, SCHEMA)
    out = FRAME.select(*columns, columns.error)
    reference = CompiledRule.from_document(document)
    for citizen, (eligible, amount, error) in zip(FRAME.iter_rows(named=True), out.iter_rows(), strict=True):
        try:
            expected = reference.decide(citizen)
        except EvaluationError:
            assert error and eligible is None and amount is None
        else:
            assert not error and (eligible, amount) == expected


def test_a_text_amount_is_not_a_number():
    """A bare string amount is text, as JSON Logic says: the scalar path reports it is not a number,
    and the compiler leaves such a rule to the scalar path rather than decide it in columns."""
    document = {"rule": "r", "amount": "5000", "max_payment": 9000}
    with pytest.raises(EvaluationError, match="not a number"):
        CompiledRule.from_document(document).decide({})
    with pytest.raises(NotCompilable, match="text amount") as caught:
        compile_rule(document, SCHEMA)
    assert caught.value.path == "$.amount"


def test_wildfire_eligibility_compiles_to_plain_column_logic():
    """The shipped example needs no error or inexact checks at all."""
    columns = compile_rule(WILDFIRE, {"age": pl.Int64, "in_fire_zone": pl.Boolean, "home_damaged": pl.Boolean})
    assert not columns.may_error and not columns.may_be_inexact
    assert columns.eligibility.kinds == {"boolean"}


def test_a_tagged_result_with_a_constant_kind_is_as_long_as_the_frame():
    """`tagged` stays full length when its kind is one constant but a field reads the rows (found by the property test)."""
    from .support import compiled_rows, scalar
    from .test_compile_properties import frame_of

    rule = {"in": [0, [{"if": [{"var": "i"}, {"var": "i"}]}]]}
    frame = frame_of([{"i": i, "f": float("nan"), "b": None, "s": None} for i in (0, 0)])
    assert compiled_rows(rule, frame) == [scalar(rule, row) for row in frame.to_dicts()]
