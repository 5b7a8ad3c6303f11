"""Aggregated paths as input: one row per path with its conversions, value and non-conversions.

Many users (and the ChannelAttribution package) already have journeys rolled
up to paths, for example ChannelAttribution's ``path, total_conversions,
total_conversion_value, total_null`` table. :func:`journeys_from_paths` turns
such a table into :class:`~attribution.journeys.Journeys` without expanding
it: each path becomes at most two journeys, a converting one whose ``count``
is the path's conversions and whose revenue is the mean conversion value, and
a non-converting one whose ``count`` is the path's non-conversions. Every
path-based model (first/last touch, linear, position-based, Markov, Shapley)
then runs on it unchanged; ``time_decay`` refuses, as paths carry no time.

Conventions:

- Path strings are split on ``sep`` (default ``">"``) and each channel name is
  stripped of surrounding spaces, so ``"a > b"`` and ``"a>b"`` are the same.
- Rows with the same path are summed before anything else.
- Empty channel names (``"a >> b"``) and negative or non-finite numbers are
  errors naming the row.
- Touch ids are ``<journey id>:<position>``; journey ids are ``p<n>`` for
  converting and ``~p<n>`` for non-converting journeys, ``n`` being the
  path's rank in sorted order. Timestamps are synthetic (one second apart)
  and only keep the order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from attribution.constants import DEFAULT_RESAMPLES, NOT_SET
from attribution.errors import InputError, MissingColumnsError, ParameterError
from attribution.journeys import NON_CONVERTING_PREFIX, UNTOUCHED, Journeys
from attribution.models import AttributionModel, get_model
from attribution.report import AttributionReport, report_journeys
from attribution.schema import JOURNEY_TOUCHES, PATHS

PATH_COLUMNS = {
    "path": "path",
    "conversions": "total_conversions",
    "revenue": "total_conversion_value",
    "nulls": "total_null",
}
"""Canonical path-table role → ChannelAttribution's default column name."""

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def journeys_from_paths(
    paths: pl.DataFrame,
    *,
    sep: str = ">",
    columns: dict[str, str] | None = None,
    source: str = "paths",
) -> Journeys:
    """Build journeys from an aggregated path table.

    Parameters
    ----------
    paths
        One row per path. Columns default to ChannelAttribution's names
        (:data:`PATH_COLUMNS`); ``total_conversion_value`` and ``total_null``
        are optional (0 when absent).
    sep
        Separator between channels in the path string.
    columns
        Role → column name overrides, e.g. ``{"conversions": "conv"}``.
    source
        Name used in error messages (the file name).

    Returns
    -------
    Journeys
        ``count`` holds the number of journeys each row stands for;
        ``timed`` is ``False``.

    Examples
    --------
    >>> table = pl.DataFrame({"path": ["a > b", "b", "a>b"], "total_conversions": [1, 0, 2],
    ...     "total_conversion_value": [10.0, 0.0, 20.0], "total_null": [3, 5, 0]})
    >>> j = journeys_from_paths(table)
    >>> j.paths()
    shape: (2, 4)
    ┌────────────┬─────────────┬─────────┬───────┐
    │ path       ┆ conversions ┆ revenue ┆ nulls │
    │ ---        ┆ ---         ┆ ---     ┆ ---   │
    │ list[str]  ┆ f64         ┆ f64     ┆ f64   │
    ╞════════════╪═════════════╪═════════╪═══════╡
    │ ["a", "b"] ┆ 3.0         ┆ 30.0    ┆ 3.0   │
    │ ["b"]      ┆ 0.0         ┆ 0.0     ┆ 5.0   │
    └────────────┴─────────────┴─────────┴───────┘
    """
    names = {**PATH_COLUMNS, **(columns or {})}
    required = [names["path"], names["conversions"]]
    missing = [c for c in required if c not in paths.columns]
    if missing:
        raise MissingColumnsError(
            f"{source} is missing required column(s): {', '.join(repr(c) for c in missing)}. "
            f"Found: {', '.join(repr(c) for c in paths.columns)}. "
            "Map yours with --map path=<col> conversions=<col> revenue=<col> nulls=<col>."
        )
    numbers = {
        role: (
            pl.col(names[role]).cast(pl.Float64, strict=False)
            if names[role] in paths.columns
            else pl.lit(0.0)
        ).alias(role)
        for role in ("conversions", "revenue", "nulls")
    }
    table = paths.select(
        pl.col(names["path"]).cast(pl.String).alias("path_text"), *numbers.values()
    ).with_row_index("row", offset=1)
    _check_rows(table, names, source)

    parts = pl.col("path_text").str.split(sep).list.eval(pl.element().str.strip_chars())
    table = table.with_columns(parts.alias("path"))
    empty = table.filter(
        pl.col("path").list.len().eq(0) | pl.col("path").list.eval(pl.element() == "").list.any()
    )
    if not empty.is_empty():
        row = empty.row(0, named=True)
        raise InputError(
            f"{source} row {row['row']}, field '{names['path']}': empty channel name in path "
            f"{row['path_text']!r} (separator {sep!r}). Check --sep."
        )
    return journeys_from_path_lists(table.select("path", "conversions", "revenue", "nulls"))


def journeys_from_path_lists(
    paths: pl.DataFrame,
    *,
    by: str = "channel",
    untouched: pl.DataFrame | None = None,
    stage: str | None = None,
    lookback_days: float = float("inf"),
    distinct: bool = False,
) -> Journeys:
    """Build journeys from paths given as lists, with their counts (the engine's output).

    Parameters
    ----------
    paths
        ``path`` (``list[str]``), ``conversions``, ``revenue`` (the path's
        total) and ``nulls`` (non-converting journeys); a path may repeat.
    by
        The touch column the path items go to (``channel`` or ``campaign``).
    untouched
        Conversions with no touch in their window (:data:`UNTOUCHED` rows).
    stage, lookback_days
        What the paths were built with, echoed by reports.
    distinct
        ``True`` when no path repeats (the engine's output): the rows are
        not summed per path first.

    Returns
    -------
    Journeys
        One converting and one non-converting journey per distinct path,
        ``count`` holding how many each stands for; ``timed`` is ``False``.

    Examples
    --------
    >>> table = pl.DataFrame({"path": [["a", "b"], ["b"]], "conversions": [2.0, 0.0],
    ...     "revenue": [30.0, 0.0], "nulls": [1.0, 4.0]})
    >>> j = journeys_from_path_lists(table, by="campaign")
    >>> j.n_conversions, j.touches["campaign"].unique().sort().to_list()
    (2.0, ['a', 'b'])
    """
    if by not in ("channel", "campaign"):
        raise ParameterError(f"Paths can be built by channel or campaign, not '{by}'.")
    if not distinct:
        paths = paths.group_by("path").agg(pl.col("conversions", "revenue", "nulls").sum())
    summed = (
        paths.select("path", "conversions", "revenue", "nulls").sort("path").with_row_index("n")
    )
    converting = summed.filter(pl.col("conversions") > 0).select(
        ("p" + pl.col("n").cast(pl.String)).alias("journey_id"),
        pl.lit(True).alias("converted"),
        (pl.col("revenue") / pl.col("conversions")).alias("revenue"),
        pl.col("conversions").alias("count"),
        "path",
    )
    non_converting = summed.filter(pl.col("nulls") > 0).select(
        (pl.lit(NON_CONVERTING_PREFIX + "p") + pl.col("n").cast(pl.String)).alias("journey_id"),
        pl.lit(False).alias("converted"),
        pl.lit(0.0).alias("revenue"),
        pl.col("nulls").alias("count"),
        "path",
    )
    other = "campaign" if by == "channel" else "channel"
    # Sorted by id before the explode, the touches come out in (journey_id, position) order.
    journeys = pl.concat([converting, non_converting]).sort("journey_id")
    touches = (
        journeys.with_columns(
            pl.col("path").list.len().cast(pl.UInt32).alias("n_touches"),
            pl.int_ranges(0, pl.col("path").list.len(), dtype=pl.UInt32).alias("position"),
        )
        .explode("path", "position")
        .rename({"path": by})
        .with_columns(
            pl.col("journey_id").alias("user_id"),
            pl.concat_str(pl.col("journey_id"), pl.lit(":"), pl.col("position")).alias(
                "touchpoint_id"
            ),
            (pl.lit(_EPOCH) + pl.duration(seconds=pl.col("position"))).alias("ts"),
            pl.when(pl.col("converted"))
            .then(pl.lit(_EPOCH) + pl.duration(seconds=pl.col("n_touches")))
            .alias("conversion_ts"),
            pl.lit(None, pl.String).alias(other),
        )
        .select(pl.col(c).cast(t) for c, t in JOURNEY_TOUCHES.items())
    )
    # What Journeys.paths would roll the touches up to, known already.
    known = (
        summed.filter((pl.col("conversions") > 0) | (pl.col("nulls") > 0))
        .select(
            pl.col("path").list.eval(pl.element().fill_null(NOT_SET)),
            "conversions",
            pl.when(pl.col("conversions") > 0).then(pl.col("revenue")).otherwise(0.0),
            "nulls",
        )
        .sort("path")
        .cast(PATHS)  # type: ignore[arg-type]
    )
    return Journeys(
        touches=touches,
        known_paths=(touches, by, known),
        untouched=pl.DataFrame(schema=UNTOUCHED) if untouched is None else untouched,
        stage=stage,
        lookback_days=lookback_days,
        timed=False,
    )


def _check_rows(table: pl.DataFrame, names: dict[str, str], source: str) -> None:
    for role in ("conversions", "revenue", "nulls"):
        value = pl.col(role)
        bad = table.filter(value.is_null() | ~value.is_finite() | (value < 0))
        if not bad.is_empty():
            row = bad.row(0, named=True)
            raise InputError(
                f"{source} row {row['row']}, field '{names[role]}': expected a number ≥ 0"
                f" ({bad.height:,} row(s) affected)."
            )
    blank = table.filter(
        pl.col("path_text").is_null() | (pl.col("path_text").str.strip_chars() == "")
    )
    if not blank.is_empty():
        raise InputError(
            f"{source} row {blank['row'][0]}, field '{names['path']}': the path is empty."
        )


@dataclass(frozen=True)
class PathsReport(AttributionReport):
    """An :class:`~attribution.report.AttributionReport` of aggregated paths.

    Paths carry no time, stage, currency or spend: ``stage`` is ``None``;
    ``start``, ``end`` and ``currency`` are what the caller said the table
    covers and is in, ``None`` (``null``) unless given; the lookback window is
    not applied (``lookback_days`` is infinite, ``null`` in :meth:`to_dict`)
    and ``spend`` with its ratios is ``null``.
    ``totals["non_converting_journeys"]`` is the sum of the paths'
    non-conversions.
    """

    source: str = "paths"

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data, ``lookback_days`` ``null`` and ``source`` added.

        Examples
        --------
        >>> table = pl.DataFrame({"path": ["a > b"], "total_conversions": [2]})
        >>> out = attribute_paths(table, model="linear").to_dict()
        >>> out["lookback_days"], out["data"][0]["conversions"], out["data"][0]["spend"]
        (None, 1.0, None)
        >>> out["start"], out["end"], out["currency"]
        (None, None, None)
        """
        return {**super().to_dict(), "lookback_days": None, "source": self.source}

    def to_table(self) -> str:
        """Return the rows and a total line as a human-readable table.

        The header names the period and the currency only when they were given.

        Examples
        --------
        >>> table = pl.DataFrame({"path": ["a > b"], "total_conversions": [2]})
        >>> attribute_paths(table).to_table().splitlines()[0]
        'model linear · by channel · aggregated paths from paths'
        >>> dated = attribute_paths(table, start=dt.date(2024, 1, 1), currency="eur")
        >>> dated.to_table().splitlines()[0]
        'model linear · by channel · aggregated paths from paths · 2024-01-01 to … · EUR'
        """
        table = super().to_table()
        _, _, rows = table.partition("\n")
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        model = f"{self.model}({params})" if params else self.model
        header = f"model {model} · by {self.by} · aggregated paths from {self.source}"
        if self.start is not None or self.end is not None:
            header += f" · {self.start or '…'} to {self.end or '…'}"
        if self.currency is not None:
            header += f" · {self.currency}"
        return f"{header}\n{rows}"


def attribute_paths(
    paths: pl.DataFrame,
    *,
    model: str | AttributionModel = "linear",
    sep: str = ">",
    columns: dict[str, str] | None = None,
    by: str = "channel",
    start: dt.date | None = None,
    end: dt.date | None = None,
    currency: str | None = None,
    params: dict[str, Any] | None = None,
    source: str = "paths",
    ci: float | None = None,
    bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PathsReport:
    """Attribute an aggregated path table (ChannelAttribution's shape) with any path-based model.

    Parameters
    ----------
    paths
        One row per path (see :func:`journeys_from_paths`); rows with the same
        path are summed.
    model
        A registered model name or instance. Every model that only looks at
        the order of touches runs (first/last touch, linear, position-based,
        Markov, the Shapley variants); ``time_decay`` refuses, paths carry no time.
    sep, columns, source
        As in :func:`journeys_from_paths`.
    by
        Only ``"channel"``: paths carry no campaign.
    start, end
        The first and last day the table covers, when known: echoed in the
        report, never inferred (paths carry no time) and not used to filter.
    currency
        ISO 4217 code of the table's conversion values, echoed in the report
        (upper-cased); ``None`` (the default) reports ``null``.
    params
        Model parameters when ``model`` is a name.
    ci, bootstrap, seed, progress
        Bootstrap intervals as in :func:`attribution.attribute`; each path row
        stands for its counted journeys, which are resampled one by one.

    Returns
    -------
    PathsReport
        Conversions and revenue per channel; spend, ROAS, ROI and CPA are null.

    Examples
    --------
    >>> table = pl.DataFrame({"path": ["a > b", "b", "a>b"], "total_conversions": [1, 1, 2],
    ...     "total_conversion_value": [10.0, 5.0, 20.0], "total_null": [3, 5, 0]})
    >>> attribute_paths(table, model="last_touch").data.select("channel", "conversions", "revenue")
    shape: (2, 3)
    ┌─────────┬─────────────┬─────────┐
    │ channel ┆ conversions ┆ revenue │
    │ ---     ┆ ---         ┆ ---     │
    │ str     ┆ f64         ┆ f64     │
    ╞═════════╪═════════════╪═════════╡
    │ b       ┆ 4.0         ┆ 35.0    │
    │ a       ┆ 0.0         ┆ 0.0     │
    └─────────┴─────────────┴─────────┘
    """
    if by != "channel":
        raise ParameterError(
            f"Aggregated paths can only be reported by channel (got by={by!r}): "
            "a path is a sequence of channels, with no campaign."
        )
    if start is not None and end is not None and start > end:
        raise ParameterError(
            f"start ({start}) is after end ({end}); the period is inclusive at both ends."
        )
    code = iso_currency(currency) if currency is not None else None
    instance = model if isinstance(model, AttributionModel) else get_model(model, **(params or {}))
    journeys = journeys_from_paths(paths, sep=sep, columns=columns, source=source)
    report = report_journeys(
        journeys,
        instance,
        by=by,
        start=start,
        end=end,
        currency=code,
        ci=ci,
        bootstrap=bootstrap,
        seed=seed,
        progress=progress,
    )
    fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    return PathsReport(**fields, source=source)


def iso_currency(code: str) -> str:
    """Return ``code`` as an upper-case three-letter ISO 4217 code, or raise.

    Examples
    --------
    >>> iso_currency(" eur ")
    'EUR'
    >>> iso_currency("euro")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Currency 'euro' is not a three-letter ISO 4217 code ...
    """
    normal = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", normal):
        raise ParameterError(
            f"Currency '{code}' is not a three-letter ISO 4217 code such as USD or EUR."
        )
    return normal


__all__ = [
    "PATH_COLUMNS",
    "PathsReport",
    "attribute_paths",
    "iso_currency",
    "journeys_from_path_lists",
    "journeys_from_paths",
]
