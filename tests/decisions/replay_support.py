"""Recorded decisions for the replay and rollback-impact tests: asked through the API, or written as one batch."""

import io
import json
from datetime import date, timedelta

import polars as pl
from rest_framework.test import APIClient

from decisions.models import DecisionBatch
from decisions.recorder import DECISION_SCHEMA, pack_inputs
from tests.conftest import WILDFIRE, document

IN_FORCE = "2025-01-15"  # within the wildfire example's valid_from..valid_to


def citizen(age):
    return {"age": age, "in_fire_zone": True, "home_damaged": True}


# Ten decisions under the wildfire example (adults paid 5,000): six aged 40 and two aged 20 eligible, two minors not.
AGES = [40, 40, 40, 20, 12, 40, 20, 40, 12, 40]


def ask_all(user, ages=AGES, *, prefix="acct"):
    """One decision per age, each its own request (inline log mode: one batch each). Returns the request ids."""
    client = APIClient()
    client.force_authenticate(user)
    ids = []
    for n, age in enumerate(ages):
        body = {"account_id": f"{prefix}-{n}", "citizen": citizen(age), "date": IN_FORCE}
        response = client.post("/api/v1/decisions", body, format="json")
        assert response.status_code == 200, response.content
        ids.append(response["X-Request-ID"])
    return ids


def stricter_and_richer():
    """v2 of the wildfire example: from 21 (not 18) and paying 6,000 (not 5,000)."""
    eligibility = json.loads(json.dumps(WILDFIRE["eligibility"]))
    eligibility["and"][0] = {">=": [{"var": "age"}, 21]}
    tests = json.loads(json.dumps(WILDFIRE["tests"]))
    for case in tests:
        if case["expect"]["eligible"]:
            case["expect"]["amount"] = 6000
    return document(eligibility=eligibility, amount=6000, max_payment=6000, tests=tests, title="Amended")


def _ipc(frame):
    out = io.BytesIO()
    frame.write_ipc(out)
    return out.getvalue()


def record_batch(version, environment, rows, *, start):
    """One batch of decisions under `version`: rows of (account, age, eligible, amount), one second apart from `start`."""
    at = [start + timedelta(seconds=n) for n in range(len(rows))]
    decisions = pl.DataFrame(
        {
            "at": at,
            "on": [date.fromisoformat(IN_FORCE)] * len(rows),
            "request_id": [f"req-{start.timestamp():.0f}-{n}" for n in range(len(rows))],
            "account": [account for account, *_ in rows],
            "test_account": [False] * len(rows),
            "in_force": [True] * len(rows),
            "eligible": [eligible for _, _, eligible, _ in rows],
            "amount": [float(amount) for *_, amount in rows],
            "error": [None] * len(rows),
        },
        schema=DECISION_SCHEMA,
    )
    return DecisionBatch.objects.create(
        rule=version.rule,
        version=version,
        environment=environment,
        content_hash=version.content_hash,
        first_at=at[0],
        last_at=at[-1],
        count=len(rows),
        eligible_count=sum(1 for _, _, eligible, _ in rows if eligible),
        decisions=_ipc(decisions),
        inputs=pack_inputs(None, [citizen(age) for _, age, _, _ in rows]),
        writer="tests",
    )


def stricter_and_richer_from(valid_from):
    """The same v2, in force only from `valid_from`."""
    document_ = json.loads(stricter_and_richer())
    document_["valid_from"] = valid_from
    return json.dumps(document_).encode()
