"""Early, middle and late touches: which channels open, assist and close converting journeys.

Google Analytics 4's conversion paths report splits every converting path
into three parts (https://support.google.com/analytics/answer/10596866):
*early* touchpoints, the first 25% of the path's touches rounded to the
nearest whole number; *late* touchpoints, the last 25% rounded up; *mid*
touchpoints, the 50% in between. closedloop uses the same sizes for a
journey of ``n`` touches (in time order, repeats kept: the split is over
touches, not over the steps of a collapsed path):

- ``early`` = the first ``round(n / 4)`` touches, a half rounded up, i.e.
  ``(n + 2) // 4``;
- ``late`` = the last ``ceil(n / 4)`` touches, i.e. ``(n + 3) // 4``;
- ``middle`` = the ``n - early - late`` touches in between.

==========  =========  ==========  ========
touches     early      middle      late
==========  =========  ==========  ========
1           (empty)    (empty)     1
2           1          (empty)     2
3           1          2           3
4           1          2, 3        4
5           1          2, 3        4, 5
8           1, 2       3 … 6       7, 8
==========  =========  ==========  ========

Every view credits each converting journey **once**: its conversion (and
revenue, times the journey's ``count``) is shared equally over the touches
in that part. Where GA4 leaves a part empty (early and middle of a 1-touch
path, middle of a 2-touch path), the part stands for the whole path and its
credit is shared equally over all the journey's touches: a single touch
opened, assisted and closed its journey, and a 2-touch journey's two touches
share its middle. So each view's conversions and revenue sum to the
conversions and revenue of the journeys that had a touch, and a channel's
three numbers read as "how much of the converting journeys it opened,
assisted and closed". Non-converting journeys and conversions without a
touch take no part.

The work is one pass of polars window expressions over the touches (no
loop per journey), so it runs on journeys of any size, including the
engine's converting journeys.
"""

from __future__ import annotations

import polars as pl

from attribution.constants import NOT_SET
from attribution.journeys import Journeys, require_touch_column

PARTS = ("early", "middle", "late")
"""The three parts of a path, in order."""


def touch_position_columns(by: str) -> list[str]:
    """Return the columns of :func:`touch_positions`: the key, then each part's credit.

    Examples
    --------
    >>> touch_position_columns("channel")[:3]
    ['channel', 'early_conversions', 'early_revenue']
    """
    return [by, *(f"{part}_{measure}" for part in PARTS for measure in ("conversions", "revenue"))]


def part_sizes(touches: pl.Expr) -> dict[str, pl.Expr]:
    """Return the number of early, middle and late touches of a path of ``touches`` touches.

    Examples
    --------
    >>> frame = pl.DataFrame({"n": [1, 2, 3, 4, 5, 8]})
    >>> sizes = part_sizes(pl.col("n"))
    >>> frame.select(**sizes).rows()
    [(0, 0, 1), (1, 0, 1), (1, 1, 1), (1, 2, 1), (1, 2, 2), (2, 4, 2)]
    """
    early = (touches + 2) // 4
    late = (touches + 3) // 4
    return {"early": early, "middle": touches - early - late, "late": late}


def part_weights(position: pl.Expr, touches: pl.Expr) -> dict[str, pl.Expr]:
    """Return each touch's share of its journey in the early, middle and late view.

    Parameters
    ----------
    position
        The touch's 0-based position in its journey.
    touches
        The number of touches of the journey.

    Returns
    -------
    dict
        ``early``, ``middle`` and ``late``: a Float64 expression each; per
        journey each sums to 1 (see the module docstring for empty parts).

    Examples
    --------
    A 3-touch journey: one touch per part. A 1-touch journey: the one touch in every part.

    >>> frame = pl.DataFrame({"p": [0, 1, 2, 0], "n": [3, 3, 3, 1]})
    >>> frame.select(**part_weights(pl.col("p"), pl.col("n"))).rows()
    [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0)]
    """
    sizes = part_sizes(touches)
    inside = {
        "early": position < sizes["early"],
        "late": position >= touches - sizes["late"],
    }
    inside["middle"] = ~inside["early"] & ~inside["late"]
    whole_path = 1.0 / touches.cast(pl.Float64)
    return {
        part: pl.when(sizes[part] == 0)
        .then(whole_path)
        .when(inside[part])
        .then(1.0 / sizes[part].cast(pl.Float64))
        .otherwise(0.0)
        for part in PARTS
    }


def touch_positions(journeys: Journeys, by: str = "channel") -> pl.DataFrame:
    """Credit each ``by`` value with the early, middle and late touches of converting journeys.

    Parameters
    ----------
    journeys
        Journeys from :func:`attribution.build_journeys` (or the engine's).
    by
        Touch column to credit: ``channel``, ``campaign``, … (null is ``(not set)``).

    Returns
    -------
    polars.DataFrame
        :func:`touch_position_columns`: one row per value of ``by`` seen on a
        converting journey, with ``<part>_conversions`` and ``<part>_revenue``
        for ``early``, ``middle`` and ``late``; most conversions first, then
        by key. Each part's column sums to the conversions (revenue) of the
        journeys with a touch.

    Examples
    --------
    ``Email > Search > Search > Display`` (4 touches) converts for 100: early
    is Email, middle the two Search touches, late Display. ``Email`` alone
    converts for 50: it is early, middle and late.

    >>> from attribution.journeys import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4", "t5"],
    ...     "user_id": ["a", "a", "a", "a", "b"],
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-02"],
    ...     "channel": ["Email", "Search", "Search", "Display", "Email"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1", "c2"], "user_id": ["a", "b"],
    ...     "ts": ["2024-01-05", "2024-01-03"], "stage": ["purchase"] * 2,
    ...     "revenue": [100.0, 50.0]})
    >>> touch_positions(build_journeys(tp, cv)).select(
    ...     "channel", "early_conversions", "middle_conversions", "late_revenue")
    shape: (3, 4)
    ┌─────────┬───────────────────┬────────────────────┬──────────────┐
    │ channel ┆ early_conversions ┆ middle_conversions ┆ late_revenue │
    │ ---     ┆ ---               ┆ ---                ┆ ---          │
    │ str     ┆ f64               ┆ f64                ┆ f64          │
    ╞═════════╪═══════════════════╪════════════════════╪══════════════╡
    │ Email   ┆ 2.0               ┆ 1.0                ┆ 50.0         │
    │ Display ┆ 0.0               ┆ 0.0                ┆ 100.0        │
    │ Search  ┆ 0.0               ┆ 1.0                ┆ 0.0          │
    └─────────┴───────────────────┴────────────────────┴──────────────┘
    """
    require_touch_column(journeys.touches, by)
    touches = journeys.touches.filter(pl.col("converted"))
    # Position and length are recomputed from the rows kept (windows may have dropped touches).
    position = pl.col("position").rank("ordinal").over("journey_id") - 1
    length = pl.len().over("journey_id")
    weights = part_weights(position.cast(pl.Int64), length.cast(pl.Int64))
    count = pl.col("count")
    revenue = pl.col("revenue") * count
    key = pl.col(by).cast(pl.String).fill_null(NOT_SET).alias(by)
    credited = touches.select(
        key,
        *(
            expr
            for part in PARTS
            for expr in (
                (weights[part] * count).alias(f"{part}_conversions"),
                (weights[part] * revenue).alias(f"{part}_revenue"),
            )
        ),
    )
    # Rounded, so totals equal but for float summation order sort the same on every route.
    total = pl.sum_horizontal(f"{part}_conversions" for part in PARTS).round(9)
    return (
        credited.group_by(by)
        .agg(pl.all().sum())
        .sort([total, pl.col(by)], descending=[True, False])
        .select(touch_position_columns(by))
    )


__all__ = ["PARTS", "part_sizes", "part_weights", "touch_position_columns", "touch_positions"]
