"""The REST API's shared adapters: strict JSON bodies and JSON errors."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from engine.document import MAX_DOCUMENT_BYTES, parse_strict
from engine.errors import DomainError


class StrictJSONParser(BaseParser):
    """JSON bodies parsed as strictly as rule documents: no duplicate keys, NaN, or deep nesting."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the limit is enough to refuse; never read an unbounded body into memory.
        return parse_strict(stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b"")


# DRF's views read DEFAULT_PARSER_CLASSES, which names the parser above, the first time they are
# imported: imported only once it is defined, they leave this module importable before them (the
# middleware imports it when the portal starts, before any view).
from rest_framework.views import exception_handler  # noqa: E402


def error_body(code, message, details=None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return body


def api_exception_handler(exc, context):
    """Every API error is JSON: {"error": {"code", "message", "details"?}}."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(detail, dict) and "detail" in detail:
        message, details = str(detail["detail"]), None
    elif isinstance(detail, dict):
        message = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in detail.items())
        details = detail
    else:
        message, details = str(detail), None
    code = getattr(exc, "default_code", "error")
    response.data = error_body(code, message, details)
    return response


def not_found(request, exception):
    """A 404 under /api/ (an address that matches no endpoint, e.g. a slug with a space) is the API's JSON
    error, as the endpoints' own are; anywhere else it is the portal's page."""
    if request.path.startswith("/api/"):
        message = f"Nothing at {request.path}: no such endpoint or object. The endpoints are listed at /api/docs/."
        return JsonResponse(error_body("not_found", message), status=404)
    return defaults.page_not_found(request, exception)
