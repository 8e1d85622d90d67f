"""The portal's settings with one more address, /bench/minimal, for bench/decisions.py's ceiling."""

from pdp_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.minimal_urls"
