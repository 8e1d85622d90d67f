"""The portal's web server, as the Procfile's `web` line runs it:

    python -m pdp_portal.serve [--host 127.0.0.1] [--port 8000] [--workers 2] [--threads 4]

granian (a web server written in Rust) runs the WSGI application, pdp_portal.wsgi, in --workers processes
of --threads threads each. It replaced gunicorn by measurement: on this project's 2-core machine gunicorn
spent about 330 µs of CPU per request of its own (HTTP parsing, thread hand-offs), granian about 55 µs;
for a decision, whose own work is about 450 µs, that is the difference between about 1,300 and 2,300
requests/s (bench/decisions.py prints both figures; docs/operation.md has them).

What this adds to granian's defaults:
- prometheus_client's multiprocess folder (PROMETHEUS_MULTIPROC_DIR, `$PDP_DATA_DIR/metrics` unless set)
  is named before any worker starts, so every worker writes its figures there, and emptied, so counters
  start again at 0 as Prometheus expects after a restart (/metrics drops the gauges of processes gone);
- a worker that dies is started again;
- on SIGTERM or SIGINT each worker finishes what it is serving (at most --graceful-timeout seconds) and
  writes its waiting decision-log entries before it exits;
- granian's own lines are logged as the portal logs (PDP_LOG_FORMAT, LOG_LEVEL), and it writes no access
  log: the portal logs one line per request itself (operations.middleware, decisions.front).
"""

import argparse
import os
import shutil
from pathlib import Path

from operations.logformat import logging_config

ROOT = Path(__file__).resolve().parent.parent


def metrics_folder() -> Path:
    """The multiprocess metrics folder, named in the environment the workers inherit."""
    data = Path(os.environ.get("PDP_DATA_DIR") or ROOT / "var").resolve()
    return Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(data / "metrics")))


def server_logging() -> dict:
    config = logging_config(os.environ.get("PDP_LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))
    quiet = {"handlers": ["console"], "propagate": False}
    return {**config, "loggers": {"_granian": quiet, "granian.access": quiet}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pdp_portal.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)), help="default $PORT or 8000")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--graceful-timeout", type=int, default=10, help="seconds a stopping worker may take (default 10)"
    )
    args = parser.parse_args(argv)
    if min(args.workers, args.threads, args.graceful_timeout) < 1 or not 0 < args.port < 65536:
        parser.error("--workers, --threads and --graceful-timeout must be at least 1, --port 1 to 65535")

    folder = metrics_folder()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pdp_portal.settings")

    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        "pdp_portal.wsgi:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        respawn_failed_workers=True,
        workers_kill_timeout=args.graceful_timeout,
        log_dictconfig=server_logging(),
        log_level=LogLevels(os.environ.get("LOG_LEVEL", "INFO").lower()),
        log_access=False,
        working_dir=ROOT,
    ).serve()


if __name__ == "__main__":
    main()
