"""Lift-test calibration maths, hand-worked, plus its invariants.

Expected numbers are worked by hand from the rules in
``attribution/calibration.py``: inside the interval the factor is 1, outside
it is estimate / attributed (never below 0), and several tests of a channel
are weighted by (attributed / (upper − lower))².
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.budget.analysis import _example_frames, response_curves
from attribution.budget.calibrate import calibrate_curves
from attribution.calibration import calibrate_rows, calibration_factors, lift_test_windows

MARCH = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
APRIL = (dt.date(2024, 4, 1), dt.date(2024, 4, 30))


def lift_frame(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "channel": r["channel"],
                "campaign": r.get("campaign"),
                "start": r["window"][0],  # type: ignore[index]
                "end": r["window"][1],  # type: ignore[index]
                "incremental_revenue": r.get("revenue"),
                "incremental_conversions": r.get("conversions"),
                "lower": r.get("lower"),
                "upper": r.get("upper"),
            }
            for r in rows
        ],
        schema={
            "channel": pl.String,
            "campaign": pl.String,
            "start": pl.Date,
            "end": pl.Date,
            "incremental_revenue": pl.Float64,
            "incremental_conversions": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
        },
    )


def totals_frame(*rows: tuple[tuple[dt.date, dt.date], str, str, float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "start": w[0],
                "end": w[1],
                "level": level,
                "key": key,
                "revenue": revenue,
                "conversions": conversions,
            }
            for w, level, key, revenue, conversions in rows
        ]
    )


def factors_of(tests: pl.DataFrame, totals: pl.DataFrame) -> dict[str, float]:
    frame, _ = calibration_factors(tests, totals)
    return dict(zip(frame["channel"], frame["calibration_factor"], strict=True))


def test_outside_the_interval_scales_to_the_estimate() -> None:
    tests = lift_frame(
        {"channel": "Social", "window": MARCH, "revenue": 300.0, "lower": 200.0, "upper": 400.0}
    )
    totals = totals_frame((MARCH, "channel", "Social", 1200.0, 12.0))
    assert factors_of(tests, totals) == {"Social": pytest.approx(0.25)}


def test_inside_the_interval_is_one() -> None:
    tests = lift_frame(
        {"channel": "Social", "window": MARCH, "revenue": 300.0, "lower": 100.0, "upper": 500.0}
    )
    totals = totals_frame((MARCH, "channel", "Social", 450.0, 4.0))
    assert factors_of(tests, totals) == {"Social": 1.0}


def test_under_credited_channel_is_scaled_up() -> None:
    tests = lift_frame({"channel": "Events", "window": MARCH, "revenue": 900.0})
    totals = totals_frame((MARCH, "channel", "Events", 300.0, 3.0))
    assert factors_of(tests, totals) == {"Events": pytest.approx(3.0)}


def test_a_loss_found_by_the_experiment_scales_to_zero_not_below() -> None:
    tests = lift_frame(
        {"channel": "Display", "window": MARCH, "revenue": -50.0, "lower": -120.0, "upper": 20.0}
    )
    totals = totals_frame((MARCH, "channel", "Display", 400.0, 4.0))
    assert factors_of(tests, totals) == {"Display": 0.0}


def test_conversion_tests_compare_conversions() -> None:
    tests = lift_frame({"channel": "Email", "window": MARCH, "conversions": 2.0})
    totals = totals_frame((MARCH, "channel", "Email", 999.0, 8.0))
    assert factors_of(tests, totals) == {"Email": pytest.approx(0.25)}


def test_several_tests_combine_by_inverse_variance() -> None:
    # March: factor 0.5, width 100 on 1000 attributed -> weight (1000/100)^2 = 100.
    # April: factor 0.8, width 400 on 1000 attributed -> weight (1000/400)^2 = 6.25.
    tests = lift_frame(
        {"channel": "Social", "window": MARCH, "revenue": 500.0, "lower": 450.0, "upper": 550.0},
        {"channel": "Social", "window": APRIL, "revenue": 800.0, "lower": 550.0, "upper": 950.0},
    )
    totals = totals_frame(
        (MARCH, "channel", "Social", 1000.0, 10.0), (APRIL, "channel", "Social", 1000.0, 10.0)
    )
    expected = (0.5 * 100 + 0.8 * 6.25) / (100 + 6.25)
    frame, notes = calibration_factors(tests, totals)
    assert frame.rows() == [("Social", 2, pytest.approx(expected))]
    assert notes == []


def test_a_test_without_interval_weighs_as_the_most_precise() -> None:
    # March: factor 0.5, weight 100; April (no interval): factor 0.8, weight 100 too.
    tests = lift_frame(
        {"channel": "Social", "window": MARCH, "revenue": 500.0, "lower": 450.0, "upper": 550.0},
        {"channel": "Social", "window": APRIL, "revenue": 800.0},
    )
    totals = totals_frame(
        (MARCH, "channel", "Social", 1000.0, 10.0), (APRIL, "channel", "Social", 1000.0, 10.0)
    )
    assert factors_of(tests, totals) == {"Social": pytest.approx(0.65)}


def test_a_channel_with_no_credit_in_the_window_is_left_out_with_a_note() -> None:
    tests = lift_frame({"channel": "Podcast", "window": MARCH, "revenue": 500.0})
    frame, notes = calibration_factors(tests, totals_frame((MARCH, "channel", "Social", 1.0, 1.0)))
    assert frame.is_empty()
    assert notes == [
        "lift test of Podcast from 2024-03-01 to 2024-03-31 left out: the model credited it "
        "nothing in those days, so there is nothing to scale"
    ]


def test_a_campaign_test_compares_the_campaign_and_calibrates_its_channel() -> None:
    tests = lift_frame(
        {"channel": "Social", "campaign": "retarget", "window": MARCH, "revenue": 100.0}
    )
    totals = totals_frame(
        (MARCH, "channel", "Social", 1000.0, 10.0), (MARCH, "campaign", "retarget", 400.0, 4.0)
    )
    assert lift_test_windows(tests) == [(*MARCH, "campaign")]
    assert factors_of(tests, totals) == {"Social": pytest.approx(0.25)}


def test_calibrate_rows_keeps_revenue_and_puts_the_new_columns_after_it() -> None:
    rows = pl.DataFrame(
        {"channel": ["A", "B"], "conversions": [1.0, 2.0], "revenue": [10.0, 20.0], "roas": [1, 2]}
    )
    out = calibrate_rows(rows, {"B": 0.5})
    assert out.columns == [
        "channel",
        "conversions",
        "revenue",
        "revenue_calibrated",
        "calibration_factor",
        "roas",
    ]
    assert out["revenue"].to_list() == [10.0, 20.0]
    assert out["revenue_calibrated"].to_list() == [10.0, 10.0]
    assert out["calibration_factor"].to_list() == [1.0, 0.5]


def test_calibrated_curves_predict_factor_times_the_uncalibrated() -> None:
    fitted = response_curves(*_example_frames(), resamples=5)
    calibrated = calibrate_curves(fitted, {"Search": 0.4, "Unknown": 9.0})
    spend = np.linspace(0.0, 3000.0, 7)
    before, after = fitted.curves["Search"], calibrated.curves["Search"]
    np.testing.assert_allclose(after.predict(spend), 0.4 * before.predict(spend))
    np.testing.assert_allclose(after.marginal_roas(spend), 0.4 * before.marginal_roas(spend))
    np.testing.assert_allclose(after.predict_draws(1000.0), 0.4 * before.predict_draws(1000.0))
    assert calibrated.meta["calibration"]["factors"] == {"Search": 0.4}
    assert calibrated.current == fitted.current  # spend is what it was


@settings(max_examples=60, deadline=None)
@given(
    attributed=st.floats(1.0, 1e6),
    estimate=st.floats(0.0, 1e6),
    half_width=st.floats(0.0, 1e6),
)
def test_calibrated_figure_lands_inside_the_interval(
    attributed: float, estimate: float, half_width: float
) -> None:
    lower, upper = estimate - half_width, estimate + half_width
    tests = lift_frame(
        {"channel": "A", "window": MARCH, "revenue": estimate, "lower": lower, "upper": upper}
    )
    factor = factors_of(tests, totals_frame((MARCH, "channel", "A", attributed, 1.0)))["A"]
    calibrated = attributed * factor
    assert max(lower, 0.0) - 1e-6 * upper <= calibrated <= upper * (1 + 1e-9) + 1e-9
    if lower <= attributed <= upper:
        assert factor == 1.0
