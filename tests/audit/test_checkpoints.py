"""Checkpoints and seals show what the chain alone cannot: a cut end, a forged append, a rehashed history.

Each tamper is done directly in the database, behind the application (past the append-only trigger on
PostgreSQL), by someone who can recompute every hash but does not hold the audit key.
"""

import json

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit import signing
from audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent, hash_payload
from audit.services import (
    CheckpointUnreadable,
    read_checkpoint_file,
    record_event,
    verify_against_checkpoint,
    verify_chain,
    write_checkpoint,
)
from audit.tasks import write_checkpoint_task


@pytest.fixture
def exported(settings, tmp_path):
    """The checkpoint file, outside the database."""
    settings.PDP_AUDIT_CHECKPOINT_FILE = str(tmp_path / "checkpoints.jsonl")
    return tmp_path / "checkpoints.jsonl"


@pytest.fixture
def history(db):
    return [record_event("test.event", actor=None, data={"n": n}).pk for n in range(6)]


def sql(statement, params=()):
    with pgtrigger.ignore("audit.AuditEvent:audit_append_only"), connection.cursor() as cursor:
        cursor.execute(statement, params)


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def rehash_from(first_id, *, edit):
    """Rewrite every event from `first_id` on with new hashes that chain correctly, as a forger would;
    the seals are left as they were (making new ones takes the key)."""
    prev = AuditEvent.objects.filter(id__lt=first_id).order_by("-id").values_list("hash", flat=True).first()
    prev = prev or GENESIS_HASH
    for event in AuditEvent.objects.filter(id__gte=first_id).order_by("id"):
        if event.pk == first_id:
            edit(event)
        event.prev_hash = prev
        event.hash = prev = hash_payload(event.payload())
        sql(
            "UPDATE audit_auditevent SET data = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(event.data), event.prev_hash, event.hash, event.pk],
        )


def test_a_checkpoint_signs_the_end_and_is_exported(history, exported):
    """write_checkpoint stores the last event, its hash and the count, signed, and appends the same line to the file."""
    checkpoint = write_checkpoint()
    last = AuditEvent.objects.get(pk=history[-1])
    assert (checkpoint.last_event_id, checkpoint.head_hash, checkpoint.events) == (last.pk, last.hash, 6)
    assert checkpoint.key_id == signing.key_id()
    (line,) = lines(exported)
    assert line == {**checkpoint.statement(), "signature": checkpoint.signature}
    assert signing.signature_matches(checkpoint.statement(), line["signature"])
    assert read_checkpoint_file(exported) == line


def test_no_new_checkpoint_without_new_events(history, exported):
    """Asked again with nothing appended, the latest checkpoint is returned and nothing is written; a new event
    makes a new one, and the file's latest line is the furthest."""
    first = write_checkpoint()
    assert write_checkpoint() == first
    assert AuditCheckpoint.objects.count() == 1 and len(lines(exported)) == 1
    record_event("test.event", actor=None)
    second = write_checkpoint()
    assert second.events == 7 and AuditCheckpoint.objects.count() == 2
    assert read_checkpoint_file(exported)["last_event"] == second.last_event_id


def test_an_empty_history_has_nothing_to_sign(db, exported):
    """No events: no checkpoint, no file."""
    assert write_checkpoint() is None
    assert not exported.exists()


def test_the_task_writes_a_checkpoint(history, exported, settings):
    """The task the beat runs writes through the service and answers the event it signed; it is scheduled."""
    assert write_checkpoint_task.delay().get() == history[-1]
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == write_checkpoint_task.name


def test_verify_audit_passes_against_the_checkpoint_and_counts_what_came_after(history, exported, capsys):
    """An untouched history matches its checkpoint; events written since are counted, not refused."""
    checkpoint = write_checkpoint()
    record_event("test.event", actor=None)
    call_command("verify_audit", checkpoint=str(exported))
    out = capsys.readouterr().out
    assert f"its end matches the checkpoint of {checkpoint.created_at.isoformat()}" in out
    assert f"at event #{checkpoint.last_event_id}, with 1 event(s) since" in out


def test_rows_cut_from_the_end_are_found(history, exported, capsys):
    """The last two events deleted: the chain alone is whole, the checkpoint says the history was cut."""
    write_checkpoint()
    sql("DELETE FROM audit_auditevent WHERE id >= %s", [history[-2]])
    assert verify_chain() == (4, [])  # what the chain alone cannot show
    with pytest.raises(CommandError, match="Audit chain broken"):
        call_command("verify_audit", checkpoint=str(exported))
    err = capsys.readouterr().err
    assert f"event #{history[-1]}, the last one the checkpoint of" in err and "the history was cut" in err
    assert "4 events up to" in err


def test_every_event_truncated_is_found(history, exported, capsys):
    """Even an emptied history fails against its checkpoint, instead of reading as empty."""
    write_checkpoint()
    sql("DELETE FROM audit_auditevent")
    with pytest.raises(CommandError, match="Audit chain broken"):
        call_command("verify_audit", checkpoint=str(exported))
    assert "the history was cut" in capsys.readouterr().err


def test_a_forged_append_with_a_right_hash_is_found(history, exported):
    """A row appended after the last, linked and hashed correctly: its seal cannot be right without the key."""
    write_checkpoint()
    last = AuditEvent.objects.get(pk=history[-1])
    forged = AuditEvent(
        action="release.promote", data={"forged": True}, created_at=last.created_at, prev_hash=last.hash
    )
    forged.hash = hash_payload(forged.payload())
    for seal in ["", "f" * 64, last.seal]:
        sql(
            "INSERT INTO audit_auditevent (actor_name, action, outcome, target_type, target_id, target_repr,"
            " rule_slug, data, created_at, prev_hash, hash, seal) VALUES ('', %s, 'done', '', '', '', '', %s, %s, %s, %s, %s)",
            [forged.action, '{"forged": true}', forged.created_at, forged.prev_hash, forged.hash, seal],
        )
        pk = AuditEvent.objects.get(hash=forged.hash).pk
        count, problems = verify_chain()
        assert problems == [f"event #{pk}: its seal is not the audit key's: it was written without the key"], seal
        sql("DELETE FROM audit_auditevent WHERE id = %s", [pk])


def test_a_history_rehashed_after_an_edit_is_found(history, exported, capsys):
    """An event edited and every hash after it recomputed: the seals and the checkpoint both show it."""
    write_checkpoint()
    rehash_from(history[2], edit=lambda event: event.data.update(n=99))
    count, problems = verify_chain()
    assert [p.split(":")[0] for p in problems] == [f"event #{pk}" for pk in history[2:]]
    since, against = verify_against_checkpoint(read_checkpoint_file(exported))
    assert against == [
        f"event #{history[-1]} is not the one the checkpoint of {AuditCheckpoint.objects.get().created_at.isoformat()}"
        " signed: the history was rewritten"
    ]


def test_a_rehash_with_the_seals_copied_still_fails_the_checkpoint(history, exported):
    """Even were every seal made again (with the key), the rewritten end is not the signed one."""
    write_checkpoint()
    rehash_from(history[1], edit=lambda event: event.data.update(n=42))
    for event in AuditEvent.objects.filter(id__gte=history[1]):
        sql("UPDATE audit_auditevent SET seal = %s WHERE id = %s", [signing.seal(event.hash), event.pk])
    assert verify_chain()[1] == []
    assert "the history was rewritten" in verify_against_checkpoint(read_checkpoint_file(exported))[1][0]


def test_an_altered_or_foreign_checkpoint_is_refused(history, exported, settings):
    """A checkpoint whose figures were changed, or that another key signed, is not trusted."""
    write_checkpoint()
    line = lines(exported)[0]
    since, problems = verify_against_checkpoint({**line, "events": 5})
    assert problems == [
        f"the checkpoint of {line['at']} does not carry the audit key's signature: it was altered or forged"
    ]
    settings.PDP_AUDIT_KEY = "another portal's key"
    since, problems = verify_against_checkpoint(line)
    assert problems == [
        f"the checkpoint of {line['at']} was signed with key {line['key_id']}, not this portal's audit key"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json\n", "line 1: not a checkpoint"),
        ('{"last_event": 1}\n', "line 1: a checkpoint has exactly"),
        ('\n{"last_event": "1", "head_hash": "", "events": 1, "at": "", "key_id": "", "signature": ""}\n', "line 2"),
    ],
    ids=["not-json", "missing-fields", "wrong-type"],
)
def test_an_unreadable_checkpoint_file_is_said_with_its_line(history, tmp_path, text, message):
    """verify_audit stops with the file and the line instead of verifying against nothing."""
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(CheckpointUnreadable, match=message):
        read_checkpoint_file(path)
    with pytest.raises(CommandError, match=message):
        call_command("verify_audit", checkpoint=str(path))


def test_a_missing_checkpoint_file_named_is_an_error(history, tmp_path):
    """A checkpoint file named but not there is an error, not a silent pass."""
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("verify_audit", checkpoint=str(tmp_path / "gone.jsonl"))


def test_the_audit_checkpoint_command(history, exported, capsys):
    """manage.py audit_checkpoint signs the end now and says where it went."""
    call_command("audit_checkpoint")
    out = capsys.readouterr().out
    assert f"Checkpoint at event #{history[-1]} (6 events), signed with key {signing.key_id()}" in out
    assert str(exported) in out


def test_the_panel_verification_checks_the_stored_checkpoint(history, exported, release_manager):
    """The audit page's Verify chain also checks the latest checkpoint the database holds."""
    from audit.services import request_chain_verification, run_chain_verification

    checkpoint = write_checkpoint()
    sql("DELETE FROM audit_auditevent WHERE id = %s", [checkpoint.last_event_id])
    verification = run_chain_verification(request_chain_verification(actor=release_manager).pk)
    assert verification.status == "failed"
    assert verify_chain()[1] == []  # the new event links to the one before the cut: the chain alone is whole
    assert any(
        f"event #{checkpoint.last_event_id}, the last one the checkpoint" in problem
        for problem in verification.problems
    ), verification.problems


@pytest.mark.django_db(transaction=True)
def test_the_migration_seals_the_events_written_before_seals():
    """Events written before seals existed are sealed when the seals come in, and the chain then verifies."""
    before, after = [("audit", "0004_refusal_tally")], MigrationExecutor(connection).loader.graph.leaf_nodes()
    MigrationExecutor(connection).migrate(before)
    executor = MigrationExecutor(connection)
    old = executor.loader.project_state(before).apps.get_model("audit", "AuditEvent")
    prev = GENESIS_HASH
    for n in range(3):
        event = AuditEvent(action="old.event", data={"n": n}, created_at=timezone.now(), prev_hash=prev)
        event.hash = prev = hash_payload(event.payload())
        old.objects.create(
            action=event.action,
            data=event.data,
            created_at=event.created_at,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )
    MigrationExecutor(connection).migrate(after)
    assert verify_chain() == (3, [])
    assert all(signing.seal_matches(e.hash, e.seal) for e in AuditEvent.objects.all())
