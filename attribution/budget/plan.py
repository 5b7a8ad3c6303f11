"""Recommend spend per channel: maximise predicted attributed revenue under a budget.

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

The problem is solved per week, the grain of the curves; a budget for a
month or a quarter (``period``) is spread evenly over its weeks and the plan
reports both (:mod:`attribution.budget.period`).

Bounds of each channel:

- guard rails by default: a channel moves at most ``max_change`` (30%) from
  its current spend, as Meridian's optimiser does by default, unless a
  ``--min`` / ``--max`` of its own says otherwise (``binding =
  "max_change"``); ``max_change=None`` removes the rail;
- no planned channel is cut below :data:`FLOOR_SHARE` (10%) of its current
  spend unless ``allow_zero`` names it (or is ``True``): a cut to zero is a
  decision to take on purpose, not a side effect of a wide rail
  (``binding = "floor"``); a ``--min`` or ``--max`` below the floor without it
  is an error;
- ``upper`` is at most ``cap_multiple`` × its largest observed weekly spend:
  the curves are not extrapolated far beyond what was seen. A plan that stops
  at a cap says so (``binding = "cap"``);
- ``--min`` / ``--max`` are absolute amounts in the period's money
  (``5000``) or relative to current spend (``-20%``, ``+10%``);
- a locked channel, and one whose curve has not enough evidence, stays at its
  current spend; a channel with no spend is left out (its ROI is undefined).

Bounds that cannot all hold are a :class:`~attribution.errors.ParameterError`
naming them; a budget above what the bounds allow spends what they allow and
warns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl

from attribution.budget.analysis import CurveSet
from attribution.budget.curves import ResponseCurve, curve_value
from attribution.budget.period import DEFAULT_PERIOD, Period
from attribution.errors import ParameterError
from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.numbers import format_number

DEFAULT_CAP_MULTIPLE = 1.5
"""Default cap: 1.5 × a channel's largest observed weekly spend."""

DEFAULT_CI = 0.9
"""Default level of the predicted revenue's range."""

DEFAULT_MAX_CHANGE = 0.3
"""Default guard rail: a channel moves at most 30% from its current spend (Meridian's default)."""

FLOOR_SHARE = 0.1
"""Without ``allow_zero``, a planned channel keeps at least this share of its current spend."""

GRID_STEPS = 400
"""Budget steps of the dynamic-programming search."""

PLAN_COLUMNS = (
    "status", "current_spend", "recommended_spend", "change", "change_pct", "current_weekly",
    "recommended_weekly", "lower", "upper", "binding", "current_revenue", "predicted_revenue",
    "revenue_change", "average_roas", "roas", "marginal_roas_current", "marginal_roas",
    "saturation_spend", "threshold_spend",
    "held_reason",
)  # fmt: skip
"""Columns of a plan's rows after the key column."""

MONEY_COLUMNS = (
    "current_spend", "recommended_spend", "change", "lower", "upper", "current_revenue",
    "predicted_revenue", "revenue_change", "saturation_spend", "threshold_spend",
)  # fmt: skip
"""Columns of a plan in the period's money (the others are ratios or the weekly amounts)."""


class SpendCurve(Protocol):
    """What the solver needs of a curve: predicted weekly revenue and its slope at a spend."""

    def predict(self, spend: np.ndarray | float) -> np.ndarray:
        """Return predicted weekly revenue at a steady weekly ``spend``."""

    def marginal_roas(self, spend: np.ndarray | float) -> np.ndarray:
        """Return the revenue of the next unit of spend at ``spend``."""


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
    """A recommended allocation for a period, per channel and in total.

    ``data`` has the key column and :data:`PLAN_COLUMNS`, amounts in the
    period's money (``meta["period"]``) with the weekly equivalents in
    ``current_weekly`` and ``recommended_weekly``; ``totals`` the budget,
    spend and predicted revenue now and as planned, and the ``revenue_low`` /
    ``revenue_high`` range; ``warnings`` what the user should know (rails and
    caps binding, channels held, extrapolation).
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
                marks = {"recommended": row["recommended_weekly"]}
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
        period = self.meta.get("period", DEFAULT_PERIOD)
        weekly = ["recommended_weekly"] if period != "week" else []
        shown = self.data.select(
            self.by, "status", "current_spend", "recommended_spend", *weekly, "change_pct",
            "predicted_revenue", "marginal_roas_current", "marginal_roas", "binding",
        )  # fmt: skip
        labels = {
            "current_spend": "spend now", "recommended_spend": "recommended",
            "recommended_weekly": "a week", "change_pct": "change",
            "predicted_revenue": "revenue", "marginal_roas_current": "mROAS now",
            "marginal_roas": "mROAS then",
        }  # fmt: skip
        t = self.totals
        currency = self.meta.get("currency")
        table = text_table(shown, currency=currency, labels=labels, text_width=40)
        rail = self.meta.get("max_change")
        rails = f"±{rail:.0%} rail" if rail is not None else "no rail"

        def money(key: str, signed: bool = False) -> str:
            return format_number(t[key], "money", currency, signed=signed)

        a_week = f" ({money('budget_weekly')} a week)" if period != "week" else ""
        lines = [
            f"budget plan · model {self.meta.get('model')} · stage {self.meta.get('stage')} · "
            f"by {self.by} · {self.meta.get('curve')} curves · {rails} · "
            + (f"{currency} per {period}" if currency else f"per {period}"),
            table,
            f"budget {money('budget')} per {period}{a_week}: predicted revenue "
            f"{money('current_revenue')} now → {money('predicted_revenue')} as planned "
            f"({money('revenue_change', signed=True)}); {t['ci']:.0%} range "
            f"{money('revenue_low')} to {money('revenue_high')}",
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

    def binding_at(self, spend: float) -> str:
        """Return the bound ``spend`` sits on (``why_upper`` / ``why_lower``), or ``""``."""
        tol = 1e-6 * max(self.upper, 1.0)
        if spend >= self.upper - tol and self.upper > self.lower:
            return self.why_upper
        if spend <= self.lower + tol:
            return self.why_lower
        return ""


@dataclass(frozen=True)
class _Rails:
    """The plan's guard rails: how far a channel may move, and which may be cut to zero."""

    period: Period
    max_change: float | None
    allow_zero: bool | frozenset[str]

    def zero_ok(self, key: str) -> bool:
        return self.allow_zero is True or (
            isinstance(self.allow_zero, frozenset) and key in self.allow_zero
        )


def _rails(period: str, max_change: float | None, allow_zero: bool | Iterable[str]) -> _Rails:
    if max_change is not None and (not math.isfinite(max_change) or max_change < 0):
        raise ParameterError(
            "The 'max_change' parameter must be a fraction >= 0 of current spend (0.3 is "
            f"±30%) or None for no rail. Got {max_change!r} instead."
        )
    zero: bool | frozenset[str] = (
        allow_zero if isinstance(allow_zero, bool) else frozenset(allow_zero)
    )
    return _Rails(Period.of(period), max_change, zero)


def _bounds(
    curves: CurveSet,
    minimum: Mapping[str, float | str],
    maximum: Mapping[str, float | str],
    locks: Iterable[str],
    cap_multiple: float,
    rails: _Rails,
    warnings: list[str],
) -> list[_Channel]:
    if not cap_multiple > 0 or not math.isfinite(cap_multiple):
        raise ParameterError(
            f"The 'cap_multiple' parameter must be > 0. Got {cap_multiple!r} instead."
        )
    period = rails.period
    locked = set(locks)
    zero_keys = rails.allow_zero if isinstance(rails.allow_zero, frozenset) else frozenset()
    for key in [*minimum, *maximum, *locked, *sorted(zero_keys)]:
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
                f"held at its current spend {period.money(curves.current.get(key, 0.0))}; "
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
        channels.append(
            _planned_bounds(curves, key, minimum, maximum, cap_multiple, rails, warnings)
        )
    bad = [c for c in channels if c.lower > c.upper + 1e-9]
    if bad:
        described = "; ".join(
            f"'{c.key}' minimum {_money(period.from_weekly(c.lower))} is above its "
            + (
                f"cap {_money(period.from_weekly(c.upper))} ({cap_multiple:g} × its largest "
                "weekly spend)"
                if c.why_upper == "cap"
                else f"maximum {_money(period.from_weekly(c.upper))}"
            )
            for c in bad
        )
        raise ParameterError(f"Bounds that cannot hold: {described}.")
    return channels


def _planned_bounds(
    curves: CurveSet,
    key: str,
    minimum: Mapping[str, float | str],
    maximum: Mapping[str, float | str],
    cap_multiple: float,
    rails: _Rails,
    warnings: list[str],
) -> _Channel:
    """Bounds of a channel the plan moves: cap, rail, the user's own bounds, the zero floor.

    The user's ``--min`` / ``--max`` of a channel replace the rail on their
    side; a rail never contradicts them (an explicit maximum below the rail's
    lower end pulls that end down to it, and likewise upwards).
    """
    period = rails.period
    current = curves.current.get(key, 0.0)
    cap = curves.cap(key, cap_multiple)
    channel = _Channel(key, "planned", current, 0.0, cap, curves.curves.get(key), "cap", "zero")

    def explicit(bounds: Mapping[str, float | str], what: str) -> float | None:
        if key not in bounds:
            return None
        name = f"The {what} of '{key}'"
        return period.to_weekly(parse_bound(bounds[key], period.from_weekly(current), name=name))

    low, high = explicit(minimum, "minimum"), explicit(maximum, "maximum")
    change = rails.max_change
    if high is not None:
        if high > cap:
            warnings.append(
                f"The maximum of '{key}' ({period.money(high)}) is above its cap "
                f"({period.money(cap)} = {cap_multiple:g} × its largest weekly spend); the cap "
                "applies. Raise --cap-multiple to allow more."
            )
        else:
            channel.upper, channel.why_upper = high, "max"
    elif change is not None:
        rail_high = max(current * (1.0 + change), low if low is not None else 0.0)
        if rail_high < cap:
            channel.upper, channel.why_upper = rail_high, "max_change"
    if low is not None:
        channel.lower, channel.why_lower = low, "min"
    elif change is not None:
        channel.lower = min(max(current * (1.0 - change), 0.0), channel.upper)
        channel.why_lower = "max_change"
    if rails.zero_ok(key):
        return channel
    floor = FLOOR_SHARE * current
    for given, what in ((low, "minimum"), (high, "maximum")):
        if given is not None and given < floor - 1e-9 * max(floor, 1.0):
            raise ParameterError(
                f"The {what} of '{key}' ({period.money(given)}) cuts it below "
                f"{FLOOR_SHARE:.0%} of its current spend ({period.money(current)}); a cut that "
                f'deep needs allow_zero: --allow-zero "{key}" (or --allow-zero for every channel).'
            )
    if channel.lower < floor:
        channel.lower, channel.why_lower = floor, "floor"
    return channel


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
    funcs: Sequence[SpendCurve], lower: np.ndarray, upper: np.ndarray, total: float
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
    funcs: Sequence[SpendCurve],
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
) -> BudgetPlan:
    """Recommend spend per channel for a period that maximises predicted attributed revenue.

    Parameters
    ----------
    curves
        The channels' response curves (:func:`~attribution.budget.analysis.response_curves`).
    budget
        Total budget of one ``period``; default the current total.
    period
        ``week`` (default), ``month`` (52/12 weeks) or ``quarter`` (13 weeks):
        the budget, absolute bounds and the plan's amounts are per period
        (:mod:`attribution.budget.period`).
    minimum, maximum
        Per-channel bounds: an amount per period or a change from current
        spend (``"-20%"``, ``"+10%"``); they replace the rail on their side.
    locks
        Channels kept at their current spend.
    max_change
        Guard rail: each channel moves at most this fraction of its current
        spend (default 0.3: ±30%); ``None`` for no rail.
    allow_zero
        Channels that may be cut below :data:`FLOOR_SHARE` of their current
        spend, down to zero; ``True`` for all.
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
    The example channel spends 900 a week now; the ±30% rail lets it grow
    to 1,170, and without the rail a budget of 2,000 goes to it whole:

    >>> from attribution.budget.analysis import _example_frames, response_curves
    >>> curves = response_curves(*_example_frames(), resamples=0)
    >>> plan = plan_budget(curves, budget=2000.0)
    >>> plan.data.select("channel", "recommended_spend", "binding").rows()
    [('Search', 1170.0, 'max_change')]
    >>> plan_budget(curves, 2000.0, max_change=None).data["recommended_spend"].round(6).to_list()
    [2000.0]

    A quarter's budget is 13 weeks of it:

    >>> q = plan_budget(curves, 13 * 1000.0, period="quarter")
    >>> q.data.select("recommended_spend", "recommended_weekly").rows()
    [(13000.0, 1000.0)]
    >>> plan_budget(curves, 2000.0, minimum={"Search": 5000})
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Bounds that cannot hold: 'Search' minimum 5,000 is above ...
    """
    if not 0 < ci < 1:
        raise ParameterError(f"The 'ci' parameter must be > 0 and < 1. Got {ci!r} instead.")
    rails = _rails(period, max_change, allow_zero)
    per = rails.period
    warnings: list[str] = []
    channels = _bounds(curves, minimum or {}, maximum or {}, locks, cap_multiple, rails, warnings)
    current_total = sum(c.current for c in channels)
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise ParameterError(f"The 'budget' parameter must be >= 0. Got {budget!r} instead.")
    weekly_budget = current_total if budget is None else per.to_weekly(budget)
    low_sum = sum(c.lower for c in channels)
    high_sum = sum(c.upper for c in channels)
    railed = _rail_advice(rails)
    if low_sum > weekly_budget + 1e-6:
        parts = ", ".join(
            f"'{c.key}' {_money(per.from_weekly(c.lower))} ({_why_lower(c)})"
            for c in channels
            if c.lower > 0
        )
        raise ParameterError(
            f"Bounds that cannot hold: the minimum spends add up to {per.money(low_sum)}, "
            f"more than the budget of {_money(per.from_weekly(weekly_budget))}: {parts}. "
            "Lower a minimum, unlock a channel or raise the budget"
            + (f"; {railed}" if any(c.why_lower == "max_change" for c in channels) else "")
            + "."
        )
    if weekly_budget > high_sum + 1e-6:
        warnings.append(
            f"The budget of {per.money(weekly_budget)} is more than the channels can take: "
            f"their caps and maximums add up to {_money(per.from_weekly(high_sum))}, so the "
            f"plan spends {_money(per.from_weekly(high_sum))}. "
            + (f"{railed[0].upper()}{railed[1:]}, or r" if railed else "R")
            + "aise --cap-multiple to allow more (beyond the observed spend the curves are "
            "extrapolation)."
        )
    planned = [c for c in channels if c.status == "planned"]
    fixed_total = sum(c.lower for c in channels if c.status != "planned")
    spend = {c.key: c.current for c in channels if c.status != "planned"}
    if planned:
        lower = np.array([c.lower for c in planned])
        upper = np.array([c.upper for c in planned])
        funcs = [c.curve for c in planned if c.curve is not None]
        x = optimise(funcs, lower, upper, min(weekly_budget, high_sum) - fixed_total, seed=seed)
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
    rows = [_row(curves, key, channels, spend, threshold, per, warnings) for key in curves.keys]
    _warn_rails(rows, curves.by, rails, warnings)
    weekly = pl.DataFrame(rows, schema=_plan_schema(curves.by), orient="row")
    data = weekly.with_columns(pl.col(*MONEY_COLUMNS) * per.weeks)
    low, high, method = _range(curves, channels, spend, ci)
    current_revenue = float(data["current_revenue"].sum())
    predicted = float(data["predicted_revenue"].sum())
    recommended_total = float(data["recommended_spend"].sum())
    totals = {
        "budget": per.from_weekly(weekly_budget),
        "budget_weekly": weekly_budget,
        "current_spend": float(data["current_spend"].sum()),
        "recommended_spend": recommended_total,
        "recommended_weekly": float(data["recommended_weekly"].sum()),
        "current_revenue": current_revenue,
        "predicted_revenue": predicted,
        "revenue_change": predicted - current_revenue,
        "revenue_low": per.from_weekly(low),
        "revenue_high": per.from_weekly(high),
        "ci": ci,
        "range_method": method,
        "roas": predicted / recommended_total if recommended_total > 0 else None,
    }
    meta = {
        **curves.meta,
        "period": per.name,
        "weeks_per_period": per.weeks,
        "max_change": max_change,
        "allow_zero": (
            rails.allow_zero if isinstance(rails.allow_zero, bool) else sorted(rails.allow_zero)
        ),
        "cap_multiple": cap_multiple,
        "threshold": threshold,
    }
    return BudgetPlan(curves.by, data, totals, warnings, meta, curves)


def _why_lower(channel: _Channel) -> str:
    if channel.status != "planned":
        return channel.status
    return {"min": "minimum", "max_change": "rail", "floor": "floor", "zero": "zero"}[
        channel.why_lower
    ]


def _rail_advice(rails: _Rails) -> str:
    """Say how to widen the rail, or ``""`` when there is none."""
    if rails.max_change is None:
        return ""
    return (
        f"the ±{rails.max_change:.0%} rail holds each channel near its current spend: widen it "
        "(--max-change 0.5) or remove it (--max-change none)"
    )


def _warn_rails(rows: list[dict[str, Any]], by: str, rails: _Rails, warnings: list[str]) -> None:
    """Add one warning per kind of guard rail that binds: what it is and how to loosen it."""
    on_rail = [r[by] for r in rows if r["binding"] == "max_change"]
    if on_rail:
        warnings.append(
            f"The ±{rails.max_change:.0%} rail binds for "
            + ", ".join(f"'{k}'" for k in on_rail)
            + f": the plan would move {'it' if len(on_rail) == 1 else 'them'} further. Widen it "
            "with --max-change 0.5 or remove it with --max-change none (beyond it the move rests "
            "more on the curves)."
        )
    floored = [r[by] for r in rows if r["binding"] == "floor"]
    if floored:
        names = " ".join(f'"{k}"' for k in floored)
        warnings.append(
            f"The plan would cut {', '.join(repr(k) for k in floored)} below "
            f"{FLOOR_SHARE:.0%} of current spend and stops there; to let it go to zero, give "
            f"--allow-zero {names}."
        )


def _row(
    curves: CurveSet,
    key: str,
    channels: list[_Channel],
    spend: dict[str, float],
    threshold: float | None,
    period: Period,
    warnings: list[str],
) -> dict[str, Any]:
    """One row of the plan, amounts per week (:func:`plan_budget` turns them into the period's)."""
    channel = next((c for c in channels if c.key == key), None)
    current = curves.current.get(key, 0.0)
    curve = curves.curves.get(key)
    has_curve = curve is not None and curve.evidence
    new = spend.get(key, 0.0)
    binding = ""
    if channel is not None and channel.status == "planned":
        binding = channel.binding_at(new)
        if binding == "cap" and curve is not None:
            warnings.append(
                f"'{key}' stops at its cap of {period.money(channel.upper)} "
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
        "current_weekly": current,
        "recommended_weekly": new,
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
    "DEFAULT_MAX_CHANGE",
    "FLOOR_SHARE",
    "MONEY_COLUMNS",
    "PLAN_COLUMNS",
    "BudgetPlan",
    "SpendCurve",
    "optimise",
    "parse_bound",
    "plan_budget",
]
