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
