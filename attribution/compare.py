"""Compare attribution models side by side: the same rows, one set of columns per model.

:func:`compare_models` builds the journeys once and runs every model on them
with :func:`attribution.report.report_journeys`, so each model's columns are
exactly what :func:`attribution.attribute` reports for it. Per row it adds
each model's **revenue share** (the row's attributed revenue over the model's
total) and the largest disagreement between models, ``max_share_gap`` =
max − min share, with the models at either end, so a UI can highlight the
rows where the choice of model matters most.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from attribution.constants import DEFAULT_LOOKBACK_DAYS, DEFAULT_RESAMPLES
from attribution.errors import ClosedloopError, ParameterError
from attribution.export import json_ready, rfc4180_csv
from attribution.journeys import build_journeys
from attribution.models import AttributionModel, available_models, get_model
from attribution.report import AttributionReport, report_journeys

MODEL_COLUMNS = ("conversions", "revenue", "roas", "share")
"""Columns every model gets, named ``<model>_<column>``."""

INTERVAL_MODEL_COLUMNS = ("revenue_low", "revenue_high", "roas_low", "roas_high")
"""Columns ``ci=`` adds per model."""


@dataclass(frozen=True)
class ModelComparison:
    """Several models' attribution of the same journeys, one row per value of ``by``.

    ``data`` has the ``by`` column, ``spend``, then per model the columns of
    :data:`MODEL_COLUMNS` (and :data:`INTERVAL_MODEL_COLUMNS` with ``ci``)
    prefixed by the model name, then ``max_share_gap``, ``max_share_model``
    and ``min_share_model``. Rows are sorted by the mean revenue over the
    models. ``reports`` holds each model's full report; ``skipped`` the
    models left out by default because they cannot run on the data, with
    the reason.
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

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data (non-finite numbers become ``None``).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> body = compare_models(*_tiny_example(), models=["first_touch", "last_touch"]).to_dict()
        >>> body["data"][0]["channel"], body["data"][0]["max_share_gap"]
        ('Email', 1.0)
        """
        return {
            "models": self.models,
            "by": self.by,
            "stage": self.stage,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "lookback_days": self.lookback_days,
            "windows": self.windows,
            "currency": self.currency,
            "data": json_ready(self.data.to_dicts()),
            "totals": {name: json_ready(totals) for name, totals in self.totals.items()},
            "skipped": self.skipped,
        }

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

    return compare_reports(instances, report, explicit=explicit, by=by, ci=ci, currency=currency)


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
) -> ModelComparison:
    """Put the reports of several models side by side; ``report`` computes one model's.

    A model that cannot run on the data is skipped (with its reason) unless
    the models were named (``explicit``), when its error is raised.

    Examples
    --------
    >>> from attribution.report import _tiny_example, attribute
    >>> data = _tiny_example()
    >>> models, _ = model_instances(["last_touch"])
    >>> compare_reports(models, lambda m: attribute(*data, model=m), explicit=True, by="channel",
    ...     ci=None, currency="USD").models
    ['last_touch']
    """
    reports: dict[str, AttributionReport] = {}
    skipped: dict[str, str] = {}
    errors: list[ClosedloopError] = []
    for instance in instances:
        try:
            reports[instance.name] = report(instance)
        except ClosedloopError as exc:
            if explicit:
                raise
            skipped[instance.name] = str(exc)
            errors.append(exc)
    if not reports and len(set(skipped.values())) == 1:
        raise errors[0]  # one reason for every model (an empty store): say it once
    if not reports:
        raise ParameterError(
            "No model could run on this data: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
        )
    first = next(iter(reports.values()))
    return ModelComparison(
        models=list(reports),
        by=by,
        stage=first.stage,
        start=first.start,
        end=first.end,
        lookback_days=first.lookback_days,
        currency=currency,
        data=_side_by_side(reports, by, ci is not None),
        totals={name: report.totals for name, report in reports.items()},
        reports=reports,
        skipped=skipped,
        windows=first.windows,
    )


def _side_by_side(reports: dict[str, AttributionReport], by: str, intervals: bool) -> pl.DataFrame:
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
    )
    ordered = [by, "spend"]
    for name in names:
        ordered += [f"{name}_{c}" for c in ("conversions", "revenue", "roas", "share")]
        if intervals:
            ordered += [f"{name}_{c}" for c in INTERVAL_MODEL_COLUMNS]
    ordered += ["max_share_gap", "max_share_model", "min_share_model"]
    return frame.sort(["_mean", by], descending=[True, False]).select(ordered)


__all__ = [
    "INTERVAL_MODEL_COLUMNS",
    "MODEL_COLUMNS",
    "ModelComparison",
    "compare_models",
    "compare_reports",
    "model_instances",
]
