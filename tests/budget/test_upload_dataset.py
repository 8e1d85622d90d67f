"""budget/services upload_dataset: a validated population is stored with its facts; a refused one leaves nothing."""

import hashlib

import polars as pl
import pytest

from budget.models import Dataset
from budget.services import load_dataset, upload_dataset
from engine.datasets import read_population
from engine.errors import InvalidDataset, InvalidInput
from pdp_portal.exceptions import NotPermitted
from tests.conftest import last_event, pipeline_events

from .conftest import GOOD_CSV, good_frame, parquet_bytes, stored_files


def test_good_csv_is_stored_with_its_facts(budget_officer, data_dir):
    """A good CSV becomes a non-default Dataset with its row count, hash, size, types, and one upload event."""
    dataset = upload_dataset(GOOD_CSV, actor=budget_officer, name="  Census sample  ", filename="sample.csv")
    digest = hashlib.sha256(GOOD_CSV).hexdigest()
    dataset.refresh_from_db()
    assert (dataset.name, dataset.format, dataset.row_count, dataset.sha256, dataset.size_bytes) == (
        "Census sample", "csv", 3, digest, len(GOOD_CSV),
    )  # fmt: skip
    assert dataset.columns["zip"] == "text" and dataset.columns["in_fire_zone"] == "boolean"
    assert (dataset.is_default, dataset.created_by, dataset.path) == (
        False,
        budget_officer,
        f"datasets/{digest}.parquet",
    )
    assert stored_files(data_dir) == [f"{digest}.parquet"]
    event = last_event()
    assert (event.action, event.outcome, event.actor, event.target_id) == (
        "dataset.upload", "done", budget_officer, str(dataset.pk),
    )  # fmt: skip
    assert event.data["sha256"] == digest and event.data["rows"] == 3 and event.data["format"] == "csv"


def test_stored_copy_loads_back_equal(budget_officer):
    """The normalised Parquet copy loads back equal to the frame the file was read as."""
    expected, _ = read_population(GOOD_CSV, filename="sample.csv")
    dataset = upload_dataset(GOOD_CSV, actor=budget_officer, name="Sample", filename="sample.csv")
    loaded = load_dataset(dataset)
    assert loaded.equals(expected)
    assert loaded.schema["age"] == pl.Int64 and loaded.schema["in_fire_zone"] == pl.Boolean


def test_good_parquet_is_stored(superuser):
    """A Parquet file is stored the same way (superusers may manage datasets too)."""
    raw = parquet_bytes(good_frame())
    dataset = upload_dataset(raw, actor=superuser, name="Parquet sample", filename="sample.parquet")
    assert (dataset.format, dataset.row_count, dataset.sha256) == ("parquet", 3, hashlib.sha256(raw).hexdigest())
    assert load_dataset(dataset).equals(good_frame())


def test_upload_from_a_path(budget_officer, tmp_path):
    """The service also takes the path of a file already on disk (a large portal upload)."""
    path = tmp_path / "upload.csv"
    path.write_bytes(GOOD_CSV)
    dataset = upload_dataset(path, actor=budget_officer, name="From disk", filename="sample.csv")
    assert dataset.sha256 == hashlib.sha256(GOOD_CSV).hexdigest()


def _assert_nothing_stored(data_dir, actor, reason):
    assert not Dataset.objects.exists()
    assert stored_files(data_dir) == []
    event = pipeline_events().get()
    assert (event.action, event.outcome, event.actor) == ("dataset.upload", "refused", actor)
    assert event.data["reason"] == reason


@pytest.mark.parametrize(
    ("raw", "filename", "reason"),
    [
        (b"", "x.csv", "The file is empty (0 bytes)."),
        (
            b"id,age\n1,34\n2,x\n",
            "x.csv",
            "The column 'age' mixes numbers and text: it starts with numbers (line 2: '34') but line 3 has 'x'.",
        ),
        (
            b"id,age\n1,34\n2\n",
            "x.csv",
            "Line 3 has the wrong number of fields: expected 2 (as in the header), found 1.",
        ),
        (b"PAR1 nonsense PAR1", "x.parquet", None),
    ],
    ids=["empty", "mixed", "ragged", "bad parquet"],
)
def test_refused_file_stores_nothing(budget_officer, data_dir, raw, filename, reason):
    """A refused file leaves no row and no file, only the refused event with the reason."""
    with pytest.raises(InvalidDataset) as refused:
        upload_dataset(raw, actor=budget_officer, name="Bad", filename=filename)
    _assert_nothing_stored(data_dir, budget_officer, reason or refused.value.message)


def test_size_limit_stores_nothing(settings, budget_officer, data_dir):
    """A file over the configured size is refused and nothing is stored."""
    settings.PDP_DATASET_MAX_BYTES = 10
    with pytest.raises(InvalidDataset):
        upload_dataset(GOOD_CSV, actor=budget_officer, name="Big", filename="big.csv")
    _assert_nothing_stored(
        data_dir, budget_officer, f"The file is {len(GOOD_CSV):,} bytes; the limit is 10 bytes (PDP_DATASET_MAX_BYTES)."
    )


@pytest.mark.parametrize("who", ["drafter", "outsider", "counsel"])
def test_only_the_budget_office_may_upload(request, who, data_dir):
    """Anyone outside the Budget group (and not a superuser) is refused, and nothing is stored."""
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted) as refused:
        upload_dataset(GOOD_CSV, actor=actor, name="Sample", filename="sample.csv")
    assert refused.value.message == "You may not upload datasets; that is for the budget office (the Budget group)."
    _assert_nothing_stored(data_dir, actor, refused.value.message)


def test_name_is_required(budget_officer, data_dir):
    """A dataset needs a name."""
    with pytest.raises(InvalidInput) as refused:
        upload_dataset(GOOD_CSV, actor=budget_officer, name="   ", filename="sample.csv")
    assert refused.value.message == "Give the dataset a name, such as “Census sample 2024”."
    _assert_nothing_stored(data_dir, budget_officer, refused.value.message)


def test_the_same_file_twice_is_refused_and_keeps_the_first(budget_officer, data_dir):
    """Uploading the same bytes again is refused; the first dataset and its file stay as they were."""
    first = upload_dataset(GOOD_CSV, actor=budget_officer, name="Sample", filename="sample.csv")
    with pytest.raises(InvalidInput) as refused:
        upload_dataset(GOOD_CSV, actor=budget_officer, name="Again", filename="again.csv")
    assert refused.value.message == "This file is already stored as the dataset 'Sample'."
    assert list(Dataset.objects.values_list("pk", flat=True)) == [first.pk]
    assert stored_files(data_dir) == [f"{first.sha256}.parquet"]
    assert load_dataset(first).height == 3
    assert last_event().outcome == "refused"


def test_no_temporary_file_is_left_behind(budget_officer, data_dir):
    """The copy is written to a temporary file and renamed: only the final file remains."""
    upload_dataset(GOOD_CSV, actor=budget_officer, name="Sample", filename="sample.csv")
    assert [p.name for p in (data_dir / "datasets").iterdir() if p.name.endswith(".tmp")] == []
