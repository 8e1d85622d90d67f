"""/readyz: each component the portal needs, with ok/detail/ms; 200 when all are ok, 503 naming those that fail."""

import time
from datetime import timedelta

import pytest
import redis
from django.db import OperationalError, connection
from django.utils import timezone

from audit.services import record_event
from operations.models import WorkerBeat
from operations.services import record_worker_beat
from tests.conftest import REQUIRE_SERVICES
from tests.faults.support import free_port

COMPONENTS = {"database", "broker", "worker", "audit_chain"}


def ready(client):
    response = client.get("/readyz")
    body = response.json()
    assert set(body["components"]) == COMPONENTS
    for component in body["components"].values():
        assert set(component) == {"ok", "detail", "ms"} and component["ms"] >= 0
    return response.status_code, body


@pytest.fixture
def beating(db):
    return record_worker_beat("celery@test-host")


def test_all_components_ok_answers_200(client, beating):
    """A database, the embedded broker's folders, a fresh beat and an empty history: ready."""
    status, body = ready(client)
    assert (status, body["status"], body["failed"]) == (200, "ok", [])
    assert "celery@test-host" in body["components"]["worker"]["detail"]
    assert body["components"]["audit_chain"]["detail"] == "empty history"


def test_ready_with_a_history_whose_head_verifies(client, beating):
    event = record_event("test.ready", actor=None)
    status, body = ready(client)
    assert status == 200
    assert body["components"]["audit_chain"]["detail"] == f"head #{event.pk} verifies"


def test_no_worker_beat_fails_naming_the_worker(client, db):
    status, body = ready(client)
    assert (status, body["status"], body["failed"]) == (503, "fail", ["worker"])
    assert body["components"]["worker"]["detail"] == "no worker has beaten yet"


def test_a_stale_worker_beat_fails(client, beating, settings):
    """A beat older than PDP_DEAD_WORKER_SECONDS: the worker is taken for dead."""
    WorkerBeat.objects.filter(pk=beating.pk).update(
        beat_at=timezone.now() - timedelta(seconds=settings.PDP_DEAD_WORKER_SECONDS + 1)
    )
    status, body = ready(client)
    assert (status, body["failed"]) == (503, ["worker"])
    assert "old (limit" in body["components"]["worker"]["detail"]


def test_the_database_failing_fails_it_and_what_needs_it(client, beating, monkeypatch):
    """The database refusing queries: 503 naming it, and the checks that read it reported as not run."""

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patched:  # undone before the test's own rollback needs the connection
        patched.setattr(connection, "cursor", refused)
        status, body = ready(client)
    assert (status, body["failed"]) == (503, ["database", "worker", "audit_chain"])
    assert "connection refused" in body["components"]["database"]["detail"]
    assert body["components"]["worker"]["detail"] == "not checked: the database does not answer"


def test_a_missing_broker_folder_fails_the_broker(client, beating, settings, tmp_path):
    """The embedded broker: a folder gone (or not writable) is not ready."""
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    for key in ("data_folder_in", "data_folder_out"):
        options[key] = str(tmp_path / "broker" / "queue")
    options["control_folder"] = str(tmp_path / "broker" / "control")
    for sub in ("queue", "control", "tmp"):  # "claimed" is missing
        (tmp_path / "broker" / sub).mkdir(parents=True)
    settings.CELERY_BROKER_URL = "filesystem://"  # whatever broker this pass of the suite runs on
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    status, body = ready(client)
    assert (status, body["failed"]) == (503, ["broker"])
    assert body["components"]["broker"]["detail"] == f"broker folder {tmp_path / 'broker' / 'claimed'} is missing"
    (tmp_path / "broker" / "claimed").mkdir()
    assert ready(client)[0] == 200


def test_an_unreachable_redis_broker_fails_quickly(client, beating, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    status, body = ready(client)
    assert time.monotonic() - started < 3
    assert (status, body["failed"]) == (503, ["broker"])
    assert body["components"]["broker"]["detail"].startswith("redis broker does not answer")


def test_an_unreachable_amqp_broker_fails(client, beating, settings):
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    status, body = ready(client)
    assert (status, body["failed"]) == (503, ["broker"])
    assert body["components"]["broker"]["detail"].startswith("amqp broker does not answer")


def _redis_answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


@pytest.mark.services
def test_a_redis_broker_that_answers_is_ready(client, beating, settings):
    url = "redis://127.0.0.1:6379/11"
    if not _redis_answers(url):
        if REQUIRE_SERVICES:
            pytest.fail("PDP_REQUIRE_SERVICES=1 but Redis does not answer on 127.0.0.1:6379")
        pytest.skip("needs Redis on 127.0.0.1:6379")
    settings.CELERY_BROKER_URL = url
    status, body = ready(client)
    assert (status, body["components"]["broker"]["detail"]) == (200, "redis broker answers")


@pytest.mark.services
def test_a_rabbitmq_broker_that_answers_is_ready(client, beating, settings):
    url = "amqp://guest:guest@127.0.0.1:5672//"
    settings.CELERY_BROKER_URL = url
    status, body = ready(client)
    if status != 200 and not REQUIRE_SERVICES:
        pytest.skip(f"needs RabbitMQ on 127.0.0.1:5672 ({body['components']['broker']['detail']})")
    assert (status, body["components"]["broker"]["detail"]) == (200, "amqp broker answers")


def test_an_audit_head_sealed_without_the_key_fails(client, beating, settings):
    """The newest event's seal is not the audit key's (written by someone without it): not ready."""
    settings.PDP_AUDIT_KEY = "the-key-the-event-was-sealed-with"
    event = record_event("test.forged", actor=None)
    settings.PDP_AUDIT_KEY = "the-portal's-own-key"
    status, body = ready(client)
    assert (status, body["failed"]) == (503, ["audit_chain"])
    assert body["components"]["audit_chain"]["detail"] == f"event #{event.pk}: its seal is not the audit key's"


def test_an_audit_head_whose_content_changed_fails(client, beating):
    """The newest event's stored hash no longer matches its content (edited in place; SQLite has no trigger)."""
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the edit itself (audit_append_only)")
    event = record_event("test.edited", actor=None)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'test.rewritten' WHERE id = %s", [event.pk])
    status, body = ready(client)
    assert (status, body["failed"]) == (503, ["audit_chain"])
    assert body["components"]["audit_chain"]["detail"] == f"event #{event.pk}: stored hash does not match its content"


def test_readiness_needs_no_login_and_sets_no_cookie_and_is_fast(client, beating, django_assert_max_num_queries):
    """Anonymous, no session: three queries, well under 100 ms here."""
    client.get("/readyz")  # the first request of a process imports what the others reuse
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        with django_assert_max_num_queries(3):
            response = client.get("/readyz")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200 and response.cookies == {}
    assert min(timings) < 0.1, timings
