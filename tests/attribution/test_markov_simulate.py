"""Tests of the ground-truth simulator (attribution.simulate)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution.errors import ParameterError
from attribution.journeys import build_journeys
from attribution.markov import CONVERSION, NULL, START, conversion_probability
from attribution.schema import CONVERSIONS, TOUCHPOINTS
from attribution.simulate import (
    random_chain,
    simulate_markov_journeys,
    true_chain,
    true_removal_effects,
)


@pytest.mark.parametrize("order", [1, 2])
def test_frames_have_canonical_shapes(order: int) -> None:
    tp, cv = simulate_markov_journeys(
        500, **random_chain(4, seed=3, order=order).as_kwargs(), seed=1
    )
    assert tp.schema == pl.Schema(
        {c: TOUCHPOINTS[c] for c in ("touchpoint_id", "user_id", "ts", "channel")}
    )
    assert cv.schema == pl.Schema(
        {c: CONVERSIONS[c] for c in ("conversion_id", "user_id", "ts", "stage", "revenue")}
    )
    assert tp["touchpoint_id"].is_unique().all()
    assert tp["user_id"].n_unique() == 500
    assert cv["user_id"].is_unique().all()
    assert set(cv["stage"]) == {"purchase"}
    last_touch = tp.group_by("user_id").agg(pl.col("ts").max().alias("last"))
    joined = cv.join(last_touch, on="user_id")
    assert (joined["ts"] > joined["last"]).all()
    journeys = build_journeys(tp, cv)
    assert journeys.n_conversions == cv.height
    assert journeys.untouched.is_empty()


def test_same_seed_same_frames() -> None:
    spec = random_chain(3, seed=5)
    a = simulate_markov_journeys(200, **spec.as_kwargs(), seed=9)
    b = simulate_markov_journeys(200, **spec.as_kwargs(), seed=9)
    assert_frame_equal(a[0], b[0])
    assert_frame_equal(a[1], b[1])


def test_empirical_rates_match_the_chain() -> None:
    spec = random_chain(3, seed=5)
    tp, cv = simulate_markov_journeys(50_000, **spec.as_kwargs(), seed=2)
    first = tp.group_by("user_id").agg(pl.col("channel").sort_by("ts").first())
    observed = [first.filter(pl.col("channel") == c).height / first.height for c in spec.channels]
    assert np.allclose(observed, spec.start_probs, atol=0.01)
    chain = true_chain(**spec.as_kwargs())
    assert chain.has_node(START)
    # The conversion rate equals the exact absorption probability of the true chain.
    assert cv.height / 50_000 == pytest.approx(conversion_probability(chain), abs=0.01)


def test_true_chain_order2_uses_prefix_states() -> None:
    spec = random_chain(2, seed=0, order=2)
    chain = true_chain(**spec.as_kwargs())
    assert set(chain.successors(START)) == {("Search",), ("Social",)}
    assert chain.edges[("Search",), ("Search", "Social")]["p"] == spec.transition[2, 0, 1]
    assert chain.edges[("Social", "Search"), CONVERSION]["p"] == spec.transition[1, 0, 2]
    assert chain.edges[("Social", "Search"), NULL]["p"] == spec.transition[1, 0, 3]


def test_true_removal_effects_by_hand() -> None:
    # A -> B or null (1/2 each), B -> conversion or null (1/2 each), start 1/2 each:
    # P = 1/2 (1/4) + 1/2 (1/2) = 3/8; without A, 1/4: RE_A = 1/3; without B, 0: RE_B = 1.
    effects = true_removal_effects(
        channels=["A", "B"],
        start_probs=np.array([0.5, 0.5]),
        transition=np.array([[0.0, 0.5, 0.0, 0.5], [0.0, 0.0, 0.5, 0.5]]),
    )
    assert effects == pytest.approx({"A": 1 / 3, "B": 1.0}, abs=1e-12)


def test_bad_specs_are_refused() -> None:
    spec = random_chain(3, seed=1)
    kwargs = spec.as_kwargs()
    with pytest.raises(ParameterError, match=r"transition must have shape \(3, 5\)"):
        simulate_markov_journeys(10, **{**kwargs, "transition": spec.transition[:, :4]}, seed=0)
    with pytest.raises(ParameterError, match="probabilities summing to 1"):
        simulate_markov_journeys(10, **{**kwargs, "start_probs": np.array([0.5, 0.5, 0.5])}, seed=0)
    with pytest.raises(ParameterError, match="order 1 or 2"):
        simulate_markov_journeys(10, **{**kwargs, "order": 3}, seed=0)
    with pytest.raises(ParameterError, match="n_persons must be >= 1"):
        simulate_markov_journeys(0, **kwargs, seed=0)
    with pytest.raises(ParameterError, match="distinct names"):
        simulate_markov_journeys(10, **{**kwargs, "channels": ("A", "A", "B")}, seed=0)
    with pytest.raises(ParameterError, match="order 1 or 2"):
        random_chain(3, seed=0, order=3)
