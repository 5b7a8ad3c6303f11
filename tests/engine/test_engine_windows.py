"""Click and view windows: one rule in polars, DuckDB and Spark.

The random edge-case stores of ``test_engine_paths`` get an ``interaction``
on every touch (impressions, spelled as users spell them, clicks, visits,
nulls) and random click and view windows inside the lookback. The engine's
paths, steps and converting journeys, and the count of conversions only
views reached, must be those of :func:`attribution.build_journeys`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from attribution.journeys import build_journeys
from attribution.markov import path_steps
from attribution.windows import touch_windows
from engine.paths import store_converting, store_paths, store_steps
from ingest import Store
from ingest.identity import stitch_identities
from tests.conftest import require
from tests.engine.test_engine_paths import CASES, Case, _assert_same, _case

INTERACTIONS = ["impression", "Impression ", "click", "visit", None]


def _windowed(seed: int) -> tuple[Case, pl.DataFrame, dict[str, Any]]:
    """A random case, its touches with interactions, and click/view windows within its lookback."""
    case = _case(seed)
    rng = np.random.default_rng(10_000 + seed)
    n = case.touches.height
    touches = case.touches.with_columns(
        pl.Series(
            "interaction",
            rng.choice(np.array(INTERACTIONS, dtype=object), n).tolist(),
            dtype=pl.String,
        )
    )
    lookback = case.lookback
    click = float(rng.choice([lookback, lookback / 2, lookback / 3]))
    view = float(rng.choice([0.0, lookback / 4, click, lookback]))
    return case, touches, {"click_window_days": click, "view_window_days": view}


def _store(folder: Path, touches: pl.DataFrame, sales: pl.DataFrame) -> Store:
    store = Store(folder / "case.duckdb")
    touches = touches.with_columns(pl.lit(None, pl.String).alias(c) for c in ("source", "medium"))
    sales = sales.with_columns(pl.lit(None, pl.String).alias(c) for c in ("owner", "lead_source"))
    store.upsert_many([("touchpoints", touches), ("conversions", sales)])
    return store


def _people(case: Case) -> tuple[Any, pl.DataFrame]:
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    return stitched, people


@pytest.mark.parametrize("seed", range(CASES))
def test_engine_windows_equal_the_polars_journeys(tmp_path: Path, seed: int) -> None:
    case, touches, limits = _windowed(seed)
    stitched, people = _people(case)
    period: dict[str, Any] = {"lookback_days": case.lookback, "start": case.start, "end": case.end}
    reference = build_journeys(
        stitched.apply(touches), stitched.apply(case.sales), stage="purchase", **period, **limits
    )
    windows = touch_windows(case.lookback, **limits)
    assert reference.windows == windows
    store = _store(tmp_path, touches, case.sales)
    sales = stitched.apply(case.sales)
    options: dict[str, Any] = {"stage": "purchase", "windows": windows, **period}
    with store.snapshot() as snap:
        aggregate = store_paths(snap, people, by=case.by, **options)
        steps = store_steps(snap, people, by=case.by, **options)
        found = store_converting(snap, people, sales, **options)
    paths = reference.paths(case.by)
    _assert_same(paths, aggregate)
    assert sorted(aggregate.untouched["conversion_id"]) == sorted(
        reference.untouched["conversion_id"]
    )
    assert steps.steps.select("prev", "next", "count").equals(
        path_steps(paths).select("prev", "next", "count")
    )
    assert steps.non_converting == paths["nulls"].sum()
    assert found is not None
    columns = ["journey_id", "touchpoint_id", "position", "n_touches", "ts", "channel"]
    want = reference.converting.sort("journey_id", "position")
    assert found.journeys.touches.select(columns).equals(want.select(columns))
    assert found.journeys.untouched.equals(reference.untouched)
    view_only = reference.view_only_conversions
    assert aggregate.view_only == steps.view_only == view_only
    assert found.journeys.view_only_conversions == view_only
    for journeys in (aggregate.journeys(), steps.journeys(), found.journeys):
        assert journeys.windows == windows


def test_windows_can_fail_the_comparison(tmp_path: Path) -> None:
    """A case where the view window drops a touch between two kept ones changes the path."""
    case, touches, _ = _windowed(5)
    wide = build_journeys(
        touches,
        case.sales,
        stage="purchase",
        lookback_days=case.lookback,
        view_window_days=case.lookback,
    )
    narrow = build_journeys(
        touches, case.sales, stage="purchase", lookback_days=case.lookback, view_window_days=0
    )
    assert not wide.paths(case.by).equals(narrow.paths(case.by))


@pytest.fixture(scope="module")
def spark() -> Any:
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed")
    from engine.spark import spark_session

    return spark_session("local[2]")


@pytest.mark.parametrize("seed", [3, 10])
def test_spark_windows_equal_duckdb_windows(spark: Any, tmp_path: Path, seed: int) -> None:
    from engine.spark import lake_converting, lake_paths, lake_steps, register_lake

    case, touches, limits = _windowed(seed)
    stitched, people = _people(case)
    store = _store(tmp_path, touches, case.sales)
    store.upsert("identities", case.pairs)
    sales = stitched.apply(case.sales)
    windows = touch_windows(case.lookback, **limits)
    options: dict[str, Any] = {
        "stage": "purchase",
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
        "windows": windows,
    }
    with store.snapshot() as snap:
        duck = store_paths(snap, people, by=case.by, **options)
        duck_steps = store_steps(snap, people, by=case.by, **options)
        duck_converting = store_converting(snap, people, sales, **options)
    store.export(tmp_path / "lake")
    register_lake(spark, tmp_path / "lake")
    lake = lake_paths(spark, people, by=case.by, **options)
    lake_step = lake_steps(spark, people, by=case.by, **options)
    lake_conv = lake_converting(spark, people, sales, **options)
    assert lake.paths.sort("path").equals(duck.paths.sort("path"))
    assert lake_step.steps.equals(duck_steps.steps)
    assert lake_conv is not None
    assert duck_converting is not None
    assert lake_conv.journeys.touches.equals(duck_converting.journeys.touches)
    assert lake.view_only == lake_step.view_only == duck.view_only
    assert lake_conv.journeys.view_only_conversions == duck.view_only
