"""The batch endpoint's answer is written as JSON text: it must be the bytes DRF's renderer gives for the
same value, and for each citizen the answers POST /decisions gives, key for key, type for type and in the
same order; the decision log must keep what was answered."""

import json
import random

import polars as pl
import pytest
from rest_framework.renderers import JSONRenderer

from decisions.models import DecisionBatch
from decisions.recorder import read_decisions
from deployments.models import TestAccount
from deployments.services import rollback
from tests.conftest import EXAMPLES

IN_FORCE = "2025-01-15"
TIERED = json.loads((EXAMPLES / "wildfire-recovery-tiered.json").read_text())
TEST_ACCOUNTS = ("acct-7", "compte-é", "账户")


@pytest.fixture
def two_rules_live(with_v2_live, push, drafter, counsel, budget_officer, release_manager):
    """The wildfire rule with v1 in production and v2 on staging (for test accounts), and the tiered example
    in production (and on staging) beside it."""
    from tests.deployments.support import release_to_production

    _, v2 = with_v2_live
    tiered = push((EXAMPLES / "wildfire-recovery-tiered.json").read_bytes(), actor=drafter)
    release_to_production(tiered, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    rollback(v2.rule, actor=release_manager, reason="pause", to="previous")
    for account_id in TEST_ACCOUNTS:
        TestAccount.objects.create(account_id=account_id)
    return v2


def batch_items(n=40, seed=3):
    """Citizens the columns decide, with the rows they cannot: household sizes written as text (the tiered
    rule's arithmetic reads "3" as 3, and fails on "three"), an income so large its arithmetic is decided one
    at a time, cents to round, and account ids that JSON must escape or write as they are."""
    rng = random.Random(seed)
    items = [
        {
            "account_id": f"acct-{i}",
            "citizen": {
                "age": rng.randint(10, 90),
                "in_fire_zone": rng.random() < 0.8,
                "home_damaged": rng.random() < 0.5,
                "income": rng.choice([rng.randint(0, 150_000), rng.randint(10_000, 20_000)]),
                "household_size": str(rng.randint(1, 8)),
                "insured": rng.random() < 0.3,
            },
        }
        for i in range(n)
    ]
    items[1]["citizen"]["household_size"] = "three"  # an error row the columns flag
    items[2]["citizen"].update(age=40, in_fire_zone=True, home_damaged=False, income=-(10**16))  # inexact there
    items[3]["citizen"].update(age=40, in_fire_zone=True, home_damaged=False, income=15_001)  # 1349.99
    items[4]["account_id"] = "compte-é"
    items[5]["account_id"] = "账户"
    items[6]["account_id"] = 'line\u2028separator "quoted" \\ tab\t'
    return items


def typed(answer):
    """An answer's keys in order, each with its value's type: 5000 and 5000.0 are equal, but not the same JSON."""
    return [(key, type(value).__name__, value) for key, value in answer.items() if key != "content_hash"]


def assert_answered_as_one_at_a_time(client, items, on, response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    # The very bytes DRF's renderer writes for this value.
    assert response.content == JSONRenderer().render(json.loads(response.content))
    body = response.json()
    assert list(body) == ["request_id", "date", "versions", "results"]
    hashes = {(v["rule"], v["version"], v["environment"]): v["content_hash"] for v in body["versions"]}
    for item, result in zip(items, body["results"], strict=True):
        single = client.post(
            "/api/v1/decisions",
            {"account_id": item["account_id"], "citizen": item["citizen"], "date": on},
            format="json",
        ).json()
        assert list(result) == ["account_id", "test_account", "decisions"]
        assert result["account_id"] == item["account_id"]
        assert result["test_account"] is single["test_account"] is (item["account_id"] in TEST_ACCOUNTS)
        assert [typed(answer) for answer in result["decisions"]] == [typed(a) for a in single["decisions"]], item
        for answer, full in zip(result["decisions"], single["decisions"], strict=True):
            assert hashes[(answer["rule"], answer["version"], answer["environment"])] == full["content_hash"]
    return body


def test_a_batch_answers_with_the_bytes_and_answers_of_one_at_a_time(two_rules_live, client):
    items = batch_items()
    response = client.post("/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json")
    body = assert_answered_as_one_at_a_time(client, items, IN_FORCE, response)
    results = body["results"]
    tiered = {r["account_id"]: d for r in results for d in r["decisions"] if d["rule"] == TIERED["rule"]}
    assert tiered["acct-1"]["error"] and tiered["acct-1"]["eligible"] is None
    assert tiered["acct-3"]["amount"] == 1349.99
    assert {d["environment"] for d in tiered.values()} == {"staging", "production"}
    assert "\\u2028" in response.content.decode() and "\u2028" not in response.content.decode()
    assert "账户" in response.content.decode()  # written as it is, not escaped


def test_a_batch_not_in_force_answers_as_one_at_a_time(two_rules_live, client):
    items = batch_items(12)
    response = client.post("/api/v1/decisions/batch", {"citizens": items, "date": "2030-01-01"}, format="json")
    body = assert_answered_as_one_at_a_time(client, items, "2030-01-01", response)
    assert {d["in_force"] for r in body["results"] for d in r["decisions"]} == {False}


def test_the_decision_log_keeps_what_the_batch_answered(two_rules_live, client):
    items = batch_items()
    response = client.post(
        "/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json", HTTP_X_REQUEST_ID="batch-1"
    )
    citizens = {item["account_id"]: item["citizen"] for item in items}
    kept = {}
    for batch in DecisionBatch.objects.select_related("rule"):
        for row in read_decisions(batch).filter(pl.col("request_id") == "batch-1").to_dicts():
            kept[(row["account"], batch.rule.slug, batch.environment)] = row
    answered = 0
    for result in response.json()["results"]:
        for answer in result["decisions"]:
            row = kept[(result["account_id"], answer["rule"], answer["environment"])]
            assert (row["eligible"], row["amount"], row["error"]) == (
                answer["eligible"],
                answer["amount"],
                answer.get("error"),
            )
            assert row["test_account"] is result["test_account"]
            declared = TIERED["inputs"] if answer["rule"] == TIERED["rule"] else ["age", "in_fire_zone", "home_damaged"]
            citizen = citizens[result["account_id"]]
            assert json.loads(row["inputs"]) == {name: citizen[name] for name in declared}
            answered += 1
    assert answered == len(kept) == 2 * len(items)


def test_a_batch_asked_for_indented_json_gets_it_with_the_same_value(in_production, client):
    items = batch_items(8)
    plain, indented = (
        client.post(
            "/api/v1/decisions/batch",
            {"citizens": items, "date": IN_FORCE},
            format="json",
            HTTP_X_REQUEST_ID="same-id",
            HTTP_ACCEPT=accept,
        )
        for accept in ("application/json", "application/json; indent=2")
    )
    assert b"\n  " in indented.content and b"\n" not in plain.content
    assert indented.json() == plain.json()
    assert indented["X-Request-ID"] == plain["X-Request-ID"] == "same-id"


def test_a_large_batch_keeps_its_inputs_as_columns_that_read_back_as_sent(in_production, client):
    from decisions.recorder import INPUT_COLUMNS_FROM

    items = batch_items(INPUT_COLUMNS_FROM)
    items[0]["citizen"]["age"] = None  # null among numbers still fits a column
    response = client.post(
        "/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json", HTTP_X_REQUEST_ID="big"
    )
    assert response.status_code == 200
    batch = DecisionBatch.objects.get()
    assert bytes(batch.inputs).startswith(b"\xff\xff\xff\xff")  # Arrow IPC, not compressed JSON
    declared = ["age", "in_fire_zone", "home_damaged"]
    expected = [
        json.dumps({k: item["citizen"][k] for k in declared}, sort_keys=True, separators=(",", ":")) for item in items
    ]
    assert read_decisions(batch)["inputs"].to_list() == expected
