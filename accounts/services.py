"""Changing who someone is to the portal: their groups (the roles), and whether they are active,
staff or a superuser. Every such change goes through here and writes one audit event that carries
the person's whole standing after it, so the history says at every point who held which role.

Sign-off rights come from group membership; a membership the history does not show (a change made
behind the application, in the database) is refused at sign-off (`permissions.role_on_record`) and
reported by `verify_audit` (`standing_off_the_record`).
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from audit.models import AuditEvent
from audit.services import Actor, current_ip, record_event, refusals_recorded
from pdp_portal.exceptions import NotPermitted

# The events that record a person's standing; the newest one for a person is what is on record.
STANDING_ACTIONS = ("person.create", "person.roles", "person.flags")
FLAGS = ("is_active", "is_staff", "is_superuser")


def standing(user: User) -> dict[str, Any]:
    """A person's groups and flags as they are in the database now."""
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        **{flag: bool(getattr(user, flag)) for flag in FLAGS},
    }


def _check_actor(actor: Actor) -> None:
    # None is the system itself (the demo seed, a migration, the tests' factories).
    if actor is not None and not (actor.is_active and actor.is_superuser):
        raise NotPermitted("Only an administrator (a superuser) may change people's roles.")


def _record(action: str, user: User, *, actor: Actor, before: dict[str, Any] | None) -> AuditEvent:
    after = standing(user)
    changed = {
        key: {"from": before[key], "to": value} for key, value in after.items() if before and before[key] != value
    }
    data: dict[str, Any] = {"username": user.username, "standing": after}
    if before is not None:
        data["changed"] = changed
    return record_event(action, actor=actor, target=user, data=data)


def _groups(names: Iterable[str | Group]) -> list[Group]:
    wanted = [g if isinstance(g, Group) else Group.objects.get_or_create(name=g)[0] for g in names]
    return sorted(set(wanted), key=lambda g: g.name)


def create_person(
    username: str,
    *,
    actor: Actor,
    groups: Iterable[str | Group] = (),
    password: str | None = None,
    email: str = "",
    is_superuser: bool = False,
    is_staff: bool | None = None,
) -> User:
    """A new person with these groups and flags: one `person.create` event."""
    user = User(
        username=username,
        email=email,
        is_superuser=is_superuser,
        is_staff=is_superuser if is_staff is None else is_staff,
    )
    user.set_password(password) if password else user.set_unusable_password()
    return save_new_person(user, actor=actor, groups=groups)


def save_new_person(user: User, *, actor: Actor, groups: Iterable[str | Group] = ()) -> User:
    """Save a person not saved yet (as a form made them), with these groups: one `person.create` event."""
    with refusals_recorded("person.create", actor=actor, data={"username": user.username}):
        _check_actor(actor)
        with transaction.atomic():
            user.save()
            user.groups.set(_groups(groups))
            _record("person.create", user, actor=actor, before=None)
    return user


def set_roles(user: User, *, actor: Actor, groups: Iterable[str | Group]) -> User:
    """Make `groups` exactly the person's groups: one `person.roles` event saying what was added and removed."""
    with refusals_recorded("person.roles", actor=actor, target=user):
        _check_actor(actor)
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            before = standing(user)
            user.groups.set(_groups(groups))
            if standing(user) != before:
                _record("person.roles", user, actor=actor, before=before)
    return user


def assign_role(user: User, *, actor: Actor, group: str | Group) -> User:
    """Add one group to the person's groups."""
    return set_roles(user, actor=actor, groups=[*user.groups.all(), group])


def remove_role(user: User, *, actor: Actor, group: str | Group) -> User:
    """Take one group from the person's groups."""
    name = group.name if isinstance(group, Group) else group
    return set_roles(user, actor=actor, groups=[g for g in user.groups.all() if g.name != name])


def set_flags(
    user: User,
    *,
    actor: Actor,
    is_active: bool | None = None,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
) -> User:
    """Activate or deactivate a person, or make or unmake them staff or a superuser: one `person.flags` event.

    No one may take their own administrator rights or deactivate themselves: that would lock the
    portal out of its last administrator by mistake.
    """
    wanted = {"is_active": is_active, "is_staff": is_staff, "is_superuser": is_superuser}
    wanted = {flag: value for flag, value in wanted.items() if value is not None}
    with refusals_recorded("person.flags", actor=actor, target=user, data={"wanted": wanted}):
        _check_actor(actor)
        if (
            actor is not None
            and actor.pk == user.pk
            and (not wanted.get("is_active", True) or not wanted.get("is_superuser", True))
        ):
            raise NotPermitted(
                "You cannot deactivate yourself or take your own administrator rights; ask another administrator."
            )
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            before = standing(user)
            for flag, value in wanted.items():
                setattr(user, flag, value)
            if standing(user) != before:
                user.save(update_fields=list(wanted))
                _record("person.flags", user, actor=actor, before=before)
    return user


def set_group_permissions(group: Group, *, actor: Actor, permissions: Iterable[Permission]) -> Group:
    """Make `permissions` exactly what a group's members may do everywhere: one `group.permissions` event."""
    with refusals_recorded("group.permissions", actor=actor, target=group):
        _check_actor(actor)
        with transaction.atomic():
            before = sorted(_permission_labels(group.permissions.all()))
            group.permissions.set(list(permissions))
            after = sorted(_permission_labels(group.permissions.all()))
            if after != before:
                record_event(
                    "group.permissions",
                    actor=actor,
                    target=group,
                    data={
                        "group": group.name,
                        "permissions": after,
                        "added": sorted(set(after) - set(before)),
                        "removed": sorted(set(before) - set(after)),
                    },
                )
    return group


def _permission_labels(permissions: Iterable[Permission]) -> list[str]:
    return [f"{p.content_type.app_label}.{p.codename}" for p in permissions]


def deactivate(user: User, *, actor: Actor) -> User:
    return set_flags(user, actor=actor, is_active=False)


def standing_on_record(user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The standing the audit history last recorded for each of these people (absent: none recorded)."""
    ids = [str(pk) for pk in user_ids]
    rows = (
        AuditEvent.objects.filter(action__in=STANDING_ACTIONS, target_type="auth.user", target_id__in=ids)
        .order_by("id")
        .values_list("target_id", "data")
    )
    return {int(pk): data.get("standing", {}) for pk, data in rows}


def standing_off_the_record() -> list[str]:
    """Each person whose groups or flags differ from what the audit history last recorded for them."""
    users = list(User.objects.prefetch_related("groups").order_by("username"))
    recorded = standing_on_record(u.pk for u in users)
    problems = []
    for user in users:
        now = {"groups": sorted(g.name for g in user.groups.all()), **{f: bool(getattr(user, f)) for f in FLAGS}}
        then = recorded.get(user.pk)
        if then is None:
            if now["groups"] or now["is_superuser"] or now["is_staff"]:
                problems.append(f"{user.username}: holds {_describe(now)} but no event records how")
        elif then != now:
            problems.append(f"{user.username}: holds {_describe(now)}; the audit history records {_describe(then)}")
    return problems


def _describe(state: dict[str, Any]) -> str:
    parts = [f"groups {', '.join(state.get('groups', [])) or 'none'}"]
    parts += [flag.removeprefix("is_") for flag in FLAGS if state.get(flag) and flag != "is_active"]
    if not state.get("is_active", True):
        parts.append("inactive")
    return "; ".join(parts)


def _where(request: Any) -> str:
    path = getattr(request, "path", "") or ""
    return "api" if path.startswith("/api/") else "admin" if path.startswith("/admin/") else "portal"


def record_login_failure(*, username: str, request: Any = None) -> AuditEvent | None:
    """A wrong name or password: `auth.login.failed`, about the person when the name is theirs.

    The failure that locks the name out is recorded as the lockout (`record_lockout`); an attempt
    made while it is locked out is refused without its password being tried, and is not recorded one
    by one: the lockout was, once.
    """
    if getattr(request, "axes_locked_out", False):
        return None
    return _record_sign_in("auth.login.failed", username=username, request=request)


def record_lockout(*, username: str, request: Any = None) -> AuditEvent | None:
    """Too many failures: the name is locked out from that address for the cool-off time, `auth.login.lockout`.

    Once per lockout: django-axes says so again at each attempt while it lasts.
    """
    from django.conf import settings
    from django.utils import timezone

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    recent = AuditEvent.objects.filter(action="auth.login.lockout", created_at__gte=since, ip=current_ip.get())
    if any(data.get("username") == username for data in recent.values_list("data", flat=True)):
        return None
    return _record_sign_in(
        "auth.login.lockout",
        username=username,
        request=request,
        failures=settings.AXES_FAILURE_LIMIT,
        cooloff_minutes=settings.AXES_COOLOFF_TIME.total_seconds() / 60,
    )


def _record_sign_in(action: str, *, username: str, request: Any, **data: Any) -> AuditEvent:
    """A refused sign-in, by no one (it was not them), about the person when the name is theirs."""
    return record_event(
        action,
        actor=None,
        target=User.objects.filter(username=username).first(),
        outcome=AuditEvent.Outcome.REFUSED,
        data={"username": username, "via": _where(request), **data},
    )
