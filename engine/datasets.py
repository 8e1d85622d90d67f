"""Population files: reading and validating an uploaded CSV or Parquet file, and loading a stored one.

A population has a header row and one row per (synthetic or sampled) person. Column types are
inferred: integer, decimal, boolean (`true`/`false`, any case) and text; an empty cell is null.
`weight` (how many people a row stands for), `id` and `county` are optional and have those
meanings. Nothing is coerced silently: a CSV is read as text first, then every column is checked
and cast, and anything ambiguous is refused with the line it happened on. A number too large to
hold (1e400) is refused, not stored as infinity, and so is text or a column name a spreadsheet
would run as a formula (beginning with =, +, -, @, a tab or a carriage return).

A file that cannot be read at all (empty, not UTF-8, no header, broken quoting, not Parquet) is
refused for that one reason. Past that point every problem is looked for: a refusal names them all,
the first MAX_PROBLEMS of them in file order, each with its row, its line (CSV) and its column, in
`details["problems"]`, and counts them in `details["problem_count"]`.
"""

import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl

from .errors import InvalidDataset
from .population import ROW_GROUP_ROWS

CSV = "csv"
PARQUET = "parquet"
PARQUET_MAGIC = b"PAR1"
CSV_SUFFIXES = {"", ".csv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}

INTEGER, DECIMAL, BOOLEAN, TEXT = "integer", "decimal", "boolean", "text"
DTYPES = {INTEGER: pl.Int64, DECIMAL: pl.Float64, BOOLEAN: pl.Boolean, TEXT: pl.String}

# Anchored, so a cell is a number only when all of it is; NaN and Infinity are not numbers here.
_INTEGER = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_LEADING_ZERO = r"^[+-]?0[0-9]"  # 02134, 007: codes, kept as text so their zeros survive
# Text a spreadsheet would run as a formula when the population is opened or exported again.
_FORMULA = r"^[=+\-@\t\r]"
# A population has a few dozen columns; a file with thousands is refused by its header, before any
# row is read (20,000 columns held a request for minutes).
MAX_COLUMNS = 500
_CHUNK_BYTES = 1 << 24
_BOM = b"\xef\xbb\xbf"

# The file's bytes, or the path of the file.
Source = bytes | bytearray | memoryview | str | os.PathLike[str]
# The line of the file where data row `index` (0-based) starts.
LineOf = Callable[[int], int]
# How many problems a refusal lists; it counts them all.
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a population file: what, and where (data row from 1, CSV line, column name)."""

    message: str
    row: int | None = None
    line: int | None = None
    column: str | None = None


class _Rows:
    """Where data row `index` (0-based) is, in the file's own terms: a CSV's line, a Parquet file's row."""

    def __init__(self, line_of: LineOf | None = None) -> None:
        self.line_of = line_of

    def text(self, index: int) -> str:
        return f"line {self.line_of(index)}" if self.line_of else f"row {index + 1}"

    def problem(self, message: str, index: int, column: str | None = None) -> Problem:
        line = self.line_of(index) if self.line_of else None
        return Problem(message, row=index + 1, line=line, column=column)


class _Problems:
    """The problems found so far: the first MAX_PROBLEMS of each kind kept, every one counted."""

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.total = 0

    def add(self, problem: Problem) -> None:
        self.kept.append(problem)
        self.total += 1

    def add_rows(self, mask: pl.Series, describe: Callable[[int], Problem]) -> None:
        """A problem for each row where `mask` is true: the first MAX_PROBLEMS described, all counted."""
        rows = mask.fill_null(False).arg_true()
        self.add_indices(rows.head(MAX_PROBLEMS).to_list(), rows.len(), describe)

    def add_indices(self, first: Iterable[int], total: int, describe: Callable[[int], Problem]) -> None:
        """`total` problems, of which the rows `first` (at most MAX_PROBLEMS of them) are described."""
        self.kept.extend(describe(int(index)) for index in first)
        self.total += total

    def refuse(self, columns: Iterable[str] = ()) -> None:
        """Raise InvalidDataset naming every problem found, if any: the first MAX_PROBLEMS in file order.

        A problem of a whole column comes first; on a row, problems go in the order of `columns`.
        """
        if not self.total:
            return
        position = {name: number for number, name in enumerate(columns)}
        listed = sorted(self.kept, key=lambda problem: (problem.row or 0, position.get(problem.column or "", -1)))
        listed = listed[:MAX_PROBLEMS]
        if self.total == 1:
            message = listed[0].message
        else:
            shown = f" (the first {MAX_PROBLEMS} are listed)" if self.total > MAX_PROBLEMS else ""
            message = f"The file has {self.total:,} problems{shown}. The first: {listed[0].message}"
        raise InvalidDataset(
            message, details={"problems": [asdict(problem) for problem in listed], "problem_count": self.total}
        )


# ---------------------------------------------------------------------------------------------
# Reading


def read_population(
    source: Source, *, filename: str | None, max_bytes: int | None = None, limit_name: str | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Read and validate a population. `source` is the file's bytes or a path to it.

    A file over `max_bytes` (None: no limit) is refused by its size before it is read; the
    refusal names `limit_name`, the setting that sets the limit, when given.

    Returns (frame, info): the typed polars DataFrame, and {format, row_count, columns
    {name: type}, sha256 (of the exact bytes received), size_bytes}. Raises InvalidDataset
    with the reason when the file is refused.
    """
    data = _read_bytes(source, max_bytes, limit_name)
    digest = hashlib.sha256(data).hexdigest()
    kind = _detect_format(data, filename)
    if kind == PARQUET:
        frame, columns = _read_parquet(data)
    else:
        frame, columns = _read_csv(data)
    info = {
        "format": kind,
        "row_count": frame.height,
        "columns": columns,
        "sha256": digest,
        "size_bytes": len(data),
    }
    return frame, info


def _read_bytes(source: Source, limit: int | None, limit_name: str | None) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = len(source)
    else:
        size = os.stat(source).st_size  # refuse an oversized file before reading it into memory
    if size == 0:
        raise InvalidDataset("The file is empty (0 bytes).")
    if limit is not None and size > limit:
        named = f" ({limit_name})" if limit_name else ""
        raise InvalidDataset(f"The file is {size:,} bytes; the limit is {limit:,} bytes{named}.")
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return Path(source).read_bytes()


def _detect_format(data: bytes, filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    if (data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC) or suffix in PARQUET_SUFFIXES:
        return PARQUET
    if suffix in CSV_SUFFIXES:
        return CSV
    raise InvalidDataset(f"A population must be a CSV (.csv) or Parquet (.parquet) file; {filename!r} is neither.")


# ---------------------------------------------------------------------------------------------
# CSV


def _read_csv(data: bytes) -> tuple[pl.DataFrame, dict[str, str]]:
    raw = data[len(_BOM) :] if data.startswith(_BOM) else data  # Excel's byte order mark is not a name
    raw = raw.rstrip(b"\r\n")
    text: str | None  # None once the bytes alone are read
    text = _decode(raw)
    if not text.strip():
        raise InvalidDataset("The file has no header row: it holds only blank lines.")
    if b"\r" in raw and b"\n" not in raw:
        raise InvalidDataset(
            "The file's lines end in a bare carriage return (old Mac style); save it with ordinary line endings."
        )
    quoted = b'"' in raw
    _check_column_count(_header_width(text if quoted else raw.split(b"\n", 1)[0].decode("utf-8", "replace")))
    if quoted:
        header, counts, line_of, blank = _quoted_records(text)
    else:
        text = None  # the bytes are enough from here on; let the copy go
        header, counts, line_of, blank = _plain_records(raw)
    names = _check_header(header)
    expected = len(names)
    # A blank line is one empty field: a null in a one-column file, a ragged row in any other.
    bad = np.flatnonzero((counts != expected) & ~((counts <= 1) & (expected == 1)))
    if bad.size:
        rows = _Rows(line_of)

        def ragged(index: int) -> Problem:
            if blank(index):
                return rows.problem(
                    f"Line {line_of(index)} is empty; every row needs the {expected} fields the header names.", index
                )
            return rows.problem(
                f"Line {line_of(index)} has the wrong number of fields: "
                f"expected {expected} (as in the header), found {int(counts[index])}.",
                index,
            )

        problems = _Problems()
        problems.add_indices(bad[:MAX_PROBLEMS].tolist(), int(bad.size), ragged)
        problems.refuse()
    if counts.size == 0:
        raise InvalidDataset("The file has a header row but no data rows.")
    frame = _strings_frame(raw, text, quoted, names, counts.size)
    return _type_csv_columns(frame, line_of)


def _header_width(text: str) -> int:
    """How many columns the first record names (quoted fields may hold commas and line breaks)."""
    return len(next(csv.reader(io.StringIO(text)), []))


def _check_column_count(count: int) -> None:
    if count > MAX_COLUMNS:
        raise InvalidDataset(
            f"The file has {count:,} columns; a population may have at most {MAX_COLUMNS:,}. "
            "Keep the columns the rules read (and id, county and weight)."
        )


def _decode(raw: bytes) -> str:
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise InvalidDataset(
            f"The file is not UTF-8 text: it has a NUL byte on line {line} (is it UTF-16, or a spreadsheet?)."
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InvalidDataset(
            f"The file is not UTF-8 text: byte 0x{raw[exc.start]:02X} on line {line} cannot be read. "
            "Save it as UTF-8 (in Excel: CSV UTF-8)."
        ) from None


def _plain_records(raw: bytes) -> tuple[list[str], npt.NDArray[np.int64], LineOf, Callable[[int], bool]]:
    """No quotes, so one record per line: count the commas of every line with numpy, in chunks."""
    array = np.frombuffer(raw, dtype=np.uint8)
    ends = np.append(np.flatnonzero(array == ord("\n")), array.size)
    commas = np.zeros(ends.size, dtype=np.int64)
    for start in range(0, array.size, _CHUNK_BYTES):
        positions = np.flatnonzero(array[start : start + _CHUNK_BYTES] == ord(",")) + start
        if positions.size:
            lines = np.searchsorted(ends, positions)
            low = int(lines[0])
            spread = np.bincount(lines - low)
            commas[low : low + spread.size] += spread
    header = raw[: ends[0]].decode("utf-8").rstrip("\r").split(",")

    def blank(index: int) -> bool:
        line = index + 1  # 0-based line of data row `index`
        return not raw[ends[line - 1] + 1 : ends[line]].strip(b"\r")

    return header, commas[1:] + 1, lambda index: index + 2, blank


def _quoted_records(text: str) -> tuple[list[str], npt.NDArray[np.int64], LineOf, Callable[[int], bool]]:
    """Quoted fields may hold commas and line breaks: count fields with the csv module (strict)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        counts = np.fromiter(map(len, reader), dtype=np.int64)
    except csv.Error as exc:
        raise InvalidDataset(f"Line {reader.line_num}: the quoting is broken ({exc}).") from None

    starts: list[int] = []  # the line each record starts on, the header's first; read on the first call

    def line_of(index: int) -> int:
        # Only on the way to an error message: a record may span lines, so read them all again, once.
        if not starts:
            again = csv.reader(io.StringIO(text, newline=""), strict=True)
            previous_end = 0
            for _ in again:
                starts.append(previous_end + 1)
                previous_end = again.line_num
            starts.append(previous_end)  # past the last record
        return starts[min(index + 1, len(starts) - 1)]

    return header, counts, line_of, lambda index: counts[index] == 0


def _strings_frame(raw: bytes, text: str | None, quoted: bool, names: list[str], rows: int) -> pl.DataFrame:
    """Every cell as text (polars' reader); the csv module's reading where polars reads quotes otherwise."""
    try:
        frame = pl.read_csv(
            raw,
            has_header=True,
            infer_schema=False,
            quote_char='"' if quoted else None,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError:
        frame = None
    if frame is None or frame.shape != (rows, len(names)):
        if not quoted:  # cannot happen: the lines were counted above
            raise InvalidDataset("The CSV could not be read.")
        records = csv.reader(io.StringIO(text, newline=""), strict=True)
        next(records)
        columns = list(zip(*(record or [""] for record in records), strict=True))
        frame = pl.DataFrame([pl.Series(f"c{i}", col, dtype=pl.String) for i, col in enumerate(columns)])
    frame.columns = names
    return frame


def _check_header(fields: list[str]) -> list[str]:
    names = [field.strip() for field in fields]
    if not any(names):
        raise InvalidDataset(
            "The file has no header row: its first line is empty. The first line must name the columns, "
            "like id,county,age,weight."
        )
    _check_names(names, "The header", hint="Add a first line naming the columns.")
    return names


def _check_names(names: list[str], where: str, *, hint: str) -> None:
    for position, name in enumerate(names, start=1):
        if not name:
            raise InvalidDataset(f"{where} has no name for column {position}; every column needs a name.")
        if re.match(_FORMULA, name):
            raise InvalidDataset(
                f"{where} names column {position} {name!r}, which begins with {name[0]!r}: a spreadsheet would "
                "run it as a formula. Remove that first character."
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise InvalidDataset(
                f"{where} names the column {name!r} twice (columns {seen[name]} and {position}); "
                "column names must be unique."
            )
        seen[name] = position
    if all(_looks_like_value(name) for name in names):
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise InvalidDataset(
            f"The file has no header row: the column names ({shown}) are all numbers or true/false, "
            f"so they look like data. {hint}"
        )


def _looks_like_value(name: str) -> bool:
    if name.lower() in ("true", "false"):
        return True
    try:
        float(name)
    except ValueError:
        return False
    return name.lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity")


def _type_csv_columns(frame: pl.DataFrame, line_of: LineOf) -> tuple[pl.DataFrame, dict[str, str]]:
    """Cast each text column to the type all its values share; refuse a column that mixes them.

    The statistics of every column are computed in one pass each, so polars works on the columns
    in parallel; the rows that break a rule are only looked for when there is one.
    """
    names = frame.columns
    stripped = {name: pl.col(name).str.strip_chars() for name in names}
    cleaned = frame.select([pl.when(col == "").then(None).otherwise(col).alias(name) for name, col in stripped.items()])
    counts = _column_counts(
        cleaned,
        {
            "present": lambda col: col.is_not_null().sum(),
            "decimal": lambda col: col.str.contains(_DECIMAL).sum(),
        },
    )
    numeric = [name for name in names if counts[name]["present"] and counts[name]["decimal"] == counts[name]["present"]]
    others = [name for name in names if counts[name]["decimal"] == 0]
    details = _column_counts(
        cleaned.select(numeric),
        {
            "integer": lambda col: col.str.contains(_INTEGER).sum(),
            "leading_zero": lambda col: col.str.contains(_LEADING_ZERO).sum(),
        },
    )
    details.update(
        _column_counts(
            cleaned.select(others),
            {"boolean": lambda col: col.str.to_lowercase().is_in(["true", "false"]).sum()},
        )
    )
    rows, problems = _Rows(line_of), _Problems()
    columns, casts = {}, []
    for name in names:
        present, decimals = counts[name]["present"], counts[name]["decimal"]
        if name == "weight":
            _check_weight_text(cleaned[name], rows, problems)
        elif 0 < decimals < present:
            _mixed_problems(cleaned[name], rows, problems)
        kind = _csv_kind(name, present, details.get(name, {}), numeric=name in numeric)
        columns[name] = kind
        if kind == BOOLEAN:
            casts.append((pl.col(name).str.to_lowercase() == "true").alias(name))
        else:
            casts.append(pl.col(name).cast(DTYPES[kind], strict=False))
    typed = cleaned.select(casts)
    for name, kind in columns.items():
        if kind == INTEGER and typed[name].null_count() != cleaned[name].null_count():
            problems.add_rows(cleaned[name].is_not_null() & typed[name].is_null(), _too_large(cleaned[name], rows))
        elif kind == DECIMAL and not typed[name].drop_nulls().is_finite().all():  # 1e400 reads as infinity
            problems.add_rows(~typed[name].is_finite(), _not_finite(cleaned[name], rows))
        elif kind == TEXT and name != "weight" and not counts[name]["decimal"]:
            # Only all-text columns: a column with numbers among its text is refused as mixed already.
            _check_formulas(cleaned[name], rows, problems)
    _check_special_columns(typed, columns, rows, problems)
    problems.refuse(names)
    return typed, columns


def _column_counts(frame: pl.DataFrame, measures: dict[str, Callable[[pl.Expr], pl.Expr]]) -> dict[str, dict[str, int]]:
    """{column: {measure: int}} for every column of `frame`, in one select."""
    if not frame.width:
        return {}
    exprs = [
        measure(pl.col(name)).alias(f"{position}/{key}")
        for position, name in enumerate(frame.columns)
        for key, measure in measures.items()
    ]
    row = frame.select(exprs).row(0, named=True)
    result: dict[str, dict[str, int]] = {name: {} for name in frame.columns}
    for label, value in row.items():
        position, key = label.split("/", 1)
        result[frame.columns[int(position)]][key] = int(value or 0)
    return result


def _csv_kind(name: str, present: int, details: dict[str, int], *, numeric: bool) -> str:
    if not present:
        return TEXT
    if numeric:
        all_integer = details["integer"] == present
        if all_integer and details["leading_zero"] and name != "weight":
            return TEXT  # codes such as ZIP 02134: as numbers they would lose the zero
        if all_integer and name != "weight":
            return INTEGER
        return DECIMAL  # a weight is always a decimal, so a huge one cannot overflow
    if details.get("boolean") == present:
        return BOOLEAN
    return TEXT


def _check_weight_text(values: pl.Series, rows: _Rows, problems: _Problems) -> None:
    problems.add_rows(
        values.is_null(),
        lambda index: rows.problem(
            f"The column 'weight' is empty on {rows.text(index)}; every row needs a weight "
            "(how many people it stands for).",
            index,
            "weight",
        ),
    )
    problems.add_rows(
        values.is_not_null() & ~values.str.contains(_DECIMAL),
        lambda index: rows.problem(
            f"The column 'weight' must be a number on every row: {rows.text(index)} has {values[index]!r}.",
            index,
            "weight",
        ),
    )


def _too_large(values: pl.Series, rows: _Rows) -> Callable[[int], Problem]:
    def describe(index: int) -> Problem:
        return rows.problem(
            f"The column {values.name!r} has a whole number too large to store (more than 64 bits) "
            f"on {rows.text(index)}: {values[index]!r}.",
            index,
            values.name,
        )

    return describe


def _not_finite(values: pl.Series, rows: _Rows) -> Callable[[int], Problem]:
    def describe(index: int) -> Problem:
        return rows.problem(
            f"The column {values.name!r} has {values[index]} on {rows.text(index)}; only finite numbers are allowed.",
            index,
            values.name,
        )

    return describe


def _check_formulas(values: pl.Series, rows: _Rows, problems: _Problems) -> None:
    """Text that begins with =, +, -, @, a tab or a carriage return: a spreadsheet would run it as a formula."""

    def formula(index: int) -> Problem:
        value = values[index]
        return rows.problem(
            f"The column {values.name!r} has {value!r} on {rows.text(index)}, which begins with {value[0]!r}: "
            "a spreadsheet would run it as a formula. Remove that first character.",
            index,
            values.name,
        )

    problems.add_rows(values.str.contains(_FORMULA), formula)


def _mixed_problems(values: pl.Series, rows: _Rows, problems: _Problems) -> None:
    """A column whose first value is a number and has text further down, or the other way round."""
    present = values.is_not_null()
    is_number = values.str.contains(_DECIMAL).fill_null(False)
    first = _first(present)
    starts_with_number = bool(is_number[first])
    start = f"{rows.text(first)}: {values[first]!r}"

    def mixed(index: int) -> Problem:
        if starts_with_number:
            detail = f"it starts with numbers ({start}) but {rows.text(index)} has {values[index]!r}"
        else:
            detail = f"it starts with text ({start}) but {rows.text(index)} has the number {values[index]!r}"
        return rows.problem(f"The column {values.name!r} mixes numbers and text: {detail}.", index, values.name)

    problems.add_rows(present & (~is_number if starts_with_number else is_number), mixed)


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# Parquet


def _read_parquet(data: bytes) -> tuple[pl.DataFrame, dict[str, str]]:
    try:
        _check_column_count(len(pl.read_parquet_schema(io.BytesIO(data))))
        frame = pl.read_parquet(io.BytesIO(data))
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InvalidDataset(f"The file could not be read as Parquet: {_first_line(exc)}.") from None
    _check_names([name.strip() for name in frame.columns], "The Parquet file", hint="Name the columns.")
    frame = frame.rename({name: name.strip() for name in frame.columns})
    if frame.height == 0:
        raise InvalidDataset("The Parquet file has no data rows.")
    rows, problems = _Rows(), _Problems()
    columns, series = {}, []
    for name in frame.columns:
        try:
            kind = _parquet_kind(frame[name])
        except InvalidDataset as exc:
            problems.add(Problem(exc.message, column=name))
            continue
        typed = frame[name].cast(DTYPES[kind])
        if kind == DECIMAL and not typed.drop_nulls().is_finite().all():
            problems.add_rows(~typed.is_finite(), _not_finite(typed, rows))
        elif kind == TEXT:
            _check_formulas(typed, rows, problems)
        columns[name] = kind
        series.append(typed)
    typed_frame = pl.DataFrame(series)
    if "weight" in columns and columns["weight"] not in (INTEGER, DECIMAL):
        problems.add(
            Problem(
                f"The column 'weight' must be numeric; in this Parquet file it is {frame['weight'].dtype}.",
                column="weight",
            )
        )
    elif "weight" in columns:
        problems.add_rows(
            typed_frame["weight"].is_null(),
            lambda index: rows.problem(
                f"The column 'weight' is empty on row {index + 1}; every row needs a weight "
                "(how many people it stands for).",
                index,
                "weight",
            ),
        )
    _check_special_columns(typed_frame, columns, rows, problems)
    problems.refuse(frame.columns)
    return typed_frame, columns


def _parquet_kind(series: pl.Series) -> str:
    dtype = series.dtype
    if dtype.is_integer():
        if dtype == pl.UInt64 and series.max() is not None and cast(int, series.max()) > np.iinfo(np.int64).max:
            raise InvalidDataset(
                f"The column {series.name!r} has whole numbers too large to store (more than 64 bits)."
            )
        return INTEGER
    if dtype.is_float() or dtype.is_decimal():
        return DECIMAL
    if dtype == pl.Boolean:
        return BOOLEAN
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Enum, pl.Categorical)):
        return TEXT
    raise InvalidDataset(
        f"The column {series.name!r} has the Parquet type {dtype}, which a rule cannot read; "
        "use whole numbers, decimals, booleans or text."
    )


# ---------------------------------------------------------------------------------------------
# Both


def _check_special_columns(frame: pl.DataFrame, columns: dict[str, str], rows: _Rows, problems: _Problems) -> None:
    """`weight` counts people: numeric, present, not negative. `id`, when there, identifies one row."""
    if "weight" in columns:
        # A weight that is not a number on every row is a problem already: its other rows are still read.
        weight = frame["weight"]
        if columns["weight"] not in (INTEGER, DECIMAL):
            weight = weight.cast(pl.Float64, strict=False)
        problems.add_rows(
            weight < 0,
            lambda index: rows.problem(
                f"The column 'weight' is negative on {rows.text(index)} ({weight[index]}); "
                "a weight counts people and cannot be below 0.",
                index,
                "weight",
            ),
        )
    if "id" in columns:
        ids = frame["id"]
        if ids.null_count():
            problems.add_rows(
                ids.is_null(),
                lambda index: rows.problem(
                    f"The column 'id' is empty on {rows.text(index)}; every row needs an id when the column is there.",
                    index,
                    "id",
                ),
            )
        present = ids.drop_nulls().sort()
        if (present.slice(1) == present.slice(0, present.len() - 1)).any():  # a sort is cheaper than hashing

            def again(later: int) -> Problem:
                value = ids[later]
                first = _first(ids == value)
                return rows.problem(
                    f"The column 'id' has the value {value!r} twice ({rows.text(first)} and {rows.text(later)}); "
                    "each id must be unique.",
                    later,
                    "id",
                )

            problems.add_rows(ids.is_not_null() & ids.is_duplicated() & ~ids.is_first_distinct(), again)


def type_label(dtype_name: object) -> str:
    """A column type as the pages show it, for our own names and polars' (the synthetic dataset's)."""
    name = str(dtype_name)
    if name in DTYPES:
        return name
    if name.startswith(("Int", "UInt")):
        return INTEGER
    if name.startswith(("Float", "Decimal")):
        return DECIMAL
    if name == "Boolean":
        return BOOLEAN
    if name in ("String", "Utf8", "Categorical"):
        return TEXT
    return name


# ---------------------------------------------------------------------------------------------
# Writing and loading the stored copy


def write_normalised(frame: pl.DataFrame, path: Path) -> Path:
    """Write the typed frame as the stored Parquet copy, atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=False, row_group_size=ROW_GROUP_ROWS)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
