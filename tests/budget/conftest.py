"""A data folder of its own for each test, and population files to upload."""

import io

import polars as pl
import pytest

GOOD_CSV = (
    b"id,county,age,income,in_fire_zone,home_damaged,zip,weight\n"
    b"1,Lane,34,52000.5,true,false,97401,41.5\n"
    b"2,Marion,,61000,FALSE,True,02134,40\n"
    b"3,Lane,70,0,true,true,97402,42.25\n"
)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """DATA_DIR is a fresh folder, so what a test stores (or does not) is all that is there."""
    settings.DATA_DIR = tmp_path
    return tmp_path


def stored_files(data_dir):
    folder = data_dir / "datasets"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def parquet_bytes(frame):
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def good_frame():
    return pl.DataFrame(
        {
            "id": [1, 2, 3],
            "county": ["Lane", "Marion", "Lane"],
            "age": [34, None, 70],
            "veteran": [True, False, None],
            "weight": [41.5, 40.0, 42.25],
        }
    )
