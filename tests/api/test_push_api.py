"""POST /api/v1/rules/: a push over the API creates v1 and answers 201 with the content hash."""

import hashlib
import json

from engine.document import canonical_text
from rules.models import RuleVersion
from tests.conftest import document, last_event


def test_push_creates_v1(db, api, drafter, django_capture_on_commit_callbacks):
    """The raw JSON body becomes v1; the answer is 201 with the hash of the canonical text and a Location."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api(drafter).post("/api/v1/rules/", data=document(), content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    expected_hash = hashlib.sha256(canonical_text(json.loads(document())).encode()).hexdigest()
    assert (body["rule"], body["name"], body["number"], body["label"]) == (
        "wildfire-aid-2024",
        "Wildfire-Aid-2024",
        1,
        "v1",
    )
    assert body["content_hash"] == expected_hash
    assert body["uploaded_by"] == "drafter"
    assert response["Location"] == "/api/v1/rules/wildfire-aid-2024/versions/1/"
    version = RuleVersion.objects.get()
    assert (version.number, version.content_hash, version.uploaded_by) == (1, expected_hash, drafter)
    event = last_event("rule.push")
    assert (event.outcome, event.actor, event.ip, event.data["number"]) == ("done", drafter, "127.0.0.1", 1)


def test_pushed_version_goes_through_its_checks(db, api, drafter, django_capture_on_commit_callbacks):
    """After the commit the checks run; the version endpoint then shows it in review with both checks passed."""
    client = api(drafter)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/v1/rules/", data=document(), content_type="application/json")
    body = client.get("/api/v1/rules/wildfire-aid-2024/versions/1/").json()
    assert body["status"] == "in_review"
    assert (body["lint"]["status"], body["simulation"]["status"]) == ("passed", "passed")
    assert body["simulation"]["result"]["within_budget"] is True
    assert body["missing_roles"] == ["legal", "budget"]
    assert body["document"] == json.loads(document())


def test_second_push_is_v2(in_review, api, drafter):
    """A changed document pushed over the API is v2 of the same rule."""
    response = api(drafter).post("/api/v1/rules/", data=document(title="Amended"), content_type="application/json")
    assert response.status_code == 201
    assert response.json()["number"] == 2
    in_review.refresh_from_db()
    assert in_review.status == "superseded"


def test_push_body_is_read_whatever_the_content_type(db, api, drafter):
    """The body is the document, whatever content type the client sends it with."""
    response = api(drafter).post("/api/v1/rules/", data=b'{"rule": "plain", "cost": 1}', content_type="text/plain")
    assert response.status_code == 201
    assert response.json()["rule"] == "plain"
