import pytest

from rules.services import push_rule_version
from tests.conftest import document


@pytest.fixture
def push_queued(django_capture_on_commit_callbacks):
    """Push without running any check: the version stays queued with its lint check."""

    def _push(raw=None, *, actor):
        with django_capture_on_commit_callbacks(execute=False):
            version = push_rule_version(raw if raw is not None else document(), actor=actor)
        version.refresh_from_db()
        return version

    return _push


@pytest.fixture
def push_queued_and_lint(django_capture_on_commit_callbacks):
    """Push the wildfire example and run only its lint, leaving the simulation queued."""
    from rules.models import CheckRun
    from rules.services import push_rule_version, run_lint
    from tests.conftest import document

    def _push(actor):
        with django_capture_on_commit_callbacks(execute=False):
            version = push_rule_version(document(), actor=actor)
        with django_capture_on_commit_callbacks(execute=False):
            run_lint(version.checks.get(kind=CheckRun.Kind.LINT).pk)
        version.refresh_from_db()
        return version

    return _push
