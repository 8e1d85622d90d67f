"""Where a Parquet file keeps each row group, and the digests that let a reader of some rows check
only the bytes it reads.

A partition of a partitioned simulation reads only the row groups that hold its rows. So that it can
check the stored file before it computes without reading the whole file, the file is measured once,
when it is stored (`measure`): its SHA-256, and the SHA-256 of each row group's bytes and of the
frame (every byte outside the row groups: the leading magic and the footer, which tells a reader
where each row group is). A reader then verifies the frame and the row groups it reads
(`verify_rows`); the file's own hash proves the same bytes as all the pieces together.

Only the footer's row group and column chunk offsets are decoded, with a reader of Thrift's
compact protocol (the encoding of Parquet's footer), written against the Parquet format's
definition of FileMetaData, RowGroup, ColumnChunk and ColumnMetaData.
"""

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAGIC = b"PAR1"
READ_BYTES = 1 << 20
# Field ids in parquet.thrift.
FILE_ROW_GROUPS = 4
GROUP_COLUMNS, GROUP_ROWS = 1, 3
CHUNK_FILE_PATH, CHUNK_META = 1, 3
META_COMPRESSED_SIZE, META_DATA_PAGE, META_DICTIONARY_PAGE = 7, 9, 11


class LayoutError(ValueError):
    """The file is not a Parquet file whose row groups this module can place."""


@dataclass(frozen=True)
class RowGroupSpan:
    """A row group: its rows and the bytes [start, end) that hold them."""

    first_row: int
    rows: int
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# Thrift's compact protocol, as much as reading a footer needs


class _Compact:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise LayoutError("the Parquet footer ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise LayoutError("the Parquet footer ends early")
        value = self.data[self.pos : self.pos + count]
        self.pos += count
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise LayoutError("the Parquet footer holds a malformed number")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def value(self, kind: int) -> Any:
        if kind in (1, 2):  # a boolean field carries its value in its type
            return kind == 1
        if kind == 3:
            return struct.unpack("<b", self.take(1))[0]
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            return struct.unpack("<d", self.take(8))[0]
        if kind == 8:
            return self.take(self.varint())
        if kind in (9, 10):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            return [self.element(element) for _ in range(size)]
        if kind == 11:
            size = self.varint()
            if not size:
                return []
            types = self.byte()
            return [(self.element(types >> 4), self.element(types & 0x0F)) for _ in range(size)]
        if kind == 12:
            return self.struct()
        if kind == 13:
            return self.take(16)
        raise LayoutError(f"the Parquet footer holds a value of unknown type {kind}")

    def element(self, kind: int) -> Any:
        if kind in (1, 2):  # a boolean in a list is a byte of its own
            return self.byte() == 1
        return self.value(kind)

    def struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                return fields
            kind, delta = header & 0x0F, header >> 4
            field = last + delta if delta else self.zigzag()
            fields[field] = self.value(kind)
            last = field


# ---------------------------------------------------------------------------------------------
# Row groups


def row_groups(path: str | os.PathLike[str]) -> tuple[list[RowGroupSpan], int]:
    """The row groups of the Parquet file at `path`, in file order, and the file's size.

    Each span runs from the row group's first column chunk to where the next one starts (to the
    end of its last column chunk for the last group), so the spans and the frame cover the file.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size < 12:
            raise LayoutError("the file is too short to be Parquet")
        handle.seek(size - 8)
        tail = handle.read(8)
        length = int.from_bytes(tail[:4], "little")
        if tail[4:] != MAGIC:
            raise LayoutError("the file does not end as a Parquet file does (or its footer is encrypted)")
        if length > size - 12:
            raise LayoutError("the Parquet footer's length is larger than the file")
        handle.seek(size - 8 - length)
        footer = handle.read(length)
    try:
        return _placed(_Compact(footer).struct(), size, size - 8 - length)
    except (KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise LayoutError(f"the Parquet footer does not describe its row groups as expected ({exc!r})") from None


def _placed(footer: dict[int, Any], size: int, footer_start: int) -> tuple[list[RowGroupSpan], int]:
    spans: list[tuple[int, int, int, int]] = []
    first_row = 0
    for group in footer.get(FILE_ROW_GROUPS, []):
        chunks = group.get(GROUP_COLUMNS) or []
        rows = group.get(GROUP_ROWS)
        if not chunks or not isinstance(rows, int) or rows < 0:
            raise LayoutError("a row group of the Parquet file has no columns or no row count")
        starts, ends = [], []
        for chunk in chunks:
            meta = chunk.get(CHUNK_META)
            if chunk.get(CHUNK_FILE_PATH) or not isinstance(meta, dict):
                raise LayoutError("a column chunk of the Parquet file is kept in another file")
            start = meta[META_DATA_PAGE]
            dictionary = meta.get(META_DICTIONARY_PAGE)
            if isinstance(dictionary, int) and 0 < dictionary < start:
                start = dictionary
            starts.append(start)
            ends.append(start + meta[META_COMPRESSED_SIZE])
        spans.append((first_row, rows, min(starts), max(ends)))
        first_row += rows
    previous = len(MAGIC)
    for _, _, start, end in spans:
        if start < previous or end < start:
            raise LayoutError("the row groups of the Parquet file overlap or are out of order")
        previous = end
    if previous > footer_start:
        raise LayoutError("a row group of the Parquet file runs into its footer")
    groups = [
        RowGroupSpan(first, rows, start, spans[index + 1][2] if index + 1 < len(spans) else end)
        for index, (first, rows, start, end) in enumerate(spans)
    ]
    return groups, size


# ---------------------------------------------------------------------------------------------
# Digests


def _read(handle: Any, start: int, end: int) -> Iterator[bytes]:
    handle.seek(start)
    left = end - start
    while left > 0:
        block = handle.read(min(READ_BYTES, left))
        if not block:
            return
        left -= len(block)
        yield block


def measure(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """The file's SHA-256 and its layout, read once: {"size", "frame": the SHA-256 of the bytes outside
    every row group, "row_groups": [[first_row, rows, start, end, sha256], ...]}. A file that is not
    Parquet (a CSV copy) has no layout: {}."""
    whole = hashlib.sha256()
    try:
        groups, size = row_groups(path)
    except LayoutError:
        groups, size = [], -1
    with open(path, "rb") as handle:
        if size < 0:
            for block in _read(handle, 0, os.fstat(handle.fileno()).st_size):
                whole.update(block)
            return whole.hexdigest(), {}
        frame = hashlib.sha256()
        recorded = []
        at = 0
        for group in groups:
            for block in _read(handle, at, group.start):
                whole.update(block)
                frame.update(block)
            part = hashlib.sha256()
            for block in _read(handle, group.start, group.end):
                whole.update(block)
                part.update(block)
            recorded.append([group.first_row, group.rows, group.start, group.end, part.hexdigest()])
            at = group.end
        for block in _read(handle, at, size):
            whole.update(block)
            frame.update(block)
    return whole.hexdigest(), {"size": size, "frame": frame.hexdigest(), "row_groups": recorded}


def spans_for_rows(layout: dict[str, Any], first_row: int, rows: int) -> list[list[Any]]:
    """The recorded row groups ([first_row, rows, start, end, sha256]) holding rows first_row.. (`rows` of them)."""
    last = first_row + rows
    return [group for group in layout["row_groups"] if group[0] < last and group[0] + group[1] > first_row]


def frame_sha256(path: str | os.PathLike[str], layout: dict[str, Any]) -> str:
    """The SHA-256 of the file's bytes outside the recorded row groups, as the file is now."""
    digest = hashlib.sha256()
    groups = layout["row_groups"]
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        outside = [(0, groups[0][2]), (groups[-1][3], size)] if groups else [(0, size)]
        for start, end in outside:
            for block in _read(handle, start, end):
                digest.update(block)
    return digest.hexdigest()


def span_sha256(path: str | os.PathLike[str], start: int, end: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in _read(handle, start, end):
            digest.update(block)
    return digest.hexdigest()
