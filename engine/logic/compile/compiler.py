"""The compiler: reading the row, folding constant subtrees with datalogic, `if`, `and`/`or`,
`!`/`!!`, `var`, `missing`, and the dispatch to the operator groups."""

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeAlias

import polars as pl

from ..evaluate import ENGINE
from ..validate import MAX_DEPTH, MAX_NODES, SUBSET
from .choices import _select
from .comparison import ComparisonOps
from .numbers import ArithmeticOps
from .text import TextOps
from .values import (
    _NO,
    _V,
    EXACT,
    JSON,
    MAX_EXPR_BYTES,
    Cond,
    NotCompilable,
    _always_error,
    _and,
    _args,
    _bool_v,
    _child,
    _const,
    _expr_bytes,
    _not,
    _or,
    _truthy,
    _when_bool,
)

if TYPE_CHECKING:
    from polars._typing import PolarsDataType

# How a branch or operand is compiled: compile(node, path, depth) or truth(node, path, depth)
Branch: TypeAlias = Callable[[JSON, str, int], _V]


def _truth_of(v: _V, truth: Cond | None = None) -> _V:
    """A plain boolean _V with `v`'s errors: `truth` (by default `v`'s truthiness)."""
    return replace(_bool_v(_truthy(v) if truth is None else truth), err=v.err, inx=v.inx)


# --------------------------------------------------------------------------- the compiler


class _Compiler(ArithmeticOps, TextOps, ComparisonOps):
    """JSON Logic compiled for rows of one schema: `compile` gives a node's value, `truth` only its
    truthiness. The operators of numbers, text and comparison come from the classes it inherits."""

    def __init__(self, schema: Mapping[str, "PolarsDataType"]) -> None:
        self.schema = {name: dtype for name, dtype in dict(schema).items()}
        self.nodes = 0
        self._reads: dict[int, bool] = {}

    # -- structure
    def reads_data(self, node: JSON) -> bool:
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

    def count_node(self, path: str) -> None:
        """One more node of the logic; refuses beyond MAX_NODES."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NotCompilable(f"The logic has more than {MAX_NODES:,} nodes.", path)

    @staticmethod
    def check_depth(depth: int, path: str) -> None:
        """Refuses a node nested deeper than MAX_DEPTH."""
        if depth > MAX_DEPTH:
            raise NotCompilable(f"The logic is nested more than {MAX_DEPTH} levels deep.", path)

    def check_operators(self, node: JSON, path: str, depth: int) -> None:
        stack = [(node, path, depth)]
        while stack:
            item, where, level = stack.pop()
            self.count_node(where)
            self.check_depth(level, where)
            if isinstance(item, list):
                stack.extend((x, _child(where, i), level + 1) for i, x in enumerate(item))
            elif isinstance(item, dict):
                if len(item) > 1:
                    raise NotCompilable("An operation is an object with exactly one operator.", where)
                for op, args in item.items():
                    if op not in SUBSET:
                        raise NotCompilable(f"Operator {op!r} is not in the rule subset.", _child(where, op))
                    stack.append((args, _child(where, op), level + 1))

    def fold(self, node: JSON, path: str, data: dict[str, JSON] | None = None) -> _V:
        """A subtree that does not read the row, evaluated once by datalogic itself."""
        try:
            value = ENGINE.compile(json.dumps(node)).evaluate(data if data is not None else {})
        except Exception:  # datalogic raises for every row that evaluates this subtree
            return _always_error()
        return _const(value, path)

    def fold_op(self, op: str, values: Sequence[JSON], path: str) -> _V:
        """`op` over constant operands, evaluated by datalogic (operands passed as data)."""
        node = {op: [{"var": f"c{i}"} for i in range(len(values))]}
        return self.fold(node, path, {f"c{i}": value for i, value in enumerate(values)})

    def fold_constants(self, op: str, vs: Sequence[_V], path: str) -> _V | None:
        """`op` over operands `vs` folded by datalogic when all are constants, else None."""
        return self.fold_op(op, [v.const for v in vs], path) if self.all_const(vs) else None

    # -- dispatch
    def compile(self, node: JSON, path: str, depth: int = 1) -> _V:
        v = self._compile(node, path, depth)
        if _expr_bytes(v) > MAX_EXPR_BYTES:
            raise NotCompilable(
                "The logic nests choices so deeply that its column expression would be too large.", path
            )
        return v

    def _compile(self, node: JSON, path: str, depth: int) -> _V:
        self.check_depth(depth, path)
        if not self.reads_data(node):
            self.check_operators(node, path, depth)
            return self.fold(node, path)
        self.count_node(path)
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

    def truth(self, node: JSON, path: str, depth: int = 1) -> _V:
        """Only the truthiness of `node`, as a plain boolean _V (with the node's errors).

        `and`/`or`/`if`/`!`/`!!` whose values only feed a condition need not carry the deciding
        operand along: their truthiness combines the operands' truthiness directly.
        """
        op = next(iter(node)) if isinstance(node, dict) and len(node) == 1 else None
        if op not in ("and", "or", "if", "!", "!!") or not self.reads_data(node):
            return _truth_of(self.compile(node, path, depth))
        raw, where = node[op], _child(path, op)
        if op in ("!", "!!"):
            args = _args(raw)[:1]
            t = self.truth(args[0], _child(where, 0), depth + 1) if args else _const(False)
            return _truth_of(t, _truthy(t) if op == "!!" else _not(_truthy(t)))
        if not isinstance(raw, list) or (op == "if" and len(raw) < 2):
            return _truth_of(self.compile(node, path, depth))
        if op in ("and", "or"):
            if not raw:
                return _const(False)
            _, truths, errs, inxs = self.and_or_operands(op, raw, where, depth + 1, self.truth)
            result = _and(*truths) if op == "and" else _or(*truths)
            return replace(_bool_v(result), err=_or(*errs), inx=_or(*inxs))
        cases, default, errs, inxs = self.if_cases(raw, where, depth + 1, self.truth)
        truth_cases = [(t, _truthy(b)) for t, b in cases]
        result = _when_bool(truth_cases, _truthy(default) if default is not None else False)
        return replace(_bool_v(result), err=_or(*errs), inx=_or(*inxs))

    def operands(self, raw: JSON, path: str, depth: int, limit: int | None = None) -> list[_V]:
        args = _args(raw)
        if limit is not None:
            args = args[:limit]
        return [self.compile(arg, _child(path, i), depth) for i, arg in enumerate(args)]

    @staticmethod
    def all_const(vs: Iterable[_V]) -> bool:
        """Operands that are the same on every row and never raise: the engine can fold them."""
        return all(v.const is not _NO and v.err is False and v.inx is False for v in vs)

    # -- reading the row
    def read_column(self, name: str, path: str) -> _V:
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

    def op_var(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        args = _args(raw)
        name = args[0] if args else None
        if isinstance(name, (dict, list)):
            raise NotCompilable("A 'var' must name its variable as plain text, not compute it.", path)
        if name is None or name == "":
            return _V(record=True, null=False, n_bound=len(self.schema))
        if isinstance(name, bool):
            raise NotCompilable("A 'var' must name its variable as plain text.", path)
        # datalogic splits "1.5" as a path; a whole float names no flat key
        key = None if isinstance(name, float) else str(name)
        if key is not None and "." not in key and key in self.schema:
            return self.read_column(key, path)
        if len(args) >= 2:
            return self.compile(args[1], _child(path, 1), depth)
        return _const(None)

    def op_missing(self, op: str, raw: JSON, path: str, depth: int) -> _V:
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
    def if_cases(
        self, raw: list[JSON], path: str, depth: int, branch: Branch
    ) -> tuple[list[tuple[Cond, _V]], _V | None, list[Cond], list[Cond]]:
        """The operands of `if` [c1, a1, c2, a2, ..., else] in order: (cases, default, errors,
        inexacts), `cases` [(truthiness of c, value of a)] and `default` the value of the last
        branch that can be reached (None when no branch is). `branch(node, path, depth)` gives a
        branch's value. A condition false on every row skips its branch; one true on every row
        ends the walk. The errors of each operand count on the rows that reach it.
        """
        cases: list[tuple[Cond, _V]] = []
        errs: list[Cond] = []
        inxs: list[Cond] = []
        reached: Cond = True
        default: _V | None = None
        for i in range(0, len(raw) - 1, 2):
            cond = self.truth(raw[i], _child(path, i), depth)
            t = _truthy(cond)
            errs.append(_and(reached, cond.err))
            inxs.append(_and(reached, cond.inx))
            if t is not False:
                b = branch(raw[i + 1], _child(path, i + 1), depth)
                errs.append(_and(reached, t, b.err))
                inxs.append(_and(reached, t, b.inx))
                if t is True:
                    default, reached = b, False
                    break
                cases.append((t, b))
            reached = _and(reached, _not(t))
        if reached is not False and len(raw) % 2 == 1:
            default = branch(raw[-1], _child(path, len(raw) - 1), depth)
            errs.append(_and(reached, default.err))
            inxs.append(_and(reached, default.inx))
        return cases, default, errs, inxs

    def op_if(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        if not isinstance(raw, list):
            raise NotCompilable("'if' takes a list of operands.", path)
        if not raw:
            return _const(None)
        if len(raw) == 1:
            return self.compile(raw[0], _child(path, 0), depth)
        cases, default, errs, inxs = self.if_cases(raw, path, depth, self.compile)
        merged, merge_inx = _select(cases, default if default is not None else _const(None), path)
        return replace(
            merged,
            err=_or(*errs),
            inx=_or(*inxs, merge_inx),
        )

    def and_or_operands(
        self, op: str, raw: list[JSON], path: str, depth: int, operand: Branch
    ) -> tuple[list[_V], list[Cond], list[Cond], list[Cond]]:
        """The operands of `and`/`or` up to the one that decides on every row (the rest are not
        evaluated): (values, truthiness, errors, inexacts), each error counting on the rows that
        reach its operand. `operand(node, path, depth)` gives an operand's value."""
        vs: list[_V] = []
        truths: list[Cond] = []
        errs: list[Cond] = []
        inxs: list[Cond] = []
        reached: Cond = True
        for i, arg in enumerate(raw):
            v = operand(arg, _child(path, i), depth)
            t = _truthy(v)
            vs.append(v)
            truths.append(t)
            errs.append(_and(reached, v.err))
            inxs.append(_and(reached, v.inx))
            reached = _and(reached, t if op == "and" else _not(t))
            if reached is False:
                break
        return vs, truths, errs, inxs

    def op_and_or(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        if not isinstance(raw, list):
            raise NotCompilable(f"'{op}' takes a list of operands.", path)
        if not raw:
            return _const(None)
        is_and = op == "and"
        vs, truths, errs, inxs = self.and_or_operands(op, raw, path, depth, self.compile)
        err, inx = _or(*errs), _or(*inxs)
        if all(v.only("b") for v in vs):  # plain booleans: the deciding operand is the boolean result
            result = _and(*truths) if is_and else _or(*truths)
            return replace(_bool_v(result), err=err, inx=inx)
        cases = [((_not(t) if is_and else t), v) for t, v in zip(truths[:-1], vs[:-1], strict=True)]
        merged, merge_inx = _select(cases, vs[-1], path)
        return replace(merged, err=err, inx=_or(inx, merge_inx))

    def op_not(self, op: str, raw: JSON, path: str, depth: int) -> _V:
        args = _args(raw)[:1]
        v = self.truth(args[0], _child(path, 0), depth) if args else _const(None)
        t = _truthy(v)
        return _truth_of(v, _not(t) if op == "!" else t)
