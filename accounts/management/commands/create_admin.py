import getpass
import os

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from accounts.services import create_person
from engine.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create an administrator (superuser) on record in the audit history. Use it instead of "
        "createsuperuser, whose accounts verify_audit reports as off the record. The password is read "
        "from PDP_ADMIN_PASSWORD, or asked for."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, email, **options):
        if User.objects.filter(username=username).exists():
            raise CommandError(f"{username!r} exists already; change their standing in the admin.")
        password = os.environ.get("PDP_ADMIN_PASSWORD") or getpass.getpass(f"Password for {username}: ")
        if len(password) < 8:
            raise CommandError("The password must be at least 8 characters.")
        try:
            create_person(username, actor=None, password=password, email=email, is_superuser=True)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Administrator {username} created; the audit history records it.")
