"""The selected version's sign-offs say who decided what and when; a failed version shows its cause first."""

from django.urls import reverse

from reviews.services import approve_version, reject_version
from tests.conftest import EXAMPLES

SLUG = "wildfire-aid-2024"


def _page(client, user, slug=SLUG):
    client.force_login(user)
    return client.get(reverse("rule-detail", args=[slug])).content.decode()


def test_a_rejection_shows_who_when_and_why_and_ends_the_other_sign_off(client, in_review, counsel, drafter):
    reject_version(in_review, actor=counsel, expected_hash=in_review.content_hash, comment="Cites the wrong section.")
    page = _page(client, drafter)
    signoffs = page.split('class="usa-list pdp-signoffs"')[1].split("</ul>")[0]
    assert "Legal: <span" in signoffs and "rejected</span> by <strong>counsel</strong>" in signoffs
    assert "<q>Cites the wrong section.</q>" in signoffs
    assert "Budget: not needed: the review ended with the rejection" in signoffs
    assert "not yet" not in signoffs


def test_an_approval_names_its_reviewer_and_the_open_role_is_not_yet(client, in_review, counsel, drafter):
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash, comment="Fine by Legal.")
    signoffs = _page(client, drafter).split('class="usa-list pdp-signoffs"')[1].split("</ul>")[0]
    assert "approved</span> by <strong>counsel</strong>" in signoffs and "<q>Fine by Legal.</q>" in signoffs
    assert "Budget: not yet" in signoffs


def test_a_failed_version_shows_its_cause_and_next_step_first_and_no_sign_offs(client, push, drafter):
    version = push((EXAMPLES / "wildfire-aid-over-budget.json").read_bytes(), actor=drafter)
    assert version.status == "simulation_failed"
    page = _page(client, drafter, version.rule.slug)
    section = page.split('id="version-heading"')[1]
    assert section.index("Simulation failed: why v1 stopped") < section.index('id="document-heading"')
    assert "OVER_BUDGET" in section.split("What to do next")[0]
    assert "Lower the amount or narrow who is eligible" in section
    assert "pdp-signoffs" not in page
