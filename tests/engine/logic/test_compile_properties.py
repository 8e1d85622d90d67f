"""Random subset rules over random typed rows: the compiled columns answer as datalogic-py does.

Rules are drawn from the whole subset (every operator, 0-4 operands, depth up to ~5) over a fixed
schema: an integer, a decimal (with NaN and nulls), a boolean and a text column (numeric and
non-numeric texts), a column that is all null, and names that are absent or dotted. For every row
the compiled answer must be the scalar answer (JSON equality; errors must be flagged as errors).
A row flagged `inexact` is deferred to the scalar path and not compared; NotCompilable refusals
are assumed away, and both must stay rare. The run is derandomized, so CI sees the same examples.
"""

import math

import polars as pl
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.logic.compile import NotCompilable, compile_rule
from engine.logic.evaluate import CompiledRule, EvaluationError

from .support import ERROR, INEXACT, compiled_rows, same_answer, scalar

PROPERTY_STATS = {}  # printed by conftest.pytest_terminal_summary

SCHEMA = {"i": pl.Int64, "f": pl.Float64, "b": pl.Boolean, "s": pl.String, "n": pl.Null}
NAMES = ["i", "f", "b", "s", "n", "zz", "i.x"]
TEXTS = ["", "0", "1", "-2.5", "abc", "1e3", " 1", "true", "false", "18", "0.5", "x1", "3.", ".5", "1e400"]
FLOATS = [0.0, -0.0, 0.5, -2.5, 1.0, 3.25, 18.0, 0.1, 1e6, 123.456, -7.0, 1e-7]

ints = st.one_of(st.integers(-20, 20), st.sampled_from([0, 18, 1000, -1000, 65, 7]))
floats = st.one_of(st.sampled_from(FLOATS), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
literals = st.one_of(ints, floats, st.sampled_from(TEXTS), st.booleans(), st.none())


def _var(name, default):
    return {"var": name} if default is None else {"var": [name, default]}


reads = st.builds(_var, st.sampled_from(NAMES), st.none())
leaves = st.one_of(
    reads,
    reads,
    reads,
    st.builds(_var, st.sampled_from(NAMES), literals),
    literals,
    st.builds(lambda names: {"missing": names}, st.lists(st.sampled_from(NAMES), max_size=3)),
    st.builds(
        lambda k, names: {"missing_some": [k, names]}, st.integers(0, 2), st.lists(st.sampled_from(NAMES), max_size=3)
    ),
)
OPERATORS = ["if", "and", "or", "!", "!!", "==", "===", "!=", "!==", "<", "<=", ">", ">=",
             "+", "-", "*", "/", "%", "min", "max", "in", "cat"]  # fmt: skip


def _extend(children):
    operation = st.builds(
        lambda op, args: {op: args}, st.sampled_from(OPERATORS), st.lists(children, min_size=0, max_size=4)
    )
    membership = st.builds(lambda x, items: {"in": [x, items]}, children, st.lists(children, max_size=3))
    return st.one_of(operation, operation, operation, membership)


rules = st.recursive(leaves, _extend, max_leaves=10)


def _float_or_nan():
    return st.one_of(floats, st.just(math.nan), st.none())


rows = st.lists(
    st.fixed_dictionaries(
        {
            "i": st.one_of(ints, st.none()),
            "f": _float_or_nan(),
            "b": st.one_of(st.booleans(), st.none()),
            "s": st.one_of(st.sampled_from(TEXTS), st.none()),
        }
    ),
    min_size=1,
    max_size=6,
)


def frame_of(records):
    frame = pl.DataFrame(records, schema={k: v for k, v in SCHEMA.items() if k != "n"})
    return frame.with_columns(n=pl.lit(None, dtype=pl.Null))


def test_compiled_rules_answer_as_datalogic_on_random_rows():
    """Every non-deferred row: the compiled value (or error) equals datalogic-py's; refusals rare."""
    stats = {"examples": 0, "refused": 0, "rows": 0, "compared": 0, "errors": 0, "deferred": 0}

    @settings(
        max_examples=1500, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(rule=rules, records=rows)
    def check(rule, records):
        stats["examples"] += 1
        frame = frame_of(records)
        try:
            answers = compiled_rows(rule, frame)
        except NotCompilable:
            stats["refused"] += 1
            assume(False)
        for record, answer in zip(frame.iter_rows(named=True), answers, strict=True):
            stats["rows"] += 1
            if answer is INEXACT:
                stats["deferred"] += 1
                continue
            reference = scalar(rule, record)
            stats["compared"] += 1
            stats["errors"] += reference is ERROR
            assert same_answer(answer, reference), (rule, record, answer, reference)

    check()
    PROPERTY_STATS.update({f"rules_{k}": v for k, v in stats.items()})
    assert stats["refused"] <= 0.05 * stats["examples"], stats
    assert stats["deferred"] <= 0.02 * stats["rows"], stats


def _decide(rule, record):
    try:
        return rule.decide(record)
    except EvaluationError:
        return ERROR


def test_compiled_rule_documents_decide_as_the_scalar_path():
    """compile_rule's eligible/amount/error equal CompiledRule.decide on every non-deferred row."""
    stats = {"examples": 0, "refused": 0, "rows": 0, "compared": 0, "errors": 0, "deferred": 0}
    documents = st.fixed_dictionaries(
        {"rule": st.just("random"), "eligibility": rules, "amount": st.one_of(rules, ints, floats)},
        optional={"max_payment": st.one_of(ints, floats)},
    )

    @settings(max_examples=600, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(document=documents, records=rows)
    def check(document, records):
        stats["examples"] += 1
        frame = frame_of(records)
        try:
            columns = compile_rule(document, frame.schema)
        except NotCompilable:
            stats["refused"] += 1
            assume(False)
        out = frame.select(*columns, columns.error, columns.inexact)
        reference_rule = CompiledRule.from_document(document)
        for record, (eligible, amount, error, inexact) in zip(
            frame.iter_rows(named=True), out.iter_rows(), strict=True
        ):
            stats["rows"] += 1
            if inexact:
                stats["deferred"] += 1
                continue
            stats["compared"] += 1
            reference = _decide(reference_rule, record)
            if reference is ERROR:
                stats["errors"] += 1
                assert error, (document, record)
            else:
                assert not error, (document, record, reference)
                assert (eligible, amount) == reference, (document, record, (eligible, amount), reference)

    check()
    PROPERTY_STATS.update({f"documents_{k}": v for k, v in stats.items()})
    assert stats["refused"] <= 0.05 * stats["examples"], stats
    assert stats["deferred"] <= 0.02 * stats["rows"], stats
