"""The contract every registered attribution model keeps (scikit-learn ``test_common`` style).

Parametrized over ``MODELS``: a model is checked here the moment it is registered,
with no change to this file.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution import MODELS, AttributionModel, Journeys, attribute, build_journeys
from attribution.report import NO_TOUCHPOINT
from attribution.schema import CREDITS

REL_TOL = 1e-9
"""Relative tolerance of sums that are exact in real arithmetic."""

SHUFFLE_SEED = 7

pytestmark = pytest.mark.parametrize("model_cls", MODELS.values(), ids=list(MODELS))


@pytest.fixture(scope="module")
def journeys(touchpoints: pl.DataFrame, conversions: pl.DataFrame) -> Journeys:
    return build_journeys(touchpoints, conversions)


def _shuffled(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    order = np.random.default_rng(seed).permutation(frame.height)
    shuffled: pl.DataFrame = frame[order.tolist()]
    return shuffled


def test_builds_with_no_args(model_cls: type[AttributionModel]) -> None:
    model = model_cls()
    assert isinstance(model, AttributionModel)
    assert model.name in MODELS
    assert MODELS[model.name] is model_cls


def test_credit_has_credits_schema(model_cls: type[AttributionModel], journeys: Journeys) -> None:
    credits = model_cls().credit(journeys)
    assert credits.schema == CREDITS


def test_weights_are_finite_and_non_negative(
    model_cls: type[AttributionModel], journeys: Journeys
) -> None:
    weights = model_cls().credit(journeys)["weight"]
    assert weights.null_count() == 0
    assert weights.is_finite().all()
    assert (weights >= 0).all()


def test_weights_of_each_converting_journey_sum_to_one(
    model_cls: type[AttributionModel], journeys: Journeys
) -> None:
    model = model_cls()
    credits = model.credit(journeys)
    sums = credits.group_by("journey_id").agg(
        pl.col("weight").sum(), pl.col("revenue_weight").sum()
    )
    converting_ids = set(journeys.converting["journey_id"].unique())
    assert set(sums["journey_id"]) == converting_ids
    assert math.isclose(sums["weight"].sum(), len(converting_ids), rel_tol=REL_TOL)
    if model.weights_sum_to_one_per_journey():
        for journey_id, total, revenue_total in sums.iter_rows():
            assert math.isclose(total, 1.0, rel_tol=0, abs_tol=1e-9), journey_id
            assert math.isclose(revenue_total, 1.0, rel_tol=0, abs_tol=1e-9), journey_id


def test_only_converting_touches_are_credited(
    model_cls: type[AttributionModel], journeys: Journeys
) -> None:
    credits = model_cls().credit(journeys)
    keys = ["journey_id", "touchpoint_id"]
    assert credits.select(keys).is_unique().all(), "a touch is credited twice"
    outside = credits.join(journeys.converting.select(keys), on=keys, how="anti")
    assert outside.is_empty(), outside


@pytest.mark.parametrize("by", ["channel", "campaign"])
def test_attribute_conserves_conversions_and_revenue(
    model_cls: type[AttributionModel],
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    purchases: pl.DataFrame,
    by: str,
) -> None:
    report = attribute(touchpoints, conversions, model=model_cls(), by=by)
    data = report.data
    assert math.isclose(data["conversions"].sum(), purchases.height, rel_tol=REL_TOL)
    assert math.isclose(data["revenue"].sum(), purchases["revenue"].sum(), rel_tol=REL_TOL)
    assert (data["conversions"] >= 0).all()
    assert (data["revenue"] >= 0).all()
    assert math.isclose(report.totals["revenue"], purchases["revenue"].sum(), rel_tol=REL_TOL)
    untouched = data.filter(pl.col(by) == NO_TOUCHPOINT)
    assert untouched["conversions"].to_list() == [float(report.totals["untouched_conversions"])]


def test_channels_are_a_subset_of_the_input(
    model_cls: type[AttributionModel], touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, model=model_cls())
    channels = set(report.data["channel"]) - {NO_TOUCHPOINT}
    assert channels <= set(touchpoints["channel"])


def test_input_row_order_does_not_matter(
    model_cls: type[AttributionModel],
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame,
) -> None:
    model = model_cls()
    tp, cv = touchpoints, conversions
    tp_shuffled = _shuffled(tp, SHUFFLE_SEED)
    cv_shuffled = _shuffled(cv, SHUFFLE_SEED + 1)
    assert not tp_shuffled.equals(tp)

    keys = ["journey_id", "touchpoint_id"]
    assert_frame_equal(
        model.credit(build_journeys(tp, cv)).sort(keys),
        model.credit(build_journeys(tp_shuffled, cv_shuffled)).sort(keys),
        rel_tol=REL_TOL,
    )
    assert_frame_equal(
        attribute(tp, cv, costs, model=model).data.sort("channel"),
        attribute(tp_shuffled, cv_shuffled, _shuffled(costs, 3), model=model).data.sort("channel"),
        rel_tol=REL_TOL,
    )


def test_params_are_echoed_in_the_report(
    model_cls: type[AttributionModel], touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    model = model_cls()
    by_instance = attribute(touchpoints, conversions, model=model)
    by_name = attribute(touchpoints, conversions, model=model.name)
    assert by_instance.to_dict()["params"] == model.params()
    assert by_name.to_dict()["params"] == model.params()
    assert by_instance.to_dict()["model"] == model.name
    json.dumps(by_instance.to_dict(), allow_nan=False)


def test_params_are_the_dataclass_fields(model_cls: type[AttributionModel]) -> None:
    model = model_cls()
    fields = {f.name: f.default for f in dataclasses.fields(model_cls)}
    assert model.params() == fields


def test_repr_shows_params(model_cls: type[AttributionModel]) -> None:
    model = model_cls()
    text = repr(model)
    assert text.startswith(f"{model_cls.__name__}(")
    for name, value in model.params().items():
        assert f"{name}={value!r}" in text


def test_describe_lists_each_param_with_its_default(model_cls: type[AttributionModel]) -> None:
    described = model_cls.describe()
    assert described["name"] == model_cls.name
    assert described["summary"]
    assert described["doc"], "every model states its assumptions in its docstring"
    listed = {p["name"]: p["default"] for p in described["params"]}
    assert listed == model_cls().params()
    for spec in described["params"]:
        assert spec["type"] in {"bool", "int", "float", "str", "int | str"}, spec
    json.dumps(described, allow_nan=False)
