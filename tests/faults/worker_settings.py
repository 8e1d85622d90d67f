"""Settings of the Celery workers the fault tests start: the portal's own, with the broker's visibility
timeout taken from PDP_FAULTS_VISIBILITY_TIMEOUT, so a job a killed worker held comes back within
seconds instead of the 15 minutes of production (settings.py). Everything else is what ships.
"""

import os

from pdp_portal.settings import *  # noqa: F403

if os.environ.get("PDP_FAULTS_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ["PDP_FAULTS_VISIBILITY_TIMEOUT"]),
        # Look for messages to give back every second rather than every 100 s.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
