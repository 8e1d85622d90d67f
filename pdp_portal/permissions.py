"""Every question of who may do what, and the only module that calls django-guardian.

Sign-offs are per-object permissions on a RuleVersion, granted to the role's group (or to an
assigned person) when review opens and revoked when it ends. They are checked here without the
superuser shortcut: being a superuser does not make anyone an approver.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.http import Http404
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

REVIEW_ROLES = settings.PDP_REVIEW_ROLES  # role → group name


def signoff_codename(role):
    return f"signoff_{role}"


def _version_ct():
    from rules.models import RuleVersion

    return ContentType.objects.get_for_model(RuleVersion)


def role_names(user):
    """The portal roles a person holds: drafter, legal, budget, release."""
    if not user.is_authenticated or not user.is_active:
        return set()
    groups = {g.name for g in user.groups.all()}
    roles = {role for role, group in REVIEW_ROLES.items() if group in groups}
    if settings.PDP_DRAFTER_GROUP in groups:
        roles.add("drafter")
    if settings.PDP_RELEASE_GROUP in groups or user.is_superuser:
        roles.add("release")
    return roles


def can_view_portal(user):
    return bool(role_names(user)) or (user.is_authenticated and user.is_active and user.is_superuser)


def visible_rules(user):
    """The rules a person may see: every rule for anyone holding a portal role, none otherwise."""
    from rules.models import Rule

    return Rule.objects.all() if can_view_portal(user) else Rule.objects.none()


def get_rule_for_user(user, slug):
    """The rule, or 404 when it does not exist or this person may not see it."""
    rule = visible_rules(user).filter(slug=slug).first()
    if rule is None:
        raise Http404(f"No rule {slug!r}.")
    return rule


def can_push(user):
    return user.is_active and user.has_perm("rules.add_ruleversion")


def can_promote(user):
    return user.is_active and user.has_perm("deployments.promote_release")


def can_rollback(user):
    return user.is_active and user.has_perm("deployments.rollback_release")


def grant_review_permissions(version):
    """Give each role's group its sign-off permission on this version."""
    for role, group_name in REVIEW_ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        assign_perm(f"rules.{signoff_codename(role)}", group, version)


def assign_reviewer(version, user, role):
    assign_perm(f"rules.{signoff_codename(role)}", user, version)


def revoke_review_permissions(version):
    """Remove every sign-off permission on this version, from groups and people alike."""
    codenames = [signoff_codename(role) for role in REVIEW_ROLES]
    for model in (GroupObjectPermission, UserObjectPermission):
        model.objects.filter(
            content_type=_version_ct(), object_pk=str(version.pk), permission__codename__in=codenames
        ).delete()


def signoff_roles(user, version):
    """The roles whose sign-off permission this person holds on this version (no superuser shortcut)."""
    if not user.is_authenticated or not user.is_active:
        return set()
    codenames = {signoff_codename(role): role for role in REVIEW_ROLES}
    common = {"content_type": _version_ct(), "object_pk": str(version.pk), "permission__codename__in": list(codenames)}
    # A sign-off given to a person by name counts only while they are still in the role's group:
    # someone who left Legal keeps no Legal sign-off from an earlier assignment.
    groups = set(user.groups.values_list("name", flat=True))
    named = UserObjectPermission.objects.filter(user=user, **common).values_list("permission__codename", flat=True)
    held = {c for c in named if REVIEW_ROLES[codenames[c]] in groups}
    held |= set(
        GroupObjectPermission.objects.filter(group__in=user.groups.all(), **common).values_list(
            "permission__codename", flat=True
        )
    )
    return {codenames[c] for c in held}


def approvable_roles(user, version):
    """The roles this person could sign off on this version right now (for showing buttons).

    The service makes the same checks itself, under a lock.
    """
    from reviews.models import Review
    from rules.models import VersionStatus

    if version.status != VersionStatus.IN_REVIEW or version.uploaded_by_id == user.pk:
        return set()
    approvals = list(version.reviews.filter(decision=Review.Decision.APPROVE).values_list("role", "reviewer_id"))
    if any(reviewer == user.pk for _, reviewer in approvals):
        return set()
    filled = {role for role, _ in approvals}
    return signoff_roles(user, version) - filled


def can_approve(user, version):
    return bool(approvable_roles(user, version))


def can_read_audit(user):
    """The whole audit history (page, CSV, verification): release managers and administrators."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=settings.PDP_RELEASE_GROUP).exists()


def can_manage_datasets(user):
    """Upload populations and choose the default one: the budget office (Budget group) and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=REVIEW_ROLES.get("budget")).exists()


def can_manage_funds(user):
    """Create and edit funds: the same people as datasets."""
    return can_manage_datasets(user)


def reviewable_as(user, role, version_ids):
    """Of these versions, the ids on which this person holds `role`'s sign-off, and those given by name.

    Held through one of their groups or assigned to them by name; two queries whatever the count.
    Returns (held, assigned), two sets of ids.
    """
    if not user.is_authenticated or not user.is_active or not version_ids:
        return set(), set()
    common = {
        "content_type": _version_ct(),
        "object_pk__in": [str(pk) for pk in version_ids],
        "permission__codename": signoff_codename(role),
    }
    assigned = {
        int(pk) for pk in UserObjectPermission.objects.filter(user=user, **common).values_list("object_pk", flat=True)
    }
    through_group = GroupObjectPermission.objects.filter(group__in=user.groups.all(), **common)
    held = {int(pk) for pk in through_group.values_list("object_pk", flat=True)} | assigned
    return held, assigned


def can_assign_reviewers(user):
    """Assign a named counsel or budget officer to a version: administrators (release managers, superusers)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=settings.PDP_RELEASE_GROUP).exists()


def holds_review_group(user, role):
    """Whether this person is in the group that gives `role`'s sign-off."""
    group_name = REVIEW_ROLES.get(role)
    return group_name is not None and user.groups.filter(name=group_name).exists()


def reviewer_candidates(version):
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
    candidates = {role: [] for role in REVIEW_ROLES}
    for row in rows:
        candidates[role_of[row.group.name]].append(row.user)
    return candidates


def assigned_version_ids(user):
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
