"""Budget planning against synthetic ground truth, and the plan's edge cases.

Ground truth: weekly spend per channel varies around a base level; weekly
revenue is a known Hill curve of it times lognormal noise. The plan made with
the *fitted* curves is scored with the *true* curves and compared with the
true optimum under the same budget and bounds.

Tests of the solver itself plan without guard rails (``max_change=None``,
``allow_zero=True``); the rails, the zero floor and the budget periods have
tests of their own below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.budget import CurveSet, fit_curve, optimise, plan_budget, what_if
from attribution.budget.analysis import curves_from_panel
from attribution.budget.curves import ResponseCurve, curve_value
from attribution.budget.period import PERIODS
from attribution.budget.plan import FLOOR_SHARE
from attribution.errors import ParameterError

FREE: dict[str, Any] = {"max_change": None, "allow_zero": True}
"""No guard rails: the solver alone."""

TRUE_CURVES = {
    # channel: (top, half, shape, base weekly spend)
    "Search": (60_000.0, 8_000.0, 1.0, 6_000.0),
    "Social": (40_000.0, 5_000.0, 2.2, 4_000.0),  # S-shaped
    "Display": (15_000.0, 3_000.0, 1.0, 5_000.0),  # saturated: over-spent now
    "Video": (30_000.0, 4_000.0, 1.4, 1_500.0),  # under-spent now
}
WEEKS = 52
START = dt.date(2024, 1, 1)


def true_revenue(channel: str, spend: float) -> float:
    top, half, shape, _ = TRUE_CURVES[channel]
    return float(curve_value("hill", spend, (top, half, shape)))


def synthetic_panel(
    channels: dict[str, tuple[float, float, float, float]] = TRUE_CURVES,
    *,
    weeks: int = WEEKS,
    noise: float = 0.08,
    seed: int = 7,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for channel, (top, half, shape, base) in channels.items():
        spend = base * np.exp(rng.normal(0.0, 0.45, weeks))
        revenue = curve_value("hill", spend, (top, half, shape)) * np.exp(
            rng.normal(0.0, noise, weeks)
        )
        for w in range(weeks):
            rows.append(
                {
                    "channel": channel,
                    "week": START + dt.timedelta(weeks=w),
                    "spend": float(spend[w]),
                    "revenue": float(revenue[w]),
                }
            )
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def curves() -> CurveSet:
    return curves_from_panel(synthetic_panel(), resamples=30, current_weeks=8)


def true_curve(fitted: ResponseCurve, channel: str) -> ResponseCurve:
    top, half, shape, _ = TRUE_CURVES[channel]
    return ResponseCurve(
        **{**fitted.__dict__, "params": {"top": top, "half": half, "shape": shape}}
    )


@pytest.mark.parametrize(
    ("budget_factor", "minimum", "maximum", "rails"),
    [
        pytest.param(1.0, {}, {}, FREE, id="current-budget"),
        pytest.param(0.6, {}, {}, FREE, id="smaller-budget"),
        pytest.param(1.2, {"Display": "-20%"}, {"Search": "+10%"}, FREE, id="bounds"),
        pytest.param(1.0, {}, {}, {}, id="default-rail"),
    ],
)
def test_plan_true_revenue_is_within_1pct_of_true_optimum(
    curves: CurveSet,
    budget_factor: float,
    minimum: dict[str, str],
    maximum: dict[str, str],
    rails: dict[str, Any],
) -> None:
    budget = budget_factor * sum(curves.current.values())
    plan = plan_budget(curves, budget, minimum=minimum, maximum=maximum, **rails)
    rows = {r["channel"]: r for r in plan.data.to_dicts()}
    planned = sum(true_revenue(c, rows[c]["recommended_spend"]) for c in TRUE_CURVES)
    # The true optimum under the same budget and the same bounds.
    keys = list(TRUE_CURVES)
    lower = np.array([rows[c]["lower"] for c in keys])
    upper = np.array([rows[c]["upper"] for c in keys])
    best = optimise([true_curve(curves.curves[c], c) for c in keys], lower, upper, budget)
    optimum = sum(true_revenue(c, x) for c, x in zip(keys, best, strict=True))
    current = sum(true_revenue(c, curves.current[c]) for c in keys)
    assert planned >= 0.99 * optimum, (planned, optimum)
    assert plan.data["recommended_spend"].sum() == pytest.approx(budget)
    if budget_factor == 1.0:
        assert planned > current  # the reallocation really helps
        assert rows["Display"]["change"] < 0 < rows["Video"]["change"]


def test_fitted_parameters_are_close(curves: CurveSet) -> None:
    for channel, (top, half, shape, _) in TRUE_CURVES.items():
        fitted = curves.curves[channel]
        assert fitted.evidence
        assert fitted.r2 is not None
        assert fitted.r2 > 0.7
        # The curve, not each parameter, must be right where most weeks were observed.
        low, high = np.quantile(fitted.points["spend"].to_numpy(), [0.1, 0.9])
        grid = np.linspace(low, high, 20)
        truth = curve_value("hill", grid, (top, half, shape))
        assert np.max(np.abs(fitted.predict(grid) - truth)) < 0.05 * truth.max()


def test_equal_marginal_roas_at_the_optimum(curves: CurveSet) -> None:
    plan = plan_budget(curves, **FREE)
    inside = plan.data.filter(pl.col("binding") == "")
    marginal = inside["marginal_roas"].to_numpy()
    assert marginal.max() - marginal.min() < 0.01 * marginal.mean()


def test_revenue_range_brackets_the_prediction(curves: CurveSet) -> None:
    totals = plan_budget(curves).totals
    assert totals["revenue_low"] < totals["predicted_revenue"] < totals["revenue_high"]
    assert totals["range_method"] == "posterior draws of the curve fits"


def test_s_shaped_curve_from_zero_is_not_stalled() -> None:
    # An S-curve's marginal ROAS at zero is 0: a greedy step or SLSQP from 0 never funds it.
    base = fit_curve(
        "S", list(range(12)), np.linspace(1, 12, 12), np.linspace(1, 12, 12) * 3, resamples=0
    )
    s_curve = ResponseCurve(
        **{**base.__dict__, "params": {"top": 10_000.0, "half": 500.0, "shape": 4.0}}
    )
    weak = ResponseCurve(
        **{**base.__dict__, "params": {"top": 1_500.0, "half": 400.0, "shape": 1.0}}
    )
    x = optimise([s_curve, weak], np.zeros(2), np.full(2, 2_000.0), 1_000.0)
    total = float(s_curve.predict(x[0]) + weak.predict(x[1]))
    grid = np.linspace(0, 1_000, 10_001)
    brute = (s_curve.predict(grid) + weak.predict(1_000 - grid)).max()
    assert x[0] > 600
    assert total == pytest.approx(brute, rel=1e-6)


def test_one_channel_gets_the_whole_budget() -> None:
    panel = synthetic_panel({"Search": TRUE_CURVES["Search"]})
    curves = curves_from_panel(panel, resamples=0)
    plan = plan_budget(curves, 7_000.0, max_change=None)
    assert plan.data.select("channel", "recommended_spend").rows() == [("Search", 7_000.0)]
    assert plan.warnings == []


def test_channel_with_no_spend_variation_is_held_with_its_interval() -> None:
    # Constant spend pins the revenue at that spend, not the slope: the slope comes from the
    # portfolio's shapes, with their spread, and that spread straddles break-even here.
    panel = synthetic_panel().with_columns(
        pl.when(pl.col("channel") == "Video")
        .then(1_500.0)
        .otherwise(pl.col("spend"))
        .alias("spend")
    )
    curves = curves_from_panel(panel, resamples=0, decay=0.0)
    assert curves.status("Video") == "not enough evidence"
    fitted = curves.curves["Video"]
    assert fitted.pooled
    observed = float(panel.filter(pl.col("channel") == "Video")["revenue"].mean())  # type: ignore[arg-type]
    assert float(fitted.predict(1_500.0)) == pytest.approx(observed, rel=0.02)
    assert fitted.marginal_low is not None
    assert fitted.marginal_high is not None
    assert fitted.marginal_low < 1.0 < fitted.marginal_high
    assert fitted.reason == (
        f"marginal ROAS at current spend {fitted.marginal_low:.2f}–{fitted.marginal_high:.2f} "
        "(90% interval) straddles break-even (1.00): the data cannot say whether more spend helps"
    )
    plan = plan_budget(curves)
    video = plan.data.filter(pl.col("channel") == "Video").row(0, named=True)
    assert video["status"] == "not enough evidence"
    assert video["recommended_spend"] == video["current_spend"] == 1_500.0
    assert video["marginal_roas"] is None
    assert any("'Video' (marginal ROAS at current spend" in w for w in plan.warnings)


def test_too_few_weeks_is_not_enough_evidence() -> None:
    curves = curves_from_panel(synthetic_panel(weeks=5), resamples=0)
    assert {curves.status(c) for c in TRUE_CURVES} == {"not enough evidence"}
    assert curves.curves["Search"].reason == "only 5 weeks with spend (need at least 8)"


def test_unrelated_revenue_is_held_when_its_interval_straddles_break_even() -> None:
    rng = np.random.default_rng(1)
    spend = rng.uniform(1_000, 5_000, 12)
    revenue = rng.uniform(0, 10_000, 12)  # unrelated to spend: average ROAS about 1.7
    curve = fit_curve("Noise", list(range(12)), spend, revenue, resamples=0, decay=0.0)
    assert not curve.evidence
    assert curve.reason is not None
    assert curve.reason.startswith("marginal ROAS at current spend ")


def test_zero_budget_spends_nothing(curves: CurveSet) -> None:
    plan = plan_budget(curves, 0.0, **FREE)
    assert plan.data["recommended_spend"].to_list() == [0.0] * 4
    assert plan.totals["predicted_revenue"] == 0.0
    assert plan.totals["roas"] is None


def test_bounds_that_cannot_hold_name_them(curves: CurveSet) -> None:
    with pytest.raises(ParameterError) as info:
        plan_budget(curves, 10_000.0, minimum={"Search": 8_000, "Social": 4_000}, **FREE)
    assert str(info.value) == (
        "Bounds that cannot hold: the minimum spends add up to 12,000 per week, more than the "
        "budget of 10,000: 'Search' 8,000 (minimum), 'Social' 4,000 (minimum). Lower a minimum, "
        "unlock a channel or raise the budget."
    )


def test_minimum_above_maximum_is_named(curves: CurveSet) -> None:
    with pytest.raises(ParameterError) as info:
        plan_budget(curves, minimum={"Video": 3_000}, maximum={"Video": 2_500})
    assert str(info.value) == (
        "Bounds that cannot hold: 'Video' minimum 3,000 is above its maximum 2,500."
    )


def test_budget_above_the_caps_spends_the_caps_and_warns(curves: CurveSet) -> None:
    caps = {c: curves.cap(c, 1.5) for c in TRUE_CURVES}
    plan = plan_budget(curves, 10 * sum(caps.values()), max_change=None)
    rows = {r["channel"]: r for r in plan.data.to_dicts()}
    for channel, cap in caps.items():
        assert rows[channel]["recommended_spend"] == pytest.approx(cap)
        assert rows[channel]["binding"] == "cap"
    assert plan.warnings[0].startswith(
        f"The budget of {10 * sum(caps.values()):,.0f} per week is more than the channels can "
        f"take: their caps and maximums add up to {sum(caps.values()):,.0f}"
    )
    assert any("'Search' stops at its cap" in w for w in plan.warnings)


def test_locked_channel_stays_and_the_rest_is_optimised(curves: CurveSet) -> None:
    plan = plan_budget(curves, locks=["Display"])
    rows = {r["channel"]: r for r in plan.data.to_dicts()}
    assert rows["Display"]["recommended_spend"] == curves.current["Display"]
    assert rows["Display"]["status"] == "locked"
    assert rows["Display"]["binding"] == "lock"
    assert rows["Video"]["change"] > 0


def test_relative_bounds(curves: CurveSet) -> None:
    plan = plan_budget(curves, minimum={"Display": "-10%"}, maximum={"Video": "+5%"})
    rows = {r["channel"]: r for r in plan.data.to_dicts()}
    assert rows["Display"]["lower"] == pytest.approx(0.9 * curves.current["Display"])
    assert rows["Video"]["recommended_spend"] == pytest.approx(1.05 * curves.current["Video"])
    assert rows["Video"]["binding"] == "max"


def test_unknown_channel_is_an_error(curves: CurveSet) -> None:
    with pytest.raises(ParameterError) as info:
        plan_budget(curves, locks=["Radio"])
    assert str(info.value) == "Unknown channel 'Radio'. Known: Display, Search, Social, Video."


def test_zero_cost_channel_is_left_out_with_null_roi() -> None:
    panel = pl.concat(
        [
            synthetic_panel(),
            synthetic_panel({"Organic": TRUE_CURVES["Search"]}).with_columns(spend=pl.lit(0.0)),
        ]
    )
    curves = curves_from_panel(panel, resamples=0)
    assert curves.status("Organic") == "no spend"
    plan = plan_budget(curves)
    organic = plan.data.filter(pl.col("channel") == "Organic").row(0, named=True)
    assert organic["status"] == "no spend"
    assert organic["recommended_spend"] == 0.0
    assert organic["roas"] is None
    assert organic["marginal_roas"] is None
    assert organic["predicted_revenue"] > 0  # its revenue is counted, not reallocated
    assert "No spend, so no ROI and left out of the plan: 'Organic'." in plan.warnings
    with pytest.raises(ParameterError, match="'Organic' has no spend in the costs"):
        plan_budget(curves, maximum={"Organic": 100})


def test_what_if_matches_the_curves(curves: CurveSet) -> None:
    result = what_if(curves, {"Search": 9_000, "Video": "+50%"})
    rows = {r["channel"]: r for r in result.data.to_dicts()}
    assert rows["Search"]["predicted_revenue"] == pytest.approx(
        float(curves.curves["Search"].predict(9_000.0))
    )
    assert rows["Video"]["spend"] == pytest.approx(1.5 * curves.current["Video"])
    assert rows["Display"]["spend"] == curves.current["Display"]
    assert result.totals["roas"] == pytest.approx(
        result.totals["predicted_revenue"] / result.totals["spend"]
    )


def test_what_if_warns_when_extrapolating(curves: CurveSet) -> None:
    result = what_if(curves, {"Search": 100_000})
    assert result.warnings[0].startswith("'Search' at 100,000 is above the largest weekly spend")


def test_saturation_points(curves: CurveSet) -> None:
    search = curves.curves["Search"]
    point = search.saturation(1.0)
    assert point is not None
    assert float(search.marginal_roas(point)) == pytest.approx(1.0)
    at_two = search.saturation(2.0)
    assert at_two is not None
    assert at_two < point
    summary = curves.summary(threshold=2.0).filter(pl.col("channel") == "Search").row(0, named=True)
    assert summary["threshold_spend"] == pytest.approx(at_two)
    assert summary["average_roas"] > summary["marginal_roas"]  # concave: average above marginal


def test_points_for_drawing(curves: CurveSet) -> None:
    points = curves.points("Social", marks={"recommended": 5_000.0})
    assert len(points["observed"]) == WEEKS
    assert len(points["curve"]) == 41
    assert {m["label"] for m in points["marks"]} == {"current", "recommended"}


def test_default_rail_holds_every_channel_within_30pct(curves: CurveSet) -> None:
    free = plan_budget(curves, **FREE)
    plan = plan_budget(curves)
    assert plan.meta["max_change"] == 0.3
    for row in plan.data.to_dicts():
        current = row["current_spend"]
        assert 0.7 * current - 1e-6 <= row["recommended_spend"] <= 1.3 * current + 1e-6
        assert row["lower"] == pytest.approx(0.7 * current)
        assert row["upper"] == pytest.approx(1.3 * current)
    # Unconstrained, Video more than doubles (under-spent now); the rail stops it at +30%.
    free_video = free.data.filter(pl.col("channel") == "Video").row(0, named=True)
    assert free_video["change_pct"] > 30
    video = plan.data.filter(pl.col("channel") == "Video").row(0, named=True)
    assert video["binding"] == "max_change"
    assert video["change_pct"] == pytest.approx(30.0)
    assert plan.data["recommended_spend"].sum() == pytest.approx(sum(curves.current.values()))
    assert any(w.startswith("The ±30% rail binds for ") and "'Video'" in w for w in plan.warnings)


def test_wider_rail_and_no_rail(curves: CurveSet) -> None:
    caps = {c: curves.cap(c, 1.5) for c in TRUE_CURVES}
    wide = plan_budget(curves, max_change=0.5)
    for row in wide.data.to_dicts():
        cap = caps[row["channel"]]
        assert row["upper"] == pytest.approx(min(1.5 * row["current_spend"], cap))
        assert row["lower"] == pytest.approx(0.5 * row["current_spend"])
    none = plan_budget(curves, max_change=None)
    assert none.meta["max_change"] is None
    for row in none.data.to_dicts():
        assert row["upper"] == pytest.approx(caps[row["channel"]])
        assert row["lower"] == pytest.approx(FLOOR_SHARE * row["current_spend"])


def test_explicit_bound_replaces_the_rail_on_its_side(curves: CurveSet) -> None:
    plan = plan_budget(curves, maximum={"Video": "+60%"})
    video = plan.data.filter(pl.col("channel") == "Video").row(0, named=True)
    current = curves.current["Video"]
    assert video["upper"] == pytest.approx(1.6 * current)
    assert video["lower"] == pytest.approx(0.7 * current)  # the rail still holds the other side
    # A maximum below the rail's lower end pulls it down: the channel sits at its maximum.
    cut = plan_budget(curves, maximum={"Display": "-50%"})
    display = cut.data.filter(pl.col("channel") == "Display").row(0, named=True)
    assert display["lower"] == display["upper"] == pytest.approx(0.5 * curves.current["Display"])


def test_rail_makes_a_deep_budget_cut_infeasible_and_says_how_to_widen(curves: CurveSet) -> None:
    with pytest.raises(ParameterError) as info:
        plan_budget(curves, 0.5 * sum(curves.current.values()))
    message = str(info.value)
    assert message.startswith("Bounds that cannot hold: the minimum spends add up to ")
    assert f"'Display' {0.7 * curves.current['Display']:,.0f} (rail)" in message
    assert message.endswith(
        "Lower a minimum, unlock a channel or raise the budget; the ±30% rail holds each "
        "channel near its current spend: widen it (--max-change 0.5) or remove it "
        "(--max-change none)."
    )


def test_no_cut_below_the_floor_without_allow_zero(curves: CurveSet) -> None:
    budget = 0.2 * sum(curves.current.values())
    plan = plan_budget(curves, budget, max_change=None)
    floored = plan.data.filter(pl.col("binding") == "floor")
    assert floored.height >= 1
    for row in floored.to_dicts():
        assert row["recommended_spend"] == pytest.approx(FLOOR_SHARE * row["current_spend"])
    assert (plan.data["recommended_spend"] > 0).all()
    assert any("--allow-zero" in w for w in plan.warnings)
    # Allowed, the same plan cuts at least one of them to zero.
    free = plan_budget(curves, budget, **FREE)
    cut = free.data.filter(pl.col("recommended_spend") < 1e-6)
    assert cut.height >= 1
    assert set(cut["binding"]) == {"zero"}


def test_a_minimum_of_zero_needs_allow_zero(curves: CurveSet) -> None:
    with pytest.raises(ParameterError) as info:
        plan_budget(curves, minimum={"Display": 0})
    assert str(info.value) == (
        f"The minimum of 'Display' (0 per week) cuts it below 10% of its current spend "
        f"({curves.current['Display']:,.0f} per week); a cut that deep needs allow_zero: "
        '--allow-zero "Display" (or --allow-zero for every channel).'
    )
    plan = plan_budget(curves, minimum={"Display": 0}, allow_zero=["Display"])
    display = plan.data.filter(pl.col("channel") == "Display").row(0, named=True)
    assert display["lower"] == 0.0
    assert plan.meta["allow_zero"] == ["Display"]


def test_bad_max_change_is_an_error(curves: CurveSet) -> None:
    with pytest.raises(ParameterError, match="The 'max_change' parameter must be a fraction"):
        plan_budget(curves, max_change=-0.1)


@pytest.mark.parametrize(("period", "weeks"), [("month", 52 / 12), ("quarter", 13.0)])
def test_a_period_plan_is_the_weekly_plan_times_its_weeks(
    curves: CurveSet, period: str, weeks: float
) -> None:
    weekly_budget = 1.1 * sum(curves.current.values())
    week = plan_budget(curves, weekly_budget, minimum={"Search": 5_000})
    plan = plan_budget(
        curves, weeks * weekly_budget, period=period, minimum={"Search": weeks * 5_000}
    )
    assert plan.meta["period"] == period
    assert plan.meta["weeks_per_period"] == pytest.approx(weeks)
    by_week = {r["channel"]: r for r in week.data.to_dicts()}
    for row in plan.data.to_dicts():
        base = by_week[row["channel"]]
        assert row["recommended_weekly"] == pytest.approx(base["recommended_spend"], rel=1e-6)
        assert row["recommended_spend"] == pytest.approx(
            weeks * base["recommended_spend"], rel=1e-6
        )
        assert row["current_spend"] == pytest.approx(weeks * base["current_spend"])
        assert row["predicted_revenue"] == pytest.approx(
            weeks * base["predicted_revenue"], rel=1e-6
        )
        assert row["marginal_roas"] == pytest.approx(base["marginal_roas"], rel=1e-6)
        assert row["lower"] == pytest.approx(weeks * base["lower"])
    assert plan.totals["budget"] == pytest.approx(weeks * weekly_budget)
    assert plan.totals["budget_weekly"] == pytest.approx(weekly_budget)
    assert plan.totals["revenue_high"] == pytest.approx(weeks * week.totals["revenue_high"])
    assert plan.to_table().splitlines()[0].endswith(f" per {period}")


def test_quarter_by_hand() -> None:
    # One channel; a quarter's budget of 13 × its current weekly spend is that spend each
    # week, so the plan keeps it and reports the quarter's amount and the week's.
    panel = synthetic_panel({"Search": (60_000.0, 8_000.0, 1.0, 1_000.0)}, weeks=20)
    curves = curves_from_panel(panel, resamples=0)
    weekly = curves.current["Search"]
    plan = plan_budget(curves, 13 * weekly, period="quarter", max_change=None)
    row = plan.data.row(0, named=True)
    assert (row["recommended_spend"], row["recommended_weekly"]) == pytest.approx(
        (13 * weekly, weekly)
    )
    assert (row["current_spend"], row["current_weekly"]) == pytest.approx((13 * weekly, weekly))


def test_unknown_period_is_an_error(curves: CurveSet) -> None:
    with pytest.raises(ParameterError, match="The 'period' parameter must be one of week, month"):
        plan_budget(curves, period="year")


def test_what_if_in_a_quarter(curves: CurveSet) -> None:
    result = what_if(curves, {"Search": 13 * 9_000}, period="quarter")
    search = result.data.filter(pl.col("channel") == "Search").row(0, named=True)
    assert search["spend_weekly"] == pytest.approx(9_000.0)
    assert search["spend"] == pytest.approx(117_000.0)
    weekly = float(curves.curves["Search"].predict(9_000.0))
    assert search["predicted_revenue"] == pytest.approx(13 * weekly)
    assert result.meta["period"] == "quarter"


@settings(max_examples=25, deadline=None)
@given(
    budget_factor=st.floats(0.75, 1.25),
    max_change=st.one_of(st.none(), st.floats(0.3, 2.0)),
    period=st.sampled_from(["week", "month", "quarter"]),
)
def test_plans_keep_their_rails_and_spend_the_budget(
    curves: CurveSet, budget_factor: float, max_change: float | None, period: str
) -> None:
    weeks = PERIODS[period]
    current = sum(curves.current.values())
    budget = budget_factor * current * weeks
    plan = plan_budget(curves, budget, period=period, max_change=max_change)
    for row in plan.data.to_dicts():
        spend, now = row["recommended_weekly"], row["current_weekly"]
        assert row["lower"] / weeks - 1e-6 <= spend <= row["upper"] / weeks + 1e-6
        assert spend >= FLOOR_SHARE * now - 1e-6  # never below the floor without allow_zero
        if max_change is not None:
            assert abs(spend - now) <= max_change * now + 1e-6
    spendable = plan.data["upper"].sum()
    assert plan.totals["recommended_spend"] == pytest.approx(min(budget, spendable), rel=1e-6)


def test_points_band_holds_the_curve_and_the_truth(curves: CurveSet) -> None:
    grid = pl.DataFrame(curves.points("Search")["curve"])
    assert (grid["revenue_low"] <= grid["revenue"] + 1e-6).all()
    assert (grid["revenue"] <= grid["revenue_high"] + 1e-6).all()
    assert grid["revenue_low"][0] == grid["revenue_high"][0] == 0.0  # no spend, no revenue
    # Where the weeks are dense (the middle 80% of the spends seen), the 90% band of a fit on
    # 52 noisy weeks holds the true curve nearly everywhere. (Towards the ends, the fitted
    # shape is off by more than the fit's own uncertainty: the band is no guarantee there.)
    low, high = np.quantile(curves.curves["Search"].points["spend"].to_numpy(), [0.1, 0.9])
    seen = grid.filter(pl.col("spend").is_between(low, high))
    assert seen.height >= 5
    truth = np.array([true_revenue("Search", x) for x in seen["spend"]])
    inside = (seen["revenue_low"].to_numpy() <= truth) & (truth <= seen["revenue_high"].to_numpy())
    assert inside.mean() >= 0.8


def test_points_band_without_draws_is_the_attribution_bootstrap() -> None:
    panel = synthetic_panel({"Search": TRUE_CURVES["Search"]})
    plain = curves_from_panel(panel, resamples=0)
    scaled = CurveSet(**{**plain.__dict__, "attribution_scale": {"Search": np.array([0.8, 1.2])}})
    for point in scaled.points("Search")["curve"]:
        # The 5% and 95% quantiles of {0.8 f, 1.2 f}: 0.8 + 0.05 · 0.4 and 0.8 + 0.95 · 0.4.
        assert point["revenue_low"] == pytest.approx(0.82 * point["revenue"])
        assert point["revenue_high"] == pytest.approx(1.18 * point["revenue"])
    for point in plain.points("Search")["curve"]:
        assert point["revenue_low"] == point["revenue"] == point["revenue_high"]


def test_points_saturation_where_the_next_dollar_returns_one(curves: CurveSet) -> None:
    # Twelve exact weeks on 10,000 · x / (x + 1,000): slope 10⁷ / (x + 1,000)² = 1 at
    # x = √10⁷ − 1,000 ≈ 2,162.28.
    spend = np.linspace(300.0, 2500.0, 12)
    exact = pl.DataFrame({
        "channel": "A",
        "week": [START + dt.timedelta(weeks=w) for w in range(12)],
        "spend": spend,
        "revenue": 10_000.0 * spend / (spend + 1_000.0),
    })  # fmt: skip
    point = curves_from_panel(exact, resamples=0).points("A")["saturation"]
    assert point["spend"] == pytest.approx(10_000**0.5 * 10**1.5 - 1_000, rel=1e-3)
    assert point["revenue"] == pytest.approx(10_000.0 * point["spend"] / (point["spend"] + 1e3))
    # On a noisy fit: where the fitted curve's marginal ROAS is 1, inside the chart.
    saturation = curves.points("Search")["saturation"]
    assert saturation is not None
    search = curves.curves["Search"]
    assert float(search.marginal_roas(saturation["spend"])) == pytest.approx(1.0)
    assert curves.points("Search")["curve"][-1]["spend"] >= saturation["spend"]


def test_points_saturation_far_beyond_the_spends_seen_is_not_drawn(curves: CurveSet) -> None:
    fitted = curves.curves["Search"]
    # Nearly linear up to 1,000 × the spends seen: its marginal ROAS stays above 1 far out.
    far = ResponseCurve(**{**fitted.__dict__, "params": {"top": 1e9, "half": 1e8, "shape": 1.0}})
    assert far.saturation(1.0, limit=1e9) is not None
    wide = CurveSet(**{**curves.__dict__, "curves": {**curves.curves, "Search": far}})
    assert wide.points("Search")["saturation"] is None


@settings(max_examples=30, deadline=None)
@given(
    draws=st.lists(
        st.tuples(st.floats(100.0, 1e5), st.floats(10.0, 1e4), st.floats(0.5, 3.0)),
        min_size=1,
        max_size=12,
    ),
    scale=st.lists(st.floats(0.5, 1.5), max_size=6),
    ci=st.floats(0.5, 0.99),
)
def test_band_is_ordered_and_starts_at_zero(
    curves: CurveSet, draws: list[tuple[float, float, float]], scale: list[float], ci: float
) -> None:
    fitted = curves.curves["Search"]
    drawn = ResponseCurve(**{**fitted.__dict__, "draws": np.array(draws)})
    scaled = CurveSet(**{**curves.__dict__, "curves": {**curves.curves, "Search": drawn},
                         "attribution_scale": {"Search": np.array(scale)}})  # fmt: skip
    grid = scaled.points("Search", ci=ci)["curve"]
    assert grid[0]["revenue_low"] == grid[0]["revenue_high"] == 0.0
    for point in grid:
        assert 0.0 <= point["revenue_low"] <= point["revenue_high"]
        # Within the range of what the draws (times the scales) can give at that spend.
        tops = [top for top, _, _ in draws]
        assert point["revenue_high"] <= max(tops) * max([1.0, *scale]) * (1 + 1e-9)
