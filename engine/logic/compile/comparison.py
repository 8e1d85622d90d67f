"""Comparison: loose (`==`), strict (`===`) and order (`<` `<=`) comparison of two values, and
the `==` `===` `!=` `!==` `<` `<=` `>` `>=` operators."""

import json
from collections.abc import Callable
from dataclasses import replace
from typing import TypeAlias

import polars as pl

from .numbers import _as_number, _nan_guard, _num_pair
from .values import (
    _NO,
    _V,
    JSON,
    Cond,
    Kind,
    NotCompilable,
    _always_error,
    _and,
    _args,
    _bool_v,
    _both_const,
    _child,
    _CompilerBase,
    _mask,
    _not,
    _or,
    _truthy,
)

_ORDER = {"n": 0, "s": 1, "b": 2, "null": 3}

# (result, error, inexact) of comparing two values, or a pair of their variants
Outcome: TypeAlias = tuple[Cond, Cond, Cond]
# A comparison of one pair of scalar variants: pair(x, kind of x, y, kind of y), kinds "b" "n" "s" "null"
Pair: TypeAlias = Callable[[_V, str, _V, str], Outcome]
# One step of a chain: step(previous or first operand, operand) -> (result, [errors], [inexacts])
Step: TypeAlias = Callable[[_V, _V], tuple[Cond, list[Cond], list[Cond]]]


def _equal_numbers(x: _V, y: _V, ky: str) -> Outcome:
    """The number of `x` equal to `y`'s variant `ky` (a number, null or boolean) read as a number:
    (result, error, inexact)."""
    a, _, _ = _as_number(x, "n", False)
    b, _, _ = _as_number(y, ky, False)
    ea, eb, inx = _num_pair(a, b)
    return _nan_guard(ea == eb, a, b), False, inx


def _loose_pair(x: _V, kx: str, y: _V, ky: str) -> Outcome:
    """`==` for one pair of variants: (result, error, inexact) under the pair's mask."""
    if _ORDER[kx] > _ORDER[ky]:
        x, kx, y, ky = y, ky, x, kx
    if kx == "n" and ky in ("n", "null", "b"):
        return _equal_numbers(x, y, ky)
    if kx == "n" and ky == "s":
        a, _, _ = _as_number(x, "n", False)
        b, ok, inx_b = _as_number(y, "s", False)
        if ok is False:
            return False, True, False
        ea, eb, inx = _num_pair(a, b)
        return _and(ok, _nan_guard(ea == eb, a)), _not(ok), _or(inx, inx_b)
    if kx == "s" and ky == "s":
        if _both_const(x, y):
            return x.const == y.const, False, False
        return x.s == y.s, False, False
    if kx == "s" and ky == "b":
        assert y.b is not None  # every variant a pair is given exists
        text = (
            pl.lit(json.dumps(y.const))
            if y.const is not _NO
            else pl.when(y.b).then(pl.lit("true")).otherwise(pl.lit("false"))
        )
        return x.s == text, False, False
    if kx == "s" and ky == "null":
        return (x.const == "") if x.const is not _NO else (x.s == ""), False, False
    if kx == "b" and ky == "b":
        assert x.b is not None and y.b is not None
        if _both_const(x, y):
            return x.const == y.const, False, False
        if y.const is not _NO:
            return (x.b if y.const else ~x.b), False, False
        if x.const is not _NO:
            return (y.b if x.const else ~y.b), False, False
        return x.b == y.b, False, False
    if kx == "b" and ky == "null":
        assert x.b is not None
        return (not x.const) if x.const is not _NO else ~x.b, False, False
    if kx == "null" and ky == "null":
        return True, False, False
    raise AssertionError((kx, ky))


def _strict_pair(x: _V, kx: str, y: _V, ky: str) -> Outcome:
    if kx != ky:
        return False, False, False
    if kx == "null":
        return True, False, False
    if kx == "n":
        return _equal_numbers(x, y, "n")
    if _both_const(x, y):
        return x.const == y.const, False, False
    return getattr(x, kx) == getattr(y, kx), False, False


def _order_pair(x: _V, kx: str, y: _V, ky: str, strict: bool) -> Outcome:
    """`<` (strict) or `<=` for one pair of variants: (result, error, inexact)."""
    if kx == "s" and ky == "s":
        if _both_const(x, y):
            a, b = x.const.encode(), y.const.encode()
            return (a < b if strict else a <= b), False, False
        assert x.s is not None and y.s is not None
        return (x.s < y.s) if strict else (x.s <= y.s), False, False
    a, ok_a, inx_a = _as_number(x, kx, True)
    b, ok_b, inx_b = _as_number(y, ky, True)
    ok = _and(ok_a, ok_b)
    # Non-numeric text against a number is an error; against null or a boolean it is just false.
    err = _or(_and(_not(ok_a), ky == "n"), _and(_not(ok_b), kx == "n"))
    if ok is False:
        return False, err, False
    if _both_const(a, b):
        res = a.const < b.const if strict else a.const <= b.const
    else:
        ea, eb, inx = _num_pair(a, b)
        res = _nan_guard((ea < eb) if strict else (ea <= eb), a, b)
        inx_a = _or(inx_a, inx_b, inx)
        inx_b = False
    return _and(ok, res), err, _or(inx_a, inx_b)


def _list_like(v: _V) -> list[tuple[Kind, Cond]]:
    """The list/object kinds of `v` with their masks: constant ones, a row-built list, the record."""
    out: list[tuple[Kind, Cond]] = [(kind, _mask(v, kind)) for kind in v.kinds() if isinstance(kind, tuple)]
    if v.items is not None or v.record:
        out.append(("list", True))
    return out


def _compare(x: _V, y: _V, pair: Pair, path: str, strict: bool = False) -> Outcome:
    """Combine a pair function over all variant pairs of x and y: (result, error, inexact).

    A list or object against a scalar is an error for `==` `!=` `<` `<=` `>` `>=` and simply
    unequal for `===` `!==`; two lists/objects per row are not compiled.
    """
    res, err, inx = [], [], []
    x_lists, y_lists = _list_like(x), _list_like(y)
    if x_lists and y_lists:
        raise NotCompilable("Comparing two lists or objects per row cannot be compiled.", path)
    for lists, other in ((x_lists, y), (y_lists, x)):
        for _, cond in lists:
            scalar_present = _or(*(_mask(other, k) for k in other.kinds() if not isinstance(k, tuple)))
            if not strict:
                err.append(_and(cond, scalar_present))
    x_kinds = [k for k in x.kinds() if not isinstance(k, tuple)] if x.items is None and not x.record else []
    y_kinds = [k for k in y.kinds() if not isinstance(k, tuple)] if y.items is None and not y.record else []
    if not err:  # a nullable column against a constant: compare; null rows take the null answer
        for kinds, other_kinds, nullable_first in ((x_kinds, y_kinds, True), (y_kinds, x_kinds, False)):
            const = y if nullable_first else x
            if len(kinds) == 2 and kinds[1] == "null" and const.const is not _NO and len(other_kinds) == 1:
                args = (kinds[0], other_kinds[0]) if nullable_first else (other_kinds[0], kinds[0])
                nulls = ("null", other_kinds[0]) if nullable_first else (other_kinds[0], "null")
                r, e, i = pair(x, args[0], y, args[1])
                r0, e0, i0 = pair(x, nulls[0], y, nulls[1])
                if isinstance(r, pl.Expr) and isinstance(r0, bool) and e is False and e0 is False and i0 is False:
                    return r.fill_null(r0), False, i
    for kx in x_kinds:
        for ky in y_kinds:
            cond = _and(_mask(x, kx), _mask(y, ky))
            if cond is False:
                continue
            r, e, i = pair(x, kx, y, ky)
            res.append(_and(cond, r))
            err.append(_and(cond, e))
            inx.append(_and(cond, i))
    return _or(*res), _or(*err), _or(*inx)


# --------------------------------------------------------------------------- operators


class ComparisonOps(_CompilerBase):
    """`==` `===` `!=` `!==` `<` `<=` `>` `>=`, as methods of the compiler (which provides
    `compile`, `operands`, `all_const`, `fold_op` and `fold_constants`)."""

    def compare_values(self, op: str, x: _V, y: _V, pair: Pair, path: str, strict: bool = False) -> Outcome:
        """`x` `op` `y` for one pair of operands: (result, error, inexact). Two constants are
        compared by datalogic, anything else by `pair` over their variants (see `_compare`)."""
        if not self.all_const([x, y]):
            return _compare(x, y, pair, path, strict=strict)
        folded = self.fold_op(op, [x.const, y.const], path)
        return (_truthy(folded) if folded.err is False else False), folded.err, False

    def chain(self, raw: JSON, path: str, depth: int, step: Step, against_first: bool) -> _V:
        """Operands compared in turn, stopping at the first false one (later operands are not
        evaluated): each operand `v` against the first (`against_first`) or the one before it.

        `step(previous, v)` gives (result, [error terms], [inexact terms]); the terms count on the
        rows that reach `v`.
        """
        args = _args(raw)
        if len(args) < 2:
            return _always_error()
        prev = self.compile(args[0], _child(path, 0), depth)
        results: list[Cond] = []
        errs, inxs = [prev.err], [prev.inx]
        reached: Cond = True
        for i, arg in enumerate(args[1:], start=1):
            v = self.compile(arg, _child(path, i), depth)
            r, v_errs, v_inxs = step(prev, v)
            errs += [_and(reached, e) for e in v_errs]
            inxs += [_and(reached, x) for x in v_inxs]
            results.append(r)
            reached = _and(reached, r)
            if reached is False:
                break
            if not against_first:
                prev = v
        return replace(_bool_v(_and(*results)), err=_or(*errs), inx=_or(*inxs))

    def op_equals(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        pair = _loose_pair if op == "==" else _strict_pair

        def step(first: _V, v: _V) -> tuple[Cond, list[Cond], list[Cond]]:
            r, e, x = self.compare_values(op, first, v, pair, path, strict=op == "===")
            return r, [_or(v.err, e)], [_or(v.inx, x)]

        return self.chain(raw, path, depth, step, against_first=True)

    def op_not_equals(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        args = _args(raw)
        if len(args) < 2:
            return _always_error()
        x, y = self.operands(args, path, depth, limit=2)
        if (folded := self.fold_constants(op, [x, y], path)) is not None:
            return folded
        r, e, i = _compare(x, y, _loose_pair if op == "!=" else _strict_pair, path, strict=op == "!==")
        return replace(_bool_v(_not(r)), err=_or(x.err, y.err, e), inx=_or(x.inx, y.inx, i))

    def op_order(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        strict = op in ("<", ">")
        swap = op in (">", ">=")

        def pair(a: _V, ka: str, b: _V, kb: str) -> Outcome:
            return _order_pair(a, ka, b, kb, strict)

        def step(prev: _V, v: _V) -> tuple[Cond, list[Cond], list[Cond]]:
            lhs, rhs = (v, prev) if swap else (prev, v)
            r, e, x = self.compare_values("<" if strict else "<=", lhs, rhs, pair, path)
            return r, [v.err, e], [v.inx, x]

        return self.chain(raw, path, depth, step, against_first=False)
