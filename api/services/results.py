"""Finished answers that know how to become JSON, CSV, Parquet and a terminal table.

A :class:`Result` holds its rows as one polars frame (``data``) and the rest
of the answer as JSON-ready ``members``. Rows become Python objects only
for the page asked for (:meth:`Result.to_dict` with ``offset``/``limit``);
CSV and Parquet are written from the frame. Each service returns one; the
HTTP routes, the CLI commands and the HTML report only format it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.export import json_rows as export_rows


def json_value(value: Any) -> Any:
    """Return ``value`` as JSON carries it: non-finite floats ``None``, dates ISO text.

    Examples
    --------
    >>> import datetime as dt
    >>> json_value(float("nan")), json_value(dt.date(2024, 1, 2)), json_value([1.0, float("inf")])
    (None, '2024-01-02', [1.0, None])
    """
    return json_ready(value, iso_dates=True)


def json_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Return the frame's rows as JSON-ready dicts (see :func:`json_value`).

    Examples
    --------
    >>> import datetime as dt
    >>> json_rows(pl.DataFrame({"a": [1.0, float("nan")], "d": [dt.date(2024, 1, 1), None]}))
    [{'a': 1.0, 'd': '2024-01-01'}, {'a': None, 'd': None}]
    """
    return export_rows(frame, iso_dates=True)


def _default_table(result: Result) -> str:
    return text_table(result.data, currency=result.members.get("currency"))


@dataclass(frozen=True)
class Result:
    """One answer: JSON-ready ``members`` plus the ``data`` rows.

    Parameters
    ----------
    name
        A short name for files (``attribution-linear`` → ``attribution-linear.csv``).
    members
        Everything of the JSON answer but ``data``, already JSON-ready.
    data
        The rows.
    table
        Renders the whole result for a terminal; a plain table of ``data`` when absent.
    notes
        Lines a terminal shows under the table (what identity stitching did ...).

    Examples
    --------
    >>> result = Result("demo", {"by": "channel"}, pl.DataFrame({"channel": ["A", "B"]}))
    >>> result.to_dict(offset=1)
    {'by': 'channel', 'data': [{'channel': 'B'}]}
    >>> print(result.to_csv().replace(chr(13), ""))
    channel
    A
    B
    <BLANKLINE>
    >>> pl.read_parquet(result.to_parquet()).height
    2
    """

    name: str
    members: Mapping[str, Any]
    data: pl.DataFrame
    table: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    notes: tuple[str, ...] = ()
    data_key: str = "data"
    """The JSON member the rows go to."""
    json_data: list[Any] | None = field(default=None, compare=False, repr=False)
    """Rows as JSON when they nest (budget curves' points); ``data`` then feeds CSV only."""
    csv: Callable[[], str] | None = field(default=None, compare=False, repr=False)
    """Writes the whole CSV when it is more than the rows (the funnel's TOTAL row).

    It must write through :func:`attribution.export.rfc4180_csv`, which neutralises formulas.
    """

    @property
    def total_rows(self) -> int:
        """Return how many rows ``data`` has (all pages together).

        Examples
        --------
        >>> Result("x", {}, pl.DataFrame({"a": [1, 2]})).total_rows
        2
        """
        return len(self.json_data) if self.json_data is not None else self.data.height

    def rows(self, offset: int = 0, limit: int | None = None) -> pl.DataFrame:
        """Return the frame of one page of rows.

        Examples
        --------
        >>> Result("x", {}, pl.DataFrame({"a": [1, 2, 3]})).rows(1, 1)["a"].to_list()
        [2]
        """
        return self.data.slice(offset, limit)

    def to_dict(self, offset: int = 0, limit: int | None = None) -> dict[str, Any]:
        """Return the JSON answer, with the rows of one page (all rows by default).

        Examples
        --------
        >>> Result("x", {"n": 1}, pl.DataFrame({"a": [1.5]})).to_dict()
        {'n': 1, 'data': [{'a': 1.5}]}
        """
        if self.json_data is not None:
            end = None if limit is None else offset + limit
            return {**self.members, self.data_key: self.json_data[offset:end]}
        return {**self.members, self.data_key: json_rows(self.rows(offset, limit))}

    def to_csv(self, offset: int = 0, limit: int | None = None) -> str:
        r"""Return RFC 4180 CSV of the rows of one page (all rows by default).

        A text cell a spreadsheet would run as a formula (``=...``, ``+...``,
        ``-...``, ``@...``) is written with a leading ``'``; numbers are
        written as they are (:func:`attribution.export.neutralise_formulas`).

        Examples
        --------
        >>> Result("x", {}, pl.DataFrame({"a": [1]})).to_csv()
        'a\r\n1\r\n'
        >>> Result("x", {}, pl.DataFrame({"c": ["@SUM(A1)"], "n": [-1]})).to_csv()
        "c,n\r\n'@SUM(A1),-1\r\n"
        """
        if self.csv is not None and offset == 0 and limit is None:
            return self.csv()
        return rfc4180_csv(self.rows(offset, limit))

    def to_parquet(self) -> bytes:
        """Return every row as a Parquet file's bytes.

        Examples
        --------
        >>> Result("x", {}, pl.DataFrame({"a": [1]})).to_parquet()[:4]
        b'PAR1'
        """
        buffer = io.BytesIO()
        self.data.write_parquet(buffer)
        return buffer.getvalue()

    def to_table(self) -> str:
        """Return the result as a human-readable table, with its notes underneath.

        Examples
        --------
        >>> print(Result("x", {}, pl.DataFrame({"a": [1]}), notes=("note: hi",)).to_table())
        ┌───┐
        │ a │
        ╞═══╡
        │ 1 │
        └───┘
        note: hi
        """
        text = self.table() if self.table is not None else _default_table(self)
        return "\n".join([text, *self.notes])

    def renamed(self, name: str) -> Result:
        """Return the result under another file name.

        Examples
        --------
        >>> Result("x", {}, pl.DataFrame()).renamed("funnel-owner").name
        'funnel-owner'
        """
        return replace(self, name=name)

    def with_notes(self, *notes: str) -> Result:
        """Return the result with more notes under its table.

        Examples
        --------
        >>> Result("x", {}, pl.DataFrame()).with_notes("a", "b").notes
        ('a', 'b')
        """
        return replace(self, notes=(*self.notes, *notes))


def report_result(
    name: str,
    report: Any,
    *,
    extra: Mapping[str, Any] | None = None,
    table: Callable[[], str] | None = None,
    notes: tuple[str, ...] = (),
    csv: Callable[[], str] | None = None,
) -> Result:
    """Wrap a report dataclass with a ``data`` frame and a ``to_dict()`` as a :class:`Result`.

    The members are the report's ``to_dict()`` computed on no rows (so rows
    are never turned into Python objects here), plus ``extra``.

    Examples
    --------
    >>> from attribution.report import _tiny_example
    >>> from attribution import attribute
    >>> report = attribute(*_tiny_example(), model="linear")
    >>> result = report_result("attribution-linear", report)
    >>> result.to_dict()["data"] == report.to_dict()["data"]
    True
    >>> result.members["totals"]["revenue"]
    100.0
    """
    members = replace(report, data=report.data.clear()).to_dict()
    members.pop("data", None)
    if extra:
        members.update(extra)
    return Result(
        name=name,
        members=json_value(members),
        data=report.data,
        table=table if table is not None else getattr(report, "to_table", None),
        notes=notes,
        csv=csv,
    )


__all__ = ["Result", "json_rows", "json_value", "report_result"]
