"""budget/services set_default_dataset: exactly one default, moved with one event; simulation follows it."""

import pytest

from budget.models import Dataset
from budget.services import ensure_default_dataset, set_default_dataset, upload_dataset
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from tests.conftest import last_event

from .conftest import GOOD_CSV


@pytest.fixture
def synthetic(db):
    return ensure_default_dataset()


@pytest.fixture
def uploaded(budget_officer):
    return upload_dataset(GOOD_CSV, actor=budget_officer, name="Census sample", filename="sample.csv")


def test_set_default_moves_the_default(synthetic, uploaded, budget_officer):
    """Making an uploaded dataset the default clears the old default and records dataset.set_default."""
    assert synthetic.is_default
    set_default_dataset(uploaded, actor=budget_officer)
    assert list(Dataset.objects.filter(is_default=True).values_list("pk", flat=True)) == [uploaded.pk]
    assert Dataset.objects.default() == uploaded
    assert ensure_default_dataset() == uploaded
    event = last_event()
    assert (event.action, event.outcome, event.actor, event.target_id) == (
        "dataset.set_default", "done", budget_officer, str(uploaded.pk),
    )  # fmt: skip
    assert event.data == {"sha256": uploaded.sha256, "previous": synthetic.pk, "previous_name": synthetic.name}


def test_and_back_again(synthetic, uploaded, superuser):
    """The default can move back to the synthetic population (a superuser may do it too)."""
    set_default_dataset(uploaded, actor=superuser)
    set_default_dataset(synthetic, actor=superuser)
    assert list(Dataset.objects.filter(is_default=True)) == [synthetic]


def test_first_default_when_there_is_none(uploaded, budget_officer):
    """With no default yet, the dataset simply becomes the default; the synthetic one is then not generated."""
    set_default_dataset(uploaded, actor=budget_officer)
    assert last_event().data["previous"] is None
    assert ensure_default_dataset() == uploaded
    assert Dataset.objects.count() == 1


def test_already_default_is_refused(synthetic, budget_officer):
    """Making the default the default is refused (409) and recorded."""
    with pytest.raises(InvalidTransition) as refused:
        set_default_dataset(synthetic, actor=budget_officer)
    assert refused.value.status == 409
    assert refused.value.message == f"{synthetic.name!r} is already the default dataset."
    assert (last_event().outcome, last_event().data["reason"]) == ("refused", refused.value.message)


def test_a_dataset_whose_file_is_missing_cannot_become_default(synthetic, uploaded, budget_officer):
    """A dataset whose stored file is gone is refused as the default; the old default stays."""
    uploaded.file_path.unlink()
    with pytest.raises(InvalidTransition) as refused:
        set_default_dataset(uploaded, actor=budget_officer)
    assert "is missing from the data folder" in refused.value.message
    assert Dataset.objects.default() == synthetic


@pytest.mark.parametrize("who", ["drafter", "outsider", "release_manager"])
def test_only_the_budget_office_may_set_the_default(request, synthetic, uploaded, who):
    """Others are refused, the default does not move, and the refusal is recorded."""
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        set_default_dataset(uploaded, actor=actor)
    assert Dataset.objects.default() == synthetic
    event = last_event()
    assert (event.action, event.outcome, event.actor) == ("dataset.set_default", "refused", actor)


def test_simulation_runs_on_the_new_default(synthetic, uploaded, budget_officer, push, drafter):
    """After the default moves, a pushed rule is simulated on the new population and records its hash."""
    set_default_dataset(uploaded, actor=budget_officer)
    version = push(
        b'{"rule": "small-aid", "inputs": ["age"], "eligibility": {">=": [{"var": "age"}, 18]}, "amount": 100}',
        actor=drafter,
    )
    simulation = version.checks.get(kind="simulation")
    assert simulation.dataset_id == uploaded.pk
    assert simulation.dataset_hash == uploaded.sha256
    assert simulation.result["rows"] == 3
