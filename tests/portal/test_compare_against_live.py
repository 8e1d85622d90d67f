"""The compare page's figures against production and its version list read what the simulation and the releases say."""

import json

from django.urls import reverse

from tests.conftest import WILDFIRE, document

SLUG = "wildfire-aid-2024"


def _older_only(in_production, push, drafter):
    """v1 live in production and on staging; v2 pays from 60 instead of 18, so some people lose the payment."""
    eligibility = {"and": [{">=": [{"var": "age"}, 60]}, *WILDFIRE["eligibility"]["and"][1:]]}
    tests = json.loads(json.dumps(WILDFIRE["tests"]))
    tests[0]["citizen"]["age"] = 65  # the embedded eligible adult is old enough under v2 too
    newer = push(document(eligibility=eligibility, tests=tests), actor=drafter)
    assert newer.status == "in_review"
    return in_production, newer


def _figures(client, user):
    client.force_login(user)
    response = client.get(reverse("rule-compare", args=[SLUG]), {"from": 1, "to": 2})
    assert response.status_code == 200
    return response, {row["label"]: row for row in response.context["figures"]}


def test_who_loses_and_the_cost_change_against_production_are_shown(client, in_production, push, drafter, counsel):
    """v2 was simulated against v1 in production: its people no longer eligible and its cost change are figures."""
    _, newer = _older_only(in_production, push, drafter)
    against = newer.checks.get(kind="simulation").result["against_live"]
    assert against["no_longer_eligible"]["people"] > 0

    _, rows = _figures(client, counsel)

    assert rows["No longer eligible (people)"]["old"] == "—"  # v1 had nothing live to be compared with
    assert rows["No longer eligible (people)"]["new"] not in ("—", "0")
    assert rows["Newly eligible (people)"]["new"] == "0"
    assert rows["Cost change against production"]["new"].startswith("−$")


def test_the_version_list_says_where_a_version_is_live(client, in_production, push, drafter, counsel):
    """v1, replaced by v2 but still serving, is listed as live, not as superseded."""
    _older_only(in_production, push, drafter)

    response, _ = _figures(client, counsel)

    page = response.content.decode()
    assert ">v1 (live in production and on staging)</option>" in page
    assert ">v2 (in review)</option>" in page
    assert "superseded" not in page
