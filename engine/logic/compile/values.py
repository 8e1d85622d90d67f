"""The compiled value `_V` (a JSON value per row as disjoint typed polars variants), constants,
truthiness, and the boolean algebra over static-or-Expr conditions the operators build on."""

import json
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar

import polars as pl

if TYPE_CHECKING:
    from polars._typing import PolarsDataType
    from polars.expr.whenthen import ChainedThen, Then

JSON: TypeAlias = Any  # a JSON value: the logic, a constant, an operand
# A condition: a Python bool when it is known at compile time, else a non-null Boolean pl.Expr.
Cond: TypeAlias = bool | pl.Expr
# A variant of a value: "b", "n", "s", "null", or ("o", key) for a constant list/object.
Kind: TypeAlias = str | tuple[str, str]
_T = TypeVar("_T")

EXACT = 2**53  # integers up to this magnitude are exact in a float64
I64 = 2.0**63
# polars expands a shared sub-expression at every use, so a rule that reuses deep parts can grow
# exponentially. Each compiled node is measured (its serialized size, about 35 bytes a node) and
# refused beyond this, which keeps planning well under 0.1 s.
MAX_EXPR_BYTES = 400_000
_NO: Final = object()  # "not a constant"


class NotCompilable(Exception):
    """The compiler cannot take this construct; the reason is plain English, `path` a JSON path."""

    def __init__(self, reason: str, path: str = "$") -> None:
        super().__init__(f"{reason} (at {path})")
        self.reason = reason
        self.path = path


# --------------------------------------------------------------------------- static boolean algebra
# A condition is a Python bool when it is known at compile time, else a non-null Boolean pl.Expr.


def _combine(xs: Iterable[Cond | None], neutral: bool, absorbing: bool, combine: Callable[[Any, Any], Any]) -> Cond:
    """`xs` joined by `combine`, skipping None and `neutral`; `absorbing` decides it at once."""
    out: Cond = neutral
    for x in xs:
        if x is neutral or x is None:
            continue
        if x is absorbing:
            return absorbing
        out = x if out is neutral else combine(out, x)
    return out


def _and(*xs: Cond | None) -> Cond:
    return _combine(xs, True, False, operator.and_)


def _or(*xs: Cond | None) -> Cond:
    return _combine(xs, False, True, operator.or_)


def _not(x: Cond) -> Cond:
    return (not x) if isinstance(x, bool) else ~x


def _expr(x: Cond, dtype: "PolarsDataType" = pl.Boolean) -> pl.Expr:
    return pl.lit(x, dtype=dtype) if not isinstance(x, pl.Expr) else x


def _live_cases(cases: Iterable[tuple[Cond, _T]], default: _T) -> tuple[list[tuple[pl.Expr, _T]], _T]:
    """First-match cases [(cond, x)] reduced to those decided per row: (live cases, default).

    A static false case never matches and is dropped; a static true one always matches, so it
    becomes the default and the cases after it are dropped.
    """
    live: list[tuple[pl.Expr, _T]] = []
    for cond, value in cases:
        if cond is False:
            continue
        if cond is True:
            return live, value
        live.append((cond, value))
    return live, default


def _when(cases: Iterable[tuple[Cond, pl.Expr]], default: pl.Expr) -> pl.Expr:
    """First-match case: [(cond, expr)], default -> expr. Conditions may be static."""
    live, default = _live_cases(cases, default)
    if not live:
        return default
    chain: Then | ChainedThen = pl.when(live[0][0]).then(live[0][1])
    for cond, value in live[1:]:
        chain = chain.when(cond).then(value)
    return chain.otherwise(default)


def _when_bool(cases: Sequence[tuple[Cond, Cond]], default: Cond) -> Cond:
    """`_when` over static-or-Expr booleans, staying static where it can."""
    if all(isinstance(v, bool) for _, v in cases) and isinstance(default, bool):
        live = [(c, v) for c, v in cases if c is not False]
        if all(v == default for _, v in live):
            return default
    out = _when([(c, _expr(v)) for c, v in cases], _expr(default))
    return out


# --------------------------------------------------------------------------- the compiled value


@dataclass(frozen=True)
class _V:
    """A JSON value per row as disjoint typed variants.

    Each variant expression is non-null exactly on the rows where the value has that type; the
    row is JSON null where none is. `objs` are constant lists/objects ((key, value, presence)),
    `items` a list literal with per-row elements, `record` the whole row as an object.
    """

    b: pl.Expr | None = None
    n: pl.Expr | None = None
    s: pl.Expr | None = None
    objs: tuple[tuple[str, JSON, pl.Expr], ...] = ()
    items: "tuple[_V, ...] | None" = None
    record: bool = False
    null: bool = True  # may be null
    n_int: bool = False  # `n` is Int64, exact
    n_float: Cond = False  # the engine holds the number as a float (bool or Expr); matters for `cat`
    n_finite: bool = True  # `n` is never NaN/inf
    n_bound: float = math.inf  # |n| <= n_bound on every row that is not flagged inexact
    err: Cond = False
    inx: Cond = False
    const: JSON = _NO  # the value on every row, when it is a constant; else _NO

    def kinds(self) -> list[Kind]:
        out: list[Kind] = [k for k in ("b", "n", "s") if getattr(self, k) is not None]
        out += [("o", key) for key, _, _ in self.objs]
        if self.null:
            out.append("null")
        return out

    def only(self, kind: Kind) -> bool:
        return self.kinds() == [kind] and self.items is None and not self.record


def _const(value: JSON, path: str = "$") -> _V:
    """A constant (from a literal or from datalogic folding a constant subtree)."""
    if value is None:
        return _V(null=True, const=None)
    if isinstance(value, bool):
        return _V(b=pl.lit(value), null=False, const=value)
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise NotCompilable("An integer outside the 64-bit range cannot be compiled.", path)
        return _V(n=pl.lit(value, dtype=pl.Int64), n_int=True, null=False, n_bound=abs(value), const=value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCompilable("A non-finite number cannot be compiled.", path)
        return _V(n=pl.lit(value, dtype=pl.Float64), n_float=True, null=False, n_bound=abs(value), const=value)
    if isinstance(value, str):
        return _V(s=pl.lit(value, dtype=pl.String), null=False, const=value)
    if isinstance(value, (list, dict)):
        key = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return _V(objs=((key, value, pl.lit(True)),), null=False, const=value)
    raise NotCompilable(f"A value of type {type(value).__name__} cannot be compiled.", path)


class _Constant(Protocol):
    """A value (`_V`) or number (`numbers._Num`) that may be a compile-time constant."""

    @property
    def const(self) -> JSON: ...


def _both_const(x: _Constant, y: _Constant) -> bool:
    """Whether both values (or both _Nums) are compile-time constants."""
    return x.const is not _NO and y.const is not _NO


def _always_error() -> _V:
    return _V(null=True, err=True)


def _py_truthy(value: JSON) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def _mask(v: _V, kind: Kind) -> Cond:
    """Where `v` has this kind: a static bool or a Boolean Expr."""
    kinds = v.kinds()
    if kind not in kinds:
        return False
    if len(kinds) == 1 and v.items is None:
        return True
    if kind == "null":
        present = [_mask(v, k) for k in kinds if k != "null"]
        return _not(_or(*present))
    if isinstance(kind, tuple):
        for key, _, presence in v.objs:
            if key == kind[1]:
                return presence.is_not_null()
        raise AssertionError(kind)  # `kinds` lists only the keys of `objs`
    return getattr(v, kind).is_not_null()


def _expr_bytes(v: _V) -> int:
    """The size of everything `v` holds, as polars will expand it (serialized bytes)."""
    exprs = [v.b, v.n, v.s, v.err, v.inx, v.n_float] + [p for _, _, p in v.objs]
    total = sum(len(e.meta.serialize()) for e in exprs if isinstance(e, pl.Expr))
    return total + sum(_expr_bytes(item) for item in v.items or ())


def _truthy(v: _V) -> Cond:
    """JSON Logic truthiness as a static bool or a non-null Boolean Expr."""
    if v.const is not _NO:
        return _py_truthy(v.const)
    if v.record:
        return v.n_bound > 0  # the record is truthy when the row has any key (n_bound holds len(schema))
    if v.items is not None:
        return len(v.items) > 0
    parts = []
    if v.b is not None:
        parts.append(v.b if v.only("b") else v.b.fill_null(False))
    if v.n is not None:
        t = v.n != 0
        if not v.n_finite and not v.n_int:
            t = t & ~v.n.is_nan()
        parts.append(t if v.only("n") else t.fill_null(False))
    if v.s is not None:
        t = v.s.str.len_bytes() > 0
        parts.append(t if v.only("s") else t.fill_null(False))
    for _, value, presence in v.objs:
        if _py_truthy(value):
            parts.append(presence.fill_null(False))
    return _or(*parts)


def _bool_v(expr: Cond) -> _V:
    """A value that is a boolean on every row (static or an Expr)."""
    return _const(expr) if isinstance(expr, bool) else _V(b=expr, null=False)


def _num_v(
    expr: pl.Expr, *, bound: float = math.inf, finite: bool = False, n_float: Cond = False, is_int: bool = False
) -> _V:
    """A value that is a number on every row."""
    return _V(n=expr, null=False, n_int=is_int, n_float=n_float, n_finite=finite, n_bound=bound)


# --------------------------------------------------------------------------- operands and paths


class _CompilerBase(ABC):
    """What the operator groups (numbers.ArithmeticOps, text.TextOps, comparison.ComparisonOps) call
    of the compiler that inherits them (compiler._Compiler)."""

    @abstractmethod
    def compile(self, node: JSON, path: str, depth: int = 1) -> _V: ...

    @abstractmethod
    def operands(self, raw: JSON, path: str, depth: int, limit: int | None = None) -> list[_V]: ...

    @staticmethod
    @abstractmethod
    def all_const(vs: Iterable[_V]) -> bool: ...

    @abstractmethod
    def fold_op(self, op: str, values: Sequence[JSON], path: str) -> _V: ...

    @abstractmethod
    def fold_constants(self, op: str, vs: Sequence[_V], path: str) -> _V | None: ...


def _child(path: str, part: int | str) -> str:
    """The JSON path of an operand (an index) or an operator (a name) below `path`."""
    return f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}"


def _args(raw: JSON) -> list[JSON]:
    """An operator's operands: a lone operand stands for a list of one."""
    return raw if isinstance(raw, list) else [raw]
