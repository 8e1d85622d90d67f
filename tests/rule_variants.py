"""The wildfire example as another rule of its own, for tests and benchmarks that push many rules.

Kept free of pytest, so `bench/` can import it too.
"""

import json
from pathlib import Path

WILDFIRE = json.loads((Path(__file__).resolve().parent.parent / "examples" / "wildfire-aid-2024.json").read_text())


def wildfire_variant(slug, *, amount, title):
    """The wildfire example as rule `slug` paying `amount`: no duplicate-law finding against the others."""
    document = json.loads(json.dumps(WILDFIRE))
    scale = amount / WILDFIRE["amount"]
    document.update(
        rule=slug,
        title=title,
        program=slug,
        amount=amount,
        max_payment=amount,
        cost=round(WILDFIRE["cost"] * scale),
    )
    for case in document["tests"]:
        if case["expect"]["eligible"]:
            case["expect"]["amount"] = amount
    return document


# A rule drawn at random over the synthetic population's columns, for the properties that must hold
# for any rule (a partitioned simulation adds up to the one-process figures).
COUNTIES = ("Multnomah", "Lane", "Jackson", "Josephine", "Wheeler")


def _condition(rng):
    kind = rng.randrange(6)
    if kind == 0:
        return {">=": [{"var": "age"}, rng.randrange(0, 90)]}
    if kind == 1:
        return {"<": [{"var": "income"}, rng.randrange(0, 150_000, 500)]}
    if kind == 2:
        return {">=": [{"var": "household_size"}, rng.randrange(1, 7)]}
    if kind == 3:
        return {"==": [{"var": rng.choice(["in_fire_zone", "home_damaged", "insured", "veteran"])}, rng.random() < 0.7]}
    if kind == 4:
        return {"in": [{"var": "county"}, rng.sample(COUNTIES, rng.randrange(1, 4))]}
    return {"!": [{"var": "insured"}]}


def _amount(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return rng.choice([250, 1000, 1234.56, 5000])
    if kind == 1:
        return {"*": [{"var": "household_size"}, rng.choice([333.33, 1250.5, 700])]}
    if kind == 2:
        return {"if": [_condition(rng), rng.choice([2500, 999.99]), rng.choice([100, 10.01])]}
    return {"-": [rng.choice([6000, 9000.5]), {"/": [{"var": "income"}, rng.choice([7, 13.3, 20])]}]}


def random_rule(rng, slug):
    """A rule `slug` with random eligibility (one to three conditions) and amount, capped or not."""
    conditions = [_condition(rng) for _ in range(rng.randrange(1, 4))]
    eligibility = conditions[0] if len(conditions) == 1 else {rng.choice(["and", "or"]): conditions}
    document = {"rule": slug, "eligibility": eligibility, "amount": _amount(rng)}
    if rng.random() < 0.6:
        document["max_payment"] = rng.choice([3000, 4500.75, 10_000])
    return document


def pushable(document):
    """A random_rule as a whole document the pipeline takes: the wildfire example's other parts, no tests."""
    whole = json.loads(json.dumps(WILDFIRE))
    whole.pop("tests")
    whole.pop("max_payment")
    whole.update(document, title=f"Random rule {document['rule']}", program=document["rule"], budget_cap=10**12)
    whole["inputs"] = sorted(_variables(document))
    return whole


def _variables(node):
    if isinstance(node, dict):
        if "var" in node and isinstance(node["var"], str):
            return {node["var"]}
        return set().union(*(_variables(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_variables(v) for v in node)) if node else set()
    return set()
