"""JSON Logic compiled to polars column expressions, evaluating exactly as the scalar path does.

The scalar path (engine/logic/evaluate.py) evaluates one citizen at a time with datalogic-py. This
module turns the same tree into native polars expressions (no Python per row), so a population of
millions is decided in one `select`. A row's answer is the answer datalogic-py gives for that row
as a dict of the row's values. Where the compiler cannot promise that, it says so instead of
answering differently:

- at compile time it raises `NotCompilable(reason, path)`: an operator outside the subset, a
  computed variable name, a list built from row values used as a value, a result whose JSON type
  varies per row asked for as one typed column (`Compiled.tagged` still carries it), a text
  `amount` (see compile_rule), an expression too large to plan quickly. The simulation falls back
  to the scalar path for the rule and says so in its findings.
- per row, `error` is true where datalogic raises (text in arithmetic, a zero divisor between
  integers, `min` of a non-number, ...); the value there is null. We chose this over refusing at
  compile time: a text column compared with a number is fine on most rows, and the caller re-runs
  one flagged row on the scalar path to get its message.
- per row, `inexact` is true where the columns cannot reproduce the engine bit for bit: a number
  past +-2**40 entering arithmetic (ARITH_LIMIT), an integer past 2**53 compared with a float,
  `%` with a fractional operand (polars has no exact fmod), a fraction in `cat` whose shortest
  decimal may be a rounding tie. Those rows, rare in practice, must be decided by the scalar path.

API
    compile_logic(tree, schema) -> Compiled   .value .truthy .error .inexact .tagged .kinds
    compile_expr(tree, schema)  -> pl.Expr    the value; refuses if a row could raise or be inexact
    compile_rule(document, schema) -> RuleExpressions: (eligible, amount), .error, .inexact

`schema` maps column name -> polars dtype (integer, float, Boolean, String/Categorical/Enum, Null).
A column absent from the schema is a key absent from every row; a Null-typed column is present
and null. Every expression returned is full length (a constant is repeated), so
`frame.select(eligible, amount)` followed by sums is all a caller needs; in a lazy query polars'
common-subexpression elimination also shares the work between `amount`, `error` and `inexact`.

Semantics of datalogic-py 5.9 (default Engine), established by probing it; the tables below are
checked against the engine in tests/engine/logic/test_compile_semantics.py.

Truthiness: falsy are null, false, 0, 0.0, -0.0, NaN (only arithmetic makes one), "", [], {}.
    Truthy: everything else, including "0", " ", "false", [0], {"a": 1}, +-Infinity.

Reading a row: a present key gives its value; null stays null (a `var` default is NOT used for a
    null, only for an absent key, and is evaluated only then). A dotted name ("a.b") walks into
    objects, so on a flat row it is always absent. "" / null / [] name the whole record. A float
    that is NaN or +-inf in the data is read as null. `missing` lists the absent keys (a null
    value is present); `missing_some [k, names]` is [] when at least k are present, else the
    absent ones. Given the schema, both are constants here.

Loose equality `==` (a, b):            Ordering `<` `<=` (and `>` `>=`, the same with operands swapped):
    number-number   numeric                string-string   byte-wise (code point) order
    number-string   the text as a number;  otherwise both as numbers: null->0, false->0, true->1,
                    "" or non-numeric      text: "" -> 0, numeric text -> its value, other text ->
                    text is an ERROR       NaN: compares false, but is an ERROR when the other
    number-bool     true=1, false=0        operand is a number.
    number-null     null=0 (0 == null)
    string-string   same text            Numeric text: [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?,
    string-bool     "true"/"false" text      no spaces, no inf/nan/hex/underscores; a value that
    string-null     only "" == null         overflows (1e400) is not numeric. 1 == "1.0" == "1e0".
    bool-bool       same; null == false only (true != "1", false != "0", false != "")
    null-null       true
    list/object against anything else: an ERROR (`===` and `!==`: simply unequal).
    `==`/`===` with N operands compare the first with each of the others in turn; `<` `<=` `>` `>=`
    chain consecutive pairs (a < b < c). Both stop at the first false: later operands are not
    evaluated (nor their errors). `!=`/`!==` use the first two operands only. Fewer than two
    operands is an ERROR. `===`: same JSON type and equal (1 === 1.0); never an error.

Arithmetic `+ - * / %`: an operand becomes a number: null->0, false->0, true->1, "" -> 0, numeric
    text -> value, other text / list / object -> ERROR (a lone list operand is spread instead).
    `+` of none is 0, `*` of none is 1, `-` of one negates, `/` of one is the reciprocal (any zero:
    ERROR); `-` `/` of none and `%` of fewer than two are ERRORS. Left to right. `%` is the
    truncated remainder (sign of the dividend, fmod). Integers are exact 64-bit (an overflow turns
    into a float); an integral result is an integer (1.5 + 1.5 -> 3, which `cat` writes "3").
    Overflow gives +-inf and inf*0 NaN inside the evaluation (they compare and test as IEEE values;
    NaN is falsy); they become null when a value leaves the engine, and "null" in `cat`.
Zero divisor (`/` and `%`, after coercion): an ERROR when the dividend and the divisor are both
    JSON numbers with integral values in the 64-bit range (10 / 0, 10.0 / 0.0, 2**62 / 0);
    otherwise the operator returns at once +-1.7976931348623157e308 by the dividend's sign (0 for
    a zero or NaN dividend) without evaluating the operands after it: 10.5 / 0, "10" / 0, 10 / null,
    10 / false, 10 / "", 1e20 / 0, {"/": [10, null, "abc"]} -> MAX.
`min`/`max`: numbers only (null, bool, text -> ERROR; no operands -> ERROR); the first of equal
    values wins; a NaN operand is skipped.
`in` (a, b): b text -> a is text and a substring of b; b a list -> strict (`===`) membership;
    otherwise false. With fewer than two operands: false, the operand not evaluated.
`cat`: null -> "", true/false -> "true"/"false", integers in decimal, floats: an integral float
    as "3.0" (-0.0 -> "0.0"; beyond the 64-bit range "1e19"), others as the shortest round-trip
    decimal, positional ("0.0000001"), a rounding tie resolved upward; non-finite -> "null".
`if`: [] -> null, [x] -> x, [c, a] -> a or null, [c1, a1, c2, a2, ..., else]; non-list -> ERROR.
`and`/`or` return the deciding operand (not a boolean); [] -> null; non-list -> ERROR.
`!`/`!!` use the first operand only (none -> null).
"""

import json
import math
import re
from dataclasses import dataclass, replace

import polars as pl

from ..evaluate import ENGINE
from ..validate import MAX_DEPTH, MAX_NODES, SUBSET

__all__ = ["NotCompilable", "Compiled", "RuleExpressions", "compile_logic", "compile_expr", "compile_rule"]

EXACT = 2**53  # integers up to this magnitude are exact in a float64
# A number entering + - * / % beyond this magnitude defers its row to the scalar path (inexact).
# In exchange, static bounds prove that sums and products of a few such numbers with constants
# stay below 2**53, where float64 arithmetic is exactly the engine's integer arithmetic, without a
# check after every step. (A dollar figure past 2**40 is $1.1 trillion.)
ARITH_LIMIT = 2.0**40
I64 = 2.0**63
# polars expands a shared sub-expression at every use, so a rule that reuses deep parts can grow
# exponentially. Each compiled node is measured (its serialized size, about 35 bytes a node) and
# refused beyond this, which keeps planning well under 0.1 s.
MAX_EXPR_BYTES = 400_000
NUMERIC_TEXT = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_NUMERIC_TEXT_PY = re.compile(NUMERIC_TEXT[:-1] + r"\Z")
_NO = object()  # "not a constant"


class NotCompilable(Exception):
    """The compiler cannot take this construct; the reason is plain English, `path` a JSON path."""

    def __init__(self, reason, path="$"):
        super().__init__(f"{reason} (at {path})")
        self.reason = reason
        self.path = path


# --------------------------------------------------------------------------- static boolean algebra
# A condition is a Python bool when it is known at compile time, else a non-null Boolean pl.Expr.


def _and(*xs):
    out = True
    for x in xs:
        if x is True or x is None:
            continue
        if x is False:
            return False
        out = x if out is True else out & x
    return out


def _or(*xs):
    out = False
    for x in xs:
        if x is False or x is None:
            continue
        if x is True:
            return True
        out = x if out is False else out | x
    return out


def _not(x):
    return (not x) if isinstance(x, bool) else ~x


def _expr(x, dtype=pl.Boolean):
    return pl.lit(x, dtype=dtype) if not isinstance(x, pl.Expr) else x


def _when(cases, default):
    """First-match case: [(cond, expr)], default -> expr. Conditions may be static."""
    live = []
    for cond, value in cases:
        if cond is False:
            continue
        if cond is True:
            default = value
            break
        live.append((cond, value))
    if not live:
        return default
    chain = pl.when(live[0][0]).then(live[0][1])
    for cond, value in live[1:]:
        chain = chain.when(cond).then(value)
    return chain.otherwise(default)


def _when_bool(cases, default):
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
    objs: tuple = ()
    items: tuple | None = None
    record: bool = False
    null: bool = True  # may be null
    n_int: bool = False  # `n` is Int64, exact
    n_float: object = False  # the engine holds the number as a float (bool or Expr); matters for `cat`
    n_finite: bool = True  # `n` is never NaN/inf
    n_bound: float = math.inf  # |n| <= n_bound on every row that is not flagged inexact
    err: object = False
    inx: object = False
    const: object = _NO

    def kinds(self):
        out = [k for k in ("b", "n", "s") if getattr(self, k) is not None]
        out += [("o", key) for key, _, _ in self.objs]
        if self.null:
            out.append("null")
        return out

    def only(self, kind):
        return self.kinds() == [kind] and self.items is None and not self.record


def _const(value, path="$"):
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


def _always_error():
    return _V(null=True, err=True)


def _py_truthy(value):
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


def _py_number(text):
    """datalogic's reading of a text as a number, or None when it is not numeric."""
    if not _NUMERIC_TEXT_PY.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _mask(v, kind):
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
    return getattr(v, kind).is_not_null()


def _expr_bytes(v):
    """The size of everything `v` holds, as polars will expand it (serialized bytes)."""
    exprs = [v.b, v.n, v.s, v.err, v.inx, v.n_float] + [p for _, _, p in v.objs]
    total = sum(len(e.meta.serialize()) for e in exprs if isinstance(e, pl.Expr))
    return total + sum(_expr_bytes(item) for item in v.items or ())


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class _Num:
    expr: pl.Expr
    is_int: bool  # Int64 expression (exact integers)
    finite: bool
    bound: float
    const: object = _NO


def _f64(num):
    """(Float64 expr, inexact condition) for a _Num."""
    if not num.is_int:
        return num.expr, False
    if num.const is not _NO:
        return pl.lit(float(num.const), dtype=pl.Float64), abs(num.const) > EXACT
    if num.bound <= EXACT:
        return num.expr.cast(pl.Float64), False
    return num.expr.cast(pl.Float64), ((num.expr > EXACT) | (num.expr < -EXACT)).fill_null(False)


def _arith_term(num):
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


def _parse_text(s, empty_is_zero):
    """(value Float64, ok Boolean) for a String expr read as a number."""
    value = s.cast(pl.Float64, strict=False)
    ok = s.str.contains(NUMERIC_TEXT) & value.is_finite()
    if empty_is_zero:
        empty = s == ""
        return pl.when(empty).then(pl.lit(0.0)).otherwise(value), ok | empty
    return value, ok


def _as_number(v, kind, empty_is_zero):
    """One variant of `v` read as a number: (_Num, ok condition, inexact condition).

    `ok` is false where a text is not numeric (the caller decides whether that is an error).
    """
    if kind == "n":
        if v.n_int:
            return _Num(v.n, True, True, v.n_bound, v.const), True, False
        return _Num(v.n, False, v.n_finite, v.n_bound, v.const), True, False
    if kind == "null":
        return _Num(pl.lit(0, dtype=pl.Int64), True, True, 0, 0), True, False
    if kind == "b":
        if v.const is not _NO:
            return _Num(pl.lit(int(v.const), dtype=pl.Int64), True, True, 1, int(v.const)), True, False
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
        value, ok = _parse_text(v.s, empty_is_zero)
        return _Num(value, False, True, math.inf), ok, (value.abs() > EXACT) & ok
    raise AssertionError(kind)


def _num_pair(a, b):
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


def _nan_guard(res, *nums):
    """polars orders NaN above everything and equal to itself; IEEE (datalogic) says false."""
    guards = [~num.expr.is_nan() for num in nums if not num.finite and not num.is_int]
    return _and(res, *guards)


# --------------------------------------------------------------------------- conversions


def _truthy(v):
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


_CAT_ENGINE_RULE = None


def _py_cat(value):
    """datalogic's text for one constant operand of `cat`."""
    global _CAT_ENGINE_RULE
    if _CAT_ENGINE_RULE is None:
        _CAT_ENGINE_RULE = ENGINE.compile({"cat": [{"var": "v"}]})
    return _CAT_ENGINE_RULE.evaluate({"v": value})


def _format_fraction(x):
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


def _format_number(v):
    """The `n` variant of `v` as `cat` writes it: (String expr, inexact condition)."""
    if v.n_int:
        return v.n.cast(pl.String), False
    if v.const is not _NO:
        return pl.lit(_py_cat(v.const)), False
    x = v.n
    finite = True if v.n_finite else x.is_finite()
    integral = x == x.floor()
    in_i64 = (x >= -I64) & (x < I64)
    int_text = x.cast(pl.Int64, strict=False).cast(pl.String)
    as_float = pl.concat_str([int_text, pl.lit(".0")]) if v.n_float is not False else None
    as_int = int_text if v.n_float is not True else None
    if as_float is not None and as_int is not None:
        integer_text = pl.when(v.n_float).then(as_float).otherwise(as_int)
    else:
        integer_text = as_float if as_float is not None else as_int
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


def _to_text(v, path):
    """`v` as `cat` writes it: (non-null String expr, inexact condition)."""
    if v.items is not None or v.record:
        raise NotCompilable("'cat' of a list built from row values cannot be compiled.", path)
    if v.const is not _NO:
        return pl.lit(_py_cat(v.const)), False
    cases, inexact = [], False
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


# --------------------------------------------------------------------------- merging per-row choices


def _select(cases, default, path):
    """First-match choice between values: [(cond, _V)], default _V -> (_V, inexact of the merge).

    Only the values are merged; the caller accounts for errors of what was evaluated.
    """
    live = []
    for cond, v in cases:
        if cond is False:
            continue
        if cond is True:
            default = v
            break
        live.append((cond, v))
    if not live:
        return replace(default, err=False, inx=False), False
    every = [v for _, v in live] + [default]
    for v in every:
        if v.items is not None or v.record:
            raise NotCompilable("A list or record chosen per row cannot be used as a value.", path)
    conds = [c for c, _ in live]
    null_of = {"b": pl.Boolean, "s": pl.String}
    fields = {}
    for kind in ("b", "s"):
        if any(getattr(v, kind) is not None for v in every):
            parts = [
                getattr(v, kind) if getattr(v, kind) is not None else pl.lit(None, dtype=null_of[kind]) for v in every
            ]
            fields[kind] = _when(list(zip(conds, parts[:-1], strict=True)), parts[-1])
    merge_inexact = False
    with_n = [v for v in every if v.n is not None]
    n_int = bool(with_n) and all(v.n_int for v in with_n)
    if with_n:
        parts, floats = [], []
        for i, v in enumerate(every):
            if v.n is None:
                parts.append(pl.lit(None, dtype=pl.Int64 if n_int else pl.Float64))
                floats.append(False)
                continue
            if n_int or not v.n_int:
                parts.append(v.n)
            else:
                expr, inx = _f64(_Num(v.n, True, True, v.n_bound, v.const))
                parts.append(expr)
                taken = _and(conds[i] if i < len(conds) else _not(_or(*conds)), _mask(v, "n"))
                merge_inexact = _or(merge_inexact, _and(taken, inx))
            floats.append(v.n_float)
        fields["n"] = _when(list(zip(conds, parts[:-1], strict=True)), parts[-1])
        fields["n_float"] = _when_bool(list(zip(conds, floats[:-1], strict=True)), floats[-1])
    objs = {}
    for v in every:
        for key, value, _ in v.objs:
            objs.setdefault(key, value)
    merged_objs = []
    for key, value in objs.items():
        parts = []
        for v in every:
            found = [p for k, _, p in v.objs if k == key]
            parts.append(found[0] if found else pl.lit(None, dtype=pl.Boolean))
        merged_objs.append((key, value, _when(list(zip(conds, parts[:-1], strict=True)), parts[-1])))
    merged = _V(
        b=fields.get("b"),
        n=fields.get("n"),
        s=fields.get("s"),
        objs=tuple(merged_objs),
        null=any(v.null for v in every),
        n_int=n_int,
        n_float=fields.get("n_float", False),
        n_finite=all(v.n_finite for v in with_n),
        n_bound=max((v.n_bound for v in with_n), default=0.0),
    )
    return merged, merge_inexact


def _bool_v(expr):
    """A value that is a boolean on every row (static or an Expr)."""
    return _const(expr) if isinstance(expr, bool) else _V(b=expr, null=False)


def _num_v(expr, *, bound=math.inf, finite=False, n_float=False, is_int=False):
    """A value that is a number on every row."""
    return _V(n=expr, null=False, n_int=is_int, n_float=n_float, n_finite=finite, n_bound=bound)


# --------------------------------------------------------------------------- comparisons


_ORDER = {"n": 0, "s": 1, "b": 2, "null": 3}


def _loose_pair(x, kx, y, ky):
    """`==` for one pair of variants: (result, error, inexact) under the pair's mask."""
    if _ORDER[kx] > _ORDER[ky]:
        x, kx, y, ky = y, ky, x, kx
    if kx == "n" and ky in ("n", "null", "b"):
        a, _, _ = _as_number(x, "n", False)
        b, _, _ = _as_number(y, ky, False)
        ea, eb, inx = _num_pair(a, b)
        return _nan_guard(ea == eb, a, b), False, inx
    if kx == "n" and ky == "s":
        a, _, _ = _as_number(x, "n", False)
        b, ok, inx_b = _as_number(y, "s", False)
        if ok is False:
            return False, True, False
        ea, eb, inx = _num_pair(a, b)
        return _and(ok, _nan_guard(ea == eb, a)), _not(ok), _or(inx, inx_b)
    if kx == "s" and ky == "s":
        if x.const is not _NO and y.const is not _NO:
            return x.const == y.const, False, False
        return x.s == y.s, False, False
    if kx == "s" and ky == "b":
        text = (
            pl.lit(json.dumps(y.const))
            if y.const is not _NO
            else pl.when(y.b).then(pl.lit("true")).otherwise(pl.lit("false"))
        )
        return x.s == text, False, False
    if kx == "s" and ky == "null":
        return (x.const == "") if x.const is not _NO else (x.s == ""), False, False
    if kx == "b" and ky == "b":
        if x.const is not _NO and y.const is not _NO:
            return x.const == y.const, False, False
        if y.const is not _NO:
            return (x.b if y.const else ~x.b), False, False
        if x.const is not _NO:
            return (y.b if x.const else ~y.b), False, False
        return x.b == y.b, False, False
    if kx == "b" and ky == "null":
        return (not x.const) if x.const is not _NO else ~x.b, False, False
    if kx == "null" and ky == "null":
        return True, False, False
    raise AssertionError((kx, ky))


def _strict_pair(x, kx, y, ky):
    if kx != ky:
        return False, False, False
    if kx == "null":
        return True, False, False
    if kx == "n":
        a, _, _ = _as_number(x, "n", False)
        b, _, _ = _as_number(y, "n", False)
        ea, eb, inx = _num_pair(a, b)
        return _nan_guard(ea == eb, a, b), False, inx
    if x.const is not _NO and y.const is not _NO:
        return x.const == y.const, False, False
    return getattr(x, kx) == getattr(y, kx), False, False


def _order_pair(x, kx, y, ky, strict):
    """`<` (strict) or `<=` for one pair of variants: (result, error, inexact)."""
    if kx == "s" and ky == "s":
        if x.const is not _NO and y.const is not _NO:
            a, b = x.const.encode(), y.const.encode()
            return (a < b if strict else a <= b), False, False
        return (x.s < y.s) if strict else (x.s <= y.s), False, False
    a, ok_a, inx_a = _as_number(x, kx, True)
    b, ok_b, inx_b = _as_number(y, ky, True)
    ok = _and(ok_a, ok_b)
    # Non-numeric text against a number is an error; against null or a boolean it is just false.
    err = _or(_and(_not(ok_a), ky == "n"), _and(_not(ok_b), kx == "n"))
    if ok is False:
        return False, err, False
    if a.const is not _NO and b.const is not _NO:
        res = a.const < b.const if strict else a.const <= b.const
    else:
        ea, eb, inx = _num_pair(a, b)
        res = _nan_guard((ea < eb) if strict else (ea <= eb), a, b)
        inx_a = _or(inx_a, inx_b, inx)
        inx_b = False
    return _and(ok, res), err, _or(inx_a, inx_b)


def _list_like(v):
    """The list/object kinds of `v` with their masks: constant ones, a row-built list, the record."""
    out = [(kind, _mask(v, kind)) for kind in v.kinds() if isinstance(kind, tuple)]
    if v.items is not None or v.record:
        out.append(("list", True))
    return out


def _compare(x, y, pair, path, strict=False):
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
        for kinds, other, nullable_first in ((x_kinds, y_kinds, True), (y_kinds, x_kinds, False)):
            const = y if nullable_first else x
            if len(kinds) == 2 and kinds[1] == "null" and const.const is not _NO and len(other) == 1:
                args = (kinds[0], other[0]) if nullable_first else (other[0], kinds[0])
                nulls = ("null", other[0]) if nullable_first else (other[0], "null")
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


# --------------------------------------------------------------------------- the compiler


def _child(path, part):
    return f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}"


def _args(raw):
    return raw if isinstance(raw, list) else [raw]


class _Compiler:
    def __init__(self, schema):
        self.schema = {name: dtype for name, dtype in dict(schema).items()}
        self.nodes = 0
        self._reads = {}

    # -- structure
    def reads_data(self, node):
        """Whether a subtree depends on the row (var, missing, missing_some anywhere)."""
        key = id(node)
        if key in self._reads:
            return self._reads[key]
        if isinstance(node, list):
            out = any(self.reads_data(item) for item in node)
        elif isinstance(node, dict) and len(node) == 1:
            ((op, args),) = node.items()
            out = op in ("var", "missing", "missing_some") or self.reads_data(args)
        else:
            out = False
        self._reads[key] = out
        return out

    def check_operators(self, node, path, depth):
        stack = [(node, path, depth)]
        while stack:
            item, where, level = stack.pop()
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise NotCompilable(f"The logic has more than {MAX_NODES:,} nodes.", where)
            if level > MAX_DEPTH:
                raise NotCompilable(f"The logic is nested more than {MAX_DEPTH} levels deep.", where)
            if isinstance(item, list):
                stack.extend((x, _child(where, i), level + 1) for i, x in enumerate(item))
            elif isinstance(item, dict):
                if len(item) > 1:
                    raise NotCompilable("An operation is an object with exactly one operator.", where)
                for op, args in item.items():
                    if op not in SUBSET:
                        raise NotCompilable(f"Operator {op!r} is not in the rule subset.", _child(where, op))
                    stack.append((args, _child(where, op), level + 1))

    def fold(self, node, path, data=None):
        """A subtree that does not read the row, evaluated once by datalogic itself."""
        try:
            value = ENGINE.compile(json.dumps(node)).evaluate(data if data is not None else {})
        except Exception:  # datalogic raises for every row that evaluates this subtree
            return _always_error()
        return _const(value, path)

    def fold_op(self, op, values, path):
        """`op` over constant operands, evaluated by datalogic (operands passed as data)."""
        node = {op: [{"var": f"c{i}"} for i in range(len(values))]}
        return self.fold(node, path, {f"c{i}": value for i, value in enumerate(values)})

    # -- dispatch
    def compile(self, node, path, depth=1):
        v = self._compile(node, path, depth)
        if _expr_bytes(v) > MAX_EXPR_BYTES:
            raise NotCompilable(
                "The logic nests choices so deeply that its column expression would be too large.", path
            )
        return v

    def _compile(self, node, path, depth):
        if depth > MAX_DEPTH:
            raise NotCompilable(f"The logic is nested more than {MAX_DEPTH} levels deep.", path)
        if not self.reads_data(node):
            self.check_operators(node, path, depth)
            return self.fold(node, path)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NotCompilable(f"The logic has more than {MAX_NODES:,} nodes.", path)
        if isinstance(node, list):
            items = tuple(self.compile(item, _child(path, i), depth + 1) for i, item in enumerate(node))
            if self.all_const(items):
                return _const([item.const for item in items], path)
            return _V(
                items=items,
                null=False,
                err=_or(*(i.err for i in items)),
                inx=_or(*(i.inx for i in items)),
            )
        if len(node) != 1:
            raise NotCompilable("An operation is an object with exactly one operator.", path)
        ((op, raw),) = node.items()
        where = _child(path, op)
        if op not in SUBSET:
            raise NotCompilable(f"Operator {op!r} is not in the rule subset.", where)
        handler = {
            "var": self.op_var,
            "missing": self.op_missing,
            "missing_some": self.op_missing,
            "if": self.op_if,
            "and": self.op_and_or,
            "or": self.op_and_or,
            "!": self.op_not,
            "!!": self.op_not,
            "==": self.op_equals,
            "===": self.op_equals,
            "!=": self.op_not_equals,
            "!==": self.op_not_equals,
            "<": self.op_order,
            "<=": self.op_order,
            ">": self.op_order,
            ">=": self.op_order,
            "+": self.op_arith,
            "-": self.op_arith,
            "*": self.op_arith,
            "/": self.op_arith,
            "%": self.op_arith,
            "min": self.op_min_max,
            "max": self.op_min_max,
            "in": self.op_in,
            "cat": self.op_cat,
        }[op]
        return handler(op, raw, where, depth + 1)

    def truth(self, node, path, depth=1):
        """Only the truthiness of `node`, as a plain boolean _V (with the node's errors).

        `and`/`or`/`if`/`!`/`!!` whose values only feed a condition need not carry the deciding
        operand along: their truthiness combines the operands' truthiness directly.
        """
        op = next(iter(node)) if isinstance(node, dict) and len(node) == 1 else None
        if op not in ("and", "or", "if", "!", "!!") or not self.reads_data(node):
            v = self.compile(node, path, depth)
            return replace(_bool_v(_truthy(v)), err=v.err, inx=v.inx)
        raw, where = node[op], _child(path, op)
        if op in ("!", "!!"):
            args = _args(raw)[:1]
            t = self.truth(args[0], _child(where, 0), depth + 1) if args else _const(False)
            return replace(_bool_v(_truthy(t) if op == "!!" else _not(_truthy(t))), err=t.err, inx=t.inx)
        if not isinstance(raw, list) or (op == "if" and len(raw) < 2):
            v = self.compile(node, path, depth)
            return replace(_bool_v(_truthy(v)), err=v.err, inx=v.inx)
        if op in ("and", "or"):
            if not raw:
                return _const(False)
            truths, errs, inxs, reached = [], [], [], True
            for i, arg in enumerate(raw):
                t = self.truth(arg, _child(where, i), depth + 1)
                errs.append(_and(reached, t.err))
                inxs.append(_and(reached, t.inx))
                truths.append(_truthy(t))
                reached = _and(reached, truths[-1] if op == "and" else _not(truths[-1]))
                if reached is False:
                    break
            result = _and(*truths) if op == "and" else _or(*truths)
            return replace(_bool_v(result), err=_or(*errs), inx=_or(*inxs))
        cases, errs, inxs, reached, default = [], [], [], True, False
        for i in range(0, len(raw) - 1, 2):
            c = self.truth(raw[i], _child(where, i), depth + 1)
            t = _truthy(c)
            errs.append(_and(reached, c.err))
            inxs.append(_and(reached, c.inx))
            if t is not False:
                b = self.truth(raw[i + 1], _child(where, i + 1), depth + 1)
                errs.append(_and(reached, t, b.err))
                inxs.append(_and(reached, t, b.inx))
                if t is True:
                    default, reached = _truthy(b), False
                    break
                cases.append((t, _truthy(b)))
            reached = _and(reached, _not(t))
        if reached is not False and len(raw) % 2 == 1:
            e = self.truth(raw[-1], _child(where, len(raw) - 1), depth + 1)
            errs.append(_and(reached, e.err))
            inxs.append(_and(reached, e.inx))
            default = _truthy(e)
        return replace(_bool_v(_when_bool(cases, default)), err=_or(*errs), inx=_or(*inxs))

    def operands(self, raw, path, depth, limit=None):
        args = _args(raw)
        if limit is not None:
            args = args[:limit]
        return [self.compile(arg, _child(path, i), depth) for i, arg in enumerate(args)]

    @staticmethod
    def all_const(vs):
        """Operands that are the same on every row and never raise: the engine can fold them."""
        return all(v.const is not _NO and v.err is False and v.inx is False for v in vs)

    # -- reading the row
    def read_column(self, name, path):
        dtype = self.schema[name]
        col = pl.col(name)
        if dtype == pl.Null:
            return _const(None)
        if dtype == pl.Boolean:
            return _V(b=col)
        if dtype in (pl.String, pl.Categorical, pl.Enum) or isinstance(dtype, (pl.Categorical, pl.Enum)):
            return _V(s=col if dtype == pl.String else col.cast(pl.String))
        if dtype.is_integer():
            if dtype == pl.UInt64:  # may exceed Int64; read as a float and flag the big ones
                x = col.cast(pl.Float64)
                return _V(n=x, n_bound=EXACT, inx=(x > EXACT).fill_null(False))
            return _V(n=col if dtype == pl.Int64 else col.cast(pl.Int64), n_int=True, n_bound=2.0**63)
        if dtype.is_float():
            x = col if dtype == pl.Float64 else col.cast(pl.Float64)
            return _V(n=pl.when(x.is_finite()).then(x), n_float=True, n_bound=1.8e308)
        raise NotCompilable(
            f"Column {name!r} has type {dtype}; the compiler reads integer, decimal, boolean and text columns.", path
        )

    def op_var(self, op, raw, path, depth):
        args = raw if isinstance(raw, list) else [raw]
        name = args[0] if args else None
        if isinstance(name, (dict, list)):
            raise NotCompilable("A 'var' must name its variable as plain text, not compute it.", path)
        if name is None or name == "":
            return _V(record=True, null=False, n_bound=len(self.schema))
        if isinstance(name, bool):
            raise NotCompilable("A 'var' must name its variable as plain text.", path)
        if isinstance(name, float):
            present = False  # datalogic splits "1.5" as a path; a whole float names no flat key
        else:
            name = str(name)
            present = "." not in name and name in self.schema
        if present:
            return self.read_column(name, path)
        if len(args) >= 2:
            return self.compile(args[1], _child(path, 1), depth)
        return _const(None)

    def op_missing(self, op, raw, path, depth):
        if self.reads_data(raw):
            raise NotCompilable(f"'{op}' must list its variable names as plain text.", path)
        self.check_operators(raw, path, depth)
        stand_in = {name: 0 for name in self.schema}  # presence is all that matters on a flat row
        try:
            value = ENGINE.compile(json.dumps({op: raw})).evaluate(stand_in)
        except Exception:
            return _always_error()
        return _const(value, path)

    # -- control
    def op_if(self, op, raw, path, depth):
        if not isinstance(raw, list):
            raise NotCompilable("'if' takes a list of operands.", path)
        if not raw:
            return _const(None)
        if len(raw) == 1:
            return self.compile(raw[0], _child(path, 0), depth)
        cases, errs, inxs, children = [], [], [], []
        reached = True
        default = _const(None)
        for i in range(0, len(raw) - 1, 2):
            cond = self.truth(raw[i], _child(path, i), depth)
            children.append(cond)
            t = _truthy(cond)
            errs.append(_and(reached, cond.err))
            inxs.append(_and(reached, cond.inx))
            if t is False:
                reached = _and(reached, _not(t))
                continue
            branch = self.compile(raw[i + 1], _child(path, i + 1), depth)
            children.append(branch)
            taken = _and(reached, t)
            errs.append(_and(taken, branch.err))
            inxs.append(_and(taken, branch.inx))
            if t is True:
                default, reached = branch, False
                break
            cases.append((t, branch))
            reached = _and(reached, _not(t))
        if reached is not False and len(raw) % 2 == 1:
            default = self.compile(raw[-1], _child(path, len(raw) - 1), depth)
            children.append(default)
            errs.append(_and(reached, default.err))
            inxs.append(_and(reached, default.inx))
        merged, merge_inx = _select(cases, default, path)
        return replace(
            merged,
            err=_or(*errs),
            inx=_or(*inxs, merge_inx),
        )

    def op_and_or(self, op, raw, path, depth):
        if not isinstance(raw, list):
            raise NotCompilable(f"'{op}' takes a list of operands.", path)
        if not raw:
            return _const(None)
        is_and = op == "and"
        vs, truths, errs, inxs = [], [], [], []
        reached = True
        for i, arg in enumerate(raw):
            v = self.compile(arg, _child(path, i), depth)
            t = _truthy(v)
            vs.append(v)
            truths.append(t)
            errs.append(_and(reached, v.err))
            inxs.append(_and(reached, v.inx))
            reached = _and(reached, t if is_and else _not(t))
            if reached is False:
                break
        err, inx = _or(*errs), _or(*inxs)
        if all(v.only("b") for v in vs):  # plain booleans: the deciding operand is the boolean result
            result = _and(*truths) if is_and else _or(*truths)
            return replace(_bool_v(result), err=err, inx=inx)
        cases = [((_not(t) if is_and else t), v) for t, v in zip(truths[:-1], vs[:-1], strict=True)]
        merged, merge_inx = _select(cases, vs[-1], path)
        return replace(merged, err=err, inx=_or(inx, merge_inx))

    def op_not(self, op, raw, path, depth):
        args = _args(raw)[:1]
        v = self.truth(args[0], _child(path, 0), depth) if args else _const(None)
        t = _truthy(v)
        result = _not(t) if op == "!" else t
        return replace(_bool_v(result), err=v.err, inx=v.inx)

    # -- comparisons
    def op_equals(self, op, raw, path, depth):
        args = _args(raw)
        if len(args) < 2:
            return _always_error()
        pair = _loose_pair if op == "==" else _strict_pair
        first = self.compile(args[0], _child(path, 0), depth)
        results, errs, inxs, children = [], [first.err], [first.inx], [first]
        reached = True
        for i, arg in enumerate(args[1:], start=1):
            v = self.compile(arg, _child(path, i), depth)
            children.append(v)
            if self.all_const([first, v]):
                folded = self.fold_op(op, [first.const, v.const], path)
                r, e, x = (_truthy(folded) if folded.err is False else False), folded.err, False
            else:
                r, e, x = _compare(first, v, pair, path, strict=op == "===")
            errs.append(_and(reached, _or(v.err, e)))
            inxs.append(_and(reached, _or(v.inx, x)))
            results.append(r)
            reached = _and(reached, r)
            if reached is False:
                break
        return replace(_bool_v(_and(*results)), err=_or(*errs), inx=_or(*inxs))

    def op_not_equals(self, op, raw, path, depth):
        args = _args(raw)
        if len(args) < 2:
            return _always_error()
        x, y = self.operands(args, path, depth, limit=2)
        if self.all_const([x, y]):
            return self.fold_op(op, [x.const, y.const], path)
        r, e, i = _compare(x, y, _loose_pair if op == "!=" else _strict_pair, path, strict=op == "!==")
        return replace(_bool_v(_not(r)), err=_or(x.err, y.err, e), inx=_or(x.inx, y.inx, i))

    def op_order(self, op, raw, path, depth):
        args = _args(raw)
        if len(args) < 2:
            return _always_error()
        strict = op in ("<", ">")
        swap = op in (">", ">=")
        prev = self.compile(args[0], _child(path, 0), depth)
        results, errs, inxs, children = [], [prev.err], [prev.inx], [prev]
        reached = True
        for i, arg in enumerate(args[1:], start=1):
            v = self.compile(arg, _child(path, i), depth)
            children.append(v)
            errs.append(_and(reached, v.err))
            inxs.append(_and(reached, v.inx))
            lhs, rhs = (v, prev) if swap else (prev, v)
            if self.all_const([lhs, rhs]):
                folded = self.fold_op("<" if strict else "<=", [lhs.const, rhs.const], path)
                r, e, x = (_truthy(folded) if folded.err is False else False), folded.err, False
            else:
                r, e, x = _compare(lhs, rhs, lambda a, ka, b, kb: _order_pair(a, ka, b, kb, strict), path)
            errs.append(_and(reached, e))
            inxs.append(_and(reached, x))
            results.append(r)
            reached = _and(reached, r)
            prev = v
            if reached is False:
                break
        return replace(_bool_v(_and(*results)), err=_or(*errs), inx=_or(*inxs))

    # -- arithmetic
    def arith_operand(self, v, path, single):
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

    def op_arith(self, op, raw, path, depth):
        vs = self.operands(raw, path, depth)
        if self.all_const(vs):
            return self.fold_op(op, [v.const for v in vs], path)
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
        live, acc_is_number, acc_integral = True, is_json_number[0], integral[0]
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
    def add_multiply(op, vs, terms, errs, inxs):
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
    def divide(op, acc, acc_is_number, acc_integral, term, divisor_is_number, bound):
        """One step of `/` or `%`: (value, bound, finite, error, inexact, saturate condition).

        A zero divisor raises only when both operands are JSON numbers with integral values in
        the 64-bit range (the engine's integer path); otherwise the engine returns +-MAX by the
        dividend's sign (0 for a zero or NaN dividend) at once.
        """
        b = term.expr
        zero = (term.const == 0) if term.const is not _NO else (b == 0)
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
            value, inexact = _Compiler.float_remainder(acc, acc_integral, term)
            new_bound = min(bound, term.bound)
            finite = False
        if saturate is not False:
            inexact = _and(_not(zero), inexact)
            new_bound = math.inf
        return value, new_bound, finite, err, inexact, saturate

    @staticmethod
    def float_remainder(a, a_integral, term):
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

    def op_min_max(self, op, raw, path, depth):
        vs = self.operands(raw, path, depth)
        if not vs:
            return _always_error()
        if self.all_const(vs):
            return self.fold_op(op, [v.const for v in vs], path)
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
        first_v, first = nums[0]
        acc = first.expr if all_int else _f64(first)[0]
        if not all_int:
            inxs.append(_f64(first)[1])
        fl = first_v.n_float
        finite = first.finite
        for v, num in nums[1:]:
            expr = num.expr if all_int else _f64(num)[0]
            if not all_int:
                inxs.append(_f64(num)[1])
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

    # -- strings and membership
    def op_in(self, op, raw, path, depth):
        if len(_args(raw)) < 2:  # false, without evaluating the operand
            return _const(False)
        vs = self.operands(raw, path, depth, limit=2)
        err = _or(*(v.err for v in vs))
        inx = _or(*(v.inx for v in vs))
        x, y = vs
        if self.all_const(vs):
            return self.fold_op(op, [x.const, y.const], path)
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
        members = []
        if y.items is not None:
            members = [(True, item) for item in y.items]
        for key, value, _ in y.objs:
            if isinstance(value, list):
                cond = _mask(y, ("o", key))
                members += [(cond, _const(item, path)) for item in value]
        for cond, item in members:
            if x.const is not _NO and item.const is not _NO:
                folded = self.fold_op("===", [x.const, item.const], path)
                parts.append(_and(cond, folded.const is True))
                continue
            r, _, i = _compare(x, item, _strict_pair, path, strict=True)
            parts.append(_and(cond, r))
            inx = _or(inx, _and(cond, i))
        return replace(_bool_v(_or(*parts)), err=err, inx=inx)

    def op_cat(self, op, raw, path, depth):
        vs = self.operands(raw, path, depth)
        if self.all_const(vs):
            return self.fold_op(op, [v.const for v in vs], path)
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


# --------------------------------------------------------------------------- public API


_KIND_NAMES = {"b": "boolean", "n": "number", "s": "string", "null": "null"}


def _column(expr, name):
    """`expr` as a full-length column named `name` (a constant would otherwise be one row)."""
    if expr.meta.is_scalar():
        expr = pl.repeat(expr, pl.len())
    return expr.alias(name)


@dataclass(frozen=True)
class Compiled:
    """A compiled JSON Logic tree: per-row value, truthiness, error and inexact flags."""

    _v: _V
    path: str = "$"

    @property
    def kinds(self):
        """The JSON types the value may take: 'null', 'boolean', 'number', 'string', 'array', 'object'."""
        out = set()
        for kind in self._v.kinds():
            if isinstance(kind, tuple):
                value = [v for k, v, _ in self._v.objs if k == kind[1]][0]
                out.add("array" if isinstance(value, list) else "object")
            else:
                out.add(_KIND_NAMES[kind])
        if self._v.items is not None:
            out.add("array")
        if self._v.record:
            out.add("object")
        return frozenset(out)

    @property
    def may_error(self):
        return self._v.err is not False

    @property
    def may_be_inexact(self):
        return self._v.inx is not False

    @property
    def error(self):
        """Boolean: true where datalogic raises an error for the row."""
        return _column(_expr(self._v.err).fill_null(False), "error")

    @property
    def inexact(self):
        """Boolean: true where the columns cannot reproduce the engine exactly; ask the scalar path."""
        return _column(_expr(self._v.inx).fill_null(False), "inexact")

    @property
    def truthy(self):
        """Boolean: the value's JSON Logic truthiness (false on error rows)."""
        t = _expr(_truthy(self._v))
        if self._v.err is not False:
            t = t & ~_expr(self._v.err)
        return _column(t, "truthy")

    @property
    def value(self):
        """The value as one typed column (null on error rows). Numbers are Int64 when every one is an
        exact integer from an integer column or literal, else Float64 (non-finite -> null)."""
        v = self._v
        if v.items is not None or v.record or v.objs:
            raise NotCompilable("The result is a list or object; only its truthiness can be compiled.", self.path)
        kinds = [k for k in v.kinds() if k != "null"]
        if len(kinds) > 1:
            names = " or ".join(sorted(_KIND_NAMES[k] for k in kinds))
            raise NotCompilable(f"The result is a {names} depending on the row; a column has one type.", self.path)
        dtype = {"b": pl.Boolean, "s": pl.String, "n": pl.Int64 if v.n_int else pl.Float64}.get(
            kinds[0] if kinds else None, pl.Null
        )
        if not kinds:
            out = pl.lit(None)
        elif kinds[0] == "n":
            out = v.n if (v.n_int or v.n_finite) else pl.when(v.n.is_finite()).then(v.n)
        else:
            out = getattr(v, kinds[0])
        if v.err is not False:
            out = _when([(v.err, pl.lit(None, dtype=dtype))], out)
        return _column(out, "value")

    @property
    def tagged(self):
        """The value as a struct {kind, boolean, number, string, json} that holds any result,
        including a constant list per row; kind is 'error' on error rows."""
        v = self._v
        if v.items is not None or v.record:
            raise NotCompilable("The result is a list or record built from row values.", self.path)
        kind_cases = [(_expr(v.err), pl.lit("error"))] if v.err is not False else []
        for kind in v.kinds():
            if kind == "null":
                continue
            name = _KIND_NAMES[kind] if not isinstance(kind, tuple) else "json"
            kind_cases.append((_expr(_mask(v, kind)), pl.lit(name)))
        kind_expr = _when(kind_cases, pl.lit("null"))
        number = None
        if v.n is not None:
            number = v.n.cast(pl.Float64)
            if not v.n_finite and not v.n_int:
                number = pl.when(number.is_finite()).then(number)
        json_cases = [(_expr(_mask(v, ("o", key))), pl.lit(key)) for key, _, _ in v.objs]
        tagged = pl.struct(
            kind=kind_expr,
            boolean=v.b if v.b is not None else pl.lit(None, dtype=pl.Boolean),
            number=number if number is not None else pl.lit(None, dtype=pl.Float64),
            string=v.s if v.s is not None else pl.lit(None, dtype=pl.String),
            json=_when(json_cases, pl.lit(None, dtype=pl.String)),
        )
        return _column(tagged, "tagged")


def compile_logic(tree, schema, *, path="$"):
    """Compile `tree` for rows of `schema` ({column: polars dtype}). Raises NotCompilable."""
    compiler = _Compiler(schema)
    return Compiled(compiler.compile(tree, path), path)


def compile_expr(tree, schema):
    """The value of `tree` per row as one polars expression.

    Refuses (NotCompilable) when some row could raise in datalogic: use `compile_logic`, whose
    value is null there with `error` set. Rows that would be inexact are rare (a number past
    2**40 in arithmetic, ...), so instead of refusing, the expression raises polars'
    InvalidOperationError when it meets one, naming the reason: never a silently different value.
    """
    compiled = compile_logic(tree, schema)
    if compiled.may_error:
        raise NotCompilable("Some rows could raise an evaluation error; use compile_logic for the error flag.", "$")
    value = compiled.value
    if compiled.may_be_inexact:
        guard = _when([(compiled._v.inx, pl.lit(_INEXACT_MESSAGE))], pl.lit("0")).cast(pl.Int8, strict=True)
        value = pl.when(guard == 0).then(value).alias("value")
    return value


_INEXACT_MESSAGE = "a row needs the scalar path (see compile_logic(...).inexact)"


class RuleExpressions(tuple):
    """(eligible, amount) expressions, with `.error` and `.inexact` flag expressions.

    `eligible` is Boolean and `amount` Float64, both null on error rows. `error` is true where
    CompiledRule.decide raises EvaluationError (the eligibility raises; or, for an eligible row,
    the amount raises or is not a finite number): re-run one such row on the scalar path for its
    message. `inexact` rows must be decided by the scalar path. `may_error`/`may_be_inexact` say
    whether the flags can be true at all, so a caller can skip computing them.
    """

    def __new__(cls, eligible, amount, *, error, inexact, eligibility=None, amount_logic=None):
        self = super().__new__(cls, (eligible, amount))
        self.eligible, self.amount = eligible, amount
        self.may_error, self.may_be_inexact = error is not False, inexact is not False
        self.error = _column(_expr(error).fill_null(False), "error")
        self.inexact = _column(_expr(inexact).fill_null(False), "inexact")
        self.eligibility, self.amount_logic = eligibility, amount_logic
        return self


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def compile_rule(document, schema):
    """Compile a rule document's eligibility and amount, as CompiledRule.decide evaluates them."""
    max_payment = document.get("max_payment")
    if max_payment is not None:
        try:
            max_payment = float(max_payment)
        except (TypeError, ValueError):
            raise NotCompilable("max_payment is not a number.", "$.max_payment") from None
    compiler = _Compiler(schema)
    eligibility = None
    if "eligibility" in document:
        ev = compiler.truth(document["eligibility"], "$.eligibility")
        eligibility = Compiled(ev, "$.eligibility")
        eligible, e_err, e_inx = _truthy(ev), ev.err, ev.inx
    else:
        eligible, e_err, e_inx = True, False, False
    raw_amount = document.get("amount", document.get("max_payment", 0))
    if isinstance(raw_amount, str):
        # CompiledRule hands a bare string to datalogic-py's compile(), which reads it as JSON
        # text ("5000" -> 5000); JSON Logic says it is the text "5000", not a number. Rather than
        # answer differently, leave such a rule to the scalar path.
        raise NotCompilable("A text amount is read as JSON by the scalar path; it is not compiled.", "$.amount")
    amount_logic = None
    if _is_number(raw_amount):
        value, not_number, a_err, a_inx = pl.lit(float(raw_amount)), False, False, False
    else:
        av = compiler.compile(raw_amount, "$.amount")
        amount_logic = Compiled(av, "$.amount")
        if av.items is not None or av.record:
            not_number, value = True, pl.lit(0.0)
        elif av.n is None:
            not_number, value = True, pl.lit(0.0)
        else:
            value = av.n.cast(pl.Float64) if av.n_int else av.n
            not_number = _not(_mask(av, "n"))
            if not av.n_finite and not av.n_int:
                not_number = _or(not_number, ~value.is_finite())
        a_err, a_inx = av.err, av.inx
    # decide(): max(0.0, value), then min(value, max_payment)
    if max_payment is None:
        value = value.clip(lower_bound=0.0)
    elif max_payment >= 0:
        value = value.clip(0.0, max_payment)
    else:
        value = pl.lit(max_payment)
    error = _or(e_err, _and(eligible, _or(a_err, not_number)))
    inexact = _or(e_inx, _and(eligible, a_inx))
    eligible_expr = _expr(eligible)
    amount_expr = value if eligible is True else pl.when(eligible_expr).then(value).otherwise(pl.lit(0.0))
    if error is not False:
        eligible_expr = _when([(error, pl.lit(None, dtype=pl.Boolean))], eligible_expr)
        amount_expr = _when([(error, pl.lit(None, dtype=pl.Float64))], amount_expr)
    return RuleExpressions(
        _column(eligible_expr, "eligible"),
        _column(amount_expr.cast(pl.Float64), "amount"),
        error=error,
        inexact=inexact,
        eligibility=eligibility,
        amount_logic=amount_logic,
    )
