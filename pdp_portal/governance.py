"""The governance checks in force: the built-in set as the settings configure it, and the operator's own.

Read afresh at each lint and each promotion, so a setting tightened today refuses tomorrow's
promotion of a version that passed lint under the old one. The checks themselves, and their
protocol, are in engine/governance.py. A bad entry point is reported by `manage.py check`
(the system check below), not at the first promotion.
"""

import functools
import math
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from django.conf import settings
from django.core import checks

from engine.governance import (
    DEFAULT_FORBIDDEN_INPUTS,
    GovernanceCheck,
    GovernanceFinding,
    builtin_checks,
    run_checks,
)

ENTRY_POINT_GROUP = "pdp_portal.governance"


class GovernanceConfigError(Exception):
    """A governance setting that cannot be used; the message says which and why."""


def _load(spec: Any) -> GovernanceCheck:
    """The callable a `module.path:callable` entry point names."""
    if not isinstance(spec, str) or not EntryPoint.pattern.fullmatch(spec.strip()):
        raise GovernanceConfigError(
            f"{spec!r} is not an entry point: write it as module.path:callable (for example mychecks:no_lotteries)."
        )
    try:
        check = EntryPoint(name=spec, value=spec.strip(), group=ENTRY_POINT_GROUP).load()
    except Exception as exc:  # whatever the operator's module raises on import, it is reported, not a crash
        raise GovernanceConfigError(f"{spec!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    if not callable(check):
        raise GovernanceConfigError(f"{spec!r} names {type(check).__name__}, which is not a callable check.")
    return check


def _builtin() -> list[tuple[str, GovernanceCheck]]:
    configured: Any = settings.PDP_GOVERNANCE_FORBIDDEN_INPUTS
    forbidden = DEFAULT_FORBIDDEN_INPUTS if configured is None else configured
    if isinstance(forbidden, str) or not all(isinstance(name, str) for name in forbidden):
        raise GovernanceConfigError(f"PDP_GOVERNANCE_FORBIDDEN_INPUTS must be a list of names, not {forbidden!r}.")
    limit = settings.PDP_GOVERNANCE_MAX_PAYMENT
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit) or limit < 0
    ):
        raise GovernanceConfigError(f"PDP_GOVERNANCE_MAX_PAYMENT must be a number of at least 0, not {limit!r}.")
    checks = builtin_checks(
        forbidden_inputs=forbidden,
        max_payment=limit,
        require_authority=bool(settings.PDP_GOVERNANCE_REQUIRE_AUTHORITY),
    )
    return [(f"built-in {getattr(check, '__name__', 'check')}", check) for check in checks]


@functools.cache
def _installed(path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    """The installed packages' checks, read once per `sys.path` (`path`): the scan of every distribution takes
    tens of milliseconds, and a promotion asks under its lock. A package installed later needs a restart."""
    return tuple(entry_points(group=ENTRY_POINT_GROUP))


def configured_checks() -> list[tuple[str, GovernanceCheck]]:
    """Every check in force now, named: the built-in set, PDP_GOVERNANCE_CHECKS, then installed packages' checks.

    Raises GovernanceConfigError on a setting or entry point that cannot be used.
    """
    named = _builtin()
    specs = settings.PDP_GOVERNANCE_CHECKS
    if isinstance(specs, str):
        raise GovernanceConfigError(f"PDP_GOVERNANCE_CHECKS must be a list of entry points, not {specs!r}.")
    named.extend((spec, _load(spec)) for spec in specs)
    for point in _installed(tuple(sys.path)):
        try:
            check = point.load()
        except Exception as exc:  # as _load: a package's broken check is reported, not a crash
            raise GovernanceConfigError(
                f"The installed governance check {point.name} ({point.value}) cannot be loaded: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        named.append((f"{point.name} ({point.value})", check))
    return named


def in_force() -> list[tuple[str, GovernanceCheck]]:
    """The checks in force now, named. A configuration that cannot be used becomes one check that always fails
    (GOVERNANCE_CHECK_ERROR), so nothing passes checks that could not run."""
    try:
        return configured_checks()
    except GovernanceConfigError as exc:
        message = f"The governance checks could not be loaded, so no rule can be shown to keep them: {exc}"

        def unusable(document: dict[str, Any]) -> list[GovernanceFinding]:
            return [GovernanceFinding("GOVERNANCE_CHECK_ERROR", message)]

        return [("governance settings", unusable)]


def governance_findings(document: dict[str, Any]) -> list[dict[str, str]]:
    """The findings of the checks in force now on `document` (lint findings, all errors)."""
    return run_checks(document, in_force())


@checks.register()
def check_governance_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every start of the portal) fails on a governance setting or entry point that
    cannot be used, instead of the first promotion meeting it."""
    try:
        configured_checks()
    except GovernanceConfigError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix PDP_GOVERNANCE_CHECKS, PDP_GOVERNANCE_FORBIDDEN_INPUTS or PDP_GOVERNANCE_MAX_PAYMENT "
                '(docs/operation.md, "Governance checks").',
                id="pdp_portal.E101",
            )
        ]
    return []
