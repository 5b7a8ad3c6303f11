"""Conversion paths: the top channel sequences, and path-length and time-lag distributions.

A **path** is the sequence of ``by`` values (channels, campaigns) of one
journey's touches in time order, written ``"Email > Paid Search"``. With
``collapse=True`` (the default) consecutive repeats are merged, so
``Email > Email > Search`` reads ``Email > Search`` (as "path without
repeats" in Google Analytics); a path's ``average_length`` is still the mean
number of *touches* of its journeys.

Per path: ``journeys`` (converting and not), ``conversions``,
``conversion_rate`` = conversions / journeys, ``revenue``,
``average_length`` (touches) and ``average_days_to_conversion`` (first touch
to conversion, over converting journeys; null when none converted or the
touch times are unknown). Conversions with no touch in their window have no
path; :class:`PathStats` counts them in ``untouched``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from attribution.buckets import bucket_label, bucket_order
from attribution.constants import DAY_SECONDS, NOT_SET
from attribution.export import json_rows, rfc4180_csv
from attribution.journeys import Journeys, require_touch_column
from attribution.touchpositions import touch_positions

SEPARATOR = " > "
"""Between the steps of a path."""

PATH_STAT_COLUMNS = (
    "path",
    "steps",
    "journeys",
    "conversions",
    "conversion_rate",
    "revenue",
    "average_length",
    "average_days_to_conversion",
)
"""Columns of :attr:`PathStats.paths`."""


@dataclass(frozen=True)
class PathStats:
    """Top paths and the path-length and time-lag distributions of a set of journeys.

    Attributes
    ----------
    by
        The touch column the paths are made of.
    paths
        One row per path (:data:`PATH_STAT_COLUMNS`), most conversions first,
        then most journeys, then by path.
    lengths
        Per number of touches (``length``): ``journeys``, ``conversions``, ``revenue``.
    time_lag
        Per whole day from first touch to conversion (``days``, floored):
        ``conversions`` and ``revenue``; empty when touch times are unknown.
    untouched
        Conversions with no touch in their window (no path).
    length_buckets
        Per GA4 length bucket (``bucket``: ``1`` … ``7``, ``8-11``, ``12+``),
        every bucket in order: ``journeys``, ``conversions``, ``revenue``.
    time_lag_buckets
        Per GA4 lag bucket (``bucket``: ``0`` … ``7``, ``8-11``, ``12+``
        whole days), every bucket in order: ``conversions``, ``revenue``;
        empty when touch times are unknown.
    touch_positions
        Early / middle / late credit per ``by`` value
        (:func:`attribution.touchpositions.touch_positions`).
    """

    by: str
    paths: pl.DataFrame
    lengths: pl.DataFrame
    time_lag: pl.DataFrame
    untouched: int
    length_buckets: pl.DataFrame
    time_lag_buckets: pl.DataFrame
    touch_positions: pl.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data (non-finite numbers become ``None``)."""
        return {
            "by": self.by,
            "data": json_rows(self.paths),
            "lengths": json_rows(self.lengths),
            "time_lag": json_rows(self.time_lag),
            "length_buckets": json_rows(self.length_buckets),
            "time_lag_buckets": json_rows(self.time_lag_buckets),
            "touch_positions": json_rows(self.touch_positions),
            "untouched_conversions": self.untouched,
        }

    def to_csv(self) -> str:
        """Return the paths as RFC 4180 CSV (header row, CRLF line ends)."""
        return rfc4180_csv(self.paths)


def path_stats(journeys: Journeys, by: str = "channel", *, collapse: bool = True) -> PathStats:
    """Summarise the journeys' paths: top paths, path lengths and time lags.

    Parameters
    ----------
    journeys
        Journeys from :func:`attribution.build_journeys`.
    by
        Touch column the paths are made of: ``channel`` or ``campaign``.
    collapse
        Merge consecutive repeats of the same value into one step.

    Returns
    -------
    PathStats

    Examples
    --------
    >>> from attribution.journeys import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"],
    ...     "user_id": ["a", "a", "a", "b"],
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
    ...     "channel": ["Email", "Email", "Search", "Email"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [100.0]})
    >>> stats = path_stats(build_journeys(tp, cv))
    >>> stats.paths.select("path", "journeys", "conversions", "average_length").rows()
    [('Email > Search', 1.0, 1.0, 3.0), ('Email', 1.0, 0.0, 1.0)]
    >>> stats.paths["average_days_to_conversion"].to_list()
    [4.0, None]
    >>> stats.time_lag.to_dicts()
    [{'days': 4, 'conversions': 1.0, 'revenue': 100.0}]
    >>> stats.length_buckets.filter(pl.col("journeys") > 0).rows()
    [('1', 1.0, 0.0, 0.0), ('3', 1.0, 1.0, 100.0)]
    >>> stats.time_lag_buckets["bucket"].to_list() == bucket_order("lag")
    True
    """
    require_touch_column(journeys.touches, by)
    step = pl.col(by).cast(pl.String).fill_null(NOT_SET).sort_by("position")
    per_journey = journeys.touches.group_by("journey_id").agg(
        step.alias("steps"),
        pl.col("converted").first(),
        pl.col("revenue").first(),
        pl.col("count").first(),
        pl.len().cast(pl.Float64).alias("length"),
        pl.col("ts").min().alias("first_ts"),
        pl.col("conversion_ts").first(),
    )
    if collapse:
        per_journey = per_journey.with_columns(
            pl.col("steps").list.eval(
                pl.element().filter(pl.element() != pl.element().shift(1).fill_null(""))
            )
        )
    days = (pl.col("conversion_ts") - pl.col("first_ts")).dt.total_seconds() / DAY_SECONDS
    per_journey = per_journey.with_columns(
        pl.col("steps").list.join(SEPARATOR).alias("path"),
        pl.col("steps").list.len().alias("n_steps"),
        (days if journeys.timed else pl.lit(None, pl.Float64)).alias("days"),
    )
    count = pl.col("count")
    won = pl.col("converted")
    paths = (
        per_journey.group_by("path")
        .agg(
            pl.col("n_steps").first().cast(pl.Int64).alias("steps"),
            count.sum().alias("journeys"),
            count.filter(won).sum().alias("conversions"),
            (pl.col("revenue") * count).filter(won).sum().alias("revenue"),
            ((pl.col("length") * count).sum() / count.sum()).alias("average_length"),
            ((pl.col("days") * count).filter(won).sum() / count.filter(won).sum()).alias(
                "average_days_to_conversion"
            ),
        )
        .with_columns(
            pl.when(pl.col("journeys") > 0)
            .then(pl.col("conversions") / pl.col("journeys"))
            .alias("conversion_rate"),
            pl.when(pl.col("conversions") > 0).then(pl.col("average_days_to_conversion")),
        )
        .sort(["conversions", "journeys", "path"], descending=[True, True, False])
        .select(PATH_STAT_COLUMNS)
    )
    lengths = (
        per_journey.group_by(pl.col("length").cast(pl.Int64))
        .agg(
            count.sum().alias("journeys"),
            count.filter(won).sum().alias("conversions"),
            (pl.col("revenue") * count).filter(won).sum().alias("revenue"),
        )
        .sort("length")
    )
    converted = per_journey.filter(won & pl.col("days").is_not_null())
    time_lag = (
        converted.group_by(pl.col("days").floor().cast(pl.Int64))
        .agg(count.sum().alias("conversions"), (pl.col("revenue") * count).sum().alias("revenue"))
        .sort("days")
    )
    revenue = (pl.col("revenue") * count).filter(won).sum().alias("revenue")
    length_buckets = _every_bucket(
        per_journey,
        pl.col("length"),
        "length",
        count.sum().alias("journeys"),
        count.filter(won).sum().alias("conversions"),
        revenue,
    )
    time_lag_buckets = _every_bucket(
        converted,
        pl.col("days"),
        "lag",
        count.sum().alias("conversions"),
        (pl.col("revenue") * count).sum().alias("revenue"),
    )
    return PathStats(
        by=by,
        paths=paths,
        lengths=lengths,
        time_lag=time_lag,
        untouched=journeys.untouched.height,
        length_buckets=length_buckets,
        time_lag_buckets=time_lag_buckets if journeys.timed else time_lag_buckets.clear(),
        touch_positions=touch_positions(journeys, by),
    )


def _every_bucket(
    per_journey: pl.DataFrame, values: pl.Expr, kind: str, *measures: pl.Expr
) -> pl.DataFrame:
    """Sum ``measures`` per GA4 bucket of ``values``: every bucket, in order, 0 where empty."""
    order = pl.DataFrame({"bucket": bucket_order(kind)})
    summed = per_journey.group_by(bucket_label(values, kind).alias("bucket")).agg(*measures)
    return order.join(summed, on="bucket", how="left", maintain_order="left").with_columns(
        pl.exclude("bucket").fill_null(0.0)
    )


__all__ = ["PATH_STAT_COLUMNS", "SEPARATOR", "PathStats", "path_stats"]
