"""What a refused request must leave untouched."""

from audit.models import AuditEvent
from checks.models import CheckRun
from deployments.models import Deployment, Release, ScheduledPromotion
from reviews.models import Review
from rules.models import Rule, RuleVersion


def state():
    """Everything a request could change, except the audit history."""
    return {
        "rules": list(Rule.objects.order_by("pk").values_list("pk", "title", "program")),
        "versions": list(RuleVersion.objects.order_by("pk").values_list("pk", "number", "status", "content_hash")),
        "checks": list(CheckRun.objects.order_by("pk").values_list("pk", "status")),
        "reviews": list(Review.objects.order_by("pk").values_list("pk", "decision")),
        "releases": list(Release.objects.order_by("pk").values_list("pk", "version_id")),
        "deployments": Deployment.objects.count(),
        "schedules": list(ScheduledPromotion.objects.order_by("pk").values_list("pk", "state")),
    }


def audit_ids():
    return set(AuditEvent.objects.values_list("id", flat=True))


def assert_error_body(response, status, code=None):
    """The response has `status` and the JSON error body {"error": {"code", "message"}}."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
