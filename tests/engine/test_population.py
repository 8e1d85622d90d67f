"""engine/population.py: the synthetic population is deterministic for a seed."""

import hashlib

import pytest

from engine import population

COLUMNS = population.generate(1).columns


def test_same_seed_same_frame():
    """The same size and seed give identical frames."""
    assert population.generate(3_000, seed=7).equals(population.generate(3_000, seed=7))


def test_other_seed_other_frame():
    """Another seed gives another population."""
    assert not population.generate(3_000, seed=7).equals(population.generate(3_000, seed=8))


@pytest.mark.parametrize("rows", [1, 17, 2_000])
def test_size_and_columns(rows):
    """The frame has the rows asked for, the documented columns, ids 1..n and plausible values."""
    frame = population.generate(rows, seed=1)
    assert frame.height == rows
    assert frame.columns == COLUMNS
    assert frame["id"].to_list() == list(range(1, rows + 1))
    assert frame["age"].min() >= 0 and frame["age"].max() <= 99
    assert set(frame["county"].to_list()) <= {c[0] for c in population.COUNTIES}
    assert str(frame.schema["in_fire_zone"]) == "Boolean"


def test_weights_stand_for_the_state_population():
    """Weights sum to about Oregon's 2020 population, whatever the size."""
    for rows in (2_000, 20_000):
        total = population.generate(rows, seed=3)["weight"].sum()
        assert total == pytest.approx(population.TOTAL_POPULATION, rel=0.02)


def test_zero_rows_is_refused():
    """A population needs at least one row."""
    with pytest.raises(ValueError):
        population.generate(0)


def test_written_file_is_the_same_bytes(tmp_path):
    """Writing the same size and seed twice gives byte-identical Parquet files."""
    a = tmp_path / "a" / "pop.parquet"
    b = tmp_path / "b" / "pop.parquet"
    population.write_parquet(a, rows=1_500, seed=9)
    population.write_parquet(b, rows=1_500, seed=9)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
