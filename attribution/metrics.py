"""Money and media metrics over attributed credit and spend, named for the stage attributed.

Formulas (cost means the key's ad spend in the period, not all costs):

- ROAS = attributed value / spend, ROI = (attributed value − spend) / spend;
- cost per conversion of the stage = spend / attributed conversions: ``cpl``
  (cost per lead) at ``lead``, ``cpa`` (cost per acquisition: per customer
  or order) at the stages that carry revenue, ``cost_per_<stage>`` at the
  others (``cost_per_mql``, ``cost_per_sql``, ``cost_per_opportunity``);
- CTR = clicks / impressions, CPC = spend / clicks, CPM = spend /
  impressions × 1,000, from the costs' ``impressions`` and ``clicks``;
- CAC = (media spend + other costs) / customers, over the whole report only
  (:func:`cac`).

What a conversion is worth (its *value*) depends on the stage
(:func:`stage_columns`): its ``revenue`` at ``closed_won``, ``purchase`` and
any stage not named below; its ``pipeline`` amount at ``opportunity``; and at
the stages before money changes hands (``lead``, ``mql``, ``sql``, and any
stage given a value) the *stage value* the user sets
(``--stage-values lead=50,mql=200``): ``value`` = attributed conversions ×
that value. A stage without revenue and without a stage value has a null
``value``, so null ROAS and ROI, never 0 and −1.

A ratio is null, never infinity or 0, where its denominator is zero or
unknown; the cost ratios (cost per conversion, CPC, CPM) are null too where
spend is zero or unknown: a channel nobody paid for has no cost per lead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from attribution.errors import ParameterError
from attribution.schema import PIPELINE_STAGE

LEAD_STAGES = ("lead", "mql", "sql")
"""Stages before any money is attached: valued only by a stage value."""

REVENUE_STAGES = ("closed_won", "purchase")
"""Stages whose conversions carry revenue; the only ones CAC counts customers at."""

MEDIA_COLUMNS = ("impressions", "clicks", "ctr", "cpc", "cpm")
"""The media columns a report has beside the attributed figures."""

OTHER_COSTS_CHANNEL = "(sales)"
"""Channel of cost rows that are not media: counted in CAC, never credited or reported by row."""


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """Divide, giving null where the denominator is zero or null.

    Examples
    --------
    >>> df = pl.DataFrame({"a": [4.0, 1.0, 1.0], "b": [2.0, 0.0, None]})
    >>> df.select(safe_ratio(pl.col("a"), pl.col("b")).alias("r"))["r"].to_list()
    [2.0, None, None]
    """
    return (
        pl.when(denominator.is_null() | (denominator == 0))
        .then(None)
        .otherwise(numerator / denominator)
    )


def cost_ratio(spend: pl.Expr, count: pl.Expr) -> pl.Expr:
    """Return spend per unit of ``count``; null where spend is zero or unknown, or count is 0.

    Examples
    --------
    >>> df = pl.DataFrame({"spend": [100.0, 0.0, None], "n": [4.0, 4.0, 4.0]})
    >>> df.select(cost_ratio(pl.col("spend"), pl.col("n")).alias("r"))["r"].to_list()
    [25.0, None, None]
    """
    return pl.when(spend > 0).then(safe_ratio(spend, count))


def roas(revenue: pl.Expr, spend: pl.Expr) -> pl.Expr:
    """Return attributed revenue per unit of spend.

    Examples
    --------
    >>> pl.select(roas(pl.lit(300.0), pl.lit(100.0))).item()
    3.0
    """
    return safe_ratio(revenue, spend)


def roi(revenue: pl.Expr, spend: pl.Expr) -> pl.Expr:
    """Return (revenue - spend) / spend.

    Examples
    --------
    >>> pl.select(roi(pl.lit(300.0), pl.lit(100.0))).item()
    2.0
    """
    return safe_ratio(revenue - spend, spend)


def cpa(spend: pl.Expr, conversions: pl.Expr) -> pl.Expr:
    """Return spend per attributed conversion; null where spend is zero or unknown.

    Examples
    --------
    >>> pl.select(cpa(pl.lit(100.0), pl.lit(4.0))).item()
    25.0
    >>> pl.select(cpa(pl.lit(0.0), pl.lit(4.0))).item() is None  # no spend recorded: not free
    True
    """
    return cost_ratio(spend, conversions)


def cpl(spend: pl.Expr, leads: pl.Expr) -> pl.Expr:
    """Return spend per lead (CPL): the CPA of the lead stage; null where spend is zero or unknown.

    Examples
    --------
    >>> pl.select(cpl(pl.lit(300.0), pl.lit(150.0))).item()
    2.0
    """
    return cost_ratio(spend, leads)


def media_metrics(spend: pl.Expr, impressions: pl.Expr, clicks: pl.Expr) -> list[pl.Expr]:
    """Return CTR, CPC and CPM (per 1,000 impressions) as ``ctr``, ``cpc``, ``cpm``.

    Examples
    --------
    >>> df = pl.DataFrame({"spend": [50.0], "impressions": [10_000], "clicks": [200]})
    >>> df.select(media_metrics(pl.col("spend"), pl.col("impressions"), pl.col("clicks"))).row(0)
    (0.02, 0.25, 5.0)
    """
    return [
        safe_ratio(clicks.cast(pl.Float64), impressions.cast(pl.Float64)).alias("ctr"),
        cost_ratio(spend, clicks.cast(pl.Float64)).alias("cpc"),
        (cost_ratio(spend, impressions.cast(pl.Float64)) * 1_000.0).alias("cpm"),
    ]


@dataclass(frozen=True)
class StageColumns:
    """How a report of one stage names what a conversion is worth and what it costs.

    ``value`` is ``revenue``, ``pipeline`` or ``value``; ``cost`` is ``cpa``,
    ``cpl`` or ``cost_per_<stage>``; ``stage_value`` is the value of one
    conversion when the stage is valued by the user (else ``None``).
    """

    value: str
    cost: str
    stage_value: float | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Return a report's columns after its key.

        Examples
        --------
        >>> stage_columns("lead").columns
        ('conversions', 'value', 'spend', 'roas', 'roi', 'cpl', 'impressions', 'clicks', 'ctr', 'cpc', 'cpm')
        """  # noqa: E501
        return ("conversions", self.value, "spend", "roas", "roi", self.cost, *MEDIA_COLUMNS)


def parse_stage_values(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """Read stage values given as ``lead=50,mql=200`` (or a mapping): sorted, checked.

    Examples
    --------
    >>> parse_stage_values("mql=200, lead=50")
    {'lead': 50.0, 'mql': 200.0}
    >>> parse_stage_values("closed_won=10")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Stage values are for stages without revenue: closed_won ...
    >>> parse_stage_values("lead=cheap")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Stage value 'lead=cheap' is not a number ≥ 0. ...
    """
    if text is None:
        return {}
    if isinstance(text, str):
        pairs: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, written = part.partition("=")
            if not sep or not name.strip():
                raise ParameterError(
                    f"Stage value {part[:64]!r} is not stage=value. Give e.g. lead=50,mql=200."
                )
            pairs[name.strip()] = written.strip()
    else:
        pairs = dict(text)
    values: dict[str, float] = {}
    for stage, amount in pairs.items():
        try:
            number = float(amount)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number >= 0):
            raise ParameterError(
                f"Stage value {f'{stage}={amount}'[:64]!r} is not a number ≥ 0. "
                "Give e.g. lead=50,mql=200."
            )
        if stage in REVENUE_STAGES or stage == PIPELINE_STAGE:
            raise ParameterError(
                f"Stage values are for stages without revenue: {stage} carries "
                f"{'its pipeline amount' if stage == PIPELINE_STAGE else 'revenue'}. "
                "Give values for lead, mql, sql or your own stages."
            )
        values[stage] = number
    return dict(sorted(values.items()))


def stage_columns(
    stage: str | None, stage_values: Mapping[str, float] | None = None
) -> StageColumns:
    """Return how a report of ``stage`` names its value and cost columns.

    Examples
    --------
    >>> stage_columns("closed_won"), stage_columns("opportunity")
    (StageColumns(value='revenue', cost='cpa', stage_value=None), StageColumns(value='pipeline', cost='cost_per_opportunity', stage_value=None))
    >>> stage_columns("mql", {"mql": 200.0})
    StageColumns(value='value', cost='cost_per_mql', stage_value=200.0)
    >>> stage_columns("signup", {"signup": 5.0}).cost, stage_columns("signup").value
    ('cost_per_signup', 'revenue')
    """  # noqa: E501
    given = (stage_values or {}).get(stage) if stage is not None else None
    if stage == PIPELINE_STAGE:
        return StageColumns("pipeline", "cost_per_opportunity")
    if stage is not None and (stage in LEAD_STAGES or given is not None):
        return StageColumns("value", "cpl" if stage == "lead" else f"cost_per_{stage}", given)
    return StageColumns("revenue", "cpa")


def with_money_metrics(frame: pl.DataFrame, columns: StageColumns | None = None) -> pl.DataFrame:
    """Add value, ROAS, ROI and cost per conversion to a frame of ``conversions``, ``revenue``, ``spend``.

    ``revenue`` is the attributed amount the journeys carried (the pipeline
    at ``opportunity``); it becomes the ``columns.value`` column: renamed,
    or replaced by conversions × the stage value (null without one). Media
    columns, when the frame has ``impressions`` and ``clicks``, are added
    as :func:`media_metrics`.

    Examples
    --------
    >>> df = pl.DataFrame({"conversions": [2.0, 0.0], "revenue": [300.0, 0.0],
    ...     "spend": [100.0, 0.0]})
    >>> with_money_metrics(df).row(0), with_money_metrics(df).row(1)
    ((2.0, 300.0, 100.0, 3.0, 2.0, 50.0), (0.0, 0.0, 0.0, None, None, None))
    >>> leads = with_money_metrics(df, stage_columns("lead"))
    >>> leads.columns, leads.row(0)
    (['conversions', 'value', 'spend', 'roas', 'roi', 'cpl'], (2.0, None, 100.0, None, None, 50.0))
    >>> with_money_metrics(df, stage_columns("lead", {"lead": 75.0})).row(0)
    (2.0, 150.0, 100.0, 1.5, 0.5, 50.0)
    """  # noqa: E501
    names = columns or StageColumns("revenue", "cpa")
    if names.value == "value":
        value = (
            pl.col("conversions") * names.stage_value
            if names.stage_value is not None
            else pl.lit(None, pl.Float64)
        )
    else:
        value = pl.col("revenue")
    spend, conversions = pl.col("spend"), pl.col("conversions")
    out = frame.with_columns(value.alias("revenue")).with_columns(
        roas(pl.col("revenue"), spend).alias("roas"),
        roi(pl.col("revenue"), spend).alias("roi"),
        cost_ratio(spend, conversions).alias(names.cost),
    )
    if "impressions" in frame.columns and "clicks" in frame.columns:
        out = out.with_columns(media_metrics(spend, pl.col("impressions"), pl.col("clicks")))
    return out.rename({"revenue": names.value}) if names.value != "revenue" else out


def cac(
    media_spend: float | None, other_costs: float | None, customers: float, stage: str | None
) -> float | None:
    """Return the customer acquisition cost: every cost of the period per new customer.

    Counted only where the stage is a customer stage (:data:`REVENUE_STAGES`)
    and some cost is known; ``other_costs`` are the non-media costs (sales
    salaries, tools: cost rows of channel :data:`OTHER_COSTS_CHANNEL` or an
    ``--other-costs`` file).

    Examples
    --------
    >>> cac(3_000.0, 2_000.0, 10.0, "closed_won")
    500.0
    >>> cac(3_000.0, None, 10.0, "closed_won"), cac(3_000.0, 2_000.0, 10.0, "lead")
    (300.0, None)
    """
    if stage not in REVENUE_STAGES or not customers:
        return None
    known = [c for c in (media_spend, other_costs) if c is not None]
    return sum(known) / customers if known and sum(known) > 0 else None


__all__ = [
    "LEAD_STAGES",
    "MEDIA_COLUMNS",
    "OTHER_COSTS_CHANNEL",
    "PIPELINE_STAGE",
    "REVENUE_STAGES",
    "StageColumns",
    "cac",
    "cost_ratio",
    "cpa",
    "cpl",
    "media_metrics",
    "parse_stage_values",
    "roas",
    "roi",
    "safe_ratio",
    "stage_columns",
    "with_money_metrics",
]
