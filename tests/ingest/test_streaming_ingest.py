"""Ingest in batches: a file read, checked and staged a few rows at a time behaves as if whole.

Scenarios run twice, with the default sizes (one batch, rows staged in
memory, one pass over the table) and with tiny ones (batches of 7 rows,
staged rows spilled to Parquet every 10 rows, passes of 20 rows), and must
leave the same store, counts, problems and rejects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import ingest.loader as loader
import ingest.store as store_module
from attribution.errors import InputError, StoreError, ValidationFailedError
from attribution.schema import TABLES
from ingest import IngestSummary, Store, UpsertCounts, ingest_files, ingest_frame
from ingest.validate import MAX_PROBLEMS

SIZES = {
    "whole": {"BATCH_ROWS": 500_000, "STAGE_MEMORY_ROWS": 200_000, "PASS_ROWS": 4_000_000},
    "tiny": {"BATCH_ROWS": 7, "STAGE_MEMORY_ROWS": 10, "PASS_ROWS": 20},
}
ROWS = 50

Contents = tuple[dict[str, pl.DataFrame], int]


def set_sizes(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    sizes = SIZES[name]
    monkeypatch.setattr(loader, "BATCH_ROWS", sizes["BATCH_ROWS"])
    monkeypatch.setattr(store_module, "STAGE_MEMORY_ROWS", sizes["STAGE_MEMORY_ROWS"])
    monkeypatch.setattr(store_module, "PASS_ROWS", sizes["PASS_ROWS"])


@pytest.fixture(params=list(SIZES))
def sizes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the default sizes, then with tiny ones."""
    name: str = request.param
    set_sizes(monkeypatch, name)
    return name


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 7 rows, spilled every 10, passes of 20."""
    set_sizes(monkeypatch, "tiny")


def touchpoints(rows: int = ROWS, *, prefix: str = "t", channel: str = "Email") -> pl.DataFrame:
    """``rows`` touchpoints as text, as a CSV file holds them; row i has key ``t<i>``."""
    start = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    return pl.DataFrame(
        {
            "touchpoint_id": [f"{prefix}{i}" for i in range(1, rows + 1)],
            "user_id": [f"u{i % 6}" for i in range(1, rows + 1)],
            "ts": [(start + dt.timedelta(hours=i)).isoformat() for i in range(rows)],
            "channel": [channel if i % 5 else "Paid Search" for i in range(rows)],
            "campaign": [None if i % 3 else f"c{i}" for i in range(rows)],
        }
    )


def costs(rows: int = ROWS) -> pl.DataFrame:
    """Daily costs as text; the campaign (part of the key) is absent on half the rows."""
    return pl.DataFrame(
        {
            "date": [f"2024-03-{1 + i // 4:02d}" for i in range(rows)],
            "channel": [["Email", "Video"][i % 2] for i in range(rows)],
            "campaign": [None if (i // 2) % 2 == 0 else "spring" for i in range(rows)],
            "spend": [str(1.5 * i) for i in range(rows)],
        }
    )


def write(frame: pl.DataFrame, path: Path) -> Path:
    """Write text rows as CSV, or as Parquet with a native timestamp column."""
    if path.suffix == ".parquet":
        frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC")).write_parquet(path)
    else:
        frame.write_csv(path)
    return path


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Touchpoints in the canonical schema, as :class:`Staging` takes them."""
    return frame.with_columns(
        pl.col("ts").str.to_datetime(time_zone="UTC"),
        source=None,
        medium=None,
        interaction=None,
    )


def with_value(frame: pl.DataFrame, row: int, column: str, value: str | None) -> pl.DataFrame:
    """``frame`` with the value of 1-based ``row`` in ``column`` replaced."""
    return frame.with_columns(
        pl.when(pl.int_range(1, frame.height + 1) == row)
        .then(pl.lit(value, dtype=pl.String))
        .otherwise(pl.col(column))
        .alias(column)
    )


def contents(store: Store) -> Contents:
    return {table: store.read(table) for table in TABLES}, store.data_version()


def assert_same_contents(before: Contents, after: Contents) -> None:
    assert before[1] == after[1]
    for table in TABLES:
        assert_frame_equal(before[0][table], after[0][table])


def counts(summary: IngestSummary) -> tuple[int, ...]:
    return (
        summary.rows_read,
        summary.inserted,
        summary.updated,
        summary.unchanged,
        summary.rejected,
    )


def run_both(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario: Callable[[Store, Path], Any]
) -> Any:
    """Run ``scenario(store, folder)`` with both sizes on fresh stores; assert they agree."""
    results: dict[str, tuple[Any, Contents]] = {}
    for name in SIZES:
        set_sizes(monkeypatch, name)
        folder = tmp_path / name
        folder.mkdir()
        store = Store(folder / "store.duckdb", wait_seconds=2.0)
        results[name] = (scenario(store, folder), contents(store))
    assert results["whole"][0] == results["tiny"][0]
    assert_same_contents(results["whole"][1], results["tiny"][1])
    return results["whole"][0]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_batches_give_the_same_store_and_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, suffix: str
) -> None:
    def scenario(store: Store, folder: Path) -> list[tuple[int, ...]]:
        first = write(touchpoints(), folder / f"a{suffix}")
        changed = with_value(touchpoints(70), 12, "channel", "Video")
        second = write(with_value(changed, 44, "user_id", None), folder / f"b{suffix}")
        summaries = [
            ingest_files(store, "touchpoints", first),
            ingest_files(store, "touchpoints", first),
            ingest_files(store, "touchpoints", second, skip_invalid=True),
        ]
        return [counts(s) for s in summaries]

    assert run_both(monkeypatch, tmp_path, scenario) == [
        (50, 50, 0, 0, 0),
        (50, 0, 0, 50, 0),
        (70, 20, 1, 48, 1),
    ]


def test_composite_keys_with_an_absent_campaign(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def scenario(store: Store, folder: Path) -> list[Any]:
        path = write(costs(), folder / "costs.csv")
        again = write(with_value(costs(), 47, "spend", "99"), folder / "again.csv")
        results: list[Any] = [counts(ingest_files(store, "costs", p)) for p in (path, again)]
        repeated = write(with_value(costs(), 45, "date", "2024-03-01"), folder / "dup.csv")
        with pytest.raises(ValidationFailedError) as info:
            ingest_files(store, "costs", repeated)
        return [*results, str(info.value)]

    assert run_both(monkeypatch, tmp_path, scenario) == [
        (50, 50, 0, 0, 0),
        (50, 0, 1, 49, 0),
        "1 problem(s) found; nothing was written.\n"
        "dup.csv row 45, field 'date, channel, campaign': duplicate key "
        "(date='2024-03-01', channel='Email', campaign=null), first seen at row 1",
    ]


def test_duplicate_key_across_batches_is_a_problem(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    path = write(with_value(touchpoints(), 45, "touchpoint_id", "t3"), tmp_path / "t.parquet")
    before = contents(store)
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "touchpoints", path)
    assert str(info.value) == (
        "1 problem(s) found; nothing was written.\n"
        "t.parquet row 45, field 'touchpoint_id': "
        "duplicate key (touchpoint_id='t3'), first seen at row 3"
    )
    assert_same_contents(before, contents(store))


def test_duplicate_across_batches_goes_to_the_rejects(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    frame = with_value(touchpoints(), 45, "touchpoint_id", "t3")
    frame = with_value(with_value(frame, 30, "touchpoint_id", "t9"), 30, "ts", "soon")
    path = write(frame, tmp_path / "touchpoints.csv")
    summary = ingest_files(store, "touchpoints", path, skip_invalid=True)
    assert counts(summary) == (50, 48, 0, 0, 2)
    rejects = pl.read_csv(tmp_path / "touchpoints.rejects.csv", infer_schema=False)
    assert rejects.columns == [*frame.columns, "_file", "_row", "_reason"]
    assert rejects.select("touchpoint_id", "ts", "_file", "_row", "_reason").rows() == [
        (
            "t9",
            "soon",
            "touchpoints.csv",
            "30",
            "ts: expected an ISO 8601 timestamp, a date or epoch seconds/milliseconds, "
            "got 'soon'; touchpoint_id: duplicate key (touchpoint_id='t9'), first seen at row 9",
        ),
        (
            "t3",
            frame["ts"][44],
            "touchpoints.csv",
            "45",
            "touchpoint_id: duplicate key (touchpoint_id='t3'), first seen at row 3",
        ),
    ]
    assert [(p.row, p.field) for p in summary.problems] == [
        (30, "ts"),
        (30, "touchpoint_id"),
        (45, "touchpoint_id"),
    ]
    stored = store.read("touchpoints").filter(pl.col("touchpoint_id").is_in(["t3", "t9"]))
    assert stored["ts"].dt.hour().to_list() == [2, 8]  # from rows 3 and 9, the first ones


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_problems_and_rejects_agree_with_one_batch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, suffix: str
) -> None:
    frame = touchpoints(60)
    for row, column, value in [
        (5, "user_id", None),
        (12, "touchpoint_id", "t2"),
        (13, "touchpoint_id", "t2"),
        (40, "touchpoint_id", "t14"),
        (41, "user_id", " "),
        (58, "touchpoint_id", "t41"),
    ]:
        frame = with_value(frame, row, column, value)

    def scenario(store: Store, folder: Path) -> Any:
        path = write(frame, folder / f"touchpoints{suffix}")
        with pytest.raises(ValidationFailedError) as info:
            ingest_files(store, "touchpoints", path)
        failed = [str(p) for p in info.value.problems]
        summary = ingest_files(store, "touchpoints", path, skip_invalid=True)
        rejects = pl.read_csv(folder / "touchpoints.rejects.csv", infer_schema=False)
        return failed, counts(summary), [str(p) for p in summary.problems], rejects.rows()

    failed, summary, problems, rejects = run_both(monkeypatch, tmp_path, scenario)
    assert [line.split(":")[0] for line in failed] == [
        f"touchpoints{suffix} row {row}, field '{field}'"
        for row, field in [
            (5, "user_id"),
            (12, "touchpoint_id"),
            (13, "touchpoint_id"),
            (40, "touchpoint_id"),
            (41, "user_id"),
            (58, "touchpoint_id"),
        ]
    ]
    assert failed[2].endswith("duplicate key (touchpoint_id='t2'), first seen at row 2")
    assert failed[-1].endswith("duplicate key (touchpoint_id='t41'), first seen at row 41")
    assert problems == failed
    assert summary == (60, 54, 0, 0, 6)
    assert [row[-2] for row in rejects] == ["5", "12", "13", "40", "41", "58"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_bad_value_in_a_later_batch_names_its_row_in_the_file(
    tiny: None, tmp_path: Path, suffix: str
) -> None:
    store = Store(tmp_path / "store.duckdb")
    path = write(with_value(touchpoints(), 12, "user_id", None), tmp_path / f"t{suffix}")
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "touchpoints", path)
    assert [(p.file, p.row, p.field) for p in info.value.problems] == [
        (f"t{suffix}", 12, "user_id")
    ]


def test_more_problems_than_are_built(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    frame = touchpoints(1200).with_columns(pl.lit("soon").alias("ts"))
    frame = with_value(frame, 1199, "touchpoint_id", "t3")
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "touchpoints", write(frame, tmp_path / "t.csv"))
    assert info.value.total == 1201
    assert len(info.value.problems) == MAX_PROBLEMS
    assert [p.row for p in info.value.problems][:3] == [1, 2, 3]


def test_failure_in_the_last_batch_writes_nothing(
    tiny: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "store.duckdb")
    ingest_files(store, "touchpoints", write(touchpoints(), tmp_path / "old.csv"))
    before = contents(store)
    newer = touchpoints(ROWS, prefix="n")
    bad = write(with_value(newer, ROWS, "ts", "never"), tmp_path / "bad.csv")
    with pytest.raises(ValidationFailedError):
        ingest_files(store, "touchpoints", bad)
    assert_same_contents(before, contents(store))

    ragged = tmp_path / "ragged.csv"
    ragged.write_text(newer.write_csv() + 'x1,u1,2024-03-01,"Email"x,\n')
    with pytest.raises(InputError, match=r"Cannot read 'ragged\.csv' as csv"):
        ingest_files(store, "touchpoints", ragged)
    assert_same_contents(before, contents(store))

    def fail(_con: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "_bump_version", fail)
    good = write(with_value(touchpoints(), 3, "channel", "Video"), tmp_path / "good.csv")
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_files(store, "touchpoints", [write(newer, tmp_path / "new.csv"), good])
    assert_same_contents(before, contents(store))
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_store_error_in_the_write_rolls_back(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    ingest_files(store, "touchpoints", write(touchpoints(), tmp_path / "old.csv"))
    before = contents(store)
    rows = canonical(touchpoints(30, prefix="m")).with_columns(user_id=None)
    with store.staging() as staging:
        staging.stage("touchpoints", rows)
        with pytest.raises(StoreError, match="nothing was written"):
            staging.finish()
    assert_same_contents(before, contents(store))


def test_reingest_changes_nothing(sizes: str, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    path = write(touchpoints(), tmp_path / "touchpoints.parquet")
    ingest_files(store, "touchpoints", path)
    before = contents(store)
    again = ingest_files(store, "touchpoints", path)
    assert counts(again) == (50, 0, 0, 50, 0)
    assert_same_contents(before, contents(store))


def test_later_file_wins_across_files_and_batches(sizes: str, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    first = write(touchpoints(), tmp_path / "a.csv")
    later = touchpoints(ROWS, channel="Video").tail(20)  # t31..t50
    second = write(pl.concat([touchpoints(10, prefix="z"), later]), tmp_path / "b.csv")
    summary = ingest_files(store, "touchpoints", [first, second])
    assert counts(summary) == (80, 60, 0, 0, 0)
    stored = store.read("touchpoints")
    channels = dict(zip(stored["touchpoint_id"], stored["channel"], strict=True))
    assert (channels["t30"], channels["t32"]) == ("Email", "Video")
    version = store.data_version()
    again = ingest_files(store, "touchpoints", [first, second])
    assert counts(again) == (80, 0, 0, 60, 0)
    assert store.data_version() == version


def test_progress_rises_to_the_total(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    paths = [
        write(touchpoints(), tmp_path / "a.parquet"),
        write(touchpoints(20, prefix="b"), tmp_path / "b.csv"),
    ]
    seen: list[tuple[int, int]] = []
    ingest_files(store, "touchpoints", paths, progress=lambda d, t: seen.append((d, t)))
    done = [d for d, _ in seen]
    assert {t for _, t in seen} == {70}
    assert done == sorted(done)
    assert len(done) > 4
    assert 50 in done
    assert seen[-1] == (70, 70)


def test_ingest_frame_in_batches(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    frame = with_value(touchpoints(), 33, "touchpoint_id", "t2")
    summary = ingest_frame(store, "touchpoints", frame, skip_invalid=True)
    assert counts(summary) == (50, 49, 0, 0, 1)
    assert [str(p) for p in summary.problems] == [
        "request body row 33, field 'touchpoint_id': "
        "duplicate key (touchpoint_id='t2'), first seen at row 2"
    ]
    assert summary.rejects_path is None


def test_staging_spills_then_cleans_up(tiny: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "store.duckdb")
    rows = canonical(touchpoints(28))
    with store.staging() as staging:
        staging.stage("touchpoints", rows.head(25))
        staging.stage("touchpoints", rows.tail(3), source=1)
        assert staging.key_collisions("touchpoints").height == 0  # waits for the files
        folders = [p for p in tmp_path.iterdir() if ".staging-" in p.name]
        assert len(folders) == 1
        assert len(list(folders[0].glob("touchpoints-*.parquet"))) == 2
        assert staging.finish() == {"touchpoints": UpsertCounts(inserted=28)}
    assert not folders[0].exists()
    assert store.counts()["touchpoints"] == 28


def test_staged_upsert_in_passes_matches_upsert(tiny: None, tmp_path: Path) -> None:
    """Updates, inserts and unchanged rows over several passes count as one upsert does."""
    rows = canonical(touchpoints(45))
    changed = pl.concat(
        [rows.head(30).with_columns(channel=pl.lit("Video")), rows.slice(30, 10)]
    ).vstack(canonical(touchpoints(8, prefix="n")))
    stores = [Store(tmp_path / f"{name}.duckdb") for name in ("staged", "upsert")]
    for store in stores:
        store.upsert("touchpoints", rows)
    with stores[0].staging() as staging:
        staging.stage("touchpoints", changed)
        staged = staging.finish()["touchpoints"]
    assert staged == stores[1].upsert("touchpoints", changed)
    assert staged == UpsertCounts(inserted=8, updated=30, unchanged=10)
    assert_same_contents(contents(stores[0]), contents(stores[1]))


def test_staging_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    """A SIGKILLed ingest leaves its staging folder; the next ingest's staging removes it."""
    import os
    import subprocess
    import sys

    from ingest.store import _sweep_staging

    store_path = tmp_path / "s.duckdb"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / f".s.duckdb.staging-{gone.stdout.strip()}-abc"
    alive = tmp_path / f".s.duckdb.staging-{os.getppid()}-def"
    other = tmp_path / ".t.duckdb.staging-1-xyz"
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "touchpoints-000000.parquet").write_bytes(b"x")
    _sweep_staging(store_path)
    assert not dead.exists()
    assert alive.exists()  # its process still runs
    assert other.exists()  # another store's
