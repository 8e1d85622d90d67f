"""Endpoints that receive the audit history, and the log of what was sent to each."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Count, Max, Q

from audit.models import AuditEvent


class EndpointQuerySet(models.QuerySet):
    def with_health(self):
        """Each endpoint with its last success and its deliveries by state, in one query: the Webhooks list."""
        state = WebhookDelivery.State
        return (
            self.select_related("created_by")
            .annotate(
                last_success=Max("deliveries__delivered_at"),
                failing_count=Count("deliveries", filter=Q(deliveries__state=state.FAILING)),
                gave_up_count=Count("deliveries", filter=Q(deliveries__state=state.GAVE_UP)),
                pending_count=Count("deliveries", filter=Q(deliveries__state=state.PENDING)),
            )
            .order_by("name", "id")
        )


class WebhookEndpoint(models.Model):
    """A receiver of audit events. `cursor` is the id of the last audit event it has taken (matching or not)."""

    SECRET_PREFIX = "whsec_"

    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500)
    # Kept in clear: every request is signed with it. Shown once, to the administrator who adds the endpoint.
    secret = models.CharField(max_length=80)
    # Audit action names (`release.promote`) or prefixes ending in a dot (`release.`); empty takes every event.
    events = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    cursor = models.BigIntegerField(default=0)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["name"], name="webhooks_one_endpoint_per_name")]

    def __str__(self):
        return self.name

    @classmethod
    def new_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    def takes(self, action: str) -> bool:
        """Whether an event of this action matches the endpoint's filter."""
        if not self.events:
            return True
        return any(action == entry or (entry.endswith(".") and action.startswith(entry)) for entry in self.events)

    @property
    def events_label(self) -> str:
        return ", ".join(self.events) if self.events else "every event"


class DeliveryQuerySet(models.QuerySet):
    def for_log(self):
        """Newest first, with the event and every attempt: the delivery log page (three queries a page)."""
        return (
            self.select_related("event")
            .prefetch_related(models.Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("id")))
            .order_by("-id")
        )

    def due(self, now):
        """Waiting to be sent now, to an active endpoint, and not held by a sender."""
        return self.filter(
            state__in=WebhookDelivery.OPEN,
            next_attempt_at__lte=now,
            endpoint__is_active=True,
        ).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))


class WebhookDelivery(models.Model):
    """One audit event for one endpoint, until it is delivered or given up on."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        FAILING = "failing", "failing"
        GAVE_UP = "gave_up", "gave up"

    OPEN = (State.PENDING, State.FAILING)
    RETRYABLE = (State.FAILING, State.GAVE_UP)

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A sender's claim while it sends (webhooks.services.send_delivery): no other sender takes the
    # delivery before `lease_until`, and only the holder of `lease` may record the attempt's result.
    lease = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhooks_one_delivery_per_event"),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="webhooks_due"),
            models.Index(fields=["endpoint", "state"], name="webhooks_endpoint_state"),
        ]

    def __str__(self):
        return f"delivery #{self.pk} of event #{self.event_id} to {self.endpoint_id} ({self.state})"

    @property
    def can_retry(self) -> bool:
        return self.state in self.RETRYABLE


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, how long, and what came back. Not an audit event: they would feed themselves."""

    EXCERPT = 200

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=EXCERPT, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"attempt on delivery #{self.delivery_id}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
