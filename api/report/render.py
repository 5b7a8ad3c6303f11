"""Render :class:`~api.report.data.ReportData` as one self-contained HTML page.

The page is ``templates/report.html.j2``, rendered by Jinja2 with
autoescaping on: every name and number from the data is escaped by Jinja,
never by hand. Tables are :class:`Table` objects (cells of shown text and
the raw value a header click sorts by); charts are Vega-Lite specs from
:mod:`api.report.charts`, embedded with Jinja's ``tojson`` in
``<script type="application/json">`` elements (``<``, ``>``, ``&`` and
``'`` are escaped as JSON unicode escapes, so a name cannot end the script) and
drawn by the vendored vega-embed, which the page inlines with
``api/static/charts.js``: one file, no network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from api.report import charts
from api.report.data import ReportData
from attribution.export import json_ready

SYMBOLS = charts.SYMBOLS
VENDOR_SCRIPTS = ("vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js")
"""The vendored scripts the report inlines (paths under ``api/static``), in load order."""
CHARTS_SCRIPT = "charts.js"
"""Draws every embedded spec with vega-embed; shared with the dashboard."""
FUNNEL_STEPS = (("leads", "leads"), ("mqls", "MQLs"), ("sqls", "SQLs"),
                ("opportunities", "opportunities"), ("won", "won"))  # fmt: skip
COMPARISON_MODELS = 8
"""At most this many models in the comparison chart (the table has them all)."""

Cell = tuple[str, Any]
"""A table cell: the text shown and the raw value it sorts by."""


@dataclass(frozen=True)
class Table:
    """A sortable table: headers, rows of :data:`Cell` and which rows to highlight."""

    headers: list[str]
    rows: list[list[Cell]]
    hot: list[bool] = field(default_factory=list)


def money(value: float | None, currency: str = "USD") -> str:
    """Format an amount with its currency symbol and thousands separators.

    Examples
    --------
    >>> money(2205582.981), money(-5, "EUR"), money(3, "CHF"), money(None), money(7, "")
    ('$2,205,582.98', '-€5.00', 'CHF 3.00', '—', '7.00')
    """
    if value is None or not math.isfinite(value):
        return "—"
    symbol = SYMBOLS.get(currency) or (f"{currency} " if currency else "")
    return ("-" if value < 0 else "") + symbol + f"{abs(value):,.2f}"


def number(value: float | None, digits: int = 1) -> str:
    """Format a count with thousands separators, ``—`` when missing.

    Examples
    --------
    >>> number(1234.56), number(3, 0), number(None), number(float("nan"))
    ('1,234.6', '3', '—', '—')
    """
    return "—" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def ratio(value: float | None) -> str:
    """Format a ratio such as ROAS as ``4.01x``.

    Examples
    --------
    >>> ratio(4.0127), ratio(None)
    ('4.01x', '—')
    """
    return "—" if value is None or not math.isfinite(value) else f"{value:,.2f}x"


def percent(value: float | None) -> str:
    """Format a fraction as a percentage with one decimal.

    Examples
    --------
    >>> percent(0.35195), percent(None)
    ('35.2%', '—')
    """
    return "—" if value is None or not math.isfinite(value) else f"{100 * value:,.1f}%"


def sort_value(value: Any) -> Any:
    """Return the value a cell sorts by: ``""`` (last) for missing and non-finite numbers.

    Examples
    --------
    >>> sort_value(2.5), sort_value(None), sort_value(float("inf"))
    (2.5, '', '')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return value


def inline_script(name: str) -> Markup:
    """Return a script under ``api/static`` as markup to inline in a ``<script>`` element.

    Its ``sourceMappingURL`` comment is dropped (the page has no file next to
    it). A script that contains ``</script`` or ``<!--`` would end or
    confuse the element, so it is refused rather than altered.

    Examples
    --------
    >>> script = inline_script("vendor/vega-embed.min.js")
    >>> "vegaEmbed" in script, "sourceMappingURL" in script
    (True, False)
    """
    return _inline_script(name)


@cache
def _inline_script(name: str) -> Markup:
    text = (files("api") / "static" / name).read_text(encoding="utf-8")
    text = re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", text)
    lowered = text.lower()
    if "</script" in lowered or "<!--" in lowered:
        raise ValueError(f"{name} contains '</script' or '<!--' and cannot be inlined")
    return Markup(text)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("api.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Invalid JSON (NaN) must fail here, not in the reader's browser.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "allow_nan": False}
    env.filters.update(money=money, number=number, ratio=ratio, percent=percent)
    env.filters["sort_value"] = sort_value
    return env


def render_report(data: ReportData) -> str:
    """Render the report page of ``data``.

    Parameters
    ----------
    data
        The numbers, from :func:`api.report.data.gather_report_data`.

    Returns
    -------
    str
        One HTML document: styles, scripts and chart data inline.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from attribution.report import _tiny_example
    >>> from ingest import Store, ingest_frame
    >>> from api.report.data import gather_report_data
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "report.duckdb")
    >>> for table, frame in zip(("touchpoints", "conversions", "costs"), _tiny_example()):
    ...     _ = ingest_frame(store, table, frame)
    >>> page = render_report(gather_report_data(store, models=["linear"]))
    >>> page.startswith("<!doctype html>"), "<b>$100.00</b>" in page
    (True, True)
    """
    cur = data.currency
    template = _environment().get_template("report.html.j2")
    return template.render(
        data=data,
        cur=cur,
        title=f"closedloop report · {data.start} to {data.end}",
        comparison=_comparison_tables(data),
        has_ci=f"{data.models[0]}_revenue_low" in data.comparison.columns,
        channels=_money_table(data.channels, "channel", data.channel_leads, cur, data),
        campaigns=_money_table(data.campaigns, "campaign", data.campaign_leads, cur, data),
        paths=_paths_table(data.paths, cur),
        funnel=_funnel_table(data.funnel, cur) if isinstance(data.funnel, dict) else None,
        budget=_budget_table(data.budget, cur) if isinstance(data.budget, dict) else None,
        charts=_chart_specs(data),
        comparison_models=COMPARISON_MODELS,
        scripts=[inline_script(name) for name in (*VENDOR_SCRIPTS, CHARTS_SCRIPT)],
    )


def _chart_specs(data: ReportData) -> dict[str, dict[str, Any]]:
    """Every chart of the report by name (the template's ``chart(name)``), with its rows."""
    cur = data.currency
    by, models = data.comparison_by, data.models[:COMPARISON_MODELS]
    comparison = data.comparison.select(by, *[f"{m}_revenue" for m in models])
    specs: dict[str, dict[str, Any]] = {
        "comparison": charts.comparison_chart(
            charts.records(comparison), by=by, models=models, currency=cur
        ),
        "path-lengths": charts.distribution_chart(
            charts.records(data.lengths.select("length", "conversions")),
            x="length",
            x_title="touches per journey",
            currency=cur,
        ),
        "time-lag": charts.distribution_chart(
            charts.records(data.time_lag.select("days", "conversions")),
            x="days",
            x_title="days from first touch to conversion",
            currency=cur,
        ),
    }
    for name, frame in (("channel", data.channels), ("campaign", data.campaigns)):
        if isinstance(frame, pl.DataFrame):
            with_spend = frame.filter(pl.col("spend") > 0)
            if with_spend.height and with_spend.height <= 30:
                rows = charts.records(with_spend.select(name, "roas", "spend", "revenue"))
                specs[f"{name}-roas"] = charts.roas_chart(rows, by=name, currency=cur)
    for metric in ("revenue", "spend"):
        rows = charts.records(data.trend.select("period", "channel", metric))
        specs[f"trend-{metric}"] = charts.trend_chart(
            rows, by="channel", metric=metric, currency=cur, top=9
        )
    if isinstance(data.funnel, dict):
        specs["funnel"] = charts.funnel_chart(_funnel_steps(data.funnel), currency=cur)
    curves, panels = _curve_rows(data.budget) if isinstance(data.budget, dict) else ([], [])
    if curves:
        # The legend lists the marks drawn (no saturation when no curve has one in view).
        drawn = {r["kind"] for r in curves}
        marks = [k for k in ("current", "recommended", "saturation") if k in drawn]
        specs["response-curves"] = charts.response_curves_chart(
            curves, currency=cur, panels=panels, marks=marks
        )
    return specs


def _comparison_tables(data: ReportData) -> tuple[Table, Table]:
    by, names, frame, cur = data.comparison_by, data.models, data.comparison, data.currency
    gaps = sorted(frame["max_share_gap"].to_list(), reverse=True)
    cut = gaps[min(2, len(gaps) - 1)] if gaps else 0
    hot = [g >= cut and g > 0 for g in frame["max_share_gap"].to_list()]
    has_ci = f"{names[0]}_revenue_low" in frame.columns
    rows = []
    for row in frame.to_dicts():
        cells: list[Cell] = [(row[by], row[by])]
        for name in names:
            text = money(row[f"{name}_revenue"], cur)
            if has_ci and row.get(f"{name}_revenue_low") is not None:
                low, high = row[f"{name}_revenue_low"], row[f"{name}_revenue_high"]
                text += f" [{money(low, cur)}–{money(high, cur)}]"
            cells.append((text, row[f"{name}_revenue"]))
        cells.append((percent(row["max_share_gap"]), row["max_share_gap"]))
        cells.append(
            (f"{row['max_share_model']} vs {row['min_share_model']}", row["max_share_gap"])
        )
        rows.append(cells)
    revenue = Table([by, *names, "largest gap", "models"], rows, hot)
    roas_rows: list[list[Cell]] = [
        [(r[by], r[by])] + [(ratio(r[f"{n}_roas"]), r[f"{n}_roas"]) for n in names]
        for r in frame.to_dicts()
    ]
    return revenue, Table([by, *names], roas_rows)


def _money_table(
    frame: pl.DataFrame | str,
    by: str,
    leads: Mapping[str, float],
    cur: str,
    data: ReportData | None = None,
) -> Table | str:
    if isinstance(frame, str):
        return frame
    value, cost = (data.value_label, data.cost_label) if data else ("revenue", "CPA")
    headers = [by, "spend", value, "ROAS", "ROI", "conversions", cost]
    calibrated = "revenue_calibrated" in frame.columns  # lift tests in the store
    if calibrated:
        headers += ["revenue (lift-calibrated)", "calibration factor"]
    if leads:
        headers += ["leads", "CPL"]
    rows = []
    for r in frame.to_dicts():
        cells: list[Cell] = [
            (r[by], r[by]),
            (money(r["spend"], cur), r["spend"]),
            (money(r["revenue"], cur), r["revenue"]),
            (ratio(r["roas"]), r["roas"]),
            (percent(r["roi"]), r["roi"]),
            (number(r["conversions"]), r["conversions"]),
            (money(r["cpa"], cur), r["cpa"]),
        ]
        if calibrated:
            factor = r["calibration_factor"]
            cells += [
                (money(r["revenue_calibrated"], cur), r["revenue_calibrated"]),
                (ratio(factor), factor),
            ]
        if leads:
            n = leads.get(r[by])
            cpl = r["spend"] / n if n and r["spend"] else None  # no spend: unknown, not free
            cells += [(number(n), n), (money(cpl, cur), cpl)]
        rows.append(cells)
    return Table(headers, rows)


def _paths_table(paths: pl.DataFrame, cur: str) -> Table:
    rows: list[list[Cell]] = [
        [
            (r["path"], r["path"]),
            (number(r["journeys"], 0), r["journeys"]),
            (number(r["conversions"], 0), r["conversions"]),
            (percent(r["conversion_rate"]), r["conversion_rate"]),
            (money(r["revenue"], cur), r["revenue"]),
            (number(r["average_length"]), r["average_length"]),
            (number(r["average_days_to_conversion"]), r["average_days_to_conversion"]),
        ]
        for r in paths.to_dicts()
    ]
    headers = ["path", "journeys", "conversions", "rate", "revenue", "avg touches", "avg days"]
    return Table(headers, rows)


def _funnel_steps(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the funnel chart's bars: each stage the data has, with its persons.

    A stage absent from the data has a null count and no bar (never a filled-in one).

    Examples
    --------
    >>> _funnel_steps({"count_columns": ["leads", "mqls", "won"],
    ...     "totals": {"leads": None, "mqls": 8000, "won": 842}})
    [{'step': 'MQLs', 'count': 8000}, {'step': 'won', 'count': 842}]
    """
    totals = report["totals"]
    labels = dict(FUNNEL_STEPS)
    keys = report.get("count_columns") or [key for key, _ in FUNNEL_STEPS]
    return [
        {"step": labels.get(key, key), "count": totals[key]}
        for key in keys
        if totals.get(key) is not None
    ]


def _funnel_table(report: Mapping[str, Any], cur: str) -> Table:
    def count(v: float | None) -> str:
        return number(v, 0)

    def cash(v: float | None) -> str:
        return money(v, cur)

    # The funnel's entry stage: leads, or the first stage of the data's own funnel (MQLs).
    entry = (report.get("count_columns") or ["leads"])[0]
    cols: list[tuple[str, Callable[[float | None], str]]] = [
        (entry, count), ("won", count), ("win_rate", percent),
        ("lead_conversion_rate", percent), ("revenue", cash), ("cpl", cash), ("cac", cash),
    ]  # fmt: skip
    rows = []
    for r in report["data"]:
        cells: list[Cell] = [(r["channel"], r["channel"])]
        for key, fn in cols:
            value = r.get(key)
            cells.append((fn(value), value))
        rows.append(cells)
    label = dict(FUNNEL_STEPS).get(entry, entry)
    headers = ["channel", label, "won", "win rate", f"{label} → won", "revenue", "CPL", "CAC"]
    return Table(headers, rows)


def _budget_table(plan: Mapping[str, Any], cur: str) -> Table:
    rows: list[list[Cell]] = []
    for r in plan["data"]:
        change = r["change_pct"] / 100 if r["change_pct"] is not None else None
        rows.append(
            [
                (r["channel"], r["channel"]),
                (r["status"], r["status"]),
                (money(r["current_spend"], cur), r["current_spend"]),
                (money(r["recommended_spend"], cur), r["recommended_spend"]),
                (percent(change), r["change_pct"]),
                (money(r["current_revenue"], cur), r["current_revenue"]),
                (money(r["predicted_revenue"], cur), r["predicted_revenue"]),
                (ratio(r["marginal_roas"]), r["marginal_roas"]),
            ]
        )
    headers = ["channel", "status", "current", "recommended", "change", "revenue now",
               "predicted", "marginal ROAS"]  # fmt: skip
    return Table(headers, rows)


def _curve_rows(plan: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Return the response-curve chart's rows and its panels in order (curves first).

    Every channel that spent gets a panel: those without a curve show their
    observed weeks and their spend as a dashed line, titled "no curve";
    channels that never spent get none.

    Examples
    --------
    >>> plan = {"data": [
    ...     {"channel": "A", "points": {"observed": [{"spend": 1.0, "revenue": 2.0}],
    ...         "curve": [], "marks": [{"label": "current", "spend": 1.0, "revenue": None}]}},
    ...     {"channel": "B", "points": {"observed": [], "curve": [{"spend": 0.0, "revenue": 0.0}],
    ...         "marks": []}},
    ...     {"channel": "C", "points": {"observed": [{"spend": 0.0, "revenue": 2.0}],
    ...         "curve": [], "marks": []}}]}
    >>> rows, panels = _curve_rows(plan)
    >>> panels, sorted({r["panel"] for r in rows})
    (['B', 'A · no curve'], ['A · no curve', 'B'])
    """
    with_curve: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    panels: tuple[list[str], list[str]] = ([], [])
    for r in plan["data"]:
        points = r.get("points") or {}
        key = r["channel"]
        if points.get("curve"):
            with_curve += charts.curve_rows(key, points)
            panels[0].append(key)
        elif any(p["spend"] > 0 for p in points.get("observed") or []):
            label = f"{key} · no curve"
            without += charts.curve_rows(key, points, panel=label)
            panels[1].append(label)
    return list(json_ready(with_curve + without)), panels[0] + panels[1]


__all__ = [
    "Table",
    "inline_script",
    "money",
    "number",
    "percent",
    "ratio",
    "render_report",
    "sort_value",
]
