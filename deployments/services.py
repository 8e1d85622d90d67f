"""Moving live pointers: promote to staging and production, roll back."""

import re
import time
from datetime import datetime, timedelta
from typing import Any, Literal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audit.services import record_event, refusals_recorded
from engine.errors import DomainError, InvalidInput
from engine.text import is_blank
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted, ReleaseRefused
from reviews.models import Review
from rules.models import Rule, RuleVersion, VersionStatus

from .models import Deployment, Environment, Release, ScheduledPromotion


def create_release_pointers(rule: Rule) -> None:
    """One pointer per environment, at v0, when a rule is first pushed."""
    for environment in Environment.objects.all():
        Release.objects.get_or_create(rule=rule, environment=environment)


def _environment(name: str) -> Environment:
    """The environment `name` (or its alias) names; refused at the field "environment" otherwise."""
    aliases = {"prod": Environment.PRODUCTION, "stage": Environment.STAGING}
    name = aliases.get(name, name)
    environment = Environment.objects.filter(name=name).first()
    if environment is None:
        names = ", ".join(Environment.objects.values_list("name", flat=True))
        raise InvalidInput.at("environment", f"Unknown environment {name!r}; the environments are {names}.")
    return environment


def _locked_release(rule: Rule, environment: Environment) -> Release:
    # The version is read after the lock, in a query of its own: on PostgreSQL a row locked after
    # waiting for another transaction is re-read, but a table joined to it is not, so a joined
    # version would be the one from before the other transaction's move (seen in the redeploy race).
    return (
        Release.objects.select_for_update(of=("self",))
        .select_related("rule", "environment")
        .get(rule=rule, environment=environment)
    )


def _move(
    release: Release,
    *,
    to_version: RuleVersion | None,
    kind: str,
    actor: User | None,
    started: float,
    reason: str = "",
    note: str = "",
    review: Review | None = None,
    schedule: ScheduledPromotion | None = None,
    data: dict[str, Any] | None = None,
) -> Deployment:
    """Point `release` at `to_version`, record the Deployment and its audit event (actor None: the system).

    Every promotion (to staging, to production, again) passes here: the governance checks in force now are
    asked last, under the lock, so a setting tightened since the version's lint refuses it. A promotion
    still scheduled for this rule and environment is cancelled by the move (unless it is the one being
    carried out): it was scheduled against what the pointer served before.
    """
    if to_version is not None and kind != Deployment.Kind.ROLLBACK:
        if (refusal := permissions.why_not_governed(to_version)) is not None:
            raise refusal
    from_version = release.version
    release.version = to_version
    release.save(update_fields=["version", "updated_at"])
    deployment = Deployment.objects.create(
        rule=release.rule,
        environment=release.environment,
        kind=kind,
        from_version=from_version,
        to_version=to_version,
        actor=actor,
        review=review,
        schedule=schedule,
        reason=reason,
        note=note,
        duration_s=round(time.perf_counter() - started, 4),
    )
    cancelled = _cancel_on_move(release, deployment, exclude=schedule)
    record_event(
        f"release.{kind}",
        actor=actor,
        target=release,
        data={
            "environment": release.environment.name,
            "from": deployment.from_label,
            "to": deployment.to_label,
            "deployment": deployment.pk,
            "duration_s": deployment.duration_s,
            "reason": reason,
            **({"cancelled_schedule": cancelled.pk} if cancelled else {}),
            **(data or {}),
        },
    )
    return deployment


def _cancel_on_move(
    release: Release, deployment: Deployment, *, exclude: ScheduledPromotion | None
) -> ScheduledPromotion | None:
    """Cancel the promotion scheduled for this pointer, which a move makes out of date; recorded in the move's event.

    skip_locked: a promotion locked now is being carried out by the worker, which waits for this
    move's lock and then finds the pointer moved (`_promote`'s `from_version` check), so it fails.
    """
    pending = ScheduledPromotion.objects.select_for_update(skip_locked=True).filter(
        rule_id=release.rule_id, environment_id=release.environment_id, state=ScheduledPromotion.State.SCHEDULED
    )
    if exclude is not None:
        pending = pending.exclude(pk=exclude.pk)
    schedule = pending.first()
    if schedule is None:
        return None
    schedule.state = ScheduledPromotion.State.CANCELLED
    schedule.cancelled_by = deployment.actor
    schedule.cancelled_at = timezone.now()
    schedule.outcome = (
        f"Cancelled by the {deployment.kind} of {release.environment.name} from {deployment.from_label} to "
        f"{deployment.to_label} by {deployment.actor_label}."
    )
    schedule.save(update_fields=["state", "cancelled_by", "cancelled_at", "outcome"])
    return schedule


def valid_approvals(version: RuleVersion) -> bool:
    """True when every required role approved this exact content hash (`RuleVersion.objects.signed_off()`)."""
    return RuleVersion.objects.filter(pk=version.pk).signed_off().exists()


NOTE_MAX = 2000
AUTOMATIC_NOTE = "All required reviews received."


def _release_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"The release note is {len(note):,} characters; at most {NOTE_MAX:,} are allowed.")
    return note


def promote_to_staging(version: RuleVersion, *, review: Review) -> Deployment:
    """Put a fully approved version live on staging after its last sign-off, `review`: the system acts, for its reviewer."""
    started = time.perf_counter()
    environment = _environment(Environment.STAGING)
    on_behalf = {"on_behalf_of": review.reviewer.username, "review": review.pk}
    with refusals_recorded(
        "release.promote", actor=None, target=version, data={"environment": environment.name, **on_behalf}
    ):
        with transaction.atomic():
            release = _locked_release(version.rule, environment)
            version = RuleVersion.objects.select_for_update(of=("self",)).select_related("rule").get(pk=version.pk)
            if version.status != VersionStatus.APPROVED:
                # A newer push landed between the last sign-off and this promotion.
                raise InvalidTransition(f"{version} is {version.get_status_display()}, so it does not go to staging.")
            if not valid_approvals(version):
                raise ReleaseRefused(f"{version} does not have every required sign-off on its content.")
            if release.version_id == version.pk:
                raise InvalidTransition(f"{version} is already live on staging.")
            return _move(
                release,
                to_version=version,
                kind=Deployment.Kind.PROMOTE,
                actor=None,
                review=review,
                note=AUTOMATIC_NOTE,
                started=started,
                data={"automatic": True, "note": AUTOMATIC_NOTE, **on_behalf},
            )


def promote(
    rule: Rule,
    *,
    actor: User,
    environment: str = Environment.PRODUCTION,
    number: int | None = None,
    note: str = "",
) -> Deployment:
    """Put a version live: production takes the version on staging, and any environment a version it served before.

    One service for both, so `hms rule deploy --version N`, the API, the admin and the portal's
    Promote and Deploy again buttons never have to guess which move a version needs: the history
    under the lock decides. A version new to production comes only from staging, approved; one that
    was live in `environment` before is deployed again (a redeploy, Argo CD's "sync to a past
    revision"), staging first or not. Either way its sign-offs must hold on its content hash and
    production never takes it from its drafter (permissions.why_not_deploy), so production only
    ever serves what was approved. `note`, optional, is the release note kept on the Deployment.
    """
    started = time.perf_counter()
    with refusals_recorded(
        "release.promote", actor=actor, target=rule, data={"environment": environment, "number": number, "note": note}
    ):
        return _promote(
            rule, actor=actor, person=actor, environment=environment, number=number, note=note, started=started
        )


def _promote(
    rule: Rule,
    *,
    actor: User | None,
    person: User,
    environment: str,
    number: int | None,
    note: str,
    started: float,
    schedule: ScheduledPromotion | None = None,
) -> Deployment:
    """The promotion itself, checked for `person`; `actor` None with `schedule`: the system carries that one out."""
    note = _release_note(note)
    env = _environment(environment)
    if not permissions.can_promote(person):
        raise NotPermitted("You may not promote rules; this takes the release manager role.")
    if env.name != Environment.PRODUCTION and number is None:
        raise InvalidInput(
            "Staging takes a new version after its last sign-off; name a version it served before to deploy it again."
        )
    with transaction.atomic():
        staging, release = _locked_pointers(rule, env)
        if schedule is not None and release.version_id != schedule.from_version_id:
            served = f"v{schedule.from_version.number}" if schedule.from_version is not None else "v0"
            raise ReleaseRefused(
                f"{env.name.capitalize()} now serves {release.version_label}, not the {served} it served when this "
                "promotion was scheduled; schedule it again if it should still go live."
            )
        version, was_live = _deployable(rule, person, number, staging=staging, release=release)
        on_behalf = {"on_behalf_of": person.username, "schedule": schedule.pk} if schedule is not None else {}
        return _move(
            release,
            to_version=version,
            kind=Deployment.Kind.REDEPLOY if was_live else Deployment.Kind.PROMOTE,
            actor=actor,
            note=note,
            started=started,
            schedule=schedule,
            data={"note": note, **on_behalf},
        )


def _locked_pointers(rule: Rule, env: Environment) -> tuple[Release, Release]:
    """The staging pointer and `env`'s, locked: staging before production, always, so a staging rollback
    cannot slip in between."""
    staging = _locked_release(rule, _environment(Environment.STAGING))
    return staging, staging if env.pk == staging.environment_id else _locked_release(rule, env)


def _deployable(
    rule: Rule, person: User, number: int | None, *, staging: Release, release: Release
) -> tuple[RuleVersion, bool]:
    """The version `person` may put live where `release` points (staging's, or vN), and whether it was live
    there before; the promote service's refusal (permissions.why_not_deploy) otherwise."""
    version = staging.version if number is None else _version_of(rule, number)
    was_live = version is not None and Deployment.objects.ever_served(version, release.environment).exists()
    refusal = permissions.why_not_deploy(
        person,
        version,
        serving=release,
        staging=staging,
        was_live=was_live,
        signed_off=version is not None and valid_approvals(version),
    )
    if refusal is not None:
        raise refusal
    assert version is not None  # why_not_deploy refuses none
    return version, was_live


def _version_of(rule: Rule, number: int, *, field: str = "version") -> RuleVersion:
    version = RuleVersion.objects.filter(rule=rule, number=number).select_related("rule").first()
    if version is None:
        raise InvalidInput.at(field, f"{rule.display_name} has no v{number}.")
    return version


def previous_version(release: Release) -> RuleVersion | None:
    """The version live before the current one: where the promotion to it came from."""
    if release.version_id is None:
        return None
    last_promotion = (
        Deployment.objects.forward()
        .filter(rule_id=release.rule_id, environment_id=release.environment_id, to_version_id=release.version_id)
        .select_related("from_version")
        .order_by("-id")
        .first()
    )
    return last_promotion.from_version if last_promotion else None


def parse_target(text: str | None) -> Literal["previous"] | int:
    """'previous', 'v0'/'0' (withdrawn) or 'vN'/'N'. Returns 'previous' or an int."""
    text = (text or "").strip().lower()
    if text == "previous":
        return "previous"
    # ASCII digits only: `\d` would read Arabic-Indic "v١" as v1.
    match = re.fullmatch(r"v?([0-9]{1,9})", text)
    if not match:
        raise InvalidInput.at("to", f"Roll back to 'previous', 'v0' or a version such as 'v3', not {text!r}.")
    return int(match.group(1))


def _seen(expected_from: str | None) -> int | None:
    """The version the person saw live ("v3", "v0"), or None when they did not say."""
    if expected_from is None:
        return None
    match = re.fullmatch(r"v?([0-9]{1,9})", str(expected_from).strip().lower())
    if not match:
        raise InvalidInput(f"Say which version you saw live, such as 'v3' or 'v0', not {expected_from!r}.")
    return int(match.group(1))


def rollback(
    rule: Rule,
    *,
    actor: User,
    reason: str,
    to: str | int = "previous",
    environment: str = Environment.PRODUCTION,
    expected_from: str | None = None,
) -> Deployment:
    """Move a live pointer back to a version live there before, or to none (v0). No new approvals.

    `expected_from` ("v3", "v0") is what the person saw live; when the pointer moved meanwhile the
    rollback is refused, so two clicks on "Roll back" never step back twice.
    """
    started = time.perf_counter()
    # PostgreSQL keeps no NUL character, not even in the record of a refusal.
    shown = reason.replace("\x00", "\\u0000") if isinstance(reason, str) else reason
    data = {"environment": environment, "to": str(to), "reason": shown, "expected_from": expected_from}
    with refusals_recorded("release.rollback", actor=actor, target=rule, data=data):
        if is_blank(reason):
            raise InvalidInput.at("reason", "A rollback needs a reason.")
        if "\x00" in reason:
            raise InvalidInput.at("reason", "The reason contains a NUL character (\\u0000), which is not allowed.")
        target = parse_target(str(to))
        env = _environment(environment)
        if not permissions.can_rollback(actor):
            raise NotPermitted("You may not roll back rules; this takes the release manager or oversight role.")
        with transaction.atomic():
            release = _locked_release(rule, env)
            current = release.version
            seen = _seen(expected_from)
            if seen is not None and f"v{seen}" != release.version_label:
                raise InvalidTransition(
                    f"{env.name.capitalize()} now serves {release.version_label}, not the {expected_from} you saw; "
                    "reload and decide again."
                )
            if target == "previous":
                if current is None:
                    raise ReleaseRefused.at(
                        "environment",
                        f"Nothing of {rule.display_name} is live on {env.name}; there is nothing to roll back.",
                    )
                to_version = previous_version(release)
            elif target == 0:
                to_version = None
            else:
                to_version = _version_of(rule, target, field="to")
                if not Deployment.objects.ever_served(to_version, env).exists():
                    raise ReleaseRefused.at(
                        "to",
                        f"v{target} was never live on {env.name}; a rollback goes only to a version live there before.",
                    )
            if (to_version.pk if to_version else None) == release.version_id:
                label = f"v{to_version.number}" if to_version else "v0"
                raise InvalidTransition.at("to", f"{label} is already what {env.name} serves.")
            return _move(
                release,
                to_version=to_version,
                kind=Deployment.Kind.ROLLBACK,
                actor=actor,
                reason=reason.strip(),
                started=started,
            )


def catch_up_staging() -> list[RuleVersion]:
    """Put on staging any approved version that never got there (its promotion was interrupted).

    Approval and the promotion to staging are two transactions; a crash between them leaves an
    approved version off staging. The sweeper calls this so the pipeline finishes what it began.
    Returns the versions promoted.
    """
    staging = _environment(Environment.STAGING)
    waiting = (
        RuleVersion.objects.filter(status=VersionStatus.APPROVED)
        .exclude(pk__in=Deployment.objects.filter(environment=staging).values("to_version"))
        .select_related("rule")
        .defer("document")
    )
    promoted = []
    for version in waiting:
        if permissions.why_not_governed(version) is not None:
            continue  # held by a governance check, its refusal recorded once at the sign-off, not every sweep
        last_approval = version.reviews.filter(decision=Review.Decision.APPROVE).order_by("-created_at").first()
        assert last_approval is not None  # a version is approved by its sign-offs
        try:
            promote_to_staging(version, review=last_approval)
        except DomainError:
            continue  # promoted meanwhile, or refused (the refusal is in the audit history)
        promoted.append(version)
    return promoted


# ---------------------------------------------------------------------------------------------
# Scheduled promotions: the system carries them out at their time, through `_promote`

SCHEDULE_HORIZON = timedelta(days=366 * 5)


def _schedule_time(at: Any) -> datetime:
    """`at`, an aware time in the future (within five years); refused at the field "at" otherwise."""
    if not isinstance(at, datetime):
        raise InvalidInput.at("at", f"Give the time as a date and time, such as 2027-01-01T00:00+01:00, not {at!r}.")
    if timezone.is_naive(at):
        raise InvalidInput.at("at", "Give the time with its time zone, such as 2027-01-01T00:00+01:00.")
    now = timezone.now()
    if at <= now:
        raise InvalidInput.at(
            "at", f"{at.isoformat()} is not in the future; a promotion is scheduled for a later time."
        )
    if at > now + SCHEDULE_HORIZON:
        raise InvalidInput.at("at", f"{at.isoformat()} is more than five years away; schedule a nearer time.")
    return at


def _record_schedule(action: str, schedule: ScheduledPromotion, *, actor: User | None, data: dict[str, Any]) -> None:
    """The audit event of a scheduled promotion's step: which one, where, which version, when; and `data`."""
    where = {"environment": schedule.environment.name, "version": schedule.version.label, "at": schedule.at.isoformat()}
    record_event(action, actor=actor, target=schedule, data={"schedule": schedule.pk, **where, **data})


def schedule_promotion(
    rule: Rule,
    *,
    actor: User,
    at: datetime,
    environment: str = Environment.PRODUCTION,
    number: int | None = None,
    note: str = "",
) -> ScheduledPromotion:
    """Schedule a promotion for `at`: refused for the reasons promoting now would be, or when one already waits.

    Production takes staging's version (the default), or a version it served before. The version is
    fixed now; at the time `run_due_promotions` checks everything again through the promote service.
    """
    shown_at = at.isoformat() if isinstance(at, datetime) else str(at)
    data = {"environment": environment, "number": number, "at": shown_at, "note": note}
    with refusals_recorded("release.schedule", actor=actor, target=rule, data=data):
        note = _release_note(note)
        env = _environment(environment)
        if not permissions.can_promote(actor):
            raise NotPermitted("You may not schedule promotions; this takes the release manager role.")
        at = _schedule_time(at)
        if env.name != Environment.PRODUCTION and number is None:
            raise InvalidInput.at("version", f"Name the version {env.name} should serve again.")
        with transaction.atomic():
            staging, release = _locked_pointers(rule, env)
            version, _ = _deployable(rule, actor, number, staging=staging, release=release)
            waiting = ScheduledPromotion.objects.pending().filter(rule=rule, environment=env).first()
            if waiting is not None:
                raise InvalidTransition(
                    f"{waiting.version.label} is already scheduled for {env.name} at {waiting.at.isoformat()} by "
                    f"{waiting.created_by.username}; cancel that one first."
                )
            schedule = ScheduledPromotion.objects.create(
                rule=rule,
                version=version,
                environment=env,
                from_version=release.version,
                at=at,
                created_by=actor,
                note=note,
            )
            _record_schedule(
                "release.schedule", schedule, actor=actor, data={"from": release.version_label, "note": note}
            )
            return schedule


def cancel_scheduled_promotion(schedule: ScheduledPromotion, *, actor: User, reason: str = "") -> ScheduledPromotion:
    """Cancel a promotion still waiting for its time: scheduled → cancelled, by a release manager."""
    data = {"schedule": schedule.pk, "reason": reason}
    with refusals_recorded("release.schedule.cancel", actor=actor, target=schedule, data=data):
        if not permissions.can_promote(actor):
            raise NotPermitted("You may not cancel scheduled promotions; this takes the release manager role.")
        reason = (reason or "").strip()
        if len(reason) > NOTE_MAX:
            raise InvalidInput.at("reason", f"The reason is {len(reason):,} characters; at most {NOTE_MAX:,}.")
        with transaction.atomic():
            schedule = (
                ScheduledPromotion.objects.select_for_update(of=("self",))
                .select_related("rule", "version", "environment")
                .get(pk=schedule.pk)
            )
            if schedule.state != ScheduledPromotion.State.SCHEDULED:
                raise InvalidTransition(
                    f"This promotion is {schedule.get_state_display()}, no longer scheduled; there is nothing to cancel."
                )
            schedule.state = ScheduledPromotion.State.CANCELLED
            schedule.cancelled_by = actor
            schedule.cancelled_at = timezone.now()
            schedule.outcome = f"Cancelled by {actor.username}" + (f": {reason}" if reason else ".")
            schedule.save(update_fields=["state", "cancelled_by", "cancelled_at", "outcome"])
            _record_schedule("release.schedule.cancel", schedule, actor=actor, data={"reason": reason})
            return schedule


def run_due_promotions(now: datetime | None = None) -> list[ScheduledPromotion]:
    """Carry out every scheduled promotion whose time has come, each in its own transaction: done or failed.

    Each is claimed with `select_for_update(skip_locked=True)`, so two workers never carry out one twice:
    the second skips the row the first holds, and finds it done once the first commits.
    """
    now = now or timezone.now()
    handled: list[ScheduledPromotion] = []
    while True:
        with transaction.atomic():
            schedule = (
                ScheduledPromotion.objects.due(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("rule", "version", "environment", "created_by", "from_version")
                .order_by("at", "id")
                .first()
            )
            if schedule is None:
                return handled
            _carry_out(schedule)
        handled.append(schedule)


def _carry_out(schedule: ScheduledPromotion) -> None:
    """The promotion, by the system for the person who scheduled it; a refusal now makes it failed, with why."""
    started = time.perf_counter()
    person = schedule.created_by
    try:
        with transaction.atomic():
            deployment = _promote(
                schedule.rule,
                actor=None,
                person=person,
                environment=schedule.environment.name,
                number=schedule.version.number,
                note=schedule.note,
                started=started,
                schedule=schedule,
            )
    except DomainError as exc:
        schedule.state = ScheduledPromotion.State.FAILED
        schedule.outcome = f"Refused at its time: {exc.message}"
        schedule.carried_out_at = timezone.now()
        schedule.save(update_fields=["state", "outcome", "carried_out_at"])
        data = {"on_behalf_of": person.username, "reason": exc.message, "code": exc.code}
        _record_schedule("release.schedule.fail", schedule, actor=None, data=data)
        return
    schedule.state = ScheduledPromotion.State.DONE
    schedule.outcome = f"{schedule.environment.name.capitalize()}: {deployment.from_label} → {deployment.to_label}."
    schedule.carried_out_at = timezone.now()
    schedule.save(update_fields=["state", "outcome", "carried_out_at"])
