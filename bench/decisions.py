"""Decisions per second through the real web server, against a minimal Django view in the same run.

    .venv/bin/python bench/decisions.py [--seconds 20] [--concurrency 1,8,32] [--batch-concurrency 1,2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pdp_bench .venv/bin/python bench/decisions.py

Needs wrk (`apt-get install -y wrk`). The database is fresh (as pages.py makes it): three example rules
are pushed, checked, signed off and promoted to production, and a Systems account gets a decisions
token. Then the portal is started exactly as the Procfile's `web` line starts it (pdp_portal.serve: granian,
its workers and threads), with the decision log on, and loaded by wrk for --seconds at each concurrency:

- `minimal`: POST /bench/minimal, a Django view that reads the JSON body and answers a small JSON
  object, through the portal's own settings and middleware: the practical ceiling of the stack;
- `single`: POST /api/v1/decisions with a decisions token, 1,000 different accounts and citizens in turn;
- `batch`: POST /api/v1/decisions/batch with 10,000 citizens per request.

Each line gives requests/s, p50 and p99 in milliseconds, and for `single` its ratio to `minimal` at the
same concurrency; `batch` also gives citizens/s and answers/s (a citizen gets one answer per rule in
force). Every line also gives the server's CPU milliseconds per request (the server's processes, from
/proc), which a busy machine disturbs far less than a rate; `single` quotes it as a ratio too. At the end the decision log is checked against what wrk was answered: once while the server
runs (after one flush interval) and again after a clean stop (SIGTERM), when nothing may be missing.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import run_on_fresh_database  # noqa: E402

RULES = ["wildfire-aid-2024.json", "wildfire-recovery-tiered.json", "wildfire-aid-minimal.json"]
ON = "2025-01-15"  # within the example rules' valid_from..valid_to
BATCH = 10_000
BODIES = 1_000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20, help="seconds of load per measurement")
    parser.add_argument("--concurrency", default="1,8,32", help="connections for single decisions")
    parser.add_argument("--batch-concurrency", default="1,2", help="connections for batches")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (server log, wrk scripts)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install -y wrk")
    try:
        args.levels = [int(c) for c in args.concurrency.split(",")]
        args.batch_levels = [int(c) for c in args.batch_concurrency.split(",")]
    except ValueError:
        parser.error("--concurrency and --batch-concurrency are lists of whole numbers, e.g. 1,8,32")
    if args.seconds < 2 or min(args.levels + args.batch_levels) < 1:
        parser.error("--seconds must be at least 2 and every concurrency at least 1")
    sys.exit(run_on_fresh_database(parser, "pdp-bench-decisions-", lambda db: run(args, db), keep=args.keep))


def citizen(rng):
    return {
        "age": rng.randint(0, 90),
        "in_fire_zone": rng.random() < 0.5,
        "home_damaged": rng.random() < 0.5,
        "income": rng.randint(0, 150_000),
        "household_size": rng.randint(1, 8),
        "insured": rng.random() < 0.5,
    }


def prepare():
    """Three rules live in production, a Systems account and its decisions token: the key."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import TestCase

    from accounts.services import create_person
    from deployments.services import promote
    from reviews.management.commands.seed_demo import seed_demo_accounts
    from reviews.services import approve_version
    from rules.services import push_rule_version
    from tokens.models import Scope
    from tokens.services import issue_token

    call_command("migrate", verbosity=0)
    seed_demo_accounts(password="bench-password")
    people = {u.username: u for u in User.objects.all()}
    for name in RULES:
        with TestCase.captureOnCommitCallbacks(execute=True):
            version = push_rule_version((ROOT / "examples" / name).read_bytes(), actor=people["drafter"])
        version.refresh_from_db()
        assert version.status == "in_review", (name, version.status)
        approve_version(version, actor=people["LegalTeam"], expected_hash=version.content_hash)
        approve_version(version, actor=people["BudgetOffice"], expected_hash=version.content_hash)
        promote(version.rule, actor=people["admin"])
    system = create_person("payments", actor=None, groups=[settings.PDP_SYSTEMS_GROUP])
    _, key = issue_token(system, actor=people["admin"], name="bench", scope=Scope.DECISIONS)
    return key


def lua(path, key, bodies):
    """A wrk script that POSTs `bodies` in turn."""
    quoted = ",\n".join(f"[==[{body}]==]" for body in bodies)
    return f"""
local bodies = {{ {quoted} }}
local i = 0
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Token {key}"}}
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "{path}", headers, bodies[i])
end
"""


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, script, connections, seconds):
    threads = min(connections, 2)
    # A 10,000-citizen batch may take longer than wrk's 2 s default on a busy machine: it is answered, not lost.
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "30s"]
    command += ["--latency", "-s", script, url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def latency(percent):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return round(float(match.group(1)) * UNITS[match.group(2)], 2)

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "connections": connections,
        "requests": total,
        "req_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


TICK = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(master):
    """User + system CPU seconds of the server process and its workers so far (from /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == master or ppid == master:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def measured(server, *args):
    """wrk's figures, with the server's CPU milliseconds per request: steadier than rates on a busy machine."""
    before = server_cpu_seconds(server.pid)
    line = wrk(*args)
    spent = server_cpu_seconds(server.pid) - before
    line["server_cpu_ms_per_request"] = round(spent * 1000 / max(1, line["requests"]), 3)
    return line


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def web_command(port):
    """The Procfile's web line, with its port."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = line.split(":", 1)[1].strip().replace("$PORT", str(port)).split()
    return [sys.executable if command[0] == "python" else command[0], *command[1:]]


def wait_ready(url, key, body, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped at start-up (exit {process.returncode}); see its log")
        try:
            request = urllib.request.Request(
                url,
                data=body.encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Token {key}"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not answer within 60 s")


def recorded():
    from django.db import connection
    from django.db.models import Sum

    from decisions.models import DecisionBatch

    connection.close()  # a fresh read, not a transaction's snapshot
    return DecisionBatch.objects.aggregate(n=Sum("count"))["n"] or 0


def run(args, database):
    key = prepare()
    from django.conf import settings

    data = Path(settings.DATA_DIR)
    rng = random.Random(2025)
    single = [json.dumps({"account_id": f"acct-{i:06d}", "citizen": citizen(rng), "date": ON}) for i in range(BODIES)]
    batch_body = json.dumps(
        {"date": ON, "citizens": [{"account_id": f"acct-{i:06d}", "citizen": citizen(rng)} for i in range(BATCH)]}
    )
    scripts = {
        "minimal": ("/bench/minimal", single[:100]),
        "single": ("/api/v1/decisions", single),
        "batch": ("/api/v1/decisions/batch", [batch_body]),
    }
    for name, (path, bodies) in scripts.items():
        (data / f"{name}.lua").write_text(lua(path, key, bodies))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.minimal_settings", PORT=str(port), LOG_LEVEL="WARNING")
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log = open(data / "server.log", "w")
    server = subprocess.Popen(web_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    answers_per_request = len(RULES)
    served = 0
    try:
        wait_ready(base + "/api/v1/decisions", key, single[0], server)
        served += 1
        print(json.dumps({"database": database, "rules_in_force": len(RULES), "server": " ".join(web_command(port))}))
        # Warm every worker and thread, and the caches, before anything is measured.
        for name in ("minimal", "single"):
            warm = wrk(base + scripts[name][0], str(data / f"{name}.lua"), 8, 2)
            served += warm["requests"] if name == "single" else 0
        for connections in args.levels:
            line = measured(server, base + "/bench/minimal", str(data / "minimal.lua"), connections, args.seconds)
            print(json.dumps({"endpoint": "minimal", **line}))
            ours = measured(server, base + "/api/v1/decisions", str(data / "single.lua"), connections, args.seconds)
            served += ours["requests"] - ours["non_2xx"]
            ours["of_minimal"] = round(ours["req_s"] / line["req_s"], 3)
            ours["cpu_of_minimal"] = round(ours["server_cpu_ms_per_request"] / line["server_cpu_ms_per_request"], 3)
            print(json.dumps({"endpoint": "single", **ours}))
        for connections in args.batch_levels:
            line = measured(
                server, base + "/api/v1/decisions/batch", str(data / "batch.lua"), connections, args.seconds
            )
            served += (line["requests"] - line["non_2xx"]) * BATCH
            line.update(
                citizens_s=round(line["req_s"] * BATCH), answers_s=round(line["req_s"] * BATCH * answers_per_request)
            )
            print(json.dumps({"endpoint": "batch", **line}))
        time.sleep(settings.PDP_DECISION_LOG_FLUSH_SECONDS * 4 + 1)
        running = recorded()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    stopped = recorded()
    expected = served * answers_per_request
    # wrk counts the answers it read; a request in flight when it stopped was served and recorded too.
    in_flight = (sum(args.levels) + 16 + sum(args.batch_levels) * BATCH) * answers_per_request
    print(
        json.dumps(
            {
                "decision_log": {
                    "answers_wrk_read": expected,
                    "recorded_while_running": running,
                    "recorded_after_clean_stop": stopped,
                    "missing": max(0, expected - stopped),
                    "extra_from_requests_in_flight": max(0, stopped - expected),
                }
            }
        )
    )
    return 0 if expected <= stopped <= expected + in_flight else 1


if __name__ == "__main__":
    main()
