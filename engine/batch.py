"""One rule decided for many citizens at once, with exactly the answers `CompiledRule.decide` gives.

The citizens' values become typed columns and the rule runs as the column compiler's expressions
(engine/logic/compile), in one `select`. Where the columns cannot promise the scalar answer the
citizens are decided one by one instead: a variable whose values differ in JSON type between
citizens, that some citizens lack and others have, or that holds objects or lists; a dotted
variable name; a rule the compiler refuses; and, per row, any row the compiled rule flags as an
error (its message comes from the scalar path) or as inexact.
"""

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
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
    values = [citizen.get(name, _ABSENT) for citizen in citizens]
    present = [value for value in values if value is not _ABSENT]
    if not present:
        return _ABSENT
    if len(present) != len(values):
        return None  # absent for some, present for others: `missing` tells them apart
    kinds = {type(value) for value in present if value is not None}
    if not kinds:
        return pl.Series(name, values, dtype=pl.Null)
    if len(kinds) != 1:
        return None
    (kind,) = kinds
    dtype = _DTYPES.get(kind)
    if dtype is None:
        return None
    if kind is int and any(value is not None and not _INT64[0] <= value <= _INT64[1] for value in values):
        return None
    return pl.Series(name, values, dtype=dtype)


class ColumnDecider:
    """A rule, decided over lists of citizens; its compiled expressions are kept per column schema."""

    def __init__(self, document: Mapping[str, Any], scalar: CompiledRule | None = None) -> None:
        self.document = dict(document)
        self.scalar = scalar if scalar is not None else CompiledRule.from_document(self.document)
        self.names = variables_read(self.document)
        self._compiled: OrderedDict[tuple[tuple[str, str], ...], RuleExpressions | None] = OrderedDict()
        self._lock = threading.Lock()  # one decider serves every thread of a process

    def _one(self, citizen: dict[str, Any]) -> Answer:
        try:
            return self.scalar.decide(citizen)
        except EvaluationError as exc:
            return exc

    def decide(self, citizens: Sequence[dict[str, Any]]) -> list[Answer]:
        """One answer per citizen, in order."""
        frame = self._frame(citizens)
        exprs = self._expressions(frame) if frame is not None else None
        if frame is None or exprs is None:
            return [self._one(citizen) for citizen in citizens]
        columns = [exprs.eligible.alias("e"), exprs.amount.alias("a")]
        if exprs.may_error:
            columns.append(exprs.error.alias("err"))
        if exprs.may_be_inexact:
            columns.append(exprs.inexact.alias("inx"))
        out = frame.select(columns)
        eligible, amount = out["e"].to_list(), out["a"].to_list()
        answers: list[Answer] = list(zip(eligible, amount, strict=True))
        redo: set[int] = set()
        for flag in ("err", "inx"):
            if flag in out.columns:
                redo.update(out[flag].arg_true().to_list())
        for index in redo:
            answers[index] = self._one(citizens[index])
        return answers

    def _frame(self, citizens: Sequence[dict[str, Any]]) -> pl.DataFrame | None:
        if self.names is None or not citizens:
            return None
        columns = []
        for name in sorted(self.names):
            column = _column(citizens, name)
            if column is None:
                return None
            if isinstance(column, pl.Series):
                columns.append(column)
        return pl.DataFrame(columns, height=len(citizens)) if columns else pl.DataFrame(height=len(citizens))

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
