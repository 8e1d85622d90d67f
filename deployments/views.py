"""Promote, Deploy again and Roll back: adapters onto the deployment services, and the Release panel and
deployment history of the rule page (the board is portal/board.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from engine.errors import DomainError
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from portal.forms import submit
from portal.pages import form_refused, move_text, moved, refused, rule_url, seconds, sync_tag, tag_class

from .forms import PromoteForm, RollbackForm
from .models import Deployment, Environment
from .services import promote, rollback

# The rollback form's controls: "rollback-environment", "rollback-to", "rollback-reason".
ROLLBACK_ID = "rollback-%s"


@login_required
@require_POST
def promote_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    form = PromoteForm(request.POST)
    # The board's buttons come back to the board; the rule page's to the rule page.
    back = reverse("environments") if request.POST.get("back") == "board" else rule_url(rule)
    if not form.is_valid():
        return form_refused(request, form, back)
    args = form.cleaned_data
    try:
        deployment = promote(
            rule,
            actor=request.user,
            environment=args["environment"] or Environment.PRODUCTION,
            number=args["version"],
            note=args["note"],
        )
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(request, moved(deployment))
    return redirect(back)


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
    if staging is not None and production is not None:
        offer = staging_offer(user, rule, staging=staging, production=production, signed=signed)
        if "why" not in offer:
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
