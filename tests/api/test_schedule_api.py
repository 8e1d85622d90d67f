"""/api/v1/rules/<slug>/schedules/: schedule, list and cancel promotions over the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import ScheduledPromotion
from deployments.services import schedule_promotion
from tests.api.support import assert_error_body, state
from tests.conftest import last_event

SCHEDULES = "/api/v1/rules/wildfire-aid-2024/schedules/"


def _in(hours):
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_a_release_manager_schedules_a_promotion(api, on_staging, release_manager):
    """201 with the scheduled promotion; the list shows it; no pointer moved."""
    before = state()["releases"]
    at = _in(2)
    response = api(release_manager).post(SCHEDULES, {"at": at, "note": "New year"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["label"], body["environment"], body["state"], body["scheduled_by"]) == (
        1, "v1", "production", "scheduled", "release_manager",
    )  # fmt: skip
    assert body["note"] == "New year"
    assert timezone.datetime.fromisoformat(body["at"]) == timezone.datetime.fromisoformat(at)
    assert state()["releases"] == before
    listed = api(release_manager).get(SCHEDULES).json()["schedules"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert last_event("release.schedule").data["schedule"] == body["id"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"at": "2020-01-01T00:00:00+00:00"}, "at"),
        ({"at": "next tuesday"}, "at"),
        ({"at": "2027-02-30T00:00"}, "at"),
        ({"at": 1798761600}, "at"),
        ({}, "at"),
        ({"at": "FUTURE", "version": "١"}, "version"),
        ({"at": "FUTURE", "version": 9}, "version"),
        ({"at": "FUTURE", "environment": "moon"}, "environment"),
    ],
)
def test_hostile_input_is_a_400_that_changes_nothing(api, on_staging, release_manager, payload, field):
    """Past time, bad date, unknown version or environment: 400 naming the field; nothing scheduled."""
    payload = {key: _in(2) if value == "FUTURE" else value for key, value in payload.items()}
    before = state()
    response = api(release_manager).post(SCHEDULES, payload, format="json")
    error = assert_error_body(response, 400)
    assert field in str(error.get("details", "")), error
    assert state() == before


def test_scheduling_what_cannot_be_promoted_is_a_409(api, in_production, release_manager):
    """The version production serves already cannot be scheduled there: the promote service's reason."""
    before = state()
    response = api(release_manager).post(SCHEDULES, {"at": _in(2)}, format="json")
    error = assert_error_body(response, 409, "invalid_state")
    assert error["message"] == "Wildfire-Aid-2024 v1 is already live in production."
    assert state() == before


def test_cancel_over_the_api(api, on_staging, release_manager):
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=timezone.now() + timedelta(hours=2))
    url = f"{SCHEDULES}{schedule.pk}/cancel/"
    response = api(release_manager).post(url, {"reason": "Hold"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["cancelled_by"]) == ("cancelled", "release_manager")
    assert_error_body(api(release_manager).post(url, {}, format="json"), 409, "invalid_state")
    assert_error_body(api(release_manager).post(f"{SCHEDULES}999999/cancel/", {}, format="json"), 404)


def test_counsel_reads_but_may_not_schedule_or_cancel(api, on_staging, release_manager, counsel):
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=timezone.now() + timedelta(hours=2))
    client = api(counsel)
    assert client.get(SCHEDULES).status_code == 200
    error = assert_error_body(client.post(SCHEDULES, {"at": _in(3)}, format="json"), 403, "forbidden")
    assert error["message"] == "You may not schedule promotions; this takes the release manager role."
    assert_error_body(client.post(f"{SCHEDULES}{schedule.pk}/cancel/", {}, format="json"), 403, "forbidden")
    schedule.refresh_from_db()
    assert schedule.state == ScheduledPromotion.State.SCHEDULED


LIST_QUERIES = 5  # token and user, the person's groups, the rule, the schedules with who and what


def test_the_list_takes_as_many_queries_for_thirteen_as_for_three(
    api, on_staging, release_manager, django_assert_max_num_queries
):
    """Listing 3 and 13 schedules takes the same queries (past ones made directly; one waits at a time)."""

    def make(count):
        for index in range(count):
            ScheduledPromotion.objects.create(
                rule=on_staging.rule, version=on_staging, environment_id=on_staging.releases.first().environment_id,
                at=timezone.now() + timedelta(days=index), created_by=release_manager,
                state=ScheduledPromotion.State.CANCELLED, cancelled_by=release_manager,
            )  # fmt: skip

    client = api(release_manager)
    make(3)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(client.get(SCHEDULES).json()["schedules"]) == 3
    make(10)
    with django_assert_max_num_queries(LIST_QUERIES):
        assert len(client.get(SCHEDULES).json()["schedules"]) == 13
