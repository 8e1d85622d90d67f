"""Numbers: a variant read as a number, exact comparison of numbers, and the arithmetic and
`min`/`max` operators."""

import math
import re
from dataclasses import dataclass, replace

import polars as pl

from .values import (
    _NO,
    _V,
    EXACT,
    I64,
    JSON,
    Cond,
    Kind,
    NotCompilable,
    _always_error,
    _and,
    _child,
    _CompilerBase,
    _mask,
    _not,
    _num_v,
    _or,
    _when,
    _when_bool,
)

# A number entering + - * / % beyond this magnitude defers its row to the scalar path (inexact).
# In exchange, static bounds prove that sums and products of a few such numbers with constants
# stay below 2**53, where float64 arithmetic is exactly the engine's integer arithmetic, without a
# check after every step. (A dollar figure past 2**40 is $1.1 trillion.)
ARITH_LIMIT = 2.0**40
NUMERIC_TEXT = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NUMERIC_TEXT_PY = re.compile(NUMERIC_TEXT[:-1] + r"\Z")


def _py_number(text: str) -> float | None:
    """datalogic's reading of a text as a number, or None when it is not numeric."""
    if not _NUMERIC_TEXT_PY.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class _Num:
    """A number per row with what is known of it statically: Int64 or Float64, whether it can be
    NaN or infinite, a bound on its magnitude, and its value when it is a constant."""

    expr: pl.Expr
    is_int: bool  # Int64 expression (exact integers)
    finite: bool
    bound: float
    const: JSON = _NO


def _f64(num: _Num) -> tuple[pl.Expr, Cond]:
    """(Float64 expr, inexact condition) for a _Num."""
    if not num.is_int:
        return num.expr, False
    if num.const is not _NO:
        return pl.lit(float(num.const), dtype=pl.Float64), abs(num.const) > EXACT
    if num.bound <= EXACT:
        return num.expr.cast(pl.Float64), False
    return num.expr.cast(pl.Float64), ((num.expr > EXACT) | (num.expr < -EXACT)).fill_null(False)


def _arith_term(num: _Num) -> tuple[_Num, Cond]:
    """A number entering + - * / %: (Float64 _Num, inexact condition). See ARITH_LIMIT."""
    if num.const is not _NO:  # only an integral value in the 64-bit range takes the engine's integer path
        c = num.const
        inexact = EXACT < abs(c) < I64 and float(c).is_integer()
        return _Num(pl.lit(float(c)), False, True, abs(c), c), inexact
    expr = num.expr.cast(pl.Float64) if num.is_int else num.expr
    if num.bound <= ARITH_LIMIT and num.finite:
        return _Num(expr, False, True, num.bound), False
    if num.is_int:  # abs() of the most negative Int64 overflows
        check = (num.expr > ARITH_LIMIT) | (num.expr < -ARITH_LIMIT)
    else:
        check = ~expr.abs().is_between(0.0, ARITH_LIMIT)  # NaN and +-inf fall outside too
    return _Num(expr, False, True, ARITH_LIMIT), check.fill_null(False)


def _parse_text(s: pl.Expr, empty_is_zero: bool) -> tuple[pl.Expr, pl.Expr]:
    """(value Float64, ok Boolean) for a String expr read as a number."""
    value = s.cast(pl.Float64, strict=False)
    ok = s.str.contains(NUMERIC_TEXT) & value.is_finite()
    if empty_is_zero:
        empty = s == ""
        return pl.when(empty).then(pl.lit(0.0)).otherwise(value), ok | empty
    return value, ok


def _as_number(v: _V, kind: Kind, empty_is_zero: bool) -> tuple[_Num, Cond, Cond]:
    """One variant of `v` read as a number: (_Num, ok condition, inexact condition).

    `ok` is false where a text is not numeric (the caller decides whether that is an error).
    """
    if kind == "n":
        assert v.n is not None  # `kind` is one of v.kinds()
        if v.n_int:
            return _Num(v.n, True, True, v.n_bound, v.const), True, False
        return _Num(v.n, False, v.n_finite, v.n_bound, v.const), True, False
    if kind == "null":
        return _Num(pl.lit(0, dtype=pl.Int64), True, True, 0, 0), True, False
    if kind == "b":
        if v.const is not _NO:
            return _Num(pl.lit(int(v.const), dtype=pl.Int64), True, True, 1, int(v.const)), True, False
        assert v.b is not None
        return _Num(v.b.cast(pl.Int64), True, True, 1), True, False
    if kind == "s":
        if v.const is not _NO:
            if v.const == "" and empty_is_zero:
                return _Num(pl.lit(0, dtype=pl.Int64), True, True, 0, 0), True, False
            value = _py_number(v.const)
            if value is None:
                return _Num(pl.lit(0.0), False, True, 0, 0.0), False, False
            if value.is_integer() and abs(value) <= EXACT:
                return _Num(pl.lit(int(value), dtype=pl.Int64), True, True, abs(value), int(value)), True, False
            return _Num(pl.lit(value), False, True, abs(value), value), True, abs(value) > EXACT
        assert v.s is not None
        parsed, ok = _parse_text(v.s, empty_is_zero)
        return _Num(parsed, False, True, math.inf), ok, (parsed.abs() > EXACT) & ok
    raise AssertionError(kind)


def _num_pair(a: _Num, b: _Num) -> tuple[pl.Expr, pl.Expr, Cond]:
    """Two _Nums as comparable expressions: (ea, eb, inexact). Exact where both are integers."""
    if a.is_int and b.is_int:
        return a.expr, b.expr, False
    # An integer against a constant below 2**53 compares exactly as floats either way.
    fa, ia = _f64(a)
    fb, ib = _f64(b)
    if a.is_int and b.const is not _NO and abs(b.const) < EXACT:
        ia = False
    if b.is_int and a.const is not _NO and abs(a.const) < EXACT:
        ib = False
    return fa, fb, _or(ia, ib)


def _nan_guard(res: Cond, *nums: _Num) -> Cond:
    """polars orders NaN above everything and equal to itself; IEEE (datalogic) says false."""
    guards = [~num.expr.is_nan() for num in nums if not num.finite and not num.is_int]
    return _and(res, *guards)


# --------------------------------------------------------------------------- operators


class ArithmeticOps(_CompilerBase):
    """`+ - * / %` and `min`/`max`, as methods of the compiler (which provides `operands`
    and `fold_constants`)."""

    def arith_operand(self, v: _V, path: str, single: bool) -> tuple[_Num, Cond, Cond]:
        """`v` as an arithmetic operand: (Float64-or-Int64 _Num, error, inexact).

        A list or object among several operands is an error; a lone list operand is spread into
        the operands by the engine, which is only compiled when it is a constant (folded).
        """
        if v.items is not None or v.record:
            if single:
                raise NotCompilable("Arithmetic over a list built from row values cannot be compiled.", path)
            return _Num(pl.lit(0.0), False, True, 0.0), True, False
        if v.objs and single:
            raise NotCompilable("Arithmetic over a list chosen per row cannot be compiled.", path)
        err = _or(*(_mask(v, ("o", key)) for key, _, _ in v.objs))
        kinds = [k for k in v.kinds() if not isinstance(k, tuple)]
        if not kinds:
            return _Num(pl.lit(0.0), False, True, 0.0), err, False
        if len(kinds) == 1 and err is False:
            num, ok, inx = _as_number(v, kinds[0], True)
            return num, _not(ok), inx
        if kinds in (["n", "null"], ["b", "null"]) and err is False:  # a nullable column: null is 0
            num, ok, inx = _as_number(v, kinds[0], True)
            return replace(num, expr=num.expr.fill_null(0)), _not(ok), inx
        cases, inx, finite, bound, all_int = [], False, True, 0.0, True
        parts = []
        for kind in kinds:
            num, ok, x = _as_number(v, kind, True)
            parts.append((kind, num, ok, x))
            all_int = all_int and num.is_int
        for kind, num, ok, x in parts:
            cond = _mask(v, kind)
            expr = num.expr
            if not all_int:
                expr, conv = _f64(num)
                x = _or(x, conv)
            cases.append((cond, expr))
            err = _or(err, _and(cond, _not(ok)))
            inx = _or(inx, _and(cond, x))
            finite = finite and num.finite
            bound = max(bound, EXACT if (num.is_int and not all_int) else num.bound)
        return _Num(_when(cases[:-1], cases[-1][1]), all_int, finite, bound), err, inx

    def op_arith(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        vs = self.operands(raw, path, depth)
        if (folded := self.fold_constants(op, vs, path)) is not None:
            return folded
        if (op in ("-", "/") and not vs) or (op == "%" and len(vs) < 2):
            return _always_error()
        terms, errs, inxs, integral = [], [], [], []
        for i, v in enumerate(vs):
            num, err, inx = self.arith_operand(v, _child(path, i), single=len(vs) == 1)
            term, conv = _arith_term(num)
            terms.append(term)
            errs.append(_or(v.err, err))
            inxs.append(_or(v.inx, inx, _and(_not(err), conv)))  # a text that raises is not also inexact
            integral.append(num.is_int)
        if op in ("+", "-", "*"):
            return self.add_multiply(op, vs, terms, errs, inxs)
        is_json_number = [_mask(v, "n") for v in vs]
        if op == "/" and len(terms) == 1:  # the reciprocal raises on any zero (null, false, "" too)
            x = terms[0]
            zero = (x.const == 0) if x.const is not _NO else (x.expr == 0)
            return replace(_num_v(pl.lit(1.0) / x.expr), err=_or(errs[0], zero), inx=inxs[0])
        # `/` and `%` run left to right and stop at a zero divisor that saturates: the operands
        # after it are not evaluated, so their errors only count on rows still running.
        acc, bound, finite = terms[0].expr, terms[0].bound, terms[0].finite
        live: Cond = True
        acc_is_number, acc_integral = is_json_number[0], integral[0]
        err_all, inx_all, saturations = [errs[0]], [inxs[0]], []
        for k in range(1, len(terms)):
            err_all.append(_and(live, errs[k]))
            inx_all.append(_and(live, inxs[k]))
            dividend = acc
            acc, bound, finite, err, inx, saturate = self.divide(
                op, acc, acc_is_number, acc_integral, terms[k], is_json_number[k], bound
            )
            err_all.append(_and(live, err))
            inx_all.append(_and(live, inx))
            if saturate is not False:  # +-MAX by the dividend's sign; 0 for a zero or NaN dividend
                saturations.append((saturate, (dividend.sign() * 1.7976931348623157e308).fill_nan(0.0)))
            acc_is_number, acc_integral = True, False
            live = _and(live, _not(saturate))
        return replace(
            _num_v(_when(saturations, acc), bound=bound, finite=finite),
            err=_or(*err_all),
            inx=_or(*inx_all),
        )

    @staticmethod
    def add_multiply(op: str, vs: list[_V], terms: list[_Num], errs: list[Cond], inxs: list[Cond]) -> _V:
        if op == "-" and len(terms) == 1:
            terms = [_Num(pl.lit(0.0), False, True, 0.0, 0), *terms]
        acc, bound, finite = terms[0].expr, terms[0].bound, terms[0].finite
        inxs = list(inxs)
        for term in terms[1:]:
            if op == "+":
                acc, bound = acc + term.expr, bound + term.bound
            elif op == "-":
                acc, bound = acc - term.expr, bound + term.bound
            else:
                acc, bound = acc * term.expr, bound * term.bound
            finite = finite and term.finite and bound < 1e308
            if bound > EXACT:  # an integer past 2**53 is exact in the engine, not here
                inxs.append(acc.abs().is_between(EXACT, math.inf, closed="none"))
        return replace(_num_v(acc, bound=bound, finite=finite), err=_or(*errs), inx=_or(*inxs))

    @staticmethod
    def divide(
        op: str,
        acc: pl.Expr,
        acc_is_number: Cond,
        acc_integral: bool,
        term: _Num,
        divisor_is_number: Cond,
        bound: float,
    ) -> tuple[pl.Expr, float, bool, Cond, Cond, Cond]:
        """One step of `/` or `%`: (value, bound, finite, error, inexact, saturate condition).

        A zero divisor raises only when both operands are JSON numbers with integral values in
        the 64-bit range (the engine's integer path); otherwise the engine returns +-MAX by the
        dividend's sign (0 for a zero or NaN dividend) at once.
        """
        b = term.expr
        zero = (term.const == 0) if term.const is not _NO else (b == 0)
        saturate: Cond
        err: Cond
        if zero is False:
            saturate, err = False, False
        else:
            int_like = (acc.abs() < I64) & (acc.floor() == acc)  # false for NaN and +-inf
            raises = _and(zero, acc_is_number, int_like, divisor_is_number)
            err, saturate = raises, _and(zero, _not(raises))
        if op == "/":
            if term.const is not _NO:
                # polars divides by a scalar as a multiplication by its reciprocal, which is not
                # IEEE division (7 / 10 -> 0.7000000000000001); a full-length divisor is divided.
                b = acc.fill_null(float(term.const)).clip(float(term.const), float(term.const))
            value = acc / b
            new_bound = bound / abs(term.const) if term.const not in (_NO, 0) else math.inf
            finite = term.const not in (_NO, 0) and new_bound < 1e308
            inexact = False if new_bound <= EXACT else value.abs().is_between(EXACT, math.inf, closed="none")
        else:
            value, inexact = ArithmeticOps.float_remainder(acc, acc_integral, term)
            new_bound = min(bound, term.bound)
            finite = False
        if saturate is not False:
            inexact = _and(_not(zero), inexact)
            new_bound = math.inf
        return value, new_bound, finite, err, inexact, saturate

    @staticmethod
    def float_remainder(a: pl.Expr, a_integral: bool, term: _Num) -> tuple[pl.Expr, Cond]:
        """fmod(a, b) as the engine computes it: (value, inexact condition).

        Integral operands up to 2**53 go through Int64, which is exact. polars has no exact fmod
        for fractions (its float % is a - b * floor(a / b)), so rows with a fractional operand
        are flagged inexact, to be decided by the scalar path.
        """
        b = term.expr
        if term.const is not _NO:
            b_integral = float(term.const).is_integer() and abs(term.const) <= EXACT
        else:
            b_integral = (b.floor() == b) & (b.abs() <= EXACT)
        exact = b_integral if a_integral else _and((a.floor() == a) & (a.abs() <= EXACT), b_integral)
        ai, bi = a.cast(pl.Int64, strict=False), b.cast(pl.Int64, strict=False)
        r = (ai.abs() % bi.abs()).cast(pl.Float64)
        value = pl.when(ai < 0).then(-r).otherwise(r)
        if exact is True:
            return value, False
        inexact = _and(_not(exact), a.is_finite() & b.is_finite() & (b != 0))
        cases = [
            (exact, value),
            (a.is_finite() & b.is_infinite(), a),
            (~(a.is_finite() & b.is_finite()), pl.lit(math.nan)),
        ]
        return _when(cases, pl.lit(math.nan)), inexact

    def op_min_max(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        vs = self.operands(raw, path, depth)
        if not vs:
            return _always_error()
        if (folded := self.fold_constants(op, vs, path)) is not None:
            return folded
        errs = [v.err for v in vs]
        inxs = [v.inx for v in vs]
        nums = []
        for v in vs:
            if v.items is not None or v.record or v.n is None:
                errs.append(True)
                continue
            errs.append(_not(_mask(v, "n")))
            nums.append((v, _Num(v.n, v.n_int, v.n_finite, v.n_bound, v.const)))
        if not nums:
            return replace(_always_error(), err=_or(*errs))
        all_int = all(num.is_int for _, num in nums)

        def compared(num: _Num) -> pl.Expr:
            """`num` as compared: Int64 when all are integers, else Float64 (and its inexact)."""
            if all_int:
                return num.expr
            expr, inexact = _f64(num)
            inxs.append(inexact)
            return expr

        first_v, first = nums[0]
        acc = compared(first)
        fl = first_v.n_float
        finite = first.finite
        for v, num in nums[1:]:
            expr = compared(num)
            better = (expr < acc) if op == "min" else (expr > acc)
            if not (finite and num.finite) and not all_int:
                better = better | acc.is_nan()  # a NaN so far gives way to anything
                better = better & ~expr.is_nan()  # and a NaN never wins
            finite = finite and num.finite
            acc = pl.when(better).then(expr).otherwise(acc)
            fl = _when_bool([(better, v.n_float)], fl)
        bound = max(num.bound for _, num in nums)
        return replace(
            _num_v(acc, bound=bound, finite=finite, n_float=fl, is_int=all_int),
            err=_or(*errs),
            inx=_or(*inxs),
        )
