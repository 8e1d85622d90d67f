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
