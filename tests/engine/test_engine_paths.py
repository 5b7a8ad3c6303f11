"""The engine's one definition gives exactly the journeys of the polars reference.

Random small stores full of edge cases — ties, touches exactly at the
conversion instant and at the lookback boundary, several conversions per
person (some at the same instant), non-converting tails, null campaigns,
stitched identities, open and closed periods — are run through
the DuckDB engine and through :func:`attribution.build_journeys`; paths,
counts, revenue and the untouched conversions must agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from attribution.journeys import build_journeys
from engine.paths import PathAggregate, store_paths
from ingest import Store
from ingest.identity import stitch_identities

BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CASES = 24


@dataclass(frozen=True)
class Case:
    touches: pl.DataFrame
    sales: pl.DataFrame
    pairs: pl.DataFrame
    lookback: float
    start: dt.date | None
    end: dt.date | None
    by: str


def _case(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    ids = [f"u{i}" for i in range(int(rng.integers(5, 40)))]
    unit = [dt.timedelta(days=1), dt.timedelta(hours=6), dt.timedelta(minutes=1)][seed % 3]
    span = int(rng.integers(5, 40))
    n_touches, n_sales = int(rng.integers(1, 300)), int(rng.integers(1, 50))
    touches = pl.DataFrame(
        {
            "touchpoint_id": [f"t{i:04d}" for i in rng.permutation(n_touches)],
            "user_id": rng.choice(ids, n_touches).tolist(),
            "ts": [BASE + unit * int(x) for x in rng.integers(0, span, n_touches)],
            "channel": rng.choice(list("ABCDE"), n_touches).tolist(),
            "campaign": [
                None if r < 0.5 else c
                for r, c in zip(
                    rng.random(n_touches), rng.choice(["x", "y"], n_touches), strict=True
                )
            ],
        },
        schema_overrides={"channel": pl.String, "campaign": pl.String},
    )
    sales = pl.DataFrame(
        {
            "conversion_id": [f"c{i:03d}" for i in rng.permutation(n_sales)],
            "user_id": rng.choice(ids, n_sales).tolist(),
            "ts": [BASE + unit * int(x) for x in rng.integers(0, span, n_sales)],
            "stage": ["purchase", *rng.choice(["purchase", "purchase", "lead"], n_sales - 1)],
            "revenue": [float(v) for v in rng.integers(0, 1000, n_sales)],
        }
    )
    n_pairs = int(rng.integers(0, 12))
    pairs = pl.DataFrame(
        {
            "anonymous_id": rng.choice(ids, n_pairs).tolist(),
            "user_id": rng.choice(ids, n_pairs).tolist(),
        },
        schema={"anonymous_id": pl.String, "user_id": pl.String},
    )
    days = span * unit / dt.timedelta(days=1)
    day0 = BASE.date()
    periods = [
        (None, None),
        (day0 + dt.timedelta(days=int(days / 3)), None),
        (None, day0 + dt.timedelta(days=int(days * 0.6))),
        (day0 + dt.timedelta(days=1), day0 + dt.timedelta(days=30)),
    ]
    start, end = periods[(seed // 4) % 4]
    return Case(
        touches=touches,
        sales=sales,
        pairs=pairs,
        lookback=[3.0, 10.0, 0.5, 1.25][seed % 4],
        start=start,
        end=end,
        by="campaign" if seed % 5 == 4 else "channel",
    )


def _store(folder: Path, touches: pl.DataFrame, sales: pl.DataFrame) -> Store:
    store = Store(folder / "case.duckdb")
    touches = touches.with_columns(
        pl.lit(None, pl.String).alias(c) for c in ("source", "medium", "interaction")
    )
    sales = sales.with_columns(pl.lit(None, pl.String).alias(c) for c in ("owner", "lead_source"))
    store.upsert_many([("touchpoints", touches), ("conversions", sales)])
    return store


@pytest.mark.parametrize("seed", range(CASES))
def test_engine_paths_equal_the_polars_journeys(tmp_path: Path, seed: int) -> None:
    case = _case(seed)
    touches, sales, by, lookback = case.touches, case.sales, case.by, case.lookback
    start, end = case.start, case.end
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    reference = build_journeys(
        stitched.apply(touches),
        stitched.apply(sales),
        stage="purchase",
        lookback_days=lookback,
        start=start,
        end=end,
    )
    store = _store(tmp_path, touches, sales)
    with store.snapshot() as snap:
        aggregate = store_paths(
            snap, people, by=by, stage="purchase", lookback_days=lookback, start=start, end=end
        )
    _assert_same(reference.paths(by), aggregate)
    assert aggregate.untouched.height == reference.untouched.height
    assert sorted(aggregate.untouched["conversion_id"]) == sorted(
        reference.untouched["conversion_id"]
    )
    assert aggregate.untouched["revenue"].sum() == pytest.approx(
        reference.untouched["revenue"].sum()
    )
    rebuilt = aggregate.journeys()
    assert rebuilt.n_conversions == pytest.approx(reference.n_conversions)
    assert rebuilt.revenue == pytest.approx(reference.revenue, rel=1e-12)


def _assert_same(expected: pl.DataFrame, aggregate: PathAggregate) -> None:
    got = aggregate.paths.sort("path")
    expected = expected.sort("path")
    assert got["path"].to_list() == expected["path"].to_list()
    assert got["conversions"].to_list() == expected["conversions"].to_list()
    assert got["nulls"].to_list() == expected["nulls"].to_list()
    assert got["revenue"].to_list() == pytest.approx(expected["revenue"].to_list(), rel=1e-12)


def test_a_wrong_tie_rule_would_be_caught(tmp_path: Path) -> None:
    """The comparison can fail: a touch at the conversion instant belongs to that conversion."""
    touches = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2"],
            "user_id": ["u", "u"],
            "ts": [BASE, BASE + dt.timedelta(days=1)],
            "channel": ["A", "B"],
            "campaign": [None, None],
        },
        schema_overrides={"campaign": pl.String},
    )
    sales = pl.DataFrame(
        {
            "conversion_id": ["c1", "c2"],
            "user_id": ["u", "u"],
            "ts": [BASE + dt.timedelta(days=1), BASE + dt.timedelta(days=2)],
            "stage": ["purchase", "purchase"],
            "revenue": [10.0, 20.0],
        }
    )
    store = _store(tmp_path, touches, sales)
    none = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    with store.snapshot() as snap:
        aggregate = store_paths(
            snap, none, by="channel", stage=None, lookback_days=90, start=None, end=None
        )
    assert aggregate.paths.to_dicts() == [
        {"path": ["A", "B"], "conversions": 1.0, "revenue": 10.0, "nulls": 0.0}
    ]
    assert aggregate.untouched["conversion_id"].to_list() == ["c2"]
    assert aggregate.conversion_dates == (dt.date(2024, 1, 2), dt.date(2024, 1, 3))


LETTERS = [chr(ord("A") + i) for i in range(26)]
TAIL = 117
"""Longer than the 4 words of 13 touches that 26 channels' integer codes hold."""
FIRST = ["C", "A", "B"]


def long_case(tail: int = TAIL) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two persons: one of 3 touches, one of 120 touches and two conversions (26 channels)."""
    rows = [("short", i, c) for i, c in enumerate(FIRST)]
    rows += [("long", i, c) for i, c in enumerate(FIRST)]
    rows += [("long", 10 + i, LETTERS[i % 26]) for i in range(tail)]
    touches = pl.DataFrame(
        {
            "touchpoint_id": [f"t{n:03d}" for n in range(len(rows))],
            "user_id": [r[0] for r in rows],
            "ts": [BASE + dt.timedelta(hours=r[1]) for r in rows],
            "channel": [r[2] for r in rows],
            "campaign": [None] * len(rows),
        },
        schema_overrides={"campaign": pl.String},
    )
    sales = pl.DataFrame(
        {
            "conversion_id": ["c1", "c2", "c3"],
            "user_id": ["short", "long", "long"],
            "ts": [
                BASE + dt.timedelta(hours=5),
                BASE + dt.timedelta(hours=5),
                BASE + dt.timedelta(hours=200),
            ],
            "stage": ["purchase"] * 3,
            "revenue": [10.0, 20.0, 40.0],
        }
    )
    return touches, sales


@pytest.mark.parametrize("tail", [TAIL, 40, 14])
def test_long_journeys_and_keys_of_the_same_path_agree(tmp_path: Path, tail: int) -> None:
    """Journeys of every length come back exactly, and equal paths merge.

    26 channels give words of 13 touches (base 27), 4 of them. ``long`` has
    3 + ``tail`` touches and two conversions: with 117 both its journeys
    travel as comma-joined codes; with 40 and 14 as several words, its first
    journey's digits placed after all of its later touches. That first
    journey is the same path as ``short``'s, which travels as one word: the
    two must merge into one path with two conversions.
    """
    touches, sales = long_case(tail)
    store = _store(tmp_path, touches, sales)
    none = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    with store.snapshot() as snap:
        aggregate = store_paths(
            snap, none, by="channel", stage="purchase", lookback_days=90, start=None, end=None
        )
    reference = build_journeys(touches, sales, stage="purchase", lookback_days=90)
    _assert_same(reference.paths("channel"), aggregate)
    assert aggregate.paths.height == 2
    merged = aggregate.paths.filter(pl.col("path") == FIRST)
    assert merged["conversions"].to_list() == [2.0]
    assert merged["revenue"].to_list() == [30.0]
    last = aggregate.paths.filter(pl.col("path").list.len() == tail)
    assert last["path"].to_list() == [[LETTERS[i % 26] for i in range(tail)]]


@pytest.mark.parametrize("seed", range(CASES))
def test_engine_converting_journeys_equal_the_polars_ones(tmp_path: Path, seed: int) -> None:
    """Touch by touch: the converting journeys, untouched conversions, milestones and the
    count of non-converting journeys the engine returns are build_journeys' own."""
    from engine.paths import store_converting

    case = _case(seed)
    stitched = stitch_identities(case.pairs)
    people = stitched.mapping.filter(pl.col("id") != pl.col("person_id")).select("id", "person_id")
    sales = stitched.apply(case.sales)
    options: dict[str, Any] = {
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
    }
    reference = build_journeys(stitched.apply(case.touches), sales, stage="purchase", **options)
    store = _store(tmp_path, case.touches, case.sales)
    with store.snapshot() as snap:
        found = store_converting(snap, people, sales, stage="purchase", **options)
    assert found is not None
    columns = ["journey_id", "user_id", "touchpoint_id", "position", "n_touches", "revenue"]
    want = reference.converting.sort("journey_id", "position")
    got = found.journeys.touches
    assert got.select(columns).equals(want.select(columns))
    assert got.select("ts", "conversion_ts", "channel", "campaign").equals(
        want.select("ts", "conversion_ts", "channel", "campaign")
    )
    assert found.journeys.untouched.equals(reference.untouched)
    non_converting = reference.touches.filter(~pl.col("converted"))["journey_id"].n_unique()
    assert found.non_converting == non_converting
    everyone = set(reference.touches["user_id"]) | set(reference.untouched["user_id"])
    converting = set(reference.converting["user_id"]) | set(reference.untouched["user_id"])
    assert found.absent_persons == len(everyone - converting)
    assert reference.milestones is not None
    assert found.journeys.milestones is not None
    assert found.journeys.milestones.sort("journey_id").equals(
        reference.milestones.sort("journey_id")
    )
