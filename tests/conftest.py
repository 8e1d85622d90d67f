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


SMALL_POPULATION = 2_000


@pytest.fixture(autouse=True)
def _small_population(settings, tmp_path_factory):
    """A smaller synthetic population keeps unit tests fast; the e2e test uses the default size."""
    settings.PDP_POPULATION_ROWS = SMALL_POPULATION


def _flush_past_the_truncate_trigger():
    """Transactional tests empty the tables with TRUNCATE, which PostgreSQL refuses on the audit
    history (audit/models.py); the suite's own clean-up alone goes past that trigger."""
    import pgtrigger
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with pgtrigger.ignore("audit.AuditEvent:audit_no_truncate"):
            return flush(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush


_flush_past_the_truncate_trigger()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts (the cache) do not carry from one test to the next."""
    from django.core.cache import cache

    cache.clear()


def require_postgres():
    """Skip on SQLite, or fail when the CI pass says PostgreSQL must be there."""
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("PDP_REQUIRE_SERVICES=1 but the database is not PostgreSQL (set DATABASE_URL).")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def make_user(username, *groups, superuser=False):
    """The named person, made if not there yet (a shared pipeline state may have made them already).

    Made as an administrator would, through accounts.services, so their roles are on record.
    """
    from accounts.services import assign_role, create_person, set_flags

    user = User.objects.filter(username=username).first()
    if user is None:
        return create_person(
            username,
            actor=None,
            groups=[Group.objects.get(name=name) for name in groups],
            password="pw-for-tests-1",
            email=f"{username}@example.org",
            is_superuser=superuser,
        )
    if superuser and not user.is_superuser:
        user = set_flags(user, actor=None, is_superuser=True, is_staff=True)
    for name in groups:
        if not user.groups.filter(name=name).exists():
            user = assign_role(user, actor=None, group=name)
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


def push_and_check(raw=None, *, actor):
    """Push a document and run its checks (eagerly, after the commit), returning the fresh version."""
    from django.test import TestCase

    from rules.services import push_rule_version

    with TestCase.captureOnCommitCallbacks(execute=True):
        version = push_rule_version(raw if raw is not None else document(), actor=actor)
    version.refresh_from_db()
    return version


def approve_by_both(version, counsel, budget_officer):
    from reviews.services import approve_version

    approve_version(version, actor=counsel, expected_hash=version.content_hash)
    approve_version(version, actor=budget_officer, expected_hash=version.content_hash)
    version.refresh_from_db()


@pytest.fixture
def push(db):
    return push_and_check


@pytest.fixture
def push_queued(django_capture_on_commit_callbacks):
    """Push without running any check: the version stays queued with its lint check."""
    from rules.services import push_rule_version

    def _push(raw=None, *, actor):
        with django_capture_on_commit_callbacks(execute=False):
            version = push_rule_version(raw if raw is not None else document(), actor=actor)
        version.refresh_from_db()
        return version

    return _push


@pytest.fixture
def push_queued_and_lint(django_capture_on_commit_callbacks):
    """Push the wildfire example and run only its lint, leaving the simulation queued."""
    from checks.models import CheckRun
    from checks.services import run_lint
    from rules.services import push_rule_version

    def _push(actor):
        with django_capture_on_commit_callbacks(execute=False):
            version = push_rule_version(document(), actor=actor)
        with django_capture_on_commit_callbacks(execute=False):
            run_lint(version.checks.get(kind=CheckRun.Kind.LINT).pk)
        version.refresh_from_db()
        return version

    return _push


# The pipeline states below are the costliest set-up in the suite (a push runs lint and a
# simulation). Where a module allows it, each state is built once for the module (SharedStates)
# and every test runs in a savepoint on top of it, so a test still sees only its own changes.


@pytest.fixture
def in_review(request, push, drafter):
    """The wildfire example, linted and simulated, waiting for its two sign-offs."""
    shared = SharedStates.version_for(request, "in_review")
    if shared is not None:
        return shared
    version = push(actor=drafter)
    assert version.status == "in_review", version.checks.values_list("kind", "status", "findings")
    return version


@pytest.fixture
def on_staging(request, in_review, counsel, budget_officer):
    """The wildfire example approved by both roles and live on staging."""
    if SharedStates.version_for(request, "on_staging") is None:
        approve_by_both(in_review, counsel, budget_officer)
    return in_review


@pytest.fixture
def in_production(request, on_staging, release_manager):
    from deployments.services import promote

    if SharedStates.version_for(request, "in_production") is None:
        promote(on_staging.rule, actor=release_manager)
    return on_staging


@pytest.fixture
def rolled_back(in_production, release_manager):
    """v1 live on staging, production rolled back from v1 to v0: what "Deploy again" puts back."""
    from deployments.services import rollback

    rollback(in_production.rule, actor=release_manager, reason="Congress requested pause")
    return in_production


@pytest.fixture
def with_v2_live(in_production, push, drafter, counsel, budget_officer, release_manager):
    """v1 went live in production, then v2 replaced it there: returns (v1, v2)."""
    from tests.conftest import document
    from tests.deployments.support import release_to_production

    v2 = push(document(title="Wildfire Relief Payment 2024 (amended)"), actor=drafter)
    release_to_production(v2, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    in_production.refresh_from_db()
    v2.refresh_from_db()
    return in_production, v2


class SharedStates:
    """One module's pipeline states, each built once, in nested savepoints of a transaction the module holds open.

    Level 0 is the empty database; 1, 2, 3 are `LEVELS`. Before a test's own transaction opens, the
    states are brought to the deepest level the test asks for (rolling back what it does not ask
    for); the test's transaction is then a savepoint on top. Tests are ordered by level within a
    module, so each level is built about once. A state a test asks for only at run time
    (`request.getfixturevalue`) is built for that test alone, as without sharing.
    """

    LEVELS = ("in_review", "on_staging", "in_production")
    # A module shares only if none of its tests needs real commits.
    UNSHAREABLE = {"transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}
    # Only the fixtures defined here build the states; a module's own versions of them opt it out.
    BUILDERS = ("push", "drafter", "counsel", "budget_officer", "release_manager", *LEVELS)

    def __init__(self, blocker):
        self.blocker = blocker
        self.outer = None
        self.savepoints = []
        self.version_pk = None

    @property
    def level(self):
        return len(self.savepoints)

    @classmethod
    def version_for(cls, request, name):
        """A fresh copy of the shared version when the shared states have reached `name`, else None."""
        states = getattr(request.node, "_pdp_shared_states", None)
        if states is None or states.level <= cls.LEVELS.index(name):
            return None
        from rules.models import RuleVersion

        return RuleVersion.objects.get(pk=states.version_pk)

    def reach(self, level):
        from django.db import transaction
        from django.test import override_settings

        with self.blocker.unblock():
            if self.outer is None:
                if level == 0:
                    return
                self.outer = transaction.atomic()
                self.outer.__enter__()
            while self.level > level:
                transaction.savepoint_rollback(self.savepoints.pop())
            with override_settings(PDP_POPULATION_ROWS=SMALL_POPULATION):
                while self.level < level:
                    step = self.LEVELS[self.level]
                    self.savepoints.append(transaction.savepoint())
                    getattr(self, f"_build_{step}")()

    def _build_in_review(self):
        version = push_and_check(actor=make_user("drafter", settings.PDP_DRAFTER_GROUP))
        assert version.status == "in_review", version.checks.values_list("kind", "status", "findings")
        self.version_pk = version.pk

    def _build_on_staging(self):
        from rules.models import RuleVersion

        approve_by_both(
            RuleVersion.objects.get(pk=self.version_pk),
            make_user("counsel", settings.PDP_REVIEW_ROLES["legal"]),
            make_user("budget_officer", settings.PDP_REVIEW_ROLES["budget"]),
        )

    def _build_in_production(self):
        from deployments.services import promote
        from rules.models import Rule

        promote(
            Rule.objects.get(versions__pk=self.version_pk),
            actor=make_user("release_manager", settings.PDP_RELEASE_GROUP),
        )

    def close(self):
        if self.outer is None:
            return
        from django.db import transaction

        with self.blocker.unblock():
            transaction.set_rollback(True)
            self.outer.__exit__(None, None, None)
        self.outer, self.savepoints = None, []

    @classmethod
    def plan(cls, items):
        """Mark each test of a module that may share with the level it needs, and order them by it.

        PDP_TEST_SHARED_STATES=0 turns sharing off: every test builds its states itself.
        """
        if os.environ.get("PDP_TEST_SHARED_STATES", "1") == "0":
            return
        by_module = {}
        for item in items:
            by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
        ordered = []
        for module_items in by_module.values():
            if all(cls._may_share(item) for item in module_items):
                for item in module_items:
                    names = set(item.fixturenames)
                    item._pdp_level = max((cls.LEVELS.index(n) + 1 for n in names & set(cls.LEVELS)), default=0)
                module_items = sorted(module_items, key=lambda item: item._pdp_level)
            ordered.extend(module_items)
        items[:] = ordered

    @classmethod
    def _may_share(cls, item):
        if not hasattr(item, "_fixtureinfo"):
            return False
        if cls.UNSHAREABLE & set(item.fixturenames) or any(
            item.get_closest_marker(m) for m in ("e2e", "browser", "postgres", "services")
        ):
            return False
        marker = item.get_closest_marker("django_db")
        if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences") or marker.args):
            return False
        defs = item._fixtureinfo.name2fixturedefs
        return all(defs[name][-1].func.__module__ == __name__ for name in cls.BUILDERS if name in defs)


@pytest.fixture(scope="module")
def _pdp_shared_states(django_db_setup, django_db_blocker):
    states = SharedStates(django_db_blocker)
    yield states
    states.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Bring the module's shared states to the test's level just before its own transaction opens."""
    if fixturedef.argname == "_django_db_helper":
        level = getattr(request.node, "_pdp_level", None)
        if level is not None:
            states = request.getfixturevalue("_pdp_shared_states")
            states.reach(level)
            request.node._pdp_shared_states = states
    yield


def pipeline_events():
    """The audit events of the pipeline: all but those that record the test's people being made."""
    from accounts.services import STANDING_ACTIONS
    from audit.models import AuditEvent

    return AuditEvent.objects.exclude(action__in=STANDING_ACTIONS)


def last_event(action=None):
    qs = pipeline_events().order_by("-id")
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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    SharedStates.plan(items)
    path = config.getoption("--skip-standalone")
    if path:
        listed = set(Path(path).read_text().splitlines())
        standalone = [item for item in items if item.nodeid in listed]
        if standalone:
            config.hook.pytest_deselected(items=standalone)
            items[:] = [item for item in items if item.nodeid not in listed]
    if getattr(config, "workerinput", {}).get("pdp_dist") == "loadfile":
        order_work_units(items)


# Under pytest-xdist with `--dist loadfile` (`make test`), a work unit is a test file, except that the
# files of a folder whose conftest starts one live portal for them all (a package-scoped fixture) are
# one unit, so they run in a row on one worker and the portal starts once there. Each worker collects
# the tests in the same order (below) and the controller hands the units out in that order, the
# longest first: those with a test marked as in LONGEST_FIRST (the browser tests, the other tests of a
# live portal, then those of real workers and servers), then the other files by their number of
# tests, most first (as pytest-xdist orders them itself). A long unit handed out last would leave one
# worker running it alone at the end.
LONGEST_FIRST = ({"browser"}, {"e2e"}, {"postgres", "services"})
SHARED_PORTAL_FOLDERS = ("tests/browser/", "tests/e2e/")


def work_unit(nodeid):
    path = nodeid.split("::", 1)[0]
    return next((folder for folder in SHARED_PORTAL_FOLDERS if path.startswith(folder)), path)


def order_work_units(items):
    units = {}
    for item in items:
        units.setdefault(work_unit(item.nodeid), []).append(item)

    def rank(unit):
        marked = {marker.name for item in unit for marker in item.iter_markers()}
        first = next((n for n, names in enumerate(LONGEST_FIRST) if marked & names), len(LONGEST_FIRST))
        return (first, -len(unit))

    items[:] = [item for unit in sorted(units.values(), key=rank) for item in unit]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """Tell each pytest-xdist worker how the tests are distributed, so that it orders them for `loadfile`."""
    node.workerinput["pdp_dist"] = node.config.getvalue("dist")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedPortalScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    # The units in the workers' order (order_work_units), not re-sorted by their number of tests.
    config.option.loadscopereorder = False
    return SharedPortalScheduling(config, log)


def pytest_terminal_summary(terminalreporter, config):
    path = config.getoption("--skip-standalone")
    if path:
        # Under pytest-xdist the workers deselect; the controller counts the list they read.
        listed = len(Path(path).read_text().splitlines())
        terminalreporter.write_line(
            f"--skip-standalone: {listed} tests that touched no database, broker or server "
            "in the first pass were deselected."
        )
