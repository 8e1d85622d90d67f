"""The compiled column path and the per-citizen path give the same figures, and both are exact."""

import json
import math
import os
import subprocess
import sys

import datalogic_py
import polars as pl
import pytest

from engine import population
from engine.simulation import OtherRule, simulate
from tests.conftest import EXAMPLES, ROOT, WILDFIRE

TIERED = json.loads((EXAMPLES / "wildfire-recovery-tiered.json").read_text())
# Compares against columns of other types: text digits, a mixed-up flag, loose equality.
LOOSE = {
    "rule": "loose",
    "eligibility": {
        "or": [
            {"==": [{"var": "zip"}, 97401]},
            {"and": [{"==": [{"var": "flag"}, "1"]}, {">": [{"var": "score"}, "2.5"]}]},
        ]
    },
    "amount": {"+": [{"var": "score"}, 100]},
    "max_payment": 1000,
}


def mixed_population(rows=6_000, seed=7):
    """The synthetic columns plus text digits, nulls and fractional weights."""
    frame = population.generate(rows, seed=seed)
    return frame.with_columns(
        pl.when(pl.col("id") % 3 == 0).then(pl.lit("97401")).otherwise(pl.lit("97000")).alias("zip"),
        pl.when(pl.col("id") % 7 == 0).then(None).otherwise(pl.col("id") % 2).alias("flag"),
        (pl.col("income") / 10_000).alias("score"),
        (pl.col("weight") + 0.333).alias("weight"),
    )


def row_by_row(document, frame):
    """An independent evaluation: datalogic-py on each row, summed exactly with math.fsum."""
    engine = datalogic_py.Engine()
    eligibility = engine.compile({"!!": [document["eligibility"]]})
    amount = engine.compile(document["amount"]) if isinstance(document["amount"], dict) else None
    recipients, costs, rows = [], [], 0
    for citizen in frame.iter_rows(named=True):
        if not eligibility.evaluate(citizen):
            continue
        value = amount.evaluate(citizen) if amount else document["amount"]
        value = min(max(0.0, float(value)), float(document["max_payment"]))
        rows += 1
        recipients.append(citizen["weight"])
        costs.append(citizen["weight"] * value)
    return rows, math.fsum(recipients), math.fsum(costs)


@pytest.mark.parametrize("document", [WILDFIRE, TIERED, LOOSE], ids=["wildfire", "tiered", "loose"])
def test_compiled_figures_equal_an_independent_row_by_row_evaluation(document):
    """Eligible rows, weighted recipients and cost (to the cent) match datalogic-py row by row."""
    frame = mixed_population()
    result, findings = simulate(document, frame)
    assert result["evaluation"] == "compiled", findings
    rows, recipients, cost = row_by_row(document, frame)
    assert rows > 0
    assert result["eligible_rows"] == rows
    assert result["recipients"] == round(recipients, 2)
    assert result["cost"] == round(cost, 2)


def test_both_paths_give_every_figure_alike():
    """With a live version and another rule of the program, the two paths agree on every figure."""
    frame = mixed_population(3_000, seed=11)
    live = {**TIERED, "max_payment": 6000}
    others = [OtherRule("smoke-relief", 1, {"program": "disaster-relief", "eligibility": {">=": [{"var": "age"}, 65]}})]
    compiled, _ = simulate(TIERED, frame, live=live, others=others)
    scalar, _ = simulate(TIERED, frame, live=live, others=others, scalar_only=True)
    assert (compiled.pop("evaluation"), scalar.pop("evaluation")) == ("compiled", "scalar")
    assert compiled == scalar
    assert compiled["against_live"]["cost_delta"] > 0
    assert compiled["overlaps"][0]["rows"] > 0


def test_simulate_command_json_matches_the_independent_evaluation(tmp_path):
    """`manage.py simulate FILE --dataset PATH --json` on a fresh data folder reports the exact recipients and cost."""
    frame = mixed_population(4_000, seed=3)
    dataset = tmp_path / "people.parquet"
    frame.write_parquet(dataset)
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps(TIERED))
    # A fresh data folder, never migrated: the command works there as it is.
    env = {**os.environ, "PDP_DATA_DIR": str(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "pdp_portal.settings"}
    env.pop("DATABASE_URL", None)  # a throwaway embedded database of its own
    out = subprocess.run(
        [sys.executable, "manage.py", "simulate", str(rule), "--dataset", str(dataset), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode in (0, 1), out.stderr
    assert "not ready" not in out.stderr
    report = json.loads(out.stdout)
    rows, recipients, cost = row_by_row(TIERED, frame)
    assert (report["eligible_rows"], report["recipients"], report["cost"]) == (
        rows,
        round(recipients, 2),
        round(cost, 2),
    )
    assert report["passed"] is (report["cost"] <= report["budget_limit"])
    assert {"budget_limit", "findings", "passed"} <= set(report)
