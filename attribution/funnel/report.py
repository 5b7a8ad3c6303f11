"""Lead-funnel metrics: stage counts, conversion rates, time to conversion, money per customer.

:func:`funnel` is the one call behind ``closedloop funnel`` and
``GET /v1/funnel``. It works on the canonical conversions (one row per stage a
person reached), optionally touchpoints (to group by channel or campaign and
count visitors) and costs (CPL, CPA, CAC). ``docs/funnel.md`` has every
formula; in short:

**Unit.** A *person* (``user_id``, stitched by the services). Conversions
carry no deal id, so a person counts once per stage. A person *enters* a
stage at their first conversion of it; a person with a later stage and no
row for an earlier one (skipped stages) enters the earlier one at the same
instant, and a losing stage (``closed_lost``) implies every stage but the
winning one. A person's *lead date* is their earliest funnel row (their
first lead row unless a later stage is dated before it): it puts them in a
cohort and in a channel, and times their conversion.

**Partial data.** A stage with no row in the data (all rows in cohort mode,
rows up to ``end`` in period mode) is *absent*: nobody enters it, its count
and every rate that needs it are null, never filled in from its neighbours
(skipped stages are implied only among the stages the data has). Without a
losing stage in the data ``lost`` and ``win_rate`` are null. A customer
whose win is dated before their lead row is left out of the lead-to-won
time and counted in the report's notes.

**Modes** (conventions.md section 7):

- ``cohort`` (default): a rate from stage A to stage B is over the persons who
  entered A in the window, and counts those who ever reached B (to the end of
  the data), so it stays within 0-100 %. ``won`` and ``lost`` are the
  outcomes of the cohort of the stage before the winning one;
  ``customers`` are the entry-stage (lead) cohort's persons who ever won.
- ``period``: every count is what happened in the window (persons entering a
  stage in it, customers who bought in it), and a rate is the ratio of two
  counts, which can exceed 100 %.

**Groups** (``by``): ``lead_source`` / ``owner`` from the conversions
(a person's earliest non-empty lead source, latest non-empty owner);
``channel`` / ``campaign`` from the touchpoints: the person's first touch
(``assign="first_touch"``, HubSpot's "original source") or lead-creation
touch (``assign="lead_touch"``, the last touch at or before entering the
funnel). Every person is in exactly one group, so the rows add up to the
total; a person with no touch is in ``(no touchpoint)``, one with no value in
``(not set)``.

A ratio whose denominator is zero is null, never infinity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from attribution.constants import DAY_SECONDS, NO_TOUCHPOINT, NOT_SET
from attribution.errors import ParameterError
from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.funnel.stages import FunnelStages, as_stages
from attribution.journeys import _conform
from attribution.metrics import OTHER_COSTS_CHANNEL, cost_ratio, cpl, safe_ratio
from attribution.numbers import column_kind, format_number
from attribution.report import _conform_costs
from attribution.schema import (
    CONVERSIONS,
    CONVERSIONS_REQUIRED,
    TOUCHPOINTS,
    TOUCHPOINTS_REQUIRED,
)

GROUPINGS = ("channel", "campaign", "lead_source", "owner")
"""Values ``by`` accepts (or ``None`` for the total only)."""

MODES = ("cohort", "period")
"""Values ``mode`` accepts."""

ASSIGNMENTS = ("first_touch", "lead_touch")
"""How a person is assigned to a channel or campaign."""

TOTAL = "TOTAL"
"""Label of the total row in tables."""

VISIT = "visit"
"""The ``interaction`` value of a website visit (visitor-to-lead rate)."""

_YEAR_DAYS = 365.25


@dataclass(frozen=True)
class FunnelReport:
    """Funnel counts and rates per group, and over everyone.

    ``data`` has one row per group (the ``by`` column first), ``totals`` the
    same columns over all persons.
    """

    by: str | None
    mode: str
    assign: str
    stages: FunnelStages
    start: dt.date | None
    end: dt.date | None
    currency: str | None
    data: pl.DataFrame
    totals: dict[str, Any]
    absent_stages: tuple[str, ...] = ()
    """Stages of the funnel (losing ones included) with no row in the data the report read."""
    notes: tuple[str, ...] = ()
    """Lines explaining the nulls of absent stages and who was left out of a time."""

    @property
    def columns(self) -> list[str]:
        """The metric columns, in order (without the group column)."""
        return [c for c in self.data.columns if c != self.by]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (the API's response body).

        Examples
        --------
        >>> body = funnel(_tiny_funnel()).to_dict()
        >>> body["mode"], body["totals"]["leads"], body["totals"]["lead_conversion_rate"]
        ('cohort', 3, 0.3333333333333333)
        """
        return {
            "by": self.by,
            "mode": self.mode,
            "assign": self.assign if self.by in ("channel", "campaign") else None,
            "stages": list(self.stages.order),
            "lost_stages": list(self.stages.lost),
            "absent_stages": list(self.absent_stages),
            "count_columns": [self.stages.count_column(s) for s in self.stages.order],
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "currency": self.currency,
            "data": json_ready(self.data.to_dicts()),
            "totals": json_ready(self.totals),
            "notes": list(self.notes),
        }

    def to_csv(self) -> str:
        """Return the rows and a total row as RFC 4180 CSV (header row, CRLF line ends).

        Examples
        --------
        >>> print(funnel(_tiny_funnel()).to_csv().splitlines()[0][:40])
        group,leads,mqls,sqls,opportunities,won,
        """
        return rfc4180_csv(self._with_total())

    def to_table(self) -> str:
        """Return the rows and a total line as a human-readable table (transposed when wide)."""
        frame = self._with_total()
        # Metrics down, groups across: thirty columns do not fit a terminal.
        key = frame.columns[0]
        kinds = [column_kind(c, frame.schema[c]) for c in self.columns]
        cells = {"metric": self.columns}
        for row in frame.iter_rows(named=True):
            cells[str(row[key])] = [
                format_number(row[c], kind, self.currency)
                for c, kind in zip(self.columns, kinds, strict=True)
            ]
        table = text_table(pl.DataFrame(cells), text_width=40, width=250, align="RIGHT")
        period = f"{self.start or '…'} to {self.end or '…'}"
        how = (
            f" (person's {self.assign.replace('_', ' ')})"
            if self.by in ("channel", "campaign")
            else ""
        )
        header = f"funnel {self.stages} · {self.mode} · by {self.by or 'total'}{how} · {period}"
        if self.currency is not None:
            header += f" · {self.currency}"
        return "\n".join([header, table, *self.notes])

    def __str__(self) -> str:
        return self.to_table()

    def _with_total(self) -> pl.DataFrame:
        key = self.by or "group"
        frame = self.data if self.by else self.data.with_columns(pl.lit(TOTAL).alias(key))
        frame = frame.select(key, *self.columns)
        if not self.by:
            return frame
        total = pl.DataFrame([{key: TOTAL, **{c: self.totals[c] for c in self.columns}}])
        return pl.concat([frame, total.cast(frame.schema)])


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _in(column: str, since: dt.datetime | None, until: dt.datetime | None) -> pl.Expr:
    """Test whether the timestamp column falls in ``[since, until)`` (false when null)."""
    expr = pl.col(column).is_not_null()
    if since is not None:
        expr = expr & (pl.col(column) >= since)
    if until is not None:
        expr = expr & (pl.col(column) < until)
    return expr.fill_null(False)


def _entry(k: int) -> str:
    return f"_entry{k}"


def _persons(convs: pl.DataFrame, stages: FunnelStages, present: frozenset[str]) -> pl.DataFrame:
    """One row per person: entry instant of each funnel stage, lead date, first loss, attributes.

    A stage absent from the data (not in ``present``) is entered by nobody;
    a present one is entered at the person's first row of it or, when the
    person skipped it, at their first row of a later stage or of a loss.
    ``_lead`` is the person's lead date: their earliest funnel row.
    """
    order = stages.order
    ordered = convs.sort("ts", "conversion_id")
    firsts = ordered.group_by("user_id").agg(
        *(
            pl.col("ts").filter(pl.col("stage") == s).min().alias(f"_first{k}")
            for k, s in enumerate(order)
        ),
        pl.col("ts").filter(pl.col("stage").is_in(list(stages.lost))).min().alias("_lost"),
        pl.col("lead_source").drop_nulls().first().alias("lead_source"),
        pl.col("owner").drop_nulls().last().alias("owner"),
    )
    # Skipped stages: entering a later stage (or losing) means passing the earlier
    # ones, but only the ones the data has: an absent stage is never filled in.
    last = len(order) - 1
    nobody = pl.lit(None).cast(convs.schema["ts"])
    later = pl.col(f"_first{last}")
    entries: list[pl.Expr] = []
    for k in range(last, -1, -1):
        if k < last:
            later = pl.min_horizontal(pl.col(f"_first{k}"), later, pl.col("_lost"))
        entries.append((later if order[k] in present else nobody).alias(_entry(k)))
    return firsts.with_columns(*entries, later.alias("_lead"))


def _assign_touch(
    persons: pl.DataFrame, touches: pl.DataFrame, by: str, assign: str
) -> pl.DataFrame:
    """Add ``by`` to each person: the value of their first or lead-creation touch."""
    anchored = touches.join(persons.select("user_id", "_lead"), on="user_id", how="left").filter(
        pl.col("_lead").is_null() | (pl.col("ts") <= pl.col("_lead"))
    )
    pick = pl.col(by).first() if assign == "first_touch" else pl.col(by).last()
    chosen = (
        anchored.sort("ts", "touchpoint_id")
        .group_by("user_id")
        .agg(pick.cast(pl.String).fill_null(NOT_SET).alias("_touch_key"))
    )
    return (
        persons.join(chosen, on="user_id", how="left")
        .with_columns(pl.col("_touch_key").fill_null(NO_TOUCHPOINT).alias("_key"))
        .drop("_touch_key")
    )


def _count_others(
    others: pl.DataFrame | None, by: str | None, assign: str, mode: str
) -> pl.DataFrame | None:
    """Count the persons with no conversion row per group: ``_key``, ``_other_visitors``.

    Their group is the one :func:`_assign_touch` gives a person with no lead
    date (the first touch's value, or the last touch's for ``lead_touch``), and
    a visitor is one in the sense of the mode.

    Examples
    --------
    >>> others = pl.DataFrame({"first_channel": ["Email", None], "first_campaign": ["a", "b"],
    ...     "last_channel": ["Search", "Search"], "last_campaign": ["c", "c"],
    ...     "has_visit": [True, False], "first_visit_in": [True, False],
    ...     "visited_in": [False, False], "persons": [3, 2]})
    >>> _count_others(others, "channel", "first_touch", "cohort").sort("_key").rows()
    [('(not set)', 0), ('Email', 3)]
    """
    if others is None or others.is_empty():
        return None
    if by in ("channel", "campaign"):
        side = "first" if assign == "first_touch" else "last"
        key = pl.col(f"{side}_{by}").cast(pl.String).fill_null(NOT_SET)
    elif by in ("lead_source", "owner"):
        key = pl.lit(NOT_SET)
    else:
        key = pl.lit(TOTAL)
    visitor = pl.col("first_visit_in" if mode == "cohort" else "visited_in")
    return others.group_by(key.alias("_key")).agg(
        pl.col("persons").filter(visitor).sum().cast(pl.Int64).alias("_other_visitors")
    )


def _add_visitors(rows: pl.DataFrame, counted: pl.DataFrame) -> pl.DataFrame:
    """Add the visitors among the counted persons to each group's ``visitors``."""
    visitors = counted.group_by("_key").agg(pl.col("_other_visitors").sum())
    return (
        rows.join(visitors, on="_key", how="left")
        .with_columns(
            (pl.col("visitors") + pl.col("_other_visitors").fill_null(0)).alias("visitors")
        )
        .drop("_other_visitors")
    )


def funnel(
    conversions: pl.DataFrame,
    touchpoints: pl.DataFrame | None = None,
    costs: pl.DataFrame | None = None,
    *,
    by: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    mode: Literal["cohort", "period"] | str = "cohort",
    stages: FunnelStages | str | list[str] | tuple[str, ...] | None = None,
    assign: Literal["first_touch", "lead_touch"] | str = "first_touch",
    currency: str | None = None,
    others: pl.DataFrame | None = None,
) -> FunnelReport:
    """Count the funnel and compute its rates per group and in total.

    Parameters
    ----------
    conversions
        Canonical conversions: ``conversion_id``, ``user_id``, ``ts``,
        ``stage``; ``revenue``, ``owner``, ``lead_source`` optional.
    touchpoints
        Canonical touchpoints; needed for ``by="channel"`` / ``"campaign"``,
        for the first-touch time to conversion and (with an ``interaction``
        column holding ``visit``) for visitors.
    costs
        Daily spend (``date``, ``channel``, ``spend``, ``campaign``): CPL,
        CPA and CAC over the window (all of it when ``start`` / ``end`` are
        not given). Spend is per channel or campaign, so by ``lead_source``
        or ``owner`` it is known only in the total.
    by
        ``None`` (total only), ``channel``, ``campaign``, ``lead_source`` or ``owner``.
    start, end
        Inclusive UTC dates of the window; ``None`` is unbounded.
    mode
        ``cohort`` (default) or ``period``; see the module docstring.
    stages
        The funnel (:class:`~attribution.funnel.stages.FunnelStages`, a
        comma-separated string or a list); default
        :func:`~attribution.funnel.stages.default_stages`.
    assign
        ``first_touch`` (default) or ``lead_touch``: which touch puts a person
        in a channel or campaign.
    currency
        ISO 4217 code of the money, echoed in the report; ``None`` (the
        default) when the frames do not say, reported as ``null``.
    others
        The touched persons with no conversion row, counted instead of listed
        (what an engine returns: :func:`engine.sql.funnel_others_sql`'s
        columns ``first_channel``, ``first_campaign``, ``last_channel``,
        ``last_campaign``, ``has_visit``, ``first_visit_in``, ``visited_in``,
        ``persons``); ``touchpoints`` then holds only the touches of persons
        with a conversion row. The report is the same as with every touch.

    Returns
    -------
    FunnelReport

    Examples
    --------
    >>> report = funnel(_tiny_funnel())
    >>> report.data.select("leads", "mqls", "won", "lost", "customers", "lead_conversion_rate",
    ...     "win_rate").row(0)
    (3, 2, 1, 1, 1, 0.3333333333333333, 0.5)
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {', '.join(MODES)}. Got {mode!r} instead.")
    if by is not None and by not in GROUPINGS:
        raise ParameterError(
            f"Cannot group the funnel by {by!r}. Choose one of {', '.join(GROUPINGS)}."
        )
    if assign not in ASSIGNMENTS:
        raise ParameterError(
            f"assign must be one of {', '.join(ASSIGNMENTS)}. Got {assign!r} instead."
        )
    if start is not None and end is not None and start > end:
        raise ParameterError(f"start ({start}) is after end ({end}).")
    if touchpoints is None and others is not None and not others.is_empty():
        touchpoints = pl.DataFrame(schema=TOUCHPOINTS)
    if by in ("channel", "campaign") and touchpoints is None:
        raise ParameterError(
            f"Grouping the funnel by {by} needs touchpoints: a person is put in the {by} of "
            "their first touch. Pass touchpoints, or group by lead_source or owner."
        )
    convs = _conform(conversions, CONVERSIONS, CONVERSIONS_REQUIRED, "conversions").with_columns(
        pl.col("revenue").fill_null(0.0)
    )
    since = _day_start(start) if start is not None else None
    until = _day_start(end + dt.timedelta(days=1)) if end is not None else None
    touches = (
        _conform(touchpoints, TOUCHPOINTS, TOUCHPOINTS_REQUIRED, "touchpoints")
        if touchpoints is not None
        else None
    )
    if by in ("channel", "campaign") and touches is not None and by not in touches.columns:
        raise ParameterError(f"Cannot group by '{by}': the touchpoints have no such column.")
    if mode == "period" and until is not None:
        # What happened after the window does not exist for a period report.
        convs = convs.filter(pl.col("ts") < until)
        if touches is not None:
            touches = touches.filter(pl.col("ts") < until)
    # The stages the data has: all rows for a cohort (followed to the end of the
    # data), rows up to the end of the period for a period report.
    present = frozenset(convs["stage"].drop_nulls().unique().to_list())
    funnel_stages = as_stages(stages, convs)
    absent = tuple(s for s in (*funnel_stages.order, *funnel_stages.lost) if s not in present)

    data_dates = convs["ts"].dt.date().drop_nulls()
    first_day: dt.date | None = start or (data_dates.min() if not data_dates.is_empty() else None)  # type: ignore[assignment]
    last_day: dt.date | None = end or (data_dates.max() if not data_dates.is_empty() else None)  # type: ignore[assignment]
    data_end: dt.date | None = data_dates.max() if not data_dates.is_empty() else None  # type: ignore[assignment]

    persons = _persons(convs, funnel_stages, present)
    won_stage = funnel_stages.won
    orders = convs.filter(pl.col("stage") == won_stage).select("user_id", "ts", "revenue")
    lost_rows = convs.filter(pl.col("stage").is_in(list(funnel_stages.lost))).select(
        "user_id", "ts"
    )

    visits_known = (
        touches is not None
        and "interaction" in (touchpoints.columns if touchpoints is not None else [])
        and (
            touches.filter(pl.col("interaction") == VISIT).height > 0
            or (others is not None and bool(others["has_visit"].any()))
        )
    )
    if touches is not None:
        # Everyone touched is a person too (visitors who never converted).
        persons = pl.concat(
            [persons, touches.select("user_id").unique().join(persons, on="user_id", how="anti")],
            how="diagonal_relaxed",
        )
    last = len(funnel_stages.order) - 1
    order_stats = orders.group_by("user_id").agg(
        pl.col("ts").filter(_in("ts", since, until)).len().alias("_orders_in"),
        pl.col("revenue").filter(_in("ts", since, until)).sum().alias("_revenue_in"),
        pl.col("ts").filter(_in("ts", since, until)).min().alias("_order_first_in"),
        pl.col("ts").filter(_in("ts", since, until)).max().alias("_order_last_in"),
    )
    lost_stats = lost_rows.group_by("user_id").agg(
        pl.col("ts").filter(_in("ts", since, until)).len().alias("_lost_in")
    )
    persons = (
        persons.join(order_stats, on="user_id", how="left")
        .join(lost_stats, on="user_id", how="left")
        .with_columns(
            pl.col("_orders_in", "_lost_in").fill_null(0), pl.col("_revenue_in").fill_null(0.0)
        )
    )
    if touches is not None:
        first_touch = (
            touches.join(persons.select("user_id", _entry(last)), on="user_id")
            .filter(pl.col(_entry(last)).is_not_null() & (pl.col("ts") <= pl.col(_entry(last))))
            .group_by("user_id")
            .agg(pl.col("ts").min().alias("_first_touch"))
        )
        persons = persons.join(first_touch, on="user_id", how="left")
    else:
        persons = persons.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("_first_touch"))
    if visits_known and touches is not None:
        visits = (
            touches.filter(pl.col("interaction") == VISIT)
            .group_by("user_id")
            .agg(
                pl.col("ts").min().alias("_first_visit"),
                _in("ts", since, until).any().alias("_visited_in"),
            )
        )
        persons = persons.join(visits, on="user_id", how="left")
    else:
        persons = persons.with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("_first_visit"),
            pl.lit(None, pl.Boolean).alias("_visited_in"),
        )

    if mode == "cohort":
        # The cohort's customers' orders count to the end of the data.
        cohort_orders = orders.join(persons.select("user_id", "_lead"), on="user_id").filter(
            pl.col("ts") >= pl.col("_lead")
        )
        cohort_stats = cohort_orders.group_by("user_id").agg(
            pl.len().alias("_orders_cohort"),
            pl.col("revenue").sum().alias("_revenue_cohort"),
            pl.col("ts").min().alias("_order_first_cohort"),
            pl.col("ts").max().alias("_order_last_cohort"),
        )
        persons = persons.join(cohort_stats, on="user_id", how="left").with_columns(
            pl.col("_orders_cohort").fill_null(0), pl.col("_revenue_cohort").fill_null(0.0)
        )

    if by in ("channel", "campaign") and touches is not None:
        persons = _assign_touch(persons, touches, by, assign)
    elif by in ("lead_source", "owner"):
        persons = persons.with_columns(pl.col(by).fill_null(NOT_SET).alias("_key"))
    else:
        persons = persons.with_columns(pl.lit(TOTAL).alias("_key"))
    counted_others = _count_others(others, by, assign, mode)
    if counted_others is not None:
        # One empty person per group of the others: the group gets its row, every sum
        # and mean is as if its persons (who entered no stage) were listed.
        persons = pl.concat([persons, counted_others.select("_key")], how="diagonal_relaxed")

    if mode == "cohort":
        observed_to = max(d for d in (last_day, data_end) if d is not None) if last_day else None
    else:
        observed_to = last_day
    observed_days = float((observed_to - first_day).days + 1) if first_day and observed_to else None
    ctx = _Context(funnel_stages, mode, since, until, visits_known, observed_days, present)
    rows = persons.group_by("_key").agg(ctx.aggregations())
    totals_frame = (
        persons.with_columns(pl.lit(TOTAL).alias("_key")).group_by("_key").agg(ctx.aggregations())
    )
    if counted_others is not None and visits_known:
        rows = _add_visitors(rows, counted_others)
        totals_frame = _add_visitors(
            totals_frame, counted_others.with_columns(pl.lit(TOTAL).alias("_key"))
        )

    spend_rows, spend_total, other_costs = _spend(costs, by, start, end)
    key = by or "group"
    if spend_rows is not None:
        rows = rows.join(spend_rows, on="_key", how="full", coalesce=True).with_columns(
            # No cost row for a channel means nothing was spent on it; persons
            # with no touch have no channel, hence no spend (not 0).
            pl.when(pl.col("_key") == NO_TOUCHPOINT)
            .then(None)
            .otherwise(pl.col("spend").fill_null(0.0))
            .alias("spend")
        )
        # A channel with spend and nobody in it: zero persons, not unknown ones.
        unknown = set() if visits_known else {"visitors", "_visitor_leads"}
        counts = [c for c, t in rows.schema.items() if t == pl.Int64 and c not in unknown]
        rows = rows.with_columns(pl.col(counts).fill_null(0), pl.col("revenue").fill_null(0.0))
    else:
        rows = rows.with_columns(pl.lit(None, pl.Float64).alias("spend"))
    totals_frame = totals_frame.with_columns(
        pl.lit(spend_total, pl.Float64).alias("spend"),
        # Non-media costs have no channel: they count in the total CAC only.
        pl.lit(other_costs, pl.Float64).alias("_other_costs"),
    )
    rows = rows.with_columns(pl.lit(None, pl.Float64).alias("_other_costs"))
    rows = ctx.finish(rows).rename({"_key": key})
    untimed = int(totals_frame["_untimed"][0] or 0)
    totals = ctx.finish(totals_frame).drop("_key").to_dicts()[0]
    # Largest groups first, by the first stage the data has.
    counted = [funnel_stages.count_column(s) for s in funnel_stages.order if s in present][:1]
    rows = rows.sort([*counted, key], descending=[*(True for _ in counted), False], nulls_last=True)
    if by is None:
        rows = rows.drop(key)
    return FunnelReport(
        by=by,
        mode=mode,
        assign=assign,
        stages=funnel_stages,
        start=first_day,
        end=last_day,
        currency=currency,
        data=rows,
        totals=totals,
        absent_stages=absent,
        notes=_notes(funnel_stages, absent, untimed),
    )


def _notes(stages: FunnelStages, absent: tuple[str, ...], untimed: int) -> tuple[str, ...]:
    """Say what the nulls of a funnel on partial data mean, and who was not timed.

    Examples
    --------
    >>> for line in _notes(FunnelStages.parse("lead,mql,closed_won"), ("lead", "closed_lost"), 1):
    ...     print(line)
    note: no rows of lead in the data: its count and every rate that needs it are null
    note: no losing stage (closed_lost) in the data: lost and win_rate are null
    note: 1 customer's win is dated before their lead row: left out of days_lead_to_won
    """
    notes: list[str] = []
    missing = [s for s in absent if s in stages.order]
    if missing:
        its, them = ("its", "it") if len(missing) == 1 else ("their", "them")
        notes.append(
            f"note: no rows of {', '.join(missing)} in the data: {its} count"
            f"{'' if len(missing) == 1 else 's'} and every rate that needs {them} are null"
        )
    if stages.lost and all(s in absent for s in stages.lost):
        notes.append(
            f"note: no losing stage ({', '.join(stages.lost)}) in the data: lost and win_rate "
            "are null"
        )
    if untimed:
        who = "customer's win is" if untimed == 1 else "customers' wins are"
        notes.append(
            f"note: {untimed:,} {who} dated before their lead row: left out of days_lead_to_won"
        )
    return tuple(notes)


def _spend(
    costs: pl.DataFrame | None, by: str | None, first: dt.date | None, last: dt.date | None
) -> tuple[pl.DataFrame | None, float | None, float | None]:
    """Media spend per channel or campaign in the window and in total, and non-media costs.

    Cost rows of channel :data:`attribution.metrics.OTHER_COSTS_CHANNEL` are
    not media: they are returned apart (for CAC), never as a group's spend.
    """
    if costs is None:
        return None, None, None
    frame = _conform_costs(costs)
    if first is not None:
        frame = frame.filter(pl.col("date") >= first)
    if last is not None:
        frame = frame.filter(pl.col("date") <= last)
    other = pl.col("channel").eq_missing(OTHER_COSTS_CHANNEL)
    other_costs = float(frame.filter(other)["spend"].sum())
    frame = frame.filter(~other)
    total = float(frame["spend"].sum())
    if by in ("channel", "campaign"):
        if by not in costs.columns:
            raise ParameterError(
                f"Cannot report spend by '{by}': costs have no such column. "
                "Report by channel, or add campaign to the costs."
            )
        per_key = frame.group_by(pl.col(by).cast(pl.String).fill_null(NOT_SET).alias("_key")).agg(
            pl.col("spend").sum()
        )
        return per_key, total, other_costs
    return None, total, other_costs


@dataclass(frozen=True)
class _Context:
    """Everything the aggregations depend on, so rows and totals use the same expressions."""

    stages: FunnelStages
    mode: str
    since: dt.datetime | None
    until: dt.datetime | None
    visits_known: bool
    observed_days: float | None
    present: frozenset[str]
    """The stages the data has; the others are absent (null counts and rates)."""

    def _in(self, column: str) -> pl.Expr:
        return _in(column, self.since, self.until)

    def _has(self, stage: str) -> bool:
        return stage in self.present

    def _won_base(self) -> pl.Expr:
        """Return the cohort of ``won`` and ``lost``: the last present stage before the win."""
        order = self.stages.order
        before = [k for k in range(len(order) - 1) if self._has(order[k])]
        return self._in(_entry(before[-1] if before else len(order) - 1))

    def aggregations(self) -> list[pl.Expr]:
        """Per-group sums over the person-level frame (counts, numerators, durations)."""
        order = self.stages.order
        last = len(order) - 1
        reached = [pl.col(_entry(k)).is_not_null() for k in range(len(order))]
        out: list[pl.Expr] = []
        for k, stage in enumerate(order[:-1]):
            out.append(
                self._in(_entry(k)).sum().cast(pl.Int64).alias(self.stages.count_column(stage))
            )
            out.append(
                (self._in(_entry(k)) & reached[k + 1]).sum().cast(pl.Int64).alias(f"_reach{k}")
            )
        has_lost = bool(self.stages.lost)
        if self.mode == "cohort":
            base = self._won_base()
            won = base & reached[last]
            lost = base & ~reached[last] & pl.col("_lost").is_not_null()
            # The lead cohort: persons whose lead date is in the window.
            customers = self._in("_lead") & reached[last]
            new_customers = customers
            orders = pl.col("_orders_cohort").filter(customers).sum()
            revenue = pl.col("_revenue_cohort").filter(customers).sum()
            order_first, order_last = pl.col("_order_first_cohort"), pl.col("_order_last_cohort")
            n_orders = pl.col("_orders_cohort")
        else:
            won = pl.col("_orders_in") > 0
            lost = pl.col("_lost_in") > 0
            customers = won
            new_customers = self._in(_entry(last))
            orders = pl.col("_orders_in").sum()
            revenue = pl.col("_revenue_in").sum()
            order_first, order_last = pl.col("_order_first_in"), pl.col("_order_last_in")
            n_orders = pl.col("_orders_in")
        out += [
            won.sum().cast(pl.Int64).alias("won"),
            (lost.sum().cast(pl.Int64) if has_lost else pl.lit(0, pl.Int64)).alias("lost"),
            customers.sum().cast(pl.Int64).alias("customers"),
            new_customers.sum().cast(pl.Int64).alias("new_customers"),
            orders.cast(pl.Int64).alias("orders"),
            revenue.cast(pl.Float64).alias("revenue"),
            (customers & (n_orders >= 2)).sum().cast(pl.Int64).alias("_repeat_customers"),
            ((order_last - order_first).dt.total_seconds() / DAY_SECONDS)
            .filter(customers & (n_orders >= 2))
            .mean()
            .alias("customer_lifespan_days"),
        ]
        if self.visits_known:
            if self.mode == "cohort":
                visitors = self._in("_first_visit")
                visitor_leads = visitors & (pl.col("_lead") >= pl.col("_first_visit")).fill_null(
                    False
                )
            else:
                visitors = pl.col("_visited_in").fill_null(False)
                visitor_leads = self._in("_lead")
            out += [
                visitors.sum().cast(pl.Int64).alias("visitors"),
                visitor_leads.sum().cast(pl.Int64).alias("_visitor_leads"),
            ]
        else:
            out += [
                pl.lit(None, pl.Int64).alias("visitors"),
                pl.lit(None, pl.Int64).alias("_visitor_leads"),
            ]
        # Time to conversion: the persons who became customers (new ones in a period),
        # from the same lead date that puts them in a cohort. Persons with no lead row
        # are not timed, nor those whose win is dated before their lead row (counted
        # in ``_untimed`` and reported): their lead-to-won time is not known.
        converted = new_customers
        has_lead_row = pl.col("_first0").is_not_null()
        won_first = pl.col(_entry(last)) < pl.col("_first0")
        lead_days = (pl.col(_entry(last)) - pl.col("_lead")).dt.total_seconds() / DAY_SECONDS
        touch_days = (
            pl.col(_entry(last)) - pl.col("_first_touch")
        ).dt.total_seconds() / DAY_SECONDS
        lead_days = lead_days.filter(converted & has_lead_row & ~won_first.fill_null(False))
        touch_days = touch_days.filter(converted & pl.col("_first_touch").is_not_null())
        out += [
            (converted & has_lead_row & won_first.fill_null(False))
            .sum()
            .cast(pl.Int64)
            .alias("_untimed"),
            lead_days.mean().alias("days_lead_to_won_mean"),
            lead_days.median().alias("days_lead_to_won_median"),
            touch_days.mean().alias("days_first_touch_to_won_mean"),
            touch_days.median().alias("days_first_touch_to_won_median"),
        ]
        return out

    def _lost_known(self) -> bool:
        """Whether the data has a losing stage: without one nobody knows how many lost."""
        return any(self._has(s) for s in self.stages.lost)

    def _unknown(self) -> list[str]:
        """Return the count and money columns an absent stage leaves unknown (null, not 0)."""
        unknown = [self.stages.count_column(s) for s in self.stages.order if not self._has(s)]
        if not self._has(self.stages.won):
            unknown += ["customers", "new_customers", "orders", "revenue"]
        if not self._lost_known():
            unknown.append("lost")
        return list(dict.fromkeys(unknown))

    def finish(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Turn the sums into rates and money metrics, in the documented column order."""
        order = self.stages.order
        frame = frame.with_columns(
            pl.lit(None).cast(frame.schema[c]).alias(c) for c in self._unknown()
        )
        entry_count = pl.col(self.stages.count_column(order[0]))
        nothing = pl.lit(None, pl.Float64)
        rates: list[pl.Expr] = []
        for k, (a, b) in enumerate(self.stages.steps()):
            denominator = pl.col(self.stages.count_column(a))
            if self.mode == "cohort":
                numerator = pl.col("won") if b == self.stages.won else pl.col(f"_reach{k}")
            else:
                numerator = pl.col(self.stages.count_column(b))
            known = self._has(a) and self._has(b)
            rate = safe_ratio(numerator, denominator) if known else nothing
            rates.append(rate.alias(self.stages.rate_column(a, b)))
        leads_won = pl.col("customers") if self.mode == "cohort" else pl.col("new_customers")
        visitor_numerator = (
            (pl.col("_visitor_leads") if self.mode == "cohort" else entry_count)
            if self._has(order[0])
            else nothing
        )
        spend = pl.col("spend")
        aov = safe_ratio(pl.col("revenue"), pl.col("orders"))
        per_customer = safe_ratio(pl.col("orders").cast(pl.Float64), pl.col("customers"))
        years = self.observed_days / _YEAR_DAYS if self.observed_days else None
        ltv = (
            pl.when(pl.col("_repeat_customers") > 0)
            .then(aov * per_customer / years * (pl.col("customer_lifespan_days") / _YEAR_DAYS))
            .otherwise(None)
            if years
            else pl.lit(None, pl.Float64)
        )
        if len(order) == 1:
            # A one-stage funnel: everyone counted is a customer.
            frame = frame.with_columns(pl.col("won").alias(self.stages.count_column(order[0])))
        frame = frame.with_columns(
            safe_ratio(leads_won.cast(pl.Float64), entry_count).alias("lead_conversion_rate"),
            safe_ratio(visitor_numerator.cast(pl.Float64), pl.col("visitors")).alias(
                "visitor_to_lead_rate"
            ),
            # Qualified-visit abandonment: visitors who left without becoming a lead.
            (1.0 - safe_ratio(visitor_numerator.cast(pl.Float64), pl.col("visitors"))).alias(
                "visit_abandonment_rate"
            ),
            *rates,
            (
                safe_ratio(pl.col("won").cast(pl.Float64), pl.col("won") + pl.col("lost"))
                if self._lost_known()
                else nothing
            ).alias("win_rate"),
            safe_ratio(pl.col("revenue"), pl.col("customers")).alias(
                "average_revenue_per_customer"
            ),
            aov.alias("average_order_value"),
            per_customer.alias("orders_per_customer"),
            ltv.cast(pl.Float64).alias("ltv"),
            cpl(spend, entry_count).alias("cpl"),
            cost_ratio(spend, pl.col("customers")).alias("cpa"),
            # Every cost per new customer: the non-media costs too (in the totals).
            cost_ratio(
                spend + pl.col("_other_costs").fill_null(0.0), pl.col("new_customers")
            ).alias("cac"),
        )
        counts = [self.stages.count_column(s) for s in order[:-1]]
        columns = [
            "_key",
            *counts,
            "won",
            "lost",
            "customers",
            "new_customers",
            "visitors",
            "orders",
            "revenue",
            "spend",
            "lead_conversion_rate",
            "visitor_to_lead_rate",
            "visit_abandonment_rate",
            *(self.stages.rate_column(a, b) for a, b in self.stages.steps()),
            "win_rate",
            "days_lead_to_won_mean",
            "days_lead_to_won_median",
            "days_first_touch_to_won_mean",
            "days_first_touch_to_won_median",
            "average_revenue_per_customer",
            "average_order_value",
            "orders_per_customer",
            "customer_lifespan_days",
            "ltv",
            "cpl",
            "cpa",
            "cac",
        ]
        return frame.select(columns).with_columns(
            pl.col(c).cast(pl.Float64) for c in columns[columns.index("revenue") :]
        )


def _tiny_funnel() -> pl.DataFrame:
    """Three leads: one wins, one is lost, one stays an MQL (the docstring examples' data)."""
    rows = [
        ("a", "2024-01-01", "lead", 0.0),
        ("a", "2024-01-03", "mql", 0.0),
        ("a", "2024-01-05", "sql", 0.0),
        ("a", "2024-01-07", "opportunity", 0.0),
        ("a", "2024-01-11", "closed_won", 100.0),
        ("b", "2024-01-02", "lead", 0.0),
        ("b", "2024-01-04", "opportunity", 0.0),
        ("b", "2024-01-09", "closed_lost", 0.0),
        ("c", "2024-01-02", "lead", 0.0),
    ]
    return pl.DataFrame(
        {
            "conversion_id": [f"{u}-{s}" for u, _, s, _ in rows],
            "user_id": [u for u, *_ in rows],
            "ts": [d for _, d, _, _ in rows],
            "stage": [s for _, _, s, _ in rows],
            "revenue": [r for *_, r in rows],
        }
    )


__all__ = [
    "ASSIGNMENTS",
    "GROUPINGS",
    "MODES",
    "FunnelReport",
    "funnel",
]
