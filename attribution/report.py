"""Attribute conversions with a model and report money metrics per channel or campaign.

:func:`attribute` is the one call behind the CLI's ``closedloop attribute`` and
the API's ``GET /v1/attribution``: journeys, model credit, spend from costs for
the same key and period, ROAS / ROI / CPA, and totals.

Conventions:

- Rows are keyed by the ``by`` touch column; a touch with no value there is
  reported under ``(not set)``, as Google Analytics does.
- Conversions with no touch in their lookback window cannot be credited by any
  model; they are reported on a ``(no touchpoint)`` row, so the rows always sum
  to the closed conversions and revenue of the period.
- Channels (or campaigns) with spend but no credit get a row with zero credit.
- Reports by a touch column costs do not carry (source, medium, interaction)
  have null spend, ROAS, ROI and CPA on every row; the totals keep the
  period's spend (:func:`costs_keyed_by`).
- CPA is null where spend is zero or unknown, never 0 (free customers).
- The period defaults to the dates covered by the data (conversions of the
  stage and costs); it is echoed in the report.
- Touches count within the click window, views (``interaction`` =
  ``impression``) within the view window (:mod:`attribution.windows`); the
  report echoes both (``windows``) and counts the conversions only views
  reached (``view_only_conversions`` in the totals).
- The columns are named for the stage (:func:`attribution.metrics.stage_columns`):
  what a conversion is worth is ``revenue`` (``closed_won``, ``purchase``),
  ``pipeline`` (``opportunity``) or ``value`` (``lead``, ``mql``, ``sql``:
  conversions × the stage value, null without one, and then so are ROAS and
  ROI); the cost per conversion is ``cpa``, ``cpl`` (``lead``) or
  ``cost_per_<stage>``. The columns of one stage never depend on the data.
- ``impressions``, ``clicks``, ``ctr``, ``cpc`` and ``cpm`` come from the
  costs of the key; a key's impressions (clicks) are null unless every cost
  row of the key in the period has them.
- Cost rows of channel ``(sales)`` are not media: they get no row and no
  credit; their sum is ``other_costs`` in the totals and counts in ``cac``
  (every cost per customer, customer stages only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from attribution.constants import (
    DEFAULT_LOOKBACK_DAYS,
    DEFAULT_RESAMPLES,
    INTERVAL_COLUMNS,
    NO_TOUCHPOINT,
    NOT_SET,
)
from attribution.errors import MissingColumnsError
from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.journeys import Journeys, build_journeys
from attribution.metrics import (
    MEDIA_COLUMNS,
    OTHER_COSTS_CHANNEL,
    StageColumns,
    cac,
    stage_columns,
    with_money_metrics,
)
from attribution.models import AttributionModel, get_model
from attribution.models.base import credit_touches
from attribution.numbers import format_number
from attribution.schema import COSTS
from attribution.uncertainty.bootstrap import (
    bootstrap_totals,
    describe,
    require_ci,
    require_resamples,
)

REPORT_COLUMNS = StageColumns("revenue", "cpa").columns
"""A revenue stage's report columns after the key; ``ci=`` adds :data:`INTERVAL_COLUMNS`.

Other stages name the value and cost columns their own way
(:func:`attribution.metrics.stage_columns`).
"""


@dataclass(frozen=True)
class AttributionReport:
    """Attributed conversions, revenue and money metrics of one model run.

    ``data`` has one row per value of ``by`` with the columns of
    :data:`REPORT_COLUMNS` (and :data:`INTERVAL_COLUMNS` when intervals were
    asked for); ``totals`` holds the same metrics over all rows.
    ``uncertainty`` describes the intervals (method, ``ci``, ``bootstrap``,
    ``seed``) or is ``None``. ``currency`` is ``None`` when nobody said what
    the money is in (frames or path tables given without one), and ``start``
    / ``end`` are ``None`` when neither the data nor the caller dates them.
    ``windows`` says which click and view windows
    kept the touches (:meth:`attribution.windows.TouchWindows.to_dict`), or is
    ``None`` when the journeys had no interactions (aggregated paths).
    """

    model: str
    params: dict[str, Any]
    by: str
    stage: str | None
    start: dt.date | None
    end: dt.date | None
    lookback_days: float
    currency: str | None
    data: pl.DataFrame
    totals: dict[str, Any]
    credits: pl.DataFrame = field(repr=False)
    uncertainty: dict[str, Any] | None = None
    windows: dict[str, Any] | None = None
    value_column: str = "revenue"
    cost_column: str = "cpa"
    stage_values: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (the API's response body).

        Examples
        --------
        >>> report = attribute(*_tiny_example(), model="linear")
        >>> report.to_dict()["data"][0]  # doctest: +NORMALIZE_WHITESPACE
        {'channel': 'Email', 'conversions': 0.5, 'revenue': 50.0, 'spend': 10.0,
         'roas': 5.0, 'roi': 4.0, 'cpa': 20.0, 'impressions': 1000, 'clicks': 20,
         'ctr': 0.02, 'cpc': 0.5, 'cpm': 10.0}
        """
        return {
            "model": self.model,
            "params": self.params,
            "by": self.by,
            "stage": self.stage,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "lookback_days": self.lookback_days,
            "windows": self.windows,
            "currency": self.currency,
            "value_column": self.value_column,
            "cost_column": self.cost_column,
            "stage_values": self.stage_values,
            "data": json_ready(self.data.to_dicts()),
            "totals": json_ready(self.totals),
            "uncertainty": self.uncertainty,
        }

    def to_csv(self) -> str:
        """Return the rows as RFC 4180 CSV (header row, CRLF line ends).

        Examples
        --------
        >>> csv = attribute(*_tiny_example(), model="first_touch").to_csv()
        >>> print(csv.replace(chr(13), ""))
        channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm
        Email,1.0,100.0,10.0,10.0,9.0,10.0,1000,20,0.02,0.5,10.0
        Search,0.0,0.0,20.0,0.0,-1.0,,,,,,
        <BLANKLINE>
        """
        return rfc4180_csv(self.data)

    def to_table(self) -> str:
        """Return the rows and a total line as a human-readable table.

        The media columns (impressions, clicks, CTR, CPC, CPM) are left out of
        the table when the costs carry none of them, and beside intervals (the
        table would not fit a terminal); JSON, CSV and Parquet keep them.
        """
        total = pl.DataFrame(
            [{self.by: "TOTAL", **{c: self.totals.get(c) for c in self.data.columns[1:]}}],
            schema=self.data.schema,
        )
        frame = pl.concat([self.data, total])
        media = [c for c in MEDIA_COLUMNS if c in frame.columns]
        if media and (
            self.uncertainty is not None
            or frame.select(pl.col(media).is_null().all()).row(0) == (True,) * len(media)
        ):
            frame = frame.drop(media)
        table = text_table(frame, currency=self.currency)
        period = f"{self.start or '…'} to {self.end or '…'}"
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        model = f"{self.model}({params})" if params else self.model
        header = (
            f"model {model} · stage {self.stage} · by {self.by} · "
            f"{period} · lookback {format_number(self.lookback_days, 'days')} days"
        )
        if self.currency is not None:
            header += f" · {self.currency}"
        if self.windows is not None:
            header += "\n" + windows_line(self.windows, self.totals)
        header += "".join(f"\n{line}" for line in self.metric_notes())
        if self.uncertainty is not None:
            u = self.uncertainty
            header += (
                f"\n{u['ci']:.0%} intervals: {u['method']}, "
                f"{u['bootstrap']:,} resamples, seed {u['seed']}"
            )
        return f"{header}\n{table}"

    def metric_notes(self) -> list[str]:
        """Say what the stage's value and cost columns mean, and the costs beyond media.

        Examples
        --------
        >>> tp, cv, costs = _tiny_example()
        >>> cv = cv.with_columns(stage=pl.lit("lead"))
        >>> report = attribute(tp, cv, costs, model="linear")
        >>> report.metric_notes()  # doctest: +NORMALIZE_WHITESPACE
        ['cpl = spend per attributed lead; lead has no revenue: value, ROAS and ROI are null
          (give it a value: --stage-values lead=50)']
        """
        about = []
        stage = self.stage or "conversion"
        if self.cost_column != "cpa":
            about.append(f"{self.cost_column} = spend per attributed {stage}")
        if self.value_column == "pipeline":
            about.append("pipeline = the opportunities' amounts (not revenue yet)")
        elif self.value_column == "value":
            amount = self.stage_values.get(stage)
            about.append(
                f"value = attributed {stage}s × {format_number(amount, 'money', self.currency)}"
                " (stage value)"
                if amount is not None
                else f"{stage} has no revenue: value, ROAS and ROI are null "
                f"(give it a value: --stage-values {stage}=50)"
            )
        lines = ["; ".join(about)] if about else []
        other = self.totals.get("other_costs")
        if other:
            total_cac = self.totals.get("cac")
            money = format_number(other, "money", self.currency)
            line = f"non-media costs {money} (channel {OTHER_COSTS_CHANNEL}): in CAC only"
            if total_cac is not None:
                line += f"; CAC {format_number(total_cac, 'money', self.currency)}"
            lines.append(line)
        return lines

    def __str__(self) -> str:
        return self.to_table()


def windows_line(windows: dict[str, Any], totals: dict[str, Any]) -> str:
    """Return the header line saying which windows kept the touches and what views alone reached.

    Examples
    --------
    >>> windows_line({"click_days": 7.0, "view_days": 1.0}, {"view_only_conversions": 3.0})
    'windows 7-day click / 1-day view (impressions) · 3 conversions reached by views only'
    """
    only = totals.get("view_only_conversions") or 0.0
    return (
        f"windows {windows['click_days']:g}-day click / {windows['view_days']:g}-day view "
        f"(impressions) · {only:,.0f} conversions reached by views only"
    )


def _period(
    journeys_convs: pl.DataFrame,
    costs: pl.DataFrame | None,
    start: dt.date | None,
    end: dt.date | None,
) -> tuple[dt.date | None, dt.date | None]:
    dates = [journeys_convs["ts"].dt.date()]
    if costs is not None and not costs.is_empty():
        dates.append(costs["date"])
    seen = pl.concat(dates).drop_nulls()
    if seen.is_empty():
        return start, end
    first: dt.date = seen.min()  # type: ignore[assignment]
    last: dt.date = seen.max()  # type: ignore[assignment]
    return start or first, end or last


COST_KEYS = ("channel", "campaign")
"""The touch columns costs are keyed by: reports by any other show spend as null."""


def costs_keyed_by(costs: pl.DataFrame, by: str) -> bool:
    """Say whether ``costs`` split spend by the touch column ``by``.

    Costs carry a channel and a campaign, never a source, medium or
    interaction: a report by those has no spend per row (null, and so are
    ROAS, ROI and CPA), only the period's total. Costs given without a
    ``campaign`` column cannot be split by campaign either.

    Examples
    --------
    >>> costs = pl.DataFrame({"date": ["2024-01-01"], "channel": ["Email"], "spend": [5.0]})
    >>> costs_keyed_by(costs, "channel"), costs_keyed_by(costs, "campaign")
    (True, False)
    >>> costs_keyed_by(costs, "source")
    False
    """
    return by in COST_KEYS and by in costs.columns


def _conform_costs(costs: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in ("date", "channel", "spend") if c not in costs.columns]
    if missing:
        raise MissingColumnsError(
            f"costs is missing required column(s): {', '.join(repr(c) for c in missing)}. "
            f"Found: {', '.join(repr(c) for c in costs.columns)}."
        )
    absent = [pl.lit(None, t).alias(c) for c, t in COSTS.items() if c not in costs.columns]
    frame = costs.with_columns(absent)
    date = frame.schema["date"]
    date_expr = pl.col("date").str.to_date() if date == pl.String else pl.col("date").cast(pl.Date)
    return frame.with_columns(
        date_expr,
        pl.col("spend").cast(pl.Float64),
        pl.col("impressions", "clicks").cast(pl.Int64),
    ).select(COSTS.names())


def _known_sum(column: str) -> pl.Expr:
    """Sum ``column``, or null when any of its values is unknown (a partial sum would mislead)."""
    known = pl.col(column).sum()
    return pl.when(pl.col(column).is_null().any()).then(None).otherwise(known).alias(column)


def attribute(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame | None = None,
    *,
    model: str | AttributionModel = "linear",
    by: str = "channel",
    stage: str | None = None,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    start: dt.date | None = None,
    end: dt.date | None = None,
    click_window_days: float | None = None,
    view_window_days: float | None = None,
    currency: str | None = None,
    params: dict[str, Any] | None = None,
    stage_values: Mapping[str, float] | None = None,
    ci: float | None = None,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AttributionReport:
    """Attribute conversions to ``by`` with ``model`` and report ROAS, ROI and CPA.

    Parameters
    ----------
    touchpoints, conversions
        Canonical touchpoints and conversions (see :func:`build_journeys`).
    costs
        Optional daily spend with ``date``, ``channel``, ``spend`` (and
        ``campaign`` to report by campaign).
    model
        A registered model name or a model instance.
    by
        Touch column to report by: ``channel``, ``campaign`` or any other.
    stage, lookback_days, start, end
        As in :func:`build_journeys`; spend is summed over the same period.
    click_window_days, view_window_days
        Days a click (any touch but a view) and a view (``interaction`` =
        ``impression``) can be credited before the conversion; by default the
        lookback and 1 day (see :mod:`attribution.windows`).
    currency
        ISO 4217 code of the money, echoed in the report; ``None`` (the
        default) when the frames do not say, reported as ``null``.
    params
        Model parameters when ``model`` is a name.
    stage_values
        What one conversion of a stage without revenue is worth
        (``{"lead": 50.0}``): the ``value`` column is then attributed
        conversions × it, for a value-based ROAS (see
        :func:`attribution.metrics.stage_columns`).
    ci
        Confidence level of the intervals, between 0 and 1 (e.g. ``0.95``);
        ``None`` (the default) reports no intervals. With a level, every row
        gets ``conversions_low/high``, ``revenue_low/high`` and
        ``roas_low/high`` from a person-level bootstrap (see
        :mod:`attribution.uncertainty`).
    bootstrap
        Number of bootstrap resamples (at least 10).
    seed
        Seed of the resampling; the same seed gives the same intervals.
    progress
        Called as ``progress(done, bootstrap)`` after each resample.

    Returns
    -------
    AttributionReport

    Examples
    --------
    >>> tp, cv, costs = _tiny_example()
    >>> print(attribute(tp, cv, costs, model="last_touch").data.select(pl.nth(range(7))))
    shape: (2, 7)
    ┌─────────┬─────────────┬─────────┬───────┬──────┬──────┬──────┐
    │ channel ┆ conversions ┆ revenue ┆ spend ┆ roas ┆ roi  ┆ cpa  │
    │ ---     ┆ ---         ┆ ---     ┆ ---   ┆ ---  ┆ ---  ┆ ---  │
    │ str     ┆ f64         ┆ f64     ┆ f64   ┆ f64  ┆ f64  ┆ f64  │
    ╞═════════╪═════════════╪═════════╪═══════╪══════╪══════╪══════╡
    │ Search  ┆ 1.0         ┆ 100.0   ┆ 20.0  ┆ 5.0  ┆ 4.0  ┆ 20.0 │
    │ Email   ┆ 0.0         ┆ 0.0     ┆ 10.0  ┆ 0.0  ┆ -1.0 ┆ null │
    └─────────┴─────────────┴─────────┴───────┴──────┴──────┴──────┘
    """
    instance = model if isinstance(model, AttributionModel) else get_model(model, **(params or {}))
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
    return report_journeys(
        journeys,
        instance,
        costs=costs,
        by=by,
        start=start,
        end=end,
        currency=currency,
        stage_values=stage_values,
        ci=ci,
        bootstrap=bootstrap,
        seed=seed,
        progress=progress,
    )


def report_journeys(
    journeys: Journeys,
    model: AttributionModel,
    *,
    costs: pl.DataFrame | None = None,
    by: str = "channel",
    start: dt.date | None = None,
    end: dt.date | None = None,
    currency: str | None = None,
    stage_values: Mapping[str, float] | None = None,
    ci: float | None = None,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    conversion_dates: tuple[dt.date, dt.date] | None = None,
    non_converting: float | None = None,
    absent_persons: int = 0,
) -> AttributionReport:
    """Credit built journeys with ``model`` and report money metrics (:func:`attribute`'s core).

    Use it when the journeys come from elsewhere, e.g. aggregated paths
    (:func:`attribution.paths.journeys_from_paths`); parameters as in
    :func:`attribute`. ``conversion_dates`` (first, last) stands in for the
    journeys' conversion dates where those are not real (journeys built from
    paths): the spend of an open period is summed over them. Journeys
    without real times and without ``conversion_dates`` (an aggregated path
    table) report the period as given, ``None`` where not. ``non_converting``
    stands in for the count of non-converting journeys where the journeys
    hold converting ones only (the engine's, for models that credit each
    journey on its own), and ``absent_persons`` counts the persons they leave
    out, whom the bootstrap draws too.

    Examples
    --------
    >>> from attribution.models import Linear
    >>> tp, cv, costs = _tiny_example()
    >>> report_journeys(build_journeys(tp, cv), Linear(), costs=costs).totals["revenue"]
    100.0
    """
    if ci is not None:
        require_ci(ci)
    require_resamples(bootstrap, seed)
    instance = model
    touches = credit_touches(journeys, instance, by)
    key = pl.col(by).cast(pl.String).fill_null(NOT_SET)
    credited = touches.group_by(key.alias(by)).agg(
        pl.col("attributed_conversions").sum().alias("conversions"),
        pl.col("attributed_revenue").sum().alias("revenue"),
    )
    untouched = journeys.untouched
    if not untouched.is_empty():
        credited = pl.concat(
            [
                credited,
                pl.DataFrame(
                    {
                        by: [NO_TOUCHPOINT],
                        "conversions": [float(untouched.height)],
                        "revenue": [float(untouched["revenue"].sum())],
                    }
                ),
            ]
        )
    if conversion_dates is not None:  # journeys without real times (from the engine's paths)
        day = pl.Datetime("us", "UTC")
        conversions_in_period = pl.DataFrame(
            {"ts": [dt.datetime.combine(d, dt.time(), dt.UTC) for d in conversion_dates]},
            schema={"ts": day},
        )
    else:
        conversions_in_period = pl.concat(
            [
                journeys.converting.select(pl.col("conversion_ts").alias("ts")),
                untouched.select("ts"),
            ]
        )
    names = stage_columns(journeys.stage, stage_values)
    cost_frame = _conform_costs(costs) if costs is not None else None
    other = pl.col("channel").eq_missing(OTHER_COSTS_CHANNEL)
    # Non-media costs are summed over the period; they do not widen it.
    media_dates = cost_frame.filter(~other) if cost_frame is not None else None
    if journeys.timed or conversion_dates is not None:
        first, last = _period(conversions_in_period, media_dates, start, end)
    else:  # synthetic times (paths from a table) date nothing: only what the caller gave
        first, last = start, end
    other_costs: float | None = None
    media_totals = pl.DataFrame(
        {"impressions": [None], "clicks": [None]},
        schema={"impressions": pl.Int64, "clicks": pl.Int64},
    )
    media: pl.DataFrame | None = None
    if cost_frame is not None:
        in_period = cost_frame.filter(
            pl.col("date").is_between(first, last) if first and last else pl.lit(True)
        )
        other_costs = float(in_period.filter(other)["spend"].sum())
        media = in_period.filter(~other)
        media_totals = media.select(_known_sum("impressions"), _known_sum("clicks"))
    if costs is not None and media is not None and not costs_keyed_by(costs, by):
        rows = credited.with_columns(
            pl.lit(None, pl.Float64).alias("spend"),
            pl.lit(None, pl.Int64).alias("impressions"),
            pl.lit(None, pl.Int64).alias("clicks"),
        )
    elif media is not None:
        spend = media.group_by(pl.col(by).cast(pl.String).fill_null(NOT_SET)).agg(
            pl.col("spend").sum().alias("spend"), _known_sum("impressions"), _known_sum("clicks")
        )
        rows = (
            credited.join(spend, on=by, how="full", coalesce=True)
            .with_columns(pl.col("conversions", "revenue", "spend").fill_null(0.0))
            # Untouched conversions have no channel, hence no spend: not 0 (a CPA of 0).
            .with_columns(
                pl.when(pl.col(by) == NO_TOUCHPOINT)
                .then(None)
                .otherwise(pl.col("spend"))
                .alias("spend")
            )
        )
    else:
        rows = credited.with_columns(
            pl.lit(None, pl.Float64).alias("spend"),
            pl.lit(None, pl.Int64).alias("impressions"),
            pl.lit(None, pl.Int64).alias("clicks"),
        )
    if ci is not None:
        rows = _with_intervals(
            rows, journeys, instance, by, touches, ci, bootstrap, seed, progress, absent_persons
        )
        rows = _value_intervals(rows, names)
    order = "conversions" if names.value == "value" else "revenue"  # a stage value: same order
    rows = rows.sort([order, by], descending=[True, False])
    rows = with_money_metrics(rows, names)
    sums = rows.select(pl.col("conversions", names.value, "spend").sum()).rename(
        {names.value: "revenue"}
    )
    if names.value == "value":  # recomputed from the conversions: null without a stage value
        sums = sums.with_columns(pl.lit(0.0).alias("revenue"))
    if media is None:
        sums = sums.with_columns(pl.lit(None, pl.Float64).alias("spend"))
    else:  # the period's media spend, whether or not the rows' key splits it
        sums = sums.with_columns(pl.lit(float(media["spend"].sum())).alias("spend"))
    totals = with_money_metrics(
        pl.concat([sums, media_totals], how="horizontal"), names
    ).to_dicts()[0]
    totals["other_costs"] = other_costs
    totals["cac"] = cac(totals["spend"], other_costs, float(totals["conversions"]), journeys.stage)
    totals["untouched_conversions"] = untouched.height
    totals["view_only_conversions"] = journeys.view_only_conversions
    first_touches = journeys.touches.filter(~pl.col("converted") & (pl.col("position") == 0))
    totals["non_converting_journeys"] = (
        float(first_touches["count"].sum()) if non_converting is None else float(non_converting)
    )
    intervals = [c.replace("revenue", names.value) for c in INTERVAL_COLUMNS]
    return AttributionReport(
        model=instance.name,
        params=instance.params(),
        by=by,
        stage=journeys.stage,
        start=first,
        end=last,
        lookback_days=journeys.lookback_days,
        currency=currency,
        data=rows.select(by, *names.columns, *(intervals if ci is not None else ())),
        totals=totals,
        credits=touches,
        uncertainty=describe(ci, bootstrap, seed) if ci is not None else None,
        windows=journeys.windows.to_dict() if journeys.windows is not None else None,
        value_column=names.value,
        cost_column=names.cost,
        stage_values=dict(sorted((stage_values or {}).items())),
    )


def _value_intervals(rows: pl.DataFrame, names: StageColumns) -> pl.DataFrame:
    """Name the revenue intervals for the stage; at a valued stage, derive them from conversions."""
    if names.value == "value":
        value = {
            f"revenue_{side}": pl.col(f"conversions_{side}") * names.stage_value
            if names.stage_value is not None
            else pl.lit(None, pl.Float64)
            for side in ("low", "high")
        }
        spend = pl.col("spend")
        rows = rows.with_columns(**value).with_columns(
            **{
                f"roas_{side}": pl.when(spend > 0).then(pl.col(f"revenue_{side}") / spend)
                for side in ("low", "high")
            }
        )
    return rows.rename({f"revenue_{side}": f"{names.value}_{side}" for side in ("low", "high")})


def _with_intervals(
    rows: pl.DataFrame,
    journeys: Journeys,
    model: AttributionModel,
    by: str,
    touches: pl.DataFrame,
    ci: float,
    resamples: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
    absent_persons: int = 0,
) -> pl.DataFrame:
    """Add the bootstrap intervals; a row no resample credits (spend only) gets 0 to 0."""
    draws = bootstrap_totals(
        journeys,
        model,
        by,
        resamples=resamples,
        seed=seed,
        progress=progress,
        credited=touches,
        absent_persons=absent_persons,
    )
    spend = pl.col("spend")
    per_spend = {
        f"roas_{side}": pl.when(spend > 0).then(pl.col(f"revenue_{side}") / spend)
        for side in ("low", "high")
    }
    return (
        rows.join(draws.intervals(ci), on=by, how="left")
        .with_columns(pl.col(*INTERVAL_COLUMNS[:4]).fill_null(0.0))
        .with_columns(**per_spend)
    )


def _tiny_example() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two touches, one conversion of 100, two days of spend: the docstring examples' data."""
    touchpoints = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2"],
            "user_id": ["a", "a"],
            "ts": ["2024-01-01T09:00:00Z", "2024-01-02T09:00:00Z"],
            "channel": ["Email", "Search"],
        }
    )
    conversions = pl.DataFrame(
        {
            "conversion_id": ["c1"],
            "user_id": ["a"],
            "ts": ["2024-01-03T09:00:00Z"],
            "stage": ["purchase"],
            "revenue": [100.0],
        }
    )
    costs = pl.DataFrame(
        {
            "date": ["2024-01-01", "2024-01-02"],
            "channel": ["Email", "Search"],
            "spend": [10.0, 20.0],
            "impressions": [1_000, None],
            "clicks": [20, None],
        }
    )
    return touchpoints, conversions, costs


__all__ = [
    "COST_KEYS",
    "INTERVAL_COLUMNS",
    "NOT_SET",
    "NO_TOUCHPOINT",
    "AttributionReport",
    "attribute",
    "costs_keyed_by",
    "credit_touches",
    "report_journeys",
    "windows_line",
]
