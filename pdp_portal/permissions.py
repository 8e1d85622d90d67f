"""Every question of who may do what.

Sign-offs are per-object permissions on a RuleVersion (django-guardian), granted here to the
role's group (or to an assigned person) when review opens and revoked here when it ends. Who
holds one, and who may sign now, are the reads `RuleVersion.objects.signed_off_by(user, role)`
and `.awaiting_review_by(user, role)`, used by every page, the API and the review service alike;
neither takes the superuser shortcut: being a superuser does not make anyone an approver.
"""

import hmac
import ipaddress
from typing import TYPE_CHECKING, TypeAlias

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, Group, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.http import Http404
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from engine.errors import DomainError
from pdp_portal import governance
from pdp_portal.exceptions import GovernanceRefused, InvalidTransition, NotPermitted, ReleaseRefused
from rules.models import VersionStatus, signoff_codename

if TYPE_CHECKING:
    from deployments.models import Release
    from rules.models import Rule, RuleVersion

# Whoever asks: a signed-in person or, on a page, the anonymous visitor.
PortalUser: TypeAlias = User | AnonymousUser

REVIEW_ROLES: dict[str, str] = settings.PDP_REVIEW_ROLES  # role → group name


def _version_ct() -> ContentType:
    from rules.models import RuleVersion

    return ContentType.objects.get_for_model(RuleVersion)


def role_names(user: PortalUser) -> set[str]:
    """The portal roles a person holds: drafter, legal, budget, release, oversight."""
    if not user.is_authenticated or not user.is_active:
        return set()
    groups = {g.name for g in user.groups.all()}
    roles = {role for role, group in REVIEW_ROLES.items() if group in groups}
    if settings.PDP_DRAFTER_GROUP in groups:
        roles.add("drafter")
    if settings.PDP_RELEASE_GROUP in groups or user.is_superuser:
        roles.add("release")
    if settings.PDP_OVERSIGHT_GROUP in groups:
        roles.add("oversight")
    return roles


def can_view_portal(user: PortalUser) -> bool:
    return bool(role_names(user)) or (user.is_authenticated and user.is_active and user.is_superuser)


def visible_rules(user: PortalUser) -> "QuerySet[Rule]":
    """The rules a person may see: every rule for anyone holding a portal role, none otherwise."""
    from rules.models import Rule

    return Rule.objects.all() if can_view_portal(user) else Rule.objects.none()


def get_rule_for_user(user: PortalUser, slug: str) -> "Rule":
    """The rule, or 404 when it does not exist or this person may not see it."""
    rule = visible_rules(user).filter(slug=slug).first()
    if rule is None:
        raise Http404(f"No rule {slug!r}.")
    return rule


def is_system_account(user: PortalUser) -> bool:
    """A payment system's account: in the Systems group with no portal role. Its tokens are for decisions only,
    however it signs in."""
    if not user.is_authenticated:
        return False
    in_systems = any(g.name == settings.PDP_SYSTEMS_GROUP for g in user.groups.all())
    return in_systems and not role_names(user) and not user.is_superuser


def can_push(user: PortalUser) -> bool:
    return user.is_active and user.has_perm("rules.add_ruleversion")


def can_promote(user: PortalUser) -> bool:
    return user.is_active and user.has_perm("deployments.promote_release")


def can_promote_now(user: PortalUser, version: "RuleVersion") -> bool:
    """Whether this person may put `version`, awaiting production, live there: a release manager, never its drafter."""
    return can_promote(user) and version.uploaded_by_id != user.pk


def why_not_deploy(
    user: PortalUser,
    version: "RuleVersion | None",
    *,
    serving: "Release",
    staging: "Release",
    was_live: bool,
    signed_off: bool,
) -> DomainError | None:
    """Why this person may not put `version` live where `serving` points, as the refusal; None when they may.

    Production takes a version new to it only from staging (approved); any environment takes again a
    version it served before (a redeploy), without staging first. Either way only with every sign-off
    valid on the version's content hash, never a version that fails the governance checks in force now
    (why_not_governed), and production never from the version's drafter. `was_live`:
    the version was live in that environment before; `signed_off`: `RuleVersion.objects.signed_off()`
    holds it. The promote service raises the refusal under its lock; the rule page and the board show
    its message where they offer no button, so a button is offered exactly when the service accepts.
    """
    from deployments.models import Environment

    environment = serving.environment.name
    where = "in production" if environment == Environment.PRODUCTION else f"on {environment}"
    if not can_promote(user):
        return NotPermitted("You may not promote rules; this takes the release manager role.")
    if version is None:
        return ReleaseRefused(
            f"Nothing of {serving.rule.display_name} is live on staging; production takes a new version only from there."
        )
    if serving.version_id == version.pk:
        return InvalidTransition(f"{version} is already live {where}.")
    if not was_live:
        if environment != Environment.PRODUCTION:
            return ReleaseRefused(f"{version} was never live {where}; staging takes a version after its last sign-off.")
        if staging.version_id != version.pk:
            serves = f"serving {staging.version_label}" if staging.version_id else "serving nothing"
            return ReleaseRefused(
                f"{version} was never live in production, which takes a new version only from staging ({serves})."
            )
        if version.status != VersionStatus.APPROVED:
            return ReleaseRefused(
                f"{version} is {version.get_status_display()}; production takes only an approved version."
            )
    if environment == Environment.PRODUCTION and not can_promote_now(user, version):
        return ReleaseRefused(f"The drafter of {version} cannot promote it to production.")
    if not signed_off:
        return ReleaseRefused(f"{version} does not have every required sign-off on its content.")
    return why_not_governed(version)  # asked again under the lock when the move is made


def load_for_governance(versions: "list[RuleVersion]") -> None:
    """Give the versions a list page loaded without their document (it defers it) the document why_not_governed
    reads: one query for them all, and none while no governance check is in force."""
    if not governance.in_force():
        return
    deferred = [version for version in versions if "document" in version.get_deferred_fields()]
    if deferred:
        from rules.models import RuleVersion

        documents = dict(
            RuleVersion.objects.filter(pk__in=[version.pk for version in deferred]).values_list("pk", "document")
        )
        for version in deferred:
            version.document = documents[version.pk]


def why_not_governed(version: "RuleVersion") -> GovernanceRefused | None:
    """Why `version` may not be promoted under the governance checks in force now (pdp_portal/governance.py), as
    the refusal; None when it keeps them all. Asked at every promotion, so a setting tightened after the version
    passed lint still holds; a rollback is not asked (it returns to a version that was live)."""
    if not governance.in_force():
        return None
    findings = governance.governance_findings(version.parsed())
    if not findings:
        return None
    reasons = " ".join(f"{f['message']} ({f['code']} at {f['path']})" for f in findings)
    return GovernanceRefused(
        f"{version} fails the governance checks in force now, so it may not go live: {reasons}",
        details={"findings": findings},
    )


def can_request_decisions(user: PortalUser) -> bool:
    """Ask for decisions over the API: payment systems (the Systems group) and release managers.

    By group, with no superuser shortcut: an administrator's account is not a payment system.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    return user.groups.filter(name__in=[settings.PDP_SYSTEMS_GROUP, settings.PDP_RELEASE_GROUP]).exists()


def can_rollback(user: PortalUser) -> bool:
    """Roll a rule back: release managers and administrators, and the Oversight group (PDP_OVERSIGHT_GROUP).

    Oversight holds `rollback_release` and not `promote_release` (reviews.services.GROUP_PERMISSIONS):
    an oversight system may pause a rule, never put one live or schedule it.
    """
    return user.is_active and user.has_perm("deployments.rollback_release")


def grant_review_permissions(version: "RuleVersion") -> None:
    """Give each role's group its sign-off permission on this version."""
    for role, group_name in REVIEW_ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        assign_perm(f"rules.{signoff_codename(role)}", group, version)


def assign_reviewer(version: "RuleVersion", user: User, role: str) -> None:
    assign_perm(f"rules.{signoff_codename(role)}", user, version)


def revoke_review_permissions(version: "RuleVersion") -> None:
    """Remove every sign-off permission on this version, from groups and people alike."""
    codenames = [signoff_codename(role) for role in REVIEW_ROLES]
    for model in (GroupObjectPermission, UserObjectPermission):
        model.objects.filter(
            content_type=_version_ct(), object_pk=str(version.pk), permission__codename__in=codenames
        ).delete()


def signoff_roles(user: PortalUser, version: "RuleVersion") -> set[str]:
    """The roles whose sign-off permission this person holds on this version (no superuser shortcut)."""
    from rules.models import RuleVersion

    one = RuleVersion.objects.filter(pk=version.pk)
    return {role for role in REVIEW_ROLES if one.signed_off_by(user, role).exists()}


def approvable_roles(user: PortalUser, version: "RuleVersion") -> set[str]:
    """The roles this person may sign as on this version right now (RuleVersion.objects.awaiting_review_by).

    The service asks the same, under a lock.
    """
    from rules.models import RuleVersion

    one = RuleVersion.objects.filter(pk=version.pk)
    return {role for role in REVIEW_ROLES if one.awaiting_review_by(user, role).exists()}


def can_approve(user: PortalUser, version: "RuleVersion") -> bool:
    return bool(approvable_roles(user, version))


def can_read_audit(user: PortalUser) -> bool:
    """The whole audit history (page, CSV, verification): release managers and administrators."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=settings.PDP_RELEASE_GROUP).exists()


def can_manage_datasets(user: PortalUser) -> bool:
    """Upload populations and choose the default one: the budget office (Budget group) and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=REVIEW_ROLES.get("budget")).exists()


def can_manage_funds(user: PortalUser) -> bool:
    """Create and edit funds: the same people as datasets."""
    return can_manage_datasets(user)


def can_assign_reviewers(user: PortalUser) -> bool:
    """Assign a named counsel or budget officer to a version: administrators (release managers, superusers)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=settings.PDP_RELEASE_GROUP).exists()


def role_on_record(user: PortalUser, role: str) -> bool:
    """Whether the audit history records this person in the group that gives `role`'s sign-off.

    Groups change only through accounts.services, which records each change with the person's whole
    standing; a membership added behind the application is not on record, and gives no sign-off.
    """
    from accounts.services import standing_on_record

    if not user.is_authenticated:
        return False
    recorded = standing_on_record([user.pk]).get(user.pk, {})
    return REVIEW_ROLES.get(role) in recorded.get("groups", []) and recorded.get("is_active", False)


def holds_review_group(user: PortalUser, role: str) -> bool:
    """Whether this person is in the group that gives `role`'s sign-off."""
    group_name = REVIEW_ROLES.get(role)
    return group_name is not None and user.groups.filter(name=group_name).exists()


def reviewer_candidates(version: "RuleVersion") -> dict[str, list[User]]:
    """Active members of each review group who may review this version (not its drafter), in one query.

    Returns {role: [user, ...]} in the order of PDP_REVIEW_ROLES, each list by username.
    """
    from django.contrib.auth import get_user_model

    membership = get_user_model().groups.through
    role_of = {group: role for role, group in REVIEW_ROLES.items()}
    rows = (
        membership.objects.filter(group__name__in=list(role_of), user__is_active=True)
        .exclude(user_id=version.uploaded_by_id)
        .select_related("user", "group")
        .order_by("user__username")
    )
    candidates: dict[str, list[User]] = {role: [] for role in REVIEW_ROLES}
    for row in rows:
        candidates[role_of[row.group.name]].append(row.user)
    return candidates


def assigned_version_ids(user: PortalUser) -> set[int]:
    """Ids of the versions on which this person holds a sign-off permission of their own (assigned), in one query."""
    if not user.is_authenticated or not user.is_active:
        return set()
    object_pks = UserObjectPermission.objects.filter(
        user=user,
        content_type__app_label="rules",
        content_type__model="ruleversion",
        permission__codename__in=[signoff_codename(role) for role in REVIEW_ROLES],
    ).values_list("object_pk", flat=True)
    return {int(pk) for pk in object_pks}


def can_comment(user: PortalUser) -> bool:
    """Comment on a version without deciding: anyone who may see the rule (every portal role), drafters too."""
    return can_view_portal(user)


def can_manage_webhooks(user: PortalUser) -> bool:
    """Add, pause, resume and remove outbound webhooks and read their delivery logs: administrators (superusers).

    A webhook sends the whole audit history out of the portal, so it takes more than reading it.
    """
    return user.is_authenticated and user.is_active and user.is_superuser


def may_scrape_metrics(*, authorization: str, remote_addr: str | None) -> bool:
    """/metrics: a request bearing `Authorization: Bearer <PDP_METRICS_TOKEN>` (when one is set), or one
    whose REMOTE_ADDR is in PDP_METRICS_ALLOWED_NETWORKS. Behind a proxy REMOTE_ADDR is what the proxy
    sets (docs/operation.md, "Metrics")."""
    token = settings.PDP_METRICS_TOKEN
    scheme, _, given = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(
        address in ipaddress.ip_network(network, strict=False) for network in settings.PDP_METRICS_ALLOWED_NETWORKS
    )
