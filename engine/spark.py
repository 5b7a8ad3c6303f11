"""The same definition on Apache Spark, over a Parquet lake (``closedloop export`` writes one).

A lake is a folder with ``touchpoints/``, ``conversions/``, ``costs/`` and
``identities/``: each a Parquet file or a folder of part files with the
canonical columns. The statements of :mod:`engine.sql` are translated to
Spark SQL with sqlglot and run where Spark runs them — ``local[*]`` on this
machine, or a cluster's master; only the distinct paths come back.

pyspark is an optional dependency (``pip install closedloop[spark]``); it
is imported when a Spark engine is first used.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from attribution.errors import InputError, ParameterError
from attribution.windows import TouchWindows, touch_windows
from engine.paths import (
    ConvertingJourneys,
    PathAggregate,
    StepAggregate,
    aggregate_rows,
    chosen_stage,
    converting_journeys,
    empty_aggregate,
    empty_steps,
    item_codes,
    sql_windows,
    step_rows,
)
from engine.sql import (
    converting_touches_sql,
    funnel_others_sql,
    funnel_touches_sql,
    items_sql,
    journey_paths_sql,
    journey_steps_sql,
    non_converting_sql,
    remapped_sql,
    stages_sql,
    to_spark,
    views_sql,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LAKE_TABLES = ("touchpoints", "conversions", "costs", "identities")
"""The folders (or files) of a lake."""

DEFAULT_MASTER = "local[*]"


def spark_session(master: str = DEFAULT_MASTER) -> SparkSession:
    """Return a Spark session set for closedloop (UTC, quiet), starting one if needed.

    Examples
    --------
    >>> spark_session  # doctest: +ELLIPSIS
    <function spark_session at ...>
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ParameterError(
            "The Spark engine needs pyspark: pip install 'closedloop[spark]' "
            "(and Java 17 on the machine)."
        ) from None
    if master.startswith("local"):
        # A local Spark binds to this machine's loopback address, never to a network interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master(master)
        .appName("closedloop")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def lake_table(lake: Path, table: str) -> Path:
    """Return where a table of the lake is: ``lake/<table>`` (folder) or ``lake/<table>.parquet``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "costs").mkdir()
    >>> lake_table(folder, "costs").name
    'costs'
    """
    for candidate in (lake / table, lake / f"{table}.parquet"):
        if candidate.exists():
            return candidate
    raise InputError(
        f"The lake '{lake.name}' has no {table}: expected a folder '{table}/' of Parquet "
        f"files or a file '{table}.parquet' (closedloop export --out DIR writes the layout)."
    )


def register_lake(spark: SparkSession, lake: Path) -> None:
    """Register the lake's tables as temporary views named after them.

    A canonical column a table's files lack (a lake written before the
    column existed, such as ``conversions.pipeline``) is a null column of
    the view, as :func:`read_lake` reads it.

    Examples
    --------
    >>> register_lake  # doctest: +ELLIPSIS
    <function register_lake at ...>
    """
    from pyspark.sql import functions as F

    from attribution.schema import TABLES

    for table in LAKE_TABLES:
        frame = spark.read.parquet(str(lake_table(lake, table)))
        for name, dtype in TABLES[table].items():
            if name not in frame.columns:
                frame = frame.withColumn(name, F.lit(None).cast(_SPARK_TYPES[dtype]))
        frame.createOrReplaceTempView(table)


_SPARK_TYPES = {
    pl.String(): "string",
    pl.Float64(): "double",
    pl.Int64(): "bigint",
    pl.Date(): "date",
    pl.Datetime("us", "UTC"): "timestamp",
}
"""Spark SQL type of each canonical polars dtype (for the columns a lake lacks)."""


def spark_frame(spark: SparkSession, sql: str) -> pl.DataFrame:
    """Run one statement of the engine's definition (DuckDB dialect) with Spark; return its rows.

    Examples
    --------
    >>> spark_frame  # doctest: +ELLIPSIS
    <function spark_frame at ...>
    """
    rows = spark.sql(to_spark(sql)).toArrow()
    return pl.DataFrame(pl.from_arrow(rows))


def person_view(spark: SparkSession, person_map: pl.DataFrame) -> None:
    """Register the identity-stitching map as the view ``person_map``.

    Examples
    --------
    >>> person_view  # doctest: +ELLIPSIS
    <function person_view at ...>
    """
    pairs = person_map.select(pl.col("id", "person_id").cast(pl.String))
    # Arrow straight into Spark: no Python object per identity.
    spark.createDataFrame(pairs.to_arrow()).createOrReplaceTempView("person_map")


def lake_stages(
    spark: SparkSession, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> dict[str, int]:
    """Return the conversions per stage in a period's read window (see :func:`engine.paths.window_stages`).

    Examples
    --------
    >>> lake_stages  # doctest: +ELLIPSIS
    <function lake_stages at ...>
    """  # noqa: E501
    frame = spark_frame(spark, stages_sql(lookback_days, start, end))
    return {str(s): int(n) for s, n in frame.iter_rows() if s is not None}


def lake_remapped(
    spark: SparkSession,
    person_map: pl.DataFrame,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
) -> dict[str, int]:
    """Count the rows of the window whose id stitching replaced (see :func:`engine.paths.remapped`).

    Examples
    --------
    >>> lake_remapped  # doctest: +ELLIPSIS
    <function lake_remapped at ...>
    """
    person_view(spark, person_map)
    return {
        f"{table}_remapped": int(
            spark_frame(spark, remapped_sql(table, lookback_days, start, end)).item()
        )
        for table in ("touchpoints", "conversions")
    }


def lake_views(
    spark: SparkSession, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> int:
    """Return the number of views among a period's read touches (see :func:`engine.paths.window_views`).

    A lake whose touchpoints have no ``interaction`` column has none.

    Examples
    --------
    >>> lake_views  # doctest: +ELLIPSIS
    <function lake_views at ...>
    """  # noqa: E501
    if "interaction" not in spark.table("touchpoints").columns:
        return 0
    return int(spark_frame(spark, views_sql(lookback_days, start, end)).item())


def lake_paths(
    spark: SparkSession,
    person_map: pl.DataFrame,
    *,
    by: str,
    stage: str | None,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    stages: dict[str, int] | None = None,
    windows: TouchWindows | None = None,
) -> PathAggregate:
    """Build a stage's journeys in Spark and bring back their distinct paths.

    Parameters as :func:`engine.paths.store_paths`; the lake's views must be
    registered (:func:`register_lake`).

    Examples
    --------
    >>> lake_paths  # doctest: +ELLIPSIS
    <function lake_paths at ...>
    """
    counted = stages if stages is not None else lake_stages(spark, lookback_days, start, end)
    chosen = chosen_stage(counted, stage)
    if chosen is None:
        return empty_aggregate(by, lookback_days)
    items = _item_view(spark, person_map, by, lookback_days, start, end)
    limits = sql_windows(windows, lookback_days, lake_views(spark, lookback_days, start, end))
    sql = journey_paths_sql(
        by=by,
        stage=chosen,
        lookback_days=lookback_days,
        start=start,
        end=end,
        items=items.height,
        **limits,
    )
    aggregate = aggregate_rows(spark_frame(spark, sql), items["item"], by, chosen, lookback_days)
    return replace(aggregate, windows=windows or touch_windows(lookback_days))


def _item_view(
    spark: SparkSession,
    person_map: pl.DataFrame,
    by: str,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
) -> pl.DataFrame:
    """Register ``person_map`` and the window's ``item_codes`` as views; return the codes."""
    person_view(spark, person_map)
    items = item_codes(spark_frame(spark, items_sql(by, lookback_days, start, end))["item"])
    codes = items.select(pl.col("item").cast(pl.String), pl.col("code").cast(pl.Int64))
    spark.createDataFrame(codes.to_arrow()).createOrReplaceTempView("item_codes")
    return items


def lake_steps(
    spark: SparkSession,
    person_map: pl.DataFrame,
    *,
    by: str,
    stage: str | None,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    stages: dict[str, int] | None = None,
    windows: TouchWindows | None = None,
) -> StepAggregate:
    """Count the steps of a stage's journeys in Spark and bring back the converting paths.

    Parameters as :func:`engine.paths.store_steps`; the lake's views must be
    registered (:func:`register_lake`).

    Examples
    --------
    >>> lake_steps  # doctest: +ELLIPSIS
    <function lake_steps at ...>
    """
    counted = stages if stages is not None else lake_stages(spark, lookback_days, start, end)
    chosen = chosen_stage(counted, stage)
    if chosen is None:
        return empty_steps(by, lookback_days)
    items = _item_view(spark, person_map, by, lookback_days, start, end)
    limits = sql_windows(windows, lookback_days, lake_views(spark, lookback_days, start, end))
    sql = journey_steps_sql(
        by=by, stage=chosen, lookback_days=lookback_days, start=start, end=end, **limits
    )
    aggregate = step_rows(spark_frame(spark, sql), items["item"], by, chosen, lookback_days)
    return replace(aggregate, windows=windows or touch_windows(lookback_days))


def lake_converting(
    spark: SparkSession,
    person_map: pl.DataFrame,
    conversions: pl.DataFrame,
    *,
    stage: str | None,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    stages: dict[str, int] | None = None,
    windows: TouchWindows | None = None,
) -> ConvertingJourneys | None:
    """Build a stage's journeys in Spark and bring back the converting ones, touch by touch.

    Parameters as :func:`engine.paths.store_converting`; the lake's views
    must be registered (:func:`register_lake`).

    Examples
    --------
    >>> lake_converting  # doctest: +ELLIPSIS
    <function lake_converting at ...>
    """
    counted = stages if stages is not None else lake_stages(spark, lookback_days, start, end)
    chosen = chosen_stage(counted, stage)
    if chosen is None:
        return None
    person_view(spark, person_map)
    options = {"stage": chosen, "lookback_days": lookback_days, "start": start, "end": end}
    limits = sql_windows(windows, lookback_days, lake_views(spark, lookback_days, start, end))
    rows = spark_frame(spark, converting_touches_sql(**options, **limits))  # type: ignore[arg-type]
    tallies = spark_frame(spark, non_converting_sql(**options))  # type: ignore[arg-type]
    return converting_journeys(rows, conversions, tallies, chosen, lookback_days, windows)


def lake_funnel(
    spark: SparkSession,
    person_map: pl.DataFrame,
    *,
    start: dt.date | None,
    end: dt.date | None,
    cut: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return what a funnel reads of the lake: converted persons' touches, the others counted.

    The queries of :func:`engine.sql.funnel_touches_sql` and
    :func:`engine.sql.funnel_others_sql`; the lake's views must be
    registered (:func:`register_lake`).

    Examples
    --------
    >>> lake_funnel  # doctest: +ELLIPSIS
    <function lake_funnel at ...>
    """
    person_view(spark, person_map)
    touches = spark_frame(spark, funnel_touches_sql(end=end, cut=cut))
    others = spark_frame(spark, funnel_others_sql(start=start, end=end, cut=cut))
    return touches, others


def read_lake(lake: Path, table: str) -> pl.DataFrame:
    """Read one table of the lake with polars, in its canonical schema.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "identities").mkdir()
    >>> pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"]}).write_parquet(
    ...     folder / "identities" / "part-0.parquet")
    >>> read_lake(folder, "identities").height
    1
    """
    from attribution.schema import TABLES

    where = lake_table(lake, table)
    source = str(where / "*.parquet") if where.is_dir() else str(where)
    schema = TABLES[table]
    frame = pl.read_parquet(source)
    missing = [c for c in schema.names() if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, schema[c]).alias(c) for c in missing)
    return frame.select(schema.names()).cast(schema)  # type: ignore[arg-type]


__all__ = [
    "DEFAULT_MASTER",
    "LAKE_TABLES",
    "lake_converting",
    "lake_funnel",
    "lake_paths",
    "lake_remapped",
    "lake_stages",
    "lake_steps",
    "lake_table",
    "lake_views",
    "person_view",
    "read_lake",
    "register_lake",
    "spark_frame",
    "spark_session",
]
