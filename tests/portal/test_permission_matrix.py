"""Every portal page and POST endpoint, for anonymous, outsider, wrong role and right role."""

import pytest
from django.urls import reverse

from tests.conftest import document

SLUG = "wildfire-aid-2024"
ANONYMOUS = None


def _review_data(version, role, **extra):
    return {"expected_hash": version.content_hash, "role": role, **extra}


# endpoint → (state fixture, method, url, POST data given the version)
ENDPOINTS = {
    "home": ("in_review", "get", lambda v: reverse("home"), None),
    "rule list": ("in_review", "get", lambda v: reverse("rule-list"), None),
    "environments": ("on_staging", "get", lambda v: reverse("environments"), None),
    "rule page": ("in_review", "get", lambda v: reverse("rule-detail", args=[SLUG]), None),
    "checks fragment": ("in_review", "get", lambda v: reverse("version-checks", args=[SLUG, v.number]), None),
    "compare versions": ("in_review", "get", lambda v: reverse("rule-compare", args=[SLUG]), None),
    "upload form": ("db", "get", lambda v: reverse("rule-upload"), None),
    "upload": (
        "db",
        "post",
        lambda v: reverse("rule-upload"),
        lambda v: {"text": document(rule="fresh-rule").decode()},
    ),
    "approve": (
        "in_review",
        "post",
        lambda v: reverse("version-approve", args=[SLUG, v.number]),
        lambda v: _review_data(v, "legal"),
    ),
    "reject": (
        "in_review",
        "post",
        lambda v: reverse("version-reject", args=[SLUG, v.number]),
        lambda v: _review_data(v, "legal", comment="Cites the wrong section."),
    ),
    "comment": (
        "in_review",
        "post",
        lambda v: reverse("version-comment", args=[SLUG, v.number]),
        lambda v: {"body": "Which section of the Act is this?"},
    ),
    "promote": ("on_staging", "post", lambda v: reverse("rule-promote", args=[SLUG]), lambda v: {}),
    "deploy again": (
        "rolled_back",
        "post",
        lambda v: reverse("rule-promote", args=[SLUG]),
        lambda v: {"environment": "production", "version": "1", "note": "Pause lifted."},
    ),
    "rollback": (
        "in_production",
        "post",
        lambda v: reverse("rule-rollback", args=[SLUG]),
        lambda v: {"environment": "production", "to": "previous", "reason": "Congress requested pause"},
    ),
}

CASES = [
    # home: every portal role sees the list; someone without a role is told so.
    ("home", ANONYMOUS, 302),
    ("home", "outsider", 403),
    ("home", "budget_officer", 200),
    ("home", "drafter", 200),
    ("home", "counsel", 200),
    ("home", "release_manager", 200),
    ("home", "superuser", 200),
    ("rule list", ANONYMOUS, 302),
    ("rule list", "outsider", 403),
    ("rule list", "counsel", 200),
    ("environments", ANONYMOUS, 302),
    ("environments", "outsider", 403),
    ("environments", "drafter", 200),
    ("environments", "release_manager", 200),
    # the rule page and its checks fragment: hidden (404) from people who may not see rules.
    ("rule page", ANONYMOUS, 302),
    ("rule page", "outsider", 404),
    ("rule page", "release_manager", 200),
    ("rule page", "counsel", 200),
    ("checks fragment", ANONYMOUS, 302),
    ("checks fragment", "outsider", 404),
    ("checks fragment", "budget_officer", 200),
    ("checks fragment", "drafter", 200),
    ("compare versions", ANONYMOUS, 302),
    ("compare versions", "outsider", 404),
    ("compare versions", "counsel", 200),
    ("compare versions", "budget_officer", 200),
    # upload: drafters only.
    ("upload form", ANONYMOUS, 302),
    ("upload form", "outsider", 403),
    ("upload form", "counsel", 403),
    ("upload form", "drafter", 200),
    ("upload", ANONYMOUS, 302),
    ("upload", "outsider", 403),
    ("upload", "counsel", 403),
    ("upload", "drafter", 302),
    # approve/reject as Legal: the service refuses the drafter, the other role and the release manager.
    ("approve", ANONYMOUS, 302),
    ("approve", "outsider", 404),
    ("approve", "drafter", 403),
    ("approve", "budget_officer", 403),
    ("approve", "release_manager", 403),
    ("approve", "counsel", 302),
    ("reject", ANONYMOUS, 302),
    ("reject", "outsider", 404),
    ("reject", "drafter", 403),
    ("reject", "budget_officer", 403),
    ("reject", "counsel", 302),
    # comment: anyone with a portal role, the drafter too; hidden from people without one.
    ("comment", ANONYMOUS, 302),
    ("comment", "outsider", 404),
    ("comment", "drafter", 302),
    ("comment", "counsel", 302),
    # promote and rollback: release managers only.
    ("promote", ANONYMOUS, 302),
    ("promote", "outsider", 404),
    ("promote", "drafter", 403),
    ("promote", "counsel", 403),
    ("promote", "release_manager", 302),
    # Deploy again (the history's and the board's buttons) is a promotion: the same people.
    ("deploy again", ANONYMOUS, 302),
    ("deploy again", "outsider", 404),
    ("deploy again", "counsel", 403),
    ("deploy again", "drafter", 403),
    ("deploy again", "release_manager", 302),
    ("rollback", ANONYMOUS, 302),
    ("rollback", "outsider", 404),
    ("rollback", "budget_officer", 403),
    ("rollback", "drafter", 403),
    ("rollback", "release_manager", 302),
]


@pytest.mark.parametrize(("endpoint", "who", "expected"), CASES, ids=[f"{e}-{w or 'anonymous'}" for e, w, _ in CASES])
def test_permission_matrix(request, client, endpoint, who, expected):
    """Each person gets the status the matrix says: anonymous to login, no role 403/404, wrong role 403."""
    state, method, url, data = ENDPOINTS[endpoint]
    version = request.getfixturevalue(state)
    version = version if state != "db" else None
    if who is not None:
        client.force_login(request.getfixturevalue(who))
    target = url(version)
    if method == "get":
        response = client.get(target)
    else:
        response = client.post(target, data(version))
    assert response.status_code == expected, response.content[:500]
    if who is None:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("endpoint", ["approve", "promote", "deploy again", "rollback", "upload"])
def test_forbidden_post_records_the_refusal(request, client, endpoint, outsider, counsel, drafter):
    """A POST a person may not make is refused by the service itself, which records the refusal."""
    from audit.models import AuditEvent

    state, _, url, data = ENDPOINTS[endpoint]
    version = request.getfixturevalue(state)
    version = version if state != "db" else None
    who = drafter if endpoint == "approve" else counsel
    client.force_login(who)
    response = client.post(url(version), data(version))
    assert response.status_code == 403
    event = AuditEvent.objects.order_by("-id").first()
    assert event.outcome == AuditEvent.Outcome.REFUSED
    assert event.actor == who
    assert event.data["reason"].encode() in response.content.replace(b"&#x27;", b"'")


def test_get_on_post_endpoints_is_not_allowed(client, in_review, counsel):
    """The POST endpoints answer 405 to a GET: a link can never approve, promote or roll back."""
    client.force_login(counsel)
    for name, args in [
        ("version-approve", [SLUG, 1]),
        ("version-reject", [SLUG, 1]),
        ("rule-promote", [SLUG]),
        ("rule-rollback", [SLUG]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 405


def test_unknown_version_is_404(client, in_review, counsel):
    """A version number the rule does not have is 404, on the page and on the fragment."""
    client.force_login(counsel)
    assert client.get(reverse("rule-detail", args=[SLUG]) + "?v=9").status_code == 404
    assert client.get(reverse("rule-detail", args=[SLUG]) + "?v=abc").status_code == 404
    assert client.get(reverse("version-checks", args=[SLUG, 9])).status_code == 404
