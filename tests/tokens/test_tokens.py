"""tokens/: API tokens expire, can be revoked, and a system's opens only decisions; people see and
revoke their own in the portal."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from tests.api.support import assert_error_body
from tests.conftest import make_user
from tokens.models import ApiToken, hash_key
from tokens.services import issue_token, revoke_token

ADULT = {"age": 40, "in_fire_zone": True, "home_damaged": True}


def with_key(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def last(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


@pytest.fixture
def system(db):
    return make_user("payments", settings.PDP_SYSTEMS_GROUP)


def test_issue_keeps_only_a_hash_and_records_the_prefix(counsel):
    token, key = issue_token(counsel, actor=counsel, name="hms on my laptop")
    assert token.key_hash == hash_key(key) and key not in token.key_hash and token.prefix == key[:8]
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    event = last("token.issue")
    assert (event.actor, event.target_id, event.data["prefix"], event.data["scope"]) == (
        counsel,
        str(counsel.pk),
        key[:8],
        "full",
    )
    assert key not in str(event.data)
    assert with_key(key).get("/api/v1/rules/").status_code == 200


def test_an_expired_token_is_refused_with_when(counsel):
    token, key = issue_token(counsel, actor=counsel, name="old")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = with_key(key).get("/api/v1/rules/")
    assert_error_body(response, 401, "authentication_failed")
    assert "This token expired on" in response.json()["error"]["message"]


def test_a_revoked_token_stops_at_once_and_the_revocation_is_recorded(counsel):
    token, key = issue_token(counsel, actor=counsel, name="laptop")
    revoke_token(token, actor=counsel)
    response = with_key(key).get("/api/v1/rules/")
    assert_error_body(response, 401, "authentication_failed")
    assert "This token was revoked on" in response.json()["error"]["message"]
    event = last("token.revoke")
    assert (event.actor, event.data["prefix"]) == (counsel, token.prefix)
    with pytest.raises(InvalidTransition, match="revoked already"):
        revoke_token(token, actor=counsel)


def test_nobody_revokes_or_issues_for_someone_else_but_an_administrator(counsel, budget_officer, superuser):
    token, _ = issue_token(counsel, actor=counsel, name="laptop")
    with pytest.raises(NotPermitted):
        revoke_token(token, actor=budget_officer)
    with pytest.raises(NotPermitted):
        issue_token(counsel, actor=budget_officer, name="mine now")
    assert last("token.revoke").outcome == "refused" and last("token.issue").outcome == "refused"
    revoke_token(token, actor=superuser)
    assert ApiToken.objects.get(pk=token.pk).revoked_by == superuser


def test_a_system_token_opens_decisions_only(system, in_production, capsys):
    call_command("issue_token", "payments", "--scope", "decisions", "--days", "90", "--name", "payments")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert (token.scope, token.name, token.user) == ("decisions", "payments", system)
    client = with_key(key)
    answer = client.post("/api/v1/decisions", {"account_id": "acct-1", "citizen": ADULT}, format="json")
    assert answer.status_code == 200 and answer.json()["decisions"]
    response = client.get("/api/v1/rules/")
    assert_error_body(response, 403, "permission_denied")
    assert "limited to decisions only" in response.json()["error"]["message"]


def test_a_system_signing_in_with_a_password_gets_a_decisions_token_only(system, in_production):
    """A Systems account with a password gets, from POST /auth/token/, a token for decisions and nothing else."""
    system.set_password("pw-for-the-system-1")
    system.save(update_fields=["password"])
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "payments", "password": "pw-for-the-system-1"}, format="json"
    )
    assert response.status_code == 200 and response.json()["scope"] == "decisions"
    assert last("token.issue").data["scope"] == "decisions"
    client = with_key(response.json()["token"])
    assert (
        client.post("/api/v1/decisions", {"account_id": "acct-1", "citizen": ADULT}, format="json").status_code == 200
    )
    assert_error_body(client.get("/api/v1/rules/"), 403, "permission_denied")


def test_a_person_in_systems_with_a_portal_role_keeps_a_full_token(counsel):
    """Someone who also holds a portal role is a person, not a system: their own token is full."""
    make_user("counsel", settings.PDP_SYSTEMS_GROUP)
    token, _ = issue_token(counsel, actor=counsel, name="laptop")
    assert token.scope == "full"


def test_the_command_refuses_an_unknown_name(db):
    with pytest.raises(CommandError, match="No person or system named 'nobody'"):
        call_command("issue_token", "nobody")


def test_revoking_the_token_a_request_is_made_with(counsel):
    token, key = issue_token(counsel, actor=counsel, name="laptop")
    assert with_key(key).post("/api/v1/auth/token/revoke/").status_code == 204
    assert ApiToken.objects.get(pk=token.pk).is_revoked
    assert with_key(key).get("/api/v1/rules/").status_code == 401


def test_last_use_is_written_at_most_once_a_minute(counsel, django_assert_num_queries):
    token, key = issue_token(counsel, actor=counsel, name="laptop")
    client = with_key(key)
    client.get("/api/v1/rules/")
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    client.get("/api/v1/rules/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


# The portal page ---------------------------------------------------------------------------------


def test_the_page_lists_only_my_tokens_and_revokes_one(client, counsel, budget_officer):
    mine, _ = issue_token(counsel, actor=counsel, name="laptop")
    theirs, _ = issue_token(budget_officer, actor=budget_officer, name="budget-desk")
    client.force_login(counsel)
    page = client.get("/account/tokens/").content.decode()
    assert "laptop" in page and mine.prefix in page
    assert "budget-desk" not in page and theirs.prefix not in page
    response = client.post(f"/account/tokens/{mine.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=mine.pk).is_revoked
    page = client.get("/account/tokens/").content.decode()
    assert "Revoked the token laptop" in page and ">revoked</span>" in page


def test_another_persons_token_is_not_found(client, counsel, budget_officer):
    theirs, _ = issue_token(budget_officer, actor=budget_officer, name="budget-desk")
    client.force_login(counsel)
    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    assert not ApiToken.objects.get(pk=theirs.pk).is_revoked
    assert client.get(f"/account/tokens/{theirs.pk}/revoke/").status_code == 405


def test_the_page_needs_a_sign_in(client, db):
    response = client.get("/account/tokens/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_makes_the_same_queries_for_2_and_12_tokens(client, counsel, django_assert_num_queries):
    for n in range(2):
        issue_token(counsel, actor=counsel, name=f"t{n}")
    client.force_login(counsel)
    client.get("/account/tokens/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/account/tokens/")
    for n in range(10):
        issue_token(counsel, actor=counsel, name=f"more{n}")
    with django_assert_num_queries(len(few)):
        page = client.get("/account/tokens/").content.decode()
    assert page.count('<th scope="row">') == 12
