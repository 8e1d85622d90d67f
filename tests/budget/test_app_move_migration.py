"""Moving CheckRun, Dataset and Fund out of the rules app keeps their rows, tables and content types.

A database at the last migration before the move (rules 0002) holds a fund, a dataset, a check and
their content types; migrating forward must leave every row readable through the new apps'
models, with the same primary keys, and give the content types their new app labels. Migrating
back restores the former labels.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("rules", "0002_remove_simple_history"),
    ("reviews", "0003_remove_simple_history"),
    ("checks", None),
    ("budget", None),
]


def _migrate(targets):
    """Migrate to `targets`; the models as the migrations then applied describe them."""
    MigrationExecutor(connection).migrate(targets)
    executor = MigrationExecutor(connection)
    applied = [key for key in executor.recorder.applied_migrations() if key in executor.loader.graph.nodes]
    return executor.loader.project_state(applied).apps


def _latest():
    executor = MigrationExecutor(connection)
    # Every app's newest migration: unapplying the move also unapplies what depends on it elsewhere.
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_rows_and_content_types_follow_the_models(django_user_model):
    latest = _latest()
    old = _migrate(BEFORE)
    user = django_user_model.objects.create(username="mover")
    ct = old.get_model("contenttypes", "ContentType")
    ct.objects.filter(app_label__in=["checks", "budget"]).delete()
    old_types = {m: ct.objects.get_or_create(app_label="rules", model=m)[0].pk for m in ("checkrun", "dataset", "fund")}
    fund = old.get_model("rules", "Fund").objects.create(code="EDU-FY26", appropriation="10.00", fiscal_year=2026)
    dataset = old.get_model("rules", "Dataset").objects.create(
        name="pop", path="p.parquet", format="parquet", row_count=1, sha256="a" * 64, size_bytes=1, columns={}
    )
    rule = old.get_model("rules", "Rule").objects.create(slug="moved", created_by_id=user.pk)
    version = old.get_model("rules", "RuleVersion").objects.create(
        rule=rule, number=1, document="{}", content_hash="b" * 64, uploaded_by_id=user.pk
    )
    check = old.get_model("rules", "CheckRun").objects.create(version=version, kind="simulation", dataset=dataset)

    new = _migrate(latest)

    assert new.get_model("budget", "Fund").objects.get(pk=fund.pk).code == "EDU-FY26"
    assert new.get_model("budget", "Dataset").objects.get(pk=dataset.pk).name == "pop"
    moved = new.get_model("checks", "CheckRun").objects.get(pk=check.pk)
    assert (moved.version_id, moved.dataset_id) == (version.pk, dataset.pk)
    ContentType.objects.clear_cache()
    for model, app in (("checkrun", "checks"), ("dataset", "budget"), ("fund", "budget")):
        assert ContentType.objects.get(app_label=app, model=model).pk == old_types[model]
        assert not ContentType.objects.filter(app_label="rules", model=model).exists()

    _migrate(BEFORE)
    ContentType.objects.clear_cache()
    for model in ("checkrun", "dataset", "fund"):
        assert ContentType.objects.get(app_label="rules", model=model).pk == old_types[model]
    _migrate(latest)


class _FormerFund:
    """A fund as the audit saw it before the move: the same row, under the label rules.fund."""

    class _meta:  # noqa: N801 - the shape record_event reads
        label_lower = "rules.fund"

    def __init__(self, fund):
        self.pk = fund.pk
        self.code = fund.code

    def __str__(self):
        return self.code


@pytest.mark.django_db
def test_events_written_under_the_former_label_still_belong_to_the_fund(budget_officer):
    from audit.models import AuditEvent
    from audit.services import record_event, verify_chain
    from budget.services import create_fund

    fund = create_fund(actor=budget_officer, code="EDU-FY26", name="Schools", appropriation="10", fiscal_year=2026)
    other = create_fund(actor=budget_officer, code="EDU-FY27", name="Schools", appropriation="10", fiscal_year=2027)
    record_event("fund.change", actor=budget_officer, target=_FormerFund(fund), data={"changed": ["name"]})
    record_event("fund.change", actor=budget_officer, target=_FormerFund(other), data={"changed": ["name"]})

    events = AuditEvent.objects.for_target(fund)
    assert sorted(events.values_list("target_type", flat=True)) == ["budget.fund", "rules.fund"]
    assert set(events.values_list("target_id", flat=True)) == {str(fund.pk)}
    assert verify_chain()[1] == []
