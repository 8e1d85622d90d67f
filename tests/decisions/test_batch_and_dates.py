"""Effective dating, and the batch endpoint: the same answers as one at a time, and clear refusals."""

import json
import random

import pytest
from rest_framework.test import APIClient

from decisions.models import DecisionBatch
from deployments.models import TestAccount
from deployments.services import rollback
from tests.conftest import document

IN_FORCE = "2025-01-15"


def ask(client, citizen, on=None, account_id="acct-1"):
    body = {"account_id": account_id, "citizen": citizen}
    if on is not None:
        body["date"] = on
    return client.post("/api/v1/decisions", body, format="json")


ADULT = {"age": 40, "in_fire_zone": True, "home_damaged": True}


# ------------------------------------------------------------------------------------ dates


@pytest.mark.parametrize(
    "on, in_force, why",
    [
        ("2024-08-31", False, "Not in force on 2024-08-31: this version applies from 2024-09-01."),
        ("2024-09-01", True, None),
        ("2025-08-31", True, None),
        ("2025-09-01", False, "Not in force on 2025-09-01: this version applied until 2025-08-31."),
    ],
)
def test_a_rule_is_in_force_from_valid_from_to_valid_to_inclusive(in_production, client, on, in_force, why):
    body = ask(client, ADULT, on).json()
    assert body["date"] == on
    (answer,) = body["decisions"]
    assert answer["in_force"] is in_force
    if in_force:
        assert (answer["eligible"], answer["amount"]) == (True, 5000.0)
        assert "not_in_force" not in answer
    else:
        assert (answer["eligible"], answer["amount"], answer["not_in_force"]) == (None, None, why)


def test_without_a_date_the_decision_is_for_today(in_production, client, settings):
    from django.utils import timezone

    body = ask(client, ADULT).json()
    assert body["date"] == timezone.localdate().isoformat()


def test_a_rule_without_dates_is_always_in_force(push, drafter, counsel, budget_officer, release_manager, client):
    from tests.deployments.support import release_to_production

    version = push(document(valid_from=None, valid_to=None), actor=drafter)
    release_to_production(version, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    (answer,) = ask(client, ADULT, "1999-01-01").json()["decisions"]
    assert answer["in_force"] is True and answer["eligible"] is True


@pytest.mark.parametrize("on", ["2025-13-01", "15/01/2025", "2025-01-15T00:00", "", 20250115, None])
def test_a_bad_date_is_refused_and_nothing_is_recorded(in_production, client, on):
    response = client.post("/api/v1/decisions", {"account_id": "a", "citizen": ADULT, "date": on}, format="json")
    assert response.status_code == 400
    assert "date" in json.dumps(response.json()["error"])
    assert not DecisionBatch.objects.exists()


# ------------------------------------------------------------------------------------ batch


def citizens(n, seed=7):
    rng = random.Random(seed)
    return [
        {
            "account_id": f"acct-{i}",
            "citizen": {
                "age": rng.randint(0, 90),
                "in_fire_zone": rng.random() < 0.5,
                "home_damaged": rng.random() < 0.5,
            },
        }
        for i in range(n)
    ]


def test_a_batch_answers_as_one_decision_at_a_time(with_v2_live, client, release_manager):
    """Production serves v1 after a rollback, staging v2; test accounts in the batch get v2, in order."""
    _, v2 = with_v2_live
    rollback(v2.rule, actor=release_manager, reason="pause", to="previous")
    TestAccount.objects.create(account_id="acct-3")
    items = citizens(200)
    items.append({"account_id": "odd", "citizen": {"age": "forty", "in_fire_zone": True, "home_damaged": True}})
    response = client.post("/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    assert [r["account_id"] for r in results] == [item["account_id"] for item in items]
    hashes = {(v["rule"], v["version"], v["environment"]): v["content_hash"] for v in body["versions"]}
    assert sorted(v["citizens"] for v in body["versions"]) == [1, len(items) - 1]
    for item, result in zip(items, results, strict=True):
        single = ask(client, item["citizen"], IN_FORCE, item["account_id"]).json()
        # The same answers; a batch names each version's content hash once, in `versions`.
        expected = [{k: v for k, v in answer.items() if k != "content_hash"} for answer in single["decisions"]]
        assert result["decisions"] == expected, item
        for answer, full in zip(result["decisions"], single["decisions"], strict=True):
            assert hashes[(answer["rule"], answer["version"], answer["environment"])] == full["content_hash"]
        assert result["test_account"] == single["test_account"]
    assert results[3]["decisions"][0]["environment"] == "staging"
    assert results[3]["decisions"][0]["version"] == 2
    assert results[0]["decisions"][0]["version"] == 1


def test_a_batch_outside_the_dates_is_not_in_force(in_production, client):
    response = client.post("/api/v1/decisions/batch", {"citizens": citizens(3), "date": "2030-01-01"}, format="json")
    assert [r["decisions"][0]["in_force"] for r in response.json()["results"]] == [False] * 3


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "citizens: a list of {account_id, citizen} objects is required."),
        ({"citizens": []}, "citizens: a list of {account_id, citizen} objects is required."),
        ({"citizens": "all"}, "citizens: a list of {account_id, citizen} objects is required."),
        ({"citizens": citizens(1), "extra": 1}, "Unknown field(s): extra."),
        ({"citizens": [{"account_id": "a"}]}, "citizens[0]: write it as"),
        ({"citizens": [*citizens(2), {"account_id": 5, "citizen": {}}]}, "citizens[2].account_id: text of 1 to 100"),
        ({"citizens": [{"account_id": " ", "citizen": {}}]}, "citizens[0].account_id"),
        ({"citizens": [{"account_id": "a" * 101, "citizen": {}}]}, "citizens[0].account_id"),
        ({"citizens": [{"account_id": "a", "citizen": [1]}]}, "citizens[0].citizen: an object is required."),
        ({"citizens": citizens(1), "date": "tomorrow"}, "date: 'tomorrow' is not a date"),
        ({"citizens": citizens(10_001)}, "citizens: 10,001 in one batch; the limit is 10,000. Split it."),
    ],
)
def test_a_bad_batch_is_refused_whole_and_nothing_is_recorded(in_production, client, body, message):
    response = client.post("/api/v1/decisions/batch", body, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not DecisionBatch.objects.exists()


def test_a_batch_body_over_the_limit_is_refused_by_its_size(in_production, client, settings):
    settings.PDP_DECISION_BATCH_MAX_BYTES = 2000
    response = client.post("/api/v1/decisions/batch", {"citizens": citizens(50)}, format="json")
    assert response.status_code == 400
    assert "the limit is 2,000 bytes" in response.json()["error"]["message"]


def test_ten_thousand_citizens_are_decided_and_recorded(in_production, client):
    response = client.post("/api/v1/decisions/batch", {"citizens": citizens(10_000), "date": IN_FORCE}, format="json")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 10_000
    assert sum(DecisionBatch.objects.values_list("count", flat=True)) == 10_000


def test_a_decisions_token_opens_the_batch(in_production, system, superuser):
    from tokens.models import Scope
    from tokens.services import issue_token

    _, key = issue_token(system, actor=superuser, name="payments", scope=Scope.DECISIONS)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.post("/api/v1/decisions/batch", {"citizens": citizens(2), "date": IN_FORCE}, format="json")
    assert response.status_code == 200
