"""The engine's step counts are those of the polars journeys, and credit as they do.

:func:`engine.paths.store_steps` counts the steps of every journey where the
data lives and brings back the converting paths only. On the random
edge-case stores of ``test_engine_paths`` (ties, touches at the conversion
instant and the lookback boundary, several conversions per person, some at
one instant, stitched identities, open and closed periods) the steps must be
exactly those of :func:`attribution.build_journeys`' paths, the converting
paths, untouched conversions, dates and non-converting journeys those of
:func:`engine.paths.store_paths`, and first-order Markov on them must credit
what Markov credits on every journey.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from attribution.journeys import Journeys, build_journeys
from attribution.markov import path_steps
from attribution.models.markov import Markov
from engine.paths import StepAggregate, store_paths, store_steps
from ingest.identity import stitch_identities
from tests.engine.test_engine_paths import CASES, _case, _store, long_case

NONE = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})


@pytest.mark.parametrize("seed", range(CASES))
def test_engine_steps_are_those_of_the_polars_journeys(tmp_path: Path, seed: int) -> None:
    case = _case(seed)
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    options: dict[str, Any] = {
        "by": case.by,
        "stage": "purchase",
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
    }
    reference = build_journeys(
        stitched.apply(case.touches),
        stitched.apply(case.sales),
        stage="purchase",
        lookback_days=case.lookback,
        start=case.start,
        end=case.end,
    )
    store = _store(tmp_path, case.touches, case.sales)
    with store.snapshot() as snap:
        got = store_steps(snap, people, **options)
        aggregate = store_paths(snap, people, **options)
    paths = reference.paths(case.by)
    _assert_steps(got, paths)
    assert got.untouched.equals(aggregate.untouched)
    assert got.conversion_dates == aggregate.conversion_dates
    assert got.stage == aggregate.stage == "purchase"
    if paths["conversions"].sum() == 0:
        return
    model = Markov()
    want = _channel_totals(model, reference, case.by)
    credited = _channel_totals(model.on_steps(got.steps), got.journeys(), case.by)
    assert credited["key"].to_list() == want["key"].to_list()
    for column in ("conversions", "revenue"):
        assert credited[column].to_list() == pytest.approx(
            want[column].to_list(), rel=1e-9, abs=1e-9
        )


def _assert_steps(got: StepAggregate, paths: pl.DataFrame) -> None:
    want = path_steps(paths)
    assert got.steps.select("prev", "next", "count").equals(want.select("prev", "next", "count"))
    assert got.steps["revenue"].to_list() == pytest.approx(want["revenue"].to_list(), rel=1e-12)
    converting = paths.filter(pl.col("conversions") > 0).with_columns(pl.lit(0.0).alias("nulls"))
    converting = converting.sort("path")
    assert got.converting.select("path", "conversions", "nulls").equals(
        converting.select("path", "conversions", "nulls")
    )
    assert got.converting["revenue"].to_list() == pytest.approx(
        converting["revenue"].to_list(), rel=1e-12
    )
    assert got.non_converting == paths["nulls"].sum()


def _channel_totals(model: Markov, journeys: Journeys, by: str) -> pl.DataFrame:
    credited = journeys.converting.join(
        model.credit(journeys, by), on=["journey_id", "touchpoint_id"], how="left"
    )
    return (
        credited.group_by(pl.col(by).fill_null("(not set)").alias("key"))
        .agg(
            (pl.col("weight") * pl.col("count")).sum().alias("conversions"),
            (pl.col("revenue_weight") * pl.col("count") * pl.col("revenue")).sum().alias("revenue"),
        )
        .sort("key")
    )


def test_long_journeys_take_their_steps(tmp_path: Path) -> None:
    """Journeys longer than a path key (code lists in store_paths) are steps like any other."""
    touches, sales = long_case()
    store = _store(tmp_path, touches, sales)
    with store.snapshot() as snap:
        got = store_steps(
            snap, NONE, by="channel", stage="purchase", lookback_days=90, start=None, end=None
        )
    reference = build_journeys(touches, sales, stage="purchase", lookback_days=90)
    _assert_steps(got, reference.paths("channel"))


def test_a_window_without_conversions_has_no_steps(tmp_path: Path) -> None:
    case = _case(0)
    store = _store(tmp_path, case.touches, case.sales)
    with store.snapshot() as snap:
        got = store_steps(
            snap,
            NONE,
            by="channel",
            stage=None,
            lookback_days=1.0,
            start=dt.date(1990, 1, 1),
            end=dt.date(1990, 1, 2),
        )
    assert got.steps.is_empty()
    assert got.converting.is_empty()
    assert got.conversion_dates is None
    assert got.non_converting == 0.0
