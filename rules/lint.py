"""Lint: the checks a rule document must pass before it is simulated, in DESIGN.md's order.

Each finding is {"code", "severity", "message", "path"}; a message is written for a lawyer,
and the path is the JSON path of the part of the document it concerns.
"""

import datetime as dt

from .document import schema_errors
from .logic.evaluate import CompiledRule, EvaluationError, is_number
from .logic.validate import analyse

ERROR, WARNING, INFO = "error", "warning", "info"


def finding(code, severity, message, path="$"):
    return {"code": code, "severity": severity, "message": message, "path": path}


def has_errors(findings):
    return any(f["severity"] == ERROR for f in findings)


def lint_document(document, *, columns=None):
    """All findings for `document`; `columns` are the default population's column names."""
    findings = [finding("SCHEMA", ERROR, message, path) for path, message in schema_errors(document)]
    if findings:
        return findings  # later checks read fields the schema has not vouched for

    variables = set()
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
    return findings


def _inputs_findings(document, variables, columns):
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


def _window_findings(document):
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


def _test_findings(document):
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
