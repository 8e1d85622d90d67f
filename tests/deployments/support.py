"""Helpers shared by the service, audit and API tests (tests/rules, reviews, deployments, audit, api).

Plain functions and markers only; fixtures live in each folder's conftest.py.
"""

import threading

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import REQUIRE_SERVICES, pipeline_events

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# For transactional tests that call require_postgres(): skip on SQLite *before* the database fixture
# is set up, so a skipped test does not flush the database (and the migration-made Environment rows)
# under the tests that run after it. With PDP_REQUIRE_SERVICES=1 the test runs and require_postgres()
# fails it, as intended.
POSTGRES_ONLY = pytest.mark.skipif(
    not ON_POSTGRES and not REQUIRE_SERVICES, reason="needs PostgreSQL (set DATABASE_URL)"
)

PASSWORD = "pw-for-tests-1"  # what tests/conftest.py make_user gives everyone


def approve_both(version, *, counsel, budget_officer):
    """Both sign-offs; the last one puts the version live on staging."""
    from reviews.services import approve_version

    approve_version(version, actor=counsel, expected_hash=version.content_hash)
    approve_version(version, actor=budget_officer, expected_hash=version.content_hash)
    version.refresh_from_db()
    return version


def release_to_production(version, *, counsel, budget_officer, release_manager):
    """Take a version in review through both sign-offs, staging and production."""
    from deployments.services import promote

    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    return promote(version.rule, actor=release_manager)


def assert_release_refused(service, rule, actor, error, code, **kwargs):
    """`service` (promote or rollback) is refused with `error`, recorded once against the rule, and no pointer moves."""
    from deployments.models import Deployment
    from tests.conftest import last_event

    before_live = {env: live_version(rule, env) for env in ("staging", "production")}
    before_deployments, before_events = Deployment.objects.count(), pipeline_events().count()
    with pytest.raises(error) as info:
        service(rule, actor=actor, **kwargs)
    assert {env: live_version(rule, env) for env in ("staging", "production")} == before_live
    assert Deployment.objects.count() == before_deployments
    assert pipeline_events().count() == before_events + 1
    event = last_event(f"release.{service.__name__}")
    assert (event.outcome, event.actor, event.target_type, event.target_id) == (
        "refused",
        actor,
        "rules.rule",
        str(rule.pk),
    )
    assert (event.data["code"], event.data["reason"]) == (code, info.value.message)
    return info.value


def assert_promote_refused(rule, actor, error, code, **kwargs):
    from deployments.services import promote

    return assert_release_refused(promote, rule, actor, error, code, **kwargs)


def live_version(rule, environment):
    """The version id a rule's pointer holds in `environment` (None for v0), read fresh."""
    from deployments.models import Release

    return Release.objects.get(rule=rule, environment__name=environment).version_id


def events(action=None, outcome=None):

    qs = pipeline_events().order_by("id")
    if action:
        qs = qs.filter(action=action)
    if outcome:
        qs = qs.filter(outcome=outcome)
    return list(qs)


def run_concurrently(calls, *, timeout=60):
    """Run each callable in its own thread, all released at once by a barrier.

    Returns a list of (index, "ok", value) / (index, "error", exception) in completion order.
    Each thread closes its own database connection when done.
    """
    barrier = threading.Barrier(len(calls))
    outcomes = []
    lock = threading.Lock()

    def worker(index, call):
        try:
            barrier.wait(timeout=timeout)
            value = call()
            with lock:
                outcomes.append((index, "ok", value))
        except BaseException as exc:  # collected and judged by the test
            with lock:
                outcomes.append((index, "error", exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish (deadlock?)"
    return outcomes


def split_outcomes(outcomes, *, expected_errors):
    """(successes, domain refusals); any other exception is re-raised so the test shows it."""
    successes = [value for _, kind, value in outcomes if kind == "ok"]
    refusals = [exc for _, kind, exc in outcomes if kind == "error" and isinstance(exc, expected_errors)]
    for _, kind, exc in outcomes:
        if kind == "error" and not isinstance(exc, expected_errors):
            raise exc
    return successes, refusals
