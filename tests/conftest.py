"""Named people, factories for the pipeline's objects, and the switches for real services.

People: `drafter`, `counsel` (Legal), `budget_officer` (Budget), `release_manager`
(ReleaseManagers), `outsider` (no role), `superuser` (is_superuser, no group).
"""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection

from pdp_portal.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REQUIRE_SERVICES = os.environ.get("PDP_REQUIRE_SERVICES") == "1"

WILDFIRE = json.loads((EXAMPLES / "wildfire-aid-2024.json").read_text())


@pytest.fixture(autouse=True)
def _eager_celery():
    """Unit tests run tasks in-process; the end-to-end tests start a real worker instead."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _small_population(settings, tmp_path_factory):
    """A smaller synthetic population keeps unit tests fast; the e2e test uses the default size."""
    settings.PDP_POPULATION_ROWS = 2_000


def require_postgres():
    """Skip on SQLite, or fail when the CI pass says PostgreSQL must be there."""
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("PDP_REQUIRE_SERVICES=1 but the database is not PostgreSQL (set DATABASE_URL).")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def make_user(username, *groups, superuser=False):
    user = User.objects.create_user(username, f"{username}@example.org", "pw-for-tests-1")
    if superuser:
        user.is_superuser = user.is_staff = True
        user.save()
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def drafter(db):
    return make_user("drafter", settings.PDP_DRAFTER_GROUP)


@pytest.fixture
def other_drafter(db):
    return make_user("drafter2", settings.PDP_DRAFTER_GROUP)


@pytest.fixture
def counsel(db):
    return make_user("counsel", settings.PDP_REVIEW_ROLES["legal"])


@pytest.fixture
def budget_officer(db):
    return make_user("budget_officer", settings.PDP_REVIEW_ROLES["budget"])


@pytest.fixture
def release_manager(db):
    return make_user("release_manager", settings.PDP_RELEASE_GROUP)


@pytest.fixture
def outsider(db):
    return make_user("outsider")


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


def document(**changes):
    """The wildfire example with `changes` applied (None removes a key)."""
    doc = json.loads(json.dumps(WILDFIRE))
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


@pytest.fixture
def push(django_capture_on_commit_callbacks):
    """Push a document and run its checks (eagerly, after the commit), returning the fresh version."""
    from rules.services import push_rule_version

    def _push(raw=None, *, actor):
        with django_capture_on_commit_callbacks(execute=True):
            version = push_rule_version(raw if raw is not None else document(), actor=actor)
        version.refresh_from_db()
        return version

    return _push


@pytest.fixture
def in_review(push, drafter):
    """The wildfire example, linted and simulated, waiting for its two sign-offs."""
    version = push(actor=drafter)
    assert version.status == "in_review", version.checks.values_list("kind", "status", "findings")
    return version


@pytest.fixture
def on_staging(in_review, counsel, budget_officer):
    """The wildfire example approved by both roles and live on staging."""
    from reviews.services import approve_version

    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    approve_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash)
    in_review.refresh_from_db()
    return in_review


@pytest.fixture
def in_production(on_staging, release_manager):
    from deployments.services import promote

    promote(on_staging.rule, actor=release_manager)
    return on_staging


def last_event(action=None):
    from audit.models import AuditEvent

    qs = AuditEvent.objects.order_by("-id")
    if action:
        qs = qs.filter(action=action)
    return qs.first()


# The second CI pass runs against PostgreSQL and Redis. A test that touched no database, broker or
# server in the first pass does not depend on them, so the second pass leaves it out:
# `--record-standalone=FILE` writes such tests' ids in the first pass, `--skip-standalone=FILE`
# deselects them in the second (with `=`: pytest would take a lone existing path for a test path). "Touched" is what the test really set up, fixtures asked for at
# run time (`request.getfixturevalue`) included; a test skipped in the first pass runs again.
SERVICE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}
SERVICE_MARKERS = ("django_db", "e2e", "browser", "postgres", "services")


def pytest_addoption(parser):
    group = parser.getgroup("pdp", "pdp_portal CI passes")
    group.addoption("--record-standalone", metavar="FILE", help="write the ids of passed tests that touched no service")
    group.addoption(
        "--skip-standalone", metavar="FILE", help="deselect the tests listed in FILE (from --record-standalone)"
    )


def _uses_services(item, fixturenames):
    return bool(SERVICE_FIXTURES & set(fixturenames)) or any(item.get_closest_marker(m) for m in SERVICE_MARKERS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed and item.config.getoption("--record-standalone"):
        request = getattr(item, "_request", None)
        names = request.fixturenames if request is not None else item.fixturenames
        if not _uses_services(item, names):
            item.config._pdp_standalone.append(item.nodeid)


def pytest_configure(config):
    config._pdp_standalone = []


def pytest_unconfigure(config):
    path = config.getoption("--record-standalone")
    if not path:
        return
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: its part, merged by the controller
        Path(f"{path}.{config.workerinput['workerid']}").write_text("".join(f"{n}\n" for n in config._pdp_standalone))
        return
    ids = set(config._pdp_standalone)
    for part in Path(path).parent.glob(f"{Path(path).name}.gw*"):
        ids.update(part.read_text().splitlines())
        part.unlink()
    Path(path).write_text("".join(f"{nodeid}\n" for nodeid in sorted(ids)))


def pytest_collection_modifyitems(config, items):
    path = config.getoption("--skip-standalone")
    if not path:
        return
    listed = set(Path(path).read_text().splitlines())
    standalone = [item for item in items if item.nodeid in listed]
    if standalone:
        config.hook.pytest_deselected(items=standalone)
        items[:] = [item for item in items if item.nodeid not in listed]


def pytest_terminal_summary(terminalreporter, config):
    path = config.getoption("--skip-standalone")
    if path:
        # Under pytest-xdist the workers deselect; the controller counts the list they read.
        listed = len(Path(path).read_text().splitlines())
        terminalreporter.write_line(
            f"--skip-standalone: {listed} tests that touched no database, broker or server "
            "in the first pass were deselected."
        )
