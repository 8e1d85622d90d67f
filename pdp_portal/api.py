"""Shared pieces of the REST API: strict JSON bodies, the client address, and representations."""

from rest_framework.parsers import BaseParser

from audit.services import current_ip, request_ip
from rules.document import parse_strict


class StrictJSONParser(BaseParser):
    """JSON bodies parsed as strictly as rule documents: no duplicate keys, NaN, or deep nesting."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_strict(stream.read())


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
