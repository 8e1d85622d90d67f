"""The home page: one section per role the person holds, with counts, ages and queues."""

import datetime as dt
import html
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deployments.models import Environment, Release
from pdp_portal import permissions
from portal.home import QUEUE_SIZE
from reviews.services import approve_version, assign_reviewer
from rules.models import RuleVersion, VersionStatus
from rules.services import push_rule_version
from tests.conftest import document, make_user

LEGAL = settings.PDP_REVIEW_ROLES["legal"]
BUDGET = settings.PDP_REVIEW_ROLES["budget"]


# ---------------------------------------------------------------------------------------------
# Reading the page


def home(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    # timesince separates number and unit with a no-break space.
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def summary(page):
    """The counts at the top of the page: {label: value}."""
    block = page.split('class="pdp-summary"', 1)[1].split("</ul>", 1)[0]
    pairs = re.findall(
        r'pdp-summary__value">(\d+)</span> <span class="pdp-summary__label">([^<]+)</span>',
        block,
    )
    return {label: int(value) for value, label in pairs}


def section(page, key):
    """The HTML of one section, or None when the page has no such section."""
    marker = f'<section class="pdp-section" id="{key}"'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split("</section>", 1)[0]


def section_keys(page):
    return re.findall(r'<section class="pdp-section" id="([^"]+)"', page)


def row_names(block):
    """The rule and version named by each row of a section's table, in order."""
    return re.findall(r'<th scope="row"><a class="usa-link" href="[^"]+">([^<]+)</a>', block)


ASSIGNED_TAG = 'pdp-tag--info">assigned to you</span>'


def heading_total(block):
    return int(re.search(r'<span class="pdp-count">\((\d+)\)</span>', block).group(1))


# ---------------------------------------------------------------------------------------------
# Cheap versions: pushed inside the test's transaction, so their checks stay queued


def push_queued(actor, slug, **changes):
    return push_rule_version(document(rule=slug, title=f"Title of {slug}", **changes), actor=actor)


def open_review(*versions, age=None):
    """Put queued versions in review as the pipeline does after the simulation passes: status and sign-offs.

    `age` backdates when they entered review, so the queue's order can be pinned.
    """
    for version in versions:
        changed_at = timezone.now() - (age or dt.timedelta())
        RuleVersion.objects.filter(pk=version.pk).update(status=VersionStatus.IN_REVIEW, status_changed_at=changed_at)
        permissions.grant_review_permissions(version)
        version.refresh_from_db()
    return versions[0] if len(versions) == 1 else versions


def in_review_by(actor, slug, *, age=None):
    return open_review(push_queued(actor, slug), age=age)


def point(version, environment):
    """Set a rule's live pointer in one environment (the pointers exist from its first push)."""
    Release.objects.filter(rule=version.rule, environment__name=environment).update(
        version=version, updated_at=timezone.now()
    )
    # Only an approved version reaches staging (and from there production).
    RuleVersion.objects.filter(pk=version.pk).update(status=VersionStatus.APPROVED)
    version.status = VersionStatus.APPROVED


# ---------------------------------------------------------------------------------------------
# Drafter


def test_drafter_sees_their_versions_newest_first_with_checks_findings_signoffs_cost_and_ages(
    client, in_review, drafter, other_drafter
):
    """'Your versions': newest first, each with its checks and findings, sign-offs '0 of 2', cost and ages."""
    queued = push_queued(drafter, "newer-rule")
    push_queued(other_drafter, "not-mine")
    page = home(client, drafter)
    block = section(page, "drafter")

    assert "Your versions" in block
    assert row_names(block) == ["Newer-Rule v1", "Wildfire-Aid-2024 v1"]
    assert "Not-Mine" not in page
    assert heading_total(block) == 2

    wildfire_row = block.split("Wildfire-Aid-2024 v1", 1)[1].split("</tr>", 1)[0]
    assert "in review" in wildfire_row
    assert "Lint: " in wildfire_row and "Simulation: " in wildfire_row and "passed" in wildfire_row
    counted = 0
    for check in in_review.checks.all():
        warnings = sum(1 for f in check.findings if f["severity"] == "warning")
        if warnings:
            title = "Lint" if check.kind == "lint" else "Simulation"
            assert re.search(rf"{title}: <span[^>]*>passed</span> <span[^>]*>{warnings} warnings?</span>", wildfire_row)
        counted += warnings
    assert counted, "the example's checks have warnings to count"
    assert "0 of 2" in wildfire_row
    cost = in_review.check_of("simulation").result["cost"]
    from engine.simulation import short_money

    assert short_money(cost) in wildfire_row
    # Ages: the upload as a <time> with its timestamp, and how long ago ("just now", a moment after it).
    assert f'<time datetime="{timezone.localtime(in_review.created_at).isoformat()[:19]}' in wildfire_row
    assert re.search(r">(just now|[^<]+ ago)</time>", wildfire_row)

    queued_row = block.split("Newer-Rule v1", 1)[1].split("</tr>", 1)[0]
    assert "queued" in queued_row
    assert "—" in queued_row  # no simulated cost yet
    assert "0 of 2" in queued_row
    assert queued.status == VersionStatus.QUEUED


def test_drafter_counts_are_by_status(client, drafter, other_drafter):
    """The counts say how many of the drafter's versions are running, in review, failed, rejected, approved."""
    statuses = [
        VersionStatus.QUEUED, VersionStatus.LINTING, VersionStatus.SIMULATING,
        VersionStatus.IN_REVIEW, VersionStatus.IN_REVIEW,
        VersionStatus.LINT_FAILED, VersionStatus.SIMULATION_FAILED,
        VersionStatus.REJECTED, VersionStatus.APPROVED,
    ]  # fmt: skip
    for i, status in enumerate(statuses):
        version = push_queued(drafter, f"rule-{i}")
        RuleVersion.objects.filter(pk=version.pk).update(status=status)
    push_queued(other_drafter, "someone-elses")
    page = home(client, drafter)
    assert summary(page) == {
        "Checks running": 3,
        "In review": 2,
        "Failed checks": 2,
        "Rejected": 1,
        "Approved": 1,
    }
    assert heading_total(section(page, "drafter")) == len(statuses)


def test_drafter_without_uploads_is_told_so(client, drafter):
    """A drafter with nothing uploaded gets the section with a sentence, zero counts, and an Upload link."""
    page = home(client, drafter)
    assert "You have not uploaded a rule yet." in section(page, "drafter")
    assert set(summary(page).values()) == {0}
    assert f'href="{reverse("rule-upload")}"' in page


def test_a_long_queue_shows_the_first_fifty_and_says_how_many(client, drafter):
    """More than QUEUE_SIZE versions: the section shows QUEUE_SIZE rows and the total."""
    for i in range(QUEUE_SIZE + 2):
        push_queued(drafter, f"rule-{i:03d}")
    block = section(home(client, drafter), "drafter")
    assert len(row_names(block)) == QUEUE_SIZE
    assert heading_total(block) == QUEUE_SIZE + 2
    assert f"Showing {QUEUE_SIZE} of {QUEUE_SIZE + 2}" in block
    assert row_names(block)[0] == f"Rule-{QUEUE_SIZE + 1:03d} v1"  # newest first


# ---------------------------------------------------------------------------------------------
# Legal and Budget review queues


def test_review_queue_shows_versions_in_review_oldest_first_with_drafter_and_wait(
    client, drafter, other_drafter, counsel
):
    """'Waiting for Legal review': versions in review, longest waiting first, with the drafter; not other statuses."""
    newer = in_review_by(drafter, "newer", age=dt.timedelta(hours=1))
    older = in_review_by(other_drafter, "older", age=dt.timedelta(days=3))
    push_queued(drafter, "still-checking")
    page = home(client, counsel)
    block = section(page, "review-legal")

    assert f"Waiting for {LEGAL} review" in block
    assert row_names(block) == [f"Older {older.label}", f"Newer {newer.label}"]
    assert "Still-Checking" not in page
    assert heading_total(block) == 2
    assert summary(page) == {f"Waiting for {LEGAL}": 2, f"Assigned to you ({LEGAL})": 0}
    older_row = block.split("Older v1", 1)[1].split("</tr>", 1)[0]
    assert "drafter2" in older_row and "0 of 2" in older_row and "in review" in older_row
    assert "<td>3 days</td>" in older_row  # in this status for
    assert "The oldest has waited 3 days" in block
    assert ASSIGNED_TAG not in block
    assert section(page, "drafter") is None
    assert section(page, "review-budget") is None
    assert section(page, "release-pending") is None


def test_empty_review_queue_says_so(client, counsel):
    """Nothing in review: the Legal section says nothing waits, with zero counts."""
    page = home(client, counsel)
    assert f"Nothing waits for a {LEGAL} review." in section(page, "review-legal")
    assert summary(page) == {f"Waiting for {LEGAL}": 0, f"Assigned to you ({LEGAL})": 0}


def test_assigned_version_comes_first_with_its_tag(client, drafter, counsel, release_manager):
    """A version assigned to counsel by name is listed first, tagged, whatever its age; the count says so."""
    oldest = in_review_by(drafter, "oldest", age=dt.timedelta(days=5))
    assigned = in_review_by(drafter, "assigned-one", age=dt.timedelta(hours=1))
    in_review_by(drafter, "middle", age=dt.timedelta(days=2))
    assign_reviewer(assigned, actor=release_manager, reviewer=counsel, role="legal")

    page = home(client, counsel)
    block = section(page, "review-legal")
    assert row_names(block) == ["Assigned-One v1", "Oldest v1", "Middle v1"]
    rows = block.split("</tr>")
    assert ASSIGNED_TAG in rows[1]  # rows[0] is the header
    assert all(ASSIGNED_TAG not in row for row in rows[2:])
    assert summary(page) == {f"Waiting for {LEGAL}": 3, f"Assigned to you ({LEGAL})": 1}
    assert row_names(section(home(client, make_user("counsel2", LEGAL)), "review-legal")) == [
        f"Oldest {oldest.label}", "Middle v1", "Assigned-One v1",
    ]  # fmt: skip


def test_assignment_by_name_reaches_a_reviewer_outside_the_group_grant(client, drafter, counsel, release_manager):
    """A version whose group sign-off was withdrawn still shows to the counsel assigned to it by name."""
    version = in_review_by(drafter, "named-only")
    assign_reviewer(version, actor=release_manager, reviewer=counsel, role="legal")
    from guardian.models import GroupObjectPermission

    GroupObjectPermission.objects.filter(object_pk=str(version.pk)).delete()
    other_counsel = make_user("counsel2", LEGAL)
    assert row_names(section(home(client, counsel), "review-legal")) == ["Named-Only v1"]
    assert row_names(section(home(client, other_counsel), "review-legal")) == []


def test_counsel_never_sees_their_own_upload(client, drafter):
    """A person who drafts and reviews sees their own upload under 'Your versions' only, not in the Legal queue."""
    both = make_user("drafting_counsel", settings.PDP_DRAFTER_GROUP, LEGAL)
    own = in_review_by(both, "own-upload")
    theirs = in_review_by(drafter, "someone-elses")
    page = home(client, both)

    assert section_keys(page) == ["drafter", "review-legal"]
    assert row_names(section(page, "drafter")) == [f"Own-Upload {own.label}"]
    assert row_names(section(page, "review-legal")) == [f"Someone-Elses {theirs.label}"]


def test_after_counsel_approves_it_leaves_the_legal_queue_but_stays_in_budget(client, drafter, counsel, budget_officer):
    """The Legal sign-off given: no Legal queue lists it (not even another counsel's); Budget's does, '1 of 2'."""
    version = in_review_by(drafter, "half-approved")
    other_counsel = make_user("counsel2", LEGAL)
    assert row_names(section(home(client, counsel), "review-legal")) == ["Half-Approved v1"]

    approve_version(version, actor=counsel, expected_hash=version.content_hash)

    assert row_names(section(home(client, counsel), "review-legal")) == []
    assert row_names(section(home(client, other_counsel), "review-legal")) == []
    block = section(home(client, budget_officer), "review-budget")
    assert f"Waiting for {BUDGET} review" in block
    assert row_names(block) == ["Half-Approved v1"]
    assert "1 of 2" in block


def test_a_reviewer_in_both_groups_does_not_see_what_they_already_approved(client, drafter, budget_officer):
    """Someone in Legal and Budget who gave the Legal sign-off is not asked for the Budget one; others are."""
    both = make_user("both_hats", LEGAL, BUDGET)
    version = in_review_by(drafter, "two-hats")
    page = home(client, both)
    assert section_keys(page) == ["review-legal", "review-budget"]
    assert row_names(section(page, "review-budget")) == ["Two-Hats v1"]

    approve_version(version, actor=both, expected_hash=version.content_hash, role="legal")

    page = home(client, both)
    assert row_names(section(page, "review-legal")) == []
    assert row_names(section(page, "review-budget")) == []
    assert row_names(section(home(client, budget_officer), "review-budget")) == ["Two-Hats v1"]


def test_approved_and_rejected_versions_leave_every_queue(client, drafter, counsel, budget_officer):
    """Once both sign-offs are in (or a rejection), no review queue lists the version."""
    from reviews.services import reject_version

    approved = in_review_by(drafter, "approved-one")
    rejected = in_review_by(drafter, "rejected-one")
    approve_version(approved, actor=counsel, expected_hash=approved.content_hash)
    approve_version(approved, actor=budget_officer, expected_hash=approved.content_hash)
    reject_version(rejected, actor=counsel, expected_hash=rejected.content_hash, comment="Wrong statute.")
    assert row_names(section(home(client, counsel), "review-legal")) == []
    assert row_names(section(home(client, budget_officer), "review-budget")) == []


# ---------------------------------------------------------------------------------------------
# Release managers and superusers


def test_release_manager_sees_staging_waiting_for_production_then_live(client, on_staging, release_manager):
    """On staging only: 'Waiting for production' (v1 against v0); after the promotion, 'Live in production'."""
    from deployments.services import promote

    page = home(client, release_manager)
    assert section_keys(page) == ["release-pending", "release-live"]
    pending = section(page, "release-pending")
    assert row_names(pending) == ["Wildfire-Aid-2024"]
    row = pending.split("</thead>", 1)[1]
    assert "<strong>v1</strong>" in row and "<td>v0</td>" in row
    assert "<time datetime=" in row
    assert "Nothing is live in production." in section(page, "release-live")
    assert summary(page) == {"Waiting for production": 1, "Live in production": 0}

    promote(on_staging.rule, actor=release_manager)

    page = home(client, release_manager)
    assert "Nothing on staging waits for production." in section(page, "release-pending")
    live = section(page, "release-live")
    assert row_names(live) == ["Wildfire-Aid-2024"]
    assert "<strong>v1</strong>" in live and "<time datetime=" in live
    assert summary(page) == {"Waiting for production": 0, "Live in production": 1}


def test_pending_lists_staging_ahead_of_production_not_equal_pointers(client, drafter, release_manager):
    """Pending: staging differs from production (v2 against v1, or v1 against v0); equal pointers are only live."""
    ahead_v1 = push_queued(drafter, "ahead")
    ahead_v2 = push_queued(drafter, "ahead", cost=97_000_000)
    point(ahead_v1, Environment.PRODUCTION)
    point(ahead_v2, Environment.STAGING)
    same = push_queued(drafter, "same")
    point(same, Environment.STAGING)
    point(same, Environment.PRODUCTION)
    fresh = push_queued(drafter, "fresh")
    point(fresh, Environment.STAGING)
    push_queued(drafter, "nowhere")

    page = home(client, release_manager)
    pending = section(page, "release-pending")
    assert sorted(row_names(pending)) == ["Ahead", "Fresh"]
    ahead_row = pending.split(">Ahead</a>", 1)[1].split("</tr>", 1)[0]
    assert "<strong>v2</strong>" in ahead_row and "<td>v1</td>" in ahead_row
    assert sorted(row_names(section(page, "release-live"))) == ["Ahead", "Same"]
    assert summary(page) == {"Waiting for production": 2, "Live in production": 2}


def test_superuser_sees_the_release_sections(client, drafter, superuser):
    """A superuser without groups gets the release manager's sections, and no review queue."""
    version = push_queued(drafter, "live-rule")
    point(version, Environment.STAGING)
    point(version, Environment.PRODUCTION)
    page = home(client, superuser)
    assert section_keys(page) == ["release-pending", "release-live"]
    assert row_names(section(page, "release-live")) == ["Live-Rule"]


def test_a_person_with_several_roles_sees_several_sections(client, drafter):
    """Drafter, Legal, Budget and release manager at once: one section per role, counts for each."""
    everything = make_user("many_hats", settings.PDP_DRAFTER_GROUP, LEGAL, BUDGET, settings.PDP_RELEASE_GROUP)
    push_queued(everything, "mine")
    in_review_by(drafter, "theirs")
    page = home(client, everything)
    assert section_keys(page) == ["drafter", "review-legal", "review-budget", "release-pending", "release-live"]
    counts = summary(page)
    assert counts["Checks running"] == 1
    assert counts[f"Waiting for {LEGAL}"] == 1 and counts[f"Waiting for {BUDGET}"] == 1
    assert counts["Waiting for production"] == 0
    for key in section_keys(page):
        assert f'href="#{key}"' in page  # each count links to its section
        assert f'id="{key}-heading"' in page


def test_outsider_is_refused_and_anonymous_sent_to_sign_in(client, outsider):
    """No role: 403 with a sentence; not signed in: the sign-in page."""
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(reverse("home")).status_code == 403


def test_home_is_get_only(client, drafter):
    """POST to the home page is refused (405) and changes nothing."""
    client.force_login(drafter)
    assert client.post(reverse("home")).status_code == 405


# ---------------------------------------------------------------------------------------------
# Query counts: the same at 5 and at 50 rows


def _queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def _same_queries_at_5_and_50(client, django_assert_num_queries, user, add_rows):
    client.force_login(user)
    add_rows(0, 5)
    client.get(reverse("home"))  # warm the per-process caches (content types) outside the count
    baseline = _queries(client)
    add_rows(5, 45)
    with django_assert_num_queries(baseline):
        response = client.get(reverse("home"))
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("who", ["counsel", "budget_officer"])
def test_review_queue_query_count_does_not_grow(
    client, django_assert_num_queries, drafter, release_manager, who, request
):
    """The Legal and Budget queues at 5 and 50 versions (some assigned by name) make the same queries."""
    reviewer = request.getfixturevalue(who)
    role = "legal" if who == "counsel" else "budget"

    def add_rows(start, count):
        for i in range(start, start + count):
            version = in_review_by(drafter, f"rule-{i:03d}")
            if i % 4 == 0:
                assign_reviewer(version, actor=release_manager, reviewer=reviewer, role=role)

    page = _same_queries_at_5_and_50(client, django_assert_num_queries, reviewer, add_rows)
    assert len(row_names(section(page, f"review-{role}"))) == 50


def test_drafter_home_query_count_does_not_grow(client, django_assert_num_queries, drafter):
    """'Your versions' at 5 and 50 versions makes the same queries."""

    def add_rows(start, count):
        for i in range(start, start + count):
            push_queued(drafter, f"rule-{i:03d}")

    page = _same_queries_at_5_and_50(client, django_assert_num_queries, drafter, add_rows)
    assert len(row_names(section(page, "drafter"))) == 50


def test_release_manager_home_query_count_does_not_grow(client, django_assert_num_queries, drafter, release_manager):
    """'Waiting for production' and 'Live in production' at 5 and 50 rules each make the same queries."""

    def add_rows(start, count):
        for i in range(start, start + count):
            live = push_queued(drafter, f"rule-{i:03d}")
            point(live, Environment.STAGING)
            point(live, Environment.PRODUCTION)
            ahead = push_queued(drafter, f"rule-{i:03d}", cost=97_000_000)
            # Every other rule has a newer version on staging than in production.
            if i % 2 == 0:
                point(ahead, Environment.STAGING)

    page = _same_queries_at_5_and_50(client, django_assert_num_queries, release_manager, add_rows)
    assert len(row_names(section(page, "release-live"))) == 50
    assert len(row_names(section(page, "release-pending"))) == 25


# ---------------------------------------------------------------------------------------------
# Markup a screen reader depends on


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.headings, self.tables, self.captions = [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        self.tables += tag == "table"
        self.captions += tag == "caption"


def test_every_section_is_labelled_and_ids_are_unique(client, drafter, release_manager):
    """With every section shown: unique ids, one caption per table, headings h1 then h2, each section named."""
    everyone = make_user("many_hats", settings.PDP_DRAFTER_GROUP, LEGAL, BUDGET, settings.PDP_RELEASE_GROUP)
    push_queued(everyone, "mine")
    theirs = in_review_by(drafter, "theirs")
    assign_reviewer(theirs, actor=release_manager, reviewer=everyone, role="legal")
    point(push_queued(drafter, "staged"), Environment.STAGING)
    client.force_login(everyone)
    structure = _Structure()
    structure.feed(client.get(reverse("home")).content.decode())
    assert len(structure.ids) == len(set(structure.ids))
    assert structure.tables == structure.captions >= 3
    main = structure.headings[structure.headings.index(1) :]
    assert main[0] == 1 and set(main[1:]) == {2}
    for key in ["drafter", "review-legal", "review-budget", "release-pending", "release-live"]:
        assert f"{key}-heading" in structure.ids
