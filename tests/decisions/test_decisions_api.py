import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from deployments.models import TestAccount
from deployments.services import rollback

ADULT_IN_ZONE = {"age": 40, "in_fire_zone": True, "home_damaged": True}
# The wildfire example is valid from 2024-09-01 to 2025-08-31; decisions are asked for a day within.
IN_FORCE = "2025-01-15"


def ask(user, citizen, account_id="acct-1", on=IN_FORCE):
    client = APIClient()
    client.force_authenticate(user)
    body = {"account_id": account_id, "citizen": citizen, "date": on}
    return client.post("/api/v1/decisions", body, format="json")


def test_everyone_gets_the_production_version(in_production, system):
    """An ordinary account is decided by the version live in production."""
    response = ask(system, ADULT_IN_ZONE)
    assert response.status_code == 200
    (answer,) = response.json()["decisions"]
    assert answer == {
        "rule": "wildfire-aid-2024",
        "version": 1,
        "content_hash": in_production.content_hash,
        "environment": "production",
        "in_force": True,
        "eligible": True,
        "amount": 5000.0,
    }


def test_a_test_account_sees_staging(on_staging, system):
    """A registered test account is decided by the staging version; others see nothing not in production."""
    TestAccount.objects.create(account_id="tester")
    assert ask(system, ADULT_IN_ZONE, "tester").json()["decisions"][0]["environment"] == "staging"
    assert ask(system, ADULT_IN_ZONE, "someone").json()["decisions"] == []


def test_a_rollback_takes_effect_for_the_next_decision(in_production, system, release_manager):
    """After rolling production back to v0 the very next decision has no rule in force."""
    assert len(ask(system, ADULT_IN_ZONE).json()["decisions"]) == 1
    rollback(in_production.rule, actor=release_manager, reason="pause", to="v0")
    assert ask(system, ADULT_IN_ZONE).json()["decisions"] == []


def test_ineligible_citizen_gets_zero(in_production, system):
    """A minor is not eligible and is paid nothing."""
    answer = ask(system, {"age": 12, "in_fire_zone": True, "home_damaged": True}).json()["decisions"][0]
    assert (answer["eligible"], answer["amount"]) == (False, 0.0)


@pytest.mark.parametrize(
    "who, status",
    [
        ("anonymous", 401),
        ("outsider", 403),
        ("drafter", 403),
        ("counsel", 403),
        ("superuser", 403),
        ("system", 200),
        ("release_manager", 200),
    ],
)
def test_decision_permissions(who, status, request, in_production):
    """Only systems and release managers may ask for decisions; being a superuser is not enough."""
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(request.getfixturevalue(who))
    response = client.post("/api/v1/decisions", {"account_id": "a", "citizen": {}}, format="json")
    assert response.status_code == status


def test_bad_body_is_400(system, db):
    """A decision request without a citizen object is refused with a clear message."""
    response = ask(system, "not an object")
    assert response.status_code == 400
    assert "citizen" in response.json()["error"]["message"]
    assert Group.objects.filter(name="Systems").exists()


def test_the_trailing_slash_answers_the_same(system, in_production):
    """`/decisions/` is the same endpoint as `/decisions`, documented once in the schema."""
    client = APIClient()
    client.force_authenticate(system)
    body = {"account_id": "acct-1", "citizen": ADULT_IN_ZONE, "date": IN_FORCE}
    with_slash = client.post("/api/v1/decisions/", body, format="json")
    assert with_slash.status_code == 200
    assert with_slash.json()["decisions"] == client.post("/api/v1/decisions", body, format="json").json()["decisions"]
