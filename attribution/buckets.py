"""GA4's buckets for path length and time lag: 1, 2, … 7, 8–11, 12+.

Google Analytics reports how many touches a converting path had and how
many days passed from its first touch to the conversion in buckets, so a
long tail of lengths or lags reads as one row instead of a hundred
(https://support.google.com/analytics/answer/10596866). closedloop uses the
same bounds for both: every value from 1 to 7 has its own bucket, then
``8-11`` and ``12+``. Time lag also has ``0`` (converted the day of the
first touch), which a path length never has.

:func:`bucket_label` turns a column of whole numbers into those labels;
:func:`bucket_order` gives the labels in reading order, so a table or a
chart can sort by them and show empty buckets.
"""

from __future__ import annotations

import polars as pl

from attribution.errors import ParameterError

SINGLE_BUCKETS = 7
"""Values 1 to this one each have their own bucket."""

MIDDLE_BUCKET = (8, 11)
"""The bounds of the bucket after the single ones, both included."""

TAIL_START = 12
"""The first value of the last, open bucket."""

KINDS = ("length", "lag")
"""``length`` counts touches (from 1); ``lag`` counts whole days (from 0)."""


def bucket_order(kind: str) -> list[str]:
    """Return the bucket labels of ``kind`` in reading order.

    Parameters
    ----------
    kind
        ``length`` (touches per path) or ``lag`` (whole days to conversion).

    Examples
    --------
    >>> bucket_order("length")
    ['1', '2', '3', '4', '5', '6', '7', '8-11', '12+']
    >>> bucket_order("lag")[:2]
    ['0', '1']
    """
    _require_kind(kind)
    first = 1 if kind == "length" else 0
    low, high = MIDDLE_BUCKET
    return [
        *(str(value) for value in range(first, SINGLE_BUCKETS + 1)),
        f"{low}-{high}",
        f"{TAIL_START}+",
    ]


def bucket_label(values: pl.Expr, kind: str) -> pl.Expr:
    """Return the bucket label of each whole number in ``values`` (null stays null).

    Fractions are floored first, so 2.9 days is in bucket ``2``, as GA4
    counts whole days. Values below the first bucket (a negative lag, from
    a conversion dated before its first touch) fall in the first bucket.

    Parameters
    ----------
    values
        An integer or float expression: touches per path, or days.
    kind
        ``length`` or ``lag`` (see :data:`KINDS`).

    Examples
    --------
    >>> frame = pl.DataFrame({"days": [0.5, 3.0, 9.0, 40.0, None]})
    >>> frame.select(bucket_label(pl.col("days"), "lag").alias("bucket"))["bucket"].to_list()
    ['0', '3', '8-11', '12+', None]
    >>> frame = pl.DataFrame({"touches": [1, 7, 8, 11, 12]})
    >>> frame.select(bucket_label(pl.col("touches"), "length").alias("b"))["b"].to_list()
    ['1', '7', '8-11', '8-11', '12+']
    """
    _require_kind(kind)
    first = 1 if kind == "length" else 0
    low, high = MIDDLE_BUCKET
    whole = values.cast(pl.Float64).floor().cast(pl.Int64).clip(lower_bound=first)
    return (
        pl.when(whole.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(whole <= SINGLE_BUCKETS)
        .then(whole.cast(pl.String))
        .when(whole <= high)
        .then(pl.lit(f"{low}-{high}"))
        .otherwise(pl.lit(f"{TAIL_START}+"))
    )


def bucket_rank(labels: pl.Expr, kind: str) -> pl.Expr:
    """Return each label's position in :func:`bucket_order` (to sort by it).

    Examples
    --------
    >>> frame = pl.DataFrame({"bucket": ["12+", "2", "8-11"]})
    >>> frame.sort(bucket_rank(pl.col("bucket"), "length"))["bucket"].to_list()
    ['2', '8-11', '12+']
    """
    order = bucket_order(kind)
    return labels.replace_strict(order, list(range(len(order))), default=None)


def _require_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ParameterError(f"Unknown bucket kind '{kind}'. Use one of: {', '.join(KINDS)}.")


__all__ = ["KINDS", "bucket_label", "bucket_order", "bucket_rank"]
