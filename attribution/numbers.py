"""One number style for every table people read: terminal, HTML report and dashboard.

Each column has a **kind**, read from its name (and its type, to tell a
count from attributed conversions), and each kind one format:

============  ==========================================  ==============
kind          columns                                      shown as
============  ==========================================  ==============
``rate``      ``*_rate``, ``ctr``, ``roi``, ``*share*``,   ``12.3%``
              abandonment (fractions: 0.123)
``percent``   ``*_pct`` (already in points: 12.3)          ``12.3%``
``ratio``     ``roas``, ``mroas`` and their intervals      ``2.35``
``money``     revenue, spend, value, pipeline, CPA, CPL,   ``$1,234.50``
              CPC, CPM, CAC, LTV, ``cost_per_*``, budgets,
              ``change`` (of money: ``revenue_change``),
              ``recommended_*`` (a plan's spend)
``conversions`` attributed conversions (a float)          ``134.0``
``count``     integers; journeys, persons, touches, leads  ``1,234``
``days``      ``*days*``, lags                             ``3.5``
``number``    any other number                             ``1,234.57``
``text``      everything else                              as is
============  ==========================================  ==============

Names are split into words on ``_`` and spaces (``"mROAS now"`` is a
ratio). A missing number is ``—`` (:data:`attribution.export.NULL_MARK`) in every
kind. Machine-readable outputs (CSV, JSON, Parquet) keep raw numbers: the
style is for people only. Money takes the currency's symbol where it has a
well-known one, else its ISO 4217 code (``1,234.50 BRL``), and the
currency's minor units (no decimals for JPY or KRW).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

NULL_MARK = "—"
"""A missing number, in every kind (the same mark as :mod:`attribution.export`)."""

RATE_WORDS = frozenset({"rate", "ctr", "roi", "share", "abandonment", "percent"})
PERCENT_WORDS = frozenset({"pct"})
RATIO_WORDS = frozenset({"roas", "mroas"})
MONEY_WORDS = frozenset(
    {
        "revenue",
        "spend",
        "value",
        "pipeline",
        "cpa",
        "cpl",
        "cpc",
        "cpm",
        "cac",
        "cost",
        "costs",
        "budget",
        "aov",
        "amount",
        "ltv",
        "change",
        "recommended",
    }
)
DAY_WORDS = frozenset({"days", "day", "lag"})
COUNT_WORDS = frozenset(
    {"journeys", "persons", "users", "touches", "leads", "customers", "visitors", "orders",
     "impressions", "clicks", "steps", "sessions"}
)  # fmt: skip
"""Last words of whole counts, integers even when a frame holds them as floats."""

SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "BRL": "R$",
    "KRW": "₩",
    "CAD": "CA$",
    "AUD": "A$",
    "CHF": "CHF ",
}
"""Currencies shown with a symbol; any other shows its ISO 4217 code after the amount."""

NO_MINOR_UNITS = frozenset({"JPY", "KRW", "CLP", "ISK", "VND", "HUF"})
"""Currencies whose amounts are shown without decimals (ISO 4217 minor units 0, or by custom)."""


def column_kind(name: str, dtype: pl.DataType | None = None) -> str:
    """Return the kind of column ``name`` (see the module's table).

    Parameters
    ----------
    name
        The column's name (``conversion_rate``, ``markov_revenue_change``).
    dtype
        Its polars type: integers are counts, strings and dates text.

    Examples
    --------
    >>> [column_kind(n) for n in ("conversion_rate", "roas", "cpa", "markov_share")]
    ['rate', 'ratio', 'money', 'rate']
    >>> column_kind("conversions", pl.Float64), column_kind("leads", pl.Int64)
    ('conversions', 'count')
    >>> column_kind("channel", pl.String), column_kind("average_days_to_conversion")
    ('text', 'days')

    A change of money is money; a change already in percent points is
    ``percent``; labels with spaces are read word by word:

    >>> [column_kind(n) for n in ("revenue_change", "change", "change_pct", "max_share_gap")]
    ['money', 'money', 'percent', 'rate']
    >>> column_kind("mROAS now"), column_kind("spend now"), column_kind("ltv")
    ('ratio', 'money', 'money')
    >>> column_kind("recommended_weekly", pl.Float64)  # a budget plan's spend a week
    'money'

    Journeys, persons, touches (and the like) are whole counts even as floats;
    a ratio of them is not:

    >>> column_kind("journeys", pl.Float64), column_kind("orders_per_customer", pl.Float64)
    ('count', 'number')
    """
    if dtype is not None and not dtype.is_numeric():
        return "text"
    ordered = re.split(r"[_\s]+", name.lower())
    words = set(ordered)
    if words & PERCENT_WORDS:
        return "percent"
    if words & RATE_WORDS:
        return "rate"
    if words & RATIO_WORDS:
        return "ratio"
    if words & MONEY_WORDS or name.startswith("cost_per"):
        return "money"
    if (dtype is not None and dtype.is_integer()) or ordered[-1] in COUNT_WORDS:
        return "count"
    if words & DAY_WORDS:
        return "days"
    if words & {"conversions", "conversion"}:
        return "conversions"
    return "number" if dtype is None or dtype.is_numeric() else "text"


def format_number(
    value: Any, kind: str, currency: str | None = None, *, signed: bool = False
) -> str:
    """Return ``value`` written in the style of ``kind``.

    Parameters
    ----------
    value
        A number, or ``None`` / NaN (shown as ``—``).
    kind
        One of the kinds of :func:`column_kind`.
    currency
        ISO 4217 code for ``money`` (``None``: the amount alone; a code
        without a well-known symbol follows the amount).
    signed
        Write ``+`` before a positive amount (a change: ``+$1,200.00``).

    Examples
    --------
    >>> format_number(0.1234, "rate"), format_number(2.3456, "ratio")
    ('12.3%', '2.35')
    >>> format_number(1234.5, "money", "USD"), format_number(1234.5, "money", "BRL")
    ('$1,234.50', 'R$1,234.50')
    >>> format_number(1234.5, "money", "SEK"), format_number(-1234.6, "money", "JPY")
    ('1,234.50 SEK', '-¥1,235')
    >>> format_number(134.0, "conversions"), format_number(1234, "count")
    ('134.0', '1,234')
    >>> format_number(None, "money", "USD"), format_number(float("nan"), "rate")
    ('—', '—')

    A value that rounds to zero is written without a sign; a change can ask for ``+``:

    >>> format_number(-0.0004, "rate"), format_number(-0.001, "money", "USD")
    ('0.0%', '$0.00')
    >>> format_number(1200, "money", "EUR", signed=True), format_number(-3, "percent", signed=True)
    ('+€1,200.00', '-3.0%')
    """
    if value is None or isinstance(value, str):
        return NULL_MARK if value is None else value
    if isinstance(value, float) and not math.isfinite(value):
        return NULL_MARK
    if kind == "text":
        return str(value)
    if kind == "money":
        text = _money(float(value), currency)
    elif kind == "count":
        text = f"{round(value):,}"
    else:
        scale, digits, unit = _STYLES.get(kind, (1, 2, ""))
        shown = value * scale
        text = f"{0.0 if round(shown, digits) == 0 else shown:,.{digits}f}{unit}"
    nonzero = any(digit in text for digit in "123456789")
    return f"+{text}" if signed and nonzero and value > 0 else text


_STYLES = {
    "rate": (100, 1, "%"),
    "percent": (1, 1, "%"),
    "ratio": (1, 2, ""),
    "conversions": (1, 1, ""),
    "days": (1, 1, ""),
}
"""Scale, decimals and unit of the kinds written as a plain number (``number``: 2 decimals)."""


def format_frame(
    frame: pl.DataFrame, currency: str | None = None, kinds: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """Return ``frame`` with every numeric column written as text in its kind's style.

    For tables people read (a terminal, the HTML report); never for CSV,
    JSON or Parquet, which keep raw numbers. ``kinds`` gives the kind of
    columns whose names do not say it (a pivot's columns are channels: their
    kind is the measure's).

    Examples
    --------
    >>> frame = pl.DataFrame({"channel": ["Email"], "revenue": [1234.5],
    ...     "conversion_rate": [0.25], "journeys": [3], "roas": [None]},
    ...     schema_overrides={"roas": pl.Float64})
    >>> format_frame(frame, "EUR").row(0)
    ('Email', '€1,234.50', '25.0%', '3', '—')
    >>> pivot = pl.DataFrame({"period": ["2024-01"], "Email": [10.0]})
    >>> format_frame(pivot, "USD", kinds={"Email": "money"}).row(0)
    ('2024-01', '$10.00')
    """
    columns = []
    given = kinds or {}
    for name, dtype in frame.schema.items():
        kind = given.get(name) or column_kind(name, dtype)
        if kind == "text":
            columns.append(pl.col(name))
            continue
        # Display tables are small (one row per channel, path or period).
        columns.append(
            pl.col(name).map_elements(
                _formatter(kind, currency), return_dtype=pl.String, skip_nulls=False
            )
        )
    return frame.select(columns)


def _formatter(kind: str, currency: str | None) -> Callable[[Any], str]:
    def write(value: Any) -> str:
        return format_number(value, kind, currency)

    return write


def _money(amount: float, currency: str | None) -> str:
    code = (currency or "").upper()
    digits = 0 if code in NO_MINOR_UNITS else 2
    sign = "-" if round(amount, digits) < 0 else ""
    text = f"{abs(amount):,.{digits}f}"
    if not code:
        return sign + text
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {code}"


__all__ = ["NULL_MARK", "column_kind", "format_frame", "format_number"]
