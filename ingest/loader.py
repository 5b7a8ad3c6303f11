"""Ingest files or frames into the store: read, map, validate, then write at once.

One call is one ingest and one transaction:

1. every file is read in batches of ``BATCH_ROWS`` rows
   (:func:`ingest.readers.scan_table`); each batch is mapped
   (:func:`ingest.mapping.apply_mapping`), checked
   (:func:`ingest.validate.check_rows`, rows numbered in the whole file) and
   staged (:meth:`ingest.store.Store.staging`: in memory, or in Parquet
   files beside the store once there are many), so memory holds about one
   batch whatever the size of the file;
2. keys repeated within a file are then found among all its staged rows
   (:func:`ingest.validate.duplicate_issues`); if any row is bad and
   ``skip_invalid`` is off, :class:`ValidationFailedError` lists the problems
   and **nothing is written**;
3. otherwise the good rows of all files are upserted in one transaction, and
   with ``skip_invalid`` the bad rows go to a rejects CSV file (a cell a
   spreadsheet would run as a formula is prefixed with ``'``: see
   :func:`attribution.export.neutralise_formulas`).

When the same key appears in two files of one ingest, the row of the **later
file wins** (files are applied in the order given), as if they had been
ingested one after the other; the earlier row is then counted in
``rows_read`` but in none of inserted / updated / unchanged. Inside one file
a repeated key is a validation problem.

Touchpoints without a ``channel`` get one derived during mapping, with the
channel rules passed as ``channel_rules`` (default: GA4's default channel
grouping; see :mod:`ingest.mapping` and :mod:`ingest.channels`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from attribution.errors import InputError, Problem, UnknownTableError, ValidationFailedError
from attribution.export import neutralise_formulas
from attribution.schema import KEYS, REQUIRED, TABLES
from ingest.channels import ChannelRules
from ingest.mapping import apply_mapping
from ingest.readers import scan_table
from ingest.store import Staging, Store, UpsertCounts
from ingest.validate import (
    MAX_PROBLEMS,
    ProblemList,
    check_rows,
    duplicate_issues,
    problem_list,
    row_reasons,
    temporal_text,
    validate,
)

__all__ = ["IngestSummary", "ingest_adapter", "ingest_files", "ingest_frame"]

Progress = Callable[[int, int], None]

_SUMMARY_PROBLEMS = 50

BATCH_ROWS = 500_000
"""Rows of a file read, mapped and validated at a time: about what an ingest holds in memory."""


@dataclass
class IngestSummary:
    """What one ingest did.

    ``rows_read`` counts every data row of every file;
    ``inserted + updated + unchanged + rejected`` equals it unless a later
    file of the same ingest replaced a row of an earlier one. ``problems``
    holds the first problems of the rejected rows (``skip_invalid`` only).

    Examples
    --------
    >>> summary = IngestSummary("conversions", ["conversions.csv"], rows_read=1204,
    ...                         inserted=1200, unchanged=4, seconds=0.213)
    >>> print(summary)
    conversions: 1,204 rows read from 1 file — 1,200 inserted, 0 updated, 4 unchanged,
    0 rejected (0.21 s)
    """

    table: str
    files: list[str]
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, object]:
        """Return the summary as JSON-ready data (at most 50 problems listed).

        Examples
        --------
        >>> IngestSummary("costs", ["costs.csv"], rows_read=3, inserted=3).to_dict()["inserted"]
        3
        """
        return {
            "table": self.table,
            "files": list(self.files),
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejects_path": self.rejects_path,
            "seconds": round(self.seconds, 3),
            "problems": [p.to_dict() for p in self.problems[:_SUMMARY_PROBLEMS]],
        }

    def __str__(self) -> str:
        files = f"{len(self.files):,} file{'' if len(self.files) == 1 else 's'}"
        rows = f"{self.rows_read:,} row{'' if self.rows_read == 1 else 's'}"
        line = (
            f"{self.table}: {rows} read from {files} — {self.inserted:,} inserted, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.rejected:,} rejected ({self.seconds:.2f} s)"
        )
        if self.rejects_path is not None:
            line += f"; rejected rows written to {self.rejects_path}"
        return line


@dataclass
class _Input:
    """One file (or frame) to ingest: its name, its rows and a way to read them in batches."""

    name: str
    rows: int
    batches: Callable[[int], Iterator[pl.DataFrame]]


def _file_input(path: str | Path, fmt: str | None) -> _Input:
    table = scan_table(path, fmt)
    return _Input(str(path), table.rows, table.batches)


def _frame_input(name: str, frame: pl.DataFrame) -> _Input:
    def batches(size: int) -> Iterator[pl.DataFrame]:
        yield frame.slice(0, size)
        for start in range(size, frame.height, size):
            yield frame.slice(start, size)

    return _Input(name, frame.height, batches)


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise UnknownTableError(table, TABLES)


def _total(problems: list[Problem]) -> int:
    return problems.total if isinstance(problems, ProblemList) else len(problems)


def _stringify(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as text, so rejected rows of any format can be written as CSV."""
    columns = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            columns.append(pl.col(name))
        elif isinstance(dtype, pl.Struct):
            columns.append(pl.col(name).struct.json_encode())
        elif dtype.is_nested():
            columns.append(pl.col(name).cast(pl.List(pl.String), strict=False).list.join(", "))
        elif dtype.is_temporal():
            # A Parquet date past year 262,143 would crash polars' formatting.
            columns.append(temporal_text(pl.col(name), dtype).alias(name))
        else:
            columns.append(pl.col(name).cast(pl.String, strict=False))
    return frame.select(columns)


def _reject_text(raw: pl.DataFrame, reasons: pl.DataFrame, offset: int, file: str) -> pl.DataFrame:
    """Return the rows of ``raw`` (first row ``offset + 1``) that ``reasons`` names, as text.

    Returns the user's own columns, then ``_file``, ``_row`` and ``_reason``.
    """
    rows = pl.int_range(offset + 1, offset + 1 + raw.height, dtype=pl.Int64)
    picked = raw.with_columns(rows.alias("_row")).join(
        reasons.select(pl.col("_row").cast(pl.Int64), "_reason"),
        on="_row",
        how="inner",
        maintain_order="right",
    )
    return _stringify(picked.drop("_row", "_reason")).with_columns(
        pl.lit(file).alias("_file"), picked["_row"], picked["_reason"]
    )


class _Problems:
    """Problems of one ingest, in file and row order: the first ``MAX_PROBLEMS`` built, all counted.

    Bad values arrive batch by batch, in row order; repeated keys arrive at
    the end. Each kind builds at most ``MAX_PROBLEMS`` objects, so the first
    ``MAX_PROBLEMS`` of both, merged, are the first of the ingest.
    """

    def __init__(self) -> None:
        self.total = 0
        self._found: list[tuple[int, int, int, Problem]] = []
        self._built = [0, 0]

    def add(self, source: int, file: str, issues: pl.DataFrame, kind: int) -> None:
        self.total += issues.height
        built = problem_list(issues, file, limit=MAX_PROBLEMS - self._built[kind])
        self._built[kind] += len(built)
        self._found.extend((source, p.row or 0, kind, p) for p in built)

    def first(self) -> list[Problem]:
        ordered = sorted(self._found, key=lambda item: item[:3])
        return [item[3] for item in ordered[:MAX_PROBLEMS]]


class _Ingest:
    """One ingest of one table: read, map and validate in batches, stage, then write at once."""

    def __init__(
        self,
        staging: Staging,
        table: str,
        inputs: Sequence[_Input],
        *,
        mapping: Mapping[str, str] | None,
        currency: str,
        keep_rejects: bool,
        progress: Progress | None,
        channel_rules: ChannelRules | None,
    ) -> None:
        self.staging = staging
        self.table = table
        self.inputs = inputs
        self.mapping = mapping
        self.currency = currency
        self.keep_rejects = keep_rejects
        self.progress = progress
        self.channel_rules = channel_rules
        self.total = sum(item.rows for item in inputs)
        self.done = 0
        self.problems = _Problems()
        self.bad_rows: dict[int, list[pl.Series]] = {}
        self.reject_text: dict[int, list[pl.DataFrame]] = {}
        self.duplicates: dict[int, pl.DataFrame] = {}

    def read_all(self) -> None:
        """Check and stage every batch of every input, then find repeated keys."""
        for index, item in enumerate(self.inputs):
            offset = 0
            for raw in item.batches(BATCH_ROWS):
                self._batch(index, item, raw, offset)
                offset += raw.height
        self._find_duplicates()

    def _batch(self, index: int, item: _Input, raw: pl.DataFrame, offset: int) -> None:
        table = self.table
        mapped = apply_mapping(
            raw, table, self.mapping, item.name, channel_rules=self.channel_rules
        )
        before = self.done

        def report(rows_done: int, _rows_total: int) -> None:
            if self.progress is not None:
                self.progress(before + rows_done, self.total)

        clean, issues = check_rows(
            mapped, table, item.name, currency=self.currency, row_offset=offset, progress=report
        )
        self.done += raw.height
        file = Path(item.name).name
        self.problems.add(index, file, issues, kind=0)
        reasons = row_reasons(issues)
        keyed = clean.filter(
            pl.all_horizontal(pl.col(k).is_not_null() for k in KEYS[table] if k in REQUIRED[table])
        )
        ok = ~pl.col("_row").is_in(reasons["_row"].implode())
        self.staging.stage(table, keyed.with_columns(ok.alias("_ok")), source=index)
        if reasons.height:
            self.bad_rows.setdefault(index, []).append(reasons["_row"])
            if self.keep_rejects:
                self.reject_text.setdefault(index, []).append(
                    _reject_text(raw, reasons, offset, file)
                )

    def _find_duplicates(self) -> None:
        """Repeated keys within each input, among all its batches."""
        candidates = self.staging.key_collisions(self.table)
        for index in candidates["_source"].unique().sort().to_list():
            rows = candidates.filter(pl.col("_source") == index).drop("_source")
            found = duplicate_issues(rows, self.table)
            if found.height:
                self.duplicates[int(index)] = found
                self.problems.add(int(index), Path(self.inputs[index].name).name, found, kind=1)

    def excluded(self) -> pl.DataFrame:
        """``_source`` and ``_row`` of the rows that repeat an earlier row's key."""
        parts = [
            found.select(pl.lit(index, dtype=pl.Int32).alias("_source"), "_row")
            for index, found in self.duplicates.items()
        ]
        if not parts:
            return pl.DataFrame(schema={"_source": pl.Int32, "_row": pl.Int64})
        return pl.concat(parts)

    def _bad(self, index: int) -> pl.Series:
        return pl.concat(self.bad_rows.get(index, [pl.Series("_row", [], dtype=pl.Int64)]))

    def rejected(self) -> int:
        """How many rows were set aside: bad values or a repeated key."""
        count = 0
        for index in range(len(self.inputs)):
            bad = self._bad(index)
            count += bad.len()
            found = self.duplicates.get(index)
            if found is not None:
                count += found.filter(~pl.col("_row").is_in(bad.implode())).height
        return count

    def rejects(self) -> pl.DataFrame:
        """Return the rejected rows: the user's columns, then ``_file``, ``_row``, ``_reason``."""
        parts: list[pl.DataFrame] = []
        for index, item in enumerate(self.inputs):
            text = self.reject_text.get(index, [])
            found = self.duplicates.get(index)
            if found is not None:
                text = [self._with_duplicates(item, text, row_reasons(found))]
            parts.extend(t for t in text if t.height)
        if not parts:
            return pl.DataFrame()
        rows: pl.DataFrame = pl.concat(parts, how="diagonal_relaxed")
        return rows.select(pl.exclude("_file", "_row", "_reason"), "_file", "_row", "_reason")

    def _with_duplicates(
        self, item: _Input, text: list[pl.DataFrame], repeats: pl.DataFrame
    ) -> pl.DataFrame:
        """Rejected rows of one input with its repeated keys added (reading those rows again)."""
        file = Path(item.name).name
        parts = []
        if text:
            known = pl.concat(text, how="diagonal_relaxed")
            extra = repeats.rename({"_reason": "_repeat"})
            known = (
                known.join(extra, on="_row", how="left", maintain_order="left")
                .with_columns(
                    pl.when(pl.col("_repeat").is_null())
                    .then(pl.col("_reason"))
                    .otherwise(pl.concat_str("_reason", "_repeat", separator="; "))
                    .alias("_reason")
                )
                .drop("_repeat")
            )
            parts.append(known)
            repeats = repeats.filter(~pl.col("_row").is_in(known["_row"].implode()))
        if repeats.height:
            parts.append(_read_rows(item, repeats, file))
        return pl.concat(parts, how="diagonal_relaxed").sort("_row", maintain_order=True)


def _read_rows(item: _Input, reasons: pl.DataFrame, file: str) -> pl.DataFrame:
    """Read an input again for the rows ``reasons`` names (``_row``, ``_reason``), as text."""
    last = int(reasons.select(pl.col("_row").max()).item() or 0)
    parts = []
    offset = 0
    for raw in item.batches(BATCH_ROWS):
        end = offset + raw.height
        wanted = reasons.filter((pl.col("_row") > offset) & (pl.col("_row") <= end))
        if wanted.height:
            parts.append(_reject_text(raw, wanted, offset, file))
        offset = end
        if offset >= last:
            break
    return pl.concat(parts, how="diagonal_relaxed")


def _run(
    store: Store,
    table: str,
    inputs: Sequence[_Input],
    *,
    mapping: Mapping[str, str] | None,
    skip_invalid: bool,
    rejects_path: Path | None,
    progress: Progress | None,
    started: float,
    channel_rules: ChannelRules | None = None,
) -> IngestSummary:
    with store.staging() as staging:
        ingest = _Ingest(
            staging,
            table,
            inputs,
            mapping=mapping,
            currency=store.currency,
            keep_rejects=skip_invalid and rejects_path is not None,
            progress=progress,
            channel_rules=channel_rules,
        )
        ingest.read_all()
        problems = ingest.problems
        if problems.total and not skip_invalid:
            raise ValidationFailedError(problems.first(), problems.total)
        counts = UpsertCounts()
        if staging.rows(table):
            counts = staging.finish({table: ingest.excluded()}).get(table, counts)

    rejected = ingest.rejected()
    written: str | None = None
    if rejected and rejects_path is not None:
        rejects_path.parent.mkdir(parents=True, exist_ok=True)
        neutralise_formulas(ingest.rejects()).write_csv(rejects_path)
        written = str(rejects_path)
    return IngestSummary(
        table=table,
        files=[item.name for item in inputs],
        rows_read=ingest.done,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=rejected,
        rejects_path=written,
        seconds=time.perf_counter() - started,
        problems=problems.first() if skip_invalid else [],
    )


def default_rejects_path(table: str, first_file: str | Path) -> Path:
    """Return where rejected rows go by default: ``<table>.rejects.csv`` beside the first file.

    Examples
    --------
    >>> default_rejects_path("costs", "/data/march/costs.csv")
    PosixPath('/data/march/costs.rejects.csv')
    """
    return Path(first_file).parent / f"{table}.rejects.csv"


def ingest_files(
    store: Store,
    table: str,
    paths: Sequence[str | Path] | str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    fmt: str | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    progress: Progress | None = None,
    channel_rules: ChannelRules | None = None,
) -> IngestSummary:
    r"""Ingest one or more files into one table of the store, all or nothing.

    Parameters
    ----------
    store
        Where to write.
    table
        ``touchpoints``, ``conversions``, ``costs`` or ``identities``.
    paths
        The files (CSV, TSV, Parquet, NDJSON, JSON; optionally gzipped). When
        two files hold the same key, the later file wins.
    mapping
        Canonical column -> your column (see :mod:`ingest.mapping`).
    fmt
        Read every file as this format, whatever its suffix.
    skip_invalid
        Write the good rows and set the bad ones aside, instead of failing.
    rejects_path
        With ``skip_invalid``: the CSV file that receives the rejected rows
        (their original columns plus ``_file``, ``_row`` and ``_reason``).
        Defaults to ``<table>.rejects.csv`` in the folder of the first file;
        it is only written when some row was rejected, and overwritten then.
    progress
        Called as ``progress(rows_done, rows_total)`` while rows are
        validated, per chunk of about 200,000 rows and at the end of each file.
    channel_rules
        Derive missing touchpoint channels with these rules (see
        :func:`ingest.channels.load_rules`); ``None`` for GA4's default grouping.

    Returns
    -------
    IngestSummary
        Counts of rows read, inserted, updated, unchanged and rejected.

    Raises
    ------
    UnknownTableError
        When ``table`` is not a canonical table.
    UnsupportedFormatError, InputError
        When a file cannot be read, or no file is given.
    MissingColumnsError, ColumnTypeError
        When a file lacks a required column (after mapping).
    ValidationFailedError
        When a row is bad and ``skip_invalid`` is off; nothing was written.
    StoreBusyError
        When another process holds the store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "ids.csv").write_text("cookie,email\na1,u1\na2,u1\n")
    >>> store = Store(folder / "demo.duckdb")
    >>> summary = ingest_files(store, "identities", [folder / "ids.csv"],
    ...                        mapping={"anonymous_id": "cookie", "user_id": "email"})
    >>> summary.inserted, summary.rows_read
    (2, 2)
    """
    started = time.perf_counter()
    _check_table(table)
    files = [paths] if isinstance(paths, str | Path) else list(paths)
    if not files:
        raise InputError(f"No file given to ingest into {table}.")
    inputs = [_file_input(path, fmt) for path in files]
    if skip_invalid:
        target = Path(rejects_path) if rejects_path else default_rejects_path(table, files[0])
    else:
        target = None
    return _run(
        store,
        table,
        inputs,
        mapping=mapping,
        skip_invalid=skip_invalid,
        rejects_path=target,
        progress=progress,
        started=started,
        channel_rules=channel_rules,
    )


def ingest_frame(
    store: Store,
    table: str,
    frame: pl.DataFrame,
    *,
    source: str = "request body",
    mapping: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    channel_rules: ChannelRules | None = None,
) -> IngestSummary:
    """Ingest rows already in memory (an HTTP batch, a notebook frame), all or nothing.

    Parameters
    ----------
    store
        Where to write.
    table
        ``touchpoints``, ``conversions``, ``costs`` or ``identities``.
    frame
        The rows, with canonical column names or ones ``mapping`` maps.
    source
        How problems name the rows' origin (``request body row 3, ...``).
    mapping
        Canonical column -> your column.
    skip_invalid
        Write the good rows and skip the bad ones (no rejects file is
        written; the summary's ``problems`` says what was skipped).
    channel_rules
        As :func:`ingest_files`.

    Returns
    -------
    IngestSummary
        With ``files == [source]``.

    Raises
    ------
    UnknownTableError, MissingColumnsError, ColumnTypeError, ValidationFailedError, StoreBusyError
        As :func:`ingest_files`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
    >>> rows = pl.DataFrame({"date": ["2024-03-01", "2024-03-01"], "channel": ["Email", "Video"],
    ...                      "spend": ["12.5", "-3"]})
    >>> print(ingest_frame(store, "costs", rows, skip_invalid=True))  # doctest: +ELLIPSIS
    costs: 2 rows read from 1 file — 1 inserted, 0 updated, 0 unchanged, 1 rejected (... s)
    >>> ingest_frame(store, "costs", rows)
    Traceback (most recent call last):
    ...
    attribution.errors.ValidationFailedError: 1 problem(s) found; nothing was written.
    request body row 2, field 'spend': expected a number ≥ 0, got '-3'
    """
    started = time.perf_counter()
    _check_table(table)
    return _run(
        store,
        table,
        [_frame_input(source, frame)],
        mapping=mapping,
        skip_invalid=skip_invalid,
        rejects_path=None,
        progress=None,
        started=started,
        channel_rules=channel_rules,
    )


_DUPLICATE_ROW = re.compile(r"first seen at row (\d+)")


def _source_problems(
    problems: Sequence[Problem], rows: pl.Series, files: pl.Series, fallback: str
) -> list[Problem]:
    """Renumber problems of an adapter frame to the rows and files of the source it came from."""
    out = []
    for p in problems:
        index = (p.row or 0) - 1
        row = rows[index] if 0 <= index < len(rows) else p.row
        file = files[index] if 0 <= index < len(files) and files[index] else fallback
        message = _DUPLICATE_ROW.sub(
            lambda m: (
                f"first seen at row {rows[int(m.group(1)) - 1]}"
                if 0 < int(m.group(1)) <= len(rows)
                else m.group(0)
            ),
            p.message,
        )
        out.append(
            Problem(
                file=str(file),
                row=None if row is None else int(row),
                field=p.field,
                message=message,
            )
        )
    return out


def ingest_adapter(
    store: Store,
    source: str,
    paths: Sequence[str | Path] | str | Path,
    *,
    options: Mapping[str, str] | None = None,
    currency: str | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    channel_rules: ChannelRules | None = None,
) -> list[IngestSummary]:
    r"""Ingest a tool's own exports with a source adapter: all tables it yields, in one transaction.

    Parameters
    ----------
    store
        Where to write.
    source
        An adapter name of :data:`ingest.adapters.ADAPTERS` (``ga4``,
        ``segment``, ``salesforce``, ``hubspot``, ``google_ads`` ...).
    paths
        The files or folders the adapter reads.
    options
        Adapter options (``--option key=value``), e.g.
        ``{"conversion_events": "Order Completed:purchase"}``.
    currency
        Set the store's reporting currency to this ISO 4217 code first
        (allowed only while the store holds no money in another currency).
    skip_invalid
        Write the valid rows and set the bad ones aside, instead of failing.
    rejects_path
        With ``skip_invalid``: where rejected rows go (the adapter's rows plus
        ``_file``, ``_row`` and ``_reason``); default
        ``<source>.rejects.csv`` beside the first file.
    channel_rules
        Rules deriving a missing touchpoint channel from source / medium /
        campaign; ``None`` for GA4's default channel grouping.

    Returns
    -------
    list[IngestSummary]
        One per table the adapter produced rows for, in canonical table order.

    Raises
    ------
    InputError
        When the source is unknown or its files cannot be used.
    ValidationFailedError
        When a row is bad and ``skip_invalid`` is off; problems name the
        source file and its row; nothing was written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "meta.csv").write_text(
    ...     "date_start,campaign_name,spend,impressions,clicks,account_currency\n"
    ...     "2024-03-01,Prospecting,12.50,1000,9,USD\n2024-03-02,Prospecting,7,800,4,USD\n")
    >>> store = Store(folder / "demo.duckdb")
    >>> for summary in ingest_adapter(store, "meta_ads", [folder / "meta.csv"]):
    ...     print(summary)  # doctest: +ELLIPSIS
    costs: 2 rows read from 1 file — 2 inserted, 0 updated, 0 unchanged, 0 rejected (... s)
    """
    from ingest.adapters import get_adapter
    from ingest.channels import assign_channels

    started = time.perf_counter()
    adapter = get_adapter(source)
    # Checked now, set with the rows in one transaction (a failed ingest changes neither).
    wanted = store.check_currency(currency) if currency is not None else None
    frames = adapter([paths] if isinstance(paths, str | Path) else list(paths), dict(options or {}))
    reporting = wanted or store.currency
    checked: list[tuple[str, pl.DataFrame, list[Problem], int, pl.DataFrame, list[str]]] = []
    for table in TABLES:
        frame = frames.get(table)
        if frame is None or frame.height == 0:
            continue
        if table == "touchpoints":
            frame = assign_channels(frame, channel_rules)
        files = frame["_file"].unique(maintain_order=True).to_list()
        goods, problems, rejected = [], [], []
        total = 0
        for name in files:
            part = frame.filter(pl.col("_file") == name)
            good, found, bad = validate(
                part.drop("_file", "_row"), table, str(name), currency=reporting
            )
            goods.append(good)
            total += _total(found)
            problems.extend(_source_problems(found, part["_row"], part["_file"], str(name)))
            if bad.height:
                source_rows = part["_row"].gather(bad["_row"].cast(pl.Int64) - 1)
                rejected.append(bad.with_columns(source_rows.alias("_row")))
        checked.append(
            (
                table,
                pl.concat(goods),
                problems,
                total,
                pl.concat(rejected) if rejected else pl.DataFrame(),
                files,
            )
        )
    all_problems = [p for item in checked for p in item[2]][:MAX_PROBLEMS]
    total_problems = sum(item[3] for item in checked)
    if total_problems and not skip_invalid:
        raise ValidationFailedError(all_problems, total_problems)
    batches = [(table, good) for table, good, *_ in checked]
    if wanted is not None and wanted != store.currency and not batches:
        store.set_currency(wanted)
    counts = store.upsert_many(batches, currency=wanted) if batches else []
    written: str | None = None
    rejects = [item[4] for item in checked if item[4].height]
    if rejects and skip_invalid:
        first = Path(next(iter([paths] if isinstance(paths, str | Path) else paths)))
        target = (
            Path(rejects_path)
            if rejects_path
            else ((first if first.is_dir() else first.parent) / f"{source}.rejects.csv")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        rows = pl.concat([_stringify(r) for r in rejects], how="diagonal_relaxed")
        neutralise_formulas(rows).write_csv(target)
        written = str(target)
    seconds = time.perf_counter() - started
    return [
        IngestSummary(
            table=table,
            files=files,
            rows_read=good.height + rejected.height,
            inserted=count.inserted,
            updated=count.updated,
            unchanged=count.unchanged,
            rejected=rejected.height,
            rejects_path=written if rejected.height else None,
            seconds=seconds,
            problems=problems[:_SUMMARY_PROBLEMS] if skip_invalid else [],
        )
        for (table, good, problems, _, rejected, files), count in zip(checked, counts, strict=True)
    ]
