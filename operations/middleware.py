"""The request id and the one log line of each request."""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from .context import request_id_from, reset_request_id, set_request_id

logger = logging.getLogger("pdp.request")

HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """First in MIDDLEWARE: give the request its id (`request.request_id`, `current_request_id()`),
    echo it in the response's X-Request-ID header, and log one line when the response is ready.

    The web server writes no access log (pdp_portal/serve.py), so there is one line per request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": _user_id(request),
                    "remote_addr": request.META.get("REMOTE_ADDR"),
                },
            )
            return response
        finally:
            reset_request_id(token)


def _user_id(request: HttpRequest) -> int | None:
    # Only a user some middleware or view already loaded: reading `request.user` here would cost a
    # session and a user query on requests that never needed them (the probes).
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is None or wrapped is empty:  # no user, or a lazy one nobody asked for
        return None
    return getattr(wrapped, "pk", None)
