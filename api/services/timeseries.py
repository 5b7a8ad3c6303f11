"""Time series: one metric per key and day, week or month (``GET /v1/timeseries``)."""

from __future__ import annotations

from api.services.context import Context
from api.services.queries import TimeSeriesQuery
from api.services.results import Result
from attribution.timeseries import time_series


def timeseries(ctx: Context, query: TimeSeriesQuery) -> Result:
    """Bucket the query's metric per key and period, zero-filled.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> result = timeseries(services.context, TimeSeriesQuery(metric="spend", interval="day"))
    >>> result.data.columns
    ['period', 'channel', 'spend']
    """

    def compute() -> Result:
        inputs = ctx.inputs(query.window)
        ctx.require_conversions(inputs, query, "report on")
        journeys = ctx.journeys(query)
        series = time_series(
            journeys,
            query.model,
            inputs.costs,
            by=query.by,
            interval=query.interval,
            start=query.start,
            end=query.end,
        )
        members = {
            "metric": query.metric,
            "by": query.by,
            "interval": query.interval,
            "model": query.model.name,
            "stage": journeys.stage,
            "start": query.start.isoformat() if query.start else None,
            "end": query.end.isoformat() if query.end else None,
            "periods": series["period"].unique().len(),
            "currency": inputs.currency,
        }
        frame = series if query.metric == "all" else series.select("period", query.by, query.metric)
        return Result(f"timeseries-{query.metric}", members, frame)

    return ctx.cached(("timeseries", query), compute)


__all__ = ["timeseries"]
