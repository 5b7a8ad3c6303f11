"""The charts of the report and the dashboard: Vega-Lite specs built with Altair.

One function per chart, each returning a Vega-Lite spec as a dict
(``chart.to_dict()``). Every spec reads its rows from one named dataset,
:data:`TABLE`: given ``rows``, the function puts them in the spec's top-level
``datasets`` (the report embeds the spec as is); given ``None``, it returns
the spec without rows, a template the dashboard fills with the rows of the
``/v1`` API (``spec.datasets = {table: rows}``), fetched from
``GET /dashboard/charts.json`` (:func:`chart_templates`). Both draw them with
the vendored vega-embed (``api/static/charts.js``), so the report and the
dashboard share one chart implementation and one look.

Money axes and tooltips use d3 ``$`` formats with a number locale whose
currency symbol is the store's (:func:`number_locale`); time axes show the
year; rows are filtered, ranked and folded by Vega-Lite transforms in the
spec, so the rows embedded are the plain numbers of the API and the tables.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import polars as pl

from attribution.constants import NO_TOUCHPOINT
from attribution.export import json_rows

TABLE = "table"
"""The name of the dataset every spec reads."""

PALETTE = (
    "#2f6fed", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a",
    "#0b7285", "#5f3dc4", "#a61e4d", "#868e96", "#d9480f",
)  # fmt: skip
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'

MONEY = "$,.2f"
"""Tooltip format of amounts (the currency symbol comes from the spec's locale)."""
MONEY_AXIS = "$~s"
"""Axis format of amounts: $20k, $1.5M."""
COUNT_AXIS = ",~f"
"""Axis format of counts: 1,500."""
MONEY_LABEL = f"format(datum.value, '{MONEY_AXIS}')"
"""Each money tick with its own SI prefix ($0, $500k, $1M; d3 alone gives all the largest's)."""
DATE = "%b %d, %Y"

Rows = Sequence[Mapping[str, Any]] | None
"""A chart's rows, or ``None`` for a template without rows."""


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Return a frame's rows as JSON-ready dicts: ISO dates, ``None`` for NaN and infinities.

    Examples
    --------
    >>> import datetime as dt
    >>> frame = pl.DataFrame({"period": [dt.date(2025, 1, 6)], "roas": [float("inf")]})
    >>> records(frame)
    [{'period': '2025-01-06', 'roas': None}]
    """
    return json_rows(frame, iso_dates=True)


def number_locale(currency: str = "USD") -> dict[str, Any]:
    """Return the d3 number locale of ``currency``: what ``$`` prints in formats.

    Examples
    --------
    >>> number_locale("EUR")["currency"]
    ['€', '']
    >>> number_locale("CHF")["currency"][0].strip()
    'CHF'
    >>> number_locale("")["currency"]
    ['', '']
    """
    symbol = SYMBOLS.get(currency, f"{currency}\N{NO-BREAK SPACE}" if currency else "")
    return {"decimal": ".", "thousands": ",", "grouping": [3], "currency": [symbol, ""]}


def comparison_chart(
    rows: Rows,
    *,
    by: str,
    models: Sequence[str],
    currency: str = "USD",
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Draw grouped bars: each model's attributed revenue per key (``GET /v1/compare`` rows).

    The rows are the comparison's wide rows (``<model>_revenue`` columns);
    the spec folds them to one bar per model, named by ``labels``
    (:func:`attribution.models.model_label`; default the registry names),
    and leaves out the ``(no touchpoint)`` row.

    Examples
    --------
    >>> rows = [{"channel": "Email", "linear_revenue": 50.0, "last_touch_revenue": 0.0}]
    >>> spec = comparison_chart(rows, by="channel", models=["linear", "last_touch"],
    ...     labels={"linear": "Linear", "last_touch": "Last touch"})
    >>> spec["mark"]["type"], spec["encoding"]["xOffset"]["field"], spec["datasets"]["table"]
    ('bar', 'model', [{'channel': 'Email', 'linear_revenue': 50.0, 'last_touch_revenue': 0.0}])
    >>> spec["encoding"]["color"]["sort"]
    ['Linear', 'Last touch']
    """
    keys = [] if rows is None else [r[by] for r in rows if r[by] != NO_TOUCHPOINT]
    names = {m: (labels or {}).get(m, m) for m in models}
    model = "datum.column"
    for name, label in reversed(names.items()):
        model = f"datum.column == {_js_string(name + '_revenue')} ? {_js_string(label)} : {model}"
    order = list(names.values())
    chart = (
        _chart()
        .transform_filter(alt.datum[by] != NO_TOUCHPOINT)
        .transform_fold([f"{m}_revenue" for m in models], as_=["column", "revenue"])
        .transform_calculate(model=model)
        .mark_bar()
        .encode(
            x=alt.X(f"{by}:N", sort=None, title=None, axis=_key_axis(len(keys), x=True)),
            xOffset=alt.XOffset("model:N", sort=order),
            y=alt.Y("revenue:Q", title="attributed revenue", axis=_money_axis(), scale=_nice()),
            color=alt.Color("model:N", sort=order, title="model", legend=_legend()),
            tooltip=[
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip("model:N"),
                alt.Tooltip("revenue:Q", format=MONEY),
            ],
        )
        .properties(width="container", height=280)
    )
    return _finish(chart, rows, currency)


def roas_chart(rows: Rows, *, by: str, currency: str = "USD") -> dict[str, Any]:
    """Horizontal bars: ROAS per key with spend, labelled ``4.01``, highest first.

    Rows without spend are left out (their ROAS is undefined); the labels have
    the ratio style of :mod:`attribution.numbers` (two decimals, no ``x``).

    Examples
    --------
    >>> rows = [{"channel": "Email", "roas": 5.0, "spend": 10.0, "revenue": 50.0}]
    >>> spec = roas_chart(rows, by="channel")
    >>> [layer["mark"]["type"] for layer in spec["layer"]], spec["height"]
    (['bar', 'text'], {'step': 24})
    """
    base = (
        _chart()
        .transform_filter("datum.spend > 0 && isFinite(datum.roas)")
        .transform_calculate(label="format(datum.roas, ',.2f')")
        .encode(
            y=alt.Y(f"{by}:N", sort="-x", title=None, axis=_key_axis(0, x=False)),
            x=alt.X(
                "roas:Q",
                title="ROAS (attributed revenue / spend)",
                axis=alt.Axis(format="~r", tickCount=6, tickMinStep=0.5),
                scale=_nice(),
            ),
            tooltip=[
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip("label:N", title="ROAS"),
                alt.Tooltip("revenue:Q", format=MONEY, title="revenue"),
                alt.Tooltip("spend:Q", format=MONEY, title="spend"),
            ],
        )
    )
    bars = base.mark_bar(color=PALETTE[0])
    labels = base.mark_text(align="left", dx=4, color="#475467").encode(text="label:N")
    chart = alt.layer(bars, labels).properties(width="container", height=alt.Step(24))
    return _finish(chart, rows, currency)


def distribution_chart(
    rows: Rows,
    *,
    x: str,
    x_title: str,
    y: str = "conversions",
    y_title: str = "conversions",
    currency: str = "USD",
) -> dict[str, Any]:
    """Bars of ``y`` per whole number ``x`` (path length in touches, days of lag).

    Each bar spans ``x ± 0.5`` on a linear axis, so gaps (days without a
    conversion) show as gaps and the ticks are whole numbers.

    Examples
    --------
    >>> rows = [{"length": 1, "conversions": 5.0}]
    >>> spec = distribution_chart(rows, x="length", x_title="touches")
    >>> spec["encoding"]["x"]["field"], spec["encoding"]["x2"]["field"], spec["mark"]["type"]
    ('from', 'to', 'bar')
    """
    chart = (
        _chart()
        .transform_calculate(**{"from": f"datum['{x}'] - 0.45", "to": f"datum['{x}'] + 0.45"})
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X(
                "from:Q",
                title=x_title,
                axis=alt.Axis(format="d", tickMinStep=1, tickCount=10),
                scale=alt.Scale(nice=False, zero=False, padding=6),
            ),
            x2="to:Q",
            y2=alt.datum(0),
            y=alt.Y(
                f"{y}:Q",
                title=y_title,
                axis=alt.Axis(format=COUNT_AXIS, tickCount=5, tickMinStep=1),
                scale=_nice(5),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:Q", title=x_title, format=",d"),
                alt.Tooltip(f"{y}:Q", title=y_title, format=",.1~f"),
            ],
        )
        .properties(width="container", height=180)
    )
    return _finish(chart, rows, currency)


def bucket_chart(
    rows: Rows,
    *,
    x_title: str,
    x: str = "bucket",
    y: str = "conversions",
    y_title: str = "conversions",
    currency: str = "USD",
) -> dict[str, Any]:
    """Bars of ``y`` per GA4 bucket (path length 1 … 7, 8-11, 12+; time lag from 0).

    One bar per bucket in the rows' order (:func:`attribution.buckets.bucket_order`),
    empty buckets included, so a long tail reads as one bar, not a hundred.

    Examples
    --------
    >>> rows = [{"bucket": "1", "conversions": 5.0}, {"bucket": "12+", "conversions": 1.0}]
    >>> spec = bucket_chart(rows, x_title="touches")
    >>> spec["encoding"]["x"]["sort"], spec["encoding"]["x"]["type"], spec["mark"]["type"]
    (['1', '12+'], 'ordinal', 'bar')
    """
    order = None if rows is None else [r[x] for r in rows]
    chart = (
        _chart()
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X(f"{x}:O", sort=order, title=x_title, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                f"{y}:Q",
                title=y_title,
                axis=alt.Axis(format=COUNT_AXIS, tickCount=5, tickMinStep=1),
                scale=_nice(5),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:O", title=x_title),
                alt.Tooltip(f"{y}:Q", title=y_title, format=",.1~f"),
            ],
        )
        .properties(width="container", height=180)
    )
    return _finish(chart, rows, currency)


def funnel_chart(rows: Rows, *, currency: str = "USD") -> dict[str, Any]:
    """Horizontal bars of persons per funnel step, in the rows' order, with counts.

    The rows are ``{"step": "leads", "count": 2067}``, first step first; a
    row's optional ``rate`` (the share of the previous step's persons that
    reached this one) is printed after its count: ``1,330 · 64.3%``.

    Examples
    --------
    >>> spec = funnel_chart([{"step": "leads", "count": 10}, {"step": "won", "count": 2}])
    >>> spec["layer"][0]["encoding"]["y"]["sort"], spec["datasets"]["table"][1]
    (None, {'step': 'won', 'count': 2})
    >>> spec["layer"][1]["encoding"]["text"]["field"]
    'label'
    """
    base = _chart().encode(
        y=alt.Y("step:N", sort=None, title=None, axis=_key_axis(0, x=False)),
        x=alt.X(
            "count:Q",
            title="persons",
            axis=alt.Axis(format=COUNT_AXIS, tickCount=6, tickMinStep=1),
            scale=_nice(),
        ),
        tooltip=[alt.Tooltip("step:N"), alt.Tooltip("count:Q", format=",d", title="persons")],
    )
    bars = base.mark_bar(color=PALETTE[0])
    labels = (
        base.transform_calculate(
            label="format(datum.count, ',d') + (isValid(datum.rate) ? ' · ' + "
            "format(datum.rate, '.1%') : '')"
        )
        .mark_text(align="left", dx=4, color="#475467")
        .encode(text=alt.Text("label:N"))
    )
    chart = alt.layer(bars, labels).properties(width="container", height=alt.Step(28))
    return _finish(chart, rows, currency)


def trend_chart(
    rows: Rows, *, by: str, metric: str, currency: str = "USD", top: int = 8
) -> dict[str, Any]:
    """Lines of a money ``metric`` per key and week (``GET /v1/timeseries`` rows).

    The spec keeps the ``top`` keys by total (none that are all zero),
    legend ordered by total; the time axis shows the year.

    Examples
    --------
    >>> rows = [{"period": "2025-01-06", "channel": "Email", "revenue": 10.0}]
    >>> spec = trend_chart(rows, by="channel", metric="revenue")
    >>> spec["encoding"]["x"]["timeUnit"], spec["encoding"]["x"]["axis"]["format"]
    ('utcyearmonthdate', '%b %d, %Y')
    """
    chart = (
        _chart()
        .transform_filter(f"isValid(datum['{metric}'])")
        .transform_joinaggregate(total=f"sum({metric})", groupby=[by])
        .transform_filter("datum.total > 0")
        .transform_window(rank="dense_rank()", sort=[alt.SortField("total", order="descending")])
        .transform_filter(f"datum.rank <= {int(top)}")
        .mark_line(point=alt.OverlayMarkDef(size=24), strokeWidth=2)
        .encode(
            x=alt.X(
                "period:T",
                timeUnit="utcyearmonthdate",
                title=None,
                axis=alt.Axis(format=DATE, labelAngle=0, tickCount=6, labelOverlap=True),
            ),
            y=alt.Y(f"{metric}:Q", title=f"{metric} per week", axis=_money_axis(), scale=_nice()),
            color=alt.Color(
                f"{by}:N",
                title=by,
                sort=alt.EncodingSortField("total", op="max", order="descending"),
                legend=_legend(),
            ),
            tooltip=[
                alt.Tooltip("period:T", timeUnit="utcyearmonthdate", format=DATE, title="week of"),
                alt.Tooltip(f"{by}:N"),
                alt.Tooltip(f"{metric}:Q", format=MONEY),
            ],
        )
        .properties(width="container", height=260)
    )
    return _finish(chart, rows, currency)


PARTS = ("early", "middle", "late")
"""The parts of a path in the early / middle / late view (:mod:`attribution.touchpositions`)."""
PART_LABELS = {"early": "early · opens", "middle": "middle · assists", "late": "late · closes"}
"""How a chart names each part: what a channel does there."""


def touch_positions_chart(
    rows: Rows,
    *,
    by: str = "channel",
    measure: str = "revenue",
    currency: str = "USD",
    top: int = 7,
) -> dict[str, Any]:
    """100%-stacked bars: each ``by`` value's share of the early, middle and late ``measure``.

    The rows are ``GET /v1/paths``' ``touch_positions`` as they come (one row
    per key with ``<part>_conversions`` and ``<part>_revenue``); the spec
    folds the three ``<part>_<measure>`` columns into one bar per part,
    keeps the ``top`` keys with the most ``measure`` over the three parts
    and stacks the others as ``Other`` (not when only one would be folded),
    so a bar reads "which channels open (assist, close) the converting
    journeys". Hovering a segment shows its amount and its share of the part.

    Examples
    --------
    >>> rows = [{"channel": "Email", "early_revenue": 100.0, "middle_revenue": 50.0,
    ...     "late_revenue": 0.0}]
    >>> spec = touch_positions_chart(rows)
    >>> spec["transform"][0]["fold"], spec["encoding"]["x"]["field"]
    (['early_revenue', 'middle_revenue', 'late_revenue'], 'share')
    >>> spec["encoding"]["y"]["sort"]
    ['early · opens', 'middle · assists', 'late · closes']
    """
    label = "datum.column"  # the part of a folded column, as a Vega expression
    for name in reversed(PARTS):
        label = f"datum.column == {_js_string(f'{name}_{measure}')} ? " + (
            f"{_js_string(PART_LABELS[name])} : {label}"
        )
    kept = f"datum.keys <= {int(top) + 1} || datum.rank <= {int(top)}"
    money = measure == "revenue"
    chart = (
        _chart()
        .transform_fold([f"{part}_{measure}" for part in PARTS], as_=["column", "value"])
        .transform_calculate(part=label)
        .transform_joinaggregate(total="sum(value)", groupby=[by])
        .transform_joinaggregate(keys=f"distinct({by})")
        .transform_window(rank="dense_rank()", sort=[alt.SortField("total", order="descending")])
        .transform_calculate(key=f"{kept} ? datum[{_js_string(by)}] : 'Other'")
        .transform_calculate(rank=f"{kept} ? datum.rank : {int(top) + 1}")
        .transform_aggregate(value="sum(value)", rank="min(rank)", groupby=["part", "key"])
        .transform_joinaggregate(part_total="sum(value)", groupby=["part"])
        .transform_calculate(share="datum.part_total > 0 ? datum.value / datum.part_total : 0")
        .mark_bar()
        .encode(
            y=alt.Y(
                "part:N", sort=list(PART_LABELS.values()), title=None, axis=_key_axis(0, x=False)
            ),
            x=alt.X(
                "share:Q",
                stack="zero",
                title=f"share of the part's {measure}",
                axis=alt.Axis(format="~%", tickCount=5),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                "key:N",
                title=by,
                sort=alt.EncodingSortField("rank", op="min", order="ascending"),
                legend=_legend(),
            ),
            order=alt.Order("rank:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip("part:N"),
                alt.Tooltip("key:N", title=by),
                alt.Tooltip("value:Q", format=MONEY if money else ",.1f", title=measure),
                alt.Tooltip("share:Q", format=".1%", title="share of the part"),
            ],
        )
        .properties(width="container", height=alt.Step(34))
    )
    return _finish(chart, rows, currency)


MARKS = ("current", "recommended", "what_if", "saturation")
"""Marked spends on a response curve, in legend order (:func:`curve_rows`' ``kind``)."""
MARK_LABELS = {
    "current": "current spend",
    "recommended": "recommended spend",
    "what_if": "what-if spend",
    "saturation": "saturation (marginal ROAS 1)",
}
MARK_STYLE = {  # colour, shape
    "current": (PALETTE[2], "circle"),
    "recommended": (PALETTE[1], "diamond"),
    "what_if": (PALETTE[3], "square"),
    "saturation": (PALETTE[4], "triangle-down"),
}


def curve_rows(
    key: str, points: Mapping[str, Any], *, panel: str | None = None
) -> list[dict[str, Any]]:
    """Return the rows a response-curve chart draws for one channel's points.

    ``points`` is a row's ``points`` in ``/v1/budget/curves``, ``/plan`` or
    ``/whatif`` (:meth:`~attribution.budget.analysis.CurveSet.points`). Each
    row has ``channel``, ``panel`` (the facet title: ``panel`` or the
    channel), ``kind`` (``observed``, ``curve`` or one of :data:`MARKS`),
    ``spend``, ``revenue`` (``None`` for a mark without a curve),
    ``revenue_low``, ``revenue_high`` and ``week``. ``api/static/dashboard.html``
    builds the same rows in JavaScript.

    Examples
    --------
    >>> points = {"observed": [{"week": "2025-01-06", "spend": 10.0, "revenue": 30.0}],
    ...     "curve": [{"spend": 0.0, "revenue": 0.0, "revenue_low": 0.0, "revenue_high": 0.0}],
    ...     "marks": [{"label": "current", "spend": 10.0, "revenue": 28.0}],
    ...     "saturation": {"spend": 40.0, "revenue": 60.0}}
    >>> [(r["kind"], r["spend"]) for r in curve_rows("Email", points)]
    [('observed', 10.0), ('curve', 0.0), ('current', 10.0), ('saturation', 40.0)]
    """
    base = {"channel": key, "panel": panel or key}

    def row(kind: str, p: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **base,
            "kind": kind,
            "spend": p["spend"],
            "revenue": p.get("revenue"),
            "revenue_low": p.get("revenue_low"),
            "revenue_high": p.get("revenue_high"),
            "week": p.get("week"),
        }

    rows = [row("observed", p) for p in points.get("observed") or []]
    rows += [row("curve", p) for p in points.get("curve") or []]
    rows += [row(m["label"], m) for m in points.get("marks") or [] if m["label"] in MARKS]
    if points.get("saturation"):
        rows.append(row("saturation", points["saturation"]))
    return rows


def _curve_layers(marks: Sequence[str]) -> list[alt.Chart]:
    """Return the layers of a response-curve chart: band, observed weeks, curve, marks."""
    base = _chart(data=False).encode(
        x=alt.X("spend:Q", title="weekly spend", axis=_money_axis(4), scale=_nice(4)),
        y=alt.Y("revenue:Q", title="weekly revenue", axis=_money_axis(4), scale=_nice(4)),
    )
    band = (
        base.transform_filter("datum.kind == 'curve' && isValid(datum.revenue_low)")
        .mark_area(color=PALETTE[0], opacity=0.16)
        .encode(y="revenue_low:Q", y2="revenue_high:Q", tooltip=alt.value(None))
    )
    observed = (
        base.transform_filter("datum.kind == 'observed'")
        .mark_circle(size=22, color="#98a2b3", opacity=0.85)
        .encode(
            tooltip=[
                alt.Tooltip("week:T", timeUnit="utcyearmonthdate", format=DATE, title="week of"),
                alt.Tooltip("spend:Q", format=MONEY),
                alt.Tooltip("revenue:Q", format=MONEY, title="attributed revenue"),
            ]
        )
    )
    curve = (
        base.transform_filter("datum.kind == 'curve'")
        .mark_line(color=PALETTE[0], strokeWidth=2)
        .encode(
            tooltip=[
                alt.Tooltip("spend:Q", format=MONEY),
                alt.Tooltip("revenue:Q", format=MONEY, title="predicted revenue"),
                alt.Tooltip("revenue_low:Q", format=MONEY, title="range from"),
                alt.Tooltip("revenue_high:Q", format=MONEY, title="range to"),
            ]
        )
    )
    domain = list(marks)
    labels = "datum.label"  # the legend's text of each mark, as a Vega expression
    for k in reversed(domain):
        labels = f"datum.label == '{k}' ? '{MARK_LABELS[k]}' : {labels}"
    color = alt.Color(
        "kind:N",
        title=None,
        scale=alt.Scale(domain=domain, range=[MARK_STYLE[k][0] for k in domain]),
        legend=alt.Legend(orient="top", labelExpr=labels, symbolSize=80, labelLimit=240),
    )
    shape = alt.Shape(
        "kind:N", scale=alt.Scale(domain=domain, range=[MARK_STYLE[k][1] for k in domain])
    )
    kinds = " || ".join(f"datum.kind == '{k}'" for k in domain) or "false"
    tooltip = [
        alt.Tooltip("label:N", title="mark"),
        alt.Tooltip("spend:Q", format=MONEY),
        alt.Tooltip("revenue:Q", format=MONEY, title="predicted revenue"),
    ]
    marked = base.transform_filter(kinds).transform_calculate(
        label=labels.replace("datum.label", "datum.kind")
    )
    # A channel without a curve (no evidence) is held at its current spend, and has no
    # predicted revenue to sit on: a dashed line marks that spend.
    rules = (
        marked.transform_filter("datum.kind == 'current' && !isValid(datum.revenue)")
        .mark_rule(strokeDash=[4, 3], strokeWidth=1.5)
        .encode(y=alt.value(0), y2=alt.value("height"), color=color, tooltip=tooltip[:2])
    )
    dots = (
        marked.transform_filter("isValid(datum.revenue)")
        .mark_point(filled=True, size=110, opacity=1, stroke="white", strokeWidth=1)
        .encode(color=color, shape=shape, tooltip=tooltip)
    )
    return [band, observed, curve, rules, dots]


def response_curves_chart(
    rows: Rows,
    *,
    currency: str = "USD",
    marks: Sequence[str] = ("current", "recommended", "saturation"),
    panels: Sequence[str] | None = None,
    columns: int = 3,
) -> dict[str, Any]:
    """One panel per channel: its response curve with its range, observed weeks and marked spends.

    The rows are :func:`curve_rows`' (``kind`` ``observed``, ``curve`` or a
    mark). Each panel shows the curve (line) with its range (shaded), the
    weeks it was fitted on (grey dots) and ``marks`` (:data:`MARKS`: a
    coloured shape on the curve, or a dashed line where the channel has no
    curve). ``panels`` orders the panels (default: alphabetical).

    Examples
    --------
    >>> rows = [{"channel": "Email", "panel": "Email", "kind": "curve", "spend": 0.0,
    ...     "revenue": 1.0}]
    >>> spec = response_curves_chart(rows)
    >>> spec["columns"], len(spec["spec"]["layer"]), spec["facet"]["field"]
    (3, 5, 'panel')
    >>> spec["spec"]["layer"][4]["encoding"]["color"]["scale"]["domain"]
    ['current', 'recommended', 'saturation']
    """
    chart = (
        alt.layer(*_curve_layers(marks), data=alt.NamedData(name=TABLE))
        .properties(width=300, height=190)
        .facet(
            facet=alt.Facet(
                "panel:N",
                title=None,
                sort=list(panels) if panels else "ascending",
                header=alt.Header(
                    labelFontSize=12, labelFontWeight="bold", labelColor="#1d2433", labelLimit=300
                ),
            ),
            columns=columns,
            spacing=28,
        )
        .resolve_scale(x="independent", y="independent")
    )
    return _finish(chart, rows, currency)


def response_curve_chart(
    rows: Rows,
    *,
    currency: str = "USD",
    marks: Sequence[str] = MARKS,
) -> dict[str, Any]:
    """One channel's response curve (the dashboard's, which picks the channel): as one panel.

    The rows are :func:`curve_rows`' for one channel; the marks and their
    look are those of :func:`response_curves_chart`.

    Examples
    --------
    >>> spec = response_curve_chart(None)
    >>> len(spec["layer"]), spec["layer"][4]["encoding"]["shape"]["scale"]["range"]
    (5, ['circle', 'diamond', 'square', 'triangle-down'])
    """
    chart = alt.layer(*_curve_layers(marks), data=alt.NamedData(name=TABLE)).properties(
        width="container", height=280
    )
    return _finish(chart, rows, currency)


@functools.lru_cache(maxsize=32)
def _templates(currency: str, by: str) -> dict[str, dict[str, Any]]:
    return {
        "trend": trend_chart(None, by=by, metric="revenue", currency=currency),
        "lengths": distribution_chart(
            None,
            x="length",
            x_title="touches per journey",
            y="journeys",
            y_title="journeys",
            currency=currency,
        ),
        "funnel": funnel_chart(None, currency=currency),
        "curve": response_curve_chart(None, currency=currency),
        **{
            f"touch_positions_{measure}": touch_positions_chart(
                None, by=by, measure=measure, currency=currency
            )
            for measure in ("revenue", "conversions")
        },
    }


def chart_templates(currency: str = "USD", by: str = "channel") -> dict[str, dict[str, Any]]:
    """Return the dashboard's chart specs without rows: trend, lengths, funnel, curve, touches.

    They are the report's specs (same functions, same look); the dashboard
    adds ``datasets: {table: rows}`` with rows from the ``/v1`` API.

    Examples
    --------
    >>> specs = chart_templates("EUR")
    >>> sorted(specs)  # doctest: +NORMALIZE_WHITESPACE
    ['curve', 'funnel', 'lengths', 'touch_positions_conversions', 'touch_positions_revenue',
     'trend']
    >>> "datasets" in specs["trend"], specs["trend"]["data"]
    (False, {'name': 'table'})
    >>> specs["trend"]["config"]["locale"]["number"]["currency"]
    ['€', '']
    """
    return {name: dict(spec) for name, spec in _templates(currency, by).items()}


def _js_string(text: str) -> str:
    """Return ``text`` as a Vega expression string literal (JSON quoting is valid there)."""
    return json.dumps(text)


def _chart(*, data: bool = True) -> alt.Chart:
    return alt.Chart(alt.NamedData(name=TABLE)) if data else alt.Chart()


def _nice(tick_count: int = 6) -> alt.Scale:
    """Start the scale at 0 and round its ends for about ``tick_count`` ticks (the axis')."""
    return alt.Scale(nice=tick_count, zero=True)


def _money_axis(tick_count: int = 6) -> alt.Axis:
    return alt.Axis(format=MONEY_AXIS, tickCount=tick_count, tickMinStep=1, labelExpr=MONEY_LABEL)


def _key_axis(count: int, *, x: bool) -> alt.Axis:
    """Label channel or campaign names: long ones cut with an ellipsis, turned if many."""
    if not x:
        return alt.Axis(labelLimit=180, ticks=False)
    return alt.Axis(labelLimit=140, labelAngle=0 if count <= 8 else -30, ticks=False)


def _legend() -> alt.Legend:
    return alt.Legend(orient="right", labelLimit=160, symbolType="circle")


def _finish(chart: alt.TopLevelMixin, rows: Rows, currency: str) -> dict[str, Any]:
    """Apply the shared look, return the spec, with ``rows`` as its dataset when given."""
    styled = (
        chart.configure(
            font=FONT,
            locale={"number": number_locale(currency)},
            range={"category": list(PALETTE)},
            padding=4,
        )
        .configure_axis(
            labelColor="#667085",
            titleColor="#475467",
            titleFontWeight="normal",
            labelFontSize=11,
            titleFontSize=11,
            gridColor="#eef0f3",
            domainColor="#d0d5dd",
            tickColor="#d0d5dd",
        )
        .configure_legend(labelColor="#475467", titleColor="#475467", labelFontSize=11)
        .configure_view(stroke=None)
    )
    spec: dict[str, Any] = styled.to_dict()
    if rows is not None:
        spec["datasets"] = {TABLE: [dict(r) for r in rows]}
    return spec


__all__ = [
    "MARKS",
    "PALETTE",
    "PARTS",
    "PART_LABELS",
    "TABLE",
    "bucket_chart",
    "chart_templates",
    "comparison_chart",
    "curve_rows",
    "distribution_chart",
    "funnel_chart",
    "number_locale",
    "records",
    "response_curve_chart",
    "response_curves_chart",
    "roas_chart",
    "touch_positions_chart",
    "trend_chart",
]
