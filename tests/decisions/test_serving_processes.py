"""Real web server processes on the test database: the rollback promise across processes, and what the decision
log loses when a process is killed (its last flush interval) or stopped cleanly (nothing).

Each server is `python -m pdp_portal.serve` (the Procfile's web line) with one worker and the settings that ship, started on its own free port, so the test
knows which process answers which request.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from decisions.models import DecisionBatch
from tests.faults.support import free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CITIZEN = {"age": 40, "in_fire_zone": True, "home_damaged": True}
IN_FORCE = "2025-01-15"


def database_url():
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Server:
    def __init__(self, tmp_path, name, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{name}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "pdp_portal.settings",
            "DATABASE_URL": database_url(),
            "PDP_DATA_DIR": str(tmp_path),
            "SECRET_KEY": settings.SECRET_KEY,
            "PDP_AUDIT_KEY_FILE": str(settings.PDP_AUDIT_KEY_FILE),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        for name_ in ("PYTEST_XDIST_WORKER", "CELERY_TASK_ALWAYS_EAGER"):
            self.env.pop(name_, None)
        if settings.PDP_AUDIT_KEY:
            self.env["PDP_AUDIT_KEY"] = settings.PDP_AUDIT_KEY

    def start(self):
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pdp_portal.serve", "--port", str(self.port), "--workers", "1",
                 "--threads", "4", "--graceful-timeout", "10"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for(self._answers, what=f"the portal on {self.port}", seconds=60, context=self.tail)
        return self

    def _answers(self):
        assert self.process.poll() is None, self.tail()
        try:
            urllib.request.urlopen(self.url + "/api/v1/rules/", timeout=2)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def tail(self):
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def post(self, path, body, key):
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def decide(self, key, account_id="acct-1"):
        status, body = self.post(
            "/api/v1/decisions", {"account_id": account_id, "citizen": CITIZEN, "date": IN_FORCE}, key
        )
        assert status == 200, (status, body, self.tail())
        return body

    def signal(self, sig):
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)


@pytest.fixture
def servers():
    started = []

    def start(tmp_path, name, **env):
        server = Server(tmp_path, name, **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.signal(signal.SIGKILL)


@pytest.fixture
def keys(db, superuser, release_manager, settings):
    from tests.conftest import make_user
    from tokens.models import Scope
    from tokens.services import issue_token

    system = make_user("payments", settings.PDP_SYSTEMS_GROUP)
    _, system_key = issue_token(system, actor=superuser, name="payments", scope=Scope.DECISIONS)
    _, release_key = issue_token(release_manager, actor=release_manager, name="release")
    return system_key, release_key


def served_version(body):
    return [answer["version"] for answer in body["decisions"]]


def test_a_rollback_through_one_process_is_served_by_the_other_at_once(in_production, keys, servers, tmp_path):
    """Both processes have the rule cached; each rollback or redeploy through one is what the other's very
    next decision serves, five times over, with no pause in between."""
    system_key, release_key = keys
    a, b = servers(tmp_path, "a"), servers(tmp_path, "b")
    assert served_version(a.decide(system_key)) == [1]
    assert served_version(b.decide(system_key)) == [1]
    slug = in_production.rule.slug
    for round_ in range(5):
        mover, other = (a, b) if round_ % 2 == 0 else (b, a)
        status, body = mover.post(
            f"/api/v1/rules/{slug}/rollback/", {"reason": f"round {round_}", "to": "v0"}, release_key
        )
        assert status == 201, body
        assert served_version(other.decide(system_key)) == [], f"round {round_}: the other process served a stale rule"
        status, body = other.post(f"/api/v1/rules/{slug}/promote/", {"version": 1}, release_key)
        assert status == 201, body
        assert served_version(mover.decide(system_key)) == [1], f"round {round_}: the redeploy was not seen"


def recorded(request_ids):
    total = 0
    for batch in DecisionBatch.objects.all():
        from decisions.recorder import read_decisions

        total += read_decisions(batch)["request_id"].is_in(list(request_ids)).sum()
    return total


def decide_many(server, key, n):
    return {server.decide(key, f"acct-{i}")["request_id"] for i in range(n)}


def test_a_killed_process_loses_only_what_waited_and_a_clean_stop_loses_nothing(in_production, keys, servers, tmp_path):
    system_key, _ = keys
    # Killed while its decisions wait for an hour-long flush interval: those are what a crash loses.
    waiting = servers(tmp_path, "waiting", PDP_DECISION_LOG_FLUSH_SECONDS="3600")
    lost = decide_many(waiting, system_key, 10)
    waiting.signal(signal.SIGKILL)
    assert recorded(lost) == 0
    # Killed a second after its last decision with the shipped interval (0.5 s): nothing lost.
    flushing = servers(tmp_path, "flushing")
    written = decide_many(flushing, system_key, 10)
    time.sleep(1.5)
    flushing.signal(signal.SIGKILL)
    assert recorded(written) == 10
    # Stopped cleanly (SIGTERM, as a deploy or `honcho` stops it) with everything still waiting: all written.
    stopping = servers(tmp_path, "stopping", PDP_DECISION_LOG_FLUSH_SECONDS="3600")
    kept = decide_many(stopping, system_key, 10)
    stopping.signal(signal.SIGTERM)
    assert recorded(kept) == 10, stopping.tail()
    assert DecisionBatch.objects.aggregate(n=Sum("count"))["n"] == 20
