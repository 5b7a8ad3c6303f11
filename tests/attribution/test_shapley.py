"""Tests of the Shapley family: ``shapley_values`` maths and the three Shapley models.

In order: Zhao's simplified Shapley value (``shapley``), its ordered variant
(``shapley_ordered``), and the counterfactual conversion-rate game
(``shapley_counterfactual``). The golden cases in tests/golden/shapley_*.json
were worked by hand; do not edit expected numbers unless the maths changed on
purpose.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution.errors import ParameterError
from attribution.journeys import Journeys, build_journeys
from attribution.models.base import AttributionModel
from attribution.models.shapley import Shapley
from attribution.models.shapley_counterfactual import ShapleyCounterfactual
from attribution.models.shapley_ordered import ShapleyOrdered
from attribution.schema import CREDITS, JOURNEY_TOUCHES, PATHS
from attribution.shapley import (
    MAX_EXACT_LIMIT,
    POSITIONS,
    coalitions,
    counterfactual_coalition_values,
    counterfactual_shapley,
    exact_shapley,
    ordered_shapley_values,
    shapley_values,
    subset_sums,
)

GOLDEN_DIR = Path(__file__).parents[1] / "golden"
ZHAO_CASE: dict[str, Any] = json.loads((GOLDEN_DIR / "shapley_simplified.json").read_text("utf-8"))[
    "cases"
][0]
ORDERED_CASES: list[dict[str, Any]] = json.loads(
    (GOLDEN_DIR / "shapley_ordered.json").read_text("utf-8")
)["cases"]
COUNTERFACTUAL_CASE: dict[str, Any] = json.loads(
    (GOLDEN_DIR / "shapley_counterfactual.json").read_text("utf-8")
)["cases"][0]

REL_TOL = 1e-9
"""The maths is exact; only floating-point rounding is allowed."""
ABS_TOL = 1e-9
"""Absolute tolerance for values that are exactly 0."""

SHAPLEY_MODELS = [Shapley, ShapleyOrdered, ShapleyCounterfactual]

SAMPLED_SEEDS = range(20)
"""Sampler seeds checked against the exact values on the 6-channel case."""

SAMPLED_ABS_TOL = 0.03
"""|sampled φ − exact φ| bound at 2,000 permutations on the 6-channel case.

Measured over sampler seeds 0-199: max 0.0266, 95th percentile 0.018, seed 0
0.0066, for φ between −0.001 and 0.20 (v(N) = 88/153 ≈ 0.575).
"""

SAMPLED_SHARE_TOL = 0.05
"""|sampled share − exact share| bound; measured max 0.0447 (p95 0.030) over seeds 0-199."""

SAMPLED_Z = 4.0
"""|sampled φ − exact φ| / reported standard error: measured max 2.95 (p95 2.50), seeds 0-199."""

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def number(value: int | float | str) -> float:
    return float(Fraction(value)) if isinstance(value, str) else float(value)


def golden_frames(case: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Touchpoints and conversions of a golden case (the format of tests/golden/test_golden.py)."""
    conversion_ts = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    touches: list[dict[str, Any]] = []
    conversions: list[dict[str, Any]] = []
    for journey in case["journeys"]:
        user = f"user-{journey['conversion_id']}"
        conversions.append(
            {
                "conversion_id": journey["conversion_id"],
                "user_id": user,
                "ts": conversion_ts,
                "stage": "purchase",
                "revenue": float(journey["revenue"]),
            }
        )
        touches += [
            {
                "touchpoint_id": t["id"],
                "user_id": user,
                "ts": conversion_ts - dt.timedelta(days=t["days_before"]),
                "channel": t["channel"],
            }
            for t in journey["touches"]
        ]
    for journey in case.get("non_converting", []):
        touches += [
            {
                "touchpoint_id": t["id"],
                "user_id": journey["user_id"],
                "ts": conversion_ts - dt.timedelta(days=t["days_before"]),
                "channel": t["channel"],
            }
            for t in journey["touches"]
        ]
    return pl.DataFrame(touches), pl.DataFrame(conversions)


def journeys_from_paths(paths: pl.DataFrame) -> Journeys:
    """Journeys with ``count``: one converting and one non-converting journey per path row."""
    rows: list[dict[str, Any]] = []
    for i, (path, n_conv, revenue, n_null) in enumerate(paths.iter_rows()):
        for converted, count in ((True, n_conv), (False, n_null)):
            if count <= 0:
                continue
            journey = f"c{i}" if converted else f"~u{i}"
            for k, channel in enumerate(path):
                rows.append(
                    {
                        "journey_id": journey,
                        "user_id": f"u{i}",
                        "converted": converted,
                        "conversion_ts": T0 + dt.timedelta(days=1) if converted else None,
                        "revenue": revenue / n_conv if converted else 0.0,
                        "touchpoint_id": f"{journey}-{k}",
                        "ts": T0 + dt.timedelta(hours=k),
                        "channel": channel,
                        "campaign": f"{channel}-{k % 2}",
                        "position": k,
                        "n_touches": len(path),
                        "count": float(count),
                    }
                )
    touches = pl.DataFrame(rows, schema=JOURNEY_TOUCHES).sort("journey_id", "position")
    untouched = pl.DataFrame(
        schema={
            "conversion_id": pl.String,
            "user_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "revenue": pl.Float64,
        }
    )
    return Journeys(touches=touches, untouched=untouched, stage="purchase", lookback_days=90.0)


def make_paths(rows: Sequence[tuple[list[str], float, float, float]]) -> pl.DataFrame:
    """``(path, conversions, revenue, nulls)`` rows as a PATHS frame."""
    return pl.DataFrame(list(rows), schema=PATHS, orient="row")


def random_paths(seed: int, n_channels: int, n_paths: int = 12) -> pl.DataFrame:
    """Random paths over ``n_channels`` channels, with repeats, counts and non-conversions."""
    rng = np.random.default_rng(seed)
    names = [chr(ord("A") + i) for i in range(n_channels)]
    rows = []
    for _ in range(n_paths):
        length = int(rng.integers(1, 6))
        path = [names[int(i)] for i in rng.integers(0, n_channels, size=length)]
        conversions = float(rng.integers(0, 5))
        rows.append(
            (
                path,
                conversions,
                conversions * float(rng.uniform(10, 100)),
                float(rng.integers(0, 5)),
            )
        )
    paths = make_paths(rows)
    return paths.group_by("path").agg(pl.col("conversions", "revenue", "nulls").sum()).sort("path")


def permutation_shapley(
    players: Sequence[str], value: Callable[[frozenset[str]], float]
) -> dict[str, float]:
    """The classic definition: average marginal contribution over all n! orders."""
    total = dict.fromkeys(players, 0.0)
    orders = list(itertools.permutations(players))
    for order in orders:
        coalition: frozenset[str] = frozenset()
        for player in order:
            joined = coalition | {player}
            total[player] += value(joined) - value(coalition)
            coalition = joined
    return {p: t / len(orders) for p, t in total.items()}


def channel_totals(
    model: AttributionModel, journeys: Journeys, by: str = "channel"
) -> pl.DataFrame:
    """Attributed conversions and revenue by ``by`` from a model's per-touch weights."""
    credits = model.credit(journeys, by)
    touches = journeys.converting.join(credits, on=["journey_id", "touchpoint_id"])
    return (
        touches.group_by(pl.col(by).alias("channel"))
        .agg(
            (pl.col("weight") * pl.col("count")).sum().alias("conversions"),
            (pl.col("weight") * pl.col("count") * pl.col("revenue")).sum().alias("revenue"),
        )
        .sort("channel")
    )


def test_zhao_golden_case() -> None:
    case = ZHAO_CASE
    journeys = build_journeys(*golden_frames(case))
    weights = dict(Shapley().credit(journeys).select("touchpoint_id", "weight").iter_rows())
    expected = {k: number(v) for k, v in case["expected"]["weights"].items()}
    assert weights.keys() == expected.keys()
    for touch, value in expected.items():
        assert math.isclose(weights[touch], value, rel_tol=REL_TOL), touch
    values = {row["channel"]: row for row in Shapley().channel_values(journeys).to_dicts()}
    for channel, want in case["expected"]["channels"].items():
        for column in ("conversions", "revenue"):
            assert math.isclose(values[channel][column], number(want[column]), rel_tol=REL_TOL)


@pytest.mark.parametrize("seed", range(30))
def test_simplified_formula_equals_permutation_formula(seed: int) -> None:
    n_channels = 2 + seed % 4  # 2..5 channels: 5! = 120 orders at most
    paths = random_paths(seed, n_channels)
    table = coalitions(paths)
    for column in ("conversions", "revenue"):
        exact = {frozenset(s): r for s, r in zip(table["coalition"], table[column], strict=True)}

        def v(s: frozenset[str], exact: dict[frozenset[str], float] = exact) -> float:
            return sum(r for t, r in exact.items() if t <= s)

        players = sorted({c for s in exact for c in s})
        expected = permutation_shapley(players, v)
        got = dict(shapley_values(paths).select("channel", column).iter_rows())
        assert got.keys() == expected.keys()
        for player in players:
            assert math.isclose(got[player], expected[player], rel_tol=REL_TOL, abs_tol=ABS_TOL)


@pytest.mark.parametrize("seed", range(10))
def test_per_touch_credit_adds_up_to_the_coalition_formula(seed: int) -> None:
    paths = random_paths(100 + seed, 5)
    journeys = journeys_from_paths(paths)
    by_touch = channel_totals(Shapley(), journeys)
    by_formula = shapley_values(paths).filter(
        pl.col("channel").is_in(by_touch["channel"].implode())
    )
    assert_frame_equal(by_touch, by_formula, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    # A channel only on non-converting paths is listed by the formula with nothing.
    assert shapley_values(paths).filter(~pl.col("channel").is_in(by_touch["channel"].implode()))[
        "conversions"
    ].to_list() == [0.0] * (shapley_values(paths).height - by_touch.height)


def test_counts_equal_repeated_journeys() -> None:
    paths = make_paths([(["A", "B"], 3.0, 300.0, 2.0), (["B"], 1.0, 20.0, 0.0)])
    repeated = make_paths([(["A", "B"], 1.0, 100.0, 1.0)] * 3 + [(["B"], 1.0, 20.0, 0.0)])
    by_count = channel_totals(Shapley(), journeys_from_paths(paths))
    by_rows = channel_totals(Shapley(), journeys_from_paths(repeated))
    assert_frame_equal(by_count, by_rows, rel_tol=REL_TOL)


@pytest.mark.parametrize("model_cls", SHAPLEY_MODELS, ids=lambda c: c.name)
def test_symmetric_channels_get_equal_credit(model_cls: type[AttributionModel]) -> None:
    # Swapping A and B maps the data onto itself (orders included), so A and B are symmetric.
    paths = make_paths(
        [
            (["A", "B"], 3.0, 300.0, 1.0),
            (["B", "A"], 3.0, 300.0, 1.0),
            (["A"], 2.0, 100.0, 4.0),
            (["B"], 2.0, 100.0, 4.0),
            (["C", "A"], 1.0, 50.0, 2.0),
            (["C", "B"], 1.0, 50.0, 2.0),
            (["C"], 1.0, 10.0, 5.0),
        ]
    )
    totals = {
        r["channel"]: r for r in channel_totals(model_cls(), journeys_from_paths(paths)).to_dicts()
    }
    for column in ("conversions", "revenue"):
        assert math.isclose(totals["A"][column], totals["B"][column], rel_tol=REL_TOL)
        assert totals["A"][column] > 0


def test_channel_never_on_a_converting_journey_gets_nothing() -> None:
    paths = make_paths(
        [
            (["A", "B"], 2.0, 200.0, 1.0),
            (["A", "D"], 0.0, 0.0, 5.0),
            (["D", "B", "D"], 0.0, 0.0, 3.0),
            (["B"], 1.0, 10.0, 0.0),
        ]
    )
    values = dict(shapley_values(paths).select("channel", "conversions").iter_rows())
    assert values == {"A": 1.0, "B": 2.0, "D": 0.0}
    journeys = journeys_from_paths(paths)
    credits = Shapley().credit(journeys).join(journeys.touches, on=["journey_id", "touchpoint_id"])
    assert "D" not in credits["channel"].to_list()


@pytest.mark.parametrize("model_cls", SHAPLEY_MODELS, ids=lambda c: c.name)
@pytest.mark.parametrize("by", ["channel", "campaign"])
def test_weights_conserve_every_journey(
    model_cls: type[AttributionModel], touchpoints: pl.DataFrame, conversions: pl.DataFrame, by: str
) -> None:
    journeys = build_journeys(touchpoints, conversions)
    credits = model_cls().credit(journeys, by)
    assert credits.schema == CREDITS
    assert credits.height == journeys.converting.height
    assert (credits["weight"] >= 0).all()
    sums = credits.group_by("journey_id").agg(pl.col("weight").sum())
    assert sums.height == journeys.converting["journey_id"].n_unique()
    assert (sums["weight"] - 1.0).abs().max() < 1e-9  # type: ignore[operator]


@pytest.mark.parametrize("model_cls", SHAPLEY_MODELS, ids=lambda c: c.name)
def test_input_row_order_does_not_matter(
    model_cls: type[AttributionModel], touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    order = np.random.default_rng(11).permutation(touchpoints.height).tolist()
    keys = ["journey_id", "touchpoint_id"]
    model = model_cls()
    assert_frame_equal(
        model.credit(build_journeys(touchpoints, conversions)).sort(keys),
        model.credit(build_journeys(touchpoints[order], conversions.reverse())).sort(keys),
        rel_tol=REL_TOL,
    )


def test_null_channel_values_are_one_player() -> None:
    journeys = journeys_from_paths(make_paths([(["A", "B"], 1.0, 10.0, 0.0)]))
    touches = journeys.touches.with_columns(
        pl.when(pl.col("channel") == "B").then(None).otherwise(pl.col("channel")).alias("channel")
    )
    journeys = Journeys(touches, journeys.untouched, journeys.stage, journeys.lookback_days)
    assert Shapley().credit(journeys)["weight"].to_list() == [0.5, 0.5]
    assert Shapley().channel_values(journeys)["channel"].to_list() == ["(not set)", "A"]


@pytest.mark.parametrize("case", ORDERED_CASES, ids=[c["id"] for c in ORDERED_CASES])
def test_ordered_golden_cases(case: dict[str, Any]) -> None:
    model = ShapleyOrdered(**case["params"])
    journeys = build_journeys(*golden_frames(case))
    weights = dict(model.credit(journeys).select("touchpoint_id", "weight").iter_rows())
    expected = {k: number(v) for k, v in case["expected"]["weights"].items()}
    assert weights.keys() == expected.keys()
    for touch, value in expected.items():
        assert math.isclose(weights[touch], value, rel_tol=REL_TOL, abs_tol=1e-12), touch
    positions = model.channel_values(journeys)
    want = pl.DataFrame(
        [
            {
                "channel": p["channel"],
                "position": p["position"],
                "conversions": number(p["conversions"]),
                "revenue": number(p["revenue"]),
            }
            for p in case["expected"]["positions"]
        ],
        schema=positions.schema,
    )
    assert_frame_equal(positions, want, rel_tol=REL_TOL)
    totals = {r["channel"]: r for r in channel_totals(model, journeys).to_dicts()}
    for channel, values in case["expected"]["channels"].items():
        for column in ("conversions", "revenue"):
            assert math.isclose(totals[channel][column], number(values[column]), rel_tol=REL_TOL)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("seed", range(10))
def test_positions_add_up_to_the_shapley_value(position: str, seed: int) -> None:
    paths = random_paths(seed, 2 + seed % 4)
    by_position = (
        ordered_shapley_values(paths, position)
        .group_by("channel")
        .agg(pl.col("conversions", "revenue").sum())
        .sort("channel")
    )
    simplified = shapley_values(paths).filter(pl.col("conversions") > 0)
    assert_frame_equal(by_position, simplified, rel_tol=REL_TOL, abs_tol=1e-9)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("seed", range(5))
def test_per_touch_credit_adds_up_to_the_position_table(position: str, seed: int) -> None:
    paths = random_paths(50 + seed, 4)
    journeys = journeys_from_paths(paths)
    model = ShapleyOrdered(position=position)
    table = (
        model.channel_values(journeys)
        .group_by("channel")
        .agg(pl.col("conversions", "revenue").sum())
    )
    assert_frame_equal(
        channel_totals(model, journeys), table.sort("channel"), rel_tol=REL_TOL, abs_tol=1e-9
    )


def test_first_visit_fills_positions_one_to_k() -> None:
    # B > A > B > C: three distinct channels at positions 1, 2, 3; the second B opens none.
    paths = make_paths([(["B", "A", "B", "C"], 3.0, 30.0, 0.0)])
    table = ordered_shapley_values(paths)
    assert table.sort("position")[["channel", "position"]].rows() == [("B", 1), ("A", 2), ("C", 3)]
    assert table["conversions"].to_list() == [1.0, 1.0, 1.0]
    weights = ShapleyOrdered().credit(journeys_from_paths(paths))["weight"].to_list()
    assert weights == pytest.approx([1 / 3, 1 / 3, 0.0, 1 / 3], rel=REL_TOL)


def test_touch_positions_split_repeats_and_match_shapley_per_touch() -> None:
    paths = random_paths(7, 4)
    journeys = journeys_from_paths(paths)
    assert_frame_equal(
        ShapleyOrdered(position="touch").credit(journeys), Shapley().credit(journeys)
    )
    table = ordered_shapley_values(make_paths([(["B", "A", "B"], 1.0, 8.0, 0.0)]), "touch")
    assert table.rows() == [("A", 2, 0.5, 4.0), ("B", 1, 0.25, 2.0), ("B", 3, 0.25, 2.0)]


def test_unknown_position_is_refused() -> None:
    with pytest.raises(ParameterError) as info:
        ShapleyOrdered(position="last")
    assert str(info.value) == (
        "The 'position' parameter of ShapleyOrdered must be one of 'first_visit', 'touch'. "
        "Got 'last' instead."
    )


def six_channel_paths() -> pl.DataFrame:
    return random_paths(2024, 6, n_paths=40)


def naive_rate(paths: pl.DataFrame, coalition: frozenset[str]) -> float:
    """v(S) by definition: conversion rate of the journeys whose channels lie within S."""
    conversions = journeys = 0.0
    for path, n_conv, _revenue, n_null in paths.iter_rows():
        if set(path) <= coalition:
            conversions += n_conv
            journeys += n_conv + n_null
    return conversions / journeys if journeys > 0 else 0.0


def test_counterfactual_golden_case() -> None:
    journeys = build_journeys(*golden_frames(COUNTERFACTUAL_CASE))
    expected = COUNTERFACTUAL_CASE["expected"]
    channels, v = counterfactual_coalition_values(journeys.paths())
    assert channels == ["A", "B", "C"]
    for name, value in expected["coalition_values"].items():
        mask = sum(1 << channels.index(c) for c in name)
        assert math.isclose(v[mask], number(value), rel_tol=REL_TOL, abs_tol=1e-15), name
    result = ShapleyCounterfactual().explain(journeys)
    assert result.method == expected["method"] == "exact"
    assert math.isclose(result.values.conversion_rate, number(expected["conversion_rate"]))
    phi = dict(result.values.values.select("channel", "shapley").iter_rows())
    for channel, value in expected["shapley"].items():
        assert math.isclose(phi[channel], number(value), rel_tol=REL_TOL), channel
    assert result.spread.converged
    weights = dict(result.credits.select("touchpoint_id", "weight").iter_rows())
    for touch, value in expected["weights"].items():
        assert math.isclose(weights[touch], number(value), rel_tol=REL_TOL, abs_tol=1e-12), touch
    totals = {r["channel"]: r for r in channel_totals(ShapleyCounterfactual(), journeys).to_dicts()}
    for channel, values in expected["channels"].items():
        for column in ("conversions", "revenue"):
            assert math.isclose(
                totals[channel][column], number(values[column]), rel_tol=REL_TOL, abs_tol=1e-9
            ), (channel, column)


@pytest.mark.parametrize("n", range(6))
def test_subset_sums_is_the_zeta_transform(n: int) -> None:
    f = np.random.default_rng(n).uniform(size=1 << n)
    naive = [sum(f[t] for t in range(1 << n) if t & s == t) for s in range(1 << n)]
    np.testing.assert_allclose(subset_sums(f), naive, rtol=1e-12)


@pytest.mark.parametrize("n", range(1, 6))
def test_exact_shapley_is_the_permutation_formula(n: int) -> None:
    v = np.random.default_rng(10 + n).normal(size=1 << n)
    v[0] = 0.0
    players = [str(i) for i in range(n)]
    expected = permutation_shapley(players, lambda s: float(v[sum(1 << int(p) for p in s)]))
    np.testing.assert_allclose(exact_shapley(v), [expected[p] for p in players], atol=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_exact_values_equal_the_definition(seed: int) -> None:
    paths = random_paths(300 + seed, 2 + seed % 4)
    players = sorted({c for path in paths["path"] for c in path})
    expected = permutation_shapley(players, lambda s: naive_rate(paths, s))
    got = counterfactual_shapley(paths)
    assert got.method == "exact"
    phi = dict(got.values.select("channel", "shapley").iter_rows())
    for player in players:
        assert math.isclose(phi[player], expected[player], rel_tol=REL_TOL, abs_tol=1e-12)
    assert math.isclose(sum(phi.values()), got.conversion_rate, rel_tol=REL_TOL)


def test_unobserved_coalitions_are_worth_nothing() -> None:
    # Only A > B and C are observed: {A}, {B} and {A, B, ...} without a journey inside are 0.
    paths = make_paths([(["A", "B"], 2.0, 20.0, 2.0), (["C"], 1.0, 5.0, 3.0)])
    channels, v = counterfactual_coalition_values(paths)
    assert channels == ["A", "B", "C"]
    names = ["", "A", "B", "AB", "C", "AC", "BC", "ABC"]
    assert dict(zip(names, v.tolist(), strict=True)) == {
        "": 0.0,  # v(∅) = 0 by definition
        "A": 0.0,  # no journey's channel set lies within {A}
        "B": 0.0,
        "AB": 0.5,  # A > B: 2 of 4
        "C": 0.25,
        "AC": 0.25,  # only C lies within {A, C}
        "BC": 0.25,
        "ABC": 3 / 8,
    }
    # A and B only ever act together: symmetric, and each gets half of what they add.
    phi = dict(counterfactual_shapley(paths).values.select("channel", "shapley").iter_rows())
    assert math.isclose(phi["A"], phi["B"], rel_tol=REL_TOL)
    assert math.isclose(sum(phi.values()), 3 / 8, rel_tol=REL_TOL)


def test_a_coalition_pools_the_journeys_within_it() -> None:
    # {A, B} never occurs as a set, but A-only and B-only journeys lie within it.
    paths = make_paths([(["A"], 1.0, 1.0, 1.0), (["B", "B"], 0.0, 0.0, 2.0)])
    _, v = counterfactual_coalition_values(paths)
    assert v.tolist() == [0.0, 0.5, 0.0, 0.25]


def test_channel_only_on_non_converting_journeys_gets_nothing() -> None:
    paths = make_paths(
        [(["A"], 2.0, 20.0, 2.0), (["A", "D"], 0.0, 0.0, 3.0), (["D"], 0.0, 0.0, 5.0)]
    )
    values = counterfactual_shapley(paths).values
    row = values.filter(pl.col("channel") == "D").row(0, named=True)
    assert row["shapley"] < 0
    assert row["share"] == 0.0
    assert row["conversions"] == 0.0


def test_credit_is_clipped_non_negative_and_conserved() -> None:
    journeys = journeys_from_paths(six_channel_paths())
    result = ShapleyCounterfactual().explain(journeys)
    values = result.values.values
    assert (values["shapley"] < 0).any(), "the case should exercise clipping"
    assert (values["share"] >= 0).all()
    assert math.isclose(values["share"].sum(), 1.0, rel_tol=REL_TOL)
    assert math.isclose(values["conversions"].sum(), journeys.n_conversions, rel_tol=REL_TOL)
    credits = result.credits
    assert (credits["weight"] >= 0).all()
    sums = credits.group_by("journey_id").agg(pl.col("weight").sum())
    assert (sums["weight"] - 1.0).abs().max() < 1e-9  # type: ignore[operator]
    if result.spread.converged:
        totals = channel_totals(ShapleyCounterfactual(), journeys)
        merged = totals.join(values, on="channel", suffix="_target")
        gap = (merged["conversions"] - merged["conversions_target"]).abs().max()
        assert gap < 1e-6  # type: ignore[operator]


def test_sampled_agrees_with_exact_on_six_channels() -> None:
    paths = six_channel_paths()
    exact = counterfactual_shapley(paths).values
    assert exact.height == 6
    for seed in SAMPLED_SEEDS:
        sampled = counterfactual_shapley(paths, max_exact_channels=5, samples=2000, seed=seed)
        assert sampled.method == "sampled"
        assert sampled.samples == 2000
        got = sampled.values
        diff = (got["shapley"] - exact["shapley"]).abs()
        assert diff.max() <= SAMPLED_ABS_TOL, (seed, diff.to_list())  # type: ignore[operator]
        assert (diff <= SAMPLED_Z * got["std_error"]).all(), (seed, diff.to_list())
        share_gap = (got["share"] - exact["share"]).abs().max()
        assert share_gap <= SAMPLED_SHARE_TOL, seed  # type: ignore[operator]
        # Every permutation telescopes to v(N): sampled values are exactly efficient.
        assert math.isclose(got["shapley"].sum(), sampled.conversion_rate, rel_tol=REL_TOL)


def test_sampling_is_seeded() -> None:
    paths = six_channel_paths()
    first = counterfactual_shapley(paths, max_exact_channels=0, samples=300, seed=5).values
    again = counterfactual_shapley(paths, max_exact_channels=0, samples=300, seed=5).values
    other = counterfactual_shapley(paths, max_exact_channels=0, samples=300, seed=6).values
    assert_frame_equal(first, again)
    assert not first.equals(other)


def test_the_model_says_which_method_it_used() -> None:
    journeys = journeys_from_paths(six_channel_paths())
    exact = ShapleyCounterfactual().explain(journeys)
    sampled = ShapleyCounterfactual(max_exact_channels=5, samples=500).explain(journeys)
    assert (exact.method, exact.values.samples) == ("exact", 0)
    assert (sampled.method, sampled.values.samples) == ("sampled", 500)
    assert ShapleyCounterfactual(max_exact_channels=5).method_for(6) == "sampled"
    report = sampled.to_dict()
    assert report["method"] == "sampled"
    assert report["samples"] == 500
    assert report["n_channels"] == 6
    assert {"converged", "max_gap", "iterations"} <= set(report["spread"])
    json.dumps(report, allow_nan=False)


def test_many_channels_are_sampled() -> None:
    names = [f"ch{i:02d}" for i in range(MAX_EXACT_LIMIT + 10)]
    rows = [
        ([names[i], names[(i * 7 + 3) % len(names)]], float(i % 3), float(i), float(i % 4))
        for i in range(len(names))
    ]
    paths = make_paths(rows).group_by("path").agg(pl.all().sum())
    result = counterfactual_shapley(paths, samples=200)
    assert result.method == "sampled"
    assert result.n_channels == len(names)
    assert math.isclose(result.values["conversions"].sum(), paths["conversions"].sum())
    with pytest.raises(ParameterError, match="at most 20 channels"):
        counterfactual_coalition_values(paths)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"max_exact_channels": 21},
            "The 'max_exact_channels' parameter of ShapleyCounterfactual must be between 0 and 20. "
            "Got 21 instead.",
        ),
        (
            {"samples": 0},
            "The 'samples' parameter of ShapleyCounterfactual must be between 1 and 100,000. "
            "Got 0 instead.",
        ),
        (
            {"sampling_seed": -1},
            "The 'sampling_seed' parameter of ShapleyCounterfactual must be >= 0. Got -1 instead.",
        ),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, int], message: str) -> None:
    with pytest.raises(ParameterError) as info:
        ShapleyCounterfactual(**params)
    assert str(info.value) == message


def test_coalitions_ignore_order_and_repeats() -> None:
    paths = make_paths([(["B", "A", "B"], 1.0, 1.0, 0.0), (["A", "B"], 1.0, 1.0, 1.0)])
    assert coalitions(paths).rows() == [(["A", "B"], 2, 2.0, 2.0, 1.0)]


def test_every_permutation_of_channel_names_gives_the_same_values() -> None:
    # Bit positions follow sorted channel names; renaming must only relabel the result.
    paths = random_paths(77, 4)
    base = dict(counterfactual_shapley(paths).values.select("channel", "shapley").iter_rows())
    for renamed in itertools.islice(itertools.permutations("WXYZ"), 5):
        mapping = dict(zip("ABCD", renamed, strict=True))
        moved = paths.with_columns(pl.col("path").list.eval(pl.element().replace_strict(mapping)))
        got = dict(counterfactual_shapley(moved).values.select("channel", "shapley").iter_rows())
        for old, new in mapping.items():
            if old in base:
                assert math.isclose(got[new], base[old], rel_tol=REL_TOL, abs_tol=1e-12)
