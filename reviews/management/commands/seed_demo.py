"""`manage.py seed_demo`: the demo accounts, the demo fund, a test account and the default population.

`make run` calls it for a local run; the end-to-end and browser tests call it on their portals.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import create_person, set_flags, set_roles
from audit.services import record_event
from budget.models import Fund
from budget.services import ensure_default_dataset
from deployments.models import TestAccount
from engine.errors import DomainError, InvalidInput
from reviews.services import ensure_groups

DEMO_ACCOUNTS = [
    # username, groups, superuser
    ("drafter", [settings.PDP_DRAFTER_GROUP], False),
    ("LegalTeam", [settings.PDP_REVIEW_ROLES.get("legal", "Legal")], False),
    ("BudgetOffice", [settings.PDP_REVIEW_ROLES.get("budget", "Budget")], False),
    ("admin", [settings.PDP_RELEASE_GROUP], True),
    # An oversight system's account: rolls back (with a reason) over the API, never promotes.
    ("Oversight", [settings.PDP_OVERSIGHT_GROUP], False),
]


def seed_demo_accounts(*, password, actor=None):
    """Create (or reset the password of) the demo accounts, the demo fund and the default population."""
    if not password or len(password) < 8:
        raise InvalidInput("Set PDP_DEMO_PASSWORD to at least 8 characters for the demo accounts.")
    ensure_groups()
    User = get_user_model()
    created = []
    with transaction.atomic():
        for username, groups, superuser in DEMO_ACCOUNTS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = create_person(
                    username,
                    actor=actor,
                    groups=groups,
                    password=password,
                    email=f"{username.lower()}@example.org",
                    is_superuser=superuser,
                )
                created.append(username)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
                set_flags(user, actor=actor, is_active=True, is_staff=superuser, is_superuser=superuser)
                set_roles(user, actor=actor, groups=groups)
        fund, _ = Fund.objects.get_or_create(
            code="DRF-FY2025",
            defaults={
                "name": "Disaster Relief Fund, fiscal year 2025",
                "appropriation": 500_000_000,
                "fiscal_year": 2025,
            },
        )
        TestAccount.objects.get_or_create(account_id="test-0001", defaults={"note": "demo test account"})
        record_event("demo.seed", actor=actor, data={"accounts": [a[0] for a in DEMO_ACCOUNTS], "created": created})
    ensure_default_dataset()
    return created


class Command(BaseCommand):
    help = "Create the demo accounts (drafter, LegalTeam, BudgetOffice, admin) with PDP_DEMO_PASSWORD."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Defaults to PDP_DEMO_PASSWORD.")

    def handle(self, *args, **options):
        password = options["password"] or settings.PDP_DEMO_PASSWORD
        try:
            created = seed_demo_accounts(password=password)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        names = ", ".join(a[0] for a in DEMO_ACCOUNTS)
        self.stdout.write(f"Demo accounts ready: {names} ({len(created)} new).")
