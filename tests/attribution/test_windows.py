"""Click and view windows (:mod:`attribution.windows`): hand-worked cases and invariants.

The hand-worked case is the one in ``docs/windows.md``: person ``a`` converts
on 2024-01-10 09:00 for 100 after a Display impression and a Search click two
days before and a Social impression twelve hours before.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import MODELS, attribute, build_journeys
from attribution.errors import EmptyInputError, ParameterError
from attribution.report import NO_TOUCHPOINT
from attribution.windows import TouchWindows, touch_windows

CONVERSION = dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)


def _example() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The docs' person ``a``, and two people who never convert (the data-driven models)."""
    touches = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
            "user_id": ["a", "a", "a", "b", "b", "c"],
            "ts": [
                CONVERSION - dt.timedelta(days=2),
                CONVERSION - dt.timedelta(days=2),
                CONVERSION - dt.timedelta(hours=12),
                CONVERSION - dt.timedelta(days=5),
                CONVERSION - dt.timedelta(days=1),
                CONVERSION - dt.timedelta(days=3),
            ],
            "channel": ["Display", "Search", "Social", "Display", "Search", "Social"],
            "interaction": ["impression", "click", "Impression ", "impression", "click", "visit"],
        }
    )
    sales = pl.DataFrame(
        {
            "conversion_id": ["c1"],
            "user_id": ["a"],
            "ts": [CONVERSION],
            "stage": ["closed_won"],
            "revenue": [100.0],
        }
    )
    return touches, sales


def _revenue(report_data: pl.DataFrame) -> dict[str, float]:
    return {k: round(v, 6) for k, v in report_data.select("channel", "revenue").iter_rows()}


def test_a_view_at_two_days_is_dropped_and_a_click_kept() -> None:
    touches, sales = _example()
    report = attribute(touches, sales, model="linear")
    assert _revenue(report.data) == {"Search": 50.0, "Social": 50.0}
    assert report.windows == {
        "click_days": 90.0,
        "view_days": 1.0,
        "view_interactions": ["impression"],
    }
    assert report.totals["view_only_conversions"] == 0.0


def test_a_longer_view_window_keeps_the_view() -> None:
    touches, sales = _example()
    report = attribute(touches, sales, model="linear", view_window_days=7)
    assert _revenue(report.data) == {"Display": 33.333333, "Search": 33.333333, "Social": 33.333333}


def test_a_short_click_window_leaves_a_conversion_only_views_reached() -> None:
    touches, sales = _example()
    report = attribute(touches, sales, model="linear", click_window_days=1)
    assert _revenue(report.data) == {"Social": 100.0}
    assert report.totals["view_only_conversions"] == 1.0
    assert "1 conversions reached by views only" in report.to_table()
    assert "windows 1-day click / 1-day view" in report.to_table()


def test_windows_edges_are_inclusive() -> None:
    """A click exactly at the click window's edge counts; a view one second past its edge not."""
    touches = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2"],
            "user_id": ["a", "a"],
            "ts": [
                CONVERSION - dt.timedelta(days=7),
                CONVERSION - dt.timedelta(days=1, seconds=1),
            ],
            "channel": ["Search", "Display"],
            "interaction": ["click", "impression"],
        }
    )
    _, sales = _example()
    journeys = build_journeys(touches, sales, click_window_days=7)
    assert journeys.converting["touchpoint_id"].to_list() == ["t1"]


def test_a_conversion_whose_touches_are_all_dropped_has_no_touchpoint() -> None:
    touches, sales = _example()
    more = pl.DataFrame(
        {
            "touchpoint_id": ["t7"],
            "user_id": ["d"],
            "ts": [CONVERSION],
            "channel": ["Email"],
            "interaction": ["email"],
        }
    )
    sales = pl.concat(
        [
            sales,
            sales.with_columns(pl.lit("c2").alias("conversion_id"), pl.lit("d").alias("user_id")),
        ]
    )
    report = attribute(
        pl.concat([touches, more]), sales, model="linear", click_window_days=1, view_window_days=0
    )
    assert _revenue(report.data) == {"Email": 100.0, NO_TOUCHPOINT: 100.0}
    assert report.totals["revenue"] == 200.0


def test_no_touch_left_in_any_window_says_which_windows() -> None:
    touches, sales = _example()
    with pytest.raises(EmptyInputError, match="the click and view windows"):
        attribute(touches, sales, model="linear", click_window_days=1, view_window_days=0)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_credits_only_the_touches_in_their_window(name: str) -> None:
    """The 2-day view gets nothing from any model; revenue still sums to the closed 100."""
    touches, sales = _example()
    report = attribute(touches, sales, model=name)
    revenue = _revenue(report.data)
    assert revenue.get("Display", 0.0) == 0.0
    assert math.isclose(report.totals["revenue"], 100.0, rel_tol=1e-9)
    wide = attribute(touches, sales, model=name, view_window_days=90)
    assert wide.data.filter(pl.col("channel") == "Display").height == 1


def test_non_converting_journeys_are_cut_from_their_last_touch() -> None:
    """b's impression 4 days before b's last touch is dropped; c's lone visit stays."""
    touches, sales = _example()
    journeys = build_journeys(touches, sales)
    tails = journeys.touches.filter(~pl.col("converted"))
    assert sorted(tails["touchpoint_id"]) == ["t5", "t6"]
    wide = build_journeys(touches, sales, view_window_days=90)
    assert sorted(wide.touches.filter(~pl.col("converted"))["touchpoint_id"]) == ["t4", "t5", "t6"]


@pytest.mark.parametrize(
    ("lookback", "click", "view", "message"),
    [
        (30, 45, None, "click_window_days (45) is longer than lookback_days (30)"),
        (30, None, 31, "view_window_days (31) is longer than lookback_days (30)"),
        (30, 0, None, "click_window_days must be > 0"),
        (30, None, -1, "view_window_days must be >= 0"),
        (30, float("nan"), None, "click_window_days must be a number of days"),
    ],
)
def test_windows_outside_the_lookback_are_refused(
    lookback: float, click: float | None, view: float | None, message: str
) -> None:
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        touch_windows(lookback, click, view)


def test_default_windows() -> None:
    assert touch_windows(90) == TouchWindows(90.0, 1.0)
    assert touch_windows(0.25) == TouchWindows(0.25, 0.25)
    assert touch_windows(7, 7, 1).to_dict()["view_interactions"] == ["impression"]


touch_rows = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3"]),
        st.integers(0, 20 * 24),
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["click", "visit", "email", None]),
    ),
    min_size=1,
    max_size=25,
)
sale_rows = st.lists(
    st.tuples(st.sampled_from(["u1", "u2", "u3"]), st.integers(0, 20 * 24)),
    min_size=1,
    max_size=6,
)


def _frames(
    touches: list[tuple[str, int, str, str | None]], sales: list[tuple[str, int]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    tp = pl.DataFrame(
        {
            "touchpoint_id": [f"t{i:02d}" for i in range(len(touches))],
            "user_id": [t[0] for t in touches],
            "ts": [start + dt.timedelta(hours=t[1]) for t in touches],
            "channel": [t[2] for t in touches],
            "interaction": [t[3] for t in touches],
        },
        schema_overrides={"interaction": pl.String},
    )
    cv = pl.DataFrame(
        {
            "conversion_id": [f"c{i:02d}" for i in range(len(sales))],
            "user_id": [s[0] for s in sales],
            "ts": [start + dt.timedelta(hours=s[1]) for s in sales],
            "stage": ["purchase"] * len(sales),
            "revenue": [float(10 + i) for i in range(len(sales))],
        }
    )
    return tp, cv


@settings(max_examples=40, deadline=None)
@given(touches=touch_rows, sales=sale_rows, view=st.sampled_from([0.0, 0.5, 1.0, 3.0]))
def test_without_impressions_the_view_window_changes_nothing(
    touches: list[tuple[str, int, str, str | None]],
    sales: list[tuple[str, int]],
    view: float,
) -> None:
    """No impression: every view window gives the journeys of the lookback alone."""
    tp, cv = _frames(touches, sales)
    lookback_only = build_journeys(tp, cv, lookback_days=5, view_window_days=5)
    windowed = build_journeys(tp, cv, lookback_days=5, view_window_days=view)
    assert windowed.touches.equals(lookback_only.touches)
    assert windowed.untouched.equals(lookback_only.untouched)
    assert windowed.view_only_conversions == 0.0


@settings(max_examples=40, deadline=None)
@given(touches=touch_rows, sales=sale_rows, click=st.sampled_from([0.5, 2.0, 5.0]))
def test_a_click_window_is_a_shorter_lookback_when_views_share_it(
    touches: list[tuple[str, int, str, str | None]],
    sales: list[tuple[str, int]],
    click: float,
) -> None:
    """Views and clicks with one window: the journeys of a lookback of that length."""
    tp, cv = _frames(touches, sales)
    tp = tp.with_columns(
        pl.when(pl.col("channel") == "A")
        .then(pl.lit("impression"))
        .otherwise("interaction")
        .alias("interaction")
    )
    shorter = build_journeys(tp, cv, lookback_days=click, view_window_days=click)
    windowed = build_journeys(
        tp, cv, lookback_days=5, click_window_days=click, view_window_days=click
    )
    assert windowed.touches.equals(shorter.touches)
    assert windowed.untouched.equals(shorter.untouched)
