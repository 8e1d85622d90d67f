"""Merging per-row choices: `if`, `and` and `or` choose between values row by row, and `_select`
merges the chosen values into one `_V`."""

from collections.abc import Callable, Sequence
from dataclasses import replace

import polars as pl

from .numbers import _f64, _Num
from .values import _T, _V, JSON, Cond, NotCompilable, _and, _live_cases, _mask, _not, _or, _when, _when_bool


def _select(cases: Sequence[tuple[Cond, _V]], default: _V, path: str) -> tuple[_V, Cond]:
    """First-match choice between values: [(cond, _V)], default _V -> (_V, inexact of the merge).

    Only the values are merged; the caller accounts for errors of what was evaluated.
    """
    live, default = _live_cases(cases, default)
    if not live:
        return replace(default, err=False, inx=False), False
    every = [v for _, v in live] + [default]
    for v in every:
        if v.items is not None or v.record:
            raise NotCompilable("A list or record chosen per row cannot be used as a value.", path)
    conds = [c for c, _ in live]

    def choose(parts: list[_T], when: Callable[[list[tuple[Cond, _T]], _T], _T]) -> _T:
        """One part per value in `every`, chosen per row by the conditions."""
        return when(list(zip(conds, parts[:-1], strict=True)), parts[-1])

    null_of = {"b": pl.Boolean, "s": pl.String}
    fields: dict[str, pl.Expr] = {}
    n_float: Cond = False
    for kind in ("b", "s"):
        if any(getattr(v, kind) is not None for v in every):
            parts: list[pl.Expr] = [
                getattr(v, kind) if getattr(v, kind) is not None else pl.lit(None, dtype=null_of[kind]) for v in every
            ]
            fields[kind] = choose(parts, _when)
    merge_inexact: Cond = False
    with_n = [v for v in every if v.n is not None]
    n_int = bool(with_n) and all(v.n_int for v in with_n)
    if with_n:
        parts = []
        floats: list[Cond] = []
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
        fields["n"] = choose(parts, _when)
        n_float = choose(floats, _when_bool)
    objs: dict[str, JSON] = {}
    for v in every:
        for key, value, _ in v.objs:
            objs.setdefault(key, value)
    merged_objs = []
    for key, value in objs.items():
        parts = []
        for v in every:
            found = [p for k, _, p in v.objs if k == key]
            parts.append(found[0] if found else pl.lit(None, dtype=pl.Boolean))
        merged_objs.append((key, value, choose(parts, _when)))
    merged = _V(
        b=fields.get("b"),
        n=fields.get("n"),
        s=fields.get("s"),
        objs=tuple(merged_objs),
        null=any(v.null for v in every),
        n_int=n_int,
        n_float=n_float,
        n_finite=all(v.n_finite for v in with_n),
        n_bound=max((v.n_bound for v in with_n), default=0.0),
    )
    return merged, merge_inexact
