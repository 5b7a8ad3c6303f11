"""``closedloop report``: one self-contained HTML file of the store's attribution results.

:func:`build_report` = :func:`~api.report.data.gather_report_data` (read the
store, compute every number: :mod:`api.report.data`) then
:func:`~api.report.render.render_report` (Jinja2 templates with autoescaping,
:mod:`api.report.render`). Charts are Vega-Lite specs built with Altair
(:mod:`api.report.charts`, shared with the dashboard), drawn by the vendored
vega-embed inlined into the page, so the file works offline. Sections: the
data's warnings, headline totals, two models side by side with the % change,
every model's revenue, channel and campaign tables (top N and an Other row,
:mod:`api.report.frames`), conversion paths with GA4's path-length and
time-lag buckets, its early / middle / late touches and ordered Shapley's
credit by position, the lead funnel with stage-to-stage rates, the weekly trend
and the budget plan with response curves. A section that cannot be computed on
the data says why instead of failing the whole report. Numbers are written in
the style of :mod:`attribution.numbers`; :mod:`api.report.pdf` prints the page
to PDF with headless Chromium (docs/report.md).
"""

from __future__ import annotations

from typing import Any

from api.report.data import ReportData, gather_report_data
from api.report.render import render_report
from api.services import Services
from ingest import Store


def build_report(store: Store | Services, **options: Any) -> str:
    """Read the store and return the whole report as one HTML page.

    Parameters
    ----------
    store
        The store to report on, or the services over a store or a lake.
    **options
        As in :func:`api.report.data.gather_report_data` (``model``,
        ``compare_model``, ``by``, ``funnel_by``, ``top``,
        ``compare_previous``, the period, ...), which computes the numbers
        this renders.

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
    data = gather_report_data(store, **options)
    return render_report(data)


__all__ = [
    "ReportData",
    "build_report",
    "gather_report_data",
    "render_report",
]
