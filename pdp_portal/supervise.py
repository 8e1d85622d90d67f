"""Keep a process running: restart it when it dies, and say why.

    python -m pdp_portal.supervise celery -A pdp_portal worker ...

The Procfile runs the Celery worker under this, so a worker that dies does not make honcho stop
the web server with it. Each restart is logged on standard error and appended, as one JSON line,
to `$PDP_DATA_DIR/worker-restarts.log`. Restarts back off from 1 s to 30 s while the process keeps
dying quickly, and start again at 1 s once it has stayed up for a minute. SIGTERM or SIGINT stops
the process and then this supervisor, as honcho and Ctrl-C expect.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
HEALTHY_AFTER_S = 60.0


def describe(returncode):
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def main(argv):
    if not argv:
        print("usage: python -m pdp_portal.supervise COMMAND [ARGS...]", file=sys.stderr)
        return 2
    name = Path(argv[0]).name
    log_path = Path(os.environ.get("PDP_DATA_DIR", "var")) / "worker-restarts.log"
    stopping = False
    child = None

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    restarts, delay = 0, FIRST_DELAY_S
    while True:
        started = time.monotonic()
        child = subprocess.Popen(argv)
        while True:
            try:
                returncode = child.wait()
                break
            except InterruptedError:  # pragma: no cover - wait() retries on EINTR since 3.5
                continue
        if stopping:
            return 0 if returncode in (0, -signal.SIGTERM, -signal.SIGINT) else returncode
        uptime = time.monotonic() - started
        if uptime >= HEALTHY_AFTER_S:
            delay = FIRST_DELAY_S
        restarts += 1
        reason = describe(returncode)
        print(
            f"supervise: {name} {reason} after {uptime:.1f}s; restart #{restarts} in {delay:.0f}s",
            file=sys.stderr,
            flush=True,
        )
        try:
            with open(log_path, "a") as log:
                record = {
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "command": name,
                    "returncode": returncode,
                    "reason": reason,
                    "uptime_s": round(uptime, 1),
                    "restart": restarts,
                }
                log.write(json.dumps(record) + "\n")
        except OSError as exc:
            print(f"supervise: cannot write {log_path}: {exc.strerror}", file=sys.stderr, flush=True)
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return 0
        delay = min(delay * 2, MAX_DELAY_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
