"""One consistent snapshot per query, and a ``data_version`` that moves with every commit."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from attribution.errors import ParameterError
from ingest import Store

ROOT = Path(__file__).resolve().parents[2]


def _batch(i: int) -> list[tuple[str, pl.DataFrame]]:
    """Two touchpoints and one conversion per step: counts must move together."""
    ts = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i)
    touches = pl.DataFrame(
        {
            "touchpoint_id": [f"t{i}a", f"t{i}b"],
            "user_id": [f"u{i}", f"u{i}"],
            "ts": [ts, ts],
            "channel": ["Email", "Search"],
            "campaign": [None, None],
            "source": [None, None],
            "medium": [None, None],
            "interaction": [None, None],
        },
        schema_overrides=dict.fromkeys(("campaign", "source", "medium", "interaction"), pl.String),
    )
    sales = pl.DataFrame(
        {
            "conversion_id": [f"c{i}"],
            "user_id": [f"u{i}"],
            "ts": [ts + dt.timedelta(minutes=5)],
            "stage": ["purchase"],
            "revenue": [10.0],
            "owner": [None],
            "lead_source": [None],
        },
        schema_overrides={"owner": pl.String, "lead_source": pl.String},
    )
    return [("touchpoints", touches), ("conversions", sales)]


def test_data_version_moves_with_changes_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    assert store.data_version() == 0
    store.upsert_many(_batch(0))
    assert store.data_version() == 1
    store.upsert_many(_batch(0))  # the same rows again: nothing changed
    assert store.data_version() == 1
    changed = _batch(0)[1][1].with_columns(pl.lit(99.0).alias("revenue"))
    store.upsert("conversions", changed)
    assert store.data_version() == 2
    with store.snapshot() as snap:
        assert snap.data_version == 2


def test_failed_write_does_not_move_the_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.upsert_many(_batch(0))
    bad = pl.DataFrame({"anonymous_id": ["a"]})
    with pytest.raises(Exception, match="lacks column"):
        store.upsert_many([*_batch(1), ("identities", bad)])
    assert store.data_version() == 1
    assert store.counts()["touchpoints"] == 2


def test_snapshot_reads_every_table_in_one_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.upsert_many(_batch(0))
    with store.snapshot() as snap:
        touches = snap.read("touchpoints")
        store.upsert_many(_batch(1))  # another thread of this process commits meanwhile
        sales = snap.read("conversions")
        assert snap.counts() == {
            "touchpoints": 2,
            "conversions": 1,
            "costs": 0,
            "identities": 0,
            "accounts": 0,
            "lift_tests": 0,
        }
    assert (touches.height, sales.height) == (2, 1)
    assert store.counts()["conversions"] == 2


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from test_store_snapshot import _batch
    from ingest import Store
    store = Store({db!r}, wait_seconds=60)
    for i in range(1, {steps} + 1):
        store.upsert_many(_batch(i))
    """
)


def test_readers_never_see_half_of_a_multi_table_ingest_from_another_process(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.duckdb"
    store = Store(db, wait_seconds=60)
    store.upsert_many(_batch(0))
    steps = 12
    script = _WRITER.format(
        root=str(ROOT), tests=str(Path(__file__).parent), db=str(db), steps=steps
    )
    writer = subprocess.Popen([sys.executable, "-c", script])
    seen: set[int] = set()
    try:
        while writer.poll() is None:
            with store.snapshot() as snap:
                counts = snap.counts()
                version = snap.data_version
                sales = snap.read("conversions").height
            assert counts["touchpoints"] == 2 * counts["conversions"]
            assert sales == counts["conversions"]
            assert version == counts["conversions"]  # one bump per committed step
            seen.add(version)
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0
    assert store.data_version() == steps + 1
    assert store.counts()["conversions"] == steps + 1
    assert seen, "the reader never got a snapshot"


def test_closedloop_duckdb_memory_bounds_every_store_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.duckdb")
    monkeypatch.setenv("CLOSEDLOOP_DUCKDB_MEMORY", "300MiB")
    with store.snapshot() as snap:
        limit = snap.query("SELECT current_setting('memory_limit') AS m")["m"].item()
    assert limit.replace(" ", "") in ("300.0MiB", "314.5MB", "300MiB")
    monkeypatch.setenv("CLOSEDLOOP_DUCKDB_MEMORY", "a lot")
    with pytest.raises(ParameterError, match="CLOSEDLOOP_DUCKDB_MEMORY must be a size"):
        store.read("touchpoints")
