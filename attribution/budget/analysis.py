"""From touchpoints, conversions and costs to every channel's response curve: :class:`CurveSet`.

:func:`response_curves` is the one call behind ``closedloop budget curves``
and ``GET /v1/budget/curves``: attribute with the chosen model, roll the
credit and the spend up to weeks (:mod:`attribution.budget.weekly`), fit a
curve per channel (:mod:`attribution.budget.curves`), and note each
channel's current weekly spend. :func:`~attribution.budget.plan.plan_budget`
and :func:`~attribution.budget.whatif.what_if` work on the result.

All money amounts are **per week**.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from attribution.budget.curves import (
    AUTO,
    MIN_WEEKS,
    ResponseCurve,
    curve_value,
    fit_portfolio,
)
from attribution.budget.weekly import current_spend, weekly_panel
from attribution.constants import DEFAULT_LOOKBACK_DAYS
from attribution.errors import ParameterError
from attribution.export import json_ready
from attribution.journeys import build_journeys
from attribution.models import AttributionModel, get_model
from attribution.progress import stage as progress_stage
from attribution.report import attribute
from attribution.uncertainty.bootstrap import bootstrap_totals

FloatArray = np.ndarray

BAND_CI = 0.9
"""Level of the range drawn around each curve (the plan's default ``ci``)."""

SATURATION_REACH = 3.0
"""A saturation point beyond this many times the largest observed or marked spend is not drawn."""


@dataclass(frozen=True)
class CurveSet:
    """Every channel's response curve, current weekly spend and observed weekly revenue.

    Attributes
    ----------
    by
        ``channel`` or ``campaign``.
    curves
        Fitted curves of the keys that spent (see :class:`ResponseCurve`;
        ``evidence`` says whether a curve can be trusted).
    current
        Mean weekly spend of every key over the last ``current_weeks`` full weeks.
    revenue
        Mean weekly attributed revenue of every key over the weeks used.
    largest
        Largest weekly spend of every key over the full weeks of the costs.
    panel
        The weekly data (:func:`~attribution.budget.weekly.weekly_panel`).
    attribution_scale
        Per key, the bootstrap resamples' attributed revenue divided by the
        point estimate (person-level bootstrap of the attribution model), or
        ``None`` when that bootstrap was not run.
    meta
        What the curves were computed with (model, params, stage, curve,
        decay …), echoed by reports.
    """

    by: str
    curves: dict[str, ResponseCurve]
    current: dict[str, float]
    revenue: dict[str, float]
    largest: dict[str, float]
    panel: pl.DataFrame = field(repr=False)
    attribution_scale: dict[str, FloatArray] | None = field(default=None, repr=False)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """Every key with spend or revenue, sorted."""
        return sorted(set(self.current) | set(self.revenue) | set(self.curves))

    def curve(self, key: str) -> ResponseCurve | None:
        """Return the key's curve, or ``None`` if it never spent; unknown keys are an error."""
        if key not in self.keys:
            raise ParameterError(f"Unknown {self.by} '{key}'. Known: {', '.join(self.keys)}.")
        return self.curves.get(key)

    def status(self, key: str) -> str:
        """Return ``curve``, ``not enough evidence`` or ``no spend``."""
        curve = self.curve(key)
        if curve is None:
            return "no spend"
        return "curve" if curve.evidence else "not enough evidence"

    def revenue_at(self, key: str, spend: float) -> float:
        """Predicted weekly revenue of ``key`` at ``spend``: its curve, or its observed mean."""
        curve = self.curves.get(key)
        if curve is not None and curve.evidence:
            return float(curve.predict(spend))
        return self.revenue.get(key, 0.0)

    def cap(self, key: str, multiple: float) -> float:
        """Return ``multiple`` × the key's largest observed weekly spend."""
        return multiple * self.largest.get(key, 0.0)

    def points(
        self,
        key: str,
        *,
        marks: dict[str, float] | None = None,
        n: int = 41,
        ci: float = BAND_CI,
    ) -> dict[str, Any]:
        """Return what a chart of the key's curve needs: observed weeks, the curve, marked spends.

        ``observed`` are the weeks the curve was fitted on (``week``,
        ``spend``, ``revenue``). ``curve`` is the curve on ``n`` spends
        (``spend``, ``revenue``, ``marginal_roas``) with its ``ci`` range
        (``revenue_low``, ``revenue_high``: quantiles of the bootstrap draws,
        times the attribution bootstrap when it was run, as the plan's total
        range). ``marks`` are spends on the curve (``current`` always, plus
        the ``marks`` given). ``saturation`` is where the marginal ROAS falls
        below 1 (``None`` without a curve, or when that lies beyond
        :data:`SATURATION_REACH` × the largest observed or marked spend, or
        at no spend at all). The grid runs to 1.5 × the largest of the
        observed, marked and saturation spends.

        Examples
        --------
        >>> curves = curves_from_panel(_example_panel(), resamples=20, current_weeks=1)
        >>> drawn = curves.points("A", marks={"recommended": 1500.0})
        >>> [m["label"] for m in drawn["marks"]]
        ['current', 'recommended']

        The true curve's marginal ROAS, 10⁷ / (x + 1,000)², is 1 at x ≈ 2,162,
        about where the current spend (2,500) sits: whether more spend helps is
        not known there, so the channel is held and its panel marks no
        saturation point:

        >>> curves.curves["A"].evidence, drawn["saturation"] is None
        (False, True)
        >>> all(p["revenue_low"] <= p["revenue"] <= p["revenue_high"] for p in drawn["curve"])
        True
        """
        curve = self.curves.get(key)
        marked = {"current": self.current.get(key, 0.0), **(marks or {})}
        observed = (
            self.panel.filter(pl.col(self.by) == key, pl.col("used"))
            .select(pl.col("week").cast(pl.String), "spend", "revenue")
            .to_dicts()
        )
        if curve is not None and curve.decay > 0:
            observed = [
                {"week": str(w), "spend": s, "revenue": r}
                for w, s, r in curve.points.select("week", "spend", "revenue").iter_rows()
            ]
        result: dict[str, Any] = {"observed": observed, "curve": [], "marks": []}
        result["saturation"] = None
        if curve is None or not curve.evidence:
            result["marks"] = [{"label": k, "spend": v, "revenue": None} for k, v in marked.items()]
            return result
        reach = max([curve.spend_max, *marked.values()])
        saturation = curve.saturation(1.0)
        if saturation is not None and 0.0 < saturation <= SATURATION_REACH * reach:
            result["saturation"] = {
                "spend": saturation,
                "revenue": float(curve.predict(saturation)),
            }
            reach = max(reach, saturation)
        grid = curve.grid(1.5 * reach, n)
        low, high = self._band(key, curve, grid["spend"].to_numpy(), ci)
        result["curve"] = grid.with_columns(revenue_low=low, revenue_high=high).to_dicts()
        result["marks"] = [
            {"label": k, "spend": v, "revenue": float(curve.predict(v))} for k, v in marked.items()
        ]
        return result

    def _band(
        self, key: str, curve: ResponseCurve, spend: FloatArray, ci: float
    ) -> tuple[FloatArray, FloatArray]:
        """Return the ``ci`` range of the curve's revenue at each ``spend``: low and high.

        Without curve draws the curve itself is the one draw (as in the plan's range).
        """
        if curve.draws.size == 0:
            values = np.asarray(curve.predict(spend), dtype=float).reshape(1, -1)
        else:
            # Every parameter as a column of draws, broadcast over the spends.
            values = curve_value(curve.kind, spend, curve.draws.T[:, :, np.newaxis])
        scale = (self.attribution_scale or {}).get(key)
        if scale is not None and scale.size:
            # Pair draws as the plan's range does: cycle the shorter set.
            rows = np.arange(max(values.shape[0], scale.size))
            values = values[rows % values.shape[0]] * scale[rows % scale.size, np.newaxis]
        low, high = np.quantile(values, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        return np.asarray(low, dtype=float), np.asarray(high, dtype=float)

    def summary(self, threshold: float | None = None) -> pl.DataFrame:
        """Return one row per key: fit, current spend, average and marginal ROAS, saturation.

        Columns: ``by``, ``status``, ``reason``, ``curve``, ``r2``,
        ``residual_sd``, ``weeks``, ``spend_min``, ``spend_max``,
        ``current_spend``, ``current_revenue``, ``average_roas``,
        ``marginal_roas``, ``saturation_spend`` (marginal ROAS below 1),
        ``threshold_spend`` (below ``threshold``, when given), then
        ``marginal_roas_low`` and ``marginal_roas_high`` (the 90% interval of
        the marginal ROAS at current spend, also for a held channel),
        ``decay`` (the adstock decay used, estimated or given) and
        ``held_reason`` (why a channel with spend is held; else null).
        """
        rows = []
        for key in self.keys:
            curve = self.curves.get(key)
            spend = self.current.get(key, 0.0)
            revenue = self.revenue_at(key, spend)
            ok = curve is not None and curve.evidence
            marginal = float(curve.marginal_roas(spend)) if ok and curve else None
            rows.append(
                {
                    self.by: key,
                    "status": self.status(key),
                    "reason": curve.reason if curve else "no spend in the costs",
                    "curve": curve.kind if curve else None,
                    "r2": curve.r2 if curve else None,
                    "residual_sd": curve.residual_sd if curve else None,
                    "weeks": curve.n_points if curve else 0,
                    "spend_min": curve.spend_min if curve else None,
                    "spend_max": curve.spend_max if curve else None,
                    "current_spend": spend,
                    "current_revenue": revenue,
                    "average_roas": revenue / spend if spend > 0 and curve else None,
                    "marginal_roas": marginal,
                    "saturation_spend": curve.saturation(1.0) if ok and curve else None,
                    "threshold_spend": (
                        curve.saturation(threshold) if ok and curve and threshold else None
                    ),
                    "marginal_roas_low": curve.marginal_low if curve else None,
                    "marginal_roas_high": curve.marginal_high if curve else None,
                    "decay": curve.decay if curve else None,
                    "held_reason": curve.reason if curve and not curve.evidence else None,
                }
            )
        return pl.DataFrame(rows, schema=_summary_schema(self.by), orient="row")

    def to_dict(self, threshold: float | None = None, points: bool = True) -> dict[str, Any]:
        """Return the curves as JSON-ready data: the summary rows, each with its points."""
        data = []
        for row in self.summary(threshold).to_dicts():
            key = row[self.by]
            curve = self.curves.get(key)
            item = json_ready(row)
            item["params"] = curve.params if curve and curve.evidence else None
            item["pooled"] = curve.pooled if curve else None
            item["decay_profile"] = curve.profile.to_dict() if curve and curve.profile else None
            if points:
                item["points"] = self.points(key)
            data.append(item)
        return {**self.meta, "by": self.by, "threshold": threshold, "data": data}


def _summary_schema(by: str) -> dict[str, pl.DataType]:
    text = {by, "status", "reason", "curve", "held_reason"}
    names = [
        by, "status", "reason", "curve", "r2", "residual_sd", "weeks", "spend_min",
        "spend_max", "current_spend", "current_revenue", "average_roas", "marginal_roas",
        "saturation_spend", "threshold_spend", "marginal_roas_low", "marginal_roas_high",
        "decay", "held_reason",
    ]  # fmt: skip
    return {
        n: pl.String() if n in text else pl.Int64() if n == "weeks" else pl.Float64() for n in names
    }


def curves_from_credits(
    credits: pl.DataFrame,
    costs: pl.DataFrame,
    *,
    by: str = "channel",
    kind: str = "hill",
    decay: float | str = AUTO,
    pool: bool = True,
    date_by: str = "touch",
    min_completeness: float = 0.7,
    current_weeks: int = 4,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    attribution_scale: dict[str, FloatArray] | None = None,
    meta: dict[str, Any] | None = None,
) -> CurveSet:
    """Fit the curves of every key from credited touches and daily costs.

    Parameters are those of :func:`~attribution.budget.weekly.weekly_panel`,
    :func:`~attribution.budget.curves.fit_curves` and
    :func:`~attribution.budget.weekly.current_spend`.

    Examples
    --------
    >>> tp, cv, costs = _example_frames()
    >>> from attribution import attribute
    >>> credits = attribute(tp, cv, costs, model="last_touch").credits
    >>> curves = curves_from_credits(credits, costs, resamples=0)
    >>> curves.status("Search"), round(curves.current["Search"])
    ('curve', 900)
    """
    panel = weekly_panel(credits, costs, by, date_by=date_by, min_completeness=min_completeness)
    return curves_from_panel(
        panel, by=by, kind=kind, decay=decay, pool=pool, current_weeks=current_weeks,
        resamples=resamples, seed=seed, min_weeks=min_weeks,
        attribution_scale=attribution_scale, meta={"date_by": date_by, **(meta or {})},
    )  # fmt: skip


def curves_from_panel(
    panel: pl.DataFrame,
    *,
    by: str = "channel",
    kind: str = "hill",
    decay: float | str = AUTO,
    pool: bool = True,
    current_weeks: int = 4,
    resamples: int = 100,
    seed: int = 0,
    min_weeks: int = MIN_WEEKS,
    attribution_scale: dict[str, FloatArray] | None = None,
    meta: dict[str, Any] | None = None,
) -> CurveSet:
    """Fit the curves of every key of a weekly panel (``by``, ``week``, ``spend``, ``revenue``).

    ``days`` (days of the week with cost data) and ``used`` (weeks to fit
    on) are optional; without them every week is a full week and used.

    Examples
    --------
    >>> import datetime as dt
    >>> from attribution.budget.curves import _example_weeks
    >>> _, spend, revenue = _example_weeks()
    >>> weeks = [dt.date(2024, 1, 1) + dt.timedelta(weeks=w) for w in range(12)]
    >>> panel = pl.DataFrame({"channel": "A", "week": weeks, "spend": spend, "revenue": revenue})
    >>> curves_from_panel(panel, resamples=0, current_weeks=1).current
    {'A': 2500.0}
    """
    if "days" not in panel.columns:
        panel = panel.with_columns(pl.lit(7, pl.Int64).alias("days"))
    if "used" not in panel.columns:
        panel = panel.with_columns(pl.lit(True).alias("used"))
    current = current_spend(panel, by, current_weeks)
    curves, pooling = fit_portfolio(
        panel, by, kind=kind, decay=decay, pool=pool, current=current, resamples=resamples,
        seed=seed, min_weeks=min_weeks,
    )  # fmt: skip
    used = panel.filter(pl.col("used"))
    n_used = max(used["week"].n_unique(), 1)
    revenue = used.group_by(by).agg(pl.col("revenue").sum() / n_used)
    full = panel.filter(pl.col("days") == 7)
    largest = (full if not full.is_empty() else panel).group_by(by).agg(pl.col("spend").max())
    return CurveSet(
        by=by,
        curves=curves,
        current=current,
        revenue=dict(zip(revenue[by].to_list(), revenue["revenue"].to_list(), strict=True)),
        largest=dict(zip(largest[by].to_list(), largest["spend"].to_list(), strict=True)),
        panel=panel,
        attribution_scale=attribution_scale,
        meta={
            "curve": kind,
            "decay": decay,
            "pooling": pooling.to_dict() if pooling else None,
            "weeks_used": used["week"].n_unique(),
            "current_weeks": current_weeks,
            **(meta or {}),
        },
    )


def attribution_scale(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    model: AttributionModel,
    *,
    by: str,
    stage: str | None,
    lookback_days: float,
    resamples: int,
    seed: int,
    click_window_days: float | None = None,
    view_window_days: float | None = None,
) -> dict[str, FloatArray]:
    """Return per key the person-level bootstrap's attributed revenue relative to the estimate.

    Uses :func:`attribution.uncertainty.bootstrap_totals` (each resample draws
    persons with replacement and re-credits them). A channel's response curve
    is scaled by these ratios in the plan's revenue range, so the range holds
    both how uncertain the credit is and how uncertain the curve fit is.
    """
    journeys = build_journeys(
        touchpoints,
        conversions,
        stage=stage,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
    )
    draws = bootstrap_totals(journeys, model, by=by, resamples=resamples, seed=seed)
    point = draws.revenue.mean(axis=0)
    scale: dict[str, FloatArray] = {}
    for j, key in enumerate(draws.keys):
        if point[j] > 0:
            scale[key] = draws.revenue[:, j] / point[j]
    return scale


def response_curves(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame,
    *,
    model: str | AttributionModel = "linear",
    params: dict[str, Any] | None = None,
    by: str = "channel",
    stage: str | None = None,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    kind: str = "hill",
    decay: float | str = AUTO,
    pool: bool = True,
    date_by: str = "touch",
    min_completeness: float = 0.7,
    current_weeks: int = 4,
    resamples: int = 100,
    attribution_resamples: int = 0,
    seed: int = 0,
    currency: str | None = None,
    click_window_days: float | None = None,
    view_window_days: float | None = None,
) -> CurveSet:
    """Attribute with ``model`` and fit every channel's weekly response curve.

    Parameters
    ----------
    touchpoints, conversions, costs
        Canonical tables; costs must hold daily spend.
    model, params, by, stage, lookback_days
        As in :func:`attribution.attribute`: the curves rest on whichever
        model the user trusts.
    kind, decay
        Curve shape (``hill``, ``power``, ``log``) and adstock decay:
        ``"auto"`` (default) estimates each channel's by profile likelihood
        (:mod:`attribution.budget.decay`), a number fixes it for all.
    pool
        Shrink each channel's curve shape toward the portfolio's
        (:mod:`attribution.budget.pooling`; default true).
    date_by, min_completeness
        How revenue is dated, and which recent weeks are too incomplete to
        use (see :mod:`attribution.budget.weekly`).
    current_weeks
        "Current" spend is the mean weekly spend of this many last full weeks.
    resamples
        Parameter draws of each curve's fit kept for the revenue ranges (the
        fit's uncertainty).
    attribution_resamples
        Person-level bootstrap resamples of the attribution (its
        uncertainty); 0 skips it.
    seed
        Seed of both bootstraps.
    currency
        ISO 4217 code of the money, echoed in reports; ``None`` (the
        default) when the frames do not say.
    click_window_days, view_window_days
        The click and view windows, as in :func:`attribution.attribute`.

    Returns
    -------
    CurveSet

    Examples
    --------
    >>> curves = response_curves(*_example_frames(), model="linear", resamples=0)
    >>> curves.summary().select("channel", "status", "current_spend").rows()
    [('Search', 'curve', 900.0)]
    """
    instance = model if isinstance(model, AttributionModel) else get_model(model, **(params or {}))
    with progress_stage(f"attributing ({instance.name})"):
        report = attribute(
            touchpoints, conversions, costs, model=instance, by=by, stage=stage,
            lookback_days=lookback_days, currency=currency,
            click_window_days=click_window_days, view_window_days=view_window_days,
        )  # fmt: skip
    scale: dict[str, FloatArray] | None = None
    if attribution_resamples > 0:
        scale = attribution_scale(
            touchpoints, conversions, instance, by=by, stage=report.stage,
            lookback_days=lookback_days, resamples=attribution_resamples, seed=seed,
            click_window_days=click_window_days, view_window_days=view_window_days,
        )  # fmt: skip
    return curves_from_credits(
        report.credits,
        costs,
        by=by,
        kind=kind,
        decay=decay,
        pool=pool,
        date_by=date_by,
        min_completeness=min_completeness,
        current_weeks=current_weeks,
        resamples=resamples,
        seed=seed,
        attribution_scale=scale,
        meta={
            "model": report.model,
            "params": report.params,
            "stage": report.stage,
            "lookback_days": report.lookback_days,
            "windows": report.windows,
            "currency": report.currency,
            "attribution_bootstrap": attribution_resamples if scale is not None else 0,
            "curve_bootstrap": resamples,
            "seed": seed,
        },
    )


def _example_panel() -> pl.DataFrame:
    """Twelve weeks of channel ``A`` on the curve 10,000 · x / (x + 1,000), with some noise."""
    import datetime as dt

    from attribution.budget.curves import _example_weeks

    _, spend, revenue = _example_weeks()
    noise = 1.0 + 0.05 * np.sin(np.arange(spend.size) * 2.0)
    weeks = [dt.date(2024, 1, 1) + dt.timedelta(weeks=w) for w in range(spend.size)]
    return pl.DataFrame({"channel": "A", "week": weeks, "spend": spend, "revenue": revenue * noise})


def _example_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Twenty weeks of one channel whose weekly revenue follows 6,000 · x / (x + 1,000)."""
    import datetime as dt

    start = dt.date(2024, 1, 1)
    spend = [500.0 + 100.0 * (w % 6) * (1 + w % 2) for w in range(20)]
    costs = pl.DataFrame(
        {
            "date": [start + dt.timedelta(days=d) for d in range(140)],
            "channel": "Search",
            "spend": [spend[d // 7] / 7.0 for d in range(140)],
        }
    )
    touches, conversions = [], []
    for w, s in enumerate(spend):
        ts = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=7 * w + 2)
        touches.append(
            {"touchpoint_id": f"t{w}", "user_id": f"u{w}", "ts": ts, "channel": "Search"}
        )
        conversions.append(
            {
                "conversion_id": f"c{w}",
                "user_id": f"u{w}",
                "ts": ts + dt.timedelta(hours=1),
                "stage": "purchase",
                "revenue": 6000.0 * s / (s + 1000.0),
            }
        )
    return pl.DataFrame(touches), pl.DataFrame(conversions), costs


__all__ = [
    "BAND_CI",
    "SATURATION_REACH",
    "CurveSet",
    "attribution_scale",
    "curves_from_credits",
    "curves_from_panel",
    "response_curves",
]
