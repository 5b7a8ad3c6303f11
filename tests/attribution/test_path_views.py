"""GA4's length and time-lag buckets and the early / middle / late touch view, worked by hand.

Every expected number below is worked out in the comments from the rule in
``docs/paths.md`` (early = round(n/4), half up; late = ceil(n/4); middle = the
rest; an empty part stands for the whole path), not computed by the code.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import Journeys, build_journeys
from attribution.buckets import bucket_order
from attribution.pathstats import path_stats
from attribution.touchpositions import PARTS, touch_positions

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def _journeys(persons: list[tuple[list[str], float | None, float]]) -> Journeys:
    """One person per entry: channels in time order (an hour apart), days from first touch
    to the conversion (``None``: no conversion) and revenue."""
    touches, conversions = [], []
    for p, (channels, lag_days, revenue) in enumerate(persons):
        for k, channel in enumerate(channels):
            touches.append(
                {
                    "touchpoint_id": f"p{p}-t{k:02d}",
                    "user_id": f"p{p}",
                    "ts": T0 + k * HOUR,
                    "channel": channel,
                }
            )
        if lag_days is not None:
            conversions.append(
                {
                    "conversion_id": f"p{p}-c",
                    "user_id": f"p{p}",
                    "ts": T0 + lag_days * DAY,
                    "stage": "purchase",
                    "revenue": revenue,
                }
            )
    return build_journeys(pl.DataFrame(touches), pl.DataFrame(conversions))


def _own_channels(n: int) -> list[str]:
    return [f"L{n}-{k}" for k in range(n)]


def test_each_part_of_paths_of_1_2_3_4_5_and_8_touches() -> None:
    # Each touch has its own channel, so each row is one touch's credit.
    journeys = _journeys(
        [(_own_channels(n), 20.0, 10.0 * n) for n in (1, 2, 3, 4, 5, 8)]
        + [(["L1-0", "x"], None, 0.0)]  # a non-converting journey takes no part
    )
    got = {
        row["channel"]: tuple(row[f"{part}_conversions"] for part in PARTS)
        for row in touch_positions(journeys).to_dicts()
    }
    expected = {
        # 1 touch: early and middle are empty in GA4, so they stand for the whole path.
        "L1-0": (1.0, 1.0, 1.0),
        # 2 touches: early 1, late 1; the empty middle is shared by both.
        "L2-0": (1.0, 0.5, 0.0),
        "L2-1": (0.0, 0.5, 1.0),
        # 3 touches: one in each part.
        "L3-0": (1.0, 0.0, 0.0),
        "L3-1": (0.0, 1.0, 0.0),
        "L3-2": (0.0, 0.0, 1.0),
        # 4 touches: early round(1) = 1, late ceil(1) = 1, middle 2.
        "L4-0": (1.0, 0.0, 0.0),
        "L4-1": (0.0, 0.5, 0.0),
        "L4-2": (0.0, 0.5, 0.0),
        "L4-3": (0.0, 0.0, 1.0),
        # 5 touches: early round(1.25) = 1, late ceil(1.25) = 2, middle 2.
        "L5-0": (1.0, 0.0, 0.0),
        "L5-1": (0.0, 0.5, 0.0),
        "L5-2": (0.0, 0.5, 0.0),
        "L5-3": (0.0, 0.0, 0.5),
        "L5-4": (0.0, 0.0, 0.5),
        # 8 touches: early 2, late 2, middle 4.
        "L8-0": (0.5, 0.0, 0.0),
        "L8-1": (0.5, 0.0, 0.0),
        **{f"L8-{k}": (0.0, 0.25, 0.0) for k in range(2, 6)},
        "L8-6": (0.0, 0.0, 0.5),
        "L8-7": (0.0, 0.0, 0.5),
    }
    assert got == expected
    # Revenue follows the conversion: the 8-touch journey is worth 80, so L8-0 opens 40.
    row = touch_positions(journeys).filter(pl.col("channel") == "L8-0").row(0, named=True)
    assert (row["early_revenue"], row["middle_revenue"], row["late_revenue"]) == (40.0, 0.0, 0.0)


def test_a_channel_sums_its_touches_and_repeats_count() -> None:
    # Email > Email > Search > Email: early Email, middle Email + Search, late Email.
    journeys = _journeys([(["Email", "Email", "Search", "Email"], 3.0, 100.0)])
    rows = {r["channel"]: r for r in touch_positions(journeys).to_dicts()}
    assert rows["Email"]["early_conversions"] == 1.0
    assert rows["Email"]["middle_revenue"] == 50.0
    assert rows["Search"]["middle_conversions"] == 0.5
    assert rows["Email"]["late_revenue"] == 100.0
    assert list(rows) == ["Email", "Search"]  # most credit first


def test_length_and_time_lag_buckets_by_hand() -> None:
    journeys = _journeys(
        [
            (["A"], 0.5, 10.0),  # 1 touch, lag 0.5 day -> '0'
            (["A", "B"], 3.0, 20.0),  # 2 touches, 3 days -> '3'
            (["A"] * 8, 9.0, 30.0),  # 8 touches -> '8-11', 9 days -> '8-11'
            (["B"] * 11, 11.9, 40.0),  # 11 touches -> '8-11', 11.9 days -> '8-11'
            (["C"] * 12, 40.0, 50.0),  # 12 touches -> '12+', 40 days -> '12+'
            (["A", "C"], None, 0.0),  # not converting: a 2-touch journey, no lag
        ]
    )
    stats = path_stats(journeys)
    lengths = {
        r["bucket"]: (r["journeys"], r["conversions"], r["revenue"])
        for r in stats.length_buckets.to_dicts()
    }
    assert list(lengths) == bucket_order("length")
    assert lengths["1"] == (1.0, 1.0, 10.0)
    assert lengths["2"] == (2.0, 1.0, 20.0)
    assert lengths["8-11"] == (2.0, 2.0, 70.0)
    assert lengths["12+"] == (1.0, 1.0, 50.0)
    assert lengths["5"] == (0.0, 0.0, 0.0)
    lags = {
        r["bucket"]: (r["conversions"], r["revenue"]) for r in stats.time_lag_buckets.to_dicts()
    }
    assert list(lags) == bucket_order("lag")
    assert lags["0"] == (1.0, 10.0)
    assert lags["3"] == (1.0, 20.0)
    assert lags["8-11"] == (2.0, 70.0)
    assert lags["12+"] == (1.0, 50.0)
    assert lags["1"] == (0.0, 0.0)
    # The exact distributions are still there.
    assert stats.lengths["length"].to_list() == [1, 2, 8, 11, 12]


@st.composite
def _persons(draw: st.DrawFn) -> list[tuple[list[str], float | None, float]]:
    channels = st.sampled_from(("Search", "Email", "Social", "Display"))
    persons = []
    for p in range(draw(st.integers(1, 6))):
        path = draw(st.lists(channels, min_size=1, max_size=14))
        converts = p == 0 or draw(st.booleans())
        lag = draw(st.floats(1.0, 30.0)) if converts else None
        persons.append((path, lag, draw(st.floats(0.0, 5_000.0))))
    return persons


@given(_persons())
def test_each_view_sums_to_the_touched_journeys(
    persons: list[tuple[list[str], float | None, float]],
) -> None:
    journeys = _journeys(persons)
    positions = touch_positions(journeys)
    for part in PARTS:
        assert positions[f"{part}_conversions"].sum() == pytest.approx(journeys.n_conversions)
        assert positions[f"{part}_revenue"].sum() == pytest.approx(journeys.revenue, abs=1e-6)
        assert positions[f"{part}_conversions"].min() >= 0.0  # type: ignore[operator]
    stats = path_stats(journeys)
    assert stats.length_buckets["journeys"].sum() == pytest.approx(len(persons))
    assert stats.length_buckets["conversions"].sum() == pytest.approx(journeys.n_conversions)
    assert stats.time_lag_buckets["revenue"].sum() == pytest.approx(journeys.revenue, abs=1e-6)
