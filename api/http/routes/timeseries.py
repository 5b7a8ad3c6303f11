"""``GET /v1/timeseries``: one metric per key and day, ISO week or month, zero-filled."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http.deps import ServicesDep
from api.http.errors import problem_responses
from api.http.negotiation import respond
from api.http.params import (
    DEFAULT_PAGE,
    Accept,
    ClickWindow,
    Cursor,
    End,
    Format,
    Journey,
    Limit,
    Lookback,
    Stage,
    Start,
    ViewWindow,
    table_responses,
)
from api.http.schemas import TimeSeriesPublic
from api.services import TimeSeriesQuery
from api.services.queries import resolve_model

router = APIRouter(tags=["dashboard"])


@router.get(
    "/timeseries",
    response_model=TimeSeriesPublic,
    responses={**table_responses("The series"), **problem_responses(404, 422, 503)},
)
def read_timeseries(
    request: Request,
    services: ServicesDep,
    metric: Annotated[
        Literal["spend", "revenue", "conversions", "roas"],
        Query(description="`spend`, attributed `revenue`, attributed `conversions` or `roas`."),
    ] = "revenue",
    by: Annotated[
        Literal["channel", "campaign", "source", "medium", "interaction"],
        Query(
            description="The series key; costs carry only `channel` and `campaign`: by the "
            "others spend and ROAS are null."
        ),
    ] = "channel",
    interval: Annotated[
        Literal["day", "week", "month"],
        Query(description="Bucket size; weeks are ISO weeks starting on Monday."),
    ] = "week",
    model: Annotated[str, Query(description="The attribution model.")] = "linear",
    stage: Stage = None,
    lookback_days: Lookback = 90.0,
    click_window_days: ClickWindow = None,
    view_window_days: ViewWindow = None,
    start: Start = None,
    end: End = None,
    journey: Journey = "person",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """One metric per key and period: rows `period` (bucket start, `YYYY-MM-DD`), key, metric.

    Every bucket of the period is present for every key, zero-filled (ROAS
    is null where spend is 0). Attributed revenue and conversions are dated
    at the conversion, spend at the cost's date.
    """
    query = TimeSeriesQuery(
        metric=metric,
        by=by,
        interval=interval,
        model=resolve_model(model),
        stage=stage,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        start=start,
        end=end,
        journey=journey,
    )
    return respond(
        services.timeseries(query),
        request,
        fmt=fmt,
        accept=accept,
        limit=limit,
        cursor=cursor,
        paged=True,
    )


__all__ = ["router"]
