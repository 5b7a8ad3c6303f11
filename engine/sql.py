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
from attribution.schema import amount_column


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


def path_digits(items: int) -> int:
    """Return how many touches a path key of ``items`` distinct items holds in a BIGINT.

    A path of at most this many touches is one integer: its items' codes
    (1 … ``items``) as digits in base ``items + 1``, the last touch the least
    significant digit. The key never exceeds ``2**63 - 1``.

    Examples
    --------
    >>> path_digits(8), path_digits(60), path_digits(100_000)
    (19, 10, 3)
    """
    base = max(items, 1) + 1
    digits = 0
    while base ** (digits + 1) <= 2**63 - 1:
        digits += 1
    return max(digits, 1)


def path_words(items: int) -> int:
    """Return how many BIGINT words spell a path: enough for persons of 40 touches, at most 4.

    More words cost the aggregate more than the ordered string aggregate of
    the few longer persons they would spare (measured at 10M touchpoints).

    Examples
    --------
    >>> path_words(8), path_words(60), path_words(100_000)
    (3, 4, 4)
    >>> path_words(1)
    1
    """
    return min(4, -(-40 // path_digits(items)))


def _powers(base: int, digits: int) -> str:
    """Return a CASE over an exponent giving ``base ** exponent`` exactly, as BIGINT literals."""
    whens = " ".join(f"WHEN {k} THEN CAST({base**k} AS BIGINT)" for k in range(digits))
    return f"CASE {{}} {whens} END"


def items_sql(by: str, lookback_days: float, start: dt.date | None, end: dt.date | None) -> str:
    """Return the query of the distinct path items (channels or campaigns) in a period's window.

    The engine codes them 1 … n in sorted order, as the table
    ``item_codes(item, code)`` that :func:`journey_paths_sql` reads.

    Examples
    --------
    >>> "SELECT DISTINCT" in items_sql("channel", 90, None, None)
    True
    """
    _check_by(by)
    return (
        f"SELECT DISTINCT COALESCE(CAST(e.{by} AS VARCHAR), {literal(NOT_SET)}) AS item "
        f"FROM touchpoints AS e WHERE {event_window(lookback_days, start, end)}"
    )


def _item_join(by: str) -> str:
    """Return the join giving each touch its item's code ``c.code`` (see :func:`items_sql`)."""
    return f"JOIN item_codes AS c ON c.item = COALESCE(CAST(e.{by} AS VARCHAR), {literal(NOT_SET)})"


def _check_by(by: str) -> None:
    if by not in ("channel", "campaign"):
        raise ValueError(f"paths are built by channel or campaign, not {by!r}")


def journey_paths_sql(
    *,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    items: int,
) -> str:
    """Return the query of the paths of a stage's journeys, and of the untouched conversions.

    Reads ``touchpoints``, ``conversions``, ``person_map`` and
    ``item_codes(item, code)`` (the ``items`` distinct items of
    :func:`items_sql`, coded 1 … ``items``). One row per distinct path
    (``n`` touches, ``conversions``, ``revenue``, ``nulls``,
    ``first_conversion``, ``last_conversion``), plus one row per conversion
    that kept no touch (``n`` 0, ``conversion_id``, ``user_id``,
    ``first_conversion`` its instant, ``revenue``).

    A path comes back as codes, not names. When its person has at most
    :func:`path_words` × :func:`path_digits` touches in the window, as
    integers: each touch's code is a digit in base ``items + 1`` at the
    place given by the number of the person's touches after it (``later``),
    :func:`path_digits` places to a BIGINT word ``w0``, ``w1``, …; with
    ``n`` and ``last_later`` (the touches after the journey) that spells
    the path. Plain ``SUM`` s, where an ordered string aggregate per journey
    cost three times as much. Longer persons' journeys come back as
    ``long_path``, the codes joined by commas in touch order.
    :func:`engine.paths.decode_paths` turns both back into items.

    Examples
    --------
    >>> sql = journey_paths_sql(by="channel", stage="purchase", lookback_days=90,
    ...     start=None, end=None, items=8)
    >>> "item_codes" in sql and "person_map" in sql
    True
    """
    _check_by(by)
    base, digits, words = items + 1, path_digits(items), path_words(items)
    powers = _powers(base, digits)
    journeys = _kept_events(
        stage,
        lookback_days,
        start,
        end,
        touch_columns=["c.code"],
        join=_item_join(by),
        conversion_columns=["CAST(NULL AS BIGINT)"],
        names=["code"],
    )
    short = digits * words
    word_sums = "".join(
        f"""
         SUM(place_value) FILTER (WHERE word = {w} AND touches <= {short}) AS w{w},"""
        for w in range(words)
    )
    word_names = ", ".join(f"w{w}" for w in range(words))
    return f"""
{journeys}, journeys AS (
  SELECT person, MAX(is_conv) AS converted, SUM(revenue) AS revenue,
         MAX(CASE WHEN is_conv = 1 THEN event_id END) AS conversion_id,
         MAX(CASE WHEN is_conv = 1 THEN ts END) AS conversion_ts,
         COUNT(code) AS n,
         MIN(CASE WHEN is_conv = 0 AND touches <= {short} THEN later END) AS last_later,{word_sums}
         STRING_AGG(CAST(code AS VARCHAR), ',' ORDER BY seq) FILTER (WHERE touches > {short})
           AS long_path
  FROM (
    SELECT *, later // {digits} AS word,
           code * {powers.format(f"later % {digits}")} AS place_value
    FROM kept
  )
  GROUP BY person, journey
), keyed AS (
  SELECT converted, revenue, conversion_ts, n, long_path, last_later, {word_names},
         CASE WHEN n = 0 THEN conversion_id END AS untouched_id,
         CASE WHEN n = 0 THEN person END AS untouched_person
  FROM journeys
  WHERE n > 0 OR converted = 1
)
SELECT n, last_later, {word_names}, long_path,
       CAST(SUM(converted) AS DOUBLE) AS conversions,
       SUM(CASE WHEN converted = 1 THEN revenue ELSE 0 END) AS revenue,
       CAST(SUM(1 - converted) AS DOUBLE) AS nulls,
       MIN(conversion_ts) AS first_conversion,
       MAX(conversion_ts) AS last_conversion,
       untouched_id AS conversion_id,
       untouched_person AS user_id
FROM keyed
GROUP BY n, last_later, {word_names}, long_path, untouched_id, untouched_person
"""


def journey_steps_sql(
    *, by: str, stage: str, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> str:
    """Return the query of the steps of a stage's journeys: what a first-order chain counts.

    The journeys of :func:`journey_paths_sql`, read one step at a time:
    every kept event (a touch, or the conversion ending a journey) with the
    code of the journey's touch before it, ``prev`` (0 when there is none:
    the journey starts there, or the conversion kept no touch), and its own
    ``code`` (null for the conversion). A touch's predecessor is the event
    before it in the person's stream when that is a touch (a conversion
    there starts a new journey) still in the journey's lookback window. No
    journey is rolled up, so no distinct path is built: the aggregate is as
    small as the number of distinct steps.

    Events of converting journeys come back one row each, with ``user_id``
    (the stitched person), ``conversion_ts`` (the journey's conversion
    instant), ``ts`` and ``event_id`` (the touchpoint or conversion id), for
    the converting paths and the revenue; the others are counted per
    ``(prev, code)``, those columns null. ``count``: journeys taking the
    step; ``revenue``: the conversion's. Reads ``touchpoints``,
    ``conversions``, ``person_map`` and ``item_codes`` as
    :func:`journey_paths_sql` does.

    Examples
    --------
    >>> sql = journey_steps_sql(by="channel", stage="purchase", lookback_days=90,
    ...     start=None, end=None)
    >>> "LAG(code)" in sql and "item_codes" in sql
    True
    """
    _check_by(by)
    lookback_us = dt.timedelta(days=lookback_days) // dt.timedelta(microseconds=1)
    period = event_window(lookback_days, start, end)
    keep = f"anchor >= {timestamp(_midnight(start))}" if start is not None else "TRUE"
    since = f"anchor - INTERVAL '{lookback_us}' MICROSECOND"
    order = "PARTITION BY person ORDER BY ts, is_conv, event_id"
    following = f"{order} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING"
    converting = "converting_anchor IS NOT NULL"
    events = _events(
        stage,
        period,
        touch_columns=["c.code"],
        join=_item_join(by),
        conversion_columns=["CAST(NULL AS BIGINT)"],
        names=["code"],
    )
    return f"""
WITH {events}, placed AS (
  SELECT *,
    FIRST_VALUE(CASE WHEN is_conv = 1 THEN ts END IGNORE NULLS) OVER ({following})
      AS converting_anchor,
    LAST_VALUE(ts) OVER ({following}) AS last_event,
    LAG(code) OVER ({order}) AS prev_code,
    LAG(ts) OVER ({order}) AS prev_ts
  FROM events
), anchored AS (
  SELECT *, COALESCE(converting_anchor, last_event) AS anchor
  FROM placed
), steps AS (
  SELECT *, COALESCE(CASE WHEN prev_ts >= {since} THEN prev_code END, 0) AS prev
  FROM anchored
  WHERE {keep} AND ts >= {since}
)
SELECT prev, code,
       CASE WHEN {converting} THEN person END AS user_id,
       converting_anchor AS conversion_ts,
       CASE WHEN {converting} THEN ts END AS ts,
       CASE WHEN {converting} THEN event_id END AS event_id,
       CAST(COUNT(*) AS DOUBLE) AS count,
       SUM(revenue) AS revenue
FROM steps
GROUP BY prev, code, CASE WHEN {converting} THEN person END, converting_anchor,
         CASE WHEN {converting} THEN ts END, CASE WHEN {converting} THEN event_id END
"""


def _events(
    stage: str,
    period: str,
    *,
    touch_columns: list[str],
    join: str,
    conversion_columns: list[str],
    names: list[str],
) -> str:
    """Return the table ``events`` (``events AS (...)``): the stream every journey is cut from.

    Touches and the stage's conversions of the read window (``period``, see
    :func:`event_window`), keyed by stitched ``person``: ``ts``,
    ``event_id``, ``is_conv``, ``revenue`` (a conversion's amount: its
    ``pipeline`` at the opportunity stage, see
    :func:`attribution.schema.amount_column`) and the extra ``names``
    (``touch_columns`` for touches, ``conversion_columns`` for conversions;
    ``join`` is added to the touches' FROM).
    """
    touch_extra = "".join(f", {c} AS {n}" for c, n in zip(touch_columns, names, strict=True))
    conv_extra = "".join(f", {c}" for c in conversion_columns)
    return f"""events AS (
  SELECT COALESCE(m.person_id, e.user_id) AS person, e.ts, e.touchpoint_id AS event_id,
         0 AS is_conv, CAST(0 AS DOUBLE) AS revenue{touch_extra}
  FROM touchpoints AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  {join}
  WHERE {period}
  UNION ALL
  SELECT COALESCE(m.person_id, e.user_id), e.ts, e.conversion_id,
         1, COALESCE(CAST(e.{amount_column(stage)} AS DOUBLE), 0){conv_extra}
  FROM conversions AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE e.stage = {literal(stage)} AND {period}
)"""


def _kept_events(
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    *,
    touch_columns: list[str],
    join: str,
    conversion_columns: list[str],
    names: list[str],
) -> str:
    """Return the ``WITH`` clause ending in ``kept``: every event placed in its journey.

    ``kept`` holds the events of the window that survive the lookback and the
    period: ``person``, ``ts``, ``event_id``, ``is_conv``, ``revenue``, the
    extra ``names`` (``touch_columns`` for touches, ``conversion_columns`` for
    conversions; ``join`` is added to the touches' FROM), ``journey`` (the
    person's conversions before the event), ``converting_anchor`` (the instant
    of the conversion the event belongs to; null on a non-converting tail),
    ``later`` (touches of the person after the event), ``touches`` (all the
    person's touches) and ``seq`` (the event's rank in the person's stream).
    """
    lookback_us = dt.timedelta(days=lookback_days) // dt.timedelta(microseconds=1)
    period = event_window(lookback_days, start, end)
    keep = f"anchor >= {timestamp(_midnight(start))}" if start is not None else "TRUE"
    order = "PARTITION BY person ORDER BY ts, is_conv, event_id"
    following = f"{order} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING"
    events = _events(
        stage,
        period,
        touch_columns=touch_columns,
        join=join,
        conversion_columns=conversion_columns,
        names=names,
    )
    return f"""WITH {events}, placed AS (
  SELECT *,
    SUM(is_conv) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - is_conv
      AS journey,
    FIRST_VALUE(CASE WHEN is_conv = 1 THEN ts END IGNORE NULLS) OVER ({following})
      AS converting_anchor,
    LAST_VALUE(ts) OVER ({following}) AS last_event,
    SUM(1 - is_conv) OVER ({following}) - 1 + is_conv AS later,
    ROW_NUMBER() OVER ({order}) AS seq
  FROM events
), anchored AS (
  SELECT *, COALESCE(converting_anchor, last_event) AS anchor,
         seq - journey - is_conv + later AS touches
  FROM placed
), kept AS (
  SELECT * FROM anchored
  WHERE {keep} AND ts >= anchor - INTERVAL '{lookback_us}' MICROSECOND
)"""


def converting_touches_sql(
    *, stage: str, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> str:
    """Return the query of the touches of a stage's converting journeys, and of the untouched.

    The same journeys as :func:`journey_paths_sql`, but one row per touch of
    a converting journey in the columns of
    :data:`attribution.schema.JOURNEY_TOUCHES` (``journey_id`` is the
    conversion id, ``user_id`` the stitched person), for the models whose
    credit needs more than the path (touch times, stage milestones). A
    conversion that kept no touch comes back as one row with a null
    ``touchpoint_id`` and ``n_touches`` 0. Non-converting journeys earn no
    credit and are not returned (:func:`non_converting_sql` counts them).

    Examples
    --------
    >>> sql = converting_touches_sql(stage="purchase", lookback_days=90, start=None, end=None)
    >>> "converting_anchor IS NOT NULL" in sql
    True
    """
    journeys = _kept_events(
        stage,
        lookback_days,
        start,
        end,
        touch_columns=["CAST(e.channel AS VARCHAR)", "CAST(e.campaign AS VARCHAR)"],
        join="",
        conversion_columns=["CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"],
        names=["channel", "campaign"],
    )
    journey = "PARTITION BY person, journey"
    return f"""
{journeys}, converting AS (
  SELECT *,
    ROW_NUMBER() OVER ({journey} ORDER BY seq) - 1 AS position,
    SUM(1 - is_conv) OVER ({journey}) AS n_touches,
    MAX(CASE WHEN is_conv = 1 THEN event_id END) OVER ({journey}) AS conversion_id,
    MAX(revenue) OVER ({journey}) AS conversion_revenue
  FROM kept
  WHERE converting_anchor IS NOT NULL
)
SELECT conversion_id AS journey_id, person AS user_id, TRUE AS converted,
       converting_anchor AS conversion_ts, conversion_revenue AS revenue,
       CASE WHEN is_conv = 0 THEN event_id END AS touchpoint_id,
       CASE WHEN is_conv = 0 THEN ts END AS ts, channel, campaign,
       CAST(position AS INTEGER) AS position, CAST(n_touches AS INTEGER) AS n_touches,
       CAST(1 AS DOUBLE) AS count
FROM converting
WHERE is_conv = 0 OR n_touches = 0
"""


def funnel_touches_sql(*, start: dt.date | None, end: dt.date | None, cut: bool) -> str:
    """Return the query of the touches a funnel reads: all of converted persons', a few of others'.

    The funnel (:func:`attribution.funnel.funnel`) reads, of a person with no
    conversion row, only their first and last touch (in ``ts``,
    ``touchpoint_id`` order), their first ``visit`` and their first visit in
    the period ``[start, end]``; so only those rows come back for them, and
    every touch of a person with a conversion. ``cut`` drops touches after
    ``end`` (the funnel's ``period`` mode). Reads ``touchpoints``,
    ``conversions`` and ``person_map``; ``user_id`` is the stitched person.

    Examples
    --------
    >>> "is_last" in funnel_touches_sql(start=None, end=None, cut=False)
    True
    """
    in_period = event_window(0, start, end)
    until = event_window(0, None, end) if cut else "TRUE"
    order = "PARTITION BY user_id ORDER BY ts, touchpoint_id"
    return f"""
WITH t AS (
  SELECT COALESCE(m.person_id, e.user_id) AS user_id, e.touchpoint_id, e.ts, e.channel,
         e.campaign, e.source, e.medium, e.interaction,
         CASE WHEN e.interaction = 'visit' THEN 1 ELSE 0 END AS is_visit,
         CASE WHEN e.interaction = 'visit' AND {in_period} THEN 1 ELSE 0 END AS is_period_visit
  FROM touchpoints AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE {until}
), converted AS (
  SELECT DISTINCT COALESCE(m.person_id, c.user_id) AS user_id
  FROM conversions AS c LEFT JOIN person_map AS m ON m.id = c.user_id
), ranked AS (
  SELECT *,
    ROW_NUMBER() OVER ({order}) AS rn,
    LEAD(touchpoint_id) OVER ({order}) IS NULL AS is_last,
    SUM(is_visit) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS visits,
    SUM(is_period_visit) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
      AS period_visits
  FROM t
)
SELECT r.user_id, r.touchpoint_id, r.ts, r.channel, r.campaign, r.source, r.medium,
       r.interaction
FROM ranked AS r LEFT JOIN converted AS c ON c.user_id = r.user_id
WHERE c.user_id IS NOT NULL OR r.rn = 1 OR r.is_last
   OR (r.is_visit = 1 AND r.visits = 1) OR (r.is_period_visit = 1 AND r.period_visits = 1)
"""


def non_converting_sql(
    *, stage: str, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> str:
    """Return the query counting a stage's non-converting journeys, without a window.

    ``n``: a person has one when a touch of the window comes after the
    person's last conversion of the stage (strictly: a touch at the
    conversion instant belongs to it), and that last touch is in the period.
    ``alone``: those of them with no conversion of the stage in the period —
    the persons a bootstrap draws that the converting journeys do not hold.

    Examples
    --------
    >>> "last_touch > c.last_conversion" in non_converting_sql(
    ...     stage="purchase", lookback_days=90, start=None, end=None)
    True
    """
    period = event_window(lookback_days, start, end)
    keep = f"t.last_touch >= {timestamp(_midnight(start))}" if start is not None else "TRUE"
    return f"""
WITH t AS (
  SELECT COALESCE(m.person_id, e.user_id) AS person, MAX(e.ts) AS last_touch
  FROM touchpoints AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE {period}
  GROUP BY 1
), c AS (
  SELECT COALESCE(m.person_id, e.user_id) AS person, MAX(e.ts) AS last_conversion,
         COUNT(*) FILTER (WHERE {event_window(0, start, end)}) AS in_period
  FROM conversions AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE e.stage = {literal(stage)} AND {period}
  GROUP BY 1
)
SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE COALESCE(c.in_period, 0) = 0) AS alone
FROM t LEFT JOIN c ON c.person = t.person
WHERE (c.last_conversion IS NULL OR t.last_touch > c.last_conversion) AND {keep}
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
    "converting_touches_sql",
    "event_window",
    "funnel_touches_sql",
    "items_sql",
    "journey_paths_sql",
    "journey_steps_sql",
    "literal",
    "non_converting_sql",
    "path_digits",
    "path_words",
    "remapped_sql",
    "stages_sql",
    "timestamp",
    "to_spark",
]
