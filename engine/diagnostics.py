"""The small aggregates the diagnostics of an answer need, from the store or from frames.

:func:`store_facts` runs the queries below inside one store snapshot (DuckDB),
:func:`lake_facts` the same statements with Spark over a lake;
:func:`frame_facts` computes the same figures with vectorised polars on frames
in memory (the reference, compared with the store on the same data by
``tests/engine/test_engine_diagnostics.py``). What reaches Python is bounded
by the distinct keys, the stages and the *untouched* conversions, never by
the touches. The checks themselves live in :mod:`attribution.diagnostics`.

- the gaps: for each conversion of the stage in the period whose person's
  latest touch at or before it, and after the person's previous conversion of
  the stage (which claims the touches before it), is older than the lookback
  (or missing), the days back to that touch (null: none). Only asked for
  when the answer has untouched conversions; it reads the touches of those
  persons only, and from any date (the point is the touches the lookback
  missed);
- the largest conversion of the stage in the period;
- the distinct touch keys of the read window (:func:`engine.sql.items_sql`),
  the spend per cost key and the days with spend in the period;
- the stages of every conversion, with their counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from attribution.constants import DAY_SECONDS, NOT_SET
from engine.sql import event_window, items_sql, literal, stages_sql
from ingest.store import Snapshot

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class AnswerFacts:
    """The figures the checks of one attribution answer read.

    Examples
    --------
    >>> AnswerFacts().touch_keys is None
    True
    """

    gaps: pl.Series | None = None
    """Days from each out-of-reach conversion back to its latest touch (null: none)."""
    top: tuple[str, float] | None = None
    """The stage's largest conversion in the period: id and revenue."""
    touch_keys: list[str] | None = None
    """The distinct ``by`` values of the window's touches (``None``: not asked)."""
    cost_keys: pl.DataFrame | None = None
    """``key``, ``spend`` of the period (``None``: no costs ever loaded)."""
    spend_days: pl.Series | None = None
    """The distinct days of the period with a cost row."""


def _period(start: dt.date | None, end: dt.date | None, alias: str = "e") -> str:
    """Return the condition of a conversion of the period (lookback 0: its own dates)."""
    return event_window(0, start, end, alias)


def touch_gaps_sql(
    stage: str, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> str:
    """Return the query of the days back to the latest touch of out-of-reach conversions.

    One window pass over the touches of the persons with a conversion of the
    stage in the period (stitched through ``person_map``), conversions after
    touches at the same instant, as journeys order them.

    Examples
    --------
    >>> "PARTITION BY person" in touch_gaps_sql("purchase", 90, None, None)
    True
    """
    until = _period(None, end)
    return f"""WITH conv AS (
  SELECT COALESCE(m.person_id, e.user_id) AS person, e.ts, 1 AS is_conv,
         e.conversion_id AS event_id, CASE WHEN {_period(start, end)} THEN 1 ELSE 0 END AS kept
  FROM conversions AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE e.stage = {literal(stage)} AND {until}
), touch AS (
  SELECT COALESCE(m.person_id, e.user_id) AS person, e.ts, 0 AS is_conv,
         e.touchpoint_id AS event_id, 0 AS kept
  FROM touchpoints AS e LEFT JOIN person_map AS m ON m.id = e.user_id
  WHERE {until}
), stream AS (
  SELECT * FROM conv
  UNION ALL
  SELECT * FROM touch WHERE person IN (SELECT person FROM conv WHERE kept = 1)
), latest AS (
  SELECT is_conv, kept, ts,
    max(CASE WHEN is_conv = 0 THEN ts END) OVER (
      PARTITION BY person ORDER BY ts, is_conv, event_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS touched,
    max(CASE WHEN is_conv = 1 THEN ts END) OVER (
      PARTITION BY person ORDER BY ts, is_conv, event_id
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS claimed
  FROM stream
), own AS (
  SELECT ts, CASE WHEN touched > claimed OR claimed IS NULL THEN touched END AS touched
  FROM latest WHERE is_conv = 1 AND kept = 1
)
SELECT (epoch(ts) - epoch(touched)) / {DAY_SECONDS} AS gap_days FROM own
WHERE touched IS NULL OR epoch(ts) - epoch(touched) > {lookback_days * DAY_SECONDS}
"""


def top_conversion_sql(stage: str, start: dt.date | None, end: dt.date | None) -> str:
    """Return the query of the stage's largest conversion in the period.

    Examples
    --------
    >>> "LIMIT 1" in top_conversion_sql("purchase", None, None)
    True
    """
    return (
        "SELECT e.conversion_id, COALESCE(CAST(e.revenue AS DOUBLE), 0) AS revenue "
        f"FROM conversions AS e WHERE e.stage = {literal(stage)} AND {_period(start, end)} "
        "ORDER BY revenue DESC, e.conversion_id LIMIT 1"
    )


def cost_keys_sql(by: str, start: dt.date | None, end: dt.date | None) -> str:
    """Return the query of the spend per cost key in the period.

    Examples
    --------
    >>> "GROUP BY" in cost_keys_sql("channel", None, None)
    True
    """
    return (
        f"SELECT COALESCE(CAST(c.{by} AS VARCHAR), {literal(NOT_SET)}) AS key, "
        f"sum(c.spend) AS spend FROM costs AS c WHERE {_day_window(start, end)} GROUP BY 1"
    )


def spend_days_sql(start: dt.date | None, end: dt.date | None) -> str:
    """Return the query of the distinct days of the period with a cost row.

    Examples
    --------
    >>> spend_days_sql(None, None)
    'SELECT DISTINCT c.date FROM costs AS c WHERE TRUE'
    """
    return f"SELECT DISTINCT c.date FROM costs AS c WHERE {_day_window(start, end)}"


def _day_window(start: dt.date | None, end: dt.date | None) -> str:
    where = []
    if start is not None:
        where.append(f"c.date >= DATE {literal(start.isoformat())}")
    if end is not None:
        where.append(f"c.date <= DATE {literal(end.isoformat())}")
    return " AND ".join(where) or "TRUE"


def store_facts(
    snap: Snapshot,
    person_map: pl.DataFrame,
    *,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    untouched: bool,
) -> AnswerFacts:
    """Compute the facts of an answer inside one store snapshot.

    The gaps only when the answer has ``untouched`` conversions; the keys
    only when costs were ever loaded and have the ``by`` column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> people = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb").snapshot() as snap:
    ...     facts = store_facts(snap, people, by="channel", stage="purchase", lookback_days=90,
    ...         start=None, end=None, untouched=True)
    >>> facts.gaps.len(), facts.top, facts.cost_keys is None
    (0, None, True)
    """
    return engine_facts(
        lambda sql: snap.query(sql, {"person_map": person_map}),
        has_costs=bool(snap.counts()["costs"]),
        by=by,
        stage=stage,
        lookback_days=lookback_days,
        start=start,
        end=end,
        untouched=untouched,
    )


def engine_facts(
    run: Callable[[str], pl.DataFrame],
    *,
    has_costs: bool,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    untouched: bool,
) -> AnswerFacts:
    """Compute the facts of an answer with an engine: ``run(sql)`` returns a query's rows.

    The same statements for DuckDB (:func:`store_facts`) and Spark
    (:func:`lake_facts`, through :func:`engine.sql.to_spark`); ``person_map``
    must be visible to ``run``.

    Examples
    --------
    >>> engine_facts(lambda sql: pl.DataFrame({"conversion_id": ["c"], "revenue": [5.0]}),
    ...     has_costs=False, by="channel", stage="purchase", lookback_days=90, start=None,
    ...     end=None, untouched=False).top
    ('c', 5.0)
    """
    gaps = run(touch_gaps_sql(stage, lookback_days, start, end))["gap_days"] if untouched else None
    top_row = run(top_conversion_sql(stage, start, end))
    top = (
        (str(top_row["conversion_id"][0]), float(top_row["revenue"][0])) if top_row.height else None
    )
    touch_keys = cost_keys = spend_days = None
    if has_costs and by in ("channel", "campaign"):
        touch_keys = run(items_sql(by, lookback_days, start, end))["item"].to_list()
        cost_keys = run(cost_keys_sql(by, start, end))
        spend_days = run(spend_days_sql(start, end))["date"]
    return AnswerFacts(
        gaps=gaps, top=top, touch_keys=touch_keys, cost_keys=cost_keys, spend_days=spend_days
    )


def lake_facts(
    spark: SparkSession,
    person_map: pl.DataFrame,
    *,
    has_costs: bool,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    untouched: bool,
) -> AnswerFacts:
    """Compute :func:`store_facts`'s figures with Spark over a registered lake.

    Examples
    --------
    >>> lake_facts  # doctest: +ELLIPSIS
    <function lake_facts at ...>
    """
    from engine.spark import person_view, spark_frame

    person_view(spark, person_map)
    return engine_facts(
        lambda sql: spark_frame(spark, sql),
        has_costs=has_costs,
        by=by,
        stage=stage,
        lookback_days=lookback_days,
        start=start,
        end=end,
        untouched=untouched,
    )


def store_stages(snap: Snapshot) -> dict[str, int]:
    """Return every conversion stage of the store with its number of rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb").snapshot() as snap:
    ...     store_stages(snap)
    {}
    """
    rows = snap.query(stages_sql(0, None, None))
    return dict(zip(rows["stage"].to_list(), rows["conversions"].to_list(), strict=True))


def _timed(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the frame with ``ts`` as UTC instants (frames in memory may hold ISO text)."""
    utc = pl.Datetime("us", "UTC")
    if frame.schema["ts"] == pl.String:
        return frame.with_columns(pl.col("ts").str.to_datetime(time_zone="UTC").cast(utc))
    return frame.with_columns(pl.col("ts").cast(utc))


def frame_facts(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame | None,
    *,
    by: str,
    stage: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    untouched: bool,
) -> AnswerFacts:
    """Compute :func:`store_facts`'s figures on stitched frames in memory (vectorised polars).

    Examples
    --------
    >>> from attribution.report import _tiny_example
    >>> tp, cv, costs = _tiny_example()
    >>> facts = frame_facts(tp, cv, costs,
    ...     by="channel", stage="purchase", lookback_days=0.5, start=None, end=None, untouched=True)
    >>> facts.gaps.to_list(), facts.top, sorted(facts.touch_keys)
    ([1.0], ('c1', 100.0), ['Email', 'Search'])
    """
    touchpoints, conversions = _timed(touchpoints), _timed(conversions)
    day_end = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC) if end else None
    in_period = pl.col("stage") == stage
    if start is not None:
        in_period &= pl.col("ts") >= dt.datetime.combine(start, dt.time(), dt.UTC)
    if day_end is not None:
        in_period &= pl.col("ts") < day_end
    convs = conversions.filter(in_period)
    gaps = None
    if untouched:
        touches = touchpoints.filter(pl.col("ts") < day_end) if day_end else touchpoints
        of_stage = conversions.filter(
            (pl.col("stage") == stage) & (pl.col("ts") < day_end if day_end else pl.lit(True))
        )
        # The previous conversion of the stage claims the touches at or before it.
        claimed = of_stage.sort("user_id", "ts", "conversion_id").with_columns(
            pl.col("ts").shift(1).over("user_id").alias("claimed")
        )
        latest = (
            claimed.join(convs.select("conversion_id"), on="conversion_id", how="semi")
            .select("user_id", "ts", "claimed")
            .sort("ts")
            .join_asof(
                touches.select("user_id", pl.col("ts").alias("touched")).sort("touched"),
                left_on="ts",
                right_on="touched",
                by="user_id",
                strategy="backward",
                check_sortedness=False,  # both sides are sorted just above
            )
            .select(
                pl.when(pl.col("claimed").is_null() | (pl.col("touched") > pl.col("claimed")))
                .then((pl.col("ts") - pl.col("touched")).dt.total_microseconds() / 1e6)
                .truediv(DAY_SECONDS)
                .alias("gap_days")
            )
        )
        gaps = latest.filter(pl.col("gap_days").is_null() | (pl.col("gap_days") > lookback_days))[
            "gap_days"
        ]
    revenue = pl.col("revenue").cast(pl.Float64).fill_null(0.0)
    top_row = convs.with_columns(revenue).sort(
        ["revenue", "conversion_id"], descending=[True, False]
    )
    top = (
        (str(top_row["conversion_id"][0]), float(top_row["revenue"][0])) if top_row.height else None
    )
    touch_keys = cost_keys = spend_days = None
    if costs is not None and by in costs.columns and by in touchpoints.columns:
        since = None
        if start is not None:
            since = dt.datetime.combine(start, dt.time(), dt.UTC) - dt.timedelta(days=lookback_days)
        window = touchpoints.filter(
            (pl.col("ts") >= since if since else pl.lit(True))
            & (pl.col("ts") < day_end if day_end else pl.lit(True))
        )
        touch_keys = (
            window.select(pl.col(by).cast(pl.String).fill_null(NOT_SET)).unique()[by].to_list()
        )
        date = pl.col("date")
        dated = costs.with_columns(
            date.str.to_date() if costs.schema["date"] == pl.String else date.cast(pl.Date)
        )
        if start is not None:
            dated = dated.filter(pl.col("date") >= start)
        if end is not None:
            dated = dated.filter(pl.col("date") <= end)
        cost_keys = dated.group_by(pl.col(by).cast(pl.String).fill_null(NOT_SET).alias("key")).agg(
            pl.col("spend").cast(pl.Float64).sum()
        )
        spend_days = dated["date"].unique()
    return AnswerFacts(
        gaps=gaps, top=top, touch_keys=touch_keys, cost_keys=cost_keys, spend_days=spend_days
    )


__all__ = [
    "AnswerFacts",
    "cost_keys_sql",
    "engine_facts",
    "frame_facts",
    "lake_facts",
    "spend_days_sql",
    "store_facts",
    "store_stages",
    "top_conversion_sql",
    "touch_gaps_sql",
]
