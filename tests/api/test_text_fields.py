"""Text fields of request bodies are JSON strings: a number or a boolean where text goes is refused, not turned
into text (the schema says string; DRF's CharField would read 0 as "0")."""

import pytest

from tests.api.support import assert_error_body, state

SLUG = "wildfire-aid-2024"
ADULT = {"age": 40, "in_fire_zone": True, "home_damaged": True}


@pytest.mark.parametrize(
    "who, path, body, field",
    [
        ("system", "/api/v1/decisions", {"account_id": 0, "citizen": ADULT}, "account_id"),
        ("system", "/api/v1/decisions", {"account_id": True, "citizen": ADULT}, "account_id"),
        ("release_manager", f"/api/v1/rules/{SLUG}/rollback/", {"reason": 123}, "reason"),
        ("release_manager", f"/api/v1/rules/{SLUG}/rollback/", {"reason": "Paused.", "to": 0}, "to"),
        ("release_manager", f"/api/v1/rules/{SLUG}/promote/", {"note": False}, "note"),
        ("counsel", f"/api/v1/rules/{SLUG}/versions/1/comments/", {"body": 5}, "body"),
        (None, "/api/v1/auth/token/", {"username": 12345, "password": "x"}, "username"),
    ],
    ids=["account-id-0", "account-id-true", "reason-number", "to-number", "note-false", "comment-number", "username"],
)
def test_a_number_where_text_goes_is_a_400_at_its_field(in_production, api, request, who, path, body, field):
    """400 with the field named and "Not text"; nothing changes."""
    if who is not None:
        request.getfixturevalue(who)
    client = api(request.getfixturevalue(who) if who else None)
    before = state()
    error = assert_error_body(client.post(path, body, format="json"), 400)
    assert "Not text: write it as a JSON string, in quotes." in str(error), error
    assert field in str(error), error
    assert state() == before


def test_the_decision_still_takes_a_text_account_id(in_production, api, system):
    """The same request with the account id in quotes is answered."""
    response = api(system).post("/api/v1/decisions", {"account_id": "0", "citizen": ADULT}, format="json")
    assert response.status_code == 200
