"""Comparison: several models side by side on the same journeys (``GET /v1/compare``).

Each model is computed as :func:`api.services.attribution.attribution_report`
computes it: path-exact models on the engine's distinct paths (built once
for all of them), the others on the journeys of every touch (built once too).
:func:`compare_path_table` compares models on an aggregated path table
(``closedloop compare --paths``), where only path-exact models can run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import polars as pl

from api.services.attribution import PathTableQuery, attribution_report
from api.services.context import Context
from api.services.diagnose import attribution_diagnostics, with_warnings
from api.services.queries import AttributionQuery, CompareQuery
from api.services.results import Result, report_result
from attribution.compare import ModelComparison, compare_reports, model_instances
from attribution.errors import ParameterError
from attribution.models import AttributionModel
from attribution.paths import attribute_paths
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
                stage_values=query.stage_values,
            )

        def report(instance: AttributionModel) -> AttributionReport:
            computed, _ = attribution_report(ctx, single(instance))
            return replace(computed, credits=computed.credits.clear())

        comparison = compare_reports(
            instances,
            report,
            explicit=explicit,
            by=query.by,
            ci=query.ci,
            currency="",
            baseline=query.baseline,
        )
        # Every report carries the source's reporting currency.
        name, first = next(iter(comparison.reports.items()))
        by_name = {instance.name: instance for instance in instances}
        result = comparison_result(replace(comparison, currency=first.currency))
        # What the data hides does not depend on the model: the first report's diagnostics.
        return with_warnings(result, attribution_diagnostics(ctx, single(by_name[name]), first))

    return ctx.cached(("compare", query), compute)


def compare_path_table(
    frame: pl.DataFrame,
    query: PathTableQuery,
    models: Sequence[str] | None = None,
    *,
    baseline: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Compare models on an aggregated path table; ``query`` says how to read it (not its model).

    Only models whose credit depends on the sequence of channels alone run
    on paths (:meth:`attribution.AttributionModel.runs_on_paths`): the others
    (time decay, the stage-shaped ones) are in ``skipped`` with the reason,
    whether they were named or not.

    Examples
    --------
    >>> table = pl.DataFrame({"path": ["A > B", "B"], "total_conversions": [1, 1]})
    >>> result = compare_path_table(table, PathTableQuery(), ["first_touch", "time_decay"])
    >>> [(r["channel"], r["first_touch_conversions"]) for r in result.to_dict()["data"]]
    [('A', 1.0), ('B', 1.0)]
    >>> result.members["skipped"]["time_decay"]  # doctest: +ELLIPSIS
    'it reads touch times or stage milestones, which aggregated paths do not carry ...'
    """
    instances, explicit = model_instances(models)
    runnable = [m for m in instances if m.runs_on_paths(query.by)]
    skipped = {
        m.name: (
            "it reads touch times or stage milestones, which aggregated paths do not carry "
            "(only path-exact models run on a path table)"
        )
        for m in instances
        if not m.runs_on_paths(query.by)
    }
    if baseline in skipped:
        raise ParameterError(
            f"The baseline '{baseline}' cannot run on aggregated paths: {skipped[baseline]}. "
            "Choose another baseline."
        )
    if not runnable:
        raise ParameterError(
            f"None of {', '.join(skipped)} runs on aggregated paths: they read touch times or "
            "stage milestones. Compare path-exact models, e.g. first_touch,last_touch,linear."
        )

    def report(instance: AttributionModel) -> AttributionReport:
        return attribute_paths(
            frame,
            model=instance,
            sep=query.sep,
            columns=dict(query.columns),
            by=query.by,
            start=query.start,
            end=query.end,
            currency=query.currency,
            source=query.source,
            ci=query.ci,
            bootstrap=query.bootstrap,
            seed=query.seed,
            progress=progress,
        )

    comparison = compare_reports(
        runnable,
        report,
        explicit=explicit,
        by=query.by,
        ci=query.ci,
        currency=query.currency,
        baseline=baseline,
        skipped=skipped,
        source=query.source,
    )
    return comparison_result(comparison)


def comparison_result(comparison: ModelComparison) -> Result:
    """Wrap a comparison as a :class:`Result`: a line under its table for each skipped model.

    Examples
    --------
    >>> from attribution.compare import compare_models
    >>> from attribution.report import _tiny_example
    >>> compared = compare_models(*_tiny_example(), models=["linear"])
    >>> comparison_result(replace(compared, skipped={"w_shaped": "no stages"})).notes
    ('skipped w_shaped: no stages',)
    """
    notes = tuple(f"skipped {name}: {why}" for name, why in comparison.skipped.items())
    return report_result("compare", comparison, notes=notes)


__all__ = ["compare", "compare_path_table", "comparison_result"]
