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
  within it, at most ``click_days`` for a touch that is not a view and
  ``view_days`` for a view (``interaction`` in
  :data:`attribution.windows.VIEW_INTERACTIONS`); ``view_days=None`` reads
  no interaction at all (the store has no view: every touch is a click);
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
from attribution.windows import VIEW_INTERACTIONS


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


def _micros(days: float) -> int:
    return dt.timedelta(days=days) // dt.timedelta(microseconds=1)


def views_sql(lookback_days: float, start: dt.date | None, end: dt.date | None) -> str:
    """Return the query counting the views (impressions) among a period's read touches.

    None there, the click window is every touch's window and the journey
    queries need not read ``interaction`` (``view_days=None``).

    Examples
    --------
    >>> "impression" in views_sql(90, None, None)
    True
    """
    return (
        f"SELECT COUNT(*) AS n FROM touchpoints AS e "
        f"WHERE {_is_view('e')} = 1 AND {event_window(lookback_days, start, end)}"
    )


def _is_view(alias: str) -> str:
    """Return 1 for a touch that is a view, else 0 (``interaction`` trimmed, lower case)."""
    values = ", ".join(literal(v) for v in VIEW_INTERACTIONS)
    return (
        f"CASE WHEN LOWER(TRIM(CAST({alias}.interaction AS VARCHAR))) IN ({values}) "
        "THEN 1 ELSE 0 END"
    )


def _since(click_days: float, view_days: float | None) -> str:
    """Return the oldest ``ts`` an event of a journey keeps: its anchor less its window."""
    click = f"anchor - INTERVAL '{_micros(click_days)}' MICROSECOND"
    if view_days is None or view_days == click_days:
        return click
    view = f"anchor - INTERVAL '{_micros(view_days)}' MICROSECOND"
    return f"CASE WHEN is_view = 1 THEN {view} ELSE {click} END"


def _per_touch(click_days: float, view_days: float | None) -> bool:
    """Whether views and clicks have different windows: the dropped touches interleave."""
    return view_days is not None and view_days != click_days


def _view_columns(view_days: float | None) -> tuple[list[str], list[str], list[str]]:
    """Return the touch, conversion and name lists adding ``is_view`` to the events, if read."""
    if view_days is None:
        return [], [], []
    return [_is_view("e")], ["0"], ["is_view"]


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
    click_days: float | None = None,
    view_days: float | None = None,
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

    ``click_days`` (default: the lookback) and ``view_days`` are the windows
    of :mod:`attribution.windows`; with ``view_days`` the rows also count
    ``view_only``, the conversions whose kept touches are all views (0
    without).

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
    views, conversion_views, view_names = _view_columns(view_days)
    journeys = _kept_events(
        stage,
        lookback_days,
        start,
        end,
        touch_columns=["c.code", *views],
        join=_item_join(by),
        conversion_columns=["CAST(NULL AS BIGINT)", *conversion_views],
        names=["code", *view_names],
        click_days=click_days,
        view_days=view_days,
    )
    all_views = (
        "\n         MIN(CASE WHEN is_conv = 0 THEN is_view END) AS all_views,"
        if view_days is not None
        else ""
    )
    view_only = (
        "CAST(SUM(CASE WHEN converted = 1 AND all_views = 1 THEN 1 ELSE 0 END) AS DOUBLE)"
        if view_days is not None
        else "CAST(0 AS DOUBLE)"
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
         COUNT(code) AS n,{all_views}
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
  SELECT converted, revenue, conversion_ts, n, long_path, last_later, {word_names},{
        " all_views," if view_days is not None else ""
    }
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
       {view_only} AS view_only,
       untouched_id AS conversion_id,
       untouched_person AS user_id
FROM keyed
GROUP BY n, last_later, {word_names}, long_path, untouched_id, untouched_person
"""


def journey_steps_sql(
    *,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    click_days: float | None = None,
    view_days: float | None = None,
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

    ``click_days`` and ``view_days`` as in :func:`journey_paths_sql`; with
    ``view_days`` the events of converting journeys also say ``is_view``.
    When the two windows differ a touch's predecessor is the journey's kept
    touch before it, found in a second window pass over the kept events.

    Examples
    --------
    >>> sql = journey_steps_sql(by="channel", stage="purchase", lookback_days=90,
    ...     start=None, end=None)
    >>> "LAG(code)" in sql and "item_codes" in sql
    True
    """
    _check_by(by)
    click = lookback_days if click_days is None else click_days
    period = event_window(lookback_days, start, end)
    keep = f"anchor >= {timestamp(_midnight(start))}" if start is not None else "TRUE"
    since = _since(click, view_days)
    order = "PARTITION BY person ORDER BY ts, is_conv, event_id"
    following = f"{order} ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING"
    converting = "converting_anchor IS NOT NULL"
    views, conversion_views, view_names = _view_columns(view_days)
    events = _events(
        stage,
        period,
        touch_columns=["c.code", *views],
        join=_item_join(by),
        conversion_columns=["CAST(NULL AS BIGINT)", *conversion_views],
        names=["code", *view_names],
    )
    if _per_touch(click, view_days):
        # The kept touches are no longer a suffix of the stream: take the predecessor among them.
        lag, previous, step = "", "", f"COALESCE(LAG(code) OVER ({order}), 0)"
    else:
        lag = f"""
    LAG(code) OVER ({order}) AS prev_code,
    LAG(ts) OVER ({order}) AS prev_ts"""
        previous = ","
        step = f"COALESCE(CASE WHEN prev_ts >= {since} THEN prev_code END, 0)"
    view_key = f"CASE WHEN {converting} THEN is_view END" if view_days is not None else ""
    view_column = f",\n       {view_key} AS is_view" if view_key else ""
    view_group = f", {view_key}" if view_key else ""
    return f"""
WITH {events}, placed AS (
  SELECT *,
    FIRST_VALUE(CASE WHEN is_conv = 1 THEN ts END IGNORE NULLS) OVER ({following})
      AS converting_anchor,
    LAST_VALUE(ts) OVER ({following}) AS last_event{previous}{lag}
  FROM events
), anchored AS (
  SELECT *, COALESCE(converting_anchor, last_event) AS anchor
  FROM placed
), steps AS (
  SELECT *, {step} AS prev
  FROM anchored
  WHERE {keep} AND ts >= {since}
)
SELECT prev, code,
       CASE WHEN {converting} THEN person END AS user_id,
       converting_anchor AS conversion_ts,
       CASE WHEN {converting} THEN ts END AS ts,
       CASE WHEN {converting} THEN event_id END AS event_id,
       CAST(COUNT(*) AS DOUBLE) AS count,
       SUM(revenue) AS revenue{view_column}
FROM steps
GROUP BY prev, code, CASE WHEN {converting} THEN person END, converting_anchor,
         CASE WHEN {converting} THEN ts END, CASE WHEN {converting} THEN event_id END{view_group}
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
    click_days: float | None = None,
    view_days: float | None = None,
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

    An event is kept within ``click_days`` (default: the lookback) of its
    anchor, or ``view_days`` for a view (the names then hold ``is_view``).
    When the two differ, the touches a journey drops can sit between the
    ones it keeps, so ``later`` is counted again over the kept events
    (a second window pass, only then).
    """
    click = lookback_days if click_days is None else click_days
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
    kept = "SELECT *"
    if _per_touch(click, view_days):
        columns = ["person", "ts", "event_id", "is_conv", "revenue", *names, "journey"]
        columns += ["converting_anchor", "last_event", "seq", "anchor", "touches"]
        kept = (
            f"SELECT {', '.join(columns)},\n"
            f"    SUM(1 - is_conv) OVER ({following}) - 1 + is_conv AS later"
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
  {kept}
  FROM anchored
  WHERE {keep} AND ts >= {_since(click, view_days)}
)"""


def converting_touches_sql(
    *,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    click_days: float | None = None,
    view_days: float | None = None,
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
    ``click_days`` and ``view_days`` as in :func:`journey_paths_sql`;
    ``is_view`` says which touches are views (null without ``view_days``).

    Examples
    --------
    >>> sql = converting_touches_sql(stage="purchase", lookback_days=90, start=None, end=None)
    >>> "converting_anchor IS NOT NULL" in sql
    True
    """
    views, conversion_views, view_names = _view_columns(view_days)
    journeys = _kept_events(
        stage,
        lookback_days,
        start,
        end,
        touch_columns=["CAST(e.channel AS VARCHAR)", "CAST(e.campaign AS VARCHAR)", *views],
        join="",
        conversion_columns=["CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)", *conversion_views],
        names=["channel", "campaign", *view_names],
        click_days=click_days,
        view_days=view_days,
    )
    is_view = "CASE WHEN is_conv = 0 THEN is_view END" if view_days is not None else "NULL"
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
       CAST(1 AS DOUBLE) AS count, CAST({is_view} AS INTEGER) AS is_view
FROM converting
WHERE is_conv = 0 OR n_touches = 0
"""


def _funnel_streams(end: dt.date | None, cut: bool) -> str:
    """Return ``t`` (the touches a funnel reads, by stitched person) and ``converted``.

    ``converted`` holds the persons with a conversion row of any stage and date.
    """
    until = event_window(0, None, end) if cut else "TRUE"
    return f"""t AS (
  SELECT COALESCE(m.person_id, e.user_id) AS user_id, e.touchpoint_id, e.ts, e.channel,
         e.campaign, e.source, e.medium, e.interaction
  FROM touchpoints AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE {until}
), converted AS (
  SELECT DISTINCT COALESCE(m.person_id, c.user_id) AS user_id
  FROM conversions AS c LEFT JOIN person_map AS m ON m.id = c.user_id
)"""


def funnel_touches_sql(*, end: dt.date | None, cut: bool) -> str:
    """Return the query of the touches a funnel reads one by one: those of converted persons.

    A person with a conversion row (of any stage and date) comes back with
    every touch; the others are counted by :func:`funnel_others_sql`.
    ``cut`` drops touches after ``end`` (the funnel's ``period`` mode). Reads
    ``touchpoints``, ``conversions`` and ``person_map``; ``user_id`` is the
    stitched person.

    Examples
    --------
    >>> "EXISTS" in funnel_touches_sql(end=None, cut=False)
    True
    """
    return f"""
WITH {_funnel_streams(end, cut)}
SELECT t.* FROM t
WHERE EXISTS (SELECT 1 FROM converted AS c WHERE c.user_id = t.user_id)
"""


def funnel_others_sql(*, start: dt.date | None, end: dt.date | None, cut: bool) -> str:
    """Return the query counting the touched persons with no conversion row, by what a funnel uses.

    Of such a person a funnel (:func:`attribution.funnel.funnel`) uses only
    the channel and campaign of their first and last touch (in ``ts``,
    ``touchpoint_id`` order: the group they are in) and their visits (were
    they a visitor); so the engine counts them (``persons``) by
    ``first_channel``, ``first_campaign``, ``last_channel``,
    ``last_campaign``, ``has_visit`` (any ``visit`` touch),
    ``first_visit_in`` (their first visit is in ``[start, end]``: a visitor
    of a cohort) and ``visited_in`` (a visit in the period: a visitor of a
    period), and no row per person leaves the engine. Reads as
    :func:`funnel_touches_sql`.

    Examples
    --------
    >>> "first_visit_in" in funnel_others_sql(start=None, end=None, cut=False)
    True
    """
    in_period = event_window(0, start, end, alias="t")
    bounds = ["p.first_visit IS NOT NULL"]
    if start is not None:
        bounds.append(f"p.first_visit >= {timestamp(_midnight(start))}")
    if end is not None:
        bounds.append(f"p.first_visit < {timestamp(_midnight(end + dt.timedelta(days=1)))}")
    touch = "{'ts': t.ts, 'id': t.touchpoint_id, 'channel': t.channel, 'campaign': t.campaign}"
    keys = (
        "p.first_touch.channel, p.first_touch.campaign, p.last_touch.channel, "
        "p.last_touch.campaign, p.first_visit IS NOT NULL, "
        f"{' AND '.join(bounds)}, p.visited_in = 1"
    )
    return f"""
WITH {_funnel_streams(end, cut)}, p AS (
  SELECT t.user_id, MIN({touch}) AS first_touch, MAX({touch}) AS last_touch,
         MIN(CASE WHEN t.interaction = 'visit' THEN t.ts END) AS first_visit,
         MAX(CASE WHEN t.interaction = 'visit' AND {in_period} THEN 1 ELSE 0 END) AS visited_in
  FROM t
  WHERE NOT EXISTS (SELECT 1 FROM converted AS c WHERE c.user_id = t.user_id)
  GROUP BY t.user_id
)
SELECT p.first_touch.channel AS first_channel, p.first_touch.campaign AS first_campaign,
       p.last_touch.channel AS last_channel, p.last_touch.campaign AS last_campaign,
       p.first_visit IS NOT NULL AS has_visit, {" AND ".join(bounds)} AS first_visit_in,
       p.visited_in = 1 AS visited_in, COUNT(*) AS persons
FROM p
GROUP BY {keys}
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
    "funnel_others_sql",
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
    "views_sql",
]
