from audit.models import AuditEvent
from budget.models import Fund
from deployments.models import TestAccount


def test_funds_are_read_only_in_the_admin(client, superuser):
    """Funds change only through the Funds page's services: the admin shows them but cannot add one."""
    client.force_login(superuser)
    response = client.post(
        "/admin/budget/fund/add/",
        {"code": "EDU-FY26", "name": "Education", "appropriation": "2500000.00", "fiscal_year": "2026"},
    )
    assert response.status_code == 403
    assert not Fund.objects.exists()
    assert not AuditEvent.objects.filter(action="fund.create").exists()


def test_adding_a_test_account_in_the_admin_is_audited(client, superuser):
    """A test account added in the admin is saved and writes one testaccount.create event."""
    client.force_login(superuser)
    response = client.post("/admin/deployments/testaccount/add/", {"account_id": "t-9", "note": "pilot"})
    assert response.status_code == 302, response.content[:500]
    account = TestAccount.objects.get(account_id="t-9")
    event = AuditEvent.objects.get(action="testaccount.create")
    assert event.actor == superuser
    assert event.target_id == str(account.pk)
    assert "account_id" in event.data["changed"]


def test_changing_a_test_account_in_the_admin_is_audited(client, superuser):
    """Editing a test account's note writes a testaccount.change event with the changed field."""
    account = TestAccount.objects.create(account_id="t-1", note="old")
    client.force_login(superuser)
    response = client.post(f"/admin/deployments/testaccount/{account.pk}/change/", {"account_id": "t-1", "note": "new"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.note == "new"
    event = AuditEvent.objects.get(action="testaccount.change")
    assert event.data["changed"] == ["note"]


def test_deleting_test_accounts_in_bulk_is_audited_one_by_one(client, superuser):
    """The admin's bulk delete writes one testaccount.delete event per account removed."""
    ids = [TestAccount.objects.create(account_id=f"t-{i}").pk for i in range(3)]
    client.force_login(superuser)
    response = client.post(
        "/admin/deployments/testaccount/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not TestAccount.objects.exists()
    assert AuditEvent.objects.filter(action="testaccount.delete").count() == 3
