"""The numbers of ``closedloop report``: asked of the application services, no HTML.

:func:`gather_report_data` is the only place the report computes anything;
it returns a :class:`ReportData` of plain frames and dicts that
:mod:`api.report.render` turns into the page. A section that cannot be
computed on the data holds the reason (a string) instead of failing the
whole report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, overload

import polars as pl

from api.services import (
    AttributionQuery,
    CompareQuery,
    CurvesQuery,
    FunnelQuery,
    PathsQuery,
    PlanQuery,
    Result,
    Services,
    TimeSeriesQuery,
)
from api.services.queries import PeriodQuery, resolve_model
from attribution.errors import ClosedloopError, EmptyInputError
from attribution.progress import stage as progress_stage
from ingest import Store


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as frames and dicts (no formatting, no HTML).

    Attributes
    ----------
    currency
        ISO 4217 code of every amount.
    model
        The model of the channel and campaign tables, the trend and the budget.
    stage, start, end, lookback_days
        The conversion stage and the period (inclusive dates) reported on.
    windows
        The click and view windows (:mod:`attribution.windows`), or ``None``.
    generated
        When the numbers were computed (UTC).
    totals
        The ``model``'s channel totals (revenue, spend, roas, conversions, cpa, ...).
    comparison_by, models, comparison, skipped
        :func:`attribution.compare.compare_models`: the key column, the models
        compared, its ``data`` frame and the models left out with the reason.
    channels, campaigns
        The ``model``'s report ``data`` by channel and by campaign, or why not.
    channel_leads, campaign_leads
        Attributed leads per key (empty when the data has no ``lead`` stage
        or the stage reported on is ``lead``).
    lead_stage
        Whether the stage reported on is ``lead`` (CPA is then the cost per lead).
    paths, path_count, lengths, time_lag
        :func:`attribution.pathstats.path_stats`: the top paths, how many
        paths there are, conversions per path length and per day of lag.
    trend
        :func:`attribution.timeseries.time_series` by ISO week: ``period``,
        ``channel``, ``spend``, ``revenue``, ``conversions``, ``roas``.
    funnel
        The lead funnel by channel (``GET /v1/funnel``'s body), or why not.
    budget
        The budget plan with response-curve points (``GET /v1/budget/plan``'s
        body), or why not.
    warnings
        What the data hides (``warnings`` of the channel answer and the
        funnel, see docs/diagnostics.md), warnings first, each once.
    """

    currency: str
    model: str
    stage: str | None
    start: dt.date | None
    end: dt.date | None
    lookback_days: float
    generated: dt.datetime
    totals: dict[str, Any]
    comparison_by: str
    models: list[str]
    comparison: pl.DataFrame
    skipped: dict[str, str]
    channels: pl.DataFrame | str
    campaigns: pl.DataFrame | str
    channel_leads: dict[str, float]
    campaign_leads: dict[str, float]
    lead_stage: bool
    paths: pl.DataFrame
    path_count: int
    lengths: pl.DataFrame
    time_lag: pl.DataFrame
    trend: pl.DataFrame
    funnel: dict[str, Any] | str
    budget: dict[str, Any] | str
    value_label: str = "revenue"
    cost_label: str = "CPA"
    windows: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)


REPORT_SECTIONS = (
    "model comparison", "channels and campaigns", "paths", "weekly trend", "funnel",
    "budget plan",
)  # fmt: skip
"""The report's steps, in order, as its progress names them (``report 1/6: model comparison``)."""


def _section(name: str) -> AbstractContextManager[None]:
    """Announce a step of the report to progress listeners (:mod:`attribution.progress`)."""
    number = REPORT_SECTIONS.index(name) + 1
    return progress_stage(f"report {number}/{len(REPORT_SECTIONS)}: {name}")


def gather_report_data(
    store: Store | Services,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    models: Sequence[str] | None = None,
    stage: str | None = None,
    lookback_days: float = 90.0,
    ci: float | None = None,
    bootstrap: int = 100,
    seed: int = 0,
    top_paths: int = 15,
    journey: str = "person",
    click_window_days: float | None = None,
    view_window_days: float | None = None,
    stage_values: str | None = None,
    calibrate: bool = True,
) -> ReportData:
    """Read the store and compute every number of the report.

    Parameters
    ----------
    store
        The store to report on, or the services over a store or a lake.
    start, end
        The period (inclusive dates); default: the dates of the data.
    models
        Models to compare; default every registered model that runs on the
        data. The channel and campaign tables use ``linear`` when it is one
        of them, else the first.
    stage, lookback_days, click_window_days, view_window_days
        As in :func:`attribution.attribute`.
    ci, bootstrap, seed
        Add bootstrap intervals at level ``ci`` to the model comparison,
        from ``bootstrap`` resamples seeded by ``seed``.
    top_paths
        How many paths to keep.
    journey
        ``person``, or ``account``: every person of an account is one
        journey (:mod:`ingest.accounts`), in every table and the funnel.
    calibrate
        With lift tests in the store, add lift-calibrated revenue to the
        channel table and plan the budget on calibrated curves (the default).

    Returns
    -------
    ReportData

    Raises
    ------
    EmptyInputError
        The store holds no conversions in the period.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from attribution.report import _tiny_example
    >>> from ingest import Store, ingest_frame
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "report.duckdb")
    >>> for table, frame in zip(("touchpoints", "conversions", "costs"), _tiny_example()):
    ...     _ = ingest_frame(store, table, frame)
    >>> data = gather_report_data(store, models=["linear", "last_touch"])
    >>> data.model, data.models, data.totals["revenue"], data.totals["spend"]
    ('linear', ['linear', 'last_touch'], 100.0, 30.0)
    >>> data.channels["channel"].to_list(), data.path_count
    (['Email', 'Search'], 1)
    """
    services = store if isinstance(store, Services) else Services.for_store(store)
    period: dict[str, Any] = {
        "stage": stage,
        "lookback_days": lookback_days,
        "start": start,
        "end": end,
        "journey": journey,
        "click_window_days": click_window_days,
        "view_window_days": view_window_days,
    }
    inputs = services.inputs(PeriodQuery(**period).window)
    if inputs.conversions.is_empty():
        raise EmptyInputError(
            f"There are no conversions to report on: {inputs.source} holds none. "
            "Ingest them first: closedloop ingest conversions FILE."
        )
    with _section("model comparison"):
        comparison = services.compare(
            CompareQuery.create(
                list(models) if models else None, ci=ci, bootstrap=bootstrap, seed=seed, **period
            )
        )
    names: list[str] = list(comparison.members["models"])
    primary = "linear" if "linear" in names else names[0]
    valued: dict[str, Any] = {"stage_values": stage_values or (), **period}
    with _section("channels and campaigns"):
        channel = services.attribution(
            AttributionQuery.create(primary, calibrate=calibrate, **valued)
        )
        campaign = _try(
            lambda: services.attribution(AttributionQuery.create(primary, by="campaign", **valued))
        )
        leads: dict[str, Result | str | None] = {"channel": None, "campaign": None}
        stages = set(inputs.conversions["stage"].to_list())
        if "lead" in stages and channel.members["stage"] != "lead":
            for by in leads:

                def lead_report(by: str = by) -> Result:
                    query = AttributionQuery.create(primary, by=by, **{**period, "stage": "lead"})
                    return services.attribution(query)

                leads[by] = _try(lead_report)
    with _section("paths"):
        stats = services.paths(PathsQuery(**period, collapse=True))
    with _section("weekly trend"):
        trend = services.timeseries(
            TimeSeriesQuery(metric="all", model=resolve_model(primary), **period)
        ).data
    with _section("funnel"):
        funnel = _funnel(services, start, end, journey)
    with _section("budget plan"):
        budget = _budget(services, primary, stage, lookback_days, period)
    members = channel.members
    return ReportData(
        currency=inputs.currency or "",  # frames given without one: plain numbers
        model=primary,
        stage=members["stage"],
        start=_day(members["start"]),
        end=_day(members["end"]),
        lookback_days=members["lookback_days"],
        generated=dt.datetime.now(dt.UTC),
        totals=_as_revenue(members["totals"], members),
        comparison_by=comparison.members["by"],
        models=names,
        comparison=comparison.data,
        skipped=dict(comparison.members["skipped"]),
        channels=_as_revenue(channel.data, members),
        campaigns=campaign if isinstance(campaign, str) else _as_revenue(campaign.data, members),
        channel_leads=_lead_counts(leads["channel"]),
        campaign_leads=_lead_counts(leads["campaign"]),
        lead_stage=members["stage"] == "lead",
        paths=stats.data.head(top_paths),
        path_count=stats.total_rows,
        lengths=pl.DataFrame(stats.members["lengths"], infer_schema_length=None).head(25),
        time_lag=pl.DataFrame(stats.members["time_lag"], infer_schema_length=None),
        trend=trend,
        funnel=funnel,
        budget=budget,
        windows=members.get("windows"),
        value_label=members.get("value_column", "revenue"),
        cost_label=_COST_LABELS.get(members.get("cost_column", "cpa"), "cost per conversion"),
        warnings=report_warnings(members, funnel),
    )


_COST_LABELS = {"cpa": "CPA", "cpl": "CPL"}
"""How the page labels a report's cost column; ``cost_per_<stage>`` reads "cost per conversion"."""


@overload
def _as_revenue(table: pl.DataFrame, members: Mapping[str, Any]) -> pl.DataFrame: ...


@overload
def _as_revenue(table: Mapping[str, Any], members: Mapping[str, Any]) -> dict[str, Any]: ...


def _as_revenue(
    table: pl.DataFrame | Mapping[str, Any], members: Mapping[str, Any]
) -> pl.DataFrame | dict[str, Any]:
    """Put a stage's value and cost columns in the page's ``revenue`` and ``cpa`` slots.

    The page labels them for the stage (:attr:`ReportData.value_label`,
    :attr:`ReportData.cost_label`); charts and tables read one name.
    """
    names = {
        members.get("value_column", "revenue"): "revenue",
        members.get("cost_column", "cpa"): "cpa",
    }
    names = {k: v for k, v in names.items() if k != v}
    if isinstance(table, pl.DataFrame):
        return table.rename(names, strict=False)
    return {names.get(k, k): v for k, v in table.items()}


def report_warnings(*answers: Any) -> list[dict[str, Any]]:
    """Return the ``warnings`` of the answers (text answers skipped): warnings first, once each.

    Examples
    --------
    >>> a = {"warnings": [{"code": "x", "severity": "info", "message": "m"}]}
    >>> b = {"warnings": [{"code": "y", "severity": "warning", "message": "n"}]}
    >>> [w["code"] for w in report_warnings(a, b, a, "no funnel")]
    ['y', 'x']
    """
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for answer in answers:
        if isinstance(answer, dict):
            for warning in answer.get("warnings", ()):
                seen.setdefault((warning["code"], warning["message"]), warning)
    return sorted(seen.values(), key=lambda w: w["severity"] != "warning")


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _try(make: Callable[[], Result]) -> Result | str:
    try:
        return make()
    except ClosedloopError as exc:
        return str(exc)


def _lead_counts(report: Result | str | None) -> dict[str, float]:
    if not isinstance(report, Result):
        return {}
    by = report.members["by"]
    return {row[by]: row["conversions"] for row in report.data.to_dicts()}


def _funnel(
    services: Services, start: dt.date | None, end: dt.date | None, journey: str = "person"
) -> dict[str, Any] | str:
    try:
        query = FunnelQuery(by="channel", start=start, end=end, journey=journey)
        return services.funnel(query).to_dict()
    except ClosedloopError as exc:
        return str(exc)


def _budget(
    services: Services,
    model: str,
    stage: str | None,
    lookback: float,
    period: dict[str, Any],
    calibrate: bool = True,
) -> dict[str, Any] | str:
    try:
        curves = CurvesQuery.create(
            model,
            stage=stage,
            lookback_days=lookback,
            bootstrap=20,
            click_window_days=period.get("click_window_days"),
            view_window_days=period.get("view_window_days"),
            calibrate=calibrate,
        )
        return services.plan(PlanQuery(curves)).to_dict()
    except Exception as exc:  # any failure here is a note, not a failed report
        return f"The budget plan could not be computed on this data: {exc}"


__all__ = ["REPORT_SECTIONS", "ReportData", "gather_report_data"]
