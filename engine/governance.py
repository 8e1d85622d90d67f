"""Governance (principle) checks: what no rule may do, whatever its budget and its reviewers say.

A check is any callable that takes the rule document (a dict that has passed the schema) and
returns its findings; no findings means the rule passes. The checks run at lint, as lint errors,
and again at every promotion with the settings in force then. The built-in set is here, pure:
its parameters (the protected attributes, the statutory maximum, whether a citation is required)
are passed in by whoever reads the settings.

    def no_lotteries(document):
        if "random" in json.dumps(document.get("eligibility")):
            yield GovernanceFinding("GOVERNANCE_NO_LOTTERY", "Eligibility may not be left to chance.", "$.eligibility")
"""

from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from .figures import money
from .logic.evaluate import is_number
from .logic.validate import analyse
from .text import is_blank

ERROR = "error"  # every governance finding is an error: a rule either keeps a principle or it does not

DEFAULT_FORBIDDEN_INPUTS = (
    "race",
    "ethnicity",
    "religion",
    "sex",
    "gender",
    "sexual_orientation",
    "disability",
    "national_origin",
)


class GovernanceFinding(NamedTuple):
    """One principle a rule breaks: a code (GOVERNANCE_...), a message a legal reader understands, and
    the JSON path of the part of the document concerned ("$" for the whole)."""

    code: str
    message: str
    path: str = "$"


class GovernanceCheck(Protocol):
    """A governance check: the rule document in, its findings out (an empty iterable when it passes)."""

    def __call__(self, document: dict[str, Any], /) -> Iterable[GovernanceFinding]: ...


def _parts(name: str) -> list[str]:
    return [part.casefold() for part in name.split(".")]


def _names_forbidden(name: str, forbidden: Sequence[list[str]]) -> bool:
    """Whether a variable name reads a forbidden attribute: one of its dotted parts (or a run of them, for a
    dotted forbidden name) is that attribute, in any letter case. `applicant.Race` reads `race`."""
    parts = _parts(name)
    return any(
        parts[start : start + len(bad)] == bad for bad in forbidden for start in range(len(parts) - len(bad) + 1)
    )


def forbidden_inputs_check(names: Collection[str]) -> GovernanceCheck:
    """No protected attribute may be declared as an input or read anywhere in the rule's logic."""
    forbidden = [_parts(name) for name in names if name.strip()]

    def forbidden_inputs(document: dict[str, Any]) -> list[GovernanceFinding]:
        found = []
        for index, name in enumerate(document.get("inputs") or []):
            if _names_forbidden(name, forbidden):
                found.append(
                    GovernanceFinding(
                        "GOVERNANCE_FORBIDDEN_INPUT",
                        f"The rule declares {name!r} as an input. It is a protected attribute, which no rule may use "
                        "to decide who is paid or how much.",
                        f"$.inputs[{index}]",
                    )
                )
        for part in ("eligibility", "amount"):
            if part not in document:
                continue
            for name, path in sorted(analyse(document[part], f"$.{part}").reads, key=lambda read: read[1]):
                if _names_forbidden(name, forbidden):
                    found.append(
                        GovernanceFinding(
                            "GOVERNANCE_FORBIDDEN_INPUT",
                            f"The rule's {part} reads {name!r}. It is a protected attribute, which no rule may use "
                            "to decide who is paid or how much.",
                            path,
                        )
                    )
        return found

    return forbidden_inputs


def _dollars(value: float) -> str:
    """$5,000 for a whole amount, $4,999.99 otherwise."""
    return money(value, cents=value != int(value))


def max_payment_check(limit: float) -> GovernanceCheck:
    """The most one person can be paid must not exceed the statutory maximum `limit`."""

    def statutory_max_payment(document: dict[str, Any]) -> list[GovernanceFinding]:
        if "max_payment" in document:
            cap, path, what = document["max_payment"], "$.max_payment", "maximum payment"
        elif is_number(document.get("amount")):
            cap, path, what = document["amount"], "$.amount", "fixed amount"
        else:
            return [
                GovernanceFinding(
                    "GOVERNANCE_MAX_PAYMENT",
                    f"The rule sets no maximum payment, so it cannot be shown to stay within the statutory maximum "
                    f"of {_dollars(limit)}; set max_payment to at most that.",
                    "$",
                )
            ]
        if cap > limit:
            return [
                GovernanceFinding(
                    "GOVERNANCE_MAX_PAYMENT",
                    f"The rule's {what} of {_dollars(cap)} exceeds the statutory maximum payment of {_dollars(limit)}.",
                    path,
                )
            ]
        return []

    return statutory_max_payment


def authority_check(document: dict[str, Any]) -> list[GovernanceFinding]:
    """The rule must cite its legal authority: at least one citation that is not blank."""
    citations = document.get("authority") or []
    if any(not is_blank(entry.get("citation")) for entry in citations):
        return []
    return [
        GovernanceFinding(
            "GOVERNANCE_AUTHORITY",
            "The rule cites no legal authority. Name at least one statute or regulation that authorises it "
            'in "authority" (for example {"citation": "Pub. L. 118-200, sec. 3(a)"}).',
            "$.authority" if "authority" in document else "$",
        )
    ]


def builtin_checks(
    *, forbidden_inputs: Collection[str], max_payment: float | None, require_authority: bool
) -> list[GovernanceCheck]:
    """The built-in set with these parameters: an empty `forbidden_inputs`, a `max_payment` of None and
    `require_authority` False each turn one off."""
    checks: list[GovernanceCheck] = []
    if forbidden_inputs:
        checks.append(forbidden_inputs_check(forbidden_inputs))
    if max_payment is not None:
        checks.append(max_payment_check(max_payment))
    if require_authority:
        checks.append(authority_check)
    return checks


def run_checks(document: dict[str, Any], checks: Iterable[tuple[str, GovernanceCheck]]) -> list[dict[str, str]]:
    """The findings of every named check on `document`, as lint findings (severity error).

    A check that raises, or returns something other than findings, fails closed: it gives a
    GOVERNANCE_CHECK_ERROR naming it, so a broken check never lets a rule through.
    """
    found: list[dict[str, str]] = []
    for name, check in checks:
        try:
            results = [_as_finding(result) for result in check(document)]
        except Exception as exc:  # a third-party check: whatever it raises, the rule is not let through
            results = [
                {
                    "code": "GOVERNANCE_CHECK_ERROR",
                    "message": f"The governance check {name} could not be run ({type(exc).__name__}: "
                    f"{str(exc)[:200] or 'no message'}), so the rule cannot be shown to keep it.",
                    "path": "$",
                }
            ]
        found.extend(
            {"code": r["code"], "severity": ERROR, "message": r["message"], "path": r["path"]} for r in results
        )
    return found


def _as_finding(result: Any) -> dict[str, str]:
    """A check's finding as a dict; a GovernanceFinding or any (code, message[, path]) triple of text will do."""
    if isinstance(result, dict):
        result = (result.get("code"), result.get("message"), result.get("path", "$"))
    parts = tuple(result)
    if len(parts) == 2:
        parts = (*parts, "$")
    if len(parts) != 3 or not all(isinstance(part, str) and part for part in parts):
        raise TypeError(f"a finding must be (code, message, path) as text, not {result!r}")
    code, message, path = parts
    return {"code": code, "message": message, "path": path if path.startswith("$") else f"$.{path}"}
