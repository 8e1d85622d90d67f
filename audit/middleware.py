from .services import current_ip, request_ip


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
