"""One log line per request, carrying its request id; the id is echoed and carried into the jobs it queues."""

import io
import json
import logging
import logging.config

import pytest
from django.conf import settings as django_settings

from operations.context import current_request_id
from operations.logformat import logging_config


@pytest.fixture
def log_lines():
    """The lines the portal's own logging configuration writes, as written (JSON by default)."""
    stream = io.StringIO()

    def install(log_format="json"):
        config = logging_config(log_format, "INFO")
        config["handlers"]["console"]["stream"] = stream
        logging.config.dictConfig(config)
        return stream

    yield install
    logging.config.dictConfig(django_settings.LOGGING)


def json_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.django_db
def test_a_request_gets_one_line_with_its_fields(client, log_lines, drafter):
    stream = log_lines()
    client.force_login(drafter)
    response = client.get("/rules/", HTTP_X_REQUEST_ID="trace-42.a:b_c-d", REMOTE_ADDR="192.0.2.7")
    assert response["X-Request-ID"] == "trace-42.a:b_c-d"
    [line] = [line for line in json_lines(stream) if line["logger"] == "pdp.request"]
    assert {k: line[k] for k in ("level", "request_id", "method", "path", "status", "user_id", "remote_addr")} == {
        "level": "INFO",
        "request_id": "trace-42.a:b_c-d",
        "method": "GET",
        "path": "/rules/",
        "status": 200,
        "user_id": drafter.pk,
        "remote_addr": "192.0.2.7",
    }
    assert line["duration_ms"] > 0 and line["time"].endswith("+00:00")


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["", "x" * 129, "has space", "new\nline", "émoji", "a;b", "<script>"])
def test_an_invalid_request_id_is_replaced(client, log_lines, given):
    stream = log_lines()
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    made = response["X-Request-ID"]
    assert made != given and len(made) == 32 and made.isalnum()
    [line] = json_lines(stream)
    assert line["request_id"] == made and line["user_id"] is None


@pytest.mark.django_db
def test_every_line_a_request_logs_carries_its_id_and_the_view_sees_it(client, log_lines, settings):
    """Django's own 'Forbidden' line too, written after the middleware is done with the request."""
    stream = log_lines()
    settings.PDP_METRICS_ALLOWED_NETWORKS = []
    response = client.get("/metrics", HTTP_X_REQUEST_ID="refused-1")
    assert response.status_code == 403 and response.wsgi_request.request_id == "refused-1"
    lines = json_lines(stream)
    assert {(line["logger"], line["request_id"]) for line in lines} == {
        ("pdp.request", "refused-1"),
        ("django.request", "refused-1"),
    }
    assert current_request_id() is None  # nothing left behind once the request is answered


@pytest.mark.django_db
def test_the_text_format_carries_the_id_too(client, log_lines):
    stream = log_lines("text")
    client.get("/healthz", HTTP_X_REQUEST_ID="plain-1")
    assert "INFO pdp.request [plain-1] GET /healthz 200" in stream.getvalue()


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="PDP_LOG_FORMAT must be json or text"):
        logging_config("xml", "INFO")


@pytest.mark.django_db(transaction=True)  # the jobs are queued when the request's transaction commits
def test_a_job_run_during_a_request_logs_one_line_with_the_request_id(client, log_lines, drafter):
    """Run in the request's thread (eager): the job's line names the task, its state and the request's id."""
    stream = log_lines()
    client.force_login(drafter)
    client.post("/rules/upload/", {"text": _doc()}, HTTP_X_REQUEST_ID="push-7")
    tasks = [line for line in json_lines(stream) if line["logger"] == "pdp.task"]
    assert {line["task"] for line in tasks} >= {"checks.tasks.run_lint", "checks.tasks.run_simulation"}
    assert {(line["request_id"], line["state"]) for line in tasks} == {("push-7", "SUCCESS")}
    assert all(line["duration_ms"] >= 0 and line["task_id"] for line in tasks)
    [request] = [line for line in json_lines(stream) if line["logger"] == "pdp.request"]
    assert request["request_id"] == "push-7" and request["status"] == 302


def _doc():
    from tests.conftest import document

    return document(rule="logged-push").decode()
