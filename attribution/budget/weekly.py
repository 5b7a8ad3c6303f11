"""Weekly spend and weekly attributed revenue per channel (or campaign): the curves' data.

Weeks are ISO weeks, labelled by their Monday (UTC).

**Revenue is dated at the touch, not at the conversion.** Spend in a week
buys the touches of that week; the revenue those touches earn arrives weeks
later, when the deal closes. Dating each touch's attributed revenue at the
touch lines spend and the response it bought up in the same week, which is
what a response curve needs. Dating at the conversion (``date_by=
"conversion"``) lags the response behind the spend by the sales cycle and
smears it over weeks of other spend levels.

Dating at the touch has one cost: the touches of the last weeks have not
had time to convert yet, so their revenue is incomplete (right-censored).
:func:`weekly_panel` corrects it: the share of attributed revenue that
arrives within ``d`` days of its touch, ``F(d)``, is measured on the data
(revenue-weighted touch-to-conversion lags), each week's revenue is divided
by ``F(age)`` where ``age`` is the days from the middle of the week to the
last conversion, and weeks whose completeness is below
``min_completeness`` are not used. Weeks only partly covered by the cost
data (the first and last week) are not used either: their spend is not a
full week's.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from attribution.constants import DAY_SECONDS, NOT_SET
from attribution.errors import MissingColumnsError, ParameterError

DATE_BY = ("touch", "conversion")
"""What a touch's attributed revenue can be dated by."""

PANEL_COLUMNS = ("week", "days", "spend", "revenue", "observed_revenue", "completeness", "used")
"""Columns of :func:`weekly_panel` after the key column."""


def _require(frame: pl.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{name} is missing required column(s): {', '.join(repr(c) for c in missing)}. "
            f"Found: {', '.join(repr(c) for c in frame.columns)}."
        )


def _week(column: pl.Expr) -> pl.Expr:
    return column.dt.truncate("1w").cast(pl.Date).alias("week")


def _key(by: str) -> pl.Expr:
    return pl.col(by).cast(pl.String).fill_null(NOT_SET).alias(by)


def _as_date(costs: pl.DataFrame) -> pl.DataFrame:
    date = costs.schema["date"]
    expr = pl.col("date").str.to_date() if date == pl.String else pl.col("date").cast(pl.Date)
    return costs.with_columns(expr)


def weekly_spend(costs: pl.DataFrame, by: str = "channel") -> pl.DataFrame:
    """Sum daily spend per key and ISO week, zero-filling the weeks a key did not spend.

    Parameters
    ----------
    costs
        Daily spend with ``date``, ``spend`` and the ``by`` column.
    by
        ``channel`` or ``campaign``.

    Returns
    -------
    polars.DataFrame
        ``by``, ``week`` (the Monday), ``spend``, ``days`` (days of the week
        the cost data covers, 7 for a full week), sorted by key and week.

    Examples
    --------
    >>> costs = pl.DataFrame({"date": ["2024-01-01", "2024-01-02", "2024-01-08"],
    ...     "channel": ["A", "A", "B"], "spend": [10.0, 5.0, 7.0]})
    >>> for row in weekly_spend(costs).iter_rows():
    ...     print(row)
    ('A', datetime.date(2024, 1, 1), 15.0, 7)
    ('A', datetime.date(2024, 1, 8), 0.0, 1)
    ('B', datetime.date(2024, 1, 1), 0.0, 7)
    ('B', datetime.date(2024, 1, 8), 7.0, 1)
    """
    _require(costs, "costs", ("date", "spend", by))
    frame = _as_date(costs).with_columns(pl.col("spend").cast(pl.Float64))
    schema = {by: pl.String, "week": pl.Date, "spend": pl.Float64, "days": pl.Int64}
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    first: dt.date = frame["date"].min()  # type: ignore[assignment]
    last: dt.date = frame["date"].max()  # type: ignore[assignment]
    days = pl.DataFrame({"date": pl.date_range(first, last, eager=True)}).with_columns(
        _week(pl.col("date"))
    )
    weeks = days.group_by("week").agg(pl.len().cast(pl.Int64).alias("days"))
    keys = frame.select(_key(by)).unique()
    spend = frame.group_by(_key(by), _week(pl.col("date"))).agg(pl.col("spend").sum())
    return (
        keys.join(weeks, how="cross")
        .join(spend, on=[by, "week"], how="left")
        .with_columns(pl.col("spend").fill_null(0.0))
        .select(by, "week", "spend", "days")
        .cast(schema)  # type: ignore[arg-type]
        .sort(by, "week")
    )


def weekly_revenue(
    credits: pl.DataFrame, by: str = "channel", date_by: str = "touch"
) -> pl.DataFrame:
    """Sum attributed revenue per key and ISO week of the touch (or of the conversion).

    Parameters
    ----------
    credits
        Credited touches (:attr:`attribution.AttributionReport.credits`) with
        ``ts``, ``conversion_ts``, ``attributed_revenue`` and ``by``.
    by
        ``channel`` or ``campaign``.
    date_by
        ``"touch"`` (default) or ``"conversion"``; see the module docstring.

    Returns
    -------
    polars.DataFrame
        ``by``, ``week``, ``revenue``, only the weeks with credit.

    Examples
    --------
    >>> import datetime as dt
    >>> credits = pl.DataFrame({"channel": ["A", "A"],
    ...     "ts": [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 9)],
    ...     "conversion_ts": [dt.datetime(2024, 1, 20), dt.datetime(2024, 1, 20)],
    ...     "attributed_revenue": [30.0, 70.0]})
    >>> weekly_revenue(credits).rows()
    [('A', datetime.date(2024, 1, 1), 30.0), ('A', datetime.date(2024, 1, 8), 70.0)]
    >>> weekly_revenue(credits, date_by="conversion").rows()
    [('A', datetime.date(2024, 1, 15), 100.0)]
    """
    if date_by not in DATE_BY:
        raise ParameterError(
            f"The 'date_by' parameter must be one of {', '.join(DATE_BY)}. Got {date_by!r} instead."
        )
    _require(credits, "credits", ("ts", "conversion_ts", "attributed_revenue", by))
    column = pl.col("ts" if date_by == "touch" else "conversion_ts")
    return (
        credits.group_by(_key(by), _week(column))
        .agg(pl.col("attributed_revenue").sum().cast(pl.Float64).alias("revenue"))
        .sort(by, "week")
    )


def lag_distribution(credits: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted touch-to-conversion lags (days) and their revenue weights.

    Examples
    --------
    >>> import datetime as dt
    >>> credits = pl.DataFrame({"ts": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1)],
    ...     "conversion_ts": [dt.datetime(2024, 1, 11), dt.datetime(2024, 1, 2)],
    ...     "attributed_revenue": [3.0, 1.0]})
    >>> [a.tolist() for a in lag_distribution(credits)]
    [[1.0, 10.0], [1.0, 3.0]]
    """
    lags = (
        credits.select(
            ((pl.col("conversion_ts") - pl.col("ts")).dt.total_seconds() / DAY_SECONDS).alias(
                "lag"
            ),
            pl.col("attributed_revenue").alias("w"),
        )
        .filter(pl.col("w") > 0)
        .sort("lag")
    )
    return lags["lag"].to_numpy().astype(float), lags["w"].to_numpy().astype(float)


def completeness(age_days: np.ndarray, lags: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the share of revenue that arrives within ``age_days`` of its touch.

    Examples
    --------
    >>> completeness(np.array([0.0, 5.0, 20.0]), np.array([1.0, 10.0]), np.array([1.0, 3.0]))
    array([0.  , 0.25, 1.  ])
    """
    if lags.size == 0 or weights.sum() <= 0:
        return np.ones_like(age_days, dtype=float)
    cumulative = np.cumsum(weights) / weights.sum()
    index = np.searchsorted(lags, age_days, side="right")
    return np.where(index > 0, cumulative[np.maximum(index - 1, 0)], 0.0)


def weekly_panel(
    credits: pl.DataFrame,
    costs: pl.DataFrame,
    by: str = "channel",
    *,
    date_by: str = "touch",
    min_completeness: float = 0.7,
) -> pl.DataFrame:
    """Join weekly spend and weekly attributed revenue per key: one row per key and week.

    Revenue is corrected for the conversions that have not happened yet
    (see the module docstring) when dated at the touch.

    Parameters
    ----------
    credits
        Credited touches (:attr:`attribution.AttributionReport.credits`).
    costs
        Daily spend with ``date``, ``spend`` and ``by``.
    by
        ``channel`` or ``campaign``.
    date_by
        ``"touch"`` (default) or ``"conversion"``.
    min_completeness
        Weeks whose expected share of revenue already observed is below this
        are not used (``used`` is false). In ``[0, 1]``.

    Returns
    -------
    polars.DataFrame
        ``by`` and :data:`PANEL_COLUMNS`: ``revenue`` is corrected,
        ``observed_revenue`` as attributed; keys with revenue but never any
        spend are included with zero spend.

    Examples
    --------
    >>> import datetime as dt

    Week 2's touches had 9.5 days to convert by the last conversion; 5/7 of
    revenue arrives that fast, so its 20 observed are 28 expected in the end:

    >>> credits = pl.DataFrame({"channel": ["A", "A"],
    ...     "ts": [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 9)],
    ...     "conversion_ts": [dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 20)],
    ...     "attributed_revenue": [50.0, 20.0]})
    >>> costs = pl.DataFrame({"date": pl.date_range(dt.date(2024, 1, 1),
    ...     dt.date(2024, 1, 14), eager=True), "channel": "A", "spend": 1.0})
    >>> weekly_panel(credits, costs).select("week", "spend", "revenue", "used").rows()
    [(datetime.date(2024, 1, 1), 7.0, 50.0, True), (datetime.date(2024, 1, 8), 7.0, 28.0, True)]
    """
    if not 0.0 <= min_completeness <= 1.0:
        raise ParameterError(
            "The 'min_completeness' parameter must be >= 0 and <= 1. "
            f"Got {min_completeness!r} instead."
        )
    spend = weekly_spend(costs, by)
    revenue = weekly_revenue(credits, by, date_by)
    days = spend.select("week", "days").unique()
    frame = (
        spend.drop("days")
        .join(revenue, on=[by, "week"], how="full", coalesce=True)
        .join(days, on="week", how="left")
        .with_columns(pl.col("spend", "revenue").fill_null(0.0), pl.col("days").fill_null(0))
    )
    if frame.is_empty():
        return frame.select(by, "week", "days", "spend", "revenue").with_columns(
            pl.col("revenue").alias("observed_revenue"),
            pl.lit(1.0).alias("completeness"),
            pl.lit(True).alias("used"),
        )
    if date_by == "touch" and not credits.is_empty():
        lags, weights = lag_distribution(credits)
        last: dt.datetime = credits["conversion_ts"].max()  # type: ignore[assignment]
        last_day = last.date()
        weeks = frame["week"].to_numpy().astype("datetime64[D]")
        middle = weeks + np.timedelta64(3, "D")
        age = (np.datetime64(last_day, "D") - middle).astype(float) + 0.5
        share = completeness(age, lags, weights)
    else:
        share = np.ones(frame.height)
    frame = frame.with_columns(pl.Series("completeness", share, dtype=pl.Float64))
    # A week the costs cover only in part has a part-week of spend, not a week's.
    full_week = pl.col("days") == 7
    return (
        frame.with_columns(
            pl.col("revenue").alias("observed_revenue"),
            pl.when(pl.col("completeness") > 0)
            .then(pl.col("revenue") / pl.col("completeness"))
            .otherwise(0.0)
            .alias("revenue"),
            (full_week & (pl.col("completeness") >= min_completeness)).alias("used"),
        )
        .select(by, *PANEL_COLUMNS)
        .sort(by, "week")
    )


def current_spend(panel: pl.DataFrame, by: str = "channel", weeks: int = 4) -> dict[str, float]:
    """Return each key's mean weekly spend over the last ``weeks`` full weeks of the costs.

    Examples
    --------
    >>> import datetime as dt
    >>> panel = pl.DataFrame({"channel": ["A"] * 3, "week": [dt.date(2024, 1, d)
    ...     for d in (1, 8, 15)], "spend": [10.0, 20.0, 40.0], "days": [7, 7, 7]})
    >>> current_spend(panel, weeks=2)
    {'A': 30.0}
    """
    if weeks < 1:
        raise ParameterError(f"The 'current_weeks' parameter must be >= 1. Got {weeks!r} instead.")
    full = panel.filter(pl.col("days") == 7) if "days" in panel.columns else panel
    if full.is_empty():
        full = panel
    recent = full.select(pl.col("week").unique().sort().tail(weeks))["week"]
    means = (
        full.filter(pl.col("week").is_in(recent.implode()))
        .group_by(by)
        .agg(pl.col("spend").sum() / max(recent.len(), 1))
        .sort(by)
    )
    return dict(zip(means[by].to_list(), means["spend"].to_list(), strict=True))


__all__ = [
    "DATE_BY",
    "PANEL_COLUMNS",
    "completeness",
    "current_spend",
    "lag_distribution",
    "weekly_panel",
    "weekly_revenue",
    "weekly_spend",
]
