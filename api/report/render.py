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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from api.report import charts
from api.report.data import ReportData, funnel_steps
from api.report.frames import is_other
from attribution.export import json_ready
from attribution.models import model_label
from attribution.numbers import NULL_MARK, format_number

SYMBOLS = charts.SYMBOLS
VENDOR_SCRIPTS = ("vendor/vega.min.js", "vendor/vega-lite.min.js", "vendor/vega-embed.min.js")
"""The vendored scripts the report inlines (paths under ``api/static``), in load order."""
CHARTS_SCRIPT = "charts.js"
"""Draws every embedded spec with vega-embed; shared with the dashboard."""
FUNNEL_STEPS = (("leads", "leads"), ("mqls", "MQLs"), ("sqls", "SQLs"),
                ("opportunities", "opportunities"), ("won", "won"))  # fmt: skip
SHARE_TOLERANCE = 1e-9
"""A gap between models' shares below this is float noise, not a disagreement to highlight."""
COMPARISON_MODELS = 8
"""At most this many models in the comparison chart (the table has them all)."""

Cell = tuple[str, Any]
"""A table cell: the text shown and the raw value it sorts by."""


@dataclass(frozen=True)
class Table:
    """A sortable table: headers, rows of :data:`Cell`, which rows to highlight or set apart.

    ``groups`` (optional) is a header row above ``headers``: ``(label, span)``
    pairs covering every column. ``other`` flags the Other row that folds
    the rows past the top N.
    """

    headers: list[str]
    rows: list[list[Cell]]
    hot: list[bool] = field(default_factory=list)
    other: list[bool] = field(default_factory=list)
    groups: list[tuple[str, int]] = field(default_factory=list)


Column = tuple[str, str, str]
"""A table column: the frame's column, its header and its kind (:mod:`attribution.numbers`)."""


def cell(value: Any, kind: str, currency: str | None = None) -> Cell:
    """Return a table cell: ``value`` in the number style of ``kind``, and ``value`` to sort by.

    Examples
    --------
    >>> cell(1234.5, "money", "USD"), cell(0.4201, "rate"), cell(None, "ratio")
    (('$1,234.50', 1234.5), ('42.0%', 0.4201), ('—', None))
    >>> cell("Email", "text")
    ('Email', 'Email')
    """
    if kind == "text":
        return (NULL_MARK if value is None else str(value), value)
    return (format_number(value, kind, currency or None), value)


def frame_table(
    frame: pl.DataFrame,
    columns: Sequence[Column],
    currency: str,
    *,
    key: str | None = None,
    groups: Sequence[tuple[str, int]] = (),
) -> Table:
    """Return the sortable table of ``columns`` of ``frame`` (absent columns left out).

    The row whose ``key`` is an Other row (:func:`api.report.frames.is_other`)
    is flagged, so the page sets it apart.

    Examples
    --------
    >>> frame = pl.DataFrame({"channel": ["Email", "Other (2 rows)"], "revenue": [10.0, 5.0]})
    >>> t = frame_table(frame, [("channel", "channel", "text"), ("revenue", "revenue", "money"),
    ...     ("spend", "spend", "money")], "EUR", key="channel")
    >>> t.headers, t.rows[0], t.other
    (['channel', 'revenue'], [('Email', 'Email'), ('€10.00', 10.0)], [False, True])
    """
    shown = [c for c in columns if c[0] in frame.columns]
    rows = [[cell(r[name], kind, currency) for name, _, kind in shown] for r in frame.to_dicts()]
    other = [is_other(k) for k in frame[key].to_list()] if key else []
    return Table([header for _, header, _ in shown], rows, other=other, groups=list(groups))


def fmt(value: Any, kind: str, currency: str | None = None) -> str:
    """Jinja filter: ``value`` in the number style of ``kind`` (:func:`attribution.numbers.format_number`).

    Examples
    --------
    >>> fmt(2205582.981, "money", "USD"), fmt(4.0127, "ratio"), fmt(None, "rate")
    ('$2,205,582.98', '4.01', '—')
    """  # noqa: E501
    return format_number(value, kind, currency or None)


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
    env.filters.update(fmt=fmt, sort_value=sort_value, label=model_label)
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
    keys = (data.by, *[k for k in ("channel", "campaign") if k != data.by])
    frames = {"channel": data.channels, "campaign": data.campaigns}
    return template.render(
        data=data,
        cur=cur,
        title=f"closedloop report · {data.start} to {data.end}",
        model_name=model_label(data.model),
        compare_name=model_label(data.compare_model) if data.compare_model else None,
        comparison=_comparison_tables(data),
        single_touch=single_touch(data.lengths),
        change=_change_table(data),
        has_ci=f"{data.models[0]}_revenue_low" in data.comparison.columns,
        tables=[(key, _money_table(frames[key], key, cur, data)) for key in keys],
        paths=_paths_table(data.paths, cur),
        touches=_touch_table(data.touch_table, cur),
        touch_total=_touch_total(data.touch_positions),
        touch_measure=touch_measure(data.touch_positions),
        positions=_position_tables(data.positions, cur),
        funnel=_funnel_table(data, cur) if isinstance(data.funnel, dict) else None,
        budget=_budget_table(data.budget, cur) if isinstance(data.budget, dict) else None,
        kpis=_kpis(data),
        charts=_chart_specs(data),
        comparison_models=COMPARISON_MODELS,
        scripts=[inline_script(name) for name in (*VENDOR_SCRIPTS, CHARTS_SCRIPT)],
    )


def single_touch(lengths: pl.DataFrame) -> bool:
    """Return whether every converting path has one touch (every model then credits alike).

    Examples
    --------
    >>> single_touch(pl.DataFrame({"bucket": ["1", "2"], "conversions": [5.0, 0.0]}))
    True
    >>> single_touch(pl.DataFrame({"bucket": ["1", "2"], "conversions": [5.0, 1.0]}))
    False
    """
    longer = lengths.filter(pl.col("bucket") != "1")["conversions"].sum()
    return bool(lengths["conversions"].sum()) and not longer


def _kpis(data: ReportData) -> list[tuple[str, str, str | None]]:
    """Return the headline: (value shown, label, change from the previous period or None)."""
    totals, cur = data.totals, data.currency
    shown = [("revenue", data.value_label, "money"), ("conversions", "conversions", "conversions")]
    if data.has_costs:
        shown[1:1] = [("spend", "spend", "money"), ("roas", "ROAS", "ratio")]
        shown.append(("cpa", data.cost_label, "money"))
    previous = isinstance(data.previous, dict)
    return [
        (
            format_number(totals.get(key), kind, cur or None),
            label,
            _change_text(totals.get(f"{key}_change")) if previous else None,
        )
        for key, label, kind in shown
    ]


def _change_text(value: float | None) -> str:
    """Return a change as the page shows it: ``+12.3%``, ``−4.0%`` or ``—``.

    Examples
    --------
    >>> _change_text(0.123), _change_text(-0.04), _change_text(None)
    ('+12.3%', '−4.0%', '—')
    """
    text = format_number(value, "rate")
    if value is None or text == NULL_MARK:
        return text
    return ("+" + text) if value >= 0 else "−" + text.lstrip("-")


def _chart_specs(data: ReportData) -> dict[str, dict[str, Any]]:
    """Every chart of the report by name (the template's ``chart(name)``), with its rows."""
    cur = data.currency
    by, models = data.comparison_by, data.models[:COMPARISON_MODELS]
    comparison = data.comparison.select(by, *[f"{m}_revenue" for m in models])
    labels = {m: model_label(m) for m in models}
    specs: dict[str, dict[str, Any]] = {
        "comparison": charts.comparison_chart(
            charts.records(comparison), by=by, models=models, currency=cur, labels=labels
        ),
        "path-lengths": charts.bucket_chart(
            charts.records(data.lengths.select("bucket", "conversions")),
            x_title="touches per converting path",
            currency=cur,
        ),
        "time-lag": charts.bucket_chart(
            charts.records(data.time_lag.select("bucket", "conversions")),
            x_title="days from first touch to conversion",
            currency=cur,
        ),
    }
    touches = data.touch_positions
    if touches is not None and touches.height:
        specs["touch-positions"] = charts.touch_positions_chart(
            charts.records(touches),
            by=touches.columns[0],
            measure=touch_measure(touches),
            currency=cur,
        )
    frames = {"channel": data.channels, "campaign": data.campaigns}
    for name, frame in frames.items():
        if isinstance(frame, pl.DataFrame) and data.has_costs:
            with_spend = frame.filter((pl.col("spend") > 0) & pl.col("roas").is_not_null())
            if with_spend.height and with_spend.height <= 30:
                rows = charts.records(with_spend.select(name, "roas", "spend", "revenue"))
                specs[f"{name}-roas"] = charts.roas_chart(rows, by=name, currency=cur)
    trend_by = data.by if data.by in data.trend.columns else "channel"
    for metric in ("revenue", "spend") if data.has_costs else ("revenue",):
        rows = charts.records(data.trend.select("period", trend_by, metric))
        specs[f"trend-{metric}"] = charts.trend_chart(
            rows, by=trend_by, metric=metric, currency=cur, top=9
        )
    if isinstance(data.funnel, dict):
        specs["funnel"] = charts.funnel_chart(_funnel_bars(data.funnel), currency=cur)
    curves, panels = _curve_rows(data.budget) if isinstance(data.budget, dict) else ([], [])
    if curves:
        # The legend lists the marks drawn (no saturation when no curve has one in view).
        drawn = {r["kind"] for r in curves}
        marks = [k for k in ("current", "recommended", "saturation") if k in drawn]
        specs["response-curves"] = charts.response_curves_chart(
            curves, currency=cur, panels=panels, marks=marks
        )
    return specs


def _comparison_tables(data: ReportData) -> tuple[Table, Table | None]:
    """Every model's revenue per key (largest disagreements highlighted), and ROAS per model."""
    by, names, frame, cur = data.comparison_by, data.models, data.comparison, data.currency
    gaps = [g for g in frame["max_share_gap"].to_list() if g is not None]
    cut = sorted(gaps, reverse=True)[min(2, len(gaps) - 1)] if gaps else 0
    # Shares equal but for float summation order are no disagreement.
    hot = [g is not None and g >= cut and g > SHARE_TOLERANCE for g in frame["max_share_gap"]]
    has_ci = f"{names[0]}_revenue_low" in frame.columns
    rows = []
    for row in frame.to_dicts():
        cells: list[Cell] = [(row[by], row[by])]
        for name in names:
            text = fmt(row[f"{name}_revenue"], "money", cur)
            if has_ci and row.get(f"{name}_revenue_low") is not None:
                low, high = row[f"{name}_revenue_low"], row[f"{name}_revenue_high"]
                text += f" [{fmt(low, 'money', cur)}–{fmt(high, 'money', cur)}]"
            cells.append((text, row[f"{name}_revenue"]))
        cells.append(cell(row["max_share_gap"], "rate"))
        pair = (row["max_share_model"], row["min_share_model"])
        text = f"{model_label(pair[0])} vs {model_label(pair[1])}" if all(pair) else NULL_MARK
        cells.append((text, row["max_share_gap"]))
        rows.append(cells)
    other = [is_other(k) for k in frame[by].to_list()]
    labels = [model_label(n) for n in names]
    revenue = Table([by, *labels, "largest gap", "models"], rows, hot, other)
    if not data.has_costs:
        return revenue, None
    roas_rows: list[list[Cell]] = [
        [(r[by], r[by])] + [cell(r[f"{n}_roas"], "ratio") for n in names] for r in frame.to_dicts()
    ]
    return revenue, Table([by, *labels], roas_rows, other=other)


def _change_table(data: ReportData) -> Table | None:
    """GA4's model comparison: conversions, revenue (and ROAS) under two models, % change."""
    frame = data.change
    if frame is None or data.compare_model is None:
        return None
    first, second = model_label(data.model), model_label(data.compare_model)
    columns: list[Column] = [(data.by, data.by, "text")]
    groups: list[tuple[str, int]] = [("", 1)]
    # The comparison credits revenue at every stage (a stage's value is the tables' alone).
    metrics = [("conversions", "conversions", "conversions"), ("revenue", "revenue", "money")]
    metrics += [("roas", "ROAS", "ratio")] if data.has_costs else []
    for metric, title, kind in metrics:
        columns += [
            (f"first_{metric}", first, kind),
            (f"second_{metric}", second, kind),
            (f"{metric}_change", "% change", "rate"),
        ]
        groups.append((title, 3))
    return frame_table(frame, columns, data.currency, key=data.by, groups=groups)


def _money_table(frame: pl.DataFrame | str, by: str, cur: str, data: ReportData) -> Table | str:
    """Return a channel or campaign table; spend columns only where costs were loaded."""
    if isinstance(frame, str):
        return frame
    value, cost = data.value_label, data.cost_label
    costs = data.has_costs
    columns: list[Column] = [
        (by, by, "text"),
        *([("spend", "spend", "money")] if costs else []),
        ("revenue", value, "money"),
        ("revenue_previous", f"{value}, previous period", "money"),
        ("revenue_change", f"{value} change", "rate"),
        *([("roas", "ROAS", "ratio"), ("roas_previous", "ROAS, previous period", "ratio"),
           ("roi", "ROI", "rate")] if costs else []),
        ("conversions", "conversions", "conversions"),
        ("conversions_previous", "conversions, previous period", "conversions"),
        ("conversions_change", "conversions change", "rate"),
        *([("cpa", cost, "money")] if costs else []),
        ("revenue_calibrated", "revenue (lift-calibrated)", "money"),
        ("calibration_factor", "calibration factor", "ratio"),
        ("leads", "leads", "conversions"),
        *([("cpl", "CPL", "money")] if costs else []),
    ]  # fmt: skip
    return frame_table(frame, columns, cur, key=by)


def _paths_table(paths: pl.DataFrame, cur: str) -> Table:
    columns: list[Column] = [
        ("path", "path", "text"),
        ("journeys", "journeys", "count"),
        ("conversions", "conversions", "count"),
        ("conversion_rate", "rate", "rate"),
        ("revenue", "revenue", "money"),
        ("average_length", "avg touches", "number"),
        ("average_days_to_conversion", "avg days", "days"),
    ]
    return frame_table(paths, columns, cur, key="path")


def _touch_table(frame: pl.DataFrame | None, cur: str) -> Table | None:
    """Return the early / middle / late table: conversions and revenue per part, per key."""
    if frame is None or frame.is_empty():
        return None
    by = frame.columns[0]
    columns: list[Column] = [(by, by, "text")]
    groups: list[tuple[str, int]] = [("", 1)]
    for part in charts.PARTS:
        columns += [
            (f"{part}_conversions", "conversions", "conversions"),
            (f"{part}_revenue", "revenue", "money"),
        ]
        groups.append((charts.PART_LABELS[part], 2))
    return frame_table(frame, columns, cur, key=by, groups=groups)


def touch_measure(frame: pl.DataFrame | None) -> str:
    """Return what the early / middle / late chart shows: revenue, or conversions where none.

    Examples
    --------
    >>> touch_measure(pl.DataFrame({"early_revenue": [0.0], "middle_revenue": [0.0],
    ...     "late_revenue": [0.0]}))
    'conversions'
    """
    if frame is None or frame.is_empty():
        return "revenue"
    revenue = frame.select(pl.sum_horizontal(f"{p}_revenue" for p in charts.PARTS).sum()).item()
    return "revenue" if revenue else "conversions"


def _touch_total(frame: pl.DataFrame | None) -> dict[str, float]:
    """Return what each part of the early / middle / late view sums to (its late column's).

    Examples
    --------
    >>> _touch_total(pl.DataFrame({"late_conversions": [1.0, 2.0], "late_revenue": [5.0, 5.0]}))
    {'conversions': 3.0, 'revenue': 10.0}
    """
    if frame is None:
        return {"conversions": 0.0, "revenue": 0.0}
    return {m: float(frame[f"late_{m}"].sum()) for m in ("conversions", "revenue")}


def _position_tables(positions: Mapping[str, Any] | str | None, cur: str) -> Any:
    """Return ordered Shapley's credit by position as two tables (revenue, conversions).

    ``None`` (no position view) and a string (why not) pass through; else a
    dict with the answer's ``convention``, ``max_position`` and ``by`` and a
    :class:`Table` per measure: positions down, keys across, a total column.
    """
    if not isinstance(positions, Mapping):
        return positions
    tables: dict[str, Any] = {k: positions[k] for k in ("convention", "max_position", "by")}
    for measure, kind in (("revenue", "money"), ("conversions", "conversions")):
        wide: pl.DataFrame = positions[measure]
        columns: list[Column] = [("position", "position", "text")]
        columns += [(c, c, kind) for c in wide.columns[1:]]
        tables[measure] = frame_table(wide, columns, cur)
    return tables


def _funnel_bars(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the funnel chart's bars: each stage the data has, its persons, the step's rate.

    A stage absent from the data has a null count and no bar (never a
    filled-in one); ``rate`` is the share of the previous stage's persons
    who reached this one (null for the first bar).

    Examples
    --------
    >>> _funnel_bars({"stages": ["lead", "mql", "closed_won"], "lost_stages": [],
    ...     "count_columns": ["leads", "mqls", "won"],
    ...     "totals": {"leads": 100, "mqls": 42, "won": 7, "lead_to_mql_rate": 0.42,
    ...         "mql_to_won_rate": 1 / 6}})  # doctest: +NORMALIZE_WHITESPACE
    [{'step': 'leads', 'count': 100, 'rate': None},
     {'step': 'MQLs', 'count': 42, 'rate': 0.42},
     {'step': 'won', 'count': 7, 'rate': 0.16666666666666666}]
    """
    totals = report["totals"]
    labels = dict(FUNNEL_STEPS)
    keys = report.get("count_columns") or [key for key, _ in FUNNEL_STEPS]
    rates: list[str | None] = [None, *[rate for rate, _ in funnel_steps(report)]]
    return [
        {"step": labels.get(key, key), "count": totals[key], "rate": totals.get(rate or "")}
        for key, rate in zip(keys, rates, strict=False)
        if totals.get(key) is not None
    ]


def _funnel_table(data: ReportData, cur: str) -> Table | str:
    """Return the funnel's groups: stage counts, stage-to-stage rates, win rate, money."""
    report = data.funnel
    assert isinstance(report, dict)
    assert data.funnel_rows is not None
    by = data.funnel_by
    labels = dict(FUNNEL_STEPS)
    counts = list(report.get("count_columns") or ["leads"])
    steps = funnel_steps(report)
    entry = steps[0][1].split(" → ")[0] if steps else labels.get(counts[0], counts[0])
    columns: list[Column] = [(by, by.replace("_", " "), "text")]
    columns += [(c, labels.get(c, c), "count") for c in counts]
    columns += [(rate, title, "rate") for rate, title in steps]
    columns += [
        ("lead_conversion_rate", f"{entry} → won", "rate"),
        ("win_rate", "win rate", "rate"),
        ("revenue", "revenue", "money"),
        *([("cpl", "CPL", "money"), ("cac", "CAC", "money")] if data.has_costs else []),
    ]
    if len(counts) == 2:  # one step: entry → won is that step's rate already
        columns = [c for c in columns if c[0] != "lead_conversion_rate"]
    rows = data.funnel_rows
    # A rate the data cannot give (no losing stage: no win rate) is a note, not a column of —.
    unknown = {
        c for c in rows.columns if c.endswith("_rate") and rows[c].null_count() == rows.height
    }
    columns = [c for c in columns if c[0] not in unknown]
    return frame_table(rows, columns, cur, key=by)


def _budget_table(plan: Mapping[str, Any], cur: str) -> Table:
    frame = pl.DataFrame(plan["data"], infer_schema_length=None)
    frame = frame.with_columns(
        _unsigned_zero((pl.col("change_pct") / 100).round(3)).alias("change")
        if "change_pct" in frame.columns
        else []
    )
    columns: list[Column] = [
        ("channel", "channel", "text"),
        ("status", "status", "text"),
        ("current_spend", "current", "money"),
        ("recommended_spend", "recommended", "money"),
        ("change", "change", "rate"),
        ("current_revenue", "revenue now", "money"),
        ("predicted_revenue", "predicted", "money"),
        ("marginal_roas", "marginal ROAS", "ratio"),
    ]
    return frame_table(frame, columns, cur)


def _unsigned_zero(rate: pl.Expr) -> pl.Expr:
    """Return ``rate`` with -0.0 as 0.0: a channel held in place reads ``0.0%``, not ``-0.0%``.

    Examples
    --------
    >>> frame = pl.DataFrame({"c": [-0.0, -0.25, None]})
    >>> frame.select(_unsigned_zero(pl.col("c")))["c"].to_list()
    [0.0, -0.25, None]
    """
    return pl.when(rate == 0).then(rate.abs()).otherwise(rate)


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
    "Column",
    "Table",
    "cell",
    "fmt",
    "frame_table",
    "inline_script",
    "render_report",
    "single_touch",
    "sort_value",
    "touch_measure",
]
