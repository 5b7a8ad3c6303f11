"""Calibrate attribution to lift tests (experiments): one factor per tested channel.

Attribution credits what touched a converting journey, not what caused it:
a retargeting channel that touches people who would have bought anyway
gets credit an experiment would not give it. A lift test (a geo or
holdout experiment) measures a channel's incremental revenue, or
conversions, over its test period. Media-mix tools use such tests to
calibrate their models (Google Meridian's ROI calibration,
https://developers.google.com/meridian/docs/advanced-modeling/roi-priors-and-calibration;
PyMC-Marketing's lift-test calibration,
https://www.pymc-marketing.io/en/stable/notebooks/mmm/mmm_lift_test.html).
closedloop does the same to the attributed figures, with one factor per
tested channel:

1. **One test.** ``A`` is the channel's attributed revenue (or attributed
   conversions, for a test of ``incremental_conversions``) of the
   conversions inside the test's days, under the chosen model; ``L`` is
   the experiment's estimate and ``[lower, upper]`` its interval (a missing
   bound is the estimate itself). When ``lower ≤ A ≤ upper`` attribution
   already agrees with the experiment: the test's factor is 1. Otherwise
   the factor is ``max(L, 0) / A``: attribution is scaled to the
   experiment's point estimate (its best guess), never below 0. A test
   whose channel earned no credit in its window (``A = 0``) cannot be
   scaled and is left out, with a note.
2. **Several tests of a channel** combine by inverse-variance weighting:
   the factor's standard error is proportional to ``(upper − lower) / A``,
   so a test weighs ``(A / (upper − lower))²``; a test without an interval
   weighs as much as the channel's most precise test (1 if none has one).
   The channel's factor is the weighted mean of its tests' factors.
3. **Channels without a test** keep a factor of 1: closedloop does not
   guess what an experiment would have found.

The factor multiplies the channel's attributed revenue in reports
(``revenue_calibrated`` beside ``revenue``) and its response curve in the
budget planner. Calibrated revenue no longer sums to closed revenue (that
is the point: some of it was not caused by marketing, or more was), so
reports keep the uncalibrated ``revenue``, which does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from attribution.schema import LIFT_TESTS

__all__ = [
    "FACTORS",
    "TOTALS",
    "calibrate_rows",
    "calibration_factors",
    "lift_test_windows",
]

TOTALS = pl.Schema(
    {
        "start": pl.Date(),
        "end": pl.Date(),
        "level": pl.String(),
        "key": pl.String(),
        "revenue": pl.Float64(),
        "conversions": pl.Float64(),
    }
)
"""Attributed revenue and conversions of every key (``level``: channel or campaign) per window."""

FACTORS = pl.Schema(
    {
        "channel": pl.String(),
        "tests": pl.UInt32(),
        "calibration_factor": pl.Float64(),
    }
)
"""One row per tested channel: how many tests count, and the combined factor."""


def lift_test_windows(tests: pl.DataFrame) -> list[tuple[dt.date, dt.date, str]]:
    """Return the distinct (start, end, level) a set of lift tests needs attributed totals of.

    ``level`` is ``campaign`` for a test of one campaign, ``channel`` otherwise.

    Examples
    --------
    >>> tests = pl.DataFrame({"channel": ["A", "A", "B"], "campaign": [None, None, "b1"],
    ...     "start": [dt.date(2024, 3, 1)] * 3, "end": [dt.date(2024, 3, 31)] * 3})
    >>> for start, end, level in lift_test_windows(tests):
    ...     print(start, end, level)
    2024-03-01 2024-03-31 campaign
    2024-03-01 2024-03-31 channel
    """
    levels = _with_level(tests).select("start", "end", "level").unique().sort(pl.all())
    return [(start, end, level) for start, end, level in levels.iter_rows()]


def _with_level(tests: pl.DataFrame) -> pl.DataFrame:
    campaign = pl.col("campaign") if "campaign" in tests.columns else pl.lit(None, pl.String)
    return tests.with_columns(
        pl.when(campaign.is_not_null() & (campaign != ""))
        .then(pl.lit("campaign"))
        .otherwise(pl.lit("channel"))
        .alias("level"),
        pl.when(campaign.is_not_null() & (campaign != ""))
        .then(campaign)
        .otherwise(pl.col("channel"))
        .alias("key"),
    )


def _complete(tests: pl.DataFrame) -> pl.DataFrame:
    """Return the lift tests with every canonical column (absent optional ones are null)."""
    absent = [pl.lit(None, dtype).alias(c) for c, dtype in LIFT_TESTS.items() if c not in tests]
    return tests.with_columns(absent).select(LIFT_TESTS.names()).cast(LIFT_TESTS)


def calibration_factors(
    tests: pl.DataFrame, totals: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """Combine lift tests into one calibration factor per tested channel.

    Parameters
    ----------
    tests
        Lift tests in the canonical ``lift_tests`` schema
        (:data:`attribution.schema.LIFT_TESTS`).
    totals
        Attributed ``revenue`` and ``conversions`` per window
        (:data:`TOTALS`): for every ``(start, end, level)`` of
        :func:`lift_test_windows`, one row per ``key`` (channel or campaign) the
        model credited over the conversions of those days.

    Returns
    -------
    tuple[polars.DataFrame, list[str]]
        The factors (:data:`FACTORS`, sorted by channel) and notes on the
        tests left out.

    Examples
    --------
    Attribution credits Retargeting with 1,000 over March; a holdout test
    found 400 (interval 300 to 500): its factor is 0.4. Search's 800 is
    inside its test's interval, so its factor is 1.

    >>> march = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    >>> tests = pl.DataFrame({"channel": ["Retargeting", "Search"],
    ...     "start": [march[0]] * 2, "end": [march[1]] * 2,
    ...     "incremental_revenue": [400.0, 900.0], "lower": [300.0, 700.0],
    ...     "upper": [500.0, 1100.0]})
    >>> totals = pl.DataFrame({"start": [march[0]] * 2, "end": [march[1]] * 2,
    ...     "level": ["channel"] * 2, "key": ["Retargeting", "Search"],
    ...     "revenue": [1000.0, 800.0], "conversions": [10.0, 8.0]})
    >>> factors, notes = calibration_factors(tests, totals)
    >>> factors.rows(), notes
    ([('Retargeting', 1, 0.4), ('Search', 1, 1.0)], [])
    """
    joined = (
        _with_level(_complete(tests))
        .join(
            totals.cast(TOTALS),
            on=["start", "end", "level", "key"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.when(pl.col("incremental_revenue").is_not_null())
            .then(pl.col("revenue"))
            .otherwise(pl.col("conversions"))
            .fill_null(0.0)
            .alias("attributed"),
            pl.coalesce("incremental_revenue", "incremental_conversions").alias("estimate"),
        )
    )
    unusable = joined.filter(pl.col("attributed") <= 0)
    notes = [
        f"lift test of {key} from {start} to {end} left out: the model credited it nothing "
        "in those days, so there is nothing to scale"
        for key, start, end in unusable.select("key", "start", "end").iter_rows()
    ]
    lower = pl.coalesce("lower", "estimate")
    upper = pl.coalesce("upper", "estimate")
    width = upper - lower
    per_test = joined.filter(pl.col("attributed") > 0).with_columns(
        pl.when((lower <= pl.col("attributed")) & (pl.col("attributed") <= upper))
        .then(1.0)
        .otherwise(pl.max_horizontal(pl.col("estimate"), 0.0) / pl.col("attributed"))
        .alias("factor"),
        pl.when(width > 0).then((pl.col("attributed") / width) ** 2).alias("weight"),
    )
    weighted = per_test.with_columns(
        pl.col("weight").fill_null(pl.col("weight").max().over("channel")).fill_null(1.0)
    )
    factors = (
        weighted.group_by("channel")
        .agg(
            pl.len().cast(pl.UInt32).alias("tests"),
            ((pl.col("factor") * pl.col("weight")).sum() / pl.col("weight").sum()).alias(
                "calibration_factor"
            ),
        )
        .sort("channel")
        .cast(FACTORS)
    )
    return factors, notes


def calibrate_rows(
    rows: pl.DataFrame, factors: pl.DataFrame | Mapping[str, float], by: str = "channel"
) -> pl.DataFrame:
    """Add ``revenue_calibrated`` and ``calibration_factor`` beside a report's ``revenue``.

    Keys without a factor keep 1. The uncalibrated ``revenue`` stays: it is
    the one that sums to closed revenue.

    Examples
    --------
    >>> rows = pl.DataFrame({"channel": ["Retargeting", "Search"], "revenue": [1000.0, 800.0]})
    >>> calibrate_rows(rows, {"Retargeting": 0.4}).rows()
    [('Retargeting', 1000.0, 400.0, 0.4), ('Search', 800.0, 800.0, 1.0)]
    """
    table = (
        pl.DataFrame(
            {"key": list(factors), "calibration_factor": list(factors.values())},
            schema={"key": pl.String, "calibration_factor": pl.Float64},
        )
        if isinstance(factors, Mapping)
        else factors.select(pl.col("channel").alias("key"), "calibration_factor")
    )
    joined = rows.join(
        table.rename({"key": by}), on=by, how="left", maintain_order="left"
    ).with_columns(pl.col("calibration_factor").fill_null(1.0))
    columns = list(rows.columns)
    at = columns.index("revenue") + 1
    order = [*columns[:at], "revenue_calibrated", "calibration_factor", *columns[at:]]
    return joined.with_columns(
        (pl.col("revenue") * pl.col("calibration_factor")).alias("revenue_calibrated")
    ).select(order)
