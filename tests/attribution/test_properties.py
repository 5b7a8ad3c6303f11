"""Property tests: invariants of every model on small random journeys (Hypothesis).

Examples are tiny (at most 6 persons of 1-6 touches), so these run by default. The
settings profile in ``tests/conftest.py`` makes them deterministic in CI.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from attribution import MODELS, AttributionModel, Journeys, attribute, build_journeys
from attribution.models import FirstTouch, LastTouch, Linear, PositionBased, TimeDecay

REL_TOL = 1e-9
ALPHABET = ("Search", "Email", "Social", "Display", "Video")
T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Sample:
    """Touchpoints and conversions of a few persons, one journey each at most."""

    touchpoints: pl.DataFrame
    conversions: pl.DataFrame

    @property
    def n_converting(self) -> int:
        return self.conversions.height

    @property
    def revenue(self) -> float:
        return float(self.conversions["revenue"].sum())

    def journeys(self) -> Journeys:
        return build_journeys(self.touchpoints, self.conversions)


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    """Persons with paths over a 3-5 channel alphabet, 1-6 touches, random conversions.

    Touch times are whole hours in a 12-hour range, so ties in time are frequent; a
    conversion comes 0-48 hours after a person's last touch (0: a tie with it). The
    first person always converts, so there is something to attribute.
    """
    channels = ALPHABET[: draw(st.integers(3, 5), label="n_channels")]
    n_persons = draw(st.integers(1, 6), label="n_persons")
    touch_rows = []
    conversion_rows = []
    for p in range(n_persons):
        hours = draw(st.lists(st.integers(0, 12), min_size=1, max_size=6), label="hours")
        for k, hour in enumerate(hours):
            touch_rows.append(
                {
                    "touchpoint_id": f"p{p}-t{k}",
                    "user_id": f"p{p}",
                    "ts": T0 + hour * HOUR,
                    "channel": draw(st.sampled_from(channels)),
                }
            )
        if p == 0 or draw(st.booleans(), label="converts"):
            lag = draw(st.integers(0, 48), label="lag_hours")
            revenue = draw(
                st.floats(0, 10_000, allow_nan=False, allow_infinity=False), label="revenue"
            )
            conversion_rows.append(
                {
                    "conversion_id": f"p{p}-c",
                    "user_id": f"p{p}",
                    "ts": T0 + (max(hours) + lag) * HOUR,
                    "stage": "purchase",
                    "revenue": revenue,
                }
            )
    return Sample(pl.DataFrame(touch_rows), pl.DataFrame(conversion_rows))


def credited(model: AttributionModel, sample: Sample) -> pl.DataFrame:
    """Converting touches with the model's weight, sorted by journey and position."""
    journeys = sample.journeys()
    credits = model.credit(journeys)
    return (
        journeys.converting.join(credits, on=["journey_id", "touchpoint_id"], how="left")
        .with_columns(pl.col("weight").fill_null(0.0))
        .sort("journey_id", "position")
    )


ALL_MODELS = pytest.mark.parametrize("model_cls", MODELS.values(), ids=list(MODELS))
PER_MODEL = settings(max_examples=20)
"""Properties run once per registered model use fewer examples each, to stay fast."""


@ALL_MODELS
@PER_MODEL
@given(sample=samples())
def test_conservation(model_cls: type[AttributionModel], sample: Sample) -> None:
    report = attribute(sample.touchpoints, sample.conversions, model=model_cls())
    sums = report.credits.group_by("journey_id").agg(pl.col("weight").sum())
    assert sums.height == sample.n_converting
    if model_cls().weights_sum_to_one_per_journey():
        for total in sums["weight"]:
            assert math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9)
    assert math.isclose(report.data["conversions"].sum(), sample.n_converting, rel_tol=REL_TOL)
    assert math.isclose(report.data["revenue"].sum(), sample.revenue, rel_tol=REL_TOL, abs_tol=1e-9)


@ALL_MODELS
@PER_MODEL
@given(sample=samples())
def test_non_negative(model_cls: type[AttributionModel], sample: Sample) -> None:
    weights = model_cls().credit(sample.journeys())["weight"]
    assert weights.is_finite().all()
    assert (weights >= 0).all()


@ALL_MODELS
@PER_MODEL
@given(sample=samples(), data=st.data())
def test_input_order_does_not_matter(
    model_cls: type[AttributionModel], sample: Sample, data: st.DataObject
) -> None:
    tp, cv = sample.touchpoints, sample.conversions
    tp_order = data.draw(st.permutations(range(tp.height)), label="touch_order")
    cv_order = data.draw(st.permutations(range(cv.height)), label="conversion_order")
    shuffled = Sample(tp[list(tp_order)], cv[list(cv_order)])
    model = model_cls()
    keys = ["journey_id", "touchpoint_id"]
    assert_frame_equal(
        model.credit(sample.journeys()).sort(keys),
        model.credit(shuffled.journeys()).sort(keys),
        rel_tol=REL_TOL,
    )


@pytest.mark.parametrize(("model", "last"), [(FirstTouch(), False), (LastTouch(), True)])
@given(sample=samples())
def test_first_and_last_touch_are_one_hot(
    model: AttributionModel, last: bool, sample: Sample
) -> None:
    frame = credited(model, sample)
    assert set(frame["weight"]) <= {0.0, 1.0}
    for (_journey,), touches in frame.group_by("journey_id"):
        assert touches["weight"].sum() == 1.0
        # The credited touch is the first / last by time, ties broken by touchpoint_id.
        ordered = touches.sort("ts", "touchpoint_id")
        expected = ordered["touchpoint_id"][-1 if last else 0]
        assert touches.filter(pl.col("weight") == 1.0)["touchpoint_id"].to_list() == [expected]


@given(sample=samples())
def test_linear_gives_equal_weights(sample: Sample) -> None:
    frame = credited(Linear(), sample)
    for (_journey,), touches in frame.group_by("journey_id"):
        n = touches.height
        for weight in touches["weight"]:
            assert math.isclose(weight, 1.0 / n, rel_tol=REL_TOL)


@given(sample=samples(), half_life=st.floats(0.1, 30.0))
def test_time_decay_is_monotone_in_recency(sample: Sample, half_life: float) -> None:
    frame = credited(TimeDecay(half_life_days=half_life), sample)
    for (_journey,), touches in frame.group_by("journey_id"):
        rows = touches.select("ts", "weight").rows()
        for ts_i, w_i in rows:
            for ts_j, w_j in rows:
                gap_days = (ts_j - ts_i) / dt.timedelta(days=1)
                if gap_days == 0:
                    assert math.isclose(w_i, w_j, rel_tol=REL_TOL)
                elif gap_days > 0:  # j is more recent
                    assert w_i < w_j
                    assert math.isclose(w_i / w_j, 2.0 ** (-gap_days / half_life), rel_tol=1e-9)


@st.composite
def position_weights(draw: st.DrawFn) -> tuple[float, float]:
    first = draw(st.floats(0.0, 1.0), label="first_weight")
    last = draw(st.floats(0.0, 1.0 - first), label="last_weight")
    if first + last == 0.0:
        first = 0.4
    return first, last


@given(sample=samples(), shares=st.one_of(st.just((0.4, 0.4)), position_weights()))
def test_position_based_shares(sample: Sample, shares: tuple[float, float]) -> None:
    first, last = shares
    frame = credited(PositionBased(first_weight=first, last_weight=last), sample)
    for (_journey,), touches in frame.group_by("journey_id"):
        weights = touches.sort("position")["weight"].to_list()
        n = len(weights)
        if n == 1:
            expected = [1.0]
        elif n == 2:
            expected = [first / (first + last), last / (first + last)]
        else:
            middle = (1.0 - first - last) / (n - 2)
            expected = [first, *[middle] * (n - 2), last]
        for got, want in zip(weights, expected, strict=True):
            assert math.isclose(got, want, rel_tol=REL_TOL, abs_tol=1e-12)
        assert math.isclose(sum(weights), 1.0, rel_tol=0, abs_tol=1e-9)


@given(sample=samples())
def test_journeys_partition_the_touches(sample: Sample) -> None:
    journeys = sample.journeys()
    touches = journeys.touches
    assert touches["touchpoint_id"].is_unique().all()
    assert set(touches["touchpoint_id"]) <= set(sample.touchpoints["touchpoint_id"])
    for (_journey,), rows in touches.group_by("journey_id"):
        assert rows.sort("position")["position"].to_list() == list(range(rows.height))
        assert set(rows["n_touches"]) == {rows.height}
        ordered = rows.sort("ts", "touchpoint_id")["touchpoint_id"].to_list()
        assert rows.sort("position")["touchpoint_id"].to_list() == ordered
    assert journeys.n_conversions + journeys.untouched.height == sample.n_converting
