"""Money metrics over attributed credit and spend: ROAS, ROI, CPA, CPL.

Formulas (conventions.md section 6.1; cost means ad spend, not all costs):

- ROAS = attributed revenue / spend
- ROI  = (attributed revenue - spend) / spend
- CPA  = spend / attributed conversions
- CPL  = spend / attributed leads (CPA when the stage attributed is ``lead``)

A ratio whose denominator is zero (or null) is null, never infinity. A cost
per conversion (or lead) whose spend is zero or unknown is null too: a CPA of
0.00 would read as free customers where no spend was recorded.
"""

from __future__ import annotations

import polars as pl


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
    return pl.when(spend == 0).then(None).otherwise(safe_ratio(spend, conversions))


def cpl(spend: pl.Expr, leads: pl.Expr) -> pl.Expr:
    """Return spend per lead (CPL): the CPA of the lead stage; null where spend is zero or unknown.

    Examples
    --------
    >>> pl.select(cpl(pl.lit(300.0), pl.lit(150.0))).item()
    2.0
    """
    return cpa(spend, leads)


def with_money_metrics(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``roas``, ``roi`` and ``cpa`` to a frame with ``conversions``, ``revenue``, ``spend``.

    Examples
    --------
    >>> df = pl.DataFrame({"conversions": [2.0, 0.0], "revenue": [300.0, 0.0],
    ...     "spend": [100.0, 0.0]})
    >>> with_money_metrics(df).row(0)
    (2.0, 300.0, 100.0, 3.0, 2.0, 50.0)
    """
    revenue, spend, conversions = pl.col("revenue"), pl.col("spend"), pl.col("conversions")
    return frame.with_columns(
        roas(revenue, spend).alias("roas"),
        roi(revenue, spend).alias("roi"),
        cpa(spend, conversions).alias("cpa"),
    )


__all__ = ["cpa", "cpl", "roas", "roi", "safe_ratio", "with_money_metrics"]
