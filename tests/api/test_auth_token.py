"""POST /api/v1/auth/token/: a token for a name and password, then token authentication."""

from rest_framework.test import APIClient

from tests.api.support import assert_error_body
from tests.deployments.support import PASSWORD
from tokens.models import ApiToken, hash_key


def test_token_for_valid_credentials(counsel):
    """Right name and password give the person's token, which then authenticates requests."""
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "counsel", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    key = body["token"]
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert (token.user, token.scope, body["prefix"], body["scope"]) == (counsel, "full", key[:8], "full")
    assert body["expires_at"].startswith(token.expires_at.strftime("%Y-%m-%dT%H:%M:%S"))
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/rules/").status_code == 200


def test_each_login_gets_a_token_of_its_own(counsel):
    """Logging in again gives another token; the first still works until it expires or is revoked."""
    client = APIClient()
    first = client.post("/api/v1/auth/token/", {"username": "counsel", "password": PASSWORD}, format="json")
    second = client.post("/api/v1/auth/token/", {"username": "counsel", "password": PASSWORD}, format="json")
    assert first.json()["token"] != second.json()["token"]
    assert ApiToken.objects.live().filter(user=counsel).count() == 2


def test_a_form_encoded_login_is_refused_as_415(counsel):
    """The token endpoint reads JSON only, as strictly as the rest of the API: a form body is 415 and no token."""
    response = APIClient().post("/api/v1/auth/token/", {"username": "counsel", "password": PASSWORD})
    assert_error_body(response, 415, "unsupported_media_type")
    assert not ApiToken.objects.exists()


def test_wrong_password_is_400_with_json_error(counsel):
    """A wrong password gets 400 with the JSON error body and no token."""
    response = APIClient().post("/api/v1/auth/token/", {"username": "counsel", "password": "nope"}, format="json")
    assert_error_body(response, 400)
    assert not ApiToken.objects.exists()


def test_inactive_user_gets_no_token(counsel):
    """A deactivated account cannot log in."""
    counsel.is_active = False
    counsel.save()
    response = APIClient().post("/api/v1/auth/token/", {"username": "counsel", "password": PASSWORD}, format="json")
    assert_error_body(response, 400)


def test_missing_or_bad_token_is_401(counsel):
    """No token, or an unknown one, is 401 with a Token challenge and a JSON error."""
    client = APIClient()
    response = client.get("/api/v1/rules/")
    assert_error_body(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error_body(client.get("/api/v1/rules/"), 401, "authentication_failed")


def test_token_of_a_deactivated_user_stops_working(api, counsel):
    """Deactivating a person revokes what their token can do."""
    client = api(counsel)
    assert client.get("/api/v1/rules/").status_code == 200
    counsel.is_active = False
    counsel.save()
    assert_error_body(client.get("/api/v1/rules/"), 401)
