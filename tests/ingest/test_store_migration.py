"""Stores written by an older closedloop open, and are upgraded, in this one.

The old layout is built by hand (version 1: ``conversions`` without
``pipeline``), so the test fails if the migration stops adding a column a
table lacks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from attribution.errors import StoreError
from ingest import Store
from ingest.store import SCHEMA_VERSION

V1_CONVERSIONS = """CREATE TABLE conversions (
  conversion_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL,
  stage VARCHAR NOT NULL, revenue DOUBLE, owner VARCHAR, lead_source VARCHAR,
  PRIMARY KEY (conversion_id))"""


def old_store(path: Path, version: int = 1) -> None:
    """Write a store of the version-1 layout holding one conversion."""
    con = duckdb.connect(str(path))
    con.execute(V1_CONVERSIONS)
    con.execute(
        "INSERT INTO conversions VALUES "
        "('c1', 'u1', TIMESTAMPTZ '2024-03-01 10:00:00+00', 'closed_won', 50.0, NULL, NULL)"
    )
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', ?), ('data_version', '3')", [version])
    con.close()


def columns(path: Path, table: str) -> list[str]:
    con = duckdb.connect(str(path))
    try:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    finally:
        con.close()
    return [name for (name,) in rows]


def test_an_old_store_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_store(path)
    assert "pipeline" not in columns(path, "conversions")
    store = Store(path)
    assert columns(path, "conversions")[-1] == "pipeline"
    with store.snapshot() as snap:
        rows = snap.read("conversions")
        assert snap.data_version == 3  # adding an empty column changes no row
    assert rows.select("conversion_id", "revenue", "pipeline").rows() == [("c1", 50.0, None)]
    con = duckdb.connect(str(path))
    version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    con.close()
    assert version == (str(SCHEMA_VERSION),)


def test_an_upgraded_store_takes_the_new_column(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_store(path)
    store = Store(path)
    opportunity = pl.DataFrame(
        {
            "conversion_id": ["o1"],
            "user_id": ["u1"],
            "ts": [dt.datetime(2024, 2, 1, tzinfo=dt.UTC)],
            "stage": ["opportunity"],
            "revenue": [0.0],
            "pipeline": [1200.0],
        }
    )
    store.upsert("conversions", opportunity)
    read = store.read("conversions").sort("conversion_id")
    assert read.select("conversion_id", "pipeline").rows() == [("c1", None), ("o1", 1200.0)]
    Store(path)  # opening again: nothing left to migrate, nothing changes
    assert store.read("conversions").height == 2


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    old_store(path, version=SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=r"newer than the version \d+ .* Upgrade closedloop"):
        Store(path)


def test_an_export_written_before_the_column_restores(tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    pl.DataFrame(
        {
            "conversion_id": ["c1"],
            "user_id": ["u1"],
            "ts": [dt.datetime(2024, 3, 1, tzinfo=dt.UTC)],
            "stage": ["closed_won"],
            "revenue": [50.0],
            "owner": [None],
            "lead_source": [None],
        },
        schema_overrides={"owner": pl.String, "lead_source": pl.String},
    ).write_parquet(backup / "conversions.parquet")
    store = Store(tmp_path / "s.duckdb")
    assert store.restore(backup)["conversions"].inserted == 1
    assert store.read("conversions").select("revenue", "pipeline").rows() == [(50.0, None)]
