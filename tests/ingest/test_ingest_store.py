from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution.errors import InputError, StoreBusyError, StoreError, UnknownTableError
from attribution.schema import CONVERSIONS, COSTS, TABLES
from ingest import Store, UpsertCounts, default_db_path

REPO = Path(__file__).resolve().parents[2]
UTC = dt.UTC


def conversions(revenue: float = 10.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "conversion_id": ["c1", "c2", "c3"],
            "user_id": ["u1", "u1", "u2"],
            "ts": [
                dt.datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
                dt.datetime(2024, 3, 2, 23, 59, tzinfo=UTC),
                dt.datetime(2024, 3, 3, 12, 0, tzinfo=UTC),
            ],
            "stage": ["lead", "purchase", "purchase"],
            "revenue": [0.0, revenue, 5.0],
            "owner": [None, "ann", None],
            "lead_source": [None, None, None],
            "account_id": [None, None, None],
            "pipeline": [None, None, None],
        },
        schema=CONVERSIONS,
    )


def costs() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": [dt.date(2024, 3, 1), dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
            "channel": ["Email", "Email", "Email"],
            "campaign": [None, "spring", None],
            "spend": [1.0, 2.0, 3.0],
            "impressions": [10, None, 30],
            "clicks": [1, None, 3],
        },
        schema=COSTS,
    )


def test_upsert_counts_and_idempotence(store: Store) -> None:
    assert store.upsert("conversions", conversions()) == UpsertCounts(3, 0, 0)
    assert store.upsert("conversions", conversions()) == UpsertCounts(0, 0, 3)
    assert store.upsert("conversions", conversions(revenue=99.0)) == UpsertCounts(0, 1, 2)
    assert store.read("conversions")["revenue"].to_list() == [0.0, 99.0, 5.0]


def test_read_round_trips_the_canonical_schema(store: Store) -> None:
    store.upsert_many([("conversions", conversions()), ("costs", costs())])
    assert_frame_equal(store.read("conversions"), conversions())
    back = store.read("costs")
    assert back.schema == COSTS
    assert_frame_equal(back, costs().sort("date", "channel", "campaign", nulls_last=False))


def test_absent_campaign_is_part_of_the_cost_key(store: Store) -> None:
    store.upsert("costs", costs())
    changed = costs().with_columns(spend=pl.Series([5.0, 2.0, 3.0]))
    assert store.upsert("costs", changed) == UpsertCounts(0, 1, 2)
    assert store.counts()["costs"] == 3


def test_read_filters_are_inclusive_utc_days(store: Store) -> None:
    store.upsert_many([("conversions", conversions()), ("costs", costs())])
    ids = store.read("conversions", start=dt.date(2024, 3, 2), end=dt.date(2024, 3, 2))
    assert ids["conversion_id"].to_list() == ["c2"]
    since = store.read("conversions", ts_from=dt.datetime(2024, 3, 2, 23, 59))
    assert since["conversion_id"].to_list() == ["c2", "c3"]
    aware = dt.datetime(2024, 3, 3, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert store.read("conversions", ts_from=aware)["conversion_id"].to_list() == ["c3"]
    assert store.read("costs", end=dt.date(2024, 3, 1)).height == 2
    assert store.read("costs", start=dt.date(2024, 3, 2)).height == 1
    assert store.read("identities", start=dt.date(2030, 1, 1)).height == 0


def test_counts_stages_date_range(store: Store) -> None:
    assert store.date_range() is None
    store.upsert("conversions", conversions())
    assert store.counts() == {
        "touchpoints": 0,
        "conversions": 3,
        "costs": 0,
        "identities": 0,
        "accounts": 0,
        "lift_tests": 0,
    }
    assert store.stages() == ["lead", "purchase"]
    assert store.date_range() == (dt.date(2024, 3, 1), dt.date(2024, 3, 3))


def test_upsert_many_is_one_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch, snapshot: Any, same_store: Any
) -> None:
    store.upsert("conversions", conversions())
    before = snapshot(store)
    original = Store._upsert_one
    calls: list[str] = []

    def fail_on_second(
        self: Store, con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame
    ) -> UpsertCounts:
        calls.append(table)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return original(self, con, table, frame)

    monkeypatch.setattr(Store, "_upsert_one", fail_on_second)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.upsert_many([("conversions", conversions(revenue=1.0)), ("costs", costs())])
    assert calls == ["conversions", "costs"]
    same_store(before, snapshot(store))


def test_database_error_rolls_back(store: Store) -> None:
    bad = costs().with_columns(pl.lit(None, dtype=pl.Float64).alias("spend"))
    with pytest.raises(StoreError, match="nothing was written"):
        store.upsert_many([("conversions", conversions()), ("costs", bad)])
    assert store.counts() == dict.fromkeys(TABLES, 0)


def test_currency(store: Store) -> None:
    assert store.currency == "USD"
    store.set_currency("eur")
    assert store.currency == "EUR"
    with pytest.raises(InputError, match="not a three-letter ISO 4217 code"):
        store.set_currency("euro")
    store.upsert("conversions", conversions())
    store.set_currency("EUR")  # unchanged: allowed
    with pytest.raises(InputError) as info:
        store.set_currency("USD")
    assert str(info.value) == (
        f"Cannot change the reporting currency of '{store.path}' from EUR to USD: it already "
        "holds 3 conversion(s) and 0 cost row(s) in EUR. Use a new store, or convert your "
        "data to EUR."
    )


def test_unknown_table_and_memory(store: Store) -> None:
    with pytest.raises(UnknownTableError):
        store.read("sales")
    with pytest.raises(UnknownTableError):
        store.upsert("sales", conversions())
    with pytest.raises(StoreError, match="':memory:'"):
        Store(":memory:")


def test_default_db_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSEDLOOP_DB", "/x/y.duckdb")
    assert default_db_path() == Path("/x/y.duckdb")
    monkeypatch.delenv("CLOSEDLOOP_DB")
    assert default_db_path() == Path("closedloop.duckdb")


def test_concurrent_reads_from_threads(store: Store) -> None:
    store.upsert("conversions", conversions())
    expected = store.read("conversions")
    with ThreadPoolExecutor(max_workers=8) as pool:
        frames = list(pool.map(lambda _: store.read("conversions"), range(64)))
    for frame in frames:
        assert_frame_equal(frame, expected)


def test_reads_during_writes_see_whole_transactions(store: Store) -> None:
    batch = 500

    def pairs(k: int) -> pl.DataFrame:
        return pl.DataFrame(
            {"anonymous_id": [f"a{k}-{i}" for i in range(batch)], "user_id": ["u"] * batch}
        )

    done = threading.Event()

    def write() -> None:
        for k in range(0, 20, 2):
            store.upsert_many([("identities", pairs(k)), ("identities", pairs(k + 1))])
        done.set()

    def read() -> list[int]:
        seen = []
        while not done.is_set():
            seen.append(store.read("identities").height)
        return seen

    writer = threading.Thread(target=write)
    with ThreadPoolExecutor(max_workers=3) as pool:
        writer.start()
        readers = [pool.submit(read) for _ in range(3)]
        writer.join()
        seen = [n for r in readers for n in r.result()]
    assert all(n % (2 * batch) == 0 for n in seen), sorted(set(seen))
    assert store.counts()["identities"] == 20 * batch


HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.readline()
con.close()
"""

WRITE_PAIR = """
import sys
import polars as pl
from ingest import Store
store = Store(sys.argv[1], wait_seconds=5)
print(store.upsert("identities", pl.DataFrame({"anonymous_id": ["p2"], "user_id": ["u2"]})))
"""


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@contextmanager
def another_process_holding(path: Path, seconds: float | None = None) -> Iterator[int]:
    """Run a process that keeps a connection open on ``path``; yield its pid."""
    proc = _python(HOLD_LOCK, str(path), *([] if seconds is None else [str(seconds)]))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    try:
        yield proc.pid
    finally:
        proc.communicate("release\n", timeout=30)
        assert proc.returncode == 0


def test_second_process_writes_while_the_first_is_idle(store: Store) -> None:
    store.upsert("identities", pl.DataFrame({"anonymous_id": ["p1"], "user_id": ["u1"]}))
    proc = _python(WRITE_PAIR, str(store.path))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "UpsertCounts(inserted=1, updated=0, unchanged=0)"
    assert store.read("identities")["anonymous_id"].to_list() == ["p1", "p2"]


def test_store_busy_while_another_process_holds_it(store: Store) -> None:
    busy = Store(store.path, wait_seconds=0.3)
    with another_process_holding(store.path) as pid:
        with pytest.raises(StoreBusyError) as info:
            busy.upsert("costs", costs())
        assert str(info.value) == (
            f"The store '{store.path}' is locked by another process (pid {pid}): "
            "is `closedloop serve` or another ingest using it? Retry, or ingest through the "
            "running server: POST /v1/ingest/costs."
        )
        with pytest.raises(StoreBusyError, match=r"POST /v1/ingest/\{table\}"):
            busy.counts()
        with pytest.raises(StoreBusyError):
            Store(store.path, wait_seconds=0.1)
    assert busy.upsert("costs", costs()).inserted == 3


def test_waits_for_a_short_lock_then_succeeds(store: Store) -> None:
    patient = Store(store.path, wait_seconds=30)
    with another_process_holding(store.path, seconds=0.5):
        assert patient.counts()["identities"] == 0
