"""The database connection dropped: the request answers 503 with a clear message, not a 500 page, and
nothing is half-written.

The connection serving the request is really ended, by pg_terminate_backend from a second
connection, as a database restart or a failover ends it: between two requests (a page and an API
read), and in the middle of a push, after its rule, version and audit event are written and before
its check is (on the portal and on the API). Between requests the test then reconnects, as a WSGI
server does at the start of the next request.
"""

import time

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import verify_chain
from checks.models import CheckRun
from deployments.apps import ensure_environments
from rules.models import Rule, RuleVersion
from tests.api.conftest import token_for
from tests.conftest import document, require_postgres
from tests.deployments.support import POSTGRES_ONLY

from .support import WAIT, tally, wait_for

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]

MESSAGE = "The portal cannot reach its database just now, so your request was not completed."


def terminate(backend_pid):
    """End a database session from another connection, and wait until it is gone."""
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
        autocommit=True,
    ) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone()[0]
        wait_for(
            lambda: not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid]).fetchone(),
            what=f"backend {backend_pid} gone",
            seconds=10,
        )


def drop_connection():
    """Terminate the session this thread's requests use (the test client serves them on this thread)."""
    connection.ensure_connection()
    terminate(connection.connection.info.backend_pid)


class DropBeforeInsertInto:
    """An execute wrapper that ends the request's own session just before its first INSERT into `table`."""

    def __init__(self, table):
        self.table = f'"{table}"'
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and sql.lstrip().upper().startswith("INSERT") and self.table in sql:
            self.fired = True
            terminate(context["connection"].connection.info.backend_pid)
        return execute(sql, params, many, context)


def reconnect():
    """What a WSGI server does at the start of the next request: drop an unusable connection."""
    connection.close()


def rows():
    """Everything a push writes."""
    return (Rule.objects.count(), RuleVersion.objects.count(), CheckRun.objects.count(), AuditEvent.objects.count())


def test_a_dropped_database_connection_answers_503_and_writes_nothing(client, drafter, capsys):
    """Four drops (page, API read, portal push, API push): each a 503 with the message, and no row written."""
    require_postgres()
    ensure_environments()
    client.force_login(drafter)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(drafter)}")
    raw = document(rule="fault-db-dropped")
    survived = lost = duplicated = 0
    events_before = list(AuditEvent.objects.order_by("id").values_list("id", "hash"))
    started = time.monotonic()

    def judge(response, *, json_body, before):
        nonlocal survived, duplicated
        reconnect()
        assert response.status_code == 503, response.content[:2000]
        assert response["Retry-After"] == "30"
        if json_body:
            assert response["Content-Type"] == "application/json"
            error = response.json()["error"]
            assert error["code"] == "database_unavailable" and error["message"].startswith(MESSAGE)
        else:
            assert response["Content-Type"].startswith("text/html")
            page = response.content.decode()
            assert '<html lang="en">' in page and "<title>Service unavailable" in page and MESSAGE in page
        # A row the failed attempt left would be doubled by the person's retry (a second version).
        half_written = [now - then for now, then in zip(rows(), before, strict=True)]
        duplicated += sum(half_written)
        survived += half_written == [0, 0, 0, 0]

    # Between two requests: a page, then an API read.
    before = rows()
    drop_connection()
    judge(client.get(reverse("home")), json_body=False, before=before)
    drop_connection()
    judge(api.get("/api/v1/rules/"), json_body=True, before=before)

    # In the middle of a push, after the rule, the version and the audit event, before the check.
    for send, json_body in (
        (lambda: client.post(reverse("rule-upload"), {"text": raw.decode()}), False),
        (lambda: api.post("/api/v1/rules/", raw, content_type="application/json"), True),
    ):
        before = rows()
        drop = DropBeforeInsertInto(CheckRun._meta.db_table)
        with connection.execute_wrapper(drop):
            response = send()
        assert drop.fired, "the push never reached its check"
        judge(response, json_body=json_body, before=before)

    # Lost: an event written before the drops that is gone. The push goes through once the database answers.
    lost = len(set(events_before) - set(AuditEvent.objects.order_by("id").values_list("id", "hash")))
    assert client.post(reverse("rule-upload"), {"text": raw.decode()}).status_code == 302
    assert RuleVersion.objects.filter(rule__slug="fault-db-dropped").count() == 1
    line = tally("database connection dropped", capsys, survived=survived, total=4, lost=lost, duplicated=duplicated)
    assert line == "faults survived 4/4, lost 0, duplicated 0"
    assert verify_chain()[1] == []
    assert time.monotonic() - started < WAIT
