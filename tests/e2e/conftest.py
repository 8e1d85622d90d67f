"""The end-to-end tests run against the live portal of tests/conftest.py (`portal`): migrate, seed, then the
web server and a Celery worker via honcho, started and stopped by tests/live_portal.py.
"""

from tests.live_portal import DEMO_PASSWORD, ROOT

__all__ = ["DEMO_PASSWORD", "ROOT"]
