"""Evaluating a rule for one citizen, with datalogic-py (Rust core)."""

import json
import math
from dataclasses import dataclass
from typing import Any, Self, TypeGuard, cast

import datalogic_py

ENGINE = datalogic_py.Engine()
ENGINE_VERSION = f"datalogic-py {datalogic_py.__version__}"


class EvaluationError(Exception):
    """The rule could not be evaluated for a citizen; the message says why, `part` says where."""

    def __init__(self, message: str, *, part: str) -> None:
        super().__init__(message)
        self.part = part  # "eligibility" or "amount"


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class CompiledRule:
    """A rule document's eligibility and amount, compiled once, evaluated many times."""

    has_eligibility: bool
    eligibility: datalogic_py.Rule | None  # a Rule whenever has_eligibility
    amount: datalogic_py.Rule | None  # None when the amount is amount_constant
    amount_constant: float | None
    max_payment: float | None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Self:
        has_eligibility = "eligibility" in document
        eligibility = ENGINE.compile({"!!": [document["eligibility"]]}) if has_eligibility else None
        raw_amount = document.get("amount", document.get("max_payment", 0))
        if is_number(raw_amount):
            amount, constant = None, float(raw_amount)
        else:
            # As JSON text: handed a bare str, the engine would read "5000" as the number 5000.
            amount, constant = ENGINE.compile(json.dumps(raw_amount)), None
        return cls(has_eligibility, eligibility, amount, constant, document.get("max_payment"))

    def decide(self, citizen: dict[str, Any]) -> tuple[bool, float]:
        """(eligible, amount) for one citizen. Raises EvaluationError with the reason."""
        try:
            eligible = (
                bool(cast(datalogic_py.Rule, self.eligibility).evaluate(citizen)) if self.has_eligibility else True
            )
        except datalogic_py.DataLogicError as exc:
            raise EvaluationError(str(exc), part="eligibility") from None
        if not eligible:
            return False, 0.0
        try:
            value: Any = self.amount_constant if self.amount is None else self.amount.evaluate(citizen)
        except datalogic_py.DataLogicError as exc:
            raise EvaluationError(str(exc), part="amount") from None
        if not is_number(value):
            raise EvaluationError(f"the amount is {json.dumps(value)}, not a number", part="amount")
        value = max(0.0, float(value))
        if self.max_payment is not None:
            value = min(value, float(self.max_payment))
        return True, value


def trace(logic: Any, citizen: dict[str, Any]) -> dict[str, Any]:
    """Which clauses ran and what each gave: a list of {path, expression, result}."""
    envelope = json.loads(ENGINE.evaluate_with_trace(json.dumps(logic), json.dumps(citizen)))
    nodes = {}
    stack = [envelope.get("expression_tree") or {}]
    while stack:
        node = stack.pop()
        if "id" in node:
            nodes[node["id"]] = node.get("expression", "")
        stack.extend(node.get("children", []))
    pointers = envelope.get("pointers", {})
    steps = [
        {
            "path": pointers.get(str(step["node_id"]), ""),
            "expression": nodes.get(step["node_id"], ""),
            "result": step.get("result"),
        }
        for step in envelope.get("steps", [])
    ]
    return {"result": envelope.get("result"), "steps": steps, "error": envelope.get("error")}
