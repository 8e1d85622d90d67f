"""Lint: the checks a rule document must pass before it is simulated, in DESIGN.md's order.

Each finding is {"code", "severity", "message", "path"}; a message is written for a lawyer,
and the path is the JSON path of the part of the document it concerns.
"""

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .document import json_path, schema_errors
from .governance import GovernanceCheck, run_checks
from .logic.evaluate import CompiledRule, EvaluationError, is_number
from .logic.validate import analyse

ERROR, WARNING, INFO = "error", "warning", "info"

# No figure in a rule comes near a quadrillion (dollars, people, thresholds). Larger ones are refused
# at lint: summed over a population they can overflow a double, and the simulation's figures with it.
MAX_MAGNITUDE = 10**15

# {"code", "severity", "message", "path"}
Finding = dict[str, str]


def finding(code: str, severity: str, message: str, path: str = "$") -> Finding:
    return {"code": code, "severity": severity, "message": message, "path": path}


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f["severity"] == ERROR for f in findings)


@dataclass(frozen=True)
class LiveRule:
    """A version of another rule that is live somewhere, as the duplicate and conflict scans see it."""

    slug: str
    number: int
    environment: str
    content_hash: str
    document: dict[str, Any]


def lint_document(
    document: dict[str, Any],
    *,
    columns: Collection[str] | None = None,
    live: Sequence[LiveRule] = (),
    governance: Iterable[tuple[str, GovernanceCheck]] = (),
) -> list[Finding]:
    """All findings for `document`, in DESIGN.md's order, then those of the governance checks.

    `columns` are the population's column names; `live` the versions of other rules live now
    (for the duplicate-law and conflict scans); `governance` the named governance checks in force
    (engine/governance.py), which run once the document has passed the schema and the logic's limits.
    """
    findings = [finding("SCHEMA", ERROR, message, path) for path, message in schema_errors(document)]
    if findings:
        return findings  # later checks read fields the schema has not vouched for

    findings = _magnitude_findings(document)
    if findings:
        return findings  # the logic, the tests and the simulation would compute with them

    variables: set[str] = set()
    for part in ("eligibility", "amount"):
        if part not in document:
            continue
        analysis = analyse(document[part], f"$.{part}")
        findings.extend(finding(p.code, ERROR, p.message, p.path) for p in analysis.problems)
        variables |= analysis.variables
    if has_errors(findings):
        return findings

    if "eligibility" not in document:
        findings.append(
            finding(
                "NO_ELIGIBILITY",
                WARNING,
                "The rule has no eligibility logic, so its simulation can only check the declared cost.",
                "$",
            )
        )
        if "cost" not in document:
            findings.append(
                finding(
                    "NO_COST",
                    ERROR,
                    "A rule without eligibility logic must declare its expected cost.",
                    "$.cost",
                )
            )
    amount = document.get("amount")
    if amount is not None and not is_number(amount) and not isinstance(amount, (dict, list)):
        findings.append(
            finding("AMOUNT_TYPE", ERROR, "The amount must be a number or JSON Logic that gives one.", "$.amount")
        )
    if "max_payment" not in document and not is_number(amount):
        findings.append(
            finding("NO_MAX_PAYMENT", WARNING, "No maximum payment is set, so computed amounts are not capped.", "$")
        )

    findings.extend(_inputs_findings(document, variables, columns))
    findings.extend(_window_findings(document))
    findings.extend(_test_findings(document))
    findings.extend(_duplicate_findings(document, live))
    findings.extend(_conflict_findings(document, live))
    findings.extend(run_checks(document, governance))
    return findings


def _magnitude_findings(document: dict[str, Any]) -> list[Finding]:
    """Every number in the document, the logic and the tests included, larger than MAX_MAGNITUDE in size."""
    found = []
    stack: list[tuple[Any, list[int | str]]] = [(document, [])]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, dict):
            stack.extend((value, [*parts, key]) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((value, [*parts, index]) for index, value in reversed(list(enumerate(node))))
        elif isinstance(node, (int, float)) and not isinstance(node, bool) and abs(node) > MAX_MAGNITUDE:
            if isinstance(node, float):
                shown = f"{node:.3g}"
            else:
                digits = len(str(abs(node)))
                shown = f"{node:,}" if digits <= 24 else f"A number of {digits:,} digits"
            found.append(
                finding(
                    "NUMBER_TOO_LARGE",
                    ERROR,
                    f"{shown} is larger than the largest figure a rule may hold, {MAX_MAGNITUDE:,} (a quadrillion): "
                    "amounts, costs and thresholds summed over a population would overflow.",
                    json_path(parts),
                )
            )
    return found


def _inputs_findings(document: dict[str, Any], variables: set[str], columns: Collection[str] | None) -> list[Finding]:
    found = []
    declared = document.get("inputs")
    if declared is None:
        if variables:
            found.append(
                finding(
                    "INPUTS_UNDECLARED",
                    WARNING,
                    f"The rule reads {', '.join(sorted(variables))} but declares no inputs.",
                    "$",
                )
            )
    else:
        for name in sorted(variables - set(declared)):
            found.append(
                finding(
                    "INPUT_NOT_DECLARED",
                    ERROR,
                    f"The rule reads {name!r}, which is not among its declared inputs.",
                    "$.inputs",
                )
            )
        for index, name in enumerate(declared):
            if name not in variables:
                found.append(
                    finding(
                        "INPUT_UNUSED",
                        ERROR,
                        f"The declared input {name!r} is never read by the rule.",
                        f"$.inputs[{index}]",
                    )
                )
    if columns is not None:
        for name in sorted(variables - set(columns)):
            found.append(
                finding(
                    "INPUT_NOT_IN_POPULATION",
                    ERROR,
                    f"The rule reads {name!r}, which is not a column of the population it is simulated on.",
                    "$.inputs",
                )
            )
    return found


def _window_findings(document: dict[str, Any]) -> list[Finding]:
    start, end = document.get("valid_from"), document.get("valid_to")
    if start and end and dt.date.fromisoformat(start) >= dt.date.fromisoformat(end):
        return [
            finding(
                "VALIDITY_WINDOW",
                ERROR,
                f"The rule must start before it ends ({start} is not before {end}).",
                "$.valid_to",
            )
        ]
    return []


def _test_findings(document: dict[str, Any]) -> list[Finding]:
    tests = document.get("tests", [])
    if not tests:
        return [finding("NO_TESTS", INFO, "The rule has no embedded tests.", "$")]
    found = []
    cap = document.get("max_payment")
    compiled = CompiledRule.from_document(document)
    for index, test in enumerate(tests):
        label = test.get("name") or f"test {index + 1}"
        path = f"$.tests[{index}]"
        expect = test["expect"]
        if cap is not None and expect.get("amount", 0) > cap:
            found.append(
                finding(
                    "TEST_ABOVE_MAX_PAYMENT",
                    ERROR,
                    f"Test {label!r} expects {expect['amount']:,}, more than the maximum payment of {cap:,}.",
                    f"{path}.expect.amount",
                )
            )
            continue
        try:
            eligible, amount = compiled.decide(test["citizen"])
        except EvaluationError as exc:
            found.append(finding("TEST_ERROR", ERROR, f"Test {label!r} could not be evaluated: {exc}.", path))
            continue
        problems = []
        if "eligible" in expect and expect["eligible"] != eligible:
            problems.append(
                f"expected {'eligible' if expect['eligible'] else 'not eligible'}, got {'eligible' if eligible else 'not eligible'}"
            )
        if "amount" in expect and abs(expect["amount"] - amount) > 0.005:
            problems.append(f"expected amount {expect['amount']:,}, got {amount:,.2f}")
        if problems:
            found.append(finding("TEST_FAILED", ERROR, f"Test {label!r} failed: {'; '.join(problems)}.", path))
    return found


def _windows_overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two rules' validity windows share a day (an open end overlaps everything)."""
    start_a, end_a = a.get("valid_from", "0000-01-01"), a.get("valid_to", "9999-12-31")
    start_b, end_b = b.get("valid_from", "0000-01-01"), b.get("valid_to", "9999-12-31")
    return start_a <= end_b and start_b <= end_a


def _content_key(document: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in document.items() if k != "rule"}, sort_keys=True)


def _logic_key(document: dict[str, Any]) -> str:
    return json.dumps([document.get("eligibility"), document.get("amount")], sort_keys=True)


def _duplicate_findings(document: dict[str, Any], live: Iterable[LiveRule]) -> list[Finding]:
    """The duplicate-law scan: the same content, or the same eligibility and amount, live under another rule."""
    found = []
    seen = set()
    content, key = _content_key(document), _logic_key(document)
    for other in live:
        if other.slug == document["rule"] or other.slug in seen:
            continue
        where = f"{other.slug} v{other.number} (live on {other.environment})"
        if _content_key(other.document) == content:
            seen.add(other.slug)
            found.append(
                finding(
                    "DUPLICATE_CONTENT", ERROR, f"The same document, but for its identifier, is live as {where}.", "$"
                )
            )
        elif "eligibility" in document and _logic_key(other.document) == key:
            seen.add(other.slug)
            overlap = _windows_overlap(document, other.document)
            found.append(
                finding(
                    "DUPLICATE_LOGIC",
                    ERROR if overlap else WARNING,
                    f"The same eligibility and amount are already law as {where}"
                    + (
                        ", and the validity periods overlap, so people would be paid twice."
                        if overlap
                        else ", though in a validity period that does not overlap this one."
                    ),
                    "$.eligibility",
                )
            )
    return found


def _conflict_findings(document: dict[str, Any], live: Iterable[LiveRule]) -> list[Finding]:
    """Name the live rules of the same program; the simulation measures how far their populations overlap."""
    program = document.get("program")
    if not program:
        return []
    others = sorted({o.slug for o in live if o.slug != document["rule"] and o.document.get("program") == program})
    if not others:
        return []
    return [
        finding(
            "SAME_PROGRAM",
            INFO,
            f"Other rules of the program {program!r} are live ({', '.join(others)}); the simulation measures "
            "how many people both would pay.",
            "$.program",
        )
    ]
