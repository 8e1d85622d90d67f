"""A batch with one bad citizen among good ones is refused whole, naming the first bad one and what is wrong."""

import pytest

from decisions.models import DecisionBatch

IN_FORCE = "2025-01-15"


def good(i):
    return {"account_id": f"acct-{i}", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True}}


@pytest.mark.parametrize(
    "bad, message",
    [
        (["acct-x", {}], 'citizens[3]: write it as {"account_id": …, "citizen": {…}}.'),
        ({"account_id": "a", "citizen": {}, "extra": 1}, 'citizens[3]: write it as {"account_id": …, "citizen": {…}}.'),
        ({"account_id": "a", "citizens": {}}, 'citizens[3]: write it as {"account_id": …, "citizen": {…}}.'),
        ({"account_id": 7, "citizen": {}}, "citizens[3].account_id: text of 1 to 100 characters is required."),
        ({"account_id": " \t", "citizen": {}}, "citizens[3].account_id: text of 1 to 100 characters is required."),
        ({"account_id": "a" * 101, "citizen": {}}, "citizens[3].account_id: text of 1 to 100 characters is required."),
        ({"account_id": None, "citizen": {}}, "citizens[3].account_id: text of 1 to 100 characters is required."),
        ({"account_id": "a", "citizen": [1]}, "citizens[3].citizen: an object is required."),
        ({"account_id": "a", "citizen": None}, "citizens[3].citizen: an object is required."),
    ],
)
def test_the_first_bad_citizen_is_named(in_production, client, bad, message):
    items = [good(i) for i in range(10)]
    items[3] = bad
    items[6] = {"account_id": 6, "citizen": {}}  # also bad, but after the first
    response = client.post("/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert not DecisionBatch.objects.exists()


def test_an_account_id_of_exactly_the_limit_with_spaces_around_is_taken_as_sent(in_production, client):
    items = [good(i) for i in range(3)]
    items[1]["account_id"] = " " + "a" * 98 + " "
    response = client.post("/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json")
    assert response.status_code == 200
    assert [r["account_id"] for r in response.json()["results"]] == [item["account_id"] for item in items]
