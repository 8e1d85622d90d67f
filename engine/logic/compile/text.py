"""Text: values as `cat` writes them, and the `cat` and `in` operators."""

from dataclasses import replace

import datalogic_py
import polars as pl

from ..evaluate import ENGINE
from .comparison import _compare, _strict_pair
from .values import (
    _NO,
    _V,
    EXACT,
    I64,
    JSON,
    Cond,
    NotCompilable,
    _and,
    _args,
    _bool_v,
    _both_const,
    _child,
    _CompilerBase,
    _const,
    _mask,
    _not,
    _or,
    _when,
)

_CAT_ENGINE_RULE: datalogic_py.Rule | None = None


def _py_cat(value: JSON) -> str:
    """datalogic's text for one constant operand of `cat`."""
    global _CAT_ENGINE_RULE
    if _CAT_ENGINE_RULE is None:
        _CAT_ENGINE_RULE = ENGINE.compile({"cat": [{"var": "v"}]})
    return _CAT_ENGINE_RULE.evaluate({"v": value})


def _format_fraction(x: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A finite non-integral float as datalogic writes it: (String expr, inexact condition).

    polars writes the shortest round-trip digits like datalogic, but in exponent form below 1e-5
    (rewritten here positionally) and resolving a rounding tie to even where datalogic rounds up.
    A tie is only possible when the exact binary value has one digit more than the shortest form,
    ending in 5; rows where that cannot be ruled out are flagged inexact.
    """
    text = x.cast(pl.String)
    sci = text.str.extract_groups(r"^(-?)([0-9])(?:\.([0-9]+))?e-([0-9]+)$")
    digits = pl.concat_str([sci.struct.field("2"), sci.struct.field("3").fill_null("")])
    exponent = sci.struct.field("4").cast(pl.Int64)
    zeros = pl.lit("").str.zfill(exponent - 1)
    positional = pl.concat_str([sci.struct.field("1"), pl.lit("0."), zeros, digits])
    small = text.str.contains("e-", literal=True)
    out = pl.when(small).then(positional).otherwise(text)
    fraction = out.str.split(".").list.get(1, null_on_oob=True).fill_null("")
    places = fraction.str.len_bytes().cast(pl.Int64)
    significant = out.str.replace_all(r"[-.]", "").str.strip_chars_start("0").str.len_bytes()
    scaled = x * pl.lit(10, dtype=pl.Int64).pow(places + 1).cast(pl.Float64)
    tie = (scaled == scaled.floor()) & ((scaled.abs() % 10) == 5)
    # A tie needs an exact expansion of at most 18 significant digits, so few fractional bits:
    # x * 2**K is an integer for K = 18 plus the zeros after the point (19 + floor(-log10|x|)).
    k = (19 - x.abs().log10().ceil()).clip(lower_bound=18)
    shifted = x * pl.lit(2.0).pow(k)
    short = shifted == shifted.floor()
    inexact = short & ((significant >= 15) | ((places + 1 <= 18) & tie) | (places + 1 > 18))
    return out, inexact


def _format_number(v: _V) -> tuple[pl.Expr, Cond]:
    """The `n` variant of `v` as `cat` writes it: (String expr, inexact condition)."""
    x = v.n
    assert x is not None
    if v.n_int:
        return x.cast(pl.String), False
    if v.const is not _NO:
        return pl.lit(_py_cat(v.const)), False
    finite = True if v.n_finite else x.is_finite()
    integral = x == x.floor()
    in_i64 = (x >= -I64) & (x < I64)
    int_text = x.cast(pl.Int64, strict=False).cast(pl.String)
    as_float = pl.concat_str([int_text, pl.lit(".0")])
    if v.n_float is True:
        integer_text = as_float
    elif v.n_float is False:
        integer_text = int_text
    else:
        integer_text = pl.when(v.n_float).then(as_float).otherwise(int_text)
    big_text = x.cast(pl.String).str.replace("e+", "e", literal=True)
    fraction_text, fraction_inexact = _format_fraction(x)
    text = _when(
        [(_not(finite), pl.lit("null")), (integral & in_i64, integer_text), (integral, big_text)],
        fraction_text,
    )
    inexact = _and(finite, ~integral, fraction_inexact)
    if v.n_float is not True:  # an integer past 2**53 may have been exact in the engine
        inexact = _or(inexact, _and(finite, integral, x.abs() > EXACT))
    return text, inexact


def _to_text(v: _V, path: str) -> tuple[pl.Expr, Cond]:
    """`v` as `cat` writes it: (non-null String expr, inexact condition)."""
    if v.items is not None or v.record:
        raise NotCompilable("'cat' of a list built from row values cannot be compiled.", path)
    if v.const is not _NO:
        return pl.lit(_py_cat(v.const)), False
    cases: list[tuple[Cond, pl.Expr]] = []
    inexact: Cond = False
    if v.s is not None:
        cases.append((_mask(v, "s"), v.s))
    if v.n is not None:
        text, inx = _format_number(v)
        cases.append((_mask(v, "n"), text))
        inexact = _and(_mask(v, "n"), inx)
    if v.b is not None:
        cases.append((_mask(v, "b"), pl.when(v.b).then(pl.lit("true")).otherwise(pl.lit("false"))))
    for key, value, _ in v.objs:
        cases.append((_mask(v, ("o", key)), pl.lit(_py_cat(value))))
    return _when(cases, pl.lit("")), inexact


# --------------------------------------------------------------------------- operators


class TextOps(_CompilerBase):
    """`cat` and `in`, as methods of the compiler (which provides `operands`, `fold_constants`
    and `fold_op`)."""

    def op_in(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        if len(_args(raw)) < 2:  # false, without evaluating the operand
            return _const(False)
        vs = self.operands(raw, path, depth, limit=2)
        err = _or(*(v.err for v in vs))
        inx = _or(*(v.inx for v in vs))
        x, y = vs
        if (folded := self.fold_constants(op, vs, path)) is not None:
            return folded
        if x.items is not None or x.record:
            raise NotCompilable("'in' of a list built from row values cannot be compiled.", path)
        parts = []
        if y.s is not None and x.s is not None:
            if x.const is not _NO:
                hit = y.s.str.contains(x.const, literal=True)
            elif y.const is not _NO:
                hit = pl.lit(y.const).str.contains(x.s, literal=True)
            else:
                hit = y.s.str.contains(x.s, literal=True)
            parts.append(_and(_mask(y, "s"), _mask(x, "s"), hit.fill_null(False)))
        members: list[tuple[Cond, _V]] = []
        if y.items is not None:
            members = [(True, item) for item in y.items]
        for key, value, _ in y.objs:
            if isinstance(value, list):
                cond = _mask(y, ("o", key))
                members += [(cond, _const(item, path)) for item in value]
        for cond, item in members:
            if _both_const(x, item):
                folded = self.fold_op("===", [x.const, item.const], path)
                parts.append(_and(cond, folded.const is True))
                continue
            r, _, i = _compare(x, item, _strict_pair, path, strict=True)
            parts.append(_and(cond, r))
            inx = _or(inx, _and(cond, i))
        return replace(_bool_v(_or(*parts)), err=err, inx=inx)

    def op_cat(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        vs = self.operands(raw, path, depth)
        if (folded := self.fold_constants(op, vs, path)) is not None:
            return folded
        texts, inxs = [], [v.inx for v in vs]
        for i, v in enumerate(vs):
            text, inx = _to_text(v, _child(path, i))
            texts.append(text)
            inxs.append(inx)
        return _V(
            s=pl.concat_str(texts) if texts else pl.lit(""),
            null=False,
            err=_or(*(v.err for v in vs)),
            inx=_or(*inxs),
        )
