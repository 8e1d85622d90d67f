"""The simulation check at scale on real Celery workers: 1 worker process against 2, on PostgreSQL and a real broker.

    .venv/bin/python bench/scale.py                                  # 10M and 50M rows (RabbitMQ at 10M only)
    .venv/bin/python bench/scale.py --rows 10000000                  # 10M rows, Redis and RabbitMQ, 1 and 2 workers
    .venv/bin/python bench/scale.py --rows 1000000 --brokers redis   # the harness itself, in well under a minute
    .venv/bin/python bench/scale.py --rows 1000000 --partition-rows 250000   # the same, in 4 partitions

Needs PostgreSQL, and Redis and RabbitMQ for the brokers named. Each size's population is generated once
(write_parquet of engine.population, seed 2024) into --data-dir/populations, named after the source of
engine/population.py (a change to how populations are written makes a new file), and registered as the default
Dataset directly (not through the upload checks, which cap the size). A fresh PostgreSQL database is made on the server --database-url names, and
the jobs go to a queue of their own (PDP_QUEUE=pdp-scale-<random>); both are removed at the end, and so is the data
folder unless --keep-data (keep it to reuse the populations). A run killed outright leaves workers, a database and a
queue behind: the next run with the same --data-dir kills and removes them first.

For each size, first the single process: engine.simulation.simulate(document, frame) in a fresh subprocess over the
same file, loading only the needed columns as the check does. Then for each broker (RabbitMQ only up to
--rabbitmq-max-rows) and each worker count: that many `celery -A pdp_portal worker` processes are started (each
`--pool solo` unless --pool prefork, its own `-n name@%h`, --without-gossip --without-mingle, no beat), the example
rule wildfire-aid-2024 is pushed through rules.services.push_rule_version in another process (as the web would),
its lint check runs on the workers, then its simulation check, which is the one measured. The workers are stopped
after each measurement (and on Ctrl-C, SIGTERM or an error). --partition-rows sets the workers' PDP_PARTITION_ROWS.

One JSON line per measurement:
  rows, broker, workers   the population size, the broker, the worker processes
  partitions              the check result's "partitions" (1 when the simulation was not split)
  wall_s                  from the simulation check's queued_at (set when lint finished and enqueued it) to its
                          finished_at (set by the task that finishes it, in the transaction that commits it)
  seen_s                  from queued_at to this script seeing the check finished, polling its status every 50 ms
  queue_wait_s            queued_at to started_at
  check_duration_s        the check's own duration_s
  after_finish_s          its finished_at to this script seeing it (the closing transaction, the poll)
  speedup_vs_1_worker     wall_s of 1 worker / wall_s of this line, same size and broker, same run
  wall_of_single          wall_s / the single process's wall_s: with 1 worker, what the queue, the database and the
                          split cost over simulate() alone; duration_of_single, the same with check_duration_s
  worker_peak_rss_mb      VmHWM of each worker's task process, read before it is stopped. With --pool solo (the
                          default) that is the worker itself: tasks run in it, so the figure is the worker's whole
                          peak, counted once. With prefork it is the pool child, whose figure counts what it shares
                          copy-on-write with its parent and leaves the parent out: neither it nor a sum is a footprint
  worker_start_rss_mb     each worker's resident memory once it answers a ping: Django and Celery, before any task
  max_worker_rss_of_single  the largest worker peak / the single process's peak
  worker_tasks            the tasks each worker ran (django-celery-results), so an idle worker's figure is told apart
The line before a size's measurements gives the single process's wall_s (load + simulate), peak_rss_mb and figures,
the file's size, and the time and peak memory of generating it (when it was). Each check's rows, cost, recipients
and eligible_rows must equal the single process's exactly: a line per size says so; a difference stops the run with
exit status 1. The last line gathers the speed-ups.
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import fresh_postgres  # noqa: E402

EXAMPLE = ROOT / "examples" / "wildfire-aid-2024.json"
RULE = "PDP_SCALE_RULE"  # the child processes' variable naming --rule
SEED = 2024
FIGURES = ("cost", "recipients", "eligible_rows")
BROKERS = {"redis": "redis://127.0.0.1:6379/14", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}
POLL_S = 0.05
MARKER = ".pdp-scale"  # in a data folder this script made; it removes no other
STRAYS = "workers.pgid"  # process groups of the workers started, until they are stopped
DATABASE = "database.url"  # the database made, until it is dropped
QUEUE = "queue.json"  # the queue and the brokers it is on, until it is removed from them


class Disagreement(Exception):
    """The check's figures are not the single process's."""


# ---------------------------------------------------------------------------------------------
# Processes of this machine


def proc_status(pid, field):
    """A /proc/<pid>/status field (pid or "self") in MB: VmHWM, VmRSS; None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def processes():
    """(pid, parent pid, process group) of every process."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(stat.parent.name), int(fields[1]), int(fields[2])


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def kill_strays(data_dir):
    """Kill the workers an interrupted run left behind: the process groups it recorded, if they still run celery."""
    record = data_dir / STRAYS
    groups = {int(g) for g in record.read_text().split()} if record.exists() else set()
    killed = 0
    for pid, _, group in list(processes()):
        if group in groups and "celery" in cmdline(pid) and "scale-" in cmdline(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    record.write_text("")
    if killed:
        print(f"killed {killed} worker process(es) left by an earlier run", file=sys.stderr)


def drop_stray_database(data_dir):
    """Drop the database an interrupted run (killed outright) left behind, as it recorded it."""
    record = data_dir / DATABASE
    if not record.exists():
        return
    import environ
    import psycopg

    config = environ.Env.db_url_config(record.read_text().strip())
    server = {"host": config["HOST"], "port": config["PORT"] or 5432, "user": config["USER"]}
    with psycopg.connect(dbname="postgres", autocommit=True, password=config["PASSWORD"] or None, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')
    record.unlink()
    print(f"dropped the database {config['NAME']} left by an earlier run", file=sys.stderr)


def remove_queue(data_dir):
    """Delete the recorded queue, and its exchange, from each broker it was used on (best effort: the figures are
    printed, and a queue left over is not worth a traceback)."""
    from celery import Celery
    from kombu import Exchange, Queue

    record = data_dir / QUEUE
    if not record.exists():
        return
    used = json.loads(record.read_text())
    name = used["queue"]
    for url in used["brokers"]:
        probe = Celery("pdp-scale-probe", broker=url, set_as_current=False)
        try:
            with probe.connection_for_write() as connection:
                connection.ensure_connection(max_retries=2)
                # Declared as Celery declares it, so that Redis also drops the binding kombu keeps for it.
                queue = Queue(name, Exchange(name), routing_key=name)(connection.default_channel)
                queue.declare()
                queue.delete()
                queue.exchange.delete()
        except Exception as error:
            print(f"could not remove the queue {name} from {url}: {error}", file=sys.stderr)
        finally:
            probe.close()
    record.unlink()


# ---------------------------------------------------------------------------------------------
# The child processes: generate a population, simulate it in one process, push a version


def child_generate(args):
    """Write the population of --rows rows to --population, and its description beside it."""
    import polars as pl

    from engine import parquet_layout, population
    from engine.datasets import type_label

    path = Path(args.population)
    tmp = path.with_suffix(".tmp")
    started = time.perf_counter()
    population.write_parquet(tmp, rows=args.rows[0], seed=SEED)
    columns = {name: type_label(dtype) for name, dtype in pl.read_parquet_schema(tmp).items()}
    rows = pl.scan_parquet(tmp).select(pl.len()).collect().item()
    sha256, layout = parquet_layout.measure(tmp)
    meta = {"rows": rows, "sha256": sha256, "layout": layout, "size_bytes": tmp.stat().st_size, "columns": columns}
    meta.update(generated_s=round(time.perf_counter() - started, 1), generated_peak_rss_mb=proc_status("self", "VmHWM"))
    tmp.replace(path)
    path.with_suffix(".json").write_text(json.dumps(meta))


def child_single(args):
    """The simulation in this one process, as the check loads and simulates: print its time, memory and figures."""
    import polars as pl

    from engine.simulation import load_population, needed_columns, simulate

    document = json.loads(Path(os.environ.get(RULE, EXAMPLE)).read_text())
    path = Path(args.population)
    started = time.perf_counter()
    frame = load_population(path, columns=needed_columns([document], list(pl.read_parquet_schema(path))))
    loaded = time.perf_counter()
    result, findings = simulate(document, frame)
    done = time.perf_counter()
    if result is None:
        raise SystemExit(f"the single-process simulation failed: {findings}")
    line = {"wall_s": round(done - started, 3), "load_s": round(loaded - started, 3)}
    line.update(simulate_s=round(done - loaded, 3), peak_rss_mb=proc_status("self", "VmHWM"))
    print(json.dumps({**line, **{k: result[k] for k in ("rows", *FIGURES)}}))


def child_push(args):
    """Push the example rule, titled --title, as the drafter (the web process's part): print the version's id."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connections

    from pdp_portal.celery import app
    from rules.services import push_rule_version

    document = dict(json.loads(Path(os.environ.get(RULE, EXAMPLE)).read_text()), title=args.title)
    version = push_rule_version(json.dumps(document).encode(), actor=User.objects.get(username="drafter"))
    app.close()  # the lint job is published on commit; close the broker connection cleanly before exiting
    connections.close_all()
    print(json.dumps({"version": version.pk}), flush=True)
    # Without the interpreter's teardown: unloading Django and the portal's modules takes about 0.35 s of
    # CPU, just as the workers take up the lint and the measured check, which a web process, the part this
    # one plays, never spends.
    os._exit(0)


def child(kind, env, *options):
    """Run this script as a child of `kind` in `env`; its last line of output, read as JSON (None if empty)."""
    command = [sys.executable, __file__, "--child", kind, *map(str, options)]
    out = subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(command)} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


# ---------------------------------------------------------------------------------------------
# The bench


class Bench:
    def __init__(self, args, data_dir, database):
        self.args = args
        self.data_dir = data_dir
        self.database = database
        self.logs = data_dir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.token = secrets.token_hex(3)
        self.queue = f"pdp-scale-{self.token}"  # no other portal on the broker takes or sees these jobs
        self.workers = []  # (node, Popen) still running
        self.runs = 0

    # -- populations

    def population(self, rows):
        """The population file of `rows` rows (generated on first use in a child process) and its description."""
        source = hashlib.sha256((ROOT / "engine" / "population.py").read_bytes()).hexdigest()[:12]
        relative = f"populations/scale-{rows}-seed{SEED}-{source}.parquet"
        path = self.data_dir / relative
        meta_path = path.with_suffix(".json")
        cached = path.exists() and meta_path.exists()
        if not cached:
            path.parent.mkdir(parents=True, exist_ok=True)
            print(f"generating {rows:,} rows into {path} ...", file=sys.stderr, flush=True)
            child("generate", self.env(), "--rows", rows, "--population", path)
        meta = json.loads(meta_path.read_text())
        if "layout" not in meta:  # described by an earlier version of this script
            from engine import parquet_layout

            meta["sha256"], meta["layout"] = parquet_layout.measure(path)
            meta_path.write_text(json.dumps(meta))
        meta.update(path=relative, file=str(path), cached=cached)
        return meta

    def make_default(self, meta):
        """Register the population as the default Dataset, directly (the upload checks cap the size)."""
        from django.db import transaction

        from budget.models import Dataset

        with transaction.atomic():
            Dataset.objects.filter(is_default=True).update(is_default=False)
            Dataset.objects.update_or_create(
                path=meta["path"],
                defaults={
                    "name": f"Scale population ({meta['rows']:,} rows, seed {SEED})",
                    "format": Dataset.Format.PARQUET,
                    "row_count": meta["rows"],
                    "sha256": meta["sha256"],
                    "stored_sha256": meta["sha256"],  # the file's own hash,
                    "stored_layout": meta["layout"],  # and those of its parts, which each partition checks
                    "size_bytes": meta["size_bytes"],
                    "columns": meta["columns"],
                    "is_default": True,
                },
            )

    # -- workers

    def env(self, broker=None):
        """The environment of a worker or of the pushing process: the bench's database, data folder and queue."""
        env = {k: v for k, v in os.environ.items() if k not in ("CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL")}
        env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="INFO", PDP_QUEUE=self.queue)
        env[RULE] = str(Path(self.args.rule).resolve())
        if broker:
            env["CELERY_BROKER_URL"] = self.broker_url(broker)
        if self.args.partition_rows:
            env["PDP_PARTITION_ROWS"] = str(self.args.partition_rows)
        if self.args.polars_threads:
            env["POLARS_MAX_THREADS"] = str(self.args.polars_threads)
        return env

    def broker_url(self, broker):
        return self.args.redis_url if broker == "redis" else self.args.rabbitmq_url

    def probe(self, broker):
        """A bare Celery app on the broker, for pinging the workers and removing the queue."""
        from celery import Celery

        return Celery("pdp-scale-probe", broker=self.broker_url(broker), set_as_current=False)

    def start_workers(self, count, broker, label):
        record = self.data_dir / QUEUE
        used = json.loads(record.read_text()) if record.exists() else {"queue": self.queue, "brokers": []}
        used["brokers"] = sorted({*used["brokers"], self.broker_url(broker)})
        record.write_text(json.dumps(used))
        env = self.env(broker)
        pool = ["--pool", self.args.pool, "--concurrency", "1"]
        for index in range(1, count + 1):
            node = f"scale-{self.token}-{label}-{index}"
            command = [sys.executable, "-m", "celery", "-A", "pdp_portal", "worker", "-n", f"{node}@%h", *pool]
            command += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
            with open(self.logs / f"{node}.log", "w") as log:
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopped as one, and out of reach of Ctrl-C
                )
            self.workers.append((node, process))
            with open(self.data_dir / STRAYS, "a") as record:
                record.write(f"{process.pid}\n")
        self.wait_ready(broker)

    def wait_ready(self, broker, timeout=120):
        probe = self.probe(broker)
        waiting = {node for node, _ in self.workers}
        deadline = time.monotonic() + timeout
        try:
            while waiting:
                self.check_alive()
                if time.monotonic() > deadline:
                    raise SystemExit(f"workers {sorted(waiting)} did not answer a ping within {timeout} s")
                for reply in probe.control.ping(timeout=0.5) or []:
                    waiting -= {name.split("@")[0] for name in reply}
        finally:
            probe.close()

    def check_alive(self):
        for node, process in self.workers:
            if process.poll() is not None:
                tail = (self.logs / f"{node}.log").read_text()[-3000:]
                raise SystemExit(f"worker {node} stopped (exit {process.returncode}); the end of its log:\n{tail}")

    def task_processes(self, process):
        """The processes that run a worker's tasks: the worker itself (solo), or its pool children (prefork)."""
        if self.args.pool == "solo":
            return [process.pid]
        return sorted(pid for pid, parent, _ in processes() if parent == process.pid)

    def stop_workers(self):
        """Warm shutdown (SIGTERM), then SIGKILL to whatever of their process groups is left."""
        for _, process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for _, process in self.workers:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        groups = {process.pid for _, process in self.workers}
        for pid, _, group in list(processes()):
            if group in groups:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _, process in self.workers:
            process.wait()
        self.workers = []
        (self.data_dir / STRAYS).write_text("")

    # -- one measurement

    def wait_check(self, version_id, kind, timeout):
        """Poll until the version's check of `kind` is finished: (check, the time.time() it was seen finished).

        Each poll reads the status alone: on two cores, a heavier or more frequent query would take time
        from the workers measured, more with two workers than with one."""
        from checks.models import CheckRun

        ended = (CheckRun.Status.PASSED, CheckRun.Status.FAILED, CheckRun.Status.CANCELLED)
        mine = CheckRun.objects.filter(version_id=version_id, kind=kind)
        deadline = time.monotonic() + timeout
        told = time.monotonic()
        while True:
            if mine.filter(status__in=ended).values_list("pk", flat=True).first() is not None:
                return mine.first(), time.time()
            self.check_alive()
            if time.monotonic() > deadline or time.monotonic() - told > 30:
                check = mine.first()
                state = f"{check.status} {check.progress}% {check.progress_note}" if check else "not created"
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"the {kind} check of version {version_id} did not finish in {timeout} s ({state})"
                    )
                print(f"  {kind}: {state}", file=sys.stderr, flush=True)
                told = time.monotonic()
            time.sleep(POLL_S)

    def measure(self, rows, broker, count):
        from django_celery_results.models import TaskResult

        from checks.models import CheckRun

        self.runs += 1
        label = f"{broker}-{count}w-{self.runs}"
        self.start_workers(count, broker, label)
        try:
            started_rss = [proc_status(p.pid, "VmRSS") for _, p in self.workers]
            if self.args.warm_up:
                # One simulation first, unmeasured: each worker has then hashed the population file once and
                # loaded what its first tasks load, as a worker that has been running a while has.
                warm = child("push", self.env(broker), "--title", f"Warm-up {self.runs}: {rows:,} rows")["version"]
                for kind in (CheckRun.Kind.LINT, CheckRun.Kind.SIMULATION):
                    self.wait_check(warm, kind, self.args.timeout)
            title = f"Wildfire Relief Payment 2024 (scale run {self.runs}: {rows:,} rows, {broker}, {count} workers)"
            version = child("push", self.env(broker), "--title", title)["version"]
            lint, _ = self.wait_check(version, CheckRun.Kind.LINT, self.args.timeout)
            if lint.status != CheckRun.Status.PASSED:
                raise SystemExit(f"the lint check {lint.status}: {lint.findings}")
            check, seen = self.wait_check(version, CheckRun.Kind.SIMULATION, self.args.timeout)
            peaks = []
            for _, process in self.workers:
                figures = [proc_status(pid, "VmHWM") for pid in self.task_processes(process)]
                peaks.append(max((f for f in figures if f is not None), default=None))
        finally:
            nodes = [node for node, _ in self.workers]
            self.stop_workers()
        if check.status != CheckRun.Status.PASSED:
            raise SystemExit(f"the simulation check {check.status}: {json.dumps(check.findings)[:3000]}")
        tasks = []
        for node in nodes:
            names = TaskResult.objects.filter(worker__startswith=f"{node}@").values_list("task_name", flat=True)
            tasks.append(dict(Counter((name or "?").rsplit(".", 1)[-1] for name in names)))
        return {
            "rows": rows,
            "broker": broker,
            "workers": count,
            "warm": self.args.warm_up,
            "partitions": check.result.get("partitions") or 1,
            "wall_s": round(check.finished_at.timestamp() - check.queued_at.timestamp(), 3),
            "seen_s": round(seen - check.queued_at.timestamp(), 3),
            "queue_wait_s": round(check.started_at.timestamp() - check.queued_at.timestamp(), 3),
            "check_duration_s": check.duration_s,
            "after_finish_s": round(seen - check.finished_at.timestamp(), 3),
            "worker_peak_rss_mb": peaks,
            "worker_start_rss_mb": started_rss,
            "worker_tasks": tasks,
            "result": {k: check.result.get(k) for k in ("rows", *FIGURES)},
            "check": check.pk,
        }

    # -- one size

    def size(self, rows, meta):
        single = child("single", self.env(), "--population", meta["file"])
        line = {"rows": rows, "single_process": single, "file_mb": round(meta["size_bytes"] / 2**20, 1)}
        if meta["cached"]:
            line["generated"] = "by an earlier run"
        else:
            line.update({k: meta[k] for k in ("generated_s", "generated_peak_rss_mb")})
        print(json.dumps(line), flush=True)
        self.make_default(meta)
        speedups = {}
        for broker in self.args.brokers:
            if broker == "rabbitmq" and rows > self.args.rabbitmq_max_rows:
                continue
            alone = None
            for count in self.args.workers:
                line = self.measure(rows, broker, count)
                result = line.pop("result")
                alone = line["wall_s"] if count == 1 else alone
                line.update(ratios(line, single, alone))
                if "speedup_vs_1_worker" in line:
                    speedups[f"{rows}/{broker}/{count}"] = line["speedup_vs_1_worker"]
                print(json.dumps(line), flush=True)
                differ = {k: (result[k], single[k]) for k in ("rows", *FIGURES) if result[k] != single[k]}
                if differ:
                    raise Disagreement(
                        f"{rows:,} rows, {broker}, {count} workers: the check's figures differ from the single "
                        f"process's, as (check, single process): {differ}"
                    )
        agreed = {"rows": rows, "figures_agree": True, **{k: single[k] for k in FIGURES}}
        print(json.dumps({**agreed, "with": "every check above and the single process"}), flush=True)
        return speedups


def ratios(line, single, alone):
    """A measurement against 1 worker (`alone`: its wall_s, same size and broker) and against the single process."""
    figures = {}
    if line["workers"] > 1 and alone:
        figures["speedup_vs_1_worker"] = round(alone / line["wall_s"], 2)
    figures["wall_of_single"] = round(line["wall_s"] / single["wall_s"], 2)
    if line["check_duration_s"] is not None:
        figures["duration_of_single"] = round(line["check_duration_s"] / single["wall_s"], 2)
    known = [peak for peak in line["worker_peak_rss_mb"] if peak is not None]
    figures["max_worker_rss_of_single"] = round(max(known) / single["peak_rss_mb"], 2) if known else None
    return figures


def prepare(bench, first):
    """Migrate the fresh database, register the first population as the default, and seed the demo accounts."""
    import django

    django.setup()
    from django.core.management import call_command

    from reviews.management.commands.seed_demo import seed_demo_accounts

    call_command("migrate", verbosity=0)
    bench.make_default(first)  # before seeding, which would otherwise generate the synthetic default
    seed_demo_accounts(password=secrets.token_urlsafe(12))


def header(bench):
    import polars as pl

    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
        commit = commit.stdout.strip() or None
    except OSError:
        commit = None
    args = bench.args
    return {
        "bench": "scale",
        "commit": commit,
        "database": bench.database,
        "brokers": {b: bench.broker_url(b) for b in args.brokers},
        "pool": args.pool,
        "partition_rows": bench.env().get("PDP_PARTITION_ROWS", "default"),
        "cores": os.cpu_count(),
        "polars_threads": args.polars_threads or pl.thread_pool_size(),
        "rule": Path(args.rule).name,
        "host": socket.gethostname(),
    }


def whole_numbers(text):
    try:
        values = sorted({int(v.replace("_", "")) for v in text.split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers of at least 1")
    return values  # smallest first: the 1-worker figure is there when the 2-worker line is printed


def names(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or set(values) - set(BROKERS):
        raise argparse.ArgumentTypeError(f"a comma-separated list of {', '.join(BROKERS)}")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=whole_numbers, default=[10_000_000, 50_000_000], help="population sizes")
    parser.add_argument("--brokers", type=names, default=list(BROKERS), help="redis, rabbitmq or both")
    parser.add_argument("--workers", type=whole_numbers, default=[1, 2], help="worker processes, in turn")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/pdp_scale",
        help="the PostgreSQL server and base name: a fresh database <name>_<random> is made there and dropped",
    )
    parser.add_argument("--partition-rows", type=int, help="PDP_PARTITION_ROWS for the workers (default: theirs)")
    parser.add_argument("--pool", choices=["solo", "prefork"], default="solo", help="each worker's pool")
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="run one unmeasured simulation on the workers first, so each has hashed the file and warmed up",
    )
    parser.add_argument("--rule", default=str(EXAMPLE), help="the rule document simulated (default: %(default)s)")
    parser.add_argument(
        "--polars-threads",
        type=int,
        help="POLARS_MAX_THREADS of every worker and of the single process (default: polars' own, one per core)",
    )
    parser.add_argument("--redis-url", default=BROKERS["redis"])
    parser.add_argument("--rabbitmq-url", default=BROKERS["rabbitmq"])
    parser.add_argument("--rabbitmq-max-rows", type=int, default=10_000_000, help="RabbitMQ only up to this size")
    parser.add_argument("--data-dir", default="/tmp/pdp-scale", help="populations, worker logs, the data folder")
    parser.add_argument("--keep-data", action="store_true", help="keep the data folder (populations, logs)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a check may take")
    parser.add_argument("--child", choices=["generate", "single", "push"], help=argparse.SUPPRESS)
    parser.add_argument("--population", help=argparse.SUPPRESS)
    parser.add_argument("--title", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        {"generate": child_generate, "single": child_single, "push": child_push}[args.child](args)
        return 0
    if args.partition_rows is not None and args.partition_rows < 1:
        parser.error("--partition-rows must be at least 1")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must name a PostgreSQL server")

    data_dir = Path(args.data_dir).resolve()
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / MARKER).exists():
        parser.error(f"{data_dir} holds files this bench did not make; name another --data-dir")
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).touch()
    kill_strays(data_dir)
    drop_stray_database(data_dir)
    remove_queue(data_dir)
    # A Ctrl-C raises KeyboardInterrupt; a SIGTERM ends the same way, through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    url, database, drop = fresh_postgres(args.database_url)
    (data_dir / DATABASE).write_text(url)
    os.environ.update(
        DATABASE_URL=url,
        PDP_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="pdp_portal.settings",
        CELERY_TASK_ALWAYS_EAGER="1",  # this process publishes nothing; the workers and the pushes get their broker
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    bench = Bench(args, data_dir, database)
    status = 0
    try:
        metas = {rows: bench.population(rows) for rows in args.rows}
        prepare(bench, metas[args.rows[0]])
        print(json.dumps(header(bench)), flush=True)
        speedups = {}
        for rows in args.rows:
            speedups.update(bench.size(rows, metas[rows]))
        print(json.dumps({"speedup_vs_1_worker": speedups, "goal": "at least 1.7 at 50,000,000 rows"}), flush=True)
    except Disagreement as error:
        print(f"FIGURES DISAGREE: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted: stopping the workers and dropping the database", file=sys.stderr)
        status = 130
    finally:
        bench.stop_workers()
        remove_queue(data_dir)
        from django.db import connections

        connections.close_all()
        drop()
        (data_dir / DATABASE).unlink(missing_ok=True)
        if args.keep_data:
            print(f"kept {data_dir} (populations, worker logs)", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
