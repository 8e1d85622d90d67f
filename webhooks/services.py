"""Outbound webhooks: endpoints managed by administrators (each change audited), and the worker's delivery.

The audit append path knows nothing of webhooks: the worker reads the history after each endpoint's
cursor (`collect_deliveries`), so an append gains no query and no network call, and a receiver that
is slow or down can hold up nothing but its own deliveries. Sending (`send_due_deliveries`) claims a
delivery with a short lease, posts it outside any transaction, then records the attempt: no row lock
or database transaction is held across the network (on SQLite an open write transaction is the
database's write lock). Attempts live in the delivery log, not in the audit history, which they would
feed: every attempt would be an event to deliver.
"""

import hashlib
import hmac
import ipaddress
import json
import random
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor, record_event, refusals_recorded
from engine.errors import InvalidInput
from pdp_portal import permissions
from pdp_portal.celery import enqueue_on_commit
from pdp_portal.exceptions import InvalidTransition, NotPermitted

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

NAME_MAX = 100
URL_MAX = 500
FILTER_MAX = 50
NOT_ALLOWED = "Webhooks are managed by administrators."
# The first part of every audit action the portal records (`release.promote`, `fund.create`, ...). A
# filter entry must name one of them, or an action already in the history, so a typo is refused
# rather than silently matching nothing.
ACTION_FAMILIES = (
    "audit", "auth", "check", "dataset", "demo", "deployment", "environment", "fund", "group", "person", "portal",
    "release", "review", "rule", "testaccount", "token", "version", "webhook",
)  # fmt: skip
_FILTER_ENTRY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.?$")
USER_AGENT = "pdp-portal-webhooks/1"


# ---------------------------------------------------------------------------------------------
# Checking what an administrator enters


def _non_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return not (mapped or ip).is_global


def private_address_of(host: str) -> str | None:
    """The first address `host` resolves to that is not on the public internet (loopback, private,
    link-local, reserved, ...), or None when every one is public. Raises OSError when it does not resolve."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    for info in infos:
        address = str(info[4][0])
        if _non_public(address):
            return address
    return None


def check_url(url: str) -> str:
    """The endpoint's URL, stripped, or InvalidInput naming the field: http(s), a host, no credentials, and
    (unless PDP_WEBHOOK_ALLOW_PRIVATE) a host on the public internet."""
    url = (url or "").strip()
    if not url:
        raise InvalidInput.at("url", "Enter the URL the events are posted to, like https://siem.example.org/pdp.")
    if len(url) > URL_MAX:
        raise InvalidInput.at("url", f"The URL is {len(url)} characters long; at most {URL_MAX}.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidInput.at("url", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput.at("url", f"The URL cannot be read ({exc}).") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput.at("url", "The URL must start with https:// (or http://).")
    if not parts.hostname:
        raise InvalidInput.at("url", "The URL names no host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput.at("url", "Put no user name or password in the URL: requests are signed with the secret.")
    if port == 0:
        raise InvalidInput.at("url", "The URL's port must be between 1 and 65535.")
    if not settings.PDP_WEBHOOK_ALLOW_PRIVATE:
        try:
            private = private_address_of(parts.hostname)
        except (OSError, UnicodeError) as exc:
            raise InvalidInput.at("url", f"The host {parts.hostname} cannot be resolved ({exc}).") from exc
        if private is not None:
            raise InvalidInput.at(
                "url",
                f"The host {parts.hostname} is at {private}, a private or loopback address: "
                "webhooks go to the public internet only (PDP_WEBHOOK_ALLOW_PRIVATE=1 allows it).",
            )
    return url


def parse_filter(text: str | list[str]) -> list[str]:
    """The event filter as a sorted list of action names and prefixes (ending in "."), or InvalidInput.

    Text is split at commas, spaces and new lines; empty means every event.
    """
    entries = re.split(r"[\s,]+", text) if isinstance(text, str) else list(text)
    entries = sorted({entry.strip() for entry in entries if entry.strip()})
    if len(entries) > FILTER_MAX:
        raise InvalidInput.at("events", f"{len(entries)} filter entries; at most {FILTER_MAX}.")
    known = None
    for entry in entries:
        if len(entry) > 64 or not _FILTER_ENTRY.match(entry):
            raise InvalidInput.at(
                "events",
                f"“{entry[:64]}” is not an action name (like release.promote) or a prefix ending in a dot (like release.).",
            )
        if entry.split(".", 1)[0] in ACTION_FAMILIES:
            continue
        if known is None:
            known = set(AuditEvent.objects.order_by().values_list("action", flat=True).distinct())
        if not any(action == entry or (entry.endswith(".") and action.startswith(entry)) for action in known):
            raise InvalidInput.at(
                "events",
                f"“{entry}” matches no audit action. Actions begin with one of: {', '.join(ACTION_FAMILIES)}.",
            )
    return entries


# ---------------------------------------------------------------------------------------------
# Endpoints: each change one audit event


def _require_admin(actor: Actor) -> None:
    if actor is None or not permissions.can_manage_webhooks(actor):
        raise NotPermitted(NOT_ALLOWED)


def _endpoint_data(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"endpoint": endpoint.pk, "name": endpoint.name, "url": endpoint.url, "events": endpoint.events}


def create_endpoint(*, actor: User, name: str, url: str, events: str | list[str] = "") -> tuple[WebhookEndpoint, str]:
    """A new active endpoint taking the events recorded after its own `webhook.endpoint.create`.

    Returns it and its secret, to be shown once. Bad input is refused naming the field, and nothing is stored.
    """
    name = (name or "").strip()
    data = {"name": name[:NAME_MAX], "url": (url or "")[:URL_MAX]}
    with refusals_recorded("webhook.endpoint.create", actor=actor, data=data):
        _require_admin(actor)
        if not name:
            raise InvalidInput.at("name", "Give the endpoint a name, such as “SIEM”.")
        if len(name) > NAME_MAX:
            raise InvalidInput.at("name", f"The name is {len(name)} characters long; at most {NAME_MAX}.")
        url = check_url(url)
        entries = parse_filter(events)
        with transaction.atomic():
            if WebhookEndpoint.objects.filter(name=name).exists():
                raise InvalidInput.at("name", f"An endpoint named “{name}” exists already.")
            secret = WebhookEndpoint.new_secret()
            endpoint = WebhookEndpoint.objects.create(
                name=name, url=url, secret=secret, events=entries, created_by=actor, created_at=timezone.now()
            )
            event = record_event("webhook.endpoint.create", actor=actor, target=endpoint, data=_endpoint_data(endpoint))
            endpoint.cursor = event.pk
            endpoint.save(update_fields=["cursor"])
    return endpoint, secret


def _set_active(endpoint: WebhookEndpoint, *, actor: User, active: bool) -> WebhookEndpoint:
    action = "webhook.endpoint.resume" if active else "webhook.endpoint.pause"
    with refusals_recorded(action, actor=actor, target=endpoint, data={"endpoint": endpoint.pk}):
        _require_admin(actor)
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
            if endpoint.is_active == active:
                raise InvalidTransition(f"{endpoint} is {'active' if active else 'paused'} already.")
            endpoint.is_active = active
            endpoint.save(update_fields=["is_active"])
            record_event(action, actor=actor, target=endpoint, data=_endpoint_data(endpoint))
    return endpoint


def pause_endpoint(endpoint: WebhookEndpoint, *, actor: User) -> WebhookEndpoint:
    """Stop sending to an active endpoint. Its cursor stays, so on resume it receives what happened meanwhile."""
    return _set_active(endpoint, actor=actor, active=False)


def resume_endpoint(endpoint: WebhookEndpoint, *, actor: User) -> WebhookEndpoint:
    """Send again to a paused endpoint, from where it stopped."""
    return _set_active(endpoint, actor=actor, active=True)


def remove_endpoint(endpoint: WebhookEndpoint, *, actor: User) -> None:
    """Delete an endpoint with its delivery log; the event keeps its name, URL and how many deliveries it had."""
    with refusals_recorded("webhook.endpoint.remove", actor=actor, target=endpoint, data={"endpoint": endpoint.pk}):
        _require_admin(actor)
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
            counts = dict(endpoint.deliveries.order_by().values_list("state").annotate(n=Count("id")))
            record_event(
                "webhook.endpoint.remove",
                actor=actor,
                target=endpoint,
                data={**_endpoint_data(endpoint), "deliveries": counts},
            )
            endpoint.delete()


def retry_delivery(delivery: WebhookDelivery, *, actor: User) -> WebhookDelivery:
    """Make a failing or given-up delivery due now, and wake the sender. A given-up one gets one more attempt."""
    data = {"delivery": delivery.pk, "endpoint": delivery.endpoint_id, "event": delivery.event_id}
    with refusals_recorded("webhook.delivery.retry", actor=actor, target=delivery.endpoint, data=data):
        _require_admin(actor)
        with transaction.atomic():
            delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
            if not delivery.can_retry:
                raise InvalidTransition(f"Delivery #{delivery.pk} is {delivery.get_state_display()}; nothing to retry.")
            previous = delivery.state
            delivery.state = WebhookDelivery.State.FAILING
            delivery.next_attempt_at = timezone.now()
            delivery.save(update_fields=["state", "next_attempt_at"])
            record_event(
                "webhook.delivery.retry",
                actor=actor,
                target=delivery.endpoint,
                data={**data, "from": previous, "attempts": delivery.attempt_count},
            )
            enqueue_on_commit("webhooks.tasks.dispatch")
    return delivery


def delivery_counts() -> dict[str, int]:
    """How many deliveries are in each state (every state named, zero included), in one query."""
    counts = dict.fromkeys(WebhookDelivery.State.values, 0)
    counts.update(WebhookDelivery.objects.order_by().values_list("state").annotate(n=Count("id")))
    return counts


# ---------------------------------------------------------------------------------------------
# The worker: collecting and sending


def collect_deliveries(*, batch: int | None = None) -> int:
    """For each active endpoint, a delivery for every matching event after its cursor (at most `batch` events
    read), the cursor moved past them in the same transaction. Returns how many deliveries were made.

    Appends are serialized by the chain lock, which is held to their commit, so events become visible in id
    order: an id at or below a cursor is never committed later.
    """
    batch = batch or settings.PDP_WEBHOOK_BATCH
    made = 0
    for endpoint_id in WebhookEndpoint.objects.filter(is_active=True).values_list("pk", flat=True):
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id, is_active=True).first()
            if endpoint is None:
                continue
            events = list(
                AuditEvent.objects.filter(id__gt=endpoint.cursor).order_by("id").values_list("id", "action")[:batch]
            )
            if not events:
                continue
            now = timezone.now()
            rows = [
                WebhookDelivery(endpoint=endpoint, event_id=event_id, created_at=now, next_attempt_at=now)
                for event_id, action in events
                if endpoint.takes(action)
            ]
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
            endpoint.cursor = events[-1][0]
            endpoint.save(update_fields=["cursor"])
            made += len(rows)
    return made


def purge_deliveries(*, now: Any = None) -> dict[str, int]:
    """Remove the finished deliveries (delivered, or given up) older than PDP_WEBHOOK_DELIVERY_DAYS, with their
    attempts; one still being tried is kept whatever its age. Audited when it removes anything."""
    now = now or timezone.now()
    before = now - timedelta(days=settings.PDP_WEBHOOK_DELIVERY_DAYS)
    finished = Q(state=WebhookDelivery.State.DELIVERED, delivered_at__lt=before) | Q(
        state=WebhookDelivery.State.GAVE_UP, created_at__lt=before
    )
    with transaction.atomic():
        old = WebhookDelivery.objects.filter(finished)
        deliveries = old.count()
        attempts = WebhookAttempt.objects.filter(delivery__in=old).count()
        if deliveries:
            old.delete()
            record_event(
                "webhook.delivery.purge",
                actor=None,
                data={"deliveries_removed": deliveries, "attempts_removed": attempts, "before": before.isoformat()},
            )
    return {"deliveries_removed": deliveries, "attempts_removed": attempts}


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """What a receiver gets for one audit event."""
    return {
        "id": event.pk,
        "time": event.created_at.isoformat(),
        "actor": event.actor_name or None,
        "action": event.action,
        "outcome": event.outcome,
        "object": {"type": event.target_type, "id": event.target_id, "repr": event.target_repr}
        if event.target_type
        else None,
        "rule": event.rule_slug or None,
        "details": event.data,
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The X-PDP-Signature header: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def backoff_seconds(attempts: int) -> float:
    """How long after its `attempts`-th failure a delivery is tried again: the schedule, with ±20 % jitter."""
    schedule = settings.PDP_WEBHOOK_BACKOFF_SECONDS
    base = schedule[min(attempts, len(schedule)) - 1]
    return base * random.uniform(0.8, 1.2)  # spreading retries: no secret here


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not followed: it could lead to an address the URL check would refuse."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """POST once: (status, error, excerpt of the response body). Never raises for what the network does."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    if not settings.PDP_WEBHOOK_ALLOW_PRIVATE:
        # Checked again at each send: the name may point somewhere else now than when it was added.
        try:
            private = private_address_of(urlsplit(url).hostname or "")
        except (OSError, UnicodeError) as exc:
            return None, f"cannot resolve the host ({exc})", ""
        if private is not None:
            return None, f"refused: the host is now at {private}, a private or loopback address", ""
    try:
        with _opener.open(request, timeout=settings.PDP_WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, "", response.read(WebhookAttempt.EXCERPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            excerpt = exc.read(WebhookAttempt.EXCERPT).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, f"HTTP {exc.code} {exc.reason}", excerpt
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(reason).__name__}: {reason}"[:300], ""


def _claim(delivery_id: int, now: Any) -> WebhookDelivery | None:
    """Take a due delivery for one send, or None when another sender holds it or it is no longer due."""
    lease = uuid.uuid4().hex
    until = now + timedelta(seconds=settings.PDP_WEBHOOK_TIMEOUT_SECONDS + 30)
    # One UPDATE whose conditions are all on the row itself, so of two senders only one sees a row
    # changed, on any database: PostgreSQL re-checks them on the row the first sender committed (a
    # join, such as the endpoint's state, would become a subquery read from the older snapshot).
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    taken = WebhookDelivery.objects.filter(
        free, pk=delivery_id, state__in=WebhookDelivery.OPEN, next_attempt_at__lte=now
    ).update(lease=lease, lease_until=until)
    if not taken:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if not delivery.endpoint.is_active:  # paused since the delivery was picked: give it back
        WebhookDelivery.objects.filter(pk=delivery_id, lease=lease).update(lease="", lease_until=None)
        return None
    return delivery


def send_delivery(delivery_id: int) -> WebhookAttempt | None:
    """Send one due delivery once and record the attempt: delivered on a 2xx, else failing with the next
    attempt backed off, or gave_up after PDP_WEBHOOK_MAX_ATTEMPTS. None when it was not ours to send."""
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        return None
    body = json.dumps(event_payload(delivery.event), sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-PDP-Event": delivery.event.action,
        "X-PDP-Delivery": str(delivery.pk),
        "X-PDP-Signature": signature(delivery.endpoint.secret, body, int(time.time())),
    }
    started_at = timezone.now()
    started = time.perf_counter()
    status, error, excerpt = _post(delivery.endpoint.url, body, headers)
    duration_ms = round((time.perf_counter() - started) * 1000)
    ok = status is not None and 200 <= status < 300
    if status is not None and not ok and not error:
        error = f"HTTP {status}"
    with transaction.atomic():
        mine = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk, lease=delivery.lease).first()
        if mine is None:
            return None  # removed meanwhile, or the lease ran out and another sender took it
        attempt = WebhookAttempt.objects.create(
            delivery=mine,
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=status,
            error=error[:300],
            response_excerpt=excerpt[: WebhookAttempt.EXCERPT],
        )
        mine.attempt_count += 1
        mine.lease, mine.lease_until = "", None
        now = timezone.now()
        if ok:
            mine.state, mine.delivered_at = WebhookDelivery.State.DELIVERED, now
        elif mine.attempt_count >= settings.PDP_WEBHOOK_MAX_ATTEMPTS:
            mine.state = WebhookDelivery.State.GAVE_UP
        else:
            mine.state = WebhookDelivery.State.FAILING
            mine.next_attempt_at = now + timedelta(seconds=backoff_seconds(mine.attempt_count))
        mine.save(update_fields=["attempt_count", "lease", "lease_until", "state", "delivered_at", "next_attempt_at"])
    return attempt


def send_due_deliveries(*, limit: int | None = None, budget_s: float | None = None) -> dict[str, int]:
    """Send deliveries that are due, oldest due first, until none is left, `limit` were tried or `budget_s`
    seconds have passed. An endpoint that fails is not tried again in the same run, so one receiver that is
    down costs at most one timeout per run. Safe to run in several workers at once (`_claim`)."""
    limit = limit or settings.PDP_WEBHOOK_SEND_LIMIT
    budget_s = settings.PDP_WEBHOOK_SEND_BUDGET_SECONDS if budget_s is None else budget_s
    deadline = time.monotonic() + budget_s
    result = {"delivered": 0, "failed": 0}
    skipped: set[int] = set()
    tried = 0
    while tried < limit and time.monotonic() < deadline:
        candidates = list(
            WebhookDelivery.objects.due(timezone.now())
            .exclude(endpoint_id__in=skipped)
            .order_by("next_attempt_at", "id")
            .values_list("pk", "endpoint_id")[:20]
        )
        if not candidates:
            break
        for delivery_id, endpoint_id in candidates:
            if endpoint_id in skipped or tried >= limit or time.monotonic() >= deadline:
                continue
            attempt = send_delivery(delivery_id)
            if attempt is None:
                continue
            tried += 1
            if attempt.succeeded:
                result["delivered"] += 1
            else:
                result["failed"] += 1
                skipped.add(endpoint_id)
    return result


def dispatch() -> dict[str, int]:
    """One run of the worker's webhook loop: collect new events, then send what is due."""
    made = collect_deliveries()
    return {"collected": made, **send_due_deliveries()}
