"""POST /api/v1/decisions and /api/v1/decisions/batch: every rule in force, decided for citizens.

Both read the serving snapshot (decisions.serving): one query per request unless something changed.
A token is found in the snapshot once per generation; a revoked token, a person's lost role or a new
test account moves the generation, so each takes effect for the very next request as a rollback does.
A good single decision request is answered by decisions/front.py, in front of Django, with read_decision_request
and decide_one below; everything else comes here.
"""

import contextlib
import datetime
import gc
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, cast

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, parser_classes
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from engine.batch import Answer, Columns
from engine.errors import InvalidInput
from engine.logic.evaluate import EvaluationError
from operations.context import request_id_from
from pdp_portal import schema
from pdp_portal.exceptions import NotPermitted
from pdp_portal.fields import Text
from pdp_portal.parsers import BatchJSONParser
from tokens.authentication import ExpiringTokenAuthentication
from tokens.models import ApiToken

from . import answers, serving
from .recorder import RECORDER, Served

BATCH_LIMIT = 10_000
ACCOUNT_ID_LENGTH = 100
NOT_ALLOWED = "You may not request decisions; this takes the Systems or release manager role."


class ServingTokenAuthentication(ExpiringTokenAuthentication):
    """Tokens as everywhere in the API, found in the serving snapshot after the first request."""

    def authenticate(self, request):
        self._request = request._request
        return super().authenticate(request)

    def find(self, key_hash: str) -> ApiToken | None:
        snapshot = serving.for_request(self._request)
        token = snapshot.tokens.get(key_hash)
        if token is None:
            token = super().find(key_hash)
            if token is not None:
                snapshot.tokens[key_hash] = token
        return token


class ServingTokenScheme(OpenApiAuthenticationExtension):
    """The same `Authorization: Token <key>` as every endpoint; named apart because its class is another."""

    target_class = ServingTokenAuthentication
    name = "decisionsTokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix=self.target.keyword)


AUTHENTICATION = [ServingTokenAuthentication, SessionAuthentication]


def request_id(request: Any) -> str:
    """The request's id, as operations.middleware gave it (X-Request-ID when it is a sensible one, else new)."""
    return getattr(request, "request_id", None) or request_id_from(request.META.get("HTTP_X_REQUEST_ID"))


def _on(value: Any) -> datetime.date:
    if value is None:
        return timezone.localdate()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
        except ValueError:
            pass
    return _bad_date(value)


def _bad_date(value: Any) -> datetime.date:
    raise InvalidInput(
        f"date: {value!r} is not a date; write it YYYY-MM-DD, e.g. {timezone.localdate().isoformat()}.",
        details={"field": "date"},
    )


def _answered(
    live: serving.LiveVersion,
    on: datetime.date,
    citizens: list[dict[str, Any]],
    at: float,
    rid: str,
    accounts: list[str],
    tests: list[bool],
) -> tuple[list[dict[str, Any]], Served]:
    """One version's answers for these citizens, in order, and the same as the decision log keeps them."""
    why = live.not_in_force(on)
    head: dict[str, Any] = {"rule": live.rule, "version": live.number}
    head.update(content_hash=live.content_hash, environment=live.environment)
    head["in_force"] = why is None
    n = len(citizens)
    eligible: list[bool | None] = [None] * n
    amount: list[float | None] = [None] * n
    errors: list[str | None] = [None] * n
    if why is not None:
        given = [{**head, "eligible": None, "amount": None, "not_in_force": why}] * n
    else:
        given = []
        decided = live.columns.decide(citizens) if n > 1 else [_one(live, citizens[0])]
        for index, result in enumerate(decided):
            if isinstance(result, Exception):
                errors[index] = str(result)
                given.append({**head, "eligible": None, "amount": None, "error": errors[index]})
            else:
                eligible[index], amount[index] = result[0], round(result[1], 2)
                given.append({**head, "eligible": eligible[index], "amount": amount[index]})
    served = Served(
        live=live,
        at=at,
        on=on,
        request_id=rid,
        accounts=accounts,
        test_accounts=tests,
        in_force=why is None,
        eligible=eligible,
        amount=amount,
        errors=errors,
        citizens=citizens,
    )
    return given, served


def _one(live: serving.LiveVersion, citizen: dict[str, Any]) -> Answer:
    try:
        return live.scalar.decide(citizen)
    except EvaluationError as exc:
        return exc


def _allowed(request) -> serving.Snapshot:
    snapshot = serving.for_request(request._request)
    if not snapshot.allows(request.user):
        raise NotPermitted(NOT_ALLOWED)
    return snapshot


class DecisionRequest(serializers.Serializer):
    account_id = Text(max_length=ACCOUNT_ID_LENGTH)
    citizen = serializers.DictField()
    date = serializers.CharField(
        required=False, help_text="The day to decide for, YYYY-MM-DD; today (the portal's time zone) when left out."
    )


def read_decision_request(data: Any) -> tuple[str, dict[str, Any], datetime.date]:
    """(account_id, citizen, date) of a decision request, checked as DecisionRequest documents them and
    refused in its words (ValidationError, or InvalidInput for the date); by hand, because building a
    serializer costs more than the decision."""
    if not isinstance(data, dict):
        raise ValidationError(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
        )
    errors: dict[str, list[str]] = {}
    account_id = data.get("account_id", _MISSING)
    if account_id is _MISSING:
        errors["account_id"] = ["This field is required."]
    elif account_id is None:
        errors["account_id"] = ["This field may not be null."]
    elif not isinstance(account_id, str):
        errors["account_id"] = [Text.default_error_messages["not_text"]]
    else:
        account_id = account_id.strip()
        if not account_id:
            errors["account_id"] = ["This field may not be blank."]
        elif len(account_id) > ACCOUNT_ID_LENGTH:
            errors["account_id"] = [f"Ensure this field has no more than {ACCOUNT_ID_LENGTH} characters."]
    citizen = data.get("citizen", _MISSING)
    if citizen is _MISSING:
        errors["citizen"] = ["This field is required."]
    elif citizen is None:
        errors["citizen"] = ["This field may not be null."]
    elif not isinstance(citizen, dict):
        errors["citizen"] = [f'Expected a dictionary of items but got type "{type(citizen).__name__}".']
    if data.get("date", _MISSING) is None:
        errors["date"] = ["This field may not be null."]
    if errors:
        raise ValidationError(errors)
    return account_id, citizen, _on(data.get("date"))


_MISSING = object()


def decide_one(snapshot: serving.Snapshot, rid: str, account_id: str, citizen: dict[str, Any], on) -> dict[str, Any]:
    """The body of a single decision's answer, its decisions handed to the decision log."""
    at = time.time()
    is_test, versions = snapshot.rules_for(account_id)
    answers, served = [], []
    for live in versions:
        (answer,), one = _answered(live, on, [citizen], at, rid, [account_id], [is_test])
        answers.append(answer)
        served.append(one)
    RECORDER.record(served)
    return {
        "request_id": rid,
        "date": on.isoformat(),
        "account_id": account_id,
        "test_account": is_test,
        "decisions": answers,
    }


def _decisions(request):
    snapshot = _allowed(request)
    account_id, citizen, on = read_decision_request(request.data)
    rid = request_id(request)
    return Response(decide_one(snapshot, rid, account_id, citizen, on), headers={"X-Request-ID": rid})


decisions = extend_schema(
    operation_id="decisions",
    request=DecisionRequest,
    responses=schema.responses(200, schema.DecisionResult),
    description=(
        "Every rule in force, decided for one citizen and account, on a date (today by default). A rule live "
        "but outside its valid_from/valid_to on that date answers in_force false and says why. Each answer is "
        "recorded in the decision log under the request id (X-Request-ID when sent, else a new one)."
    ),
)(api_view(["POST"])(authentication_classes(AUTHENTICATION)(_decisions)))
# The same endpoint with a trailing slash, which clients send too; documented once, above.
decisions_with_slash = extend_schema(exclude=True)(
    api_view(["POST"])(authentication_classes(AUTHENTICATION)(_decisions))
)


# ------------------------------------------------------------------------------------------- batch


_ACCOUNT_ID, _CITIZEN = itemgetter("account_id"), itemgetter("citizen")


def _batch_items(data: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The batch body's account ids and citizens, read by hand: a serializer per citizen costs more than deciding it."""
    unknown = set(data) - {"citizens", "date"}
    if unknown:
        raise InvalidInput(f"Unknown field(s): {', '.join(sorted(unknown))}.", details={"fields": sorted(unknown)})
    items = data.get("citizens")
    if not isinstance(items, list) or not items:
        raise InvalidInput(
            "citizens: a list of {account_id, citizen} objects is required.", details={"field": "citizens"}
        )
    if len(items) > BATCH_LIMIT:
        raise InvalidInput(
            f"citizens: {len(items):,} in one batch; the limit is {BATCH_LIMIT:,}. Split it.",
            details={"field": "citizens", "limit": BATCH_LIMIT},
        )
    return _well_formed(items) or _read_one_by_one(items)


def _well_formed(items: list[Any]) -> tuple[list[str], list[dict[str, Any]]] | None:
    """(account ids, citizens) when every item is as _read_one_by_one wants it, checked by passes over the
    whole list that run in C (a tenth of the loop's time); None when one is not, for the loop to say which."""
    if set(map(type, items)) != {dict} or set(map(len, items)) != {2}:
        return None
    try:
        accounts, citizens = list(map(_ACCOUNT_ID, items)), list(map(_CITIZEN, items))
    except KeyError:
        return None
    if set(map(type, accounts)) != {str} or set(map(type, citizens)) != {dict}:
        return None
    if max(map(len, accounts)) > ACCOUNT_ID_LENGTH or not all(map(str.strip, accounts)):
        return None
    return accounts, citizens


def _read_one_by_one(items: list[Any]) -> tuple[list[str], list[dict[str, Any]]]:
    accounts, citizens = [], []
    for index, item in enumerate(items):
        where = f"citizens[{index}]"
        if not isinstance(item, dict) or set(item) != {"account_id", "citizen"}:
            raise InvalidInput(f'{where}: write it as {{"account_id": …, "citizen": {{…}}}}.', details={"field": where})
        account_id, citizen = item["account_id"], item["citizen"]
        if not isinstance(account_id, str) or not account_id.strip() or len(account_id) > ACCOUNT_ID_LENGTH:
            raise InvalidInput(
                f"{where}.account_id: text of 1 to {ACCOUNT_ID_LENGTH} characters is required.",
                details={"field": f"{where}.account_id"},
            )
        if not isinstance(citizen, dict):
            raise InvalidInput(f"{where}.citizen: an object is required.", details={"field": f"{where}.citizen"})
        accounts.append(account_id)
        citizens.append(citizen)
    return accounts, citizens


@dataclass(frozen=True)
class _Part:
    """Citizens of a batch that one version decides: all of them, or those of test accounts, or the others."""

    indices: list[int] | None  # their places in the batch; None for all of them
    accounts: list[str]
    tests: list[bool]
    columns: Columns

    def __len__(self) -> int:
        return len(self.accounts)

    def served(self, answered: answers.Answers, at: float, on: datetime.date, rid: str) -> Served:
        """These citizens' decisions by one version, for the decision log (which reuses the columns read)."""
        decided = (answered.why is None, answered.eligible, answered.amount, answered.errors)
        return Served(
            answered.live, at, on, rid, self.accounts, self.tests, *decided, self.columns.citizens, self.columns
        )


class _Batch:
    """A batch's citizens, and its parts: each part's columns are read once, for every rule that decides it."""

    def __init__(self, accounts: list[str], citizens: list[dict[str, Any]], tests: list[bool]) -> None:
        self.accounts, self.citizens, self.tests = accounts, citizens, tests
        self.any_test = any(tests)
        self._parts: dict[bool | None, _Part] = {}

    def part(self, tests: bool | None) -> _Part:
        """All citizens (None), those of test accounts (True) or the others (False)."""
        if tests not in self._parts:
            if tests is None:
                self._parts[None] = _Part(None, self.accounts, self.tests, Columns(self.citizens))
            else:
                indices = [index for index, is_test in enumerate(self.tests) if is_test is tests]
                citizens = [self.citizens[index] for index in indices]
                accounts = [self.accounts[index] for index in indices]
                self._parts[tests] = _Part(indices, accounts, [tests] * len(indices), Columns(citizens))
        return self._parts[tests]


def _version_answers(live: serving.LiveVersion, on: datetime.date, part: _Part) -> answers.Answers:
    why = live.not_in_force(on)
    if why is not None:
        return answers.Answers(live, [None] * len(part), [None] * len(part), {}, why)
    if len(part) > 1:
        return answers.Answers(live, *live.columns.decide_columns(part.columns))
    # One citizen is decided as POST /decisions decides one.
    one = _one(live, part.columns.citizens[0])
    if isinstance(one, EvaluationError):
        return answers.Answers(live, [None], [None], {0: one})
    return answers.Answers(live, [one[0]], [one[1]], {})


def _rule_texts(size: int, decided: list[tuple[_Part, answers.Answers]]) -> list[str]:
    """A rule's answer to each citizen of the batch, from its versions' answers to their parts; "" for none."""
    if len(decided) == 1 and decided[0][0].indices is None:
        return decided[0][1].texts()
    texts = [""] * size
    for part, answered in decided:
        for index, text in zip(cast(list[int], part.indices), answered.texts(), strict=True):
            texts[index] = text
    return texts


class BatchItem(serializers.Serializer):
    account_id = serializers.CharField(max_length=ACCOUNT_ID_LENGTH)
    citizen = serializers.DictField()


class BatchRequest(serializers.Serializer):
    citizens = BatchItem(many=True, max_length=BATCH_LIMIT, min_length=1)
    date = serializers.CharField(required=False, help_text="YYYY-MM-DD; today when left out. One date for the batch.")


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is read and decided: its tens of thousands of new objects
    would otherwise set off full collections over all of them, for nothing (they hold no cycles)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _batch(request):
    with _collection_paused():
        return _decide_batch(request)


def _decide_batch(request):
    snapshot = _allowed(request)
    if not isinstance(request.data, dict):
        raise InvalidInput("The body must be a JSON object.")
    accounts, citizens = _batch_items(request.data)
    on = _on(request.data.get("date"))
    rid, at = request_id(request), time.time()
    batch = _Batch(accounts, citizens, list(map(snapshot.test_accounts.__contains__, accounts)))
    served, versions, by_rule = [], [], []
    rules = sorted(
        {live.rule_id: live.rule for live in (*snapshot.production.values(), *snapshot.staging.values())}.items(),
        key=lambda item: item[1],
    )
    for rule_id, _ in rules:
        production, staging = snapshot.production.get(rule_id), snapshot.staging.get(rule_id)
        groups: list[tuple[serving.LiveVersion, bool | None]] = []
        if staging is not None and batch.any_test:
            groups.append((staging, True))
            if production is not None:
                groups.append((production, False))
        elif production is not None:
            groups.append((production, None))
        decided = []
        for live, tests in groups:
            part = batch.part(tests)
            if not len(part):
                continue
            answered = _version_answers(live, on, part)
            versions.append(
                {
                    "rule": live.rule,
                    "version": live.number,
                    "environment": live.environment,
                    "content_hash": live.content_hash,
                    "citizens": len(part),
                }
            )
            served.append(part.served(answered, at, on, rid))
            decided.append((part, answered))
        if decided:
            by_rule.append(decided)
    RECORDER.record(served)
    content = answers.body(
        {"request_id": rid, "date": on.isoformat(), "versions": versions},
        accounts,
        batch.tests,
        [_rule_texts(len(accounts), decided) for decided in by_rule],
    )
    return _json_response(request, content, rid)


def _json_response(request, content: bytes, rid: str) -> HttpResponse:
    """`content`, written as JSONRenderer writes JSON; through the negotiated renderer instead when that
    writes something else (the browsable API, an `indent` asked for in Accept)."""
    renderer = request.accepted_renderer
    if (
        type(renderer) is JSONRenderer
        and (renderer.compact, renderer.strict, renderer.ensure_ascii) == (True, True, False)
        and renderer.get_indent(request.accepted_media_type, {}) is None
    ):
        return HttpResponse(content, content_type="application/json", headers={"X-Request-ID": rid})
    return Response(json.loads(content), headers={"X-Request-ID": rid})


decisions_batch = extend_schema(
    operation_id="decisions_batch",
    request=BatchRequest,
    responses=schema.responses(200, schema.BatchDecisionResult),
    description=(
        f"Up to {BATCH_LIMIT:,} citizens decided at once on one date, each as POST /decisions would decide it, "
        "in the order sent. The rules run as column expressions over the batch. Each answer names its rule, "
        "version and environment; `versions` gives each such version's content hash once, with how many "
        "citizens it decided."
    ),
)(api_view(["POST"])(authentication_classes(AUTHENTICATION)(parser_classes([BatchJSONParser])(_batch))))
