"""A real portal for the end-to-end and browser tests: migrate, seed, then the web server and a Celery worker.

`running_portal(data_dir)` starts one with honcho (the Procfile, as `make run` does) and stops it
on leaving. On the embedded default it uses `data_dir` (SQLite + filesystem broker). When
DATABASE_URL names PostgreSQL it creates a fresh database for the run and drops it after; when
CELERY_BROKER_URL names Redis or RabbitMQ it uses a queue of its own, so several portals and the
unit tests can share one server.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "e2e-demo-password"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_database(url, prefix):
    """Create a fresh database next to the one DATABASE_URL names; return (url, drop)."""
    import psycopg

    config = environ.Env.db_url_config(url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(
        host=config["HOST"] or "127.0.0.1",
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    base = url.rsplit("/", 1)[0]
    return f"{base}/{name}", drop


def _wait_for(url, process, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the portal exited early with code {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the portal did not answer at {url} within {seconds}s")


def _process_groups_under(pid):
    """The process groups of `pid`'s descendants, read from /proc (empty where there is none).

    honcho starts each process of the Procfile in a session, and so a process group, of its own.
    """
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[1:3]
        except (OSError, IndexError, ValueError):
            continue
        parents[int(stat.parent.name)] = (int(ppid), int(pgrp))
    groups, under = set(), {pid}
    while True:
        found = {child for child, (ppid, _) in parents.items() if ppid in under} - under
        if not found:
            return groups
        under |= found
        groups |= {parents[child][1] for child in found}


def _stop(process, grace=2):
    """SIGTERM to honcho, which sends it on to the portal's processes; SIGKILL to those still running `grace` s later.

    The web server stops at once. The Celery worker's warm shutdown waits about five seconds on its
    embedded beat, after which honcho kills it anyway; a portal started for tests has nothing left to
    finish by then. Without /proc to find honcho's processes, honcho is left to stop them itself.
    """
    if process is None or process.poll() is not None:
        return
    groups = _process_groups_under(process.pid)
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace if groups else 20)
    except subprocess.TimeoutExpired:
        for group in {*groups, process.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        process.wait()


def log_tail(portal, chars=4000):
    """The end of the portal's log (server and worker) without static file requests, to show when a test fails."""
    try:
        lines = portal["log"].read_text(errors="replace").splitlines()
    except OSError:
        return "(no portal log)"
    return "\n".join(line for line in lines if '"GET /static/' not in line)[-chars:]


@contextlib.contextmanager
def running_portal(data_dir, *, name="e2e", static=False):
    """Start the portal with a worker on a free port; yield its environment (for hms), base URL and log.

    `static=True` collects the static files first (as `make run` does), for tests that load pages
    in a browser: whitenoise serves only what was collected.
    """
    data_dir = Path(data_dir)
    port = _free_port()
    env = {
        **os.environ,
        # What ships: the real settings (and password hasher), not the test suite's.
        "DJANGO_SETTINGS_MODULE": "pdp_portal.settings",
        "PDP_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "PDP_DEMO_PASSWORD": DEMO_PASSWORD,
        "PDP_QUEUE": f"pdp-{name}-{uuid.uuid4().hex[:8]}",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    drop = None
    if env.get("DATABASE_URL", "").startswith(("postgres", "postgresql", "pgsql")):
        env["DATABASE_URL"], drop = _postgres_database(env["DATABASE_URL"], f"pdp_{name}")
    log_path = data_dir / "portal.log"
    process = None
    try:
        commands = [["migrate", "--no-input", "-v", "0"], ["seed_demo"]]
        if static:
            commands.append(["collectstatic", "--no-input", "-v", "0"])
        for command in commands:
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(BIN / "honcho"), "start", "-f", "Procfile", "-p", str(port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/api/v1/rules/", process)
        yield {
            "env": {**env, "HMS_SERVER": base, "HMS_CONFIG_DIR": str(data_dir / "hms")},
            "url": base,
            "log": log_path,
            "password": DEMO_PASSWORD,
        }
    finally:
        _stop(process)
        if drop is not None:
            drop()
