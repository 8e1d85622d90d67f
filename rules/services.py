"""Writes of rules and their versions: the push, which stores version n+1 and hands it to the checks."""

import re
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max

from audit.services import record_event, refusals_recorded
from checks.services import cancel_open_checks, queue_lint
from deployments.services import create_release_pointers
from engine.document import RESERVED_RULE_IDS, SLUG_PATTERN, canonical_text, content_hash, parse_strict
from engine.errors import InvalidDocument
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted

from .models import Rule, RuleVersion, VersionStatus


def _rule_for_push(slug: str, *, actor: User) -> tuple[Rule, bool]:
    """The rule with this slug, locked; created (with its release pointers) on the first push."""
    rule = Rule.objects.select_for_update().filter(slug=slug).first()
    if rule is not None:
        return rule, False
    try:
        with transaction.atomic():
            rule = Rule.objects.create(slug=slug, created_by=actor)
    except IntegrityError:  # another first push of the same slug won the race
        return Rule.objects.select_for_update().get(slug=slug), False
    create_release_pointers(rule)
    return rule, True


def push_rule_version(raw: bytes, *, actor: User) -> RuleVersion:
    """Store `raw` as version n+1 of its rule and queue lint. Older versions in flight are superseded."""
    with refusals_recorded("rule.push", actor=actor, data={"bytes": len(raw)}):
        if not permissions.can_push(actor):
            raise NotPermitted("You may not upload rules; ask an administrator for the drafter role.")
        document = parse_strict(raw)
        slug = document.get("rule")
        if not isinstance(slug, str) or not re.fullmatch(SLUG_PATTERN, slug):
            raise InvalidDocument(
                "The document must name its rule in \"rule\": lower-case letters, digits, '-' or '_', "
                "starting with a letter or digit, at most 100 characters."
            )
        if slug in RESERVED_RULE_IDS:
            raise InvalidDocument(
                f"{slug!r} cannot name a rule: the portal's own page /rules/{slug}/ takes that address. "
                f"Choose another identifier, e.g. '{slug}-rule'."
            )
        canonical = canonical_text(document)
        digest = content_hash(canonical)
        with transaction.atomic():
            rule, created = _rule_for_push(document["rule"], actor=actor)
            latest = rule.versions.order_by("-number").first()
            if (
                latest is not None
                and latest.content_hash == digest
                and latest.status
                not in (
                    VersionStatus.LINT_FAILED,
                    VersionStatus.SIMULATION_FAILED,
                )
            ):
                raise InvalidTransition(
                    f"This content is already {rule.display_name} v{latest.number} ({latest.get_status_display()}).",
                    details={"version": latest.number, "content_hash": digest},
                )
            superseded = []
            for old in rule.versions.supersedable().select_for_update():
                _supersede(old)
                superseded.append(old.number)
            number = (rule.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = RuleVersion.objects.create(
                rule=rule, number=number, document=canonical, content_hash=digest, uploaded_by=actor
            )
            labels = _labels(document)
            changed = [f for f, value in labels.items() if value != getattr(rule, f)]
            if changed:
                for field in changed:
                    setattr(rule, field, labels[field])
                rule.save(update_fields=changed)
            record_event(
                "rule.push",
                actor=actor,
                target=version,
                data={"number": number, "content_hash": digest, "new_rule": created, "superseded": superseded},
            )
            queue_lint(version)
    return version


def _labels(document: dict[str, Any]) -> dict[str, str]:
    """Title and program for the rule's listing, taken only when the schema would accept them."""
    title, program = document.get("title", ""), document.get("program", "")
    return {
        "title": title if isinstance(title, str) and len(title) <= 300 else "",
        "program": program if isinstance(program, str) and re.fullmatch(SLUG_PATTERN, program) else "",
    }


def _supersede(version: RuleVersion) -> None:
    version.move_to(VersionStatus.SUPERSEDED)
    permissions.revoke_review_permissions(version)
    cancel_open_checks(version, note="cancelled: a newer version was pushed")
