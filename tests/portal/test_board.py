"""The environments board: every rule with what staging and production serve, filters, pages, Promote."""

import html
import re

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deployments.models import Environment, Release
from portal.board import BOARD_PAGE_SIZE
from reviews.models import Review
from rules.models import Rule, RuleVersion, VersionStatus
from rules.services import push_rule_version
from tests.conftest import document, last_event, make_user, pipeline_events

BOARD = reverse("environments")
PROMOTE_BUTTON = "Promote to production<span"


def board(client, user, **params):
    client.force_login(user)
    response = client.get(BOARD, params)
    assert response.status_code == 200
    return html.unescape(response.content.decode()).replace("\xa0", " ")


def rows(page):
    """{rule name: the HTML of its row}, in the board's order."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    found = {}
    for row in body.split("</tr>")[:-1]:
        name = re.search(r'<th scope="row"><a class="usa-link" href="[^"]+">([^<]+)</a>', row).group(1)
        found[name] = row
    return found


def cells(row):
    """The text of each <td> of a row (tags removed, whitespace collapsed)."""
    return [" ".join(re.sub(r"<[^>]+>", " ", cell.split(">", 1)[1]).split()) for cell in row.split("<td")[1:]]


def push_queued(actor, slug, **changes):
    # Pushed inside the test's transaction: the checks stay queued, so this is cheap.
    return push_rule_version(
        document(rule=slug, title=f"Title of {slug}", program=changes.pop("program", "disaster-relief"), **changes),
        actor=actor,
    )


def point(version, environment):
    Release.objects.filter(rule=version.rule, environment__name=environment).update(
        version=version, updated_at=timezone.now()
    )
    # Only an approved version, signed off on its hash, reaches staging (and from there production).
    RuleVersion.objects.filter(pk=version.pk).update(status=VersionStatus.APPROVED)
    version.status = VersionStatus.APPROVED
    for role, group in settings.PDP_REVIEW_ROLES.items():
        Review.objects.get_or_create(
            version=version,
            role=role,
            decision=Review.Decision.APPROVE,
            defaults={"reviewer": make_user(f"board-{role}", group), "content_hash": version.content_hash},
        )


def three_rules(drafter):
    """`Pending` (staging v1, production v0), `Live` (v1 on both), `Ahead` (staging v2, production v1), `Idle`."""
    pending = push_queued(drafter, "pending", program="housing")
    point(pending, Environment.STAGING)
    live = push_queued(drafter, "live")
    point(live, Environment.STAGING)
    point(live, Environment.PRODUCTION)
    ahead_v1 = push_queued(drafter, "ahead")
    ahead_v2 = push_queued(drafter, "ahead", cost=97_000_000)
    point(ahead_v1, Environment.PRODUCTION)
    point(ahead_v2, Environment.STAGING)
    push_queued(drafter, "idle")


def test_board_lists_every_rule_with_latest_staging_and_production(client, drafter):
    """Each row: the rule and title, program, latest version, staging and production (v0: nothing), ages."""
    three_rules(drafter)
    page = board(client, drafter)
    found = rows(page)
    assert list(found) == ["Ahead", "Idle", "Live", "Pending"]  # by slug
    assert "4 rules." in page
    assert cells(found["Ahead"])[:4] == [
        "disaster-relief",
        "v2",
        "v2 for less than a minute",
        "v1 for less than a minute",
    ]
    assert cells(found["Idle"])[:4] == ["disaster-relief", "v1", "v0", "v0"]
    assert cells(found["Live"])[:4] == [
        "disaster-relief",
        "v1",
        "v1 for less than a minute",
        "v1 for less than a minute",
    ]
    assert cells(found["Pending"])[:4] == ["housing", "v1", "v1 for less than a minute", "v0"]
    assert "Title of pending" in found["Pending"]
    assert 'class="pdp-pending"' in page.split("Pending</a>")[0].rsplit("<tr", 1)[1]
    assert f'href="{reverse("rule-detail", args=["pending"])}"' in found["Pending"]


def test_promote_button_only_for_release_managers_and_only_on_pending_rows(
    client, drafter, counsel, release_manager, superuser
):
    """Release managers (and superusers) get Promote on pending rows only; others read 'waiting for production'."""
    three_rules(drafter)
    found = rows(board(client, release_manager))
    assert [name for name, row in found.items() if PROMOTE_BUTTON in row] == ["Ahead", "Pending"]
    pending = found["Pending"]
    assert f'action="{reverse("rule-promote", args=["pending"])}"' in pending
    assert '<input type="hidden" name="back" value="board">' in pending
    assert 'aria-controls="promote-modal-pending"' in pending and 'id="promote-modal-pending"' in pending
    assert "Production: v0 → v1" in pending  # the confirmation names the move
    assert "Roll back…" in found["Live"] and PROMOTE_BUTTON not in found["Live"]
    assert "Roll back…" not in found["Idle"] and PROMOTE_BUTTON not in found["Idle"]

    assert [name for name, row in rows(board(client, superuser)).items() if PROMOTE_BUTTON in row] == [
        "Ahead",
        "Pending",
    ]
    for person in (drafter, counsel):
        page = board(client, person)
        assert PROMOTE_BUTTON not in page and "promote-form-" not in page
        assert "waiting for production" in rows(page)["Pending"]


def test_filter_by_slug_title_or_program(client, drafter):
    """`q` matches the slug, the title or the program, ignoring case; the box keeps what was typed."""
    three_rules(drafter)
    Rule.objects.filter(slug="idle").update(title="Heating Grant")
    assert list(rows(board(client, drafter, q="PEND"))) == ["Pending"]
    assert list(rows(board(client, drafter, q="heating"))) == ["Idle"]
    page = board(client, drafter, q="housing")
    assert list(rows(page)) == ["Pending"]
    assert 'name="q" type="search" value="housing"' in page
    assert "1 rule." in page
    page = board(client, drafter, q="nothing-like-this")
    assert rows(page) == {} and "No rule matches." in page


def test_show_pending_live_and_unknown(client, drafter):
    """`show=pending`: staging differs from production; `live`: something in production; unknown: every rule."""
    three_rules(drafter)
    assert list(rows(board(client, drafter, show="pending"))) == ["Ahead", "Pending"]
    assert list(rows(board(client, drafter, show="live"))) == ["Ahead", "Live"]
    page = board(client, drafter, show="<script>")
    assert list(rows(page)) == ["Ahead", "Idle", "Live", "Pending"]
    assert '<option value="all" selected>' in page
    assert list(rows(board(client, drafter, show="pending", q="pend"))) == ["Pending"]


def test_overlong_and_blank_filters_are_harmless(client, drafter):
    """A query longer than 100 characters is cut to 100; blank filters show every rule."""
    three_rules(drafter)
    page = board(client, drafter, q="p" * 500, show="")
    assert f'value="{"p" * 100}"' in page and "p" * 101 not in page
    assert list(rows(board(client, drafter, q="   ", show=""))) == ["Ahead", "Idle", "Live", "Pending"]


def test_pages_of_a_hundred_keep_the_filters(client, drafter):
    """105 matching rules: 100 on page 1 with a Next link keeping q and show; 5 on page 2 with Previous."""
    Rule.objects.bulk_create(
        [Rule(slug=f"bulk-{i:03d}", title=f"Bulk {i}", program="bulk", created_by=drafter) for i in range(105)]
        + [Rule(slug=f"other-{i:03d}", title="Other", program="other", created_by=drafter) for i in range(3)]
    )
    page = board(client, drafter, q="bulk", show="all")
    assert len(rows(page)) == BOARD_PAGE_SIZE == 100
    assert "105 rules; page 1 of 2." in page
    assert 'href="?q=bulk&show=all&page=2"' in page
    assert "Previous page" not in page

    page = board(client, drafter, q="bulk", show="all", page="2")
    assert list(rows(page)) == [f"Bulk-{i:03d}" for i in range(100, 105)]
    assert 'href="?q=bulk&show=all&page=1"' in page
    assert "Next page" not in page
    assert 'aria-current="page">2<' in page

    # A page that is not a number, or past the end, shows the first or last page.
    assert "page 1 of 2" in board(client, drafter, q="bulk", page="abc")
    assert "page 2 of 2" in board(client, drafter, q="bulk", page="99")
    assert "108 rules; page 1 of 2." in board(client, drafter)


def test_promoting_from_the_board_returns_to_the_board(client, on_staging, release_manager):
    """Promote with back=board: production takes v1, one release.promote event, back on the board with the message."""
    client.force_login(release_manager)
    response = client.post(reverse("rule-promote", args=[on_staging.rule.slug]), {"back": "board"}, follow=True)
    assert response.redirect_chain == [(BOARD, 302)]
    page = html.unescape(response.content.decode())
    assert "Wildfire-Aid-2024 now LIVE in production (v1)" in page
    assert Release.objects.get(rule=on_staging.rule, environment__name="production").version == on_staging
    event = last_event("release.promote")
    assert (event.outcome, event.actor, event.data["to"]) == ("done", release_manager, "v1")
    row = rows(page)["Wildfire-Aid-2024"]
    assert PROMOTE_BUTTON not in row and "Roll back…" in row


def test_promoting_from_the_rule_page_returns_to_the_rule_page(client, on_staging, release_manager):
    """Without back=board (or with anything else), the promotion returns to the rule page."""
    client.force_login(release_manager)
    response = client.post(reverse("rule-promote", args=[on_staging.rule.slug]), {"back": "https://evil.example"})
    assert response.status_code == 302
    assert response["Location"] == reverse("rule-detail", args=[on_staging.rule.slug])


def test_a_refused_promotion_from_the_board_says_why_and_changes_nothing(client, drafter, release_manager):
    """Nothing on staging: back on the board with the reason; production stays at v0."""
    version = push_queued(drafter, "not-ready")
    client.force_login(release_manager)
    events = pipeline_events().count()
    response = client.post(reverse("rule-promote", args=["not-ready"]), {"back": "board"}, follow=True)
    assert response.redirect_chain == [(BOARD, 302)]
    assert "Nothing of Not-Ready is live on staging" in html.unescape(response.content.decode())
    assert Release.objects.get(rule=version.rule, environment__name="production").version is None
    assert pipeline_events().count() == events + 1
    assert last_event().outcome == "refused"


def test_a_drafter_cannot_promote_from_the_board(client, on_staging, drafter):
    """A drafter's promote POST is refused (403); production stays at v0."""
    client.force_login(drafter)
    response = client.post(reverse("rule-promote", args=[on_staging.rule.slug]), {"back": "board"})
    assert response.status_code == 403
    assert Release.objects.get(rule=on_staging.rule, environment__name="production").version is None


def test_board_is_get_only_and_closed_to_outsiders(client, outsider, drafter):
    """Anonymous: sign in; no role: 403; POST: 405."""
    response = client.get(BOARD)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(outsider)
    assert client.get(BOARD).status_code == 403
    client.force_login(drafter)
    assert client.post(BOARD).status_code == 405


# ---------------------------------------------------------------------------------------------
# Query count


def _queries(client, params):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(BOARD, params).status_code == 200
    return len(queries)


def _add_rules(drafter, start, count):
    for i in range(start, start + count):
        live = push_queued(drafter, f"rule-{i:03d}")
        point(live, Environment.STAGING)
        point(live, Environment.PRODUCTION)
        if i % 2 == 0:  # every other rule has a newer version waiting on staging
            point(push_queued(drafter, f"rule-{i:03d}", cost=97_000_000), Environment.STAGING)


def test_board_query_count_does_not_grow_with_rules(client, django_assert_num_queries, drafter, release_manager):
    """The board at 5 and 50 rules (pending and live, with Promote buttons) makes the same queries."""
    client.force_login(release_manager)
    _add_rules(drafter, 0, 5)
    client.get(BOARD)  # warm the per-process caches outside the count
    baseline_all, baseline_pending = _queries(client, {}), _queries(client, {"show": "pending", "q": "rule"})
    _add_rules(drafter, 5, 45)
    with django_assert_num_queries(baseline_all):
        response = client.get(BOARD)
    page = html.unescape(response.content.decode())
    assert len(rows(page)) == 50
    assert page.count(PROMOTE_BUTTON) == 25
    with django_assert_num_queries(baseline_pending):
        response = client.get(BOARD, {"show": "pending", "q": "rule"})
    assert len(rows(html.unescape(response.content.decode()))) == 25


def test_board_markup_has_unique_ids_labels_and_a_caption(client, drafter, release_manager):
    """Several Promote windows on one page: every id once, labelled filters, a captioned table."""
    three_rules(drafter)
    client.force_login(release_manager)
    page = client.get(BOARD).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert '<label class="usa-label" for="board-q">' in page and 'id="board-q"' in page
    assert '<label class="usa-label" for="board-show">' in page and 'id="board-show"' in page
    assert page.count("<caption") == page.count("<table") == 1
    for slug in ("ahead", "pending"):
        assert f'id="promote-modal-{slug}"' in page and f'form="promote-form-{slug}"' in page


def test_no_promote_button_for_the_versions_own_drafter(client, on_staging):
    """A release manager who drafted the version on staging gets no Promote button: they may not promote it."""
    from tests.conftest import make_user

    author = make_user("author_and_releaser", settings.PDP_DRAFTER_GROUP, settings.PDP_RELEASE_GROUP)
    RuleVersion.objects.filter(pk=on_staging.pk).update(uploaded_by=author)
    client.force_login(author)
    assert "Promote to production" not in client.get(reverse("environments")).content.decode()
    assert (
        "Promote to production" not in client.get(reverse("rule-detail", args=[on_staging.rule.slug])).content.decode()
    )


def test_a_superseded_version_on_staging_is_not_waiting_for_production(
    client, push, in_production, drafter, counsel, budget_officer, release_manager
):
    """Staging rolled back to a version a newer approval superseded: no Promote, not counted as waiting."""
    from deployments.services import promote, rollback
    from reviews.services import approve_version

    v2 = push(document(cost=97_000_000), actor=drafter)
    v2.refresh_from_db()
    for reviewer in (counsel, budget_officer):
        approve_version(v2, actor=reviewer, expected_hash=v2.content_hash)
    promote(v2.rule, actor=release_manager, environment=Environment.PRODUCTION)
    rollback(v2.rule, actor=release_manager, reason="staging back", environment=Environment.STAGING, to="previous")
    staging = Release.objects.get(rule=v2.rule, environment__name=Environment.STAGING)
    assert staging.version.number == 1 and staging.version.status == "superseded"

    client.force_login(release_manager)
    board = client.get(reverse("environments")).content.decode()
    assert "Promote to production" not in board
    pending = client.get(reverse("environments") + "?show=pending").content.decode()
    assert "No rule matches." in pending
    home = client.get(reverse("home")).content.decode()
    assert "Nothing on staging waits for production." in home
    page = client.get(reverse("rule-detail", args=[v2.rule.slug])).content.decode()
    assert "Promote to production" not in page
