"""Simulation: a rule over a population, its cost, and the budget check.

This evaluates one citizen at a time with the compiled datalogic-py rule. Every figure is
weighted: a row stands for `weight` people (1 when the column is absent).
"""

import polars as pl

from .lint import ERROR, WARNING, finding
from .logic.evaluate import ENGINE_VERSION, CompiledRule, EvaluationError

PROGRESS_STEPS = 10  # report at least every 10% of the rows
CHUNK_ROWS = 5_000


def load_population(path):
    path = str(path)
    return pl.read_parquet(path) if path.endswith(".parquet") else pl.read_csv(path, infer_schema_length=None)


def _money(value):
    return round(float(value), 2)


def simulate(document, frame, *, progress=None):
    """Evaluate `document` over `frame`. Returns (result, findings)."""
    findings = []
    rows = frame.height
    if "eligibility" not in document:
        declared = float(document.get("cost", 0))
        result = {
            "rows": rows,
            "cost_source": "declared",
            "cost": _money(declared),
            "eligible_rows": None,
            "recipients": None,
            "mean_payment": None,
            "max_payment": None,
            "by_county": [],
        }
        findings.append(
            finding(
                "DECLARED_COST_ONLY",
                WARNING,
                f"Without eligibility logic the declared cost of ${declared:,.0f} stands for the simulated cost.",
                "$.cost",
            )
        )
        if progress:
            progress(100, "declared cost used")
        return result, findings

    compiled = CompiledRule.from_document(document)
    has_weight = "weight" in frame.columns
    has_county = "county" in frame.columns
    eligible_rows = 0
    recipients = 0.0
    cost = 0.0
    top = 0.0
    by_county = {}
    step = max(1, rows // PROGRESS_STEPS)
    next_report = step
    done = 0
    for start in range(0, rows, CHUNK_ROWS):
        for citizen in frame.slice(start, CHUNK_ROWS).iter_rows(named=True):
            done += 1
            try:
                eligible, amount = compiled.decide(citizen)
            except EvaluationError as exc:
                where = f"row {done}" + (f" (id {citizen['id']})" if "id" in citizen else "")
                findings.append(
                    finding("EVALUATION_ERROR", ERROR, f"The rule failed on {where}: {exc}.", f"$.{exc.part}")
                )
                return None, findings
            if eligible:
                weight = float(citizen["weight"]) if has_weight else 1.0
                eligible_rows += 1
                recipients += weight
                cost += weight * amount
                top = max(top, amount)
                if has_county:
                    entry = by_county.setdefault(citizen["county"], [0.0, 0.0])
                    entry[0] += weight
                    entry[1] += weight * amount
            if done >= next_report:
                next_report += step
                if progress:
                    progress(min(99, done * 100 // rows), f"{done:,} of {rows:,} rows")
    if progress:
        progress(100, f"{rows:,} rows")
    result = {
        "rows": rows,
        "cost_source": "simulated",
        "eligible_rows": eligible_rows,
        "recipients": round(recipients, 2),
        "cost": _money(cost),
        "mean_payment": _money(cost / recipients) if recipients else 0.0,
        "max_payment": _money(top),
        "by_county": [
            {"county": name, "recipients": round(r, 2), "cost": _money(c)}
            for name, (r, c) in sorted(by_county.items(), key=lambda kv: -kv[1][1])
        ],
    }
    if "cost" in document and document["cost"] > 0:
        declared = float(document["cost"])
        drift = (cost - declared) / declared
        if abs(drift) > 0.25:
            findings.append(
                finding(
                    "COST_ESTIMATE_DRIFT",
                    WARNING,
                    f"The simulated cost ${cost:,.0f} differs from the declared estimate ${declared:,.0f} by {drift:+.0%}.",
                    "$.cost",
                )
            )
    return result, findings


def budget_check(cost, limits):
    """Compare `cost` with the smallest of `limits` ({name: amount or None}).

    Returns (passed, details) with the binding limit named.
    """
    present = {name: float(value) for name, value in limits.items() if value is not None}
    binding = min(present, key=present.get)
    limit = present[binding]
    passed = cost <= limit + 0.005
    return passed, {
        "budget_limit": _money(limit),
        "binding_limit": binding,
        "limits": {name: _money(value) for name, value in present.items()},
        "within_budget": passed,
        "over_by": _money(max(0.0, cost - limit)),
        "headroom": _money(max(0.0, limit - cost)),
    }


def engine_version():
    return ENGINE_VERSION


def short_money(value):
    """$98M, $1.2B, $950K, $420: the figure the CLI and the pages print."""
    value = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            scaled = value / size
            text = f"{scaled:.1f}".rstrip("0").rstrip(".") if scaled < 100 else f"{scaled:.0f}"
            return f"${text}{suffix}"
    return f"${value:,.0f}"
