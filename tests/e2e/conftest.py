"""A real portal for end-to-end tests: migrate, seed, then gunicorn and a Celery worker via honcho.

On the embedded default it uses a fresh data folder (SQLite + filesystem broker). When
DATABASE_URL names PostgreSQL it creates a fresh database for the run and drops it after;
when CELERY_BROKER_URL names Redis it uses a queue of its own.
"""

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
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "e2e-demo-password"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_database(url):
    """Create a fresh database next to the one DATABASE_URL names; return (url, drop)."""
    import psycopg

    config = environ.Env.db_url_config(url)
    name = f"pdp_e2e_{uuid.uuid4().hex[:10]}"
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


def _wait_for(url, process, seconds=60):
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


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    """Start the portal with a worker; yield its environment (for hms) and its base URL."""
    data_dir = tmp_path_factory.mktemp("portal-data")
    port = _free_port()
    env = {
        **os.environ,
        "PDP_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "PDP_DEMO_PASSWORD": DEMO_PASSWORD,
        "PDP_QUEUE": f"pdp-e2e-{uuid.uuid4().hex[:8]}",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    drop = None
    if env.get("DATABASE_URL", "").startswith(("postgres", "postgresql", "pgsql")):
        env["DATABASE_URL"], drop = _postgres_database(env["DATABASE_URL"])
    log_path = data_dir / "portal.log"
    process = None
    try:
        for command in (["migrate", "--no-input", "-v", "0"], ["seed_demo"]):
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
        }
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if drop is not None:
            drop()
