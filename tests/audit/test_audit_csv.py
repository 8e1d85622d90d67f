"""The audit CSV: every matching event, streamed, with cells a spreadsheet cannot run as formulas."""

import csv
import io
import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from accounts.services import STANDING_ACTIONS
from audit.services import current_ip, record_event
from audit.views import neutralise

EXPORT = reverse("audit-export")
HEADER = [
    "id",
    "created_at",
    "actor",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "target",
    "rule",
    "data",
    "ip",
    "prev_hash",
    "hash",
]


def read_csv(response):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == HEADER
    rows = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    return [row for row in rows if row["action"] not in STANDING_ACTIONS]  # not the test's people being made


def test_every_matching_event_not_just_a_page(client, drafter, release_manager):
    """120 matching events among 150: all 120 come out, in chain order, whatever page cursor is given."""
    wanted = [record_event("test.wanted", actor=drafter, data={"n": i}) for i in range(120)]
    for i in range(30):
        record_event("test.noise", actor=drafter, data={"n": i})
    client.force_login(release_manager)
    rows = read_csv(client.get(EXPORT, {"action": "test.wanted", "before": wanted[60].pk}))
    assert [int(r["id"]) for r in rows] == [e.pk for e in wanted]
    assert len(read_csv(client.get(EXPORT))) == 150


def test_columns_hold_the_stored_event(client, in_review, counsel, release_manager):
    """Each row carries the event as stored: ISO time, compact JSON data, address, and both hashes."""
    token = current_ip.set("198.51.100.7")
    try:
        event = record_event(
            "test.full", actor=counsel, target=in_review, data={"comment": "looks fine", "n": 2, "ok": True}
        )
    finally:
        current_ip.reset(token)
    client.force_login(release_manager)
    (row,) = read_csv(client.get(EXPORT, {"action": "test.full"}))
    assert row == {
        "id": str(event.pk),
        "created_at": event.created_at.isoformat(),
        "actor": "counsel",
        "action": "test.full",
        "outcome": "done",
        "target_type": "rules.ruleversion",
        "target_id": str(in_review.pk),
        "target": str(in_review),
        "rule": "wildfire-aid-2024",
        "data": '{"comment":"looks fine","n":2,"ok":true}',
        "ip": "198.51.100.7",
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def test_filters_apply_to_the_file(client, drafter, other_drafter, release_manager):
    """The export takes the page's filters: person and outcome here."""
    record_event("test.event", actor=drafter)
    refused = record_event("test.event", actor=drafter, outcome="refused", data={"reason": "no"})
    record_event("test.event", actor=other_drafter, outcome="refused", data={"reason": "no"})
    client.force_login(release_manager)
    rows = read_csv(client.get(EXPORT, {"person": "drafter", "outcome": "refused"}))
    assert [int(r["id"]) for r in rows] == [refused.pk]


def test_filename_is_stamped(client, release_manager):
    """The file is offered as audit-YYYYMMDD-HHMMSS.csv."""
    client.force_login(release_manager)
    response = client.get(EXPORT)
    assert re.fullmatch(r'attachment; filename="audit-\d{8}-\d{6}\.csv"', response["Content-Disposition"])
    assert read_csv(response) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("  =1+1", "'  =1+1"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, 42),
    ],
)
def test_neutralise(value, expected):
    """A cell that would start a formula, even after spaces, gets a leading quote; others are left alone."""
    assert neutralise(value) == expected


def test_formula_cells_come_out_quoted(client, counsel, release_manager):
    """Names, actions, targets, rules and reasons a spreadsheet would run come out prefixed with `'`."""
    plus, minus, at = (User.objects.create_user(name) for name in ("+1", "-1", "@SUM"))
    target = Group.objects.create(name='=HYPERLINK("http://evil.example","click")')
    record_event("test.event", actor=plus, data={"n": 1})
    record_event("test.event", actor=minus, rule_slug="-1")
    record_event('=HYPERLINK("x")', actor=at, target=target)
    record_event(
        "review.reject",
        actor=counsel,
        outcome="refused",
        data={"reason": '=HYPERLINK("x")', "comment": "@SUM(1)"},
    )
    client.force_login(release_manager)
    rows = read_csv(client.get(EXPORT))
    assert [r["actor"] for r in rows] == ["'+1", "'-1", "'@SUM", "counsel"]
    assert rows[1]["rule"] == "'-1"
    assert rows[2]["action"] == '\'=HYPERLINK("x")'
    assert rows[2]["target"] == '\'=HYPERLINK("http://evil.example","click")'
    # Data is one JSON object per cell: it starts with "{", so the text inside it cannot run.
    assert rows[3]["data"].startswith("{")
    assert json.loads(rows[3]["data"]) == {"reason": '=HYPERLINK("x")', "comment": "@SUM(1)"}
    # Nothing a spreadsheet reads starts a formula.
    for row in rows:
        for value in row.values():
            assert not value.lstrip().startswith(("=", "+", "-", "@")), row
