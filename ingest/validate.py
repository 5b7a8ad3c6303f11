r"""Check rows against a canonical table and cast them to its schema.

:func:`validate` is the one place where raw input becomes canonical rows. It
never raises for a bad *row*: it returns the good rows, a :class:`Problem` for
every bad value (row, field, message) and the rejected rows themselves, so
the caller decides between all-or-nothing and skipping. It raises only when
the *file* cannot be used at all (a required column is missing, a column
holds nested values).

Rules, per canonical column type (see ``attribution/schema.py``):

- ids and other text: surrounding whitespace is removed and empty text is
  missing; a missing required value is rejected. What remains must be at
  most ``CLOSEDLOOP_MAX_TEXT`` characters (default 4,096) and hold no
  control character (:data:`CONTROL_CHARACTERS`): no C0 or C1 control but
  the tab (NUL included, whatever the format), no line break inside the
  value (line feed, carriage return, U+2028, U+2029 ...: every text column
  of the canonical tables is an id or a dimension, never free text; a
  multi-line note in a column closedloop does not use is fine, as a line
  break around a value is removed with the other whitespace), and no
  Unicode bidirectional control (U+202A–U+202E, U+2066–U+2069, and the
  marks U+200E, U+200F and U+061C), which render as nothing yet reorder or
  split text: ``Em\u202eail`` shows as "Emlia", and ``Email\u200e`` looks
  like ``Email`` while being another channel;
- timestamps (``ts``): any form :mod:`ingest.timestamps` accepts, from
  1 January of ``CLOSEDLOOP_MIN_YEAR`` (default 1970) to before 1 January of
  ``CLOSEDLOOP_MAX_YEAR`` (default 2100), UTC; slash dates (``03/15/2025``)
  in the order the whole column shows (a column that does not show it is
  refused: :class:`~ingest.timestamps.AmbiguousDatesError`), or exactly the
  ``date_format`` given;
- dates (``costs.date``): a calendar day, or a timestamp's day as written,
  in the same range of years, read the same way;
- money (``revenue``, ``spend``): a finite number ≥ 0 and at most
  ``CLOSEDLOOP_MAX_AMOUNT`` (default 1e12; a missing revenue is 0); ``inf``,
  ``nan`` and ``1e400`` are not finite. It may carry a currency sign
  (``$ € £ ¥``) or ISO code (``USD 12.00``, ``12.00 EUR``), which must be
  the store's reporting currency like the ``currency`` column, and groups of
  three digits (``1,234.56``; with ``decimal=","``, ``1.234,56``; spaces and
  ``'`` work for either); an amount in parentheses or after a minus sign is
  negative, so refused;
- counts (``impressions``, ``clicks``, any integer column): a whole number
  ≥ 0 that fits the column's type (``Int64``: below 2**63), checked before
  it is cast, or missing;
- ``currency`` (optional column of conversions and costs): must equal the
  store's reporting currency when one is given;
- keys (``KEYS`` in the schema): a key seen twice in one file is rejected on
  every repeat, naming the row where it was first seen;
- identities: a row without an ``anonymous_id`` or a ``user_id`` (null or
  empty) holds no pair. It is *ignored*, not rejected: :func:`check_rows`
  gives it no problem and a null id, :func:`validate` leaves it out of the
  good rows (the ingest counts such rows; see :mod:`ingest.loader`);
- accounts: likewise, a row without a ``user_id`` or an ``account_id``
  links nobody and is ignored;
- lift_tests: the estimate (``incremental_revenue`` or
  ``incremental_conversions``) and its bounds (``lower``, ``upper``) are
  numbers that may be negative (an experiment can find a loss); a test
  runs from ``start`` to ``end`` (``start`` ≤ ``end``), gives exactly one
  estimate, and ``lower`` ≤ estimate ≤ ``upper`` (:func:`lift_test_issues`).

The environment variables are read every time rows are checked; see
:mod:`ingest.limits`. A value out of these bounds is a problem of its row and
field, like any other bad value: it is never clamped, wrapped or stored.

Rows are numbered from 1 for the first data row: the header line of a CSV
file is not counted, so row 1 is the second line of the file, as a
spreadsheet shows it when its header row is frozen. In JSON and Parquet,
row 1 is the first record.

Messages show a value's control characters escaped (``'Em\u202eail'``), so
an error never reorders a terminal's text or sends it escape sequences.

Everything is computed with polars expressions over chunks of rows; Python
objects are only built for the first ``MAX_PROBLEMS`` problems (all of them
are counted).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from polars.datatypes import IntegerType

from attribution.errors import (
    ColumnTypeError,
    MissingColumnsError,
    ParameterError,
    Problem,
    UnknownTableError,
)
from attribution.schema import KEYS, LIFT_TEST_MEASURES, REQUIRED, TABLES
from ingest.limits import (
    MAX_AMOUNT_VAR,
    MAX_TEXT_VAR,
    MAX_YEAR_VAR,
    MIN_YEAR_VAR,
    Limits,
    current_limits,
)
from ingest.timestamps import (
    DateOrder,
    date_order,
    find_slash_dates,
    parse_dates,
    parse_timestamps,
)

__all__ = [
    "CHUNK_ROWS",
    "CONTROL_CHARACTERS",
    "CURRENCY_TABLES",
    "DECIMALS",
    "IGNORED_WITHOUT",
    "MAX_PROBLEMS",
    "ProblemList",
    "check_rows",
    "duplicate_issues",
    "lift_test_issues",
    "problem_list",
    "require_columns",
    "row_reasons",
    "temporal_text",
    "validate",
]

MAX_PROBLEMS = 1_000
"""How many :class:`Problem` objects :func:`validate` builds (it counts them all)."""

CHUNK_ROWS = 200_000
"""Rows validated at a time, so long ingests can report progress."""

CURRENCY_TABLES = ("conversions", "costs")
"""Tables that may carry an optional ``currency`` column."""

IGNORED_WITHOUT = {
    "identities": ("anonymous_id", "user_id"),
    "accounts": ("user_id", "account_id"),
}
"""Tables whose rows are ignored, not rejected, when one of these (required) ids is missing."""

DECIMALS = (".", ",")
"""The decimal separators money may be written with (the other one then groups thousands)."""

MISSING = "required value is missing"
TIMESTAMP_EXPECTED = "expected an ISO 8601 timestamp, a date or epoch seconds/milliseconds"
DATE_EXPECTED = "expected a date (YYYY-MM-DD)"
MONEY_EXPECTED = "expected a number ≥ 0"
NUMBER_EXPECTED = "expected a number"
SIGNED = {("lift_tests", name) for name in ("incremental_revenue", "incremental_conversions")} | {
    ("lift_tests", "lower"),
    ("lift_tests", "upper"),
}
"""Number columns that may be negative: a lift test's estimate and interval."""
COUNT_EXPECTED = "expected a whole number ≥ 0"
CURRENCY_DIFFERS = "currency '{}' differs from the store's reporting currency '{}'; convert first"
"""A value in another currency: the code (as given), the store's currency."""
_CURRENCY_PROBLEM = r"^currency '\s*([A-Za-z]{3})\s*'"
"""What every problem of a value in another (known) currency starts with, code in group 1."""

_GROUP_CHARS = "'\\s\\x{00A0}\\x{202F}"
"""Besides the other separator, what may group thousands: spaces (no-break too) and ``'``."""
_AMOUNT: dict[str, tuple[str, str]] = {
    decimal: (
        rf"^(?:(?:[0-9]{{1,3}}(?:[{group}{_GROUP_CHARS}][0-9]{{3}})+|[0-9]+)(?:\{decimal}[0-9]*)?"
        rf"|\{decimal}[0-9]+)$",
        f"[{group}{_GROUP_CHARS}]",
    )
    for decimal, group in ((".", ","), (",", "."))
}
"""Per decimal separator: an amount's digits (thousands in groups of 3), its group separators."""
_MONEY = (
    r"^(?P<s1>-)?\s*(?P<open>\()?\s*(?P<s2>-)?\s*(?P<pre>[A-Za-z]{3}|[$€£¥])?\s*(?P<s3>-)?\s*"
    r"(?P<num>[0-9.,][0-9.,'\s\x{00A0}\x{202F}]*?)\s*(?P<post>[A-Za-z]{3}|[$€£¥])?\s*"
    r"(?P<close>\))?$"
)
"""Money as people write it: sign, parentheses, a currency sign or code before or after."""
SYMBOL_CURRENCIES: dict[str, tuple[str, ...]] = {
    "€": ("EUR",),
    "£": ("GBP", "GIP", "FKP", "SHP", "EGP", "JEP", "GGP", "IMP"),
    "¥": ("JPY", "CNY"),
    "$": (
        "USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "ARS", "CLP", "COP", "UYU",
        "BSD", "BBD", "BZD", "BMD", "BND", "KYD", "FJD", "GYD", "JMD", "LRD", "NAD", "SBD",
        "SRD", "TTD", "XCD", "CUP", "DOP", "KID", "TVD",
    ),
}  # fmt: skip
"""The currencies a sign may stand for: an amount with a sign the store's currency does not
use is refused like another code; ``€`` and ``£`` name their code in the problem."""
_SYMBOL_CODES = {"€": "EUR", "£": "GBP"}

_PROBLEM_SCHEMA = pl.Schema({"_row": pl.Int64, "field": pl.String, "message": pl.String})
_QUOTED_MAX = 60

_C0_NAMES = (
    "NULL",
    "START OF HEADING",
    "START OF TEXT",
    "END OF TEXT",
    "END OF TRANSMISSION",
    "ENQUIRY",
    "ACKNOWLEDGE",
    "BELL",
    "BACKSPACE",
    "CHARACTER TABULATION",
    "LINE FEED",
    "LINE TABULATION",
    "FORM FEED",
    "CARRIAGE RETURN",
    "SHIFT OUT",
    "SHIFT IN",
    "DATA LINK ESCAPE",
    "DEVICE CONTROL ONE",
    "DEVICE CONTROL TWO",
    "DEVICE CONTROL THREE",
    "DEVICE CONTROL FOUR",
    "NEGATIVE ACKNOWLEDGE",
    "SYNCHRONOUS IDLE",
    "END OF TRANSMISSION BLOCK",
    "CANCEL",
    "END OF MEDIUM",
    "SUBSTITUTE",
    "ESCAPE",
    "INFORMATION SEPARATOR FOUR",
    "INFORMATION SEPARATOR THREE",
    "INFORMATION SEPARATOR TWO",
    "INFORMATION SEPARATOR ONE",
)
"""Names of the C0 control characters U+0000 to U+001F."""
_LINE_BREAKS = "\n\x0b\x0c\r\x85\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _char_name(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return _C0_NAMES[code]
    if code == 0x7F:
        return "DELETE"
    if code == 0x85:
        return "NEXT LINE"
    if code < 0xA0:
        return "a C1 control"
    return unicodedata.name(char)


def _describe(char: str) -> str:
    """How a problem names a control character: its code point, name and why it is refused."""
    point = f"U+{ord(char):04X} ({_char_name(char)})"
    if char in _LINE_BREAKS:
        return f"a line break, {point}; ids and names must fit on one line"
    if char in _BIDI:
        return f"the invisible control character {point}, which can disguise text"
    return f"the invisible control character {point}"


def _escape(char: str) -> str:
    code = ord(char)
    if char in "\n\r":
        return repr(char)[1:-1]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


CONTROL_CHARACTERS: dict[str, str] = {
    char: _describe(char)
    for char in (
        *(chr(c) for c in range(0x20) if c != 0x09),
        *(chr(c) for c in range(0x7F, 0xA0)),
        *_LINE_BREAKS[-2:],
        *_BIDI,
    )
}
"""Characters a text value may not hold, and how a problem describes each.

Every C0 and C1 control character but the tab (U+0009), the line and
paragraph separators U+2028 and U+2029, and the Unicode bidirectional
controls and marks. A character in the middle of a value is refused;
surrounding whitespace (line ends included) is removed first. See
:func:`check_rows` for an example.

The left-to-right and right-to-left marks (U+200E, U+200F) are refused too:
they render as nothing, so ``Email`` with one looks like ``Email`` yet is
another channel. Zero-width joiners and spaces (U+200B to U+200D, U+2060,
U+FEFF) are not: Persian, Indic scripts and emoji need the joiners.
"""

_CONTROLS = list(CONTROL_CHARACTERS)
_CONTROL_CLASS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in CONTROL_CHARACTERS) + "]"
_SHOWN = [_escape(c) for c in CONTROL_CHARACTERS]

Progress = Callable[[int, int], None]


class ProblemList(list[Problem]):
    """The problems :func:`validate` built, and how many there were in all.

    At most ``MAX_PROBLEMS`` are built; ``total`` counts every one of them.
    ``currencies`` counts, among all of them, the values in another currency
    than the store's, per ISO code (as the currency column or the amount
    names it), so a caller can say it once.
    """

    def __init__(
        self,
        problems: Sequence[Problem] = (),
        total: int | None = None,
        currencies: dict[str, int] | None = None,
    ) -> None:
        super().__init__(problems)
        self.total = len(self) if total is None else total
        self.currencies: dict[str, int] = dict(currencies or {})


_SHOWN_TABLE = str.maketrans(dict(zip(CONTROL_CHARACTERS, _SHOWN, strict=True)))


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f"'{n.translate(_SHOWN_TABLE)}'" for n in names)


def require_columns(
    columns: Sequence[str], table: str, file: str, *, found: Sequence[str] | None = None
) -> None:
    """Raise if ``columns`` lacks a required column of ``table``.

    Parameters
    ----------
    columns
        The column names available (after any mapping).
    table
        A canonical table name.
    file
        The file name used in the message.
    found
        The names to list as found, when they differ from ``columns`` (the
        file's own names, before mapping); defaults to ``columns``.

    Raises
    ------
    MissingColumnsError
        Naming the file, the missing columns, the columns found and the
        ``--map`` option that fixes it.

    Examples
    --------
    >>> require_columns(["user_id", "channel", "time"], "touchpoints", "touchpoints.csv")
    Traceback (most recent call last):
    ...
    attribution.errors.MissingColumnsError: touchpoints.csv is missing required column(s):
    'touchpoint_id', 'ts'. Found: 'user_id', 'channel', 'time'.
    Map yours with --map touchpoint_id=<your column> --map ts=<your column>.
    """
    missing = [c for c in REQUIRED[table] if c not in columns]
    if missing:
        hint = " ".join(f"--map {c}=<your column>" for c in missing)
        if table == "touchpoints" and "channel" in missing:
            # The channel is the one required column closedloop can derive.
            hint += (
                ", or give source / medium / campaign or a landing_url column to derive "
                "the channel from"
            )
        raise MissingColumnsError(
            f"{file} is missing required column(s): {_quoted(missing)}. "
            f"Found: {_quoted(list(found if found is not None else columns)) or '(none)'}. "
            f"Map yours with {hint}."
        )


def _check_column_types(frame: pl.DataFrame, table: str, file: str) -> None:
    for name, dtype in frame.schema.items():
        if name not in TABLES[table] and name != "currency":
            continue
        if dtype.is_nested() or dtype in (pl.Object, pl.Binary):
            expected = TABLES[table].get(name, pl.String)
            raise ColumnTypeError(
                f"{file}: column '{name}' holds {dtype} values; expected {expected} values. "
                "Flatten it, or map another column to it."
            )


_FORMATTABLE_DAYS = 94_900_000
"""About 260,000 years either side of 1970: polars formats no date beyond the year 262,143."""
_PER_DAY = {"ms": 86_400_000, "us": 86_400_000_000}


def temporal_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Show native dates or datetimes as text, never formatting one polars cannot.

    Polars panics (``PanicException``) when it formats a ``Date`` or
    ``Datetime`` beyond the year 262,143, which a Parquet file may hold; such
    values are shown as their raw count of days / ms / µs since 1970 instead.
    Other dtypes are cast to text as usual.

    Parameters
    ----------
    expr
        The column.
    dtype
        Its dtype.

    Returns
    -------
    polars.Expr
        A ``String`` expression.

    Examples
    --------
    >>> days = pl.Series("d", [19_783, 2**31 - 1], dtype=pl.Int32).cast(pl.Date)
    >>> days.to_frame().select(temporal_text(pl.col("d"), days.dtype)).to_series().to_list()
    ['2024-03-01', '2147483647 days since 1970-01-01']
    """
    if isinstance(dtype, pl.Date):
        physical, unit, limit = expr.to_physical().cast(pl.Int64), "days", _FORMATTABLE_DAYS
    elif isinstance(dtype, pl.Datetime) and (dtype.time_unit or "us") in _PER_DAY:
        unit = dtype.time_unit or "us"
        physical, limit = expr.to_physical(), _FORMATTABLE_DAYS * _PER_DAY[unit]
    else:  # nanoseconds (every Int64 is formattable), or not a date at all
        return expr.cast(pl.String, strict=False)
    safe = (physical > -limit) & (physical < limit)
    physical_dtype = pl.Int32 if isinstance(dtype, pl.Date) else pl.Int64
    shown = pl.when(safe).then(physical).otherwise(0).cast(physical_dtype).cast(dtype)
    return (
        pl.when(safe)
        .then(shown.cast(pl.String))
        .otherwise(pl.format("{} {} since 1970-01-01", physical, pl.lit(unit)))
    )


def _raw_text(name: str, dtype: pl.DataType | None = None) -> pl.Expr:
    """Quote a value as a message shows it: its first 60 characters, control characters escaped."""
    if dtype is not None and isinstance(dtype, pl.Date | pl.Datetime):
        text = temporal_text(pl.col(name), dtype)
    else:
        text = pl.col(name).cast(pl.String, strict=False)
    shown = (
        pl.when(text.str.len_chars() > _QUOTED_MAX)
        .then(text.str.slice(0, _QUOTED_MAX) + "…")
        .otherwise(text)
    )
    return shown.str.replace_many(_CONTROLS, _SHOWN)


Message = str | pl.Expr
"""A rule's message: a template whose ``{}`` gets the raw value, or an expression of the row."""


def _issues(
    rows: pl.Series, raw: pl.Series, bad: pl.Series, field: str, template: Message
) -> pl.DataFrame:
    """Return the problems of one rule.

    A ``str`` template gets the raw value in its ``{}``; an expression is
    computed over the bad rows, whose raw values are the column ``field``.
    """
    if isinstance(template, pl.Expr):
        message = template
    elif "{}" in template:
        message = pl.format(template, _raw_text(field, raw.dtype).fill_null(""))
    else:
        message = pl.lit(template)
    return (
        pl.DataFrame({"_row": rows, field: raw})
        .filter(bad)
        .select(pl.col("_row"), pl.lit(field).alias("field"), message.alias("message"))
    )


def _missing(series: pl.Series) -> pl.Series:
    """Null, or text that is empty after stripping."""
    if series.dtype == pl.String:
        return series.is_null() | (series.str.strip_chars() == "")
    return series.is_null()


def _numbers(series: pl.Series) -> pl.Series:
    if series.dtype == pl.String:
        return series.str.strip_chars().cast(pl.Float64, strict=False)
    if series.dtype.is_numeric() or series.dtype == pl.Null:
        return series.cast(pl.Float64)
    return pl.repeat(None, len(series), dtype=pl.Float64, eager=True).alias(series.name)


Rule = tuple[pl.Series, Message]
"""A mask of the bad values of one column and the message saying why."""


def _unless(mask: pl.Series, values: pl.Series) -> pl.Series:
    """``values`` with null where ``mask`` is true."""
    return pl.select(pl.when(mask).then(None).otherwise(values)).to_series()


def _range_text(limits: Limits) -> str:
    return (
        f"from {limits.earliest.isoformat()} to before {limits.before.isoformat()} "
        f"({MIN_YEAR_VAR}, {MAX_YEAR_VAR})"
    )


def _thousands(count: pl.Expr) -> pl.Expr:
    """Whole numbers as text with thousands separated (``2,000,000``)."""
    reverse = count.cast(pl.String).str.reverse()
    return reverse.str.replace_all(r"(\d{3})", "${1},").str.strip_chars_end(",").str.reverse()


def _text_rules(name: str, text: pl.Series, limits: Limits) -> list[Rule]:
    """Rules of a text value (surrounding whitespace removed): no control character, bounded.

    Computed once per column: one multi-pattern search over the values, and
    their byte length (characters are only counted when some value has more
    bytes than the bound, as a character takes at least one byte).
    """
    stripped = pl.col(name).cast(pl.String, strict=False).str.strip_chars()
    first = stripped.str.extract(f"({_CONTROL_CLASS})", 1)
    described = first.replace_strict(CONTROL_CHARACTERS, default="a control character")
    control = text.str.contains_any(_CONTROLS).fill_null(False)
    rules: list[Rule] = [
        (control, pl.format("contains {}; remove it, got '{}'", described, _raw_text(name)))
    ]
    longest = text.str.len_bytes().max()
    if isinstance(longest, int) and longest > limits.max_text:
        too_long = (text.str.len_chars() > limits.max_text).fill_null(False)
        message = pl.format(
            f"expected at most {limits.max_text:,} characters ({MAX_TEXT_VAR}), "
            "got {} characters: '{}'",
            _thousands(stripped.str.len_chars()),
            _raw_text(name),
        )
        rules.append((too_long, message))
    return rules


@dataclass(frozen=True)
class _Reading:
    """How the values of one batch are read: its date format or orders, decimal, currency."""

    currency: str | None = None
    date_format: str | None = None
    date_orders: Mapping[str, DateOrder | None] = field(default_factory=dict)
    decimal: str = "."


def _format_text(fmt: str) -> str:
    """Show a date format inside a :func:`polars.format` template (no braces)."""
    return fmt.replace("{", "(").replace("}", ")")


def _clean_timestamps(
    raw: pl.Series, limits: Limits, order: DateOrder | None, date_format: str | None
) -> tuple[pl.Series, list[Rule]]:
    ts, bad = parse_timestamps(raw, date_order=order, date_format=date_format)
    return _in_range(ts, bad, limits, date_format, "timestamp", TIMESTAMP_EXPECTED, dates=False)


def _clean_dates(
    raw: pl.Series, limits: Limits, order: DateOrder | None, date_format: str | None
) -> tuple[pl.Series, list[Rule]]:
    dates, bad = parse_dates(raw, date_order=order, date_format=date_format)
    return _in_range(dates, bad, limits, date_format, "date", DATE_EXPECTED, dates=True)


def _in_range(
    parsed: pl.Series,
    bad: pl.Series,
    limits: Limits,
    date_format: str | None,
    word: str,
    default_expected: str,
    *,
    dates: bool,
) -> tuple[pl.Series, list[Rule]]:
    """Null what is out of the configured years, and say why each bad or out-of-range value is."""
    earliest, before = (
        (limits.earliest, limits.before) if dates else (limits.earliest_ts, limits.before_ts)
    )
    out = (parsed.is_not_null() & ((parsed < earliest) | (parsed >= before))).fill_null(False)
    expected = (
        default_expected
        if date_format is None
        else f"expected a {word} in the format '{_format_text(date_format)}'"
    )
    rules: list[Rule] = [
        (bad, expected + ", got '{}'"),
        (out, f"expected a {word} {_range_text(limits)}, got '{{}}'"),
    ]
    return _unless(out, parsed), rules


def _money_exprs(part: Callable[[str], pl.Expr], decimal: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Read money as people write it: the amount (negative if so), its ISO code and its sign.

    ``part(name)`` is a group of :data:`_MONEY` over stripped text. Each part
    is null when absent; the amount is null when the digits are not a number
    with ``decimal`` as the decimal separator.
    """
    digits, groups = _AMOUNT[decimal]
    number = part("num")
    plain = number.str.replace_all(groups, "")
    if decimal != ".":
        plain = plain.str.replace(decimal, ".", literal=True)
    value = pl.when(number.str.contains(digits)).then(plain.cast(pl.Float64, strict=False))
    opened, closed = part("open").is_not_null(), part("close").is_not_null()
    negative = (
        part("s1").is_not_null() | part("s2").is_not_null() | part("s3").is_not_null() | opened
    )
    amount = pl.when(opened != closed).then(None).when(negative).then(-value).otherwise(value)
    pre, post = part("pre"), part("post")
    code = pl.coalesce(
        pl.when(pre.str.len_chars() == 3).then(pre), pl.when(post.str.len_chars() == 3).then(post)
    ).str.to_uppercase()
    sign = pl.coalesce(
        pl.when(pre.str.len_chars() == 1).then(pre), pl.when(post.str.len_chars() == 1).then(post)
    )
    return amount, code, sign


def _money_parts(text: pl.Expr, decimal: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """:func:`_money_exprs` of an expression (for messages, over a few rows)."""
    parts = text.str.extract_groups(_MONEY)
    return _money_exprs(lambda name: parts.struct.field(name), decimal)


def _read_money(text: pl.Series, decimal: str) -> pl.DataFrame:
    """Return ``amount``, ``code`` and ``sign`` of stripped text, each regex run once."""
    parts = text.rename("t").to_frame().select(pl.col("t").str.extract_groups(_MONEY)).unnest("t")
    amount, code, sign = _money_exprs(pl.col, decimal)
    return parts.select(amount.alias("amount"), code.alias("code"), sign.alias("sign"))


def _money_rules(name: str, amounts: pl.DataFrame, currency: str) -> tuple[pl.Series, list[Rule]]:
    """Find the amounts whose currency code or sign is not the store's, and their problems.

    ``amounts`` holds the ``code`` and ``sign`` :func:`_money_parts` found.
    """
    named = pl.coalesce("code", pl.col("sign").replace_strict(_SYMBOL_CODES, default=None))
    allowed = [s for s, codes in SYMBOL_CURRENCIES.items() if currency in codes]
    masks = amounts.select(
        (named.is_not_null() & (named != currency)).fill_null(False).alias("named"),
        (named.is_null() & pl.col("sign").is_not_null() & ~pl.col("sign").is_in(allowed))
        .fill_null(False)
        .alias("sign"),
    )
    # Messages are built over the bad rows only, from the raw value (column ``name``).
    _, code, sign = _money_parts(pl.col(name).cast(pl.String).str.strip_chars(), ".")
    raw = _raw_text(name)
    differs = CURRENCY_DIFFERS.replace("'{}' differs", "'{}' of '{}' differs", 1)
    named_again = pl.coalesce(code, sign.replace_strict(_SYMBOL_CODES, default=None))
    rules: list[Rule] = [
        (masks["named"], pl.format(differs, named_again, raw, pl.lit(currency))),
        (
            masks["sign"],
            pl.format(
                "'{}' is in a currency written '{}', not in the store's reporting currency "
                "'{}'; convert first",
                raw,
                sign,
                pl.lit(currency),
            ),
        ),
    ]
    return masks["named"] | masks["sign"], rules


def _clean_money(
    name: str,
    raw: pl.Series,
    fill: float | None,
    limits: Limits,
    reading: _Reading,
    signed: bool = False,
) -> tuple[pl.Series, list[Rule]]:
    """Clean money: a finite number ≥ 0 and ≤ the cap; ``fill`` stands for a missing value.

    ``signed`` numbers (a lift test's estimate and bounds) may be negative,
    down to minus the cap.

    Plain numbers are read as they are (``.`` decimal); only the values that
    are not (signs, codes, separators), or every text value with ``,`` as the
    decimal separator, go through :func:`_money_parts`.
    """
    missing = _missing(raw)
    numbers = _numbers(raw)
    no = pl.repeat(False, len(raw), dtype=pl.Boolean, eager=True)
    foreign, separators = no, no
    rules: list[Rule] = []
    if raw.dtype == pl.String:
        if reading.decimal != ".":
            numbers = pl.repeat(None, len(raw), dtype=pl.Float64, eager=True)
        unread = (numbers.is_null() & ~missing).fill_null(False)
        if unread.any():
            text = raw.str.strip_chars()
            # Only the values a plain number cast did not read; put back in place.
            where = unread.arg_true()
            read = _read_money(text.gather(where), reading.decimal)
            amounts = pl.DataFrame(
                [
                    pl.repeat(None, len(raw), dtype=read[c].dtype, eager=True)
                    .scatter(where, read[c])
                    .rename(c)
                    for c in read.columns
                ]
            )
            numbers = numbers.fill_null(amounts["amount"])
            if reading.currency is not None:
                foreign, currency_rules = _money_rules(name, amounts, reading.currency.upper())
                rules.extend(currency_rules)
            separators = (numbers.is_null() & text.str.contains("[.,]") & ~missing).fill_null(False)
    invalid = numbers.is_null() | ~numbers.is_finite().fill_null(False)
    if not signed:
        invalid = invalid | (numbers < 0)
    too_big = (~invalid & (numbers.abs() > limits.max_amount)).fill_null(False)
    clean = pl.select(
        pl.when(missing).then(fill).when(invalid | too_big | foreign).then(None).otherwise(numbers)
    ).to_series()
    example = "1234.56 or 1,234.56" if reading.decimal == "." else "1234,56 or 1.234,56"
    expected = NUMBER_EXPECTED if signed else MONEY_EXPECTED
    rules[:0] = [
        (
            (invalid & ~missing & ~separators & ~foreign).fill_null(False),
            expected + ", got '{}'",
        ),
        (
            (separators & ~foreign).fill_null(False),
            f"{expected} with '{reading.decimal}' as the decimal separator, such as "
            f"{example}; got '{{}}'",
        ),
        (
            (too_big & ~missing).fill_null(False),
            (
                f"expected an amount from -{limits.amount_text} to {limits.amount_text}"
                if signed
                else f"expected an amount ≤ {limits.amount_text}"
            )
            + f" ({MAX_AMOUNT_VAR}), got '{{}}'",
        ),
    ]
    return clean, rules


def _clean_count(raw: pl.Series, dtype: pl.DataType) -> tuple[pl.Series, list[Rule]]:
    """Clean counts: whole numbers ≥ 0 that fit ``dtype``, checked before any cast.

    Whole numbers written as digits are read exactly (not through a float);
    other numbers (``12.0``, ``1e3``) must be whole and finite.
    """
    assert isinstance(dtype, IntegerType)
    high = int(pl.select(dtype.max()).item())
    missing = _missing(raw)
    numbers = _numbers(raw)
    if raw.dtype == pl.String:
        text = raw.str.strip_chars()
        digits = text.str.contains(r"^\+?\d+$").fill_null(False)
        exact = text.cast(pl.Int64, strict=False)
    elif raw.dtype.is_integer():
        digits = raw.is_not_null()
        exact = raw.cast(pl.Int64, strict=False)  # null for a UInt64 beyond Int64
    else:
        digits = pl.repeat(False, len(raw), dtype=pl.Boolean, eager=True)
        exact = pl.repeat(None, len(raw), dtype=pl.Int64, eager=True)
    whole = numbers.is_finite().fill_null(False) & (numbers == numbers.floor()).fill_null(False)
    as_float = pl.select(pl.when(whole).then(numbers).otherwise(None)).to_series()
    value = pl.select(
        pl.when(digits).then(exact).otherwise(as_float.cast(pl.Int64, strict=False))
    ).to_series()
    too_big = (
        (digits & exact.is_null()) | (~digits & whole & (numbers >= 2.0**63)) | (value > high)
    ).fill_null(False)
    invalid = (~too_big & (value.is_null() | (value < 0))).fill_null(True)
    bad = (invalid | too_big) & ~missing
    clean = _unless(bad | missing, value).cast(dtype)
    rules: list[Rule] = [
        (invalid & ~missing, COUNT_EXPECTED + ", got '{}'"),
        (too_big & ~missing, f"expected a whole number ≤ {high:,}, got '{{}}'"),
    ]
    return clean, rules


def _clean_column(
    name: str, dtype: pl.DataType, raw: pl.Series, table: str, limits: Limits, reading: _Reading
) -> tuple[pl.Series, list[Rule]]:
    """Return the cleaned values of one column (null where bad) and its rules (mask, message)."""
    if dtype == pl.String:
        text = raw.cast(pl.String, strict=False).str.strip_chars()
        # Missing: null, or (text only) empty once stripped; stripping once serves both.
        missing = (text == "") if raw.dtype == pl.String else raw.is_null()
        rules = _text_rules(name, text, limits)
        bad = missing
        for mask, _ in rules:
            bad = bad | mask
        return _unless(bad, text).alias(name), [(m.alias(name), t) for m, t in rules]
    order = reading.date_orders.get(name)
    if isinstance(dtype, pl.Datetime):
        clean, rules = _clean_timestamps(raw, limits, order, reading.date_format)
    elif dtype == pl.Date:
        clean, rules = _clean_dates(raw, limits, order, reading.date_format)
    elif dtype.is_integer():
        clean, rules = _clean_count(raw, dtype)
    else:
        fill = 0.0 if (table, name) == ("conversions", "revenue") else None
        signed = (table, name) in SIGNED
        clean, rules = _clean_money(name, raw, fill, limits, reading, signed)
    return clean.alias(name), [(mask.alias(name), template) for mask, template in rules]


def _validate_chunk(
    chunk: pl.DataFrame, table: str, reading: _Reading, limits: Limits
) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    """Clean one chunk (which carries ``_row``): cleaned columns + ``_row``, and its issues."""
    currency = reading.currency
    schema = TABLES[table]
    rows = chunk["_row"]
    cleaned: list[pl.Series] = [rows]
    issues: list[pl.DataFrame] = []
    for name, dtype in schema.items():
        if name in chunk.columns:
            raw = chunk[name]
        else:
            raw = pl.repeat(None, chunk.height, dtype=pl.String, eager=True).alias(name)
        clean, rules = _clean_column(name, dtype, raw, table, limits, reading)
        cleaned.append(clean)
        if name in REQUIRED[table] and name not in IGNORED_WITHOUT.get(table, ()):
            bad = pl.repeat(False, chunk.height, dtype=pl.Boolean, eager=True)
            for mask, _ in rules:
                bad = bad | mask
            issues.append(_issues(rows, raw, clean.is_null() & ~bad, name, MISSING))
        for mask, template in rules:
            issues.append(_issues(rows, raw, mask, name, template))
    if table == "lift_tests":
        issues.append(lift_test_issues(pl.DataFrame(cleaned)))
    if currency is not None and table in CURRENCY_TABLES and "currency" in chunk.columns:
        raw = chunk["currency"].cast(pl.String, strict=False)
        given = raw.str.strip_chars().str.to_uppercase()
        bad = (given.is_not_null() & (given != "") & (given != currency.upper())).fill_null(False)
        template = CURRENCY_DIFFERS.replace("'{}';", f"'{currency.upper()}';")
        issues.append(_issues(rows, raw, bad, "currency", template))
    return pl.DataFrame(cleaned), issues


def lift_test_issues(clean: pl.DataFrame) -> pl.DataFrame:
    """Return the problems of lift-test rows that span several fields.

    A test runs from ``start`` to ``end`` (``start`` ≤ ``end``), gives
    exactly one of ``incremental_revenue`` and ``incremental_conversions``,
    and its estimate lies inside its interval: ``lower`` ≤ estimate ≤
    ``upper`` (either bound may be absent). Values already rejected on their
    own (null here) count as absent.

    Examples
    --------
    >>> import datetime as dt
    >>> rows = pl.DataFrame({
    ...     "_row": [1, 2, 3],
    ...     "start": [dt.date(2024, 3, 1)] * 3,
    ...     "end": [dt.date(2024, 3, 31), dt.date(2024, 2, 1), dt.date(2024, 3, 31)],
    ...     "incremental_revenue": [500.0, 500.0, None],
    ...     "incremental_conversions": [None, None, None],
    ...     "lower": [600.0, None, None],
    ...     "upper": [900.0, None, None],
    ... })
    >>> for row in lift_test_issues(rows).rows():
    ...     print(row)
    (1, 'incremental_revenue', 'the estimate 500.0 is below its lower bound 600.0')
    (2, 'end', 'the test ends (2024-02-01) before it starts (2024-03-01)')
    (3, 'incremental_revenue', 'give exactly one of incremental_revenue or incremental_conversions')
    """
    revenue, count = (pl.col(name) for name in LIFT_TEST_MEASURES)
    estimate = pl.coalesce(revenue, count)
    given = revenue.is_not_null().cast(pl.Int32) + count.is_not_null().cast(pl.Int32)
    checks = [
        (
            "end",
            pl.col("end") < pl.col("start"),
            pl.format(
                "the test ends ({}) before it starts ({})",
                pl.col("end").cast(pl.String),
                pl.col("start").cast(pl.String),
            ),
        ),
        (
            "incremental_revenue",
            given != 1,
            pl.lit("give exactly one of incremental_revenue or incremental_conversions"),
        ),
        (
            "incremental_revenue",
            (given == 1) & (estimate < pl.col("lower")),
            pl.format("the estimate {} is below its lower bound {}", estimate, pl.col("lower")),
        ),
        (
            "incremental_revenue",
            (given == 1) & (estimate > pl.col("upper")),
            pl.format("the estimate {} is above its upper bound {}", estimate, pl.col("upper")),
        ),
        (
            "lower",
            pl.col("lower") > pl.col("upper"),
            pl.format("the lower bound {} is above the upper bound {}", "lower", "upper"),
        ),
    ]
    found = [
        clean.filter(mask.fill_null(False)).select(
            "_row", pl.lit(field).alias("field"), message.alias("message")
        )
        for field, mask, message in checks
    ]
    return pl.concat(found).cast(_PROBLEM_SCHEMA).sort("_row", maintain_order=True)


def _duplicate_issues(clean: pl.DataFrame, table: str) -> pl.DataFrame:
    """Every repeat of a key inside one file, naming the row where it was first seen."""
    keys = KEYS[table]
    required_keys = [k for k in keys if k in REQUIRED[table]]
    groups = [pl.col(k).fill_null("") if k not in REQUIRED[table] else pl.col(k) for k in keys]
    rendered = [
        (pl.lit(f"{k}='") + pl.col(k).cast(pl.String) + pl.lit("'")).fill_null(f"{k}=null")
        for k in keys
    ]
    return (
        clean.rechunk()
        .select("_row", *keys)
        .filter(pl.all_horizontal(pl.col(k).is_not_null() for k in required_keys))
        .with_columns(pl.col("_row").min().over(groups).alias("_first"))
        .filter(pl.col("_row") != pl.col("_first"))
        .select(
            pl.col("_row"),
            pl.lit(", ".join(keys)).alias("field"),
            (
                pl.lit("duplicate key (")
                + pl.concat_str(rendered, separator=", ")
                + pl.lit("), first seen at row ")
                + pl.col("_first").cast(pl.String)
            ).alias("message"),
        )
        .sort("_row", maintain_order=True)
        .cast(_PROBLEM_SCHEMA)
    )


def duplicate_issues(rows: pl.DataFrame, table: str) -> pl.DataFrame:
    """Return the repeated keys among rows of one file, as issues naming the first row.

    Parameters
    ----------
    rows
        ``_row`` (1-based row of the file) and the key columns of ``table``
        (see ``KEYS`` in the schema), cleaned as :func:`check_rows` returns
        them. It may be any subset of a file's rows that holds, with every
        row, all the rows of the file with the same key.
    table
        A canonical table name.

    Returns
    -------
    polars.DataFrame
        ``_row``, ``field`` and ``message`` of every row whose key an earlier
        row holds, sorted by row; rows with a missing required key are
        ignored (they are rejected for that already).

    Examples
    --------
    >>> rows = pl.DataFrame({"_row": [2, 7, 9], "conversion_id": ["c1", "c2", "c1"]})
    >>> duplicate_issues(rows, "conversions").rows()
    [(9, 'conversion_id', "duplicate key (conversion_id='c1'), first seen at row 2")]
    """
    return _duplicate_issues(rows, table)


def validate(
    frame: pl.DataFrame,
    table: str,
    file: str | Path,
    *,
    currency: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    date_format: str | None = None,
    date_orders: Mapping[str, DateOrder | None] | None = None,
    decimal: str = ".",
) -> tuple[pl.DataFrame, list[Problem], pl.DataFrame]:
    """Split rows into good canonical rows and rejected ones, saying why.

    Parameters
    ----------
    frame
        Rows whose column names are already canonical (see
        :func:`ingest.mapping.apply_mapping`); other columns are ignored and
        absent optional columns count as missing.
    table
        ``touchpoints``, ``conversions``, ``costs`` or ``identities``.
    file
        Where the rows came from; its base name is used in problems.
    currency
        The store's reporting currency. When given, rows of conversions and
        costs whose ``currency`` column, or whose amount's currency code or
        sign, names another one are rejected.
    chunk_rows
        Rows checked at a time.
    progress
        Called as ``progress(rows_done, rows_total)`` after every chunk.
    date_format
        A strftime / chrono format (``%m/%d/%Y``) the text of the timestamp
        and date columns must match (see
        :func:`ingest.timestamps.check_date_format`); by default the forms
        of :mod:`ingest.timestamps`, with slash dates read in the order their
        column shows.
    date_orders
        Per timestamp or date column, how its slash dates are read
        (``"dmy"``, ``"mdy"``, or ``None`` for none), when the caller decided
        it over a whole file; the columns not given are looked at here.
    decimal
        The decimal separator of money: ``.`` (default) or ``,`` (then ``.``
        groups thousands: ``1.234,56``).

    Returns
    -------
    tuple[polars.DataFrame, list[Problem], polars.DataFrame]
        - good rows, cast to the canonical schema in canonical column order
          (without the identity rows that lack an id: see the module docstring);
        - problems, one per bad value (row 1 is the first data row, under the
          header), sorted by row: a :class:`ProblemList` whose ``total``
          counts them all, of which at most ``MAX_PROBLEMS`` are built;
        - rejected rows as given (every column of ``frame``) plus ``_file``,
          ``_row`` and ``_reason`` (all problems of the row, ``"; "``-joined).

    Raises
    ------
    UnknownTableError
        When ``table`` is not a canonical table.
    MissingColumnsError
        When a required column is absent.
    ColumnTypeError
        When a canonical column holds nested values (lists, structs).
    AmbiguousDatesError
        When a column's slash dates do not say whether the day or the month
        comes first, or say both (see :func:`ingest.timestamps.date_order`).
    ParameterError
        When ``CLOSEDLOOP_MIN_YEAR``, ``CLOSEDLOOP_MAX_YEAR``,
        ``CLOSEDLOOP_MAX_AMOUNT`` or ``CLOSEDLOOP_MAX_TEXT`` is set to a bad
        value (see :mod:`ingest.limits`), or ``date_format`` or ``decimal``
        is.

    Examples
    --------
    >>> raw = pl.DataFrame({
    ...     "conversion_id": ["c1", "c2", "c1"],
    ...     "user_id": ["u1", "u2", "u3"],
    ...     "ts": ["2024-03-01", "2024-03-02T09:30:00Z", "2024-03-03"],
    ...     "stage": ["lead", "purchase", "lead"],
    ...     "revenue": [None, "-40", "5"],
    ... })
    >>> good, problems, rejected = validate(raw, "conversions", "conversions.csv")
    >>> good.select("conversion_id", "user_id", "ts", "stage", "revenue", "owner", "lead_source")
    shape: (1, 7)
    ┌───────────────┬─────────┬─────────────────────────┬───────┬─────────┬───────┬─────────────┐
    │ conversion_id ┆ user_id ┆ ts                      ┆ stage ┆ revenue ┆ owner ┆ lead_source │
    │ ---           ┆ ---     ┆ ---                     ┆ ---   ┆ ---     ┆ ---   ┆ ---         │
    │ str           ┆ str     ┆ datetime[μs, UTC]       ┆ str   ┆ f64     ┆ str   ┆ str         │
    ╞═══════════════╪═════════╪═════════════════════════╪═══════╪═════════╪═══════╪═════════════╡
    │ c1            ┆ u1      ┆ 2024-03-01 00:00:00 UTC ┆ lead  ┆ 0.0     ┆ null  ┆ null        │
    └───────────────┴─────────┴─────────────────────────┴───────┴─────────┴───────┴─────────────┘
    >>> for p in problems:
    ...     print(p)
    conversions.csv row 2, field 'revenue': expected a number ≥ 0, got '-40'
    conversions.csv row 3, field 'conversion_id': duplicate key (conversion_id='c1'),
    first seen at row 1
    >>> rejected["_row"].to_list()
    [2, 3]

    CRM exports: slash dates in the order of their column, money with signs and separators:

    >>> raw = pl.DataFrame({"date": ["03/15/2025", "03/16/2025"], "channel": ["Email"] * 2,
    ...                     "spend": ["$1,200.50", "USD 7"]})
    >>> good, problems, _ = validate(raw, "costs", "costs.csv", currency="USD")
    >>> good.select("date", "spend").rows()
    [(datetime.date(2025, 3, 15), 1200.5), (datetime.date(2025, 3, 16), 7.0)]
    >>> raw = pl.DataFrame({"date": ["15.03.2025"], "channel": ["Email"], "spend": ["1.234,5 €"]})
    >>> _, problems, _ = validate(raw, "costs", "kosten.csv", currency="USD", decimal=",")
    >>> print(problems[0])
    kosten.csv row 1, field 'spend': currency 'EUR' of '1.234,5 €' differs from the store's
    reporting currency 'USD'; convert first
    """
    name = Path(file).name
    clean, issues = check_rows(
        frame,
        table,
        file,
        currency=currency,
        chunk_rows=chunk_rows,
        progress=progress,
        date_format=date_format,
        date_orders=date_orders,
        decimal=decimal,
    )
    all_issues = pl.concat([issues, _duplicate_issues(clean, table)], how="vertical").sort(
        "_row", maintain_order=True
    )
    problems = problem_list(all_issues, name)
    reasons = row_reasons(all_issues)
    ids = IGNORED_WITHOUT.get(table, ())
    good = (
        clean.join(reasons.select("_row"), on="_row", how="anti", maintain_order="left")
        .filter(pl.all_horizontal(pl.col(c).is_not_null() for c in ids) if ids else pl.lit(True))
        .select(list(TABLES[table]))
        .cast(TABLES[table])
    )
    numbered = frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
    rejected = (
        numbered.join(reasons, on="_row", how="inner", maintain_order="right")
        .select(*frame.columns, pl.lit(name).alias("_file"), "_row", "_reason")
        .sort("_row")
    )
    return good, problems, rejected


def check_rows(
    frame: pl.DataFrame,
    table: str,
    file: str | Path,
    *,
    currency: str | None = None,
    row_offset: int = 0,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    date_format: str | None = None,
    date_orders: Mapping[str, DateOrder | None] | None = None,
    decimal: str = ".",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    r"""Clean rows and find their bad values, leaving repeated keys aside.

    The part of :func:`validate` that looks at one row at a time, so a file
    can be checked batch by batch; repeated keys span batches and are found
    afterwards (:func:`duplicate_issues`).

    Parameters
    ----------
    frame
        Rows with canonical column names, as for :func:`validate`.
    table
        ``touchpoints``, ``conversions``, ``costs`` or ``identities``.
    file
        Where the rows came from; its base name is used in messages.
    currency
        The store's reporting currency (see :func:`validate`).
    row_offset
        Rows of the file before ``frame``: its first row is numbered
        ``row_offset + 1``.
    chunk_rows
        Rows checked at a time.
    progress
        Called as ``progress(rows_done, rows_total)`` of ``frame`` after every chunk.
    date_format, date_orders, decimal
        As :func:`validate`. A column whose order is not given is decided
        over ``frame`` alone: give the orders when ``frame`` is a batch of a
        larger file.

    Returns
    -------
    tuple[polars.DataFrame, polars.DataFrame]
        - every row, cleaned (a bad value is null), in canonical columns and
          order plus ``_row`` first; not yet cast to the canonical types;
        - the issues: ``_row``, ``field``, ``message``, sorted by row.

    Raises
    ------
    UnknownTableError, MissingColumnsError, ColumnTypeError, AmbiguousDatesError, ParameterError
        As :func:`validate`.

    Examples
    --------
    >>> raw = pl.DataFrame({"conversion_id": ["c1", "c2"], "user_id": ["u1", " "],
    ...                     "ts": ["2024-03-01", "2024-03-01"], "stage": ["lead", "lead"]})
    >>> clean, issues = check_rows(raw, "conversions", "leads.csv", row_offset=100)
    >>> clean["_row"].to_list()
    [101, 102]
    >>> issues.rows()
    [(102, 'user_id', 'required value is missing')]

    An identity row without both ids is no problem: it is ignored (its id is null).

    >>> raw = pl.DataFrame({"anonymous_id": ["a1", None], "user_id": ["u1", "u2"]})
    >>> clean, issues = check_rows(raw, "identities", "ids.csv")
    >>> clean["anonymous_id"].to_list(), issues.height
    (['a1', None], 0)

    Text holds no control character (:data:`CONTROL_CHARACTERS`) and at
    most ``CLOSEDLOOP_MAX_TEXT`` characters; surrounding whitespace goes:

    >>> raw = pl.DataFrame({"anonymous_id": ["a1\n", "a\u202e2", "a3"],
    ...                     "user_id": ["u1", "u2", "u" * 5000]})
    >>> clean, issues = check_rows(raw, "identities", "ids.csv")
    >>> clean["anonymous_id"].to_list()
    ['a1', None, 'a3']
    >>> for message in issues["message"]:
    ...     print(message)
    contains the invisible control character U+202E (RIGHT-TO-LEFT OVERRIDE), which can
    disguise text; remove it, got 'a\u202e2'
    expected at most 4,096 characters (CLOSEDLOOP_MAX_TEXT), got 5,000 characters:
    'uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu…'
    """
    if table not in TABLES:
        raise UnknownTableError(table, TABLES)
    name = Path(file).name
    require_columns(frame.columns, table, name)
    _check_column_types(frame, table, name)
    if decimal not in DECIMALS:
        raise ParameterError(f"Bad --decimal '{decimal}': expected '.' or ','.")
    orders = dict(date_orders or {})
    if date_format is None:
        for column, dtype in TABLES[table].items():
            if dtype.is_temporal() and column in frame.columns and column not in orders:
                found = find_slash_dates(frame[column], offset=row_offset)
                orders[column] = date_order(found, name, column)
    reading = _Reading(currency, date_format, orders, decimal)
    total_rows = frame.height
    numbered = frame.with_columns(
        pl.int_range(row_offset + 1, row_offset + 1 + total_rows, dtype=pl.Int64).alias("_row")
    ).rechunk()
    cleaned_chunks: list[pl.DataFrame] = []
    issues: list[pl.DataFrame] = [pl.DataFrame(schema=_PROBLEM_SCHEMA)]
    limits = current_limits()
    step = max(1, chunk_rows)
    for start in range(0, max(total_rows, 1), step):
        chunk = numbered.slice(start, step)
        clean, chunk_issues = _validate_chunk(chunk, table, reading, limits)
        cleaned_chunks.append(clean)
        issues.extend(chunk_issues)
        if progress is not None:
            progress(min(start + step, total_rows), total_rows)
    clean = pl.concat(cleaned_chunks, how="vertical")
    all_issues = pl.concat([i.cast(_PROBLEM_SCHEMA) for i in issues], how="vertical").sort(
        "_row", maintain_order=True
    )
    return clean, all_issues


def problem_list(issues: pl.DataFrame, file: str, limit: int = MAX_PROBLEMS) -> ProblemList:
    """Return the first ``limit`` issues as :class:`Problem` objects, counting them all.

    Examples
    --------
    >>> issues = pl.DataFrame({"_row": [3, 4], "field": ["ts", "ts"], "message": ["bad", "bad"]})
    >>> found = problem_list(issues, "a.csv", limit=1)
    >>> [str(p) for p in found], found.total
    (["a.csv row 3, field 'ts': bad"], 2)
    """
    currencies: dict[str, int] = {}
    if issues.height:
        codes = issues["message"].str.extract(_CURRENCY_PROBLEM, 1).str.to_uppercase()
        counted = codes.drop_nulls().value_counts(name="n")
        currencies = {str(code): int(n) for code, n in counted.iter_rows()}
    return ProblemList(
        [
            Problem(file=file, row=row, field=field, message=message)
            for row, field, message in issues.head(max(limit, 0)).iter_rows()
        ],
        total=issues.height,
        currencies=currencies,
    )


def row_reasons(issues: pl.DataFrame) -> pl.DataFrame:
    """Return ``_row`` and ``_reason`` (every issue of the row, ``"; "``-joined) per bad row.

    Examples
    --------
    >>> issues = pl.DataFrame({"_row": [3, 3], "field": ["ts", "stage"], "message": ["bad", "x"]})
    >>> row_reasons(issues).rows()
    [(3, 'ts: bad; stage: x')]
    """
    return issues.group_by("_row", maintain_order=True).agg(
        pl.format("{}: {}", "field", "message").str.join("; ").alias("_reason")
    )
