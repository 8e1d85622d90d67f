import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a token may be used for: everything its owner may do, or only asking for decisions."""

    FULL = "full", "everything its owner may do"
    DECISIONS = "decisions", "decisions only"


# The API routes (URL names) each limited scope opens; FULL opens every route.
SCOPE_ROUTES: dict[str, set[str]] = {Scope.DECISIONS: {"api-decisions", "api-decisions-slash", "api-decisions-batch"}}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        """Neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())

    def of(self, user):
        """A person's own tokens, newest first."""
        return self.filter(user=user).order_by("-created_at", "-id")


class ApiToken(models.Model):
    """An API token. Only a hash of its key is kept: the key is shown once, when it is issued."""

    PREFIX_LENGTH = 8

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'hms on my laptop' or 'payments'.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=12, choices=Scope.choices, default=Scope.FULL)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="tokens_by_owner")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        return "revoked" if self.is_revoked else "expired" if self.is_expired else "active"

    def allows(self, route_name: str | None) -> bool:
        return self.scope == Scope.FULL or route_name in SCOPE_ROUTES.get(self.scope, set())
