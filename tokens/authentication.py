"""`Authorization: Token <key>` for the API: the key's hash names a token that is neither revoked nor
expired, of an active person; a limited token opens only the routes of its scope."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from .models import ApiToken, hash_key

# last_used_at is written at most this often per token, not on every request.
USE_RESOLUTION = timedelta(minutes=1)


class ExpiringTokenAuthentication(authentication.TokenAuthentication):
    def find(self, key_hash: str) -> ApiToken | None:
        """The token with this key's hash, with its owner; decision serving finds it in its cache."""
        return ApiToken.objects.select_related("user").filter(key_hash=key_hash).first()

    def authenticate_credentials(self, key):
        token = self.find(hash_key(key))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        refusal = why_unusable(token)
        if refusal is not None:
            raise exceptions.AuthenticationFailed(refusal)
        mark_used(token)
        return token.user, token


def why_unusable(token: ApiToken) -> str | None:
    """Why this token opens nothing now (revoked, expired, its owner deactivated), or None."""
    if token.is_revoked:
        return f"This token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC."
    if token.is_expired:
        return f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC."
    if not token.user.is_active:
        return "This account is deactivated."
    return None


def mark_used(token: ApiToken) -> None:
    """Record the token's use, at most once a minute (USE_RESOLUTION)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


class TokenScope(permissions.BasePermission):
    """A token limited to a scope (a system's, for decisions) opens only that scope's routes."""

    message = "This token may only be used for what its scope allows; ask an administrator for another."

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True  # a session, or no credentials: the other permissions decide
        match = request.resolver_match
        if token.allows(match.url_name if match else None):
            return True
        self.message = (
            f"This token is limited to {token.get_scope_display()}; "
            f"{request.method} {request.path} is outside it. Ask an administrator for another token."
        )
        return False
