"""The worker's supervisor (pdp_portal/supervise.py): a process that dies is restarted and the log says why."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path, script):
    env = {**os.environ, "PDP_DATA_DIR": str(tmp_path)}
    return subprocess.Popen(
        [sys.executable, "-m", "pdp_portal.supervise", sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_process_that_dies_is_restarted_with_the_reason_logged(tmp_path):
    """A child that exits with code 3 is started again; stderr and worker-restarts.log give the code and the count."""
    runs = tmp_path / "runs"
    script = f"open({str(runs)!r}, 'a').write('x'); import sys; sys.exit(3)"
    process = _start(tmp_path, script)
    try:
        # Restarts wait 1 s, then 2 s: the third start comes about 3 s after the first.
        assert _wait_for(lambda: runs.exists() and len(runs.read_text()) >= 3), "the child was not restarted twice"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    records = [json.loads(line) for line in (tmp_path / "worker-restarts.log").read_text().splitlines()]
    assert [r["restart"] for r in records[:2]] == [1, 2]
    assert {r["reason"] for r in records} == {"exited with code 3"}
    assert "exited with code 3" in err and "restart #1 in 1s" in err and "restart #2 in 2s" in err


def test_a_killed_process_is_named_by_its_signal(tmp_path):
    """A child killed with SIGKILL is logged as such."""
    script = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    process = _start(tmp_path, script)
    log = tmp_path / "worker-restarts.log"
    try:
        assert _wait_for(lambda: log.exists() and log.read_text().strip())
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=20)
    assert json.loads(log.read_text().splitlines()[0])["reason"] == "was killed by SIGKILL"


def test_sigterm_stops_the_child_and_the_supervisor(tmp_path):
    """Stopping (as honcho and Ctrl-C do) ends both, with no restart."""
    started = tmp_path / "started"
    script = f"import time; open({str(started)!r}, 'w').write('1'); time.sleep(60)"
    process = _start(tmp_path, script)
    assert _wait_for(started.exists)
    process.send_signal(signal.SIGTERM)  # the supervisor alone: it passes the signal on
    process.communicate(timeout=20)
    assert process.returncode == 0
    assert not (tmp_path / "worker-restarts.log").exists()
