"""Comparison: several models side by side on the same journeys (``GET /v1/compare``).

Each model is computed as :func:`api.services.attribution.attribution_report`
computes it: path-exact models on the engine's distinct paths (built once
for all of them), the others on the journeys of every touch (built once too).
"""

from __future__ import annotations

from dataclasses import replace

from api.services.attribution import attribution_report
from api.services.context import Context
from api.services.diagnose import attribution_diagnostics, with_warnings
from api.services.queries import AttributionQuery, CompareQuery
from api.services.results import Result, report_result
from attribution.compare import compare_reports, model_instances
from attribution.models import AttributionModel
from attribution.report import AttributionReport


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
        instances, explicit = model_instances(query.models)

        def single(instance: AttributionModel) -> AttributionQuery:
            return AttributionQuery(
                model=instance,
                by=query.by,
                stage=query.stage,
                lookback_days=query.lookback_days,
                click_window_days=query.click_window_days,
                view_window_days=query.view_window_days,
                start=query.start,
                end=query.end,
                ci=query.ci,
                bootstrap=query.bootstrap,
                seed=query.seed,
                stitch=query.stitch,
                max_identity_component=query.max_identity_component,
                journey=query.journey,
            )

        def report(instance: AttributionModel) -> AttributionReport:
            computed, _ = attribution_report(ctx, single(instance))
            return replace(computed, credits=computed.credits.clear())

        comparison = compare_reports(
            instances, report, explicit=explicit, by=query.by, ci=query.ci, currency=""
        )
        # Every report carries the source's reporting currency.
        name, first = next(iter(comparison.reports.items()))
        by_name = {instance.name: instance for instance in instances}
        result = report_result("compare", replace(comparison, currency=first.currency))
        # What the data hides does not depend on the model: the first report's diagnostics.
        return with_warnings(result, attribution_diagnostics(ctx, single(by_name[name]), first))

    return ctx.cached(("compare", query), compute)


__all__ = ["compare"]
