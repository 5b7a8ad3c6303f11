"""Aggregated paths of a stage's journeys, computed where the data lives.

:func:`store_paths` runs the one definition (:mod:`engine.sql`) inside a
store snapshot: DuckDB builds the journeys and rolls them up, and only the
distinct paths (and the conversions that kept no touch) come back to
Python. :class:`PathAggregate` turns them into the journeys the models read
(:func:`attribution.paths.journeys_from_path_lists`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from attribution.journeys import UNTOUCHED, Journeys, resolve_stage, stage_milestones
from attribution.markov.chain import STEPS
from attribution.paths import journeys_from_path_lists
from attribution.schema import JOURNEY_TOUCHES
from attribution.windows import TouchWindows, touch_windows
from engine.sql import (
    converting_touches_sql,
    items_sql,
    journey_paths_sql,
    journey_steps_sql,
    non_converting_sql,
    path_digits,
    remapped_sql,
    stages_sql,
    views_sql,
)
from ingest.store import Snapshot

PATHS = pl.Schema(
    {
        "path": pl.List(pl.String()),
        "conversions": pl.Float64(),
        "revenue": pl.Float64(),
        "nulls": pl.Float64(),
    }
)
"""The engine's path rows: the sequence of items, its conversions, revenue and non-conversions."""


@dataclass(frozen=True)
class PathAggregate:
    """The distinct paths of one stage's journeys and the conversions no touch reached.

    Attributes
    ----------
    by
        The touch column the paths are made of.
    stage, lookback_days
        What the journeys were built with.
    paths
        :data:`PATHS` rows, one per distinct path.
    untouched
        :data:`attribution.journeys.UNTOUCHED` rows.
    conversion_dates
        First and last day with a conversion of the stage in the period, or
        ``None`` when there is none.
    windows
        The click and view windows the journeys were built with.
    view_only
        Conversions whose kept touches are all views.

    Examples
    --------
    >>> table = pl.DataFrame({"path": [["Email"]], "conversions": [1.0], "revenue": [9.0],
    ...     "nulls": [0.0]}, schema=PATHS)
    >>> aggregate = PathAggregate("channel", "purchase", 90.0, table,
    ...     pl.DataFrame(schema=UNTOUCHED), None)
    >>> aggregate.journeys().revenue
    9.0
    """

    by: str
    stage: str | None
    lookback_days: float
    paths: pl.DataFrame
    untouched: pl.DataFrame
    conversion_dates: tuple[dt.date, dt.date] | None
    windows: TouchWindows | None = None
    view_only: float = 0.0

    def journeys(self) -> Journeys:
        """Return the journeys the models read: one per distinct path, with its count.

        Examples
        --------
        >>> empty = PathAggregate("campaign", None, 90.0, pl.DataFrame(schema=PATHS),
        ...     pl.DataFrame(schema=UNTOUCHED), None)
        >>> empty.journeys().touches.height
        0
        """
        journeys = journeys_from_path_lists(
            self.paths,
            by=self.by,
            untouched=self.untouched,
            stage=self.stage,
            lookback_days=self.lookback_days,
            distinct=True,
        )
        return replace(journeys, windows=self.windows, view_only_conversions=self.view_only)


def window_stages(
    snap: Snapshot, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> dict[str, int]:
    """Return the conversions per stage in a period's read window.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb").snapshot() as snap:
    ...     window_stages(snap, 90, None, None)
    {}
    """
    frame = snap.query(stages_sql(lookback_days, start, end))
    return {str(s): int(n) for s, n in frame.iter_rows() if s is not None}


def remapped(
    snap: Snapshot,
    person_map: pl.DataFrame,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
) -> dict[str, int]:
    """Count the touchpoint and conversion rows of the window whose id stitching replaced.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> people = pl.DataFrame({"id": ["a"], "person_id": ["b"]})
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb").snapshot() as snap:
    ...     remapped(snap, people, 90, None, None)
    {'touchpoints_remapped': 0, 'conversions_remapped': 0}
    """
    counts = {}
    for table in ("touchpoints", "conversions"):
        sql = remapped_sql(table, lookback_days, start, end)
        counts[f"{table}_remapped"] = int(snap.query(sql, {"person_map": person_map}).item())
    return counts


def window_views(
    snap: Snapshot, lookback_days: float, start: dt.date | None, end: dt.date | None
) -> int:
    """Return the number of views (impressions) among a period's read touches.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb").snapshot() as snap:
    ...     window_views(snap, 90, None, None)
    0
    """
    return int(snap.query(views_sql(lookback_days, start, end)).item())


def sql_windows(
    windows: TouchWindows | None, lookback_days: float, views: int
) -> dict[str, float | None]:
    """Return the ``click_days`` and ``view_days`` the journey queries are built with.

    ``windows=None`` means the defaults (:func:`attribution.windows.touch_windows`).
    With no view among the touches, ``view_days`` is ``None``: the queries
    then read no ``interaction`` and keep a plain lookback of the click
    window, the query they ran before windows existed.

    Examples
    --------
    >>> sql_windows(None, 90, views=0)
    {'click_days': 90.0, 'view_days': None}
    >>> sql_windows(None, 90, views=3)
    {'click_days': 90.0, 'view_days': 1.0}
    """
    resolved = windows if windows is not None else touch_windows(lookback_days)
    return {"click_days": resolved.click_days, "view_days": resolved.view_days if views else None}


def chosen_stage(counted: Mapping[str, int], stage: str | None) -> str | None:
    """Pick the stage to attribute among those counted in the window, as the polars path does.

    Examples
    --------
    >>> chosen_stage({"lead": 3, "closed_won": 1}, None)
    'closed_won'
    """
    stages = pl.DataFrame({"stage": list(counted)}, schema={"stage": pl.String})
    return resolve_stage(stages, stage)


def empty_aggregate(by: str, lookback_days: float) -> PathAggregate:
    """Return the paths of a window with no conversion of any stage: none.

    Examples
    --------
    >>> empty_aggregate("channel", 90.0).paths.height
    0
    """
    return PathAggregate(
        by, None, lookback_days, pl.DataFrame(schema=PATHS), pl.DataFrame(schema=UNTOUCHED), None
    )


def store_paths(
    snap: Snapshot,
    person_map: pl.DataFrame,
    *,
    by: str,
    stage: str | None,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    stages: Mapping[str, int] | None = None,
    windows: TouchWindows | None = None,
) -> PathAggregate:
    """Build a stage's journeys in DuckDB and bring back their distinct paths.

    Parameters
    ----------
    snap
        The store snapshot to read.
    person_map
        ``id``, ``person_id``: the ids stitching replaces (empty for none).
    by, stage, lookback_days, start, end
        As in :func:`attribution.build_journeys`; ``stage=None`` picks the
        stage the same way (:func:`attribution.journeys.resolve_stage`).
    stages
        The conversions per stage in the window, when already counted.
    windows
        The click and view windows (:func:`attribution.windows.touch_windows`;
        ``None``: the defaults for ``lookback_days``).

    Returns
    -------
    PathAggregate

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> from attribution.report import _tiny_example
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")
    >>> tp, cv, _ = _tiny_example()
    >>> from ingest import ingest_frame
    >>> _ = ingest_frame(store, "touchpoints", tp); _ = ingest_frame(store, "conversions", cv)
    >>> none = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    >>> with store.snapshot() as snap:
    ...     aggregate = store_paths(snap, none, by="channel", stage=None, lookback_days=90,
    ...         start=None, end=None)
    >>> aggregate.paths.to_dicts()
    [{'path': ['Email', 'Search'], 'conversions': 1.0, 'revenue': 100.0, 'nulls': 0.0}]
    """
    counted = dict(stages) if stages is not None else window_stages(snap, lookback_days, start, end)
    chosen = chosen_stage(counted, stage)
    if chosen is None:
        return empty_aggregate(by, lookback_days)
    items = item_codes(snap.query(items_sql(by, lookback_days, start, end))["item"])
    limits = sql_windows(windows, lookback_days, window_views(snap, lookback_days, start, end))
    sql = journey_paths_sql(
        by=by,
        stage=chosen,
        lookback_days=lookback_days,
        start=start,
        end=end,
        items=items.height,
        **limits,
    )
    frame = snap.query(sql, {"person_map": person_map, "item_codes": items})
    aggregate = aggregate_rows(frame, items["item"], by, chosen, lookback_days)
    return replace(aggregate, windows=windows or touch_windows(lookback_days))


def item_codes(items: pl.Series) -> pl.DataFrame:
    """Code the distinct items of a window 1 … n, in sorted order: the table ``item_codes``.

    Examples
    --------
    >>> item_codes(pl.Series(["Search", "Email"])).rows()
    [('Email', 1), ('Search', 2)]
    """
    names = items.cast(pl.String).drop_nulls().unique().sort()
    return pl.DataFrame({"item": names, "code": pl.int_range(1, names.len() + 1, eager=True)})


def decode_paths(rows: pl.DataFrame, items: pl.Series) -> pl.Series:
    r"""Turn the coded paths of :func:`engine.sql.journey_paths_sql` back into lists of items.

    Parameters
    ----------
    rows
        ``n`` (touches), ``last_later`` and the words ``w0``, ``w1``, … (or
        nulls) and ``long_path`` (the codes joined by commas, or null), one
        row per path.
    items
        The items of codes 1 … n, in code order (:func:`item_codes`).

    Returns
    -------
    polars.Series
        ``path``: one list of items per row, in touch order.

    Examples
    --------
    >>> rows = pl.DataFrame({"n": [2, 3], "last_later": [0, None], "w0": [1 * 3 + 2, None],
    ...     "long_path": [None, "2,2,1"]})
    >>> decode_paths(rows, pl.Series(["Email", "Search"])).to_list()
    [['Email', 'Search'], ['Search', 'Search', 'Email']]
    """
    base, digits = items.len() + 1, path_digits(items.len())
    powers = pl.Series("powers", np.array([base**k for k in range(digits)], dtype=np.int64))
    names = items.cast(pl.String)
    words = sorted((c for c in rows.columns if c[:1] == "w" and c[1:].isdigit()), key=_word_index)
    numbered = rows.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
        pl.col("n").cast(pl.Int64),
        pl.col("last_later").cast(pl.Int64),
        *(pl.col(w) for w in words),
        pl.col("long_path").cast(pl.String),
    )
    # The touch at `position` has `later` touches of its person after it: its digit's place.
    later = pl.col("last_later") + pl.col("n") - 1 - pl.col("position")
    place = later // digits
    word = pl.lit(0, pl.Int64)
    for index, name in enumerate(words):
        word = (
            pl.when(place == index).then(pl.col(name).cast(pl.Int64).fill_null(0)).otherwise(word)
        )
    # Each kind explodes in (row, position) order, so its lists are gathered without a sort.
    short = (
        numbered.filter(pl.col("long_path").is_null() & (pl.col("n") > 0))
        .with_columns(pl.int_ranges(0, "n").alias("position"))
        .explode("position")
        .select("row", (word // pl.lit(powers).gather(later % digits) % base).alias("code"))
    )
    long = (
        numbered.filter(pl.col("long_path").is_not_null())
        .select("row", pl.col("long_path").str.split(",").alias("code"))
        .explode("code")
        .select("row", pl.col("code").cast(pl.Int64))
    )
    lists = pl.concat(
        [
            part.with_columns(names.gather(part["code"] - 1).alias("item"))
            .group_by("row", maintain_order=True)
            .agg(pl.col("item").alias("path"))
            for part in (short, long)
        ]
    )
    return (
        numbered.select("row")
        .join(lists, on="row", how="left", maintain_order="left")
        .get_column("path")
        .cast(pl.List(pl.String))
    )


def _word_index(column: str) -> int:
    return int(column[1:])


@dataclass(frozen=True)
class StepAggregate:
    """The steps of one stage's journeys, and its converting paths: a first-order chain's input.

    At order 1 a Markov chain needs of the journeys only how often each step
    is taken (:class:`attribution.markov.FirstOrderChain`); the credit is
    spread over the converting journeys alone. So the engine counts the
    steps of every journey where the data lives and sends back the
    converting journeys' paths, a few percent of the rows, instead of every
    distinct path (:func:`store_steps`).

    Attributes
    ----------
    by
        The touch column the steps are made of.
    stage, lookback_days
        What the journeys were built with.
    steps
        :data:`attribution.markov.STEPS` of every journey.
    converting
        :data:`PATHS` of the converting journeys, one row per distinct path
        (``nulls`` 0).
    untouched
        :data:`attribution.journeys.UNTOUCHED` rows.
    conversion_dates
        First and last day with a conversion of the stage in the period, or
        ``None`` when there is none.
    non_converting
        The number of non-converting journeys.
    windows, view_only
        As in :class:`PathAggregate`.

    Examples
    --------
    >>> steps = pl.DataFrame({"prev": [None, "Email"], "next": ["Email", None],
    ...     "count": [3.0, 1.0], "revenue": [0.0, 9.0]}, schema=STEPS)
    >>> table = pl.DataFrame({"path": [["Email"]], "conversions": [1.0], "revenue": [9.0],
    ...     "nulls": [0.0]}, schema=PATHS)
    >>> aggregate = StepAggregate("channel", "purchase", 90.0, steps, table,
    ...     pl.DataFrame(schema=UNTOUCHED), None, 2.0)
    >>> aggregate.journeys().revenue, aggregate.non_converting
    (9.0, 2.0)
    """

    by: str
    stage: str | None
    lookback_days: float
    steps: pl.DataFrame
    converting: pl.DataFrame
    untouched: pl.DataFrame
    conversion_dates: tuple[dt.date, dt.date] | None
    non_converting: float
    windows: TouchWindows | None = None
    view_only: float = 0.0

    def journeys(self) -> Journeys:
        """Return the converting journeys: one per distinct converting path, with its count.

        Examples
        --------
        >>> empty_steps("campaign", 90.0).journeys().touches.height
        0
        """
        journeys = journeys_from_path_lists(
            self.converting,
            by=self.by,
            untouched=self.untouched,
            stage=self.stage,
            lookback_days=self.lookback_days,
            distinct=True,
        )
        return replace(journeys, windows=self.windows, view_only_conversions=self.view_only)


def empty_steps(by: str, lookback_days: float) -> StepAggregate:
    """Return the steps of a window with no conversion of any stage: none.

    Examples
    --------
    >>> empty_steps("channel", 90.0).steps.height
    0
    """
    return StepAggregate(
        by,
        None,
        lookback_days,
        pl.DataFrame(schema=STEPS),
        pl.DataFrame(schema=PATHS),
        pl.DataFrame(schema=UNTOUCHED),
        None,
        0.0,
    )


def store_steps(
    snap: Snapshot,
    person_map: pl.DataFrame,
    *,
    by: str,
    stage: str | None,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    stages: Mapping[str, int] | None = None,
    windows: TouchWindows | None = None,
) -> StepAggregate:
    """Count the steps of a stage's journeys in DuckDB and bring back the converting paths.

    Parameters as :func:`store_paths`.

    Returns
    -------
    StepAggregate

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store, ingest_frame
    >>> from attribution.report import _tiny_example
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")
    >>> tp, cv, _ = _tiny_example()
    >>> _ = ingest_frame(store, "touchpoints", tp); _ = ingest_frame(store, "conversions", cv)
    >>> none = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    >>> with store.snapshot() as snap:
    ...     aggregate = store_steps(snap, none, by="channel", stage=None, lookback_days=90,
    ...         start=None, end=None)
    >>> aggregate.steps.rows()
    [(None, 'Email', 1.0, 0.0), ('Email', 'Search', 1.0, 0.0), ('Search', None, 1.0, 100.0)]
    >>> aggregate.converting.rows()
    [(['Email', 'Search'], 1.0, 100.0, 0.0)]
    """
    counted = dict(stages) if stages is not None else window_stages(snap, lookback_days, start, end)
    chosen = chosen_stage(counted, stage)
    if chosen is None:
        return empty_steps(by, lookback_days)
    items = item_codes(snap.query(items_sql(by, lookback_days, start, end))["item"])
    limits = sql_windows(windows, lookback_days, window_views(snap, lookback_days, start, end))
    sql = journey_steps_sql(
        by=by, stage=chosen, lookback_days=lookback_days, start=start, end=end, **limits
    )
    frame = snap.query(sql, {"person_map": person_map, "item_codes": items})
    aggregate = step_rows(frame, items["item"], by, chosen, lookback_days)
    return replace(aggregate, windows=windows or touch_windows(lookback_days))


def step_rows(
    frame: pl.DataFrame, items: pl.Series, by: str, stage: str | None, lookback_days: float
) -> StepAggregate:
    """Turn the rows of :func:`engine.sql.journey_steps_sql` (from any engine) into steps and paths.

    The steps are summed per ``(prev, code)``; the converting journeys' touches
    are put in order (``ts``, then ``event_id``: the engine's order within a
    journey) and rolled up to distinct paths with the revenue of their
    conversions; a conversion with no touch before it (``prev`` 0) is untouched.

    Examples
    --------
    >>> import datetime as dt
    >>> day = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    >>> rows = pl.DataFrame({"prev": [0, 0, 2, 1], "code": [1, 2, 1, None],
    ...     "user_id": [None, "u", "u", "u"], "conversion_ts": [None, day, day, day],
    ...     "ts": [None, day, day, day], "event_id": [None, "t1", "t2", "c1"],
    ...     "count": [4.0, 1.0, 1.0, 1.0], "revenue": [0.0, 0.0, 0.0, 9.0]})
    >>> aggregate = step_rows(rows, pl.Series(["A", "B"]), "channel", "purchase", 90)
    >>> aggregate.converting.rows(), aggregate.non_converting
    ([(['B', 'A'], 1.0, 9.0, 0.0)], 4.0)
    """
    names = items.cast(pl.String)
    name_of = dict(zip(range(1, names.len() + 1), names.to_list(), strict=True))
    frame = frame.with_columns(
        pl.col("prev").cast(pl.Int64),
        pl.col("code").cast(pl.Int64),
        pl.col("conversion_ts", "ts").cast(pl.Datetime("us", "UTC")),
        pl.col("count", "revenue").cast(pl.Float64),
    )
    conversion = pl.col("code").is_null()
    untouched_step = conversion & (pl.col("prev") == 0)
    steps = (
        frame.filter(~untouched_step)
        .group_by("prev", "code")
        .agg(pl.col("count", "revenue").sum())
        .select(
            pl.col("prev").replace_strict(name_of, default=None, return_dtype=pl.String),
            pl.col("code")
            .replace_strict(name_of, default=None, return_dtype=pl.String)
            .alias("next"),
            "count",
            pl.when(conversion).then(pl.col("revenue")).otherwise(0.0).alias("revenue"),
        )
        .sort("prev", "next", nulls_last=[False, True])
        .cast(STEPS)  # type: ignore[arg-type]
    )
    starts = frame.filter(~conversion & (pl.col("prev") == 0))["count"].sum()
    touched = frame.filter(conversion & (pl.col("prev") != 0))
    events = frame.filter(pl.col("user_id").is_not_null())
    journey = ["user_id", "conversion_ts"]
    converting = (
        events.filter(~conversion)
        .group_by(journey)
        .agg(pl.col("code").sort_by("ts", "event_id").alias("codes"))
        .join(touched.select(*journey, "revenue"), on=journey, how="inner")
        .group_by("codes")
        .agg(pl.len().cast(pl.Float64).alias("conversions"), pl.col("revenue").sum())
        .select(
            pl.col("codes")
            .list.eval(pl.element().replace_strict(name_of, return_dtype=pl.String))
            .alias("path"),
            "conversions",
            "revenue",
            pl.lit(0.0).alias("nulls"),
        )
        .sort("path")
        .cast(PATHS)  # type: ignore[arg-type]
    )
    untouched = (
        frame.filter(untouched_step)
        .select(
            pl.col("event_id").alias("conversion_id"),
            "user_id",
            pl.col("conversion_ts").alias("ts"),
            "revenue",
        )
        .sort("conversion_id")
        .cast(UNTOUCHED)  # type: ignore[arg-type]
    )
    instants = frame.filter(conversion)["conversion_ts"]
    first, last = instants.min(), instants.max()
    dates: tuple[dt.date, dt.date] | None = None
    if isinstance(first, dt.datetime) and isinstance(last, dt.datetime):
        dates = (first.date(), last.date())
    non_converting = float(starts) - float(touched["count"].sum())
    view_only = 0.0
    if "is_view" in frame.columns:
        per_journey = events.filter(~conversion).group_by(journey).agg(pl.col("is_view").min())
        view_only = float((per_journey["is_view"] == 1).sum())
    return StepAggregate(
        by,
        stage,
        lookback_days,
        steps,
        converting,
        untouched,
        dates,
        non_converting,
        view_only=view_only,
    )


@dataclass(frozen=True)
class ConvertingJourneys:
    """The converting journeys of one stage, touch by touch, and how many journeys did not convert.

    For the models whose credit needs more than the path (touch times,
    stage milestones): they credit converting journeys only, which the
    engine returns whole, while the non-converting ones (most of the raw
    data) stay where the data lives and are only counted.

    Attributes
    ----------
    journeys
        :class:`attribution.Journeys` of the converting journeys (with the
        untouched conversions and the stage milestones).
    non_converting
        The number of non-converting journeys.
    absent_persons
        The persons of those journeys with no conversion in the period: a
        person-level bootstrap draws them too (they add nothing).

    Examples
    --------
    >>> empty = ConvertingJourneys(Journeys(pl.DataFrame(schema=JOURNEY_TOUCHES),
    ...     pl.DataFrame(schema=UNTOUCHED), "purchase", 90.0), 12.0, 7)
    >>> empty.non_converting, empty.absent_persons
    (12.0, 7)
    """

    journeys: Journeys
    non_converting: float
    absent_persons: int = 0


def converting_journeys(
    rows: pl.DataFrame,
    conversions: pl.DataFrame,
    counted: pl.DataFrame,
    stage: str,
    lookback_days: float,
    windows: TouchWindows | None = None,
) -> ConvertingJourneys:
    """Turn the rows of :func:`engine.sql.converting_touches_sql` (from any engine) into journeys.

    Parameters
    ----------
    rows
        The query's rows: touches of converting journeys, and the untouched
        conversions (null ``touchpoint_id``).
    conversions
        The window's conversions of every stage, ids stitched: the stage
        milestones are read from them.
    counted
        What :func:`engine.sql.non_converting_sql` counted (``n``, ``alone``).
    stage, lookback_days, windows
        What the journeys were built with (``windows=None``: the defaults).

    Examples
    --------
    >>> import datetime as dt
    >>> day = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
    >>> rows = pl.DataFrame({"journey_id": ["c1"], "user_id": ["u"], "converted": [True],
    ...     "conversion_ts": [day], "revenue": [9.0], "touchpoint_id": ["t1"], "ts": [day],
    ...     "channel": ["Email"], "campaign": [None], "position": [0], "n_touches": [1],
    ...     "count": [1.0]})
    >>> sales = pl.DataFrame({"user_id": ["u"], "ts": [day], "stage": ["purchase"]})
    >>> counted = pl.DataFrame({"n": [3], "alone": [2]})
    >>> converting_journeys(rows, sales, counted, "purchase", 90.0).journeys.revenue
    9.0
    """
    touched = rows.filter(pl.col("touchpoint_id").is_not_null())
    touches = touched.select(pl.col(c).cast(t) for c, t in JOURNEY_TOUCHES.items()).sort(
        "journey_id", "position"
    )
    untouched = (
        rows.filter(pl.col("touchpoint_id").is_null())
        .select(
            pl.col("journey_id").alias("conversion_id"),
            "user_id",
            pl.col("conversion_ts").alias("ts"),
            "revenue",
        )
        .cast(UNTOUCHED)  # type: ignore[arg-type]
        .sort("conversion_id")
    )
    view_only = 0.0
    if "is_view" in touched.columns:
        per_journey = touched.group_by("journey_id").agg(pl.col("is_view").min())
        view_only = float((per_journey["is_view"] == 1).sum())
    journeys = Journeys(
        touches=touches,
        untouched=untouched,
        stage=stage,
        lookback_days=float(lookback_days),
        milestones=stage_milestones(touches, conversions),
        windows=windows or touch_windows(lookback_days),
        view_only_conversions=view_only,
    )
    return ConvertingJourneys(journeys, float(counted["n"].item()), int(counted["alone"].item()))


def store_converting(
    snap: Snapshot,
    person_map: pl.DataFrame,
    conversions: pl.DataFrame,
    *,
    stage: str | None,
    lookback_days: float,
    start: dt.date | None,
    end: dt.date | None,
    stages: Mapping[str, int] | None = None,
    windows: TouchWindows | None = None,
) -> ConvertingJourneys | None:
    """Build a stage's journeys in DuckDB and bring back the converting ones, touch by touch.

    Parameters as :func:`store_paths`; ``conversions`` as in
    :func:`converting_journeys`. ``None`` when the window has no conversion.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> from attribution.report import _tiny_example
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")
    >>> tp, cv, _ = _tiny_example()
    >>> from ingest import ingest_frame
    >>> _ = ingest_frame(store, "touchpoints", tp); _ = ingest_frame(store, "conversions", cv)
    >>> none = pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
    >>> with store.snapshot() as snap:
    ...     found = store_converting(snap, none, snap.read("conversions"), stage=None,
    ...         lookback_days=90, start=None, end=None)
    >>> found.journeys.touches["channel"].to_list(), found.non_converting
    (['Email', 'Search'], 0.0)
    """
    counted = dict(stages) if stages is not None else window_stages(snap, lookback_days, start, end)
    chosen = chosen_stage(counted, stage)
    if chosen is None:
        return None
    options = {"stage": chosen, "lookback_days": lookback_days, "start": start, "end": end}
    frames = {"person_map": person_map}
    limits = sql_windows(windows, lookback_days, window_views(snap, lookback_days, start, end))
    rows = snap.query(converting_touches_sql(**options, **limits), frames)  # type: ignore[arg-type]
    tallies = snap.query(non_converting_sql(**options), frames)  # type: ignore[arg-type]
    return converting_journeys(rows, conversions, tallies, chosen, lookback_days, windows)


def aggregate_rows(
    frame: pl.DataFrame, items: pl.Series, by: str, stage: str | None, lookback_days: float
) -> PathAggregate:
    """Turn the rows of :func:`engine.sql.journey_paths_sql` (from any engine) into paths.

    Examples
    --------
    >>> rows = pl.DataFrame({"n": [2], "last_later": [0], "w0": [4], "long_path": [None],
    ...     "conversions": [1.0],
    ...     "revenue": [5.0], "nulls": [0.0], "first_conversion": [None],
    ...     "last_conversion": [None], "conversion_id": [None], "user_id": [None]})
    >>> aggregate_rows(rows, pl.Series(["A", "B"]), "channel", "purchase", 90).paths.rows()
    [(['A', 'A'], 1.0, 5.0, 0.0)]
    """
    times = ["first_conversion", "last_conversion"]
    frame = frame.with_columns(pl.col(times).cast(pl.Datetime("us", "UTC")))
    touched = frame.filter(pl.col("n") > 0)
    # One path can come back twice: as a key and as a long path (its persons differ in touches).
    paths = (
        touched.select(
            decode_paths(touched, items),
            pl.col("conversions", "revenue", "nulls").cast(pl.Float64),
        )
        .group_by("path", maintain_order=True)
        .agg(pl.col("conversions", "revenue", "nulls").sum())
        .cast(PATHS)  # type: ignore[arg-type]
    )
    untouched = (
        frame.filter(pl.col("n") == 0)
        .select(
            "conversion_id",
            "user_id",
            pl.col("first_conversion").alias("ts"),
            pl.col("revenue").cast(pl.Float64),
        )
        .sort("conversion_id")
        .cast(UNTOUCHED)  # type: ignore[arg-type]
    )
    first, last = frame["first_conversion"].min(), frame["last_conversion"].max()
    dates: tuple[dt.date, dt.date] | None = None
    if isinstance(first, dt.datetime) and isinstance(last, dt.datetime):
        dates = (first.date(), last.date())
    view_only = float(frame["view_only"].sum()) if "view_only" in frame.columns else 0.0
    return PathAggregate(by, stage, lookback_days, paths, untouched, dates, view_only=view_only)


__all__ = [
    "PATHS",
    "ConvertingJourneys",
    "PathAggregate",
    "StepAggregate",
    "aggregate_rows",
    "chosen_stage",
    "converting_journeys",
    "decode_paths",
    "empty_aggregate",
    "empty_steps",
    "item_codes",
    "remapped",
    "sql_windows",
    "step_rows",
    "store_converting",
    "store_paths",
    "store_steps",
    "window_stages",
    "window_views",
]
