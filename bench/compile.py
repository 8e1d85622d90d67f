"""Timing of the column compiler (not collected by pytest; prints figures).

    .venv/bin/python bench/compile.py [ROWS ...]

For each rule: compile time, then `frame.select(eligible, amount)` followed by the sums, and the
same with the sums (and the error/inexact checks) inside one select. Best of 5 runs.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from engine.logic.compile import compile_rule
from engine.population import generate
from tests.engine.logic.rules_for_tests import TIERED, WILDFIRE


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench(frame, name, document):
    compile_s, columns = best(lambda: compile_rule(document, frame.schema))
    eligible, amount = columns

    def select_then_sum():
        out = frame.select(eligible, amount, frame["weight"])
        w = out["weight"]
        return out["eligible"].sum(), (w * out["eligible"]).sum(), (w * out["amount"]).sum()

    def one_select():
        checks = [columns.error.any(), columns.inexact.any()]
        return frame.select(
            eligible.sum().alias("rows"),
            (pl.col("weight") * eligible).sum().alias("recipients"),
            (pl.col("weight") * amount).sum().alias("cost"),
            *[c.alias(f"check{i}") for i, c in enumerate(checks)],
        ).row(0)

    def lazy_select():
        lazy = frame.lazy().select(
            eligible.sum().alias("rows"),
            (pl.col("weight") * eligible).sum().alias("recipients"),
            (pl.col("weight") * amount).sum().alias("cost"),
            columns.error.any(),
            columns.inexact.any(),
        )
        return lazy.collect().row(0)

    t1, (rows, recipients, cost) = best(select_then_sum)
    t2, row = best(one_select)
    t3, _ = best(lazy_select)
    print(
        f"{name:9} {frame.height:>10,} rows: compile {compile_s * 1000:4.1f} ms | select(eligible, amount)+sums "
        f"{t1 * 1000:6.1f} ms | one eager select with sums and error/inexact checks {t2 * 1000:6.1f} ms | "
        f"same, lazy (CSE) {t3 * 1000:6.1f} ms || eligible={rows:,} recipients={recipients:,.0f} "
        f"cost=${cost:,.2f} error={row[3]} inexact={row[4]}"
    )


def main(sizes):
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}")
    for rows in sizes:
        start = time.perf_counter()
        frame = generate(rows=rows, seed=2024)
        print(f"generated {rows:,} rows in {time.perf_counter() - start:.2f} s")
        for name, document in (("wildfire", WILDFIRE), ("tiered", TIERED)):
            bench(frame, name, document)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", type=int, help="population sizes (default: 1,000,000 and 10,000,000)")
    main(parser.parse_args().rows or [1_000_000, 10_000_000])
