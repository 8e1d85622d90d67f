"""The REST API answers as its OpenAPI schema says, whatever a client sends (schemathesis, in-process).

The schema the portal serves at /api/schema/ is loaded and every operation in it (schemathesis leaves
out the schema document itself) is called with generated requests, first data that fits the schema,
then data that does not, as each kind of caller: a drafter, counsel, a budget officer, a release
manager, a person with no role, a payment system whose token is limited to decisions, and nobody
(no credentials, or made-up ones). The rule `wildfire-aid-2024` has v1 live in production, v2 live
on staging and v3 in review; about half the requests name it and those versions, so they reach real
objects rather than a 404, and some carry a body that succeeds for the right caller (a push, a
sign-off, a comment, a promotion, a rollback, a decision, a login). Every request starts from that
same state: it runs in a savepoint that is rolled back after it.

No answer may be a server error, and each must be documented: its status, its content type and its
body's shape. Generation is derandomized and bounded (EXAMPLES per operation, caller and kind of
data), so a run makes the same requests every time and takes well under a minute.
PDP_FUZZ_SCALE=10 makes ten times as many, for a deeper search on a laptop.
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
from hypothesis import HealthCheck, Phase, given, settings
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

from tests.conftest import approve_by_both, document, push_and_check
from tests.deployments.support import PASSWORD
from tokens.services import issue_token

SLUG = "wildfire-aid-2024"
ROLES = ("drafter", "counsel", "budget_officer", "release_manager", "outsider", "system", "anonymous")
CHECKS = {
    "server errors": not_a_server_error,
    "schema violations": response_schema_conformance,
    "undocumented statuses": status_code_conformance,
    "undocumented content types": content_type_conformance,
}
SCALE = int(os.environ.get("PDP_FUZZ_SCALE", "1"))
# Generated requests per operation, caller and kind of data.
EXAMPLES = {GenerationMode.POSITIVE: 8 * SCALE, GenerationMode.NEGATIVE: 4 * SCALE}
FUZZING = settings(
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
    """v1 live in production, v2 approved and live on staging, v3 in review, and each caller's token."""
    v2 = push_and_check(document(title="Wildfire Relief Payment 2024 (amended)"), actor=drafter)
    approve_by_both(v2, counsel, budget_officer)
    v3 = push_and_check(document(title="Wildfire Relief Payment 2024 (second amendment)"), actor=drafter)
    assert (v2.status, v3.status) == ("approved", "in_review")
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
    return {"v3": v3, "tokens": tokens}


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
    hash_v3 = world["v3"].content_hash
    rule = {"slug": SLUG}
    versions = [{"slug": SLUG, "number": n} for n in (1, 2, 3)]
    in_review = versions[2]
    paths = {
        "rule_status": [rule],
        "rule_promote": [rule],
        "rule_rollback": [rule],
        "version_detail": versions,
        "version_comment": versions,
        "version_review": versions,
    }
    working = {
        "version_comment": [(in_review, {"body": "Checked the thresholds."})],
        "version_review": [
            (in_review, {"decision": "approve", "expected_hash": hash_v3}),
            (in_review, {"decision": "reject", "expected_hash": hash_v3, "comment": "Too generous."}),
        ],
        "rule_promote": [(rule, {}), (rule, {"environment": "production", "version": 1, "note": "Again."})],
        "rule_rollback": [
            (rule, {"reason": "Paused by Congress."}),
            (rule, {"reason": "Back to nothing.", "to": "v0", "expected_from": "v1"}),
        ],
        "decisions": [
            (None, {"account_id": "acct-1", "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True}}),
            (None, {"account_id": "acct-2", "citizen": {"age": "forty"}}),
        ],
        "rules_push": [(None, json.loads(document(title="Wildfire Relief Payment 2024 (third amendment)")))],
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


def strategy_for(operation, mode, world):
    """Generated requests, about half of them naming real objects and, fitting the schema, some that succeed."""
    paths, working = real_objects(operation.definition.raw["operationId"], world)
    real = []
    if mode is GenerationMode.POSITIVE or len(operation.body):
        # With the path parameters fixed, only a body is left for data that does not fit.
        real += [operation.as_strategy(mode, path_parameters=path) for path in paths]
    if mode is GenerationMode.POSITIVE:
        real += [
            operation.as_strategy(mode, path_parameters=path, body=body, media_type="application/json")
            for path, body in working
        ]
    generated = operation.as_strategy(mode)
    return st.one_of(st.one_of(*real), generated) if real else generated


def fuzz(operation, mode, *, role, world, tally, found):
    """Send EXAMPLES[mode] generated requests to the operation as `role`; count them, collect each failure."""
    token = world["tokens"][role]
    # A caller's own token replaces the credentials schemathesis makes up; nobody sends those, or none.
    headers = {"Authorization": f"Token {token}"} if token else None

    @settings(FUZZING, max_examples=EXAMPLES[mode])
    @given(case=strategy_for(operation, mode, world))
    def run(case):
        with transaction.atomic():
            response = case.call(headers=headers)
            tally.cases += 1
            tally.statuses[response.status_code] += 1
            for name, check in CHECKS.items():
                try:
                    case.validate_response(response, checks=[check], headers=headers)
                except FailureGroup as failure:
                    tally.failures[name] += 1
                    found.append(f"{role}, {mode.value} data: {name}\n{failure}")
            transaction.set_rollback(True)

    try:
        run()
    except Unsatisfiable:
        tally.unsatisfiable.add((operation.label, mode.value))


@pytest.mark.parametrize("role", ROLES)
def test_every_answer_is_documented(role, world, app, tally):
    """No generated request, from any caller, gets a server error or an answer the schema does not describe."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)
    started, found = time.monotonic(), []
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations.add(operation.label)
        tally.pairs += 1
        for mode in EXAMPLES:
            if mode is GenerationMode.POSITIVE or negatable(operation):
                fuzz(operation, mode, role=role, world=world, tally=tally, found=found)
    tally.roles.add(role)
    tally.seconds += time.monotonic() - started
    assert not tally.unsatisfiable, f"no data could be generated for {sorted(tally.unsatisfiable)}"
    assert not found, f"{len(found)} failures:\n\n" + "\n\n".join(found)
