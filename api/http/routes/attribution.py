"""``GET /v1/attribution``: credit revenue to channels or campaigns with any model.

Model parameters are plain query parameters next to the known ones
(``?model=time_decay&half_life_days=3``): every query parameter that is not
one of :data:`KNOWN_PARAMETERS` goes to the model, which refuses names it does
not have (422 naming them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http.deps import ServicesDep, extra_query_params
from api.http.errors import problem_responses
from api.http.negotiation import respond
from api.http.params import (
    DEFAULT_MAX_IDENTITY_COMPONENT,
    Accept,
    Bootstrap,
    By,
    Calibrate,
    Ci,
    ClickWindow,
    Cursor,
    End,
    Format,
    Journey,
    Lookback,
    MaxIdentityComponent,
    OptionalLimit,
    Seed,
    Stage,
    StageValues,
    Start,
    Stitch,
    ViewWindow,
    table_responses,
)
from api.http.schemas import AttributionPublic
from api.services import AttributionQuery

router = APIRouter(prefix="/attribution", tags=["attribution"])

KNOWN_PARAMETERS = frozenset(
    {
        "model",
        "by",
        "stage",
        "lookback_days",
        "click_window_days",
        "view_window_days",
        "start",
        "end",
        "format",
        "ci",
        "bootstrap",
        "seed",
    }
    | {
        "stitch",
        "max_identity_component",
        "journey",
        "limit",
        "cursor",
        "stage_values",
        "calibrate",
    }
)
"""Query parameters of the route itself; any other one is a model parameter."""


@router.get(
    "",
    response_model=AttributionPublic,
    responses={**table_responses("The report"), **problem_responses(404, 422, 503)},
)
def run_attribution(
    request: Request,
    services: ServicesDep,
    model: Annotated[
        str,
        Query(description="A registered model name (see `GET /v1/models`).", examples=["linear"]),
    ],
    by: By = "channel",
    stage: Stage = None,
    stage_values: StageValues = None,
    lookback_days: Lookback = 90.0,
    click_window_days: ClickWindow = None,
    view_window_days: ViewWindow = None,
    start: Start = None,
    end: End = None,
    ci: Ci = None,
    bootstrap: Bootstrap = 200,
    seed: Seed = 0,
    stitch: Stitch = True,
    max_identity_component: MaxIdentityComponent = DEFAULT_MAX_IDENTITY_COMPONENT,
    journey: Journey = "person",
    calibrate: Calibrate = True,
    limit: OptionalLimit = None,
    cursor: Cursor = None,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Attribute conversions with a model and report spend, ROAS, ROI and cost per conversion.

    Columns are named for the stage: `revenue` and `cpa` at `closed_won` /
    `purchase`, `pipeline` and `cost_per_opportunity` at `opportunity`,
    `value` and `cpl` (`cost_per_mql`, `cost_per_sql`) at the lead stages,
    where `value`, ROAS and ROI are null unless `stage_values` gives the
    stage a value. `impressions`, `clicks`, `ctr`, `cpc` and `cpm` come from
    the costs.

    Any other query parameter is a model parameter, e.g. `half_life_days=3`
    for `time_decay`. With `ci=0.95` every row also gets 95% bootstrap
    intervals (`bootstrap` resamples, default 200, seeded by `seed`). With
    lift tests in the store, a report by channel also has `revenue_calibrated`
    and `calibration_factor` (`calibrate=false` leaves them out). With
    `model=shapley_ordered` the answer also has `positions`: the credit per
    position (1 … 4, 5+) and key.
    """
    query = AttributionQuery.create(
        model,
        extra_query_params(request, KNOWN_PARAMETERS),
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
        stage_values=stage_values or (),
        stitch=stitch,
        max_identity_component=max_identity_component,
        journey=journey,
        calibrate=calibrate,
    )
    result = services.attribution(query)
    return respond(result, request, fmt=fmt, accept=accept, limit=limit, cursor=cursor)


__all__ = ["KNOWN_PARAMETERS", "router"]
