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

Slash dates, as spreadsheets and CRM exports write them (``03/15/2025``,
``15.03.2025``, ``3/15/2025 2:30 PM``; separators ``/``, ``.`` or ``-``, the
year last with four digits, optionally a time with or without AM/PM), are read
in the order their column shows (:func:`find_slash_dates`,
:func:`date_order`): a first part above 12 means day first, a second part
above 12 means month first. A column with both is inconsistent and one with
neither (``03/04/2025``) ambiguous: both are refused with
:class:`AmbiguousDatesError`, which says which ``--date-format`` to give. A
``date_format`` (strftime / chrono, such as ``%d/%m/%Y %H:%M``) replaces all
of this for text values: they must match it (:func:`check_date_format`).

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

import re
from dataclasses import dataclass
from typing import Literal

import polars as pl

from attribution.errors import InputError, ParameterError
from attribution.schema import UTC_DATETIME

__all__ = [
    "AmbiguousDatesError",
    "DateOrder",
    "SlashDates",
    "check_date_format",
    "date_order",
    "find_slash_dates",
    "parse_dates",
    "parse_timestamps",
]

DateOrder = Literal["dmy", "mdy"]
"""How a column's slash dates are read: day first (``15/03/2025``) or month first
(``03/15/2025``)."""

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


_SLASH = r"^\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})(?:$|[\sT,])"
"""A slash date at the start of a value: two parts of one or two digits, then a 4-digit year."""
_SLASH_FULL = (
    r"^(?P<a>[0-9]{1,2})(?P<sep>[/.-])(?P<b>[0-9]{1,2})[/.-](?P<y>[0-9]{4})"
    r"(?:(?P<join>[ T]|,\s*)(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?P<f>\.[0-9]+)?)?"
    r"(?P<gap>\s*)(?P<ampm>[AaPp][Mm])?)?\s*(?P<tz>[Zz]|[+-][0-9]{2}:?[0-9]{2})?$"
)
"""A whole slash date (stripped): date, optional time (12- or 24-hour clock), optional offset."""


class AmbiguousDatesError(InputError):
    """Raised when a column's slash dates are not all day first or all month first."""

    title = "Ambiguous dates"


@dataclass(frozen=True)
class SlashDates:
    """What the slash dates of a column say about their order.

    Positions are 0-based rows of the file (row ``n + 1`` as problems number
    them). Merge what the batches of one file found with :meth:`merged`.

    Attributes
    ----------
    count
        How many values are slash dates.
    first
        Position and text of the first one.
    day_first
        The first whose first part is a day above 12 (``15/03/2025``).
    month_first
        The first whose second part is a day above 12 (``03/15/2025``).

    Examples
    --------
    >>> a = find_slash_dates(pl.Series(["03/04/2025"]))
    >>> b = find_slash_dates(pl.Series(["2025-03-01", "15/04/2025"]), offset=1)
    >>> a.merged(b)
    SlashDates(count=2, first=(0, '03/04/2025'), day_first=(2, '15/04/2025'), month_first=None)
    """

    count: int = 0
    first: tuple[int, str] | None = None
    day_first: tuple[int, str] | None = None
    month_first: tuple[int, str] | None = None

    def merged(self, later: SlashDates) -> SlashDates:
        """Combine with what a later part of the same column found."""
        return SlashDates(
            self.count + later.count,
            self.first or later.first,
            self.day_first or later.day_first,
            self.month_first or later.month_first,
        )


def _first_hit(hits: pl.DataFrame, mask: pl.Expr) -> tuple[int, str] | None:
    found = hits.filter(mask).head(1)
    return (int(found["i"][0]), str(found["v"][0])) if found.height else None


def find_slash_dates(series: pl.Series, offset: int = 0) -> SlashDates:
    """Find the slash dates of a column and what their parts say about the order.

    One vectorised match over the column; a column that is not text has none.

    Parameters
    ----------
    series
        The raw values.
    offset
        Position of the series' first value in its file.

    Returns
    -------
    SlashDates
        The count and the first value of each kind (see :func:`date_order`).

    Examples
    --------
    >>> found = find_slash_dates(pl.Series(["03/15/2025", "04/01/2025 9:30 AM", "2025-03-01"]))
    >>> found.count, found.month_first, found.day_first
    (2, (0, '03/15/2025'), None)
    """
    if series.dtype != pl.String:
        return SlashDates()
    hits = (
        series.rename("v")
        .to_frame()
        .with_row_index("i", offset)
        .filter(pl.col("v").str.contains(_SLASH))
    )
    if not hits.height:
        return SlashDates()
    hits = hits.with_columns(
        pl.col("v").str.strip_chars(),
        pl.col("v").str.extract(_SLASH, 1).cast(pl.Int32, strict=False).alias("a"),
        pl.col("v").str.extract(_SLASH, 2).cast(pl.Int32, strict=False).alias("b"),
    )
    a, b = pl.col("a"), pl.col("b")
    return SlashDates(
        count=hits.height,
        first=_first_hit(hits, pl.lit(True)),
        day_first=_first_hit(hits, a.is_between(13, 31) & b.is_between(1, 12)),
        month_first=_first_hit(hits, a.is_between(1, 12) & b.is_between(13, 31)),
    )


def _suggested_formats(sample: str) -> tuple[str, str]:
    """Return the month-first and day-first ``--date-format`` reading ``sample`` as written."""
    match = re.match(_SLASH_FULL, sample.strip())
    if match is None:  # a slash date followed by text the reader does not know
        sep = next((c for c in sample.strip() if c in "/.-"), "/")
        return f"%m{sep}%d{sep}%Y", f"%d{sep}%m{sep}%Y"
    sep = match["sep"]
    time = ""
    if match["h"] is not None:
        hour = "%I" if match["ampm"] else "%H"
        time = f"{match['join']}{hour}:%M"
        if match["s"] is not None:
            time += ":%S" + ("%.f" if match["f"] else "")
        if match["ampm"]:
            time += f"{match['gap']}%p"
    return f"%m{sep}%d{sep}%Y{time}", f"%d{sep}%m{sep}%Y{time}"


def date_order(found: SlashDates, file: str, column: str) -> DateOrder | None:
    """Decide how a column's slash dates are read, or refuse the file.

    Parameters
    ----------
    found
        What :func:`find_slash_dates` found in the whole column.
    file, column
        How the error names them.

    Returns
    -------
    DateOrder or None
        ``"dmy"`` when some first part is above 12, ``"mdy"`` when some
        second part is, ``None`` when the column has no slash date.

    Raises
    ------
    AmbiguousDatesError
        When both kinds appear (naming a row of each), or neither (every first
        and second part is 12 or less): the error says which
        ``--date-format`` to pass.

    Examples
    --------
    >>> date_order(find_slash_dates(pl.Series(["03/04/2025", "03/15/2025"])), "c.csv", "ts")
    'mdy'
    >>> date_order(find_slash_dates(pl.Series(["03/04/2025"])), "c.csv", "ts")
    Traceback (most recent call last):
    ...
    ingest.timestamps.AmbiguousDatesError: c.csv, column 'ts': cannot tell whether dates such as
    '03/04/2025' (row 1) are month/day/year or day/month/year: no first or second part is above
    12. Pass --date-format %m/%d/%Y (month first) or --date-format %d/%m/%Y (day first).
    """
    if not found.count or found.first is None:
        return None
    day, month = found.day_first, found.month_first
    if day is not None and month is not None:
        mdy, dmy = _suggested_formats(day[1])
        raise AmbiguousDatesError(
            f"{file}, column '{column}': the dates mix day first and month first: row "
            f"{day[0] + 1} has '{day[1]}' (day first) but row {month[0] + 1} has '{month[1]}' "
            f"(month first). Fix the file, or pass --date-format {dmy} (day first) or "
            f"--date-format {mdy} (month first): the dates written the other way are then "
            "reported row by row."
        )
    if day is not None:
        return "dmy"
    if month is not None:
        return "mdy"
    row, value = found.first
    mdy, dmy = _suggested_formats(value)
    raise AmbiguousDatesError(
        f"{file}, column '{column}': cannot tell whether dates such as '{value}' (row {row + 1}) "
        "are month/day/year or day/month/year: no first or second part is above 12. Pass "
        f"--date-format {mdy} (month first) or --date-format {dmy} (day first)."
    )


_DIRECTIVE = re.compile(r"%(?:[-_0^#]?[A-Za-z%+]|\.?[369]?f|:{1,3}z|#z)")
_KNOWN = set("YCyGgmbBhdeaAwuUWVjDxFvHkIlPpMSfzZstnRTXrc%+")
_WHOLE_DATE = set("DxFvc+s")


def check_date_format(fmt: str) -> str:
    """Return ``fmt`` if it is a strftime / chrono format that names a whole date, else raise.

    Parameters
    ----------
    fmt
        A format such as ``%m/%d/%Y`` or ``%d.%m.%Y %H:%M`` (``%p`` for AM/PM,
        ``%z`` for an offset; without one the time is UTC).

    Raises
    ------
    ParameterError
        When the format has an unknown directive or lacks the year, the month
        or the day.

    Examples
    --------
    >>> check_date_format("%d/%m/%Y %H:%M")
    '%d/%m/%Y %H:%M'
    >>> check_date_format("%H:%M")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Bad --date-format '%H:%M': it must give the year, the
    month and the day, e.g. --date-format %m/%d/%Y or %d.%m.%Y %H:%M (strftime directives).
    """
    letters = set()
    position = 0
    for found in _DIRECTIVE.finditer(fmt):
        if "%" in fmt[position : found.start()]:
            break
        token = found.group()
        letter = token[-1]
        if letter not in _KNOWN:
            break
        letters.add(letter)
        position = found.end()
    else:
        if "%" not in fmt[position:]:
            year = letters & set("YyG")
            day = (letters & set("mbBh") and letters & set("de")) or "j" in letters
            week = "G" in letters and "V" in letters and letters & set("uwaA")
            if letters & _WHOLE_DATE or (year and day) or week:
                return fmt
            raise ParameterError(
                f"Bad --date-format '{fmt}': it must give the year, the month and the day, "
                "e.g. --date-format %m/%d/%Y or %d.%m.%Y %H:%M (strftime directives)."
            )
    raise ParameterError(
        f"Bad --date-format '{fmt}': it has a directive strftime does not know. Use %Y, %m, "
        "%d, %H, %M, %S, %I and %p ..., e.g. --date-format %m/%d/%Y."
    )


def _slash_text(order: DateOrder, *, with_time: bool) -> pl.Expr:
    """ISO 8601 text from the groups of :data:`_SLASH_FULL` (one column each); else null.

    With the time: always ``YYYY-MM-DDTHH:MM:SS[.f]±HH:MM`` (UTC when no
    offset is written), so one format reads every value.
    """
    col = pl.col
    day, month = (col("a"), col("b")) if order == "dmy" else (col("b"), col("a"))
    date = pl.concat_str(col("y"), pl.lit("-"), month.str.zfill(2), pl.lit("-"), day.str.zfill(2))
    if not with_time:
        return date
    hour = col("h").cast(pl.Int32, strict=False)
    ampm = col("ampm").str.to_lowercase()
    hour24 = (
        pl.when(hour.is_null())
        .then(0)
        .when(ampm.is_null())
        .then(hour)
        .when(hour.is_between(1, 12))
        .then(hour % 12 + pl.when(ampm == "pm").then(12).otherwise(0))
        .otherwise(None)
    )
    offset = (
        pl.when(col("tz").is_null() | (col("tz").str.to_uppercase() == "Z"))
        .then(pl.lit("+00:00"))
        .otherwise(col("tz").str.replace(r"^([+-][0-9]{2}):?([0-9]{2})$", "${1}:${2}"))
    )
    return pl.concat_str(
        date,
        pl.lit("T"),
        hour24.cast(pl.String).str.zfill(2),
        pl.lit(":"),
        col("mi").fill_null("00"),
        pl.lit(":"),
        col("s").fill_null("00"),
        col("f").fill_null(""),
        offset,
    )


def _slash_values(
    series: pl.Series, order: DateOrder, *, with_time: bool
) -> tuple[pl.Series, pl.Series] | None:
    """Read the slash dates of a text column in ``order``, or ``None`` when it has none.

    Returns a mask of the slash dates and their values (``Datetime("us",
    "UTC")``, or ``Date`` without ``with_time``; null where impossible, such
    as ``02/30/2024``). Only the slash dates are read, each regex once.
    """
    text = series.str.strip_chars()
    slash = text.str.contains(_SLASH).fill_null(False)
    if not slash.any():
        return None
    where = slash.arg_true()
    parts = (
        text.gather(where)
        .rename("t")
        .to_frame()
        .select(pl.col("t").str.extract_groups(_SLASH_FULL))
        .unnest("t")
    )
    written = parts.select(_slash_text(order, with_time=with_time)).to_series()
    if with_time:
        read = written.str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False
        )
        values = pl.repeat(None, len(series), dtype=UTC_DATETIME, eager=True)
    else:
        read = written.str.to_date("%Y-%m-%d", strict=False)
        values = pl.repeat(None, len(series), dtype=pl.Date, eager=True)
    return slash, values.scatter(where, read)


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


def _timestamp_expr(expr: pl.Expr, dtype: pl.DataType, date_format: str | None = None) -> pl.Expr:
    if date_format is not None and not isinstance(dtype, pl.Datetime | pl.Date | pl.Null):
        text = expr.cast(pl.String, strict=False).str.strip_chars()
        return text.str.to_datetime(date_format, time_unit="us", time_zone="UTC", strict=False)
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


def parse_timestamps(
    series: pl.Series, *, date_order: DateOrder | None = None, date_format: str | None = None
) -> tuple[pl.Series, pl.Series]:
    """Parse a column of timestamps into UTC, flagging the values that failed.

    Parameters
    ----------
    series
        Text, numbers, ``Date`` or ``Datetime`` values, in any of the forms
        listed in the module docstring.
    date_order
        How slash dates are read (:func:`date_order` decides it for a whole
        column); ``None``: a slash date is not read.
    date_format
        A strftime / chrono format (see :func:`check_date_format`) that every
        value not native ``Date`` / ``Datetime`` must match, instead of the
        forms above.

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

    Slash dates, in the order of their column, or in a format of your own:

    >>> s = pl.Series("ts", ["03/01/2024 8:00 AM", "03/01/2024"])
    >>> parse_timestamps(s, date_order="mdy")[0].dt.to_string("%Y-%m-%dT%H:%M").to_list()
    ['2024-03-01T08:00', '2024-03-01T00:00']
    >>> s = pl.Series("ts", ["01.03.2024 09:00 +01:00", "2024-03-01"])
    >>> ts, bad = parse_timestamps(s, date_format="%d.%m.%Y %H:%M %:z")
    >>> ts.dt.to_string("%Y-%m-%dT%H:%MZ").to_list(), bad.to_list()
    (['2024-03-01T08:00Z', None], [False, True])
    """
    slash = None
    if date_order is not None and date_format is None and series.dtype == pl.String:
        slash = _slash_values(series, date_order, with_time=True)
    value = pl.col("value")
    if slash is None:
        frame, ts = (
            series.rename("value").to_frame(),
            _timestamp_expr(value, series.dtype, date_format),
        )
    else:
        # The other values are read as ever; the slash dates were read above.
        frame = pl.DataFrame([series.rename("value"), slash[0].rename("m"), slash[1].rename("s")])
        others = pl.when(pl.col("m")).then(None).otherwise(value)
        ts = pl.when(pl.col("m")).then(pl.col("s")).otherwise(_string_timestamps(others))
    out = frame.select(
        ts.alias("ts"),
        _blank(value, series.dtype).alias("blank"),
    ).select(
        pl.col("ts").cast(UTC_DATETIME),
        (pl.col("ts").is_null() & ~pl.col("blank")).alias("bad"),
    )
    return out["ts"].rename(series.name), out["bad"].rename(series.name)


def parse_dates(
    series: pl.Series, *, date_order: DateOrder | None = None, date_format: str | None = None
) -> tuple[pl.Series, pl.Series]:
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
    date_order, date_format
        As :func:`parse_timestamps`; with a format, the day is the one
        written, whatever the time and offset.

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
    >>> [str(d) for d in parse_dates(pl.Series(["15/03/2024"]), date_order="dmy")[0]]
    ['2024-03-15']
    """
    dtype = series.dtype
    value = pl.col("value")
    slash = None
    if date_order is not None and date_format is None and dtype == pl.String:
        slash = _slash_values(series, date_order, with_time=False)
    if date_format is not None and not isinstance(dtype, pl.Date | pl.Datetime | pl.Null):
        text = value.cast(pl.String, strict=False).str.strip_chars()
        expr = text.str.to_date(date_format, strict=False)
    elif isinstance(dtype, pl.Date):
        expr = value
    elif isinstance(dtype, pl.Datetime):
        # Its own (local) date, from clamped microseconds: an absurd year never overflows.
        local = _native_micros(value, dtype).cast(pl.Datetime("us", dtype.time_zone))
        expr = local.dt.date()
    elif dtype.is_numeric() or dtype == pl.Null:
        expr = _timestamp_expr(value, dtype).dt.date()
    else:
        text = value.cast(pl.String, strict=False).str.strip_chars()
        if slash is not None:
            text = pl.when(pl.col("m")).then(None).otherwise(text)
        iso_day = text.str.extract(r"^(\d{4}-\d{2}-\d{2})(?:[ Tt].*)?$", 1)
        expr = pl.coalesce(
            iso_day.str.to_date("%Y-%m-%d", strict=False),
            pl.when(text.str.contains(r"^\d{8}$"))
            .then(text.str.to_date("%Y%m%d", strict=False))
            .otherwise(None),
            _string_timestamps(text).dt.date(),
        )
    frame = series.rename("value").to_frame()
    if slash is not None:
        frame = frame.with_columns(slash[0].rename("m"), slash[1].rename("s"))
        expr = pl.when(pl.col("m")).then(pl.col("s")).otherwise(expr)
    out = frame.select(
        expr.cast(pl.Date).alias("date"), _blank(value, series.dtype).alias("blank")
    ).select("date", (pl.col("date").is_null() & ~pl.col("blank")).alias("bad"))
    return out["date"].rename(series.name), out["bad"].rename(series.name)
