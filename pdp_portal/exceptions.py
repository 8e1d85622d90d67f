"""The domain's errors, and how the API answers them.

Every refusal a service can make is one of these. Adapters map them: the API to a status code
with a JSON body, the portal to a message, the CLI and management commands to an exit code.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A request the domain refuses. `status` is the HTTP status an adapter answers with."""

    status = 400
    code = "invalid"

    def __init__(self, message, *, details=None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidDocument(DomainError):
    """The rule document cannot be parsed or does not follow the schema."""

    code = "invalid_document"


class InvalidInput(DomainError):
    code = "invalid_input"


class NotPermitted(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidTransition(DomainError):
    """The object is not in a state that allows this move."""

    status = 409
    code = "invalid_state"


class ReviewRefused(DomainError):
    """This person may not give this sign-off on this version."""

    status = 403
    code = "review_refused"


class StaleApproval(DomainError):
    """The reviewer saw another content hash than the version has."""

    status = 409
    code = "stale_hash"


class ReleaseRefused(DomainError):
    """A promote or rollback that the release rules do not allow."""

    status = 409
    code = "release_refused"


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
