"""A deterministic synthetic population: Oregon's 36 counties at their 2020 census sizes.

Each row stands for `weight` people (about 42 at 100,000 rows). The same seed and size always
give the same file, byte for byte, so a simulation can be reproduced from its dataset hash.
"""

from pathlib import Path

import numpy as np
import polars as pl

# County, 2020 census population, and the share of its people living in a wildfire zone.
COUNTIES = [
    ("Multnomah", 815_428, 0.03), ("Washington", 600_372, 0.04), ("Clackamas", 421_401, 0.12),
    ("Lane", 382_971, 0.16), ("Marion", 345_920, 0.12), ("Jackson", 223_259, 0.30),
    ("Deschutes", 198_253, 0.28), ("Linn", 128_610, 0.15), ("Douglas", 111_201, 0.26),
    ("Yamhill", 107_722, 0.06), ("Benton", 95_184, 0.08), ("Josephine", 88_090, 0.34),
    ("Polk", 87_433, 0.07), ("Umatilla", 80_075, 0.10), ("Klamath", 69_413, 0.27),
    ("Coos", 64_929, 0.14), ("Columbia", 52_589, 0.08), ("Lincoln", 50_395, 0.12),
    ("Clatsop", 41_072, 0.06), ("Malheur", 31_571, 0.12), ("Tillamook", 27_390, 0.08),
    ("Wasco", 26_670, 0.22), ("Union", 26_196, 0.16), ("Crook", 24_738, 0.30),
    ("Jefferson", 24_502, 0.32), ("Hood River", 23_977, 0.18), ("Curry", 23_446, 0.26),
    ("Baker", 16_668, 0.20), ("Morrow", 12_186, 0.14), ("Lake", 8_160, 0.32),
    ("Wallowa", 7_391, 0.22), ("Harney", 7_495, 0.24), ("Grant", 7_233, 0.34),
    ("Gilliam", 1_995, 0.16), ("Sherman", 1_870, 0.16), ("Wheeler", 1_451, 0.34),
]  # fmt: skip
TOTAL_POPULATION = sum(c[1] for c in COUNTIES)
DAMAGE_RATE_IN_ZONE = 0.045
DAMAGE_RATE_OUTSIDE = 0.002
# Rows per Parquet row group in the files the portal writes: a partition of a partitioned
# simulation reads only the row groups that hold its rows (checks/partitions.py).
ROW_GROUP_ROWS = 250_000


def generate(rows: int = 100_000, seed: int = 2024) -> pl.DataFrame:
    """Return a polars DataFrame of `rows` synthetic people."""
    if rows < 1:
        raise ValueError("A population needs at least one row.")
    rng = np.random.default_rng(seed)
    names = np.array([c[0] for c in COUNTIES])
    sizes = np.array([c[1] for c in COUNTIES], dtype=np.float64)
    zone_share = np.array([c[2] for c in COUNTIES])
    county_index = rng.choice(len(COUNTIES), size=rows, p=sizes / sizes.sum())

    # Ages: children 0-17 (about 21%), adults 18-64, seniors to 99.
    band = rng.choice(3, size=rows, p=[0.21, 0.61, 0.18])
    age = np.where(
        band == 0,
        rng.integers(0, 18, rows),
        np.where(band == 1, rng.integers(18, 65, rows), rng.integers(65, 100, rows)),
    )
    household_size = np.clip(rng.poisson(1.6, rows) + 1, 1, 9)
    income = np.where(age < 16, 0, np.round(rng.lognormal(mean=10.6, sigma=0.75, size=rows), -2)).astype(np.int64)
    in_fire_zone = rng.random(rows) < zone_share[county_index]
    home_damaged = rng.random(rows) < np.where(in_fire_zone, DAMAGE_RATE_IN_ZONE, DAMAGE_RATE_OUTSIDE)
    insured = rng.random(rows) < np.where(income > 60_000, 0.9, 0.7)
    veteran = (age >= 18) & (rng.random(rows) < 0.07)
    # Survey-style weights: each row stands for about TOTAL/rows people, varying ±20%.
    base = TOTAL_POPULATION / rows
    weight = np.round(base * rng.uniform(0.8, 1.2, rows), 2)

    return pl.DataFrame(
        {
            "id": np.arange(1, rows + 1, dtype=np.int64),
            "county": names[county_index],
            "age": age.astype(np.int64),
            "household_size": household_size.astype(np.int64),
            "income": income,
            "in_fire_zone": in_fire_zone,
            "home_damaged": home_damaged,
            "insured": insured,
            "veteran": veteran,
            "weight": weight,
        }
    )


def write_parquet(path: Path, rows: int = 100_000, seed: int = 2024) -> pl.DataFrame:
    """Generate and write to `path` (Parquet, uncompressed statistics; stable bytes)."""
    frame = generate(rows, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", statistics=False, row_group_size=ROW_GROUP_ROWS)
    return frame
