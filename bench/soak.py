"""Soak: `make run` on the embedded default stays up under a bounded stream of pushes.

    .venv/bin/python bench/soak.py [--minutes 30] [--pushes 200]

Starts `make run` exactly as a newcomer does (SQLite and the filesystem broker in a temporary data
folder, the once-a-minute sweeper included), pushes `--pushes` rules through the API spread evenly
over `--minutes` (each a rule of its own, so no push cancels another's checks), then waits for
every check to finish. Every 10 s and at the end it prints one JSON line: uptime, pushes, checks
finished and unfinished, sweeper runs (final line), worker restarts (from `worker-restarts.log`) and broker messages set
aside as unreadable. The exit status is 1 if `make run` stopped, a push failed, or a check never
finished. The data folder is removed at the end (`--keep` keeps it).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rule_variants import wildfire_variant  # noqa: E402

PASSWORD = "soak-demo-password"
FINISHED = {"passed", "failed", "cancelled"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base, path, *, token=None, body=None, method=None):
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"{}")


def wait_up(base, process, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"make run exited with {process.returncode} before it answered")
        try:
            urllib.request.urlopen(f"{base}/login/", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"make run did not answer at {base} within {seconds}s")


def document(n):
    """Rule soak-NNNN, paying an amount of its own, so no push cancels another's checks."""
    return json.dumps(wildfire_variant(f"soak-{n:04d}", amount=1000 + n, title=f"Soak rule {n}")).encode()


def restarts(data_dir):
    log = data_dir / "worker-restarts.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def rejected(data_dir):
    folder = data_dir / "broker" / "rejected"
    return len(list(folder.iterdir())) if folder.is_dir() else 0


def sweeps(log_path):
    """How many times the once-a-minute sweeper ran to the end, from the worker's log."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return sum(1 for line in text.splitlines() if "checks.tasks.sweep_stuck_checks[" in line and "succeeded" in line)


def check_states(base, token, pushed):
    finished = unfinished = 0
    for slug, number in pushed:
        version = call(base, f"/rules/{slug}/versions/{number}/", token=token)
        for kind in ("lint", "simulation"):
            check = version.get(kind)
            if check is None:
                # No simulation check: lint failed, so the version is done.
                continue
            if check["status"] in FINISHED:
                finished += 1
            else:
                unfinished += 1
    return finished, unfinished


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the data folder")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="pdp-soak-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PDP_DATA_DIR": str(data_dir), "PORT": str(port), "PDP_DEMO_PASSWORD": PASSWORD}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER"):
        env.pop(name, None)
    log_path = data_dir / "make-run.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    started = time.monotonic()
    pushed, push_errors, ok = [], [], True
    try:
        wait_up(base, process)
        token = call(base, "/auth/token/", body={"username": "drafter", "password": PASSWORD})["token"]
        end = started + args.minutes * 60
        # The pushes are spread over the time left once the portal answers, the last well before the end.
        interval = max(end - time.monotonic(), 0) / max(args.pushes, 1)
        next_push, next_report = time.monotonic(), time.monotonic() + 10
        while time.monotonic() < end and process.poll() is None:
            now = time.monotonic()
            if len(pushed) < args.pushes and now >= next_push:
                n = len(pushed) + len(push_errors)
                try:
                    version = call(base, "/rules/", token=token, body=document(n), method="POST")
                    pushed.append((version["rule"], version["number"]))
                except (urllib.error.URLError, OSError) as exc:
                    push_errors.append(f"push {n}: {exc}")
                next_push += interval
            if now >= next_report:
                report = {
                    "uptime_s": round(now - started),
                    "up": process.poll() is None,
                    "pushes": len(pushed),
                    "push_errors": len(push_errors),
                    "worker_restarts": len(restarts(data_dir)),
                }
                print(json.dumps(report), flush=True)
                next_report += 10
            time.sleep(0.2)
        up = process.poll() is None
        # Let the last checks finish (the sweeper re-queues a lost one within PDP_STUCK_CHECK_SECONDS).
        deadline = time.monotonic() + 420
        finished = unfinished = 0
        while up and time.monotonic() < deadline:
            finished, unfinished = check_states(base, token, pushed)
            if unfinished == 0:
                break
            time.sleep(5)
        up = up and process.poll() is None
        final = {
            "final": True,
            "minutes": args.minutes,
            "uptime_s": round(time.monotonic() - started),
            "up": up,
            "pushes": len(pushed),
            "push_errors": push_errors[:5],
            "checks_finished": finished,
            "checks_unfinished": unfinished,
            "worker_restarts": len(restarts(data_dir)),
            "restart_reasons": sorted({r["reason"] for r in restarts(data_dir)}),
            "broker_messages_rejected": rejected(data_dir),
            "sweeper_runs": sweeps(log_path),
        }
        print(json.dumps(final), flush=True)
        ok = up and not push_errors and unfinished == 0 and len(pushed) == args.pushes
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        else:
            print(f"make run exited with {process.returncode}; the end of its log:", file=sys.stderr)
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        log.close()
        if args.keep:
            print(f"data kept in {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
