"""Sign-in throttling: wrong passwords lock a name out (portal, admin and API alike), the API token
endpoint is rate-limited, and every failure and lockout is in the audit history."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.api.support import assert_error_body
from tests.deployments.support import PASSWORD

TOKEN = "/api/v1/auth/token/"


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def test_wrong_passwords_on_the_portal_lock_the_name_out_and_are_recorded(client, counsel, limit):
    for attempt in range(1, limit):
        response = client.post("/login/", {"username": "counsel", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
        assert len(events("auth.login.failed")) == attempt
    response = client.post("/login/", {"username": "counsel", "password": "wrong"})
    assert response.status_code == 429
    page = " ".join(response.content.decode().split())
    assert "Sign-in paused for counsel" in page and "for 15 minutes" in page and "3 wrong passwords" in page
    # The failure that locks the name out is recorded as the lockout.
    failed, lockout = events("auth.login.failed"), events("auth.login.lockout")
    assert len(failed) == limit - 1 and len(lockout) == 1
    assert lockout[0].data == {"username": "counsel", "via": "portal", "failures": 3, "cooloff_minutes": 15.0}
    assert (lockout[0].target_id, lockout[0].outcome, lockout[0].ip) == (str(counsel.pk), "refused", "127.0.0.1")
    assert all("password" not in e.data for e in failed)

    # Locked out: even the right password is refused, and the attempt is not recorded one by one.
    response = client.post("/login/", {"username": "counsel", "password": PASSWORD})
    assert response.status_code == 429
    assert len(events("auth.login.failed")) == limit - 1 and len(events("auth.login.lockout")) == 1
    assert "_auth_user_id" not in client.session

    call_command("axes_reset_username", "counsel")  # what an administrator does to lift it
    response = client.post("/login/", {"username": "counsel", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(counsel.pk)


def test_the_api_locks_out_the_same_way_with_a_json_429(counsel, limit):
    client = APIClient()
    for _ in range(limit - 1):
        assert_error_body(client.post(TOKEN, {"username": "counsel", "password": "x"}, format="json"), 400)
    response = client.post(TOKEN, {"username": "counsel", "password": "x"}, format="json")
    assert_error_body(response, 429, "locked_out")
    assert "paused for 15 minutes" in response.json()["error"]["message"]
    assert int(response["Retry-After"]) == 900
    response = client.post(TOKEN, {"username": "counsel", "password": PASSWORD}, format="json")
    assert_error_body(response, 429, "locked_out")
    assert [e.data["via"] for e in events("auth.login.lockout")] == ["api"]


def test_a_right_password_clears_the_count(client, counsel, limit):
    for _ in range(limit - 1):
        client.post("/login/", {"username": "counsel", "password": "wrong"})
    assert client.post("/login/", {"username": "counsel", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(limit - 1):
        assert client.post("/login/", {"username": "counsel", "password": "wrong"}).status_code == 200
    assert not events("auth.login.lockout")


def test_an_unknown_name_is_recorded_and_locked_out_too(client, db, limit):
    for _ in range(limit):
        response = client.post("/login/", {"username": "nobody", "password": "guess"})
    assert response.status_code == 429
    assert [(e.target_id, e.data["username"]) for e in events("auth.login.failed")] == [("", "nobody")] * (limit - 1)
    assert [e.data["username"] for e in events("auth.login.lockout")] == ["nobody"]


def test_the_token_endpoint_is_rate_limited_per_address(counsel, settings):
    settings.PDP_LOGIN_RATE = "3/min"
    client = APIClient()
    for _ in range(3):
        assert client.post(TOKEN, {"username": "counsel", "password": PASSWORD}, format="json").status_code == 200
    response = client.post(TOKEN, {"username": "counsel", "password": PASSWORD}, format="json")
    assert_error_body(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
