"""Read the files users have into polars frames, one reader per format.

``READERS`` maps a format name to a function that reads bytes or a path into a
frame; :func:`detect_format` picks the format from the file name and
:func:`read_table` ties the two together. To support a new format, add one
reader function and one line to ``READERS`` (and its suffixes to
``_SUFFIXES``).

CSV and TSV are read with every column as ``String`` so that validation sees
the text exactly as the user wrote it and can quote it back in a message.
JSON and Parquet keep their native types. A ``.gz`` suffix on any format is
decompressed first.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import polars as pl

from attribution.errors import InputError, ParameterError, UnsupportedFormatError

__all__ = [
    "DELIMITERS",
    "READERS",
    "SUPPORTED_SUFFIXES",
    "detect_format",
    "read_path_table",
    "read_table",
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
    if isinstance(source, Path):
        with source.open("rb") as handle:
            raw = handle.readline()
    else:
        raw = source.getvalue().split(b"\n", 1)[0]
    return raw.decode("utf-8-sig", errors="replace")


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
    try:
        if gzipped:
            with gzip.open(path, "rb") as handle:
                source: Source = io.BytesIO(handle.read())
        else:
            source = path
        frame = READERS[name](source)
    except FileNotFoundError:
        raise InputError(f"Cannot read '{path.name}': no such file ({path}).") from None
    except IsADirectoryError:
        raise InputError(f"Cannot read '{path.name}': it is a directory, not a file.") from None
    except pl.exceptions.NoDataError:
        raise InputError(f"Cannot read '{path.name}': the file is empty.") from None
    except (pl.exceptions.PolarsError, OSError, ValueError, EOFError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Cannot read '{path.name}' as {name}: {reason}") from exc
    if frame.width and frame.columns[0].startswith("\ufeff"):
        frame = frame.rename({frame.columns[0]: frame.columns[0].lstrip("\ufeff")})
    return frame


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
                data = handle.read()
            frame = pl.read_csv(data, separator=delimiter, infer_schema=False)
        else:
            frame = pl.read_csv(path, separator=delimiter, infer_schema=False)
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
