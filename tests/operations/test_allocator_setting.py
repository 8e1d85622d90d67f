"""Every portal process (web, worker, command) sets polars' allocator to keep freed memory 30 s, before
polars is loaded: a worker's next partition after a short pause reuses its memory (pdp_portal/__init__.py)."""

import os
import subprocess
import sys

from django.conf import settings

PROBE = "import os, sys, pdp_portal; print(os.environ.get('_RJEM_MALLOC_CONF')); print('polars' in sys.modules)"


def probe(**env):
    environment = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"} | env
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_set_before_polars_is_loaded():
    assert probe() == ["dirty_decay_ms:30000,muzzy_decay_ms:30000", "False"]


def test_a_value_in_the_environment_wins():
    assert probe(_RJEM_MALLOC_CONF="dirty_decay_ms:0")[0] == "dirty_decay_ms:0"
