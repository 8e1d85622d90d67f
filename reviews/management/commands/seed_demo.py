from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from engine.errors import DomainError
from reviews.services import DEMO_ACCOUNTS, seed_demo_accounts


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
