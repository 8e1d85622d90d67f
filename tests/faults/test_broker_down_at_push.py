"""The broker down at push time: the push is stored, the person is told its checks are queued, and they
run once the broker is back.

The broker is a Redis of the test's own, stopped before the pushes. A push commits, then fails to
publish its lint job; the failure is logged and the push answers as usual. When Redis is back (empty,
as it keeps nothing on disk), the sweeper, run here as beat would run it, re-queues the checks that
never reached it, and a real worker runs them, each once.
"""

import time

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.services import verify_chain
from checks.models import CheckRun
from checks.tasks import sweep_stuck_checks
from deployments.apps import ensure_environments
from rules.models import RuleVersion
from tests.api.conftest import token_for
from tests.conftest import require_postgres
from tests.deployments.support import POSTGRES_ONLY

from .support import lost_and_duplicated, publishing_to, slow_rule, tally, wait_for

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]


def test_pushes_while_the_broker_is_down_are_kept_and_checked_once_it_is_back(
    client, drafter, own_redis, start_worker, settings, capsys, caplog
):
    """A push on the portal and one on the API, with Redis down, answer as usual; their checks run once Redis is back."""
    require_postgres()
    ensure_environments()
    settings.PDP_STUCK_CHECK_SECONDS = 1
    own_redis.kill()
    client.force_login(drafter)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(drafter)}")
    with publishing_to(own_redis.url):
        started = time.monotonic()
        page = client.post(
            reverse("rule-upload"), {"text": slow_rule("fault-broker-down-portal").decode()}, follow=True
        )
        answer = api.post("/api/v1/rules/", slow_rule("fault-broker-down-api"), content_type="application/json")
        # Publishing gives up after a few quick retries (about 0.6 s each here): nobody waits long.
        assert time.monotonic() - started < 10

        assert page.status_code == 200 and page.redirect_chain, page.content[:2000]
        assert "Lint and simulation are queued" in page.content.decode()
        assert answer.status_code == 201, answer.content
        body = answer.json()
        assert (body["status"], body["lint"]["status"]) == ("queued", "queued")
        versions = list(RuleVersion.objects.filter(rule__slug__startswith="fault-broker-down").order_by("pk"))
        assert [v.status for v in versions] == ["queued", "queued"]
        assert "could not be published" in caplog.text

        own_redis.start()
        start_worker(own_redis.url)
        wait_for(lambda: sweep_stuck_checks()["requeued"], what="the sweeper re-queuing the lint checks", interval=0.5)
        wait_for(
            lambda: CheckRun.objects.filter(version__in=versions, kind="simulation", status="passed").count() == 2,
            what="both simulations passing",
            interval=0.2,
        )

    outcomes = [lost_and_duplicated(v) for v in versions]
    line = tally(
        "broker down at push time",
        capsys,
        survived=sum(outcome == (0, 0) for outcome in outcomes),
        total=len(outcomes),
        lost=sum(lost for lost, _ in outcomes),
        duplicated=sum(duplicated for _, duplicated in outcomes),
    )
    assert line == "faults survived 2/2, lost 0, duplicated 0", outcomes
    assert verify_chain()[1] == []
