"""The objects the authorisation matrix asks about, built once per module, and how to ask as each role.

"Own" is what `drafter` drafted, "another's" what `drafter2` drafted: for each, two rules in the same
states. The live rule has v1 in production and v2 approved on staging, waiting for production; the
review rule has v1 in review, waiting for Legal and Budget. (One rule cannot be both: a version
pushed for review supersedes the one waiting on staging.) Every write of the pipeline therefore has
something it would succeed on: a sign-off, a comment or an assignment on the review rule, a
promotion of v2 or a rollback of v1 on the live rule, a push of its v3.

Besides them: each person's own API token (the system's is limited to decisions, issued by
`manage.py issue_token`), a signed-in session per person, a dataset and a fund of the budget
office's and of the superuser's, and a finished chain verification asked for by the release manager
and by the superuser.
"""

import io
import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from pdp_portal.celery import app as celery_app
from tests.conftest import SMALL_POPULATION, approve_by_both, make_user, push_and_check
from tests.rule_variants import wildfire_variant

PASSWORD = "pw-for-tests-1"  # what tests.conftest.make_user gives everyone

# The nine roles, in the order of the matrix's columns.
ROLES = ("anonymous", "drafter", "drafter2", "legal", "budget", "release", "superuser", "system", "oversight")
# Each role's person (tests.conftest.make_user names and groups).
PEOPLE = {
    "drafter": ("drafter", [settings.PDP_DRAFTER_GROUP], False),
    "drafter2": ("drafter2", [settings.PDP_DRAFTER_GROUP], False),
    "legal": ("counsel", [settings.PDP_REVIEW_ROLES["legal"]], False),
    "budget": ("budget_officer", [settings.PDP_REVIEW_ROLES["budget"]], False),
    "release": ("release_manager", [settings.PDP_RELEASE_GROUP], False),
    "superuser": ("root", [], True),
    "system": ("payments", [settings.PDP_SYSTEMS_GROUP], False),
    "oversight": ("oversight", [settings.PDP_OVERSIGHT_GROUP], False),
}
OBJECTS = ("own", "another's")
# Who reads rules at all (pdp_portal/permissions.py `visible_rules`): every portal role, each every rule.
SEES_RULES = {"drafter", "drafter2", "legal", "budget", "release", "superuser", "oversight"}
# The release note of each first promotion: it shows in the audit history (and on the rule's page).
AUDIT_MARKER = "Matrix release note 5e1f"

POPULATION_CSV = (
    b"id,county,age,income,in_fire_zone,home_damaged,zip,weight\n"
    b"1,Lane,34,52000.5,true,false,97401,41.5\n"
    b"2,Marion,,61000,FALSE,True,02134,40\n"
    b"3,Lane,70,0,true,true,97402,42.25\n"
)


@dataclass
class RuleFacts:
    """One of the four rules: what identifies it, and what of it a refusal may not show."""

    slug: str
    title: str
    author: str  # username
    base_amount: int
    hashes: list[str] = field(default_factory=list)  # content hashes of its versions, v1 first

    def document(self, number):
        """The document of version `number` (one past the last is a fresh one, for the push cells)."""
        doc = wildfire_variant(self.slug, amount=self.base_amount + 100 * (number - 1), title=self.title)
        return json.dumps(doc).encode()

    @property
    def fingerprints(self):
        """Strings only someone who may see the rule reads: its name and title, its versions' short hashes."""
        from rules.models import display_name

        return [display_name(self.slug), self.title, *(h[:12] for h in self.hashes)]


@dataclass
class World:
    """What the module built, and a client for each role."""

    users: dict  # role → User (no entry for anonymous)
    rules: dict  # "own"/"another's" → {"live": RuleFacts, "review": RuleFacts}
    sessions: dict  # role → session key
    tokens: dict  # role → (token pk, key, name)
    datasets: dict  # "own"/"another's" → (pk, name)
    funds: dict  # "own"/"another's" → (pk, name)
    verifications: dict  # "own"/"another's" → (pk, note)
    schedules: dict  # "own"/"another's" → pk of the promotion of the live rule's v2 scheduled for production
    # "active"/"paused" → (endpoint pk, name); "delivery" → (pk of the active one's given-up delivery, name)
    webhooks: dict = field(default_factory=dict)

    def user(self, role):
        return self.users.get(role)

    def portal(self, role):
        """A browser signed in as `role` (a fresh client on the session made once), or anonymous."""
        client = Client()
        if role != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client

    def api(self, role):
        """An API client with `role`'s token (the system's: limited to decisions), or without one."""
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role][1]}")
        return client

    def others_token_role(self, role):
        """Whose token is "another's" for `role`: the other drafter's for the drafter, else the drafter's."""
        return "drafter2" if role == "drafter" else "drafter"


RULES = {
    "own": {
        "live": RuleFacts("authz-own-live", "Matrix Own Relief Alpha", "drafter", 1000),
        "review": RuleFacts("authz-own-review", "Matrix Own Review Gamma", "drafter", 3000),
    },
    "another's": {
        "live": RuleFacts("authz-other-live", "Matrix Other Relief Beta", "drafter2", 2000),
        "review": RuleFacts("authz-other-review", "Matrix Other Review Delta", "drafter2", 4000),
    },
}


def build_world():
    """Everything the matrix asks about; runs inside the module's transaction."""
    from audit.models import ChainVerification
    from audit.services import request_chain_verification
    from budget.services import create_fund, ensure_default_dataset, upload_dataset
    from deployments.services import promote, schedule_promotion
    from tokens.models import ApiToken, hash_key

    users = {role: make_user(name, *groups, superuser=superuser) for role, (name, groups, superuser) in PEOPLE.items()}
    rules = {
        obj: {kind: RuleFacts(f.slug, f.title, f.author, f.base_amount) for kind, f in pair.items()}
        for obj, pair in RULES.items()
    }
    schedules = {}
    for obj, pair in rules.items():
        live, review = pair["live"], pair["review"]
        author = User.objects.get(username=live.author)
        v1 = push_and_check(live.document(1), actor=author)
        approve_by_both(v1, users["legal"], users["budget"])
        promote(v1.rule, actor=users["release"], note=AUDIT_MARKER)
        v2 = push_and_check(live.document(2), actor=author)
        approve_by_both(v2, users["legal"], users["budget"])
        in_review = push_and_check(review.document(1), actor=author)
        for version, status in ((v1, "superseded"), (v2, "approved"), (in_review, "in_review")):
            version.refresh_from_db()
            assert version.status == status, (version.rule.slug, version.number, version.status, status)
        live.hashes = [v1.content_hash, v2.content_hash]
        schedules[obj] = schedule_promotion(v2.rule, actor=users["release"], at=timezone.now() + timedelta(days=60)).pk
        review.hashes = [in_review.content_hash]

    sessions = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value

    tokens = {}
    for role, user in users.items():
        name = f"matrix token for the {role} role."
        if role == "system":
            # The way a payment system gets its token: limited to decisions.
            out = io.StringIO()
            call_command(
                "issue_token", user.username, "--scope", "decisions", "--name", name, stdout=out, stderr=io.StringIO()
            )
            key = out.getvalue().strip()
        else:
            key = ApiToken.new_key()
            ApiToken.objects.create(
                user=user,
                name=name,
                prefix=key[:8],
                key_hash=hash_key(key),
                expires_at=timezone.now() + timedelta(days=1),
                last_used_at=timezone.now(),  # not written again within the minute
            )
        token = ApiToken.objects.get(key_hash=hash_key(key))
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        tokens[role] = (token.pk, key, name)

    ensure_default_dataset()
    datasets = {}
    for key, role, county in (("own", "budget", b"Coos"), ("another's", "superuser", b"Curry")):
        name = f"Matrix population of the {role} role"
        raw = POPULATION_CSV.replace(b"Marion", county)  # each file its own content: a copy is refused
        datasets[key] = (upload_dataset(raw, actor=users[role], name=name, filename="m.csv").pk, name)
    funds = {}
    for key, role, code in (("own", "budget", "MATRIX-OWN"), ("another's", "superuser", "MATRIX-OTHER")):
        fund = create_fund(
            actor=users[role], code=code, name=f"Matrix fund {code}", appropriation="5000000", fiscal_year="2025"
        )
        funds[key] = (fund.pk, fund.name)
    verifications = {}
    for key, role in (("own", "release"), ("another's", "superuser")):
        verification = request_chain_verification(actor=users[role])
        note = f"Matrix verification asked by the {role} role."
        # Finished (its panel shows the note), so a new request starts another instead of returning it.
        ChainVerification.objects.filter(pk=verification.pk).update(
            status=ChainVerification.Status.ERROR, finished_at=timezone.now(), note=note
        )
        verifications[key] = (verification.pk, note)
    return World(
        users, rules, sessions, tokens, datasets, funds, verifications, schedules, build_webhooks(users["superuser"])
    )


def build_webhooks(admin):
    """An active webhook endpoint with a given-up delivery, and a paused one, added by the superuser."""
    from audit.models import AuditEvent
    from webhooks.models import WebhookDelivery
    from webhooks.services import create_endpoint, pause_endpoint

    found = {}
    for key in ("active", "paused"):
        name = f"Matrix webhook {key} 7c2d"
        endpoint, _ = create_endpoint(actor=admin, name=name, url=f"https://93.184.215.14/{key}")
        found[key] = (endpoint.pk, name)
        if key == "paused":
            pause_endpoint(endpoint, actor=admin)
        else:
            event = AuditEvent.objects.order_by("-id").first()
            now = timezone.now()
            delivery = WebhookDelivery.objects.create(
                endpoint=endpoint, event=event, state="gave_up", attempt_count=8, created_at=now, next_attempt_at=now
            )
            found["delivery"] = (delivery.pk, name)
    return found


class ModuleWorld:
    """The world in a transaction the module holds open; each test runs in a savepoint on top of it."""

    def __init__(self, blocker, data_dir):
        self.blocker = blocker
        self.data_dir = data_dir
        self.outer = None
        self.overrides = None

    def __enter__(self):
        self.overrides = override_settings(PDP_POPULATION_ROWS=SMALL_POPULATION, DATA_DIR=self.data_dir)
        self.overrides.enable()
        eager = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
        celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
        try:
            with self.blocker.unblock():
                self.outer = transaction.atomic()
                self.outer.__enter__()
                return build_world()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        finally:
            celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = eager

    def __exit__(self, *exc):
        if self.outer is not None:
            with self.blocker.unblock():
                transaction.set_rollback(True)
                self.outer.__exit__(None, None, None)
            self.outer = None
        if self.overrides is not None:
            self.overrides.disable()
            self.overrides = None
