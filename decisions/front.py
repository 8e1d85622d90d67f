"""The decision front: POST /api/v1/decisions answered at the WSGI layer, in front of Django's handler.

A single decision is a few dozen microseconds of rule evaluation, but Django's handler and middleware
cost about a millisecond of CPU per request around it (bench/decisions.py measures both, with the same
server). So a decision request that will be answered 200 is answered here, by the same functions the
API view uses (decisions.api), and every other request, and every refusal, goes to Django unchanged:

- only POST to the decisions address (with or without its trailing slash), `Content-Type:
  application/json`, a body within DATA_UPLOAD_MAX_MEMORY_SIZE and `Authorization: Token <key>`;
- the Host header is checked against ALLOWED_HOSTS (and a request SECURE_SSL_REDIRECT would redirect
  is left to Django), as Django's handler would;
- the token must be one the serving snapshot already knows (the first request of each token and
  generation goes through Django and teaches it), usable, allowed this address, its owner allowed to
  request decisions;
- the body must read as a decision request with a valid date.

What Django's path adds to an answer is added here too: the security headers of SecurityMiddleware,
XFrameOptionsMiddleware and CSPMiddleware (computed by those classes, once), DRF's `Vary` and
`Allow`, the request id in `X-Request-ID`, the one JSON log line of each request, and the
django_prometheus request metrics (applied a moment later, as operations.metrics explains). tests/decisions/test_front.py compares the two answers, headers and
bytes, so a middleware added later that changes the answer fails there rather than going unnoticed.

The database connection is kept as Django keeps it (CONN_MAX_AGE, closed when broken) but without the
per-request health-check query: the generation read is the check, and a failed read is tried once more
on a new connection, then left to Django, which answers 503 when the database is down.
"""

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DEFAULT_DB_ALIAS, Error, connections
from django.http import HttpResponse
from django.urls import get_resolver
from django.utils.module_loading import import_string
from rest_framework.exceptions import ValidationError

from engine.document import parse_strict
from engine.errors import DomainError
from operations.context import request_id_from, reset_request_id, set_request_id
from operations.metrics import later_inc, later_observe
from tokens.authentication import mark_used, why_unusable
from tokens.models import hash_key

from . import serving
from .api import decide_one, read_decision_request

logger = logging.getLogger("pdp.request")  # the same logger, and line, as operations.middleware

ROUTES = ("api-decisions", "api-decisions-slash")
# The middleware whose headers a 200 from the decisions view carries, when they are in MIDDLEWARE.
HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
)
_MEMO_LIMIT = 256

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class DecisionFront:
    """A WSGI application: Django's, with good decision requests answered before it."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._routes: dict[str, str] | None = None
        self._shapes: dict[tuple[Any, ...], bool | None] = {}
        self._headers: dict[bool, list[tuple[str, str]]] = {}
        self._metrics: dict[tuple[bool, str], _RequestMetrics] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in self.routes():
            started = time.perf_counter()
            answered = self.answer(environ, started)
            if answered is not None:
                status, headers, body = answered
                start_response(status, headers)
                return [body]
        return self.app(environ, start_response)

    # ------------------------------------------------------------------------------------------------
    def routes(self) -> dict[str, str]:
        """PATH_INFO → route name of the decisions addresses (read from the URLconf, once)."""
        if self._routes is None:
            resolver = get_resolver()
            self._routes = {"/" + resolver.reverse(name): name for name in ROUTES}
        return self._routes

    def answer(self, environ: dict[str, Any], started: float) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """(status, headers, body) of a decision answered here, or None for Django to answer. A body read
        here is put back for Django."""
        secure = self._secure(environ)
        scheme, _, key = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip()
        if secure is None or scheme != "Token" or not key.strip() or content_type != "application/json":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length <= 0 or (limit is not None and length > limit):
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # for Django, should it answer after all
        environ["CONTENT_LENGTH"] = str(len(raw))
        snapshot = self._snapshot()
        if snapshot is None:
            return None
        token = snapshot.tokens.get(hash_key(key.strip()))
        route = self.routes()[environ["PATH_INFO"]]
        if token is None or why_unusable(token) is not None or not token.allows(route):
            return None
        if not snapshot.allows(token.user):
            return None
        try:
            account_id, citizen, on = read_decision_request(parse_strict(raw))
        except (DomainError, ValidationError):
            return None
        rid = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        context = set_request_id(rid)
        try:
            mark_used(token)
            body = json.dumps(
                decide_one(snapshot, rid, account_id, citizen, on), ensure_ascii=False, separators=(",", ":")
            ).encode()
        except Error:
            return None  # mark_used (or an inline decision log) could not write: Django's path says why
        finally:
            reset_request_id(context)
        _close_if_obsolete(connections[DEFAULT_DB_ALIAS])  # as Django does when a request finishes
        headers = [
            ("Content-Type", "application/json"),
            *self._headers_for(secure),
            ("Content-Length", str(len(body))),
            ("X-Request-ID", rid),
        ]
        self._account(environ, secure, route, token.user_id, rid, len(raw), len(body), started)
        return "200 OK", headers, body

    def _snapshot(self) -> serving.Snapshot | None:
        """The serving snapshot, its generation read on this thread's connection. A connection past its
        CONN_MAX_AGE, or broken, is closed first, as Django does when a request starts; a read that fails
        is tried once on a new connection (a server restart drops every kept one); None if that fails too."""
        db: Any = connections[DEFAULT_DB_ALIAS]
        for attempt in (1, 2):
            _close_if_obsolete(db)
            db.health_check_done = True  # the read below is the check
            try:
                return serving.current()
            except Error:
                if attempt == 2 or db.in_atomic_block:
                    return None
                db.close()
        return None

    def _secure(self, environ: dict[str, Any]) -> bool | None:
        """Whether the request came over HTTPS (as Django reads it), or None when Django must answer it:
        a Host ALLOWED_HOSTS refuses, or a plain request SECURE_SSL_REDIRECT sends elsewhere. Remembered
        for the few shapes of request a server sees."""
        proxy = settings.SECURE_PROXY_SSL_HEADER
        key = (
            environ.get("HTTP_HOST"),
            environ.get("HTTP_X_FORWARDED_HOST") if settings.USE_X_FORWARDED_HOST else None,
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ.get("wsgi.url_scheme"),
            environ.get(proxy[0]) if proxy else None,
        )
        if key not in self._shapes:
            if len(self._shapes) >= _MEMO_LIMIT:
                self._shapes.clear()  # a stream of made-up Host headers costs a check each, never memory
            request = WSGIRequest({**environ, "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"})
            try:
                request.get_host()
                secure: bool | None = request.is_secure()
            except DisallowedHost:
                secure = None
            if secure is False and settings.SECURE_SSL_REDIRECT:
                secure = None
            self._shapes[key] = secure
        return self._shapes[key]

    def _headers_for(self, secure: bool) -> list[tuple[str, str]]:
        """The headers Django's middleware and DRF add to a 200 from the decisions view, but the request id."""
        if secure not in self._headers:
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/",
                "SERVER_NAME": "front",
                "SERVER_PORT": "443" if secure else "80",
                "wsgi.url_scheme": "https" if secure else "http",
                "wsgi.input": io.BytesIO(b""),
            }
            request = WSGIRequest(environ)
            response = HttpResponse(content_type="application/json")
            response["Vary"] = "Accept"  # DRF's renderer negotiation
            view = get_resolver().resolve(next(iter(self.routes()))).func.cls  # type: ignore[attr-defined]
            response["Allow"] = ", ".join(view().allowed_methods)  # DRF's, in its order (that of a set)
            for path in reversed([path for path in settings.MIDDLEWARE if path in HEADER_MIDDLEWARE]):
                middleware = import_string(path)(_never_called)
                if hasattr(middleware, "process_request"):
                    middleware.process_request(request)
                response = middleware.process_response(request, response)
            self._headers[secure] = [(k, v) for k, v in response.items() if k != "Content-Type"]
        return self._headers[secure]

    def _account(
        self,
        environ: dict[str, Any],
        secure: bool,
        route: str,
        user_id: int,
        rid: str,
        received: int,
        sent: int,
        started: float,
    ) -> None:
        """The request's log line and metrics, as operations.middleware and django_prometheus give them."""
        seconds = time.perf_counter() - started
        key = (secure, route)
        if key not in self._metrics:
            self._metrics[key] = _RequestMetrics(secure, route)
        self._metrics[key].count(received, sent, seconds)
        if logger.isEnabledFor(logging.INFO):
            path = environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"]
            context = set_request_id(rid)
            try:
                logger.info(
                    "POST %s 200",
                    path,
                    extra={
                        "method": "POST",
                        "path": path,
                        "status": 200,
                        "duration_ms": round(seconds * 1000, 2),
                        "user_id": user_id,
                        "remote_addr": environ.get("REMOTE_ADDR"),
                    },
                )
            finally:
                reset_request_id(context)


def _close_if_obsolete(db: Any) -> None:
    """Close the connection if it is past CONN_MAX_AGE or broken, as Django does around each request; never
    inside a transaction (a server calls the front outside any; a test may hold one open around it)."""
    if not db.in_atomic_block:
        db.close_if_unusable_or_obsolete()


def _never_called(request: Any) -> HttpResponse:
    raise AssertionError("only the middleware's process_response is used")


class _RequestMetrics:
    """django_prometheus's request metrics for one kind of answered decision, their label sets bound once."""

    def __init__(self, secure: bool, route: str) -> None:
        from django_prometheus.middleware import Metrics

        metrics = Metrics.get_instance()
        transport, status, method = ("https" if secure else "http"), "200", "POST"
        self.counters = (
            metrics.requests_total,
            metrics.responses_total,
            metrics.requests_by_method.labels(method=method),
            metrics.requests_by_transport.labels(transport=transport),
            metrics.requests_by_view_transport_method.labels(view=route, transport=transport, method=method),
            metrics.responses_by_status.labels(status=status),
            metrics.responses_by_status_view_method.labels(status=status, view=route, method=method),
            metrics.responses_by_charset.labels(charset="utf-8"),
        )
        self.received = metrics.requests_body_bytes
        self.sent = metrics.responses_body_bytes
        self.latencies = (
            metrics.requests_latency_before,
            metrics.requests_latency_by_view_method.labels(view=route, method=method),
        )

    def count(self, received: int, sent: int, seconds: float) -> None:
        for counter in self.counters:
            later_inc(counter)
        later_observe(self.received, received)
        later_observe(self.sent, sent)
        for latency in self.latencies:
            later_observe(latency, seconds)
