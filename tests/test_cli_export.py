"""``closedloop export`` writes the lake layout, equal to what the store holds."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from api.cli import main
from ingest import Store, ingest_files

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("touchpoints", "conversions", "costs", "identities")


@pytest.fixture
def example_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.duckdb")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    pairs = tmp_path / "ids.csv"
    pairs.write_text("anonymous_id,user_id\ncookie-9,crm-9\n")
    ingest_files(store, "identities", [pairs])
    return store


def test_export_writes_every_table_as_the_store_holds_it(
    example_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = tmp_path / "lake"
    assert main(["export", "--db", str(example_store.path), "--out", str(lake)]) == 0
    out = capsys.readouterr().out
    assert "touchpoints: 28,529 rows → lake/touchpoints/" in out
    for table in TABLES:
        exported = pl.read_parquet(lake / table)
        stored = example_store.read(table)
        assert exported.schema == stored.schema, table
        assert exported.equals(stored), table


def test_export_replaces_an_earlier_export(example_store: Store, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    example_store.export(lake)
    (lake / "costs" / "stale.parquet").write_bytes(b"old")
    example_store.export(lake)
    assert sorted(p.name for p in (lake / "costs").iterdir()) == ["part-00000.parquet"]
    assert not [p for p in lake.iterdir() if p.name.startswith(".export-")]
