"""Issuing and revoking API tokens, each with its audit event. The key itself is never stored or recorded."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, record_event, refusals_recorded
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted

from .models import ApiToken, Scope, hash_key


def issue_token(
    user: User, *, actor: Actor, name: str, scope: str = Scope.FULL, days: float | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for `days` (PDP_TOKEN_TTL_DAYS by default). Returns it and its key, shown once.

    A person gets their own at login (actor = themselves); a token for someone else (a system's) is
    issued by an administrator.
    """
    with refusals_recorded("token.issue", actor=actor, target=user, data={"name": name, "scope": scope}):
        if actor is not None and actor.pk != user.pk and not actor.is_superuser:
            raise NotPermitted("Only an administrator may issue a token for someone else.")
        if scope not in Scope.values:
            raise NotPermitted(f"Unknown scope {scope!r}; the scopes are {', '.join(Scope.values)}.")
        if permissions.is_system_account(user):
            scope = Scope.DECISIONS  # a payment system asks for decisions and nothing else, even with a password
        days = settings.PDP_TOKEN_TTL_DAYS if days is None else days
        key = ApiToken.new_key()
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name[:100],
                prefix=key[: ApiToken.PREFIX_LENGTH],
                key_hash=hash_key(key),
                scope=scope,
                expires_at=timezone.now() + timedelta(days=days),
            )
            record_event(
                "token.issue",
                actor=actor,
                target=user,
                data={
                    "token": token.pk,
                    "prefix": token.prefix,
                    "name": token.name,
                    "scope": scope,
                    "expires_at": token.expires_at.isoformat(),
                },
            )
    return token, key


def revoke_token(token: ApiToken, *, actor: User) -> ApiToken:
    """Stop a token from working, now. Its owner or an administrator may; a revoked token stays revoked."""
    with refusals_recorded("token.revoke", actor=actor, target=token.user, data={"token": token.pk}):
        if actor.pk != token.user_id and not actor.is_superuser:
            raise NotPermitted("You may revoke only your own tokens.")
        with transaction.atomic():
            token = ApiToken.objects.select_for_update().get(pk=token.pk)
            if token.is_revoked:
                raise InvalidTransition(f"The token {token} was revoked already.")
            token.revoked_at = timezone.now()
            token.revoked_by = actor
            token.save(update_fields=["revoked_at", "revoked_by"])
            record_event(
                "token.revoke",
                actor=actor,
                target=token.user,
                data={"token": token.pk, "prefix": token.prefix, "name": token.name},
            )
    return token
