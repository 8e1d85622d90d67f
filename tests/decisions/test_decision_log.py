"""The decision log: what each decision leaves, the writer thread, and retention."""

from datetime import timedelta

import polars as pl
import pytest
from django.db import OperationalError
from django.utils import timezone

from audit.models import AuditEvent
from decisions import recorder as recorder_module
from decisions.models import DecisionBatch
from decisions.recorder import Recorder, hash_account, read_decisions
from decisions.services import purge_decision_log

IN_FORCE = "2025-01-15"
CITIZEN = {"age": 40, "in_fire_zone": True, "home_damaged": True, "shoe_size": 44}


def ask(client, account_id="acct-1", **headers):
    body = {"account_id": account_id, "citizen": CITIZEN, "date": IN_FORCE}
    return client.post("/api/v1/decisions", body, format="json", **headers)


def rows():
    frames = [read_decisions(batch) for batch in DecisionBatch.objects.order_by("id")]
    return pl.concat(frames).to_dicts() if frames else []


def test_a_decision_is_recorded_with_what_it_used(in_production, client):
    response = ask(client, HTTP_X_REQUEST_ID="req-42")
    assert response["X-Request-ID"] == "req-42"
    assert response.json()["request_id"] == "req-42"
    batch = DecisionBatch.objects.get()
    assert (batch.rule_id, batch.version_id, batch.environment) == (
        in_production.rule_id,
        in_production.pk,
        "production",
    )
    assert (batch.content_hash, batch.count, batch.eligible_count) == (in_production.content_hash, 1, 1)
    (row,) = rows()
    assert row["request_id"] == "req-42"
    assert row["on"].isoformat() == IN_FORCE  # the day the decision was asked for
    assert row["account"] == "acct-1"
    assert (row["in_force"], row["eligible"], row["amount"], row["error"], row["test_account"]) == (
        True,
        True,
        5000.0,
        None,
        False,
    )
    # Only the inputs the rule declares, not everything the caller sent.
    assert row["inputs"] == '{"age":40,"home_damaged":true,"in_fire_zone":true}'


def test_a_citizen_without_every_input_keeps_those_it_has(in_production, client):
    items = [
        {"account_id": "full", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": False}},
        {"account_id": "partial", "citizen": {"age": 40, "extra": 1}},
    ]
    client.post("/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json")
    assert [row["inputs"] for row in rows()] == ['{"age":40,"home_damaged":false,"in_fire_zone":true}', '{"age":40}']


def test_a_request_without_a_sensible_id_gets_one(in_production, client):
    response = ask(client, HTTP_X_REQUEST_ID="no spaces allowed")
    given = response.json()["request_id"]
    assert given != "no spaces allowed" and len(given) == 32
    assert rows()[0]["request_id"] == given


def test_account_ids_can_be_kept_as_keyed_hashes(in_production, client, settings):
    settings.PDP_DECISION_LOG_HASH_ACCOUNTS = True
    settings.PDP_DECISION_LOG_ACCOUNT_KEY = "k" * 32
    ask(client, "acct-7")
    (row,) = rows()
    assert row["account"] == hash_account("acct-7", b"k" * 32)
    assert "acct-7" not in row["account"]
    assert DecisionBatch.objects.get().accounts_hashed


def test_decisions_that_are_not_in_force_or_fail_are_recorded_as_such(in_production, client):
    client.post("/api/v1/decisions", {"account_id": "a", "citizen": CITIZEN, "date": "2030-01-01"}, format="json")
    bad = {"age": "forty", "in_fire_zone": True, "home_damaged": True}
    client.post("/api/v1/decisions", {"account_id": "b", "citizen": bad, "date": IN_FORCE}, format="json")
    late, failed = rows()
    assert (late["in_force"], late["eligible"], late["amount"]) == (False, None, None)
    assert failed["in_force"] is True and failed["eligible"] is None and failed["error"]


def test_the_log_can_be_turned_off(in_production, client, settings):
    settings.PDP_DECISION_LOG = False
    assert ask(client).status_code == 200
    assert not DecisionBatch.objects.exists()


# ------------------------------------------------------------------------------- the writer thread


@pytest.fixture
def threaded(settings):
    settings.PDP_DECISION_LOG_MODE = "thread"
    settings.PDP_DECISION_LOG_FLUSH_SECONDS = 0.05
    writer = Recorder()
    yield writer
    writer.close()


def served(live_version, n, at=None):
    from decisions.recorder import Served
    from decisions.serving import current

    snapshot = current()
    live = snapshot.production[live_version.rule_id]
    now = at or timezone.now().timestamp()
    return Served(
        live=live,
        at=now,
        on=timezone.localdate(),
        request_id="r",
        accounts=[f"a{i}" for i in range(n)],
        test_accounts=[False] * n,
        in_force=True,
        eligible=[True] * n,
        amount=[5000.0] * n,
        errors=[None] * n,
        citizens=[CITIZEN] * n,
    )


@pytest.mark.django_db(transaction=True)
def test_the_thread_writes_what_requests_hand_it(in_production, threaded):
    threaded.record([served(in_production, 3)])
    assert threaded.state()[0] in (0, 3)  # written already, or waiting for the next tick
    deadline = timezone.now() + timedelta(seconds=10)
    while DecisionBatch.objects.count() == 0 and timezone.now() < deadline:
        pass
    assert sum(DecisionBatch.objects.values_list("count", flat=True)) == 3
    assert threaded.state() == (0, 0.0)


@pytest.mark.django_db(transaction=True)
def test_a_clean_stop_writes_everything_waiting(in_production, settings):
    settings.PDP_DECISION_LOG_MODE = "thread"
    settings.PDP_DECISION_LOG_FLUSH_SECONDS = 3600  # the thread would wait an hour
    writer = Recorder()
    writer.record([served(in_production, 5), served(in_production, 2)])
    assert writer.state()[0] == 7
    assert DecisionBatch.objects.count() == 0
    writer.close()
    assert sum(DecisionBatch.objects.values_list("count", flat=True)) == 7


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_keeps_decisions_then_drops_the_oldest_past_the_buffer(
    in_production, settings, monkeypatch
):
    settings.PDP_DECISION_LOG_MODE = "thread"
    settings.PDP_DECISION_LOG_FLUSH_SECONDS = 3600
    settings.PDP_DECISION_LOG_BUFFER = 10
    writer = Recorder()
    real = recorder_module.batches

    def refuse(served):
        raise OperationalError("the database is down")

    monkeypatch.setattr(recorder_module, "batches", refuse)
    writer.record([served(in_production, 6)])
    with pytest.raises(OperationalError):
        writer.flush()
    assert writer.state()[0] == 6  # kept, not lost
    writer.record([served(in_production, 6)])  # 12 > 10: the oldest 6 go
    assert writer.state()[0] == 6 and writer.dropped == 6
    monkeypatch.setattr(recorder_module, "batches", real)
    assert writer.flush() == 6
    writer.close()
    assert sum(DecisionBatch.objects.values_list("count", flat=True)) == 6


# ------------------------------------------------------------------------------------ retention


def test_retention_removes_inputs_then_decisions_and_says_so(in_production, client, settings):
    ask(client)
    ask(client)
    now = timezone.now()
    old, older = DecisionBatch.objects.order_by("id")
    DecisionBatch.objects.filter(pk=old.pk).update(last_at=now - timedelta(days=100))
    DecisionBatch.objects.filter(pk=older.pk).update(last_at=now - timedelta(days=500))
    before = AuditEvent.objects.count()
    result = purge_decision_log(now=now)
    assert result == {"decisions_removed": 1, "batches_removed": 1, "inputs_removed": 1}
    kept = DecisionBatch.objects.get()
    assert kept.pk == old.pk and kept.inputs is None
    assert read_decisions(kept)["inputs"].to_list() == [None]
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event.action == "decision_log.purge"
    assert event.data["decisions_removed"] == 1 and event.data["inputs_removed"] == 1
    # Nothing more to remove: no second event.
    assert purge_decision_log(now=now) == {"decisions_removed": 0, "batches_removed": 0, "inputs_removed": 0}
    assert AuditEvent.objects.count() == before + 1


def _figure(text, name, **labels):
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}}" if labels else f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_decisions_are_counted_in_the_metrics_by_rule_version_and_environment(in_production, client, settings):
    from django.test import Client

    labels = {"rule": in_production.rule.slug, "version": "1", "environment": "production"}
    before = _figure(Client().get("/metrics").content.decode(), "pdp_decisions_total", **labels)
    for _ in range(3):
        ask(client)
    client.post(
        "/api/v1/decisions/batch",
        {"citizens": [{"account_id": f"b{i}", "citizen": CITIZEN} for i in range(5)]},
        format="json",
    )
    after = _figure(Client().get("/metrics").content.decode(), "pdp_decisions_total", **labels)
    assert after - before == 8


@pytest.mark.django_db(transaction=True)
def test_the_writer_reports_its_backlog_and_drops_to_the_metrics(in_production, settings, monkeypatch):
    from operations import metrics

    settings.PDP_DECISION_LOG_MODE = "thread"
    settings.PDP_DECISION_LOG_FLUSH_SECONDS = 3600
    settings.PDP_DECISION_LOG_BUFFER = 4
    writer = Recorder()
    dropped_before = metrics.DECISION_LOG_DROPPED._value.get()
    writer.record([served(in_production, 3), served(in_production, 3)])
    assert metrics.DECISION_LOG_DROPPED._value.get() - dropped_before == 3
    writer.close()


def test_rows_written_in_the_earlier_forms_read_the_same(in_production, client):
    """Decisions kept as an Arrow IPC file and inputs as compressed JSON (as rows written before were) read
    exactly as the stream and columns written now."""
    import io

    from decisions.recorder import INPUT_COLUMNS_FROM, pack_inputs

    items = [{"account_id": f"a{i}", "citizen": {**CITIZEN, "age": i % 90}} for i in range(INPUT_COLUMNS_FROM)]
    client.post("/api/v1/decisions/batch", {"citizens": items, "date": IN_FORCE}, format="json")
    batch = DecisionBatch.objects.get()
    now = read_decisions(batch)
    before = io.BytesIO()
    pl.read_ipc_stream(io.BytesIO(bytes(batch.decisions))).write_ipc(before)
    names = ("age", "in_fire_zone", "home_damaged")
    batch.decisions = before.getvalue()
    batch.inputs = pack_inputs(names, [[item["citizen"][name] for name in names] for item in items])
    batch.save(update_fields=["decisions", "inputs"])
    batch.refresh_from_db()
    assert bytes(batch.decisions).startswith(b"ARROW1")
    assert read_decisions(batch).equals(now)
