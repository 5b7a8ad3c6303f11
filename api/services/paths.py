"""Paths: top conversion paths, lengths, time lags, early/middle/late touches (``GET /v1/paths``).

:func:`paths` computes the answer; :func:`paths_table` renders it for a
terminal (``closedloop paths``): the top paths, GA4's length and time-lag
buckets and the early / middle / late touch view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import polars as pl

from api.services.attribution import PATH_KEYS
from api.services.context import Context
from api.services.diagnose import journey_diagnostics, with_warnings
from api.services.queries import PathsQuery
from api.services.results import Result
from attribution.export import text_table
from attribution.journeys import Journeys
from attribution.paths import journeys_from_path_lists
from attribution.pathstats import path_stats

DEFAULT_TOP = 20
"""Paths a terminal table shows unless told otherwise."""


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
        result = Result("paths", members, stats.paths)
        result = replace(result, table=lambda: paths_table(result.members, result.data))
        return with_warnings(result, found)

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


def paths_table(members: Mapping[str, Any], data: pl.DataFrame, top: int = DEFAULT_TOP) -> str:
    """Render a paths answer for a terminal: top paths, buckets, early/middle/late touches.

    Parameters
    ----------
    members
        The answer's members (:attr:`Result.members`).
    data
        Its paths, most conversions first.
    top
        Paths to show (0: all of them).

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> result = Services.for_frames(*_tiny_example()).paths(PathsQuery())
    >>> text = paths_table(result.members, result.data, top=1)
    >>> text.splitlines()[0]
    'Paths by channel (stage purchase, 90-day lookback)'
    """
    shown = data if top <= 0 else data.head(top)
    by = members["by"]
    currency = members.get("currency")
    money = f"; revenue in {currency}" if currency else ""
    lead = (
        f"Top {shown.height:,} of {data.height:,} paths" if shown.height < data.height else "Paths"
    )
    sections = [
        f"{lead} by {by} (stage {members.get('stage')}, "
        f"{members.get('lookback_days', 0):g}-day lookback)",
        text_table(shown.drop("steps"), currency=currency),
        "",
        "Path length (touches, GA4 buckets)",
        text_table(_frame(members.get("length_buckets"), "touches"), currency=currency),
        "",
        "Time lag (whole days from first touch to conversion, GA4 buckets)",
        text_table(_frame(members.get("time_lag_buckets"), "days"), currency=currency)
        if members.get("time_lag_buckets")
        else "(touch times unknown)",
        "",
        f"Early / middle / late touches of converting journeys by {by} (first 25% / "
        f"middle 50% / last 25% of each path's touches{money})",
        text_table(_positions_frame(members.get("touch_positions"), by), currency=currency),
    ]
    untouched = members.get("untouched_conversions") or 0
    if untouched:
        many = "conversions" if untouched != 1 else "conversion"
        sections.append(f"note: {untouched:,} {many} had no touch in the lookback window (no path)")
    return "\n".join(sections)


def _frame(rows: Any, label: str) -> pl.DataFrame:
    return pl.DataFrame(rows or [], infer_schema_length=None).rename(
        {"bucket": label}, strict=False
    )


def _positions_frame(rows: Any, by: str) -> pl.DataFrame:
    frame = pl.DataFrame(rows or [], infer_schema_length=None)
    if frame.is_empty():
        return pl.DataFrame({by: []}, schema={by: pl.String})
    return frame.rename({c: c.replace("_", " ") for c in frame.columns if c != by})


__all__ = ["DEFAULT_TOP", "paths", "paths_table"]
