"""Every write to rules, versions, checks, datasets and funds (one function per state change)."""

from .pipeline import (
    budget_limits,
    committed_cost,
    ensure_default_dataset,
    push_rule_version,
    run_lint,
    run_simulation,
    sweep_stuck_checks,
)

__all__ = [
    "budget_limits",
    "committed_cost",
    "ensure_default_dataset",
    "push_rule_version",
    "run_lint",
    "run_simulation",
    "sweep_stuck_checks",
]
