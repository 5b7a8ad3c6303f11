"""``GET /v1/compare``: every selected model's credit per row side by side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http.deps import ServicesDep
from api.http.errors import problem_responses
from api.http.negotiation import respond
from api.http.params import (
    DEFAULT_PAGE,
    Accept,
    Bootstrap,
    By,
    Ci,
    ClickWindow,
    Cursor,
    End,
    Format,
    Journey,
    Limit,
    Lookback,
    Seed,
    Stage,
    StageValues,
    Start,
    ViewWindow,
    table_responses,
)
from api.http.schemas import ComparePublic
from api.services import CompareQuery

router = APIRouter(tags=["dashboard"])


@router.get(
    "/compare",
    response_model=ComparePublic,
    responses={**table_responses("The comparison"), **problem_responses(404, 422, 503)},
)
def compare(
    request: Request,
    services: ServicesDep,
    models: Annotated[
        str | None,
        Query(
            description="Comma-separated model names. Default: every registered model that "
            "runs on the data (the others are listed in `skipped`).",
            examples=["first_touch,last_touch,linear,markov"],
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        Query(
            description="The model every other one's % change is from, as in GA4's model "
            "comparison (`<model>_conversions_change`, `_revenue_change`, `_roas_change` = "
            "(model − baseline) / baseline, null where the baseline is 0). Default: the first "
            "of `models`.",
            examples=["last_touch"],
        ),
    ] = None,
    by: By = "channel",
    stage: Stage = None,
    lookback_days: Lookback = 90.0,
    click_window_days: ClickWindow = None,
    view_window_days: ViewWindow = None,
    start: Start = None,
    end: End = None,
    ci: Ci = None,
    bootstrap: Bootstrap = 200,
    seed: Seed = 0,
    journey: Journey = "person",
    stage_values: StageValues = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Compare models side by side: conversions, revenue, ROAS, share and % change per row.

    Each row has `<model>_conversions`, `<model>_revenue`, `<model>_roas` and
    `<model>_share` (its share of the model's total revenue) for every model;
    every model but the `baseline` also has `<model>_conversions_change`,
    `<model>_revenue_change` and `<model>_roas_change` = (model − baseline) /
    baseline as a fraction (0.25 is +25%; null where the baseline is 0 or
    null), as GA4's model comparison report shows them. `max_share_gap` = max
    − min share across models with the models at either end
    (`max_share_model`, `min_share_model`): the rows where the models disagree
    most. `totals` has each model's totals, `total_changes` their % change.
    With `ci`, every model has `_revenue_low/_high` and `_roas_low/_high`.
    """
    names = None if models is None else [m.strip() for m in models.split(",") if m.strip()]
    query = CompareQuery.create(
        names,
        baseline=baseline,
        by=by,
        stage=stage,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        start=start,
        end=end,
        ci=ci,
        bootstrap=bootstrap,
        seed=seed,
        journey=journey,
        stage_values=stage_values or (),
    )
    return respond(
        services.compare(query),
        request,
        fmt=fmt,
        accept=accept,
        limit=limit,
        cursor=cursor,
        paged=True,
    )


__all__ = ["router"]
