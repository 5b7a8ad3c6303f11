"""The Spark engine (local mode) gives the numbers of the DuckDB engine and of polars.

The same random edge-case stores as ``test_engine_paths`` are exported to a
Parquet lake and run through Spark; then the CLI answers ``attribute`` and
``funnel`` with ``--engine spark --lake DIR`` exactly as with ``--db``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from api.cli import main
from engine.paths import store_paths
from ingest import Store, ingest_files
from ingest.identity import stitch_identities
from tests.conftest import require
from tests.engine.test_engine_paths import _case, _store, long_case

ROOT = Path(__file__).resolve().parents[2]


def test_spark_decodes_long_journeys_as_duckdb_does(spark: Any, tmp_path: Path) -> None:
    """Journeys too long for a BIGINT key travel as code lists on Spark too."""
    from engine.spark import lake_paths, register_lake

    touches, sales = long_case()
    store = _store(tmp_path, touches, sales)
    none = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    options: dict[str, Any] = {"by": "channel", "stage": "purchase", "lookback_days": 90.0}
    with store.snapshot() as snap:
        duck = store_paths(snap, none, start=None, end=None, **options)
    store.export(tmp_path / "lake")
    register_lake(spark, tmp_path / "lake")
    lake = lake_paths(spark, none, start=None, end=None, **options)
    assert lake.paths.sort("path").equals(duck.paths.sort("path"))
    assert lake.paths.height == 2


@pytest.fixture(scope="module")
def spark() -> Any:
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed")
    from engine.spark import spark_session

    session = spark_session("local[2]")
    return session


@pytest.mark.parametrize("seed", range(0, 24, 4))
def test_spark_paths_equal_duckdb_paths(spark: Any, tmp_path: Path, seed: int) -> None:
    from engine.spark import lake_paths, register_lake

    case = _case(seed)
    store = _store(tmp_path, case.touches, case.sales)
    store.upsert("identities", case.pairs)
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    options: dict[str, Any] = {
        "by": case.by,
        "stage": "purchase",
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
    }
    with store.snapshot() as snap:
        duck = store_paths(snap, people, **options)
    store.export(tmp_path / "lake")
    register_lake(spark, tmp_path / "lake")
    lake = lake_paths(spark, people, **options)
    assert lake.paths.sort("path")["path"].to_list() == duck.paths.sort("path")["path"].to_list()
    for column in ("conversions", "nulls"):
        assert (
            lake.paths.sort("path")[column].to_list() == duck.paths.sort("path")[column].to_list()
        )
    assert lake.paths.sort("path")["revenue"].to_list() == pytest.approx(
        duck.paths.sort("path")["revenue"].to_list(), rel=1e-12
    )
    assert lake.untouched.sort("conversion_id").equals(duck.untouched.sort("conversion_id"))
    assert lake.conversion_dates == duck.conversion_dates


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("spark-example")
    store = Store(folder / "example.duckdb")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    store.export(folder / "lake")
    return store.path, folder / "lake"


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert main(list(argv)) == 0
    body: dict[str, Any] = json.loads(capsys.readouterr().out)
    return body


@pytest.mark.parametrize("model", ["markov", "linear", "shapley", "time_decay", "u_shaped"])
def test_attribute_on_spark_prints_what_duckdb_prints(
    spark: Any, example: tuple[Path, Path], capsys: pytest.CaptureFixture[str], model: str
) -> None:
    db, lake = example
    args = ("attribute", "--model", model, "--stage", "closed_won", "--format", "json")
    on_duckdb = _json(capsys, *args, "--db", str(db))
    on_spark = _json(capsys, *args, "--engine", "spark", "--lake", str(lake))
    _same_rows([on_spark["totals"]], [on_duckdb["totals"]])  # nulls (unknown metrics) too
    _same_rows(on_spark["data"], on_duckdb["data"])


def _same_rows(got_rows: list[dict[str, Any]], want_rows: list[dict[str, Any]]) -> None:
    """Rows equal, floats to 1e-9 (sums of floats may be added in another order)."""
    assert len(got_rows) == len(want_rows)
    for got, want in zip(got_rows, want_rows, strict=True):
        assert got.keys() == want.keys()
        for column, value in want.items():
            if isinstance(value, float):
                assert got[column] == pytest.approx(value, rel=1e-9, abs=1e-9), column
            else:
                assert got[column] == value, column


@pytest.mark.parametrize(
    "stages",
    [
        ("--period", "--start", "2025-03-01", "--end", "2025-04-30"),
        ("--stages", "lead,sal,opportunity,closed_won", "--lost-stages", "churned"),
    ],
)
def test_funnel_on_spark_prints_what_duckdb_prints(
    spark: Any,
    example: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    stages: tuple[str, ...],
) -> None:
    db, lake = example
    args = ("funnel", "--by", "channel", *stages, "--format", "json")
    on_duckdb = _json(capsys, *args, "--db", str(db))
    on_spark = _json(capsys, *args, "--engine", "spark", "--lake", str(lake))
    _same_rows(on_spark["data"], on_duckdb["data"])
    members = ("stages", "absent_stages", "count_columns", "notes")
    assert {k: on_spark[k] for k in members} == {k: on_duckdb[k] for k in members}
    if "--stages" in stages:
        # Stages the data lacks are null on both engines, never filled in.
        assert on_spark["absent_stages"] == ["sal", "churned"]
        assert on_spark["totals"]["sals"] is None
        assert on_spark["totals"]["win_rate"] is None


def test_spark_needs_a_lake(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attribute", "--model", "linear", "--engine", "spark"]) == 2
    assert "give --lake DIR" in capsys.readouterr().err


def test_budget_curves_on_spark_print_what_duckdb_prints(
    spark: Any, example: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, lake = example
    args = ("budget", "curves", "--bootstrap", "0", "--format", "json")
    on_duckdb = _json(capsys, *args, "--db", str(db))
    on_spark = _json(capsys, *args, "--engine", "spark", "--lake", str(lake))
    strip = [
        {k: v for k, v in row.items() if k not in ("points", "params")} for row in on_spark["data"]
    ]
    want = [
        {k: v for k, v in row.items() if k not in ("points", "params")} for row in on_duckdb["data"]
    ]
    _same_rows(strip, want)


def test_spark_and_files_do_not_mix(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["attribute", "--model", "linear", "--touchpoints", "t.csv", "--conversions", "c.csv"]
    assert main([*argv, "--engine", "spark", "--lake", "lake"]) == 2
    assert "Give one or the other" in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(1, 24, 6))
def test_spark_converting_journeys_equal_duckdb_ones(spark: Any, tmp_path: Path, seed: int) -> None:
    from engine.paths import store_converting
    from engine.spark import lake_converting, register_lake

    case = _case(seed)
    store = _store(tmp_path, case.touches, case.sales)
    store.upsert("identities", case.pairs)
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    sales = stitched.apply(case.sales)
    options: dict[str, Any] = {
        "stage": "purchase",
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
    }
    with store.snapshot() as snap:
        duck = store_converting(snap, people, sales, **options)
    store.export(tmp_path / "lake")
    register_lake(spark, tmp_path / "lake")
    lake = lake_converting(spark, people, sales, **options)
    assert duck is not None
    assert lake is not None
    assert lake.journeys.touches.equals(duck.journeys.touches)
    assert lake.journeys.untouched.equals(duck.journeys.untouched)
    assert lake.non_converting == duck.non_converting


@pytest.mark.parametrize("seed", [2, 7, 12, 19])
def test_spark_steps_equal_duckdb_steps(spark: Any, tmp_path: Path, seed: int) -> None:
    """The step counts of first-order Markov: one definition, the same rows on both engines."""
    from engine.paths import store_steps
    from engine.spark import lake_steps, register_lake

    case = _case(seed)
    store = _store(tmp_path, case.touches, case.sales)
    store.upsert("identities", case.pairs)
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    options: dict[str, Any] = {
        "by": case.by,
        "stage": "purchase",
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
    }
    with store.snapshot() as snap:
        duck = store_steps(snap, people, **options)
    store.export(tmp_path / "lake")
    register_lake(spark, tmp_path / "lake")
    lake = lake_steps(spark, people, **options)
    assert lake.steps.select("prev", "next", "count").equals(
        duck.steps.select("prev", "next", "count")
    )
    assert lake.steps["revenue"].to_list() == pytest.approx(duck.steps["revenue"].to_list())
    assert lake.converting.select("path", "conversions").equals(
        duck.converting.select("path", "conversions")
    )
    assert lake.converting["revenue"].to_list() == pytest.approx(
        duck.converting["revenue"].to_list(), rel=1e-12
    )
    assert lake.untouched.equals(duck.untouched)
    assert (lake.conversion_dates, lake.non_converting) == (
        duck.conversion_dates,
        duck.non_converting,
    )


def test_a_lake_written_before_pipeline_attributes_opportunities(
    spark: Any, example: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lake whose conversions have no ``pipeline`` column reads it as null (pipeline 0)."""
    _, lake = example
    old = tmp_path / "old-lake"
    shutil.copytree(lake, old)
    parts = list((old / "conversions").glob("*.parquet"))
    assert parts
    for part in parts:
        pl.read_parquet(part).drop("pipeline").write_parquet(part)
    args = ("attribute", "--model", "linear", "--stage", "opportunity", "--format", "json")
    body = _json(capsys, *args, "--engine", "spark", "--lake", str(old))
    assert body["value_column"] == "pipeline"
    assert body["totals"]["pipeline"] == 0.0
    assert body["totals"]["conversions"] > 0
