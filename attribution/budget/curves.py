"""Response curves: weekly attributed revenue as a saturating function of weekly spend.

Three shapes, all through the origin (no spend, no paid touches, no
attributed revenue):

========  ==================================  ===============================
kind      curve ``f(x)``                      parameters
========  ==================================  ===============================
hill      ``top · xˢ / (xˢ + halfˢ)``          ``top``, ``half``, ``shape``
power     ``scale · xᵉ``                       ``scale``, ``exponent`` ≤ 1
log       ``scale · ln(1 + x / half)``         ``scale``, ``half``
========  ==================================  ===============================

``hill`` is the default: with ``shape = 1`` it is Michaelis–Menten (concave,
diminishing returns from the first dollar); ``shape > 1`` makes it S-shaped
(returns first rise, then fall). ``top`` is the revenue the channel tends to
at unlimited spend, ``half`` the spend that earns half of it.

Optional geometric adstock carries spend over into later weeks: the spend
that drives week ``t`` is ``(1 − decay) · Σₖ decayᵏ · x₍ₜ₋ₖ₎``. The weights sum
to 1, so at a steady weekly spend ``x`` the adstocked spend is ``x`` and
the curve reads directly as "revenue per week at ``x`` per week".

Fitting uses :func:`scipy.optimize.least_squares` (trust region, bounded)
from several starts on spend and revenue scaled to about 1, and keeps the
best. A channel whose data cannot support a curve is marked
``evidence=False`` with the reason: too few weeks with spend, spend that
hardly varied, or a fit that explains too little of the weekly variation
(a flat fit). Uncertainty comes from a residual bootstrap: the fitted values
plus resampled residuals are refitted ``resamples`` times; the parameter
draws give ranges for predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.cancel import check_cancelled
from attribution.errors import ParameterError
from attribution.progress import report_progress

FloatArray = npt.NDArray[np.float64]

KINDS = ("hill", "power", "log")
"""Curve shapes :func:`fit_curve` can fit."""

PARAMS: dict[str, tuple[str, ...]] = {
    "hill": ("top", "half", "shape"),
    "power": ("scale", "exponent"),
    "log": ("scale", "half"),
}
"""Parameter names of each curve shape, in order."""

# Bounds in scaled units (spend / largest spend, revenue / largest revenue).
_BOUNDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "hill": ((0.0, 0.02, 0.5), (1e3, 20.0, 3.0)),
    "power": ((0.0, 0.05), (1e3, 1.0)),
    "log": ((0.0, 0.01), (1e4, 20.0)),
}

MIN_WEEKS = 8
"""Fewest weeks with spend a curve is fitted on."""

MIN_SPEND_CV = 0.1
"""Smallest coefficient of variation of weekly spend that can show a curve's shape."""

MIN_R2 = 0.2
"""Smallest R² of a curve trusted for a recommendation."""


def require_kind(kind: str) -> None:
    """Raise :class:`ParameterError` unless ``kind`` is one of :data:`KINDS`.

    Examples
    --------
    >>> require_kind("hill")
    >>> require_kind("tanh")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'curve' parameter must be one of hill, power, log. ...
    """
    if kind not in KINDS:
        raise ParameterError(
            f"The 'curve' parameter must be one of {', '.join(KINDS)}. Got {kind!r} instead."
        )


def require_decay(decay: float) -> None:
    """Raise :class:`ParameterError` unless ``0 <= decay < 1``.

    Examples
    --------
    >>> require_decay(1.0)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'decay' parameter must be >= 0 and < 1. Got 1.0 instead.
    """
    if not 0.0 <= decay < 1.0:
        raise ParameterError(f"The 'decay' parameter must be >= 0 and < 1. Got {decay!r} instead.")


def curve_value(
    kind: str, spend: FloatArray | float, theta: Sequence[float] | FloatArray
) -> FloatArray:
    """Evaluate a curve at ``spend``.

    Examples
    --------
    >>> curve_value("hill", np.array([0.0, 10.0, 30.0]), (100.0, 10.0, 1.0)).tolist()
    [0.0, 50.0, 75.0]
    """
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)
    if kind == "hill":
        top, half, shape = theta
        ratio = np.power(x / half, shape)
        return np.asarray(top * ratio / (1.0 + ratio), dtype=float)
    if kind == "power":
        scale, exponent = theta
        return np.asarray(scale * np.power(x, exponent), dtype=float)
    scale, half = theta
    return np.asarray(scale * np.log1p(x / half), dtype=float)


def curve_slope(
    kind: str, spend: FloatArray | float, theta: Sequence[float] | FloatArray
) -> FloatArray:
    """Return ``f'(spend)``: the revenue of the next unit of spend (the marginal ROAS).

    Examples
    --------
    >>> curve_slope("hill", np.array([0.0, 10.0]), (100.0, 10.0, 1.0)).round(6).tolist()
    [10.0, 2.5]
    """
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)
    if kind == "hill":
        top, half, shape = theta
        # At zero spend: 0 for an S-curve, top/half for Michaelis–Menten, steep below 1.
        x = np.maximum(x, half * 1e-9)
        ratio = np.power(x / half, shape)
        return np.asarray(top * shape * ratio / (x * (1.0 + ratio) ** 2), dtype=float)
    if kind == "power":
        scale, exponent = theta
        x = np.maximum(x, 1e-9)
        return np.asarray(scale * exponent * np.power(x, exponent - 1.0), dtype=float)
    scale, half = theta
    return np.asarray(scale / (half + x), dtype=float)


def adstock(spend: FloatArray, decay: float) -> FloatArray:
    """Carry spend over geometrically: ``(1 − decay) · Σₖ decayᵏ · x₍ₜ₋ₖ₎``.

    Examples
    --------
    >>> adstock(np.array([100.0, 0.0, 0.0]), 0.5).tolist()
    [50.0, 25.0, 12.5]
    >>> adstock(np.array([100.0, 100.0]), 0.0).tolist()
    [100.0, 100.0]
    """
    require_decay(decay)
    out = np.empty_like(spend, dtype=float)
    carry = 0.0
    for t, x in enumerate(spend):
        carry = decay * carry + (1.0 - decay) * float(x)
        out[t] = carry
    return out


@dataclass(frozen=True)
class ResponseCurve:
    """A fitted response curve of one channel (or campaign), with its evidence.

    Attributes
    ----------
    key
        The channel or campaign.
    kind
        ``hill``, ``power`` or ``log``.
    params
        Fitted parameters in money units, by name (:data:`PARAMS`).
    decay
        Adstock decay used (0: none).
    evidence
        Whether the data supports the curve; ``reason`` says why not.
    r2, residual_sd
        Fit quality: share of the weekly variance explained, and the
        standard deviation of the weekly residuals (money).
    n_points
        Weeks the fit used.
    spend_min, spend_max
        Range of the (adstocked) weekly spend observed in those weeks.
    points
        The observed weeks: ``week``, ``spend`` (adstocked), ``revenue``.
    draws
        Parameter draws of the residual bootstrap, ``(resamples, n_params)``.
    """

    key: str
    kind: str
    params: dict[str, float]
    decay: float
    evidence: bool
    reason: str | None
    r2: float | None
    residual_sd: float | None
    n_points: int
    spend_min: float
    spend_max: float
    points: pl.DataFrame = field(repr=False)
    draws: FloatArray = field(repr=False)

    @property
    def theta(self) -> tuple[float, ...]:
        """The parameters in :data:`PARAMS` order."""
        return tuple(self.params[name] for name in PARAMS[self.kind])

    def predict(self, spend: FloatArray | float) -> FloatArray:
        """Return predicted weekly revenue at a steady weekly ``spend``.

        Examples
        --------
        >>> curve = fit_curve("A", *_example_weeks())
        >>> round(float(curve.predict(1000.0)), -1)
        5000.0
        """
        return curve_value(self.kind, spend, self.theta)

    def marginal_roas(self, spend: FloatArray | float) -> FloatArray:
        """Return the revenue of the next unit of spend at ``spend``.

        Examples
        --------
        >>> curve = fit_curve("A", *_example_weeks())
        >>> round(float(curve.marginal_roas(1000.0)), 1)
        2.5
        """
        return curve_slope(self.kind, spend, self.theta)

    def predict_draws(self, spend: float) -> FloatArray:
        """Return the predicted weekly revenue at ``spend`` under every bootstrap draw."""
        if self.draws.size == 0:
            return np.asarray(self.predict(spend)).reshape(1)
        return np.array([float(curve_value(self.kind, spend, row)) for row in self.draws])

    def saturation(self, threshold: float = 1.0, limit: float | None = None) -> float | None:
        """Return the spend beyond which the marginal ROAS stays below ``threshold``.

        ``0.0`` when even the first unit earns less than ``threshold``;
        ``None`` when the marginal ROAS is still above it at ``limit``
        (default: 10 × the largest observed spend).

        Examples
        --------
        >>> curve = fit_curve("A", *_example_weeks())
        >>> round(curve.saturation(1.0), -1)
        2160.0
        """
        top = limit if limit is not None else 10.0 * max(self.spend_max, 1.0)
        grid = np.linspace(0.0, top, 2001)
        slope = self.marginal_roas(grid) - threshold
        above = np.flatnonzero(slope >= 0)
        if above.size == 0:
            return 0.0
        last = int(above[-1])
        if last == grid.size - 1:
            return None

        def gap(x: float) -> float:
            return float(self.marginal_roas(x)) - threshold

        from scipy.optimize import brentq  # slow to import: only when used

        return float(brentq(gap, grid[last], grid[last + 1]))

    def grid(self, top: float, n: int = 41) -> pl.DataFrame:
        """Return the curve on ``n`` spends from 0 to ``top``.

        Columns: ``spend``, ``revenue`` and ``marginal_roas``.

        Examples
        --------
        >>> fit_curve("A", *_example_weeks()).grid(2000.0, n=3)["spend"].to_list()
        [0.0, 1000.0, 2000.0]
        """
        spend = np.linspace(0.0, max(top, 0.0), n)
        return pl.DataFrame(
            {
                "spend": spend,
                "revenue": self.predict(spend),
                "marginal_roas": self.marginal_roas(spend),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as JSON-ready data (without the points)."""
        return {
            "kind": self.kind,
            "params": self.params if self.evidence else None,
            "decay": self.decay,
            "evidence": self.evidence,
            "reason": self.reason,
            "r2": self.r2,
            "residual_sd": self.residual_sd,
            "n_points": self.n_points,
            "spend_min": self.spend_min,
            "spend_max": self.spend_max,
        }


def _jacobian(kind: str, x: FloatArray, theta: FloatArray) -> FloatArray:
    """Return the derivatives of the curve at ``x`` with respect to its parameters."""
    x = np.maximum(x, 1e-12)
    if kind == "hill":
        top, half, shape = theta
        ratio = np.power(x / half, shape)
        share = 1.0 / (1.0 + ratio) ** 2
        return np.column_stack(
            [
                ratio / (1.0 + ratio),
                -top * share * shape * ratio / half,
                top * share * ratio * np.log(x / half),
            ]
        )
    if kind == "power":
        scale, exponent = theta
        power = np.power(x, exponent)
        return np.column_stack([power, scale * power * np.log(x)])
    scale, half = theta
    return np.column_stack([np.log1p(x / half), -scale * x / (half * (half + x))])


def _fit_scaled(kind: str, x: FloatArray, y: FloatArray, starts: list[FloatArray]) -> FloatArray:
    lower, upper = (np.asarray(b, dtype=float) for b in _BOUNDS[kind])

    def residuals(theta: FloatArray) -> FloatArray:
        return curve_value(kind, x, theta) - y

    def jacobian(theta: FloatArray) -> FloatArray:
        return _jacobian(kind, x, theta)

    best: FloatArray | None = None
    from scipy.optimize import least_squares  # slow to import: only when used

    best_cost = np.inf
    for start in starts:
        result = least_squares(
            residuals, np.clip(start, lower, upper), jac=jacobian, bounds=(lower, upper),
            max_nfev=200,
        )  # fmt: skip
        if result.cost < best_cost:
            best, best_cost = result.x, float(result.cost)
    assert best is not None
    return best


def _starts(kind: str, x: FloatArray, y: FloatArray) -> list[FloatArray]:
    level = max(float(np.mean(y)), 1e-3)
    mid = max(float(np.median(x)), 1e-3)
    starts: list[FloatArray] = []
    if kind == "hill":
        for half in (0.3, 1.0, 3.0):
            for shape in (1.0, 2.0):
                value = float(curve_value("hill", mid, (1.0, half, shape)))
                starts.append(np.array([level / max(value, 1e-3), half, shape]))
    elif kind == "power":
        for exponent in (0.3, 0.7, 1.0):
            starts.append(np.array([level / mid**exponent, exponent]))
    else:
        for half in (0.1, 1.0, 5.0):
            starts.append(np.array([level / np.log1p(mid / half), half]))
    return starts


def _to_money(kind: str, theta: FloatArray, xs: float, ys: float) -> FloatArray:
    out = np.array(theta, dtype=float)
    if kind == "hill":
        out[0] *= ys
        out[1] *= xs
    elif kind == "power":
        out[0] *= ys / xs ** theta[1]
    else:
        out[0] *= ys
        out[1] *= xs
    return out


def fit_curve(
    key: str,
    weeks: Sequence[Any],
    spend: FloatArray,
    revenue: FloatArray,
    *,
    kind: str = "hill",
    decay: float = 0.0,
    used: npt.NDArray[np.bool_] | None = None,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    min_r2: float = MIN_R2,
    on_refit: Callable[[], None] | None = None,
) -> ResponseCurve:
    """Fit one channel's response curve to its weekly spend and attributed revenue.

    Parameters
    ----------
    key
        Channel or campaign name.
    weeks, spend, revenue
        The weekly series, in time order and without gaps (adstock carries
        spend from one element to the next).
    kind
        ``hill`` (default), ``power`` or ``log``.
    decay
        Geometric adstock decay in ``[0, 1)``; 0 (default) is none.
    used
        Which weeks to fit on (default all); the others still feed adstock.
    resamples
        Residual-bootstrap refits for the uncertainty (0: none).
    seed
        Seed of the bootstrap.
    min_weeks, min_r2
        Evidence thresholds (:data:`MIN_WEEKS`, :data:`MIN_R2`).
    on_refit
        Called after each bootstrap refit (to report progress).

    Returns
    -------
    ResponseCurve

    Examples
    --------
    >>> curve = fit_curve("A", *_example_weeks())
    >>> {k: round(v) for k, v in curve.params.items()}, curve.evidence, round(curve.r2, 3)
    ({'top': 10000, 'half': 1000, 'shape': 1}, True, 1.0)
    >>> fit_curve("B", ["w1", "w2"], np.array([1.0, 2.0]), np.array([3.0, 4.0])).reason
    'only 2 weeks with spend (need at least 8)'
    """
    require_kind(kind)
    require_decay(decay)
    spend = np.asarray(spend, dtype=float)
    revenue = np.asarray(revenue, dtype=float)
    carried = adstock(spend, decay) if decay > 0 else spend
    mask = np.ones(spend.size, dtype=bool) if used is None else np.asarray(used, dtype=bool)
    mask &= carried > 0
    x, y = carried[mask], revenue[mask]
    points = pl.DataFrame(
        {
            "week": [w for w, m in zip(weeks, mask, strict=True) if m],
            "spend": x,
            "revenue": y,
        }
    )
    names = PARAMS[kind]
    empty = np.zeros((0, len(names)))

    def verdict(reason: str, r2: float | None = None, sd: float | None = None) -> ResponseCurve:
        return ResponseCurve(
            key=key,
            kind=kind,
            params=dict.fromkeys(names, float("nan")) if r2 is None else params,
            decay=decay,
            evidence=False,
            reason=reason,
            r2=r2,
            residual_sd=sd,
            n_points=int(x.size),
            spend_min=float(x.min()) if x.size else 0.0,
            spend_max=float(x.max()) if x.size else 0.0,
            points=points,
            draws=empty,
        )

    params: dict[str, float] = {}
    if x.size < min_weeks:
        return verdict(f"only {x.size} weeks with spend (need at least {min_weeks})")
    cv = float(np.std(x) / np.mean(x))
    if cv < MIN_SPEND_CV:
        return verdict(
            f"weekly spend hardly varied (coefficient of variation {cv:.2f}; "
            f"need {MIN_SPEND_CV:.2f}), so the data cannot show how revenue responds to it"
        )
    xs, ys = float(x.max()), max(float(np.abs(y).max()), 1e-9)
    xn, yn = x / xs, y / ys
    theta = _fit_scaled(kind, xn, yn, _starts(kind, xn, yn))
    money = _to_money(kind, theta, xs, ys)
    params = {name: float(v) for name, v in zip(names, money, strict=True)}
    fitted = curve_value(kind, x, money)
    residual = y - fitted
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual**2)) / total if total > 0 else 0.0
    sd = float(np.sqrt(np.sum(residual**2) / max(x.size - len(names), 1)))
    if r2 < min_r2:
        return verdict(
            f"flat fit: the curve explains {max(r2, 0.0):.0%} of the weekly variation "
            f"(need {min_r2:.0%})",
            r2,
            sd,
        )
    draws = empty
    if resamples > 0:
        rng = np.random.default_rng(seed)
        fitted_n = curve_value(kind, xn, theta)
        res_n = yn - fitted_n
        rows = []
        for _ in range(resamples):
            check_cancelled()
            y_star = fitted_n + rng.choice(res_n, size=res_n.size, replace=True)
            rows.append(_to_money(kind, _fit_scaled(kind, xn, y_star, [theta]), xs, ys))
            if on_refit is not None:
                on_refit()
        draws = np.array(rows)
    return ResponseCurve(
        key=key,
        kind=kind,
        params=params,
        decay=decay,
        evidence=True,
        reason=None,
        r2=r2,
        residual_sd=sd,
        n_points=int(x.size),
        spend_min=float(x.min()),
        spend_max=float(x.max()),
        points=points,
        draws=draws,
    )


def fit_curves(
    panel: pl.DataFrame,
    by: str = "channel",
    *,
    kind: str = "hill",
    decay: float = 0.0,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    min_r2: float = MIN_R2,
) -> dict[str, ResponseCurve]:
    """Fit a curve for every key of a :func:`~attribution.budget.weekly.weekly_panel` that spent.

    Keys that never spent get no curve (their ROI is undefined). Progress is
    reported (:func:`attribution.progress.report_progress`) as ``curve fits``:
    one fit and ``resamples`` bootstrap refits per key.

    Examples
    --------
    >>> weeks, spend, revenue = _example_weeks()
    >>> panel = pl.DataFrame({"channel": "A", "week": weeks, "spend": spend,
    ...     "revenue": revenue, "used": True})
    >>> list(fit_curves(panel, resamples=0))
    ['A']
    """
    curves: dict[str, ResponseCurve] = {}
    groups = [
        (str(key), rows)
        for (key,), rows in panel.sort(by, "week").group_by(by, maintain_order=True)
        if float(rows["spend"].sum()) > 0
    ]
    per_key = 1 + max(resamples, 0)
    total = len(groups) * per_key
    done = 0

    def refitted() -> None:
        nonlocal done
        done += 1
        report_progress("curve fits", done, total, "fits")

    for index, (key, rows) in enumerate(groups):
        refitted()
        curves[key] = fit_curve(
            key,
            rows["week"].to_list(),
            rows["spend"].to_numpy(),
            rows["revenue"].to_numpy(),
            kind=kind,
            decay=decay,
            used=rows["used"].to_numpy() if "used" in rows.columns else None,
            resamples=resamples,
            seed=seed,
            min_weeks=min_weeks,
            min_r2=min_r2,
            on_refit=refitted,
        )
        if done < (index + 1) * per_key:  # no refits for a key without evidence
            done = (index + 1) * per_key
            report_progress("curve fits", done, total, "fits")
    return curves


def _example_weeks() -> tuple[list[int], FloatArray, FloatArray]:
    """Twelve weeks on the curve 10,000 · x / (x + 1,000): the docstring examples' data."""
    spend = np.linspace(300.0, 2500.0, 12)
    return list(range(12)), spend, 10_000.0 * spend / (spend + 1_000.0)


__all__ = [
    "KINDS",
    "MIN_R2",
    "MIN_SPEND_CV",
    "MIN_WEEKS",
    "PARAMS",
    "ResponseCurve",
    "adstock",
    "curve_slope",
    "curve_value",
    "fit_curve",
    "fit_curves",
    "require_decay",
    "require_kind",
]
