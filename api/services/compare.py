"""Comparison: several models side by side on the same journeys (``GET /v1/compare``)."""

from __future__ import annotations

from dataclasses import replace

from api.services.context import Context
from api.services.queries import CompareQuery
from api.services.results import Result, report_result
from attribution.compare import compare_models


def compare(ctx: Context, query: CompareQuery) -> Result:
    """Attribute with every model of the query and put the results side by side.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> result = compare(services.context, CompareQuery.create(["first_touch", "last_touch"]))
    >>> result.to_dict()["data"][0]["max_share_gap"]
    1.0
    """

    def compute() -> Result:
        inputs = ctx.inputs(query.window)
        ctx.require_conversions(inputs, query, "report on")
        comparison = compare_models(
            inputs.touchpoints,
            inputs.conversions,
            inputs.costs,
            models=list(query.models) if query.models is not None else None,
            by=query.by,
            stage=query.stage,
            lookback_days=query.lookback_days,
            start=query.start,
            end=query.end,
            currency=inputs.currency,
            ci=query.ci,
            bootstrap=query.bootstrap,
            seed=query.seed,
        )
        slim = {
            name: replace(report, credits=report.credits.clear())
            for name, report in comparison.reports.items()
        }
        return report_result("compare", replace(comparison, reports=slim))

    return ctx.cached(("compare", query), compute)


__all__ = ["compare"]
