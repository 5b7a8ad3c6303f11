"""The diagnostics of an answer: gather the engine's small figures, run the checks.

Computed with the answer and cached with it (a warm answer pays nothing):
:func:`attribution_diagnostics` reads what the report already knows (the
``(no touchpoint)`` row, the totals) and asks the source for the rest in one
snapshot (:func:`engine.diagnostics.store_facts`; frames in memory:
:func:`engine.diagnostics.frame_facts`). :func:`with_warnings` puts them in
the result: the ``warnings`` member and one line each under the table. The
checks and the codes are :mod:`attribution.diagnostics`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import polars as pl

from api.services.context import Context
from api.services.inputs import FrameSource, LakeSource, StoreSource, persons_of
from api.services.queries import AttributionQuery, FunnelQuery, PeriodQuery
from api.services.results import Result
from attribution.constants import NO_TOUCHPOINT
from attribution.diagnostics import (
    Diagnostic,
    check_absent_stages,
    check_concentration,
    check_cost_keys,
    check_group_coverage,
    check_spend_period,
    check_stages,
    check_untouched,
    lookback_cover,
    stage_coverage,
    to_json,
)
from attribution.funnel.report import FunnelReport
from attribution.journeys import Journeys
from attribution.report import AttributionReport
from engine.diagnostics import AnswerFacts, frame_facts, store_facts, store_stages
from ingest.stages import CANONICAL_STAGES

CONVERSION_KEYS = ("conversion_id", "user_id", "ts", "stage", "revenue")
"""Conversion columns that are not a grouping."""


def with_warnings(
    result: Result, diagnostics: Sequence[Diagnostic], *, noted: Collection[str] = ()
) -> Result:
    """Return ``result`` with the ``warnings`` member and one line each right under its table.

    ``noted`` codes get no line: the table's own notes already say it (the
    funnel's absent stages).

    Examples
    --------
    >>> d = Diagnostic("funnel_stage_absent", "info", "No sql rows.")
    >>> result = with_warnings(Result("x", {"by": "channel"}, pl.DataFrame()), [d])
    >>> result.members["warnings"][0]["code"], result.notes
    ('funnel_stage_absent', ('info [funnel_stage_absent]: No sql rows.',))
    """
    warnings = to_json(diagnostics)
    lines = tuple(
        f"{w['severity']} [{w['code']}]: {w['message']}" for w in warnings if w["code"] not in noted
    )
    # Right under the table, before the answer's other notes (what stitching did ...).
    return replace(
        result, members={**result.members, "warnings": warnings}, notes=(*lines, *result.notes)
    )


@dataclass(frozen=True)
class Outcome:
    """What an answer knows of its period's conversions: the figures the checks start from."""

    by: str
    stage: str | None
    lookback_days: float
    start: dt.date | None
    end: dt.date | None
    conversions: float
    revenue: float
    untouched: int
    untouched_revenue: float
    currency: str | None


def _facts(
    ctx: Context, query: PeriodQuery, outcome: Outcome
) -> tuple[AnswerFacts, dict[str, int] | None]:
    """Ask the source for the figures the answer does not hold, and the stages it has."""
    source, stage = ctx.source, outcome.stage
    if stage is None:
        return AnswerFacts(), None
    untouched = outcome.untouched > 0
    asked = {
        "by": outcome.by,
        "stage": stage,
        "lookback_days": outcome.lookback_days,
        "start": outcome.start,
        "end": outcome.end,
        "untouched": untouched,
    }
    if isinstance(source, StoreSource):
        window = query.window
        with source.store.snapshot() as snap:
            people = (
                persons_of(window, lambda: snap.read("identities"), lambda _: {})[0]
                if untouched
                else pl.DataFrame(schema={"id": pl.String, "person_id": pl.String})
            )
            return store_facts(snap, people, **asked), store_stages(snap)  # type: ignore[arg-type]
    if isinstance(source, FrameSource):
        inputs = ctx.inputs(query.window)
        stages = inputs.conversions.group_by("stage").len()
        facts = frame_facts(inputs.touchpoints, inputs.conversions, inputs.costs, **asked)  # type: ignore[arg-type]
        return facts, dict(stages.rows())  # type: ignore[arg-type]
    if isinstance(source, LakeSource):
        return source.facts(query.window, **asked)  # type: ignore[arg-type]
    return AnswerFacts(), None


def period_diagnostics(ctx: Context, query: PeriodQuery, outcome: Outcome) -> list[Diagnostic]:
    """Run every check that applies to an answer over a period's journeys.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> outcome = Outcome("channel", "purchase", 90, None, None, 1, 100.0, 0, 0.0, "USD")
    >>> period_diagnostics(services.context, PeriodQuery(), outcome)
    []
    """
    # Shared by the answers of one period (attribution, compare, paths, series): read once.
    key = (
        "diagnostic-facts",
        query.window,
        outcome.by,
        outcome.stage,
        outcome.lookback_days,
        outcome.start,
        outcome.end,
        outcome.untouched > 0,
    )
    facts, stages = ctx.cached(key, lambda: _facts(ctx, query, outcome))
    found: list[Diagnostic | None] = [
        check_untouched(
            stage=outcome.stage,
            conversions=outcome.conversions,
            revenue=outcome.revenue,
            untouched=outcome.untouched,
            untouched_revenue=outcome.untouched_revenue,
            lookback_days=outcome.lookback_days,
            currency=outcome.currency,
            gaps=lookback_cover(facts.gaps) if facts.gaps is not None else None,
            click_window_days=query.windows.click_days,
        )
    ]
    if facts.top is not None:
        found.append(
            check_concentration(
                conversion_id=facts.top[0],
                top_revenue=facts.top[1],
                revenue=outcome.revenue,
                conversions=round(outcome.conversions),
                currency=outcome.currency,
            )
        )
    if facts.cost_keys is not None and facts.touch_keys is not None:
        found.extend(
            check_cost_keys(
                facts.cost_keys, facts.touch_keys, by=outcome.by, currency=outcome.currency
            )
        )
    if facts.spend_days is not None:
        found.append(check_spend_period(facts.spend_days, outcome.start, outcome.end))
    if stages is not None:
        known = [*CANONICAL_STAGES, *([query.stage] if query.stage else [])]
        found.append(check_stages(stages, known))
    return [d for d in found if d is not None]


def attribution_diagnostics(
    ctx: Context, query: AttributionQuery, report: AttributionReport
) -> list[Diagnostic]:
    """Run every check that applies to an attribution answer (its report's figures).

    Examples
    --------
    >>> from api.services import Services
    >>> from api.services.attribution import attribution_report
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2"], "user_id": ["a", "b"],
    ...     "ts": ["2024-01-01T00:00:00Z", "2023-06-01T00:00:00Z"], "channel": ["Email", "Search"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1", "c2"], "user_id": ["a", "b"],
    ...     "ts": ["2024-01-03T00:00:00Z"] * 2, "stage": ["purchase"] * 2,
    ...     "revenue": [100.0, 50.0]})
    >>> services = Services.for_frames(tp, cv)
    >>> query = AttributionQuery.create("linear")
    >>> report, _ = attribution_report(services.context, query)
    >>> found = attribution_diagnostics(services.context, query, report)
    >>> [(d.code, d.figures["suggested_lookback_days"]) for d in found]
    [('no_touch_in_lookback', 216.0)]
    """
    totals = report.totals
    untouched_row = report.data.filter(pl.col(report.by) == NO_TOUCHPOINT)
    # What a conversion of the stage is worth: revenue, pipeline, or a stage value (null
    # without one, then nothing is carried and only counts are checked).
    value = report.value_column
    outcome = Outcome(
        by=report.by,
        stage=report.stage,
        lookback_days=report.lookback_days,
        start=report.start,
        end=report.end,
        conversions=float(totals["conversions"]),
        revenue=float(totals.get(value) or 0.0),
        untouched=int(totals.get("untouched_conversions") or 0),
        untouched_revenue=float(untouched_row[value].fill_null(0.0).sum()),
        currency=report.currency,
    )
    return period_diagnostics(ctx, query, outcome)


def journey_diagnostics(
    ctx: Context, query: PeriodQuery, journeys: Journeys, *, by: str, currency: str | None
) -> list[Diagnostic]:
    """Run every check that applies to an answer built on journeys (paths, time series).

    The conversions and revenue are the journeys' converting ones and the
    untouched ones; the period is the query's (undated: no month is checked
    for spend).

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> journeys = services.context.journeys(PeriodQuery(lookback_days=0.5))
    >>> [d.code for d in journey_diagnostics(services.context, PeriodQuery(lookback_days=0.5),
    ...     journeys, by="channel", currency="USD")]
    ['no_touch_in_lookback']
    """
    first = journeys.touches.filter(pl.col("converted") & (pl.col("position") == 0))
    untouched = journeys.untouched
    untouched_revenue = float(untouched["revenue"].sum())
    outcome = Outcome(
        by=by,
        stage=journeys.stage,
        lookback_days=journeys.lookback_days,
        start=query.start,
        end=query.end,
        conversions=float(first["count"].sum()) + untouched.height,
        revenue=float((first["revenue"] * first["count"]).sum()) + untouched_revenue,
        untouched=untouched.height,
        untouched_revenue=untouched_revenue,
        currency=currency,
    )
    return period_diagnostics(ctx, query, outcome)


def funnel_diagnostics(
    conversions: pl.DataFrame, query: FunnelQuery, report: FunnelReport
) -> list[Diagnostic]:
    """Run every check that applies to a funnel answer, on the conversions it counted.

    Examples
    --------
    >>> from attribution.funnel import funnel
    >>> cv = pl.DataFrame({"conversion_id": ["a", "b", "c"], "user_id": ["1", "2", "1"],
    ...     "ts": ["2024-01-01T00:00:00Z"] * 3, "stage": ["mql", "mql", "closed_won"],
    ...     "owner": [None, None, "ann"], "revenue": [0.0, 0.0, 10.0]})
    >>> report = funnel(cv, by="owner")
    >>> [d.code for d in funnel_diagnostics(cv, FunnelQuery.create(by="owner"), report)]
    ['funnel_stage_absent', 'group_set_on_some_stages']
    """
    stages = report.stages
    order = [*stages.order, *stages.lost]
    found: list[Diagnostic | None] = [
        check_absent_stages(report.absent_stages, stages.order, stages.lost)
    ]
    by = report.by
    if by is not None and by in conversions.columns and by not in CONVERSION_KEYS:
        columns = [c for c in conversions.columns if c not in CONVERSION_KEYS]
        found.append(check_group_coverage(stage_coverage(conversions, columns), by, order))
    counts = conversions.group_by("stage").len()
    known = [*CANONICAL_STAGES, *order]
    found.append(check_stages(dict(counts.rows()), known))
    won = conversions.filter(pl.col("stage") == stages.order[-1])
    if "revenue" in won.columns and won.height:
        revenue = won.select(pl.col("revenue").cast(pl.Float64).fill_null(0.0), "conversion_id")
        top = revenue.sort(["revenue", "conversion_id"], descending=[True, False]).row(0)
        found.append(
            check_concentration(
                conversion_id=str(top[1]),
                top_revenue=float(top[0]),
                revenue=float(revenue["revenue"].sum()),
                conversions=won.height,
                currency=report.currency,
            )
        )
    return [d for d in found if d is not None]


__all__ = [
    "Outcome",
    "attribution_diagnostics",
    "funnel_diagnostics",
    "journey_diagnostics",
    "period_diagnostics",
    "with_warnings",
]
