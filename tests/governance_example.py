"""A governance check as an operator writes one (docs/operation.md, "Governance checks"), registered by the
tests with PDP_GOVERNANCE_CHECKS = ["tests.governance_example:no_means_test_below_median"]."""

from engine.governance import GovernanceFinding

MEDIAN_INCOME = 75_000


def no_means_test_below_median(document):
    """Relief may be means-tested, but no household below the median income may be left out."""
    for index, clause in enumerate((document.get("eligibility") or {}).get("and", [])):
        (operator, args), *_ = clause.items()
        if operator in ("<", "<=") and args[0] == {"var": "income"} and args[1] < MEDIAN_INCOME:
            yield GovernanceFinding(
                "GOVERNANCE_MEANS_TEST",
                f"The rule excludes households earning {args[1]:,} or more, below the median income of "
                f"{MEDIAN_INCOME:,}.",
                f"$.eligibility.and[{index}]",
            )


NOT_A_CHECK = 42
