"""What every page of the portal uses: rendering with the navigation, links, refusals, tags.

Views across the apps are adapters: they fetch what the person may see, call a service for
every write, and hand the templates plain values made here and in portal/presenters/.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from audit.models import AuditEvent
from deployments.models import Release
from pdp_portal import permissions
from pdp_portal.exceptions import StaleApproval
from rules.models import IN_FLIGHT, RuleVersion

__all__ = [
    "IN_FLIGHT",
    "event_row",
    "form_refused",
    "move_text",
    "moved",
    "navigation",
    "refused",
    "render_page",
    "rule_url",
    "seconds",
    "short_hash",
    "sync_tag",
    "tag_class",
]

# Which colour a status, outcome, decision or severity is shown in (see static/css/portal.css).
_TAG_KIND = {
    "queued": "progress",
    "linting": "progress",
    "simulating": "progress",
    "running": "progress",
    "passed": "success",
    "approved": "success",
    "approve": "success",
    "promote": "success",
    "live": "success",
    "in_review": "warning",
    "warning": "warning",
    "rollback": "warning",
    "failed": "error",
    "lint_failed": "error",
    "simulation_failed": "error",
    "rejected": "error",
    "reject": "error",
    "refused": "error",
    "error": "error",
    "info": "info",
    "in-sync": "success",
    "staging-ahead": "info",
    "production-behind": "warning",
    "staging-behind": "warning",
    "superseded": "muted",
    "cancelled": "muted",
    "done": "muted",
}


def tag_class(value):
    return f"pdp-tag--{_TAG_KIND.get(value, 'muted')}"


def sync_tag(sync):
    """How staging and production stand (deployments.models.Sync), as a tag and its line; None when nothing is live."""
    if sync is None:
        return None
    return {
        "key": sync.key,
        "tag": "in sync" if sync.key == "in-sync" else "out of sync",
        "tag_class": tag_class(sync.key),
        "text": sync.text,
    }


def short_hash(digest):
    return digest[:12] if digest else ""


def seconds(value):
    """A measured duration as the CLI prints it: `0.0123s`."""
    return f"{value}s" if value is not None else "—"


def move_text(environment, from_label, to_label, *, again=False):
    """A pointer's move as the confirmations name it: "Production: v1 → v0 (withdrawn)".

    static/js/portal.js writes the rollback's the same way, from the option chosen.
    """
    suffix = " (withdrawn)" if to_label == "v0" else " (deployed again)" if again else ""
    return f"{environment.capitalize()}: {from_label} → {to_label}{suffix}"


def moved(deployment):
    """What a person reads once a live pointer moved, on the portal and in the admin alike.

    No emoji (`hms` keeps its own): the alert's USWDS icon says success, and an emoji shows as an
    empty box where no font has it.
    """
    name, env, took = deployment.rule.display_name, deployment.environment.name, seconds(deployment.duration_s)
    if deployment.kind == deployment.Kind.ROLLBACK:
        return (
            f"{name} on {env} reverted from {deployment.from_label} to {deployment.to_label} in {took} "
            f"({deployment.reason})."
        )
    again = " again" if deployment.kind == deployment.Kind.REDEPLOY else ""
    if env == "production":
        return f"{name} now LIVE in production{again} ({deployment.to_label}), in {took}."
    return f"{name} on {env}{again} ({deployment.to_label}), in {took}."


def waiting_for(user):
    """How many things wait for this person: versions they may sign now, and (release managers) rules on staging
    waiting for production. The same reads as their home queues, counted: one query per role they hold.
    """
    roles = permissions.role_names(user)
    total = sum(
        RuleVersion.objects.awaiting_review_by(user, role).count()
        for role in settings.PDP_REVIEW_ROLES
        if role in roles
    )
    if "release" in roles:
        total += Release.objects.awaiting_production().count()
    return total


def render_page(request, template, context, *, section="", status=200):
    """Render a full page with what the navigation needs."""
    can_view = permissions.can_view_portal(request.user)
    nav = {
        "section": section,
        "can_view": can_view,
        "waiting": waiting_for(request.user) if can_view else 0,
        "can_push": permissions.can_push(request.user),
        "can_read_audit": permissions.can_read_audit(request.user),
        "can_manage_webhooks": permissions.can_manage_webhooks(request.user),
        "is_staff": request.user.is_staff,
    }
    return render(request, template, {**context, "nav": nav}, status=status)


def rule_url(rule, number=None):
    url = reverse("rule-detail", args=[rule.slug])
    return f"{url}?v={number}" if number else url


def refused(request, exc, back):
    """Map a service's refusal: 403/404 as an error page, anything else as a message on the page before."""
    if exc.status in (403, 404):
        # The service recorded this refusal already: mark it so it is not recorded twice.
        error = PermissionDenied(exc.message) if exc.status == 403 else Http404(exc.message)
        error.audited = True
        raise error
    level = messages.WARNING if isinstance(exc, StaleApproval) else messages.ERROR
    messages.add_message(request, level, exc.message)
    return redirect(back)


def form_refused(request, form, back):
    """A POST whose fields could not even be parsed (too long, ...): say which, change nothing."""
    say_refused(request, form)
    return redirect(back)


def say_refused(request, form):
    """Say a refused form's problems as a message at the top of the page, where the form itself is not shown."""
    refusal = getattr(form, "refusal", None)
    if refusal is not None:
        messages.error(request, refusal.message)
        return
    problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
    messages.error(request, f"The form could not be read ({problems}).")


def navigation(request):
    """Template context for every page: whether to offer Datasets and Funds (asked only when shown)."""
    return {"can_manage_datasets": SimpleLazyObject(lambda: permissions.can_manage_datasets(request.user))}


_EVENT_DATA_SHOWN = (
    "environment", "from", "to", "role", "number", "status", "cost", "within_budget", "comment", "note",
)  # fmt: skip


def _system(data):
    """The system as the actor: on its own (a check, the sweeper), or after someone's sign-off."""
    if data.get("on_behalf_of"):
        return f"system, after {data['on_behalf_of']}'s sign-off"
    return "system"


def event_row(event):
    """An audit event as the rule page and the audit page list it."""
    data = event.data or {}
    if event.outcome == AuditEvent.Outcome.REFUSED:
        summary = data.get("reason", "")
    else:
        parts = [f"{key}: {data[key]}" for key in _EVENT_DATA_SHOWN if data.get(key) not in (None, "")]
        if data.get("reason"):
            parts.append(f"reason: {data['reason']}")
        summary = "; ".join(parts)
    return {
        "created_at": event.created_at,
        "actor": event.actor_name or _system(data),
        "action": event.action,
        "outcome": event.get_outcome_display(),
        "outcome_class": tag_class(event.outcome),
        "target": event.target_repr,
        "summary": summary,
    }
