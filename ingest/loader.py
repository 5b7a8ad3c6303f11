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

The shapes CRM exports come in:

- **dates**: ``date_format`` (strftime, ``%m/%d/%Y``) reads the timestamp or
  date column of every file; without it, slash dates (``03/15/2025``) are
  read in the order the whole column of each file shows, and a file whose
  column does not show it is refused, naming the column, a value and the
  ``--date-format`` to give (:mod:`ingest.timestamps`). Only a file with
  slash dates pays for this: its column is read once more, before its rows;
- **money**: currency signs and codes, thousands separators and
  ``decimal=","`` (:mod:`ingest.validate`);
- **stages**: conversion stages are renamed by a
  :class:`~ingest.stages.StageMap` (the built-in Salesforce and HubSpot
  names, and ``stage_map``), and the summary's ``notes`` say, once per
  stage, which ones no funnel knows;
- **currency**: when every row was refused for being in one other currency
  (and nothing else), one error says so instead of one problem per row, and
  which ``--currency`` to give when the store holds no money yet;
- **identity rows without both ids** are ignored and counted (``ignored``),
  with a note; an ingest whose every row is rejected (with
  ``skip_invalid``) or ignored writes nothing and raises.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from attribution.errors import (
    InputError,
    ParameterError,
    Problem,
    UnknownTableError,
    ValidationFailedError,
)
from attribution.export import neutralise_formulas
from attribution.schema import KEYS, REQUIRED, TABLES
from ingest.channels import ChannelRules
from ingest.cost_grain import check_cost_grain, grain_issues, spread_costs
from ingest.cost_names import NAME_COLUMNS, CostMap, CostNames, rename_notes
from ingest.mapping import apply_mapping, source_columns
from ingest.readers import scan_table
from ingest.stages import StageMap, stage_notes
from ingest.store import Staging, Store, UpsertCounts
from ingest.timestamps import (
    DateOrder,
    SlashDates,
    check_date_format,
    date_order,
    find_slash_dates,
)
from ingest.validate import (
    DECIMALS,
    IGNORED_WITHOUT,
    MAX_PROBLEMS,
    ProblemList,
    check_rows,
    duplicate_issues,
    problem_list,
    row_reasons,
    temporal_text,
    validate,
)

__all__ = [
    "AllRejectedError",
    "ForeignCurrencyError",
    "IngestSummary",
    "ingest_adapter",
    "ingest_files",
    "ingest_frame",
]

Progress = Callable[[int, int], None]

_SUMMARY_PROBLEMS = 50

BATCH_ROWS = 500_000
"""Rows of a file read, mapped and validated at a time: about what an ingest holds in memory."""


class ForeignCurrencyError(InputError):
    """Raised when every problem of an ingest is a value in one other currency than the store's.

    One sentence instead of one problem per row: which currency the rows are
    in, the store's, and the fix (``--currency`` on a store without money).
    """

    title = "Wrong currency"


class AllRejectedError(ValidationFailedError):
    """Raised when an ingest that skips invalid rows found no valid one: nothing was written.

    Carries the problems like :class:`ValidationFailedError`; its first line
    says every row was rejected and where the rejected rows were written.
    """

    title = "Every row rejected"

    def __init__(
        self,
        problems: list[Problem],
        total: int,
        *,
        rows: int,
        ignored: int = 0,
        rejects_path: str | None = None,
    ) -> None:
        super().__init__(problems, total)
        rejected = rows - ignored
        others = f"; the other {ignored:,} lacked an id" if ignored else ""
        where = (
            f"; the rejected rows and their reasons are in {rejects_path}"
            if rejects_path is not None
            else ""
        )
        head = (
            f"every row was rejected ({rejected:,} of {rows:,}{others}){where}. "
            "Nothing was written."
        )
        self.args = ("\n".join([head, *str(self).splitlines()[1:]]),)


@dataclass
class IngestSummary:
    """What one ingest did.

    ``rows_read`` counts every data row of every file;
    ``inserted + updated + unchanged + rejected + ignored`` equals it unless
    a later file of the same ingest replaced a row of an earlier one, or
    weekly or monthly cost rows were spread over their days (``cost_grain``:
    inserted, updated and unchanged then count days, and a note says how many).
    ``ignored`` counts identity rows without both ids. ``problems`` holds the
    first problems of the rejected rows (``skip_invalid`` only); ``notes``
    what the ingest should know but did not refuse (stages no funnel knows,
    ignored rows), one line each.

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
    ignored: int = 0
    notes: list[str] = field(default_factory=list, repr=False)

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
            "ignored": self.ignored,
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        files = f"{len(self.files):,} file{'' if len(self.files) == 1 else 's'}"
        rows = f"{self.rows_read:,} row{'' if self.rows_read == 1 else 's'}"
        line = (
            f"{self.table}: {rows} read from {files} — {self.inserted:,} inserted, "
            f"{self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.rejected:,} rejected"
        )
        if self.ignored:
            line += f", {self.ignored:,} ignored"
        line += f" ({self.seconds:.2f} s)"
        if self.rejects_path is not None:
            line += f"; rejected rows written to {self.rejects_path}"
        return line


@dataclass(frozen=True)
class _Reading:
    """How the values of an ingest's files are read: dates, decimals, stage and cost names."""

    date_format: str | None = None
    decimal: str = "."
    stages: StageMap = field(default_factory=StageMap)
    cost_names: CostNames = field(default_factory=CostNames)
    cost_grain: str = "day"

    @classmethod
    def of(
        cls,
        date_format: str | None,
        decimal: str,
        stage_map: Mapping[str, str] | None,
        costs: _CostOptions | None = None,
    ) -> _Reading:
        """Check the options (before any file is read) and build the reading."""
        if decimal not in DECIMALS:
            raise ParameterError(
                f"Bad --decimal '{decimal}': expected '.' (1,234.56) or ',' (1.234,56)."
            )
        fmt = check_date_format(date_format) if date_format is not None else None
        costs = costs or _CostOptions()
        return cls(
            fmt,
            decimal,
            StageMap(stage_map),
            CostNames(costs.cost_map or CostMap(), costs.match),
            check_cost_grain(costs.grain),
        )

    def with_touch_names(self, store: Store) -> _Reading:
        """Return the reading with the store's touch channels and campaigns (loose match)."""
        if self.cost_names.match != "loose":
            return self
        names = {c: tuple(store.distinct_names("touchpoints", c)) for c in NAME_COLUMNS}
        return replace(self, cost_names=replace(self.cost_names, touch_names=names))


@dataclass(frozen=True)
class _CostOptions:
    """The cost options of one ingest: names to rename, how names match, the rows' period."""

    cost_map: CostMap | None = None
    match: str = "exact"
    grain: str = "day"

    def check(self, table: str) -> _CostOptions | None:
        """Return the options for an ingest of ``table``; refused when they are set for another."""
        given = self.cost_map is not None or self.match != "exact" or self.grain != "day"
        if given and table != "costs":
            raise ParameterError(
                f"--cost-map, --cost-match and --cost-grain apply to costs; {table} have no "
                "spend. Drop them, or ingest costs."
            )
        return self if table == "costs" else None


def _currency_error(
    store: Store, files: Sequence[str], currencies: Mapping[str, int], total: int, reporting: str
) -> ForeignCurrencyError | None:
    """One error for an ingest whose every problem is a value in one other currency, else None.

    Called only when no row of the tables with problems was good: the rows
    are all in that currency, so one ``--currency`` would take them all.
    """
    if len(currencies) != 1 or sum(currencies.values()) != total:
        return None
    code = next(iter(currencies))
    names = ", ".join(dict.fromkeys(Path(f).name for f in files))
    try:
        store.check_currency(code)
    except InputError:
        return ForeignCurrencyError(
            f"{names}: these rows are in {code} but the store reports in {reporting} and "
            f"already holds money in {reporting}: convert the amounts to {reporting} first, or "
            f"ingest them into another store (--db) with --currency {code}."
        )
    return ForeignCurrencyError(
        f"{names}: these rows are in {code} but the store reports in {reporting}; this store "
        f"holds no money yet: rerun with --currency {code}."
    )


def _identity_note(ignored: int, table: str = "identities") -> list[str]:
    if not ignored:
        return []
    rows = f"{ignored:,} row{'' if ignored == 1 else 's'}"
    if table == "accounts":
        return [f"{rows} without both user_id and account_id ignored: a link needs two ids"]
    return [f"{rows} without both anonymous_id and user_id ignored: an identity pair needs two ids"]


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
        self.currencies: dict[str, int] = {}
        self._found: list[tuple[int, int, int, Problem]] = []
        self._built = [0, 0]

    def add(self, source: int, file: str, issues: pl.DataFrame, kind: int) -> None:
        self.total += issues.height
        built = problem_list(issues, file, limit=MAX_PROBLEMS - self._built[kind])
        self._built[kind] += len(built)
        self._found.extend((source, p.row or 0, kind, p) for p in built)
        for code, count in built.currencies.items():
            self.currencies[code] = self.currencies.get(code, 0) + count

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
        reading: _Reading,
    ) -> None:
        self.staging = staging
        self.table = table
        self.inputs = inputs
        self.mapping = mapping
        self.currency = currency
        self.keep_rejects = keep_rejects
        self.progress = progress
        self.channel_rules = channel_rules
        self.reading = reading
        self.total = sum(item.rows for item in inputs)
        self.done = 0
        self.ignored = 0
        self.unknown_stages: dict[str, int] = {}
        self.renamed: list[pl.DataFrame] = []
        self.spread = (0, 0)
        self.orders: dict[int, dict[str, DateOrder | None]] = {}
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

    def _date_orders(
        self, index: int, item: _Input, raw: pl.DataFrame, mapped: pl.DataFrame, offset: int
    ) -> dict[str, DateOrder | None]:
        """How this batch's slash dates are read, decided once per file and column.

        A column is decided the first time a batch of its file holds a slash
        date, over the whole file: this batch when it is the whole file, else
        the column read again from the start (earlier batches had none).
        """
        decided = self.orders.setdefault(index, {})
        orders: dict[str, DateOrder | None] = {}
        for column, dtype in TABLES[self.table].items():
            if not dtype.is_temporal() or column not in mapped.columns:
                continue
            if column in decided:
                orders[column] = decided[column]
                continue
            found = find_slash_dates(mapped[column], offset=offset)
            if not found.count:
                orders[column] = None  # none in this batch; a later one may decide
                continue
            source = source_columns(raw.columns, self.table, self.mapping, item.name)[column]
            if offset or raw.height < item.rows:
                found = self._slash_dates(item, source)
            decided[column] = orders[column] = date_order(found, Path(item.name).name, source)
        return orders

    def _slash_dates(self, item: _Input, source: str) -> SlashDates:
        """Find the slash dates of one column of a whole input, reading it again in batches."""
        found = SlashDates()
        offset = 0
        for raw in item.batches(BATCH_ROWS):
            found = found.merged(find_slash_dates(raw[source], offset=offset))
            offset += raw.height
        return found

    def _batch(self, index: int, item: _Input, raw: pl.DataFrame, offset: int) -> None:
        table = self.table
        mapped = apply_mapping(
            raw, table, self.mapping, item.name, channel_rules=self.channel_rules
        )
        if table == "conversions":
            mapped, unknown = self.reading.stages.apply(mapped)
            for stage, count in unknown.items():
                self.unknown_stages[stage] = self.unknown_stages.get(stage, 0) + count
        if table == "costs" and self.reading.cost_names.active:
            mapped, renamed = self.reading.cost_names.apply(mapped)
            self.renamed.append(renamed)
        date_format = self.reading.date_format
        orders = {} if date_format else self._date_orders(index, item, raw, mapped, offset)
        before = self.done

        def report(rows_done: int, _rows_total: int) -> None:
            if self.progress is not None:
                self.progress(before + rows_done, self.total)

        clean, issues = check_rows(
            mapped,
            table,
            item.name,
            currency=self.currency,
            row_offset=offset,
            progress=report,
            date_format=date_format,
            date_orders=orders,
            decimal=self.reading.decimal,
        )
        self.done += raw.height
        file = Path(item.name).name
        grain = self.reading.cost_grain
        if table == "costs" and grain != "day":
            refused = grain_issues(clean, grain)
            if refused.height:
                issues = pl.concat([issues, refused]).sort("_row", maintain_order=True)
        self.problems.add(index, file, issues, kind=0)
        reasons = row_reasons(issues)
        ids = IGNORED_WITHOUT.get(table, ())
        if ids:
            lacking = clean.filter(pl.any_horizontal(pl.col(c).is_null() for c in ids))
            self.ignored += lacking.join(reasons, on="_row", how="anti").height
        keyed = clean.filter(
            pl.all_horizontal(pl.col(k).is_not_null() for k in KEYS[table] if k in REQUIRED[table])
        )
        ok = ~pl.col("_row").is_in(reasons["_row"].implode())
        keyed = keyed.with_columns(ok.alias("_ok"))
        if table == "costs" and grain != "day":
            rows = int(keyed["_ok"].sum())
            keyed = spread_costs(keyed, grain)
            self.spread = (self.spread[0] + rows, self.spread[1] + int(keyed["_ok"].sum()))
        self.staging.stage(table, keyed, source=index)
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
            if self.reading.cost_grain != "day":  # a spread row repeats on each of its days
                found = found.unique("_row", keep="first", maintain_order=True)
            if found.height:
                self.duplicates[int(index)] = found
                self.problems.add(int(index), Path(self.inputs[index].name).name, found, kind=1)

    def cost_notes(self) -> list[str]:
        """Say what the ingest did to cost rows: names renamed, weekly or monthly rows spread."""
        notes = rename_notes(pl.concat(self.renamed)) if self.renamed else []
        names = self.reading.cost_names
        if names.match == "loose" and not any(names.touch_names.values()):
            notes.append(
                "--cost-match loose found no touchpoints in the store to match cost names "
                "against; ingest touchpoints first, then these costs again"
            )
        rows, days = self.spread
        if rows:
            grain = {"week": "weekly", "month": "monthly"}[self.reading.cost_grain]
            notes.append(
                f"{rows:,} {grain} cost row{'' if rows == 1 else 's'} spread evenly over "
                f"{days:,} days (spend, impressions and clicks add up to each row's)"
            )
        return notes

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


def _write_rejects(ingest: _Ingest, rejects_path: Path | None) -> str | None:
    """Write the rejected rows of an ingest to ``rejects_path`` (if any) and return where."""
    if rejects_path is None or not ingest.rejected():
        return None
    rejects_path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_formulas(ingest.rejects()).write_csv(rejects_path)
    return str(rejects_path)


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
    currency: str | None = None,
    reading: _Reading | None = None,
) -> IngestSummary:
    # Checked now, set with the rows in one transaction (a failed ingest changes neither).
    wanted = store.check_currency(currency) if currency is not None else None
    reporting = wanted or store.currency
    reading = (reading or _Reading()).with_touch_names(store) if table == "costs" else reading
    with store.staging() as staging:
        ingest = _Ingest(
            staging,
            table,
            inputs,
            mapping=mapping,
            currency=reporting,
            keep_rejects=skip_invalid and rejects_path is not None,
            progress=progress,
            channel_rules=channel_rules,
            reading=reading or _Reading(),
        )
        ingest.read_all()
        problems = ingest.problems
        rejected = ingest.rejected()
        nothing_left = bool(ingest.done) and rejected + ingest.ignored >= ingest.done
        if problems.total and nothing_left:
            names = [item.name for item in inputs]
            error = _currency_error(store, names, problems.currencies, problems.total, reporting)
            if error is not None:
                raise error
        if problems.total and not skip_invalid:
            raise ValidationFailedError(problems.first(), problems.total)
        if nothing_left and rejected:
            raise AllRejectedError(
                problems.first(),
                problems.total,
                rows=ingest.done,
                ignored=ingest.ignored,
                rejects_path=_write_rejects(ingest, rejects_path),
            )
        if nothing_left and table == "accounts":
            shown = ", ".join(Path(item.name).name for item in inputs)
            raise InputError(
                f"{shown}: no row has both a user_id and an account_id ({ingest.done:,} "
                f"row{'' if ingest.done == 1 else 's'}); a link needs two ids, so nothing was "
                "written. Check which columns you mapped: --map user_id=<your column> "
                "--map account_id=<your column>."
            )
        if nothing_left:
            shown = ", ".join(Path(item.name).name for item in inputs)
            raise InputError(
                f"{shown}: no row has both an anonymous_id and a user_id ({ingest.done:,} "
                f"row{'' if ingest.done == 1 else 's'}); an identity pair needs two ids, so "
                "nothing was written. Check which "
                "columns you mapped: --map anonymous_id=<your column> --map user_id=<your column>."
            )
        counts = UpsertCounts()
        if staging.rows(table) or wanted is not None:
            finished = staging.finish({table: ingest.excluded()}, currency=wanted)
            counts = finished.get(table, counts)

    written = _write_rejects(ingest, rejects_path)
    notes = [*stage_notes(ingest.unknown_stages, ingest.reading.stages), *ingest.cost_notes()]
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
        ignored=ingest.ignored,
        notes=[*notes, *_identity_note(ingest.ignored, table)],
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
    currency: str | None = None,
    date_format: str | None = None,
    decimal: str = ".",
    stage_map: Mapping[str, str] | None = None,
    cost_map: CostMap | None = None,
    cost_match: str = "exact",
    cost_grain: str = "day",
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
    currency
        Set the store's reporting currency to this ISO 4217 code, in the
        rows' own transaction (allowed only while the store holds no money
        in another currency); rows are checked against it.
    date_format
        A strftime format (``%m/%d/%Y``) for the text of the timestamp or
        date column; by default ISO 8601, epoch numbers and slash dates in
        the order each file's column shows (see :mod:`ingest.timestamps`).
    decimal
        The decimal separator of money: ``.`` or ``,`` (``1.234,56``).
    stage_map
        Conversion stages to rename: your stage -> closedloop stage, on top
        of the built-in Salesforce and HubSpot names (see :mod:`ingest.stages`).
    cost_map
        Costs only: channel and campaign names to rename to the touches'
        (see :mod:`ingest.cost_names`).
    cost_match
        Costs only: ``exact`` (default) or ``loose``: a cost name equal to
        one touch name in the store ignoring case and spaces takes it.
    cost_grain
        Costs only: ``day`` (default), ``week`` (rows dated Monday) or
        ``month`` (rows dated the 1st): each row is spread evenly over the
        days of its period (see :mod:`ingest.cost_grain`).

    Returns
    -------
    IngestSummary
        Counts of rows read, inserted, updated, unchanged, rejected and
        ignored, and notes (stages no funnel knows, ignored identity rows).

    Raises
    ------
    UnknownTableError
        When ``table`` is not a canonical table.
    UnsupportedFormatError, InputError
        When a file cannot be read, no file is given, or no identity row
        has both ids.
    MissingColumnsError, ColumnTypeError
        When a file lacks a required column (after mapping).
    AmbiguousDatesError
        When a file's slash dates do not say whether the day or the month
        comes first (and no ``date_format`` is given).
    ParameterError
        When ``date_format``, ``decimal``, ``cost_match`` or ``cost_grain``
        is not one closedloop reads, or a cost option is given for another table.
    ForeignCurrencyError
        When every problem is a value in one other currency than the store's:
        one error instead of one problem per row.
    ValidationFailedError
        When a row is bad and ``skip_invalid`` is off; nothing was written.
    AllRejectedError
        With ``skip_invalid``, when every row was rejected: nothing was
        written, the rejects file was.
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

    A CRM export, as it comes:

    >>> _ = (folder / "deals.csv").write_text(
    ...     'Id,Contact,Close Date,Stage,Amount\n'
    ...     'o1,u1,03/15/2025,Closed Won,"$12,000.00"\n'
    ...     'o2,u2,03/16/2025,Demo Booked,"$0.00"\n')
    >>> columns = {"conversion_id": "Id", "user_id": "Contact", "ts": "Close Date",
    ...            "stage": "Stage", "revenue": "Amount"}
    >>> summary = ingest_files(store, "conversions", [folder / "deals.csv"], mapping=columns,
    ...                        stage_map={"Demo Booked": "opportunity"})
    >>> store.read("conversions").select("ts", "stage", "revenue").rows()
    [(datetime.datetime(2025, 3, 15, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'closed_won',
      12000.0),
     (datetime.datetime(2025, 3, 16, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'opportunity',
      0.0)]
    """
    started = time.perf_counter()
    _check_table(table)
    costs = _CostOptions(cost_map, cost_match, cost_grain).check(table)
    reading = _Reading.of(date_format, decimal, stage_map, costs)
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
        currency=currency,
        reading=reading,
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
    currency: str | None = None,
    date_format: str | None = None,
    decimal: str = ".",
    stage_map: Mapping[str, str] | None = None,
    cost_map: CostMap | None = None,
    cost_match: str = "exact",
    cost_grain: str = "day",
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
    channel_rules, currency, date_format, decimal, stage_map, cost_map, cost_match, cost_grain
        As :func:`ingest_files`.

    Returns
    -------
    IngestSummary
        With ``files == [source]``.

    Raises
    ------
    UnknownTableError, MissingColumnsError, ColumnTypeError, ValidationFailedError, StoreBusyError
        As :func:`ingest_files`; and ``AmbiguousDatesError``,
        ``ForeignCurrencyError``, ``AllRejectedError``, ``ParameterError``
        as it says.

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
        currency=currency,
        reading=_Reading.of(
            date_format,
            decimal,
            stage_map,
            _CostOptions(cost_map, cost_match, cost_grain).check(table),
        ),
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
    ForeignCurrencyError
        When every problem is a value in one other currency than the store's.
    AllRejectedError
        With ``skip_invalid``, when every row of every table was rejected.

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
    currencies: dict[str, int] = {}
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
            if isinstance(found, ProblemList):
                for code, count in found.currencies.items():
                    currencies[code] = currencies.get(code, 0) + count
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
    rows = sum(item[1].height + item[4].height for item in checked)
    nothing_left = bool(rows) and not any(item[1].height for item in checked)
    if total_problems and not any(item[1].height for item in checked if item[3]):
        names = [str(f) for item in checked if item[3] for f in item[5]]
        error = _currency_error(store, names, currencies, total_problems, reporting)
        if error is not None:
            raise error
    if total_problems and not skip_invalid:
        raise ValidationFailedError(all_problems, total_problems)

    def write_rejects() -> str | None:
        rejects = [item[4] for item in checked if item[4].height]
        if not (rejects and skip_invalid):
            return None
        first = Path(next(iter([paths] if isinstance(paths, str | Path) else paths)))
        target = (
            Path(rejects_path)
            if rejects_path
            else ((first if first.is_dir() else first.parent) / f"{source}.rejects.csv")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        text = pl.concat([_stringify(r) for r in rejects], how="diagonal_relaxed")
        neutralise_formulas(text).write_csv(target)
        return str(target)

    if nothing_left and total_problems:
        raise AllRejectedError(
            all_problems, total_problems, rows=rows, rejects_path=write_rejects()
        )

    batches = [(table, good) for table, good, *_ in checked]
    if wanted is not None and wanted != store.currency and not batches:
        store.set_currency(wanted)
    counts = store.upsert_many(batches, currency=wanted) if batches else []
    written = write_rejects()
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
