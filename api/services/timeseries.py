"""Time series: one metric per key and day, week or month (``GET /v1/timeseries``)."""

from __future__ import annotations

from api.services.attribution import on_converting
from api.services.context import Context
from api.services.diagnose import journey_diagnostics, with_warnings
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
        engine = ctx.converting(query) if on_converting(query) else None
        if engine is not None:
            # The model credits each journey on its own: the converting ones are enough.
            ctx.require_conversions(engine, query, "report on")
            assert engine.converting is not None  # conversions were found in the window
            journeys, costs, currency = (
                engine.converting.journeys,
                engine.costs,
                engine.currency,
            )
        else:
            inputs = ctx.inputs(query.window)
            ctx.require_conversions(inputs, query, "report on")
            journeys, costs, currency = ctx.journeys(query), inputs.costs, inputs.currency
        series = time_series(
            journeys,
            query.model,
            costs,
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
            "currency": currency,
        }
        frame = series if query.metric == "all" else series.select("period", query.by, query.metric)
        found = journey_diagnostics(ctx, query, journeys, by=query.by, currency=currency)
        return with_warnings(Result(f"timeseries-{query.metric}", members, frame), found)

    return ctx.cached(("timeseries", query), compute)


__all__ = ["timeseries"]
