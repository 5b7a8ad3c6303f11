"""Partial pooling of the curves' shapes and the adstock decay estimate, against known truth.

Generated data with known Hill curves: every channel's half-saturation is a
similar multiple of its own spend and its shape is similar, as the pooling
model assumes. Errors are measured against the true curve, not against
anything the code under test computed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.budget.curves import curve_value, fit_portfolio
from attribution.budget.decay import adstock, decay_profile
from attribution.budget.pooling import random_effects

START = dt.date(2024, 1, 1)
# channel: (top, half, shape, base weekly spend); half is 0.8–1.2 × base, shape 1.1–1.4.
CHANNELS = {
    "Search": (50_000.0, 6_000.0, 1.2, 6_000.0),
    "Social": (30_000.0, 4_400.0, 1.3, 4_000.0),
    "Display": (12_000.0, 2_400.0, 1.1, 3_000.0),
    "Video": (20_000.0, 2_000.0, 1.4, 2_000.0),
    "Email": (8_000.0, 1_200.0, 1.2, 1_000.0),
}
THIN = "Video"
"""The channel whose spend took only two levels, close together."""


def panel(seed: int, weeks: int = 30, noise: float = 0.15) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for key, (top, half, shape, base) in CHANNELS.items():
        if key == THIN:
            spend = base * np.where(np.arange(weeks) % 2 == 0, 0.9, 1.1)
        else:
            spend = base * np.exp(rng.normal(0.0, 0.5, weeks))
        revenue = curve_value("hill", spend, (top, half, shape)) * rng.lognormal(0, noise, weeks)
        frames.append(
            pl.DataFrame(
                {
                    "channel": key,
                    "week": [START + dt.timedelta(weeks=w) for w in range(weeks)],
                    "spend": spend,
                    "revenue": revenue,
                }
            )
        )
    return pl.concat(frames)


def curve_error(fitted: dict[str, float], key: str) -> float:
    """Largest error of the fitted curve against the truth on 0.5–2 × base spend, over the top."""
    top, half, shape, base = CHANNELS[key]
    grid = np.linspace(0.5 * base, 2.0 * base, 40)
    truth = curve_value("hill", grid, (top, half, shape))
    got = curve_value("hill", grid, (fitted["top"], fitted["half"], fitted["shape"]))
    return float(np.max(np.abs(got - truth)) / top)


def test_pooling_recovers_a_thin_channel_better_than_its_own_fit() -> None:
    pooled_errors, own_errors = [], []
    for seed in range(6):
        data = panel(seed)
        pooled, pooling = fit_portfolio(data, decay=0.0, resamples=0)
        own, _ = fit_portfolio(data, decay=0.0, resamples=0, pool=False)
        assert pooling is not None
        assert pooled[THIN].pooled
        assert not own[THIN].pooled
        pooled_errors.append(curve_error(pooled[THIN].params, THIN))
        own_errors.append(curve_error(own[THIN].params, THIN))
    assert np.mean(pooled_errors) < 0.7 * np.mean(own_errors), (pooled_errors, own_errors)


def test_pooling_keeps_well_measured_channels_close_to_the_truth() -> None:
    pooled, _ = fit_portfolio(panel(11, weeks=52, noise=0.08), decay=0.0, resamples=0)
    for key in ("Search", "Social", "Display"):
        assert curve_error(pooled[key].params, key) < 0.05, key


@pytest.mark.parametrize("true_decay", [0.0, 0.3, 0.6])
def test_decay_estimate_recovers_a_known_decay(true_decay: float) -> None:
    rng = np.random.default_rng(int(true_decay * 10))
    spend = 3_000.0 * np.exp(rng.normal(0.0, 0.5, 60))
    carried = adstock(spend, true_decay)
    revenue = curve_value("hill", carried, (20_000.0, 3_000.0, 1.2)) * rng.lognormal(0, 0.05, 60)
    profile = decay_profile("hill", spend, revenue, np.ones(60, dtype=bool))
    assert profile.chosen == pytest.approx(true_decay, abs=0.1)
    assert profile.to_dict()[f"{profile.chosen:.1f}"] == 0.0 or true_decay == 0.0


def test_auto_decay_is_reported_per_channel() -> None:
    data = panel(3)
    curves, _ = fit_portfolio(data, resamples=0)
    for key, curve in curves.items():
        assert curve.profile is not None, key
        assert curve.decay == curve.profile.chosen
        assert set(curve.profile.to_dict()) == {f"{d / 10:.1f}" for d in range(10)}


def test_held_channel_reason_carries_its_interval() -> None:
    data = panel(5)
    # Revenue unrelated to spend, twice what it costs on average: flat or rising cannot be told.
    rng = np.random.default_rng(9)
    noise = data.filter(pl.col("channel") == "Email").with_columns(
        pl.lit("Noise").alias("channel"),
        pl.Series("revenue", 2_000.0 * rng.lognormal(0, 0.6, 30)),
    )
    curves, _ = fit_portfolio(pl.concat([data, noise]), decay=0.0, resamples=0)
    held = curves["Noise"]
    assert not held.evidence
    assert held.marginal_low is not None
    assert held.marginal_high is not None
    assert held.marginal_low < 1.0 < held.marginal_high
    assert held.reason == (
        f"marginal ROAS at current spend {held.marginal_low:.2f}–{held.marginal_high:.2f} "
        "(90% interval) straddles break-even (1.00): the data cannot say whether more spend helps"
    )


@given(
    estimates=st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=8),
    noise=st.floats(0.001, 4.0),
)
def test_random_effects_mean_lies_among_the_estimates(estimates: list[float], noise: float) -> None:
    values = np.array(estimates)
    mu, tau, se = random_effects(values, np.full(values.size, noise))
    assert values.min() - 1e-9 <= mu <= values.max() + 1e-9
    assert tau > 0
    assert se > 0
    # Order does not matter.
    again = random_effects(values[::-1].copy(), np.full(values.size, noise))
    assert again == pytest.approx((mu, tau, se), rel=1e-5, abs=1e-6)


def test_channels_that_never_earned_do_not_set_the_portfolio_shape() -> None:
    # A channel with zero revenue fits perfectly (all zeros) and would claim a perfectly known
    # shape; it must not shrink the others' prior to a point.
    rng = np.random.default_rng(0)
    series = {
        "Zero": (rng.uniform(100, 200, 20), np.zeros(20)),
        "Good": (rng.uniform(100, 1_000, 20), None),
        "Noisy": (rng.uniform(100, 1_000, 20), rng.uniform(500, 3_000, 20)),
        "Const": (np.full(20, 500.0), rng.uniform(900, 1_100, 20)),
    }
    frames = []
    for key, (spend, revenue) in series.items():
        if revenue is None:
            revenue = 3_000 * spend / (spend + 400)
        frames.append(
            pl.DataFrame({"channel": key, "week": range(20), "spend": spend, "revenue": revenue})
        )
    curves, pooling = fit_portfolio(pl.concat(frames), decay=0.0, resamples=0)
    assert pooling is not None
    assert pooling.channels == 3
    zero = curves["Zero"]
    assert zero.evidence  # it earns nothing at the margin: the plan may cut it
    assert zero.marginal_high is not None
    assert zero.marginal_high < 1e-6
    const = curves["Const"]
    assert const.marginal_low is not None
    assert const.marginal_high is not None
    # Average ROAS 2 at constant spend: the slope is the portfolio's guess, not a certainty.
    assert const.marginal_high - const.marginal_low > 0.5
