"""Parse the timestamps and dates users have into UTC, vectorised.

Accepted timestamp forms (all turned into ``Datetime("us", "UTC")``):

- ISO 8601 with an offset: ``2024-03-01T10:00:00+02:00``, ``...+0200``,
  ``...Z``, with or without fractional seconds (kept to the microsecond),
  with ``T`` or a space between date and time, seconds optional;
- ISO 8601 without an offset, ``2024-03-01T10:00:00`` or
  ``2024-03-01 10:00:00``: a naive timestamp is taken to be **UTC already**
  (export your data in UTC, or with an offset, if it is local time);
- a date only, ``2024-03-01`` or ``20240301`` (GA4's ``event_date``):
  midnight UTC;
- epoch numbers, given as numbers or digit strings, told apart by magnitude:
  below ``1e11`` they are seconds (up to the year 5138), below ``1e14``
  milliseconds, otherwise microseconds (GA4's ``event_timestamp``).
  Fractional seconds (``1709287200.5``) are accepted. An 8-digit string is a
  ``YYYYMMDD`` date, not epoch seconds (those would fall in 1970);
- native polars ``Datetime`` (naive ones are UTC, aware ones are converted)
  and ``Date`` columns, as Parquet and JSON readers give them.

Absurd values never wrap around: an epoch number, native ``Datetime`` or
``Date`` too far from 1970 to be held in microseconds (say
``9223372036854775807`` seconds, or ``1e400``) is clamped to just outside the
years 1 to 9999, so :mod:`ingest.validate` rejects it as out of range (see
:mod:`ingest.limits`) instead of storing a wrapped-around date. Only a value
that is not a number or a timestamp at all is flagged as unparseable here.

Everything is done with polars expressions: a few ``str.to_datetime`` formats
coalesced, never a Python loop per row.
"""

from __future__ import annotations

import polars as pl

from attribution.schema import UTC_DATETIME

__all__ = ["parse_dates", "parse_timestamps"]

_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_SECONDS_BELOW = 1e11
_MILLIS_BELOW = 1e14


def _blank(expr: pl.Expr, dtype: pl.DataType | None = None) -> pl.Expr:
    """Null, empty or whitespace-only text (only null, for a column that is not text)."""
    if dtype is not None and (dtype.is_temporal() or dtype.is_numeric()):
        return expr.is_null()  # a native value is never blank text: no cast to text needed
    return expr.is_null() | (expr.cast(pl.String).str.strip_chars() == "")


_MIN_MICROS = -62_135_596_800_000_001
"""Microseconds since 1970 just before 0001-01-01: what too early a value is clamped to."""
_MAX_MICROS = 253_402_300_799_999_999
"""Microseconds since 1970 of 9999-12-31T23:59:59.999999: what too late a value is clamped to."""
_MIN_DAYS = -719_163
"""Days since 1970 of 0000-12-31, just before 0001-01-01."""
_MAX_DAYS = 2_932_896
"""Days since 1970 of 9999-12-31."""
_MICROS_PER = {"us": 1, "ms": 1_000}
_US_PER_DAY = 86_400_000_000


def _utc_micros(micros: pl.Expr) -> pl.Expr:
    """Int64 microseconds since 1970 (already clamped) to ``Datetime("us", "UTC")``."""
    return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _epoch_expr(value: pl.Expr) -> pl.Expr:
    """Epoch seconds / milliseconds / microseconds (by magnitude) to UTC datetimes.

    Infinite values are clamped like any huge one; NaN becomes null.
    """
    magnitude = value.abs()
    micros = (
        pl.when(magnitude < _SECONDS_BELOW)
        .then(value * 1_000_000)
        .when(magnitude < _MILLIS_BELOW)
        .then(value * 1_000)
        .otherwise(value)
    )
    clamped = micros.clip(float(_MIN_MICROS), float(_MAX_MICROS)).round(0)
    return _utc_micros(clamped.cast(pl.Int64, strict=False).clip(_MIN_MICROS, _MAX_MICROS))


def _int_epoch_expr(value: pl.Expr) -> pl.Expr:
    """Like :func:`_epoch_expr` but exact for integers (no float rounding), and never overflowing.

    The magnitude is tested on the value itself (``abs`` of the smallest
    Int64 overflows), and the multiplications only see values small enough.
    """
    seconds = (value > -int(_SECONDS_BELOW)) & (value < int(_SECONDS_BELOW))
    millis = (value > -int(_MILLIS_BELOW)) & (value < int(_MILLIS_BELOW))
    micros = (
        pl.when(seconds).then(value * 1_000_000).when(millis).then(value * 1_000).otherwise(value)
    )
    return _utc_micros(micros.clip(_MIN_MICROS, _MAX_MICROS))


def _native_micros(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Microseconds since 1970 (UTC) of a native ``Datetime`` or ``Date``, clamped.

    Works on the physical integers, so a value polars cannot format (a year
    beyond 262,143) is never formatted, and none overflows.
    """
    if isinstance(dtype, pl.Date):
        days = expr.to_physical().cast(pl.Int64).clip(_MIN_DAYS, _MAX_DAYS)
        return days * _US_PER_DAY
    assert isinstance(dtype, pl.Datetime)
    physical = expr.to_physical()
    unit = dtype.time_unit or "us"
    if unit == "ns":
        return physical.floordiv(1_000)
    per = _MICROS_PER[unit]
    return physical.clip(_MIN_MICROS // per, _MAX_MICROS // per) * per


def _string_timestamps(text: pl.Expr) -> pl.Expr:
    stripped = text.str.strip_chars()
    normal = (
        stripped.str.replace(r"^(\d{4}-\d{2}-\d{2})[ Tt]", "${1}T")
        .str.replace(r"\s+([+-]\d{2}:?\d{2})$", "${1}")
        .str.replace(r"[Zz]$", "+00:00")
    )
    attempts = [
        normal.str.to_datetime(f, time_unit="us", time_zone="UTC", strict=False)
        for f in (*_OFFSET_FORMATS, *_NAIVE_FORMATS)
    ]
    is_yyyymmdd = stripped.str.contains(r"^\d{8}$")
    compact_date = (
        pl.when(is_yyyymmdd)
        .then(stripped.str.to_datetime("%Y%m%d", time_unit="us", time_zone="UTC", strict=False))
        .otherwise(None)
    )
    is_integer = stripped.str.contains(r"^-?\d+$") & ~is_yyyymmdd
    is_decimal = stripped.str.contains(r"^-?\d+\.\d*$")
    as_float = _epoch_expr(stripped.cast(pl.Float64, strict=False))
    epoch = (
        pl.when(is_integer)
        # Digits beyond Int64 do not fit: as a float they are clamped out of range.
        .then(pl.coalesce(_int_epoch_expr(stripped.cast(pl.Int64, strict=False)), as_float))
        .when(is_decimal)
        .then(as_float)
        .otherwise(None)
    )
    return pl.coalesce(*attempts, compact_date, epoch)


def _timestamp_expr(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime | pl.Date):
        # Naive values are UTC already; aware ones are stored as UTC instants: either way
        # the physical integers are the UTC microseconds (milliseconds, days ...).
        return _utc_micros(_native_micros(expr, dtype))
    if dtype == pl.UInt64:  # beyond Int64: clamped out of range as a float
        return pl.coalesce(
            _int_epoch_expr(expr.cast(pl.Int64, strict=False)), _epoch_expr(expr.cast(pl.Float64))
        )
    if dtype.is_integer():
        return _int_epoch_expr(expr.cast(pl.Int64, strict=False))
    if dtype.is_float():
        finite = expr.cast(pl.Float64)
        return pl.when(finite.is_finite()).then(_epoch_expr(finite)).otherwise(None)
    if dtype == pl.Null:
        return pl.lit(None, dtype=UTC_DATETIME)
    return _string_timestamps(expr.cast(pl.String, strict=False))


def parse_timestamps(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Parse a column of timestamps into UTC, flagging the values that failed.

    Parameters
    ----------
    series
        Text, numbers, ``Date`` or ``Datetime`` values, in any of the forms
        listed in the module docstring.

    Returns
    -------
    tuple[polars.Series, polars.Series]
        The parsed ``Datetime("us", "UTC")`` series (same name and length),
        and a boolean mask that is ``True`` where a value was given but could
        not be parsed. Missing values (null, empty text) are null in the
        result and ``False`` in the mask: whether they are allowed is for the
        caller to decide.

    Examples
    --------
    >>> s = pl.Series("ts", ["2024-03-01T10:00:00+02:00", "2024-03-01 08:00:00",
    ...                      "1709280000000", "yesterday", None])
    >>> ts, bad = parse_timestamps(s)
    >>> ts.to_list()[:3] == [ts[0]] * 3
    True
    >>> ts.dt.to_string("%Y-%m-%dT%H:%M:%SZ").to_list()
    ['2024-03-01T08:00:00Z', '2024-03-01T08:00:00Z', '2024-03-01T08:00:00Z', None, None]
    >>> bad.to_list()
    [False, False, False, True, False]
    """
    frame = series.rename("value").to_frame()
    out = frame.select(
        _timestamp_expr(pl.col("value"), series.dtype).alias("ts"),
        _blank(pl.col("value"), series.dtype).alias("blank"),
    ).select(
        pl.col("ts").cast(UTC_DATETIME),
        (pl.col("ts").is_null() & ~pl.col("blank")).alias("bad"),
    )
    return out["ts"].rename(series.name), out["bad"].rename(series.name)


def parse_dates(series: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Parse a column of calendar dates (the ``date`` of costs), flagging failures.

    Dates are kept as the calendar day that was written: ``2024-03-01``,
    ``20240301``, or a timestamp truncated to its date as written
    (``2024-03-01T23:30:00-05:00`` is 1 March, the ad account's day, not the
    UTC day). Epoch numbers are truncated to their UTC date. Native ``Date``
    passes through and native ``Datetime`` keeps its own (local) date.

    Parameters
    ----------
    series
        Text, numbers, ``Date`` or ``Datetime`` values.

    Returns
    -------
    tuple[polars.Series, polars.Series]
        The ``Date`` series, and a mask that is ``True`` where a value was
        given but could not be parsed (missing values are ``False``).

    Examples
    --------
    >>> s = pl.Series("date", ["2024-03-01", "2024-03-01T23:30:00-05:00", "20240301", "soon"])
    >>> dates, bad = parse_dates(s)
    >>> [str(d) for d in dates.to_list()]
    ['2024-03-01', '2024-03-01', '2024-03-01', 'None']
    >>> bad.to_list()
    [False, False, False, True]
    """
    dtype = series.dtype
    value = pl.col("value")
    if isinstance(dtype, pl.Date):
        expr = value
    elif isinstance(dtype, pl.Datetime):
        # Its own (local) date, from clamped microseconds: an absurd year never overflows.
        local = _native_micros(value, dtype).cast(pl.Datetime("us", dtype.time_zone))
        expr = local.dt.date()
    elif dtype.is_numeric() or dtype == pl.Null:
        expr = _timestamp_expr(value, dtype).dt.date()
    else:
        text = value.cast(pl.String, strict=False).str.strip_chars()
        iso_day = text.str.extract(r"^(\d{4}-\d{2}-\d{2})(?:[ Tt].*)?$", 1)
        expr = pl.coalesce(
            iso_day.str.to_date("%Y-%m-%d", strict=False),
            pl.when(text.str.contains(r"^\d{8}$"))
            .then(text.str.to_date("%Y%m%d", strict=False))
            .otherwise(None),
            _string_timestamps(text).dt.date(),
        )
    out = (
        series.rename("value")
        .to_frame()
        .select(expr.cast(pl.Date).alias("date"), _blank(value, series.dtype).alias("blank"))
        .select("date", (pl.col("date").is_null() & ~pl.col("blank")).alias("bad"))
    )
    return out["date"].rename(series.name), out["bad"].rename(series.name)
