"""The REST API's shared adapters: JSON errors (the strict JSON parser is pdp_portal/parsers.py)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.template import loader
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from engine.document import MAX_DOCUMENT_BYTES
from engine.errors import DomainError


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


def bad_request(request, exception):
    """A request Django refuses before any view reads it: one too large (DATA_UPLOAD_MAX_MEMORY_SIZE, e.g. a pasted
    document of several MiB) or with too many fields says so; anything else is the generic refusal. JSON under /api/."""
    if isinstance(exception, RequestDataTooBig):
        message = (
            f"The request is larger than the portal takes ({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes); "
            f"a rule document may be at most {MAX_DOCUMENT_BYTES:,} bytes (1 MiB). Nothing was stored."
        )
    elif isinstance(exception, TooManyFieldsSent):
        message = "The request has more fields than the portal takes. Nothing was stored."
    else:
        message = "The request could not be read. Nothing was stored."
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", message), status=400)
    return HttpResponseBadRequest(loader.get_template("400.html").render({"message": message}))


def not_found(request, exception):
    """A 404 under /api/ (an address that matches no endpoint, e.g. a slug with a space) is the API's JSON
    error, as the endpoints' own are; anywhere else it is the portal's page."""
    if request.path.startswith("/api/"):
        message = f"Nothing at {request.path}: no such endpoint or object. The endpoints are listed at /api/docs/."
        return JsonResponse(error_body("not_found", message), status=404)
    return defaults.page_not_found(request, exception)
