"""Frames and results as files and payloads people and programs read.

- :func:`rfc4180_csv`: RFC 4180 CSV, the one CSV dialect every output uses;
- :func:`json_ready` and :func:`json_rows`: values and rows as strict JSON
  accepts them (no NaN, no infinity: those become ``null``);
- :func:`text_table`: a frame as the terminal table every command prints.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import polars as pl


def rfc4180_csv(frame: pl.DataFrame) -> str:
    r"""Return ``frame`` as RFC 4180 CSV: a header row, CRLF line ends, quoting where needed.

    Examples
    --------
    >>> rfc4180_csv(pl.DataFrame({"channel": ["Email", "a,b"], "revenue": [1.5, None]}))
    'channel,revenue\r\nEmail,1.5\r\n"a,b",\r\n'
    """
    return frame.write_csv(line_terminator="\r\n")


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
    frame: pl.DataFrame, *, text_width: int = 60, width: int = 200, align: str | None = None
) -> str:
    """Return ``frame`` as a terminal table: every row and column, 2 decimals, thousands commas.

    Parameters
    ----------
    frame
        The rows to show.
    text_width
        Longest text shown in a cell before it is cut.
    width
        Widest table, in characters.
    align
        ``"RIGHT"`` to right-align every cell (text cells already formatted).

    Examples
    --------
    >>> print(text_table(pl.DataFrame({"channel": ["Email"], "revenue": [1234.5]})))
    ┌─────────┬──────────┐
    │ channel ┆ revenue  │
    ╞═════════╪══════════╡
    │ Email   ┆ 1,234.50 │
    └─────────┴──────────┘
    """
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
        return str(frame)


__all__ = ["json_ready", "json_rows", "rfc4180_csv", "text_table"]
