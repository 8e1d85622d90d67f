"""Scheduling and cancelling promotions in the portal: the promote dialog, the rule page and the board."""

import html
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from deployments.models import Environment, ScheduledPromotion
from deployments.services import schedule_promotion
from tests.conftest import document, last_event
from tests.portal.test_board import BOARD, point, push_queued, rows


def page_of(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _local(hours):
    """A time as the browser's datetime-local control sends it, in the portal's time zone."""
    return f"{timezone.localtime(timezone.now() + timedelta(hours=hours)):%Y-%m-%dT%H:%M}"


def test_the_promote_dialog_offers_now_or_a_time_prefilled_with_valid_from(
    client, push, drafter, counsel, budget_officer, release_manager
):
    """valid_from in the future is offered at 00:00 in the portal's time zone, the zone named."""
    from tests.conftest import approve_by_both

    version = push(document(valid_from="2031-07-01", valid_to="2032-06-30"), actor=drafter)
    approve_by_both(version, counsel, budget_officer)
    page = page_of(client, release_manager, reverse("rule-detail", args=[version.rule.slug]))
    assert 'type="datetime-local" id="promote-modal-at" name="at" value="2031-07-01T00:00" form="promote-form"' in page
    assert "(date and time, UTC)" in page
    assert ">Promote to production</button>" in page  # now
    assert f'formaction="{reverse("rule-schedule", args=[version.rule.slug])}"' in page
    assert ">Schedule for that time</button>" in page


def test_a_past_valid_from_is_not_offered(client, on_staging, release_manager):
    """The example's valid_from (2024-09-01) is past: the time is left for the person to choose."""
    page = page_of(client, release_manager, reverse("rule-detail", args=[on_staging.rule.slug]))
    assert 'id="promote-modal-at" name="at" value=""' in page


def test_scheduling_from_the_rule_page(client, on_staging, release_manager):
    """The dialog's Schedule button posts the time; the page then lists it with who, when (zone named) and Cancel."""
    client.force_login(release_manager)
    url = reverse("rule-schedule", args=[on_staging.rule.slug])
    at = _local(3)
    response = client.post(url, {"environment": "production", "version": 1, "at": at, "note": "Start"}, follow=True)
    assert response.status_code == 200
    schedule = ScheduledPromotion.objects.get()
    assert (schedule.version, schedule.note, schedule.created_by) == (on_staging, "Start", release_manager)
    assert f"{timezone.localtime(schedule.at):%Y-%m-%dT%H:%M}" == at
    page = html.unescape(response.content.decode())
    shown = f"{at.replace('T', ' ')} UTC"
    assert f"Wildfire-Aid-2024 v1 is scheduled for production at {shown}" in page
    assert f"<strong>v1</strong> to production at <strong>{shown}</strong>, scheduled by release_manager" in page
    assert 'aria-controls="cancel-schedule-modal"' in page and 'id="cancel-schedule-modal"' in page
    assert last_event("release.schedule").actor == release_manager


@pytest.mark.parametrize(
    "at, message",
    [
        ("", "Choose the date and time to promote at."),
        ("not a date", "Enter a date and time."),
        ("2020-01-01T00:00", "is not in the future"),
    ],
)
def test_a_bad_time_is_said_and_schedules_nothing(client, on_staging, release_manager, at, message):
    client.force_login(release_manager)
    url = reverse("rule-schedule", args=[on_staging.rule.slug])
    response = client.post(url, {"at": at}, follow=True)
    assert message in html.unescape(response.content.decode())
    assert not ScheduledPromotion.objects.exists()


def test_cancel_from_the_rule_page(client, on_staging, release_manager):
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=timezone.now() + timedelta(hours=2))
    client.force_login(release_manager)
    url = reverse("rule-schedule-cancel", args=[on_staging.rule.slug, schedule.pk])
    response = client.post(url, follow=True)
    assert "is cancelled." in html.unescape(response.content.decode())
    schedule.refresh_from_db()
    assert (schedule.state, schedule.cancelled_by) == ("cancelled", release_manager)
    assert client.post(reverse("rule-schedule-cancel", args=[on_staging.rule.slug, 999999])).status_code == 404


def test_who_may_not_schedule_sees_no_cancel_and_is_refused(client, on_staging, release_manager, counsel):
    """Counsel sees the scheduled promotion but no Cancel; posting anyway is a 403 and changes nothing."""
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=timezone.now() + timedelta(hours=2))
    page = page_of(client, counsel, reverse("rule-detail", args=[on_staging.rule.slug]))
    assert "scheduled by release_manager" in page
    assert "cancel-schedule-" not in page
    assert client.post(reverse("rule-schedule-cancel", args=[on_staging.rule.slug, schedule.pk])).status_code == 403
    assert client.post(reverse("rule-schedule", args=[on_staging.rule.slug]), {"at": _local(5)}).status_code == 403
    schedule.refresh_from_db()
    assert schedule.state == "scheduled"
    assert ScheduledPromotion.objects.count() == 1


def test_the_board_lists_scheduled_promotions_with_cancel(client, on_staging, release_manager):
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=timezone.now() + timedelta(hours=2))
    page = page_of(client, release_manager, BOARD)
    row = rows(page)["Wildfire-Aid-2024"]
    assert "scheduled by release_manager" in row
    assert f'id="cancel-schedule-{schedule.pk}"' in row and 'name="back" value="board"' in row
    assert page.count('id="cancel-schedule-modal"') == 1


def test_the_board_query_count_does_not_grow_with_scheduled_promotions(
    client, django_assert_num_queries, drafter, release_manager
):
    """The board with 3 and 13 rules each with a promotion scheduled makes the same queries."""
    production = Environment.objects.get(name=Environment.PRODUCTION)

    def add(start, count):
        for i in range(start, start + count):
            version = push_queued(drafter, f"sched-{i:03d}")
            point(version, Environment.STAGING)
            ScheduledPromotion.objects.create(
                rule=version.rule, version=version, environment=production, created_by=release_manager,
                at=timezone.now() + timedelta(days=1 + i),
            )  # fmt: skip

    client.force_login(release_manager)
    add(0, 3)
    client.get(BOARD)  # warm the per-process caches outside the count
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as baseline:
        client.get(BOARD)
    add(3, 10)
    with django_assert_num_queries(len(baseline)):
        response = client.get(BOARD)
    assert html.unescape(response.content.decode()).count("scheduled by release_manager") == 13
    assert settings.TIME_ZONE == "UTC"
