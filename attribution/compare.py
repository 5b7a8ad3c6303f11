"""Compare attribution models side by side: the same rows, one set of columns per model.

:func:`compare_models` builds the journeys once and runs every model on them
with :func:`attribution.report.report_journeys`, so each model's columns are
exactly what :func:`attribution.attribute` reports for it. Per row it adds
each model's **revenue share** (the row's attributed revenue over the model's
total) and the largest disagreement between models, ``max_share_gap`` =
max − min share, with the models at either end, so a UI can highlight the
rows where the choice of model matters most.

As Google Analytics 4's model comparison report does
(https://support.google.com/analytics/answer/10596866), one model is the
**baseline** (the first listed unless ``baseline=`` names another) and every
other model gets its **% change** from it: ``<model>_conversions_change``,
``<model>_revenue_change`` and ``<model>_roas_change`` = (model − baseline) /
baseline, a fraction (0.25 is +25%), null where the baseline is 0 or null.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from attribution.constants import DEFAULT_LOOKBACK_DAYS, DEFAULT_RESAMPLES
from attribution.errors import ClosedloopError, ParameterError
from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.journeys import build_journeys
from attribution.models import AttributionModel, available_models, get_model, model_label
from attribution.report import AttributionReport, report_journeys, windows_line

MODEL_COLUMNS = ("conversions", "revenue", "roas", "share")
"""Columns every model gets, named ``<model>_<column>``."""

INTERVAL_MODEL_COLUMNS = ("revenue_low", "revenue_high", "roas_low", "roas_high")
"""Columns ``ci=`` adds per model."""

CHANGE_METRICS = ("conversions", "revenue", "roas")
"""Metrics every model but the baseline gets a ``<model>_<metric>_change`` column for."""

CHANGE_DECIMALS = 12
"""Decimals a % change is kept to: below them it is float noise (0.0, never -0.0)."""

WIDE_TABLE_COLUMNS = 16
"""Most columns a terminal table has with the models side by side; past it they are stacked.

Three models fit (14 columns); three with intervals, or four, are stacked.
"""

TABLE_WIDTH = 400
"""Widest terminal table, in characters: models side by side never wrap a cell."""


@dataclass(frozen=True)
class ModelComparison:
    """Several models' attribution of the same journeys, one row per value of ``by``.

    ``data`` has the ``by`` column, ``spend``, then per model the columns of
    :data:`MODEL_COLUMNS` (and :data:`INTERVAL_MODEL_COLUMNS` with ``ci``)
    prefixed by the model name, each model but the ``baseline`` followed by
    its ``_conversions_change``, ``_revenue_change`` and ``_roas_change``
    (see :func:`change`), then ``max_share_gap``, ``max_share_model`` and
    ``min_share_model``. Rows are sorted by the mean revenue over the
    models. ``reports`` holds each model's full report; ``skipped`` the
    models left out because they cannot run on the data, with the reason;
    ``source`` names an aggregated path table the journeys came from.
    """

    models: list[str]
    by: str
    stage: str | None
    start: dt.date | None
    end: dt.date | None
    lookback_days: float
    currency: str | None
    data: pl.DataFrame
    totals: dict[str, dict[str, Any]]
    reports: dict[str, AttributionReport] = field(repr=False)
    skipped: dict[str, str] = field(default_factory=dict)
    windows: dict[str, Any] | None = None
    baseline: str = ""
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.baseline:
            object.__setattr__(self, "baseline", self.models[0])

    @property
    def total_changes(self) -> dict[str, dict[str, float | None]]:
        """Return each non-baseline model's % change of the totals (as :func:`change`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> compare_models(*_tiny_example(), models=["linear", "last_touch"]).total_changes
        {'last_touch': {'conversions_change': 0.0, 'revenue_change': 0.0, 'roas_change': 0.0}}
        """
        base = self.totals[self.baseline]
        return {
            name: {f"{m}_change": change(totals.get(m), base.get(m)) for m in CHANGE_METRICS}
            for name, totals in self.totals.items()
            if name != self.baseline
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data (non-finite numbers become ``None``).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> body = compare_models(*_tiny_example(), models=["first_touch", "last_touch"]).to_dict()
        >>> body["data"][0]["channel"], body["data"][0]["max_share_gap"], body["baseline"]
        ('Email', 1.0, 'first_touch')
        >>> body["data"][0]["last_touch_revenue_change"]  # Email: 100 by first touch, 0 by last
        -1.0
        """
        body: dict[str, Any] = {
            "models": self.models,
            "baseline": self.baseline,
            "by": self.by,
            "stage": self.stage,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "lookback_days": self.lookback_days,
            "windows": self.windows,
            "currency": self.currency,
            "data": json_ready(self.data.to_dicts()),
            "totals": {name: json_ready(totals) for name, totals in self.totals.items()},
            "total_changes": json_ready(self.total_changes),
            "skipped": self.skipped,
        }
        if self.source is not None:
            body["source"] = self.source
        return body

    def to_table(self) -> str:
        """Return the comparison for a terminal: header lines, the table and a TOTAL row.

        The table has the ``by`` column, then per model its conversions,
        revenue (with its interval when computed), ROAS and, for every model
        but the baseline, the % change of conversions and revenue from the
        baseline (``Δ%``; ROAS moves as revenue does, over the same spend).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> compared = compare_models(*_tiny_example(), models=["first_touch", "last_touch"])
        >>> print(compared.to_table())  # doctest: +ELLIPSIS
        compare · stage purchase · by channel · 2024-01-01 to 2024-01-03 · lookback 90 days
        models: first_touch = First touch (baseline), last_touch = Last touch
        Δ% = % change from the baseline, first_touch (— where it is 0); ROAS changes as revenue does
        windows 90-day click / 1-day view (impressions) · 0 conversions reached by views only
        ┌─────────┬──────────────────┬─────────────────────┬──────────────────┬────────────────...
        │ channel ┆ first_touch conv ┆ first_touch revenue ┆ first_touch ROAS ┆ last_touch conv...
        ╞═════════╪══════════════════╪═════════════════════╪══════════════════╪════════════════...
        │ Email   ┆              1.0 ┆              100.00 ┆            10.00 ┆             0.0...
        │ Search  ┆              0.0 ┆                0.00 ┆             0.00 ┆             1.0...
        │ TOTAL   ┆              1.0 ┆              100.00 ┆             3.33 ┆             1.0...
        └─────────┴──────────────────┴─────────────────────┴──────────────────┴────────────────...
        """
        # As wide as its columns: a number cut over two lines misreads worse than a long line.
        frame = self.table_frame()
        kinds = {column: _table_kind(column) for column in frame.columns[1:]}
        table = text_table(frame, currency=self.currency, kinds=kinds, width=TABLE_WIDTH)
        return "\n".join([*self.header_lines(), table])

    def header_lines(self) -> list[str]:
        """Return the lines above the table: what was compared, the models' labels, the baseline.

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> compare_models(*_tiny_example(), models=["linear", "markov"]).header_lines()[1]
        'models: linear = Linear (baseline), markov = Data-driven (Markov chain)'
        """
        period = f"{self.start or '…'} to {self.end or '…'}"
        if self.source is not None:
            first = f"compare · by {self.by} · aggregated paths from {self.source}"
            if self.start is not None or self.end is not None:
                first += f" · {period}"
        else:
            first = (
                f"compare · stage {self.stage} · by {self.by} · {period} · "
                f"lookback {self.lookback_days:g} days"
            )
        if self.currency:
            first += f" · {self.currency}"
        labels = ", ".join(
            f"{name} = {model_label(name)}" + (" (baseline)" if name == self.baseline else "")
            for name in self.models
        )
        lines = [first, f"models: {labels}"]
        if len(self.models) > 1:
            lines.append(
                f"Δ% = % change from the baseline, {self.baseline} (— where it is 0); "
                "ROAS changes as revenue does"
            )
        if self.windows is not None:
            lines.append(windows_line(self.windows, self.totals[self.baseline]))
        uncertainty = self.reports[self.baseline].uncertainty
        if uncertainty is not None:
            lines.append(
                f"{uncertainty['ci']:.0%} intervals of revenue (low, high): "
                f"{uncertainty['method']}, {uncertainty['bootstrap']:,} resamples, "
                f"seed {uncertainty['seed']}"
            )
        return lines

    def table_frame(self) -> pl.DataFrame:
        """Return the rows and a TOTAL row as the terminal table shows them (Δ% in percent).

        The models sit side by side (``<model> conv``, ``<model> revenue``
        ...) when that makes at most :data:`WIDE_TABLE_COLUMNS` columns; more
        would not fit a terminal, so they are stacked instead: one line per
        row and model, with a ``model`` column (the baseline's Δ% is —).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> frame = compare_models(*_tiny_example(), models=["first_touch", "linear"]).table_frame()
        >>> frame.columns[:2], frame["linear Δ% rev"].to_list()
        (['channel', 'first_touch conv'], [-50.0, None, 0.0])
        >>> many = ["first_touch", "last_touch", "linear", "position_based"]
        >>> stacked = compare_models(*_tiny_example(), models=many).table_frame()
        >>> stacked.columns[:3], stacked.height
        (['channel', 'model', 'conv'], 12)
        """
        intervals = f"{self.baseline}_revenue_low" in self.data.columns
        total_row: dict[str, Any] = {self.by: "TOTAL"}
        for name in self.models:
            for metric in CHANGE_METRICS:
                total_row[f"{name}_{metric}"] = self.totals[name].get(metric)
            for bound in ("low", "high"):
                total_row[f"{name}_revenue_{bound}"] = self.totals[name].get(f"revenue_{bound}")
        for name, changes in self.total_changes.items():
            total_row.update({f"{name}_{k}": v for k, v in changes.items()})
        rows = pl.concat(
            [self.data, pl.DataFrame([total_row]).cast({self.by: pl.String})],
            how="diagonal_relaxed",
        ).with_row_index("_row")
        per_model = 3 + (2 if intervals else 0)  # conv, revenue, ROAS (low, high)
        wide = 1 + len(self.models) * (per_model + 2) - 2 <= WIDE_TABLE_COLUMNS  # Δ% conv, rev
        parts = []
        for name in self.models:
            moved = not wide or name != self.baseline
            columns = [pl.col("_row"), pl.col(self.by), pl.lit(name).alias("model")]
            columns.append(_number(f"{name}_conversions", "conv"))
            if moved:
                columns.append(_percent(f"{name}_conversions_change", "Δ% conv", self.baseline))
            columns.append(_number(f"{name}_revenue", "revenue"))
            if intervals:
                columns += [_number(f"{name}_revenue_low", "low")]
                columns += [_number(f"{name}_revenue_high", "high")]
            if moved:
                columns.append(_percent(f"{name}_revenue_change", "Δ% rev", self.baseline))
            # ROAS moves as revenue does (the spend is the same): its Δ% is in JSON and CSV.
            columns.append(_number(f"{name}_roas", "ROAS"))
            parts.append(rows.select(columns))
        if not wide:
            return pl.concat(parts).sort("_row", maintain_order=True).drop("_row")
        return pl.concat(
            [
                rows.select(self.by),
                *(
                    part.drop("_row", self.by, "model").select(pl.all().name.prefix(f"{n} "))
                    for n, part in zip(self.models, parts, strict=True)
                ),
            ],
            how="horizontal",
        )

    def to_csv(self) -> str:
        """Return the rows as RFC 4180 CSV (header row, CRLF line ends)."""
        return rfc4180_csv(self.data)


def compare_models(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame | None = None,
    *,
    models: Sequence[str | AttributionModel] | None = None,
    by: str = "channel",
    stage: str | None = None,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    start: dt.date | None = None,
    end: dt.date | None = None,
    currency: str | None = None,
    ci: float | None = None,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    click_window_days: float | None = None,
    view_window_days: float | None = None,
    baseline: str | None = None,
) -> ModelComparison:
    """Attribute the same journeys with several models and put their results side by side.

    Parameters
    ----------
    touchpoints, conversions, costs
        As in :func:`attribution.attribute`.
    models
        Model names or instances. ``None`` (the default) runs every
        registered model with its default parameters, leaving out (in
        ``skipped``) those that cannot run on the data; a model named here
        that fails raises.
    by, stage, lookback_days, start, end, currency, ci, bootstrap, seed
        As in :func:`attribution.attribute`.
    click_window_days, view_window_days
        As in :func:`attribution.attribute` (the click and view windows).
    baseline
        The model the others' % change is from (default: the first that ran).

    Returns
    -------
    ModelComparison

    Examples
    --------
    >>> from attribution.report import _tiny_example
    >>> result = compare_models(*_tiny_example(), models=["first_touch", "linear"])
    >>> print(result.data.select("channel", "first_touch_revenue", "linear_revenue",
    ...     "max_share_gap"))
    shape: (2, 4)
    ┌─────────┬─────────────────────┬────────────────┬───────────────┐
    │ channel ┆ first_touch_revenue ┆ linear_revenue ┆ max_share_gap │
    │ ---     ┆ ---                 ┆ ---            ┆ ---           │
    │ str     ┆ f64                 ┆ f64            ┆ f64           │
    ╞═════════╪═════════════════════╪════════════════╪═══════════════╡
    │ Email   ┆ 100.0               ┆ 50.0           ┆ 0.5           │
    │ Search  ┆ 0.0                 ┆ 50.0           ┆ 0.5           │
    └─────────┴─────────────────────┴────────────────┴───────────────┘
    """
    instances, explicit = model_instances(models)
    journeys = build_journeys(
        touchpoints,
        conversions,
        stage=stage,
        lookback_days=lookback_days,
        start=start,
        end=end,
        click_window_days=click_window_days,
        view_window_days=view_window_days,
    )

    def report(instance: AttributionModel) -> AttributionReport:
        return report_journeys(
            journeys,
            instance,
            costs=costs,
            by=by,
            start=start,
            end=end,
            currency=currency,
            ci=ci,
            bootstrap=bootstrap,
            seed=seed,
        )

    return compare_reports(
        instances, report, explicit=explicit, by=by, ci=ci, currency=currency, baseline=baseline
    )


def model_instances(
    models: Sequence[str | AttributionModel] | None,
) -> tuple[list[AttributionModel], bool]:
    """Return the models to compare (every registered one by default) and whether they were named.

    Examples
    --------
    >>> [m.name for m in model_instances(["linear", "first_touch"])[0]], model_instances(None)[1]
    (['linear', 'first_touch'], False)
    """
    explicit = models is not None
    chosen: list[str | AttributionModel] = list(models) if models else list(available_models())
    if not chosen:
        raise ParameterError("Give at least one model to compare.")
    instances = [m if isinstance(m, AttributionModel) else get_model(m) for m in chosen]
    names = [m.name for m in instances]
    if len(set(names)) != len(names):
        raise ParameterError(f"Each model can be compared once; got {', '.join(names)}.")
    return instances, explicit


def compare_reports(
    instances: Sequence[AttributionModel],
    report: Callable[[AttributionModel], AttributionReport],
    *,
    explicit: bool,
    by: str,
    ci: float | None,
    currency: str | None,
    baseline: str | None = None,
    skipped: Mapping[str, str] | None = None,
    source: str | None = None,
) -> ModelComparison:
    """Put the reports of several models side by side; ``report`` computes one model's.

    A model that cannot run on the data is skipped (with its reason) unless
    the models were named (``explicit``), when its error is raised.
    ``baseline`` is the model the others' % change is from (default: the
    first that ran); it must be one of ``instances`` and must run.
    ``skipped`` lists models already left out by the caller, with the reason;
    ``source`` names the path table the reports came from.

    Examples
    --------
    >>> from attribution.report import _tiny_example, attribute
    >>> data = _tiny_example()
    >>> models, _ = model_instances(["last_touch"])
    >>> compare_reports(models, lambda m: attribute(*data, model=m), explicit=True, by="channel",
    ...     ci=None, currency="USD").models
    ['last_touch']
    """
    names = [instance.name for instance in instances]
    if baseline is not None and baseline not in names:
        raise ParameterError(
            f"The baseline '{baseline}' is not among the models compared "
            f"({', '.join(names) or 'none'}): add it to the models or choose one of them."
        )
    reports: dict[str, AttributionReport] = {}
    left_out: dict[str, str] = dict(skipped or {})
    errors: list[ClosedloopError] = []
    for instance in instances:
        try:
            reports[instance.name] = report(instance)
        except ClosedloopError as exc:
            if explicit:
                raise
            left_out[instance.name] = str(exc)
            errors.append(exc)
    if not reports and errors and len(set(left_out.values())) == 1:
        raise errors[0]  # one reason for every model (an empty store): say it once
    if not reports:
        raise ParameterError(
            "No model could run on this data: "
            + "; ".join(f"{k}: {v}" for k, v in left_out.items())
        )
    if baseline is not None and baseline not in reports:
        raise ParameterError(
            f"The baseline '{baseline}' cannot run on this data ({left_out[baseline]}); "
            "choose another baseline."
        )
    baseline = baseline or next(iter(reports))
    first = next(iter(reports.values()))
    return ModelComparison(
        models=list(reports),
        by=by,
        stage=first.stage,
        start=first.start,
        end=first.end,
        lookback_days=first.lookback_days,
        currency=currency,
        data=_side_by_side(reports, by, ci is not None, baseline),
        totals={name: report.totals for name, report in reports.items()},
        reports=reports,
        skipped=left_out,
        windows=first.windows,
        baseline=baseline,
        source=source,
    )


def change(value: float | None, baseline: float | None) -> float | None:
    """Return the % change of ``value`` from ``baseline`` as a fraction; ``None`` if undefined.

    Undefined where the baseline is 0 or null (GA4 shows no % change there),
    or the value is null.

    Examples
    --------
    >>> change(150.0, 100.0), change(0.0, 80.0), change(5.0, 0.0), change(None, 2.0)
    (0.5, -1.0, None, None)
    >>> change(0.1 + 0.2, 0.3)  # equal but for float rounding: no change
    0.0
    """
    if value is None or baseline is None or baseline == 0 or not math.isfinite(baseline):
        return None
    # To 12 decimals, as the shares: totals equal but for float summation order do not move
    # (+ 0.0 turns the -0.0 of a tiny negative into 0.0).
    return round((value - baseline) / baseline, CHANGE_DECIMALS) + 0.0


def _change(name: str, baseline: str, metric: str) -> pl.Expr:
    """``<name>_<metric>_change``: :func:`change` of a model's column from the baseline's."""
    base = pl.col(f"{baseline}_{metric}")
    return (
        pl.when(base.is_null() | (base == 0))
        .then(pl.lit(None, pl.Float64))
        .otherwise(((pl.col(f"{name}_{metric}") - base) / base).round(CHANGE_DECIMALS) + 0.0)
        .alias(f"{name}_{metric}_change")
    )


def _percent(column: str, alias: str, baseline: str) -> pl.Expr:
    """Return a change column in percent, for the terminal table (CSV and JSON keep fractions).

    The baseline has no change column: its line of a stacked table shows —.
    """
    if column.startswith(f"{baseline}_"):
        return pl.lit(None, pl.Float64).alias(alias)
    return (pl.col(column).cast(pl.Float64) * 100).alias(alias)


def _table_kind(header: str) -> str:
    """Return the number style of a terminal-table column by its header (``linear Δ% rev``).

    Examples
    --------
    >>> [_table_kind(h) for h in ("markov conv", "linear Δ% rev", "low", "markov ROAS", "model")]
    ['conversions', 'percent', 'money', 'ratio', 'text']
    """
    if "Δ%" in header:
        return "percent"
    last = header.rsplit(" ", 1)[-1]
    return {
        "conv": "conversions",
        "revenue": "money",
        "low": "money",
        "high": "money",
        "ROAS": "ratio",
    }.get(last, "text")


def _number(column: str, alias: str) -> pl.Expr:
    """Return a model's column as floats (a column of nulls shows as —, not ``null``)."""
    return pl.col(column).cast(pl.Float64).alias(alias)


def _side_by_side(
    reports: dict[str, AttributionReport], by: str, intervals: bool, baseline: str
) -> pl.DataFrame:
    names = list(reports)
    keys = pl.concat([r.data.select(by) for r in reports.values()]).unique()
    spend = (
        pl.concat([r.data.select(by, "spend") for r in reports.values()])
        .group_by(by)
        .agg(pl.col("spend").max())
    )
    frame = keys.join(spend, on=by, how="left")
    columns = ("conversions", "revenue", "roas") + (INTERVAL_MODEL_COLUMNS if intervals else ())
    for name, report in reports.items():
        # A stage's value column (pipeline, value) is compared as its revenue.
        data = report.data.rename(
            {f"{report.value_column}{s}": f"revenue{s}" for s in ("", "_low", "_high")},
            strict=False,
        )
        total = data["revenue"].sum()
        part = data.select(
            by,
            *(pl.col(c).alias(f"{name}_{c}") for c in columns),
            (pl.col("revenue") / total if total else pl.lit(None, pl.Float64)).alias(
                f"{name}_share"
            ),
        )
        frame = frame.join(part, on=by, how="left").with_columns(
            pl.col(f"{name}_conversions", f"{name}_revenue", f"{name}_share").fill_null(0.0)
        )
    shares = [pl.col(f"{n}_share") for n in names]
    # Which model gives the most (least) is read to 12 decimals: shares equal but for the
    # last bits of a float sum (summation order differs run to run) tie, and the first
    # model in the list wins, the same on every route and every run.
    share_list = pl.concat_list([share.round(12) for share in shares])
    name_list = pl.lit(pl.Series([names]))
    frame = frame.with_columns(
        (pl.max_horizontal(shares) - pl.min_horizontal(shares)).alias("max_share_gap"),
        name_list.list.get(share_list.list.arg_max()).alias("max_share_model"),
        name_list.list.get(share_list.list.arg_min()).alias("min_share_model"),
        pl.mean_horizontal([pl.col(f"{n}_revenue") for n in names]).alias("_mean"),
        *(_change(n, baseline, m) for n in names if n != baseline for m in CHANGE_METRICS),
    )
    ordered = [by, "spend"]
    for name in names:
        ordered += [f"{name}_{c}" for c in ("conversions", "revenue", "roas", "share")]
        if intervals:
            ordered += [f"{name}_{c}" for c in INTERVAL_MODEL_COLUMNS]
        if name != baseline:
            ordered += [f"{name}_{m}_change" for m in CHANGE_METRICS]
    ordered += ["max_share_gap", "max_share_model", "min_share_model"]
    return frame.sort(["_mean", by], descending=[True, False]).select(ordered)


__all__ = [
    "CHANGE_DECIMALS",
    "CHANGE_METRICS",
    "INTERVAL_MODEL_COLUMNS",
    "MODEL_COLUMNS",
    "TABLE_WIDTH",
    "WIDE_TABLE_COLUMNS",
    "ModelComparison",
    "change",
    "compare_models",
    "compare_reports",
    "model_instances",
]
