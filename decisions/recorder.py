"""The decision log's writer: decisions are kept in memory by the process that served them and written in
batches by a thread of that process, off the request path.

What a crash may lose: the decisions of the last PDP_DECISION_LOG_FLUSH_SECONDS (0.5 s by default) before
a process is killed without warning (`kill -9`, the machine losing power), and anything still waiting
while the database is unreachable. A clean stop (SIGTERM or SIGINT to the web server, within its --graceful-timeout)
writes everything first. While the database cannot be reached, decisions wait in memory, at most
PDP_DECISION_LOG_BUFFER of them; past that the oldest are dropped and counted (`dropped`), and the log says so.

PDP_DECISION_LOG_MODE=inline writes each request's decisions in the request's own transaction instead
(the tests use it; so may a deployment that would rather answer slower than lose any).
"""

import hashlib
import hmac
import io
import json
import logging
import os
import socket
import threading
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import polars as pl
from django.conf import settings
from django.db import connection, transaction

from engine.batch import Columns
from operations import metrics
from operations.lifecycle import at_exit

from .models import DecisionBatch
from .serving import LiveVersion

logger = logging.getLogger(__name__)

WRITER = f"{socket.gethostname()}:{os.getpid()}"[:100]
DECISION_SCHEMA: dict[str, Any] = {
    "at": pl.Datetime("us", "UTC"),
    "on": pl.Date,  # the day the decision was asked for
    "request_id": pl.String,
    "account": pl.String,
    "test_account": pl.Boolean,
    "in_force": pl.Boolean,
    "eligible": pl.Boolean,
    "amount": pl.Float64,
    "error": pl.String,
}


@dataclass(frozen=True)
class Served:
    """One version's answers to one request: one citizen for POST /decisions, many for a batch."""

    live: LiveVersion
    at: float  # time.time()
    on: date  # the day asked for
    request_id: str
    accounts: list[str]
    test_accounts: list[bool]
    in_force: bool
    eligible: list[bool | None]
    amount: list[float | None]
    errors: list[str | None]
    citizens: Sequence[dict[str, Any]]
    # The citizens' typed columns as the batch read them for its rules, when it did: the inputs kept reuse them.
    columns: Columns | None = None

    def __len__(self) -> int:
        return len(self.accounts)


def account_key() -> bytes:
    configured = settings.PDP_DECISION_LOG_ACCOUNT_KEY
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"pdp decision log accounts", hashlib.sha256).digest()


def hash_account(account_id: str, key: bytes | None = None) -> str:
    """How an account id is kept when PDP_DECISION_LOG_HASH_ACCOUNTS is on: a keyed hash, so the same
    account is recognisable across decisions but cannot be read back."""
    return hmac.new(key or account_key(), account_id.encode(), hashlib.sha256).hexdigest()[:32]


def _input_names(live: LiveVersion) -> tuple[str, ...] | None:
    """What a version's decisions keep of the citizen: its declared inputs, else the variables it reads,
    else (a dotted name) the whole citizen."""
    if live.inputs is not None:
        return live.inputs
    return None if live.columns.names is None else tuple(sorted(live.columns.names))


# Arrow IPC is written in its stream format: the file format goes through polars' streaming engine, which
# costs ten times more for a small batch. Rows written before kept the file format, which begins with
# ARROW1; a stream begins with a continuation marker, and a zlib stream (the JSON inputs) with neither.
_IPC_FILE = b"ARROW1"
_IPC_STREAM = b"\xff\xff\xff\xff"
# Below this many decisions in a group, its inputs are quicker to write as JSON than as columns.
INPUT_COLUMNS_FROM = 1_000


def _ipc(frame: pl.DataFrame) -> bytes:
    return frame.write_ipc_stream(None, compression="zstd").getvalue()


def _read_ipc(stored: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(stored)) if stored.startswith(_IPC_FILE) else pl.read_ipc_stream(io.BytesIO(stored))


def batches(served: Iterable[Served]) -> list[DecisionBatch]:
    """The rows of the decision log for these decisions: one per version and environment.

    The decisions are Arrow IPC columns; so are the inputs when each is one typed column over the group's
    citizens (as a batch's are), else one JSON array (a row's object at its row's index), compressed:
    written once per batch, where a JSON text per row would cost a call per decision."""
    groups: dict[tuple[str, int], list[Served]] = defaultdict(list)
    for one in served:
        groups[(one.live.environment, one.live.version_id)].append(one)
    hashed = settings.PDP_DECISION_LOG_HASH_ACCOUNTS
    key = account_key() if hashed else None
    rows = []
    for group in groups.values():
        group.sort(key=lambda one: one.at)
        live = group[0].live
        decisions = _decisions(group, key)
        rows.append(
            DecisionBatch(
                rule_id=live.rule_id,
                version_id=live.version_id,
                environment=live.environment,
                content_hash=live.content_hash,
                first_at=datetime.fromtimestamp(group[0].at, UTC),
                last_at=datetime.fromtimestamp(group[-1].at, UTC),
                count=decisions.height,
                eligible_count=int(decisions["eligible"].sum()),
                decisions=_ipc(decisions),
                inputs=_inputs(_input_names(live), group),
                accounts_hashed=hashed,
                writer=WRITER,
            )
        )
    return rows


def _decisions(group: list[Served], key: bytes | None) -> pl.DataFrame:
    """The group's decisions as columns (accounts hashed with `key` when it is given). A column with one value
    per Served is built from those few values: polars converts each Python value it is given, which for ten
    thousand rows costs more than writing them."""
    rows_of = [len(one) for one in group]
    accounts = (
        [one.accounts for one in group]
        if key is None
        else [[hash_account(a, key) for a in one.accounts] for one in group]
    )
    return pl.DataFrame(
        [
            _runs("at", [round(one.at * 1_000_000) for one in group], rows_of, pl.Int64).cast(DECISION_SCHEMA["at"]),
            _runs("on", [one.on for one in group], rows_of),
            _runs("request_id", [one.request_id for one in group], rows_of),
            _joined("account", accounts),
            _joined("test_account", [one.test_accounts for one in group]),
            _runs("in_force", [one.in_force for one in group], rows_of),
            _joined("eligible", [one.eligible for one in group]),
            _joined("amount", [one.amount for one in group]),
            _errors(group),
        ]
    )


def _runs(name: str, values: list[Any], rows_of: list[int], dtype: Any = None) -> pl.Series:
    """values[i] repeated rows_of[i] times."""
    each = pl.Series(name, values, dtype=dtype or DECISION_SCHEMA[name])
    return each if max(rows_of) == 1 else each.gather(np.repeat(np.arange(len(values)), rows_of))


def _joined(name: str, lists: list[list[Any]]) -> pl.Series:
    return pl.Series(
        name, lists[0] if len(lists) == 1 else list(chain.from_iterable(lists)), dtype=DECISION_SCHEMA[name]
    )


def _errors(group: list[Served]) -> pl.Series:
    errors = list(chain.from_iterable(one.errors for one in group))
    if errors.count(None) == len(errors):  # as nearly always: a column of nulls, without reading each
        return pl.repeat(None, len(errors), dtype=DECISION_SCHEMA["error"], eager=True).alias("error")
    return pl.Series("error", errors, dtype=DECISION_SCHEMA["error"])


def _inputs(names: tuple[str, ...] | None, group: list[Served]) -> bytes:
    """The group's inputs as stored: Arrow IPC when every name is one typed column over its citizens (those
    no citizen has left out), else compressed JSON (pack_inputs)."""
    if names and sum(map(len, group)) >= INPUT_COLUMNS_FROM:
        columns = group[0].columns if len(group) == 1 else None
        if columns is None:
            columns = Columns([citizen for one in group for citizen in one.citizens])
        frame = columns.frame(names)
        if frame is not None and frame.width:
            return _ipc(frame)
    rows: list[Any] = []
    for one in group:
        rows.extend(_project(names, one.citizens))
    return pack_inputs(names, rows)


def _project(names: tuple[str, ...] | None, citizens: Sequence[dict[str, Any]]) -> Sequence[Any]:
    """Each citizen's values of `names`: a list in their order when the citizen has them all (most do: one
    C-level lookup per citizen), else an object of those it has; the whole citizen when names is None."""
    if names is None:
        return citizens
    if not names:
        return [[]] * len(citizens)  # the same empty list each time: it is only written
    getter = itemgetter(*names)
    try:
        return [getter(c) for c in citizens] if len(names) > 1 else [[getter(c)] for c in citizens]
    except KeyError:
        return [{name: c[name] for name in names if name in c} for c in citizens]


def pack_inputs(names: tuple[str, ...] | None, rows: list[Any]) -> bytes:
    """A batch's inputs as stored: each row a list of `names`' values, or an object; compressed JSON."""
    return zlib.compress(json.dumps({"names": names, "rows": rows}, separators=(",", ":")).encode(), 1)


def read_inputs(batch: DecisionBatch) -> list[dict[str, Any]] | None:
    """The inputs of a batch's decisions, as objects in row order; None once retention removed them."""
    if batch.inputs is None:
        return None
    stored = bytes(batch.inputs)
    if stored.startswith(_IPC_STREAM):
        return _read_ipc(stored).to_dicts()
    stored = json.loads(zlib.decompress(stored))
    names = stored["names"]
    return [row if isinstance(row, dict) else dict(zip(names, row, strict=True)) for row in stored["rows"]]


def read_decisions(batch: DecisionBatch) -> pl.DataFrame:
    """A batch's decisions, with their inputs as JSON text (keys sorted; null once removed) in column `inputs`."""
    frame = _read_ipc(bytes(batch.decisions))
    if "on" not in frame.columns:  # written before the day asked for was kept
        frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias("on"))
    inputs = read_inputs(batch)
    texts = (
        [None] * frame.height
        if inputs is None
        else [json.dumps(one, separators=(",", ":"), sort_keys=True) for one in inputs]
    )
    return frame.with_columns(pl.Series("inputs", texts, dtype=pl.String))


class Recorder:
    """Decisions waiting to be written, and the thread that writes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: deque[Served] = deque()
        self._count = 0  # decisions in _pending
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.written = 0

    # ---------------------------------------------------------------- the request path
    def record(self, served: list[Served]) -> None:
        for one in served:
            metrics.count_decisions(one.live.rule, one.live.number, one.live.environment, len(one))
        if not settings.PDP_DECISION_LOG or not served:
            return
        if settings.PDP_DECISION_LOG_MODE == "inline":
            DecisionBatch.objects.bulk_create(batches(served))
            self.written += sum(len(one) for one in served)
            return
        with self._lock:
            self._pending.extend(served)
            self._count += sum(len(one) for one in served)
            self._drop_over_limit()
            full = self._count >= settings.PDP_DECISION_LOG_FLUSH_ROWS
        self._ensure_thread()
        if full:
            self._wake.set()

    def _drop_over_limit(self) -> None:
        """Under self._lock: drop the oldest waiting decisions past PDP_DECISION_LOG_BUFFER."""
        dropped = 0
        while self._count > settings.PDP_DECISION_LOG_BUFFER and self._pending:
            oldest = self._pending.popleft()
            self._count -= len(oldest)
            dropped += len(oldest)
        if dropped:
            self.dropped += dropped
            metrics.count_dropped(dropped)
            logger.error("decision log: %d decisions dropped, the buffer of %d is full", dropped, self._count)

    # ---------------------------------------------------------------- the writer
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pdp-decision-log", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(settings.PDP_DECISION_LOG_FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # logged and kept by flush(); the next tick tries again
                time.sleep(settings.PDP_DECISION_LOG_FLUSH_SECONDS)
            metrics.set_decision_log_state(*self.state())
        connection.close()

    def flush(self) -> int:
        """Write everything waiting now. Raises, after putting it back, if the database refuses it."""
        with self._flush_lock:
            with self._lock:
                taken, count = list(self._pending), self._count
                self._pending.clear()
                self._count = 0
            if not taken:
                return 0
            try:
                connection.close_if_unusable_or_obsolete()
                with transaction.atomic():
                    DecisionBatch.objects.bulk_create(batches(taken))
            except Exception:
                logger.exception("decision log: %d decisions not written yet; they are kept and tried again", count)
                connection.close()
                with self._lock:
                    self._pending.extendleft(reversed(taken))
                    self._count += count
                    self._drop_over_limit()
                raise
            self.written += count
            return count

    def state(self) -> tuple[int, float]:
        """(decisions waiting, seconds the oldest has waited)."""
        with self._lock:
            oldest = self._pending[0].at if self._pending else None
            count = self._count
        return count, 0.0 if oldest is None else max(0.0, time.time() - oldest)

    def close(self) -> None:
        """Stop the thread and write what is left: a clean shutdown loses nothing."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            logger.error("decision log: %d decisions could not be written at shutdown", self._count)


RECORDER = Recorder()
at_exit(RECORDER.close)
