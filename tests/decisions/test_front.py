"""The decision front (decisions/front.py): good decision requests answered before Django, with the same
answer, headers and promises; everything else answered by Django, as before."""

import json
import logging
from dataclasses import dataclass

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from django.test.client import ClientHandler
from prometheus_client import REGISTRY

from accounts.services import remove_role
from decisions import serving
from decisions.front import DecisionFront
from deployments.services import rollback
from operations.metrics import apply_pending
from tokens.models import ApiToken, Scope
from tokens.services import issue_token, revoke_token

ADULT_IN_ZONE = {"age": 40, "in_fire_zone": True, "home_damaged": True}
IN_FORCE = "2025-01-15"
GOOD = {"account_id": "acct-1", "citizen": ADULT_IN_ZONE, "date": IN_FORCE}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    by: str  # "front" or "django"

    def json(self):
        return json.loads(self.body)


class Portal:
    """The portal's WSGI application as a server calls it: the front, then Django (the test client's handler,
    which leaves the test's transaction open)."""

    def __init__(self, key: str):
        self.key = key
        self.django_calls = 0
        self.front = DecisionFront(self._django)

    def _django(self, environ, start_response):
        self.django_calls += 1
        response = ClientHandler(enforce_csrf_checks=False)(environ)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]

    def post(self, body=GOOD, path="/api/v1/decisions", *, key=None, content_type="application/json", **extra):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        extra.setdefault("HTTP_AUTHORIZATION", f"Token {key or self.key}")
        environ = RequestFactory().generic("POST", path, raw, content_type=content_type, **extra).environ
        seen = {}

        def start_response(status, headers):
            seen.update(status=int(status.split()[0]), headers=dict(headers))

        before = self.django_calls
        body = b"".join(self.front(environ, start_response))
        return Answer(seen["status"], seen["headers"], body, "front" if self.django_calls == before else "django")


@pytest.fixture
def token_of(superuser):
    def _token(user):
        return issue_token(user, actor=superuser, name="payments", scope=Scope.DECISIONS)

    return _token


@pytest.fixture
def portal(system, token_of):
    return Portal(token_of(system)[1])


def test_a_known_token_is_answered_by_the_front_with_djangos_exact_answer(in_production, portal, settings):
    """The first request teaches the snapshot the token (Django answers it); the next is the front's, and the
    two answers are the same bytes and the same headers, over HTTP and over HTTPS with HSTS on."""
    settings.SECURE_HSTS_SECONDS = 3600
    answers = {}
    for scheme in ("http", "https"):
        first = portal.post(HTTP_X_REQUEST_ID=f"same-id-{scheme}", **{"wsgi.url_scheme": scheme})
        second = portal.post(HTTP_X_REQUEST_ID=f"same-id-{scheme}", **{"wsgi.url_scheme": scheme})
        assert (first.by, second.by) == ("django" if scheme == "http" else "front", "front")
        assert second.status == first.status == 200
        assert second.body == first.body
        assert second.headers == first.headers
        assert ("Strict-Transport-Security" in second.headers) == (scheme == "https")
        answers[scheme] = first
    # Through Django's path explicitly, with the token known: still the same answer.
    through_django = Portal(portal.key)
    through_django.front.answer = lambda environ, started: None
    again = through_django.post(HTTP_X_REQUEST_ID="same-id-http")
    assert (again.by, again.body, again.headers) == ("django", answers["http"].body, answers["http"].headers)


def test_the_front_answers_the_address_with_its_trailing_slash_too(in_production, portal):
    portal.post()
    answer = portal.post(path="/api/v1/decisions/")
    assert (answer.status, answer.by) == (200, "front")
    assert answer.json()["decisions"][0]["eligible"] is True


@pytest.mark.parametrize(
    "change, status",
    [
        ({"body": {"account_id": "", "citizen": ADULT_IN_ZONE}}, 400),
        ({"body": {"account_id": "a", "citizen": [1]}}, 400),
        ({"body": {**GOOD, "date": "soon"}}, 400),
        ({"body": b'{"account_id": "a", "account_id": "b", "citizen": {}}'}, 400),
        ({"body": b"not json"}, 400),
        ({"content_type": "text/plain"}, 415),
        ({"key": "not-a-token"}, 401),
        ({"HTTP_AUTHORIZATION": ""}, 401),
        ({"HTTP_HOST": "evil.example"}, 400),
    ],
)
def test_anything_but_a_good_request_is_left_to_django(in_production, portal, change, status):
    """A refusal is always Django's, with its error body: the front answers only what will be a 200."""
    portal.post()
    answer = portal.post(**change)
    assert (answer.status, answer.by) == (status, "django")


def test_a_body_over_the_upload_limit_is_left_to_django(in_production, portal, settings):
    portal.post()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50
    assert portal.post().by == "django"


def test_a_request_that_ssl_redirect_would_send_elsewhere_is_left_to_django(in_production, system, token_of, settings):
    settings.SECURE_SSL_REDIRECT = True
    portal = Portal(token_of(system)[1])
    portal.post(**{"wsgi.url_scheme": "https"})
    answer = portal.post()
    assert (answer.status, answer.by) == (301, "django")
    assert portal.post(**{"wsgi.url_scheme": "https"}).by == "front"


def test_the_rollback_promise_holds_through_the_front(in_production, portal, release_manager):
    portal.post()
    assert portal.post().json()["decisions"][0]["version"] == 1
    rollback(in_production.rule, actor=release_manager, reason="pause", to="v0")
    # The new generation's snapshot has yet to meet the token: Django answers first, then the front.
    assert [(answer.by, answer.json()["decisions"]) for answer in (portal.post(), portal.post())] == [
        ("django", []),
        ("front", []),
    ]


def test_a_revoked_token_lost_role_or_deactivated_account_is_refused_at_once(
    in_production, system, token_of, superuser, settings
):
    token, key = token_of(system)
    portal = Portal(key)
    portal.post()
    assert portal.post().by == "front"
    revoke_token(token, actor=superuser)
    answer = portal.post()
    assert (answer.status, answer.by) == (401, "django")
    _, key = token_of(system)
    portal = Portal(key)
    portal.post()
    remove_role(system, actor=superuser, group=settings.PDP_SYSTEMS_GROUP)
    assert (portal.post().status, portal.post().by) == (403, "django")


def test_a_revoked_token_the_snapshot_still_holds_is_not_answered_by_the_front(in_production, system, token_of):
    """Revoked without moving the generation (as if a process still held the old snapshot): still refused."""
    token, key = token_of(system)
    portal = Portal(key)
    portal.post()
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.created_at)
    serving.current().tokens[token.key_hash].revoked_at = token.created_at
    assert (portal.post().status, portal.post().by) == (401, "django")


def test_the_front_writes_djangos_log_line_and_request_figures(in_production, portal, system, caplog):
    def figure(name, **labels):
        apply_pending()
        return REGISTRY.get_sample_value(name, labels) or 0

    labels = {"view": "api-decisions", "transport": "http", "method": "POST"}
    portal.post()
    before = figure("django_http_requests_total_by_view_transport_method_total", **labels)
    responses = figure(
        "django_http_responses_total_by_status_view_method_total", status="200", view="api-decisions", method="POST"
    )
    with caplog.at_level(logging.INFO, logger="pdp.request"):
        answer = portal.post(HTTP_X_REQUEST_ID="front-log-1")
    assert answer.by == "front"
    (line,) = [r for r in caplog.records if r.name == "pdp.request" and r.request_id == "front-log-1"]
    assert (line.method, line.path, line.status, line.user_id) == ("POST", "/api/v1/decisions", 200, system.pk)
    assert line.request_id == "front-log-1" == answer.headers["X-Request-ID"] == answer.json()["request_id"]
    assert figure("django_http_requests_total_by_view_transport_method_total", **labels) == before + 1
    assert (
        figure(
            "django_http_responses_total_by_status_view_method_total", status="200", view="api-decisions", method="POST"
        )
        == responses + 1
    )


@pytest.mark.django_db(transaction=True)  # the retry opens a new connection: not inside a test's transaction
def test_a_failed_generation_read_is_tried_once_more_then_left_to_django(in_production, portal, monkeypatch):
    portal.post()
    real, calls = serving.current, []

    def failing(times):
        def current():
            calls.append(1)
            if len(calls) <= times:
                raise OperationalError("server closed the connection unexpectedly")
            return real()

        return current

    monkeypatch.setattr(serving, "current", failing(1))
    answer = portal.post()
    assert (answer.status, answer.by, len(calls)) == (200, "front", 2)
    calls.clear()
    monkeypatch.setattr(serving, "current", failing(3))
    answer = portal.post()
    assert answer.by == "django"
    assert answer.status == 503  # Django's path found the database down too
