"""Paths: top conversion paths, path lengths and time lags (``GET /v1/paths``)."""

from __future__ import annotations

import polars as pl

from api.services.attribution import PATH_KEYS
from api.services.context import Context
from api.services.diagnose import journey_diagnostics, with_warnings
from api.services.queries import PathsQuery
from api.services.results import Result
from attribution.journeys import Journeys
from attribution.paths import journeys_from_path_lists
from attribution.pathstats import path_stats


def paths(ctx: Context, query: PathsQuery) -> Result:
    """Summarise the journeys' paths for the query's stage, lookback and period.

    On a store or a lake the engine supplies them: converting journeys whole,
    non-converting ones as distinct paths with counts.

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
        journeys, currency = _engine_journeys(ctx, query) or _polars_journeys(ctx, query)
        stats = path_stats(journeys, query.by, collapse=query.collapse)
        extra = {
            "stage": journeys.stage,
            "start": query.start.isoformat() if query.start else None,
            "end": query.end.isoformat() if query.end else None,
            "lookback_days": query.lookback_days,
            "windows": query.windows.to_dict(),
            "currency": currency,
        }
        members = {**stats.to_dict(), **extra}
        members.pop("data", None)
        found = journey_diagnostics(ctx, query, journeys, by=query.by, currency=currency)
        return with_warnings(Result("paths", members, stats.paths), found)

    return ctx.cached(("paths", query), compute)


def _polars_journeys(ctx: Context, query: PathsQuery) -> tuple[Journeys, str | None]:
    inputs = ctx.inputs(query.window)
    ctx.require_conversions(inputs, query, "report on")
    return ctx.journeys(query), inputs.currency


def _engine_journeys(ctx: Context, query: PathsQuery) -> tuple[Journeys, str | None] | None:
    """Return the journeys from the engine: converting ones whole, the others as paths.

    Converting journeys carry their times (days to conversion); a non-converting
    journey only adds to its path's count and length, which its distinct path
    with its count says as well. ``None`` without an engine (frames in memory).
    """
    if query.by not in PATH_KEYS:
        return None
    aggregated = ctx.paths(query, query.by)
    if aggregated is None:
        return None
    ctx.require_conversions(aggregated, query, "report on")
    converting = ctx.converting(query)
    assert aggregated.aggregate is not None  # conversions were found in the window
    assert converting is not None
    assert converting.converting is not None
    whole = converting.converting.journeys
    tails = aggregated.aggregate.paths.filter(pl.col("nulls") > 0).with_columns(
        pl.lit(0.0).alias("conversions"), pl.lit(0.0).alias("revenue")
    )
    rolled = journeys_from_path_lists(tails, by=query.by, distinct=True)
    journeys = Journeys(
        touches=pl.concat([whole.touches, rolled.touches]),
        untouched=whole.untouched,
        stage=whole.stage,
        lookback_days=whole.lookback_days,
        windows=whole.windows,
        view_only_conversions=whole.view_only_conversions,
    )
    return journeys, aggregated.currency


__all__ = ["paths"]
