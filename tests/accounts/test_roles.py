"""accounts/services.py and the admin's people and groups pages: every change of role or standing is an audit event."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command

from accounts.services import (
    assign_role,
    create_person,
    remove_role,
    set_flags,
    set_group_permissions,
    set_roles,
    standing_off_the_record,
)
from audit.models import AuditEvent
from pdp_portal import permissions
from pdp_portal.exceptions import NotPermitted
from tests.conftest import make_user


def last_event(action):
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


@pytest.fixture
def admin_user(db):
    return make_user("root", superuser=True)


@pytest.fixture
def groups(db):
    from reviews.services import ensure_groups

    ensure_groups()


def test_create_person_records_their_whole_standing(admin_user, groups):
    person = create_person("lawyer", actor=admin_user, groups=["Legal"], password="pw-for-tests-1")
    assert list(person.groups.values_list("name", flat=True)) == ["Legal"]
    assert person.check_password("pw-for-tests-1")
    event = AuditEvent.objects.filter(action="person.create").order_by("-id").first()
    assert (event.actor, event.target_id, event.outcome) == (admin_user, str(person.pk), "done")
    assert event.data == {
        "username": "lawyer",
        "standing": {"groups": ["Legal"], "is_active": True, "is_staff": False, "is_superuser": False},
    }


def test_set_roles_says_what_changed_and_writes_nothing_when_nothing_did(admin_user, groups):
    person = create_person("clerk", actor=admin_user, groups=["Drafters"])
    set_roles(person, actor=admin_user, groups=["Legal", "Budget"])
    assert sorted(person.groups.values_list("name", flat=True)) == ["Budget", "Legal"]
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.actor) == ("person.roles", admin_user)
    assert event.data["changed"] == {"groups": {"from": ["Drafters"], "to": ["Budget", "Legal"]}}
    count = AuditEvent.objects.count()
    set_roles(person, actor=admin_user, groups=["Budget", "Legal"])
    assert AuditEvent.objects.count() == count


def test_assign_and_remove_one_role(admin_user, groups):
    person = create_person("clerk", actor=admin_user)
    assign_role(person, actor=admin_user, group="Legal")
    assert permissions.role_on_record(person, "legal")
    remove_role(person, actor=admin_user, group="Legal")
    assert not person.groups.exists()
    assert not permissions.role_on_record(person, "legal")
    assert [e.data["changed"]["groups"]["to"] for e in AuditEvent.objects.filter(action="person.roles")] == [
        ["Legal"],
        [],
    ]


def test_flags_change_with_their_event(admin_user, groups):
    person = create_person("clerk", actor=admin_user, groups=["Legal"])
    set_flags(person, actor=admin_user, is_superuser=True, is_staff=True)
    person.refresh_from_db()
    assert person.is_superuser and person.is_staff
    event = last_event("person.flags")
    assert event.data["changed"] == {
        "is_staff": {"from": False, "to": True},
        "is_superuser": {"from": False, "to": True},
    }
    set_flags(person, actor=admin_user, is_active=False)
    assert not permissions.role_on_record(User.objects.get(pk=person.pk), "legal")  # inactive: no sign-off


def test_only_an_administrator_changes_roles_and_a_refusal_is_recorded(counsel, outsider):
    with pytest.raises(NotPermitted, match="Only an administrator"):
        assign_role(outsider, actor=counsel, group="Legal")
    assert not outsider.groups.exists()
    event = last_event("person.roles")
    assert (event.outcome, event.actor, event.target_id) == ("refused", counsel, str(outsider.pk))


def test_no_one_takes_their_own_administrator_rights(admin_user):
    with pytest.raises(NotPermitted, match="cannot deactivate yourself"):
        set_flags(admin_user, actor=admin_user, is_superuser=False)
    admin_user.refresh_from_db()
    assert admin_user.is_superuser


def test_group_permissions_change_with_their_event(admin_user, groups):
    group = Group.objects.get(name="Drafters")
    extra = Permission.objects.get(codename="rollback_release")
    set_group_permissions(group, actor=admin_user, permissions=[*group.permissions.all(), extra])
    event = last_event("group.permissions")
    assert event.data["added"] == ["deployments.rollback_release"]
    assert event.actor == admin_user


def test_a_change_behind_the_application_is_reported(admin_user, groups):
    """Groups or flags changed in the database without the service: verify_audit names the person."""
    person = create_person("clerk", actor=admin_user)
    assert standing_off_the_record() == []
    person.groups.add(Group.objects.get(name="Budget"))
    User.objects.filter(pk=person.pk).update(is_superuser=True)
    ghost = User.objects.create(username="ghost", is_superuser=True)
    problems = standing_off_the_record()
    assert problems == [
        "clerk: holds groups Budget; superuser; the audit history records groups none",
        f"{ghost.username}: holds groups none; superuser but no event records how",
    ]
    with pytest.raises(CommandError, match="Roles off the record: 2 person"):
        call_command("verify_audit")


# The admin's pages ----------------------------------------------------------------------------


def change_form(person, **changes):
    data = {
        "username": person.username,
        "first_name": "",
        "last_name": "",
        "email": person.email,
        "is_active": "on",
        "groups": [g.pk for g in person.groups.all()],
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_edit_of_groups_and_flags_writes_the_events(client, admin_user, groups):
    person = create_person("clerk", actor=admin_user, email="clerk@example.org")
    client.force_login(admin_user)
    legal = Group.objects.get(name="Legal")
    response = client.post(
        f"/admin/auth/user/{person.pk}/change/", change_form(person, groups=[legal.pk], is_staff="on")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert list(person.groups.all()) == [legal] and person.is_staff
    roles, flags = last_event("person.roles"), last_event("person.flags")
    assert (roles.actor, roles.data["changed"]["groups"]["to"]) == (admin_user, ["Legal"])
    assert (flags.actor, flags.data["changed"]) == (admin_user, {"is_staff": {"from": False, "to": True}})
    assert standing_off_the_record() == []
    assert permissions.role_on_record(person, "legal")


def test_a_person_added_in_the_admin_is_on_record(client, admin_user, groups):
    client.force_login(admin_user)
    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "newcomer",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person = User.objects.get(username="newcomer")
    assert last_event("person.create").target_id == str(person.pk)
    assert standing_off_the_record() == []


def test_the_people_pages_are_for_administrators_only_and_nobody_is_deleted(client, release_manager, admin_user):
    release_manager.is_staff = True
    release_manager.save(update_fields=["is_staff"])
    client.force_login(release_manager)
    assert client.get("/admin/auth/user/").status_code == 403
    client.force_login(admin_user)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get(f"/admin/auth/user/{release_manager.pk}/delete/").status_code == 403


def test_create_admin_makes_an_administrator_on_record(db, monkeypatch, capsys):
    monkeypatch.setenv("PDP_ADMIN_PASSWORD", "a-long-pass-phrase")
    call_command("create_admin", "chief", "--email", "chief@example.org")
    chief = User.objects.get(username="chief")
    assert chief.is_superuser and chief.is_staff and chief.check_password("a-long-pass-phrase")
    assert standing_off_the_record() == []
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_admin", "chief")
