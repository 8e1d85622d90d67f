"""The portal's messages: USWDS alerts of their level, whose icon the alert draws, and no emoji in the text.

An emoji shows as an empty box where no font has it; `hms` keeps its own lines.
"""

import datetime
import re

from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from portal.templatetags.pdp_time import ago, lasted
from rules.models import RuleVersion
from tests.conftest import document

# Pictographs, dingbats, arrows with emoji forms and the variation selector that makes them emoji.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2190-\u21ff\u2b00-\u2bff\ufe0f]")


def alerts(response):
    """(level class, text) of each message alert on the page."""
    found = re.findall(
        r'<div class="usa-alert usa-alert--slim usa-alert--(\w+)"[^>]*>\s*<div class="usa-alert__body">'
        r'<p class="usa-alert__text">([^<]*)</p>',
        response.content.decode(),
    )
    assert found, "no message on the page"
    return found


def assert_plain(found):
    for level, text in found:
        assert not EMOJI.search(text), f"emoji in the {level} alert {text!r}"


def test_upload_approvals_promote_and_rollback_say_so_without_emoji(
    client, django_capture_on_commit_callbacks, drafter, counsel, budget_officer, release_manager
):
    """Every confirmation of the walkthrough in the portal is a success alert in words only."""
    client.force_login(drafter)
    with django_capture_on_commit_callbacks(execute=True):  # lint and simulation run, eagerly
        response = client.post(reverse("rule-upload"), {"text": document().decode()}, follow=True)
    assert_plain(alerts(response))
    slug, number = "wildfire-aid-2024", 1
    version = RuleVersion.objects.get()
    assert version.status == "in_review"
    for person, role in ((counsel, "legal"), (budget_officer, "budget")):
        client.force_login(person)
        data = {"expected_hash": version.content_hash, "role": role}
        response = client.post(reverse("version-approve", args=[slug, number]), data, follow=True)
        assert_plain(alerts(response))
    assert ("success", "Promoted to STAGING.") in alerts(response)
    client.force_login(release_manager)
    response = client.post(reverse("rule-promote", args=[slug]), follow=True)
    assert [level for level, _ in alerts(response)] == ["success"]
    assert_plain(alerts(response))
    data = {"environment": "production", "to": "previous", "reason": "Congress requested pause"}
    response = client.post(reverse("rule-rollback", args=[slug]), data, follow=True)
    assert_plain(alerts(response))
    assert "reverted from v1 to v0" in alerts(response)[0][1]


def test_each_level_is_its_uswds_alert():
    """A message's level picks the USWDS alert variant (its icon comes with it), also with extra tags."""
    template = Template('{% extends "base.html" %}')
    for level, expected in (
        (constants.SUCCESS, "success"),
        (constants.ERROR, "error"),
        (constants.WARNING, "warning"),
        (constants.INFO, "info"),
    ):
        message = Message(level, "Done.", extra_tags="extra")
        page = template.render(Context({"messages": [message], "user": None}))
        assert f'usa-alert--slim usa-alert--{expected}"' in page


NOW = timezone.make_aware(datetime.datetime(2026, 1, 2, 12, 0, 0))


def test_under_a_minute_is_just_now_not_zero_minutes():
    """A moment under a minute ago reads "just now" (or "less than a minute" for how long), never "0 minutes"."""
    for seconds in (0, 59):
        moment = NOW - datetime.timedelta(seconds=seconds)
        assert (ago(moment, NOW), lasted(moment, NOW)) == ("just now", "less than a minute")
    assert ago(NOW + datetime.timedelta(seconds=5), NOW) == "just now"  # clocks a little apart
    five = NOW - datetime.timedelta(minutes=5, seconds=3)
    assert (ago(five, NOW), lasted(five, NOW)) == ("5\xa0minutes ago", "5\xa0minutes")


def test_the_home_queue_says_just_now(client, in_review, drafter):
    """A version uploaded a moment ago is "just now" on the drafter's home, in this status "less than a minute"."""
    client.force_login(drafter)
    page = client.get(reverse("home")).content.decode()
    row = page.split("Wildfire-Aid-2024 v1")[1].split("</tr>")[0]
    assert ">just now</time>" in row
    assert "<td>less than a minute</td>" in row
    assert "0 minutes" not in page
