"""The portal's own Prometheus figures.

Two kinds, and where each is true:

- **Per process, summed per host** (prometheus_client metric objects): what a web process counts as
  it serves. Under gunicorn, whose workers are separate processes, gunicorn.conf.py turns on
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
"""

from prometheus_client import Counter, Gauge

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


def count_decisions(rule: str, version: int | str, environment: str, n: int = 1) -> None:
    """Count `n` decisions served by `rule` at `version` in `environment`."""
    if n < 0:
        raise ValueError("a count of decisions cannot go down")
    DECISIONS.labels(rule=rule, version=str(version), environment=environment).inc(n)


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
