"""JSON Logic compiled to polars column expressions, evaluating exactly as the scalar path does.

The scalar path (engine/logic/evaluate.py) evaluates one citizen at a time with datalogic-py. This
package turns the same tree into native polars expressions (no Python per row), so a population of
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
  past +-2**40 entering arithmetic (numbers.ARITH_LIMIT), an integer past 2**53 compared with a float,
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

Modules
    values.py      the compiled value `_V` (typed variants per row), constants, truthiness, and
                   the boolean algebra over static-or-Expr conditions
    numbers.py     reading a value as a number, exact numeric comparison; + - * / % min max
    text.py        values as `cat` writes them; `cat` and `in`
    comparison.py  loose, strict and order comparison; == === != !== < <= > >=
    choices.py     merging the values that `if`/`and`/`or` choose per row
    compiler.py    the compiler: reading the row, folding constants, if/and/or/!/!!/var/missing,
                   and the dispatch to the operator groups it inherits

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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import polars as pl

from ..evaluate import is_number
from .compiler import _Compiler
from .values import _V, JSON, Cond, NotCompilable, _and, _expr, _mask, _not, _or, _truthy, _when

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

__all__ = ["NotCompilable", "Compiled", "RuleExpressions", "compile_logic", "compile_expr", "compile_rule"]

_KIND_NAMES = {"b": "boolean", "n": "number", "s": "string", "null": "null"}


def _column(expr: pl.Expr, name: str) -> pl.Expr:
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
    def kinds(self) -> frozenset[str]:
        """The JSON types the value may take: 'null', 'boolean', 'number', 'string', 'array', 'object'."""
        out: set[str] = set()
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
    def may_error(self) -> bool:
        return self._v.err is not False

    @property
    def may_be_inexact(self) -> bool:
        return self._v.inx is not False

    @property
    def error(self) -> pl.Expr:
        """Boolean: true where datalogic raises an error for the row."""
        return _column(_expr(self._v.err).fill_null(False), "error")

    @property
    def inexact(self) -> pl.Expr:
        """Boolean: true where the columns cannot reproduce the engine exactly; ask the scalar path."""
        return _column(_expr(self._v.inx).fill_null(False), "inexact")

    @property
    def truthy(self) -> pl.Expr:
        """Boolean: the value's JSON Logic truthiness (false on error rows)."""
        t = _expr(_truthy(self._v))
        if self._v.err is not False:
            t = t & ~_expr(self._v.err)
        return _column(t, "truthy")

    @property
    def value(self) -> pl.Expr:
        """The value as one typed column (null on error rows). Numbers are Int64 when every one is an
        exact integer from an integer column or literal, else Float64 (non-finite -> null)."""
        v = self._v
        if v.items is not None or v.record or v.objs:
            raise NotCompilable("The result is a list or object; only its truthiness can be compiled.", self.path)
        kinds = [k for k in v.kinds() if isinstance(k, str) and k != "null"]  # no ("o", key): objs is empty
        if len(kinds) > 1:
            names = " or ".join(sorted(_KIND_NAMES[k] for k in kinds))
            raise NotCompilable(f"The result is a {names} depending on the row; a column has one type.", self.path)
        dtypes: dict[str, PolarsDataType] = {"b": pl.Boolean, "s": pl.String, "n": pl.Int64 if v.n_int else pl.Float64}
        dtype = dtypes[kinds[0]] if kinds else pl.Null
        if not kinds:
            out = pl.lit(None)
        elif kinds[0] == "n":
            assert v.n is not None
            out = v.n if (v.n_int or v.n_finite) else pl.when(v.n.is_finite()).then(v.n)
        else:
            out = getattr(v, kinds[0])
        if v.err is not False:
            out = _when([(v.err, pl.lit(None, dtype=dtype))], out)
        return _column(out, "value")

    @property
    def tagged(self) -> pl.Expr:
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
        fields = {
            "kind": kind_expr,
            "boolean": v.b if v.b is not None else pl.lit(None, dtype=pl.Boolean),
            "number": number if number is not None else pl.lit(None, dtype=pl.Float64),
            "string": v.s if v.s is not None else pl.lit(None, dtype=pl.String),
            "json": _when(json_cases, pl.lit(None, dtype=pl.String)),
        }
        if not all(field.meta.is_scalar() for field in fields.values()):
            # A literal field (the kind, when it is one constant) can leave polars' struct one row
            # long on some frames: when any field reads the rows, every field is made full length.
            fields = {name: _column(field, name) for name, field in fields.items()}
        return _column(pl.struct([field.alias(name) for name, field in fields.items()]), "tagged")


def compile_logic(tree: JSON, schema: Mapping[str, "PolarsDataType"], *, path: str = "$") -> Compiled:
    """Compile `tree` for rows of `schema` ({column: polars dtype}). Raises NotCompilable."""
    compiler = _Compiler(schema)
    return Compiled(compiler.compile(tree, path), path)


def compile_expr(tree: JSON, schema: Mapping[str, "PolarsDataType"]) -> pl.Expr:
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


class RuleExpressions(tuple[pl.Expr, pl.Expr]):
    """(eligible, amount) expressions, with `.error` and `.inexact` flag expressions.

    `eligible` is Boolean and `amount` Float64, both null on error rows. `error` is true where
    CompiledRule.decide raises EvaluationError (the eligibility raises; or, for an eligible row,
    the amount raises or is not a finite number): re-run one such row on the scalar path for its
    message. `inexact` rows must be decided by the scalar path. `may_error`/`may_be_inexact` say
    whether the flags can be true at all, so a caller can skip computing them.
    """

    eligible: pl.Expr
    amount: pl.Expr
    may_error: bool
    may_be_inexact: bool
    error: pl.Expr
    inexact: pl.Expr
    eligibility: Compiled | None
    amount_logic: Compiled | None

    def __new__(
        cls,
        eligible: pl.Expr,
        amount: pl.Expr,
        *,
        error: Cond,
        inexact: Cond,
        eligibility: Compiled | None = None,
        amount_logic: Compiled | None = None,
    ) -> Self:
        self = super().__new__(cls, (eligible, amount))
        self.eligible, self.amount = eligible, amount
        self.may_error, self.may_be_inexact = error is not False, inexact is not False
        self.error = _column(_expr(error).fill_null(False), "error")
        self.inexact = _column(_expr(inexact).fill_null(False), "inexact")
        self.eligibility, self.amount_logic = eligibility, amount_logic
        return self


def compile_rule(document: dict[str, JSON], schema: Mapping[str, "PolarsDataType"]) -> RuleExpressions:
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
    value: pl.Expr
    not_number: Cond
    a_err: Cond
    a_inx: Cond
    if is_number(raw_amount):
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
