"""Budget planning against synthetic ground truth, and the plan's edge cases.

Ground truth: weekly spend per channel varies around a base level; weekly
revenue is a known Hill curve of it times lognormal noise. The plan made with
the *fitted* curves is scored with the *true* curves and compared with the
true optimum under the same budget and bounds.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from attribution.budget import CurveSet, fit_curve, optimise, plan_budget, what_if
from attribution.budget.analysis import curves_from_panel
from attribution.budget.curves import ResponseCurve, curve_value
from attribution.errors import ParameterError

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
    ("budget_factor", "minimum", "maximum"),
    [
        pytest.param(1.0, {}, {}, id="current-budget"),
        pytest.param(0.6, {}, {}, id="smaller-budget"),
        pytest.param(1.2, {"Display": "-20%"}, {"Search": "+10%"}, id="bounds"),
    ],
)
def test_plan_true_revenue_is_within_2pct_of_true_optimum(
    curves: CurveSet, budget_factor: float, minimum: dict[str, str], maximum: dict[str, str]
) -> None:
    budget = budget_factor * sum(curves.current.values())
    plan = plan_budget(curves, budget, minimum=minimum, maximum=maximum)
    rows = {r["channel"]: r for r in plan.data.to_dicts()}
    planned = sum(true_revenue(c, rows[c]["recommended_spend"]) for c in TRUE_CURVES)
    # The true optimum under the same budget and the same bounds.
    keys = list(TRUE_CURVES)
    lower = np.array([rows[c]["lower"] for c in keys])
    upper = np.array([rows[c]["upper"] for c in keys])
    best = optimise([true_curve(curves.curves[c], c) for c in keys], lower, upper, budget)
    optimum = sum(true_revenue(c, x) for c, x in zip(keys, best, strict=True))
    current = sum(true_revenue(c, curves.current[c]) for c in keys)
    assert planned >= 0.98 * optimum, (planned, optimum)
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
    plan = plan_budget(curves)
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
    plan = plan_budget(curves, 7_000.0)
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
    plan = plan_budget(curves, 0.0)
    assert plan.data["recommended_spend"].to_list() == [0.0] * 4
    assert plan.totals["predicted_revenue"] == 0.0
    assert plan.totals["roas"] is None


def test_bounds_that_cannot_hold_name_them(curves: CurveSet) -> None:
    with pytest.raises(ParameterError) as info:
        plan_budget(curves, 10_000.0, minimum={"Search": 8_000, "Social": 4_000})
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
    plan = plan_budget(curves, 10 * sum(caps.values()))
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
