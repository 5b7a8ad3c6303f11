"""``/v1/budget``: response curves, a recommended budget plan, and what-ifs.

- ``GET /v1/budget/curves``: every channel's weekly response curve, its fit,
  current spend, average and marginal ROAS, saturation point and the points
  to draw it (model parameters are extra query parameters, as on
  ``/v1/attribution``);
- ``POST /v1/budget/plan``: the spend per channel for a week, month or
  quarter that maximises predicted attributed revenue under a budget, guard
  rails (``max_change``, ``allow_zero``), bounds, locks and caps: one
  model's plan when the body names a ``model``, else each of ``models``'
  (markov, linear and position_based by default) side by side with a
  ``robust`` plan across them and the ``matrix`` of every plan's revenue
  under every model;
- ``POST /v1/budget/whatif``: predicted revenue and ROAS of an allocation.

The curves are weekly; a plan's and a what-if's amounts are in their
``period``'s money, with the weekly ones beside them. Each answers JSON, or CSV (the rows) with
``?format=csv`` or ``Accept: text/csv``. The curves are fitted by
:func:`api.services.budget.curves`, cached like every other answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from api.http.deps import ServicesDep, extra_query_params
from api.http.errors import problem_responses
from api.http.negotiation import respond
from api.http.params import (
    Accept,
    Calibrate,
    ClickWindow,
    DecimalDigits,
    DecimalNumber,
    Format,
    Journey,
    Lookback,
    ViewWindow,
    table_responses,
)
from api.http.schemas import (
    CurveKind,
    CurvesPublic,
    CurvesRequest,
    MultiPlanPublic,
    PlanPublic,
    PlanRequest,
    WhatIfPublic,
    WhatIfRequest,
)
from api.services import CurvesQuery, PlanQuery, WhatIfQuery
from api.services.budget import plan_models
from attribution.errors import ParameterError

if TYPE_CHECKING:
    from fastapi.openapi.models import Example

    from attribution.models import AttributionModel

router = APIRouter(prefix="/budget", tags=["budget"])

KNOWN_PARAMETERS = frozenset(
    {
        "model", "by", "stage", "lookback_days", "click_window_days", "view_window_days",
        "curve", "decay", "threshold", "bootstrap",
        "attribution_bootstrap", "seed", "format", "points", "journey", "calibrate",
    }
)  # fmt: skip
"""Query parameters of ``GET /v1/budget/curves``; any other one is a model parameter."""


def curves_query(body: CurvesRequest) -> CurvesQuery:
    """Return the services' query for the curves a request body describes.

    Examples
    --------
    >>> curves_query(CurvesRequest(model="last_touch", curve="log")).curve
    'log'
    """
    return CurvesQuery.create(
        body.model,
        dict(body.params),
        by=body.by,
        stage=body.stage,
        lookback_days=body.lookback_days,
        click_window_days=body.click_window_days,
        view_window_days=body.view_window_days,
        curve=body.curve,
        decay=body.decay,
        bootstrap=body.bootstrap,
        attribution_bootstrap=body.attribution_bootstrap,
        seed=body.seed,
        journey=body.journey,
        calibrate=body.calibrate,
    )


@router.get(
    "/curves",
    response_model=CurvesPublic,
    responses={**table_responses("The curves"), **problem_responses(404, 422, 503)},
)
def read_curves(
    request: Request,
    services: ServicesDep,
    model: Annotated[str, Query(description="A registered model name.")] = "linear",
    by: Annotated[str, Query(description="`channel` or `campaign`.")] = "channel",
    stage: Annotated[str | None, Query(description="Conversion stage.")] = None,
    lookback_days: Lookback = 90.0,
    click_window_days: ClickWindow = None,
    view_window_days: ViewWindow = None,
    curve: Annotated[CurveKind, Query(description="hill, power or log.")] = "hill",
    decay: Annotated[
        str,
        Query(description="Adstock decay: `auto` (estimated per channel) or a value in [0, 1)."),
    ] = "auto",
    threshold: Annotated[
        float | None, DecimalNumber, Query(gt=0, description="A marginal ROAS threshold.")
    ] = None,
    bootstrap: Annotated[int, DecimalDigits, Query(ge=0, le=10_000)] = 100,
    attribution_bootstrap: Annotated[int, DecimalDigits, Query(ge=0, le=10_000)] = 0,
    seed: Annotated[int, DecimalDigits, Query(ge=0)] = 0,
    points: Annotated[bool, Query(description="Include the curve points.")] = True,
    journey: Journey = "person",
    calibrate: Calibrate = True,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Fit every channel's weekly response curve; model parameters are extra query parameters."""
    query = CurvesQuery.create(
        model,
        extra_query_params(request, KNOWN_PARAMETERS),
        by=by,
        stage=stage,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        curve=curve,
        decay=decay,
        bootstrap=bootstrap,
        attribution_bootstrap=attribution_bootstrap,
        seed=seed,
        journey=journey,
        calibrate=calibrate,
    )
    result = services.curves_result(query, threshold, points)
    return respond(result, request, fmt=fmt, accept=accept)


PLAN_EXAMPLES: dict[str, Example] = {
    "across_models": {
        "summary": "A quarter's plan under three models, with the robust (maximin) plan",
        "value": {
            "models": ["markov", "linear", "position_based"], "robust": "worst",
            "stage": "closed_won", "period": "quarter", "budget": 250000,
        },
    },
    "one_model": {
        "summary": "One model's plan, with bounds and a lock",
        "value": {
            "model": "markov", "stage": "closed_won", "budget": 22000,
            "min": {"Paid Social": "-10%"}, "locks": ["Email"],
        },
    },
}  # fmt: skip
"""Request bodies shown in the OpenAPI documentation of ``POST /v1/budget/plan``."""


def plan_models_of(body: PlanRequest) -> tuple[tuple[AttributionModel, ...], bool]:
    """Return the models a plan request plans under (none: one model's plan) and if all must run.

    Examples
    --------
    >>> plan_models_of(PlanRequest(model="markov"))
    ((), True)
    >>> [m.name for m in plan_models_of(PlanRequest())[0]]
    ['markov', 'linear', 'position_based']
    >>> plan_models_of(PlanRequest(model="markov", models=["linear", "markov"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Give `model` (one model's plan) or `models` (plans ...
    """
    single = "model" in body.model_fields_set
    if single and body.models is not None:
        raise ParameterError(
            "Give `model` (one model's plan) or `models` (plans across models, side by side), "
            "not both."
        )
    if single and "robust" in body.model_fields_set:
        raise ParameterError(
            "`robust` goes with a plan across models (`models`, or no `model`); a body with "
            "`model` plans under that one model."
        )
    if single:
        return (), True
    if body.params:
        raise ParameterError(
            "`params` go with `model` (one model's parameters); a plan across models uses "
            "each model's defaults."
        )
    return plan_models(body.models)


@router.post(
    "/plan",
    response_model=PlanPublic | MultiPlanPublic,
    responses={**table_responses("The plan"), **problem_responses(400, 404, 413, 422, 503)},
)
def create_plan(
    body: Annotated[PlanRequest, Body(openapi_examples=PLAN_EXAMPLES)],
    request: Request,
    services: ServicesDep,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Recommend spend per channel for a period: one model's plan, or plans across models.

    With `model`, that model's plan. Otherwise each of `models` (default markov, linear and
    position_based) plans under its own curves, and the answer adds a `robust` plan across
    them (`robust`: `worst` or `mean`) and the `matrix` of every plan's revenue under every
    model.
    """
    models, strict = plan_models_of(body)
    query = PlanQuery(
        curves_query(body),
        budget=body.budget,
        minimum=body.min,
        maximum=body.max,
        locks=tuple(body.locks),
        cap_multiple=body.cap_multiple,
        threshold=body.threshold,
        ci=body.ci,
        points=body.points,
        period=body.period,
        max_change=body.max_change,
        allow_zero=body.allow_zero if isinstance(body.allow_zero, bool) else tuple(body.allow_zero),
        models=models,
        robust=body.robust,
        strict_models=strict,
    )
    return respond(services.plan(query), request, fmt=fmt, accept=accept)


@router.post(
    "/whatif",
    response_model=WhatIfPublic,
    responses={**table_responses("The prediction"), **problem_responses(400, 404, 413, 422, 503)},
)
def create_what_if(
    body: WhatIfRequest,
    request: Request,
    services: ServicesDep,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Predict revenue and ROAS per channel for a given allocation over a period."""
    query = WhatIfQuery(
        curves_query(body), body.allocation, ci=body.ci, points=body.points, period=body.period
    )
    return respond(services.whatif(query), request, fmt=fmt, accept=accept)


__all__ = ["curves_query", "plan_models_of", "router"]
