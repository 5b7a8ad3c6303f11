"""The one definition of the work that grows with raw data, as SQL in DuckDB's dialect.

DuckDB runs these statements as they are (inside a store snapshot);
:func:`to_spark` translates them with sqlglot for Spark SQL over a Parquet
lake. Nothing here runs a query: each function returns text.

Journeys (the same rules as :func:`attribution.build_journeys`, checked
against it on random data by ``tests/engine``):

- a person's touches and the conversions of the attributed stage form one
  stream ordered by time; at the same instant a touch comes before a
  conversion (a touch *at* the conversion instant belongs to it),
  conversions at one instant by ``conversion_id``, touches by
  ``touchpoint_id``;
- a touch belongs to the first conversion after it; the touches after a
  person's last conversion form a non-converting journey;
- a journey keeps the touches at most ``lookback_days`` before its anchor:
  the conversion instant, or for a non-converting journey its last touch;
- the period: events before the day after ``end``; journeys whose anchor is
  on or after ``start``;
- a converting journey with no touch left has no path: it is reported on the
  ``(no touchpoint)`` row.

Ids are replaced by their stitched person (``person_map(id, person_id)``,
the output of :func:`ingest.stitch_identities`, joined in).
"""

from __future__ import annotations

import datetime as dt

from attribution.constants import NOT_SET

SEPARATOR = "\x1f"
"""Between the items of a path (the ASCII unit separator: no channel name holds it)."""


def literal(value: str) -> str:
    """Quote a string as an SQL literal.

    Examples
    --------
    >>> literal("O'Brien")
    "'O''Brien'"
    """
    return "'" + value.replace("'", "''") + "'"


def timestamp(instant: dt.datetime) -> str:
    """Return a UTC timestamp literal both DuckDB and Spark read the same way.

    Examples
    --------
    >>> timestamp(dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    "CAST('2024-03-01T00:00:00.000000Z' AS TIMESTAMPTZ)"
    """
    return f"CAST({literal(instant.strftime('%Y-%m-%dT%H:%M:%S.%fZ'))} AS TIMESTAMPTZ)"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def event_window(
    lookback_days: float, start: dt.date | None, end: dt.date | None, alias: str = "e"
) -> str:
    """Return the condition on an event's ``ts`` for a period and its lookback window.

    Touchpoints and conversions are both read from ``start - lookback_days``
    (earlier conversions can claim touches of the window) to the end of
    ``end``.

    Examples
    --------
    >>> event_window(1, dt.date(2024, 3, 2), dt.date(2024, 3, 31))
    "e.ts >= CAST('2024-03-01T00:00:00.000000Z' AS TIMESTAMPTZ) AND e.ts < CAST('2024-04-01T00:00:00.000000Z' AS TIMESTAMPTZ)"
    >>> event_window(90, None, None)
    'TRUE'
    """  # noqa: E501
    where = []
    if start is not None:
        try:
            since = _midnight(start) - dt.timedelta(days=lookback_days)
        except OverflowError:  # the window reaches before year 1: nothing is older
            since = None
        if since is not None:
            where.append(f"{alias}.ts >= {timestamp(since)}")
    if end is not None:
        where.append(f"{alias}.ts < {timestamp(_midnight(end + dt.timedelta(days=1)))}")
    return " AND ".join(where) or "TRUE"


def journey_paths_sql(
    *,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
) -> str:
    """Return the query of the paths of a stage's journeys, and of the untouched conversions.

    Reads ``touchpoints``, ``conversions`` and ``person_map``. One row per
    distinct path (``path``: items joined by :data:`SEPARATOR`,
    ``conversions``, ``revenue``, ``nulls``, ``first_conversion``,
    ``last_conversion``), plus one row per conversion that kept no touch
    (``path`` null, ``conversion_id``, ``user_id``, ``first_conversion`` its
    instant, ``revenue``).

    Examples
    --------
    >>> sql = journey_paths_sql(by="channel", stage="purchase", lookback_days=90,
    ...     start=None, end=None)
    >>> "STRING_AGG(item" in sql and "person_map" in sql
    True
    """
    if by not in ("channel", "campaign"):
        raise ValueError(f"paths are built by channel or campaign, not {by!r}")
    lookback_us = dt.timedelta(days=lookback_days) // dt.timedelta(microseconds=1)
    period = event_window(lookback_days, start, end)
    keep = f"anchor >= {timestamp(_midnight(start))}" if start is not None else "TRUE"
    order = "PARTITION BY person ORDER BY ts, is_conv, event_id"
    return f"""
WITH events AS (
  SELECT COALESCE(m.person_id, e.user_id) AS person, e.ts, e.touchpoint_id AS event_id,
         COALESCE(CAST(e.{by} AS VARCHAR), {literal(NOT_SET)}) AS item, 0 AS is_conv,
         CAST(0 AS DOUBLE) AS revenue
  FROM touchpoints AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE {period}
  UNION ALL
  SELECT COALESCE(m.person_id, e.user_id), e.ts, e.conversion_id,
         CAST(NULL AS VARCHAR), 1, COALESCE(CAST(e.revenue AS DOUBLE), 0)
  FROM conversions AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE e.stage = {literal(stage)} AND {period}
), placed AS (
  SELECT *,
    SUM(is_conv) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - is_conv
      AS journey,
    COALESCE(
      MIN(CASE WHEN is_conv = 1 THEN ts END)
        OVER ({order} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING),
      MAX(ts) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ) AS anchor,
    ROW_NUMBER() OVER ({order}) AS seq
  FROM events
), journeys AS (
  SELECT person, journey, MAX(is_conv) AS converted, SUM(revenue) AS revenue,
         MAX(CASE WHEN is_conv = 1 THEN event_id END) AS conversion_id,
         MAX(CASE WHEN is_conv = 1 THEN ts END) AS conversion_ts,
         STRING_AGG(item, {literal(SEPARATOR)} ORDER BY seq) AS path
  FROM placed
  WHERE {keep} AND ts >= anchor - INTERVAL '{lookback_us}' MICROSECOND
  GROUP BY person, journey
)
SELECT path,
       CAST(SUM(converted) AS DOUBLE) AS conversions,
       SUM(CASE WHEN converted = 1 THEN revenue ELSE 0 END) AS revenue,
       CAST(SUM(1 - converted) AS DOUBLE) AS nulls,
       MIN(conversion_ts) AS first_conversion,
       MAX(conversion_ts) AS last_conversion,
       CAST(NULL AS VARCHAR) AS conversion_id,
       CAST(NULL AS VARCHAR) AS user_id
FROM journeys
WHERE path IS NOT NULL
GROUP BY path
UNION ALL
SELECT NULL, 1.0, revenue, 0.0, conversion_ts, conversion_ts, conversion_id, person
FROM journeys
WHERE path IS NULL AND converted = 1
"""


def stages_sql(lookback_days: float, start: dt.date | None, end: dt.date | None) -> str:
    """Return the query of the stages and the number of conversions in a period's window.

    Examples
    --------
    >>> "GROUP BY stage" in stages_sql(90, None, None)
    True
    """
    return (
        "SELECT stage, count(*) AS conversions FROM conversions AS e "
        f"WHERE {event_window(lookback_days, start, end)} GROUP BY stage"
    )


def remapped_sql(
    table: str, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> str:
    """Return the query counting a table's rows in the window whose id stitching replaces.

    Examples
    --------
    >>> "JOIN person_map" in remapped_sql("touchpoints", 90, None, None)
    True
    """
    return (
        f"SELECT count(*) AS n FROM {table} AS e JOIN person_map AS m ON m.id = e.user_id "
        f"WHERE m.person_id <> e.user_id AND {event_window(lookback_days, start, end)}"
    )


def to_spark(sql: str) -> str:
    """Translate one of these statements to Spark SQL (sqlglot; imported when first used).

    Examples
    --------
    >>> "GROUP BY" in to_spark(stages_sql(90, None, None))
    True
    """
    import sqlglot

    translated: str = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    return translated


__all__ = [
    "SEPARATOR",
    "event_window",
    "journey_paths_sql",
    "literal",
    "remapped_sql",
    "stages_sql",
    "timestamp",
    "to_spark",
]
