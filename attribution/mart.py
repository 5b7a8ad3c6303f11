"""The attribution mart: credit, revenue and spend per period × channel × campaign × model.

BI tools (Metabase, Superset, Looker Studio) chart a long table best: one row
per model, period, channel and campaign, the metrics as columns they can sum.
This module computes those rows from journeys and daily costs, in vectorised
polars; ``closedloop materialize`` (:mod:`api.services.mart`) runs it for
each model and writes the rows to the store (:mod:`ingest.mart`).

Conventions, the same as :mod:`attribution.timeseries`:

- periods are ``day``, ``week`` (ISO, starting on Monday) or ``month``, each
  labelled by its **start date**;
- credit is dated at the **conversion** (UTC), spend at the cost's date;
- a conversion with no touch in its window is credited to channel
  ``(no touchpoint)``, campaign ``(not set)``, so per period the rows of a
  model sum to the revenue closed in that period; a touch or cost without a
  campaign is on campaign ``(not set)``;
- spend does not depend on the model: every model's rows carry the same
  spend, impressions and clicks (filter on one ``model`` before summing
  them). Non-media costs (channel ``(sales)``) are left out, as in the
  attribution report's per-channel rows.

Rows are sparse: a (period, channel, campaign) with neither credit nor spend
has no row. Ratios (ROAS, CPA) are not stored: they do not add up, so a BI
tool computes them from the sums (``SUM(attributed_revenue) / SUM(spend)``).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from attribution.constants import NO_TOUCHPOINT, NOT_SET
from attribution.journeys import Journeys
from attribution.metrics import OTHER_COSTS_CHANNEL, stage_columns
from attribution.models import AttributionModel
from attribution.models.base import credit_touches
from attribution.report import _conform_costs
from attribution.timeseries import INTERVALS, bucket_start, require_interval

GRAINS = INTERVALS
"""The periods a mart can be cut by: ``day``, ``week`` (ISO, Monday) or ``month``."""

KEYS = ("period", "channel", "campaign")
"""What one row of a model's mart is about."""

MART_SCHEMA = pl.Schema(
    {
        "model": pl.String(),
        "grain": pl.String(),
        "stage": pl.String(),
        "period": pl.Date(),
        "channel": pl.String(),
        "campaign": pl.String(),
        "attributed_conversions": pl.Float64(),
        "attributed_revenue": pl.Float64(),
        "spend": pl.Float64(),
        "impressions": pl.Int64(),
        "clicks": pl.Int64(),
    }
)
"""The columns of the ``mart_attribution`` table, in order (its ``run_id`` comes first)."""

_CREDIT = pl.Schema(
    {
        "period": pl.Date(),
        "channel": pl.String(),
        "campaign": pl.String(),
        "attributed_conversions": pl.Float64(),
        "attributed_revenue": pl.Float64(),
    }
)
_SPEND = pl.Schema(
    {
        "period": pl.Date(),
        "channel": pl.String(),
        "campaign": pl.String(),
        "spend": pl.Float64(),
        "impressions": pl.Int64(),
        "clicks": pl.Int64(),
    }
)


def _name(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).fill_null(NOT_SET).alias(column)


def credited_periods(
    journeys: Journeys,
    model: AttributionModel,
    grain: str,
    stage_values: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Credit the journeys with ``model`` and sum the credit per period, channel and campaign.

    The model credits channels (its paths are channel paths); each touch's
    credit then goes to the touch's own campaign, so the campaigns of a
    channel share exactly the channel's credit.

    Parameters
    ----------
    journeys
        Journeys from :func:`attribution.build_journeys` (or the engine's
        converting journeys, for models that credit each journey on its own).
    model
        The attribution model.
    grain
        ``day``, ``week`` or ``month``.
    stage_values
        What one conversion of a stage without revenue is worth
        (``{"lead": 50.0}``): ``attributed_revenue`` is then the attributed
        conversions × that value, and null for such a stage without one (as
        the report's ``value`` column, :func:`attribution.metrics.stage_columns`).

    Returns
    -------
    polars.DataFrame
        ``period``, ``channel``, ``campaign``, ``attributed_conversions``,
        ``attributed_revenue``; one row per key with credit.

    Examples
    --------
    >>> from attribution.journeys import build_journeys
    >>> from attribution.models import Linear
    >>> from attribution.report import _tiny_example
    >>> tp, cv, _ = _tiny_example()
    >>> credited_periods(build_journeys(tp, cv), Linear(), "month").rows()
    [(datetime.date(2024, 1, 1), 'Email', '(not set)', 0.5, 50.0),
     (datetime.date(2024, 1, 1), 'Search', '(not set)', 0.5, 50.0)]
    """
    require_interval(grain)
    touches = credit_touches(journeys, model, "channel")
    if "campaign" not in touches.columns:
        touches = touches.with_columns(pl.lit(None, pl.String).alias("campaign"))
    credited = touches.select(
        pl.col("conversion_ts").dt.date().alias("date"),
        _name("channel"),
        _name("campaign"),
        pl.col("attributed_conversions").cast(pl.Float64),
        pl.col("attributed_revenue").cast(pl.Float64),
    )
    untouched = journeys.untouched.select(
        pl.col("ts").dt.date().alias("date"),
        pl.lit(NO_TOUCHPOINT).alias("channel"),
        pl.lit(NOT_SET).alias("campaign"),
        pl.lit(1.0).alias("attributed_conversions"),
        pl.col("revenue").cast(pl.Float64).alias("attributed_revenue"),
    )
    summed = (
        pl.concat([credited, untouched])
        .group_by(bucket_start(pl.col("date"), grain).alias("period"), "channel", "campaign")
        .agg(pl.col("attributed_conversions", "attributed_revenue").sum())
    )
    names = stage_columns(journeys.stage, stage_values)
    if names.value == "value":  # a stage without revenue: its value, or unknown
        worth = pl.lit(names.stage_value, pl.Float64)
        summed = summed.with_columns(
            (pl.col("attributed_conversions") * worth).alias("attributed_revenue")
        )
    return summed.select(_CREDIT.names()).cast(_CREDIT).sort(KEYS)


def _known_sum(column: str) -> pl.Expr:
    """Sum ``column``, or null when any of its values is unknown (a partial sum would mislead)."""
    return (
        pl.when(pl.col(column).is_null().any())
        .then(None)
        .otherwise(pl.col(column).sum())
        .alias(column)
    )


def spend_periods(costs: pl.DataFrame | None, grain: str) -> pl.DataFrame:
    """Sum daily media spend, impressions and clicks per period, channel and campaign.

    The store holds costs per day (weekly and monthly exports are spread over
    their days when ingested, :mod:`ingest.cost_grain`), so any grain cuts
    them exactly. Impressions and clicks are null where any cost row of the
    key lacks them.

    Examples
    --------
    >>> import datetime as dt
    >>> costs = pl.DataFrame({"date": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
    ...     "channel": ["Search", "Search"], "campaign": ["brand", "brand"],
    ...     "spend": [10.0, 5.0], "impressions": [100, 50], "clicks": [3, None]})
    >>> spend_periods(costs, "week").rows()
    [(datetime.date(2024, 1, 1), 'Search', 'brand', 15.0, 150, None)]
    """
    require_interval(grain)
    if costs is None or costs.is_empty():
        return pl.DataFrame(schema=_SPEND)
    frame = _conform_costs(costs)
    return (
        frame.filter(pl.col("channel").ne_missing(OTHER_COSTS_CHANNEL))
        .select(
            bucket_start(pl.col("date"), grain).alias("period"),
            _name("channel"),
            _name("campaign"),
            pl.col("spend").cast(pl.Float64),
            pl.col("impressions", "clicks").cast(pl.Int64),
        )
        .group_by(KEYS)
        .agg(pl.col("spend").sum(), _known_sum("impressions"), _known_sum("clicks"))
        .select(_SPEND.names())
        .sort(KEYS)
    )


def mart_rows(
    credited: pl.DataFrame,
    spend: pl.DataFrame | None,
    *,
    model: str,
    grain: str,
    stage: str,
) -> pl.DataFrame:
    """Join one model's credit to the spend of the same keys: the model's rows of the mart.

    Parameters
    ----------
    credited
        :func:`credited_periods` of the model.
    spend
        :func:`spend_periods`; ``None`` when the data has no costs at all
        (``spend`` is then null, not 0: unknown, not free).
    model, grain, stage
        What the rows are labelled with.

    Returns
    -------
    polars.DataFrame
        The :data:`MART_SCHEMA` columns, sorted by period, channel and
        campaign. A key with spend and no credit has 0 attributed
        conversions and revenue (null revenue stays null: a stage without a
        value); a key with credit and no spend has spend 0, but the
        ``(no touchpoint)`` row has null spend (nobody paid for it).

    Examples
    --------
    >>> import datetime as dt
    >>> day = dt.date(2024, 1, 1)
    >>> credited = pl.DataFrame({"period": [day], "channel": ["Email"], "campaign": ["news"],
    ...     "attributed_conversions": [1.0], "attributed_revenue": [80.0]})
    >>> spend = spend_periods(pl.DataFrame({"date": [day], "channel": ["Search"],
    ...     "campaign": ["brand"], "spend": [20.0]}), "day")
    >>> for row in mart_rows(credited, spend, model="linear", grain="day", stage="purchase").rows():
    ...     print(row[3:])
    (datetime.date(2024, 1, 1), 'Email', 'news', 1.0, 80.0, 0.0, None, None)
    (datetime.date(2024, 1, 1), 'Search', 'brand', 0.0, 0.0, 20.0, None, None)
    """
    require_interval(grain)
    unvalued = (
        credited.height > 0 and credited["attributed_revenue"].null_count() == credited.height
    )
    costs = spend if spend is not None else pl.DataFrame(schema=_SPEND)
    joined = credited.join(costs, on=list(KEYS), how="full", coalesce=True)
    spent = pl.col("spend").fill_null(0.0) if spend is not None else pl.col("spend")
    revenue = pl.col("attributed_revenue")
    return (
        joined.with_columns(
            pl.col("attributed_conversions").fill_null(0.0),
            revenue if unvalued else revenue.fill_null(0.0),
            pl.when(pl.col("channel") == NO_TOUCHPOINT).then(None).otherwise(spent).alias("spend"),
            pl.lit(model).alias("model"),
            pl.lit(grain).alias("grain"),
            pl.lit(stage).alias("stage"),
        )
        .select(MART_SCHEMA.names())
        .cast(MART_SCHEMA)
        .sort(KEYS)
    )


__all__ = ["GRAINS", "KEYS", "MART_SCHEMA", "credited_periods", "mart_rows", "spend_periods"]
