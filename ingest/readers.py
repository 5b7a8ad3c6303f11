r"""Read the files users have into polars frames, one reader per format.

``READERS`` maps a format name to a function that reads bytes or a path into a
frame; :func:`detect_format` picks the format from the file name and
:func:`read_table` ties the two together. To support a new format, add one
reader function and one line to ``READERS`` (and its suffixes to
``_SUFFIXES``).

:func:`scan_table` reads a file in batches of rows instead, so a large file
never sits in memory whole: CSV, TSV and Parquet are streamed; gzipped files
and JSON are read whole and then handed out in batches.

CSV and TSV are read with every column as ``String`` so that validation sees
the text exactly as the user wrote it and can quote it back in a message.
JSON and Parquet keep their native types. A ``.gz`` suffix on any format is
decompressed first.

Before polars parses a CSV or TSV file, its raw bytes are scanned, in
chunks and with C-speed ``bytes`` methods and numpy (no Python loop per row):

- bytes that are not UTF-8 (a Latin-1 or Windows-1252 export), and a NUL
  byte in the header (a UTF-16 file, or no text at all), are an
  :class:`InputError` naming the data row (1 = the line under the header)
  and the byte offset. A NUL byte in a data row is read, and rejected with
  its row and field by validation like every other control character (see
  :mod:`ingest.validate`), whatever the format the value came in;
- lines may end with ``\n``, ``\r\n`` or a lone ``\r`` (old Mac
  spreadsheets), even mixed in one file. A file with a lone ``\r`` is read
  whole into memory with its line ends made ``\n`` first (so a lone ``\r``
  inside a quoted value becomes ``\n`` too);
- every row must have as many fields as the header (:func:`_check_records`):
  a row with more (an unquoted value holding the separator) or fewer (a
  truncated line, a blank line) is an :class:`InputError` naming the row, its
  lines and both counts. Missing fields are never filled with nulls, nor
  extra ones dropped: either would silently shift or lose values;
- a quoted value whose closing quote never comes (which would swallow the
  rest of the file) is an :class:`InputError` naming the row and the byte
  where its quote opens;
- a header that names a column twice, and a header without any data row,
  are :class:`InputError` s naming the file.

Quoted values may span lines (multi-line notes of a CRM export): rows are
counted as polars reads them, a line break inside quotes does not end one.
A row is what lies between two line ends outside quotes, and a field what
lies between two separators outside quotes; a ``"`` opens or closes quotes
wherever it is, as polars assumes when it splits a file to read it in
parallel.

:func:`read_table` and :func:`scan_table` make the same checks and raise the
same errors. Parquet and JSON files need none of them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from attribution.errors import InputError, ParameterError, UnsupportedFormatError

__all__ = [
    "DELIMITERS",
    "READERS",
    "SUPPORTED_SUFFIXES",
    "TableBatches",
    "detect_format",
    "read_path_table",
    "read_table",
    "scan_table",
    "sniff_delimiter",
]

Source = Path | io.BytesIO
Reader = Callable[[Source], pl.DataFrame]


DELIMITERS = (",", ";", "\t", "|")
"""Field delimiters :func:`sniff_delimiter` recognises, in order of preference on ties."""


def sniff_delimiter(header: str) -> str:
    """Return the field delimiter a CSV header line uses: the most frequent of :data:`DELIMITERS`.

    Spreadsheet exports in many locales use ``;`` (the decimal separator being
    ``,``); ChannelAttribution's example data does too.

    Examples
    --------
    >>> sniff_delimiter("path;total_conversions;total_conversion_value;total_null")
    ';'
    >>> sniff_delimiter("path,total_conversions")
    ','
    >>> sniff_delimiter("path")
    ','
    """
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _first_line(source: Source) -> str:
    r"""Return the header line, without its line end (``\n``, ``\r\n`` or a lone ``\r``)."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            raw = handle.readline()
    else:
        source.seek(0)
        raw = source.readline()
        source.seek(0)
    raw = raw.split(b"\r", 1)[0].rstrip(b"\n")
    return raw.decode("utf-8-sig", errors="replace")


_SCAN_BYTES = 1 << 22
"""Bytes of a CSV file scanned at a time by :func:`_scan_bytes`."""


def _byte_chunks(source: Source, stop: int | None = None) -> Iterator[bytes]:
    """Yield the raw bytes of ``source`` (up to offset ``stop``), ``_SCAN_BYTES`` at a time."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            done = 0
            while stop is None or done < stop:
                size = _SCAN_BYTES if stop is None else min(_SCAN_BYTES, stop - done)
                chunk = handle.read(size)
                if not chunk:
                    return
                done += len(chunk)
                yield chunk
    else:
        with source.getbuffer() as view:
            end = len(view) if stop is None else min(stop, len(view))
            for start in range(0, end, _SCAN_BYTES):
                yield bytes(view[start : min(start + _SCAN_BYTES, end)])


def _line_of(source: Source, offset: int) -> int:
    r"""0-based line of the byte at ``offset``: line ends before it (``\n``, ``\r\n``, ``\r``)."""
    lines = 0
    carried_cr = False
    for chunk in _byte_chunks(source, offset):
        if carried_cr and chunk.startswith(b"\n"):
            lines -= 1  # a \r\n split between chunks was counted twice
        lines += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        carried_cr = chunk.endswith(b"\r")
    return lines


def _where(source: Source, offset: int) -> str:
    """Where the byte at ``offset`` is, as a message says it: the header or a data row."""
    line = _line_of(source, offset)
    if line == 0:
        return "the header"
    return f"row {line:,} (line {line + 1:,} of the file)"


def _scan_bytes(source: Source, file: str) -> bool:
    r"""Check the raw bytes of a CSV file; return whether some line ends with a lone ``\r``.

    Raises
    ------
    InputError
        At the first byte that is not UTF-8, or a NUL byte of the header, naming its row.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    lone_cr = carried_cr = False
    bad: tuple[int, str] | None = None
    in_header = True
    for chunk in _byte_chunks(source):
        # Only the header is searched: a NUL in a value is a row problem (see the docstring).
        nul = -1
        if in_header:
            ends = [at for at in (chunk.find(b"\n"), chunk.find(b"\r")) if at >= 0]
            stop = min(ends, default=len(chunk))
            nul = chunk.find(b"\x00", 0, stop)
            in_header = stop == len(chunk)
        pending = decoder.getstate()[0]
        if pending or not chunk.isascii():
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = offset - len(pending) + exc.start
                bad = (at, "utf-8") if nul < 0 or at < offset + nul else (offset + nul, "nul")
                break
        if nul >= 0:
            bad = (offset + nul, "nul")
            break
        if not lone_cr:
            crs = chunk.count(b"\r")  # counting "\r\n" costs more: only when there is a "\r"
            lone = crs and crs - chunk.count(b"\r\n") - (1 if chunk.endswith(b"\r") else 0)
            lone_cr = lone > 0 or (carried_cr and not chunk.startswith(b"\n"))
            carried_cr = chunk.endswith(b"\r")
        offset += len(chunk)
    if bad is None:
        pending = decoder.getstate()[0]
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            bad = (offset - len(pending) + exc.start, "utf-8")
    if bad is not None:
        at, kind = bad
        where = _where(source, at)
        if kind == "nul":
            raise InputError(
                f"Cannot read '{file}': {where} holds a NUL byte (\\x00, at byte {at:,}). "
                "A CSV file must be text: remove it, or re-save the file as UTF-8 "
                "(it may be UTF-16, or not a CSV file at all)."
            )
        raise InputError(
            f"Cannot read '{file}': {where} is not valid UTF-8 (byte "
            f"0x{_byte_at(source, at):02X} at byte {at:,}). Re-save the file as UTF-8 "
            "(it may be Latin-1, Windows-1252 or UTF-16)."
        )
    return lone_cr or carried_cr


def _byte_at(source: Source, offset: int) -> int:
    """Return the byte at ``offset`` of ``source``."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            handle.seek(offset)
            return handle.read(1)[0]
    return source.getbuffer()[offset]


def _normal_line_ends(data: bytes) -> bytes:
    r"""Return ``data`` with every ``\r\n`` and lone ``\r`` made ``\n``.

    Examples
    --------
    >>> _normal_line_ends(b"a,b\r1,2\r\n3,4\n5,6\r")
    b'a,b\n1,2\n3,4\n5,6\n'
    """
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


_SHOWN_ROWS = 5
"""Rows a message about rows of the wrong width names (it counts the others)."""
_QUOTE = ord('"')
_LINE_END = ord("\n")


def _fields(count: int) -> str:
    return f"{count:,} field{'' if count == 1 else 's'}"


def _lines(source: Source, row: int, start: int, end: int) -> str:
    """Where a row is, as a message says it: ``row 3 (line 4 of the file)``.

    ``start`` is the offset of its first byte, ``end`` that of its line end
    (or of the end of the file).
    """
    if row == 0:
        return "the header"
    first, last = _line_of(source, start) + 1, _line_of(source, max(start, end - 1)) + 1
    if first == last:
        return f"row {row:,} (line {first:,} of the file)"
    return f"row {row:,} (lines {first:,} to {last:,} of the file)"


def _check_records(source: Source, file: str, separator: str) -> None:
    r"""Check that every row has the header's number of fields and that every quote closes.

    ``source`` ends its lines with ``\n`` or ``\r\n``. Each chunk of bytes
    is looked at with numpy, not row by row: the separators and line ends
    outside quotes are those after an even number of ``"`` (a ``""`` inside
    a quoted value counts twice), a row's fields are its separators plus one.

    Raises
    ------
    InputError
        For the first row whose number of fields is not the header's (a
        blank line has one field), naming it, its lines and both counts, and
        counting the others; or for a quote that never closes, naming the
        row and the byte where it opens.

    Examples
    --------
    >>> _check_records(io.BytesIO(b'a,b\n1,"x,\ny"\n2,3\n'), "ok.csv", ",")
    >>> _check_records(io.BytesIO(b"a,b\n1,2,3\n"), "ragged.csv", ",")
    Traceback (most recent call last):
    ...
    attribution.errors.InputError: Cannot read 'ragged.csv': row 1 (line 2 of the file) has
    3 fields, but the header has 2. Quote a value that holds the separator ','
    ("a,b"), or remove the extra fields.
    """
    sep = separator.encode()
    if len(sep) != 1 or sep in b'"\r\n':
        return  # polars refuses such a separator itself
    parity = 0  # 1 when the chunk starts inside quotes
    offset = 0  # of the chunk
    start = 0  # offset of the row being read
    open_seps = 0  # separators of that row in earlier chunks
    rows = 0  # rows ended so far, the header included
    width = 0  # fields of the header
    found: list[tuple[int, int, int, int]] = []  # row, start, end, fields of the first bad rows
    wrong = 0
    opened = 0  # offset of the last quote that opened a quoted value
    for chunk in _byte_chunks(source):
        data = np.frombuffer(chunk, dtype=np.uint8)
        quoted = bool(parity) or b'"' in chunk
        marks = (data == sep[0]) | (data == _LINE_END)
        if quoted:
            marks |= data == _QUOTE
        at = np.flatnonzero(marks)  # separators, line ends (and quotes), in order
        kind = data[at]
        if quoted:
            quote = kind == _QUOTE
            after = np.bitwise_xor.accumulate(quote.view(np.uint8))  # quotes so far, mod 2
            outside = ~quote & (after == parity)
            if after.size:
                parity ^= int(after[-1])
                if parity and b'"' in chunk:  # ends inside quotes: its last quote opened them
                    opened = offset + chunk.rfind(b'"')
            at, kind = at[outside], kind[outside]
        index = np.flatnonzero(kind == _LINE_END)  # of the line ends among the marks
        ends = at[index]
        if ends.size:
            fields = np.diff(index, prepend=-1)  # the separators before each line end, plus one
            fields[0] += open_seps
            if rows == 0:
                width = int(fields[0])
            bad = fields != width
            count = int(np.count_nonzero(bad))
            wrong += count
            for i in np.flatnonzero(bad)[: _SHOWN_ROWS - len(found)].tolist():
                begin = start if i == 0 else offset + int(ends[i - 1]) + 1
                found.append((rows + i, begin, offset + int(ends[i]), int(fields[i])))
            rows += int(ends.size)
            start = offset + int(ends[-1]) + 1
            open_seps = int(at.size - 1 - index[-1])
        else:
            open_seps += int(at.size)
        offset += len(chunk)
    if not parity and start < offset:  # the last row has no line end
        if rows == 0:
            width = open_seps + 1
        elif open_seps + 1 != width:
            wrong += 1
            if len(found) < _SHOWN_ROWS:
                found.append((rows, start, offset, open_seps + 1))
    if found:
        row, begin, end, count = found[0]
        where = _lines(source, row, begin, end)
        if count == 1 and (end == begin or (end == begin + 1 and _byte_at(source, begin) == 13)):
            message = f"{where} is blank, but the header has {_fields(width)}. Remove the line."
        elif count > width:
            shown = "(a tab)" if separator == "\t" else f"'{separator}' (\"a{separator}b\")"
            message = (
                f"{where} has {_fields(count)}, but the header has {width:,}. Quote a value "
                f"that holds the separator {shown}, or remove the extra fields."
            )
        else:
            message = (
                f"{where} has {_fields(count)}, but the header has {width:,}. Give every row "
                "all its fields, empty ones too: missing fields are not filled in."
            )
        if "lines" in where:
            message += " A quoted value spans its lines: check that each quote closes."
        if wrong > 1:
            others = ", ".join(f"row {r:,} has {_fields(n)}" for r, _, _, n in found[1:])
            more = wrong - len(found)
            message += f" Other rows without {_fields(width)}: {others}"
            message += f" and {more:,} more." if more else "."
        raise InputError(f"Cannot read '{file}': {message}")
    if parity:
        where = _lines(source, rows, opened, opened + 1)
        raise InputError(
            f"Cannot read '{file}': a quoted value opens in {where}, at byte {opened:,}, "
            "and never closes, so the rest of the file would be read as that one value. "
            'Close the quote, or write a quote inside a value as two ("").'
        )


def _header_names(header: str, separator: str) -> list[str]:
    """Return the column names of a header line, as the csv module parses it."""
    return next(csv.reader([header], delimiter=separator), [])


def _separator(source: Source, name: str) -> str:
    return "\t" if name == "tsv" else sniff_delimiter(_first_line(source))


def _checked_csv(source: Source, file: str, name: str, separator: str | None = None) -> Source:
    r"""Check a CSV/TSV file's bytes and header before polars reads it (see the module docstring).

    Returns ``source``, or its bytes with normal line ends when a line ends
    with a lone ``\r``.

    Raises
    ------
    InputError
        For bytes that are not UTF-8, a NUL byte in the header, a column
        named twice, a row with more or fewer fields than the header, or a
        quote that never closes.
    """
    if _scan_bytes(source, file):
        data = source.read_bytes() if isinstance(source, Path) else source.getvalue()
        source = io.BytesIO(_normal_line_ends(data))
    sep = separator or _separator(source, name)
    counts = Counter(n for n in _header_names(_first_line(source), sep) if n != "")
    repeated = sorted(n for n, count in counts.items() if count > 1)
    if repeated:
        raise InputError(
            f"Cannot read '{file}': the header names column(s) "
            f"{', '.join(repr(n) for n in repeated)} more than once. "
            "Give every column its own name."
        )
    _check_records(source, file, sep)
    return source


def _require_rows(rows: int, file: str) -> None:
    """Raise if a CSV/TSV file read has no data row under its header."""
    if rows == 0:
        raise InputError(
            f"Cannot read '{file}': it has a header but no data rows. "
            "Export the rows too, or leave the file out."
        )


def _read_csv(source: Source) -> pl.DataFrame:
    return pl.read_csv(source, infer_schema=False, separator=sniff_delimiter(_first_line(source)))


def _read_tsv(source: Source) -> pl.DataFrame:
    return pl.read_csv(source, infer_schema=False, separator="\t")


def _read_parquet(source: Source) -> pl.DataFrame:
    return pl.read_parquet(source)


def _read_ndjson(source: Source) -> pl.DataFrame:
    return pl.read_ndjson(source, infer_schema_length=None)


def _read_json(source: Source) -> pl.DataFrame:
    """Read a JSON array of records, or NDJSON saved under a ``.json`` name."""
    data = source.read_bytes() if isinstance(source, Path) else source.getvalue()
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{":
        return pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
    if head != b"[":
        raise ValueError("expected a JSON array of records or one JSON object per line")
    return pl.read_json(io.BytesIO(data), infer_schema_length=None)


READERS: dict[str, Reader] = {
    "csv": _read_csv,
    "json": _read_json,
    "ndjson": _read_ndjson,
    "parquet": _read_parquet,
    "tsv": _read_tsv,
}
"""Reader function by format name."""

_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}
_FORMAT_ALIASES = {"jsonl": "ndjson"}
_TEXT_FORMATS = ("csv", "tsv")
"""Formats whose bytes and header are checked (:func:`_checked_csv`) before polars reads them."""

SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(
    sorted([*_SUFFIXES, *(s + ".gz" for s in _SUFFIXES if s != ".parquet")])
)
"""Every file name ending :func:`detect_format` recognises."""


def _split_suffix(path: Path) -> tuple[str, bool]:
    """Return the format suffix (lower case) and whether the file is gzipped."""
    suffixes = [s.lower() for s in path.suffixes]
    gzipped = bool(suffixes) and suffixes[-1] == ".gz"
    if gzipped:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), gzipped


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """Return the format name (a key of ``READERS``) of a file.

    Parameters
    ----------
    path
        The file; only its name is looked at. A trailing ``.gz`` is ignored
        (the file is decompressed when read).
    fmt
        Force this format instead of the one the suffix says: one of
        ``csv``, ``tsv``, ``parquet``, ``ndjson`` (or ``jsonl``), ``json``.

    Returns
    -------
    str
        ``"csv"``, ``"tsv"``, ``"parquet"``, ``"ndjson"`` or ``"json"``.

    Raises
    ------
    UnsupportedFormatError
        When the suffix, or ``fmt``, is not one closedloop reads.

    Examples
    --------
    >>> detect_format("events.jsonl.gz")
    'ndjson'
    >>> detect_format("costs.txt", fmt="csv")
    'csv'
    >>> detect_format("costs.xlsx")
    Traceback (most recent call last):
    ...
    attribution.errors.UnsupportedFormatError: Cannot read 'costs.xlsx':
    unsupported file type '.xlsx'. Supported: .csv, ...
    """
    path = Path(path)
    if fmt is not None:
        name = _FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if name not in READERS:
            raise UnsupportedFormatError(
                f"Cannot read '{path.name}': unknown format '{fmt}'. "
                f"Supported: {', '.join(sorted([*READERS, *_FORMAT_ALIASES]))}."
            )
        return name
    suffix, gzipped = _split_suffix(path)
    found = _SUFFIXES.get(suffix)
    if found is None or (gzipped and found == "parquet"):
        shown = suffix + (".gz" if gzipped else "") or "(none)"
        raise UnsupportedFormatError(
            f"Cannot read '{path.name}': unsupported file type '{shown}'. "
            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}."
        )
    return found


def read_table(path: str | Path, fmt: str | None = None) -> pl.DataFrame:
    r"""Read one file into a polars frame.

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv``, ``.parquet``, ``.ndjson``/``.jsonl`` or
        ``.json`` file, optionally gzipped (``.csv.gz`` ...). A ``.json`` file
        holds either a JSON array of records or one object per line.
    fmt
        Override the format the suffix implies (see :func:`detect_format`).

    Returns
    -------
    polars.DataFrame
        CSV/TSV: every column ``String``, exactly as written (empty cells are
        null). JSON and Parquet: native types. A UTF-8 byte-order mark is
        removed from the first column name.

    Raises
    ------
    UnsupportedFormatError
        When the format is not supported.
    InputError
        When the file is missing, empty or malformed; the message names it.
        For CSV and TSV also: a NUL byte or bytes that are not UTF-8 (naming
        the row), a column named twice, or a header without data rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "costs.csv").write_text("date,channel,spend\n2024-03-01,Email,12.50\n")
    >>> read_table(folder / "costs.csv")
    shape: (1, 3)
    ┌────────────┬─────────┬───────┐
    │ date       ┆ channel ┆ spend │
    │ ---        ┆ ---     ┆ ---   │
    │ str        ┆ str     ┆ str   │
    ╞════════════╪═════════╪═══════╡
    │ 2024-03-01 ┆ Email   ┆ 12.50 │
    └────────────┴─────────┴───────┘
    """
    path = Path(path)
    name = detect_format(path, fmt)
    _, gzipped = _split_suffix(path)
    with _reading(path, name):
        if gzipped:
            with gzip.open(path, "rb") as handle:
                source: Source = io.BytesIO(handle.read())
        else:
            source = path
        if name in _TEXT_FORMATS:
            source = _checked_csv(source, path.name, name)
        frame = READERS[name](source)
    if name in _TEXT_FORMATS:
        _require_rows(frame.height, path.name)
    return _without_bom(frame)


def _without_bom(frame: pl.DataFrame) -> pl.DataFrame:
    """Remove a UTF-8 byte-order mark from the first column name."""
    if frame.width and frame.columns[0].startswith("\ufeff"):
        frame = frame.rename({frame.columns[0]: frame.columns[0].lstrip("\ufeff")})
    return frame


@contextmanager
def _reading(path: Path, name: str) -> Iterator[None]:
    """Turn the errors of reading ``path`` as format ``name`` into :class:`InputError` naming it."""
    file = path.name
    try:
        yield
    except InputError:
        raise  # already names the file
    except pl.exceptions.PanicException as exc:  # a polars bug on odd input: still the file's fault
        reason = (str(exc).strip().splitlines() or ["a reader error"])[0]
        raise InputError(f"Cannot read '{file}' as {name}: malformed file ({reason}).") from exc
    except FileNotFoundError:
        raise InputError(f"Cannot read '{file}': no such file ({path}).") from None
    except IsADirectoryError:
        raise InputError(f"Cannot read '{file}': it is a directory, not a file.") from None
    except pl.exceptions.NoDataError:
        raise InputError(f"Cannot read '{file}': the file is empty.") from None
    except (pl.exceptions.PolarsError, OSError, ValueError, EOFError) as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise InputError(f"Cannot read '{file}' as {name}: {reason}") from exc


@dataclass(frozen=True)
class TableBatches:
    r"""A file to read in batches of rows: how many rows it has, and the batches.

    Made by :func:`scan_table`. :meth:`batches` may be called more than once;
    each call reads the file again from its first row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "ids.csv").write_text("anonymous_id,user_id\na1,u1\na2,u1\na3,u2\n")
    >>> table = scan_table(folder / "ids.csv")
    >>> table.rows, [batch.height for batch in table.batches(2)]
    (3, [2, 1])
    """

    path: Path
    rows: int
    _read: Callable[[int], Iterator[pl.DataFrame]]

    def batches(self, size: int) -> Iterator[pl.DataFrame]:
        r"""Yield the rows in order, about ``size`` at a time; at least one (maybe empty) frame.

        Raises
        ------
        InputError
            When the file turns out malformed part way; the message names it.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "ids.csv").write_text("anonymous_id,user_id\na1,u1\n")
        >>> [batch.columns for batch in scan_table(folder / "ids.csv").batches(10)]
        [['anonymous_id', 'user_id']]
        """
        return self._read(max(1, size))


def _streamed(path: Path, name: str, frame: pl.LazyFrame) -> TableBatches:
    """Batches of a CSV, TSV or Parquet file read by polars' streaming engine."""
    with _reading(path, name):
        schema = frame.collect_schema()
        rows = int(frame.select(pl.len()).collect().item())

    def read(size: int) -> Iterator[pl.DataFrame]:
        empty = True
        with _reading(path, name):
            for batch in frame.collect_batches(chunk_size=size):
                empty = False
                yield _without_bom(batch)
        if empty:
            yield _without_bom(pl.DataFrame(schema=schema))

    return TableBatches(path, rows, read)


def _whole(path: Path, frame: pl.DataFrame) -> TableBatches:
    """Batches of a file read whole (gzipped, JSON, NDJSON)."""

    def read(size: int) -> Iterator[pl.DataFrame]:
        yield frame.slice(0, size)
        for start in range(size, frame.height, size):
            yield frame.slice(start, size)

    return TableBatches(path, frame.height, read)


def scan_table(path: str | Path, fmt: str | None = None) -> TableBatches:
    r"""Open one file to read in batches of rows, as :func:`read_table` would read it whole.

    CSV, TSV and Parquet files are streamed (a batch at a time in memory);
    gzipped files, NDJSON and JSON are read whole first. The batches hold
    what :func:`read_table` returns, in order.

    Parameters
    ----------
    path
        The file (see :func:`read_table`).
    fmt
        Override the format the suffix implies (see :func:`detect_format`).

    Returns
    -------
    TableBatches
        The number of data rows and a way to read them in batches.

    Raises
    ------
    UnsupportedFormatError
        When the format is not supported.
    InputError
        When the file is missing, empty or malformed; the message names it
        (the same errors as :func:`read_table`). A streamed file may also
        raise it while its batches are read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "costs.csv").write_text("date,channel,spend\n2024-03-01,Email,12.50\n")
    >>> table = scan_table(folder / "costs.csv")
    >>> table.rows
    1
    >>> next(table.batches(1000)).row(0)
    ('2024-03-01', 'Email', '12.50')
    """
    path = Path(path)
    name = detect_format(path, fmt)
    _, gzipped = _split_suffix(path)
    if gzipped or name not in ("csv", "tsv", "parquet"):
        return _whole(path, read_table(path, fmt))
    with _reading(path, name):
        if path.is_dir():
            raise IsADirectoryError(path)
        if not path.exists():
            raise FileNotFoundError(path)
        if name == "parquet":
            frame = pl.scan_parquet(path, glob=False)
        else:
            source = _checked_csv(path, path.name, name)
            if isinstance(source, io.BytesIO):  # line ends normalised in memory: read it whole
                whole = _without_bom(READERS[name](source))
                _require_rows(whole.height, path.name)
                return _whole(path, whole)
            frame = pl.scan_csv(
                path, infer_schema=False, separator=_separator(path, name), glob=False
            )
    table = _streamed(path, name, frame)
    if name in _TEXT_FORMATS:
        _require_rows(table.rows, path.name)
    return table


def read_path_table(
    path: str | Path, fmt: str | None = None, delimiter: str | None = None
) -> pl.DataFrame:
    r"""Read an aggregated path table (CSV, TSV, Parquet, JSON ...), sniffing a CSV's delimiter.

    CSV files are read with :func:`read_table` when they use commas;
    another delimiter (``;`` as in ChannelAttribution's ``Data.csv``, tab,
    ``|``) is taken from ``delimiter`` or, if not given, from the header line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "p.csv").write_text("path;total_conversions\na > b;2\n")
    >>> read_path_table(folder / "p.csv").columns
    ['path', 'total_conversions']
    """
    path = Path(path)
    name = detect_format(path, fmt)
    if name != "csv":
        if delimiter is not None and name != "tsv":
            raise ParameterError(f"--delimiter only applies to CSV files; {path.name} is {name}.")
        return read_table(path, fmt)
    if delimiter is None:
        try:
            opener = gzip.open if path.suffix.lower() == ".gz" else open
            with opener(path, "rt", encoding="utf-8-sig", errors="replace") as handle:
                delimiter = sniff_delimiter(handle.readline())
        except (FileNotFoundError, IsADirectoryError, OSError):
            return read_table(path, fmt)  # reports the problem with the file
    if len(delimiter) != 1:
        raise ParameterError(f"The delimiter must be one character. Got {delimiter!r} instead.")
    if delimiter == ",":
        return read_table(path, fmt)
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as handle:
                source: Source = io.BytesIO(handle.read())
        else:
            source = path
        source = _checked_csv(source, path.name, "csv", separator=delimiter)
        frame = pl.read_csv(source, separator=delimiter, infer_schema=False)
        _require_rows(frame.height, path.name)
    except InputError:
        raise
    except pl.exceptions.NoDataError:
        raise InputError(f"Cannot read '{path.name}': the file is empty.") from None
    except (pl.exceptions.PolarsError, OSError, ValueError, EOFError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"Cannot read '{path.name}' as CSV separated by {delimiter!r}: {reason}"
        ) from exc
    if frame.width and frame.columns[0].startswith("\ufeff"):
        frame = frame.rename({frame.columns[0]: frame.columns[0][1:]})
    return frame
