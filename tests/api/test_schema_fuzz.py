"""The REST API answers as its OpenAPI schema says, whatever a client sends (schemathesis, in-process).

The schema the portal serves at /api/schema/ is loaded and every operation in it (schemathesis leaves
out the schema document itself) is called as each kind of caller: a drafter, counsel, a budget
officer, a release manager, a person with no role, a payment system whose token is limited to
decisions, and nobody (no credentials, or made-up ones). The database holds wildfire-aid-2024 with v1
live in production and v2 approved and live on staging, wildfire-recovery-tiered with v1 in review,
and wildfire-aid-2025 whose v1 failed its lint. Each operation first gets one request naming each of
these objects and each request that succeeds for the right caller (a login, a push, a sign-off, a
comment, a promotion, a rollback, a decision), then generated ones: data that fits the schema, about
half of it naming the real objects rather than ones that do not exist, and data that does not fit.
Every request starts from the same state: it runs in a savepoint rolled back after it.

No answer may be a server error, and each must be documented: its status, its content type and its
body's shape. Each caller must succeed at exactly what its role allows. Generation is derandomized
and bounded (EXAMPLES per operation, caller and kind of data), so a run makes the same requests every
time and takes well under a minute; PDP_FUZZ_SCALE=10 makes ten times as many, for a deeper search.
"""

import io
import json
import os
import time
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from deployments.services import schedule_promotion
from tests.conftest import EXAMPLES as EXAMPLES_DIR
from tests.conftest import approve_by_both, document, push_and_check
from tests.deployments.support import PASSWORD
from tokens.services import issue_token

SLUG = "wildfire-aid-2024"
IN_REVIEW = "wildfire-recovery-tiered"
LINT_FAILED = "wildfire-aid-2025"
ROLES = ("drafter", "counsel", "budget_officer", "release_manager", "outsider", "system", "anonymous")
CHECKS = {
    "server errors": not_a_server_error,
    "schema violations": response_schema_conformance,
    "undocumented statuses": status_code_conformance,
    "undocumented content types": content_type_conformance,
}
# What each caller can do (tests/api/test_permission_matrix.py has why), so what must answer 2xx at least once:
# the fuzzing reached real objects. Anything else answering 2xx would be a leak.
READ = {
    "auth_token", "auth_token_revoke", "rules_list", "rule_status", "version_detail", "version_comment",
    "rule_schedules",
}  # fmt: skip
SUCCEEDS = {
    "drafter": READ | {"rules_push"},
    "counsel": READ | {"version_review"},
    "budget_officer": READ | {"version_review"},
    "release_manager": READ | {"rule_promote", "rule_rollback", "decisions", "rule_schedule", "rule_schedule_cancel"},
    "outsider": {"auth_token", "auth_token_revoke", "rules_list"},  # a list of the nothing they may see
    "system": {"auth_token", "decisions"},  # its token opens nothing else, not even its own revocation
    "anonymous": {"auth_token"},
}
SCALE = int(os.environ.get("PDP_FUZZ_SCALE", "1"))
# Generated requests per operation, caller and kind of data.
EXAMPLES = {GenerationMode.POSITIVE: 5 * SCALE, GenerationMode.NEGATIVE: 2 * SCALE}
FUZZING = hypothesis_settings(
    derandomize=True,  # the same requests on every run
    database=None,  # and none replayed from an earlier run's failures
    deadline=timedelta(seconds=5),
    phases=[Phase.explicit, Phase.generate],  # each failure is collected, not shrunk
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


class Tally:
    """What the fuzzing did across the module's tests, written at the end of pytest's report."""

    def __init__(self):
        self.operations, self.roles, self.unsatisfiable = set(), set(), set()
        self.pairs, self.cases, self.seconds = 0, 0, 0.0
        self.statuses = Counter()
        self.failures = dict.fromkeys(CHECKS, 0)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.cases:
            return
        statuses = ", ".join(f"{status} x{n}" for status, n in sorted(self.statuses.items()))
        failures = ", ".join(f"{name} {n}" for name, n in self.failures.items())
        terminalreporter.write_line(
            f"schema fuzzing: {len(self.operations)} operations x {len(self.roles)} roles ({self.pairs} pairs), "
            f"{self.cases} cases in {self.seconds:.1f} s; {failures}; answers {statuses}"
        )


@pytest.fixture(scope="module")
def tally(request):
    plugin = Tally()
    request.config.pluginmanager.register(plugin, f"schema-fuzzing-{id(plugin)}")
    return plugin


@pytest.fixture
def world(in_production, drafter, counsel, budget_officer, release_manager, outsider, system):
    """wildfire-aid-2024 v1 live in production and v2 approved, live on staging; wildfire-recovery-tiered v1
    in review; wildfire-aid-2025 v1 failed its lint; and each caller's token."""
    v2 = push_and_check(document(title="Wildfire Relief Payment 2024 (amended)"), actor=drafter)
    approve_by_both(v2, counsel, budget_officer)
    in_review = push_and_check((EXAMPLES_DIR / f"{IN_REVIEW}.json").read_bytes(), actor=drafter)
    lint_failed = push_and_check(document(rule=LINT_FAILED, title="Wildfire Relief Payment 2025"), actor=drafter)
    assert (v2.status, in_review.status, lint_failed.status) == ("approved", "in_review", "lint_failed")
    people = {
        "drafter": drafter,
        "counsel": counsel,
        "budget_officer": budget_officer,
        "release_manager": release_manager,
        "outsider": outsider,
    }
    # A person's own token, as logging in issues it; the payment system's, as an operator does.
    tokens = {role: issue_token(user, actor=user, name="schema fuzzing")[1] for role, user in people.items()}
    key = io.StringIO()
    call_command("issue_token", system.username, "--scope", "decisions", stdout=key, stderr=io.StringIO())
    tokens["system"] = key.getvalue().strip()
    tokens["anonymous"] = None
    # v1, live on staging before v2, scheduled to go there again: what a cancellation finds.
    staging_again = schedule_promotion(
        v2.rule, actor=release_manager, environment="staging", number=1, at=timezone.now() + timedelta(days=30)
    )
    return {"in_review": in_review, "tokens": tokens, "schedule": staging_again.pk}


@pytest.fixture(autouse=True)
def _login_rate(settings):
    """A lower limit on token requests, so that each caller's fuzzing meets the throttle's 429 too."""
    settings.PDP_LOGIN_RATE = "5/min"


@pytest.fixture
def app():
    """The portal as a WSGI application, on the test's database connection and inside its transaction.

    Django's test client keeps a request from closing the connection at its start and end (which would
    end the test's transaction); the bare handler does not, so that is switched off here the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def real_objects(operation_id, world):
    """Path parameters that name real objects, and (path parameters, body) that succeed for the right caller."""
    hash_in_review = world["in_review"].content_hash
    rule, in_review = {"slug": SLUG}, {"slug": IN_REVIEW, "number": 1}
    rules = [rule, {"slug": IN_REVIEW}, {"slug": LINT_FAILED}]
    versions = [{"slug": SLUG, "number": 1}, {"slug": SLUG, "number": 2}, in_review, {"slug": LINT_FAILED, "number": 1}]
    paths = {
        "rule_status": rules,
        "rule_promote": rules,
        "rule_rollback": rules,
        "rule_schedules": rules,
        "rule_schedule": rules,
        "rule_schedule_cancel": [{"slug": SLUG, "id": world["schedule"]}],
        "version_detail": versions,
        "version_comment": versions,
        "version_review": versions,
    }
    working = {
        "version_comment": [(in_review, {"body": "Checked the thresholds."})],
        "version_review": [
            (in_review, {"decision": "approve", "expected_hash": hash_in_review}),
            (in_review, {"decision": "reject", "expected_hash": hash_in_review, "comment": "Too generous."}),
        ],
        # v2 from staging to production; v1 again, which production serves already.
        "rule_promote": [(rule, {}), (rule, {"environment": "production", "version": 1, "note": "Again."})],
        "rule_rollback": [
            (rule, {"reason": "Paused by Congress."}),
            (rule, {"reason": "Back to nothing.", "to": "v0", "expected_from": "v1"}),
        ],
        "rule_schedule": [(rule, {"at": (timezone.now() + timedelta(days=30)).isoformat(), "note": "In a month."})],
        "rule_schedule_cancel": [({"slug": SLUG, "id": world["schedule"]}, {"reason": "Not needed."})],
        "decisions": [
            (None, {"account_id": "acct-1", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True}}),
            (None, {"account_id": "acct-2", "citizen": {"age": "forty"}}),
        ],
        "rules_push": [(None, json.loads(document(title="Wildfire Relief Payment 2024 (second amendment)")))],
        "auth_token": [
            (None, {"username": "counsel", "password": PASSWORD}),
            (None, {"username": "counsel", "password": "not the password"}),
        ],
    }
    return paths.get(operation_id, []), working.get(operation_id, [])


def negatable(operation):
    """Whether anything in the operation's requests can be made not to fit its schema (credentials aside).

    Any text fits a path parameter that is a string with no pattern, so such a parameter cannot be.
    """
    constrained = any(
        p.definition["schema"].get("type") != "string" or "pattern" in p.definition["schema"]
        for p in operation.path_parameters
    )
    return constrained or any(len(part) for part in (operation.query, operation.body))


def explicit_requests(operation, world):
    """The requests made first, every time: one naming each real object, and each that succeeds for the right caller."""
    paths, working = real_objects(operation.definition.raw["operationId"], world)
    cases = [operation.Case(path_parameters=path) for path in paths]
    cases += [
        operation.Case(path_parameters=path or {}, body=body, media_type="application/json") for path, body in working
    ]
    if not (operation.path_parameters or operation.query or len(operation.body)):
        cases.append(operation.Case())  # it takes nothing: the one request there is
    return cases


def generated_requests(operation, mode, world):
    """Generated requests, about half of them naming real objects (where the data that does not fit can be a body)."""
    paths, _ = real_objects(operation.definition.raw["operationId"], world)
    generated = operation.as_strategy(mode)
    if mode is GenerationMode.NEGATIVE and not len(operation.body):
        paths = []  # with the path parameters fixed, nothing would be left not to fit
    real = [operation.as_strategy(mode, path_parameters=path) for path in paths]
    return st.one_of(st.one_of(*real), generated) if real else generated


def fuzz(operation, mode, *, role, world, tally, found, succeeded):
    """Send the requests to the operation as `role`; count them, collect each failure and each success."""
    token = world["tokens"][role]
    # A caller's own token replaces the credentials schemathesis makes up; nobody sends those, or none.
    headers = {"Authorization": f"Token {token}"} if token else None
    operation_id = operation.definition.raw["operationId"]

    def send(case):
        with transaction.atomic():
            response = case.call(headers=headers)
            tally.cases += 1
            tally.statuses[response.status_code] += 1
            if response.status_code < 300:
                succeeded.add(operation_id)
            for name, check in CHECKS.items():
                try:
                    case.validate_response(response, checks=[check], headers=headers)
                except FailureGroup as failure:
                    tally.failures[name] += 1
                    found.append(f"{role}, {mode.value} data: {name}\n{failure}")
            transaction.set_rollback(True)

    test = given(case=generated_requests(operation, mode, world))(send)
    if mode is GenerationMode.POSITIVE:
        for case in explicit_requests(operation, world):
            test = example(case=case)(test)
    try:
        hypothesis_settings(FUZZING, max_examples=EXAMPLES[mode])(test)()
    except Unsatisfiable:
        tally.unsatisfiable.add((operation.label, mode.value))


@pytest.mark.parametrize("role", ROLES)
def test_every_answer_is_documented(role, world, app, tally):
    """No request, from any caller, gets a server error or an answer the schema does not describe; each caller
    succeeds at exactly what its role allows."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    started, found, succeeded = time.monotonic(), [], set()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations.add(operation.label)
        tally.pairs += 1
        for mode in EXAMPLES:
            if mode is GenerationMode.POSITIVE or negatable(operation):
                fuzz(operation, mode, role=role, world=world, tally=tally, found=found, succeeded=succeeded)
    tally.roles.add(role)
    tally.seconds += time.monotonic() - started
    assert not found, f"{len(found)} failures:\n\n" + "\n\n".join(found)
    assert not tally.unsatisfiable, f"no data could be generated for {sorted(tally.unsatisfiable)}"
    assert succeeded == SUCCEEDS[role]
