"""Every write to rules, versions, checks, datasets and funds (one function per state change)."""

from .datasets import create_fund, set_default_dataset, update_fund, upload_dataset
from .pipeline import (
    budget_limits,
    committed_cost,
    committed_costs,
    comparison_rules,
    ensure_default_dataset,
    live_rules,
    push_rule_version,
    run_lint,
    run_simulation,
    sweep_stuck_checks,
)

__all__ = [
    "budget_limits",
    "comparison_rules",
    "committed_cost",
    "committed_costs",
    "create_fund",
    "ensure_default_dataset",
    "live_rules",
    "push_rule_version",
    "run_lint",
    "run_simulation",
    "set_default_dataset",
    "sweep_stuck_checks",
    "update_fund",
    "upload_dataset",
]
