"""Spend, attributed revenue, conversions and ROAS per day, ISO week or month.

Conventions (conventions.md 6.2):

- buckets are ``day``, ``week`` (ISO weeks, starting on Monday) or ``month``,
  each labelled by its **start date**;
- every bucket of the period is present for every key, zero-filled, so
  charts do not gap (ROAS stays null where spend is 0);
- attributed revenue and conversions are dated at the **conversion**, spend
  at the cost's date. Conversions with no touch in their window are on a
  ``(no touchpoint)`` row, so per bucket the rows sum to the closed revenue
  and the whole series sums to :func:`attribution.attribute`'s rows.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from attribution.constants import NO_TOUCHPOINT, NOT_SET
from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.models import AttributionModel
from attribution.models.base import credit_touches
from attribution.report import _conform_costs, _period, costs_keyed_by

INTERVALS = ("day", "week", "month")
"""Bucket sizes."""

METRICS = ("spend", "revenue", "conversions", "roas")
"""Columns of a time series."""

_TRUNCATE = {"day": "1d", "week": "1w", "month": "1mo"}


def bucket_start(column: pl.Expr, interval: str) -> pl.Expr:
    """Return the start date of the ``interval`` bucket of a date column (weeks start on Monday).

    Examples
    --------
    >>> frame = pl.DataFrame({"date": [dt.date(2024, 1, 3), dt.date(2024, 1, 31)]})
    >>> frame.select(bucket_start(pl.col("date"), "week"))["date"].to_list()
    [datetime.date(2024, 1, 1), datetime.date(2024, 1, 29)]
    """
    require_interval(interval)
    return column.dt.truncate(_TRUNCATE[interval])


def require_interval(interval: str) -> None:
    """Refuse an unknown bucket size, naming the known ones."""
    if interval not in INTERVALS:
        raise ParameterError(f"Unknown interval {interval!r}. Use one of: {', '.join(INTERVALS)}.")


MAX_BUCKETS = 10_000
"""The most periods one time series holds (27 years of days, 190 years of weeks)."""


def bucket_count(start: dt.date, end: dt.date, interval: str) -> int:
    """Return how many buckets overlap ``[start, end]``, without listing them.

    Examples
    --------
    >>> bucket_count(dt.date(2024, 1, 31), dt.date(2024, 3, 1), "month")
    3
    >>> bucket_count(dt.date(1, 1, 1), dt.date(9999, 12, 30), "day")
    3652058
    """
    require_interval(interval)
    if end < start:
        return 0
    if interval == "day":
        return (end - start).days + 1
    if interval == "week":
        first_monday = start - dt.timedelta(days=start.weekday())
        return (end - first_monday).days // 7 + 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


def bucket_range(start: dt.date, end: dt.date, interval: str) -> list[dt.date]:
    """Return the start dates of every bucket that overlaps ``[start, end]``.

    Raises
    ------
    ParameterError
        When that is more than :data:`MAX_BUCKETS` buckets.

    Examples
    --------
    >>> bucket_range(dt.date(2024, 1, 31), dt.date(2024, 3, 1), "month")
    [datetime.date(2024, 1, 1), datetime.date(2024, 2, 1), datetime.date(2024, 3, 1)]
    """
    count = bucket_count(start, end, interval)
    if count > MAX_BUCKETS:
        raise ParameterError(
            f"{start} to {end} is {count:,} {interval}s; a time series holds at most "
            f"{MAX_BUCKETS:,}. Narrow start/end or choose a coarser interval."
        )
    first = pl.select(bucket_start(pl.lit(start), interval)).item()
    return pl.date_range(first, end, _TRUNCATE[interval], eager=True).to_list()


def time_series(
    journeys: Journeys,
    model: AttributionModel,
    costs: pl.DataFrame | None = None,
    *,
    by: str = "channel",
    interval: str = "week",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pl.DataFrame:
    """Bucket spend and attributed revenue and conversions per ``by`` value and period.

    Parameters
    ----------
    journeys
        Journeys from :func:`attribution.build_journeys`.
    model
        The attribution model.
    costs
        Daily spend (``date``, ``channel``, ``spend``, optional ``campaign``);
        ``None`` gives null spend and ROAS.
    by
        A touch column: ``channel``, ``campaign`` (spend per key), or one costs
        lack (``source``, ``medium``, ``interaction``: spend and ROAS null).
    interval
        ``day``, ``week`` (ISO, Monday) or ``month``.
    start, end
        The period (inclusive); defaults to the dates of the data, as in
        :func:`attribution.attribute`.

    Returns
    -------
    polars.DataFrame
        ``period`` (the bucket's start date), ``by``, and :data:`METRICS`,
        sorted by period then key; every bucket × key present.

    Examples
    --------
    >>> from attribution.journeys import build_journeys
    >>> from attribution.models import Linear
    >>> from attribution.report import _tiny_example
    >>> tp, cv, costs = _tiny_example()
    >>> series = time_series(build_journeys(tp, cv), Linear(), costs, interval="day")
    >>> series.filter(pl.col("channel") == "Email").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2024, 1, 1), 'Email', 10.0, 0.0, 0.0, 0.0),
     (datetime.date(2024, 1, 2), 'Email', 0.0, 0.0, 0.0, None),
     (datetime.date(2024, 1, 3), 'Email', 0.0, 50.0, 0.5, None)]
    """
    require_interval(interval)
    touches = credit_touches(journeys, model, by)
    key = pl.col(by).cast(pl.String).fill_null(NOT_SET).alias(by)
    day = pl.col("conversion_ts").dt.date()
    credited = touches.select(
        key,
        day.alias("date"),
        pl.col("attributed_revenue").alias("revenue"),
        pl.col("attributed_conversions").alias("conversions"),
    )
    untouched = journeys.untouched.select(
        pl.lit(NO_TOUCHPOINT).alias(by),
        pl.col("ts").dt.date().alias("date"),
        pl.col("revenue").cast(pl.Float64),
        pl.lit(1.0).alias("conversions"),
    )
    events = pl.concat([credited, untouched])
    cost_frame = _conform_costs(costs) if costs is not None else None
    # Costs without the key (by source, medium, ...): spend and ROAS unknown, null.
    keyed = costs is not None and costs_keyed_by(costs, by)
    first, last = _period(
        pl.concat(
            [
                touches.select(pl.col("conversion_ts").alias("ts")),
                journeys.untouched["ts"].to_frame(),
            ]
        ),
        cost_frame,
        start,
        end,
    )
    if first is None or last is None:
        return _empty(by)
    events = events.filter(pl.col("date").is_between(first, last))
    spend = (
        cost_frame.filter(pl.col("date").is_between(first, last)).select(
            pl.col(by).cast(pl.String).fill_null(NOT_SET).alias(by), "date", "spend"
        )
        if cost_frame is not None and keyed
        else pl.DataFrame(schema={by: pl.String, "date": pl.Date, "spend": pl.Float64})
    )
    period = bucket_start(pl.col("date"), interval).alias("period")
    money = events.group_by(period, by).agg(pl.col("revenue", "conversions").sum())
    spent = spend.group_by(period, by).agg(pl.col("spend").sum())
    keys = pl.concat([money.select(by), spent.select(by)]).unique()
    grid = pl.DataFrame({"period": bucket_range(first, last, interval)}, schema={"period": pl.Date})
    frame = (
        grid.join(keys, how="cross")
        .join(money, on=["period", by], how="left")
        .join(spent, on=["period", by], how="left")
        .with_columns(pl.col("spend", "revenue", "conversions").fill_null(0.0))
    )
    if cost_frame is None or not keyed:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias("spend"))
    else:
        frame = frame.with_columns(
            pl.when(pl.col(by) == NO_TOUCHPOINT)
            .then(None)
            .otherwise(pl.col("spend"))
            .alias("spend")
        )
    roas = pl.when(pl.col("spend") > 0).then(pl.col("revenue") / pl.col("spend"))
    return frame.with_columns(roas.alias("roas")).select("period", by, *METRICS).sort("period", by)


def _empty(by: str) -> pl.DataFrame:
    return pl.DataFrame(
        schema={"period": pl.Date, by: pl.String, **dict.fromkeys(METRICS, pl.Float64)}
    )


__all__ = [
    "INTERVALS",
    "MAX_BUCKETS",
    "METRICS",
    "bucket_count",
    "bucket_range",
    "bucket_start",
    "require_interval",
    "time_series",
]
