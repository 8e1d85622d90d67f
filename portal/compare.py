"""Two versions of one rule side by side: what changed in plain words, the document diff, the figures."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.urls import reverse
from django.views.decorators.http import require_GET

from checks.models import CheckRun
from engine.document import parse_canonical
from pdp_portal import permissions

from .pages import render_page, rule_url, short_hash
from .presenters.changes import plain_changes
from .presenters.docdiff import compare, pretty_text
from .presenters.figures import count, money, number, people, signed_money

# The simulation figures compared, in order: (label, key in the result, how it is printed).
_FIGURES = (
    ("Population rows", "rows", count),
    ("Eligible rows", "eligible_rows", count),
    ("Recipients (weighted)", "recipients", people),
    ("Total cost", "cost", money),
    ("Average payment", "mean_payment", money),
    ("Largest payment", "max_payment", money),
)
# The figures against the version live in production when each was simulated (the result's "against_live").
_AGAINST_LIVE = (
    ("Newly eligible (people)", ("against_live", "newly_eligible", "people"), people),
    ("No longer eligible (people)", ("against_live", "no_longer_eligible", "people"), people),
    ("Cost change against production", ("against_live", "cost_delta"), signed_money),
)
_DIFFERENCE = {count: count, people: people, money: signed_money, signed_money: signed_money}


def _dig(result, path):
    for key in path:
        result = result.get(key) if isinstance(result, dict) else None
    return result


def _figure_row(label, old, new, show):
    """One table row: the figure of each version and the difference, when both are numbers."""
    a, b = number(old), number(new)
    difference = "—"
    if a is not None and b is not None:
        change = b - a
        difference = "no change" if change == 0 else _DIFFERENCE[show](change)
        if show in (count, people) and change > 0:
            difference = "+" + difference
    return {"label": label, "old": show(old) if old is not None else "—", "new": show(new) if new is not None else "—",
            "difference": difference}  # fmt: skip


def _figures(old_result, new_result):
    rows = [_figure_row(label, old_result.get(key), new_result.get(key), show) for label, key, show in _FIGURES]
    rows += [
        _figure_row(label, _dig(old_result, path), _dig(new_result, path), show) for label, path, show in _AGAINST_LIVE
    ]
    within = {True: "within budget", False: "over budget", None: "—"}
    rows.append(
        {
            "label": "Budget verdict",
            "old": within[old_result.get("within_budget")],
            "new": within[new_result.get("within_budget")],
            "difference": "",
        }
    )
    return rows


def _pick(versions, raw, default):
    """The version named by the query string's `name`, the default when it is absent."""
    if raw in (None, ""):
        return default, None
    try:
        number = int(raw)
    except ValueError:
        return default, f"“{raw[:20]}” is not a version number; pick one from the list."
    for version in versions:
        if version.number == number:
            return version, None
    return default, f"This rule has no v{number}; pick one of its versions from the list."


@login_required
@require_GET
def compare_versions(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    versions = list(rule.versions.defer("document").with_live_places().order_by("-number"))
    if not versions:
        raise Http404("This rule has no versions.")
    newest = versions[0]
    older = versions[1] if len(versions) > 1 else versions[0]
    old, old_error = _pick(versions, request.GET.get("from"), older)
    new, new_error = _pick(versions, request.GET.get("to"), newest)
    errors = [e for e in (old_error, new_error) if e]
    documents = dict(rule.versions.filter(pk__in={old.pk, new.pk}).values_list("pk", "document"))
    old_doc, new_doc = parse_canonical(documents[old.pk]), parse_canonical(documents[new.pk])
    results = dict(
        CheckRun.objects.filter(version__in=[old, new], kind=CheckRun.Kind.SIMULATION).values_list(
            "version_id", "result"
        )
    )
    diff = compare(pretty_text(old_doc), pretty_text(new_doc), old_label=old.label, new_label=new.label)
    diff["caption"] = f"Changes from {old.label} to {new.label}"
    context = {
        "rule": {"name": rule.display_name, "slug": rule.slug, "url": rule_url(rule)},
        "action": reverse("rule-compare", args=[rule.slug]),
        "choices": [{"number": v.number, "label": v.label, "status": v.status_label} for v in versions],
        "old": {"label": old.label, "number": old.number, "hash": short_hash(old.content_hash), "url": rule_url(rule, old.number)},
        "new": {"label": new.label, "number": new.number, "hash": short_hash(new.content_hash), "url": rule_url(rule, new.number)},
        "same_version": old.pk == new.pk,
        "errors": errors,
        "changes": plain_changes(old_doc, new_doc),
        "diff": diff,
        "figures": _figures(results.get(old.pk) or {}, results.get(new.pk) or {}),
        "simulated": {"old": bool(results.get(old.pk)), "new": bool(results.get(new.pk))},
    }  # fmt: skip
    return render_page(request, "rules/compare.html", context, section="rules", status=400 if errors else 200)
