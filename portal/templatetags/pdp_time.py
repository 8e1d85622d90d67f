"""How long ago, in words people use: "just now" rather than "0 minutes ago".

    {% load pdp_time %}
    Uploaded {{ version.created_at|ago }}                    just now · 5 minutes ago · 2 days, 3 hours ago
    In this status for {{ version.status_changed_at|lasted }} less than a minute · 5 minutes

Django's `timesince` counts whole minutes, so anything under one reads "0 minutes".
"""

import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

_A_MINUTE = datetime.timedelta(minutes=1)


def _recent(value, now):
    return now - value < _A_MINUTE  # a moment in the future (clocks apart) is recent too


@register.filter
def ago(value, now=None):
    """`value` as a time past: "just now" under a minute, else "5 minutes ago"."""
    if not value:
        return ""
    now = now or timezone.now()
    return "just now" if _recent(value, now) else f"{timesince(value, now)} ago"


@register.filter
def lasted(value, now=None):
    """How long since `value`: "less than a minute", else "5 minutes" (after "for", "has waited")."""
    if not value:
        return ""
    now = now or timezone.now()
    return "less than a minute" if _recent(value, now) else timesince(value, now)


@register.filter
def span(value):
    """A length of time (a timedelta) in words: "15 minutes", "1 hour, 30 minutes"."""
    if not value:
        return ""
    if value < _A_MINUTE:
        return "less than a minute"
    now = timezone.now()
    return timesince(now - value, now)
