"""``GET /v1/funnel``: lead-funnel counts and rates per channel, campaign, lead source or owner.

Counted on stitched persons, like every other answer (see
:mod:`api.services.funnel`). A stage with no row in the data is listed in
``absent_stages`` and its counts and rates are null (never filled in);
``notes`` say so in words.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http.deps import ServicesDep
from api.http.errors import problem_responses
from api.http.negotiation import respond
from api.http.params import Accept, End, Format, Journey, Start, Stitch, table_responses
from api.http.schemas import FunnelPublic
from api.services import FunnelQuery

router = APIRouter(prefix="/funnel", tags=["funnel"])


@router.get(
    "",
    response_model=FunnelPublic,
    responses={
        **table_responses("The funnel (CSV: the rows and a TOTAL row)"),
        **problem_responses(422, 503),
    },
)
def read_funnel(
    request: Request,
    services: ServicesDep,
    by: Annotated[
        str | None,
        Query(description="`channel`, `campaign`, `lead_source` or `owner`; none for the total."),
    ] = None,
    start: Start = None,
    end: End = None,
    mode: Annotated[
        str,
        Query(
            description="`cohort` (default): rates over the persons who entered the earlier "
            "stage in the period; `period`: counts per period and their ratios."
        ),
    ] = "cohort",
    stages: Annotated[
        str | None,
        Query(
            description="The funnel, comma-separated, entry first and winning stage last "
            "(default: of `lead,mql,sql,opportunity,closed_won` — `lead,purchase` for "
            "e-commerce data — the stages the data has). A stage with no row in the data is "
            "listed in `absent_stages`: its counts and rates are null."
        ),
    ] = None,
    lost_stages: Annotated[
        str | None, Query(description="Losing stages with `stages` (default `closed_lost`).")
    ] = None,
    assign: Annotated[
        str,
        Query(description="`first_touch` (default) or `lead_touch`, for `by=channel|campaign`."),
    ] = "first_touch",
    stitch: Stitch = True,
    journey: Journey = "person",
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Count the lead funnel and compute its conversion rates, times and money per group."""
    query = FunnelQuery.create(
        by=by,
        start=start,
        end=end,
        mode=mode,
        stages=stages,
        lost_stages=lost_stages,
        assign=assign,
        stitch=stitch,
        journey=journey,
    )
    result = services.funnel(query)
    name = f"funnel-{by}" if by else "funnel"
    return respond(result.renamed(name), request, fmt=fmt, accept=accept)


__all__ = ["router"]
