"""Decisions: what every rule in force says about one citizen, for one account.

Pointers are read from the database on every request, so a promote or rollback takes effect for
the very next decision served by any process. Compiled rules are cached by content hash, which
names their content exactly.
"""

from functools import lru_cache
from typing import Any

from engine.document import parse_canonical
from engine.logic.evaluate import CompiledRule, EvaluationError
from rules.models import RuleVersion

from .models import Environment, Release, TestAccount


@lru_cache(maxsize=512)
def _compiled(version_id: int, content_hash: str) -> CompiledRule:
    """A live version's compiled rule; its document is read only on a cache miss."""
    text = RuleVersion.objects.values_list("document", flat=True).get(pk=version_id, content_hash=content_hash)
    return CompiledRule.from_document(parse_canonical(text))


def decide(citizen: dict[str, Any], *, account_id: str) -> dict[str, Any]:
    """One answer per rule in force for this account: staging where a test account has one."""
    is_test = TestAccount.objects.filter(account_id=account_id).exists()
    releases = (
        Release.objects.filter(version__isnull=False)
        .select_related("rule", "environment", "version")
        .defer("version__document")
    )
    by_rule: dict[int, dict[str, Release]] = {}
    for pointer in releases:
        by_rule.setdefault(pointer.rule_id, {})[pointer.environment.name] = pointer
    answers = []
    for pointers in by_rule.values():
        release = (pointers.get(Environment.STAGING) if is_test else None) or pointers.get(Environment.PRODUCTION)
        if release is None:
            continue
        version = release.version
        assert version is not None  # the query keeps the pointers at a version
        answer: dict[str, Any] = {
            "rule": release.rule.slug,
            "version": version.number,
            "content_hash": version.content_hash,
            "environment": release.environment.name,
        }
        try:
            eligible, amount = _compiled(version.pk, version.content_hash).decide(citizen)
            answer.update({"eligible": eligible, "amount": round(amount, 2)})
        except EvaluationError as exc:
            answer.update({"eligible": None, "amount": None, "error": str(exc)})
        answers.append(answer)
    answers.sort(key=lambda a: a["rule"])
    return {"account_id": account_id, "test_account": is_test, "decisions": answers}
