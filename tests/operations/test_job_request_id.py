"""A job queued during a request carries the request's id to a real worker, whose line for the job names it.

The broker is a Redis of the test's own and the worker a real `celery worker` process
(tests/faults/: the same fixtures the fault tests start them with).
"""

import json

import pytest
import redis

from pdp_portal.celery import app as celery_app
from tests.conftest import document
from tests.deployments.support import POSTGRES_ONLY
from tests.faults.conftest import own_redis, start_worker, worker_data_dir  # noqa: F401 - fixtures
from tests.faults.support import publishing_to, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _push(client, drafter, slug, request_id):
    client.force_login(drafter)
    response = client.post("/rules/upload/", {"text": document(rule=slug).decode()}, HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 302 and response["X-Request-ID"] == request_id


def test_a_published_job_carries_the_request_id_in_its_headers(client, drafter, own_redis):  # noqa: F811
    with publishing_to(own_redis.url):
        _push(client, drafter, "published-push", "published-9")
    queued = redis.Redis.from_url(own_redis.url).lrange(celery_app.conf.task_default_queue, 0, -1)
    headers = [json.loads(message)["headers"] for message in queued]
    assert [(h["task"], h.get("pdp_request_id")) for h in headers] == [("checks.tasks.run_lint", "published-9")]


def test_a_job_queued_outside_a_request_carries_no_id(own_redis, db):  # noqa: F811
    with publishing_to(own_redis.url):
        celery_app.send_task("operations.tasks.worker_beat")
    [message] = redis.Redis.from_url(own_redis.url).lrange(celery_app.conf.task_default_queue, 0, -1)
    assert "pdp_request_id" not in json.loads(message)["headers"]


@POSTGRES_ONLY
def test_the_worker_logs_the_job_with_the_request_id(client, drafter, own_redis, start_worker):  # noqa: F811
    """The lint job a push queues runs on a real worker; its JSON line says task, state, duration and the push's id."""
    worker = start_worker(own_redis.url)
    with publishing_to(own_redis.url):
        _push(client, drafter, "logged-by-worker", "worker-trace-1")

    def job_lines():
        lines = [json.loads(line) for line in worker.log_text().splitlines() if line.startswith("{")]
        return [
            line for line in lines if line.get("logger") == "pdp.task" and line.get("task") == "checks.tasks.run_lint"
        ]

    [line] = wait_for(job_lines, what="the worker's line for the lint job", context=worker.tail)
    assert (line["request_id"], line["state"], line["level"]) == ("worker-trace-1", "SUCCESS", "INFO")
    assert line["duration_ms"] > 0 and line["task_id"]
    # Lines logged while the job runs carry the id too; the worker's "received" line comes before it runs.
    about_the_job = [
        json.loads(text) for text in worker.log_text().splitlines() if text.startswith("{") and line["task_id"] in text
    ]
    ids = {(other["logger"], other["request_id"]) for other in about_the_job}
    assert ids == {
        ("celery.worker.strategy", "-"),
        ("celery.app.trace", "worker-trace-1"),
        ("pdp.task", "worker-trace-1"),
    }
