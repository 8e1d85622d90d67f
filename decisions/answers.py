"""A batch's answer written as JSON text: the bytes DRF's JSONRenderer gives for the same body (compact,
UTF-8 with non-ASCII characters as they are, `\\u2028` and `\\u2029` escaped), without a dict per answer.

Ten thousand citizens times each rule in force is tens of thousands of answers, and a dict for each,
then json.dumps over them all, cost several times what deciding them costs. Here each version's constant
part is written once, each distinct (eligible, amount) pair once, and each citizen's line is put together
from those pieces by C-level joins. Whatever the fast path cannot promise to write exactly as json.dumps
would (an amount that is not a float, say) is written value by value by json.dumps itself.
"""

import json
import math
from array import array
from collections.abc import Sequence
from itertools import chain, repeat
from json.encoder import encode_basestring  # the C encoder's own, as json.dumps(ensure_ascii=False) uses
from typing import Any

from rest_framework.utils.encoders import JSONEncoder

from engine.logic.evaluate import EvaluationError

from .serving import LiveVersion

_LITERAL = {True: "true", False: "false", None: "null"}
_TEST_ACCOUNT = {True: ',"test_account":true,"decisions":[', False: ',"test_account":false,"decisions":['}
_NULLS = 'null,"amount":null'


def dumps(value: Any) -> str:
    """`value` as DRF's JSONRenderer writes it (with the project's settings), before it escapes U+2028/9."""
    return json.dumps(value, cls=JSONEncoder, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def head(live: LiveVersion, in_force: bool) -> str:
    """An answer of `live` up to its `eligible` value: the same for every citizen it decides."""
    return (
        f'{{"rule":{dumps(live.rule)},"version":{dumps(live.number)},"environment":{dumps(live.environment)},'
        f'"in_force":{dumps(in_force)},"eligible":'
    )


class Answers:
    """One version's answers to the citizens it decided, in their order: eligible, amount (as answered,
    rounded to the cent) and error per citizen, for the decision log, and `texts()` for the body.

    `eligible` and `amount` are the decider's, None for both at the rows `errors` names; `why` says why
    the version is not in force on the day asked for (and then nothing was decided)."""

    def __init__(
        self,
        live: LiveVersion,
        eligible: list[Any],
        amount: list[Any],
        errors: dict[int, EvaluationError],
        why: str | None = None,
    ) -> None:
        self.live, self.why, self.eligible = live, why, eligible
        self._errors = {index: str(error) for index, error in errors.items()}
        self.errors: list[str | None] = [None] * len(eligible)
        for index, message in self._errors.items():
            self.errors[index] = message
        self._keys: list[int] | None = None
        if why is not None:
            self.amount: list[Any] = [None] * len(eligible)
            return
        if errors:
            # The rows that raised keep 0.0 in their place while the others are read; they answer null.
            amount = amount.copy()
            for index in errors:
                amount[index] = 0.0
        self._keys = _float_keys(eligible, amount)
        if self._keys is None:
            self.amount = [round(value, 2) for value in amount]
        else:
            # Each distinct amount rounded once, keyed by its bits rather than its value: 0.0 and -0.0 are
            # equal, but written apart.
            self._rounding = {key: round(value, 2) for key, value in dict(zip(self._keys, amount, strict=True)).items()}
            self.amount = list(map(self._rounding.__getitem__, self._keys))
        for index in errors:
            self.amount[index] = None

    def __len__(self) -> int:
        return len(self.eligible)

    def texts(self) -> list[str]:
        """Each citizen's answer as JSON text."""
        if self.why is not None:
            return [f'{head(self.live, False)}{_NULLS},"not_in_force":{dumps(self.why)}}}'] * len(self)
        start = head(self.live, True)
        if self._keys is None:
            texts = [
                f'{start}{dumps(one)},"amount":{dumps(value)}}}'
                for one, value in zip(self.eligible, self.amount, strict=True)
            ]
        else:
            # Each distinct (eligible, amount) written once.
            written = {
                (one, key): f'{start}{_LITERAL[one]},"amount":{_float(self._rounding[key])}}}'
                for one, key in set(zip(self.eligible, self._keys, strict=True))
            }
            texts = list(map(written.__getitem__, zip(self.eligible, self._keys, strict=True)))
        for index, message in self._errors.items():
            texts[index] = f'{start}{_NULLS},"error":{dumps(message)}}}'
        return texts


def _float_keys(eligible: list[Any], amount: list[Any]) -> list[int] | None:
    """Each amount's IEEE 754 bits, when every amount is a float and every eligibility a bool or None (what
    the deciders give); None otherwise, and the answers are written value by value."""
    if set(map(type, amount)) != {float} or not set(map(type, eligible)) <= {bool, type(None)}:
        return None
    return array("Q", array("d", amount).tobytes()).tolist()


def _float(value: float) -> str:
    # json.dumps writes a finite float as float.__repr__, and refuses the others (allow_nan=False).
    return float.__repr__(value) if math.isfinite(value) else dumps(value)


def body(prefix: dict[str, Any], accounts: Sequence[str], tests: Sequence[bool], rules: list[list[str]]) -> bytes:
    """The batch's answer: `prefix` (request_id, date, versions), then `results`, one line per citizen with
    its answers from `rules` (each rule's answer text per citizen, in rule order; "" where none).

    Every piece goes into one join, so that no string is made per citizen on the way."""
    if rules and all(all(texts) for texts in rules):
        # Every rule answers every citizen: its answers go in as they are, a comma between two rules'.
        decisions: list[Any] = [rules[0]]
        for texts in rules[1:]:
            decisions += [repeat(","), texts]
    else:
        decisions = [(",".join(filter(None, answers)) for answers in zip(*rules, strict=True)) if rules else repeat("")]
    closing = ["]},"] * len(accounts)
    closing[-1] = "]}"
    pieces = zip(
        repeat('{"account_id":'),
        map(encode_basestring, accounts),
        map(_TEST_ACCOUNT.__getitem__, tests),
        *decisions,
        closing,
    )
    opening = dumps({**prefix, "results": []})[:-2]
    text = "".join(chain((opening,), chain.from_iterable(pieces), ("]}",)))
    # JSONRenderer escapes these two everywhere, so that the JSON is also valid JavaScript.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()
