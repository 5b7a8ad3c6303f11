"""Funnel: lead-funnel counts and rates per group (``GET /v1/funnel``, ``closedloop funnel``).

Counted on stitched persons, like attribution: a lead recorded under a CRM
id and the touches recorded under a cookie of the same person meet, on the
store and the lake (:meth:`~api.services.inputs.StoreSource.funnel_read`:
the converted persons' touches, and the others counted by the engine,
:func:`engine.sql.funnel_others_sql`) and on frames in memory alike.
"""

from __future__ import annotations

from api.services.context import Context
from api.services.diagnose import funnel_diagnostics, with_warnings
from api.services.inputs import Inputs, LakeSource, StoreSource
from api.services.queries import FunnelQuery
from api.services.results import Result, report_result
from attribution.funnel import funnel as count_funnel


def funnel(ctx: Context, query: FunnelQuery) -> Result:
    """Count the funnel of every row of the source (a cohort is followed past the period).

    Costs are ``None`` when the source never held any (spend unknown, not 0).

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> funnel(services.context, FunnelQuery.create(stages="purchase")).members["totals"]["won"]
    1
    """

    def compute() -> Result:
        inputs = _inputs(ctx, query)
        ctx.require_conversions(inputs, None, "count")
        touchpoints, costs = inputs.touchpoints, inputs.costs
        report = count_funnel(
            inputs.conversions,
            None if touchpoints.is_empty() else touchpoints,
            None if costs is None or costs.is_empty() else costs,
            by=query.by,
            start=query.start,
            end=query.end,
            mode=query.mode,
            stages=query.stages,
            assign=query.assign,
            currency=inputs.currency,
            others=inputs.funnel_others,
        )
        result = report_result("funnel", report, csv=report.to_csv)
        # The report's notes already say what an absent stage means under the table.
        return with_warnings(
            result,
            funnel_diagnostics(inputs.conversions, query, report),
            noted={"funnel_stage_absent"},
        )

    return ctx.cached(("funnel", query), compute)


def _inputs(ctx: Context, query: FunnelQuery) -> Inputs:
    """Return the funnel's inputs: from an engine the converted persons' touches, else all rows."""
    source = ctx.source
    if isinstance(source, StoreSource | LakeSource):
        return ctx.cached(
            ("funnel-inputs", query.window, query.start, query.end, query.mode),
            lambda: source.funnel_read(
                query.window, start=query.start, end=query.end, cut=query.mode == "period"
            ),
        )
    return ctx.inputs(query.window)


__all__ = ["funnel"]
