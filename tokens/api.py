"""POST /api/v1/auth/token/: an API token for a name and password, throttled and locked out as the portal's sign-in is."""

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from engine.errors import DomainError, InvalidInput
from pdp_portal import schema
from pdp_portal.fields import Text
from pdp_portal.parsers import StrictJSONParser

from .models import ApiToken
from .services import issue_token, revoke_token


class LoginRateThrottle(SimpleRateThrottle):
    """At most PDP_LOGIN_RATE token requests per client address, right or wrong (read at each request)."""

    scope = "login"

    def get_rate(self):
        return settings.PDP_LOGIN_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenRequest(serializers.Serializer):
    name = Text(
        max_length=100, required=False, default="Login", help_text="What the token is for, e.g. 'hms on my laptop'."
    )
    username = Text(max_length=150)
    password = Text(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenResponse(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown this once.")
    prefix = serializers.CharField(help_text="Its first characters, as the portal's token page lists it.")
    scope = serializers.CharField()
    expires_at = serializers.DateTimeField()


class BadCredentials(DomainError):
    code = "invalid_credentials"


class LockedOut(Throttled):
    default_code = "locked_out"

    def __init__(self, username):
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        super().__init__(
            wait=settings.AXES_COOLOFF_TIME.total_seconds(),
            detail=(
                f"Too many wrong passwords for {username}: signing in from this address is paused for "
                f"{minutes} minutes. Try again after that, or ask an administrator to lift the pause."
            ),
        )


@extend_schema(
    operation_id="auth_token",
    request=TokenRequest,
    responses=schema.responses(
        200,
        TokenResponse,
        s429="Too many requests from this address, or too many wrong passwords for this name: wait and retry.",
    ),
    auth=[],
    description="An API token for a name and password.",
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([LoginRateThrottle])
# JSON only, read as strictly as the rest of the API: a form body would keep the last of two
# `username` fields without a word.
@parser_classes([StrictJSONParser])
def obtain_token(request):
    form = TokenRequest(data=request.data)
    form.is_valid(raise_exception=True)
    username, password = form.validated_data["username"], form.validated_data["password"]
    # django-axes refuses a locked-out name before its password is tried, and counts each failure.
    user = authenticate(request=request._request, username=username, password=password)
    if getattr(request._request, "axes_locked_out", False):
        raise LockedOut(username)
    if user is None or not user.is_active:
        raise BadCredentials("Unable to log in with the name and password given.")
    token, key = issue_token(user, actor=user, name=form.validated_data["name"])
    return Response({"token": key, "prefix": token.prefix, "scope": token.scope, "expires_at": token.expires_at})


@extend_schema(
    operation_id="auth_token_revoke",
    request=None,
    responses=schema.responses(204, None),
    description="Revoke the token this request is made with (what `hms logout` does).",
)
@api_view(["POST"])
def revoke_current_token(request):
    if not isinstance(request.auth, ApiToken):
        raise InvalidInput("This request is not made with an API token; there is none to revoke.")
    revoke_token(request.auth, actor=request.user)
    return Response(status=204)
