"""The answer when the database is lost mid-request: 503 with a clear message, never a 500 page."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .api import error_body

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
MESSAGE = (
    "The portal cannot reach its database just now, so your request was not completed. "
    "A change is saved whole or not at all: try again in a minute."
)


class DatabaseUnavailableMiddleware:
    """Answer 503 when a view loses its database connection (a restart, a failover, a dropped socket).

    Every service writes in one transaction, which went with the connection, so nothing of the request
    was half-written. The API answers its JSON error (`database_unavailable`); the portal a page
    rendered without the request (the navigation, the person and the messages all read the database).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("Database unavailable: %s %s answered 503", request.method, request.path, exc_info=exception)
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse(error_body("database_unavailable", MESSAGE), status=503)
        else:
            again = request.get_full_path() if request.method == "GET" else None
            response = HttpResponse(render_to_string("503.html", {"message": MESSAGE, "again": again}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
