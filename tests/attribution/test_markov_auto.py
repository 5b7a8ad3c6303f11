"""``Markov(order="auto")``: the order chosen by held-out log-likelihood.

On journeys drawn from a known chain (attribution.simulate, the same 6-channel
chains and seeds as test_markov_ground_truth) the held-out score must pick the
true order: 2 on second-order data, 1 on first-order data. At 20k persons the
per-journey margin of the true order over the runner-up is 0.01-0.02 nats (order
1 data) and 0.07-0.43 nats (order 2 data) over chain seeds 3, 5 and 7.
"""

from __future__ import annotations

import math
import time

import polars as pl
import pytest

from attribution import get_model
from attribution.errors import ParameterError
from attribution.journeys import build_journeys
from attribution.markov import held_out_log_likelihoods
from attribution.models.markov import Markov
from attribution.paths import journeys_from_paths
from attribution.simulate import random_chain, simulate_markov_journeys

CHAIN_SEED = 7
DATA_SEED = 11


@pytest.mark.parametrize("true_order", [1, 2])
def test_auto_picks_the_true_order(true_order: int) -> None:
    spec = random_chain(6, seed=CHAIN_SEED, order=true_order)
    tp, cv = simulate_markov_journeys(20_000, **spec.as_kwargs(), seed=DATA_SEED)
    journeys = build_journeys(tp, cv)
    started = time.perf_counter()
    fit = Markov(order="auto").fit(journeys)
    assert time.perf_counter() - started < 5.0
    assert fit.order == true_order
    selection = fit.order_selection
    assert selection is not None
    assert [s["order"] for s in selection.scores] == [1, 2, 3, 4]
    best = max(selection.scores, key=lambda s: s["log_likelihood"])
    assert best["order"] == true_order
    assert selection.test_journeys == pytest.approx(0.3 * 20_000, rel=0.05)
    assert selection.train_journeys + selection.test_journeys == 20_000
    # The chosen order is then fit on all journeys: same effects as asking for it.
    fixed = Markov(order=true_order).removal_effects(journeys)
    assert fit.removal_effects.equals(fixed)


def test_selection_is_reproducible_and_seeded() -> None:
    spec = random_chain(4, seed=3, order=2)
    tp, cv = simulate_markov_journeys(3_000, **spec.as_kwargs(), seed=1)
    journeys = build_journeys(tp, cv)
    a = Markov(order="auto", max_order=2).select_order(journeys)
    b = Markov(order="auto", max_order=2).select_order(journeys)
    c = Markov(order="auto", max_order=2, holdout_seed=1).select_order(journeys)
    assert a == b
    assert a.scores != c.scores


def test_aggregated_paths_split_their_counts() -> None:
    table = pl.DataFrame(
        {
            "path": ["A > B", "B > A", "A", "B"],
            "total_conversions": [300, 20, 10, 100],
            "total_null": [100, 400, 300, 200],
        }
    )
    selection = Markov(order="auto", max_order=2).select_order(journeys_from_paths(table))
    assert selection.train_journeys + selection.test_journeys == 1_430
    assert selection.test_journeys == pytest.approx(0.3 * 1_430, rel=0.15)
    assert selection.note == ""


def test_too_few_persons_fall_back_to_order_1() -> None:
    table = pl.DataFrame({"path": ["A > B"], "total_conversions": [1]})
    selection = Markov(order="auto").select_order(journeys_from_paths(table))
    assert selection.chosen == 1
    assert "Too few persons" in selection.note


def test_back_off_scores_unseen_transitions_finitely() -> None:
    train = pl.DataFrame({"path": [["A"]], "conversions": [1.0], "nulls": [1.0]})
    test = pl.DataFrame({"path": [["B", "C"]], "conversions": [1.0], "nulls": [0.0]})
    scores = held_out_log_likelihoods(train, test, max_order=3)
    assert all(math.isfinite(s) and s < 0 for s in scores)


def test_explain_reports_the_scores() -> None:
    spec = random_chain(3, seed=1)
    tp, cv = simulate_markov_journeys(2_000, **spec.as_kwargs(), seed=2)
    explained = Markov(order="auto", max_order=2).explain(build_journeys(tp, cv), top=3)
    selection = explained["order_selection"]
    assert selection["chosen"] == explained["order"]
    assert {s["order"] for s in selection["scores"]} == {1, 2}
    assert len(explained["top_transitions"]) == 3


def test_order_parameter_from_strings() -> None:
    assert get_model("markov", order="2").order == 2  # type: ignore[attr-defined]
    assert get_model("markov", order="auto").order == "auto"  # type: ignore[attr-defined]
    assert get_model("markov", order=3).order == 3  # type: ignore[attr-defined]
    with pytest.raises(ParameterError, match="integer from 1 to 4 or 'auto'"):
        get_model("markov", order="best")
    with pytest.raises(ParameterError, match="integer from 1 to 4"):
        get_model("markov", order="7")
    with pytest.raises(ParameterError, match="'order' parameter of model 'markov'"):
        get_model("markov", order=2.5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_order": 5}, "max_order"),
        ({"holdout": 1.0}, "holdout"),
        ({"holdout": 0}, "holdout"),
        ({"holdout_seed": "x"}, "holdout_seed"),
    ],
)
def test_bad_auto_parameters(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Markov(order="auto", **params)  # type: ignore[arg-type]
