"""Plans across attribution models: each model's plan side by side, and one robust plan.

Each attribution model credits revenue differently, so each gives different
response curves and a different plan. Showing one of them as *the* plan hides
that the answer depends on a modelling choice. :func:`plan_across_models`
takes the curves fitted under several models (one
:class:`~attribution.budget.analysis.CurveSet` each) and returns:

- each model's own plan (:func:`~attribution.budget.plan.plan_budget`, same
  budget, period, rails, bounds and locks);
- a **robust plan**: the allocation, under the same budget and bounds, that
  maximises the **worst case** across the models (default, ``"worst"``) or
  their **mean** (``"mean"``);
- the **matrix**: the predicted revenue of every plan (and of the current
  allocation) under every model's curves, so each plan can be read under
  the assumptions of the others; and the robust plan's **regret** against
  each model's own optimum.

The worst case is taken over each model's predicted **revenue change** from
the current allocation, ``gᵐ(x) = Σᶜ fᶜᵐ(xᶜ) − Σᶜ fᶜᵐ(currentᶜ)``. The
levels of the models' revenue differ for reasons no plan can change (how much
credit each gives the channels without spend, such as Direct); a maximin on
levels would always follow the model that credits paid channels least and
ignore the others. The change is what the plan decides, and ranking
allocations by their worst change is the same as ranking them by their worst
revenue measured from each model's own baseline. For the mean the two are the
same problem.

The robust plan solves ``max_x minₘ gᵐ(x)`` subject to ``Σ x = budget`` and
``lower ≤ x ≤ upper`` in its epigraph form, ``max t`` subject to
``gᵐ(x) ≥ t`` for every model, with SLSQP
(:func:`scipy.optimize.minimize`). With concave curves each ``gᵐ`` is
concave and so is their minimum: a local optimum is global. Hill curves can
be S-shaped, so the solver starts from every model's own plan, the mean plan
and random points, and keeps the best; as every start is itself a candidate,
the robust plan's worst case is never below that of any model's plan it can
reach. The mean objective is separable and solved like a single model's plan
(:func:`~attribution.budget.plan.optimise` on the mean curve).

A channel any model holds (not enough evidence under its curves) or the user
locks stays at its current spend in the robust plan, and the plan says which
model held it and why: a move that one model cannot support is not robust.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from attribution.budget.analysis import CurveSet
from attribution.budget.curves import ResponseCurve
from attribution.budget.period import DEFAULT_PERIOD, Period
from attribution.budget.plan import (
    DEFAULT_CAP_MULTIPLE,
    DEFAULT_CI,
    DEFAULT_MAX_CHANGE,
    BudgetPlan,
    _bounds,
    _Channel,
    _project,
    _rails,
    optimise,
    plan_budget,
)
from attribution.errors import ParameterError
from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.numbers import format_number

FloatArray = np.ndarray

ROBUST_OBJECTIVES = ("worst", "mean")
"""What the robust plan maximises across the models: the worst case or the mean."""

DEFAULT_ROBUST = "worst"
"""The robust plan maximises the worst case across the models unless told otherwise."""

DEFAULT_MODELS = ("markov", "linear", "position_based")
"""Models a plan is made under by default: the data-driven one and two rule-based ones."""

ROBUST_COLUMNS = (
    "status", "held_by", "current_spend", "recommended_spend", "change", "change_pct",
    "current_weekly", "recommended_weekly", "lower", "upper", "binding", "held_reason",
)  # fmt: skip
"""Columns of the robust plan's rows after the key column."""

_ROBUST_MONEY = ("current_spend", "recommended_spend", "change", "lower", "upper")

WIDE_MODELS = 4
"""Above this many models the table shows a row per plan, not a column (JSON and CSV keep both)."""

RANDOM_STARTS = 4
"""Random starting points of the robust solver, besides the models' plans and the mean plan."""


@dataclass(frozen=True)
class MultiPlan:
    """Each model's plan, the robust plan across them, and every plan's revenue under every model.

    Attributes
    ----------
    by
        ``channel`` or ``campaign``.
    models
        The models, in the order given.
    plans
        Each model's own plan.
    robust
        The robust plan's rows (key and :data:`ROBUST_COLUMNS`, amounts in
        the period's money).
    side_by_side
        One row per key with spend: current spend, each model's recommended
        spend and change, the robust plan's.
    matrix
        One row per plan (``current`` first, each model, ``robust``): its
        total spend and predicted revenue under each model's curves, and its
        change from ``current`` in the worst case and on average across the
        models (``worst_change``, ``mean_change``), all in the period's money.
    totals
        The robust plan's budget, spend, revenue under each model, its worst
        and mean change from now, and its regret against each model's optimum.
    warnings
        What the user should know about the robust plan.
    meta
        What the plans were computed with.
    """

    by: str
    models: tuple[str, ...]
    plans: dict[str, BudgetPlan]
    robust: pl.DataFrame
    side_by_side: pl.DataFrame
    matrix: pl.DataFrame
    totals: dict[str, Any]
    warnings: list[str]
    meta: dict[str, Any]

    def to_dict(self, points: bool = True) -> dict[str, Any]:
        """Return JSON-ready data: the side-by-side rows, each plan, the robust plan, the matrix."""
        body: dict[str, Any] = json_ready(
            {
                **self.meta,
                "by": self.by,
                "models": list(self.models),
                "data": self.side_by_side.to_dicts(),
                "plans": {m: p.to_dict(points=points) for m, p in self.plans.items()},
                "robust": {
                    "objective": self.meta["robust"],
                    "data": self.robust.to_dicts(),
                    "totals": self.totals,
                    "warnings": self.warnings,
                },
                "matrix": self.matrix.to_dicts(),
                "warnings": self.warnings,
            }
        )
        return body

    def to_csv(self) -> str:
        """Return the side-by-side rows as RFC 4180 CSV (header row, CRLF line ends)."""
        return rfc4180_csv(self.side_by_side)

    def to_table(self) -> str:
        """Return the plans side by side, the matrix under them, the regret and the warnings."""
        period = self.meta["period"]
        currency = self.meta.get("currency")
        per = f"{currency} per {period}" if currency else f"per {period}"
        rail = self.meta.get("max_change")
        rails = f"±{rail:.0%} rail" if rail is not None else "no rail"
        objective = "worst case" if self.meta["robust"] == "worst" else "mean"
        # Columns are named by what they hold (money, %), so the one number style applies;
        # the labels are what the table shows.
        plans = [*self.models, "robust"]
        spends = {plan: f"{plan}_spend" for plan in plans}
        labels = {"current_spend": "spend now", **{v: k for k, v in spends.items()}}
        labels.update({f"{plan}_change_pct": f"{plan} %" for plan in plans})
        shown = self.side_by_side.drop("held_by").rename(spends)
        if len(self.models) > WIDE_MODELS:
            shown = self._plans_as_rows()
            labels = {f"{key}_spend": key for key in self.side_by_side[self.by].to_list()}
        revenues = {m: f"{m}_revenue" for m in self.models}
        matrix = self.matrix.rename(revenues)
        matrix_labels = {
            **{v: k for k, v in revenues.items()},
            "worst_change": "worst change",
            "mean_change": "mean change",
        }
        t = self.totals

        def money(value: float, *, signed: bool = False) -> str:
            return format_number(value, "money", currency, signed=signed)

        regret = ", ".join(
            f"{m} {money(t['regret'][m])} ({format_number(t['regret_pct'][m], 'percent')})"
            for m in self.models
        )
        lines = [
            f"budget plan across {len(self.models)} models · stage {self.meta.get('stage')} · "
            f"by {self.by} · {self.meta.get('curve')} curves · {rails} · robust: {objective} · "
            f"{per}",
            text_table(shown, currency=currency, labels=labels, text_width=40),
            f"predicted revenue of each plan (rows) under each model's curves (columns), {per}:",
            text_table(matrix, currency=currency, labels=matrix_labels, text_width=40),
            f"robust plan ({objective} across models): change from now "
            f"{money(t['worst_change'], signed=True)} in the worst case ({t['worst_model']}), "
            f"{money(t['mean_change'], signed=True)} on average; regret against each model's "
            f"own plan: {regret}",
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()

    def _plans_as_rows(self) -> pl.DataFrame:
        """Return one row per plan (``current``, each model, ``robust``), a column per key.

        With many models a column per model no longer fits a terminal; the
        keys with spend are few, so the table turns (JSON and CSV keep the
        side-by-side rows, with the changes in %).
        """
        columns = ["current_spend", *self.models, "robust"]
        keys = [f"{key}_spend" for key in self.side_by_side[self.by].to_list()]
        values = self.side_by_side.select(columns).transpose(column_names=keys)
        plans = ["current", *self.models, "robust"]
        return values.insert_column(0, pl.Series("plan", plans))


@dataclass(frozen=True)
class _MeanCurve:
    """The mean of one channel's curves under several models (the mean objective is separable)."""

    curves: tuple[ResponseCurve, ...]

    def predict(self, spend: FloatArray | float) -> FloatArray:
        return np.asarray(sum(c.predict(spend) for c in self.curves) / len(self.curves))

    def marginal_roas(self, spend: FloatArray | float) -> FloatArray:
        return np.asarray(sum(c.marginal_roas(spend) for c in self.curves) / len(self.curves))


def check_objective(objective: str) -> str:
    """Return ``objective`` if it is ``worst`` or ``mean``; anything else is an error.

    Examples
    --------
    >>> check_objective("mean")
    'mean'
    >>> check_objective("best")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'robust' parameter must be worst or mean. Got 'best' ...
    """
    if objective not in ROBUST_OBJECTIVES:
        raise ParameterError(
            f"The 'robust' parameter must be {' or '.join(ROBUST_OBJECTIVES)}. "
            f"Got {objective!r} instead."
        )
    return objective


def maximin(
    curves: Sequence[Sequence[ResponseCurve]],
    baseline: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    total: float,
    *,
    starts: Iterable[FloatArray] = (),
    seed: int = 0,
) -> FloatArray:
    """Maximise ``minₘ Σᶜ fᶜᵐ(xᶜ) − baselineₘ`` subject to ``Σ x = total`` and the bounds.

    ``curves[m][c]`` is channel ``c``'s curve under model ``m``. Solved in
    epigraph form (``max t`` with ``gᵐ(x) ≥ t``) by SLSQP from each of
    ``starts`` (projected onto the bounds and the budget), the bounds' centre
    and :data:`RANDOM_STARTS` random points; the start or solution with the
    best worst case wins.

    Examples
    --------
    Two channels, two models, ``f(x) = 2√x`` for the channel a model believes
    in and ``√x`` for the other: model A believes in channel 1, model B in
    channel 2. Each model alone would put 80% of the budget of 10 on its
    channel; the worst case is best at an even split, where both models
    expect ``3√5 ≈ 6.71``:

    >>> from attribution.budget.curves import _example_weeks, fit_curve
    >>> base = fit_curve("A", *_example_weeks())
    >>> def root(top):  # power curve: scale · x^0.5
    ...     return ResponseCurve(**{**base.__dict__, "kind": "power",
    ...         "params": {"scale": top, "exponent": 0.5}})
    >>> x = maximin([[root(2.0), root(1.0)], [root(1.0), root(2.0)]], np.zeros(2),
    ...     np.zeros(2), np.full(2, 10.0), 10.0)
    >>> x.round(3).tolist()
    [5.0, 5.0]
    """
    from scipy.optimize import minimize  # slow to import: only when used

    n_models = len(curves)
    n = len(curves[0]) if curves else 0
    if n == 0:
        return np.zeros(0)
    if total <= lower.sum() + 1e-9:
        return lower.copy()
    if total >= upper.sum() - 1e-9:
        return upper.copy()
    scale = max(total, 1e-9)
    lo, hi = lower / scale, upper / scale
    norm = max(
        max(sum(float(f.predict(u)) for f, u in zip(fs, upper, strict=True)) for fs in curves),
        1e-9,
    )

    def gains(u: FloatArray) -> FloatArray:
        x = u * scale
        return np.array(
            [
                sum(float(f.predict(v)) for f, v in zip(fs, x, strict=True)) - baseline[m]
                for m, fs in enumerate(curves)
            ]
        )

    def slopes(u: FloatArray) -> FloatArray:
        x = u * scale
        return np.array(
            [
                [float(f.marginal_roas(v)) * scale for f, v in zip(fs, x, strict=True)]
                for fs in curves
            ]
        )

    candidates = [_project(np.asarray(s, dtype=float) / scale, lo, hi, 1.0) for s in starts]
    candidates.append(_project(0.5 * (lo + hi), lo, hi, 1.0))
    rng = np.random.default_rng(seed)
    candidates += [_project(rng.dirichlet(np.ones(n)), lo, hi, 1.0) for _ in range(RANDOM_STARTS)]
    best = candidates[0]
    best_value = float(gains(best).min())
    constraints = [
        {"type": "eq", "fun": lambda z: np.sum(z[:n]) - 1.0,
         "jac": lambda z: np.append(np.ones(n), 0.0)},
        {"type": "ineq", "fun": lambda z: gains(z[:n]) / norm - z[n],
         "jac": lambda z: np.hstack([slopes(z[:n]) / norm, -np.ones((n_models, 1))])},
    ]  # fmt: skip
    objective_grad = np.append(np.zeros(n), -1.0)
    for start in candidates:
        value = float(gains(start).min())
        if value > best_value + 1e-12:
            best, best_value = start, value
        result = minimize(
            lambda z: -z[n], np.append(start, value / norm), jac=lambda z: objective_grad,
            method="SLSQP", bounds=[*zip(lo, hi, strict=True), (None, None)],
            constraints=constraints, options={"maxiter": 300, "ftol": 1e-12},
        )  # fmt: skip
        x = _project(np.asarray(result.x[:n], dtype=float), lo, hi, 1.0)
        value = float(gains(x).min())
        if value > best_value + 1e-12:
            best, best_value = x, value
    return np.asarray(best * scale, dtype=float)


def _held_by(
    curvesets: Mapping[str, CurveSet], keys: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """Per key, the models that hold it (not enough evidence under their curves) and why."""
    held: dict[str, list[tuple[str, str]]] = {}
    for model, curves in curvesets.items():
        for key in keys:
            curve = curves.curves.get(key)
            if curve is not None and not curve.evidence:
                held.setdefault(key, []).append((model, curve.reason or "not enough evidence"))
    return held


def _model_plans(
    curvesets: Mapping[str, CurveSet], budget: float | None, options: dict[str, Any]
) -> dict[str, BudgetPlan]:
    """Each model's own plan; an error names the model whose curves it came from."""
    plans = {}
    for model, curves in curvesets.items():
        try:
            plans[model] = plan_budget(curves, budget, **options)
        except ParameterError as exc:
            others = [m for m in curvesets if m != model]
            leave_out = (
                f" Or plan without {model}: --models {','.join(others)}."
                if len(others) >= 2
                else ""
            )
            raise ParameterError(f"Under the {model} curves: {exc}{leave_out}") from exc
    return plans


def plan_across_models(
    curvesets: Mapping[str, CurveSet],
    budget: float | None = None,
    *,
    robust: str = DEFAULT_ROBUST,
    period: str = DEFAULT_PERIOD,
    minimum: Mapping[str, float | str] | None = None,
    maximum: Mapping[str, float | str] | None = None,
    locks: Iterable[str] = (),
    max_change: float | None = DEFAULT_MAX_CHANGE,
    allow_zero: bool | Iterable[str] = False,
    cap_multiple: float = DEFAULT_CAP_MULTIPLE,
    threshold: float | None = None,
    ci: float = DEFAULT_CI,
    seed: int = 0,
) -> MultiPlan:
    """Plan under each model's curves and find the plan that is robust across them.

    Parameters
    ----------
    curvesets
        The curves fitted under each model, by model name (two or more).
    budget
        Total budget of one ``period``; default the current total.
    robust
        ``worst`` (default): the robust plan maximises the worst case across
        the models of the predicted revenue change from now; ``mean``: their
        mean.
    period, minimum, maximum, locks, max_change, allow_zero, cap_multiple, threshold, ci, seed
        As in :func:`~attribution.budget.plan.plan_budget`, for every plan.

    Returns
    -------
    MultiPlan

    Examples
    --------
    Two models that credit the example channel differently (the second gives
    it 80% of the first's revenue): both plans, and the robust one, grow it
    to the rail.

    >>> from attribution.budget.analysis import _example_frames, response_curves
    >>> from attribution.budget.calibrate import calibrate_curves
    >>> first = response_curves(*_example_frames(), resamples=0)
    >>> second = calibrate_curves(first, {"Search": 0.8}, {"tests": 1})
    >>> both = plan_across_models({"a": first, "b": second}, budget=1200.0)
    >>> both.side_by_side.select("channel", "a", "b", "robust").rows()
    [('Search', 1170.0, 1170.0, 1170.0)]
    >>> both.matrix.select("plan", "a", "b").rows()[0]  # 6,000 · 900 / 1,900, and 80% of it
    ('current', 2842.105..., 2273.684...)
    """
    check_objective(robust)
    locks = list(locks)
    if len(curvesets) < 2:
        raise ParameterError(
            f"A plan across models needs two models or more; got {len(curvesets)}. "
            "For one model's plan use --model NAME (API: model)."
        )
    models = tuple(curvesets)
    first = curvesets[models[0]]
    by = first.by
    options: dict[str, Any] = {
        "period": period, "minimum": minimum, "maximum": maximum, "locks": locks,
        "max_change": max_change, "allow_zero": allow_zero, "cap_multiple": cap_multiple,
        "threshold": threshold, "ci": ci, "seed": seed,
    }  # fmt: skip
    plans = _model_plans(curvesets, budget, options)
    per = Period.of(period)
    rails = _rails(period, max_change, allow_zero)
    channels = _bounds(first, minimum or {}, maximum or {}, locks, cap_multiple, rails, [])
    keys = sorted(set().union(*(set(c.keys) for c in curvesets.values())))
    held = _held_by(curvesets, [c.key for c in channels])
    planned = [c for c in channels if c.status == "planned" and c.key not in held]
    fixed = {c.key: c.current for c in channels if c not in planned}
    weekly_budget = plans[models[0]].totals["budget_weekly"]
    spend = _robust_spend(curvesets, planned, fixed, weekly_budget, robust, plans, per, seed)
    warnings = _robust_warnings(curvesets, channels, planned, held, spend, weekly_budget, per)
    robust_rows = _robust_rows(by, channels, planned, held, spend, per)
    allocations = {
        "current": {c.key: c.current for c in channels},
        **{m: _plan_spend(p) for m, p in plans.items()},
        "robust": spend,
    }
    matrix = _matrix(curvesets, keys, allocations, per)
    totals = _totals(matrix, models, weekly_budget, per, spend)
    side = _side_by_side(by, models, plans, robust_rows)
    meta = {
        **{k: v for k, v in first.meta.items() if k not in ("model", "params")},
        "models": list(models),
        "params": {m: c.meta.get("params") for m, c in curvesets.items()},
        "robust": robust,
        "period": per.name,
        "weeks_per_period": per.weeks,
        "max_change": max_change,
        "allow_zero": (
            rails.allow_zero if isinstance(rails.allow_zero, bool) else sorted(rails.allow_zero)
        ),
        "cap_multiple": cap_multiple,
        "threshold": threshold,
    }
    return MultiPlan(by, models, plans, robust_rows, side, matrix, totals, warnings, meta)


def _plan_spend(plan: BudgetPlan) -> dict[str, float]:
    return dict(
        zip(plan.data[plan.by].to_list(), plan.data["recommended_weekly"].to_list(), strict=True)
    )


def _robust_spend(
    curvesets: Mapping[str, CurveSet],
    planned: list[_Channel],
    fixed: dict[str, float],
    weekly_budget: float,
    robust: str,
    plans: Mapping[str, BudgetPlan],
    per: Period,
    seed: int,
) -> dict[str, float]:
    """Return the robust plan's weekly spend per channel (held, locked and fixed ones stay put)."""
    spend = dict(fixed)
    lower = np.array([c.lower for c in planned])
    upper = np.array([c.upper for c in planned])
    total = min(weekly_budget, upper.sum() + sum(fixed.values())) - sum(fixed.values())
    if total < lower.sum() - 1e-6 * max(weekly_budget, 1.0):
        parts = ", ".join(f"'{k}' {per.money(v)}" for k, v in fixed.items() if v > 0)
        raise ParameterError(
            "The robust plan keeps the channels any model holds, and locked ones, at their "
            f"current spend ({parts}), "
            f"and the budget of {per.money(weekly_budget)} cannot cover them with the other "
            "channels' minimums. Raise the budget, or plan with fewer models (--models)."
        )
    if not planned:
        return spend
    # Every planned channel has a curve with evidence under every model.
    by_model = [[curvesets[m].curves[c.key] for c in planned] for m in curvesets]
    means = [_MeanCurve(tuple(fs[i] for fs in by_model)) for i in range(len(planned))]
    mean_plan = optimise(means, lower, upper, total, seed=seed)
    if robust == "mean":
        x = mean_plan
    else:
        current = np.array([c.current for c in planned])
        baseline = np.array([sum(float(f.predict(v)) for f, v in zip(fs, current, strict=True))
                             for fs in by_model])  # fmt: skip
        starts = [np.array([_plan_spend(p).get(c.key, c.current) for c in planned])
                  for p in plans.values()]  # fmt: skip
        starts += [mean_plan, current]
        x = maximin(by_model, baseline, lower, upper, total, starts=starts, seed=seed)
    spend.update({c.key: float(v) for c, v in zip(planned, x, strict=True)})
    return spend


def _robust_rows(
    by: str,
    channels: list[_Channel],
    planned: list[_Channel],
    held: Mapping[str, list[tuple[str, str]]],
    spend: Mapping[str, float],
    per: Period,
) -> pl.DataFrame:
    rows = []
    for c in channels:
        new = spend[c.key]
        binding = ""
        status = "planned"
        if c.status == "locked":
            status, binding = "locked", "lock"
        elif c.key in held or c.status == "held":
            status, binding = "not enough evidence", "held"
        elif c in planned:
            binding = c.binding_at(new)
        why = held.get(c.key, [])
        rows.append(
            {
                by: c.key,
                "status": status,
                "held_by": ", ".join(m for m, _ in why) or None,
                "current_spend": c.current,
                "recommended_spend": new,
                "change": new - c.current,
                "change_pct": (new - c.current) / c.current * 100 if c.current > 0 else None,
                "current_weekly": c.current,
                "recommended_weekly": new,
                "lower": c.current if status != "planned" else c.lower,
                "upper": c.current if status != "planned" else c.upper,
                "binding": binding,
                "held_reason": "; ".join(f"{m}: {r}" for m, r in why) or None,
            }
        )
    text = {by, "status", "held_by", "binding", "held_reason"}
    schema = {k: pl.String() if k in text else pl.Float64() for k in (by, *ROBUST_COLUMNS)}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.col(*_ROBUST_MONEY) * per.weeks)


def _robust_warnings(
    curvesets: Mapping[str, CurveSet],
    channels: list[_Channel],
    planned: list[_Channel],
    held: Mapping[str, list[tuple[str, str]]],
    spend: Mapping[str, float],
    weekly_budget: float,
    per: Period,
) -> list[str]:
    warnings = []
    if held:
        warnings.append(
            "Held at current spend in the robust plan, because a model's curves cannot say "
            "whether more spend helps: "
            + "; ".join(
                f"'{k}' (held under {', '.join(m for m, _ in why)}: {why[0][1]})"
                for k, why in sorted(held.items())
            )
            + "."
        )
    spent = sum(spend.values())
    if weekly_budget > spent + 1e-6 * max(weekly_budget, 1.0):
        warnings.append(
            f"The robust plan spends {per.money(spent)} of the budget of "
            f"{per.money(weekly_budget)}: the channels' caps and maximums allow no more."
        )
    on_rail = [c.key for c in planned if _at_bound(c, spend[c.key]) == "max_change"]
    if on_rail:
        warnings.append(
            "The rail binds in the robust plan for "
            + ", ".join(f"'{k}'" for k in on_rail)
            + ": widen it with --max-change 0.5 or remove it with --max-change none."
        )
    first = next(iter(curvesets.values()))
    no_spend = [k for k in first.keys if first.status(k) == "no spend"]
    if no_spend:
        warnings.append(
            "No spend, so no ROI and left out of every plan: "
            + ", ".join(f"'{k}'" for k in no_spend)
            + "."
        )
    return warnings


def _at_bound(channel: _Channel, spend: float) -> str:
    tol = 1e-6 * max(channel.upper, 1.0)
    if spend >= channel.upper - tol and channel.upper > channel.lower:
        return channel.why_upper
    if spend <= channel.lower + tol:
        return channel.why_lower
    return ""


def _matrix(
    curvesets: Mapping[str, CurveSet],
    keys: Sequence[str],
    allocations: Mapping[str, Mapping[str, float]],
    per: Period,
) -> pl.DataFrame:
    """Every allocation's total spend and predicted revenue under every model, per period.

    A channel without a trustworthy curve under a model counts at its observed
    mean revenue under that model, whatever the allocation spends on it.
    """
    rows = []
    for name, spend in allocations.items():
        row: dict[str, Any] = {"plan": name, "spend": per.from_weekly(sum(spend.values()))}
        revenue = {
            m: per.from_weekly(sum(c.revenue_at(k, spend.get(k, 0.0)) for k in keys))
            for m, c in curvesets.items()
        }
        row.update(revenue)
        rows.append(row)
    for row in rows:
        change = [row[m] - rows[0][m] for m in curvesets]
        row["worst_change"] = min(change)
        row["mean_change"] = sum(change) / len(change)
    schema = {"plan": pl.String(), "spend": pl.Float64()}
    schema.update({m: pl.Float64() for m in (*curvesets, "worst_change", "mean_change")})
    return pl.DataFrame(rows, schema=schema, orient="row")


def _totals(
    matrix: pl.DataFrame,
    models: Sequence[str],
    weekly_budget: float,
    per: Period,
    spend: Mapping[str, float],
) -> dict[str, Any]:
    """Return the robust plan's totals: revenue under each model, worst and mean change, regret."""
    rows = {r["plan"]: r for r in matrix.to_dicts()}
    now, robust = rows["current"], rows["robust"]
    change = {m: robust[m] - now[m] for m in models}
    worst_model = min(models, key=lambda m: change[m])
    regret = {m: rows[m][m] - robust[m] for m in models}
    return {
        "budget": per.from_weekly(weekly_budget),
        "budget_weekly": weekly_budget,
        "current_spend": now["spend"],
        "recommended_spend": robust["spend"],
        "recommended_weekly": sum(spend.values()),
        "current_revenue": {m: now[m] for m in models},
        "predicted_revenue": {m: robust[m] for m in models},
        "revenue_change": change,
        "worst_change": change[worst_model],
        "worst_model": worst_model,
        "mean_change": sum(change.values()) / len(change),
        "regret": regret,
        "regret_pct": {
            m: regret[m] / rows[m][m] * 100 if rows[m][m] and math.isfinite(rows[m][m]) else 0.0
            for m in models
        },
    }


def _side_by_side(
    by: str, models: Sequence[str], plans: Mapping[str, BudgetPlan], robust: pl.DataFrame
) -> pl.DataFrame:
    """One row per key with spend: current spend, each model's plan, the robust plan."""
    side = robust.select(by, "status", "held_by", "current_spend")
    for m in models:
        data = plans[m].data.select(
            by, pl.col("recommended_spend").alias(m), pl.col("change_pct").alias(f"{m}_change_pct")
        )
        side = side.join(data, on=by, how="left")
    return side.join(
        robust.select(
            by,
            pl.col("recommended_spend").alias("robust"),
            pl.col("change_pct").alias("robust_change_pct"),
            "binding",
        ),
        on=by,
        how="left",
    )


__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_ROBUST",
    "RANDOM_STARTS",
    "ROBUST_COLUMNS",
    "ROBUST_OBJECTIVES",
    "WIDE_MODELS",
    "MultiPlan",
    "check_objective",
    "maximin",
    "plan_across_models",
]
