"""`hms rule review`: approve or reject, for the content hash hms read."""

import re

import pytest

from tests.conftest import document


@pytest.fixture
def pushed(cli, people, wildfire_file):
    """The wildfire example pushed by the drafter through hms, in review."""
    result = cli("rule", "push", wildfire_file, "--user", "drafter")
    assert result.code == 0, result.err
    return result


def test_an_approval_that_leaves_roles_open_says_which(cli, pushed):
    """The first sign-off names its role and reviewer, and the roles still needed."""
    from reviews.models import Review

    result = cli("rule", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve", "--comment", "ok")

    assert result.code == 0, result.err
    assert result.lines == ["🖊  Approved as budget by budget_officer; still needed: legal"]
    review = Review.objects.get()
    assert (review.role, review.decision, review.comment) == ("budget", "approve", "ok")


def test_the_approval_is_given_on_the_hash_hms_read(cli, pushed):
    """hms sends the latest version's content hash, so the sign-off counts for that exact content."""
    from reviews.models import Review
    from rules.models import RuleVersion

    cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve")

    assert Review.objects.get().content_hash == RuleVersion.objects.get(number=1).content_hash


def test_a_rejection_prints_the_role_and_comment(cli, pushed):
    """--reject with a comment ends the review and echoes the role and the comment."""
    from rules.models import RuleVersion

    result = cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--reject", "--comment", "Cite sec. 3(b)")

    assert result.code == 0, result.err
    assert result.lines == ["✋ Rejected v1 (legal): Cite sec. 3(b)"]
    assert RuleVersion.objects.get(number=1).status == "rejected"


def test_reject_without_comment_exits_2_before_any_request(cli, dead_server):
    """--reject needs --comment: hms says so in one line and exits 2 without contacting the portal."""
    result = cli("rule", "review", "wildfire-aid-2024", "--reject", server=dead_server)

    assert result.code == 2
    assert result.out == ""
    assert result.err == "hms: --reject needs --comment TEXT saying why\n"


@pytest.mark.parametrize("flags", [[], ["--approve", "--reject"]])
def test_review_takes_exactly_one_decision(cli, dead_server, flags):
    """Neither or both of --approve and --reject is a one-line usage error, exit 2, before any request."""
    result = cli("rule", "review", "wildfire-aid-2024", *flags, "--comment", "x", server=dead_server)

    assert result.code == 2
    assert result.out == ""
    assert result.err == "hms: give one of --approve and --reject (see hms rule review --help)\n"


def test_reviewing_a_version_no_longer_in_review_is_a_409(cli, pushed, people):
    """A sign-off on a superseded version is refused (409): exit 1 and one line on stderr."""
    from rules.services import push_rule_version

    push_rule_version(document(title="Wildfire Relief, revised"), actor=people["drafter"])

    result = cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve", "--version", "1")

    assert result.code == 1
    assert result.out == ""
    assert re.fullmatch(r"hms: 409 invalid_state: Wildfire-Aid-2024 v1 is superseded, not in review\.\n", result.err)


def test_the_drafter_cannot_review_their_own_version(cli, pushed):
    """The portal's refusal (403 review_refused) becomes exit 1 with its message."""
    result = cli("rule", "review", "wildfire-aid-2024", "--user", "drafter", "--approve")

    assert result.code == 1
    assert result.err == "hms: 403 review_refused: The drafter of a version cannot review it.\n"


def test_a_failed_review_under_json_prints_the_error_object(cli, pushed):
    """With --json a refusal is also one JSON object on stdout, with the status and code."""
    result = cli("rule", "review", "wildfire-aid-2024", "--user", "drafter", "--approve", "--json")

    assert result.code == 1
    assert result.json == {
        "error": {"status": 403, "code": "review_refused", "message": "The drafter of a version cannot review it."}
    }
