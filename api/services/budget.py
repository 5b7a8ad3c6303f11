"""Budget planning: response curves, a recommended plan and what-ifs (``/v1/budget``).

Fitting the curves takes a second or more and a dashboard asks for the same
curves again and again (draw, plan, try what-ifs), so :func:`curves` is
cached like every other service; plans and what-ifs are computed from the
cached curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from api.services.attribution import attribution_report
from api.services.calibration import calibrate_curveset
from api.services.context import Context
from api.services.queries import CurvesQuery, resolve_model
from api.services.results import Result
from attribution.budget import CurveSet, plan_budget, what_if
from attribution.budget.period import DEFAULT_PERIOD
from attribution.budget.plan import DEFAULT_CAP_MULTIPLE, DEFAULT_CI, DEFAULT_MAX_CHANGE
from attribution.budget.robust import DEFAULT_MODELS, DEFAULT_ROBUST, check_objective
from attribution.errors import ClosedloopError, EmptyInputError, ParameterError
from attribution.export import json_ready as clean
from attribution.export import text_table
from attribution.models import AttributionModel
from attribution.numbers import format_frame


def curves(ctx: Context, query: CurvesQuery) -> CurveSet:
    """Fit every channel's weekly response curve on the whole history (cached).

    With ``query.calibrate`` (the default) and lift tests in the source, each
    tested channel's curve is scaled by its calibration factor
    (:func:`api.services.calibration.calibrate_curveset`); ``meta`` then
    holds ``calibration``, which plans and what-ifs echo.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> curves(services.context, CurvesQuery(bootstrap=0)).by
    'channel'
    """

    def compute() -> CurveSet:
        inputs = ctx.inputs(query.window)
        ctx.require_conversions(inputs, None)
        if inputs.costs is None or inputs.costs.is_empty():
            raise EmptyInputError(
                f"Budget planning needs spend, and {inputs.source} holds no costs. "
                "Ingest daily spend first: closedloop ingest costs FILE."
            )
        from attribution.budget import response_curves

        return response_curves(
            inputs.touchpoints,
            inputs.conversions,
            inputs.costs,
            model=query.model,
            by=query.by,
            stage=query.stage,
            lookback_days=query.lookback_days,
            click_window_days=query.click_window_days,
            view_window_days=query.view_window_days,
            kind=query.curve,
            decay=query.decay,
            resamples=query.bootstrap,
            attribution_resamples=query.attribution_bootstrap,
            seed=query.seed,
            currency=inputs.currency,
        )

    def calibrated() -> CurveSet:
        return calibrate_curveset(ctx, query, compute(), attribution_report)

    return ctx.cached(("curves", query), calibrated)


def calibration_notes(fitted: CurveSet) -> tuple[str, ...]:
    """Say under a budget table whether its curves were calibrated by lift tests.

    Examples
    --------
    >>> from attribution.budget.analysis import _example_frames, response_curves
    >>> from attribution.budget.calibrate import calibrate_curves
    >>> fitted = calibrate_curves(response_curves(*_example_frames(), resamples=0),
    ...     {"Search": 0.5}, {"tests": 1})
    >>> calibration_notes(fitted)[0].split(" (")[0]
    'curves calibrated by 1 lift test: Search ×0.500'
    """
    info = fitted.meta.get("calibration")
    if not info:
        return ()
    shown = ", ".join(f"{k} ×{v:.3f}" for k, v in info["factors"].items()) or "no usable test"
    tests = info.get("tests", 0)
    line = (
        f"curves calibrated by {tests} lift test{'' if tests == 1 else 's'}: {shown} "
        "(--no-calibration for the uncalibrated ones)"
    )
    return (line, *(f"note: {n}" for n in info.get("notes", [])))


def curves_table(fitted: CurveSet, threshold: float | None = None) -> str:
    """Render the curves' summary for a terminal, with a note per channel left without one.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> fitted = curves(Services.for_frames(*_tiny_example()).context, CurvesQuery(bootstrap=0))
    >>> curves_table(fitted).splitlines()[0].startswith("response curves · model linear")
    True
    """
    summary = fitted.summary(threshold)
    bounds = format_frame(summary.select("marginal_roas_low", "marginal_roas_high"))
    interval = (
        pl.when(pl.col("marginal_roas_low").is_not_null())
        .then(bounds["marginal_roas_low"] + "–" + bounds["marginal_roas_high"])
        .otherwise(pl.lit("—"))
    )
    shown = summary.with_columns(interval.alias("mROAS 90%")).select(
        fitted.by, "status", "r2", "weeks", "decay", "current_spend", "average_roas",
        "marginal_roas", "mROAS 90%", "saturation_spend",
        *(["threshold_spend"] if threshold else []),
    )  # fmt: skip
    meta = fitted.meta
    table = text_table(shown, currency=meta.get("currency"), text_width=40)
    notes = [
        f"{row[fitted.by]}: held at current spend: {row['held_reason']}"
        if row["held_reason"]
        else f"{row[fitted.by]}: {row['reason']}"
        for row in summary.to_dicts()
        if row["status"] != "curve"
    ]
    currency = meta.get("currency")
    return "\n".join(
        [
            f"response curves · model {meta.get('model')} · stage {meta.get('stage')} · "
            f"{meta.get('curve')} · {meta.get('weeks_used')} weeks · "
            f"{f'{currency} per week' if currency else 'per week'}",
            table,
            *(f"note: {n}" for n in notes),
        ]
    )


def curves_result(fitted: CurveSet, threshold: float | None = None, points: bool = True) -> Result:
    """Wrap fitted curves as a result: summary rows, each with its params and points in JSON.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> fitted = curves(Services.for_frames(*_tiny_example()).context, CurvesQuery(bootstrap=0))
    >>> sorted(curves_result(fitted, points=False).to_dict()["data"][0])[:3]
    ['average_roas', 'channel', 'current_revenue']
    """
    body = fitted.to_dict(threshold, points=points)
    rows = body.pop("data")
    summary = fitted.summary(threshold)
    return Result(
        "budget-curves",
        body,
        summary,
        table=lambda: curves_table(fitted, threshold),
        json_data=rows,
        notes=calibration_notes(fitted),
    )


@dataclass(frozen=True)
class PlanQuery:
    """A budget plan: curves to plan on, the period and its budget, rails, bounds, locks and caps.

    ``budget`` and absolute ``minimum`` / ``maximum`` amounts are in the
    ``period``'s money; ``max_change`` is the guard rail (``None``: none) and
    ``allow_zero`` the channels that may be cut to zero (``True``: all), as in
    :func:`attribution.budget.plan_budget`.

    With ``models`` (two or more), the plan is made under each of them (the
    curves query with its model replaced) and a ``robust`` plan across them
    (``worst`` or ``mean``; :func:`attribution.budget.robust.plan_across_models`);
    without, under ``curves.model`` alone. ``strict_models=False`` (the
    default models, or ``all``) skips a model that cannot run on the data,
    with a warning, instead of failing.

    Examples
    --------
    >>> PlanQuery(CurvesQuery(), budget=1000.0).budget
    1000.0
    """

    curves: CurvesQuery
    budget: float | None = None
    minimum: Mapping[str, float | str] = field(default_factory=dict)
    maximum: Mapping[str, float | str] = field(default_factory=dict)
    locks: Sequence[str] = ()
    cap_multiple: float = DEFAULT_CAP_MULTIPLE
    threshold: float | None = None
    ci: float = DEFAULT_CI
    points: bool = True
    period: str = DEFAULT_PERIOD
    max_change: float | None = DEFAULT_MAX_CHANGE
    allow_zero: bool | tuple[str, ...] = False
    models: tuple[AttributionModel, ...] = ()
    robust: str = DEFAULT_ROBUST
    strict_models: bool = True

    def __post_init__(self) -> None:
        check_objective(self.robust)


def plan_models(names: Sequence[str] | str | None) -> tuple[tuple[AttributionModel, ...], bool]:
    """Return the models a plan across models names, and whether each must run (named ones).

    ``None`` is the default (:data:`~attribution.budget.robust.DEFAULT_MODELS`),
    ``"all"`` (or ``["all"]``) every registered model; both skip a model that
    cannot run on the data.

    Examples
    --------
    >>> models, strict = plan_models("markov, linear")
    >>> [m.name for m in models], strict
    (['markov', 'linear'], True)
    >>> [m.name for m in plan_models(None)[0]], plan_models(None)[1]
    (['markov', 'linear', 'position_based'], False)
    >>> plan_models("linear,linear")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Each model can be planned under once; got linear, linear.
    """
    from attribution.models import available_models

    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if names is not None and [n.lower() for n in names] == ["all"]:
        chosen, strict = list(available_models()), False
    elif names is None:
        chosen, strict = list(DEFAULT_MODELS), False
    else:
        chosen, strict = list(names), True
    if not chosen:
        raise ParameterError("models is empty: give model names separated by commas, or all.")
    if len(set(chosen)) != len(chosen):
        raise ParameterError(f"Each model can be planned under once; got {', '.join(chosen)}.")
    return tuple(resolve_model(m) for m in chosen), strict


def plan(ctx: Context, query: PlanQuery) -> Result:
    """Recommend the spend per channel for a period that maximises predicted attributed revenue.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> plan(services.context, PlanQuery(CurvesQuery(bootstrap=0))).members["by"]
    'channel'
    """
    if query.models:
        return plan_across(ctx, query)
    fitted = curves(ctx, query.curves)
    planned = plan_budget(
        fitted, query.budget, minimum=dict(query.minimum), maximum=dict(query.maximum),
        locks=list(query.locks), cap_multiple=query.cap_multiple, threshold=query.threshold,
        ci=query.ci, seed=query.curves.seed, period=query.period, max_change=query.max_change,
        allow_zero=query.allow_zero,
    )  # fmt: skip
    body = clean(planned.to_dict(points=query.points))
    rows = body.pop("data")
    return Result(
        "budget-plan",
        body,
        planned.data,
        table=planned.to_table,
        json_data=rows,
        csv=planned.to_csv,
        notes=calibration_notes(fitted),
    )


def plan_across(ctx: Context, query: PlanQuery) -> Result:
    """Plan under each of ``query.models``' curves, side by side, with the robust plan.

    Each model's curves are fitted (cached) with the same curves query but for
    its model, calibrated alike; progress names the model being fitted.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> models, _ = plan_models("linear,first_touch")
    >>> result = plan_across(services.context, PlanQuery(CurvesQuery(bootstrap=0), models=models))
    >>> result.members["models"], sorted(result.members["plans"])
    (['linear', 'first_touch'], ['first_touch', 'linear'])
    """
    from attribution.budget.robust import plan_across_models
    from attribution.progress import stage

    fitted: dict[str, CurveSet] = {}
    skipped: list[str] = []
    for i, model in enumerate(query.models, start=1):
        with stage(f"model {i}/{len(query.models)}: {model.name}"):
            try:
                fitted[model.name] = curves(ctx, replace(query.curves, model=model))
            except ClosedloopError as exc:
                if query.strict_models or exc.status >= 500:
                    raise
                skipped.append(f"{model.name} ({exc})")
    planned = plan_across_models(
        fitted, query.budget, robust=query.robust, minimum=dict(query.minimum),
        maximum=dict(query.maximum), locks=list(query.locks), cap_multiple=query.cap_multiple,
        threshold=query.threshold, ci=query.ci, seed=query.curves.seed, period=query.period,
        max_change=query.max_change, allow_zero=query.allow_zero,
    )  # fmt: skip
    if skipped:
        planned.warnings.append(
            "Left out, as they cannot run on this data: " + "; ".join(skipped) + "."
        )
    body = clean(planned.to_dict(points=query.points))
    rows = body.pop("data")
    notes = tuple(f"{name}: {line}" for name, c in fitted.items() for line in calibration_notes(c))
    return Result(
        "budget-plan",
        body,
        planned.side_by_side,
        table=planned.to_table,
        json_data=rows,
        csv=planned.to_csv,
        notes=notes,
    )


@dataclass(frozen=True)
class WhatIfQuery:
    """An allocation to predict: spend per channel and period (others stay as they are).

    Examples
    --------
    >>> WhatIfQuery(CurvesQuery(), {"Email": "+10%"}).allocation
    {'Email': '+10%'}
    """

    curves: CurvesQuery
    allocation: Mapping[str, float | str]
    ci: float = DEFAULT_CI
    points: bool = True
    period: str = DEFAULT_PERIOD


def whatif(ctx: Context, query: WhatIfQuery) -> Result:
    """Predict revenue and ROAS per channel for an allocation over a period.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> result = whatif(services.context, WhatIfQuery(CurvesQuery(bootstrap=0), {}))
    >>> result.members["by"]
    'channel'
    """
    fitted = curves(ctx, query.curves)
    predicted = what_if(fitted, dict(query.allocation), period=query.period, ci=query.ci)
    body: dict[str, Any] = predicted.to_dict(points=query.points)
    rows = body.pop("data")
    return Result(
        "budget-whatif",
        body,
        predicted.data,
        table=predicted.to_table,
        json_data=rows,
        csv=predicted.to_csv,
        notes=calibration_notes(fitted),
    )


__all__ = [
    "PlanQuery",
    "WhatIfQuery",
    "calibration_notes",
    "curves",
    "curves_result",
    "curves_table",
    "plan",
    "plan_across",
    "plan_models",
    "whatif",
]
