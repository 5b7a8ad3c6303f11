"""build_journeys: splitting at conversions, the lookback window, the period, stages, paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution import (
    EmptyInputError,
    MissingColumnsError,
    ParameterError,
    build_journeys,
)
from attribution.journeys import require_converting
from attribution.schema import JOURNEY_TOUCHES, PATHS

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
DAY = dt.timedelta(days=1)


def touches(*rows: tuple[str, str, dt.datetime, str]) -> pl.DataFrame:
    """Touchpoints from ``(touchpoint_id, user_id, ts, channel)`` rows."""
    return pl.DataFrame(
        [dict(zip(("touchpoint_id", "user_id", "ts", "channel"), r, strict=True)) for r in rows],
        schema={
            "touchpoint_id": pl.String,
            "user_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "channel": pl.String,
        },
    )


def convs(*rows: tuple[str, str, dt.datetime, str, float]) -> pl.DataFrame:
    """Conversions from ``(conversion_id, user_id, ts, stage, revenue)`` rows."""
    return pl.DataFrame(
        [
            dict(zip(("conversion_id", "user_id", "ts", "stage", "revenue"), r, strict=True))
            for r in rows
        ],
        schema={
            "conversion_id": pl.String,
            "user_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "stage": pl.String,
            "revenue": pl.Float64,
        },
    )


def assignment(touchpoints: pl.DataFrame, conversions: pl.DataFrame, **kw: Any) -> dict[str, str]:
    """Map each touch kept in a journey to its journey id."""
    j = build_journeys(touchpoints, conversions, **kw)
    return dict(j.touches.select("touchpoint_id", "journey_id").iter_rows())


# --- the lookback window -------------------------------------------------------------------


@pytest.mark.parametrize("lookback_days", [90.0, 30.0, 0.5])
def test_touch_exactly_lookback_before_is_in_and_one_microsecond_older_is_out(
    lookback_days: float,
) -> None:
    window = dt.timedelta(days=lookback_days)
    tp = touches(
        ("older", "a", T0 - window - US, "Display"),
        ("edge", "a", T0 - window, "Email"),
    )
    cv = convs(("c1", "a", T0, "purchase", 10.0))
    j = build_journeys(tp, cv, lookback_days=lookback_days)
    assert j.touches["touchpoint_id"].to_list() == ["edge"]
    assert j.touches["journey_id"].to_list() == ["c1"]
    # The dropped touch does not become a non-converting journey either.
    assert j.touches.filter(~pl.col("converted")).is_empty()


def test_touch_at_the_conversion_instant_is_in() -> None:
    tp = touches(("t1", "a", T0 - DAY, "Email"), ("t2", "a", T0, "Search"))
    cv = convs(("c1", "a", T0, "purchase", 10.0))
    assert assignment(tp, cv) == {"t1": "c1", "t2": "c1"}


def test_conversion_with_only_old_touches_is_untouched() -> None:
    tp = touches(("t1", "a", T0 - 91 * DAY, "Email"))
    cv = convs(("c1", "a", T0, "purchase", 10.0))
    j = build_journeys(tp, cv)
    assert j.touches.is_empty()
    assert j.untouched["conversion_id"].to_list() == ["c1"]


@pytest.mark.parametrize("lookback_days", [0, -1.0, float("nan")])
def test_lookback_must_be_positive(lookback_days: float) -> None:
    with pytest.raises(ParameterError, match=r"^lookback_days must be > 0\. Got .* instead\.$"):
        build_journeys(touches(), convs(), lookback_days=lookback_days)


@pytest.mark.parametrize("lookback_days", [1e10, float("inf")])
def test_huge_lookback_is_a_parameter_error(lookback_days: float) -> None:
    with pytest.raises(ParameterError) as info:
        build_journeys(touches(), convs(), lookback_days=lookback_days)
    assert str(info.value) == (
        f"lookback_days must be at most 36,500. Got {lookback_days!r} instead."
    )


# --- split at conversions --------------------------------------------------------------------


def test_touches_go_to_the_first_conversion_at_or_after_them() -> None:
    tp = touches(
        ("t1", "a", T0 - 3 * DAY, "Email"),
        ("t2", "a", T0 - DAY, "Search"),
        ("t3", "a", T0, "Display"),  # at the first conversion's instant
        ("t4", "a", T0 + DAY, "Email"),
        ("t5", "a", T0 + 2 * DAY, "Search"),  # at the second conversion's instant
    )
    cv = convs(
        ("c2", "a", T0 + 2 * DAY, "purchase", 20.0),
        ("c1", "a", T0, "purchase", 10.0),
    )
    j = build_journeys(tp, cv)
    assert assignment(tp, cv) == {"t1": "c1", "t2": "c1", "t3": "c1", "t4": "c2", "t5": "c2"}
    assert j.n_conversions == 2
    assert j.revenue == 30.0
    positions = j.touches.select("touchpoint_id", "position", "n_touches").rows()
    assert positions == [("t1", 0, 3), ("t2", 1, 3), ("t3", 2, 3), ("t4", 0, 2), ("t5", 1, 2)]


def test_touches_after_the_last_conversion_form_a_non_converting_journey() -> None:
    tp = touches(
        ("t1", "a", T0 - DAY, "Email"),
        ("t2", "a", T0 + DAY, "Search"),
        ("t3", "a", T0 + 2 * DAY, "Display"),
        ("t4", "b", T0, "Email"),  # b never converts
    )
    cv = convs(("c1", "a", T0, "purchase", 10.0))
    j = build_journeys(tp, cv)
    rows = j.touches.select("journey_id", "touchpoint_id", "converted", "revenue").rows()
    assert rows == [
        ("c1", "t1", True, 10.0),
        ("~a", "t2", False, 0.0),
        ("~a", "t3", False, 0.0),
        ("~b", "t4", False, 0.0),
    ]
    non_converting = j.touches.filter(~pl.col("converted"))
    assert non_converting["conversion_ts"].null_count() == non_converting.height


def test_non_converting_journey_keeps_touches_within_lookback_of_its_last_touch() -> None:
    tp = touches(
        ("old", "b", T0 - 30 * DAY - US, "Display"),
        ("edge", "b", T0 - 30 * DAY, "Email"),
        ("last", "b", T0, "Search"),
    )
    j = build_journeys(tp, convs(("c1", "a", T0, "purchase", 1.0)), lookback_days=30)
    assert j.touches["touchpoint_id"].to_list() == ["edge", "last"]


def test_ties_in_time_are_ordered_by_touchpoint_id() -> None:
    tp = touches(
        ("t2", "a", T0 - DAY, "Search"),
        ("t1", "a", T0 - DAY, "Email"),
        ("t0", "a", T0 - DAY, "Display"),
    )
    j = build_journeys(tp, convs(("c1", "a", T0, "purchase", 1.0)))
    assert j.touches["touchpoint_id"].to_list() == ["t0", "t1", "t2"]
    assert j.touches["position"].to_list() == [0, 1, 2]


def test_journey_touches_have_the_schema_and_keep_extra_columns() -> None:
    tp = touches(("t1", "a", T0, "Email")).with_columns(
        pl.lit("spring").alias("campaign"), pl.lit("hero").alias("creative")
    )
    j = build_journeys(tp, convs(("c1", "a", T0, "purchase", 1.0)))
    schema = j.touches.schema
    assert list(schema.items())[: len(JOURNEY_TOUCHES)] == list(JOURNEY_TOUCHES.items())
    assert schema["creative"] == pl.String
    assert j.touches.row(0, named=True)["campaign"] == "spring"
    assert j.touches.row(0, named=True)["creative"] == "hero"


def test_revenue_defaults_to_zero() -> None:
    tp = touches(("t1", "a", T0, "Email"))
    cv = convs(("c1", "a", T0, "purchase", 0.0)).drop("revenue")
    j = build_journeys(tp, cv)
    assert j.touches["revenue"].to_list() == [0.0]
    null_revenue = convs(("c1", "a", T0, "purchase", 0.0)).with_columns(
        pl.lit(None, pl.Float64).alias("revenue")
    )
    assert build_journeys(tp, null_revenue).revenue == 0.0


# --- the period ------------------------------------------------------------------------------

DAY1 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)  # start
DAY31 = dt.datetime(2024, 3, 31, tzinfo=dt.UTC)  # end
START, END = DAY1.date(), DAY31.date()


def test_period_bounds_are_inclusive_dates() -> None:
    tp = touches(
        ("t_before", "a", DAY1 - US - DAY, "Email"),
        ("t_first", "b", DAY1 - DAY, "Email"),
        ("t_last", "c", DAY31, "Email"),
        ("t_after", "d", DAY31, "Email"),
    )
    cv = convs(
        ("before", "a", DAY1 - US, "purchase", 1.0),  # last µs of the day before start
        ("first", "b", DAY1, "purchase", 1.0),  # first µs of start
        ("last", "c", DAY31 + DAY - US, "purchase", 1.0),  # last µs of end
        ("after", "d", DAY31 + DAY, "purchase", 1.0),  # first µs after end
    )
    j = build_journeys(tp, cv, start=START, end=END)
    converting = set(j.converting["journey_id"])
    assert converting == {"first", "last"}
    assert j.untouched.is_empty()
    # d converted only after end: as of end, d's journey is non-converting.
    assert set(j.touches.filter(~pl.col("converted"))["journey_id"]) == {"~d"}


def test_touches_before_start_count_within_the_lookback() -> None:
    tp = touches(("t_early", "a", DAY1 - 10 * DAY, "Email"), ("t_in", "a", DAY1, "Search"))
    cv = convs(("c1", "a", DAY1 + DAY, "purchase", 5.0))
    assert assignment(tp, cv, start=START, end=END) == {"t_early": "c1", "t_in": "c1"}


def test_touches_after_end_are_ignored() -> None:
    tp = touches(("t_in", "a", DAY31, "Email"), ("t_late", "a", DAY31 + DAY, "Search"))
    cv = convs(("c1", "a", DAY31 + 2 * DAY, "purchase", 5.0))
    j = build_journeys(tp, cv, end=END)
    assert j.touches.select("journey_id", "touchpoint_id").rows() == [("~a", "t_in")]
    assert j.untouched.is_empty()


def test_conversion_before_start_keeps_its_touches_out_of_later_journeys() -> None:
    tp = touches(
        ("t1", "a", DAY1 - 5 * DAY, "Email"),
        ("t2", "a", DAY1 + DAY, "Search"),
    )
    cv = convs(
        ("c_old", "a", DAY1 - 2 * DAY, "purchase", 7.0),
        ("c_new", "a", DAY1 + 2 * DAY, "purchase", 9.0),
    )
    j = build_journeys(tp, cv, start=START, end=END)
    assert j.touches.select("journey_id", "touchpoint_id").rows() == [("c_new", "t2")]
    assert j.revenue == 9.0


def test_non_converting_journey_is_kept_when_its_last_touch_is_in_the_period() -> None:
    tp = touches(
        ("a_pre", "a", DAY1 - 2 * DAY, "Email"),
        ("a_in", "a", DAY1 + DAY, "Search"),
        ("b_pre", "b", DAY1 - DAY, "Email"),  # b's last touch is before start
    )
    j = build_journeys(tp, convs(("c1", "z", DAY1, "purchase", 1.0)), start=START, end=END)
    assert j.touches.select("journey_id", "touchpoint_id").rows() == [
        ("~a", "a_pre"),
        ("~a", "a_in"),
    ]


def test_start_after_end_is_an_error() -> None:
    with pytest.raises(ParameterError, match=r"^start \(2024-03-31\) is after end \(2024-03-01\)"):
        build_journeys(touches(), convs(), start=END, end=START)


# --- stages ----------------------------------------------------------------------------------


def _staged(*stages: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    tp = touches(("t1", "a", T0 - DAY, "Email"))
    cv = convs(*[(f"c_{s}", "a", T0, s, 1.0) for s in stages])
    return tp, cv


def test_single_stage_is_picked() -> None:
    j = build_journeys(*_staged("mql"))
    assert j.stage == "mql"
    assert j.converting["journey_id"].to_list() == ["c_mql"]


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (("lead", "purchase"), "purchase"),
        (("lead", "closed_won"), "closed_won"),
        (("lead", "purchase", "closed_won"), "closed_won"),
    ],
)
def test_revenue_stage_is_preferred(stages: tuple[str, ...], expected: str) -> None:
    j = build_journeys(*_staged(*stages))
    assert j.stage == expected
    assert j.converting["journey_id"].to_list() == [f"c_{expected}"]


def test_several_stages_and_no_revenue_stage_is_an_error_listing_them() -> None:
    with pytest.raises(ParameterError) as info:
        build_journeys(*_staged("sql", "lead", "mql"))
    assert str(info.value) == (
        "Several conversion stages are present (lead, mql, sql); choose one with stage=."
    )


def test_explicit_stage_is_used() -> None:
    j = build_journeys(*_staged("lead", "purchase"), stage="lead")
    assert j.stage == "lead"
    assert j.converting["journey_id"].to_list() == ["c_lead"]


def test_explicit_unknown_stage_is_an_error() -> None:
    with pytest.raises(ParameterError) as info:
        build_journeys(*_staged("lead", "purchase"), stage="closed_won")
    assert str(info.value) == (
        "No conversion has stage 'closed_won'. Stages present: lead, purchase."
    )


def test_split_only_at_conversions_of_the_stage() -> None:
    tp = touches(("t1", "a", T0 - 2 * DAY, "Email"), ("t2", "a", T0, "Search"))
    cv = convs(
        ("lead", "a", T0 - DAY, "lead", 0.0),
        ("buy", "a", T0 + DAY, "purchase", 50.0),
    )
    assert assignment(tp, cv, stage="purchase") == {"t1": "buy", "t2": "buy"}
    assert assignment(tp, cv, stage="lead") == {"t1": "lead", "t2": "~a"}


# --- untouched conversions -------------------------------------------------------------------


def test_conversions_without_touches_are_untouched() -> None:
    tp = touches(("t1", "a", T0, "Email"))
    cv = convs(
        ("c_b", "b", T0, "purchase", 30.0),
        ("c_a", "a", T0, "purchase", 10.0),
        ("c_a_early", "a", T0 - DAY, "purchase", 5.0),
    )
    j = build_journeys(tp, cv)
    assert j.untouched.rows() == [
        ("c_a_early", "a", T0 - DAY, 5.0),
        ("c_b", "b", T0, 30.0),
    ]
    assert j.untouched.columns == ["conversion_id", "user_id", "ts", "revenue"]
    assert j.n_conversions == 1


def test_simultaneous_conversions_do_not_share_touches() -> None:
    tp = touches(("t1", "a", T0 - DAY, "Email"))
    cv = convs(("c1", "a", T0, "purchase", 10.0), ("c2", "a", T0, "purchase", 20.0))
    j = build_journeys(tp, cv)
    # The touch goes to one of them; the other has no touch left and is untouched.
    assert j.touches.height == 1
    assert j.n_conversions == 1
    ids = {*j.converting["journey_id"], *j.untouched["conversion_id"]}
    assert ids == {"c1", "c2"}


def test_no_converting_journey_is_an_empty_input_error() -> None:
    j = build_journeys(touches(("t1", "a", T0, "Email")), convs(("c1", "b", T0, "lead", 0.0)))
    with pytest.raises(EmptyInputError) as info:
        require_converting(j)
    assert str(info.value) == (
        "No converting journey to attribute: no conversion of stage 'lead' has a touch in its "
        "lookback window (a view in its view window). Check the stage, the period, "
        "lookback_days and the click and view windows."
    )


# --- input validation and timestamp forms ----------------------------------------------------


def test_missing_touchpoint_columns_are_named() -> None:
    tp = touches(("t1", "a", T0, "Email")).drop("channel", "touchpoint_id")
    with pytest.raises(MissingColumnsError) as info:
        build_journeys(tp, convs(("c1", "a", T0, "purchase", 1.0)))
    assert str(info.value) == (
        "touchpoints is missing required column(s): 'touchpoint_id', 'channel'. "
        "Found: 'user_id', 'ts'."
    )


def test_missing_conversion_columns_are_named() -> None:
    cv = convs(("c1", "a", T0, "purchase", 1.0)).drop("stage")
    with pytest.raises(MissingColumnsError) as info:
        build_journeys(touches(("t1", "a", T0, "Email")), cv)
    assert str(info.value) == (
        "conversions is missing required column(s): 'stage'. "
        "Found: 'conversion_id', 'user_id', 'ts', 'revenue'."
    )


def test_non_timestamp_ts_is_an_error() -> None:
    tp = touches(("t1", "a", T0, "Email")).with_columns(pl.lit(1).alias("ts"))
    with pytest.raises(ParameterError, match=r"^Column 'ts' must hold timestamps; got Int32\.$"):
        build_journeys(tp, convs(("c1", "a", T0, "purchase", 1.0)))


_TOUCH_TIMES = [dt.datetime(2024, 3, 1, 0, 0), dt.datetime(2024, 3, 4, 0, 0)]
_CONVERSION_TIME = dt.datetime(2024, 3, 5, 0, 0)


def _ts_forms() -> dict[str, tuple[list[Any], list[Any]]]:
    utc = dt.UTC
    paris = dt.timezone(dt.timedelta(hours=1))
    return {
        "aware_utc": (
            [t.replace(tzinfo=utc) for t in _TOUCH_TIMES],
            [_CONVERSION_TIME.replace(tzinfo=utc)],
        ),
        "naive": (_TOUCH_TIMES, [_CONVERSION_TIME]),
        "date": ([t.date() for t in _TOUCH_TIMES], [_CONVERSION_TIME.date()]),
        "iso_string_z": (
            [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in _TOUCH_TIMES],
            [_CONVERSION_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")],
        ),
        "date_string": (
            [t.strftime("%Y-%m-%d") for t in _TOUCH_TIMES],
            [_CONVERSION_TIME.strftime("%Y-%m-%d")],
        ),
        "offset_string": (
            [(t + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00") for t in _TOUCH_TIMES],
            [(_CONVERSION_TIME + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")],
        ),
        "aware_other_zone": (
            [(t + dt.timedelta(hours=1)).replace(tzinfo=paris) for t in _TOUCH_TIMES],
            [(_CONVERSION_TIME + dt.timedelta(hours=1)).replace(tzinfo=paris)],
        ),
    }


@pytest.mark.parametrize("form", list(_ts_forms()))
def test_timestamp_forms_are_equivalent(form: str) -> None:
    touch_ts, conversion_ts = _ts_forms()[form]
    tp = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2"],
            "user_id": ["a", "a"],
            "ts": touch_ts,
            "channel": ["Email", "Search"],
        }
    )
    cv = pl.DataFrame(
        {
            "conversion_id": ["c1"],
            "user_id": ["a"],
            "ts": conversion_ts,
            "stage": ["purchase"],
            "revenue": [10.0],
        }
    )
    reference_tp = touches(
        ("t1", "a", _TOUCH_TIMES[0].replace(tzinfo=dt.UTC), "Email"),
        ("t2", "a", _TOUCH_TIMES[1].replace(tzinfo=dt.UTC), "Search"),
    )
    reference_cv = convs(("c1", "a", _CONVERSION_TIME.replace(tzinfo=dt.UTC), "purchase", 10.0))
    assert_frame_equal(
        build_journeys(tp, cv).touches, build_journeys(reference_tp, reference_cv).touches
    )


def test_nanosecond_timestamps_are_cast_to_microseconds() -> None:
    tp = touches(("t1", "a", T0 - DAY, "Email")).with_columns(pl.col("ts").dt.cast_time_unit("ns"))
    j = build_journeys(tp, convs(("c1", "a", T0, "purchase", 1.0)))
    assert j.touches.schema["ts"] == pl.Datetime("us", "UTC")
    assert j.touches["ts"].to_list() == [T0 - DAY]


# --- paths -----------------------------------------------------------------------------------


def test_paths_count_identical_sequences_once() -> None:
    tp = touches(
        ("a1", "a", T0 - 2 * DAY, "Email"),
        ("a2", "a", T0 - DAY, "Search"),
        ("b1", "b", T0 - 2 * DAY, "Email"),
        ("b2", "b", T0 - DAY, "Search"),
        ("c1", "c", T0 - DAY, "Email"),
        ("d1", "d", T0 - 2 * DAY, "Email"),
        ("d2", "d", T0 - DAY, "Search"),
        ("a3", "a", T0 + DAY, "Display"),  # after a's conversion: non-converting
    )
    cv = convs(
        ("ca", "a", T0, "purchase", 100.0),
        ("cb", "b", T0, "purchase", 50.0),
        ("cc", "c", T0, "purchase", 20.0),
    )
    paths = build_journeys(tp, cv).paths()
    expected = pl.DataFrame(
        {
            "path": [["Display"], ["Email"], ["Email", "Search"]],
            "conversions": [0.0, 1.0, 2.0],
            "revenue": [0.0, 20.0, 150.0],
            "nulls": [1.0, 0.0, 1.0],
        },
        schema=PATHS,
    )
    assert_frame_equal(paths, expected)


def test_paths_by_campaign_fill_missing_names() -> None:
    tp = touches(("t1", "a", T0 - DAY, "Email"), ("t2", "a", T0, "Search")).with_columns(
        pl.Series("campaign", ["spring", None])
    )
    paths = build_journeys(tp, convs(("c1", "a", T0, "purchase", 3.0))).paths(by="campaign")
    assert paths["path"].to_list() == [["spring", "(not set)"]]


def test_paths_by_unknown_column_is_an_error() -> None:
    j = build_journeys(touches(("t1", "a", T0, "Email")), convs(("c1", "a", T0, "purchase", 1.0)))
    with pytest.raises(ParameterError) as info:
        j.paths(by="creative")
    assert str(info.value) == (
        "Cannot group by 'creative': it is not a touch column. "
        "Available: campaign, channel, interaction, medium, source, touchpoint_id, ts, user_id."
    )


def test_paths_total_equals_journeys(touchpoints: pl.DataFrame, conversions: pl.DataFrame) -> None:
    j = build_journeys(touchpoints, conversions)
    paths = j.paths()
    assert paths["conversions"].sum() == j.n_conversions
    assert paths["revenue"].sum() == pytest.approx(j.revenue, rel=1e-9)
    n_non_converting = j.touches.filter(~pl.col("converted"))["journey_id"].n_unique()
    assert paths["nulls"].sum() == n_non_converting
    assert paths["path"].is_unique().all()


def test_journeys_from_a_path_table_know_the_paths_they_roll_up_to() -> None:
    """The path table is kept instead of rolled up again; a copy with other touches rolls up."""
    from dataclasses import replace

    from attribution.paths import journeys_from_path_lists

    table = pl.DataFrame(
        {
            "path": [["A", "B"], ["B"], [None, "A"], ["C"]],
            "conversions": [2.0, 0.0, 1.0, 3.0],
            "revenue": [30.0, 0.0, 7.0, 5.0],
            "nulls": [1.0, 4.0, 0.0, 0.0],
        },
        schema_overrides={"path": pl.List(pl.String)},
    )
    journeys = journeys_from_path_lists(table, by="channel")
    known = journeys.paths("channel")
    rolled = replace(journeys, known_paths=None).paths("channel")
    assert known["path"].to_list() == rolled["path"].to_list()
    for column in ("conversions", "nulls", "revenue"):
        assert known[column].to_list() == pytest.approx(rolled[column].to_list(), rel=1e-12)
    fewer = replace(journeys, touches=journeys.touches.filter(pl.col("converted")))
    assert fewer.paths("channel")["nulls"].sum() == 0  # not the known table: its touches differ


def test_ties_in_time_are_broken_by_ids() -> None:
    """Issue #13: the documented tie-breaks (attribution.journeys module docstring)."""
    same = "2024-01-02"
    tp = pl.DataFrame(
        {
            "touchpoint_id": ["t2", "t10", "t1"],
            "user_id": ["a"] * 3,
            "ts": [same, same, "2024-01-01"],
            "channel": ["Search", "Event", "Email"],
        }
    )
    # Two conversions at one instant, the instant of the last two touches.
    cv = pl.DataFrame(
        {
            "conversion_id": ["c9", "c10"],
            "user_id": ["a", "a"],
            "ts": [same, same],
            "stage": ["purchase", "purchase"],
            "revenue": [1.0, 2.0],
        }
    )
    journeys = build_journeys(tp, cv)
    order = journeys.touches.sort("position").select("journey_id", "touchpoint_id").rows()
    # Touches at one instant by touchpoint_id as text ("t10" before "t2"); touches at the
    # conversion instant belong to it; the smaller conversion_id ("c10" < "c9") takes them.
    assert order == [("c10", "t1"), ("c10", "t10"), ("c10", "t2")]
    assert journeys.untouched["conversion_id"].to_list() == ["c9"]
