"""Plain-dict representations of rules and versions, shared by the API and the portal."""

from django.conf import settings

from checks.models import CheckRun
from reviews.models import Review


def check_dict(check):
    if check is None:
        return None
    return {
        "kind": check.kind,
        "status": check.status,
        "progress": check.progress,
        "progress_note": check.progress_note,
        "findings": check.findings,
        "result": check.result,
        "engine_version": check.engine_version,
        "dataset_hash": check.dataset_hash,
        "attempts": check.attempts,
        "queued_at": check.queued_at,
        "started_at": check.started_at,
        "finished_at": check.finished_at,
        "duration_s": check.duration_s,
    }


def review_dict(review):
    return {
        "reviewer": review.reviewer.username,
        "role": review.role,
        "decision": review.decision,
        "comment": review.comment,
        "content_hash": review.content_hash,
        "created_at": review.created_at,
    }


def version_dict(version, *, detail=True):
    data = {
        "rule": version.rule.slug,
        "number": version.number,
        "label": version.label,
        "status": version.status,
        "content_hash": version.content_hash,
        "uploaded_by": version.uploaded_by.username,
        "created_at": version.created_at,
        "lint": check_dict(version.check_of(CheckRun.Kind.LINT)),
        "simulation": check_dict(version.check_of(CheckRun.Kind.SIMULATION)),
    }
    if detail:
        reviews = list(version.reviews.all())
        data["reviews"] = [review_dict(r) for r in reviews]
        approved = {r.role for r in reviews if r.decision == Review.Decision.APPROVE}
        data["required_roles"] = list(settings.PDP_REVIEW_ROLES)
        data["missing_roles"] = [role for role in settings.PDP_REVIEW_ROLES if role not in approved]
        data["document"] = version.parsed()
    return data


def release_dict(release):
    return {
        "environment": release.environment.name,
        "version": release.version.number if release.version_id else 0,
        "label": release.version_label,
        "content_hash": release.version.content_hash if release.version_id else None,
        "updated_at": release.updated_at,
    }


def deployment_dict(deployment):
    return {
        "id": deployment.pk,
        "rule": deployment.rule.slug,
        "rule_name": deployment.rule.display_name,
        "environment": deployment.environment.name,
        "kind": deployment.kind,
        "from": deployment.from_label,
        "to": deployment.to_label,
        # None when the system moved the pointer; `by` says who, and on whose behalf.
        "actor": deployment.actor.username if deployment.actor_id else None,
        "by": deployment.actor_label,
        "reason": deployment.reason,
        "note": deployment.note,
        "duration_s": deployment.duration_s,
        "created_at": deployment.created_at,
    }


def schedule_dict(schedule):
    """A scheduled promotion, as the API answers it (deployments.api)."""
    return {
        "id": schedule.pk,
        "rule": schedule.rule.slug,
        "environment": schedule.environment.name,
        "version": schedule.version.number,
        "label": schedule.version.label,
        "at": schedule.at,
        "state": schedule.state,
        "note": schedule.note,
        "scheduled_by": schedule.created_by.username,
        "created_at": schedule.created_at,
        "outcome": schedule.outcome,
        "carried_out_at": schedule.carried_out_at,
        "cancelled_by": schedule.cancelled_by.username if schedule.cancelled_by_id else None,
        "cancelled_at": schedule.cancelled_at,
    }
