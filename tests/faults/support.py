"""What the fault tests share: a Redis server of their own, real Celery workers in their own process
groups, the test process publishing to that Redis, and the tally each test prints and asserts.

The suite's shared Redis and PostgreSQL are never stopped, restarted or flushed: a test that breaks
the broker breaks its own `redis-server` on a free port. Every wait is bounded (WAIT seconds) and
every process started here is killed, with its whole group, when the test ends, failed or not.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu.utils.collections import eqhash

from pdp_portal.celery import app as celery_app
from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT = 60  # seconds: the longest any one wait in these tests may take

# A rule the column compiler cannot take (an `in` over a list built from row values), so its
# simulation is evaluated one citizen at a time: about 5 µs a row, which over POPULATION_ROWS rows
# keeps a simulation running for one to a few seconds, with a heartbeat every tenth of the rows:
# long enough to be caught in the middle. Its figures are the wildfire example's, and it passes
# lint and the budget check.
POPULATION_ROWS = 200_000


def slow_rule(slug):
    """The wildfire example as rule `slug`, written so that its simulation takes a second or more."""
    document = json.loads((EXAMPLES / "wildfire-aid-2024.json").read_text())
    document["rule"] = slug
    document["eligibility"] = {
        "and": [
            {">=": [{"var": "age"}, 18]},
            {"in": [[{"var": "in_fire_zone"}], [[True]]]},
            {"==": [{"var": "home_damaged"}, True]},
        ]
    }
    return json.dumps(document).encode()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, what, seconds=WAIT, interval=0.05, context=lambda: ""):
    """Poll `predicate` until it answers something true (returned), or fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds}s\n{context()}")
        time.sleep(interval)


def _kill_group(process, sig=signal.SIGKILL):
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


class RedisServer:
    """A `redis-server` of the test's own on a free port, keeping nothing on disk (as the shared one)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        wait_for(self.answers, what=f"redis-server on port {self.port} answering")
        return self

    def answers(self):
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
        except redis.exceptions.RedisError:
            return False

    def kill(self):
        """SIGKILL: the server goes with everything it held (nothing is kept on disk)."""
        _kill_group(self.process)
        self.process = None


def test_database_url():
    """The test database (pytest-django's, e.g. test_pdp_h4_gw0) as a URL for a worker process."""
    s = connection.settings_dict
    login = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{login}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Worker:
    """`celery -A pdp_portal worker`, one pool process, on the test database and the given broker.

    `visibility_timeout` (seconds) shortens how long Redis keeps a job a dead worker held before
    giving it back (tests/faults/worker_settings.py); None keeps production's 15 minutes.
    """

    def __init__(self, *, broker_url, data_dir, visibility_timeout=None):
        self.name = f"faults-{uuid.uuid4().hex[:8]}"
        self.broker_url = broker_url
        self.data_dir = Path(data_dir)
        self.visibility_timeout = visibility_timeout
        self.log = self.data_dir / f"{self.name}.log"
        self.process = None

    def start(self):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "PDP_QUEUE": celery_app.conf.task_default_queue,
            "PDP_DATA_DIR": str(self.data_dir),
            "PDP_POPULATION_ROWS": str(POPULATION_ROWS),
            # Beats well inside the dead-worker threshold the tests give their sweeper.
            "PDP_HEARTBEAT_SECONDS": "0.5",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("PYTEST_XDIST_WORKER", "CELERY_TASK_ALWAYS_EAGER", "PDP_FAULTS_VISIBILITY_TIMEOUT"):
            env.pop(name, None)
        # The keys the test process writes with (by default under its own data folder), as a
        # portal's web and worker processes share theirs: the worker's audit events verify here.
        for name in ("SECRET_KEY", "PDP_AUDIT_KEY", "PDP_AUDIT_KEY_FILE"):
            if getattr(settings, name, None):
                env[name] = str(getattr(settings, name))
        if self.visibility_timeout is not None:
            env["PDP_FAULTS_VISIBILITY_TIMEOUT"] = str(self.visibility_timeout)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "celery"), "-A", "pdp_portal", "worker", "--pool", "prefork", "--concurrency", "1",
                    "--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "--loglevel", "INFO",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        wait_for(
            lambda: " ready." in self.log_text() or self.process.poll() is not None,
            what=f"worker {self.name} ready",
            interval=0.1,
            context=self.tail,
        )
        assert self.process.poll() is None, f"worker {self.name} exited\n{self.tail()}"
        return self

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, chars=3000):
        return f"--- {self.name} log ---\n{self.log_text()[-chars:]}"

    def pool_process(self):
        """The pool process that runs jobs (the worker's one child), or None between two."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(children[0]) if children else None

    def kill(self):
        """kill -9 of the worker's whole process group: the main process and its pool process."""
        _kill_group(self.process)

    def stop(self):
        _kill_group(self.process, signal.SIGTERM)


@contextlib.contextmanager
def publishing_to(broker_url):
    """Jobs published by this process (a push's lint, the sweeper's re-queues) go to `broker_url`.

    The Celery app's broker for publishing is changed for the block (`broker_write_url`: Celery reads
    `broker_url` from CELERY_BROKER_URL first, which names the suite's Redis), and put back after.
    The app lets go of its pools both ways, so that the next publish connects to the broker now
    named; the pools of `broker_url` are dropped from kombu's registry, where a later test's Redis
    on the same port would find them, and the suite's own pool is left open for the tests after.
    Tasks are not run eagerly in the block.
    """
    conf = celery_app.conf
    keys = ("broker_write_url", "broker_transport", "broker_transport_options", "task_always_eager")
    saved = {key: conf.get(key) for key in keys}
    conf.update(
        broker_write_url=broker_url, broker_transport=None, broker_transport_options={}, task_always_eager=False
    )
    _let_go_of_pools()
    try:
        yield
    finally:
        key = eqhash(celery_app.connection_for_write())
        for group in (kombu.pools.connections, kombu.pools.producers):
            dict.pop(group, key, None)
        _let_go_of_pools()
        conf.update(saved)


def _let_go_of_pools():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def check_events(version):
    """How many events of each action the history holds about `version`."""
    from audit.models import AuditEvent

    return Counter(AuditEvent.objects.for_target(version).values_list("action", flat=True))


ONCE = ("rule.push", "check.lint", "check.simulation")


def lost_and_duplicated(version):
    """(lost, duplicated) for a pushed version whose checks should have run to the end exactly once.

    Lost (0 or 1): a check missing or not passed, no simulation result, the version not in review,
    or its push, lint or simulation not in the history. Duplicated: each push, lint or simulation
    recorded more than once for the version, and each check of a kind more than one.
    """
    from checks.models import CheckRun

    version.refresh_from_db()
    checks = Counter(version.checks.values_list("kind", flat=True))
    passed = version.checks.filter(status=CheckRun.Status.PASSED).count()
    simulation = version.checks.filter(kind=CheckRun.Kind.SIMULATION).first()
    events = check_events(version)
    lost = int(
        passed < 2
        or simulation is None
        or not simulation.result
        or version.status != "in_review"
        or any(events[action] == 0 for action in ONCE)
    )
    duplicated = sum(max(0, events[action] - 1) for action in ONCE) + sum(max(0, n - 1) for n in checks.values())
    return lost, duplicated


def tally(name, capsys, *, survived, total, lost, duplicated):
    """Print the test's tally line (shown with or without -s) and return it for the test to assert."""
    line = f"faults survived {survived}/{total}, lost {lost}, duplicated {duplicated}"
    with capsys.disabled():
        print(f"\n{name}: {line}")
    return line
