"""Time series: one metric per key and day, week or month (``GET /v1/timeseries``).

The answer's rows are long (``period``, key, metric), as charts and CSV want
them; :func:`timeseries_table` pivots them for a terminal: one row per
period, one column per key (``closedloop timeseries``).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from api.services.attribution import on_converting
from api.services.context import Context
from api.services.diagnose import journey_diagnostics, with_warnings
from api.services.queries import TimeSeriesQuery
from api.services.results import Result
from attribution.constants import NO_TOUCHPOINT
from attribution.export import text_table
from attribution.numbers import column_kind
from attribution.timeseries import time_series

ADDITIVE = ("spend", "revenue", "conversions")
"""Metrics a period's keys add up to (ROAS does not: its table has no total column)."""


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
        result = Result(f"timeseries-{query.metric}", members, frame)
        if query.metric != "all":
            money = f", {currency}" if currency and query.metric != "conversions" else ""
            title = (
                f"{query.metric} by {query.by} per {query.interval} "
                f"(model {query.model.name}, stage {journeys.stage}{money})"
            )
            pivot = timeseries_table(frame, query.by, query.metric, currency)
            result = replace(result, table=lambda: f"{title}\n{pivot}")
        return with_warnings(result, found)

    return ctx.cached(("timeseries", query), compute)


def timeseries_table(
    series: pl.DataFrame, by: str, metric: str, currency: str | None = None
) -> str:
    """Render a long series as a terminal table: periods as rows, keys as columns.

    Spend, revenue and conversions get a ``total`` column (the period's sum);
    ROAS does not (a sum of ratios means nothing), and its empty cells are ``—``.
    Keys are in name order, ``(no touchpoint)`` last.

    Examples
    --------
    >>> import datetime as dt
    >>> series = pl.DataFrame({"period": [dt.date(2024, 1, 1)] * 2 + [dt.date(2024, 1, 8)] * 2,
    ...     "channel": ["Email", "Search"] * 2, "revenue": [10.0, 0.0, 5.0, 20.0]})
    >>> print(timeseries_table(series, "channel", "revenue", "USD"))
    ┌────────────┬────────┬────────┬────────┐
    │ period     ┆  Email ┆ Search ┆  total │
    ╞════════════╪════════╪════════╪════════╡
    │ 2024-01-01 ┆ $10.00 ┆  $0.00 ┆ $10.00 │
    │ 2024-01-08 ┆  $5.00 ┆ $20.00 ┆ $25.00 │
    └────────────┴────────┴────────┴────────┘
    """
    if series.is_empty():
        return text_table(pl.DataFrame({"period": []}, schema={"period": pl.Date}))
    wide = series.pivot(on=by, index="period", values=metric, sort_columns=True).sort("period")
    keys = [c for c in wide.columns[1:] if c != NO_TOUCHPOINT]
    wide = wide.select("period", *keys, *([NO_TOUCHPOINT] if NO_TOUCHPOINT in wide.columns else []))
    if metric in ADDITIVE:
        known = pl.any_horizontal(pl.exclude("period").is_not_null())
        total = pl.when(known).then(pl.sum_horizontal(pl.exclude("period")))
        wide = wide.with_columns(total.alias("total"))
    # The columns are keys: their numbers are the metric's kind.
    kind = column_kind(metric, pl.Float64())
    return text_table(wide, currency=currency, kinds=dict.fromkeys(wide.columns[1:], kind))


__all__ = ["timeseries", "timeseries_table"]
