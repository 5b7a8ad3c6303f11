"""Plans across models: the robust plan against hand-worked optima, ground truth and invariants.

Hand-worked cases use power curves ``f(x) = s·√x``, whose optima have closed
forms. The ground-truth case fits curves on generated weekly data credited
three ways (three "models" that share one spend history and split the same
true revenue differently). The invariants run on random Michaelis–Menten
curves (Hypothesis).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.budget import CurveSet
from attribution.budget.analysis import curves_from_panel
from attribution.budget.curves import ResponseCurve, _example_weeks, curve_value, fit_curve
from attribution.budget.robust import MultiPlan, maximin, plan_across_models
from attribution.errors import ParameterError

FREE: dict[str, Any] = {"max_change": None, "allow_zero": True}
"""No guard rails: the solver alone."""

BASE = fit_curve("A", *_example_weeks())
"""A fitted curve whose every field but the shape is reused by the hand-made curves."""


def curve(key: str, kind: str, params: dict[str, float], evidence: bool = True) -> ResponseCurve:
    return ResponseCurve(
        **{
            **BASE.__dict__,
            "key": key,
            "kind": kind,
            "params": params,
            "evidence": evidence,
            "reason": None if evidence else "flat fit: made up for the test",
            "draws": np.zeros((0, len(params))),
        }
    )


def root(key: str, scale: float) -> ResponseCurve:
    return curve(key, "power", {"scale": scale, "exponent": 0.5})


def curve_set(curves: dict[str, ResponseCurve], current: dict[str, float]) -> CurveSet:
    panel = pl.DataFrame(
        {"channel": list(current), "week": [dt.date(2024, 1, 1)] * len(current)}
    ).with_columns(spend=pl.lit(1.0), revenue=pl.lit(1.0), days=pl.lit(7), used=pl.lit(True))
    return CurveSet(
        by="channel",
        curves=curves,
        current=current,
        revenue={k: float(c.predict(current[k])) for k, c in curves.items()},
        largest={k: 100.0 * max(v, 1.0) for k, v in current.items()},
        panel=panel,
        meta={"model": "made up", "stage": "purchase", "curve": "power"},
    )


def two_models(a: tuple[float, float], b: tuple[float, float]) -> dict[str, CurveSet]:
    """Two models of two channels, ``s·√x`` with model A's scales ``a`` and B's ``b``."""
    current = {"One": 4.0, "Two": 4.0}
    return {
        "A": curve_set({"One": root("One", a[0]), "Two": root("Two", a[1])}, current),
        "B": curve_set({"One": root("One", b[0]), "Two": root("Two", b[1])}, current),
    }


def spend(plan: MultiPlan, name: str = "robust") -> dict[str, float]:
    rows = plan.side_by_side.select("channel", name).rows()
    return {k: float(v) for k, v in rows}


def test_maximin_where_the_models_cross() -> None:
    # A believes in channel One (2√x₁ + √x₂), B in Two (√x₁ + 2√x₂); budget 10 from (4, 4).
    # Each model alone: x₁/x₂ = (s₁/s₂)², so A funds (8, 2) and B (2, 8). By symmetry both
    # gains are equal at (5, 5), and moving either way raises one and lowers the other:
    # the worst case is best there, where each model expects 3√5 (from 6 now: +0.708).
    plan = plan_across_models(two_models((2.0, 1.0), (1.0, 2.0)), 10.0, **FREE)
    assert spend(plan, "A") == pytest.approx({"One": 8.0, "Two": 2.0}, abs=1e-3)
    assert spend(plan, "B") == pytest.approx({"One": 2.0, "Two": 8.0}, abs=1e-3)
    assert spend(plan) == pytest.approx({"One": 5.0, "Two": 5.0}, abs=1e-3)
    gain = 3 * math.sqrt(5) - 6.0
    assert plan.totals["worst_change"] == pytest.approx(gain, abs=1e-6)
    # Each model's own plan is worse in the worst case: 3√8 − 6 = +2.485 for it, √8 + 2√2 − 6
    # = −0.343 for the other.
    worst = dict(plan.matrix.select("plan", "worst_change").rows())
    assert worst["A"] == pytest.approx(2 * math.sqrt(8) - 6.0, abs=1e-3)
    assert worst["robust"] > worst["A"]
    # Regret against A's optimum: 5√2 − 3√5, under A's curves.
    assert plan.totals["regret"]["A"] == pytest.approx(5 * math.sqrt(2) - 3 * math.sqrt(5))


def test_maximin_is_the_pessimistic_models_optimum_when_it_stays_the_worse() -> None:
    # A: 3√x₁ + √x₂, B: √x₁ + √x₂, budget 8 from (4, 4). B's optimum is (4, 4), where B
    # gains 0 and A gains 0 too; A's optimum (7.2, 0.8) loses B 4 − (√7.2 + √0.8) = 0.42.
    # Moving from (4, 4) toward A's optimum raises A and lowers B: B stays the worse, so the
    # maximin plan is B's own, the current allocation.
    plan = plan_across_models(two_models((3.0, 1.0), (1.0, 1.0)), 8.0, **FREE)
    assert spend(plan, "A") == pytest.approx({"One": 7.2, "Two": 0.8}, abs=1e-3)
    assert spend(plan) == pytest.approx({"One": 4.0, "Two": 4.0}, abs=1e-3)
    assert plan.totals["worst_change"] == pytest.approx(0.0, abs=1e-6)
    assert plan.totals["regret"]["B"] == pytest.approx(0.0, abs=1e-6)


def test_mean_objective_funds_the_mean_curve() -> None:
    # The mean of A (3√x₁ + √x₂) and B (√x₁ + √x₂) is 2√x₁ + √x₂: x₁/x₂ = 4, so (6.4, 1.6).
    plan = plan_across_models(two_models((3.0, 1.0), (1.0, 1.0)), 8.0, robust="mean", **FREE)
    assert spend(plan) == pytest.approx({"One": 6.4, "Two": 1.6}, abs=1e-3)
    assert plan.meta["robust"] == "mean"
    mean = dict(plan.matrix.select("plan", "mean_change").rows())
    assert mean["robust"] >= max(mean["A"], mean["B"]) - 1e-9


def test_maximin_function_hand_case() -> None:
    x = maximin(
        [[root("One", 2.0), root("Two", 1.0)], [root("One", 1.0), root("Two", 2.0)]],
        np.zeros(2),
        np.zeros(2),
        np.full(2, 10.0),
        10.0,
    )
    assert x == pytest.approx([5.0, 5.0], abs=1e-4)


def test_a_channel_held_under_one_model_is_held_in_the_robust_plan() -> None:
    models = two_models((2.0, 1.0), (1.0, 2.0))
    held = {
        **models["B"].curves,
        "Two": curve("Two", "power", {"scale": 2.0, "exponent": 0.5}, False),
    }
    models["B"] = curve_set(held, models["B"].current)
    plan = plan_across_models(models, 10.0, **FREE)
    rows = {r["channel"]: r for r in plan.robust.to_dicts()}
    assert rows["Two"]["status"] == "not enough evidence"
    assert rows["Two"]["held_by"] == "B"
    assert rows["Two"]["recommended_spend"] == pytest.approx(4.0)
    assert rows["One"]["recommended_spend"] == pytest.approx(6.0)  # the rest of the budget
    assert any("'Two' (held under B: flat fit" in w for w in plan.warnings)


def test_the_matrix_scores_every_plan_under_every_model() -> None:
    models = two_models((2.0, 1.0), (1.0, 2.0))
    plan = plan_across_models(models, 130.0, period="quarter", **FREE)  # 10 a week
    matrix = {r["plan"]: r for r in plan.matrix.to_dicts()}
    assert list(matrix) == ["current", "A", "B", "robust"]
    # A's plan (8, 2) under B's curves, over a 13-week quarter: 13 · (√8 + 2√2).
    assert matrix["A"]["B"] == pytest.approx(13 * (math.sqrt(8) + 2 * math.sqrt(2)), rel=1e-4)
    assert matrix["current"]["A"] == pytest.approx(13 * 6.0)
    assert matrix["robust"]["spend"] == pytest.approx(130.0)


def test_errors_name_the_model_and_the_objective() -> None:
    models = two_models((2.0, 1.0), (1.0, 2.0))
    with pytest.raises(ParameterError, match="two models or more"):
        plan_across_models({"A": models["A"]}, 10.0)
    with pytest.raises(ParameterError, match="'robust' parameter must be worst or mean"):
        plan_across_models(models, 10.0, robust="best")
    with pytest.raises(ParameterError, match=r"^Under the A curves: Bounds that cannot hold"):
        plan_across_models(models, 10.0, minimum={"One": 20.0}, maximum={"One": 10.0}, **FREE)


# Ground truth: one spend history, true Hill curves, revenue credited three ways.
TRUE_CURVES = {
    # channel: (top, half, shape, base weekly spend)
    "Search": (60_000.0, 8_000.0, 1.0, 6_000.0),
    "Display": (40_000.0, 6_000.0, 1.0, 5_000.0),
    "Video": (30_000.0, 4_000.0, 1.0, 1_500.0),
}
CREDIT = {  # each model's share of each channel's true revenue, as models disagree
    "first": {"Search": 1.2, "Display": 0.8, "Video": 1.0},
    "last": {"Search": 0.8, "Display": 1.3, "Video": 0.9},
    "even": {"Search": 1.0, "Display": 1.0, "Video": 1.1},
}


@pytest.fixture(scope="module")
def credited_three_ways() -> dict[str, CurveSet]:
    rng = np.random.default_rng(11)
    weeks = 52
    spend = {
        c: base * np.exp(rng.normal(0.0, 0.45, weeks)) for c, (*_, base) in TRUE_CURVES.items()
    }
    noise = {c: np.exp(rng.normal(0.0, 0.06, weeks)) for c in TRUE_CURVES}
    sets = {}
    for model, share in CREDIT.items():
        rows = [
            {
                "channel": c,
                "week": dt.date(2024, 1, 1) + dt.timedelta(weeks=w),
                "spend": float(spend[c][w]),
                "revenue": float(
                    share[c] * curve_value("hill", spend[c][w], (top, half, shape)) * noise[c][w]
                ),
            }
            for c, (top, half, shape, _) in TRUE_CURVES.items()
            for w in range(weeks)
        ]
        sets[model] = curves_from_panel(
            pl.DataFrame(rows), resamples=0, current_weeks=8, decay=0.0, pool=False
        )
    return sets


@pytest.mark.parametrize("rails", [FREE, {}], ids=["no-rail", "default-rail"])
def test_robust_worst_case_beats_every_models_plan(
    credited_three_ways: dict[str, CurveSet], rails: dict[str, Any]
) -> None:
    assert all(s.status(c) == "curve" for s in credited_three_ways.values() for c in TRUE_CURVES)
    budget = 1.1 * sum(next(iter(credited_three_ways.values())).current.values())
    plan = plan_across_models(credited_three_ways, budget, **rails)
    worst = dict(plan.matrix.select("plan", "worst_change").rows())
    for model in CREDIT:
        assert worst["robust"] >= worst[model] - 1e-6 * abs(worst[model]), (model, worst)
        assert plan.totals["regret"][model] >= -1e-6 * budget
    assert plan.robust["recommended_spend"].sum() == pytest.approx(budget)
    # The models disagree: their plans differ, so the robust plan is a real compromise.
    plans = {m: spend(plan, m) for m in CREDIT}
    assert plans["first"]["Search"] > plans["last"]["Search"]


def test_robust_mean_beats_every_models_plan_on_average(
    credited_three_ways: dict[str, CurveSet],
) -> None:
    plan = plan_across_models(credited_three_ways, robust="mean", **FREE)
    mean = dict(plan.matrix.select("plan", "mean_change").rows())
    assert all(mean["robust"] >= mean[m] - 1e-6 * abs(mean[m]) for m in CREDIT), mean


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[dict[str, CurveSet], float, float | None]:
    n_channels = draw(st.integers(2, 4))
    n_models = draw(st.integers(2, 3))
    money = st.floats(100.0, 10_000.0)
    current = {f"C{i}": draw(money) for i in range(n_channels)}
    sets = {}
    for m in range(n_models):
        curves = {
            k: curve(k, "hill", {"top": draw(money) * 5, "half": draw(money), "shape": 1.0})
            for k in current
        }
        sets[f"M{m}"] = curve_set(curves, current)
    factor = draw(st.floats(0.75, 1.25))
    max_change = draw(st.sampled_from([0.3, 0.5, None]))
    return sets, factor * sum(current.values()), max_change


@settings(max_examples=25, deadline=None, derandomize=True)
@given(portfolios())
def test_robust_plan_spends_the_budget_within_the_rails(
    case: tuple[dict[str, CurveSet], float, float | None],
) -> None:
    sets, budget, max_change = case
    plan = plan_across_models(sets, budget, max_change=max_change)
    rows = plan.robust.to_dicts()
    reachable = sum(r["upper"] for r in rows)
    assert sum(r["recommended_spend"] for r in rows) == pytest.approx(min(budget, reachable))
    for r in rows:
        tol = 1e-6 * max(r["upper"], 1.0)
        assert r["lower"] - tol <= r["recommended_spend"] <= r["upper"] + tol
        if max_change is not None:
            assert abs(r["change"]) <= max_change * r["current_spend"] + tol
        assert r["recommended_spend"] >= 0.1 * r["current_spend"] - tol  # the zero floor
    worst = dict(plan.matrix.select("plan", "worst_change").rows())
    assert all(worst["robust"] >= worst[m] - 1e-6 * max(abs(worst[m]), 1.0) for m in sets)


def test_many_models_show_a_row_per_plan() -> None:
    current = {"One": 4.0, "Two": 4.0}
    models = {
        f"M{i}": curve_set({"One": root("One", 1.0 + i), "Two": root("Two", 1.0)}, current)
        for i in range(5)
    }
    table = plan_across_models(models, 8.0, **FREE).to_table().splitlines()
    assert table[2].split("┆")[0].strip("│ ") == "plan"
    assert [line.split("┆")[1].strip() for line in table[2:3]] == ["One"]
    plans = [line.split("┆")[0].strip("│ ") for line in table[4:11]]
    assert plans == ["current", "M0", "M1", "M2", "M3", "M4", "robust"]
    few = plan_across_models(dict(list(models.items())[:2]), 8.0, **FREE).to_table().splitlines()
    assert " M0 % " in few[2]


def test_a_budget_the_robust_holds_cannot_cover_is_an_error() -> None:
    # A holds One, B holds Two: each model alone can cut the other channel to its -30% rail
    # (4 + 2.8 = 6.8 ≤ 7 a week), but the robust plan holds both at 4: 8 > 7.
    models = two_models((2.0, 1.0), (1.0, 2.0))
    flat = {"scale": 2.0, "exponent": 0.5}
    models["A"] = curve_set({**models["A"].curves, "One": curve("One", "power", flat, False)},
                            models["A"].current)  # fmt: skip
    models["B"] = curve_set({**models["B"].curves, "Two": curve("Two", "power", flat, False)},
                            models["B"].current)  # fmt: skip
    with pytest.raises(ParameterError) as caught:
        plan_across_models(models, 7.0)
    assert str(caught.value) == (
        "The robust plan keeps the channels any model holds, and locked ones, at their current "
        "spend ('One' 4 per week, 'Two' 4 per week), and the budget of 7 per week cannot cover "
        "them with the other channels' minimums. Raise the budget, or plan with fewer models "
        "(--models)."
    )
