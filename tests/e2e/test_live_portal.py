"""The portal as `make run` starts it (honcho: pdp_portal.serve with 2 workers, and a Celery
worker with beat): the probes, /metrics over the web server processes, and one JSON line per request
whose id the worker's line for the job it queued repeats.
"""

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import EXAMPLES

# The live portal of this folder (conftest.py), shared with the walkthrough.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-portal")]


def call(portal, path, *, method="GET", body=None, headers=None):
    request = urllib.request.Request(portal["url"] + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def log_lines(portal):
    """The JSON lines of the portal's log, with the process that wrote each (honcho's `web.1 | ` prefix)."""
    found = []
    for text in portal["log"].read_text(errors="replace").splitlines():
        process, _, rest = text.partition(" | ")
        if rest.startswith("{"):
            found.append((process.split()[-1], json.loads(rest)))
    return found


def wait(predicate, what, portal, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    tail = portal["log"].read_text(errors="replace")[-3000:]
    pytest.fail(f"{what} did not happen within {seconds}s\n{tail}")


def test_probes_answer_and_readiness_follows_the_worker_beat(portal):
    status, _, body = call(portal, "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    # Ready once the worker has run its first beat (beat sends one every 10 s).
    ready = wait(lambda: call(portal, "/readyz")[0] == 200, "readiness", portal)
    assert ready
    body = json.loads(call(portal, "/readyz")[2])
    assert body["failed"] == [] and set(body["components"]) == {"database", "broker", "worker", "audit_chain"}


def test_metrics_add_up_the_web_workers(portal):
    for _ in range(20):  # spread over both web workers
        call(portal, "/healthz")
    status, headers, body = call(portal, "/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    for name in ("pdp_checks{", "pdp_audit_chain_verified ", "pdp_decision_log_pending ", "django_http_requests"):
        assert name in text, name
    # Multiprocess mode: the request counters are per process, summed here (no pid label on counters).
    samples = [line for line in text.splitlines() if line.startswith("django_http_requests_before_middlewares_total ")]
    assert len(samples) == 1 and float(samples[0].split()[1]) >= 20


def test_one_line_per_request_and_the_job_line_repeats_its_id(portal):
    status, _, body = call(
        portal,
        "/api/v1/auth/token/",
        method="POST",
        body=json.dumps({"username": "drafter", "password": portal["password"], "name": "ops"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, body
    token = json.loads(body)["token"]
    document = json.loads((EXAMPLES / "wildfire-aid-2024.json").read_text())
    document["rule"] = "ops-logged-push"
    status, headers, body = call(
        portal,
        "/api/v1/rules/",
        method="POST",
        body=json.dumps(document).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}", "X-Request-ID": "e2e-push-1"},
    )
    assert status == 201, body
    assert headers["X-Request-ID"] == "e2e-push-1"

    def lines_of_the_push():
        mine = [(process, line) for process, line in log_lines(portal) if line.get("request_id") == "e2e-push-1"]
        jobs = [line for _, line in mine if line["logger"] == "pdp.task" and line["task"] == "checks.tasks.run_lint"]
        return mine if jobs else None

    mine = wait(lines_of_the_push, "the worker's line for the push's lint job", portal)
    requests = [line for process, line in mine if line["logger"] == "pdp.request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [("POST", "/api/v1/rules/", 201)]
    assert requests[0]["user_id"] and requests[0]["remote_addr"] == "127.0.0.1"
    job = next(line for _, line in mine if line["logger"] == "pdp.task")
    assert job["state"] == "SUCCESS" and job["duration_ms"] > 0
    assert {process for process, line in mine if line["logger"] == "pdp.task"} == {"worker.1"}
    # The server's access log is off: no request appears in its format.
    assert '"POST /api/v1/rules/ HTTP/1.1" 201' not in portal["log"].read_text(errors="replace")
