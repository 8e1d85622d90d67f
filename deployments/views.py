"""Promote, Deploy again and Roll back: adapters onto the deployment services, and the Release panel and
deployment history of the rule page (the board is portal/board.py)."""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from engine.errors import DomainError
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from portal.forms import submit
from portal.pages import form_refused, move_text, moved, refused, rule_url, seconds, sync_tag, tag_class

from .forms import BackForm, PromoteForm, RollbackForm, ScheduleForm
from .models import Deployment, Environment, ScheduledPromotion
from .services import cancel_scheduled_promotion, promote, rollback, schedule_promotion

# The rollback form's controls: "rollback-environment", "rollback-to", "rollback-reason".
ROLLBACK_ID = "rollback-%s"


@login_required
@require_POST
def promote_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)

    def call(args):
        environment = args["environment"] or Environment.PRODUCTION
        return moved(
            promote(rule, actor=request.user, environment=environment, number=args["version"], note=args["note"])
        )

    return _carried_out(request, rule, PromoteForm(request.POST), call)


def _carried_out(request, rule, form, call):
    """Parse `form`, call the service through `call(cleaned_data)` and say the line it returns; a form that
    does not parse, or a refusal, is said on the page the button was on (the board or the rule page)."""
    # The board's buttons come back to the board; the rule page's to the rule page.
    back = reverse("environments") if request.POST.get("back") == "board" else rule_url(rule)
    if not form.is_valid():
        return form_refused(request, form, back)
    try:
        text = call(form.cleaned_data)
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(request, text)
    return redirect(back)


def when(at):
    """A time as the portal shows it: in the portal's time zone, with the zone named ("2027-01-01 00:00 UTC")."""
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()}"


@login_required
@require_POST
def schedule_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)

    def call(args):
        environment = args["environment"] or Environment.PRODUCTION
        schedule = schedule_promotion(
            rule, actor=request.user, at=args["at"], environment=environment, number=args["version"], note=args["note"]
        )
        return (
            f"{rule.display_name} {schedule.version.label} is scheduled for {schedule.environment.name} at "
            f"{when(schedule.at)}; the system promotes it then, if the release rules still allow it."
        )

    return _carried_out(request, rule, ScheduleForm(request.POST), call)


@login_required
@require_POST
def cancel_schedule(request, slug, pk):
    rule = permissions.get_rule_for_user(request.user, slug)
    schedule = ScheduledPromotion.objects.filter(rule=rule, pk=pk).select_related("version", "environment").first()
    if schedule is None:
        raise Http404(f"{rule.display_name} has no scheduled promotion {pk}.")

    def call(args):
        cancel_scheduled_promotion(schedule, actor=request.user)
        return (
            f"The promotion of {rule.display_name} {schedule.version.label} to {schedule.environment.name} at "
            f"{when(schedule.at)} is cancelled."
        )

    return _carried_out(request, rule, BackForm(request.POST), call)


def schedule_choice(rule, version=None):
    """The promote dialog's "Schedule for" control: where it posts, the time zone, and the time offered.

    The rule page passes the version: its `valid_from`, at 00:00 in the portal's time zone, is
    offered when it is in the future.
    """
    value = ""
    valid_from = (version.parsed().get("valid_from") if version is not None else None) or ""
    try:
        day = datetime.strptime(str(valid_from), "%Y-%m-%d").date()
    except ValueError:
        day = None
    if day is not None:
        start = timezone.make_aware(datetime.combine(day, time.min))
        value = f"{start:%Y-%m-%dT%H:%M}" if start > timezone.now() else ""
    return {
        "url": reverse("rule-schedule", args=[rule.slug]),
        "zone": timezone.get_current_timezone_name(),
        "value": value,
    }


def scheduled_rows(user, schedules, *, back=""):
    """Promotions waiting for their time, as the rule page and the board list them, with Cancel for those who may."""
    may_cancel = permissions.can_promote(user)
    return [
        {
            "id": schedule.pk,
            "label": schedule.version.label,
            "environment": schedule.environment.name,
            "when": when(schedule.at),
            "by": schedule.created_by.username,
            "note": schedule.note,
            "cancel_url": reverse("rule-schedule-cancel", args=[schedule.rule.slug, schedule.pk]) if may_cancel else "",
            "move": (
                f"Cancel the promotion of {schedule.rule.display_name} {schedule.version.label} to "
                f"{schedule.environment.name} at {when(schedule.at)}"
            ),
            "back": back,
        }
        for schedule in schedules
    ]


@login_required
@require_POST
def rollback_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    form = RollbackForm(request.POST, auto_id=ROLLBACK_ID)

    def call(args):
        environment = args["environment"] or Environment.PRODUCTION
        return rollback(
            rule,
            actor=request.user,
            reason=args["reason"],
            to=args["to"] or "previous",
            environment=environment,
            expected_from=args.get(f"seen_{environment}") or None,
        )

    deployment, status = submit(form, call)
    if deployment is None:
        from rules.views import form_refused_on_page  # the rule page shows this module's panels

        return form_refused_on_page(request, rule, None, "rollback", form, status)
    messages.success(request, moved(deployment))
    return redirect(rule_url(rule))


# ---------------------------------------------------------------------------------------------
# What the rule page and the board offer: Promote, Deploy again, Roll back, or why not


def deploy_offer(user, rule, version, *, serving, staging, was_live, signed_off, back=""):
    """The button that puts `version` live where `serving` points, or, as `why`, the one line saying why there is none.

    The reason is the promote service's own refusal (permissions.why_not_deploy); `hidden` when
    the person may not promote at all, `no_op` when the version is live there already.
    """
    refusal = permissions.why_not_deploy(
        user, version, serving=serving, staging=staging, was_live=was_live, signed_off=signed_off
    )
    if refusal is not None:
        return {
            "why": refusal.message,
            "hidden": isinstance(refusal, NotPermitted),
            "no_op": isinstance(refusal, InvalidTransition),
        }
    environment = serving.environment.name
    return {
        "url": reverse("rule-promote", args=[rule.slug]),
        "environment": environment,
        "version": version.number,
        "label": version.label,
        "again": was_live,
        "button": f"Deploy {version.label} again" if was_live else "Promote to production",
        "heading": (
            f"Deploy {rule.display_name} {version.label} again to {environment}?"
            if was_live
            else f"Promote {rule.display_name} to production?"
        ),
        "move": move_text(environment, serving.version_label, version.label, again=was_live),
        "back": back,
    }


def staging_offer(user, rule, *, staging, production, signed, back=""):
    """Promote staging's version to production: offered only where staging is ahead, or production behind it.

    `rule` is read with `Rule.objects.with_release_sync()`. Where staging serves an older version than
    production (staging was rolled back), putting it in production would roll production back; the
    history's Deploy again is there for that.
    """
    sync = rule.release_sync()
    if sync is not None and sync.key == "staging-behind":
        return {
            "why": "Nothing to promote: staging serves an older version than production.",
            "hidden": False,
            "no_op": False,
        }
    return deploy_offer(
        user,
        rule,
        staging.version,
        serving=production,
        staging=staging,
        was_live=rule.staging_was_in_production,
        signed_off=staging.version_id in signed,
        back=back,
    )


def release_panel(user, rule, *, releases, deployments, latest, signed, rollback_form=None):
    """The rule page's Release section: how staging and production stand, Promote or why not, Roll back.

    `rollback_form`: the rollback form as refused a moment ago, shown with its problems.

    `rule` is read with `Rule.objects.with_release_sync()`, `signed` holds the ids of its versions
    signed off on their hash, `latest` is its newest version, `deployments` its history, newest first.
    """
    staging, production = releases.get(Environment.STAGING), releases.get(Environment.PRODUCTION)
    panel = {"sync": sync_tag(rule.release_sync()), "promote": None, "why": "", "rollback": None}
    panel["scheduled"] = scheduled_rows(user, ScheduledPromotion.objects.pending().filter(rule=rule))
    if staging is not None and production is not None:
        offer = staging_offer(user, rule, staging=staging, production=production, signed=signed)
        if "why" not in offer:
            offer["schedule"] = schedule_choice(rule, staging.version)
            panel["promote"] = offer
        elif not offer["hidden"]:
            panel["why"] = "Nothing to promote." if offer["no_op"] else offer["why"]
            if latest is not None and not latest.live_places() and latest.pk != staging.version_id:
                panel["why"] += f" {latest.label} is {latest.get_status_display()}."
    panel["rollback"] = _rollback_panel(user, rule, releases, deployments, rollback_form)
    return panel


def deployment_rows(user, rule, *, releases, deployments, signed):
    """The deployment history, newest first, with Deploy again on the newest move to each (environment, version)."""
    staging = releases.get(Environment.STAGING)
    offered = set()
    rows = []
    for deployment in deployments:
        again = None
        place = (deployment.environment_id, deployment.to_version_id)
        if deployment.to_version_id is not None and place not in offered and staging is not None:
            offered.add(place)
            again = deploy_offer(
                user,
                rule,
                deployment.to_version,
                serving=releases[deployment.environment.name],
                staging=staging,
                was_live=True,
                signed_off=deployment.to_version_id in signed,
            )
            if again.get("hidden"):
                again = None
            elif again.get("no_op"):
                again = {"why": "Live now."}
        rows.append(_deployment_row(deployment, again))
    return rows


def _deployment_row(deployment, again):
    return {
        "id": deployment.pk,
        "created_at": deployment.created_at,
        "environment": deployment.environment.name,
        "kind": deployment.get_kind_display(),
        "kind_class": tag_class(deployment.kind),
        "from": deployment.from_label,
        "to": deployment.to_label,
        "actor": deployment.actor_label,
        # A rollback's reason, or a promotion's release note: one column, never both.
        "reason": deployment.reason if deployment.kind == Deployment.Kind.ROLLBACK else deployment.note,
        "duration": seconds(deployment.duration_s) if deployment.duration_s is not None else "",
        "again": again,
    }


def _rollback_panel(user, rule, releases, deployments, form=None):
    """The rollback form: environments (one serving something preselected), and the versions live somewhere before.

    An environment serving nothing cannot be chosen, and each carries what it serves and what
    "previous" means there, so the confirmation names the move and refuses a no-op before it opens;
    the service checks which versions each environment served.
    """
    if not permissions.can_rollback(user) or not any(r.version_id for r in releases.values()):
        return None
    where = {}  # version number → environments it was live on
    for deployment in deployments:
        if deployment.to_version_id:
            where.setdefault(deployment.to_version.number, set()).add(deployment.environment.name)
    targets = [{"value": "previous", "label": "previous (the version live before the current one)"}]
    targets.append({"value": "v0", "label": "v0 (withdraw: nothing live)"})
    for number in sorted(where, reverse=True):
        targets.append({"value": f"v{number}", "label": f"v{number} (was live on {', '.join(sorted(where[number]))})"})
    environments = []
    for release in sorted(releases.values(), key=lambda r: -r.environment.order):  # production first
        environments.append(
            {
                "value": release.environment.name,
                "label": release.environment.label,
                "name": release.environment.name.capitalize(),
                "current": release.version_label,
                "previous": _previous_label(release, deployments),
                "serves": release.version_id is not None,
                "selected": False,
            }
        )
    next(env for env in environments if env["serves"])["selected"] = True
    previous = "; ".join(
        f"{env['value']}: {env['current']} → {env['previous']}" for env in environments if env["serves"]
    )
    form = (form or RollbackForm(auto_id=ROLLBACK_ID)).offer(environments=environments, targets=targets)
    form.fields["to"].help_text = f"“previous” now means {previous}."
    return {
        "url": reverse("rule-rollback", args=[rule.slug]),
        "environments": environments,
        "form": form,
        # What the move would change among the decisions made since (decisions.views), loaded as the dialog opens.
        "impact_url": reverse("rule-rollback-impact", args=[rule.slug]),
    }


def _previous_label(release, deployments):
    """What 'previous' means for this pointer, read from the history already fetched (newest first)."""
    for deployment in deployments:
        if (
            deployment.environment_id == release.environment_id
            and deployment.kind in Deployment.FORWARD
            and deployment.to_version_id == release.version_id
        ):
            return deployment.from_label
    return "v0"
