"""Simulation: a rule over a population, its cost, the breakdowns, and the budget check.

The rule is compiled to polars column expressions (engine/logic/compile/) and evaluated over the
whole population at once, in ten slices so progress can be reported at least every 10% of the
rows. A rule the compiler cannot take falls back to datalogic-py one citizen at a time, and the
findings say so. Every figure is weighted: a row stands for `weight` people (1 when the column is
absent).
"""

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, SupportsFloat, cast

import polars as pl

from .figures import money, short_money
from .lint import ERROR, INFO, WARNING, Finding, finding
from .logic.compile import NotCompilable, compile_rule
from .logic.evaluate import ENGINE_VERSION, CompiledRule, EvaluationError, trace
from .logic.validate import analyse

PROGRESS_STEPS = 10  # report at least every 10% of the rows
HISTOGRAM_BINS = 10
EXAMPLES = 5
ROW_COLUMNS = ("id", "county", "weight")  # columns with a meaning of their own

# Called with (percent done, a note such as "10,000 of 100,000 rows").
Progress = Callable[[int, str], object]


def engine_version() -> str:
    return ENGINE_VERSION


def _money(value: SupportsFloat) -> float:
    return round(float(value), 2)


def variables_of(document: dict[str, Any]) -> set[str]:
    """The population columns a rule document reads."""
    names: set[str] = set()
    for part in ("eligibility", "amount"):
        if part in document:
            names |= analyse(document[part]).variables
    return names


def needed_columns(documents: Iterable[dict[str, Any]], available: Iterable[str]) -> list[str]:
    """The columns to load for simulating `documents`: what they read, plus id, county and weight."""
    wanted = set(ROW_COLUMNS)
    for document in documents:
        wanted |= variables_of(document)
    return [c for c in available if c in wanted]


def load_population(path: str | os.PathLike[str], columns: list[str] | None = None) -> pl.DataFrame:
    """Read a population file, only `columns` when given (Parquet reads just those)."""
    path = str(path)
    if path.endswith(".parquet"):
        return pl.read_parquet(path, columns=columns)
    frame = pl.read_csv(path, infer_schema_length=None)
    return frame.select(columns) if columns is not None else frame


@dataclass
class OtherRule:
    """Another rule live in production, compared with the one simulated."""

    slug: str
    number: int
    document: dict[str, Any]


class _Evaluator:
    """Eligibility and amount of one document over frames: compiled columns, or the scalar path."""

    exprs: Any  # a logic.compile.RuleExpressions; None on the scalar path
    fallback: str | None

    def __init__(self, document: dict[str, Any], schema: pl.Schema, label: str, *, scalar_only: bool = False) -> None:
        self.document = document
        self.label = label
        self.scalar = CompiledRule.from_document(document)
        self.exprs, self.fallback = None, None
        if scalar_only:
            return
        try:
            self.exprs = compile_rule(document, schema)
        except NotCompilable as exc:
            self.fallback = f"{exc.reason} (at {exc.path})"

    def expressions(self, prefix: str) -> list[pl.Expr]:
        """The columns this rule adds to a slice's one `select`; none on the scalar path."""
        if self.exprs is None:
            return []
        columns = [
            self.exprs.eligible.fill_null(False).alias(f"{prefix}eligible"),
            self.exprs.amount.fill_null(0.0).cast(pl.Float64).alias(f"{prefix}amount"),
        ]
        if self.exprs.may_error:
            columns.append(self.exprs.error.alias(f"{prefix}error"))
        if self.exprs.may_be_inexact:
            columns.append(self.exprs.inexact.alias(f"{prefix}inexact"))
        return columns

    def settle(self, part: pl.DataFrame, out: pl.DataFrame, prefix: str, *, lenient: bool = False) -> pl.DataFrame:
        """Finish a slice's columns: rows that raise, rows the columns cannot reproduce exactly.

        Raises _RowError (with the row) where the scalar path would, unless `lenient`, when such a
        row counts as not eligible. On the scalar path this evaluates the slice row by row.
        """
        if self.exprs is None:
            return out.hstack(self._scalar(part, prefix, lenient))
        eligible, error, inexact = f"{prefix}eligible", f"{prefix}error", f"{prefix}inexact"
        if self.exprs.may_error:
            if out[error].any():
                if not lenient:
                    self._raise_for(part, cast(int, out[error].arg_max()))
                out = out.with_columns(pl.when(pl.col(error)).then(False).otherwise(pl.col(eligible)).alias(eligible))
            out = out.drop(error)
        if self.exprs.may_be_inexact:
            if out[inexact].any():
                out = self._redo_inexact(part, out, prefix, lenient)
            out = out.drop(inexact)
        return out

    def _raise_for(self, frame: pl.DataFrame, index: int) -> NoReturn:
        row = frame.row(index, named=True)
        try:
            self.scalar.decide(row)
        except EvaluationError as exc:
            raise _RowError(exc, row, index) from None
        raise _RowError(EvaluationError("the rule could not be evaluated", part="eligibility"), row, index)

    def _redo_inexact(self, frame: pl.DataFrame, out: pl.DataFrame, prefix: str, lenient: bool) -> pl.DataFrame:
        eligible_name, amount_name = f"{prefix}eligible", f"{prefix}amount"
        eligible, amount = out[eligible_name].to_list(), out[amount_name].to_list()
        for index in out[f"{prefix}inexact"].arg_true().to_list():
            row = frame.row(index, named=True)
            try:
                eligible[index], amount[index] = self.scalar.decide(row)
            except EvaluationError as exc:
                if not lenient:
                    raise _RowError(exc, row, index) from None
                eligible[index], amount[index] = False, 0.0
        return out.with_columns(
            pl.Series(eligible_name, eligible, dtype=pl.Boolean), pl.Series(amount_name, amount, dtype=pl.Float64)
        )

    def _scalar(self, frame: pl.DataFrame, prefix: str, lenient: bool) -> pl.DataFrame:
        eligible: list[bool] = []
        amount: list[float] = []
        for index, row in enumerate(frame.iter_rows(named=True)):
            try:
                e, a = self.scalar.decide(row)
            except EvaluationError as exc:
                if not lenient:
                    raise _RowError(exc, row, index) from None
                e, a = False, 0.0
            eligible.append(e)
            amount.append(a)
        return pl.DataFrame(
            {f"{prefix}eligible": eligible, f"{prefix}amount": amount},
            schema={f"{prefix}eligible": pl.Boolean, f"{prefix}amount": pl.Float64},
        )


class _RowError(Exception):
    def __init__(self, error: EvaluationError, row: dict[str, Any], index: int) -> None:
        super().__init__(str(error))
        self.error, self.row, self.index = error, row, index


def _declared_cost(
    document: dict[str, Any], rows: int, progress: Progress | None
) -> tuple[dict[str, Any], list[Finding]]:
    declared = float(document.get("cost", 0))
    if progress:
        progress(100, "declared cost used")
    result = {
        "rows": rows,
        "cost_source": "declared",
        "evaluation": "declared",
        "cost": _money(declared),
        "eligible_rows": None,
        "recipients": None,
        "mean_payment": None,
        "max_payment": None,
        "by_county": [],
        "histogram": [],
        "against_live": None,
        "overlaps": [],
        "examples": [],
    }
    message = (
        f"Without eligibility logic the declared cost of {money(declared, cents=False)} stands for the simulated cost."
    )
    return result, [finding("DECLARED_COST_ONLY", WARNING, message, "$.cost")]


def simulate(
    document: dict[str, Any],
    frame: pl.DataFrame,
    *,
    progress: Progress | None = None,
    live: dict[str, Any] | None = None,
    others: Iterable[OtherRule] = (),
    scalar_only: bool = False,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Evaluate `document` over `frame`. Returns (result, findings); result is None on an error.

    `live` is the document of this rule's version live in production now (None when nothing is);
    `others` are the other rules of the same program live in production (OtherRule).
    `scalar_only` evaluates every rule one citizen at a time (to compare the two paths).
    """
    rows = frame.height
    if "eligibility" not in document:
        return _declared_cost(document, rows, progress)
    findings: list[Finding] = []
    schema = frame.schema
    subject = _Evaluator(document, schema, "this version", scalar_only=scalar_only)
    if subject.fallback:
        findings.append(
            finding(
                "SCALAR_FALLBACK",
                INFO,
                f"The rule was evaluated one citizen at a time (slower), because the column compiler "
                f"cannot take it: {subject.fallback}",
                "$.eligibility",
            )
        )
    live_eval = None
    if live is not None and "eligibility" in live:
        live_eval = _Evaluator(live, schema, "live", scalar_only=scalar_only)
    other_evals = [
        (o, _Evaluator(o.document, schema, o.slug, scalar_only=scalar_only))
        for o in others
        if "eligibility" in o.document
    ]

    weight = pl.col("weight").cast(pl.Float64) if "weight" in frame.columns else pl.lit(1.0)
    keep = [c for c in ("id", "county") if c in frame.columns]
    interesting: list[pl.DataFrame] = []
    ineligible_samples: list[int] = []
    step = max(1, rows // PROGRESS_STEPS)
    try:
        for start in range(0, max(rows, 1), step):
            part = frame.slice(start, step)
            # One select per slice for every rule compared, so polars evaluates them together.
            expressions = [*keep, weight.alias("weight"), pl.int_range(start, start + part.height).alias("_row")]
            expressions += subject.expressions("")
            if live_eval is not None:
                expressions += live_eval.expressions("live_")
            for index, (_, evaluator) in enumerate(other_evals):
                expressions += evaluator.expressions(f"o{index}_")
            # Lazy, so polars computes the parts the rules share (common subexpressions) once.
            evaluated = part.lazy().select(expressions).collect()
            try:
                evaluated = subject.settle(part, evaluated, "")
            except _RowError as exc:
                exc.index += start  # the slice's row number → the population's
                raise
            # The live version and other rules were simulated before; a row they cannot take is
            # theirs to answer for, not this version's: it counts as not eligible there.
            if live_eval is not None:
                evaluated = live_eval.settle(part, evaluated, "live_", lenient=True)
            for index, (_, evaluator) in enumerate(other_evals):
                evaluated = evaluator.settle(part, evaluated, f"o{index}_", lenient=True)
            anything = pl.col("eligible")
            if live_eval is not None:
                anything = anything | pl.col("live_eligible")
            interesting.append(evaluated.filter(anything))
            if len(ineligible_samples) < EXAMPLES:
                ineligible_samples.extend(
                    evaluated.filter(~anything).head(EXAMPLES)["_row"].to_list()[: EXAMPLES - len(ineligible_samples)]
                )
            if progress:
                done = min(rows, start + step)
                progress(min(99, done * 100 // max(rows, 1)), f"{done:,} of {rows:,} rows")
    except _RowError as exc:
        where = f"row {exc.index + 1}" + (f" (id {exc.row['id']})" if "id" in exc.row else "")
        message = f"The rule failed on {where}: {exc.error}."
        findings.append(finding("EVALUATION_ERROR", ERROR, message, f"$.{exc.error.part}"))
        return None, findings
    if progress:
        progress(100, f"{rows:,} rows")

    table = pl.concat(interesting) if interesting else pl.DataFrame()
    result = _figures(document, table, rows)
    if live_eval is not None:
        result["against_live"] = _against_live(table)
    result["overlaps"] = _overlaps(table, other_evals)
    result["examples"] = _examples(document, live, frame, table, ineligible_samples, live_eval is not None)
    result["evaluation"] = "scalar" if subject.exprs is None else "compiled"
    findings.extend(_figure_findings(document, result))
    return result, findings


def _figures(document: dict[str, Any], table: pl.DataFrame, rows: int) -> dict[str, Any]:
    eligible = table.filter(pl.col("eligible")) if table.height else table
    if eligible.height:
        totals = eligible.select(
            pl.len().alias("rows"),
            pl.col("weight").sum().alias("recipients"),
            (pl.col("weight") * pl.col("amount")).sum().alias("cost"),
            pl.col("amount").max().alias("max"),
        ).row(0, named=True)
    else:
        totals = {"rows": 0, "recipients": 0.0, "cost": 0.0, "max": 0.0}
    recipients, cost = float(totals["recipients"] or 0), float(totals["cost"] or 0)
    by_county: list[dict[str, Any]] = []
    if eligible.height and "county" in eligible.columns:
        grouped = (
            eligible.group_by("county")
            .agg(
                pl.len().alias("rows"),
                pl.col("weight").sum().alias("recipients"),
                (pl.col("weight") * pl.col("amount")).sum().alias("cost"),
            )
            .sort(["cost", "county"], descending=[True, False])
        )
        by_county = [
            {
                "county": r["county"],
                "rows": r["rows"],
                "recipients": round(r["recipients"], 2),
                "cost": _money(r["cost"]),
            }
            for r in grouped.iter_rows(named=True)
        ]
    return {
        "rows": rows,
        "cost_source": "simulated",
        "eligible_rows": int(totals["rows"]),
        "recipients": round(recipients, 2),
        "cost": _money(cost),
        "mean_payment": _money(cost / recipients) if recipients else 0.0,
        "max_payment": _money(totals["max"] or 0),
        "by_county": by_county,
        "histogram": _histogram(document, eligible),
    }


def _histogram(document: dict[str, Any], eligible: pl.DataFrame) -> list[dict[str, Any]]:
    """Payments to eligible people in ten equal bins from 0 to the largest possible payment."""
    if not eligible.height:
        return []
    top = float(document.get("max_payment") or cast(float | None, eligible["amount"].max()) or 0)
    if top <= 0:
        top = 1.0
    width = top / HISTOGRAM_BINS
    binned = (
        eligible.with_columns(
            pl.min_horizontal((pl.col("amount") / width).floor().cast(pl.Int64), pl.lit(HISTOGRAM_BINS - 1)).alias(
                "bin"
            )
        )
        .group_by("bin")
        .agg(
            pl.len().alias("rows"),
            pl.col("weight").sum().alias("people"),
            (pl.col("weight") * pl.col("amount")).sum().alias("cost"),
        )
    )
    counts = {r["bin"]: r for r in binned.iter_rows(named=True)}
    return [
        {
            "from": _money(i * width),
            "to": _money((i + 1) * width),
            "rows": counts[i]["rows"] if i in counts else 0,
            "people": round(counts[i]["people"], 2) if i in counts else 0.0,
            "cost": _money(counts[i]["cost"]) if i in counts else 0.0,
        }
        for i in range(HISTOGRAM_BINS)
    ]


def _against_live(table: pl.DataFrame) -> dict[str, Any]:
    if not table.height:
        zero = {"rows": 0, "people": 0.0}
        return {"newly_eligible": zero, "no_longer_eligible": zero, "live_cost": 0.0, "cost_delta": 0.0}
    w, a, la = pl.col("weight"), pl.col("amount"), pl.col("live_amount")
    e, le = pl.col("eligible"), pl.col("live_eligible")
    r = table.select(
        (e & ~le).sum().alias("new_rows"),
        w.filter(e & ~le).sum().alias("new_people"),
        (~e & le).sum().alias("gone_rows"),
        w.filter(~e & le).sum().alias("gone_people"),
        (e & le & (a != la)).sum().alias("changed_rows"),
        (w * la).filter(le).sum().alias("live_cost"),
        w.filter(le).sum().alias("live_recipients"),
        (w * a).filter(e).sum().alias("cost"),
    ).row(0, named=True)
    return {
        "newly_eligible": {"rows": int(r["new_rows"]), "people": round(r["new_people"] or 0, 2)},
        "no_longer_eligible": {"rows": int(r["gone_rows"]), "people": round(r["gone_people"] or 0, 2)},
        "amount_changed_rows": int(r["changed_rows"]),
        "live_recipients": round(r["live_recipients"] or 0, 2),
        "live_cost": _money(r["live_cost"] or 0),
        "cost_delta": _money((r["cost"] or 0) - (r["live_cost"] or 0)),
    }


def _overlaps(table: pl.DataFrame, other_evals: Sequence[tuple[OtherRule, _Evaluator]]) -> list[dict[str, Any]]:
    overlaps = []
    for index, (other, _) in enumerate(other_evals):
        both = table.filter(pl.col("eligible") & pl.col(f"o{index}_eligible")) if table.height else table
        people = float(both["weight"].sum()) if both.height else 0.0
        overlaps.append(
            {
                "rule": other.slug,
                "version": other.number,
                "rows": both.height,
                "people": round(people, 2),
                "cost_of_this_rule": _money((both["weight"] * both["amount"]).sum()) if both.height else 0.0,
            }
        )
    return overlaps


def _examples(
    document: dict[str, Any],
    live: dict[str, Any] | None,
    frame: pl.DataFrame,
    table: pl.DataFrame,
    ineligible_rows: Iterable[int],
    has_live: bool,
) -> list[dict[str, Any]]:
    """Up to five citizens with the trace of what decided them: gainers and losers when something is live."""
    picks: list[tuple[str, int]] = []
    if table.height:
        e, le = pl.col("eligible"), (pl.col("live_eligible") if has_live else pl.lit(False))
        if has_live:
            picks += [("gains", i) for i in table.filter(e & ~le).head(2)["_row"].to_list()]
            picks += [("loses", i) for i in table.filter(~e & le).head(2)["_row"].to_list()]
        picks += [("eligible", i) for i in table.filter(e).head(EXAMPLES)["_row"].to_list()]
    picks += [("not eligible", i) for i in ineligible_rows]
    seen: set[int] = set()
    chosen: list[tuple[str, int]] = []
    # Prefer a mix: gainers and losers, then at least one eligible and one not, then the rest.
    for wanted in ("gains", "loses", "eligible", "not eligible"):
        for kind, index in picks:
            if kind == wanted and index not in seen and len([c for c in chosen if c[0] == kind]) < 2:
                seen.add(index)
                chosen.append((kind, index))
    for kind, index in picks:
        if len(chosen) >= EXAMPLES:
            break
        if index not in seen:
            seen.add(index)
            chosen.append((kind, index))
    chosen = chosen[:EXAMPLES]
    reads = sorted(variables_of(document) | (variables_of(live) if live else set()))
    shown = [c for c in ("id", "county", *reads, "weight") if c in frame.columns]
    scalar = CompiledRule.from_document(document)
    live_scalar = CompiledRule.from_document(live) if live else None
    examples = []
    for kind, index in chosen:
        row = frame.row(index, named=True)
        citizen = {k: row[k] for k in shown}
        eligible, amount = scalar.decide(row)
        example = {
            "kind": kind,
            "row": index + 1,
            "citizen": citizen,
            "eligible": eligible,
            "amount": _money(amount),
            "trace": trace(document["eligibility"], {k: row[k] for k in reads if k in row}),
        }
        if live_scalar is not None:
            try:
                live_eligible, live_amount = live_scalar.decide(row)
            except EvaluationError:
                live_eligible, live_amount = False, 0.0
            example.update({"live_eligible": live_eligible, "live_amount": _money(live_amount)})
        examples.append(example)
    return examples


def _figure_findings(document: dict[str, Any], result: dict[str, Any]) -> list[Finding]:
    found = []
    if "cost" in document and document["cost"] > 0:
        declared, cost = float(document["cost"]), result["cost"]
        drift = (cost - declared) / declared
        if abs(drift) > 0.25:
            found.append(
                finding(
                    "COST_ESTIMATE_DRIFT",
                    WARNING,
                    f"The simulated cost {money(cost, cents=False)} differs from the declared estimate "
                    f"{money(declared, cents=False)} by {drift:+.0%}.",
                    "$.cost",
                )
            )
    for overlap in result["overlaps"]:
        if overlap["rows"]:
            found.append(
                finding(
                    "PROGRAM_OVERLAP",
                    WARNING,
                    f"{overlap['people']:,.0f} people would be paid by both this rule and {overlap['rule']} "
                    f"v{overlap['version']} (live in the same program); this rule would pay them "
                    f"{money(overlap['cost_of_this_rule'], cents=False)}.",
                    "$.eligibility",
                )
            )
    return found


def budget_check(cost: float, limits: Mapping[str, SupportsFloat | None]) -> tuple[bool, dict[str, Any]]:
    """Compare `cost` with the smallest of `limits` ({name: amount or None}).

    Returns (passed, details) with the binding limit named.
    """
    present = {name: float(value) for name, value in limits.items() if value is not None}
    binding = min(present, key=present.get)  # type: ignore[arg-type]  # every key has a value
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


def judge_cost(
    result: dict[str, Any], limits: Mapping[str, SupportsFloat | None]
) -> tuple[bool, dict[str, Any], list[Finding]]:
    """The budget verdict on a simulation result: (passed, details, findings).

    `details` is budget_check's; the findings hold OVER_BUDGET when the cost is over the binding
    limit, at `$.cost` for a declared cost and at the document for a simulated one.
    """
    passed, details = budget_check(result["cost"], limits)
    if passed:
        return passed, details, []
    message = (
        f"The cost of {short_money(result['cost'])} is over the {details['binding_limit']} of "
        f"{short_money(details['budget_limit'])} by {short_money(details['over_by'])}."
    )
    path = "$.cost" if result["cost_source"] == "declared" else "$"
    return passed, details, [finding("OVER_BUDGET", ERROR, message, path)]
