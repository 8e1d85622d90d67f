"""manage.py seed_demo: the demo accounts with their roles, the demo fund and test account, one audit event."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from budget.models import Dataset, Fund
from deployments.models import TestAccount
from reviews.management.commands.seed_demo import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db


def test_seeding_makes_the_accounts_the_fund_and_the_default_population(capsys):
    call_command("seed_demo", "--password", "demo-password-1")
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS])}
    assert set(users) == {"drafter", "LegalTeam", "BudgetOffice", "admin", "Oversight"}
    for username, groups, superuser in DEMO_ACCOUNTS:
        user = users[username]
        assert set(user.groups.values_list("name", flat=True)) == set(groups)
        assert user.is_superuser is superuser and user.check_password("demo-password-1")
    assert Fund.objects.filter(code="DRF-FY2025", appropriation=500_000_000).exists()
    assert TestAccount.objects.filter(account_id="test-0001").exists()
    assert Dataset.objects.default() is not None
    event = AuditEvent.objects.get(action="demo.seed")
    assert event.data["created"] == ["drafter", "LegalTeam", "BudgetOffice", "admin", "Oversight"]
    assert "(5 new)" in capsys.readouterr().out


def test_seeding_again_resets_the_passwords_and_creates_nothing_new():
    call_command("seed_demo", "--password", "demo-password-1")
    call_command("seed_demo", "--password", "demo-password-2")
    assert get_user_model().objects.get(username="drafter").check_password("demo-password-2")
    assert Fund.objects.filter(code="DRF-FY2025").count() == 1
    assert [e.data["created"] for e in AuditEvent.objects.filter(action="demo.seed").order_by("id")][1] == []


def test_a_short_password_is_refused_and_changes_nothing():
    with pytest.raises(CommandError, match="at least 8 characters"):
        call_command("seed_demo", "--password", "short")
    assert not get_user_model().objects.filter(username="drafter").exists()
    assert not AuditEvent.objects.filter(action="demo.seed").exists()
