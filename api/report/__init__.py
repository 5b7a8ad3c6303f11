"""``closedloop report``: one self-contained HTML file of the store's attribution results.

:func:`build_report` = :func:`~api.report.data.gather_report_data` (read the
store, compute every number: :mod:`api.report.data`) then
:func:`~api.report.render.render_report` (Jinja2 templates with autoescaping,
:mod:`api.report.render`). Charts are Vega-Lite specs built with Altair
(:mod:`api.report.charts`, shared with the dashboard), drawn by the vendored
vega-embed inlined into the page, so the file works offline. Sections:
headline totals, model comparison, channel and campaign tables, conversion
paths, the lead funnel, the weekly trend and the budget plan with response
curves. A section that cannot be computed on the data says why instead of
failing the whole report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from api.report.data import ReportData, gather_report_data
from api.report.render import money, render_report
from api.services import Services
from ingest import Store


def build_report(
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
) -> str:
    """Read the store and return the whole report as one HTML page.

    Parameters
    ----------
    store, start, end, models, stage, lookback_days, ci, bootstrap, seed, top_paths, journey,
    click_window_days, view_window_days, stage_values, calibrate
        As in :func:`api.report.data.gather_report_data`, which computes the
        numbers this renders.

    Returns
    -------
    str

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from attribution.report import _tiny_example
    >>> from ingest import Store, ingest_frame
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "report.duckdb")
    >>> for table, frame in zip(("touchpoints", "conversions", "costs"), _tiny_example()):
    ...     _ = ingest_frame(store, table, frame)
    >>> page = build_report(store, models=["linear", "first_touch"])
    >>> "<h2>Model comparison</h2>" in page, 'data-chart="comparison"' in page
    (True, True)
    """
    data = gather_report_data(
        store,
        start=start,
        end=end,
        models=models,
        stage=stage,
        lookback_days=lookback_days,
        ci=ci,
        bootstrap=bootstrap,
        seed=seed,
        top_paths=top_paths,
        journey=journey,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
        stage_values=stage_values,
        calibrate=calibrate,
    )
    return render_report(data)


__all__ = [
    "ReportData",
    "build_report",
    "gather_report_data",
    "money",
    "render_report",
]
