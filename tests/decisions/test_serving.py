"""The serving snapshot: one query per decision, and every change that alters a decision seen at once."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import remove_role
from decisions import serving
from deployments.models import TestAccount
from deployments.services import rollback
from tokens.models import ApiToken, Scope
from tokens.services import issue_token, revoke_token

ADULT_IN_ZONE = {"age": 40, "in_fire_zone": True, "home_damaged": True}
IN_FORCE = "2025-01-15"


@pytest.fixture
def client_of(superuser):
    """A client sending a decisions token of `user`, as a payment system does (no session)."""

    def _client(user):
        _, key = issue_token(user, actor=superuser, name="payments", scope=Scope.DECISIONS)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _client


def ask(client, account_id="acct-1", citizen=ADULT_IN_ZONE, on=IN_FORCE):
    return client.post("/api/v1/decisions", {"account_id": account_id, "citizen": citizen, "date": on}, format="json")


@pytest.fixture
def log_off(settings):
    """The tests write the decision log inside the request (inline); served for real, the request only hands its
    decisions to the writer thread (test_recorder.py). Off here, so the request's own queries are what is counted."""
    settings.PDP_DECISION_LOG = False


def test_a_decision_costs_one_query_once_the_snapshot_is_read(in_production, system, client_of, log_off):
    """After the first request, a decision reads the serving generation and nothing else."""
    client = client_of(system)
    assert ask(client).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        response = ask(client)
    assert response.status_code == 200
    assert response.json()["decisions"][0]["eligible"] is True
    assert [q["sql"] for q in queries.captured_queries] == [serving._GENERATION_SQL]


def test_a_rollback_is_seen_by_the_next_decision(in_production, system, client_of, release_manager):
    client = client_of(system)
    assert ask(client).json()["decisions"][0]["version"] == 1
    rollback(in_production.rule, actor=release_manager, reason="pause", to="v0")
    assert ask(client).json()["decisions"] == []


def test_a_revoked_token_is_refused_by_the_next_decision(in_production, system, superuser):
    """The token was found in the snapshot; its revocation moves the generation, so it is looked up again."""
    token, key = issue_token(system, actor=superuser, name="payments", scope=Scope.DECISIONS)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert ask(client).status_code == 200
    revoke_token(token, actor=superuser)
    response = ask(client)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_lost_role_is_refused_by_the_next_decision(in_production, system, client_of, superuser, settings):
    client = client_of(system)
    assert ask(client).status_code == 200
    remove_role(system, actor=superuser, group=settings.PDP_SYSTEMS_GROUP)
    assert ask(client).status_code == 403


def test_a_deactivated_account_is_refused_by_the_next_decision(in_production, system, client_of):
    client = client_of(system)
    assert ask(client).status_code == 200
    system.is_active = False
    system.save(update_fields=["is_active"])
    assert ask(client).status_code == 401


def test_a_new_test_account_sees_staging_at_once(with_v2_live, system, client_of, release_manager):
    """v2 is live everywhere; rolling production back to v1 leaves v2 on staging for test accounts."""
    _, v2 = with_v2_live
    rollback(v2.rule, actor=release_manager, reason="pause", to="previous")
    client = client_of(system)
    assert ask(client, "tester").json()["decisions"][0]["environment"] == "production"
    TestAccount.objects.create(account_id="tester")
    answer = ask(client, "tester").json()
    assert answer["test_account"] is True
    assert answer["decisions"][0]["environment"] == "staging"


def test_a_login_does_not_move_the_generation(system, db):
    """Saving only last_login (every sign-in) changes nothing a decision reads."""
    before = serving.generation()
    system.save(update_fields=["last_login"])
    assert serving.generation() == before
    system.groups.add(Group.objects.get(name="Systems"))  # already a member: Django adds nothing
    assert serving.generation() == before
    system.groups.add(Group.objects.create(name="Another"))
    assert serving.generation() != before


def test_last_use_is_written_at_most_once_a_minute_from_the_snapshot(in_production, system, client_of, log_off):
    client = client_of(system)
    ask(client)
    token = ApiToken.objects.get(user=system)
    first = token.last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            ask(client)
    assert len(queries.captured_queries) == 3  # the generation each time, no write
    token.refresh_from_db()
    assert token.last_used_at == first


def test_the_generation_never_returns_to_a_value_read_before(db):
    """A bump rolled back with its transaction is not reused by the next one (values are clock-based)."""
    from django.db import transaction

    from decisions.signals import bump_generation

    start = serving.generation()
    with pytest.raises(RuntimeError), transaction.atomic():
        bump_generation()
        inside = serving.generation()
        raise RuntimeError
    assert serving.generation() == start
    bump_generation()
    assert serving.generation() not in (start, inside)
