"""verify_audit finds each kind of tampering done directly in the database, behind the application.

Five kinds, each on a chain of six events, through the `verify_audit` command (which fails and names
the first event the break shows at) and `verify_chain`. Two kinds cannot be seen from the chain alone
and are in test_checkpoints.py: rows cut from its end, and a whole chain rehashed after an edit; the
checkpoints and the seals, signed with a key the database does not hold, show them.
"""

import pgtrigger
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent, hash_payload
from audit.services import record_event, verify_chain


def sql(statement, params=()):
    """Raw SQL on the audit table, past the append-only trigger on PostgreSQL (SQLite has none)."""
    with pgtrigger.ignore("audit.AuditEvent:audit_append_only"), connection.cursor() as cursor:
        cursor.execute(statement, params)


def changed_field(ids):
    sql("UPDATE audit_auditevent SET target_repr = 'v9' WHERE id = %s", [ids[2]])
    return ids[2]


def deleted_row(ids):
    sql("DELETE FROM audit_auditevent WHERE id = %s", [ids[2]])
    return ids[3]  # the event after the gap no longer links to the one before it


def swapped_order(ids):
    a, b = ids[2], ids[3]
    sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [-1, a])
    sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [a, b])
    sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [b, -1])
    return a


def inserted_row(ids):
    # Make room between two events (ids are not hashed, so this alone breaks nothing), then forge one
    # there that links correctly to the event before it and carries a correct hash of its own, but
    # not a true seal: that takes the audit key, which the database does not hold.
    for pk in reversed(ids):
        sql("UPDATE audit_auditevent SET id = %s WHERE id = %s", [pk * 10, pk])
    before = AuditEvent.objects.get(pk=ids[2] * 10)
    assert verify_chain()[1] == []  # renumbering is not tampering with what was recorded
    forged = AuditEvent(
        actor=None,
        actor_name="",
        action="deployment.promote",
        outcome="done",
        data={"forged": True},
        created_at=before.created_at,
        prev_hash=before.hash,
        target_repr="v9",
    )
    forged.hash = hash_payload(forged.payload())
    sql(
        "INSERT INTO audit_auditevent (id, actor_name, action, outcome, target_type, target_id, target_repr,"
        " rule_slug, data, created_at, prev_hash, hash, seal)"
        " VALUES (%s, '', %s, 'done', '', '', 'v9', '', %s, %s, %s, %s, %s)",
        [
            ids[2] * 10 + 5,
            forged.action,
            '{"forged": true}',
            forged.created_at,
            forged.prev_hash,
            forged.hash,
            "0" * 64,
        ],
    )
    return ids[2] * 10 + 5  # its hash is right and it links to the event before it, but its seal is not


def rehashed_row(ids):
    event = AuditEvent.objects.get(pk=ids[2])
    event.target_repr = "v9"
    sql(
        "UPDATE audit_auditevent SET target_repr = 'v9', hash = %s WHERE id = %s",
        [hash_payload(event.payload()), ids[2]],
    )
    return ids[2]  # its seal is of the hash it had


@pytest.mark.parametrize("tamper", [changed_field, deleted_row, swapped_order, inserted_row, rehashed_row])
def test_verify_audit_finds_the_tampering(db, tamper, capsys):
    ids = [record_event("test.event", actor=None, data={"n": n}).pk for n in range(6)]
    call_command("verify_audit")  # intact before
    assert "intact: 6 events" in capsys.readouterr().out

    broken_at = tamper(ids)

    count, problems = verify_chain()
    assert problems, f"{tamper.__name__} went unnoticed"
    assert problems[0].startswith(f"event #{broken_at}:")
    with pytest.raises(CommandError, match="Audit chain broken"):
        call_command("verify_audit")
    assert f"event #{broken_at}:" in capsys.readouterr().err
