"""Build journeys: each conversion joined to the touches that led to it.

A *converting journey* is one conversion of the chosen stage and the touches of
the same person before it, in time order:

- a touch belongs to the **first** conversion at or after it (``ts <= conversion
  ts``, the conversion instant included), so a person who converts twice has
  two journeys and a touch is never credited twice ("split at conversions", as
  Google Analytics paths and DP6's MAM do);
- only touches within ``lookback_days`` before the conversion count; older
  ones are dropped;
- within it, a view (``interaction`` = ``impression``) counts only within the
  view window and every other touch within the click window
  (:mod:`attribution.windows`: by default the lookback for clicks, 1 day for
  views, as Meta reports 7-day click / 1-day view).

A *non-converting journey* is what a person did after their last conversion
(or ever, if they never converted): their remaining touches within
``lookback_days`` of the last of them (and within the click or view window of
it, by the same rule). Markov and Shapley models need those.

The period ``[start, end]`` (inclusive dates, UTC) selects conversions by their
date; touches before ``start`` still count inside the lookback window. Data
after ``end`` is ignored, so a journey that converted only after ``end`` is a
non-converting journey as of ``end``. Non-converting journeys are kept when
their last touch falls in the period.

Conversions with no touch in their window are returned apart as
:attr:`Journeys.untouched`: models cannot credit them, reports show them on an
``(no touchpoint)`` row so the totals still equal the closed revenue.

Ties in time are broken the same way here and in the engine's SQL
(:mod:`engine.sql`), with ids compared as text (``"t10"`` sorts before ``"t2"``):

- touches at one instant are ordered by ``touchpoint_id``, so first touch,
  last touch and every position follow ``(ts, touchpoint_id)``;
- a touch at the very instant of a conversion belongs to that conversion
  (the instant is included), and so does a touch exactly ``lookback_days``
  before it;
- two conversions of the chosen stage by one person at one instant: the
  touches up to that instant go to the one with the smaller
  ``conversion_id``; the other has no touch and is reported as untouched;
- stage milestones keep only times, so conversions of a milestone stage at
  one instant tie harmlessly; a touch at a milestone's instant counts as
  before it, and of several touches at that instant the one with the
  greatest ``touchpoint_id`` is the milestone touch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from attribution.constants import DEFAULT_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS, NOT_SET
from attribution.errors import EmptyInputError, MissingColumnsError, ParameterError
from attribution.schema import (
    CONVERSIONS,
    CONVERSIONS_REQUIRED,
    JOURNEY_TOUCHES,
    PATHS,
    TOUCHPOINTS,
    TOUCHPOINTS_REQUIRED,
    UTC_DATETIME,
    amount_column,
)
from attribution.windows import TouchWindows, is_view, touch_windows, view_only_conversions

NON_CONVERTING_PREFIX = "~"
"""Prefix of the journey id of a person's non-converting journey."""

REVENUE_STAGES = ("closed_won", "purchase")
"""Stages picked, in this order, when no stage is given and several exist."""

UNTOUCHED = pl.Schema(
    {
        "conversion_id": pl.String(),
        "user_id": pl.String(),
        "ts": UTC_DATETIME,
        "revenue": pl.Float64(),
    }
)


@dataclass(frozen=True)
class Journeys:
    """Journeys of one stage, ready for a model.

    Attributes
    ----------
    touches
        One row per touch of a journey (:data:`attribution.schema.JOURNEY_TOUCHES`),
        sorted by journey and position.
    untouched
        Conversions of the stage in the period that had no touch in their window.
    stage
        The conversion stage the journeys end in.
    lookback_days
        The lookback window used.
    timed
        Whether touch timestamps are real (``False`` for journeys built from
        aggregated paths, whose timestamps only keep the order).
    milestones
        Stage timestamps of each converting journey's person, or ``None`` when
        unknown (journeys from aggregated paths): ``journey_id`` and, per
        stage in the conversions, ``<stage>_ts``, the person's **latest**
        conversion of that stage at or before the journey's conversion
        instant, and ``<stage>_ts_first``, the person's **first** conversion
        of that stage if it is at or before that instant (null if none).
        Built from all the person's conversions, not only the attributed
        stage; the stage-aware models (``u_shaped``, ``w_shaped``,
        ``full_path``) read it: the first lead (Marketo Measure's lead
        creation, set once), the latest opportunity and close.
    """

    touches: pl.DataFrame
    untouched: pl.DataFrame
    stage: str | None
    lookback_days: float
    timed: bool = True
    milestones: pl.DataFrame | None = None
    known_paths: tuple[pl.DataFrame, str, pl.DataFrame] | None = field(
        default=None, repr=False, compare=False
    )
    """``(touches, by, paths)``: what :meth:`paths` returns for ``by`` while ``touches`` are
    these very touches (journeys built from a path table know their paths; a copy with other
    touches, e.g. from :func:`dataclasses.replace`, rolls them up again)."""
    windows: TouchWindows | None = None
    """The click and view windows the touches were kept with (``None``: not known, e.g.
    journeys from aggregated paths, which have no interaction)."""
    view_only_conversions: float = 0.0
    """Converting journeys whose kept touches are all views (:mod:`attribution.windows`)."""

    @property
    def converting(self) -> pl.DataFrame:
        """Touches of converting journeys only."""
        return self.touches.filter(pl.col("converted"))

    @property
    def n_conversions(self) -> float:
        """Number of converting journeys (conversions with at least one touch), counts included."""
        per_journey = self.converting.group_by("journey_id").agg(pl.col("count").first())
        return float(per_journey["count"].sum())

    @property
    def revenue(self) -> float:
        """Revenue of the converting journeys, counts included."""
        per_journey = self.converting.group_by("journey_id").agg(
            (pl.col("revenue") * pl.col("count")).first()
        )
        return float(per_journey["revenue"].sum())

    def paths(self, by: str = "channel") -> pl.DataFrame:
        """Roll journeys up to paths: identical sequences counted once.

        Parameters
        ----------
        by
            Touch column the path is made of (``channel`` or ``campaign``).

        Returns
        -------
        polars.DataFrame
            :data:`attribution.schema.PATHS`: ``path`` (list of names),
            ``conversions``, ``revenue`` and ``nulls`` (non-converting
            journeys), sorted by path.

        Examples
        --------
        >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3"], "user_id": ["a", "a", "b"],
        ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
        ...     "channel": ["Email", "Search", "Email"]})
        >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
        ...     "stage": ["purchase"], "revenue": [100.0]})
        >>> build_journeys(tp, cv).paths()
        shape: (2, 4)
        ┌─────────────────────┬─────────────┬─────────┬───────┐
        │ path                ┆ conversions ┆ revenue ┆ nulls │
        │ ---                 ┆ ---         ┆ ---     ┆ ---   │
        │ list[str]           ┆ f64         ┆ f64     ┆ f64   │
        ╞═════════════════════╪═════════════╪═════════╪═══════╡
        │ ["Email"]           ┆ 0.0         ┆ 0.0     ┆ 1.0   │
        │ ["Email", "Search"] ┆ 1.0         ┆ 100.0   ┆ 0.0   │
        └─────────────────────┴─────────────┴─────────┴───────┘
        """
        require_touch_column(self.touches, by)
        if self.known_paths is not None:
            touches, known_by, known = self.known_paths
            if touches is self.touches and known_by == by:
                return known
        per_journey = self.touches.group_by("journey_id").agg(
            pl.col(by).fill_null(NOT_SET).sort_by("position").alias("path"),
            pl.col("converted").first(),
            pl.col("revenue").first(),
            pl.col("count").first(),
        )
        converted = pl.col("converted")
        paths = (
            per_journey.group_by("path")
            .agg(
                pl.col("count").filter(converted).sum().alias("conversions"),
                (pl.col("revenue") * pl.col("count")).filter(converted).sum().alias("revenue"),
                pl.col("count").filter(~converted).sum().alias("nulls"),
            )
            .sort("path")
        )
        return paths.select(PATHS.names()).cast(PATHS)


def require_touch_column(touches: pl.DataFrame, by: str) -> None:
    """Raise :class:`ParameterError` if ``by`` is not a column of the touches.

    Examples
    --------
    >>> require_touch_column(pl.DataFrame({"channel": ["Email"]}), "channel")
    """
    if by not in touches.columns:
        raise ParameterError(
            f"Cannot group by '{by}': it is not a touch column. "
            f"Available: {', '.join(sorted(c for c in touches.columns if c not in _INTERNAL))}."
        )


_INTERNAL = {
    "journey_id",
    "converted",
    "conversion_ts",
    "revenue",
    "position",
    "n_touches",
    "count",
}


def _as_utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Cast a timestamp column given as string, date or datetime to UTC datetimes."""
    dtype = frame.schema[column]
    if dtype == pl.String:
        expr = pl.col(column).str.to_datetime(time_unit="us", time_zone="UTC")
    elif dtype == pl.Date:
        expr = pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif isinstance(dtype, pl.Datetime):
        expr = (
            pl.col(column).dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else pl.col(column).dt.convert_time_zone("UTC")
        )
        expr = expr.dt.cast_time_unit("us")
    else:
        raise ParameterError(f"Column '{column}' must hold timestamps; got {dtype}.")
    return frame.with_columns(expr)


def _conform(
    frame: pl.DataFrame, schema: pl.Schema, required: tuple[str, ...], name: str
) -> pl.DataFrame:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{name} is missing required column(s): {', '.join(repr(c) for c in missing)}. "
            f"Found: {', '.join(repr(c) for c in frame.columns)}."
        )
    frame = _as_utc(frame, "ts")
    extra = [c for c in frame.columns if c not in schema]
    absent = [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in frame.columns]
    frame = frame.with_columns(absent).with_columns(
        pl.col(c).cast(dtype) for c, dtype in schema.items()
    )
    return frame.select([*schema.names(), *extra])


def resolve_stage(conversions: pl.DataFrame, stage: str | None) -> str | None:
    """Pick the conversion stage to attribute.

    An explicit ``stage`` must exist in the data. With none given: the only
    stage if there is one, else the first of ``closed_won`` and ``purchase``
    present; otherwise an error lists the stages to choose from.

    Examples
    --------
    >>> cv = pl.DataFrame({"stage": ["lead", "closed_won", "lead"]})
    >>> resolve_stage(cv, None)
    'closed_won'
    >>> resolve_stage(cv, "lead")
    'lead'
    """
    stages = sorted(s for s in conversions["stage"].unique().to_list() if s is not None)
    if stage is not None:
        if stage not in stages and stages:
            raise ParameterError(
                f"No conversion has stage '{stage}'. Stages present: {', '.join(stages)}."
            )
        return stage
    if len(stages) <= 1:
        return stages[0] if stages else None
    for candidate in REVENUE_STAGES:
        if candidate in stages:
            return candidate
    raise ParameterError(
        f"Several conversion stages are present ({', '.join(stages)}); choose one with stage=."
    )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def build_journeys(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    *,
    stage: str | None = None,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    start: dt.date | None = None,
    end: dt.date | None = None,
    click_window_days: float | None = None,
    view_window_days: float | None = None,
) -> Journeys:
    """Join conversions to the touches before them (see the module docstring).

    Parameters
    ----------
    touchpoints
        Touches with at least ``touchpoint_id``, ``user_id``, ``ts``,
        ``channel``; ``ts`` as UTC datetimes, naive datetimes (taken as UTC),
        dates or ISO 8601 strings. Extra columns (``campaign``, ``source`` …)
        are kept so models and reports can group by them.
    conversions
        Conversions with at least ``conversion_id``, ``user_id``, ``ts``,
        ``stage``; ``revenue`` defaults to 0.
    stage
        Stage to attribute; see :func:`resolve_stage` for the default.
    lookback_days
        Only touches at most this many days before the conversion count.
    start, end
        Inclusive UTC dates selecting conversions; ``None`` means unbounded.
    click_window_days, view_window_days
        Days a click (any touch but a view) and a view (``interaction`` =
        ``impression``) count before the conversion: by default the lookback
        and 1 day (:func:`attribution.windows.touch_windows`).

    Returns
    -------
    Journeys

    Examples
    --------
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3"], "user_id": ["a", "a", "b"],
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
    ...     "channel": ["Email", "Search", "Email"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [100.0]})
    >>> j = build_journeys(tp, cv)
    >>> j.touches.select("journey_id", "touchpoint_id", "channel", "converted", "position")
    shape: (3, 5)
    ┌────────────┬───────────────┬─────────┬───────────┬──────────┐
    │ journey_id ┆ touchpoint_id ┆ channel ┆ converted ┆ position │
    │ ---        ┆ ---           ┆ ---     ┆ ---       ┆ ---      │
    │ str        ┆ str           ┆ str     ┆ bool      ┆ u32      │
    ╞════════════╪═══════════════╪═════════╪═══════════╪══════════╡
    │ c1         ┆ t1            ┆ Email   ┆ true      ┆ 0        │
    │ c1         ┆ t2            ┆ Search  ┆ true      ┆ 1        │
    │ ~b         ┆ t3            ┆ Email   ┆ false     ┆ 0        │
    └────────────┴───────────────┴─────────┴───────────┴──────────┘
    """
    if not lookback_days > 0:
        raise ParameterError(f"lookback_days must be > 0. Got {lookback_days!r} instead.")
    if not lookback_days <= MAX_LOOKBACK_DAYS:
        raise ParameterError(
            f"lookback_days must be at most {MAX_LOOKBACK_DAYS:,}. Got {lookback_days!r} instead."
        )
    if start is not None and end is not None and start > end:
        raise ParameterError(f"start ({start}) is after end ({end}).")
    windows = touch_windows(lookback_days, click_window_days, view_window_days)
    touches = _conform(touchpoints, TOUCHPOINTS, TOUCHPOINTS_REQUIRED, "touchpoints")
    convs = _conform(conversions, CONVERSIONS, CONVERSIONS_REQUIRED, "conversions")
    stage = resolve_stage(convs, stage)
    every_stage = convs
    # An opportunity is worth its pipeline amount: that is the "revenue" its journey carries.
    convs = convs.filter(pl.col("stage").eq_missing(stage)).with_columns(
        pl.col(amount_column(stage)).fill_null(0.0).alias("revenue")
    )
    if end is not None:
        horizon = _day_start(end + dt.timedelta(days=1))
        touches = touches.filter(pl.col("ts") < horizon)
        convs = convs.filter(pl.col("ts") < horizon)
    # The oldest age each touch may have: its click or view window (never past the lookback).
    max_age = windows.age_limit(is_view())

    touches = touches.sort("user_id", "ts", "touchpoint_id")
    targets = convs.select(
        "user_id",
        pl.col("conversion_id").alias("journey_id"),
        pl.col("ts").alias("conversion_ts"),
        "revenue",
    ).sort("user_id", "conversion_ts", "journey_id")
    assigned = touches.join_asof(
        targets,
        left_on="ts",
        right_on="conversion_ts",
        by="user_id",
        strategy="forward",
        check_sortedness=False,
    )
    converting = assigned.filter(
        pl.col("journey_id").is_not_null() & (pl.col("conversion_ts") - pl.col("ts") <= max_age)
    ).with_columns(pl.lit(True).alias("converted"))
    remaining = (
        assigned.filter(pl.col("journey_id").is_null())
        .with_columns(
            (pl.lit(NON_CONVERTING_PREFIX) + pl.col("user_id")).alias("journey_id"),
            pl.lit(False).alias("converted"),
            pl.lit(0.0).alias("revenue"),
        )
        .filter(pl.col("ts").max().over("journey_id") - pl.col("ts") <= max_age)
    )
    if start is not None:
        since = _day_start(start)
        converting = converting.filter(pl.col("conversion_ts") >= since)
        remaining = remaining.filter(pl.col("ts").max().over("journey_id") >= since)
        convs = convs.filter(pl.col("ts") >= since)

    extra = [c for c in touches.columns if c not in JOURNEY_TOUCHES]
    journey_touches = (
        pl.concat([converting, remaining], how="diagonal_relaxed")
        .sort("journey_id", "ts", "touchpoint_id")
        .with_columns(
            pl.int_range(pl.len()).over("journey_id").cast(pl.UInt32).alias("position"),
            pl.len().over("journey_id").cast(pl.UInt32).alias("n_touches"),
            pl.lit(1.0).alias("count"),
        )
    )
    journey_touches = journey_touches.select(
        [pl.col(c).cast(t) for c, t in JOURNEY_TOUCHES.items()] + [pl.col(c) for c in extra]
    )
    untouched = convs.join(
        converting.select("journey_id").unique(),
        left_on="conversion_id",
        right_on="journey_id",
        how="anti",
    ).select(UNTOUCHED.names())
    return Journeys(
        touches=journey_touches,
        untouched=untouched.sort("conversion_id"),
        stage=stage,
        lookback_days=float(lookback_days),
        milestones=stage_milestones(converting, every_stage),
        windows=windows,
        view_only_conversions=view_only_conversions(journey_touches),
    )


def milestone_column(stage: str, first: bool = False) -> str:
    """Name of a stage's column in :attr:`Journeys.milestones`.

    ``first`` names the column of the person's first conversion of the
    stage rather than the latest. The two families cannot collide: the
    latest always ends in ``_ts``, the first in ``_ts_first``.

    Examples
    --------
    >>> milestone_column("opportunity"), milestone_column("lead", first=True)
    ('opportunity_ts', 'lead_ts_first')
    """
    return f"{stage}_ts_first" if first else f"{stage}_ts"


def stage_milestones(converting: pl.DataFrame, conversions: pl.DataFrame) -> pl.DataFrame:
    """Stage timestamps of each converting journey (see :attr:`Journeys.milestones`).

    For every stage present in ``conversions``, the person's latest
    conversion of that stage at or before the journey's conversion instant
    (``<stage>_ts``, one backward as-of join per stage) and the person's
    first conversion of that stage, if at or before that instant
    (``<stage>_ts_first``, one join on the person): a handful of joins,
    never a loop over journeys. Conversions at the same instant tie
    harmlessly: only their time is kept.

    Parameters
    ----------
    converting
        Touches (or any rows) with ``journey_id``, ``user_id`` and ``conversion_ts``.
    conversions
        Conversions of every stage with ``user_id``, ``ts`` and ``stage``.

    Examples
    --------
    >>> import datetime as dt
    >>> day = lambda d: dt.datetime(2024, 1, d, tzinfo=dt.UTC)
    >>> journeys = pl.DataFrame({"journey_id": ["w1"], "user_id": ["a"], "conversion_ts": [day(9)]})
    >>> cv = pl.DataFrame({"user_id": ["a", "a", "a"], "ts": [day(2), day(5), day(9)],
    ...     "stage": ["lead", "opportunity", "closed_won"]})
    >>> cv = pl.concat([cv, pl.DataFrame({"user_id": ["a"], "ts": [day(7)], "stage": ["lead"]})])
    >>> found = stage_milestones(journeys, cv).with_columns(pl.exclude("journey_id").dt.day())
    >>> found.select("journey_id", "lead_ts_first", "lead_ts", "opportunity_ts", "closed_won_ts")
    shape: (1, 5)
    ┌────────────┬───────────────┬─────────┬────────────────┬───────────────┐
    │ journey_id ┆ lead_ts_first ┆ lead_ts ┆ opportunity_ts ┆ closed_won_ts │
    │ ---        ┆ ---           ┆ ---     ┆ ---            ┆ ---           │
    │ str        ┆ i8            ┆ i8      ┆ i8             ┆ i8            │
    ╞════════════╪═══════════════╪═════════╪════════════════╪═══════════════╡
    │ w1         ┆ 2             ┆ 7       ┆ 5              ┆ 9             │
    └────────────┴───────────────┴─────────┴────────────────┴───────────────┘
    """
    targets = (
        converting.select("journey_id", "user_id", "conversion_ts")
        .unique("journey_id")
        .sort("user_id", "conversion_ts", "journey_id")
    )
    out = targets.select("journey_id")
    stages = sorted(s for s in conversions["stage"].unique().to_list() if s is not None)
    for stage in stages:
        column = milestone_column(stage)
        of_stage = (
            conversions.filter(pl.col("stage") == stage)
            .select("user_id", pl.col("ts").alias(column))
            .unique()
            .sort("user_id", column)
        )
        found = targets.join_asof(
            of_stage,
            left_on="conversion_ts",
            right_on=column,
            by="user_id",
            strategy="backward",
            check_sortedness=False,
        )
        first = milestone_column(stage, first=True)
        earliest = of_stage.group_by("user_id").agg(pl.col(column).min().alias(first))
        found = found.join(earliest, on="user_id", how="left", maintain_order="left")
        out = out.with_columns(
            found[column],
            pl.when(found[first] <= found["conversion_ts"]).then(found[first]).alias(first),
        )
    return out.sort("journey_id")


def require_converting(journeys: Journeys) -> None:
    """Raise :class:`EmptyInputError` if there is no converting journey.

    Examples
    --------
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1"], "user_id": ["a"], "ts": ["2024-01-01"],
    ...     "channel": ["Email"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"]})
    >>> require_converting(build_journeys(tp, cv))
    """
    if journeys.converting.is_empty():
        raise EmptyInputError(
            "No converting journey to attribute: no conversion"
            + (f" of stage '{journeys.stage}'" if journeys.stage else "")
            + " has a touch in its lookback window (a view in its view window). Check the stage,"
            " the period, lookback_days and the click and view windows."
        )


__all__ = [
    "NON_CONVERTING_PREFIX",
    "Journeys",
    "build_journeys",
    "milestone_column",
    "require_converting",
    "require_touch_column",
    "resolve_stage",
]
