"""Stage-aware models (u_shaped, w_shaped, full_path): golden cases and every fallback.

Every case is one person (2024-01-DD, UTC): touches t1..tn on days 1..n and
CRM stages at noon on the given days, so "last touch at or before the stage"
is read straight off the day numbers. Don't edit expected numbers unless the
maths changed on purpose (see tests/golden/test_golden.py).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from fractions import Fraction

import polars as pl
import pytest

from attribution import attribute, build_journeys, get_model
from attribution.errors import ParameterError
from attribution.models import AttributionModel, FullPath, PositionBased, UShaped, WShaped
from attribution.paths import journeys_from_paths

CHANNELS = ["Email", "Search", "Event", "Social", "Display", "Direct"]


def frames(
    n_touches: int, stages: Mapping[str, float | list[float]], user: str = "a"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    touches = pl.DataFrame(
        {
            "touchpoint_id": [f"t{k}" for k in range(1, n_touches + 1)],
            "user_id": [user] * n_touches,
            "ts": [dt.datetime(2024, 1, k, tzinfo=dt.UTC) for k in range(1, n_touches + 1)],
            "channel": CHANNELS[:n_touches],
        }
    )
    rows: list[dict[str, object]] = []
    for stage, days in stages.items():
        for k, day in enumerate(days if isinstance(days, list) else [days]):
            rows.append(
                {
                    "conversion_id": f"{stage}{k}",
                    "user_id": user,
                    "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day - 1),
                    "stage": stage,
                    "revenue": 100.0 if stage == "closed_won" else 0.0,
                }
            )
    return touches, pl.DataFrame(rows)


def weights(
    model: AttributionModel,
    n_touches: int,
    stages: Mapping[str, float | list[float]],
    stage: str = "closed_won",
    journey: str | None = None,
) -> dict[str, float]:
    touches, conversions = frames(n_touches, stages)
    credits = model.credit(build_journeys(touches, conversions, stage=stage))
    if journey is not None:
        credits = credits.filter(pl.col("journey_id") == journey)
    return dict(credits.select("touchpoint_id", "weight").iter_rows())


def assert_weights(actual: Mapping[str, float], expected: Mapping[str, str | int]) -> None:
    assert sorted(actual) == sorted(expected)
    for touch, value in expected.items():
        assert math.isclose(actual[touch], float(Fraction(value)), abs_tol=1e-12), (touch, actual)


FULL = {"lead": 2.5, "opportunity": 4.5, "closed_won": 6}
"""Lead after t2, opportunity after t4, won after t5 (t1..t5 on days 1..5)."""


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # FT t1, LC t2 (40/40) with no touch between them: scaled to 1/2 each; the
        # touches after the lead get nothing.
        (UShaped(), {"t1": "1/2", "t2": "1/2", "t3": 0, "t4": 0, "t5": 0}),
        # FT t1, LC t2, OC t4 at 30%; t3 is the only touch between: 10%; t5 after OC: 0.
        (WShaped(), {"t1": "3/10", "t2": "3/10", "t3": "1/10", "t4": "3/10", "t5": 0}),
        # Plus the closed-won touch t5 (the last before the win): 22.5% each, t3 10%.
        (FullPath(), {"t1": "9/40", "t2": "9/40", "t3": "1/10", "t4": "9/40", "t5": "9/40"}),
    ],
    ids=["u_shaped", "w_shaped", "full_path"],
)
def test_all_milestones_present(model: AttributionModel, expected: Mapping[str, str | int]) -> None:
    assert_weights(weights(model, 5, FULL), expected)


def test_golden_channel_totals() -> None:
    touches, conversions = frames(5, FULL)
    report = attribute(touches, conversions, model="w_shaped", stage="closed_won")
    got = dict(report.data.select("channel", "revenue").iter_rows())
    assert got == pytest.approx(
        {"Email": 30.0, "Search": 30.0, "Event": 10.0, "Social": 30.0, "Display": 0.0}
    )


def test_no_opportunity_yet_goes_to_the_last_touch() -> None:
    # Marketo's "Pending": with no opportunity the OC share sits on the last touch (t4).
    stages = {"lead": 2.5, "closed_won": 5}
    assert_weights(
        weights(WShaped(), 4, stages), {"t1": "3/10", "t2": "3/10", "t3": "1/10", "t4": "3/10"}
    )


def test_open_opportunity_under_full_path_holds_closed_share_on_last_touch() -> None:
    # Attributing the opportunity: no win yet, so the closed share joins the OC touch (t4).
    stages = {"lead": 2.5, "opportunity": 4.5}
    assert_weights(
        weights(FullPath(), 4, stages, stage="opportunity"),
        {"t1": "9/40", "t2": "9/40", "t3": "1/10", "t4": "9/20"},
    )


def test_u_shaped_spreads_twenty_percent_between_first_and_lead() -> None:
    assert_weights(
        weights(UShaped(), 5, {"lead": 4.5, "closed_won": 6}),
        {"t1": "2/5", "t2": "1/10", "t3": "1/10", "t4": "2/5", "t5": 0},
    )


def test_lead_before_the_first_touch_goes_to_the_first_touch() -> None:
    # Lead on day 0.5: no touch before it, so LC joins FT on t1 (60%); OC t2 (30%);
    # nothing is left between them, so the 90% is scaled to 100%: 2/3 and 1/3; t3 after OC.
    stages = {"lead": 0.5, "opportunity": 2.5, "closed_won": 4}
    assert_weights(weights(WShaped(), 3, stages), {"t1": "2/3", "t2": "1/3", "t3": 0})


def test_coinciding_milestones_add_on_one_touch() -> None:
    # A single touch is first touch, lead creation, opportunity creation and closed won.
    stages = {"lead": 1.5, "opportunity": 1.6, "closed_won": 2}
    for model in (UShaped(), WShaped(), FullPath()):
        assert_weights(weights(model, 1, stages), {"t1": 1})
    # LC and OC both on t2: 60%; FT t1 30%; t3 between them? No: t3 is after OC, so 0,
    # and with nobody between, 30:60 is scaled to 1/3 : 2/3.
    stages = {"lead": 2.5, "opportunity": 2.6, "closed_won": 4}
    assert_weights(weights(WShaped(), 3, stages), {"t1": "1/3", "t2": "2/3", "t3": 0})


def test_u_shaped_without_a_lead_stage_is_position_based() -> None:
    touches, conversions = frames(4, {"purchase": 5})
    journeys = build_journeys(touches, conversions)
    u = UShaped().credit(journeys).sort("touchpoint_id")["weight"].to_list()
    p = PositionBased().credit(journeys).sort("touchpoint_id")["weight"].to_list()
    assert u == pytest.approx(p)
    assert u == pytest.approx([0.4, 0.1, 0.1, 0.4])


def test_second_deal_uses_the_latest_milestones() -> None:
    # Won on day 3, a second opportunity on day 5.5 and a second win on day 7. The
    # second journey holds t4..t6 only; its lead (day 1.5) is before them: first touch.
    stages: dict[str, float | list[float]] = {
        "lead": 1.5,
        "opportunity": [2.5, 5.5],
        "closed_won": [3, 7],
    }
    got = weights(WShaped(), 6, stages, journey="closed_won1")
    # FT + LC on t4 (60%), OC t5 (30%), nobody between: 2/3 and 1/3; t6 after OC.
    assert_weights(got, {"t4": "2/3", "t5": "1/3", "t6": 0})


def test_stage_parameters_rename_the_milestones() -> None:
    # Olist-style funnel: the MQL is the lead.
    stages = {"mql": 2.5, "closed_won": 4}
    got = weights(get_model("u_shaped", lead_stage="mql"), 3, stages)
    assert_weights(got, {"t1": "1/2", "t2": "1/2", "t3": 0})


def test_milestones_frame() -> None:
    touches, conversions = frames(5, {"lead": 2.5, "opportunity": [3.5, 9], "closed_won": 6})
    journeys = build_journeys(touches, conversions, stage="closed_won")
    assert journeys.milestones is not None
    row = journeys.milestones.row(0, named=True)
    assert row["journey_id"] == "closed_won0"
    # The latest opportunity at or before the win, not the later one on day 9.
    assert row["opportunity_ts"] == dt.datetime(2024, 1, 3, 12, tzinfo=dt.UTC)
    assert row["closed_won_ts"] == dt.datetime(2024, 1, 6, tzinfo=dt.UTC)


def test_aggregated_paths_have_no_milestones() -> None:
    journeys = journeys_from_paths(pl.DataFrame({"path": ["a > b"], "total_conversions": [3]}))
    assert journeys.milestones is None
    for model in (UShaped(), WShaped(), FullPath()):
        with pytest.raises(ParameterError, match="needs the stage timestamps of each person"):
            model.credit(journeys)


def test_empty_stage_name_is_refused() -> None:
    with pytest.raises(ParameterError, match="The 'lead_stage' parameter of WShaped must be"):
        WShaped(lead_stage=" ")


RECYCLED: dict[str, float | list[float]] = {
    "lead": [2.5, 4.5],
    "opportunity": 5.5,
    "closed_won": 7,
}
"""A lead after t2, recycled and re-created after t4; opportunity after t5, won after t6."""


@pytest.mark.parametrize(
    ("model", "first", "last"),
    [
        # Marketo Measure sets the lead-creation touch once, at the first lead (t2); the old
        # behaviour (lead_touch="last") took the latest lead row (t4).
        (
            WShaped,
            {"t1": "3/10", "t2": "3/10", "t3": "1/20", "t4": "1/20", "t5": "3/10", "t6": 0},
            {"t1": "3/10", "t2": "1/20", "t3": "1/20", "t4": "3/10", "t5": "3/10", "t6": 0},
        ),
        (
            UShaped,
            {"t1": "1/2", "t2": "1/2", "t3": 0, "t4": 0, "t5": 0, "t6": 0},
            {"t1": "2/5", "t2": "1/10", "t3": "1/10", "t4": "2/5", "t5": 0, "t6": 0},
        ),
        (
            FullPath,
            {"t1": "9/40", "t2": "9/40", "t3": "1/20", "t4": "1/20", "t5": "9/40", "t6": "9/40"},
            {"t1": "9/40", "t2": "1/20", "t3": "1/20", "t4": "9/40", "t5": "9/40", "t6": "9/40"},
        ),
    ],
    ids=["w_shaped", "u_shaped", "full_path"],
)
def test_lead_creation_touch_is_the_first_lead(
    model: type[UShaped | WShaped | FullPath],
    first: Mapping[str, str | int],
    last: Mapping[str, str | int],
) -> None:
    assert_weights(weights(model(), 6, RECYCLED), first)
    assert_weights(weights(model(lead_touch="first"), 6, RECYCLED), first)
    assert_weights(weights(model(lead_touch="last"), 6, RECYCLED), last)
    name = model.name
    assert_weights(weights(get_model(name, lead_touch="last"), 6, RECYCLED), last)


def test_a_later_lead_journey_keeps_the_first_lead_creation() -> None:
    # Attributing the second lead row (t3, t4): the first lead is before both touches, so its
    # 40% joins the first touch; with lead_touch="last" the journey's own lead is on t4.
    assert_weights(
        weights(UShaped(), 6, RECYCLED, stage="lead", journey="lead1"), {"t3": 1, "t4": 0}
    )
    assert_weights(
        weights(UShaped(lead_touch="last"), 6, RECYCLED, stage="lead", journey="lead1"),
        {"t3": "1/2", "t4": "1/2"},
    )


def test_milestones_hold_the_first_and_the_latest_lead() -> None:
    touches, conversions = frames(6, RECYCLED)
    journeys = build_journeys(touches, conversions, stage="closed_won")
    assert journeys.milestones is not None
    row = journeys.milestones.row(0, named=True)
    assert row["lead_ts_first"] == dt.datetime(2024, 1, 2, 12, tzinfo=dt.UTC)
    assert row["lead_ts"] == dt.datetime(2024, 1, 4, 12, tzinfo=dt.UTC)
    # A first conversion after the journey's conversion is not a milestone of that journey.
    touches, conversions = frames(3, {"lead": 5, "closed_won": 3})
    milestones = build_journeys(touches, conversions, stage="closed_won").milestones
    assert milestones is not None
    assert milestones.row(0, named=True)["lead_ts_first"] is None


def test_ties_in_time_go_to_the_greatest_touchpoint_id() -> None:
    # Two touches at the lead's very instant: both count (at or before), and the one that sorts
    # last by touchpoint_id (as text) is the lead-creation touch.
    at = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    touches = pl.DataFrame(
        {
            "touchpoint_id": ["a1", "b2", "b10", "c3"],
            "user_id": ["a"] * 4,
            "ts": [
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                at,
                at,
                dt.datetime(2024, 1, 3, tzinfo=dt.UTC),
            ],
            "channel": ["Email", "Search", "Event", "Social"],
        }
    )
    conversions = pl.DataFrame(
        {
            "conversion_id": ["l", "w"],
            "user_id": ["a", "a"],
            "ts": [at, dt.datetime(2024, 1, 4, tzinfo=dt.UTC)],
            "stage": ["lead", "closed_won"],
            "revenue": [0.0, 1.0],
        }
    )
    credits = UShaped().credit(build_journeys(touches, conversions, stage="closed_won"))
    got = dict(credits.select("touchpoint_id", "weight").iter_rows())
    # Order: a1, b10, b2 (text order), c3. LC is b2; b10 lies between FT and LC.
    assert_weights(got, {"a1": "2/5", "b10": "1/5", "b2": "2/5", "c3": 0})


def test_bad_lead_touch_is_refused() -> None:
    with pytest.raises(ParameterError, match="The 'lead_touch' parameter of UShaped must be"):
        UShaped(lead_touch="latest")
    with pytest.raises(ParameterError, match="lead_touch"):
        get_model("full_path", lead_touch="second")
