"""`hms rule schedule`, `hms rule schedules` and `hms rule unschedule`."""

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def staged(cli, people, wildfire_file):
    """The wildfire example pushed and approved through hms: live on staging."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve").code == 0


def _tomorrow():
    return (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)


def test_schedule_list_and_unschedule(cli, staged):
    """A release manager schedules v1 for production, sees it listed, and cancels it."""
    from deployments.models import ScheduledPromotion

    at = _tomorrow().astimezone().replace(tzinfo=None)  # no offset: this machine's zone
    args = ("rule", "schedule", "wildfire-aid-2024", "--version", "1", "--environment", "production")
    result = cli(*args, "--at", at.isoformat(), "--note", "New year", "--user", "release_manager")
    assert result.code == 0, result.err
    schedule = ScheduledPromotion.objects.get()
    assert schedule.at == at.astimezone(UTC)
    assert (schedule.note, schedule.created_by.username) == ("New year", "release_manager")
    shown = schedule.at.isoformat().replace("+00:00", "Z")  # as the API writes it
    assert result.lines == [f"🗓️  Scheduled v1 for PRODUCTION at {shown} (#{schedule.pk})"]

    result = cli("rule", "schedules", "wildfire-aid-2024", "--user", "counsel")
    assert result.code == 0, result.err
    assert result.lines == [f"#{schedule.pk}  v1 → production at {shown}  scheduled  (scheduled by release_manager)"]

    result = cli("rule", "unschedule", "wildfire-aid-2024", str(schedule.pk), "--user", "counsel")
    assert (result.code, "may not cancel" in result.err) == (1, True)
    args = ("rule", "unschedule", "wildfire-aid-2024", str(schedule.pk), "--reason", "Hold", "--json")
    result = cli(*args, "--user", "release_manager")
    assert result.code == 0, result.err
    assert (result.json["state"], result.json["outcome"]) == ("cancelled", "Cancelled by release_manager: Hold")
    schedule.refresh_from_db()
    assert schedule.state == "cancelled"


def test_bad_input_is_one_line_and_schedules_nothing(cli, staged):
    """A time that is not one is a usage error (exit 2); a past one or an unknown version is the portal's 400."""
    from deployments.models import ScheduledPromotion

    result = cli("rule", "schedule", "wildfire-aid-2024", "--at", "next tuesday", "--user", "release_manager")
    assert (result.code, len(result.err.splitlines())) == (2, 1)
    assert "is not a date and time" in result.err
    result = cli("rule", "schedule", "wildfire-aid-2024", "--at", "2020-01-01T00:00+00:00", "--user", "release_manager")
    assert result.code == 1
    assert "is not in the future" in result.err
    args = ("rule", "schedule", "wildfire-aid-2024", "--version", "9", "--at", _tomorrow().isoformat())
    result = cli(*args, "--user", "release_manager")
    assert result.code == 1
    assert "has no v9" in result.err
    result = cli("rule", "schedule", "wildfire-aid-2024", "--at", _tomorrow().isoformat(), "--user", "counsel")
    assert result.code == 1
    assert "403" in result.err and "may not schedule promotions" in result.err
    assert not ScheduledPromotion.objects.exists()
