"""``GET /v1/paths``: top paths, length and time-lag buckets, early/middle/late touches."""

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
    By,
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
from api.http.schemas import PathsPublic
from api.services import PathsQuery

router = APIRouter(tags=["dashboard"])


@router.get(
    "/paths",
    response_model=PathsPublic,
    responses={**table_responses("The paths"), **problem_responses(422, 503)},
)
def read_paths(
    request: Request,
    services: ServicesDep,
    by: By = "channel",
    stage: Stage = None,
    lookback_days: Lookback = 90.0,
    click_window_days: ClickWindow = None,
    view_window_days: ViewWindow = None,
    start: Start = None,
    end: End = None,
    collapse: Annotated[
        bool, Query(description="Merge consecutive repeats (`Email > Email` is `Email`).")
    ] = True,
    journey: Journey = "person",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Top conversion paths, path-length and time-lag buckets, early/middle/late touches.

    `data` (paged, and the CSV) has one row per path: `path` ("A > B"),
    `steps`, `journeys`, `conversions`, `conversion_rate` (conversions /
    journeys), `revenue`, `average_length` (touches) and
    `average_days_to_conversion` (first touch to conversion). `lengths` gives
    journeys, conversions and revenue per number of touches; `time_lag`
    conversions and revenue per whole day from first touch to conversion.
    `length_buckets` and `time_lag_buckets` give the same in Google
    Analytics 4's buckets (`1` … `7`, `8-11`, `12+`; lag from `0`), every
    bucket in order with zeros where empty. `touch_positions` credits each
    key with the early (first 25%), middle (50%) and late (last 25%) touches
    of converting journeys, GA4's split; each part sums to the conversions
    and revenue of the journeys with a touch (docs/paths.md).
    """
    query = PathsQuery(
        by=by,
        stage=stage,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        start=start,
        end=end,
        collapse=collapse,
        journey=journey,
    )
    return respond(
        services.paths(query),
        request,
        fmt=fmt,
        accept=accept,
        limit=limit,
        cursor=cursor,
        paged=True,
    )


__all__ = ["router"]
