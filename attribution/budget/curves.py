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
the curve reads directly as "revenue per week at ``x`` per week". By
default (``decay="auto"``) each channel's decay is estimated from its data
by profile likelihood (:mod:`attribution.budget.decay`).

:func:`fit_curves` fits every channel with **partial pooling**: each
channel's least-squares fit (:mod:`attribution.budget.fitting`) feeds a
portfolio prior on the curves' shape (:mod:`attribution.budget.pooling`),
and every channel is refitted with it. The uncertainty of each curve is the
Laplace approximation of that fit; its draws give the interval of the
marginal ROAS at current spend and the ranges of predictions.

A channel is **held** (``evidence=False``) only when it has too few weeks
with spend to fit (:data:`MIN_WEEKS`), or when the :data:`HOLD_LEVEL`
interval of its marginal ROAS at current spend contains :data:`BREAK_EVEN`:
then the data cannot say whether the next dollar returns more or less than
it costs, so neither more nor less spend is recommended. ``reason`` says
which, with the figure that decided it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.budget.decay import DecayProfile, adstock, decay_profile, require_decay
from attribution.budget.fitting import Fit, Prior, fit_series, to_money
from attribution.budget.pooling import Pooling, estimate_pooling
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

MIN_WEEKS = 8
"""Fewest weeks with spend a curve is fitted on."""

HOLD_LEVEL = 0.9
"""Level of the marginal-ROAS interval that decides whether a channel is held."""

BREAK_EVEN = 1.0
"""Marginal ROAS at which the next dollar returns exactly what it costs."""

HOLD_DRAWS = 400
"""Parameter draws behind the marginal-ROAS interval."""

AUTO = "auto"
"""The ``decay`` that asks for each channel's decay to be estimated."""


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


def parse_decay(value: float | str) -> float | str:
    """Return ``"auto"`` (estimate per channel) or a fixed decay in ``[0, 1)``.

    Examples
    --------
    >>> parse_decay("auto"), parse_decay("0.3"), parse_decay(0.0)
    ('auto', 0.3, 0.0)
    >>> parse_decay("fast")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'decay' parameter must be 'auto' or a number >= 0 ...
    """
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        decay = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            "The 'decay' parameter must be 'auto' or a number >= 0 and < 1 "
            f"(e.g. 0.3). Got {value!r} instead."
        ) from None
    require_decay(decay)
    return decay


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
        Whether the curve is trusted for a recommendation; ``reason`` says
        why not (the channel is then held at its current spend).
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
        Parameter draws of the fit's posterior (Laplace), ``(resamples, n_params)``.
    marginal_low, marginal_high
        The :data:`HOLD_LEVEL` interval of the marginal ROAS at current spend.
    profile
        The decay's profile likelihood, when the decay was estimated.
    pooled
        Whether the curve's shape was pooled with the portfolio's.
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
    marginal_low: float | None = None
    marginal_high: float | None = None
    profile: DecayProfile | None = field(default=None, repr=False)
    pooled: bool = False

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
            "marginal_roas_low": self.marginal_low,
            "marginal_roas_high": self.marginal_high,
            "decay_profile": self.profile.to_dict() if self.profile else None,
            "pooled": self.pooled,
        }


@dataclass(frozen=True)
class _Series:
    """One channel's fitted weeks: adstocked spend, revenue and the scales of the fit."""

    key: str
    weeks: list[Any]
    x: FloatArray
    y: FloatArray
    decay: float
    profile: DecayProfile | None
    current: float

    @property
    def ref(self) -> float:
        return max(float(np.mean(self.x)), 1e-9) if self.x.size else 1.0

    @property
    def scale(self) -> float:
        return max(float(np.mean(np.abs(self.y))), 1e-9) if self.y.size else 1.0

    def fit(self, kind: str, prior: Prior | None = None, unpooled: Fit | None = None) -> Fit:
        xn, yn = self.x / self.ref, self.y / self.scale
        if prior is None or unpooled is None:
            return fit_series(kind, xn, yn)
        at_prior = np.concatenate([unpooled.theta[:1], prior.mean])
        return fit_series(
            kind, xn, yn, prior=prior, sigma=unpooled.sigma, start=[unpooled.theta, at_prior]
        )


def _series(
    key: str,
    weeks: Sequence[Any],
    spend: FloatArray,
    revenue: FloatArray,
    *,
    kind: str,
    decay: float | str,
    used: npt.NDArray[np.bool_] | None,
    current: float | None,
    min_weeks: int,
) -> _Series:
    spend = np.asarray(spend, dtype=float)
    revenue = np.asarray(revenue, dtype=float)
    mask = np.ones(spend.size, dtype=bool) if used is None else np.asarray(used, dtype=bool)
    # The same weeks whatever the decay, so the decays' likelihoods compare.
    mask = mask & (spend > 0)
    profile = None
    if decay == AUTO:
        if int(mask.sum()) >= min_weeks:
            profile = decay_profile(kind, spend, revenue, mask)
        chosen = profile.chosen if profile else 0.0
    else:
        chosen = float(decay)
        require_decay(chosen)
    carried = adstock(spend, chosen)
    now = float(np.mean(spend[-4:])) if current is None and spend.size else current or 0.0
    return _Series(
        key=key,
        weeks=[w for w, m in zip(weeks, mask, strict=True) if m],
        x=carried[mask],
        y=revenue[mask],
        decay=chosen,
        profile=profile,
        current=now,
    )


def _too_few(series: _Series, kind: str, min_weeks: int) -> ResponseCurve:
    names = PARAMS[kind]
    x = series.x
    return ResponseCurve(
        key=series.key,
        kind=kind,
        params=dict.fromkeys(names, float("nan")),
        decay=series.decay,
        evidence=False,
        reason=f"only {x.size} weeks with spend (need at least {min_weeks})",
        r2=None,
        residual_sd=None,
        n_points=int(x.size),
        spend_min=float(x.min()) if x.size else 0.0,
        spend_max=float(x.max()) if x.size else 0.0,
        points=_points(series),
        draws=np.zeros((0, len(names))),
        profile=series.profile,
    )


def _points(series: _Series) -> pl.DataFrame:
    return pl.DataFrame({"week": series.weeks, "spend": series.x, "revenue": series.y})


def _marginal_interval(
    kind: str, draws: FloatArray, spend: float, level: float
) -> tuple[float, float]:
    slopes = curve_slope(kind, spend, tuple(draws.T))
    low, high = np.quantile(slopes, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(low), float(high)


def _curve(
    series: _Series,
    kind: str,
    fit: Fit,
    *,
    pooled: bool,
    resamples: int,
    seed: int,
    level: float,
) -> ResponseCurve:
    """Turn a fit into a curve in money units, with its draws and the hold verdict."""
    money = to_money(kind, fit.theta, series.ref, series.scale)
    names = PARAMS[kind]
    params = {name: float(v) for name, v in zip(names, money, strict=True)}
    residual = series.y - curve_value(kind, series.x, money)
    rss = float(np.sum(residual**2))
    total = float(np.sum((series.y - series.y.mean()) ** 2))
    r2 = 1.0 - rss / total if total > 0 else 0.0
    sd = float(np.sqrt(rss / max(series.x.size - len(names), 1)))
    # Seeded by the key too, so a channel's draws do not depend on which others were fitted.
    rng = np.random.default_rng([seed, zlib.crc32(series.key.encode())])
    draws = to_money(kind, fit.draws(max(HOLD_DRAWS, resamples), rng), series.ref, series.scale)
    low, high = _marginal_interval(kind, draws, series.current, level)
    held = low < BREAK_EVEN < high
    reason = (
        f"marginal ROAS at current spend {low:.2f}–{high:.2f} ({level:.0%} interval) straddles "
        f"break-even ({BREAK_EVEN:.2f}): the data cannot say whether more spend helps"
        if held
        else None
    )
    return ResponseCurve(
        key=series.key,
        kind=kind,
        params=params,
        decay=series.decay,
        evidence=not held,
        reason=reason,
        r2=r2,
        residual_sd=sd,
        n_points=int(series.x.size),
        spend_min=float(series.x.min()),
        spend_max=float(series.x.max()),
        points=_points(series),
        draws=draws[:resamples] if resamples > 0 else np.zeros((0, len(names))),
        marginal_low=low,
        marginal_high=high,
        profile=series.profile,
        pooled=pooled,
    )


def fit_curve(
    key: str,
    weeks: Sequence[Any],
    spend: FloatArray,
    revenue: FloatArray,
    *,
    kind: str = "hill",
    decay: float | str = AUTO,
    used: npt.NDArray[np.bool_] | None = None,
    current: float | None = None,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    level: float = HOLD_LEVEL,
) -> ResponseCurve:
    """Fit one channel's response curve on its own data (no pooling).

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
        ``"auto"`` (default: estimated, :mod:`attribution.budget.decay`) or a
        geometric adstock decay in ``[0, 1)``.
    used
        Which weeks to fit on (default all); the others still feed adstock.
    current
        Current weekly spend, where the marginal ROAS decides whether the
        channel is held (default: the mean of the last 4 weeks).
    resamples
        Parameter draws kept for prediction ranges (0: none).
    seed
        Seed of the draws.
    min_weeks, level
        Fewest weeks with spend to fit on (:data:`MIN_WEEKS`), and the level
        of the marginal-ROAS interval (:data:`HOLD_LEVEL`).

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
    series = _series(
        key, weeks, spend, revenue, kind=kind, decay=decay, used=used, current=current,
        min_weeks=min_weeks,
    )  # fmt: skip
    if series.x.size < min_weeks:
        return _too_few(series, kind, min_weeks)
    return _curve(
        series, kind, series.fit(kind), pooled=False, resamples=resamples, seed=seed, level=level
    )


def fit_portfolio(
    panel: pl.DataFrame,
    by: str = "channel",
    *,
    kind: str = "hill",
    decay: float | str = AUTO,
    pool: bool = True,
    current: dict[str, float] | None = None,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    level: float = HOLD_LEVEL,
) -> tuple[dict[str, ResponseCurve], Pooling | None]:
    """Fit every key's curve with its shape pooled toward the portfolio's; return the prior too.

    Each key with enough weeks is first fitted on its own; those fits give
    the portfolio prior (:func:`~attribution.budget.pooling.estimate_pooling`;
    ``None`` with fewer than three, or with ``pool=False``); each key is then
    refitted with it. Parameters are those of :func:`fit_curve`; ``current``
    maps keys to their current weekly spend.

    Examples
    --------
    >>> panel = _example_panel()
    >>> curves, pooling = fit_portfolio(panel, resamples=0)
    >>> sorted(curves), pooling.channels, curves["A"].pooled
    (['A', 'B', 'C'], 3, True)
    """
    require_kind(kind)
    groups = [
        (key, rows)
        for (key,), rows in panel.sort(by, "week").group_by(by, maintain_order=True)
        if float(rows["spend"].sum()) > 0
    ]
    # Progress: three steps a key (its decay profile and series, its own fit, its pooled fit).
    total, done = 3 * len(groups), 0

    def step(count: int = 1) -> None:
        nonlocal done
        done += count
        report_progress("curve fits", done, total, "fits")

    prepared: list[_Series] = []
    for key, rows in groups:
        check_cancelled()
        step()
        prepared.append(
            _series(
                str(key),
                rows["week"].to_list(),
                rows["spend"].to_numpy(),
                rows["revenue"].to_numpy(),
                kind=kind,
                decay=decay,
                used=rows["used"].to_numpy() if "used" in rows.columns else None,
                current=(current or {}).get(str(key)),
                min_weeks=min_weeks,
            )
        )
    enough = [s for s in prepared if s.x.size >= min_weeks]
    own = {}
    for series in enough:
        own[series.key] = series.fit(kind)
        step()
    step(len(prepared) - len(enough))  # keys with too few weeks are not fitted
    # A channel that never earned has no shape to learn from.
    earning = [own[s.key] for s in enough if np.any(s.y > 0)]
    pooling = estimate_pooling(kind, earning) if pool else None
    curves: dict[str, ResponseCurve] = {}
    for series in prepared:
        check_cancelled()
        step()
        if series.key not in own:
            curves[series.key] = _too_few(series, kind, min_weeks)
            continue
        fit = own[series.key]
        if pooling is not None:
            fit = series.fit(kind, pooling.prior, fit)
        curves[series.key] = _curve(
            series, kind, fit, pooled=pooling is not None, resamples=resamples, seed=seed,
            level=level,
        )  # fmt: skip
    return curves, pooling


def fit_curves(
    panel: pl.DataFrame,
    by: str = "channel",
    *,
    kind: str = "hill",
    decay: float | str = AUTO,
    pool: bool = True,
    current: dict[str, float] | None = None,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    level: float = HOLD_LEVEL,
) -> dict[str, ResponseCurve]:
    """Fit a curve for every key of a :func:`~attribution.budget.weekly.weekly_panel` that spent.

    Keys that never spent get no curve (their ROI is undefined). The curves'
    shapes are pooled (:func:`fit_portfolio`) unless ``pool=False``.

    Examples
    --------
    >>> weeks, spend, revenue = _example_weeks()
    >>> panel = pl.DataFrame({"channel": "A", "week": weeks, "spend": spend,
    ...     "revenue": revenue, "used": True})
    >>> list(fit_curves(panel, resamples=0))
    ['A']
    """
    curves, _ = fit_portfolio(
        panel, by, kind=kind, decay=decay, pool=pool, current=current, resamples=resamples,
        seed=seed, min_weeks=min_weeks, level=level,
    )  # fmt: skip
    return curves


def _example_weeks() -> tuple[list[int], FloatArray, FloatArray]:
    """Twelve weeks on the curve 10,000 · x / (x + 1,000): the docstring examples' data."""
    spend = np.linspace(300.0, 2500.0, 12)
    return list(range(12)), spend, 10_000.0 * spend / (spend + 1_000.0)


def _example_panel() -> pl.DataFrame:
    """Three channels on Hill curves of similar shape, with a little noise, 20 weeks each."""
    rng = np.random.default_rng(3)
    frames = []
    for key, top, half in (("A", 10_000.0, 1_000.0), ("B", 6_000.0, 800.0), ("C", 3_000.0, 500.0)):
        spend = half * rng.uniform(0.4, 2.5, 20)
        revenue = top * spend / (spend + half) * rng.lognormal(0.0, 0.05, 20)
        frames.append(pl.DataFrame({"channel": key, "week": range(20), "spend": spend,
                                    "revenue": revenue}))  # fmt: skip
    return pl.concat(frames)


__all__ = [
    "AUTO",
    "BREAK_EVEN",
    "HOLD_DRAWS",
    "HOLD_LEVEL",
    "KINDS",
    "MIN_WEEKS",
    "PARAMS",
    "ResponseCurve",
    "adstock",
    "curve_slope",
    "curve_value",
    "fit_curve",
    "fit_curves",
    "fit_portfolio",
    "parse_decay",
    "require_decay",
    "require_kind",
]
