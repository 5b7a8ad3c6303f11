"""``GET /v1/models/markov/explain``: the Markov chain behind the credit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.http.deps import ServicesDep, extra_query_params
from api.http.errors import problem_responses
from api.http.params import (
    By,
    ClickWindow,
    DecimalDigits,
    End,
    Journey,
    Lookback,
    Stage,
    Start,
    ViewWindow,
)
from api.services import ExplainQuery
from api.services.queries import MAX_TOP

router = APIRouter(prefix="/models", tags=["models"])

KNOWN_PARAMETERS = frozenset(
    {
        "by",
        "stage",
        "lookback_days",
        "click_window_days",
        "view_window_days",
        "start",
        "end",
        "top",
        "journey",
    }
)
"""Query parameters of the route itself; any other one is a Markov parameter."""


@router.get("/markov/explain", responses=problem_responses(404, 422, 503))
def explain_markov(
    request: Request,
    services: ServicesDep,
    by: By = "channel",
    stage: Stage = None,
    lookback_days: Lookback = 90.0,
    click_window_days: ClickWindow = None,
    view_window_days: ViewWindow = None,
    start: Start = None,
    end: End = None,
    top: Annotated[
        int, DecimalDigits, Query(ge=0, le=MAX_TOP, description="Transitions to list.")
    ] = 20,
    journey: Journey = "person",
) -> dict[str, Any]:
    """Explain the Markov model: chain, removal effects, top transitions, diagnostics.

    Any other query parameter is a Markov parameter, e.g. `order=2` or
    `order=auto` (then `order_selection` lists the held-out log-likelihood
    of every order tried).
    """
    query = ExplainQuery.create(
        extra_query_params(request, KNOWN_PARAMETERS),
        by=by,
        stage=stage,
        lookback_days=lookback_days,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        start=start,
        end=end,
        top=top,
        journey=journey,
    )
    return services.explain(query).to_dict()


__all__ = ["router"]
