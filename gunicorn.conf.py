"""gunicorn's settings for the portal (the Procfile runs `gunicorn -c gunicorn.conf.py`).

- No access log: the portal logs one JSON line per request itself (operations/middleware.py), with
  its request id, user and duration, so there is one line per request.
- prometheus_client's multiprocess mode, so /metrics adds up every worker process of this host: its
  folder is `$PDP_DATA_DIR/metrics/`, named here before any worker imports prometheus_client,
  emptied when gunicorn starts, and a dead worker's live gauges are dropped (`child_exit`).
"""

import os
import shutil
from pathlib import Path

# The same data folder as pdp_portal/settings.py; an operator's own PROMETHEUS_MULTIPROC_DIR wins.
_data_dir = Path(os.environ.get("PDP_DATA_DIR") or Path(__file__).resolve().parent / "var").resolve()
_metrics_dir = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_data_dir / "metrics")))

accesslog = None
errorlog = "-"


def on_starting(server):
    # Figures of an earlier run's processes are gone with them: counters start again at 0, as Prometheus expects.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
