"""reviews/services.py comment_on_version: a remark without a decision, audited; and the rule page's conversation."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reviews.models import ReviewComment
from reviews.services import COMMENT_MAX, comment_on_version, reject_version
from rules.models import VersionStatus
from tests.conftest import document

SLUG = "wildfire-aid-2024"


def test_a_comment_is_stored_and_audited_and_decides_nothing(in_review, counsel):
    comment = comment_on_version(in_review, actor=counsel, body="  Which section of the Act sets the age?  ")
    assert (comment.version, comment.author, comment.body) == (
        in_review,
        counsel,
        "Which section of the Act sets the age?",
    )
    in_review.refresh_from_db()
    assert in_review.status == VersionStatus.IN_REVIEW
    assert not in_review.reviews.exists()
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.outcome, event.actor, event.rule_slug) == ("review.comment", "done", counsel, SLUG)
    assert event.data == {"comment": comment.pk, "number": 1, "body": comment.body}


def test_a_drafter_may_answer_and_a_finished_version_may_still_be_discussed(in_production, drafter):
    comment = comment_on_version(in_production, actor=drafter, body="The age follows sec. 3(a).")
    assert comment.pk and in_production.status == VersionStatus.APPROVED


@pytest.mark.parametrize(
    ("who", "body", "message"),
    [
        ("counsel", "   ", "it is empty"),
        ("counsel", "x" * (COMMENT_MAX + 1), "at most 5,000"),
        ("outsider", "hello", "no role in the portal"),
    ],
)
def test_a_refused_comment_changes_nothing_and_is_recorded(request, in_review, who, body, message):
    actor = request.getfixturevalue(who)
    with pytest.raises(Exception) as refused:
        comment_on_version(in_review, actor=actor, body=body)
    assert message in str(refused.value)
    assert not ReviewComment.objects.exists()
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.outcome) == ("review.comment", "refused")


def test_the_rule_page_shows_the_conversation_and_posts_a_comment(client, in_review, counsel, drafter):
    client.force_login(counsel)
    response = client.post(reverse("version-comment", args=[SLUG, 1]), {"body": "Is the fire zone map the 2024 one?"})
    assert response.status_code == 302
    client.force_login(drafter)
    page = client.get(reverse("rule-detail", args=[SLUG])).content.decode()
    assert "Conversation on v1" in page
    assert "counsel</strong> commented" in page and "Is the fire zone map the 2024 one?" in page
    assert 'name="body"' in page


def test_an_empty_comment_from_the_page_is_refused_with_its_reason(client, in_review, counsel):
    client.force_login(counsel)
    response = client.post(reverse("version-comment", args=[SLUG, 1]), {"body": ""}, follow=True)
    assert "it is empty" in response.content.decode()
    assert not ReviewComment.objects.exists()


def test_a_version_pushed_after_a_rejection_shows_that_review_and_what_changed(client, in_review, push, counsel,
                                                                               drafter):  # fmt: skip
    reject_version(in_review, actor=counsel, expected_hash=in_review.content_hash, comment="The age must be 21.")
    comment_on_version(in_review, actor=drafter, body="Changing it now.")
    newer = push(document(eligibility={"and": [{">=": [{"var": "age"}, 21]}, {"==": [{"var": "in_fire_zone"}, True]},
                                               {"==": [{"var": "home_damaged"}, True]}]}), actor=drafter)  # fmt: skip
    client.force_login(counsel)
    page = client.get(reverse("rule-detail", args=[SLUG]) + f"?v={newer.number}").content.decode()
    assert "The version before, <a" in page and "was rejected" in page
    assert "The age must be 21." in page and "Changing it now." in page
    assert "minimum age" in page and '<ins class="pdp-changes__new">21</ins>' in page
    assert reverse("rule-compare", args=[SLUG]) + "?from=1&amp;to=2" in page
