"""engine/datasets.py read_population: what a population file may be, and the reason it is refused when not."""

import hashlib
import time

import polars as pl
import pytest

from engine import population
from engine.datasets import read_population
from engine.errors import InvalidDataset, InvalidInput
from tests.budget.conftest import GOOD_CSV, good_frame, parquet_bytes

REFUSED_CSV = [
    ("empty", b"", "The file is empty (0 bytes)."),
    (
        "not utf-8",
        b"id,county\n1,Lane\n2,Coos Bay caf\xe9\n",
        "The file is not UTF-8 text: byte 0xE9 on line 3 cannot be read. Save it as UTF-8 (in Excel: CSV UTF-8).",
    ),
    (
        "utf-16",
        "id,county\n1,Lane\n".encode("utf-16"),
        "The file is not UTF-8 text: it has a NUL byte on line 1 (is it UTF-16, or a spreadsheet?).",
    ),
    ("only blank lines", b"\n\n", "The file has no header row: it holds only blank lines."),
    (
        "empty header",
        b"\n1,Lane\n",
        "The file has no header row: its first line is empty. The first line must name the columns, "
        "like id,county,age,weight.",
    ),
    (
        "duplicate names",
        b"id,age,county,age\n1,2,Lane,3\n",
        "The header names the column 'age' twice (columns 2 and 4); column names must be unique.",
    ),
    ("blank name", b"id,,age\n1,2,3\n", "The header has no name for column 2; every column needs a name."),
    (
        "header looks like data",
        b"1,34,true\n2,40,false\n",
        "The file has no header row: the column names (1, 34, true) are all numbers or true/false, "
        "so they look like data. Add a first line naming the columns.",
    ),
    (
        "short row",
        b"id,county,age\n1,Lane,34\n2,Coos\n",
        "Line 3 has the wrong number of fields: expected 3 (as in the header), found 2.",
    ),
    (
        "long row",
        b"id,county,age\n1,Lane,34\n2,Coos,40\n3,Lane,5,extra\n",
        "Line 4 has the wrong number of fields: expected 3 (as in the header), found 4.",
    ),
    (
        "blank line",
        b"id,county,age\n1,Lane,34\n\n2,Coos,40\n",
        "Line 3 is empty; every row needs the 3 fields the header names.",
    ),
    (
        "ragged after a quoted line break",
        b'id,note,age\n1,"two\nlines",34\n2,x,40,41\n',
        "Line 4 has the wrong number of fields: expected 3 (as in the header), found 4.",
    ),
    (
        "broken quoting",
        b'id,note\n1,"fine"\n2,"ab"c\n',
        "Line 3: the quoting is broken (',' expected after '\"').",
    ),
    (
        "numbers then text",
        b"id,age\n1,34\n2,40\n3,unknown\n",
        "The column 'age' mixes numbers and text: it starts with numbers (line 2: '34') but line 4 has 'unknown'.",
    ),
    (
        "text then a number",
        b"id,county\n1,Lane\n2,12\n",
        "The column 'county' mixes numbers and text: it starts with text (line 2: 'Lane') but line 3 has the number '12'.",
    ),
    (
        "NaN is not a number",
        b"id,income\n1,52000\n2,NaN\n",
        "The column 'income' mixes numbers and text: it starts with numbers (line 2: '52000') but line 3 has 'NaN'.",
    ),
    (
        "weight not numeric",
        b"id,weight\n1,40\n2,many\n",
        "The column 'weight' must be a number on every row: line 3 has 'many'.",
    ),
    (
        "weight negative",
        b"id,weight\n1,40\n2,-3\n",
        "The column 'weight' is negative on line 3 (-3.0); a weight counts people and cannot be below 0.",
    ),
    (
        "weight empty",
        b"id,weight\n1,40\n2,\n",
        "The column 'weight' is empty on line 3; every row needs a weight (how many people it stands for).",
    ),
    (
        "duplicate id",
        b"id,age\n7,1\n8,2\n7,3\n",
        "The column 'id' has the value 7 twice (line 2 and line 4); each id must be unique.",
    ),
    (
        "empty id",
        b"id,age\n7,1\n,2\n",
        "The column 'id' is empty on line 3; every row needs an id when the column is there.",
    ),
    ("header only", b"id,age\n", "The file has a header row but no data rows."),
    ("header and blank lines", b"id,age\n\n\n", "The file has a header row but no data rows."),
    (
        "integer too large",
        b"id,income\n1,99999999999999999999\n",
        "The column 'income' has a whole number too large to store (more than 64 bits) on line 2: '99999999999999999999'.",
    ),
]


@pytest.mark.parametrize(("raw", "message"), [c[1:] for c in REFUSED_CSV], ids=[c[0] for c in REFUSED_CSV])
def test_refused_csv_says_why(raw, message):
    """Each kind of bad CSV is refused with a specific reason naming the line, column and value."""
    with pytest.raises(InvalidDataset) as refused:
        read_population(raw, filename="people.csv")
    assert refused.value.message == message
    assert isinstance(refused.value, InvalidInput) and refused.value.status == 400


def test_over_the_size_limit_is_refused_before_reading(tmp_path):
    """A file over `max_bytes` is refused by its size, from bytes or from a path, naming the setting."""
    path = tmp_path / "big.csv"
    path.write_bytes(GOOD_CSV)
    expected = f"The file is {len(GOOD_CSV):,} bytes; the limit is 20 bytes (PDP_DATASET_MAX_BYTES)."
    for source in (GOOD_CSV, path):
        with pytest.raises(InvalidDataset) as refused:
            read_population(source, filename="big.csv", max_bytes=20, limit_name="PDP_DATASET_MAX_BYTES")
        assert refused.value.message == expected


def test_other_file_types_are_refused():
    """A spreadsheet or anything not named .csv/.parquet (and not Parquet inside) is refused by name."""
    with pytest.raises(InvalidDataset) as refused:
        read_population(b"PK\x03\x04rest", filename="people.xlsx")
    assert (
        refused.value.message
        == "A population must be a CSV (.csv) or Parquet (.parquet) file; 'people.xlsx' is neither."
    )


def test_good_csv_types_and_info():
    """A good CSV: types inferred per column, empty cells null, codes with leading zeros kept as text."""
    frame, info = read_population(GOOD_CSV, filename="people.csv")
    assert info == {
        "format": "csv",
        "row_count": 3,
        "columns": {
            "id": "integer",
            "county": "text",
            "age": "integer",
            "income": "decimal",
            "in_fire_zone": "boolean",
            "home_damaged": "boolean",
            "zip": "text",
            "weight": "decimal",
        },
        "sha256": hashlib.sha256(GOOD_CSV).hexdigest(),
        "size_bytes": len(GOOD_CSV),
    }
    assert frame.schema == {
        "id": pl.Int64,
        "county": pl.String,
        "age": pl.Int64,
        "income": pl.Float64,
        "in_fire_zone": pl.Boolean,
        "home_damaged": pl.Boolean,
        "zip": pl.String,
        "weight": pl.Float64,
    }
    assert frame.row(1) == (2, "Marion", None, 61000.0, False, True, "02134", 40.0)


def test_csv_details_are_read_as_people_write_them():
    """A byte order mark, CRLF line ends, spaces around cells, quoted commas and line breaks are all read."""
    raw = b'\xef\xbb\xbfid, note ,weight\r\n1,"Smith, J", 2\r\n2,"two\r\nlines", 3.5 \r\n\r\n'
    frame, info = read_population(raw, filename="people.csv")
    assert info["columns"] == {"id": "integer", "note": "text", "weight": "decimal"}
    assert frame.rows() == [(1, "Smith, J", 2.0), (2, "two\r\nlines", 3.5)]


def test_good_parquet_types_and_info():
    """A good Parquet file keeps its declared types, named in the population's words."""
    raw = parquet_bytes(good_frame())
    frame, info = read_population(raw, filename="people.parquet")
    assert info["format"] == "parquet"
    assert info["row_count"] == 3
    assert info["columns"] == {
        "id": "integer",
        "county": "text",
        "age": "integer",
        "veteran": "boolean",
        "weight": "decimal",
    }
    assert info["sha256"] == hashlib.sha256(raw).hexdigest()
    assert frame.equals(good_frame())


def test_parquet_is_recognised_by_its_magic_bytes():
    """A Parquet file is read as Parquet whatever it is called."""
    _, info = read_population(parquet_bytes(good_frame()), filename="export.csv")
    assert info["format"] == "parquet"


REFUSED_PARQUET = [
    ("unreadable", b"PAR1 this is not really parquet PAR1", "The file could not be read as Parquet: "),
    ("csv named .parquet", GOOD_CSV, "The file could not be read as Parquet: "),
    ("no rows", pl.DataFrame({"age": []}, schema={"age": pl.Int64}), "The Parquet file has no data rows."),
    (
        "names look like data",
        pl.DataFrame({"0": [1], "1": [2]}),
        "The file has no header row: the column names (0, 1) are all numbers or true/false, so they look like data. "
        "Name the columns.",
    ),
    (
        "weight is text",
        pl.DataFrame({"weight": ["40"]}),
        "The column 'weight' must be numeric; in this Parquet file it is String.",
    ),
    (
        "weight negative",
        pl.DataFrame({"weight": [1.0, -2.0]}),
        "The column 'weight' is negative on row 2 (-2.0); a weight counts people and cannot be below 0.",
    ),
    (
        "weight null",
        pl.DataFrame({"weight": [1.0, None]}),
        "The column 'weight' is empty on row 2; every row needs a weight (how many people it stands for).",
    ),
    (
        "duplicate id",
        pl.DataFrame({"id": ["a", "b", "a"]}),
        "The column 'id' has the value 'a' twice (row 1 and row 3); each id must be unique.",
    ),
    (
        "NaN",
        pl.DataFrame({"income": [1.0, float("nan")]}),
        "The column 'income' has nan on row 2; only finite numbers are allowed.",
    ),
]


@pytest.mark.parametrize(("content", "message"), [c[1:] for c in REFUSED_PARQUET], ids=[c[0] for c in REFUSED_PARQUET])
def test_refused_parquet_says_why(content, message):
    """A Parquet file that cannot be read, or breaks a population's rules, is refused with the reason."""
    raw = content if isinstance(content, bytes) else parquet_bytes(content)
    with pytest.raises(InvalidDataset) as refused:
        read_population(raw, filename="people.parquet")
    assert refused.value.message.startswith(message)


def test_200k_row_csv_validates_quickly(tmp_path):
    """A 200,000-row CSV of the synthetic population validates in well under the seconds a person waits."""
    path = tmp_path / "people.csv"
    expected = population.generate(200_000, seed=3)
    expected.write_csv(path)
    started = time.perf_counter()
    frame, info = read_population(path, filename="people.csv")
    took = time.perf_counter() - started
    print(f"\n200,000-row CSV ({info['size_bytes']:,} bytes) validated in {took:.2f}s")
    assert info["row_count"] == 200_000
    assert frame.equals(expected)
    assert took < 10


def test_every_problem_of_a_csv_is_named_at_once_with_its_row_line_and_column():
    """A CSV with several problems is refused naming each, in file order, with its row, line and column."""
    raw = b"id,age,weight\n1,34,2\n2,x,-1\n2,40,\n4,41,many\n"
    with pytest.raises(InvalidDataset) as refused:
        read_population(raw, filename="people.csv")
    details = refused.value.details
    assert details["problem_count"] == 5
    assert [(p["row"], p["line"], p["column"]) for p in details["problems"]] == [
        (2, 3, "age"), (2, 3, "weight"), (3, 4, "id"), (3, 4, "weight"), (4, 5, "weight"),
    ]  # fmt: skip
    assert details["problems"][1]["message"] == (
        "The column 'weight' is negative on line 3 (-1.0); a weight counts people and cannot be below 0."
    )
    assert refused.value.message == (
        "The file has 5 problems. The first: The column 'age' mixes numbers and text: it starts with numbers "
        "(line 2: '34') but line 3 has 'x'."
    )


def test_ragged_rows_are_all_named():
    """Every row with the wrong number of fields is named, not only the first."""
    with pytest.raises(InvalidDataset) as refused:
        read_population(b"a,b\n1,2\n3\n4,5,6\n\n7,8\n", filename="people.csv")
    assert [p["message"] for p in refused.value.details["problems"]] == [
        "Line 3 has the wrong number of fields: expected 2 (as in the header), found 1.",
        "Line 4 has the wrong number of fields: expected 2 (as in the header), found 3.",
        "Line 5 is empty; every row needs the 2 fields the header names.",
    ]


def test_at_most_twenty_problems_are_listed_and_all_are_counted():
    """A file with 45 bad rows lists the first 20, in order, and says there are 45."""
    raw = b"id,age\n1,34\n" + b"".join(b"%d,old\n" % i for i in range(2, 47))
    with pytest.raises(InvalidDataset) as refused:
        read_population(raw, filename="people.csv")
    details = refused.value.details
    assert details["problem_count"] == 45
    assert [p["line"] for p in details["problems"]] == list(range(3, 23))
    assert refused.value.message.startswith("The file has 45 problems (the first 20 are listed). The first: ")


def test_every_problem_of_a_parquet_file_is_named_with_its_row_and_column():
    """A Parquet file's problems are all named too, by row (from 1) and column."""
    frame = pl.DataFrame({"id": [1, 1, None], "weight": [1.0, None, -3.0], "x": [1.0, float("inf"), 2.0]})
    with pytest.raises(InvalidDataset) as refused:
        read_population(parquet_bytes(frame), filename="people.parquet")
    problems = refused.value.details["problems"]
    assert [(p["row"], p["line"], p["column"]) for p in problems] == [
        (2, None, "id"), (2, None, "weight"), (2, None, "x"), (3, None, "id"), (3, None, "weight"),
    ]  # fmt: skip


def test_a_quoted_csv_names_each_problem_at_its_line():
    """Quoted fields spanning lines: each problem still names the line its row starts on."""
    raw = b'id,note,age\n1,"a\nb",34\n2,"c",x\n3,"d\ne",y\n'
    with pytest.raises(InvalidDataset) as refused:
        read_population(raw, filename="people.csv")
    assert [p["line"] for p in refused.value.details["problems"]] == [4, 5]
