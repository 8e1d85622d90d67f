"""Every endpoint in pdp_portal/api_urls.py against anonymous, outsider, wrong role and right role.

A refused request answers with the JSON error body and changes nothing.
"""

from datetime import timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone

from tests.api.support import assert_error_body, audit_ids, state
from tests.conftest import document

SLUG = "wildfire-aid-2024"

# endpoint: (state fixture, method, path, body)
ENDPOINTS = {
    "rules-list": ("in_review", "get", "/api/v1/rules/", None),
    "rules-push": ("db", "post", "/api/v1/rules/", "document"),
    "rule": ("in_review", "get", f"/api/v1/rules/{SLUG}/", None),
    "version": ("in_review", "get", f"/api/v1/rules/{SLUG}/versions/1/", None),
    "review": ("in_review", "post", f"/api/v1/rules/{SLUG}/versions/1/reviews/", "review"),
    "comment": ("in_review", "post", f"/api/v1/rules/{SLUG}/versions/1/comments/", {"body": "Which section?"}),
    "promote": ("on_staging", "post", f"/api/v1/rules/{SLUG}/promote/", {}),
    "deploy again": ("rolled_back", "post", f"/api/v1/rules/{SLUG}/promote/", {"version": 1}),
    "rollback": ("in_production", "post", f"/api/v1/rules/{SLUG}/rollback/", {"reason": "Congress requested pause"}),
    "schedules": ("scheduled", "get", f"/api/v1/rules/{SLUG}/schedules/", None),
    "schedule": ("on_staging", "post", f"/api/v1/rules/{SLUG}/schedules/", "in a day"),
    "unschedule": ("scheduled", "post", f"/api/v1/rules/{SLUG}/schedules/{{schedule}}/cancel/", {}),
    "decisions": (
        "in_production",
        "post",
        "/api/v1/decisions",
        {"account_id": "acct-1", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True}},
    ),
    "decisions batch": (
        "in_production",
        "post",
        "/api/v1/decisions/batch",
        {"citizens": [{"account_id": "acct-1", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True}}]},
    ),
}

# (endpoint, who, expected status). "Wrong role" is a portal role that may not do this; reads are
# open to every portal role, so they have none.
MATRIX = [
    ("rules-list", None, 401),
    ("rules-list", "outsider", 200),  # a list answers with what you may see: nothing
    ("rules-list", "counsel", 200),
    ("rules-push", None, 401),
    ("rules-push", "outsider", 403),
    ("rules-push", "counsel", 403),
    ("rules-push", "release_manager", 403),
    ("rules-push", "drafter", 201),
    ("rule", None, 401),
    ("rule", "outsider", 404),
    ("rule", "budget_officer", 200),
    ("rule", "release_manager", 200),
    ("version", None, 401),
    ("version", "outsider", 404),
    ("version", "counsel", 200),
    ("version", "drafter", 200),
    ("review", None, 401),
    ("review", "outsider", 404),
    ("review", "release_manager", 403),
    ("review", "superuser", 403),
    ("review", "drafter", 403),
    ("review", "counsel", 201),
    ("review", "budget_officer", 201),
    ("comment", None, 401),
    ("comment", "outsider", 404),
    ("comment", "drafter", 201),
    ("comment", "counsel", 201),
    ("comment", "release_manager", 201),
    ("promote", None, 401),
    ("promote", "outsider", 404),
    ("promote", "counsel", 403),
    ("promote", "drafter", 403),
    ("promote", "release_manager", 201),
    ("deploy again", None, 401),
    ("deploy again", "outsider", 404),
    ("deploy again", "budget_officer", 403),
    ("deploy again", "drafter", 403),
    ("deploy again", "release_manager", 201),
    ("rollback", None, 401),
    ("rollback", "outsider", 404),
    ("rollback", "budget_officer", 403),
    ("rollback", "drafter", 403),
    ("rollback", "release_manager", 201),
    ("rollback", "oversight", 201),
    ("promote", "oversight", 403),
    ("schedules", None, 401),
    ("schedules", "outsider", 404),
    ("schedules", "counsel", 200),
    ("schedules", "oversight", 200),
    ("schedule", None, 401),
    ("schedule", "outsider", 404),
    ("schedule", "counsel", 403),
    ("schedule", "oversight", 403),
    ("schedule", "drafter", 403),
    ("schedule", "release_manager", 201),
    ("unschedule", None, 401),
    ("unschedule", "outsider", 404),
    ("unschedule", "budget_officer", 403),
    ("unschedule", "oversight", 403),
    ("unschedule", "release_manager", 200),
    ("decisions", None, 401),
    ("decisions", "outsider", 403),
    ("decisions", "drafter", 403),
    ("decisions", "system", 200),
    ("decisions", "release_manager", 200),
    ("decisions batch", None, 401),
    ("decisions batch", "outsider", 403),
    ("decisions batch", "drafter", 403),
    ("decisions batch", "system", 200),
    ("decisions batch", "release_manager", 200),
]


def test_matrix_covers_every_api_route():
    """Each route of pdp_portal/api_urls.py (besides the token endpoint) is in the matrix."""
    from pdp_portal import api_urls

    names = {p.name for p in api_urls.urlpatterns if p.name}
    assert names == {
        "api-token", "api-token-revoke", "api-decisions-slash", "api-rules", "api-rule", "api-version", "api-review", "api-comment", "api-promote", "api-rollback", "api-decisions", "api-decisions-batch",
        "api-schedules", "api-schedule-cancel",
    }  # fmt: skip
    assert {endpoint for endpoint, _, _ in MATRIX} == set(ENDPOINTS)
    # `/decisions/` answers as `/decisions` does (tests/decisions), undocumented in the schema.
    assert get_resolver().resolve("/api/v1/decisions/").func.cls.post is not None


@pytest.fixture
def scheduled(on_staging, release_manager):
    """v1 on staging, its promotion to production scheduled for tomorrow (`scheduled_id`)."""
    from deployments.services import schedule_promotion

    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=timezone.now() + timedelta(days=1))
    on_staging.scheduled_id = schedule.pk
    return on_staging


def body_for(kind, version):
    if kind == "document":
        return document()
    if kind == "in a day":
        return {"at": (timezone.now() + timedelta(days=1)).isoformat()}
    if kind == "review":
        return {"decision": "approve", "expected_hash": version.content_hash}
    return kind


@pytest.mark.parametrize(
    ("endpoint", "who", "expected"), MATRIX, ids=[f"{e}-{w or 'anonymous'}-{s}" for e, w, s in MATRIX]
)
def test_permission_matrix(db, request, api, endpoint, who, expected):
    """The endpoint answers this person with the expected status; a refusal is a JSON error and changes nothing."""
    fixture, method, path, body = ENDPOINTS[endpoint]
    version = request.getfixturevalue(fixture)
    user = request.getfixturevalue(who) if who else None
    client = api(user)
    payload = body_for(body, version)
    path = path.format(schedule=getattr(version, "scheduled_id", None))
    before, before_ids = state(), audit_ids()
    if method == "get":
        response = client.get(path)
    elif isinstance(payload, bytes):
        response = client.post(path, data=payload, content_type="application/json")
    else:
        response = client.post(path, payload, format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert_error_body(response, expected)
        assert state() == before
        from audit.models import AuditEvent

        new = list(AuditEvent.objects.exclude(id__in=before_ids))
        assert all(e.outcome == "refused" for e in new)
        assert len(new) <= 1
    elif endpoint == "rules-list":
        rules = response.json()["rules"]
        assert [r["rule"] for r in rules] == ([] if who == "outsider" else [SLUG])
