"""Simulation speed: the compiled column path against datalogic-py one citizen at a time.

    .venv/bin/python bench/simulation.py                # 100k, 1M and 10M rows
    .venv/bin/python bench/simulation.py --rows 1000000 # one size

For each population size and rule it prints one JSON line:
  rule, rows          which rule, how many rows
  compiled_s          load the Parquet file (only the columns needed) + evaluate + every figure the
                      simulation stores (totals, by county, histogram, against the live version,
                      overlap with another rule of the program, example citizens with traces)
  per_citizen_s       the same simulation with every rule (this one, the live version, the other
                      rule of the program) evaluated by datalogic-py, compiled once, one row at a
                      time; measured on a 50k-row sample and scaled to `rows`
  ratio               per_citizen_s / compiled_s
  peak_rss_mb         peak resident memory of the process that ran the compiled path

Populations are generated once (seed 2024) and kept as Parquet under --cache. Each measurement
runs in a fresh process so its peak memory is its own; the compiled time is the best of --repeat.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXAMPLE = json.loads((ROOT / "examples" / "wildfire-aid-2024.json").read_text())
# What is "live" for the diff: the same rule a year earlier, for adults of 21 and over.
EXAMPLE_LIVE = {**EXAMPLE, "eligibility": {"and": [{">=": [{"var": "age"}, 21]}, *EXAMPLE["eligibility"]["and"][1:]]}}
# A heavier rule: tiered amounts with `if` and arithmetic over six columns.
TIERED = json.loads((ROOT / "examples" / "wildfire-recovery-tiered.json").read_text())
TIERED_LIVE = {**TIERED, "max_payment": 6000}
# Another live rule of the same program, for the overlap figure.
OTHER = {
    "rule": "smoke-relief",
    "program": "disaster-relief",
    "eligibility": {">=": [{"var": "age"}, 65]},
    "amount": 300,
}
RULES = {"wildfire-aid-2024": (EXAMPLE, EXAMPLE_LIVE), "tiered": (TIERED, TIERED_LIVE)}
SAMPLE = 50_000


def population_file(rows, cache):
    from engine import population

    path = Path(cache) / f"population-{rows}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        population.generate(rows, seed=2024).write_parquet(tmp)
        tmp.replace(path)
    return path


def measure_compiled(path, name, repeat):
    from engine.simulation import OtherRule, load_population, needed_columns, simulate

    document, live = RULES[name]
    other = OtherRule("smoke-relief", 1, OTHER)
    available = load_population(path, columns=None).columns if str(path).endswith(".csv") else None
    if available is None:
        import polars as pl

        available = list(pl.read_parquet_schema(path))
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        frame = load_population(path, columns=needed_columns([document, live, OTHER], available))
        result, findings = simulate(document, frame, live=live, others=[other])
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    assert result is not None and result["evaluation"] == "compiled", findings
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"compiled_s": round(best, 4), "peak_rss_mb": round(peak_kb / 1024, 1), "cost": result["cost"]}


def measure_per_citizen(path, name, rows):
    """The same simulation, every rule evaluated by datalogic-py one citizen at a time."""
    import polars as pl

    from engine.simulation import OtherRule, simulate

    document, live = RULES[name]
    sample = pl.read_parquet(path, n_rows=min(SAMPLE, rows))
    start = time.perf_counter()
    result, findings = simulate(
        document, sample, live=live, others=[OtherRule("smoke-relief", 1, OTHER)], scalar_only=True
    )
    elapsed = time.perf_counter() - start
    assert result is not None and result["evaluation"] == "scalar", findings
    return {"per_citizen_s": round(elapsed * rows / sample.height, 4)}


def child(args):
    """One measurement in this process: print its JSON."""
    path = population_file(args.rows, args.cache)
    if args.child == "compiled":
        print(json.dumps(measure_compiled(path, args.rule, args.repeat)))
    else:
        print(json.dumps(measure_per_citizen(path, args.rule, args.rows)))


def run(kind, rule, rows, args):
    command = [sys.executable, __file__, "--child", kind, "--rule", rule, "--rows", str(rows), "--cache", args.cache]
    command += ["--repeat", str(args.repeat)]
    out = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "2")},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description="Simulation speed, compiled against per-citizen.")
    parser.add_argument("--rows", type=int, action="append", help="population size (repeatable)")
    parser.add_argument("--cache", default="/tmp/pdp-bench")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["compiled", "per_citizen"], help=argparse.SUPPRESS)
    parser.add_argument("--rule", choices=list(RULES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pdp_portal.settings")
    if args.child:
        args.rows = args.rows[0]
        child(args)
        return
    for rows in args.rows or [100_000, 1_000_000, 10_000_000]:
        population_file(rows, args.cache)
        for name in RULES:
            compiled = run("compiled", name, rows, args)
            scalar = run("per_citizen", name, rows, args)
            line = {
                "rule": name,
                "rows": rows,
                "compiled_s": compiled["compiled_s"],
                "per_citizen_s": scalar["per_citizen_s"],
                "ratio": round(scalar["per_citizen_s"] / compiled["compiled_s"], 1),
                "peak_rss_mb": compiled["peak_rss_mb"],
            }
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
