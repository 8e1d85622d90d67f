"""Settings for the test suite: the portal's own settings, with a fast password hasher.

Django's default PBKDF2 costs 0.3-1.1 s per `create_user` on a small machine, and the suite makes
hundreds of people. The live portals that the end-to-end and browser tests start run the real
settings (tests/live_portal.py), so production's hasher is still exercised there.

Under pytest-xdist each worker gets a data folder of its own (its SQLite test database, stored
datasets and broker folders), so two workers never write the same file.
"""

import os
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    _base = Path(os.environ.get("PDP_DATA_DIR") or Path(__file__).resolve().parent.parent / "var")
    os.environ["PDP_DATA_DIR"] = str(_base / f"test-{_worker}")

from pdp_portal.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Each process its own throttle counts, emptied before every test (tests/conftest.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Decisions are written in the request's own transaction, which each test rolls back; the live portals
# (tests/live_portal.py) run the real writer thread.
PDP_DECISION_LOG_MODE = "inline"
