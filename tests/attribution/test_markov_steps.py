"""First-order Markov from step counts gives the numbers of Markov on every journey.

:class:`~attribution.markov.FirstOrderChain` solves the chain of step counts
(what the engine counts where the data lives) and
:class:`~attribution.models.markov.CountedMarkov` spreads its credit over the
converting journeys only. Both are checked against :class:`PathChain` and
:class:`Markov` on every journey: the hand-solved golden cases, random paths
(repeats, a channel seen only in non-converting journeys, no non-converting
journey at all), every parameter that applies at order 1, and ``explain``.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from attribution.errors import InputError, ParameterError
from attribution.journeys import Journeys
from attribution.markov import (
    STEPS,
    FirstOrderChain,
    PathChain,
    path_counts,
    path_steps,
    transition_counts,
)
from attribution.models.markov import CountedMarkov, Markov
from attribution.models.resampling import ResampleSpec
from attribution.paths import journeys_from_path_lists
from attribution.schema import PATHS

GOLDEN = Path(__file__).parents[1] / "golden" / "markov_removal_effects.json"
CASES: list[dict[str, Any]] = [
    c for c in json.loads(GOLDEN.read_text())["cases"] if c["order"] == 1
]
REL = 1e-9


def golden_paths(case: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "path": [p["path"] for p in case["paths"]],
            "conversions": [float(p["conversions"]) for p in case["paths"]],
            "revenue": [10.0 * p["conversions"] for p in case["paths"]],
            "nulls": [float(p["nulls"]) for p in case["paths"]],
        },
        schema=PATHS,
    )


def random_paths(seed: int) -> pl.DataFrame:
    """Distinct paths with counts: repeats, long paths, zero-revenue conversions."""
    rng = np.random.default_rng(seed)
    names = [f"ch{i}" for i in range(int(rng.integers(1, 13)))]
    rows = int(rng.integers(1, 80))
    paths = [
        rng.choice(names, int(rng.integers(1, 2 + 10 * (rng.random() < 0.1) + 4))).tolist()
        for _ in range(rows)
    ]
    conversions = rng.integers(0, 3, rows).astype(float)
    revenue = np.where(rng.random(rows) < 0.2, 0.0, rng.random(rows) * 500) * conversions
    nulls = rng.integers(0, 4, rows).astype(float) * (seed % 7 != 0)  # some: no nulls at all
    frame = pl.DataFrame(
        {"path": paths, "conversions": conversions, "revenue": revenue, "nulls": nulls},
        schema=PATHS,
    )
    frame = frame.group_by("path").agg(pl.col("conversions", "revenue", "nulls").sum())
    frame = frame.filter(pl.col("conversions") + pl.col("nulls") > 0).sort("path")
    if frame["conversions"].sum() == 0:
        frame = frame.with_columns(pl.lit(1.0).alias("conversions"))
    return frame


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_removal_effects_from_steps(case: dict[str, Any]) -> None:
    chain = FirstOrderChain.from_steps(
        path_steps(golden_paths(case)), collapse_repeats=case["collapse_repeats"]
    )
    effects = chain.effects()
    expected = case["expected"]
    assert effects.conversion_probability == pytest.approx(
        float(Fraction(expected["conversion_probability"])), abs=1e-12
    )
    assert set(effects.channels) == set(expected["removal_effects"])
    for channel, value in expected["removal_effects"].items():
        assert effects.as_dict()[channel] == pytest.approx(float(Fraction(value)), abs=1e-12)


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("collapse", [False, True])
def test_step_counts_solve_as_the_paths_do(seed: int, collapse: bool) -> None:
    paths = random_paths(seed)
    chain = PathChain.from_paths(paths["path"], collapse_repeats=collapse)
    want = chain.effects(*path_counts(paths, "conversions", "revenue", "nulls"))
    steps = FirstOrderChain.from_steps(path_steps(paths), collapse_repeats=collapse)
    got = steps.effects()
    assert got.channels == want.channels
    assert got.conversion_probability == pytest.approx(want.conversion_probability, rel=1e-12)
    np.testing.assert_allclose(got.removal_effects, want.removal_effects, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        got.value_removal_effects, want.value_removal_effects, rtol=1e-10, atol=1e-14
    )
    # The inferred non-conversions are the journeys' own, channel by channel.
    ends = (
        paths.filter(pl.col("nulls") > 0)
        .group_by(pl.col("path").list.last())
        .agg(pl.col("nulls").sum())
    )
    inferred = dict(zip(steps.channels, steps.nulls.tolist(), strict=True))
    assert inferred == {
        **dict.fromkeys(steps.channels, 0.0),
        **dict(zip(ends["path"], ends["nulls"], strict=True)),
    }
    expected = transition_counts(paths, collapse_repeats=collapse)
    assert steps.transition_counts().equals(expected)


def test_steps_may_repeat_and_a_conversion_without_touch_is_left_out() -> None:
    steps = pl.DataFrame(
        {
            "prev": [None, None, "A", None],
            "next": ["A", "A", None, None],
            "count": [2.0, 1.0, 1.0, 5.0],
            "revenue": [0.0, 0.0, 7.0, 99.0],
        },
        schema=STEPS,
    )
    chain = FirstOrderChain.from_steps(steps)
    assert chain.count.tolist() == [3.0]
    assert (chain.conversions.tolist(), chain.revenue.tolist(), chain.nulls.tolist()) == (
        [1.0],
        [7.0],
        [2.0],
    )
    assert chain.effects().conversion_probability == pytest.approx(1 / 3)


def test_no_step_and_no_conversion_give_zero_effects() -> None:
    empty = FirstOrderChain.from_steps(pl.DataFrame(schema=STEPS))
    assert empty.channels == ()
    assert empty.effects().conversion_probability == 0.0
    only_nulls = FirstOrderChain.from_steps(
        pl.DataFrame({"prev": [None], "next": ["A"], "count": [2.0], "revenue": [0.0]})
    )
    assert only_nulls.effects().as_dict() == {"A": 0.0}


def test_steps_that_are_not_journeys_are_refused() -> None:
    more_out_than_in = pl.DataFrame(
        {"prev": [None, "A"], "next": ["A", None], "count": [1.0, 2.0], "revenue": [0.0, 1.0]}
    )
    with pytest.raises(InputError, match="more journeys leave channel 'A'"):
        FirstOrderChain.from_steps(more_out_than_in)
    reserved = pl.DataFrame({"prev": [None], "next": ["(null)"], "count": [1.0], "revenue": [0.0]})
    with pytest.raises(InputError, match="reserved"):
        FirstOrderChain.from_steps(reserved)


# --- the model ------------------------------------------------------------------


def both(paths: pl.DataFrame) -> tuple[Journeys, Journeys]:
    """Every journey, and the converting ones only (what the engine's step route sends)."""
    converting = paths.filter(pl.col("conversions") > 0).with_columns(pl.lit(0.0).alias("nulls"))
    return journeys_from_path_lists(paths), journeys_from_path_lists(converting)


def totals(model: Markov, journeys: Journeys) -> pl.DataFrame:
    credited = journeys.converting.join(
        model.credit(journeys), on=["journey_id", "touchpoint_id"], how="left"
    )
    return (
        credited.group_by("channel")
        .agg(
            (pl.col("weight") * pl.col("count")).sum().alias("conversions"),
            (pl.col("revenue_weight") * pl.col("count") * pl.col("revenue")).sum().alias("revenue"),
        )
        .sort("channel")
    )


def per_touch(model: Markov, journeys: Journeys) -> pl.DataFrame:
    """Weights keyed by (path, position): journey ids differ between the two journey sets."""
    credits = model.credit(journeys)
    keyed = journeys.converting.join(credits, on=["journey_id", "touchpoint_id"]).with_columns(
        pl.col("channel").implode().over("journey_id").alias("path")
    )
    return keyed.select("path", "position", "weight", "revenue_weight").sort("path", "position")


MODELS = [
    Markov(),
    Markov(collapse_repeats=True),
    Markov(normalisation="journey"),
]


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("model", MODELS, ids=lambda m: repr(m.params()))
def test_counted_markov_credits_what_markov_credits(seed: int, model: Markov) -> None:
    paths = random_paths(seed)
    everyone, converting = both(paths)
    counted = model.on_steps(path_steps(paths))
    want, got = totals(model, everyone), totals(counted, converting)
    assert got["channel"].to_list() == want["channel"].to_list()
    for column in ("conversions", "revenue"):
        assert got[column].to_list() == pytest.approx(want[column].to_list(), rel=REL, abs=1e-9)
    weights, want_weights = per_touch(counted, converting), per_touch(model, everyone)
    assert weights["path"].to_list() == want_weights["path"].to_list()
    for column in ("weight", "revenue_weight"):
        assert weights[column].to_list() == pytest.approx(
            want_weights[column].to_list(), rel=REL, abs=1e-12
        )
    assert counted.fit(converting).diagnostics == model.fit(everyone).diagnostics


def test_counted_markov_explains_what_markov_explains() -> None:
    paths = random_paths(3)
    everyone, converting = both(paths)
    want = Markov().explain(everyone, top=50)
    got = Markov().on_steps(path_steps(paths)).explain(converting, top=50)
    assert got.keys() == want.keys()
    for key in ("model", "params", "by", "order", "order_selection", "states", "transitions"):
        assert got[key] == want[key], key
    assert got["journeys"] == pytest.approx(want["journeys"], rel=1e-12)
    assert got["conversion_probability"] == pytest.approx(want["conversion_probability"])
    assert [t["from"] for t in got["top_transitions"]] == [
        t["from"] for t in want["top_transitions"]
    ]
    for row, expected in zip(got["removal_effects"], want["removal_effects"], strict=True):
        assert row["channel"] == expected["channel"]
        numbers = {k: v for k, v in expected.items() if k != "channel"}
        assert {k: row[k] for k in numbers} == pytest.approx(numbers, rel=REL)
    assert got["diagnostics"]["notes"] == want["diagnostics"]["notes"]


def test_counted_markov_is_order_one_markov_with_its_parameters() -> None:
    model = Markov(normalisation="journey", collapse_repeats=True)
    counted = model.on_steps(pl.DataFrame(schema=STEPS))
    assert isinstance(counted, CountedMarkov)
    assert counted.name == "markov"
    assert counted.params() == model.params()
    with pytest.raises(ParameterError, match="order=1"):
        Markov(order=2).on_steps(pl.DataFrame(schema=STEPS))
    with pytest.raises(ParameterError, match="order=1"):
        Markov(order="auto").on_steps(pl.DataFrame(schema=STEPS))
    spec = ResampleSpec("channel", ("A",), pl.DataFrame({"user_id": ["a"], "unit": [0]}))
    with pytest.raises(ParameterError, match="resample persons"):
        counted.resampler(both(random_paths(1))[1], spec)
