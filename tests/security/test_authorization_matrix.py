"""The authorisation matrix: every portal page and API endpoint × eight roles × own object and another's.

Routes come from the URL resolver, so a view added without a row here fails
`test_every_view_and_endpoint_is_in_the_matrix`, and a method a route answers without a row fails
`test_unlisted_methods_are_not_allowed`. Each row of `MATRIX_ROWS` says, per role, what the documented
policy (pdp_portal/permissions.py, README, docs/api.md) allows:

    ok     allowed: the route's status (2xx, or a 302 to where the action leads), and the write happened
    show   allowed read that shows the object (its name, title, short hash, label)
    omit   allowed read that leaves the object out (a list of someone else's things)
    login  anonymous: a 302 to the sign-in page on the portal, 401 on the API
    deny   403
    hide   404: the object is not visible to this person

A cell `x|y` is `x` on the own object and `y` on another's. On rule routes "own" is what `drafter`
drafted and "another's" what `drafter2` drafted (a live rule and one in review each, built once for the
module by tests/security/authz_world.py); on token, dataset, fund and verification routes it is the
person's own and another person's. A route about no one object (sign-in, the upload form, the audit
list) has one cell per role.

A refused cell also proves that nothing leaked: its body shows no rule to someone who may not read
rules (anonymous, the system) and nothing of the token, dataset, fund or verification refused; the
state (tests/api/support.py `state()` and more) is as before; the audit history gained only refusals.
Each cell runs in a savepoint, so an allowed write is made for real, checked, and rolled back.

What the policy says that a reader may not expect, written here on purpose: every portal role
(drafters included) reads every rule, and any drafter may push a new version of any rule; a drafter's
home lists only their own versions; a superuser pushes, promotes and rolls back but signs off nothing
and asks for no decisions; the system's token opens decisions only, and its account signed in on the
portal holds no portal role (403 on pages, 404 on rules).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from audit.models import AuditEvent, ChainVerification
from budget.models import Dataset, Fund
from deployments.models import Release, ScheduledPromotion
from reviews.models import Review, ReviewAssignment, ReviewComment
from rules.models import RuleVersion
from tests.api.support import state
from tests.security.authz_world import (
    AUDIT_MARKER,
    OBJECTS,
    PASSWORD,
    POPULATION_CSV,
    ROLES,
    SEES_RULES,
    ModuleWorld,
    World,
)
from tokens.models import ApiToken
from webhooks.models import WebhookDelivery, WebhookEndpoint

# ------------------------------------------------------------------------------------------------
# The matrix

# fmt: off
#                                     anonymous drafter   drafter2  legal     budget    release   superuser system    oversight
MATRIX_ROWS = {
    # Signing in and out: open to everyone; someone signed in is sent home.
    ("login", "GET"):                "ok        ok        ok        ok        ok        ok        ok        ok        ok",
    ("login", "POST"):               "ok        ok        ok        ok        ok        ok        ok        ok        ok",
    ("logout", "POST"):              "ok        ok        ok        ok        ok        ok        ok        ok        ok",
    # Each person's queue: a drafter's lists their own versions only; reviewers and release managers see both rules.
    # Oversight has no queue: its home is empty, and it reads rules from the list, the board and the API.
    ("home", "GET"):                 "login     show|omit omit|show show      show      show      show      deny      omit",
    ("environments", "GET"):         "login     show      show      show      show      show      show      deny      show",
    ("rule-list", "GET"):            "login     show      show      show      show      show      show      deny      show",
    ("rule-detail", "GET"):          "login     show      show      show      show      show      show      hide      show",
    ("rule-compare", "GET"):         "login     show      show      show      show      show      show      hide      show",
    ("version-checks", "GET"):       "login     ok        ok        ok        ok        ok        ok        hide      ok",
    # A version replayed against production's decisions: whoever reads the rule.
    ("version-replay", "GET"):       "login     show      show      show      show      show      show      hide      show",
    # Pushing takes the drafter role (superusers hold every global permission); any drafter may push any rule.
    ("rule-upload", "GET"):          "login     ok        ok        deny      deny      deny      ok        deny      deny",
    ("rule-upload", "POST"):         "login     ok        ok        deny      deny      deny      ok        deny      deny",
    # Sign-offs: Legal and Budget only; never the drafter, the release manager nor a superuser.
    ("version-approve", "POST"):     "login     deny      deny      ok        ok        deny      deny      hide      deny",
    ("version-reject", "POST"):      "login     deny      deny      ok        ok        deny      deny      hide      deny",
    ("version-comment", "POST"):     "login     ok        ok        ok        ok        ok        ok        hide      ok",
    ("version-assign", "POST"):      "login     deny      deny      deny      deny      ok        ok        hide      deny",
    ("rule-promote", "POST"):        "login     deny      deny      deny      deny      ok        ok        hide      deny",
    # Scheduling a promotion and cancelling one: as promoting (the Oversight role rolls back, never promotes).
    ("rule-schedule", "POST"):       "login     deny      deny      deny      deny      ok        ok        hide      deny",
    ("rule-schedule-cancel", "POST"): "login     deny      deny      deny      deny      ok        ok        hide      deny",
    ("rule-rollback", "POST"):       "login     deny      deny      deny      deny      ok        ok        hide      ok",
    # What a rollback would change, and the affected accounts (audited): whoever may roll back.
    ("rule-rollback-impact", "GET"): "login     deny      deny      deny      deny      show      show      hide      show",
    ("rule-rollback-affected", "GET"): "login   deny      deny      deny      deny      ok        ok        hide      ok",
    # The audit history: release managers and administrators.
    ("audit-list", "GET"):           "login     deny      deny      deny      deny      ok        ok        deny      deny",
    ("audit-export", "GET"):         "login     deny      deny      deny      deny      ok        ok        deny      deny",
    ("audit-verify", "POST"):        "login     deny      deny      deny      deny      ok        ok        deny      deny",
    ("audit-verification", "GET"):   "login     deny      deny      deny      deny      show      show      deny      deny",
    # API tokens: everyone sees and revokes their own, never another's.
    ("token-list", "GET"):           "login     show|omit show|omit show|omit show|omit show|omit show|omit show|omit show|omit",
    ("token-revoke", "POST"):        "login     ok|hide   ok|hide   ok|hide   ok|hide   ok|hide   ok|hide   ok|hide   ok|hide",
    # The budget office's pages: the Budget group and superusers.
    ("dataset-list", "GET"):         "login     deny      deny      deny      ok        deny      ok        deny      deny",
    ("dataset-list", "POST"):        "login     deny      deny      deny      ok        deny      ok        deny      deny",
    ("dataset-default", "POST"):     "login     deny      deny      deny      ok        deny      ok        deny      deny",
    ("fund-list", "GET"):            "login     deny      deny      deny      ok        deny      ok        deny      deny",
    ("fund-list", "POST"):           "login     deny      deny      deny      ok        deny      ok        deny      deny",
    ("fund-edit", "GET"):            "login     deny      deny      deny      show      deny      show      deny      deny",
    ("fund-edit", "POST"):           "login     deny      deny      deny      ok        deny      ok        deny      deny",
    # Outbound webhooks send the audit history out: administrators (superusers) only.
    ("webhook-list", "GET"):         "login     deny      deny      deny      deny      deny      ok        deny      deny",
    ("webhook-list", "POST"):        "login     deny      deny      deny      deny      deny      ok        deny      deny",
    ("webhook-deliveries", "GET"):   "login     deny      deny      deny      deny      deny      show      deny      deny",
    ("webhook-pause", "POST"):       "login     deny      deny      deny      deny      deny      ok        deny      deny",
    ("webhook-resume", "POST"):      "login     deny      deny      deny      deny      deny      ok        deny      deny",
    ("webhook-remove", "POST"):      "login     deny      deny      deny      deny      deny      ok        deny      deny",
    ("webhook-retry", "POST"):       "login     deny      deny      deny      deny      deny      ok        deny      deny",
    # The API. Anonymous signs in with the drafter's name; the system's token opens decisions only.
    ("api-token", "POST"):           "ok        ok        ok        ok        ok        ok        ok        ok        ok",
    ("api-token-revoke", "POST"):    "login     ok        ok        ok        ok        ok        ok        deny      ok",
    ("api-rules", "GET"):            "login     show      show      show      show      show      show      deny      show",
    ("api-rules", "POST"):           "login     ok        ok        deny      deny      deny      ok        deny      deny",
    ("api-rule", "GET"):             "login     show      show      show      show      show      show      deny      show",
    ("api-version", "GET"):          "login     show      show      show      show      show      show      deny      show",
    ("api-review", "POST"):          "login     deny      deny      ok        ok        deny      deny      deny      deny",
    ("api-comment", "POST"):         "login     ok        ok        ok        ok        ok        ok        deny      ok",
    ("api-promote", "POST"):         "login     deny      deny      deny      deny      ok        ok        deny      deny",
    ("api-rollback", "POST"):        "login     deny      deny      deny      deny      ok        ok        deny      ok",
    ("api-schedules", "GET"):        "login     show      show      show      show      show      show      deny      show",
    ("api-schedules", "POST"):       "login     deny      deny      deny      deny      ok        ok        deny      deny",
    ("api-schedule-cancel", "POST"): "login     deny      deny      deny      deny      ok        ok        deny      deny",
    ("api-decisions", "POST"):       "login     deny      deny      deny      deny      show      deny      show      deny",
    ("api-decisions-slash", "POST"): "login     deny      deny      deny      deny      show      deny      show      deny",
    ("api-decisions-batch", "POST"): "login     deny      deny      deny      deny      show      deny      show      deny",
    # Operations: the probes need no sign-in; /metrics goes by token or network, never by role (the test
    # client's address is 127.0.0.1, in the default PDP_METRICS_ALLOWED_NETWORKS; tests/operations/ covers the rest).
    ("healthz", "GET"):              "ok        ok        ok        ok        ok        ok        ok        ok        ok",
    ("readyz", "GET"):               "ok        ok        ok        ok        ok        ok        ok        ok        ok",
    ("metrics", "GET"):              "ok        ok        ok        ok        ok        ok        ok        ok        ok",
}
# fmt: on

# What "own" and "another's" are on each route (see SURFACES); a route not named concerns no one object and
# has one cell per role. The upload form (GET) concerns none; its POST pushes a version of the object's rule.
OBJECT_OF = {
    **dict.fromkeys(
        """home environments rule-list rule-detail rule-compare version-checks rule-upload version-approve
        version-reject version-comment version-assign rule-promote rule-rollback version-replay rule-rollback-impact
        rule-rollback-affected api-rules api-rule api-version
        api-review api-comment api-promote api-rollback api-decisions api-decisions-slash api-decisions-batch rule-schedule
        rule-schedule-cancel api-schedules api-schedule-cancel""".split(),
        "rule",
    ),
    "token-list": "token",
    "token-revoke": "token",
    "dataset-default": "dataset",
    "fund-edit": "fund",
    "audit-verification": "verification",
}


def object_kind(key):
    """The kind of object a route is about ("rule", "token", ...), or None for a route about no one object."""
    return None if key == ("rule-upload", "GET") else OBJECT_OF.get(key[0])


# Left out of the matrix, and why:
EXCLUDED_PREFIXES = (
    # Django's admin has its own staff/permission model; it gets its own section below.
    "admin/",
    # Static files and uploads, served by the web server in production: no view of ours.
    "static/",
    "media/",
)
EXCLUDED_NAMES = {
    # The OpenAPI schema and its Swagger page describe the routes, never an object, and are public.
    "schema",
    "api-docs",
}

REFUSED = {"login", "deny", "hide"}


def expectation(row, role, obj):
    """The outcome the row gives `role` on `obj` ("own" or "another's", None for object-free routes)."""
    cell = row.split()[ROLES.index(role)]
    if "|" in cell:
        own, another = cell.split("|")
        return own if obj == "own" else another
    return cell


# ------------------------------------------------------------------------------------------------
# What each route is asked, and how an allowed request shows


def _rule(w, obj):
    """The object's live rule: v1 in production, v2 on staging waiting for production."""
    return w.rules[obj]["live"]


def _in_review(w, obj):
    """The object's review rule: v1 waiting for Legal and Budget."""
    return w.rules[obj]["review"]


def _review_role(role):
    """The review role a person signs as: their own, or Legal for those who hold none."""
    return role if role in ("legal", "budget") else "legal"


def _token_of(w, role, obj):
    """The token asked about: the person's own, or another person's."""
    owner = role if obj == "own" and role != "anonymous" else w.others_token_role(role)
    return w.tokens[owner]


def _credentials(w, role):
    person = w.user(role) or w.user("drafter")  # anonymous signs in as the drafter
    return {"username": person.username, "password": PASSWORD}


def _decision_request(w, role, obj):
    return {"account_id": "acct-1", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True}}


def _pushed(w, role, obj):
    return RuleVersion.objects.filter(rule__slug=_rule(w, obj).slug, number=3, uploaded_by=w.user(role)).exists()


def _reviewed(decision):
    def done(w, role, obj):
        return Review.objects.filter(
            version__rule__slug=_in_review(w, obj).slug, reviewer=w.user(role), decision=decision
        ).exists()

    return done


def _commented(w, role, obj):
    comments = ReviewComment.objects
    return comments.filter(version__rule__slug=_in_review(w, obj).slug, author=w.user(role)).exists()


def _assigned(w, role, obj):
    assignments = ReviewAssignment.objects
    slug = _in_review(w, obj).slug
    return assignments.filter(version__rule__slug=slug, reviewer=w.user("legal"), role="legal").exists()


def _production(w, obj):
    release = Release.objects.select_related("version").get(
        rule__slug=_rule(w, obj).slug, environment__name="production"
    )
    return release.version.number if release.version_id else 0


def _in_a_month():
    return timezone.now() + timedelta(days=30)


def _scheduled(w, obj, environment):
    """A promotion of the object's live rule waits for `environment`."""
    return ScheduledPromotion.objects.filter(
        rule__slug=_rule(w, obj).slug, environment__name=environment, state="scheduled"
    ).exists()


def _cancelled(w, obj):
    return ScheduledPromotion.objects.get(pk=w.schedules[obj]).state == "cancelled"


def _revoked(pk):
    return ApiToken.objects.get(pk=pk).revoked_at is not None


@dataclass(frozen=True)
class Surface:
    """A route and method: its URL, its request body, and what an allowed request answers and changes."""

    url: Callable[[World, str, str], str]  # (world, role, object) → path
    data: Callable | None = None  # (world, role, object) → body; None for a GET
    ok: int = 200  # the status of an allowed request
    to: Callable | None = None  # (world, role, object) → where an allowed 302 leads
    done: Callable | None = None  # (world, role, object) → the allowed write happened
    marker: str = "name"  # what `show` looks for: the object's title/name, or a rule's slug ("slug")
    # For a route about no one object: what only those allowed read there (an allowed GET shows one).
    extra: Callable | None = None


def _rule_page(w, role, obj):
    return reverse("rule-detail", args=[_rule(w, obj).slug])


def _review_page(w, role, obj):
    return reverse("rule-detail", args=[_in_review(w, obj).slug])


def _hook(w, key):
    return w.webhooks[key]


def _hook_active(pk):
    return WebhookEndpoint.objects.get(pk=pk).is_active


def _webhook_action(route, key, done):
    """A POST on one endpoint from the Webhooks list, which leads back there."""
    return Surface(
        lambda w, r, o: reverse(route, args=[_hook(w, key)[0]]),
        lambda w, r, o: {},
        302,
        lambda w, r, o: reverse("webhook-list"),
        lambda w, r, o: done(_hook(w, key)[0]),
        extra=lambda w: [_hook(w, key)[1]],
    )


SURFACES = {
    ("login", "GET"): Surface(lambda w, r, o: reverse("login"), ok=200, to=lambda w, r, o: reverse("home")),
    ("login", "POST"): Surface(
        lambda w, r, o: reverse("login"), lambda w, r, o: _credentials(w, r), 302, lambda w, r, o: reverse("home")
    ),
    ("logout", "POST"): Surface(
        lambda w, r, o: reverse("logout"),
        lambda w, r, o: {},
        302,
        lambda w, r, o: reverse("login"),
        lambda w, r, o: r == "anonymous" or not Session.objects.filter(session_key=w.sessions[r]).exists(),
    ),
    ("home", "GET"): Surface(lambda w, r, o: reverse("home")),
    ("environments", "GET"): Surface(lambda w, r, o: reverse("environments")),
    ("rule-list", "GET"): Surface(lambda w, r, o: reverse("rule-list")),
    ("rule-detail", "GET"): Surface(_rule_page),
    ("rule-compare", "GET"): Surface(lambda w, r, o: reverse("rule-compare", args=[_rule(w, o).slug])),
    ("version-checks", "GET"): Surface(lambda w, r, o: reverse("version-checks", args=[_in_review(w, o).slug, 1])),
    ("rule-upload", "GET"): Surface(lambda w, r, o: reverse("rule-upload")),
    ("rule-upload", "POST"): Surface(
        lambda w, r, o: reverse("rule-upload"),
        lambda w, r, o: {"text": _rule(w, o).document(3).decode()},
        302,
        _rule_page,
        _pushed,
    ),
    ("version-approve", "POST"): Surface(
        lambda w, r, o: reverse("version-approve", args=[_in_review(w, o).slug, 1]),
        lambda w, r, o: {"expected_hash": _in_review(w, o).hashes[0], "role": _review_role(r)},
        302,
        _review_page,
        _reviewed("approve"),
    ),
    ("version-reject", "POST"): Surface(
        lambda w, r, o: reverse("version-reject", args=[_in_review(w, o).slug, 1]),
        lambda w, r, o: {"expected_hash": _in_review(w, o).hashes[0], "role": _review_role(r), "comment": "Wrong."},
        302,
        _review_page,
        _reviewed("reject"),
    ),
    ("version-comment", "POST"): Surface(
        lambda w, r, o: reverse("version-comment", args=[_in_review(w, o).slug, 1]),
        lambda w, r, o: {"body": "Which section of the Act is this?"},
        302,
        _review_page,
        _commented,
    ),
    ("version-assign", "POST"): Surface(
        lambda w, r, o: reverse("version-assign", args=[_in_review(w, o).slug, 1]),
        lambda w, r, o: {"reviewer": w.user("legal").pk, "role": "legal"},
        302,
        _review_page,
        _assigned,
    ),
    ("rule-promote", "POST"): Surface(
        lambda w, r, o: reverse("rule-promote", args=[_rule(w, o).slug]),
        lambda w, r, o: {},
        302,
        _rule_page,
        lambda w, r, o: _production(w, o) == 2,
    ),
    ("rule-rollback", "POST"): Surface(
        lambda w, r, o: reverse("rule-rollback", args=[_rule(w, o).slug]),
        lambda w, r, o: {"environment": "production", "to": "previous", "reason": "Congress requested pause"},
        302,
        _rule_page,
        lambda w, r, o: _production(w, o) == 0,
    ),
    ("rule-schedule", "POST"): Surface(
        lambda w, r, o: reverse("rule-schedule", args=[_rule(w, o).slug]),
        lambda w, r, o: {"environment": "staging", "version": 1, "at": _in_a_month().strftime("%Y-%m-%dT%H:%M")},
        302,
        _rule_page,
        lambda w, r, o: _scheduled(w, o, "staging"),
    ),
    ("rule-schedule-cancel", "POST"): Surface(
        lambda w, r, o: reverse("rule-schedule-cancel", args=[_rule(w, o).slug, w.schedules[o]]),
        lambda w, r, o: {},
        302,
        _rule_page,
        lambda w, r, o: _cancelled(w, o),
    ),
    ("version-replay", "GET"): Surface(lambda w, r, o: reverse("version-replay", args=[_in_review(w, o).slug, 1])),
    ("rule-rollback-impact", "GET"): Surface(lambda w, r, o: reverse("rule-rollback-impact", args=[_rule(w, o).slug])),
    ("rule-rollback-affected", "GET"): Surface(
        lambda w, r, o: reverse("rule-rollback-affected", args=[_rule(w, o).slug])
    ),
    ("audit-list", "GET"): Surface(lambda w, r, o: reverse("audit-list"), extra=lambda w: [AUDIT_MARKER]),
    ("audit-export", "GET"): Surface(lambda w, r, o: reverse("audit-export"), extra=lambda w: [AUDIT_MARKER]),
    ("audit-verify", "POST"): Surface(
        lambda w, r, o: reverse("audit-verify"),
        lambda w, r, o: {},
        302,
        lambda w, r, o: reverse("audit-list"),
        lambda w, r, o: ChainVerification.objects.filter(requested_by=w.user(r), status="queued").exists(),
    ),
    ("audit-verification", "GET"): Surface(lambda w, r, o: reverse("audit-verification", args=[w.verifications[o][0]])),
    ("token-list", "GET"): Surface(lambda w, r, o: reverse("token-list")),
    ("token-revoke", "POST"): Surface(
        lambda w, r, o: reverse("token-revoke", args=[_token_of(w, r, o)[0]]),
        lambda w, r, o: {},
        302,
        lambda w, r, o: reverse("token-list"),
        lambda w, r, o: _revoked(_token_of(w, r, o)[0]),
    ),
    ("dataset-list", "GET"): Surface(lambda w, r, o: reverse("dataset-list"), extra=lambda w: _labels(w.datasets)),
    ("dataset-list", "POST"): Surface(
        lambda w, r, o: reverse("dataset-list"),
        lambda w, r, o: {
            "name": "Matrix uploaded population",
            "file": SimpleUploadedFile("people.csv", POPULATION_CSV.replace(b"Lane", b"Linn"), content_type="text/csv"),
        },
        302,
        lambda w, r, o: reverse("dataset-list"),
        lambda w, r, o: Dataset.objects.filter(name="Matrix uploaded population").exists(),
    ),
    ("dataset-default", "POST"): Surface(
        lambda w, r, o: reverse("dataset-default", args=[w.datasets[o][0]]),
        lambda w, r, o: {},
        302,
        lambda w, r, o: reverse("dataset-list"),
        lambda w, r, o: Dataset.objects.get(pk=w.datasets[o][0]).is_default,
    ),
    ("fund-list", "GET"): Surface(lambda w, r, o: reverse("fund-list"), extra=lambda w: _labels(w.funds)),
    ("fund-list", "POST"): Surface(
        lambda w, r, o: reverse("fund-list"),
        lambda w, r, o: {
            "code": "MATRIX-NEW",
            "name": "Matrix new fund",
            "appropriation": "1000",
            "fiscal_year": "2025",
        },
        302,
        lambda w, r, o: reverse("fund-list"),
        lambda w, r, o: Fund.objects.filter(code="MATRIX-NEW").exists(),
    ),
    ("fund-edit", "GET"): Surface(lambda w, r, o: reverse("fund-edit", args=[w.funds[o][0]])),
    ("fund-edit", "POST"): Surface(
        lambda w, r, o: reverse("fund-edit", args=[w.funds[o][0]]),
        lambda w, r, o: {"name": "Matrix fund renamed", "appropriation": "7000000", "fiscal_year": "2025"},
        302,
        lambda w, r, o: reverse("fund-list"),
        lambda w, r, o: Fund.objects.get(pk=w.funds[o][0]).name == "Matrix fund renamed",
    ),
    ("webhook-list", "GET"): Surface(lambda w, r, o: reverse("webhook-list"), extra=lambda w: [_hook(w, "active")[1]]),
    ("webhook-list", "POST"): Surface(
        lambda w, r, o: reverse("webhook-list"),
        lambda w, r, o: {"name": "Matrix webhook new", "url": "https://93.184.215.14/new", "events": "release."},
        200,
        done=lambda w, r, o: WebhookEndpoint.objects.filter(name="Matrix webhook new").exists(),
        extra=lambda w: [_hook(w, "active")[1]],
    ),
    ("webhook-deliveries", "GET"): Surface(
        lambda w, r, o: reverse("webhook-deliveries", args=[_hook(w, "active")[0]]),
        extra=lambda w: [_hook(w, "active")[1]],
    ),
    ("webhook-pause", "POST"): _webhook_action("webhook-pause", "active", lambda pk: not _hook_active(pk)),
    ("webhook-resume", "POST"): _webhook_action("webhook-resume", "paused", _hook_active),
    ("webhook-remove", "POST"): _webhook_action(
        "webhook-remove", "active", lambda pk: not WebhookEndpoint.objects.filter(pk=pk).exists()
    ),
    ("webhook-retry", "POST"): Surface(
        lambda w, r, o: reverse("webhook-retry", args=[_hook(w, "delivery")[0]]),
        lambda w, r, o: {},
        302,
        lambda w, r, o: reverse("webhook-deliveries", args=[_hook(w, "active")[0]]),
        lambda w, r, o: WebhookDelivery.objects.get(pk=_hook(w, "delivery")[0]).state == "failing",
        extra=lambda w: [_hook(w, "active")[1]],
    ),
    ("api-token", "POST"): Surface(
        lambda w, r, o: "/api/v1/auth/token/",
        lambda w, r, o: {**_credentials(w, r), "name": "matrix sign-in"},
        200,
        done=lambda w, r, o: ApiToken.objects.filter(name="matrix sign-in").exists(),
    ),
    ("api-token-revoke", "POST"): Surface(
        lambda w, r, o: "/api/v1/auth/token/revoke/",
        lambda w, r, o: None,
        204,
        done=lambda w, r, o: _revoked(w.tokens[r][0]),
    ),
    ("api-rules", "GET"): Surface(lambda w, r, o: "/api/v1/rules/"),
    ("api-rules", "POST"): Surface(
        lambda w, r, o: "/api/v1/rules/", lambda w, r, o: _rule(w, o).document(3), 201, done=_pushed
    ),
    ("api-rule", "GET"): Surface(lambda w, r, o: f"/api/v1/rules/{_rule(w, o).slug}/"),
    ("api-version", "GET"): Surface(lambda w, r, o: f"/api/v1/rules/{_in_review(w, o).slug}/versions/1/"),
    ("api-review", "POST"): Surface(
        lambda w, r, o: f"/api/v1/rules/{_in_review(w, o).slug}/versions/1/reviews/",
        lambda w, r, o: {"decision": "approve", "expected_hash": _in_review(w, o).hashes[0], "role": _review_role(r)},
        201,
        done=_reviewed("approve"),
    ),
    ("api-comment", "POST"): Surface(
        lambda w, r, o: f"/api/v1/rules/{_in_review(w, o).slug}/versions/1/comments/",
        lambda w, r, o: {"body": "Which section?"},
        201,
        done=_commented,
    ),
    ("api-promote", "POST"): Surface(
        lambda w, r, o: f"/api/v1/rules/{_rule(w, o).slug}/promote/",
        lambda w, r, o: {},
        201,
        done=lambda w, r, o: _production(w, o) == 2,
    ),
    ("api-rollback", "POST"): Surface(
        lambda w, r, o: f"/api/v1/rules/{_rule(w, o).slug}/rollback/",
        lambda w, r, o: {"reason": "Congress requested pause"},
        201,
        done=lambda w, r, o: _production(w, o) == 0,
    ),
    ("api-schedules", "GET"): Surface(lambda w, r, o: f"/api/v1/rules/{_rule(w, o).slug}/schedules/", marker="slug"),
    ("api-schedules", "POST"): Surface(
        lambda w, r, o: f"/api/v1/rules/{_rule(w, o).slug}/schedules/",
        lambda w, r, o: {"environment": "staging", "version": 1, "at": _in_a_month().isoformat()},
        201,
        done=lambda w, r, o: _scheduled(w, o, "staging"),
    ),
    ("api-schedule-cancel", "POST"): Surface(
        lambda w, r, o: f"/api/v1/rules/{_rule(w, o).slug}/schedules/{w.schedules[o]}/cancel/",
        lambda w, r, o: {},
        200,
        done=lambda w, r, o: _cancelled(w, o),
    ),
    ("api-decisions", "POST"): Surface(lambda w, r, o: "/api/v1/decisions", _decision_request, 200, marker="slug"),
    ("api-decisions-slash", "POST"): Surface(
        lambda w, r, o: "/api/v1/decisions/", _decision_request, 200, marker="slug"
    ),
    ("api-decisions-batch", "POST"): Surface(
        lambda w, r, o: "/api/v1/decisions/batch",
        lambda w, r, o: {"citizens": [_decision_request(w, r, o)]},
        200,
        marker="slug",
    ),
    ("healthz", "GET"): Surface(lambda w, r, o: reverse("healthz"), extra=lambda w: ['"status": "ok"']),
    # The matrix's world runs no worker, so readiness answers 503 to everyone, naming the worker.
    ("readyz", "GET"): Surface(lambda w, r, o: reverse("readyz"), ok=503, extra=lambda w: ['"failed": ["worker"]']),
    ("metrics", "GET"): Surface(lambda w, r, o: reverse("metrics"), extra=lambda w: ["pdp_checks{"]),
}

# ------------------------------------------------------------------------------------------------
# Running a cell


def snapshot():
    """Everything a refused request must leave as it was (the audit history is checked apart)."""
    return {
        **state(),
        "comments": list(ReviewComment.objects.order_by("pk").values_list("pk", "body")),
        "assignments": list(ReviewAssignment.objects.order_by("pk").values_list("pk", "reviewer_id", "role")),
        "tokens": list(ApiToken.objects.order_by("pk").values_list("pk", "revoked_at")),
        "datasets": list(Dataset.objects.order_by("pk").values_list("pk", "name", "is_default")),
        "funds": list(Fund.objects.order_by("pk").values_list("pk", "code", "name", "appropriation")),
        "verifications": list(ChainVerification.objects.order_by("pk").values_list("pk", "status")),
        "webhooks": list(WebhookEndpoint.objects.order_by("pk").values_list("pk", "is_active")),
        "deliveries": list(WebhookDelivery.objects.order_by("pk").values_list("pk", "state", "next_attempt_at")),
    }


def _last_event_id():
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events_since(event_id):
    return list(AuditEvent.objects.filter(id__gt=event_id).values_list("action", "outcome"))


def _labels(objects):
    return [label for _, label in objects.values()]


def object_facts(w, kind, role, obj):
    """(what `show` looks for, any one of them; what a refusal must not contain) for the object asked about.

    A refusal never shows a rule to someone who may not read rules, nor the object it refused.
    """
    unseen = (
        [] if role in SEES_RULES else [fp for pair in w.rules.values() for f in pair.values() for fp in f.fingerprints]
    )
    if kind == "rule":
        return [fp for facts in w.rules[obj].values() for fp in facts.fingerprints], unseen
    if kind == "token":
        _, key, name = _token_of(w, role, obj)
        return [name], [*unseen, name, key[:8]]
    if kind in ("dataset", "fund", "verification"):
        label = getattr(w, f"{kind}s")[obj][1]
        return [label], [*unseen, label]
    return [], unseen


def _body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def send(w, key, role, obj):
    """Make the request of cell (route, role, object) and return the response."""
    surface = SURFACES[key]
    path = surface.url(w, role, obj)
    data = surface.data(w, role, obj) if surface.data else None
    method = key[1].lower()
    if path.startswith("/api/"):
        client = w.api(role)
        if method == "get":
            return client.get(path)
        if isinstance(data, bytes):
            return client.post(path, data=data, content_type="application/json")
        return client.post(path, data, format="json")
    client = w.portal(role)
    return client.get(path) if method == "get" else client.post(path, data)


def check_cell(w, key, role, obj):
    """Run one cell in a savepoint: (expected outcome, problems found, whether a problem is a leak)."""
    row, kind = MATRIX_ROWS[key], object_kind(key)
    surface = SURFACES[key]
    expected = expectation(row, role, obj)
    api = surface.url(w, "drafter", obj or "own").startswith("/api/")
    markers, secrets = object_facts(w, kind, role, obj)
    if surface.marker == "slug" and kind == "rule":
        markers = [f'"{_rule(w, obj).slug}"']
    if surface.extra is not None:
        markers = surface.extra(w)
        secrets = [*secrets, *markers]
    problems = []
    with transaction.atomic():
        # A read changes nothing by construction; its audit events are still checked below.
        writes = key[1] != "GET"
        before, last_event = snapshot() if writes else None, _last_event_id()
        try:
            response = send(w, key, role, obj)
        except Exception as exc:  # a view that raises is a failed cell, reported with the others
            transaction.set_rollback(True)
            return expected, [f"raised {exc!r}"], False
        body = _body(response)
        status = response.status_code
        location = response.get("Location", "")
        if expected in REFUSED:
            want = {"login": 401 if api else 302, "deny": 403, "hide": 404}[expected]
            if status != want:
                problems.append(f"answered {status}, the matrix says {want} ({expected})")
            if expected == "login" and not api and not location.startswith(reverse("login")):
                problems.append(f"redirected to {location!r}, not to the sign-in page")
            if api and not response.get("Content-Type", "").startswith("application/json"):
                problems.append("a refusal of the API that is not the JSON error body")
            found = [s for s in secrets if s and s.encode() in body]
            if found:
                problems.append(f"the refusal shows {found}")
            after = snapshot() if writes else None
            if after != before:
                changed = sorted(k for k in before if before[k] != after[k])
                problems.append(f"the refusal changed {changed}")
            recorded = [e for e in _events_since(last_event) if e[1] != "refused"]
            if recorded:
                problems.append(f"the refusal recorded {recorded}")
        else:
            ok = surface.ok if role == "anonymous" or key != ("login", "GET") else 302
            if status != ok:
                problems.append(f"answered {status}, the matrix says {ok} ({expected}): {body[:300]!r}")
            elif status == 302 and surface.to is not None:
                target = surface.to(w, role, obj)
                if location.split("?")[0].split("#")[0] != target:
                    problems.append(f"redirected to {location!r}, not to {target!r}")
            shown = [m for m in markers if m.encode() in body]
            if (expected == "show" or (surface.extra and key[1] == "GET")) and not shown:
                problems.append(f"shows none of {markers}")
            if expected == "omit" and shown:
                problems.append(f"shows {shown}, which is not this person's")
            if surface.done is not None and status == ok and not surface.done(w, role, obj):
                problems.append("answered as allowed but changed nothing")
        transaction.set_rollback(True)
    # A problem is a leak when a refusal was expected and something got through or showed.
    leak = bool(problems) and expected in REFUSED
    return expected, problems, leak


# ------------------------------------------------------------------------------------------------
# The tests

TALLY = Counter()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with ModuleWorld(django_db_blocker, tmp_path_factory.mktemp("authz-data")) as built:
        yield built


def _routes():
    """Every named route of the site as {name: pattern}, walked from the root URL resolver."""
    found = {}

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if not route.startswith(EXCLUDED_PREFIXES) and entry.name not in EXCLUDED_NAMES:
                    found[entry.name or route] = route

    walk(get_resolver().url_patterns, "")
    return found


def test_every_view_and_endpoint_is_in_the_matrix():
    """Each route the resolver knows (but the admin's, static files and the API schema) has rows in the matrix."""
    routes = set(_routes())
    covered = {name for name, _ in MATRIX_ROWS}
    assert routes - covered == set(), "routes without a row in the authorisation matrix"
    assert covered - routes == set(), "rows for routes that no longer exist"
    assert set(SURFACES) == set(MATRIX_ROWS)
    for key, row in MATRIX_ROWS.items():
        assert len(row.split()) == len(ROLES), key
        assert {part for cell in row.split() for part in cell.split("|")} <= {"ok", "show", "omit", *REFUSED}, key


@pytest.mark.django_db
def test_unlisted_methods_are_not_allowed(world):
    """A method the matrix does not list for a route answers 405, so the matrix covers every way in."""
    problems = []
    for name in {name for name, _ in MATRIX_ROWS} - {"login"}:  # Django's LoginView: see below
        listed = {method for n, method in MATRIX_ROWS if n == name}
        key = next((n, m) for n, m in MATRIX_ROWS if n == name)
        path = SURFACES[key].url(world, "superuser", "own")
        client = world.api("superuser") if path.startswith("/api/") else world.portal("superuser")
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - listed:
            with transaction.atomic():
                status = getattr(client, method.lower())(path).status_code
                transaction.set_rollback(True)
            if status != 405:
                problems.append(f"{method} {path} answered {status}")
    assert problems == [], "\n".join(sorted(problems))
    # Django's sign-in view takes PUT as a POST (FormView) and sends anyone signed in home, whatever the
    # method; a PUT's body is never read as a form, so it signs no one in.
    anonymous = world.portal("anonymous")
    assert anonymous.put(reverse("login"), _credentials(world, "drafter")).wsgi_request.user.is_anonymous


@pytest.mark.django_db
@pytest.mark.parametrize("key", list(MATRIX_ROWS), ids=[f"{n} {m}" for n, m in MATRIX_ROWS])
def test_authorization_matrix(world, key):
    """Each role gets on this route what the matrix says, on its own object and on another's; no refusal leaks."""
    kind = object_kind(key)
    surface_kind = "api" if SURFACES[key].url(world, "drafter", "own").startswith("/api/") else "portal"
    failures = []
    for role in ROLES:
        for obj in OBJECTS if kind else (None,):
            expected, problems, leak = check_cell(world, key, role, obj)
            outcome = "refused" if expected in REFUSED else "allowed"
            TALLY.update({"cells": 1, outcome: 1, f"role {role}": 1, f"surface {surface_kind}": 1})
            if leak:
                TALLY["leaks"] += 1
            if problems:
                where = f"{role} on {obj}" if obj else role
                failures.extend(f"{key[1]} {key[0]} as {where}: {p}" for p in problems)
    assert failures == [], "\n".join(failures)


# The forms each page may offer: (page, rule of the object it shows, the route the form posts to).
OFFERS = [
    ("rule-detail", "live", "rule-promote"),
    ("rule-detail", "live", "rule-rollback"),
    ("rule-detail", "live", "rule-schedule"),
    ("rule-detail", "live", "rule-schedule-cancel"),
    ("rule-detail", "review", "version-approve"),
    ("rule-detail", "review", "version-reject"),
    ("rule-detail", "review", "version-assign"),
    ("rule-detail", "review", "version-comment"),
    ("environments", "live", "rule-promote"),
    ("environments", "live", "rule-schedule"),
    ("environments", "live", "rule-schedule-cancel"),
]


@pytest.mark.django_db
def test_pages_offer_exactly_the_actions_the_matrix_allows(world):
    """The rule page and the board offer a form exactly to those the matrix lets post it: none refused, none missing."""
    problems = []
    for role in sorted(SEES_RULES):
        client = world.portal(role)
        board = client.get(reverse("environments")).content
        for obj in OBJECTS:
            pages = {
                which: client.get(reverse("rule-detail", args=[f.slug])).content
                for which, f in world.rules[obj].items()
            }
            for page, which, route in OFFERS:
                body = board if page == "environments" else pages[which]
                offered = f'action="{SURFACES[(route, "POST")].url(world, role, obj)}"'.encode() in body
                allowed = expectation(MATRIX_ROWS[(route, "POST")], role, obj) == "ok"
                if offered != allowed:
                    problems.append(f"{page} of {obj} as {role}: {route} {'offered' if offered else 'missing'}")
    assert problems == []


@pytest.mark.django_db
def test_the_system_signed_in_gets_no_rule_over_the_api(world):
    """The system's account on a session (not its limited token) reads no rule over the API and changes none."""
    client = world.portal("system")
    own = world.rules["own"]
    before = snapshot()
    answers = {
        "list": client.get("/api/v1/rules/"),
        "rule": client.get(f"/api/v1/rules/{own['live'].slug}/"),
        "version": client.get(f"/api/v1/rules/{own['review'].slug}/versions/1/"),
        "push": client.post("/api/v1/rules/", own["live"].document(3), content_type="application/json"),
        "review": client.post(
            f"/api/v1/rules/{own['review'].slug}/versions/1/reviews/",
            {"decision": "approve", "expected_hash": own["review"].hashes[0], "role": "legal"},
            content_type="application/json",
        ),
        "promote": client.post(f"/api/v1/rules/{own['live'].slug}/promote/", {}, content_type="application/json"),
    }
    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {"list": 200, "rule": 404, "version": 404, "push": 403, "review": 404, "promote": 404}
    assert answers["list"].json() == {"rules": []}
    secrets = [fp for pair in world.rules.values() for f in pair.values() for fp in f.fingerprints]
    assert [s for s in secrets for r in answers.values() if s.encode() in r.content] == []
    assert snapshot() == before


#                 anonymous     drafter     release manager (staff)  superuser
ADMIN_MATRIX = {
    "/admin/": ("login", "login", 200, 200),
    "/admin/rules/rule/": ("login", "login", 403, 200),
    "/admin/deployments/release/": ("login", "login", 200, 200),
    "/admin/deployments/scheduledpromotion/": ("login", "login", 200, 200),
    "/admin/auth/user/": ("login", "login", 403, 200),
    "/admin/tokens/apitoken/": ("login", "login", 403, 200),
    "/admin/audit/auditevent/": ("login", "login", 403, 200),
    "/admin/webhooks/webhookendpoint/": ("login", "login", 403, 200),
    "/admin/webhooks/webhookdelivery/": ("login", "login", 403, 200),
    "/admin/checks/checkrun/": ("login", "login", 403, 200),
    "/admin/checks/simulationpartition/": ("login", "login", 403, 200),
}


@pytest.mark.django_db
def test_admin_is_for_staff_and_each_sees_what_their_permissions_allow(world):
    """Anonymous and non-staff are sent to the admin's sign-in; staff see only their permissions' pages."""
    from accounts.services import set_flags

    set_flags(world.user("release"), actor=None, is_staff=True)
    problems = []
    for page, expected in ADMIN_MATRIX.items():
        for role, want in zip(("anonymous", "drafter", "release", "superuser"), expected, strict=True):
            response = world.portal(role).get(page)
            TALLY.update(
                {"cells": 1, "allowed" if want == 200 else "refused": 1, "surface admin": 1, f"role {role}": 1}
            )
            if want == "login":
                if response.status_code != 302 or not response["Location"].startswith("/admin/login/"):
                    problems.append(f"{page} as {role}: {response.status_code} {response.get('Location')}")
            elif response.status_code != want:
                problems.append(f"{page} as {role}: {response.status_code}, not {want}")
            if want != 200 and response.status_code == 200:
                TALLY["leaks"] += 1
            rules = [f for pair in world.rules.values() for f in pair.values()]
            if want != 200 and any(fp.encode() in response.content for f in rules for fp in f.fingerprints):
                problems.append(f"{page} as {role} shows a rule")
    assert problems == []


# Marked as using the database so that the CI's second pass (PostgreSQL) keeps it and prints its own count.
@pytest.mark.django_db
def test_cell_count(capsys):
    """The run prints how many cells the matrix checked, how many it allowed and refused, and that none leaked."""
    if not TALLY["cells"]:
        pytest.skip("the matrix tests did not run")
    by_role = ", ".join(f"{role} {TALLY[f'role {role}']}" for role in ROLES)
    by_surface = ", ".join(f"{s} {TALLY[f'surface {s}']}" for s in ("portal", "api", "admin"))
    with capsys.disabled():
        print(
            f"\nauthorisation matrix: {TALLY['cells']} cells, {TALLY['allowed']} allowed, {TALLY['refused']} refused, "
            f"leaks={TALLY['leaks']}\n  by role: {by_role}\n  by surface: {by_surface}"
        )
    assert TALLY["leaks"] == 0
