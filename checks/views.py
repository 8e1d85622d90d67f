"""The checks of a version as the rule page shows them, and the fragment htmx polls while they run.

An adapter like the rule pages: it reads the checks the person may see and hands the template
plain values (figures from portal/presenters).
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from engine.document import parse_canonical
from pdp_portal import permissions
from portal.pages import IN_FLIGHT, seconds, short_hash, tag_class
from portal.presenters.charts import chart_specs
from portal.presenters.docdiff import path_lines
from portal.presenters.figures import count as _count
from portal.presenters.figures import money as _money
from portal.presenters.figures import people as _people
from portal.presenters.figures import signed_money as _signed_money

from .models import CheckRun


def checks_context(rule, version):
    checks = {c.kind: c for c in CheckRun.objects.filter(version=version)}
    rows = [_check_row(checks.get(kind), kind) for kind in (CheckRun.Kind.LINT, CheckRun.Kind.SIMULATION)]
    polling = version.status in IN_FLIGHT or any(not c.is_finished for c in checks.values())
    # Once the checks are done, not on every poll while they run (the document can be 1 MiB):
    if not polling and any(f["path"] for row in rows for f in row.get("findings", [])):
        # Each finding's line in the document as the page shows it (indented by two, keys sorted).
        lines = path_lines(parse_canonical(version.document))
        for row in rows:
            for finding in row.get("findings", []):
                finding["line"] = _line_of(finding["path"], lines)
    return {
        "url": reverse("version-checks", args=[rule.slug, version.number]),
        "polling": polling,
        "version": version.label,
        "rows": rows,
    }


def _line_of(path, lines):
    """The line where a finding's path starts, or where its nearest existing parent starts."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _check_row(check, kind):
    row = {"kind": kind, "title": "Lint" if kind == CheckRun.Kind.LINT else "Simulation"}
    if check is None:
        note = "Runs after lint passes." if kind == CheckRun.Kind.SIMULATION else "Not started."
        return {**row, "exists": False, "note": note}
    row.update(
        {
            "exists": True,
            "status": check.get_status_display(),
            "status_class": tag_class(check.status),
            "active": not check.is_finished,
            "progress": check.progress,
            "progress_note": check.progress_note,
            "duration": seconds(check.duration_s),
            "attempts": check.attempts,
            "engine_version": check.engine_version,
            "dataset_hash": short_hash(check.dataset_hash),
            "findings": [
                {
                    "severity": f.get("severity", ""),
                    "severity_class": tag_class(f.get("severity")),
                    "code": f.get("code", ""),
                    "message": f.get("message", ""),
                    "path": f.get("path", ""),
                }
                for f in check.findings or []
            ],
        }
    )
    if kind == CheckRun.Kind.SIMULATION and check.plan.get("partitions"):
        row["partitions"] = _partition_rows(check)
    if kind == CheckRun.Kind.SIMULATION and check.result:
        row.update(_simulation_figures(check.result))
        row["charts"] = chart_specs(check.result)
    return row


def _partition_rows(check):
    """Each partition of a partitioned simulation: its rows, pass, state, worker and time (one query)."""
    rows = []
    for part in check.partitions.all():
        if part.is_done:
            state = "done"
        elif part.started_at:
            state = "running" if not check.is_finished else "stopped"
        else:
            state = "queued" if not check.is_finished else "not run"
        rows.append(
            {
                "number": part.index + 1,
                "stage": "histogram" if part.stage == part.Stage.HISTOGRAM else "figures",
                "first": _count(part.first_row + 1),
                "last": _count(part.first_row + part.rows),
                "state": state,
                "worker": part.worker.split("@")[0] if part.worker else "—",
                "attempts": part.attempts,
                "duration": seconds(part.duration_s) if part.duration_s is not None else "—",
            }
        )
    return rows


def _plain(value):
    """A citizen's value or a trace result as written in a rule: `true`, `null`, `40`, `Shasta`."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _yes_no(value):
    return "yes" if value else "no"


_EVALUATION = {
    "compiled": "evaluated in columns",
    "scalar": "evaluated one citizen at a time",
    "declared": "declared cost used, nothing evaluated",
}


def _simulation_figures(result):
    within = result.get("within_budget")
    simulated = result.get("cost_source") == "simulated"
    figures = [
        ("Population rows", _count(result.get("rows"))),
        ("Cost from", "the rule's logic (simulated)" if simulated else "the declared cost"),
        ("Eligible rows", _count(result.get("eligible_rows"))),
        ("Recipients (weighted)", _people(result.get("recipients"))),
        ("Total cost", _money(result.get("cost"))),
        ("Mean payment", _money(result.get("mean_payment"))),
        ("Max payment", _money(result.get("max_payment"))),
    ]
    if "budget_limit" in result:
        figures += [
            ("Budget limit", f"{_money(result['budget_limit'])} ({result.get('binding_limit', '')})"),
            ("Binding limit", result.get("binding_limit", "")),
            ("Within budget", "yes" if within else "no"),
            ("Headroom" if within else "Over budget by", _money(result.get("headroom" if within else "over_by"))),
        ]
    limits = [
        {"name": name, "amount": _money(amount), "binding": name == result.get("binding_limit")}
        for name, amount in (result.get("limits") or {}).items()
    ]
    by_county = [
        {"county": c.get("county", ""), "recipients": _people(c.get("recipients")), "cost": _money(c.get("cost"))}
        for c in result.get("by_county") or []
    ]
    # Results stored before the simulation compared versions have none of these keys: a section
    # shows only what the result holds, and the "nothing to compare" notes only for newer results.
    compared = simulated and "overlaps" in result
    return {
        "figures": [{"label": label, "value": value} for label, value in figures],
        "limits": limits,
        "by_county": by_county,
        "within_budget": within,
        "histogram": [
            {
                "range": f"{_money(b.get('from'))} – {_money(b.get('to'))}",
                "people": _people(b.get("people")),
                "rows": _count(b.get("rows")),
                "cost": _money(b.get("cost")),
            }
            for b in result.get("histogram") or []
        ],
        "against_live": _against_live_display(result),
        "against_live_note": (
            "Nothing is live in production to compare with (no live version of this rule has eligibility logic)."
            if compared and result.get("against_live") is None
            else ""
        ),
        "overlaps": [
            {
                "rule": o.get("rule", ""),
                "version": f"v{o['version']}" if o.get("version") is not None else "—",
                "people": _people(o.get("people")),
                "rows": _count(o.get("rows")),
                "cost": _money(o.get("cost_of_this_rule")),
            }
            for o in result.get("overlaps") or []
        ],
        "overlaps_note": (
            "No other rule of the program live in production pays any of the same people."
            if compared and not result.get("overlaps")
            else ""
        ),
        "examples": [_example_display(e) for e in result.get("examples") or []],
        "reproducibility": _reproducibility(result),
    }


def _against_live_display(result):
    """The comparison with the version live in production, as display strings; None when there is none."""
    against = result.get("against_live")
    if not against:
        return None
    new = against.get("newly_eligible") or {}
    gone = against.get("no_longer_eligible") or {}
    live_cost = against.get("live_cost")
    cost = result.get("cost")
    delta = against.get("cost_delta")
    if delta is None and live_cost is not None and cost is not None:
        delta = float(cost) - float(live_cost)
    return {
        "changes": [
            {"label": "Newly eligible", "people": _people(new.get("people")), "rows": _count(new.get("rows"))},
            {"label": "No longer eligible", "people": _people(gone.get("people")), "rows": _count(gone.get("rows"))},
            {"label": "Amount changed", "people": "—", "rows": _count(against.get("amount_changed_rows"))},
        ],
        "costs": [
            {"label": "Live cost", "value": _money(live_cost)},
            {"label": "Cost of this version", "value": _money(cost)},
            {"label": "Cost delta", "value": _signed_money(delta)},
            {"label": "Live recipients", "value": _people(against.get("live_recipients"))},
        ],
    }


_EXAMPLE_KINDS = {
    "gains": "gains (eligible now, not under the live version)",
    "loses": "loses (eligible under the live version, not now)",
    "eligible": "eligible",
    "not eligible": "not eligible",
}


def _example_display(example):
    """One example citizen: their values, the decision, and the steps that led to it."""
    outcome = [
        ("Eligible", _yes_no(example.get("eligible"))),
        ("Amount", _money(example.get("amount"))),
    ]
    if "live_eligible" in example:
        outcome += [
            ("Live eligible", _yes_no(example.get("live_eligible"))),
            ("Live amount", _money(example.get("live_amount"))),
        ]
    trace = example.get("trace") or {}
    steps = trace.get("steps") or []
    kind = example.get("kind", "")
    return {
        "kind": kind,
        "kind_label": _EXAMPLE_KINDS.get(kind, kind),
        "row": _count(example.get("row")),
        "citizen": [{"name": name, "value": _plain(value)} for name, value in (example.get("citizen") or {}).items()],
        "outcome": [{"label": label, "value": value} for label, value in outcome],
        "steps": [
            {
                "number": index,
                "path": step.get("path", ""),
                "expression": step.get("expression", ""),
                "result": _plain(step.get("result")),
                "decision": index == len(steps),
            }
            for index, step in enumerate(steps, start=1)
        ],
        "trace_error": trace.get("error") or "",
    }


def _reproducibility(result):
    """What reproduces the figures: the engine, the rule and dataset hashes, how the rule was evaluated."""
    parts = []
    if result.get("engine"):
        parts.append({"label": "engine", "short": str(result["engine"]), "full": str(result["engine"])})
    for key, label in (("rule_hash", "rule hash"), ("dataset_hash", "dataset hash")):
        digest = result.get(key)
        if digest:
            parts.append({"label": label, "short": short_hash(digest), "full": digest})
    evaluation = result.get("evaluation")
    if not (parts or evaluation):
        return None
    return {"parts": parts, "evaluation": _EVALUATION.get(evaluation, evaluation or "")}


@login_required
@require_GET
def version_checks(request, slug, number):
    rule = permissions.get_rule_for_user(request.user, slug)
    version = rule.versions.filter(number=number).first()
    if version is None:
        raise Http404(f"No version v{number}.")
    checks = checks_context(rule, version)
    response = render(request, "checks/_checks.html", {"checks": checks})
    if request.htmx and not checks["polling"]:
        # The checks just finished while the page watched: reload it, so the version's status
        # and the review buttons it now has are shown too.
        response["HX-Refresh"] = "true"
    return response
