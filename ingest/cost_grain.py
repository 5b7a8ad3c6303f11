"""Spread weekly and monthly cost rows evenly over their days.

The ``costs`` table holds daily spend, so a period filter (``--start`` /
``--end``) and a weekly chart can cut it anywhere. Exports are often weekly
or monthly instead (Google Ads ``segments.week`` / ``segments.month``,
Microsoft Advertising's Weekly and Monthly aggregations). With
``--cost-grain week`` or ``month`` each row is one period's spend, dated the
period's first day, and is written as one row per day of the period:

- ``week``: the row's date is the week's **Monday** (ISO 8601 weeks, as
  Google Ads ``segments.week``); the spend goes to that Monday and the six
  days after it. A row dated another weekday is refused, naming it: a week
  starting on Sunday would put a day of spend in the wrong week.
- ``month``: the row's date is the month's **first day** (``2024-03-01``, as
  ``segments.month``); the spend goes to every day of that calendar month
  (28 to 31). A row dated another day is refused: a daily file ingested as
  monthly by mistake would otherwise multiply its spend.
- ``day`` (the default): rows are days already; nothing changes.

Totals are kept exactly. Spend is divided in millionths of the currency unit
(Google Ads' micros), impressions and clicks in whole units, and the
remainder that does not divide evenly is handed out one unit at a time,
evenly over the period (day ``i`` of ``n`` gets ``⌊(i+1)·r/n⌋ − ⌊i·r/n⌋`` of
the remainder ``r``): every day gets the floor or the ceiling of an equal
share and the days add up to the row. All of it is vectorised polars.
"""

from __future__ import annotations

import polars as pl

from attribution.errors import ParameterError

__all__ = ["COST_GRAINS", "MAX_SPREAD_SPEND", "check_cost_grain", "grain_issues", "spread_costs"]

COST_GRAINS = ("day", "week", "month")
"""The periods one cost row may cover: ``--cost-grain day|week|month``."""

MICROS = 1_000_000
"""Spend is spread in millionths of the currency unit, so days add up to the row exactly."""

MAX_SPREAD_SPEND = 9e12
"""The largest spend one weekly or monthly row may hold (its micros must fit in 64 bits)."""


def check_cost_grain(grain: str) -> str:
    """Return ``grain`` if it is one of :data:`COST_GRAINS`, else raise.

    Raises
    ------
    ParameterError
        When ``grain`` is not ``day``, ``week`` or ``month``.

    Examples
    --------
    >>> check_cost_grain("week")
    'week'
    >>> check_cost_grain("quarter")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Bad --cost-grain 'quarter': expected day, week or month.
    """
    if grain not in COST_GRAINS:
        raise ParameterError(f"Bad --cost-grain {grain!r}: expected day, week or month.")
    return grain


def grain_issues(rows: pl.DataFrame, grain: str) -> pl.DataFrame:
    """Return the rows a weekly or monthly spread refuses, as issues (``_row``, field, message).

    Parameters
    ----------
    rows
        Cost rows as :func:`ingest.validate.check_rows` cleans them: ``_row``,
        ``date`` (a date, null when bad) and ``spend``.
    grain
        ``day``, ``week`` or ``month``.

    Returns
    -------
    polars.DataFrame
        ``_row``, ``field``, ``message``: a weekly row not dated a Monday, a
        monthly row not dated the 1st, a row whose spend is too large to
        spread to the micro-unit. Empty for ``day``.

    Examples
    --------
    >>> import datetime as dt
    >>> rows = pl.DataFrame({"_row": [1, 2], "date": [dt.date(2024, 3, 4), dt.date(2024, 3, 6)],
    ...                      "spend": [70.0, 7.0]})
    >>> grain_issues(rows, "week").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(2, 'date', "2024-03-06 is a Wednesday: with --cost-grain week each row is dated its
      week's Monday (ISO 8601), here 2024-03-04; re-export with weeks starting on Monday,
      or ingest days with --cost-grain day")]
    """
    schema = {"_row": pl.Int64, "field": pl.String, "message": pl.String}
    check_cost_grain(grain)
    if grain == "day" or rows.height == 0:
        return pl.DataFrame(schema=schema)
    date = pl.col("date")
    shown = date.dt.strftime("%Y-%m-%d")
    if grain == "week":
        start = date.dt.truncate("1w")
        wrong = date.dt.weekday() != 1
        message = pl.format(
            "{} is a {}: with --cost-grain week each row is dated its week's Monday (ISO 8601), "
            "here {}; re-export with weeks starting on Monday, or ingest days with "
            "--cost-grain day",
            shown,
            date.dt.strftime("%A"),
            start.dt.strftime("%Y-%m-%d"),
        )
    else:
        start = date.dt.month_start()
        wrong = date.dt.day() != 1
        message = pl.format(
            "{} is not the first day of a month: with --cost-grain month each row is dated its "
            "month's first day, here {}; if these rows are days, ingest them with "
            "--cost-grain day",
            shown,
            start.dt.strftime("%Y-%m-%d"),
        )
    dates = rows.filter(wrong.fill_null(False)).select(
        pl.col("_row").cast(pl.Int64), pl.lit("date").alias("field"), message.alias("message")
    )
    large = rows.filter(pl.col("spend").abs() > MAX_SPREAD_SPEND).select(
        pl.col("_row").cast(pl.Int64),
        pl.lit("spend").alias("field"),
        pl.format(
            "{} is too large to spread over the days of a {} (at most {}); split the row",
            pl.col("spend"),
            pl.lit(grain),
            pl.lit(f"{MAX_SPREAD_SPEND:,.0f}"),
        ).alias("message"),
    )
    return pl.concat([dates, large]).sort("_row", maintain_order=True)


def _even_shares(total: pl.Expr, days: pl.Expr, index: pl.Expr) -> pl.Expr:
    """Day ``index`` of ``days``'s share of the integer ``total``: the days add up to it exactly."""
    base = total // days
    rest = total - base * days  # 0 <= rest < days: the products below cannot overflow
    return base + ((index + 1) * rest) // days - (index * rest) // days


def spread_costs(rows: pl.DataFrame, grain: str) -> pl.DataFrame:
    """Write each weekly or monthly cost row as one row per day of its period.

    Parameters
    ----------
    rows
        Cost rows (``date``, ``spend``, optional ``impressions`` and
        ``clicks``; other columns such as ``channel`` and ``_row`` are
        repeated on every day). Rows :func:`grain_issues` refuses and rows
        without a date are kept as they are.
    grain
        ``day`` (``rows`` are returned unchanged), ``week`` or ``month``.

    Returns
    -------
    polars.DataFrame
        The same columns, one row per day; per source row, spend,
        impressions and clicks add up exactly to the row's (spend to the
        millionth of a unit).

    Examples
    --------
    >>> import datetime as dt
    >>> week = pl.DataFrame({"date": [dt.date(2024, 3, 4)], "channel": ["Search"],
    ...                      "spend": [100.0], "clicks": [10]})
    >>> days = spread_costs(week, "week")
    >>> days["date"].dt.strftime("%a").to_list()
    ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
    >>> days["clicks"].to_list(), days["clicks"].sum()
    ([1, 1, 2, 1, 2, 1, 2], 10)
    >>> days["spend"].round(6).to_list()
    [14.285714, 14.285714, 14.285714, 14.285715, 14.285714, 14.285714, 14.285715]
    >>> month = pl.DataFrame({"date": [dt.date(2024, 2, 1)], "spend": [290.0]})
    >>> spread_costs(month, "month").select(pl.len(), pl.col("spend").sum()).row(0)
    (29, 290.0)
    """
    check_cost_grain(grain)
    if grain == "day" or rows.height == 0:
        return rows
    date = pl.col("date")
    if grain == "week":
        proper = date.dt.weekday() == 1
        length = pl.lit(7, dtype=pl.Int64)
    else:
        proper = date.dt.day() == 1
        length = date.dt.days_in_month().cast(pl.Int64)
    spreads = proper.fill_null(False) & (pl.col("spend").abs() <= MAX_SPREAD_SPEND).fill_null(True)
    days = pl.when(spreads).then(length).otherwise(1).alias("_days")
    columns = rows.columns
    index, n = pl.col("_day"), pl.col("_days")
    micros = (pl.col("spend") * MICROS).round().cast(pl.Int64)
    spread = [
        (date + pl.duration(days=index)).alias("date"),
        pl.when(n == 1)
        .then(pl.col("spend"))
        .otherwise(_even_shares(micros, n, index) / MICROS)
        .alias("spend"),
    ]
    for count in ("impressions", "clicks"):
        if count in columns:
            spread.append(_even_shares(pl.col(count), n, index).alias(count))
    return (
        rows.with_columns(days)
        .with_columns(pl.int_ranges(0, pl.col("_days")).alias("_day"))
        .explode("_day")
        .with_columns(spread)
        .select(columns)
    )
