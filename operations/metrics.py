"""The portal's own Prometheus figures.

Two kinds, and where each is true:

- **Per process, summed per host** (prometheus_client metric objects): what a web process counts as
  it serves. Under the web server, whose workers are separate processes, pdp_portal/serve.py turns on
  prometheus_client's multiprocess mode (files under `$PDP_DATA_DIR/metrics/`), and /metrics on a
  host adds up that host's processes. Sum them across hosts in Prometheus.
  These are the decision figures below, and django-prometheus's `django_http_*` figures.
- **Cluster-wide, read from the database at scrape time** (`DatabaseCollector`): checks queued,
  running and failed, check durations, promotions and rollbacks, audit appends, the last scheduled
  audit chain verification and the workers' last beat (operations/collectors.py). Every host
  reports the same value: take `max` (or scrape one host), never `sum`.

The decision path calls this small API; none of it touches the database, and importing this module loads no model:

    count_decisions(rule, version, environment, n=1)   # decisions served
    set_decision_log_state(pending=..., lag_seconds=...)  # the decision log's backlog
    count_dropped(n=1)                                   # decision log entries dropped
    later_inc(child, n) / later_observe(child, value)  # any figure, applied off the request path

Counts made on the decision path are applied a little later (`later_inc`, `later_observe`): a request
appends them to a queue, and a thread of the process applies them every PENDING_SECONDS, as does /metrics
before it answers and the process as it exits. An update of a multiprocess figure costs a lock and a
write to its file, several microseconds each, and a decision makes a dozen of them; the queue costs a
fraction of a microsecond. So a scrape may miss the last quarter second of another process's counts,
and a process killed without warning loses them.
"""

import threading
import time
from collections import defaultdict, deque
from typing import Any

from prometheus_client import Counter, Gauge

from .lifecycle import at_exit

PENDING_SECONDS = 0.25

DECISIONS = Counter(
    "pdp_decisions",
    "Decisions served, per rule, rule version and environment (per host).",
    ["rule", "version", "environment"],
)
DECISION_LOG_LAG = Gauge(
    "pdp_decision_log_lag_seconds",
    "Age of the oldest decision not yet written to the decision log (per host: the largest of its processes).",
    multiprocess_mode="livemax",
)
DECISION_LOG_PENDING = Gauge(
    "pdp_decision_log_pending",
    "Decisions waiting to be written to the decision log (per host: the sum of its processes).",
    multiprocess_mode="livesum",
)
DECISION_LOG_DROPPED = Counter(
    "pdp_decision_log_dropped",
    "Decision log entries dropped instead of written (per host).",
)


class _Pending:
    """Counts and observations waiting to be applied to their figures, and the thread that applies them."""

    def __init__(self) -> None:
        self._queue: deque[tuple[bool, Any, float]] = deque()
        self._apply_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def add(self, is_count: bool, child: Any, amount: float) -> None:
        self._queue.append((is_count, child, amount))
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():  # also after a fork: threads do not survive it
                self._thread = threading.Thread(target=self._run, name="pdp-metrics", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(PENDING_SECONDS)
            self.apply()

    def apply(self) -> None:
        """Apply everything queued so far: counts added up per figure first, so each is written once."""
        with self._apply_lock:
            counts: dict[Any, float] = defaultdict(float)
            while True:
                try:
                    is_count, child, amount = self._queue.popleft()
                except IndexError:
                    break
                if is_count:
                    counts[child] += amount
                else:
                    child.observe(amount)
            for child, amount in counts.items():
                child.inc(amount)


_PENDING = _Pending()
at_exit(_PENDING.apply)


def later_inc(child: Any, n: float = 1) -> None:
    """`child.inc(n)`, applied off the request path (see the module's notes)."""
    _PENDING.add(True, child, n)


def later_observe(child: Any, value: float) -> None:
    """`child.observe(value)` (a histogram or summary), applied off the request path."""
    _PENDING.add(False, child, value)


def apply_pending() -> None:
    """Apply this process's waiting counts now (/metrics does, before it answers)."""
    _PENDING.apply()


_decision_children: dict[tuple[str, str, str], Any] = {}


def count_decisions(rule: str, version: int | str, environment: str, n: int = 1) -> None:
    """Count `n` decisions served by `rule` at `version` in `environment`."""
    if n < 0:
        raise ValueError("a count of decisions cannot go down")
    key = (rule, str(version), environment)
    child = _decision_children.get(key)
    if child is None:
        if len(_decision_children) > 10_000:  # versions come and go; their label sets need not stay here
            _decision_children.clear()
        child = _decision_children[key] = DECISIONS.labels(rule=key[0], version=key[1], environment=key[2])
    later_inc(child, n)


def set_decision_log_state(pending: int, lag_seconds: float) -> None:
    """Say how many decisions wait to be logged, and how old the oldest of them is (0 when none)."""
    if pending < 0 or lag_seconds < 0:
        raise ValueError("pending and lag_seconds cannot be negative")
    DECISION_LOG_PENDING.set(pending)
    DECISION_LOG_LAG.set(lag_seconds)


def count_dropped(n: int = 1) -> None:
    """Count `n` decision log entries dropped (a full buffer, a log that could not be written)."""
    if n < 0:
        raise ValueError("a count of dropped entries cannot go down")
    DECISION_LOG_DROPPED.inc(n)


def touch() -> None:
    """Write the unlabelled figures' starting values, so a scrape shows them before the first decision."""
    DECISION_LOG_PENDING.inc(0)
    DECISION_LOG_LAG.inc(0)
    DECISION_LOG_DROPPED.inc(0)
