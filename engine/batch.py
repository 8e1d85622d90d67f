"""One rule decided for many citizens at once, with exactly the answers `CompiledRule.decide` gives.

The citizens' values become typed columns and the rule runs as the column compiler's expressions
(engine/logic/compile), in one `select`. Where the columns cannot promise the scalar answer the
citizens are decided one by one instead: a variable whose values differ in JSON type between
citizens, that some citizens lack and others have, or that holds objects or lists; a dotted
variable name; a rule the compiler refuses; and, per row, any row the compiled rule flags as an
error (its message comes from the scalar path) or as inexact.

The columns of a batch are read once, in `Columns`, and shared by every rule that decides it: reading
a column from ten thousand citizens costs more than deciding a rule over it.
"""

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import polars as pl

from .logic.compile import NotCompilable, RuleExpressions, compile_rule
from .logic.evaluate import CompiledRule, EvaluationError
from .logic.validate import analyse

# (eligible, amount), or why the rule could not be evaluated for that citizen.
Answer = tuple[bool, float] | EvaluationError

_DTYPES: dict[type, Any] = {bool: pl.Boolean, int: pl.Int64, float: pl.Float64, str: pl.String}
_INT64 = (-(2**63), 2**63 - 1)
_ABSENT = object()
# Compiled expressions kept per rule, one per distinct column schema seen.
SCHEMAS_KEPT = 8


def variables_read(document: Mapping[str, Any]) -> set[str] | None:
    """The variables a rule's logic reads; None when the columns cannot carry them (a dotted name)."""
    names: set[str] = set()
    for part in ("eligibility", "amount"):
        if part in document:
            names |= analyse(document[part], f"$.{part}").variables
    return None if any("." in name for name in names) else names


def _column(citizens: Sequence[Mapping[str, Any]], name: str) -> pl.Series | None | object:
    """`name` as one typed column; _ABSENT when no citizen has it; None when no column can carry it."""
    if not citizens:
        return _ABSENT
    try:
        values = list(map(itemgetter(name), citizens))
    except KeyError:
        # Absent for some and present for others is None: `missing` tells them apart, a column cannot.
        return None if any(name in citizen for citizen in citizens) else _ABSENT
    kinds = set(map(type, values))
    nulls = type(None) in kinds
    kinds.discard(type(None))
    if not kinds:
        return pl.Series(name, values, dtype=pl.Null)
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    dtype = _DTYPES.get(kind)
    if dtype is None:
        return None
    if kind is int:
        numbers = [value for value in values if value is not None] if nulls else values
        if min(numbers) < _INT64[0] or max(numbers) > _INT64[1]:
            return None
    return pl.Series(name, values, dtype=dtype)


class Columns:
    """Citizens, and the typed columns read from them: each column is read once, whichever rule asks."""

    def __init__(self, citizens: Sequence[dict[str, Any]]) -> None:
        self.citizens = citizens
        self._read: dict[str, pl.Series | None | object] = {}

    def __len__(self) -> int:
        return len(self.citizens)

    def column(self, name: str) -> pl.Series | None | object:
        """`name` as a typed column; _ABSENT when no citizen has it; None when no column can carry it."""
        if name not in self._read:
            self._read[name] = _column(self.citizens, name)
        return self._read[name]

    def frame(self, names: Sequence[str]) -> pl.DataFrame | None:
        """The columns of `names` that some citizen has, in that order; None when one cannot be a column."""
        series = []
        for name in names:
            column = self.column(name)
            if column is None:
                return None
            if isinstance(column, pl.Series):
                series.append(column)
        return pl.DataFrame(series, height=len(self.citizens)) if series else pl.DataFrame(height=len(self.citizens))


class ColumnDecider:
    """A rule, decided over lists of citizens; its compiled expressions are kept per column schema."""

    def __init__(self, document: Mapping[str, Any], scalar: CompiledRule | None = None) -> None:
        self.document = dict(document)
        self.scalar = scalar if scalar is not None else CompiledRule.from_document(self.document)
        self.names = variables_read(self.document)
        self._sorted_names = None if self.names is None else sorted(self.names)
        self._compiled: OrderedDict[tuple[tuple[str, str], ...], RuleExpressions | None] = OrderedDict()
        self._lock = threading.Lock()  # one decider serves every thread of a process

    def _one(self, citizen: dict[str, Any]) -> Answer:
        try:
            return self.scalar.decide(citizen)
        except EvaluationError as exc:
            return exc

    def decide(self, citizens: Sequence[dict[str, Any]] | Columns) -> list[Answer]:
        """One answer per citizen, in order."""
        eligible, amount, errors = self.decide_columns(citizens)
        answers: list[Answer] = list(zip(eligible, amount, strict=True))
        for index, error in errors.items():
            answers[index] = error
        return answers

    def decide_columns(
        self, citizens: Sequence[dict[str, Any]] | Columns
    ) -> tuple[list[Any], list[Any], dict[int, EvaluationError]]:
        """(eligible, amount) per citizen, in order, and the error of each row the rule could not decide
        (None in both lists there)."""
        columns = citizens if isinstance(citizens, Columns) else Columns(citizens)
        people = columns.citizens
        frame = self._frame(columns)
        exprs = self._expressions(frame) if frame is not None else None
        if frame is None or exprs is None:
            eligible: list[Any] = [None] * len(people)
            amount: list[Any] = [None] * len(people)
            return eligible, amount, self._redo(people, range(len(people)), eligible, amount)
        selected = [exprs.eligible.alias("e"), exprs.amount.alias("a")]
        if exprs.may_error:
            selected.append(exprs.error.alias("err"))
        if exprs.may_be_inexact:
            selected.append(exprs.inexact.alias("inx"))
        out = frame.select(selected)
        eligible, amount = out["e"].to_list(), out["a"].to_list()
        redo: set[int] = set()
        for flag in ("err", "inx"):
            if flag in out.columns:
                redo.update(out[flag].arg_true().to_list())
        return eligible, amount, self._redo(people, redo, eligible, amount)

    def _redo(
        self, citizens: Sequence[dict[str, Any]], rows: Any, eligible: list[Any], amount: list[Any]
    ) -> dict[int, EvaluationError]:
        """Decide `rows` one at a time, in place; their errors by row."""
        errors: dict[int, EvaluationError] = {}
        for index in rows:
            answer = self._one(citizens[index])
            if isinstance(answer, EvaluationError):
                eligible[index] = amount[index] = None
                errors[index] = answer
            else:
                eligible[index], amount[index] = answer
        return errors

    def _frame(self, columns: Columns) -> pl.DataFrame | None:
        if self._sorted_names is None or not len(columns):
            return None
        return columns.frame(self._sorted_names)

    def _expressions(self, frame: pl.DataFrame) -> RuleExpressions | None:
        key = tuple((name, str(dtype)) for name, dtype in frame.schema.items())
        with self._lock:
            if key in self._compiled:
                self._compiled.move_to_end(key)
                return self._compiled[key]
        try:
            exprs: RuleExpressions | None = compile_rule(self.document, frame.schema)
        except NotCompilable:
            exprs = None
        with self._lock:
            self._compiled[key] = exprs
            if len(self._compiled) > SCHEMAS_KEPT:
                self._compiled.popitem(last=False)
        return exprs
