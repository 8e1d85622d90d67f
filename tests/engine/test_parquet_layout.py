"""engine/parquet_layout.py: where a Parquet file keeps each row group, and the digests of its parts."""

import hashlib
import struct

import polars as pl
import pytest

from engine import parquet_layout
from engine.parquet_layout import LayoutError, _Compact, measure, row_groups, spans_for_rows
from engine.population import generate
from engine.simulation import load_population

ROWS, GROUP = 5_000, 1_000
COLUMNS = ["county", "in_fire_zone", "weight"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("layout") / "population.parquet"
    generate(ROWS, seed=11).write_parquet(path, compression="zstd", statistics=False, row_group_size=GROUP)
    return path


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_row_groups_of_a_file_polars_wrote(written):
    groups, size = row_groups(written)
    assert size == written.stat().st_size
    assert [(g.first_row, g.rows) for g in groups] == [(i * GROUP, GROUP) for i in range(ROWS // GROUP)]
    assert groups[0].start == len(parquet_layout.MAGIC)
    assert all(a.end == b.start for a, b in zip(groups, groups[1:], strict=False))
    footer_length = int.from_bytes(written.read_bytes()[-8:-4], "little")
    assert groups[-1].end <= size - 8 - footer_length


@pytest.mark.parametrize("wanted", [[0], [2], [4], [1, 2]])
def test_the_frame_and_its_row_groups_are_every_byte_a_reader_of_some_rows_needs(written, tmp_path, wanted):
    """Every byte outside the frame and the row groups read is zeroed: the rows still read the same."""
    groups, size = row_groups(written)
    data = written.read_bytes()
    kept = bytearray(size)
    kept[: groups[0].start] = data[: groups[0].start]
    kept[groups[-1].end :] = data[groups[-1].end :]
    for index in wanted:
        kept[groups[index].start : groups[index].end] = data[groups[index].start : groups[index].end]
    blanked = tmp_path / "blanked.parquet"
    blanked.write_bytes(bytes(kept))
    first, rows = wanted[0] * GROUP, len(wanted) * GROUP
    assert load_population(blanked, COLUMNS, first_row=first, rows=rows).equals(
        load_population(written, COLUMNS, first_row=first, rows=rows)
    )
    other = 3 * GROUP  # a row group zeroed: it cannot be read as it was
    try:
        unread = not load_population(blanked, COLUMNS, first_row=other, rows=GROUP).equals(
            load_population(written, COLUMNS, first_row=other, rows=GROUP)
        )
    except pl.exceptions.PolarsError:
        unread = True
    assert unread


def test_measure_reads_the_file_once_into_its_hash_and_the_hashes_of_its_parts(written):
    data = written.read_bytes()
    whole, layout = measure(written)
    assert whole == sha256(data)
    groups, size = row_groups(written)
    assert layout["size"] == size
    assert layout["row_groups"] == [
        [g.first_row, g.rows, g.start, g.end, sha256(data[g.start : g.end])] for g in groups
    ]
    assert layout["frame"] == sha256(data[: groups[0].start] + data[groups[-1].end :])
    assert parquet_layout.frame_sha256(written, layout) == layout["frame"]
    assert parquet_layout.span_sha256(written, groups[2].start, groups[2].end) == layout["row_groups"][2][4]


def test_a_changed_byte_changes_the_digest_of_its_part_only(written, tmp_path):
    _, layout = measure(written)
    groups, size = row_groups(written)
    data = bytearray(written.read_bytes())
    changed = tmp_path / "changed.parquet"
    data[(groups[3].start + groups[3].end) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    _, after = measure(changed)
    assert after["frame"] == layout["frame"]
    assert [i for i, (a, b) in enumerate(zip(layout["row_groups"], after["row_groups"], strict=True)) if a != b] == [3]


def test_spans_for_rows_are_the_row_groups_that_hold_them(written):
    _, layout = measure(written)
    assert [g[0] for g in spans_for_rows(layout, 0, GROUP)] == [0]
    assert [g[0] for g in spans_for_rows(layout, 999, 2)] == [0, 1000]
    assert [g[0] for g in spans_for_rows(layout, 1500, 2000)] == [1000, 2000, 3000]
    assert [g[0] for g in spans_for_rows(layout, 4000, 10_000)] == [4000]


def test_a_file_that_is_not_parquet_has_a_hash_and_no_layout(tmp_path):
    csv = tmp_path / "people.csv"
    pl.DataFrame({"weight": list(range(100))}).write_csv(csv)
    assert measure(csv) == (sha256(csv.read_bytes()), {})
    with pytest.raises(LayoutError, match="does not end as a Parquet file does"):
        row_groups(csv)


def test_a_cut_or_garbled_footer_is_refused(written, tmp_path):
    data = written.read_bytes()
    short = tmp_path / "short.parquet"
    short.write_bytes(b"PAR1PAR1")
    with pytest.raises(LayoutError, match="too short"):
        row_groups(short)
    length = int.from_bytes(data[-8:-4], "little")
    lying = tmp_path / "lying.parquet"
    lying.write_bytes(data[:-8] + (len(data)).to_bytes(4, "little") + b"PAR1")
    with pytest.raises(LayoutError, match="larger than the file"):
        row_groups(lying)
    cut = tmp_path / "cut.parquet"  # the footer's first half, with a length that says so
    half = length // 2
    cut.write_bytes(data[: len(data) - 8 - length + half] + half.to_bytes(4, "little") + b"PAR1")
    with pytest.raises(LayoutError):
        row_groups(cut)


def zigzag(value):
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def test_the_compact_protocol_reader():
    """Long field-id jumps, negative numbers, long lists, booleans in fields and in lists, doubles, maps."""
    data = (
        bytes([0x15]) + zigzag(-3)  # field 1, i32 -3
        + bytes([0x06]) + zigzag(40) + zigzag(2**40)  # field 40 (an explicit id), i64
        + bytes([0x11])  # field 41, true
        + bytes([0x19, 0xF5]) + bytes([20]) + b"".join(zigzag(i) for i in range(20))  # field 42, 20 i32
        + bytes([0x19, 0x21, 0x01, 0x02])  # field 43, [true, false]
        + bytes([0x17]) + struct.pack("<d", 2.5)  # field 44, double
        + bytes([0x18, 0x02]) + b"hi"  # field 45, binary
        + bytes([0x1B, 0x01, 0x85]) + b"\x01k" + zigzag(7)  # field 46, map<binary, i32> {"k": 7}
        + bytes([0x1C, 0x15]) + zigzag(9) + b"\x00"  # field 47, struct {1: 9}
        + bytes([0x15]) + zigzag(1)  # field 48: its id counts on from the field before the struct
        + b"\x00"
    )  # fmt: skip
    assert _Compact(data).struct() == {
        1: -3,
        40: 2**40,
        41: True,
        42: list(range(20)),
        43: [True, False],
        44: 2.5,
        45: b"hi",
        46: [(b"k", 7)],
        47: {1: 9},
        48: 1,
    }
    with pytest.raises(LayoutError, match="unknown type"):
        _Compact(bytes([0x1E, 0x00])).struct()
    with pytest.raises(LayoutError, match="ends early"):
        _Compact(bytes([0x18, 0x05]) + b"ab").struct()


def footer_file(path, footer):
    path.write_bytes(b"PAR1" + bytes(40) + footer + len(footer).to_bytes(4, "little") + b"PAR1")
    return path


def test_a_footer_without_the_offsets_of_a_column_chunk_is_refused(tmp_path):
    # FileMetaData {4: [RowGroup {1: [ColumnChunk {3: ColumnMetaData {7: 10}}], 3: 5}]}: no data page offset (9).
    footer = (
        bytes([0x49, 0x1C, 0x19, 0x1C, 0x3C, 0x76]) + zigzag(10) + b"\x00\x00" + bytes([0x26]) + zigzag(5) + b"\x00\x00"
    )
    with pytest.raises(LayoutError, match="does not describe its row groups as expected"):
        row_groups(footer_file(tmp_path / "no-offset.parquet", footer))
    assert measure(tmp_path / "no-offset.parquet")[1] == {}  # hashed whole instead


def test_overlapping_row_groups_are_refused(tmp_path):
    def group(offset, size):
        # RowGroup {1: [ColumnChunk {3: ColumnMetaData {7: size, 9: offset}}], 3: 5}
        meta = bytes([0x76]) + zigzag(size) + bytes([0x26]) + zigzag(offset) + b"\x00"
        return bytes([0x19, 0x1C, 0x3C]) + meta + b"\x00" + bytes([0x26]) + zigzag(5) + b"\x00"

    footer = bytes([0x49, 0x2C]) + group(4, 30) + group(20, 10) + b"\x00"  # the second starts inside the first
    with pytest.raises(LayoutError, match="overlap or are out of order"):
        row_groups(footer_file(tmp_path / "overlap.parquet", footer))
    footer = bytes([0x49, 0x2C]) + group(4, 10) + group(14, 10) + b"\x00"
    assert [(g.first_row, g.start, g.end) for g in row_groups(footer_file(tmp_path / "fine.parquet", footer))[0]] == [
        (0, 4, 14),
        (5, 14, 24),
    ]
