from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from engine.errors import DomainError
from tokens.models import Scope
from tokens.services import issue_token


class Command(BaseCommand):
    help = (
        "Issue an API token for a person or a system and print its key, once. A system (a payment "
        "system) gets a token limited to decisions: --scope decisions."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scope", choices=Scope.values, default=Scope.DECISIONS)
        parser.add_argument("--days", type=float, default=90.0, help="how long it lasts (default 90)")
        parser.add_argument("--name", default="", help="what it is for, e.g. 'payments'")

    def handle(self, *args, username, scope, days, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No person or system named {username!r}.")
        if days <= 0 or days > 3650:
            raise CommandError("--days must be more than 0 and at most 3650.")
        try:
            token, key = issue_token(user, actor=None, name=name or f"{scope} token", scope=scope, days=days)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Issued {token} for {username}, scope {token.get_scope_display()}, expires "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC. The key, shown this once:"
        )
        self.stdout.write(key)
