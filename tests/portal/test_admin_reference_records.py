from audit.models import AuditEvent
from deployments.models import TestAccount
from rules.models import Fund


def test_adding_a_fund_in_the_admin_is_audited(client, superuser):
    """A fund added in the admin is saved and writes one fund.create event naming the fields."""
    client.force_login(superuser)
    response = client.post(
        "/admin/rules/fund/add/",
        {"code": "EDU-FY26", "name": "Education", "appropriation": "2500000.00", "fiscal_year": "2026"},
    )
    assert response.status_code == 302, response.content[:500]
    fund = Fund.objects.get(code="EDU-FY26")
    event = AuditEvent.objects.get(action="fund.create")
    assert event.actor == superuser
    assert event.target_id == str(fund.pk)
    assert "appropriation" in event.data["changed"]


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
