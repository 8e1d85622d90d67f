from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .services import current_ip, record_refusal, request_ip

# Paths whose refusals are not portal pages: the API answers and audits its own, the admin is
# Django's, and a missing static file or icon is not an attempt at anything.
_NOT_PORTAL = ("/api/", "/admin/", "/" + settings.STATIC_URL.lstrip("/"), "/favicon.ico")
# The operations endpoints (/healthz, /readyz, /metrics) are machines' probes, not attempts at a page.
_NOT_PORTAL += ("/healthz", "/readyz", "/metrics")


class AuditIPMiddleware:
    """Make the client address available to audit events written while serving the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(request_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


class PortalRefusalMiddleware:
    """Record a signed-in person's refused page request (403 or 404) in the audit history, once
    (identical repeats within a short window are counted into one event: services.record_refusal).

    Whatever refused it: a view (a rule this person may not see, a page their role does not
    open), the URL resolver (an address that matches no page) or the CSRF check. A service that
    refused an action has recorded it already and marks the error it raises (`audited`); that
    response is not recorded again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404) and not getattr(request, "_refusal_audited", False):
            self._record(request, response.status_code, getattr(request, "_refusal_reason", ""))
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, (PermissionDenied, Http404)):
            if getattr(exception, "audited", False):
                request._refusal_audited = True
            else:
                request._refusal_reason = str(exception)
        return None

    @staticmethod
    def _record(request, status, reason):
        user = getattr(request, "user", None)
        # The path first: reading `is_authenticated` loads the session and the person.
        if request.path.startswith(_NOT_PORTAL) or user is None or not user.is_authenticated:
            return
        record_refusal(
            actor=user,
            method=request.method,
            path=request.get_full_path(),
            status=status,
            reason=reason or ("Not permitted." if status == 403 else "Not found."),
        )
