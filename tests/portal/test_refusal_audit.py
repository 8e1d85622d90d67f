"""A refused portal page request is recorded once in the audit history; service refusals are not doubled."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from audit.middleware import PortalRefusalMiddleware
from audit.models import AuditEvent
from audit.services import verify_chain
from reviews.models import Review

SLUG = "wildfire-aid-2024"


def last_id():
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def new_events(before):
    return list(AuditEvent.objects.filter(id__gt=before).order_by("id"))


def test_outsider_opening_a_rule_page_is_recorded_as_a_404(client, in_review, outsider):
    """An outsider's GET of a rule page: 404, and one portal.refused event with method, path, status and reason."""
    client.force_login(outsider)
    before = last_id()
    url = reverse("rule-detail", args=[SLUG])
    assert client.get(url).status_code == 404
    (event,) = new_events(before)
    assert (event.action, event.outcome, event.actor, event.actor_name) == (
        "portal.refused", "refused", outsider, "outsider",
    )  # fmt: skip
    assert event.data == {"method": "GET", "path": url, "status": 404, "reason": f"No rule {SLUG!r}."}
    assert verify_chain()[1] == []


def test_counsel_opening_the_upload_page_is_recorded_as_a_403(client, counsel):
    """Counsel may not upload: GET /rules/upload/ answers 403 and writes one event with the reason."""
    client.force_login(counsel)
    before = last_id()
    assert client.get(reverse("rule-upload")).status_code == 403
    (event,) = new_events(before)
    assert (event.action, event.outcome, event.actor) == ("portal.refused", "refused", counsel)
    assert event.data["method"] == "GET"
    assert event.data["path"] == "/rules/upload/"
    assert event.data["status"] == 403
    assert event.data["reason"] == "You may not upload rules; ask an administrator for the drafter role."


def test_the_recorded_path_keeps_the_query_string(client, in_review, counsel):
    """An unknown version `?v=99` is a 404, recorded with the full path."""
    client.force_login(counsel)
    before = last_id()
    url = reverse("rule-detail", args=[SLUG]) + "?v=99"
    assert client.get(url).status_code == 404
    (event,) = new_events(before)
    assert event.action == "portal.refused"
    assert event.data == {"method": "GET", "path": url, "status": 404, "reason": "No version v99."}


def test_a_malformed_version_number_is_recorded(client, in_review, counsel):
    """`?v=abc` is a 404 too, and recorded."""
    client.force_login(counsel)
    before = last_id()
    assert client.get(reverse("rule-detail", args=[SLUG]) + "?v=abc").status_code == 404
    (event,) = new_events(before)
    assert (event.action, event.data["status"], event.data["reason"]) == ("portal.refused", 404, "No such version.")


def test_a_service_refusal_is_recorded_once_by_the_service(client, in_review, counsel):
    """Counsel approving as Budget: 403 and exactly one refused event, the service's review.approve."""
    client.force_login(counsel)
    before = last_id()
    response = client.post(
        reverse("version-approve", args=[SLUG, in_review.number]),
        {"expected_hash": in_review.content_hash, "role": "budget"},
    )
    assert response.status_code == 403
    (event,) = new_events(before)
    assert (event.action, event.outcome, event.actor) == ("review.approve", "refused", counsel)
    assert event.data["code"] == "review_refused"
    assert event.target_id == str(in_review.pk)
    assert not Review.objects.exists()


def test_a_refused_post_on_a_hidden_rule_is_recorded_with_its_method(client, in_review, outsider):
    """An outsider's POST to approve a rule they cannot see: 404, one portal.refused event saying POST."""
    client.force_login(outsider)
    before = last_id()
    url = reverse("version-approve", args=[SLUG, in_review.number])
    response = client.post(url, {"expected_hash": in_review.content_hash, "role": "legal"})
    assert response.status_code == 404
    (event,) = new_events(before)
    assert (event.action, event.data["method"], event.data["path"], event.data["status"]) == (
        "portal.refused", "POST", url, 404,
    )  # fmt: skip
    assert not Review.objects.exists()


def test_an_outsider_on_the_home_page_and_board_is_recorded(client, outsider):
    """Pages a person without a role may not open (home, environments) are recorded as 403s."""
    client.force_login(outsider)
    before = last_id()
    assert client.get(reverse("home")).status_code == 403
    assert client.get(reverse("environments")).status_code == 403
    events = new_events(before)
    assert [(e.action, e.data["path"], e.data["status"]) for e in events] == [
        ("portal.refused", "/", 403),
        ("portal.refused", "/environments/", 403),
    ]


def test_anonymous_requests_are_not_recorded(client, in_review):
    """Not signed in: sent to sign in, and nothing is written."""
    before = last_id()
    response = client.get(reverse("rule-detail", args=[SLUG]) + "?v=99")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("rule-upload")).status_code == 302
    assert new_events(before) == []


def test_api_refusals_are_not_recorded_by_the_portal(client, in_review, outsider, counsel):
    """/api/v1/: the API answers its own refusals; no portal.refused event, whichever way the person signed in."""
    before = last_id()
    client.force_login(outsider)
    assert client.get(f"/api/v1/rules/{SLUG}/").status_code == 404
    client.force_login(counsel)
    assert client.get(f"/api/v1/rules/{SLUG}/versions/99/").status_code == 404
    assert not AuditEvent.objects.filter(id__gt=before, action="portal.refused").exists()


def test_api_service_refusals_are_recorded_once_by_the_service(in_review, counsel):
    """An API approval in the wrong role: 403, one review.approve refused event and nothing from the portal."""
    from rest_framework.test import APIClient

    from tokens.services import issue_token

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(counsel, actor=None, name='tests')[1]}")
    before = last_id()
    response = api.post(
        f"/api/v1/rules/{SLUG}/versions/{in_review.number}/reviews/",
        {"decision": "approve", "expected_hash": in_review.content_hash, "role": "budget"},
        format="json",
    )
    assert response.status_code == 403
    assert [(e.action, e.outcome) for e in new_events(before)] == [("review.approve", "refused")]


# ---------------------------------------------------------------------------------------------
# The middleware's own choices, for refusals a view lets through to it


def _request(path, user):
    request = RequestFactory().get(path)
    request.user = user
    return request


def _serve(path, user, error=None):
    """One request through the middleware: the view raises `error` (as Django reports it), then answers."""
    status = {PermissionDenied: 403, Http404: 404}.get(type(error), 500 if error else 200)
    middleware = PortalRefusalMiddleware(lambda request: HttpResponse(status=status))
    request = _request(path, user)
    if error is not None:
        assert middleware.process_exception(request, error) is None  # Django then renders the error page
    return middleware(request)


@pytest.mark.parametrize(
    "path", ["/api/v1/rules/x/", "/admin/rules/rule/", "/static/uswds/missing.css", "/favicon.ico"]
)
def test_api_admin_and_static_paths_are_not_recorded(counsel, path):
    """The middleware leaves /api/, /admin/ and static files alone, for 404 and 403 alike."""
    before = last_id()
    _serve(path, counsel, Http404("gone"))
    _serve(path, counsel, PermissionDenied("no"))
    assert new_events(before) == []


def test_audited_refusals_and_other_errors_are_not_recorded(counsel):
    """A refusal marked `audited` (the service wrote it) and errors other than 403/404 write nothing."""
    before = last_id()
    error = PermissionDenied("recorded by the service")
    error.audited = True
    assert _serve("/rules/x/", counsel, error).status_code == 403
    assert _serve("/rules/x/", counsel, ValueError("boom")).status_code == 500
    assert _serve("/rules/x/", counsel).status_code == 200
    assert new_events(before) == []


def test_an_empty_reason_gets_a_plain_one(counsel):
    """A refusal without a message is recorded with 'Not permitted.' or 'Not found.'."""
    before = last_id()
    _serve("/rules/x/", counsel, PermissionDenied())
    _serve("/rules/y/", counsel, Http404())
    assert [(e.data["status"], e.data["reason"]) for e in new_events(before)] == [
        (403, "Not permitted."),
        (404, "Not found."),
    ]


def test_a_long_path_is_cut_to_500_characters(counsel):
    """The recorded path is at most 500 characters, however long the request's."""
    before = last_id()
    _serve("/rules/x/?q=" + "a" * 2000, counsel, Http404("gone"))
    (event,) = new_events(before)
    assert len(event.data["path"]) == 500


def test_an_address_matching_no_page_is_recorded(client, counsel):
    """A crafted address that matches no page at all is a 404 recorded like any other refusal."""
    client.force_login(counsel)
    before = last_id()
    assert client.get("/rules/x/v/abc/checks/").status_code == 404
    (event,) = new_events(before)
    assert (event.action, event.outcome, event.actor) == ("portal.refused", "refused", counsel)
    assert (event.data["status"], event.data["path"]) == (404, "/rules/x/v/abc/checks/")


def test_a_post_without_its_csrf_token_is_recorded(counsel):
    """A form posted from elsewhere (no CSRF token) is refused with 403 and recorded."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(counsel)
    before = last_id()
    assert client.post(reverse("rule-upload"), {"text": "{}"}).status_code == 403
    (event,) = new_events(before)
    assert (event.action, event.data["status"], event.data["method"]) == ("portal.refused", 403, "POST")


def test_a_refused_upload_is_recorded_once(client, counsel):
    """Counsel posting a rule: 403, one rule.push refused event from the service, no portal.refused."""
    from tests.conftest import document

    client.force_login(counsel)
    before = last_id()
    assert client.post(reverse("rule-upload"), {"text": document().decode()}).status_code == 403
    assert [(e.action, e.outcome) for e in new_events(before)] == [("rule.push", "refused")]
