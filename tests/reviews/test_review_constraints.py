"""reviews/models.py: the database holds one approval per role, and per person, per version."""

import pytest
from django.db import IntegrityError, transaction

from reviews.models import Review


def review(version, reviewer, role, decision="approve"):
    return Review.objects.create(
        version=version, reviewer=reviewer, role=role, decision=decision, content_hash=version.content_hash
    )


def test_one_approval_per_role_per_version(in_review, counsel, budget_officer):
    """A second approval in the same role on the same version is refused by the database."""
    review(in_review, counsel, "legal")
    with pytest.raises(IntegrityError), transaction.atomic():
        review(in_review, budget_officer, "legal")
    assert Review.objects.count() == 1


def test_one_approval_per_person_per_version(in_review, counsel):
    """One person cannot hold two approvals on a version, even in different roles."""
    review(in_review, counsel, "legal")
    with pytest.raises(IntegrityError), transaction.atomic():
        review(in_review, counsel, "budget")


def test_rejections_are_not_limited(in_review, counsel, budget_officer):
    """The constraints are on approvals only: a rejection beside an approval in the same role is allowed."""
    review(in_review, counsel, "legal")
    review(in_review, budget_officer, "legal", decision="reject")
    review(in_review, counsel, "legal", decision="reject")
    assert Review.objects.count() == 3
