"""Paths: top conversion paths, path lengths and time lags (``GET /v1/paths``)."""

from __future__ import annotations

from api.services.context import Context
from api.services.queries import PathsQuery
from api.services.results import Result
from attribution.pathstats import path_stats


def paths(ctx: Context, query: PathsQuery) -> Result:
    """Summarise the journeys' paths for the query's stage, lookback and period.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> result = paths(services.context, PathsQuery())
    >>> result.to_dict()["data"][0]["path"]
    'Email > Search'
    """

    def compute() -> Result:
        inputs = ctx.inputs(query.window)
        ctx.require_conversions(inputs, query, "report on")
        journeys = ctx.journeys(query)
        stats = path_stats(journeys, query.by, collapse=query.collapse)
        extra = {
            "stage": journeys.stage,
            "start": query.start.isoformat() if query.start else None,
            "end": query.end.isoformat() if query.end else None,
            "lookback_days": query.lookback_days,
            "currency": inputs.currency,
        }
        members = {**stats.to_dict(), **extra}
        members.pop("data", None)
        return Result("paths", members, stats.paths)

    return ctx.cached(("paths", query), compute)


__all__ = ["paths"]
