"""audit/models.py: on PostgreSQL the database itself refuses to change or remove audit events."""

import pytest
from django.db import ProgrammingError, connection, transaction

from audit.models import AuditEvent
from audit.services import record_event
from tests.conftest import require_postgres


@pytest.fixture
def event(db, drafter):
    return record_event("test.one", actor=drafter, data={"n": 1})


def test_update_is_refused_on_postgresql(event):
    """An ORM UPDATE and a raw SQL UPDATE of an audit event both raise."""
    require_postgres()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(data={"n": 2})
    with (
        pytest.raises(ProgrammingError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert (event.action, event.data) == ("test.one", {"n": 1})


def test_delete_is_refused_on_postgresql(event):
    """Deleting an audit event raises and the row stays."""
    require_postgres()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with (
        pytest.raises(ProgrammingError, match="Cannot update or delete"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_save_of_an_existing_event_is_refused_on_postgresql(event):
    """Even saving a loaded event again (an UPDATE) is refused."""
    require_postgres()
    event.action = "test.rewritten"
    with pytest.raises(ProgrammingError), transaction.atomic():
        event.save()


def test_truncate_is_refused_on_postgresql(event):
    """TRUNCATE, which removes rows without a DELETE, is refused too, and the events stay."""
    require_postgres()
    with (
        pytest.raises(ProgrammingError, match="Cannot truncate"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred check pending on the table
        cursor.execute("TRUNCATE audit_auditevent CASCADE")
    assert AuditEvent.objects.filter(pk=event.pk).exists()
