"""Audit appends per second with concurrent writers, and what a flood of refusals does to them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pdp_bench .venv/bin/python bench/audit_append.py
    .venv/bin/python bench/audit_append.py            # SQLite in a temporary data folder
    [--writers 8] [--seconds 5] [--hammers 8] [--flood-rate 200]

Every append goes through `audit.services.record_event`, each in a transaction of its own, as a
service's does: on PostgreSQL an advisory lock serialises the appends, so each row links to the one
committed before it. In the same run, on the same database:

- `chain 1`: one writer appending, the serial rate;
- `chain N`: N writers at once (--writers, 8), the figure the issue asks for, and its ratio to 1;
- `plain N`: N writers inserting the same rows into a table of the same shape with no chain (no
  lock, no hash of the row before): the database's own ceiling here, and our ratio to it;
- `flood, counted`: N writers appending while --hammers threads repeat one refused page request,
  --flood-rate times a second in all, through `record_refusal` (what the portal does): appends/s of
  the writers, and how many events the flood wrote;
- `flood, uncounted`: the same flood, each refusal appended as an event of its own (what the portal
  did before refusals were counted): the writers' appends/s it leaves.

The flood is paced rather than flat out: both kinds then offer the same refusals, and the figure
compares what they cost the chain, not how much of this process's CPU a tight loop can take.

Prints one JSON line per scenario and a last line with the ratios; the chain is verified at the end
(exit status 1 if it is broken). On PostgreSQL the script creates a database `<name>_<random>` and
drops it at the end, even after a failure.
"""

import argparse
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import run_on_fresh_database  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8, help="concurrent appending threads")
    parser.add_argument("--hammers", type=int, default=8, help="threads repeating one refused request")
    parser.add_argument("--flood-rate", type=float, default=200.0, help="refused requests per second, in all")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each scenario")
    args = parser.parse_args()
    if args.writers < 1 or args.hammers < 1 or args.seconds <= 0 or args.flood_rate <= 0:
        parser.error("--writers and --hammers must be at least 1, --seconds and --flood-rate more than 0.")

    failed = run_on_fresh_database(parser, "pdp-bench-audit-", lambda database: run(args, database))
    sys.exit(1 if failed else 0)


def run_threads(work, threads, *, seconds=None, until=None, pace=0.0):
    """Run `work()` on `threads` threads started together, each at most once per `pace` seconds, for `seconds`
    or until the event `until` is set; return the loops done per thread. A failed write ends the run, raised."""
    from django.db import connection

    stop = until if until is not None else threading.Event()
    counts = [0] * threads
    errors = []
    start = threading.Barrier(threads + 1)

    def loop(index):
        try:
            start.wait()
            due = time.perf_counter() + pace * index / threads
            while not stop.is_set():
                time.sleep(max(0.0, due - time.perf_counter()))
                due += pace
                work()
                counts[index] += 1
        except Exception as exc:  # raised below, once every thread has stopped
            errors.append(exc)
            stop.set()
        finally:
            connection.close()

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    if seconds is not None:
        time.sleep(seconds)
        stop.set()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return counts


def run(args, database):
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    from audit.models import AuditEvent, RefusalTally
    from audit.services import record_event, record_refusal, verify_chain

    call_command("migrate", verbosity=0)
    writer = User.objects.create_user("bench-writer")
    hammer = User.objects.create_user("bench-hammer")
    data = {"rule": "bench-rule", "version": 3, "environment": "production", "reason": "bench"}

    def append():
        with transaction.atomic():
            record_event("bench.append", actor=writer, data=data)

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_plain (id integer PRIMARY KEY, actor_id integer, action varchar(64), "
            "data text, created_at varchar(40), hash varchar(64))"
            if connection.vendor == "sqlite"
            else "CREATE TABLE bench_plain (id bigserial PRIMARY KEY, actor_id integer, action varchar(64), "
            "data jsonb, created_at timestamptz, hash varchar(64))"
        )
    payload = json.dumps(data)

    def plain():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_plain (actor_id, action, data, created_at, hash) VALUES (%s, %s, %s, %s, %s)",
                [writer.pk, "bench.append", payload, time.strftime("%Y-%m-%dT%H:%M:%S"), "0" * 64],
            )

    def refuse():
        record_refusal(actor=hammer, method="GET", path="/rules/upload/", status=403, reason="bench")

    def refuse_uncounted():
        with transaction.atomic():
            record_event("portal.refused", actor=hammer, outcome="refused", data={"path": "/rules/upload/"})

    figures = {}

    def report(name, writers, counts, **extra):
        rate = sum(counts) / args.seconds
        figures[name] = rate
        line = {"scenario": name, "database": database, "writers": writers, "seconds": args.seconds}
        print(json.dumps({**line, "appends": sum(counts), "appends_per_s": round(rate, 1), **extra}), flush=True)

    report("chain 1", 1, run_threads(append, 1, seconds=args.seconds))
    report(f"chain {args.writers}", args.writers, run_threads(append, args.writers, seconds=args.seconds))
    report(f"plain {args.writers}", args.writers, run_threads(plain, args.writers, seconds=args.seconds), chain=False)

    for name, hammer_work in (("flood, counted", refuse), ("flood, uncounted", refuse_uncounted)):
        before = AuditEvent.objects.filter(actor=hammer).count()
        done = threading.Event()
        hammered = []
        # The hammers start first and stop when the writers' run ends.
        pace = args.hammers / args.flood_rate

        def flood_run(work=hammer_work, done=done, pace=pace, out=hammered):
            try:
                out.append(run_threads(work, args.hammers, until=done, pace=pace))
            except Exception as exc:  # raised in the main thread below
                out.append(exc)

        flood = threading.Thread(target=flood_run)
        began = time.perf_counter()
        flood.start()
        time.sleep(0.2)
        counts = run_threads(append, args.writers, seconds=args.seconds)
        done.set()
        flood.join()
        if isinstance(hammered[0], Exception):
            raise hammered[0]
        flooded_s = time.perf_counter() - began
        refusals = sum(hammered[0])
        written = AuditEvent.objects.filter(actor=hammer).count() - before
        report(
            name,
            args.writers,
            counts,
            hammers=args.hammers,
            refusals=refusals,
            refusals_per_s=round(refusals / flooded_s, 1),
            events_written_by_the_flood=written,
        )
        RefusalTally.objects.all().delete()

    count, problems = verify_chain()
    n = args.writers
    summary = {
        "database": database,
        "chain_n_over_1": round(figures[f"chain {n}"] / figures["chain 1"], 2),
        "chain_n_over_plain_n": round(figures[f"chain {n}"] / figures[f"plain {n}"], 2),
        "flood_counted_over_quiet": round(figures["flood, counted"] / figures[f"chain {n}"], 2),
        "flood_rate": args.flood_rate,
        "flood_uncounted_over_quiet": round(figures["flood, uncounted"] / figures[f"chain {n}"], 2),
        "events_verified": count,
        "chain_intact": not problems,
    }
    print(json.dumps(summary), flush=True)
    return bool(problems)


if __name__ == "__main__":
    main()
