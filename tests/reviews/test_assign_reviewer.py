"""Assigning a named counsel or budget officer to a version: the service, the page's panel and the POST."""

import html
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from guardian.models import UserObjectPermission

from audit.models import RefusalTally
from audit.services import flush_refusal_tallies
from engine.errors import InvalidInput
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from reviews.models import ReviewAssignment
from reviews.services import approve_version, assign_reviewer, reject_version
from reviews.views import assign_panel
from tests.conftest import last_event, make_user, pipeline_events

RULE_PAGE = "http://127.0.0.1:8000/rules/wildfire-aid-2024/?v=1"


@pytest.fixture
def assign(django_capture_on_commit_callbacks):
    """Assign and run what waits for the commit (the e-mail), as a request would."""

    def _assign(version, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return assign_reviewer(version, **kwargs)

    return _assign


# ---------------------------------------------------------------------------------------------
# The service


def test_assignment_grants_the_sign_off_records_it_and_emails_the_reviewer(
    in_review, release_manager, second_counsel, assign, mailoutbox
):
    """The assigned person holds the sign-off on this version, the assignment is stored, one event, one e-mail."""
    events_before = pipeline_events().count()
    assignment = assign(in_review, actor=release_manager, reviewer=second_counsel, role="legal")

    assert (assignment.version, assignment.reviewer, assignment.role, assignment.assigned_by) == (
        in_review, second_counsel, "legal", release_manager,
    )  # fmt: skip
    assert UserObjectPermission.objects.filter(
        user=second_counsel, object_pk=str(in_review.pk), permission__codename="signoff_legal"
    ).exists()
    assert permissions.assigned_version_ids(second_counsel) == {in_review.pk}
    assert pipeline_events().count() == events_before + 1
    event = last_event("review.assign")
    assert (event.outcome, event.actor, event.target_id) == ("done", release_manager, str(in_review.pk))
    assert event.data == {"role": "legal", "reviewer": "counsel2", "emailed": True, "assignment": assignment.pk}

    [mail] = mailoutbox
    assert mail.to == ["counsel2@example.org"]
    assert mail.subject == "Review requested: Wildfire-Aid-2024 v1 (Legal)"
    assert "release_manager asked you to give the Legal sign-off on Wildfire-Aid-2024 v1" in mail.body
    assert RULE_PAGE in mail.body


def test_the_email_waits_for_the_commit(
    in_review, release_manager, counsel, django_capture_on_commit_callbacks, mailoutbox
):
    """Nothing is sent while the assignment's transaction is open."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assign_reviewer(in_review, actor=release_manager, reviewer=counsel, role="legal")
    assert len(callbacks) == 1
    assert mailoutbox == []


def test_link_uses_the_configured_address(in_review, release_manager, counsel, assign, mailoutbox, settings):
    """The link in the e-mail starts with PDP_BASE_URL when it is set."""
    settings.PDP_BASE_URL = "https://pdp.example.gov/"
    assign(in_review, actor=release_manager, reviewer=counsel, role="legal")
    assert "https://pdp.example.gov/rules/wildfire-aid-2024/?v=1" in mailoutbox[0].body


def test_superuser_may_assign(in_review, superuser, budget_officer, assign, mailoutbox):
    """A superuser is an administrator too."""
    assign(in_review, actor=superuser, reviewer=budget_officer, role="budget")
    assert permissions.signoff_roles(budget_officer, in_review) == {"budget"}
    assert mailoutbox[0].to == ["budget_officer@example.org"]
    assert last_event("review.assign").actor == superuser


def test_reviewer_without_an_email_address_is_still_assigned(in_review, release_manager, counsel, assign, mailoutbox):
    """The assignment stands; the event says no e-mail went out."""
    counsel.email = ""
    counsel.save(update_fields=["email"])
    assign(in_review, actor=release_manager, reviewer=counsel, role="legal")
    assert ReviewAssignment.objects.filter(version=in_review, reviewer=counsel).exists()
    assert last_event("review.assign").data["emailed"] is False
    assert mailoutbox == []


def test_another_person_may_be_assigned_to_the_same_role(in_review, release_manager, counsel, second_counsel, assign):
    """Two lawyers may be asked; the first to sign off gives the Legal sign-off."""
    assign(in_review, actor=release_manager, reviewer=counsel, role="legal")
    assign(in_review, actor=release_manager, reviewer=second_counsel, role="legal")
    assert ReviewAssignment.objects.filter(version=in_review, role="legal").count() == 2


def test_assigned_reviewer_signs_off(in_review, release_manager, second_counsel, assign):
    """The person assigned gives the sign-off they were asked for."""
    assign(in_review, actor=release_manager, reviewer=second_counsel, role="legal")
    review = approve_version(in_review, actor=second_counsel, expected_hash=in_review.content_hash)
    assert review.role == "legal"


def test_assigned_sign_off_is_revoked_when_the_review_ends(in_review, release_manager, counsel, budget_officer, assign):
    """After a rejection the assigned person holds nothing on the version any more; the record of the assignment stays."""
    assign(in_review, actor=release_manager, reviewer=counsel, role="legal")
    reject_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash, comment="Too costly.")
    assert permissions.assigned_version_ids(counsel) == set()
    assert ReviewAssignment.objects.filter(version=in_review, reviewer=counsel).exists()


def _make_drafter_a_lawyer(in_review, drafter, **_):
    drafter.groups.add(Group.objects.get(name="Legal"))
    return drafter


def _deactivate(in_review, counsel, **_):
    counsel.is_active = False
    counsel.save(update_fields=["is_active"])
    return counsel


def _legal_signed_off(in_review, counsel, second_counsel, **_):
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    return second_counsel


def _already_assigned(in_review, counsel, release_manager, **_):
    assign_reviewer(in_review, actor=release_manager, reviewer=counsel, role="legal")
    return counsel


def _both_hats_gave_legal(in_review, legal_and_budget, **_):
    approve_version(in_review, actor=legal_and_budget, expected_hash=in_review.content_hash, role="legal")
    return legal_and_budget


# name → (actor, how the reviewer is set up, role, error, code, words of the reason)
REFUSALS = {
    "not an administrator": ("counsel", lambda counsel, **_: counsel, "legal", NotPermitted, "forbidden", "administrators"),
    "drafter is no administrator": ("drafter", lambda counsel, **_: counsel, "legal", NotPermitted, "forbidden", ""),
    "outsider": ("outsider", lambda counsel, **_: counsel, "legal", NotPermitted, "forbidden", ""),
    "reviewer not in the group": (
        "release_manager", lambda budget_officer, **_: budget_officer, "legal", InvalidInput, "invalid_input",
        "not in the Legal group",
    ),
    "reviewer is the drafter": (
        "release_manager", _make_drafter_a_lawyer, "legal", InvalidInput, "invalid_input", "drafter of a version",
    ),
    "reviewer inactive": ("release_manager", _deactivate, "legal", InvalidInput, "invalid_input", "no active account"),
    "unknown role": ("release_manager", lambda counsel, **_: counsel, "admin", InvalidInput, "invalid_input", "Unknown"),
    "no reviewer": ("release_manager", lambda **_: None, "legal", InvalidInput, "invalid_input", "Choose"),
    "assigned twice": (
        "release_manager", _already_assigned, "legal", InvalidTransition, "invalid_state", "already assigned",
    ),
    "role already signed off": (
        "release_manager", _legal_signed_off, "legal", InvalidTransition, "invalid_state", "already has its Legal",
    ),
    "reviewer gave the other sign-off": (
        "release_manager", _both_hats_gave_legal, "budget", InvalidInput, "invalid_input", "already gave the legal",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_are_recorded_and_change_nothing(
    request, case, in_review, drafter, counsel, second_counsel, budget_officer, legal_and_budget, release_manager,
    mailoutbox, django_capture_on_commit_callbacks,
):  # fmt: skip
    """Each refusal raises its error, writes one refused event with the reason, assigns and sends nothing."""
    actor_name, setup, role, error, code, words = REFUSALS[case]
    actor = request.getfixturevalue(actor_name)
    people = {
        "drafter": drafter,
        "counsel": counsel,
        "second_counsel": second_counsel,
        "budget_officer": budget_officer,
        "legal_and_budget": legal_and_budget,
        "release_manager": release_manager,
    }
    reviewer = setup(in_review=in_review, **people)
    assignments, grants = ReviewAssignment.objects.count(), UserObjectPermission.objects.count()
    events = pipeline_events().count()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(error) as info:
        assign_reviewer(in_review, actor=actor, reviewer=reviewer, role=role)

    assert words in info.value.message
    assert (ReviewAssignment.objects.count(), UserObjectPermission.objects.count()) == (assignments, grants)
    assert pipeline_events().count() == events + 1
    event = last_event("review.assign")
    assert (event.outcome, event.actor, event.target_id) == ("refused", actor, str(in_review.pk))
    assert event.data == {
        "role": role,
        "reviewer": reviewer.username if reviewer else "",
        "reason": info.value.message,
        "code": code,
    }
    assert mailoutbox == []


def test_assigning_outside_review_is_refused(on_staging, release_manager, second_counsel, mailoutbox):
    """A version no longer in review takes no reviewers."""
    with pytest.raises(InvalidTransition) as info:
        assign_reviewer(on_staging, actor=release_manager, reviewer=second_counsel, role="legal")
    assert "approved, not in review" in info.value.message
    assert not ReviewAssignment.objects.exists()
    assert permissions.assigned_version_ids(second_counsel) == set()
    event = last_event("review.assign")
    assert (event.outcome, event.data["code"]) == ("refused", "invalid_state")
    assert mailoutbox == []


def test_assigned_version_ids_is_one_query_and_ignores_group_grants(
    in_review, release_manager, counsel, budget_officer, assign, django_assert_num_queries
):
    """Only sign-offs held in person count (the whole group holds one on every version in review)."""
    assign(in_review, actor=release_manager, reviewer=counsel, role="legal")
    with django_assert_num_queries(1):
        assert permissions.assigned_version_ids(counsel) == {in_review.pk}
    with django_assert_num_queries(1):
        assert permissions.assigned_version_ids(budget_officer) == set()


def test_can_assign_reviewers(db, release_manager, superuser, counsel, budget_officer, drafter, outsider):
    """Release managers and superusers are the administrators; an inactive one is not."""
    assert permissions.can_assign_reviewers(release_manager)
    assert permissions.can_assign_reviewers(superuser)
    for person in (counsel, budget_officer, drafter, outsider):
        assert not permissions.can_assign_reviewers(person)
    release_manager.is_active = False
    assert not permissions.can_assign_reviewers(release_manager)


# ---------------------------------------------------------------------------------------------
# The panel on the rule page


def test_panel_lists_candidates_per_role_without_the_drafter(
    in_review, release_manager, drafter, counsel, second_counsel, budget_officer, assign
):
    """Active members of each group, minus the drafter and whoever is already assigned in that role."""
    drafter.groups.add(Group.objects.get(name="Legal"))
    retired = make_user("retired", "Legal")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    assign(in_review, actor=release_manager, reviewer=counsel, role="legal")
    panel = assign_panel(release_manager, in_review)

    assert panel["url"] == reverse("version-assign", args=["wildfire-aid-2024", 1])
    legal, budget = panel["roles"]
    assert (legal["role"], legal["label"], legal["signed_by"]) == ("legal", "Legal", "")
    assert [p["label"] for p in legal["candidates"]] == ["counsel2"]
    assert [p["id"] for p in budget["candidates"]] == [budget_officer.pk]
    [assignment] = panel["assignments"]
    assert (assignment["role"], assignment["reviewer"], assignment["assigned_by"]) == (
        "Legal", "counsel", "release_manager",
    )  # fmt: skip


@pytest.mark.parametrize("who", ["counsel", "budget_officer", "drafter", "outsider"])
def test_panel_is_for_administrators_only(request, in_review, who):
    """People who may not assign get no panel."""
    assert assign_panel(request.getfixturevalue(who), in_review) is None


def test_panel_only_while_in_review(on_staging, release_manager):
    """An approved version has no panel."""
    assert assign_panel(release_manager, on_staging) is None


def test_panel_renders_a_labelled_form_per_role(in_review, release_manager, counsel, budget_officer):
    """Each role gets a select labelled Reviewer with its own id, and an Assign reviewer button."""
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    page = render_to_string("reviews/_assign.html", {"assign": assign_panel(release_manager, in_review)})
    assert "Legal has signed off (counsel)." in page
    assert '<label class="usa-label" for="assign-reviewer-budget">Reviewer</label>' in page
    assert re.search(r'<select name="reviewer" class="usa-select" id="assign-reviewer-budget">', page)
    assert f'<option value="{budget_officer.pk}">budget_officer</option>' in page
    assert page.count(">Assign reviewer</button>") == 1
    assert "assign-reviewer-legal" not in page


# ---------------------------------------------------------------------------------------------
# The POST


def _post(client, version, **data):
    return client.post(reverse("version-assign", args=[version.rule.slug, version.number]), data)


@pytest.mark.parametrize(
    "who, status",
    [(None, 302), ("outsider", 404), ("counsel", 403), ("drafter", 403), ("budget_officer", 403)],
)
def test_only_administrators_may_assign(request, client, in_review, second_counsel, who, status):
    """Anonymous goes to the login page, an outsider cannot see the rule, reviewers and drafters are refused."""
    if who:
        client.force_login(request.getfixturevalue(who))
    response = _post(client, in_review, reviewer=second_counsel.pk, role="legal")
    assert response.status_code == status
    if who is None:
        assert response["Location"].startswith(reverse("login"))
    assert not ReviewAssignment.objects.exists()


def test_release_manager_assigns_from_the_rule_page(
    client, in_review, release_manager, second_counsel, django_capture_on_commit_callbacks, mailoutbox
):
    """The assignment is made, the page says so, and the reviewer gets the e-mail."""
    client.force_login(release_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, in_review, reviewer=second_counsel.pk, role="legal")
    assert response.status_code == 302
    assert response["Location"] == "/rules/wildfire-aid-2024/?v=1"
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert "counsel2 is assigned as Legal reviewer of Wildfire-Aid-2024 v1; they were sent an e-mail." in page
    assert ReviewAssignment.objects.get().reviewer == second_counsel
    assert mailoutbox[0].to == ["counsel2@example.org"]


@pytest.mark.parametrize(
    "data, says",
    [
        ({"reviewer": "abc", "role": "legal"}, "That person does not exist"),
        ({"reviewer": "999999", "role": "legal"}, "That person does not exist"),
        ({"role": "legal"}, "Choose the person to assign."),
        ({"reviewer": "{budget}", "role": "legal"}, "budget_officer is not in the Legal group"),
        ({"reviewer": "{drafter}", "role": "legal"}, "the drafter of a version cannot review it"),
    ],
)
def test_a_problem_with_the_reviewer_is_said_at_the_field_and_changes_nothing(
    client, in_review, release_manager, budget_officer, drafter, second_counsel, data, says
):
    """The page again (400): an error summary linking to the list, the message at it, the list marked invalid."""
    ids = {"{budget}": budget_officer.pk, "{drafter}": drafter.pk}
    data = {key: ids.get(value, value) for key, value in data.items()}
    client.force_login(release_manager)
    response = client.post(reverse("version-assign", args=["wildfire-aid-2024", 1]), data)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    summary = page[page.index('id="error-summary-assign-legal"') :]
    link = summary[summary.index('<a class="usa-link" href="#assign-reviewer-legal">Reviewer: ') :].split("</a>")[0]
    assert says in link
    assert says in page[page.index('id="assign-reviewer-legal_error"') :].split("</span>")[0]
    select = page[page.index('<select name="reviewer"') :].split(">")[0]
    assert 'aria-invalid="true"' in select and 'id="assign-reviewer-legal"' in select
    assert not ReviewAssignment.objects.exists()
    assert not UserObjectPermission.objects.exists()


@pytest.mark.parametrize(
    "data, says",
    [
        ({"reviewer": "{counsel}"}, "The form could not be read (role: This field is required.)"),
        ({"reviewer": "{counsel}", "role": "x" * 21}, "role: Ensure this value has at most 20 characters"),
        ({"reviewer": "{counsel}", "role": "admin"}, "Unknown review role 'admin'"),
    ],
)
def test_a_request_the_page_offers_no_form_for_is_a_message_and_changes_nothing(
    client, in_review, release_manager, counsel, data, says
):
    """A role the page has no form for: said at the top of the rule page; nothing is assigned."""
    data = {key: counsel.pk if value == "{counsel}" else value for key, value in data.items()}
    client.force_login(release_manager)
    response = client.post(reverse("version-assign", args=["wildfire-aid-2024", 1]), data, follow=True)
    assert response.status_code in (200, 400)
    assert response.redirect_chain in ([], [("/rules/wildfire-aid-2024/?v=1", 302)])
    page = html.unescape(response.content.decode())
    assert "usa-alert--error" in page and says in page
    assert 'id="error-summary-assign-legal"' not in page
    assert not ReviewAssignment.objects.exists()
    assert not UserObjectPermission.objects.exists()


def test_unknown_version_is_404(client, in_review, release_manager, counsel):
    """A version number the rule does not have is not found."""
    client.force_login(release_manager)
    response = client.post(reverse("version-assign", args=["wildfire-aid-2024", 9]), {"reviewer": counsel.pk})
    assert response.status_code == 404


def test_get_is_not_allowed(client, in_review, release_manager):
    """Assigning is a POST."""
    client.force_login(release_manager)
    assert client.get(reverse("version-assign", args=["wildfire-aid-2024", 1])).status_code == 405


def test_a_non_administrator_probing_people_learns_nothing_and_is_recorded(client, in_review, drafter):
    """A drafter posting the form gets 403 whether the person exists or not; the first attempt is an event, the
    repeats within the refusal window a count on it, written as one event when the window closes."""
    client.force_login(drafter)
    before = pipeline_events().count()
    for reviewer in (99_999, drafter.pk, "not-a-number"):
        assert _post(client, in_review, reviewer=reviewer, role="legal").status_code == 403
    assert pipeline_events().count() == before + 1
    assert (last_event().action, last_event().outcome) == ("portal.refused", "refused")
    assert RefusalTally.objects.get(actor=drafter).count == 3
    RefusalTally.objects.update(first_at=timezone.now() - timedelta(seconds=settings.PDP_REFUSAL_WINDOW_SECONDS + 1))
    flush_refusal_tallies()
    assert (last_event().action, last_event().data["repeats"]) == ("portal.refused.repeated", 2)
    assert not ReviewAssignment.objects.exists()


def test_an_assigned_reviewer_who_left_the_group_can_no_longer_sign(in_review, release_manager, second_counsel, assign):
    """The named sign-off counts only while the person is in the role's group."""
    assign(in_review, actor=release_manager, reviewer=second_counsel, role="legal")
    assert permissions.approvable_roles(second_counsel, in_review) == {"legal"}
    second_counsel.groups.clear()
    assert permissions.approvable_roles(second_counsel, in_review) == set()
    with pytest.raises(Exception) as refused:
        approve_version(in_review, actor=second_counsel, expected_hash=in_review.content_hash)
    assert refused.value.status == 403
    assert not in_review.reviews.exists()
