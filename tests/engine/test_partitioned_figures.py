"""engine.simulation: figures of parts of a population add up to exactly the figures of the whole.

A partitioned simulation (checks/partitions.py) evaluates each run of rows on its own, stores
partial_figures, merges them, and bins the histogram in a second pass when its top is the largest
payment of all. Here the same steps run in one process over random splits of a population, for the
example rules and rules drawn at random, against `simulate` over the whole population.
"""

import json
import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import population
from engine.simulation import (
    OtherRule,
    evaluate,
    finish,
    histogram_bins,
    histogram_top,
    merge,
    merge_histograms,
    needs_histogram_pass,
    partial_figures,
    simulate,
)
from tests.conftest import EXAMPLES
from tests.rule_variants import random_rule

ROWS = 3_000
FRAME = population.generate(ROWS, seed=11).with_columns(
    # Fractional weights with many digits, so sums in another order would differ in the last bits.
    (pl.col("weight") * 1.000_000_7 + 0.333).alias("weight")
)


def in_parts(document, frame, cuts, *, live=None, others=()):
    """The partitioned simulation's steps, run here: (result, findings) over the parts `cuts` make."""
    bounds = [0, *sorted(set(cuts)), frame.height]
    parts = [(a, b - a) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    partials = [
        partial_figures(
            document,
            evaluate(document, frame.slice(a, n), first_row=a, live=live, others=others),
            live=live,
            others=others,
        )
        for a, n in parts
    ]
    # JSON, as the partitions' figures travel through the database.
    merged = merge([json.loads(json.dumps(p)) for p in reversed(partials)])
    if needs_histogram_pass(document, merged):
        top = histogram_top(document, merged["max"])
        histograms = []
        for a, n in parts:
            table = evaluate(document, frame.slice(a, n), first_row=a).table
            eligible = table.filter(pl.col("eligible")) if table.height else table
            histograms.append({"top": top, "bins": histogram_bins(eligible, top) if eligible.height else []})
        merged["histogram"] = merge_histograms(histograms)
    return finish(document, merged, live=live, others=others)


def assert_same(document, cuts, **compared):
    whole = simulate(document, FRAME, **compared)
    split = in_parts(document, FRAME, cuts, **compared)
    assert split == whole


# A rule without eligibility logic stands on its declared cost and is never partitioned.
SIMULATED_EXAMPLES = sorted(p.name for p in EXAMPLES.glob("*.json") if "eligibility" in json.loads(p.read_text()))


@pytest.mark.parametrize("name", SIMULATED_EXAMPLES)
def test_each_example_rule_adds_up_exactly(name):
    document = json.loads((EXAMPLES / name).read_text())
    for cuts in ([1_000, 2_000], [1, 2_999], [7, 500, 501, 2_345]):
        assert_same(document, cuts)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, ROWS - 1), max_size=6))
def test_any_rule_over_any_split_adds_up_exactly(seed, cuts):
    """Random rules, compared with a live version and another live rule of the program, over random splits."""
    rng = random.Random(seed)
    document = random_rule(rng, "subject")
    live = random_rule(rng, "subject") if rng.random() < 0.5 else None
    others = [OtherRule("other", 3, random_rule(rng, "other"))] if rng.random() < 0.5 else []
    assert_same(document, cuts, live=live, others=others)


def test_a_failing_rule_names_the_first_failing_row_of_all_the_parts():
    document = {"rule": "r", "eligibility": {">": [{"var": "age"}, 10]}}
    document["amount"] = {"if": [{">": [{"var": "id"}, 1_700]}, {"+": [1, "x"]}, 100]}
    whole = simulate(document, FRAME)
    assert whole[0] is None and whole[1][0]["code"] == "EVALUATION_ERROR"
    assert in_parts(document, FRAME, [1_000, 2_000]) == whole


def test_weights_too_large_to_add_up_exactly_overflow_in_any_part():
    frame = FRAME.with_columns(pl.when(pl.col("id") == 2_500).then(1e300).otherwise(pl.col("weight")).alias("weight"))
    document = {"rule": "r", "eligibility": {">=": [{"var": "age"}, 0]}, "amount": 10, "max_payment": 10}
    whole = simulate(document, frame)
    assert whole[0] is None and [f["code"] for f in whole[1]] == ["FIGURES_OVERFLOW"]
    assert in_parts(document, frame, [1_000, 2_000]) == whole
