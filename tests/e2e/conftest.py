"""A real portal for end-to-end tests: migrate, seed, then the web server and a Celery worker via honcho.

One portal serves every test in this folder and stops after them: under pytest-xdist the folder is one
unit of work (tests/conftest.py). The starting and stopping is tests/live_portal.py, shared with the
browser tests.
"""

import pytest

from tests.live_portal import DEMO_PASSWORD, ROOT, running_portal

__all__ = ["DEMO_PASSWORD", "ROOT", "portal"]


@pytest.fixture(scope="package")
def portal(tmp_path_factory):
    """Start the portal with a worker; yield its environment (for hms) and its base URL."""
    with running_portal(tmp_path_factory.mktemp("portal-data"), name="e2e") as running:
        yield running
