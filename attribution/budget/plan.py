"""Recommend weekly spend per channel: maximise predicted attributed revenue under a budget.

The problem is ``max Σ fᶜ(xᶜ)`` subject to ``Σ xᶜ = budget`` and
``lowerᶜ ≤ xᶜ ≤ upperᶜ``, where ``fᶜ`` is channel ``c``'s response curve.
At the optimum every channel strictly inside its bounds earns the same
marginal ROAS. Curves may be S-shaped (Hill ``shape > 1``): their marginal
ROAS is 0 at zero spend, so a greedy "next dollar to the best channel" step
or a local solver started at zero stalls there. The solver here therefore
starts with a global search, dynamic programming over a grid of the budget
(exact for separable objectives, whatever their shape), then polishes with
SLSQP (:func:`scipy.optimize.minimize`) from that point and from several
others, and keeps the best.

Bounds of each channel:

- ``upper`` is at most ``cap_multiple`` × its largest observed weekly spend:
  the curves are not extrapolated far beyond what was seen. A plan that stops
  at a cap says so (``binding = "cap"``);
- ``--min`` / ``--max`` are absolute (``5000``) or relative to current spend
  (``-20%``, ``+10%``);
- a locked channel, and one whose curve has not enough evidence, stays at its
  current spend; a channel with no spend is left out (its ROI is undefined).

Bounds that cannot all hold are a :class:`~attribution.errors.ParameterError`
naming them; a budget above what the bounds allow spends what they allow and
warns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from attribution.budget.analysis import CurveSet
from attribution.budget.curves import ResponseCurve, curve_value
from attribution.errors import ParameterError
from attribution.export import json_ready, rfc4180_csv, text_table

DEFAULT_CAP_MULTIPLE = 1.5
"""Default cap: 1.5 × a channel's largest observed weekly spend."""

DEFAULT_CI = 0.9
"""Default level of the predicted revenue's range."""

GRID_STEPS = 400
"""Budget steps of the dynamic-programming search."""

PLAN_COLUMNS = (
    "status", "current_spend", "recommended_spend", "change", "change_pct", "lower", "upper",
    "binding", "current_revenue", "predicted_revenue", "revenue_change", "average_roas",
    "roas", "marginal_roas_current", "marginal_roas", "saturation_spend", "threshold_spend",
    "held_reason",
)  # fmt: skip
"""Columns of a plan's rows after the key column."""

_BOUND = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(%?)\s*$")


def parse_bound(value: float | str, current: float, *, name: str = "bound") -> float:
    """Return an absolute weekly spend from ``5000``, ``"5000"`` or ``"-20%"`` of ``current``.

    Examples
    --------
    >>> parse_bound("-20%", 1000.0), parse_bound("+10%", 1000.0), parse_bound(250, 1000.0)
    (800.0, 1100.0, 250.0)
    >>> parse_bound("lots", 1.0, name="--min Email")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --min Email must be an amount (5000) or a change ...
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        amount, percent = float(value), False
    else:
        match = _BOUND.match(str(value))
        if not match:
            raise ParameterError(
                f"{name} must be an amount (5000) or a change from current spend "
                f"(-20%, +10%). Got {value!r} instead."
            )
        amount, percent = float(match.group(1)), bool(match.group(2))
    result = current * (1.0 + amount / 100.0) if percent else amount
    if not math.isfinite(result) or result < 0:
        raise ParameterError(f"{name} must give a spend >= 0. Got {value!r} ({result:g}) instead.")
    return result


def _money(value: float) -> str:
    return f"{value:,.0f}"


@dataclass(frozen=True)
class BudgetPlan:
    """A recommended weekly allocation, per channel and in total.

    ``data`` has the key column and :data:`PLAN_COLUMNS`; ``totals`` the
    budget, spend and predicted revenue now and as planned, and the
    ``revenue_low`` / ``revenue_high`` range; ``warnings`` what the user
    should know (caps binding, channels held, extrapolation).
    """

    by: str
    data: pl.DataFrame
    totals: dict[str, Any]
    warnings: list[str]
    meta: dict[str, Any]
    curves: CurveSet = field(repr=False)

    def to_dict(self, points: bool = True) -> dict[str, Any]:
        """Return the plan as JSON-ready data; each row carries its curve's points."""
        rows = []
        for row in self.data.to_dicts():
            item = json_ready(row)
            if points:
                marks = {"recommended": row["recommended_spend"]}
                item["points"] = self.curves.points(row[self.by], marks=marks)
            rows.append(item)
        return {
            **self.meta,
            "by": self.by,
            "data": rows,
            "totals": json_ready(self.totals),
            "warnings": self.warnings,
        }

    def to_csv(self) -> str:
        """Return the rows as RFC 4180 CSV (header row, CRLF line ends)."""
        return rfc4180_csv(self.data)

    def to_table(self) -> str:
        """Return the rows, a total line and the warnings as a human-readable table."""
        shown = self.data.select(
            self.by, "status", "current_spend", "recommended_spend", "change_pct",
            "predicted_revenue", "marginal_roas_current", "marginal_roas", "binding",
        ).rename({
            "current_spend": "spend now", "recommended_spend": "recommended",
            "change_pct": "change %", "predicted_revenue": "revenue",
            "marginal_roas_current": "mROAS now", "marginal_roas": "mROAS then",
        })  # fmt: skip
        t = self.totals
        table = text_table(shown, text_width=40)
        currency = self.meta.get("currency")
        per_week = f"{currency} per week" if currency else "per week"
        lines = [
            f"budget plan · model {self.meta.get('model')} · stage {self.meta.get('stage')} · "
            f"by {self.by} · {self.meta.get('curve')} curves · {per_week}",
            table,
            f"budget {_money(t['budget'])} per week: predicted revenue "
            f"{_money(t['current_revenue'])} now → {_money(t['predicted_revenue'])} as planned "
            f"({t['revenue_change']:+,.0f}); {t['ci']:.0%} range "
            f"{_money(t['revenue_low'])} to {_money(t['revenue_high'])}",
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_table()


@dataclass
class _Channel:
    key: str
    status: str
    current: float
    lower: float
    upper: float
    curve: ResponseCurve | None
    why_upper: str = "cap"
    why_lower: str = "min"


def _bounds(
    curves: CurveSet,
    minimum: Mapping[str, float | str],
    maximum: Mapping[str, float | str],
    locks: Iterable[str],
    cap_multiple: float,
    warnings: list[str],
) -> list[_Channel]:
    if not cap_multiple > 0 or not math.isfinite(cap_multiple):
        raise ParameterError(
            f"The 'cap_multiple' parameter must be > 0. Got {cap_multiple!r} instead."
        )
    locked = set(locks)
    for key in [*minimum, *maximum, *locked]:
        status = curves.status(key)  # raises on unknown keys
        if status == "no spend":
            raise ParameterError(
                f"'{key}' has no spend in the costs, so there is nothing to plan for it; "
                "remove its bound or lock."
            )
        if status == "not enough evidence" and key not in locked:
            reason = curves.curves[key].reason
            raise ParameterError(
                f"'{key}' has not enough evidence for a response curve ({reason}), so it is "
                f"held at its current spend {_money(curves.current.get(key, 0.0))}; "
                "remove its bound."
            )
    channels = []
    for key in curves.keys:
        status = curves.status(key)
        current = curves.current.get(key, 0.0)
        curve = curves.curves.get(key)
        if status == "no spend":
            continue
        if key in locked:
            channels.append(
                _Channel(key, "locked", current, current, current, curve, "lock", "lock")
            )
            continue
        if status == "not enough evidence":
            channels.append(_Channel(key, "held", current, current, current, curve, "held", "held"))
            continue
        cap = curves.cap(key, cap_multiple)
        channel = _Channel(key, "planned", current, 0.0, cap, curve)
        if key in minimum:
            channel.lower = parse_bound(minimum[key], current, name=f"The minimum of '{key}'")
        if key in maximum:
            wanted = parse_bound(maximum[key], current, name=f"The maximum of '{key}'")
            if wanted > cap:
                warnings.append(
                    f"The maximum of '{key}' ({_money(wanted)}) is above its cap "
                    f"({_money(cap)} = {cap_multiple:g} × its largest weekly spend); the cap "
                    "applies. Raise --cap-multiple to allow more."
                )
            else:
                channel.upper, channel.why_upper = wanted, "max"
        channels.append(channel)
    bad = [c for c in channels if c.lower > c.upper + 1e-9]
    if bad:
        described = "; ".join(
            f"'{c.key}' minimum {_money(c.lower)} is above its "
            + (
                f"cap {_money(c.upper)} ({cap_multiple:g} × its largest weekly spend)"
                if c.why_upper == "cap"
                else f"maximum {_money(c.upper)}"
            )
            for c in bad
        )
        raise ParameterError(f"Bounds that cannot hold: {described}.")
    return channels


def _project(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float) -> np.ndarray:
    """Return the point of ``{lower ≤ x ≤ upper, Σx = total}`` nearest ``y``."""
    lo, hi = float(np.min(lower - y)), float(np.max(upper - y))
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.clip(y + mid, lower, upper).sum() < total:
            lo = mid
        else:
            hi = mid
    return np.asarray(np.clip(y + 0.5 * (lo + hi), lower, upper), dtype=float)


def _grid_search(
    funcs: list[ResponseCurve], lower: np.ndarray, upper: np.ndarray, total: float
) -> np.ndarray:
    """Dynamic programming over ``GRID_STEPS`` budget steps: global, whatever the curves' shape."""
    free = total - lower.sum()
    step = free / GRID_STEPS
    n = GRID_STEPS + 1
    value = np.full(n, -np.inf)
    value[0] = 0.0
    choices = []
    for c, curve in enumerate(funcs):
        room = min(int(np.floor((upper[c] - lower[c]) / step + 1e-9)), GRID_STEPS)
        gains = curve.predict(lower[c] + step * np.arange(room + 1))
        # candidate[g, k] = value[g - k] + gains[k]
        g = np.arange(n)[:, None]
        k = np.arange(room + 1)[None, :]
        previous = np.where(g - k >= 0, value[np.clip(g - k, 0, None)], -np.inf)
        candidate = previous + gains[None, :]
        best = np.argmax(candidate, axis=1)
        value = candidate[np.arange(n), best]
        choices.append(best)
    steps = np.zeros(len(funcs), dtype=int)
    left = GRID_STEPS if np.isfinite(value[GRID_STEPS]) else int(np.argmax(value))
    for c in range(len(funcs) - 1, -1, -1):
        steps[c] = choices[c][left]
        left -= int(steps[c])
    return np.asarray(lower + step * steps, dtype=float)


def optimise(
    funcs: list[ResponseCurve],
    lower: np.ndarray,
    upper: np.ndarray,
    total: float,
    *,
    seed: int = 0,
    starts: int = 4,
) -> np.ndarray:
    """Maximise ``Σ fᶜ(xᶜ)`` subject to ``Σ xᶜ = total`` and the bounds.

    A dynamic-programming search on a grid finds the global region; SLSQP
    polishes from it, from the bounds' centre and from ``starts`` random
    points; the best feasible result wins.

    Examples
    --------
    An S-shaped channel next to a concave one: the S-curve gets its share
    although its marginal return at zero spend is 0.

    >>> from attribution.budget.curves import _example_weeks, fit_curve
    >>> s = fit_curve("S", *_example_weeks())
    >>> s = ResponseCurve(**{**s.__dict__, "params": {"top": 9000.0, "half": 600.0, "shape": 3.0}})
    >>> c = ResponseCurve(**{**s.__dict__, "params": {"top": 2000.0, "half": 500.0, "shape": 1.0}})
    >>> x = optimise([s, c], np.zeros(2), np.full(2, 2000.0), 1200.0)
    >>> x.round(-1).tolist()
    [1110.0, 90.0]
    """
    n = len(funcs)
    if n == 0:
        return np.zeros(0)
    if total <= lower.sum() + 1e-9:
        return lower.copy()
    if total >= upper.sum() - 1e-9:
        return upper.copy()
    scale = max(total, 1e-9)
    lo, hi = lower / scale, upper / scale
    norm = max(sum(float(f.predict(u)) for f, u in zip(funcs, upper, strict=True)), 1e-9)

    def objective(u: np.ndarray) -> float:
        return -sum(float(f.predict(v * scale)) for f, v in zip(funcs, u, strict=True)) / norm

    def gradient(u: np.ndarray) -> np.ndarray:
        slopes = [float(f.marginal_roas(v * scale)) for f, v in zip(funcs, u, strict=True)]
        return -np.array(slopes) * scale / norm

    candidates = [_grid_search(funcs, lower, upper, total) / scale]
    candidates.append(_project(0.5 * (lo + hi), lo, hi, 1.0))
    rng = np.random.default_rng(seed)
    candidates += [_project(rng.dirichlet(np.ones(n)), lo, hi, 1.0) for _ in range(starts)]
    best, best_value = candidates[0], objective(candidates[0])
    constraint = {"type": "eq", "fun": lambda u: np.sum(u) - 1.0, "jac": lambda u: np.ones(n)}
    from scipy.optimize import minimize  # slow to import: only when used

    for start in candidates:
        result = minimize(
            objective, start, jac=gradient, method="SLSQP",
            bounds=list(zip(lo, hi, strict=True)), constraints=[constraint],
            options={"maxiter": 300, "ftol": 1e-12},
        )  # fmt: skip
        x = _project(np.asarray(result.x, dtype=float), lo, hi, 1.0)
        value = objective(x)
        if value < best_value - 1e-12:
            best, best_value = x, value
    return np.asarray(best * scale, dtype=float)


def _range(
    curves: CurveSet, channels: list[_Channel], spend: dict[str, float], ci: float
) -> tuple[float, float, str]:
    """Percentile range of total predicted revenue over the bootstrap draws."""
    fixed = sum(curves.revenue.get(k, 0.0) for k in curves.keys if curves.status(k) != "curve")
    parts = []
    for c in channels:
        if c.curve is None or not c.curve.evidence:
            continue
        draws = c.curve.draws
        if draws.size == 0:
            values = np.asarray(c.curve.predict(spend[c.key])).reshape(1)
        else:
            values = np.array([float(curve_value(c.curve.kind, spend[c.key], t)) for t in draws])
        scale = (curves.attribution_scale or {}).get(c.key)
        if scale is not None and scale.size:
            n = max(values.size, scale.size)
            values = values[np.arange(n) % values.size] * scale[np.arange(n) % scale.size]
        parts.append(values)
    if not parts:
        return fixed, fixed, "none"
    n = max(p.size for p in parts)
    total = fixed + sum(p[np.arange(n) % p.size] for p in parts)
    q = np.quantile(total, [(1 - ci) / 2, (1 + ci) / 2])
    methods = ["posterior draws of the curve fits"]
    if curves.attribution_scale:
        methods.append("person-level bootstrap of the attribution")
    return float(q[0]), float(q[1]), " × ".join(methods)


def plan_budget(
    curves: CurveSet,
    budget: float | None = None,
    *,
    minimum: Mapping[str, float | str] | None = None,
    maximum: Mapping[str, float | str] | None = None,
    locks: Iterable[str] = (),
    cap_multiple: float = DEFAULT_CAP_MULTIPLE,
    threshold: float | None = None,
    ci: float = DEFAULT_CI,
    seed: int = 0,
) -> BudgetPlan:
    """Recommend weekly spend per channel that maximises predicted attributed revenue.

    Parameters
    ----------
    curves
        The channels' response curves (:func:`~attribution.budget.analysis.response_curves`).
    budget
        Total weekly budget; default the current total.
    minimum, maximum
        Per-channel bounds: an amount or a change from current spend
        (``"-20%"``, ``"+10%"``).
    locks
        Channels kept at their current spend.
    cap_multiple
        No channel gets more than this × its largest observed weekly spend.
    threshold
        Also report the spend where the marginal ROAS falls below this.
    ci
        Level of the predicted revenue's range.
    seed
        Seed of the solver's random starts.

    Returns
    -------
    BudgetPlan

    Examples
    --------
    >>> from attribution.budget.analysis import _example_frames, response_curves
    >>> curves = response_curves(*_example_frames(), resamples=0)
    >>> plan = plan_budget(curves, budget=2000.0)
    >>> plan.data.select("channel", "recommended_spend", "binding").rows()
    [('Search', 2000.0, '')]
    >>> plan_budget(curves, 2000.0, minimum={"Search": 5000})
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Bounds that cannot hold: 'Search' minimum 5,000 is above ...
    """
    if not 0 < ci < 1:
        raise ParameterError(f"The 'ci' parameter must be > 0 and < 1. Got {ci!r} instead.")
    warnings: list[str] = []
    channels = _bounds(curves, minimum or {}, maximum or {}, locks, cap_multiple, warnings)
    current_total = sum(c.current for c in channels)
    if budget is None:
        budget = current_total
    if not math.isfinite(budget) or budget < 0:
        raise ParameterError(f"The 'budget' parameter must be >= 0. Got {budget!r} instead.")
    low_sum = sum(c.lower for c in channels)
    high_sum = sum(c.upper for c in channels)
    if low_sum > budget + 1e-6:
        parts = ", ".join(
            f"'{c.key}' {_money(c.lower)} ({c.status if c.status != 'planned' else 'minimum'})"
            for c in channels
            if c.lower > 0
        )
        raise ParameterError(
            f"Bounds that cannot hold: the minimum spends add up to {_money(low_sum)} per week, "
            f"more than the budget of {_money(budget)}: {parts}. Lower a minimum, unlock a "
            "channel or raise the budget."
        )
    if budget > high_sum + 1e-6:
        warnings.append(
            f"The budget of {_money(budget)} per week is more than the channels can take: "
            f"their caps and maximums add up to {_money(high_sum)}, so the plan spends "
            f"{_money(high_sum)}. Raise --cap-multiple to allow more (beyond the observed "
            "spend the curves are extrapolation)."
        )
    planned = [c for c in channels if c.status == "planned"]
    fixed_total = sum(c.lower for c in channels if c.status != "planned")
    spend = {c.key: c.current for c in channels if c.status != "planned"}
    if planned:
        lower = np.array([c.lower for c in planned])
        upper = np.array([c.upper for c in planned])
        funcs = [c.curve for c in planned if c.curve is not None]
        x = optimise(funcs, lower, upper, min(budget, high_sum) - fixed_total, seed=seed)
        spend.update({c.key: float(v) for c, v in zip(planned, x, strict=True)})
    held = [c for c in channels if c.status == "held"]
    if held:
        warnings.append(
            "Not enough evidence for a response curve, so held at current spend: "
            + "; ".join(f"'{c.key}' ({c.curve.reason if c.curve else ''})" for c in held)
            + "."
        )
    no_spend = [k for k in curves.keys if curves.status(k) == "no spend"]
    if no_spend:
        warnings.append(
            "No spend, so no ROI and left out of the plan: "
            + ", ".join(f"'{k}'" for k in no_spend)
            + "."
        )
    rows = []
    for key in curves.keys:
        rows.append(_row(curves, key, channels, spend, threshold, warnings))
    data = pl.DataFrame(rows, schema=_plan_schema(curves.by), orient="row")
    low, high, method = _range(curves, channels, spend, ci)
    current_revenue = float(data["current_revenue"].sum())
    predicted = float(data["predicted_revenue"].sum())
    recommended_total = float(data["recommended_spend"].sum())
    totals = {
        "budget": float(budget),
        "current_spend": float(data["current_spend"].sum()),
        "recommended_spend": recommended_total,
        "current_revenue": current_revenue,
        "predicted_revenue": predicted,
        "revenue_change": predicted - current_revenue,
        "revenue_low": low,
        "revenue_high": high,
        "ci": ci,
        "range_method": method,
        "roas": predicted / recommended_total if recommended_total > 0 else None,
    }
    meta = {**curves.meta, "cap_multiple": cap_multiple, "threshold": threshold}
    return BudgetPlan(curves.by, data, totals, warnings, meta, curves)


def _row(
    curves: CurveSet,
    key: str,
    channels: list[_Channel],
    spend: dict[str, float],
    threshold: float | None,
    warnings: list[str],
) -> dict[str, Any]:
    channel = next((c for c in channels if c.key == key), None)
    current = curves.current.get(key, 0.0)
    curve = curves.curves.get(key)
    has_curve = curve is not None and curve.evidence
    new = spend.get(key, 0.0)
    binding = ""
    if channel is not None and channel.status == "planned":
        tol = 1e-6 * max(channel.upper, 1.0)
        if new >= channel.upper - tol and channel.upper > channel.lower:
            binding = channel.why_upper
        elif new <= channel.lower + tol:
            binding = channel.why_lower
        if binding == "cap" and curve is not None:
            warnings.append(
                f"'{key}' stops at its cap of {_money(channel.upper)} per week "
                f"(its marginal ROAS there is still {float(curve.marginal_roas(new)):.2f}); "
                "spend beyond the observed range is not extrapolated."
            )
    elif channel is not None:
        binding = channel.why_upper
    status = {"planned": "planned", "locked": "locked", "held": "not enough evidence"}
    revenue_now = curves.revenue_at(key, current)
    revenue_new = curves.revenue_at(key, new)
    return {
        curves.by: key,
        "status": status[channel.status] if channel else "no spend",
        "current_spend": current,
        "recommended_spend": new,
        "change": new - current,
        "change_pct": (new - current) / current * 100 if current > 0 else None,
        "lower": channel.lower if channel else None,
        "upper": channel.upper if channel else None,
        "binding": binding,
        "current_revenue": revenue_now,
        "predicted_revenue": revenue_new,
        "revenue_change": revenue_new - revenue_now,
        "average_roas": revenue_now / current if current > 0 and channel else None,
        "roas": revenue_new / new if new > 0 and channel else None,
        "marginal_roas_current": float(curve.marginal_roas(current))
        if has_curve and curve
        else None,
        "marginal_roas": float(curve.marginal_roas(new)) if has_curve and curve else None,
        "saturation_spend": curve.saturation(1.0) if has_curve and curve else None,
        "threshold_spend": (
            curve.saturation(threshold) if has_curve and curve and threshold is not None else None
        ),
        "held_reason": curve.reason if channel and channel.status == "held" and curve else None,
    }


def _plan_schema(by: str) -> dict[str, pl.DataType]:
    text = {"status", "binding", "held_reason"}
    return {
        by: pl.String(),
        **{c: pl.String() if c in text else pl.Float64() for c in PLAN_COLUMNS},
    }


__all__ = [
    "DEFAULT_CAP_MULTIPLE",
    "DEFAULT_CI",
    "PLAN_COLUMNS",
    "BudgetPlan",
    "optimise",
    "parse_bound",
    "plan_budget",
]
