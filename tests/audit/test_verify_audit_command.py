"""audit/management/commands/verify_audit.py: exits non-zero when a stored event was altered."""

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from audit.services import record_event


@pytest.fixture
def history(db, drafter, counsel):
    record_event("test.one", actor=drafter, data={"n": 1})
    record_event("test.two", actor=counsel, data={"n": 2, "comment": "fine"})
    record_event("test.three", actor=None, data={"n": 3})
    return list(AuditEvent.objects.order_by("id"))


def tamper(sql, params):
    """Change stored events behind the application's back (past the trigger on PostgreSQL)."""
    with pgtrigger.ignore("audit.AuditEvent:audit_append_only"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_intact_chain_passes(history, capsys, settings, tmp_path):
    """On an untouched history the command succeeds, says how many events it checked, and that without a
    checkpoint a cut end would not show."""
    settings.PDP_AUDIT_CHECKPOINT_FILE = str(tmp_path / "none.jsonl")
    call_command("verify_audit")
    assert capsys.readouterr().out == (
        f"Audit chain intact: {len(history)} events verified; no checkpoint in {tmp_path / 'none.jsonl'}, "
        "so events cut from the end would not show; everyone's roles are on record.\n"
    )


def test_altered_data_fails(history, capsys):
    """Editing one event's data makes the command fail, naming the event."""
    target = history[1]
    tamper("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 2, "comment": "rewritten"}', target.pk])
    with pytest.raises(CommandError, match="1 problem"):
        call_command("verify_audit")
    assert f"event #{target.pk}: stored hash does not match its content" in capsys.readouterr().err


def test_altered_actor_name_fails(history):
    """Editing who did it is caught too."""
    tamper("UPDATE audit_auditevent SET actor_name = %s WHERE id = %s", ["someone_else", history[0].pk])
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_rehashed_event_breaks_the_link_after_it(history, capsys):
    """Rewriting an event and its hash consistently still breaks the next event's link."""
    target = history[1]
    target.data = {"n": 2, "comment": "rewritten"}
    new_hash = target.compute_hash()
    tamper(
        "UPDATE audit_auditevent SET data = %s, hash = %s WHERE id = %s",
        ['{"n": 2, "comment": "rewritten"}', new_hash, target.pk],
    )
    with pytest.raises(CommandError):
        call_command("verify_audit")
    assert f"event #{history[2].pk}: prev_hash does not match" in capsys.readouterr().err


def test_deleted_event_fails(history, capsys):
    """Removing an event from the middle breaks the chain at the next one."""
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [history[1].pk])
    with pytest.raises(CommandError):
        call_command("verify_audit")
    assert f"event #{history[2].pk}: prev_hash does not match" in capsys.readouterr().err


def test_an_empty_history_is_not_called_intact(db, capsys):
    """With no events the command says the history is empty, not that a chain is intact."""
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "empty" in out and "intact" not in out
