"""What a serving process keeps between decisions, and the one query per request that keeps it true.

A process caches the live pointers with their compiled rules, the test accounts, the API tokens it has
seen and who may ask for decisions. All of it is tagged with the serving generation it was read at
(decisions.models.ServingGeneration). Every request reads the generation first, one indexed row; when it
has moved, the process reads everything again before it answers. So a promote or rollback committed
before a request arrives is what that request is decided by, on every process.
"""

import datetime
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import DEFAULT_DB_ALIAS, connections

from deployments.models import Environment, Release, TestAccount
from engine.batch import ColumnDecider
from engine.document import parse_canonical, validity, why_not_in_force
from engine.logic.evaluate import CompiledRule
from pdp_portal import permissions
from rules.models import RuleVersion
from tokens.models import ApiToken

from .models import ServingGeneration


@dataclass(frozen=True)
class LiveVersion:
    """A version live in one environment, compiled for both ways of deciding."""

    rule_id: int
    rule: str
    version_id: int
    number: int
    content_hash: str
    environment: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    inputs: tuple[str, ...] | None
    scalar: CompiledRule
    columns: ColumnDecider

    def not_in_force(self, on: datetime.date) -> str | None:
        """Why this version is not in force on `on`, or None when it is (both ends of its dates count)."""
        return why_not_in_force(self.valid_from, self.valid_to, on)


@dataclass
class Snapshot:
    """Everything a decision needs, as of one generation. Read-only once built, but for its two memos."""

    generation: int | None
    production: dict[int, LiveVersion]
    staging: dict[int, LiveVersion]
    test_accounts: frozenset[str]
    # Memos filled as requests arrive, each valid for this generation only.
    tokens: dict[str, ApiToken] = field(default_factory=dict)
    may_decide: dict[int, bool] = field(default_factory=dict)

    def rules_for(self, account_id: str) -> tuple[bool, list[LiveVersion]]:
        """(is a test account, the versions that decide it: staging where it is a test account and the
        rule has one, production otherwise), by rule slug."""
        is_test = account_id in self.test_accounts
        chosen = dict(self.production)
        if is_test:
            chosen.update(self.staging)
        return is_test, sorted(chosen.values(), key=lambda live: live.rule)

    def allows(self, user: User | AnonymousUser) -> bool:
        """permissions.can_request_decisions, remembered per person for this generation."""
        if not user.is_authenticated:
            return False
        key = user.pk
        if key not in self.may_decide:
            self.may_decide[key] = permissions.can_request_decisions(user)
        return self.may_decide[key]


_lock = threading.Lock()
_current: Snapshot | None = None
# Compiled versions outlive generations: a content hash names a version's content exactly.
_compiled: dict[tuple[int, str], tuple[CompiledRule, ColumnDecider, dict[str, Any]]] = {}


def _compile_missing(keys: set[tuple[int, str]]) -> None:
    """Compile the versions not compiled yet; only their documents are read, in one query."""
    missing = keys - set(_compiled)
    if not missing:
        return
    texts = RuleVersion.objects.filter(pk__in={pk for pk, _ in missing}).values_list("pk", "content_hash", "document")
    for pk, content_hash, text in texts:
        document = parse_canonical(text)
        scalar = CompiledRule.from_document(document)
        _compiled[(pk, content_hash)] = (scalar, ColumnDecider(document, scalar), document)


def _load(generation: int | None) -> Snapshot:
    by_environment: dict[str, dict[int, LiveVersion]] = {Environment.PRODUCTION: {}, Environment.STAGING: {}}
    pointers = list(
        Release.objects.filter(version__isnull=False).values_list(
            "rule_id", "rule__slug", "environment__name", "version_id", "version__number", "version__content_hash"
        )
    )
    _compile_missing({(version_id, content_hash) for *_, version_id, _, content_hash in pointers})
    live_keys = set()
    for rule_id, slug, environment, version_id, number, content_hash in pointers:
        scalar, columns, document = _compiled[(version_id, content_hash)]
        live_keys.add((version_id, content_hash))
        inputs = document.get("inputs")
        valid_from, valid_to = validity(document)
        by_environment.setdefault(environment, {})[rule_id] = LiveVersion(
            rule_id=rule_id,
            rule=slug,
            version_id=version_id,
            number=number,
            content_hash=content_hash,
            environment=environment,
            valid_from=valid_from,
            valid_to=valid_to,
            inputs=tuple(inputs) if isinstance(inputs, list) else None,
            scalar=scalar,
            columns=columns,
        )
    for key in set(_compiled) - live_keys:
        del _compiled[key]  # a version no longer live anywhere
    return Snapshot(
        generation=generation,
        production=by_environment[Environment.PRODUCTION],
        staging=by_environment[Environment.STAGING],
        test_accounts=frozenset(TestAccount.objects.values_list("account_id", flat=True)),
    )


_GENERATION_SQL = f"SELECT value FROM {ServingGeneration._meta.db_table} WHERE id = 1"
_statements = itertools.count(1)


def generation() -> int | None:
    """The serving generation now: one indexed row, read with no ORM in between (it is every request's query).

    On PostgreSQL, once the connection is open and checked, it is a statement prepared once per connection
    and run through libpq directly: under half the CPU of a query through a cursor, on both sides of the
    connection. Where queries are logged or wrapped (DEBUG, assertNumQueries) it goes through a cursor, so
    they see it."""
    db: Any = connections[DEFAULT_DB_ALIAS]
    if (
        db.vendor == "postgresql"
        and db.connection is not None
        and not (db.health_check_enabled and not db.health_check_done)
        and not db.queries_logged
        and not db.execute_wrappers
    ):
        return _generation_prepared(db)
    with db.cursor() as cursor:
        cursor.execute(_GENERATION_SQL)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _generation_prepared(db: Any) -> int | None:
    import psycopg
    from psycopg import pq
    from psycopg.errors import error_from_result

    try:
        pgconn = db.connection.pgconn
        prepared = getattr(db, "_pdp_generation_statement", None)
        if prepared is None or prepared[0] is not pgconn:
            # A new name each time: a statement that failed (and may or may not exist now) is never reused.
            prepared = (pgconn, b"pdp_serving_generation_%d" % next(_statements))
            result = pgconn.prepare(prepared[1], _GENERATION_SQL.encode())
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise error_from_result(result, encoding=db.connection.info.encoding)
            db._pdp_generation_statement = prepared
        result = pgconn.exec_prepared(prepared[1], None)
        if result.status != pq.ExecStatus.TUPLES_OK:
            raise error_from_result(result, encoding=db.connection.info.encoding)
    except psycopg.Error:
        db._pdp_generation_statement = None
        with db.wrap_database_errors:  # raised as Django's error, the connection marked as having failed
            raise
    value = result.get_value(0, 0) if result.ntuples else None
    return None if value is None else int(value)


def current() -> Snapshot:
    """The snapshot for this moment: the generation read now, everything else read again if it moved."""
    global _current
    now = generation()
    snapshot = _current
    if snapshot is not None and now is not None and snapshot.generation == now:
        return snapshot
    with _lock:
        if _current is not None and now is not None and _current.generation == now:
            return _current
        # Read after the generation: whatever is read here is at least as new as `now`.
        _current = _load(now)
        return _current


def for_request(request: Any) -> Snapshot:
    """The snapshot of one request, read once however often it is asked for."""
    snapshot = getattr(request, "_serving_snapshot", None)
    if snapshot is None:
        snapshot = current()
        request._serving_snapshot = snapshot
    return snapshot
