"""Rule documents and a population with mixed-type columns, shared by the exactness test and the bench."""

import json
from pathlib import Path

import numpy as np
import polars as pl

from engine.population import generate

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
WILDFIRE = json.loads((EXAMPLES / "wildfire-aid-2024.json").read_text())

# Tiers by income, per household member, with a veteran bonus and a capped repair grant.
TIERED = {
    "rule": "household-recovery-tiered",
    "max_payment": 12000,
    "eligibility": {
        "and": [
            {">=": [{"var": "age"}, 18]},
            {
                "or": [
                    {"==": [{"var": "home_damaged"}, True]},
                    {"and": [{"var": "in_fire_zone"}, {"<": [{"var": "income"}, 40000]}]},
                ]
            },
            {"!": [{"var": "insured"}]},
        ]
    },
    "amount": {
        "+": [
            {
                "if": [
                    {"<": [{"var": "income"}, 20000]},
                    {"*": [{"var": "household_size"}, 1500]},
                    {"<": [{"var": "income"}, 45000]},
                    {"-": [{"*": [{"var": "household_size"}, 1200]}, {"/": [{"var": "income"}, 50]}]},
                    {"max": [250, {"*": [0.015, {"-": [90000, {"var": "income"}]}]}]},
                ]
            },
            {"if": [{"var": "veteran"}, 750, 0]},
            {
                "if": [
                    {"==": [{"var": "home_damaged"}, True]},
                    {"min": [5000, {"*": [{"var": "household_size"}, 800.5]}]},
                    0,
                ]
            },
        ]
    },
}

# Reads the mixed-type columns: text codes compared with numbers (an error for "A"), nullable
# integers and decimals, a boolean with nulls, a column that is all null.
MIXED = {
    "rule": "mixed-columns",
    "max_payment": 4000,
    "eligibility": {
        "or": [
            {"and": [{"var": "disabled"}, {">=": [{"var": "age"}, 18]}]},
            {">": [{"var": "months_unemployed"}, 6]},
            {"in": [{"var": "benefit_code"}, ["7", "B", "12.5"]]},
        ]
    },
    "amount": {
        "if": [
            {"==": [{"var": "notes"}, None]},
            {
                "+": [
                    {"*": [{"var": "benefit_code"}, 100]},
                    {"/": [{"var": "savings"}, 40]},
                    {"if": [{"missing": ["bonus"]}, 125, {"var": "bonus"}]},
                    {"%": [{"var": "months_unemployed"}, 4]},
                ]
            },
            0,
        ]
    },
}


def population(rows, seed):
    """engine.population.generate plus mixed-type columns (nulls, NaN, numeric and non-numeric text)."""
    frame = generate(rows=rows, seed=seed)
    rng = np.random.default_rng(seed + 1)
    codes = np.array(["A", "B", "", "7", "12.5", "3", "-2", "1e2"])
    code = codes[rng.integers(0, len(codes), rows)]
    months = rng.integers(0, 24, rows)
    savings = np.round(rng.lognormal(8.0, 1.5, rows), 2)
    savings[rng.random(rows) < 0.01] = np.nan
    return frame.with_columns(
        benefit_code=pl.Series(code).set(pl.Series(rng.random(rows) < 0.05), None),
        months_unemployed=pl.Series(months).set(pl.Series(rng.random(rows) < 0.1), None),
        savings=pl.Series(savings).set(pl.Series(rng.random(rows) < 0.05), None),
        disabled=pl.Series(rng.random(rows) < 0.08).set(pl.Series(rng.random(rows) < 0.03), None),
        notes=pl.lit(None, dtype=pl.Null),
    )
