"""Shape the report's frames for reading: top N and an Other row, changes.

Pure polars on frames that are already small (one row per channel, campaign,
path, funnel group or bucket), so nothing here grows with raw data:

- :func:`fold_top` keeps the top ``N`` rows by a column and folds the rest
  into one ``Other (k rows)`` row whose additive columns are sums and whose
  ratios are recomputed from those sums (so a table still adds up to its
  total);
- :func:`model_change` lays two models side by side with the % change from
  the first to the second (GA4's model comparison);
- :func:`period_change` joins the previous period's numbers to the current
  ones with the % change;
- :func:`fold_touch_positions` and :func:`position_pivot` shape the early /
  middle / late view and ordered Shapley's credit by position (top keys,
  then Other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

OTHER_PREFIX = "Other ("
"""How a folded row's key starts: ``Other (12 rows)``."""


def other_label(count: int) -> str:
    """Return the key of the row that folds ``count`` rows.

    Examples
    --------
    >>> other_label(1), other_label(140)
    ('Other (1 row)', 'Other (140 rows)')
    """
    return f"{OTHER_PREFIX}{count:,} row{'' if count == 1 else 's'})"


def is_other(key: object) -> bool:
    """Return whether ``key`` is the key of a folded row (:func:`other_label`).

    Examples
    --------
    >>> is_other("Other (3 rows)"), is_other("Other"), is_other(None)
    (True, False, False)
    """
    return isinstance(key, str) and key.startswith(OTHER_PREFIX) and key.endswith(")")


def safe_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """Return ``numerator / denominator``, null where the denominator is zero or null.

    Examples
    --------
    >>> frame = pl.DataFrame({"a": [1.0, 1.0], "b": [2.0, 0.0]})
    >>> frame.select(safe_ratio(pl.col("a"), pl.col("b")).alias("r"))["r"].to_list()
    [0.5, None]
    """
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def change(current: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """Return the relative change ``(current − reference) / reference`` (null from zero).

    Examples
    --------
    >>> frame = pl.DataFrame({"now": [150.0, 5.0], "before": [100.0, 0.0]})
    >>> frame.select(change(pl.col("now"), pl.col("before")).alias("c"))["c"].to_list()
    [0.5, None]
    """
    return safe_ratio(current - reference, reference)


def fold_top(
    frame: pl.DataFrame,
    key: str,
    top: int,
    *,
    by: str | Sequence[str] = ("revenue", "conversions"),
    sums: Sequence[str] = (),
    derived: Mapping[str, pl.Expr] | None = None,
    weighted: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Keep the ``top`` rows with most ``by`` and fold the others into one Other row.

    Rows are sorted by ``by`` (a column, or columns that break ties in
    order), largest first, then by ``key``. Folding needs at least two rows
    past the top (one row is shown as itself). The Other row
    has the sum of each column of ``sums``, the ``derived`` expressions
    evaluated on those sums (ratios such as ROAS; a column none of the folded
    rows has stays null), the mean of each column of
    ``weighted`` weighted by the column it names (an average path length by
    journeys: exact where the column is a ratio over that weight), and null
    elsewhere.

    Parameters
    ----------
    frame
        One row per ``key``.
    key
        The column naming the rows (channel, campaign, path, group).
    top
        Rows to keep; ``0`` keeps every row (sorted, nothing folded).
    by
        The column(s) that rank the rows (default revenue, then conversions).
    sums, derived, weighted
        How the Other row is computed from the folded rows.

    Examples
    --------
    >>> frame = pl.DataFrame({"channel": ["A", "B", "C", "D"],
    ...     "revenue": [10.0, 40.0, 20.0, 30.0], "spend": [5.0, 10.0, 0.0, 10.0],
    ...     "roas": [2.0, 4.0, None, 3.0]})
    >>> roas = {"roas": safe_ratio(pl.col("revenue"), pl.col("spend"))}
    >>> fold_top(frame, "channel", 2, sums=["revenue", "spend"], derived=roas).rows()
    [('B', 40.0, 10.0, 4.0), ('D', 30.0, 10.0, 3.0), ('Other (2 rows)', 30.0, 5.0, 6.0)]
    >>> fold_top(frame, "channel", 0)["channel"].to_list()
    ['B', 'D', 'C', 'A']
    >>> fold_top(frame, "channel", 2, weighted={"roas": "spend"})["roas"].to_list()[-1]
    2.0
    >>> fold_top(frame, "channel", 3)["channel"].to_list()  # one row past the top: shown
    ['B', 'D', 'C', 'A']
    >>> unknown = frame.with_columns(pl.lit(None, pl.Float64).alias("revenue"))
    >>> fold_top(unknown, "channel", 2, sums=["revenue", "spend"], derived=roas).row(-1)
    ('Other (2 rows)', None, 10.0, None)
    """
    order = [by] if isinstance(by, str) else list(by)
    order = [c for c in order if c in frame.columns]
    ranked = frame.sort([*order, key], descending=[True] * len(order) + [False], nulls_last=True)
    if top <= 0 or ranked.height <= top + 1:
        return ranked
    kept, rest = ranked.head(top), ranked.slice(top)
    means = [
        ((pl.col(c) * pl.col(w)).sum() / pl.col(w).filter(pl.col(c).is_not_null()).sum()).alias(c)
        for c, w in (weighted or {}).items()
    ]
    # A number none of the folded rows has (a value without --stage-values) stays unknown.
    known = {c for c in ranked.columns if rest[c].null_count() < rest.height}
    totals = [pl.col(c).sum() if c in known else pl.lit(None).alias(c) for c in sums]
    other = rest.select(pl.lit(other_label(rest.height)).alias(key), *totals, *means)
    if derived:
        other = other.with_columns(
            **{c: e if c in known else pl.lit(None) for c, e in derived.items() if c in ranked}
        )
    missing = [c for c in ranked.columns if c not in other.columns]
    other = other.with_columns(pl.lit(None).alias(c) for c in missing)
    return pl.concat([kept, other.select(ranked.columns)], how="vertical_relaxed")


def model_change(
    comparison: pl.DataFrame,
    by: str,
    first: str,
    second: str,
    metrics: Sequence[str] = ("conversions", "revenue", "roas"),
) -> pl.DataFrame:
    """Two models side by side per key, with the % change from the first to the second.

    ``comparison`` is :func:`attribution.compare.compare_models`' wide
    frame (``<model>_<metric>`` columns). Each metric gets the columns
    ``first_<metric>``, ``second_<metric>`` and ``<metric>_change`` =
    (second − first) / first, null where the first is 0 (GA4's model
    comparison: the first model is the reference,
    https://support.google.com/analytics/answer/10596865).

    Examples
    --------
    >>> wide = pl.DataFrame({"channel": ["Email", "Search"], "spend": [10.0, 0.0],
    ...     "markov_revenue": [50.0, 50.0], "last_touch_revenue": [80.0, 20.0]})
    >>> out = model_change(wide, "channel", "markov", "last_touch", ["revenue"])
    >>> out.rows()
    [('Email', 10.0, 50.0, 80.0, 0.6), ('Search', 0.0, 50.0, 20.0, -0.6)]
    >>> out.columns
    ['channel', 'spend', 'first_revenue', 'second_revenue', 'revenue_change']
    """
    columns: list[pl.Expr] = [pl.col(by)]
    if "spend" in comparison.columns:
        columns.append(pl.col("spend"))
    for metric in metrics:
        one, two = pl.col(f"{first}_{metric}"), pl.col(f"{second}_{metric}")
        columns += [
            one.alias(f"first_{metric}"),
            two.alias(f"second_{metric}"),
            change(two, one).alias(f"{metric}_change"),
        ]
    return comparison.select(columns)


def model_change_derived(metrics: Sequence[str]) -> dict[str, pl.Expr]:
    """Return how :func:`model_change`'s ratio columns follow from its sums (for Other rows).

    Examples
    --------
    >>> sorted(model_change_derived(["revenue", "roas"]))
    ['first_roas', 'revenue_change', 'roas_change', 'second_roas']
    """
    derived: dict[str, pl.Expr] = {}
    for side in ("first", "second"):
        if "roas" in metrics:
            derived[f"{side}_roas"] = safe_ratio(pl.col(f"{side}_revenue"), pl.col("spend"))
    for metric in metrics:
        if metric != "roas":
            derived[f"{metric}_change"] = change(
                pl.col(f"second_{metric}"), pl.col(f"first_{metric}")
            )
    if "roas" in metrics:
        derived["roas_change"] = change(derived["second_roas"], derived["first_roas"])
    return derived


PERIOD_METRICS = ("conversions", "revenue", "spend")
"""The additive numbers :func:`period_change` compares (ROAS follows from them)."""


def period_change(current: pl.DataFrame, previous: pl.DataFrame, by: str) -> pl.DataFrame:
    """Join the previous period's numbers to the current ones, with the % change of each.

    Keys seen in one period only have 0 conversions and revenue in the other.
    Adds ``<metric>_previous`` and ``<metric>_change`` for conversions,
    revenue and spend (where both frames have it), and ``roas_previous``.

    Examples
    --------
    >>> now = pl.DataFrame({"channel": ["Email", "Search"], "conversions": [3.0, 1.0],
    ...     "revenue": [300.0, 50.0]})
    >>> before = pl.DataFrame({"channel": ["Email", "Direct"], "conversions": [2.0, 1.0],
    ...     "revenue": [200.0, 10.0]})
    >>> out = period_change(now, before, "channel")
    >>> out.select("channel", "revenue", "revenue_previous", "revenue_change").rows()
    [('Email', 300.0, 200.0, 0.5), ('Search', 50.0, 0.0, None), ('Direct', 0.0, 10.0, -1.0)]
    >>> unknown = now.with_columns(pl.lit(None, pl.Float64).alias("revenue"))
    >>> period_change(unknown, before, "channel")["revenue"].to_list()
    [None, None, None]
    """
    metrics = [m for m in PERIOD_METRICS if m in current.columns and m in previous.columns]
    earlier = previous.select(by, *[pl.col(m).alias(f"{m}_previous") for m in metrics])
    joined = current.join(earlier, on=by, how="full", coalesce=True, maintain_order="left_right")
    credit = [c for m in ("conversions", "revenue") if m in metrics for c in (m, f"{m}_previous")]
    # A key of one period only has no credit in the other; a value never known stays null.
    joined = joined.with_columns(
        pl.col(c).fill_null(pl.when(pl.col(c).is_not_null().any()).then(0.0)) for c in credit
    )
    extra = {f"{m}_change": change(pl.col(m), pl.col(f"{m}_previous")) for m in metrics}
    if "spend" in metrics:
        extra["roas_previous"] = safe_ratio(pl.col("revenue_previous"), pl.col("spend_previous"))
    return joined.with_columns(**extra)


TOUCH_PARTS = ("early", "middle", "late")
"""The parts of the early / middle / late view (:mod:`attribution.touchpositions`)."""


def fold_touch_positions(frame: pl.DataFrame, key: str, top: int) -> pl.DataFrame:
    """Keep the ``top`` keys of the early / middle / late view by credit, then one Other row.

    Keys are ranked by their revenue over the three parts, then their
    conversions; the Other row sums each part's conversions and revenue,
    so every part's column still sums to the converting journeys' total.

    Examples
    --------
    >>> frame = pl.DataFrame({"channel": ["A", "B", "C", "D"],
    ...     "early_conversions": [1.0, 0.0, 1.0, 0.0], "early_revenue": [10.0, 0.0, 5.0, 0.0],
    ...     "middle_conversions": [0.5, 0.5, 0.0, 1.0], "middle_revenue": [5.0, 5.0, 0.0, 5.0],
    ...     "late_conversions": [0.0, 1.0, 0.0, 1.0], "late_revenue": [0.0, 10.0, 0.0, 5.0]})
    >>> out = fold_touch_positions(frame, "channel", 2)
    >>> out["channel"].to_list(), out["early_revenue"].to_list()
    (['A', 'B', 'Other (2 rows)'], [10.0, 0.0, 5.0])
    """
    credit = [f"{part}_{m}" for part in TOUCH_PARTS for m in ("conversions", "revenue")]
    ranked = frame.with_columns(
        pl.sum_horizontal(f"{part}_revenue" for part in TOUCH_PARTS).alias("_rank"),
        pl.sum_horizontal(f"{part}_conversions" for part in TOUCH_PARTS).alias("_then"),
    )
    folded = fold_top(ranked, key, top, by=("_rank", "_then"), sums=[*credit, "_rank", "_then"])
    return folded.drop("_rank", "_then")


def position_pivot(rows: pl.DataFrame, key: str, measure: str, top: int) -> pl.DataFrame:
    """Pivot ordered Shapley's credit by position: positions down, keys across, a total column.

    ``rows`` are the long rows of a ``shapley_ordered`` answer's
    ``positions`` (``position``, ``key``, ``conversions``, ``revenue``), in
    position order. Keys are ordered by revenue, then conversions (the
    same columns for both measures); past ``top`` keys (0: none), the
    rest are summed in one ``Other (k <key>s)`` column, unless only one
    would be.

    Examples
    --------
    >>> rows = pl.DataFrame({"position": ["1", "1", "2", "2", "1"],
    ...     "channel": ["A", "B", "A", "C", "D"], "conversions": [0.5, 0.5, 0.5, 0.5, 1.0],
    ...     "revenue": [50.0, 20.0, 50.0, 10.0, 5.0]})
    >>> position_pivot(rows, "channel", "revenue", 1).rows()
    [('1', 50.0, 25.0, 75.0), ('2', 50.0, 10.0, 60.0)]
    >>> position_pivot(rows, "channel", "revenue", 1).columns
    ['position', 'A', 'Other (3 channels)', 'total']
    >>> position_pivot(rows, "channel", "conversions", 0).columns
    ['position', 'A', 'B', 'C', 'D', 'total']
    """
    if rows.is_empty():
        return pl.DataFrame(
            {"position": [], "total": []}, schema={"position": pl.String, "total": pl.Float64}
        )
    ranked = (
        rows.group_by(key)
        .agg(pl.col("revenue").sum(), pl.col("conversions").sum())
        .sort(["revenue", "conversions", key], descending=[True, True, False], nulls_last=True)
    )[key].to_list()
    keys = ranked
    if 0 < top < len(ranked) - 1:
        other = f"Other ({len(ranked) - top:,} {key}s)"
        keys = [*ranked[:top], other]
        rows = rows.with_columns(
            pl.when(pl.col(key).is_in(ranked[:top])).then(pl.col(key)).otherwise(pl.lit(other))
        )
    order = rows.select("position").unique(maintain_order=True)
    wide = (
        rows.group_by("position", key)
        .agg(pl.col(measure).sum())
        .pivot(on=key, index="position", values=measure)
    )
    wide = order.join(wide, on="position", how="left", maintain_order="left")
    wide = wide.select("position", *keys).with_columns(pl.col(keys).fill_null(0.0))
    return wide.with_columns(pl.sum_horizontal(keys).alias("total"))


__all__ = [
    "OTHER_PREFIX",
    "PERIOD_METRICS",
    "TOUCH_PARTS",
    "change",
    "fold_top",
    "fold_touch_positions",
    "is_other",
    "model_change",
    "model_change_derived",
    "other_label",
    "period_change",
    "position_pivot",
    "safe_ratio",
]
