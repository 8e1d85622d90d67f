"""The stored copy of a dataset, as a worker checks it before it reads: its hash, its layout, and the
bytes that reading some rows reads (budget.services.record_stored_copy, verify_stored_rows)."""

import hashlib
import os

import polars as pl
import pytest

from budget import services
from budget.models import Dataset
from budget.services import StoredCopyChanged, load_dataset_rows, record_stored_copy, upload_dataset, verify_stored_rows
from engine import parquet_layout
from engine.population import generate

from .conftest import parquet_bytes

ROWS, GROUP = 2_000, 500
COLUMNS = ["county", "weight"]


@pytest.fixture
def stored(budget_officer, monkeypatch):
    """A population uploaded as the portal stores it, in row groups of 500 rows."""
    monkeypatch.setattr("engine.datasets.ROW_GROUP_ROWS", GROUP)
    raw = parquet_bytes(generate(ROWS, seed=5))
    return upload_dataset(raw, actor=budget_officer, name="Four row groups", filename="people.parquet")


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    """This process has checked nothing yet."""
    monkeypatch.setattr(services, "_MEASURED", {})
    monkeypatch.setattr(services, "_VERIFIED", set())


def change_byte(path, offset):
    """Change one byte of the file in place: same size, same inode, a later mtime."""
    stat = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_stored_copy_is_recorded_with_its_hash_and_layout(stored):
    stored.refresh_from_db()
    digest, layout = parquet_layout.measure(stored.file_path)
    assert stored.stored_sha256 == digest == hashlib.sha256(stored.file_path.read_bytes()).hexdigest()
    assert stored.stored_layout == layout
    assert [(g[0], g[1]) for g in layout["row_groups"]] == [(i * GROUP, GROUP) for i in range(ROWS // GROUP)]


def test_rows_load_once_the_bytes_they_are_read_from_are_the_recorded_ones(stored):
    frame = load_dataset_rows(stored, COLUMNS, 600, 500)
    assert frame.equals(generate(ROWS, seed=5).select(COLUMNS).slice(600, 500))


def test_a_changed_row_group_fails_only_the_rows_it_holds(stored):
    _, _, start, end, _ = stored.stored_layout["row_groups"][2]
    change_byte(stored.file_path, (start + end) // 2)
    verify_stored_rows(stored, 0, 1_000)  # rows 1 to 1,000 are in the untouched row groups
    verify_stored_rows(stored, 1_500, 500)
    with pytest.raises(StoredCopyChanged, match="holds other bytes for rows 1,001 to 1,500 than those whose SHA-256"):
        verify_stored_rows(stored, 900, 200)


def test_a_changed_footer_fails_every_read(stored):
    layout = stored.stored_layout
    change_byte(stored.file_path, layout["row_groups"][-1][3] + 2)  # inside the footer
    for first in (0, 1_500):
        with pytest.raises(StoredCopyChanged, match="has another footer than the one whose SHA-256 was recorded"):
            verify_stored_rows(stored, first, 500)


def test_a_longer_or_missing_file_fails(stored):
    with open(stored.file_path, "ab") as handle:
        handle.write(b"more")
    with pytest.raises(StoredCopyChanged, match=f"has {stored.stored_layout['size'] + 4:,} bytes, not the"):
        verify_stored_rows(stored, 0, 500)
    stored.file_path.unlink()
    with pytest.raises(StoredCopyChanged, match="was not found in this worker's data folder"):
        verify_stored_rows(stored, 0, 500)


def test_each_part_is_checked_once_while_the_file_stays_the_same(stored):
    groups = stored.stored_layout["row_groups"]
    state = verify_stored_rows(stored, 400, 200)  # rows 401 to 600: the first two row groups, and the frame
    checked = {(state, g[2], g[3], g[4]) for g in groups[:2]} | {(state, "frame", stored.stored_layout["frame"])}
    assert services._VERIFIED == checked
    assert verify_stored_rows(stored, 450, 100) == state and services._VERIFIED == checked
    change_byte(stored.file_path, groups[3][2] + 10)  # another state of the file: checked again
    later = verify_stored_rows(stored, 400, 200)
    assert later != state and len(services._VERIFIED) == 2 * len(checked)


def test_a_file_replaced_while_it_is_read_is_refused(stored, monkeypatch, tmp_path):
    """The file renamed over between the check and the read: the rows read are not the ones checked."""
    other = tmp_path / "other.parquet"
    generate(ROWS, seed=6).write_parquet(other)
    scan = pl.scan_parquet

    def scan_then_replace(*args, **kwargs):
        frame = scan(*args, **kwargs)
        os.replace(other, stored.file_path)
        return frame

    monkeypatch.setattr(pl, "scan_parquet", scan_then_replace)
    with pytest.raises(StoredCopyChanged, match="was replaced or written while it was read"):
        load_dataset_rows(stored, COLUMNS, 0, 500)


def test_a_row_made_before_layouts_were_kept_gets_one_on_first_use(stored):
    Dataset.objects.filter(pk=stored.pk).update(stored_layout={})
    dataset = Dataset.objects.get(pk=stored.pk)
    verify_stored_rows(dataset, 0, 500)  # without a layout: the whole file against its hash
    record_stored_copy(dataset)
    dataset.refresh_from_db()
    assert dataset.stored_layout == parquet_layout.measure(dataset.file_path)[1]


def test_a_file_that_is_not_the_recorded_one_gets_no_layout(stored):
    Dataset.objects.filter(pk=stored.pk).update(stored_layout={})
    dataset = Dataset.objects.get(pk=stored.pk)
    change_byte(dataset.file_path, 100)
    with pytest.raises(StoredCopyChanged, match=f"not the {dataset.stored_sha256[:12]}… recorded for it"):
        record_stored_copy(dataset)
    with pytest.raises(StoredCopyChanged, match="recorded for it"):
        verify_stored_rows(dataset, 0, 500)
    assert Dataset.objects.get(pk=stored.pk).stored_layout == {}


def test_a_row_without_either_gets_both(stored):
    Dataset.objects.filter(pk=stored.pk).update(stored_layout={}, stored_sha256="")
    dataset = record_stored_copy(Dataset.objects.get(pk=stored.pk))
    dataset.refresh_from_db()
    assert (dataset.stored_sha256, dataset.stored_layout) == parquet_layout.measure(dataset.file_path)
