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
# Sums are exact: each row's people and weighted payment in whole millionths (MICRO), added as
# 128-bit integers, so adding the rows in any order or split gives the same figures. A weight, or a
# weight times a payment, at or past these cannot be added up so: the figures overflow
# (FIGURES_OVERFLOW). Even 10⁹ rows of the largest then stay inside 128 bits.
MICRO = 1_000_000
LARGEST_WEIGHT = 1e15
LARGEST_TERM = 1e22

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


def load_population(
    path: str | os.PathLike[str], columns: list[str] | None = None, *, first_row: int = 0, rows: int | None = None
) -> pl.DataFrame:
    """Read a population file, only `columns` when given (Parquet reads just those), and only `rows`
    rows from `first_row` when given (Parquet reads just the row groups that hold them)."""
    path = str(path)
    if path.endswith(".parquet"):
        if first_row == 0 and rows is None:
            return pl.read_parquet(path, columns=columns)
        scan = pl.scan_parquet(path)
        return (scan.select(columns) if columns is not None else scan).slice(first_row, rows).collect()
    frame = pl.read_csv(path, infer_schema_length=None)
    frame = frame.select(columns) if columns is not None else frame
    return frame.slice(first_row, rows) if first_row or rows is not None else frame


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
                    first = cast(int, out[error].arg_max())
                    if self.exprs.may_be_inexact:
                        # A row before it that the columns cannot take exactly may fail first.
                        for index in out[inexact].head(first).arg_true().to_list():
                            self._decide_or_raise(part, index)
                    self._raise_for(part, first)
                out = out.with_columns(pl.when(pl.col(error)).then(False).otherwise(pl.col(eligible)).alias(eligible))
            out = out.drop(error)
        if self.exprs.may_be_inexact:
            if out[inexact].any():
                out = self._redo_inexact(part, out, prefix, lenient)
            out = out.drop(inexact)
        return out

    def _decide_or_raise(self, frame: pl.DataFrame, index: int) -> None:
        row = frame.row(index, named=True)
        try:
            self.scalar.decide(row)
        except EvaluationError as exc:
            raise _RowError(exc, row, index) from None

    def _raise_for(self, frame: pl.DataFrame, index: int) -> NoReturn:
        self._decide_or_raise(frame, index)
        row = frame.row(index, named=True)
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


@dataclass
class Evaluation:
    """What evaluating a rule over a run of rows found, before anything is added up.

    `table` holds the rows eligible under the rule or under its live version, with their weight,
    eligibility and amount under each rule compared, and `_row`, the row's place in the whole
    population (from 0). `ineligible` holds the first few rows eligible under neither.
    """

    first_row: int
    rows: int
    frame: pl.DataFrame
    table: pl.DataFrame
    ineligible: list[int]
    compiled: bool
    fallback: str | None
    error: dict[str, Any] | None = None


def evaluate(
    document: dict[str, Any],
    frame: pl.DataFrame,
    *,
    first_row: int = 0,
    progress: Progress | None = None,
    live: dict[str, Any] | None = None,
    others: Sequence[OtherRule] = (),
    scalar_only: bool = False,
) -> Evaluation:
    """Evaluate `document` (and the rules it is compared with) over `frame`, rows `first_row` onwards."""
    rows = frame.height
    schema = frame.schema
    subject = _Evaluator(document, schema, "this version", scalar_only=scalar_only)
    live_eval = None
    if live is not None and "eligibility" in live:
        live_eval = _Evaluator(live, schema, "live", scalar_only=scalar_only)
    other_evals = [
        _Evaluator(o.document, schema, o.slug, scalar_only=scalar_only) for o in others if "eligibility" in o.document
    ]
    weight = pl.col("weight").cast(pl.Float64) if "weight" in frame.columns else pl.lit(1.0)
    keep = [c for c in ("id", "county") if c in frame.columns]
    interesting: list[pl.DataFrame] = []
    ineligible: list[int] = []
    step = max(1, rows // PROGRESS_STEPS)
    evaluation = Evaluation(
        first_row, rows, frame, pl.DataFrame(), ineligible, subject.exprs is not None, subject.fallback
    )
    try:
        for start in range(0, max(rows, 1), step):
            part = frame.slice(start, step)
            at = first_row + start
            # One select per slice for every rule compared, so polars evaluates them together.
            expressions = [*keep, weight.alias("weight"), pl.int_range(at, at + part.height).alias("_row")]
            expressions += subject.expressions("")
            if live_eval is not None:
                expressions += live_eval.expressions("live_")
            for index, evaluator in enumerate(other_evals):
                expressions += evaluator.expressions(f"o{index}_")
            # Lazy, so polars computes the parts the rules share (common subexpressions) once.
            evaluated = part.lazy().select(expressions).collect()
            try:
                evaluated = subject.settle(part, evaluated, "")
            except _RowError as exc:
                exc.index += at  # the slice's row number → the population's
                raise
            # The live version and other rules were simulated before; a row they cannot take is
            # theirs to answer for, not this version's: it counts as not eligible there.
            if live_eval is not None:
                evaluated = live_eval.settle(part, evaluated, "live_", lenient=True)
            for index, evaluator in enumerate(other_evals):
                evaluated = evaluator.settle(part, evaluated, f"o{index}_", lenient=True)
            anything = pl.col("eligible")
            if live_eval is not None:
                anything = anything | pl.col("live_eligible")
            interesting.append(evaluated.filter(anything))
            if len(ineligible) < EXAMPLES:
                ineligible.extend(
                    evaluated.filter(~anything).head(EXAMPLES)["_row"].to_list()[: EXAMPLES - len(ineligible)]
                )
            if progress:
                done = min(rows, start + step)
                progress(min(99, done * 100 // max(rows, 1)), f"{done:,} of {rows:,} rows")
    except _RowError as exc:
        evaluation.error = {
            "row": exc.index,
            "id": exc.row.get("id"),
            "message": str(exc.error),
            "part": exc.error.part,
        }
        return evaluation
    if progress:
        progress(100, f"{rows:,} rows")
    evaluation.table = pl.concat(interesting) if interesting else pl.DataFrame()
    return evaluation


def simulate(
    document: dict[str, Any],
    frame: pl.DataFrame,
    *,
    progress: Progress | None = None,
    live: dict[str, Any] | None = None,
    others: Sequence[OtherRule] = (),
    scalar_only: bool = False,
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Evaluate `document` over `frame`. Returns (result, findings); result is None on an error.

    `live` is the document of this rule's version live in production now (None when nothing is);
    `others` are the other rules of the same program live in production (OtherRule).
    `scalar_only` evaluates every rule one citizen at a time (to compare the two paths).

    The figures are added up as a partitioned simulation adds them (partial_figures, then
    finish): exactly, so any split of the rows gives the same figures to the cent.
    """
    if "eligibility" not in document:
        return _declared_cost(document, frame.height, progress)
    evaluation = evaluate(document, frame, progress=progress, live=live, others=others, scalar_only=scalar_only)
    figures = partial_figures(document, evaluation, live=live, others=others, whole=True)
    return finish(document, figures, live=live, others=others)


# ---------------------------------------------------------------------------------------------
# Figures that add up: a part's figures, their merge, and the result


def _micro(expr: pl.Expr) -> pl.Expr:
    """A value in whole millionths, as a 128-bit integer: sums of these are exact in any order or split.

    Not strict: a value too large to convert becomes null, and its group's _largest() says so."""
    return (expr * MICRO).round().cast(pl.Int128, strict=False)


def _totals(weight: pl.Expr, amount: pl.Expr) -> list[pl.Expr]:
    """Rows, people and cost (millionths) of a group of rows, exactly."""
    return [pl.len().alias("rows"), _micro(weight).sum().alias("people"), _micro(weight * amount).sum().alias("cost")]


def _largest(weight: pl.Expr, *amounts: pl.Expr) -> list[pl.Expr]:
    """The largest weight and weighted payments of a group, NaN when one is not a number (see _fits)."""
    return [
        weight.abs().nan_max().alias("_weight"),
        *((weight * a).abs().nan_max().alias(f"_term{i}") for i, a in enumerate(amounts)),
    ]


def _fits(grouped: pl.DataFrame) -> bool:
    """Whether every weight and weighted payment of the groups adds up exactly (finite, and under the limits)."""
    limits = {"_weight": LARGEST_WEIGHT, **{c: LARGEST_TERM for c in grouped.columns if c.startswith("_term")}}
    return all(value < limit for name, limit in limits.items() for value in grouped[name] if value is not None)


def histogram_top(document: dict[str, Any], largest: float | None) -> float:
    """The top of the histogram: the rule's maximum payment, else the largest payment made (1 when none is positive)."""
    top = float(document.get("max_payment") or largest or 0)
    return top if top > 0 else 1.0


def needs_histogram_pass(document: dict[str, Any], figures: dict[str, Any]) -> bool:
    """Whether merged figures still lack the histogram: its top is the largest payment of all the parts."""
    return not figures.get("error") and not figures.get("overflow") and figures["histogram"] is None


def _bin(top: float) -> pl.Expr:
    width = top / HISTOGRAM_BINS
    return pl.min_horizontal((pl.col("amount") / width).floor().cast(pl.Int64), pl.lit(HISTOGRAM_BINS - 1))


def _add(total: Sequence[int], figures: Sequence[int]) -> list[int]:
    return [x + y for x, y in zip(total, figures, strict=True)]


def _add_bin(bins: list[list[int]], number: int | None, figures: Sequence[int]) -> None:
    if number is not None and 0 <= number < HISTOGRAM_BINS:
        bins[number] = _add(bins[number], figures)


def histogram_bins(eligible: pl.DataFrame, top: float) -> list[list[int]]:
    """Rows, people and cost (millionths) of the eligible rows in HISTOGRAM_BINS equal bins from 0 to `top`."""
    bins = [[0, 0, 0] for _ in range(HISTOGRAM_BINS)]
    binned = eligible.group_by(_bin(top).alias("bin")).agg(*_totals(pl.col("weight"), pl.col("amount")))
    for number, *figures in binned.iter_rows():
        _add_bin(bins, number, figures)
    return bins


def _eligible_figures(document: dict[str, Any], table: pl.DataFrame, whole: bool) -> dict[str, Any] | None:
    """Totals, counties and (when its top is known) the histogram of the eligible rows, in one group-by;
    None when a weight or weighted payment is too large to add up exactly."""
    w, a, eligible = pl.col("weight"), pl.col("amount"), pl.col("eligible")
    top = None
    if document.get("max_payment"):
        top = histogram_top(document, None)
    elif whole:
        top = histogram_top(document, cast(float | None, table.select(a.filter(eligible).max()).item()))
    keys = [pl.col("county")] if "county" in table.columns else [pl.lit(None).alias("county")]
    keys.append(_bin(top).alias("bin") if top is not None else pl.lit(None, dtype=pl.Int64).alias("bin"))
    grouped = (
        table.lazy()
        .filter(eligible)
        .group_by(keys)
        .agg(*_totals(w, a), a.max().alias("_max"), *_largest(w, a))
        .collect()
    )
    if not _fits(grouped):
        return None
    totals = [0, 0, 0]
    counties: dict[Any, list[int]] = {}
    bins = [[0, 0, 0] for _ in range(HISTOGRAM_BINS)]
    for county, number, rows, people, cost in grouped.select("county", "bin", "rows", "people", "cost").iter_rows():
        figures = (rows, people, cost)
        totals = _add(totals, figures)
        counties[county] = _add(counties.get(county, [0, 0, 0]), figures)
        _add_bin(bins, number, figures)
    largest = cast(float | None, grouped["_max"].max())
    return {
        "eligible": totals,
        "max": float(largest) if largest is not None else None,
        "by_county": [[c, *f] for c, f in counties.items()] if "county" in table.columns else [],
        "histogram": {"top": top, "bins": bins} if top is not None else None,
    }


def partial_figures(
    document: dict[str, Any],
    evaluation: Evaluation,
    *,
    live: dict[str, Any] | None = None,
    others: Sequence[OtherRule] = (),
    whole: bool = False,
) -> dict[str, Any]:
    """The figures of one part of the population, as JSON that merge() adds up exactly.

    Sums are whole millionths. The histogram is binned here when its top is known: the rule's
    maximum payment, or, for the `whole` population, the largest payment in it; otherwise it is
    left to a second pass (histogram_bins) once the largest payment of all the parts is known.
    """
    figures: dict[str, Any] = {
        "first_row": evaluation.first_row,
        "rows": evaluation.rows,
        "evaluation": "compiled" if evaluation.compiled else "scalar",
        "fallback": evaluation.fallback,
        "error": evaluation.error,
        "overflow": False,
    }
    if evaluation.error:
        return figures
    table = evaluation.table
    has_live = "live_eligible" in table.columns
    other_count = sum(1 for o in others if "eligibility" in o.document)
    eligible = _eligible_figures(document, table, whole) if table.height else None
    against_live = _partial_against_live(table) if has_live else None
    if (table.height and eligible is None) or against_live == {}:
        figures["overflow"] = True
        return figures
    if eligible is None or not eligible["eligible"][0]:
        eligible = {"eligible": [0, 0, 0], "max": None, "by_county": [], "histogram": {"top": None, "bins": []}}
    figures.update(eligible)
    figures["against_live"] = against_live
    w, a = pl.col("weight"), pl.col("amount")
    figures["overlaps"] = [
        list(table.filter(pl.col("eligible") & pl.col(f"o{index}_eligible")).select(*_totals(w, a)).row(0))
        for index in range(other_count)
    ]
    figures["picks"] = _picks(document, live, evaluation, has_live)
    return figures


def _partial_against_live(table: pl.DataFrame) -> dict[str, Any]:
    """Who gains, who loses and what the live version pays, from one group-by over eligibility under both
    ({} when a weight or weighted payment is too large to add up exactly)."""
    live: dict[str, Any] = {"new": [0, 0], "gone": [0, 0], "changed_rows": 0, "live": [0, 0], "cost": 0}
    if not table.height:
        return live
    w, a, la = pl.col("weight"), pl.col("amount"), pl.col("live_amount")
    e, le = pl.col("eligible"), pl.col("live_eligible")
    grouped = table.group_by(e, le, (e & le & (a != la)).alias("changed")).agg(
        pl.len().alias("rows"),
        _micro(w).sum().alias("people"),
        _micro(w * a).sum().alias("cost"),
        _micro(w * la).sum().alias("live_cost"),
        *_largest(w, a, la),
    )
    if not _fits(grouped):
        return {}
    columns = ["eligible", "live_eligible", "changed", "rows", "people", "cost", "live_cost"]
    for eligible, live_eligible, changed, rows, people, cost, live_cost in grouped.select(columns).iter_rows():
        if eligible and not live_eligible:
            live["new"] = _add(live["new"], (rows, people))
        if live_eligible and not eligible:
            live["gone"] = _add(live["gone"], (rows, people))
        if changed:
            live["changed_rows"] += rows
        if live_eligible:
            live["live"] = _add(live["live"], (people, live_cost))
        if eligible:
            live["cost"] += cost
    return live


def _picks(
    document: dict[str, Any], live: dict[str, Any] | None, evaluation: Evaluation, has_live: bool
) -> dict[str, list[list[Any]]]:
    """The first rows of each kind an example may be drawn from, with what the examples show of them."""
    table, frame = evaluation.table, evaluation.frame
    rows: dict[str, list[int]] = {"gains": [], "loses": [], "eligible": [], "not eligible": list(evaluation.ineligible)}
    if table.height:
        e = pl.col("eligible")
        if has_live:
            le = pl.col("live_eligible")
            rows["gains"] = table.filter(e & ~le).head(2)["_row"].to_list()
            rows["loses"] = table.filter(~e & le).head(2)["_row"].to_list()
        rows["eligible"] = table.filter(e).head(EXAMPLES)["_row"].to_list()
    reads = variables_of(document) | (variables_of(live) if live else set())
    shown = [c for c in frame.columns if c in reads or c in ROW_COLUMNS]
    return {
        kind: [[index, frame.select(shown).row(index - evaluation.first_row, named=True)] for index in indexes]
        for kind, indexes in rows.items()
    }


_LIMITS = {"gains": 2, "loses": 2, "eligible": EXAMPLES, "not eligible": EXAMPLES}


def merge(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Add up the figures of the parts of one population, in any order: exactly what one part of all the rows gives."""
    parts = sorted(parts, key=lambda p: p["first_row"])
    first = parts[0]
    merged: dict[str, Any] = {
        "first_row": first["first_row"],
        "rows": sum(p["rows"] for p in parts),
        "evaluation": first["evaluation"],
        "fallback": first["fallback"],
        "error": next((p["error"] for p in parts if p["error"]), None),
        "overflow": any(p["overflow"] for p in parts),
    }
    if merged["error"] or merged["overflow"]:
        return merged
    merged["eligible"] = [sum(p["eligible"][i] for p in parts) for i in range(3)]
    largest = [p["max"] for p in parts if p["max"] is not None]
    merged["max"] = max(largest) if largest else None
    counties: dict[Any, list[int]] = {}
    for part in parts:
        for county, *figures in part["by_county"]:
            total = counties.setdefault(county, [0, 0, 0])
            for i, value in enumerate(figures):
                total[i] += value
    merged["by_county"] = [[county, *figures] for county, figures in counties.items()]
    merged["histogram"] = merge_histograms([p["histogram"] for p in parts])
    lives = [p["against_live"] for p in parts]
    merged["against_live"] = None if lives[0] is None else _merge_against_live(lives)
    merged["overlaps"] = [
        [sum(p["overlaps"][i][j] for p in parts) for j in range(3)] for i in range(len(first["overlaps"]))
    ]
    merged["picks"] = {
        kind: [pick for p in parts for pick in p["picks"][kind]][:limit] for kind, limit in _LIMITS.items()
    }
    return merged


def merge_histograms(histograms: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Bins of the same top added up; None when a part has none yet (its top was not known)."""
    binned = [h for h in histograms if h is not None and h["bins"]]
    if any(h is None for h in histograms) or len({h["top"] for h in binned}) > 1:
        return None
    if not binned:
        return {"top": None, "bins": []}
    return {
        "top": binned[0]["top"],
        "bins": [[sum(h["bins"][b][j] for h in binned) for j in range(3)] for b in range(HISTOGRAM_BINS)],
    }


def _merge_against_live(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "new": [sum(p["new"][j] for p in parts) for j in range(2)],
        "gone": [sum(p["gone"][j] for p in parts) for j in range(2)],
        "changed_rows": sum(p["changed_rows"] for p in parts),
        "live": [sum(p["live"][j] for p in parts) for j in range(2)],
        "cost": sum(p["cost"] for p in parts),
    }


def _units(millionths: int) -> float:
    return millionths / 1_000_000


def overflow_finding() -> Finding:
    return finding(
        "FIGURES_OVERFLOW",
        ERROR,
        "The simulation's figures overflowed: a payment or a population weight is too large to add up. "
        "Check the rule's amounts and the population's weights.",
    )


def finish(
    document: dict[str, Any],
    figures: dict[str, Any],
    *,
    live: dict[str, Any] | None = None,
    others: Sequence[OtherRule] = (),
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """The simulation's result and findings from the figures of the whole population (merged)."""
    findings: list[Finding] = []
    if figures["fallback"]:
        findings.append(
            finding(
                "SCALAR_FALLBACK",
                INFO,
                f"The rule was evaluated one citizen at a time (slower), because the column compiler "
                f"cannot take it: {figures['fallback']}",
                "$.eligibility",
            )
        )
    if error := figures["error"]:
        where = f"row {error['row'] + 1}" + (f" (id {error['id']})" if error["id"] is not None else "")
        findings.append(
            finding("EVALUATION_ERROR", ERROR, f"The rule failed on {where}: {error['message']}.", f"$.{error['part']}")
        )
        return None, findings
    if figures["overflow"]:
        return None, [*findings, overflow_finding()]
    count, people, cost = figures["eligible"]
    recipients, total = _units(people), _units(cost)
    by_county = sorted(figures["by_county"], key=lambda c: (-c[3], str(c[0])))
    result: dict[str, Any] = {
        "rows": figures["rows"],
        "cost_source": "simulated",
        "eligible_rows": count,
        "recipients": round(recipients, 2),
        "cost": _money(total),
        "mean_payment": _money(cost / people) if people else 0.0,
        "max_payment": _money(figures["max"] or 0),
        "by_county": [
            {"county": c, "rows": n, "recipients": round(_units(p), 2), "cost": _money(_units(s))}
            for c, n, p, s in by_county
        ],
        "histogram": _histogram(figures["histogram"]),
        "against_live": None,
    }
    if figures["against_live"] is not None:
        result["against_live"] = _against_live(figures["against_live"], cost)
    compared = [o for o in others if "eligibility" in o.document]
    result["overlaps"] = [
        {
            "rule": other.slug,
            "version": other.number,
            "rows": n,
            "people": round(_units(p), 2),
            "cost_of_this_rule": _money(_units(s)),
        }
        for other, (n, p, s) in zip(compared, figures["overlaps"], strict=True)
    ]
    result["examples"] = _examples(document, live, figures["picks"])
    result["evaluation"] = figures["evaluation"]
    findings.extend(_figure_findings(document, result))
    return result, findings


def _histogram(histogram: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Payments to eligible people in ten equal bins from 0 to the histogram's top."""
    if histogram is None or not histogram["bins"]:
        return []
    width = histogram["top"] / HISTOGRAM_BINS
    return [
        {
            "from": _money(i * width),
            "to": _money((i + 1) * width),
            "rows": rows,
            "people": round(_units(people), 2),
            "cost": _money(_units(cost)),
        }
        for i, (rows, people, cost) in enumerate(histogram["bins"])
    ]


def _against_live(figures: dict[str, Any], cost: int) -> dict[str, Any]:
    (new_rows, new_people), (gone_rows, gone_people) = figures["new"], figures["gone"]
    live_people, live_cost = figures["live"]
    return {
        "newly_eligible": {"rows": new_rows, "people": round(_units(new_people), 2)},
        "no_longer_eligible": {"rows": gone_rows, "people": round(_units(gone_people), 2)},
        "amount_changed_rows": figures["changed_rows"],
        "live_recipients": round(_units(live_people), 2),
        "live_cost": _money(_units(live_cost)),
        "cost_delta": _money(_units(cost - live_cost)),
    }


def _examples(
    document: dict[str, Any], live: dict[str, Any] | None, picks: dict[str, list[list[Any]]]
) -> list[dict[str, Any]]:
    """Up to five citizens with the trace of what decided them: gainers and losers when something is live."""
    candidates = [
        (kind, index, row) for kind in ("gains", "loses", "eligible", "not eligible") for index, row in picks[kind]
    ]
    seen: set[int] = set()
    chosen: list[tuple[str, int, dict[str, Any]]] = []
    # Prefer a mix: gainers and losers, then at least one eligible and one not, then the rest.
    for wanted in ("gains", "loses", "eligible", "not eligible"):
        for kind, index, row in candidates:
            if kind == wanted and index not in seen and len([c for c in chosen if c[0] == kind]) < 2:
                seen.add(index)
                chosen.append((kind, index, row))
    for kind, index, row in candidates:
        if len(chosen) >= EXAMPLES:
            break
        if index not in seen:
            seen.add(index)
            chosen.append((kind, index, row))
    chosen = chosen[:EXAMPLES]
    reads = sorted(variables_of(document) | (variables_of(live) if live else set()))
    scalar = CompiledRule.from_document(document)
    live_scalar = CompiledRule.from_document(live) if live else None
    examples = []
    for kind, index, row in chosen:
        shown = [c for c in ("id", "county", *reads, "weight") if c in row]
        eligible, amount = scalar.decide(row)
        example = {
            "kind": kind,
            "row": index + 1,
            "citizen": {k: row[k] for k in shown},
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
