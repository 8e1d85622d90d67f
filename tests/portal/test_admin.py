"""The Django admin: read-only records, and actions that call the same services as the portal."""

import html

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from audit.models import AuditEvent
from deployments.models import Deployment, Release
from rules.models import RuleVersion


@pytest.fixture
def admin_release_manager(release_manager):
    """A release manager who is also a superuser with admin access."""
    release_manager.is_staff = release_manager.is_superuser = True
    release_manager.save()
    return release_manager


def _action(client, model, action, pks, **extra):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": 0, **extra}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _release(rule, environment):
    return Release.objects.select_related("version").get(rule=rule, environment__name=environment)


def test_promote_action_on_releases_calls_the_service(client, on_staging, admin_release_manager):
    """'Promote to production' on a rule's releases puts the staging version live, once, with its duration."""
    client.force_login(admin_release_manager)
    releases = Release.objects.filter(rule=on_staging.rule)  # staging and production selected together
    page = _action(client, Release, "promote_to_production", releases.values_list("pk", flat=True))
    assert _release(on_staging.rule, "production").version == on_staging
    deployment = Deployment.objects.get(environment__name="production")
    assert deployment.actor == admin_release_manager
    assert f"now LIVE in production (v1), in {deployment.duration_s}s." in page
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.outcome, event.actor) == ("release.promote", "done", admin_release_manager)


def test_promote_action_on_versions_calls_the_service(client, on_staging, admin_release_manager):
    """'Promote to production' on a RuleVersion promotes that version."""
    client.force_login(admin_release_manager)
    _action(client, RuleVersion, "promote_to_production", [on_staging.pk])
    assert _release(on_staging.rule, "production").version == on_staging


def test_promote_action_refusal_is_an_error_message(client, in_review, admin_release_manager):
    """A promotion the service refuses (nothing on staging) is shown as an error and moves nothing."""
    client.force_login(admin_release_manager)
    page = _action(client, RuleVersion, "promote_to_production", [in_review.pk])
    assert "Wildfire-Aid-2024 v1 was never live in production, which takes a new version only from staging" in page
    assert 'class="error"' in page
    assert _release(in_review.rule, "production").version is None
    assert AuditEvent.objects.order_by("-id").first().outcome == "refused"


def test_promote_action_by_the_drafter_is_refused(client, on_staging, drafter):
    """A drafter who is a superuser still may not promote their own version: the service says so."""
    drafter.is_staff = drafter.is_superuser = True
    drafter.save()
    client.force_login(drafter)
    page = _action(client, Release, "promote_to_production", [_release(on_staging.rule, "staging").pk])
    assert "cannot promote it to production" in page
    assert _release(on_staging.rule, "production").version is None


def test_deploy_again_action_on_the_history(client, rolled_back, admin_release_manager):
    """'Deploy again' on the production move that put v1 live puts v1 back there, through the promote service."""
    client.force_login(admin_release_manager)
    past = Deployment.objects.get(environment__name="production", kind="promote")
    withdrawal = Deployment.objects.get(environment__name="production", kind="rollback")
    page = _action(client, Deployment, "deploy_again", [past.pk, withdrawal.pk])
    assert _release(rolled_back.rule, "production").version == rolled_back
    deployment = Deployment.objects.order_by("-id").first()
    assert (deployment.kind, deployment.actor, deployment.from_label, deployment.to_label) == (
        "redeploy", admin_release_manager, "v0", "v1",
    )  # fmt: skip
    assert f"Wildfire-Aid-2024 now LIVE in production again (v1), in {deployment.duration_s}s." in page
    assert "it withdrew the rule; there is no version to deploy." in page  # the rollback to v0 is skipped
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.outcome, event.actor, event.data["deployment"]) == (
        "release.redeploy", "done", admin_release_manager, deployment.pk,
    )  # fmt: skip


def test_deploy_again_action_refusal_is_an_error_message(client, in_production, admin_release_manager):
    """Deploying again what production serves is refused by the service, shown as an error, recorded."""
    client.force_login(admin_release_manager)
    past = Deployment.objects.get(environment__name="production")
    page = _action(client, Deployment, "deploy_again", [past.pk])
    assert "Wildfire-Aid-2024 v1 is already live in production." in page and 'class="error"' in page
    assert AuditEvent.objects.order_by("-id").first().outcome == "refused"


def test_promote_action_on_a_version_live_before_deploys_it_again(client, rolled_back, admin_release_manager):
    """'Promote to production' on a version production served before puts it back (a redeploy)."""
    client.force_login(admin_release_manager)
    page = _action(client, RuleVersion, "promote_to_production", [rolled_back.pk])
    assert _release(rolled_back.rule, "production").version == rolled_back
    assert "now LIVE in production again (v1)" in page


def test_rollback_action_asks_for_a_reason_then_rolls_back(client, in_production, admin_release_manager):
    """'Roll back' first shows a confirmation asking for the reason; confirming rolls back to previous."""
    client.force_login(admin_release_manager)
    production = _release(in_production.rule, "production")
    page = _action(client, Release, "roll_back", [production.pk])
    assert 'name="reason"' in page and "v1 → v0" in page
    assert _release(in_production.rule, "production").version == in_production  # nothing moved yet
    page = _action(client, Release, "roll_back", [production.pk], confirm="yes", reason="Congress requested pause")
    assert _release(in_production.rule, "production").version is None
    deployment = Deployment.objects.order_by("-id").first()
    assert (deployment.kind, deployment.reason, deployment.actor) == (
        "rollback",
        "Congress requested pause",
        admin_release_manager,
    )
    assert f"reverted from v1 to v0 in {deployment.duration_s}s (Congress requested pause)" in page


def test_rollback_action_without_reason_is_refused(client, in_production, admin_release_manager):
    """Confirming a rollback with an empty reason gets the service's refusal as an error."""
    client.force_login(admin_release_manager)
    production = _release(in_production.rule, "production")
    page = _action(client, Release, "roll_back", [production.pk], confirm="yes", reason="")
    assert "A rollback needs a reason." in page
    assert _release(in_production.rule, "production").version == in_production


def test_audit_events_cannot_be_added_changed_or_deleted(client, in_review, superuser):
    """The AuditEvent admin lists and shows events but has no add, change or delete, not even for a superuser."""
    client.force_login(superuser)
    model_admin = site._registry[AuditEvent]
    event = AuditEvent.objects.first()
    request = client.get(reverse("admin:audit_auditevent_changelist")).wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)
    assert "delete_selected" not in model_admin.get_actions(request)
    changelist = client.get(reverse("admin:audit_auditevent_changelist") + "?outcome__exact=done&q=wildfire")
    assert changelist.status_code == 200
    change = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_live_pointers_and_versions_are_read_only_in_the_admin(client, in_production, superuser):
    """Releases, versions, reviews and deployments cannot be edited in the admin: they move only through services."""
    client.force_login(superuser)
    production = _release(in_production.rule, "production")
    for name, pk in [
        ("deployments_release", production.pk),
        ("rules_ruleversion", in_production.pk),
        ("reviews_review", in_production.reviews.first().pk),
        ("deployments_deployment", Deployment.objects.first().pk),
    ]:
        page = client.get(reverse(f"admin:{name}_change", args=[pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode(), name


OUR_MODELS = [m for m in site._registry if m._meta.app_label in {"rules", "reviews", "deployments", "audit"}]


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m._meta.label)
def test_every_admin_page_renders(client, in_production, superuser, model):
    """Each registered model's list, an object's page and (where it has history) its history render."""
    client.force_login(superuser)
    opts = model._meta
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])).status_code == 200
    if obj is not None and hasattr(model, "history"):
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
        assert client.get(url).status_code == 200


def test_scheduled_promotions_are_listed_and_cancelled_through_the_service(client, on_staging, admin_release_manager):
    from datetime import timedelta

    from django.utils import timezone

    from deployments.models import ScheduledPromotion
    from deployments.services import schedule_promotion

    schedule = schedule_promotion(on_staging.rule, actor=admin_release_manager, at=timezone.now() + timedelta(hours=2))
    client.force_login(admin_release_manager)
    listing = client.get(reverse("admin:deployments_scheduledpromotion_changelist")).content.decode()
    assert on_staging.rule.display_name in listing and "scheduled" in listing
    assert "cancelled." in _action(client, ScheduledPromotion, "cancel", [schedule.pk])
    schedule.refresh_from_db()
    assert (schedule.state, schedule.cancelled_by) == (ScheduledPromotion.State.CANCELLED, admin_release_manager)
    event = AuditEvent.objects.filter(action="release.schedule.cancel").order_by("-id").first()
    assert (event.outcome, event.actor, event.data["reason"]) == (
        "done",
        admin_release_manager,
        "Cancelled in the admin.",
    )
    assert "no longer scheduled" in _action(client, ScheduledPromotion, "cancel", [schedule.pk])
