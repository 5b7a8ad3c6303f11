"""Frames and results as files and payloads people and programs read.

- :func:`rfc4180_csv`: RFC 4180 CSV, the one CSV dialect every output uses;
- :func:`neutralise_formulas`: text cells a spreadsheet would run as a
  formula, prefixed with ``'`` (every CSV closedloop writes goes through it);
- :func:`json_ready` and :func:`json_rows`: values and rows as strict JSON
  accepts them (no NaN, no infinity: those become ``null``);
- :func:`text_table`: a frame as the terminal table every command prints,
  numbers in the one style of :mod:`attribution.numbers` (a missing number
  shows as ``—``, as in the HTML report and dashboard).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from attribution.numbers import NULL_MARK, column_kind, format_frame

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)."""

_STARTS_LIKE_FORMULA = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def _neutralised_name(name: str) -> str:
    starts = name[:1] in FORMULA_TRIGGERS
    return f"'{name}" if starts and re.fullmatch(_PLAIN_NUMBER, name) is None else name


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    r"""Return ``frame`` with every text cell a spreadsheet would evaluate prefixed with ``'``.

    A text cell (a ``String``, ``Categorical`` or ``Enum`` column) that starts
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
    to Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)`` in a
    campaign name would run when the CSV is opened (OWASP's "CSV injection").
    Such a cell gets a leading ``'``, which spreadsheets show as text. Two
    kinds of cell are left as they are:

    - numeric columns (integers, floats, decimals), so ``-3.5`` stays a number;
    - text that is a plain number (``-40``, ``+1``, ``-2.5e3``): a spreadsheet
      reads it as that number and evaluates nothing, and a rejects file keeps
      the value the user wrote.

    Column names (the header row) follow the same rule. The work is one
    polars expression per text column; no Python runs per row.

    Parameters
    ----------
    frame
        The rows about to be written as CSV.

    Returns
    -------
    polars.DataFrame
        The same rows; text columns come back as ``String``.

    Examples
    --------
    >>> frame = pl.DataFrame({
    ...     "campaign": ['=HYPERLINK("http://x")', "@SUM(A1)", "-2+3", "-40", "brand", None],
    ...     "revenue": [-3.5, 1.0, 2.0, 3.0, 4.0, 5.0],
    ... })
    >>> neutralise_formulas(frame).to_dicts()[:4]
    [{'campaign': '\'=HYPERLINK("http://x")', 'revenue': -3.5},
     {'campaign': "'@SUM(A1)", 'revenue': 1.0},
     {'campaign': "'-2+3", 'revenue': 2.0},
     {'campaign': '-40', 'revenue': 3.0}]
    >>> neutralise_formulas(frame)["campaign"].to_list()[4:]
    ['brand', None]
    """
    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    cleaned = []
    for name in text:
        cell = pl.col(name).cast(pl.String)
        risky = cell.str.contains(_STARTS_LIKE_FORMULA) & ~cell.str.contains(_PLAIN_NUMBER)
        cleaned.append(pl.when(risky).then(pl.lit("'") + cell).otherwise(cell).alias(name))
    out = frame.with_columns(cleaned) if cleaned else frame
    names = {name: _neutralised_name(name) for name in out.columns}
    return out.rename({old: new for old, new in names.items() if old != new})


def rfc4180_csv(frame: pl.DataFrame) -> str:
    r"""Return ``frame`` as RFC 4180 CSV: a header row, CRLF line ends, quoting where needed.

    Text cells that a spreadsheet would evaluate as a formula are written with
    a leading ``'`` (see :func:`neutralise_formulas`); numbers are written as
    they are.

    Examples
    --------
    >>> rfc4180_csv(pl.DataFrame({"channel": ["Email", "a,b"], "revenue": [1.5, None]}))
    'channel,revenue\r\nEmail,1.5\r\n"a,b",\r\n'
    >>> rfc4180_csv(pl.DataFrame({"channel": ["=1+1"], "revenue": [-2.0]}))
    "channel,revenue\r\n'=1+1,-2.0\r\n"
    """
    return neutralise_formulas(frame).write_csv(line_terminator="\r\n")


def json_ready(value: Any, *, iso_dates: bool = False) -> Any:
    """Return ``value`` with every NaN and infinity replaced by ``None``, for strict JSON.

    A ratio over zero is NaN or infinite in polars; JSON has no such number,
    and closedloop answers ``null`` instead. Dicts (any mapping) and lists are
    cleaned all the way down; other values are returned as they are.

    Parameters
    ----------
    value
        A number, a row (``dict``), a list of rows, or any nesting of those.
    iso_dates
        Also turn dates and datetimes into ISO 8601 strings.

    Returns
    -------
    Any
        The cleaned value: a mapping becomes a ``dict``, a list a new ``list``.

    Examples
    --------
    >>> json_ready({"roas": float("inf"), "roi": float("nan"), "spend": 10.0})
    {'roas': None, 'roi': None, 'spend': 10.0}
    >>> json_ready([1.0, float("-inf"), "x", None])
    [1.0, None, 'x', None]
    >>> json_ready({"date": dt.date(2024, 1, 31)}, iso_dates=True)
    {'date': '2024-01-31'}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_ready(v, iso_dates=iso_dates) for k, v in value.items()}
    if isinstance(value, list):
        return [json_ready(v, iso_dates=iso_dates) for v in value]
    if iso_dates and isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_rows(frame: pl.DataFrame, *, iso_dates: bool = False) -> list[dict[str, Any]]:
    """Return the rows of ``frame`` as JSON-ready dicts (see :func:`json_ready`).

    Examples
    --------
    >>> frame = pl.DataFrame({"channel": ["Email", "Search"], "roas": [float("nan"), 2.5]})
    >>> json_rows(frame)
    [{'channel': 'Email', 'roas': None}, {'channel': 'Search', 'roas': 2.5}]
    """
    return [json_ready(row, iso_dates=iso_dates) for row in frame.to_dicts()]


def text_table(
    frame: pl.DataFrame,
    *,
    currency: str | None = None,
    raw: bool = False,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    text_width: int = 60,
    width: int = 200,
    align: str | None = None,
) -> str:
    """Return ``frame`` as a terminal table, every row and column, numbers in the one style.

    Each numeric column is written in its kind's style
    (:mod:`attribution.numbers`: rates as ``12.3%``, ROAS ``2.35``, money
    with the currency, attributed conversions ``134.0``, counts ``1,234``,
    days ``3.5``) and right-aligned; a missing number shows as ``—``,
    never ``null`` or ``0.00``. A ``TOTAL`` row is a row like any other.

    Parameters
    ----------
    frame
        The rows to show.
    currency
        ISO 4217 code of the money columns (``None``: amounts without one).
    raw
        Show numbers as they are (2 decimals, thousands commas), for frames
        whose columns are not metrics (a listing, a diagnostic dump).
    labels
        Header to show for a column (``{"current_spend": "spend now"}``); the
        style still follows the column's own name.
    kinds
        The kind of columns whose names do not say it (a pivot's channels:
        ``{"Email": "money"}``); see :func:`attribution.numbers.column_kind`.
    text_width
        Longest text shown in a cell before it is cut.
    width
        Widest table, in characters.
    align
        ``"RIGHT"`` to right-align every cell, text included.

    Examples
    --------
    >>> frame = pl.DataFrame({"channel": ["Email", "TOTAL"], "revenue": [1234.5, 20000.0],
    ...     "roas": [2.5, None], "conversion_rate": [0.25, 0.125]})
    >>> print(text_table(frame, currency="USD"))
    ┌─────────┬────────────┬──────┬─────────────────┐
    │ channel ┆    revenue ┆ roas ┆ conversion_rate │
    ╞═════════╪════════════╪══════╪═════════════════╡
    │ Email   ┆  $1,234.50 ┆ 2.50 ┆           25.0% │
    │ TOTAL   ┆ $20,000.00 ┆    — ┆           12.5% │
    └─────────┴────────────┴──────┴─────────────────┘
    >>> print(text_table(frame.head(1).select("channel", "revenue"), raw=True))
    ┌─────────┬──────────┐
    │ channel ┆ revenue  │
    ╞═════════╪══════════╡
    │ Email   ┆ 1,234.50 │
    └─────────┴──────────┘
    """
    names = dict(labels or {})
    if raw:
        shown = frame.rename({k: v for k, v in names.items() if k in frame.columns})
        return _render(shown, text_width=text_width, width=width, align=align)
    given = kinds or {}
    numeric = [
        name
        for name, dtype in frame.schema.items()
        if (given.get(name) or column_kind(name, dtype)) != "text"
    ]
    shown = format_frame(frame, currency, given)
    # Right-align numbers and their headers by padding them to the column's width;
    # text columns stay left-aligned.
    longest = shown.select(pl.col(numeric).str.len_chars().max().fill_null(0)).to_dicts()
    cells = longest[0] if longest else {}
    header = {name: names.get(name, name) for name in frame.columns}
    wide = {name: max(len(header[name]), cells.get(name, 0)) for name in numeric}
    shown = shown.with_columns(pl.col(name).str.pad_start(wide[name]) for name in numeric)
    header.update({name: header[name].rjust(wide[name]) for name in numeric})
    shown = shown.rename({k: v for k, v in header.items() if k != v})
    # Never wrap a cell: a number split over two lines cannot be read.
    return _render(
        shown,
        text_width=text_width,
        width=max(width, _natural_width(shown, text_width)),
        align=align,
    )


def _natural_width(frame: pl.DataFrame, text_width: int) -> int:
    """Return the characters a rendered table needs so that polars wraps no cell."""
    cells = frame.select(
        pl.col(name).cast(pl.String).fill_null("null").str.len_chars().max().fill_null(0)
        for name in frame.columns
    ).to_dicts()
    longest: dict[str, int] = cells[0] if cells else {}
    return 1 + sum(
        max(len(name), min(longest.get(name, 0), text_width + 1)) + 3 for name in frame.columns
    )


def _render(frame: pl.DataFrame, *, text_width: int, width: int, align: str | None) -> str:
    options: dict[str, Any] = {}
    if align is not None:
        options["tbl_cell_alignment"] = align
    with pl.Config(
        thousands_separator=",",
        float_precision=2,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_width_chars=width,
        fmt_str_lengths=text_width,
        **options,
    ):
        return _dash_nulls(str(frame), frame, right=align == "RIGHT")


def _dash_nulls(table: str, frame: pl.DataFrame, *, right: bool = False) -> str:
    """Show polars' ``null`` as :data:`NULL_MARK` in the numeric columns of a rendered table."""
    numeric = {i for i, dtype in enumerate(frame.dtypes) if dtype.is_numeric()}
    if not numeric or not any(frame[frame.columns[i]].null_count() for i in numeric):
        return table
    lines = []
    for line in table.splitlines():
        cells = line.split("┆")
        if len(cells) == frame.width:
            for i in numeric:
                cell = cells[i]
                if cell.strip(" │") == "null":
                    mark = NULL_MARK.rjust(4) if right else NULL_MARK.ljust(4)
                    cells[i] = cell.replace("null", mark)
            line = "┆".join(cells)
        lines.append(line)
    return "\n".join(lines)


__all__ = [
    "FORMULA_TRIGGERS",
    "NULL_MARK",
    "json_ready",
    "json_rows",
    "neutralise_formulas",
    "rfc4180_csv",
    "text_table",
]
