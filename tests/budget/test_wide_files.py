"""A population with more columns than any rule could read is refused by its header, before its rows are read."""

import polars as pl
import pytest

from budget.models import Dataset
from budget.services import upload_dataset
from engine.datasets import MAX_COLUMNS
from engine.errors import InvalidDataset
from tests.conftest import last_event

from .conftest import parquet_bytes, stored_files


def wide_csv(columns, *, quoted=False):
    names = [f'"c,{i}"' if quoted else f"c{i}" for i in range(columns)]
    return (",".join(names) + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


@pytest.mark.parametrize(
    "raw, filename, columns",
    [
        (wide_csv(20_000), "wide.csv", 20_000),
        (wide_csv(MAX_COLUMNS + 1, quoted=True), "quoted.csv", MAX_COLUMNS + 1),
        (parquet_bytes(pl.DataFrame({f"c{i}": [1] for i in range(MAX_COLUMNS + 1)})), "wide.parquet", MAX_COLUMNS + 1),
    ],
    ids=["csv-20000-columns", "csv-quoted-names-with-commas", "parquet"],
)
def test_too_many_columns_is_refused_and_nothing_stored(budget_officer, data_dir, raw, filename, columns):
    """The refusal says how many columns there are and the limit; no row, no file; the refusal is audited."""
    with pytest.raises(InvalidDataset) as refused:
        upload_dataset(raw, actor=budget_officer, name="Wide", filename=filename)
    assert f"The file has {columns:,} columns; a population may have at most {MAX_COLUMNS:,}." in refused.value.message
    assert not Dataset.objects.exists() and stored_files(data_dir) == []
    assert last_event("dataset.upload").outcome == "refused"


def test_the_limit_itself_is_read(budget_officer):
    """A file of exactly MAX_COLUMNS columns is read as usual."""
    dataset = upload_dataset(wide_csv(MAX_COLUMNS), actor=budget_officer, name="Widest", filename="widest.csv")
    assert len(dataset.columns) == MAX_COLUMNS
