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
from functools import partial
from typing import Any, overload

import polars as pl

from api.report.frames import (
    change,
    fold_top,
    fold_touch_positions,
    model_change,
    model_change_derived,
    period_change,
    position_pivot,
    safe_ratio,
)
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
from attribution.buckets import bucket_order
from attribution.errors import ClosedloopError, EmptyInputError, ParameterError
from attribution.journeys import resolve_stage
from attribution.models.shapley_ordered import ShapleyOrdered
from attribution.progress import stage as progress_stage
from ingest import Store

DEFAULT_MODELS = ("markov", "linear")
"""The tables' model when none is asked for: the first of these that runs on the data."""
DEFAULT_COMPARE_MODELS = ("last_touch", "linear", "first_touch")
"""The second model of the comparison when none is asked for: the first of these that runs."""
DEFAULT_TOP = 10
"""Rows of a long table before the Other row (``--top``)."""
PREVIOUS_DAYS = 28
"""With ``--compare-previous`` and no period: the data's last 28 days (GA4's default range)."""
BY_KEYS = ("channel", "campaign")
"""What the report's tables may be keyed by (``--by``)."""


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, as frames and dicts (no formatting, no HTML).

    Attributes
    ----------
    currency
        ISO 4217 code of every amount.
    model
        The model of the channel and campaign tables, the trend and the budget.
    model_chosen
        Whether ``model`` was asked for (``--model``) rather than the default.
    compare_model, change
        The second model of the GA4-style comparison and the comparison
        (:func:`api.report.frames.model_change`, top rows and Other), or
        ``None`` with a single model.
    by
        The key of the model comparison, the first table and the trend
        (``channel`` or ``campaign``).
    top
        Rows of a long table before its Other row (0: every row).
    has_costs
        Whether any spend was loaded for the period: without it the page
        leaves spend, ROAS, ROI and the costs per conversion out.
    costs_note
        The sentence saying why spend columns are missing, or ``""``.
    previous
        With ``compare_previous``: the previous period's ``start``, ``end``
        and ``totals``; the ``by`` table then has ``*_previous`` and
        ``*_change`` columns. ``None`` otherwise; a string says why not.
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
        :func:`attribution.pathstats.path_stats`: the top paths (and Other),
        how many paths there are, and journeys, conversions and revenue per
        GA4 bucket of path length and of days from first touch to conversion
        (``length_buckets`` and ``time_lag_buckets`` of ``/v1/paths``).
    touch_positions, touch_table
        GA4's early / middle / late view (``GET /v1/paths``' ``touch_positions``,
        by channel): every channel, and the table's top channels and Other
        (:func:`api.report.frames.fold_touch_positions`).
    positions
        ``shapley_ordered``'s credit by position (:func:`positions_view`):
        from the tables' model when it is ``shapley_ordered``, else from a
        run of its own when it is among the compared models; ``None`` when
        neither, a string when it cannot be computed.
    trend
        :func:`attribution.timeseries.time_series` by ISO week: ``period``,
        ``channel``, ``spend``, ``revenue``, ``conversions``, ``roas``.
    funnel, funnel_by, funnel_rows
        The lead funnel by ``funnel_by`` (``GET /v1/funnel``'s body), or why
        not; its rows, top groups by entry count and Other.
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
    model_chosen: bool = False
    compare_model: str | None = None
    change: pl.DataFrame | None = None
    by: str = "channel"
    top: int = DEFAULT_TOP
    has_costs: bool = True
    costs_note: str = ""
    previous: dict[str, Any] | str | None = None
    funnel_by: str = "channel"
    funnel_rows: pl.DataFrame | None = None
    touch_positions: pl.DataFrame | None = None
    touch_table: pl.DataFrame | None = None
    positions: dict[str, Any] | str | None = None


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
    model: str | None = None,
    compare_model: str | None = None,
    by: str = "channel",
    funnel_by: str = "channel",
    top: int = DEFAULT_TOP,
    compare_previous: bool = False,
    stage: str | None = None,
    lookback_days: float = 90.0,
    ci: float | None = None,
    bootstrap: int = 100,
    seed: int = 0,
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
        Models of the comparison; default every registered model that runs
        on the data (``model`` and ``compare_model`` are always in it).
    model
        The model of the tables, the trend and the budget; default
        ``markov`` when it runs on the data, else ``linear``
        (:data:`DEFAULT_MODELS`).
    compare_model
        The second model of the GA4-style comparison (conversions, revenue
        and ROAS under both, % change); default ``last_touch``
        (:data:`DEFAULT_COMPARE_MODELS`).
    by
        ``channel`` or ``campaign``: the key of the model comparison, the
        first table and the trend (the other key's table follows it).
    funnel_by
        The funnel's groups: ``channel``, ``campaign``, ``lead_source`` or
        ``owner``.
    top
        Rows of long tables (campaigns, paths, funnel groups, comparison)
        before one Other row that sums the rest; 0 keeps every row.
    compare_previous
        Add the same-length period before ``start``/``end`` beside the
        current numbers, with the % change. Without a period: the data's last
        :data:`PREVIOUS_DAYS` days against the ones before.
    stage, lookback_days, click_window_days, view_window_days
        As in :func:`attribution.attribute`.
    ci, bootstrap, seed
        Add bootstrap intervals at level ``ci`` to the model comparison,
        from ``bootstrap`` resamples seeded by ``seed``.
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
    ParameterError
        ``by``, ``top`` or the period cannot be used.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from attribution.report import _tiny_example
    >>> from ingest import Store, ingest_frame
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "report.duckdb")
    >>> for table, frame in zip(("touchpoints", "conversions", "costs"), _tiny_example()):
    ...     _ = ingest_frame(store, table, frame)
    >>> data = gather_report_data(store, models=["linear", "last_touch"])
    >>> data.model, data.compare_model, data.totals["revenue"], data.totals["spend"]
    ('linear', 'last_touch', 100.0, 30.0)
    >>> data.channels["channel"].to_list(), data.path_count, data.has_costs
    (['Email', 'Search'], 1, True)
    """
    if by not in BY_KEYS:
        raise ParameterError(f"by must be one of {', '.join(BY_KEYS)}. Got {by!r} instead.")
    if top < 0:
        raise ParameterError(f"top must be 0 (every row) or more. Got {top} instead.")
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
    earlier: tuple[dt.date, dt.date] | None = None
    if compare_previous:
        (period["start"], period["end"]), earlier = _periods(inputs.conversions, stage, start, end)
    asked = [m for m in (model, compare_model) if m]
    wanted = list(dict.fromkeys([*models, *asked])) if models else None
    with _section("model comparison"):
        comparison = services.compare(
            CompareQuery.create(wanted, by=by, ci=ci, bootstrap=bootstrap, seed=seed, **period)
        )
    names: list[str] = list(comparison.members["models"])
    primary = model or _first_of(DEFAULT_MODELS, names) or names[0]
    second = compare_model or _first_of(DEFAULT_COMPARE_MODELS, [n for n in names if n != primary])
    if second not in names or primary not in names:
        second = None  # a model that did not run: the comparison's "Left out" says why
    valued: dict[str, Any] = {"stage_values": stage_values or (), **period}
    keys = (by, *[k for k in BY_KEYS if k != by])
    with _section("channels and campaigns"):

        def keyed_report(key: str) -> Result:
            query = AttributionQuery.create(primary, by=key, calibrate=calibrate, **valued)
            return services.attribution(query)

        reports: dict[str, Result | str] = {key: _try(partial(keyed_report, key)) for key in keys}
        main = reports[by]
        if isinstance(main, str):
            raise ParameterError(main)
        leads: dict[str, Result | str | None] = {"channel": None, "campaign": None}
        stages = set(inputs.conversions["stage"].to_list())
        if "lead" in stages and main.members["stage"] != "lead":
            for key in leads:

                def lead_report(key: str = key) -> Result:
                    query = AttributionQuery.create(primary, by=key, **{**period, "stage": "lead"})
                    return services.attribution(query)

                leads[key] = _try(lead_report)
        previous = None
        if earlier is not None:
            previous = _previous(services, primary, by, valued, earlier)
    with _section("paths"):
        stats = services.paths(PathsQuery(**period, collapse=True))
        ordered = _ordered_shapley(services, primary, main, names, by, valued)
    with _section("weekly trend"):
        trend = services.timeseries(
            TimeSeriesQuery(metric="all", model=resolve_model(primary), by=by, **period)
        ).data
    with _section("funnel"):
        funnel = _funnel(services, period["start"], period["end"], journey, funnel_by)
    with _section("budget plan"):
        budget = _budget(services, primary, stage, lookback_days, period)
    members = main.members
    totals = _as_revenue(members["totals"], members)
    has_costs = bool(totals.get("spend"))
    tables = {
        key: report if isinstance(report, str) else _as_revenue(report.data, members)
        for key, report in reports.items()
    }
    if isinstance(previous, dict):
        tables[by] = period_change(_table(tables[by]), previous.pop("data"), by)
        totals = {**totals, **_previous_totals(totals, previous["totals"])}
    lead_counts = {key: _lead_counts(report) for key, report in leads.items()}
    paths = stats.data
    touches = _touch_frame(stats.members.get("touch_positions"), stats.members["by"])
    return ReportData(
        currency=inputs.currency or "",  # frames given without one: plain numbers
        model=primary,
        model_chosen=model is not None,
        compare_model=second,
        change=_model_change(comparison.data, by, primary, second, top, has_costs),
        by=by,
        top=top,
        has_costs=has_costs,
        costs_note=_costs_note(has_costs, inputs.costs),
        stage=members["stage"],
        start=_day(members["start"]),
        end=_day(members["end"]),
        lookback_days=members["lookback_days"],
        generated=dt.datetime.now(dt.UTC),
        totals=totals,
        comparison_by=comparison.members["by"],
        models=names,
        comparison=_fold_comparison(comparison.data, by, names, primary, top),
        skipped=dict(comparison.members["skipped"]),
        channels=_fold_money(tables["channel"], "channel", top, lead_counts["channel"]),
        campaigns=_fold_money(tables["campaign"], "campaign", top, lead_counts["campaign"]),
        channel_leads=lead_counts["channel"],
        campaign_leads=lead_counts["campaign"],
        lead_stage=members["stage"] == "lead",
        paths=_fold_paths(paths, top),
        path_count=stats.total_rows,
        lengths=_buckets(
            stats.members["length_buckets"], "length", ["journeys", "conversions", "revenue"]
        ),
        time_lag=_buckets(stats.members["time_lag_buckets"], "lag", ["conversions", "revenue"]),
        touch_positions=touches,
        touch_table=fold_touch_positions(touches, stats.members["by"], top),
        positions=positions_view(ordered, top) if isinstance(ordered, Result) else ordered,
        trend=trend,
        funnel=funnel,
        funnel_by=funnel_by,
        funnel_rows=_fold_funnel(funnel, funnel_by, top) if isinstance(funnel, dict) else None,
        budget=budget,
        windows=members.get("windows"),
        value_label=members.get("value_column", "revenue"),
        cost_label=_COST_LABELS.get(members.get("cost_column", "cpa"), "cost per conversion"),
        previous=previous,
        warnings=report_warnings(members, comparison.members, funnel),
    )


def _ordered_shapley(
    services: Services,
    model: str,
    main: Result,
    compared: Sequence[str],
    by: str,
    valued: Mapping[str, Any],
) -> Result | str | None:
    """Return the ``shapley_ordered`` answer whose positions the report shows, or ``None``.

    The tables' own answer when their model is ``shapley_ordered``; else, when
    it is among the compared models, a run of its own keyed like the tables
    (or why it failed); else ``None``: the report shows no position table.
    """
    if model == ShapleyOrdered.name:
        return main
    if ShapleyOrdered.name not in compared:
        return None
    query = AttributionQuery.create(ShapleyOrdered.name, by=by, **valued)
    answer = _try(lambda: services.attribution(query))
    if isinstance(answer, str):
        return f"The ordered Shapley credit by position could not be computed: {answer}"
    return answer


def positions_view(answer: Result, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Return a ``shapley_ordered`` answer's credit by position as the report's two pivots.

    ``revenue`` and ``conversions`` are :func:`api.report.frames.position_pivot`'s
    (positions down, the ``top`` keys across and Other, a total column);
    ``convention``, ``max_position`` and ``by`` come from the answer.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> answer = services.attribution(AttributionQuery.create("shapley_ordered"))
    >>> view = positions_view(answer)
    >>> view["convention"], view["revenue"].rows()
    ('first_visit', [('1', 50.0, 0.0, 50.0), ('2', 0.0, 50.0, 50.0)])
    """
    positions, by = answer.members["positions"], answer.members["by"]
    schema = {"position": pl.String, by: pl.String, "conversions": pl.Float64,
              "revenue": pl.Float64}  # fmt: skip
    rows = pl.DataFrame(positions["data"], schema=schema)
    return {
        "convention": positions["convention"],
        "max_position": positions["max_position"],
        "by": by,
        **{m: position_pivot(rows, by, m, top) for m in ("revenue", "conversions")},
    }


def _touch_frame(rows: Sequence[Mapping[str, Any]] | None, by: str) -> pl.DataFrame:
    """Return the early / middle / late rows as a frame (every column even when empty)."""
    columns = [
        f"{part}_{m}" for part in ("early", "middle", "late") for m in ("conversions", "revenue")
    ]
    schema = {by: pl.String, **dict.fromkeys(columns, pl.Float64)}
    return pl.DataFrame(list(rows or []), schema=schema)


def _first_of(preferred: Sequence[str], names: Sequence[str]) -> str | None:
    """Return the first of ``preferred`` among ``names``, else the first name, else ``None``."""
    return next((m for m in preferred if m in names), names[0] if names else None)


def _periods(
    conversions: pl.DataFrame, stage: str | None, start: dt.date | None, end: dt.date | None
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """Return the current period and the same-length one before it (inclusive dates).

    Without ``start`` or ``end``, the stage's last conversion day ends the
    current period, which lasts :data:`PREVIOUS_DAYS` days unless ``start``
    says otherwise.

    Examples
    --------
    >>> cv = pl.DataFrame({"stage": ["purchase"], "ts": [dt.datetime(2025, 3, 31, 9)]})
    >>> _periods(cv, None, None, None)
    ((datetime.date(2025, 3, 4), datetime.date(2025, 3, 31)), (datetime.date(2025, 2, 4), datetime.date(2025, 3, 3)))
    >>> _periods(cv, None, dt.date(2025, 3, 1), dt.date(2025, 3, 10))[1]
    (datetime.date(2025, 2, 19), datetime.date(2025, 2, 28))
    """  # noqa: E501
    if end is None:
        chosen = resolve_stage(conversions, stage)
        last = conversions.filter(pl.col("stage") == chosen)["ts"].max()
        assert isinstance(last, dt.datetime)  # conversions are there: checked before
        end = last.date()
    if start is None:
        start = end - dt.timedelta(days=PREVIOUS_DAYS - 1)
    days = (end - start).days + 1
    before = start - dt.timedelta(days=1)
    return (start, end), (before - dt.timedelta(days=days - 1), before)


def _previous(
    services: Services,
    model: str,
    by: str,
    valued: Mapping[str, Any],
    period: tuple[dt.date, dt.date],
) -> dict[str, Any] | str:
    """Return the previous period's table and totals, or why there are none."""
    start, end = period
    query = {**valued, "start": start, "end": end}
    report = _try(lambda: services.attribution(AttributionQuery.create(model, by=by, **query)))
    if isinstance(report, str):
        return f"The previous period ({start} to {end}) cannot be compared: {report}"
    members = report.members
    return {
        "start": start,
        "end": end,
        "totals": _as_revenue(members["totals"], members),
        "data": _as_revenue(report.data, members),
    }


def _previous_totals(now: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """Return the headline's ``<metric>_previous`` and ``<metric>_change`` members.

    Examples
    --------
    >>> _previous_totals({"revenue": 150.0, "roas": 3.0}, {"revenue": 100.0, "roas": None})
    {'revenue_previous': 100.0, 'revenue_change': 0.5, 'roas_previous': None, 'roas_change': None}
    """
    out: dict[str, Any] = {}
    for metric in ("revenue", "spend", "roas", "conversions", "cpa"):
        if metric in now:
            was, is_ = before.get(metric), now[metric]
            out[f"{metric}_previous"] = was
            out[f"{metric}_change"] = (is_ - was) / was if was and is_ is not None else None
    return out


def _costs_note(has_costs: bool, costs: pl.DataFrame | None) -> str:
    """Say why the page has no spend columns (empty when it has them)."""
    if has_costs:
        return ""
    if costs is None or costs.is_empty():
        return (
            "No costs were loaded, so spend, ROAS, ROI and the costs per conversion are left "
            "out. Load them with: closedloop ingest costs FILE (docs/costs.md)."
        )
    return (
        "No spend was loaded for this period, so spend, ROAS, ROI and the costs per "
        "conversion are left out."
    )


def _table(frame: pl.DataFrame | str) -> pl.DataFrame:
    if isinstance(frame, str):
        raise ParameterError(frame)
    return frame


MONEY_SUMS = ("conversions", "revenue", "spend", "revenue_calibrated", "impressions", "clicks",
              "conversions_previous", "revenue_previous", "spend_previous")  # fmt: skip
"""Additive columns of a channel or campaign table (its Other row sums them)."""


def _money_derived(columns: Sequence[str]) -> dict[str, pl.Expr]:
    """Return the ratios of a channel or campaign table from its sums (its Other row's)."""
    revenue, spend, conversions = pl.col("revenue"), pl.col("spend"), pl.col("conversions")
    derived = {
        "roas": safe_ratio(revenue, spend),
        "roi": safe_ratio(revenue - spend, spend),
        "cpa": safe_ratio(spend, conversions),
        "calibration_factor": safe_ratio(pl.col("revenue_calibrated"), revenue),
    }
    if "revenue_previous" in columns:
        for metric in ("conversions", "revenue", "spend"):
            derived[f"{metric}_change"] = change(pl.col(metric), pl.col(f"{metric}_previous"))
        derived["roas_previous"] = safe_ratio(pl.col("revenue_previous"), pl.col("spend_previous"))
    return {k: v for k, v in derived.items() if k in columns}


def _fold_money(
    frame: pl.DataFrame | str, key: str, top: int, leads: Mapping[str, float]
) -> pl.DataFrame | str:
    """Keep the top ``top`` rows of a channel or campaign table by revenue, then Other."""
    if isinstance(frame, str):
        return frame
    if leads:
        frame = frame.with_columns(
            pl.col(key)
            .replace_strict(dict(leads), default=None, return_dtype=pl.Float64)
            .alias("leads")
        ).with_columns(_cpl().alias("cpl"))
    sums = [c for c in (*MONEY_SUMS, "leads") if c in frame.columns]
    derived = _money_derived(frame.columns)
    if leads:
        derived["cpl"] = _cpl()
    return fold_top(frame, key, top, sums=sums, derived=derived)


def _cpl() -> pl.Expr:
    """Spend per attributed lead; null without spend (unknown, not free) or leads."""
    spend, leads = pl.col("spend"), pl.col("leads")
    return pl.when((spend > 0) & (leads > 0)).then(spend / leads).otherwise(None)


def _fold_comparison(
    frame: pl.DataFrame, by: str, names: Sequence[str], primary: str, top: int
) -> pl.DataFrame:
    """Keep the model comparison's top rows by the tables' model's revenue, then Other."""
    sums = ["spend"] + [f"{m}_{x}" for m in names for x in ("conversions", "revenue", "share")]
    derived = {f"{m}_roas": safe_ratio(pl.col(f"{m}_revenue"), pl.col("spend")) for m in names}
    first = primary if primary in names else names[0]
    ranked = frame.with_columns(
        pl.col(f"{first}_revenue").alias("_rank"), pl.col(f"{first}_conversions").alias("_then")
    )
    kept = [c for c in sums if c in frame.columns]
    folded = fold_top(
        ranked, by, top, by=("_rank", "_then"), sums=[*kept, "_rank", "_then"], derived=derived
    )
    return folded.drop("_rank", "_then")


def _model_change(
    comparison: pl.DataFrame, by: str, first: str, second: str | None, top: int, costs: bool
) -> pl.DataFrame | None:
    """GA4's model comparison of ``first`` and ``second``: top rows by revenue, then Other."""
    if second is None:
        return None
    metrics = ["conversions", "revenue", *(["roas"] if costs else [])]
    frame = model_change(comparison, by, first, second, metrics)
    sums = [c for c in frame.columns if c.startswith(("first_", "second_")) and "roas" not in c]
    return fold_top(
        frame,
        by,
        top,
        by=("first_revenue", "first_conversions"),
        sums=["spend", *sums] if "spend" in frame.columns else sums,
        derived=model_change_derived(metrics),
    )


def _fold_paths(paths: pl.DataFrame, top: int) -> pl.DataFrame:
    """Keep the top paths by conversions (:func:`attribution.pathstats.path_stats` order)."""
    return fold_top(
        paths,
        "path",
        top,
        by=("conversions", "journeys"),
        sums=["journeys", "conversions", "revenue"],
        derived={"conversion_rate": safe_ratio(pl.col("conversions"), pl.col("journeys"))},
        weighted={
            "average_length": "journeys",
            "average_days_to_conversion": "conversions",
        },
    )


def _fold_funnel(report: Mapping[str, Any], by: str, top: int) -> pl.DataFrame:
    """Keep the funnel's top ``top`` groups by entry count, then Other with exact cohort rates.

    A stage-to-stage rate is a share of the earlier stage's persons, so the
    Other row's is the mean of its groups' weighted by that count.
    """
    frame = pl.DataFrame(report["data"], infer_schema_length=None)
    counts = list(report.get("count_columns") or ["leads"])
    steps = funnel_steps(report)
    weighted = {rate: counts[k] for k, (rate, _) in enumerate(steps)}
    weighted["lead_conversion_rate"] = counts[0]
    sums = [c for c in (*counts, "lost", "customers", "revenue", "spend") if c in frame.columns]
    derived = {"win_rate": safe_ratio(pl.col("won"), pl.col("won") + pl.col("lost"))}
    present = {c: w for c, w in weighted.items() if c in frame.columns}
    return fold_top(frame, by, top, by=counts[0], sums=sums, derived=derived, weighted=present)


def funnel_steps(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return the funnel's stage-to-stage rate columns and their labels, in order.

    Examples
    --------
    >>> funnel_steps({"stages": ["lead", "mql", "closed_won"], "lost_stages": ["closed_lost"],
    ...     "count_columns": ["leads", "mqls", "won"]})
    [('lead_to_mql_rate', 'lead → MQL'), ('mql_to_won_rate', 'MQL → won')]
    """
    from attribution.funnel.stages import FunnelStages

    order = list(report.get("stages") or [])
    if len(order) < 2:
        return []
    stages = FunnelStages.parse(",".join(order), ",".join(report.get("lost_stages") or ()))
    return [
        (stages.rate_column(a, b), f"{_stage_label(a, stages)} → {_stage_label(b, stages)}")
        for a, b in stages.steps()
    ]


STAGE_LABELS = {"lead": "lead", "mql": "MQL", "sql": "SQL", "opportunity": "opportunity",
                "won": "won"}  # fmt: skip
"""How the page names the funnel's stages."""


def _stage_label(stage: str, stages: Any) -> str:
    short = stages.label(stage)
    return str(STAGE_LABELS.get(short, short))


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
    services: Services,
    start: dt.date | None,
    end: dt.date | None,
    journey: str = "person",
    by: str = "channel",
) -> dict[str, Any] | str:
    try:
        query = FunnelQuery(by=by, start=start, end=end, journey=journey)
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


def _buckets(rows: Any, kind: str, sums: list[str]) -> pl.DataFrame:
    """Return the paths answer's GA4 buckets as a frame; every bucket at 0 when it sent none."""
    frame = pl.DataFrame(rows or [], infer_schema_length=None)
    if frame.is_empty():
        zero = pl.DataFrame({"bucket": bucket_order(kind)})
        return zero.with_columns(pl.lit(0.0).alias(c) for c in sums)
    return frame.select("bucket", *(pl.col(c).cast(pl.Float64) for c in sums))


__all__ = [
    "BY_KEYS",
    "DEFAULT_COMPARE_MODELS",
    "DEFAULT_MODELS",
    "DEFAULT_TOP",
    "PREVIOUS_DAYS",
    "REPORT_SECTIONS",
    "ReportData",
    "funnel_steps",
    "gather_report_data",
    "positions_view",
]
