"""Every write to rules, versions, checks, datasets and funds (one function per state change)."""

from .datasets import create_fund, set_default_dataset, update_fund, upload_dataset
from .pipeline import (
    committed_cost,
    committed_costs,
    comparison_rules,
    ensure_default_dataset,
    evaluate_budget,
    live_rules,
    push_rule_version,
    run_lint,
    run_simulation,
    sweep_stuck_checks,
)

__all__ = [
    "comparison_rules",
    "committed_cost",
    "committed_costs",
    "create_fund",
    "ensure_default_dataset",
    "evaluate_budget",
    "live_rules",
    "push_rule_version",
    "run_lint",
    "run_simulation",
    "set_default_dataset",
    "sweep_stuck_checks",
    "update_fund",
    "upload_dataset",
]
