"""deployments/models.py: history only grows, and one pointer per rule and environment."""

import pytest
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from deployments.models import Deployment, Environment, Release
from deployments.services import rollback
from tests.conftest import require_postgres


def snapshot():
    return {d.pk: model_to_dict(d) | {"created_at": d.created_at} for d in Deployment.objects.all()}


def test_history_only_grows(with_v2_live, release_manager):
    """Promotions and rollbacks add Deployment rows; the rows already there are never changed."""
    v1, v2 = with_v2_live
    before = snapshot()
    assert len(before) == 4  # staging v1, production v1, staging v2, production v2
    rollback(v1.rule, actor=release_manager, reason="one")
    rollback(v1.rule, actor=release_manager, reason="two", to="v2")
    after = snapshot()
    assert {pk: after[pk] for pk in before} == before
    new = [after[pk] for pk in sorted(set(after) - set(before))]
    assert [(d["kind"], d["from_version"], d["to_version"], d["reason"]) for d in new] == [
        ("rollback", v2.pk, v1.pk, "one"),
        ("rollback", v1.pk, v2.pk, "two"),
    ]


def test_chain_of_deployments_matches_the_pointer(with_v2_live, release_manager):
    """Per environment, each move starts where the one before ended, and the last ends at the live pointer."""
    v1, _ = with_v2_live
    rollback(v1.rule, actor=release_manager, reason="r")
    for environment in Environment.objects.all():
        moves = list(Deployment.objects.filter(rule=v1.rule, environment=environment).order_by("id"))
        assert moves[0].from_version_id is None
        for before, after in zip(moves, moves[1:], strict=False):
            assert after.from_version_id == before.to_version_id
        assert moves[-1].to_version_id == Release.objects.get(rule=v1.rule, environment=environment).version_id


def test_one_release_pointer_per_rule_and_environment(in_review):
    """A second pointer for the same rule and environment is refused by the database."""
    staging = Environment.objects.get(name="staging")
    assert Release.objects.filter(rule=in_review.rule).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(rule=in_review.rule, environment=staging)
    assert Release.objects.filter(rule=in_review.rule).count() == 2


def test_deployment_rows_cannot_be_updated_or_deleted_on_postgresql(in_production):
    """On PostgreSQL a trigger refuses UPDATE and DELETE on the deployment history."""
    require_postgres()
    from django.db import ProgrammingError

    deployment = Deployment.objects.filter(environment__name="production").get()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(reason="rewritten")
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).delete()
    deployment.refresh_from_db()
    assert deployment.reason == ""
