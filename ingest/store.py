"""The store: the canonical tables in one embedded DuckDB file.

This is the only module that speaks SQL to the tables (API keys: :mod:`ingest.keys`;
the engine's journey queries: :mod:`engine.sql`). Everything else reads and writes
polars frames in the canonical schemas of ``attribution/schema.py`` through
:class:`Store`, so another backend can replace this one module.

Tables
------
``touchpoints``, ``conversions``, ``costs``, ``identities``, ``accounts`` and
``lift_tests``, with the columns of their canonical schema and a primary key
on ``KEYS``; plus ``meta`` (``key``, ``value``: the reporting ``currency``
and the ``schema_version``). ``costs.campaign`` and ``lift_tests.campaign``
are part of their key and primary key columns cannot be NULL, so an absent
campaign is stored as ``''`` and read back as null.

Concurrency
-----------
DuckDB lets one *process* at a time open a database file read-write: it
takes an OS file lock for as long as a connection is open. So the Store
keeps **no long-lived connection**. Every operation (one read, one upsert,
one count) opens ``duckdb.connect(path)``, does its work and closes it, and
the lock is held only for the length of that operation. Hence:

- Threads of one process (the API server's workers) may use one Store, or
  several, at once. Their connections share DuckDB's in-process database
  instance, and MVCC gives each read a snapshot: a read sees the store as it
  was before an ingest committed or after, never half of it. Writes from
  threads of one process are serialised by a per-file lock, so two ingests
  in one process never conflict on the same key. Opening and closing a
  connection are serialised too (DuckDB refuses to attach a file while the
  last connection to it is being closed); the work in between is not.
- Another process (a CLI ingest while ``closedloop serve`` runs) can use the
  file whenever no operation of this one is in flight. When it finds the file
  locked, it retries with a growing pause for up to ``wait_seconds``, then
  raises :class:`StoreBusyError` naming the process that holds the lock when
  DuckDB says so, and suggesting to ingest through the running server.
- A long operation (a large ingest) holds the lock for its whole duration:
  other processes wait or give up after ``wait_seconds``.

Consistent reads and ``data_version``
-------------------------------------
:meth:`Store.snapshot` opens one connection and one transaction for every
read of a query: a report that reads touchpoints, conversions, costs and
identities sees them all as of one instant, so a multi-table ingest (``ingest
--from salesforce``) is seen entirely or not at all. The ``meta`` table
carries ``data_version``, an integer that every committed write that changes
a row bumps inside its own transaction (including writes from another
process). Caches key on it: :meth:`Store.data_version` answers from the
file's size and modification time while they have not moved (no connection,
microseconds), and reads the number again when they have.

Writes
------
:meth:`Store.upsert` and :meth:`Store.upsert_many` run in one transaction
(``BEGIN`` ... ``COMMIT``, ``ROLLBACK`` on any error): an ingest of several
files, or several tables, is all or nothing. Counts are computed in SQL
before writing: a key not in the table is *inserted*; a key present with any
value different (``IS DISTINCT FROM``) is *updated*; otherwise the row is
*unchanged* and not rewritten. Re-ingesting the same rows changes nothing.

A large ingest goes through :meth:`Store.staging` instead: its rows are
gathered batch by batch (in Parquet files in a temporary folder beside the
store once they are many) without opening the store, then
:meth:`Staging.finish` writes them in one transaction. Into an empty table
that is a plain ``INSERT``; into a non-empty one the rows are compared and
written in passes over hash partitions of the key (``PASS_ROWS`` rows each),
which bounds the memory of the join whatever the size of the table.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from datetime import time as day_start
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from attribution.cancel import check_cancelled
from attribution.errors import (
    InputError,
    MissingColumnsError,
    ParameterError,
    StoreBusyError,
    StoreError,
    UnknownTableError,
)
from attribution.schema import KEYS, REQUIRED, TABLES
from ingest.cancel import watch

__all__ = [
    "DEFAULT_CURRENCY",
    "SCHEMA_VERSION",
    "PersonDeletion",
    "Snapshot",
    "Staging",
    "Store",
    "UpsertCounts",
    "default_db_path",
]

SCHEMA_VERSION = 2
"""Version of the table layout this module creates and reads.

1: the first layout; 2: ``conversions.pipeline``. A store of an older version
is upgraded when it is opened (``Store._upgrade``); a newer one is
refused.
"""

DEFAULT_CURRENCY = "USD"
"""Reporting currency of a store nobody set one for."""

_SQL_TYPES: dict[pl.DataType, str] = {
    pl.String(): "VARCHAR",
    pl.Float64(): "DOUBLE",
    pl.Int64(): "BIGINT",
    pl.Date(): "DATE",
    pl.Datetime("us", "UTC"): "TIMESTAMPTZ",
}
STAGE_MEMORY_ROWS = 200_000
"""Rows of one table a :class:`Staging` holds in memory; beyond, it writes them to Parquet files."""

PASS_ROWS = 4_000_000
"""Rows a staged write compares with a non-empty table per pass: bounds the memory of the join."""

_COLLISION_MEMORY = "512MB"
"""Memory limit of the private DuckDB that looks for repeated keys among spilled rows."""

_TIME_COLUMN = {"touchpoints": "ts", "conversions": "ts", "costs": "date"}
_EMPTY_KEY_DEFAULTS = {("costs", "campaign"): "", ("lift_tests", "campaign"): ""}
_FIRST_PAUSE = 0.02
MEMORY_VARIABLE = "CLOSEDLOOP_DUCKDB_MEMORY"
"""Environment variable bounding the memory DuckDB may use per process (it spills beyond)."""
_MEMORY_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*(B|[KMGT]i?B)\s*", re.IGNORECASE)


def duckdb_memory_limit(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the DuckDB ``memory_limit`` asked for in ``$CLOSEDLOOP_DUCKDB_MEMORY``, if any.

    DuckDB uses up to 80% of the machine's memory by default and spills
    sorts, joins and aggregates to a temporary folder beside the store once
    it reaches its limit; this variable lowers the limit, for every store
    connection of the process (``closedloop`` commands and the server; a
    server's own ``CLOSEDLOOP_MAX_MEMORY_MB`` sets a lower one per request).

    Examples
    --------
    >>> duckdb_memory_limit({"CLOSEDLOOP_DUCKDB_MEMORY": "2GB"})
    '2GB'
    >>> duckdb_memory_limit({}) is None
    True
    >>> duckdb_memory_limit({"CLOSEDLOOP_DUCKDB_MEMORY": "lots"})
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: CLOSEDLOOP_DUCKDB_MEMORY must be a size such as 2GB, 512MiB or 1.5GB. Got 'lots'.
    """  # noqa: E501
    text = (os.environ if environ is None else environ).get(MEMORY_VARIABLE, "").strip()
    if not text:
        return None
    if not _MEMORY_SIZE.fullmatch(text):
        raise ParameterError(
            f"{MEMORY_VARIABLE} must be a size such as 2GB, 512MiB or 1.5GB. Got {text!r}."
        )
    return text


_MAX_PAUSE = 0.5

_write_locks: dict[str, threading.Lock] = {}
_open_locks: dict[str, threading.Lock] = {}
_seen_versions: dict[str, tuple[tuple[int, ...], int]] = {}
"""Per store file: the file state (size, mtime of the file and its WAL) and the
``data_version`` read at that state, so an unchanged file needs no connection."""
_locks_guard = threading.Lock()


def default_db_path() -> Path:
    """Return the store file to use when none is given.

    Returns
    -------
    pathlib.Path
        ``$CLOSEDLOOP_DB`` when set, else ``closedloop.duckdb`` in the
        current directory.

    Examples
    --------
    >>> import os
    >>> os.environ["CLOSEDLOOP_DB"] = "/data/marketing.duckdb"
    >>> default_db_path()
    PosixPath('/data/marketing.duckdb')
    >>> del os.environ["CLOSEDLOOP_DB"]
    >>> default_db_path()
    PosixPath('closedloop.duckdb')
    """
    return Path(os.environ.get("CLOSEDLOOP_DB") or "closedloop.duckdb")


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did to the rows it was given.

    Examples
    --------
    >>> UpsertCounts(inserted=2, updated=1, unchanged=0) + UpsertCounts(1, 0, 4)
    UpsertCounts(inserted=3, updated=1, unchanged=4)
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )

    def to_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict."""
        return asdict(self)


def _backup_parts(folder: Path, table: str) -> list[Path]:
    """List the Parquet files of one table in an export folder (none when absent)."""
    inside = folder / table
    if inside.is_dir():
        return sorted(inside.glob("*.parquet"))
    single = folder / f"{table}.parquet"
    return [single] if single.is_file() else []


def _read_backup_part(table: str, part: Path) -> pl.DataFrame:
    """Read one Parquet part of an export in the table's canonical schema, or say why not."""
    schema = TABLES[table]
    where = f"'{part.name}' of {table}"
    try:
        frame = pl.read_parquet(part)
    except (pl.exceptions.PolarsError, OSError) as exc:
        reason = type(exc).__name__
        raise InputError(
            f"Cannot restore {where}: the file is damaged or not Parquet ({reason})."
        ) from None
    missing = [c for c in schema.names() if c not in frame.columns]
    needed = [c for c in missing if c in REQUIRED[table] or c in KEYS[table]]
    if needed:
        raise InputError(
            f"Cannot restore {where}: it lacks column(s) {', '.join(needed)}; "
            "it is not a closedloop export."
        )
    # An export written before an optional column existed restores it as null.
    frame = frame.with_columns(pl.lit(None, schema[c]).alias(c) for c in missing)
    try:
        return frame.select(schema.names()).cast(schema)  # type: ignore[arg-type]
    except pl.exceptions.PolarsError:
        raise InputError(
            f"Cannot restore {where}: its columns have other types than a closedloop export's."
        ) from None


def _backup_currency(folder: Path) -> str | None:
    """Return the currency an export recorded in ``meta.json`` (``None`` when absent)."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    currency = meta.get("currency") if isinstance(meta, dict) else None
    return str(currency).upper() if currency else None


@dataclass(frozen=True)
class PersonDeletion:
    """What :meth:`Store.delete_person` removed: the ids, and rows per table.

    Examples
    --------
    >>> PersonDeletion(("u1",), touchpoints=3, conversions=1, identities=0).rows
    4
    """

    ids: tuple[str, ...]
    touchpoints: int = 0
    conversions: int = 0
    identities: int = 0
    accounts: int = 0

    @property
    def rows(self) -> int:
        """Rows removed from every table together."""
        return self.touchpoints + self.conversions + self.identities + self.accounts


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_table_sql(table: str) -> str:
    schema, keys = TABLES[table], KEYS[table]
    columns = []
    for name, dtype in schema.items():
        line = f"{_q(name)} {_SQL_TYPES[dtype]}"
        if name in keys or name in REQUIRED[table]:
            line += " NOT NULL"
        default = _EMPTY_KEY_DEFAULTS.get((table, name))
        if default is not None:
            line += f" DEFAULT '{default}'"
        columns.append(line)
    columns.append(f"PRIMARY KEY ({', '.join(_q(k) for k in keys)})")
    return f"CREATE TABLE IF NOT EXISTS {_q(table)} ({', '.join(columns)})"


def _missing_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Return the ``(table, column)`` pairs of the canonical schemas the store's tables lack."""
    found: dict[str, set[str]] = {}
    for table, column in _run(
        con, "SELECT table_name, column_name FROM information_schema.columns"
    ):
        found.setdefault(table, set()).add(column)
    return [
        (table, name)
        for table, schema in TABLES.items()
        for name in schema.names()
        if table in found and name not in found[table]
    ]


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, day_start(), tzinfo=UTC)


def _as_utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _run(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()
) -> list[tuple[Any, ...]]:
    """Execute one statement to its end and return its rows (DuckDB 2 wants results consumed)."""
    rows: list[tuple[Any, ...]] = con.execute(sql, list(params)).fetchall()
    return rows


def _first(rows: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    return rows[0] if rows else None


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
    """Run one query and return its result as a polars frame (through Arrow)."""
    relation = con.sql(sql, params=list(params))
    if relation is None:
        raise StoreError(f"The store returned no result for: {sql}")
    frame: pl.DataFrame = relation.pl()
    return frame


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise UnknownTableError(table, TABLES)


def _file_state(path: Path) -> tuple[int, ...]:
    """Size and modification time (ns) of the store file and its write-ahead log."""
    state: list[int] = []
    for part in (path, path.with_name(path.name + ".wal")):
        try:
            stat = part.stat()
        except OSError:
            state += [-1, -1]
        else:
            state += [stat.st_size, stat.st_mtime_ns]
    return tuple(state)


def _version(con: duckdb.DuckDBPyConnection) -> int:
    row = _first(_run(con, "SELECT value FROM meta WHERE key = 'data_version'"))
    return int(row[0]) if row else 0


def _bump_version(con: duckdb.DuckDBPyConnection) -> None:
    """Move ``data_version`` on by one, inside the caller's write transaction."""
    _run(
        con,
        "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
        "WHERE key = 'data_version'",
    )


def _normal_currency(code: str) -> str:
    """Return ``code`` as an upper-case ISO 4217 code, or raise :class:`InputError`."""
    normal = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", normal):
        raise InputError(
            f"Currency '{code}' is not a three-letter ISO 4217 code such as USD or EUR."
        )
    return normal


def _apply_currency(con: duckdb.DuckDBPyConnection, code: str, path: Path) -> bool:
    """Set the reporting currency inside the caller's write transaction; say if it changed.

    Refused (:class:`InputError`) while the store holds money in another currency.
    """
    row = _first(_run(con, "SELECT value FROM meta WHERE key = 'currency'"))
    current = str(row[0]) if row else DEFAULT_CURRENCY
    money = _first(
        _run(con, "SELECT (SELECT count(*) FROM conversions), (SELECT count(*) FROM costs)")
    )
    conversions, costs = (int(money[0]), int(money[1])) if money else (0, 0)
    if code != current and (conversions or costs):
        raise InputError(
            f"Cannot change the reporting currency of '{path}' from {current} to {code}: it "
            f"already holds {conversions:,} conversion(s) and {costs:,} cost row(s) in "
            f"{current}. Use a new store, or convert your data to {current}."
        )
    _run(
        con,
        "INSERT INTO meta VALUES ('currency', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [code],
    )
    return code != current


def _read_sql(
    table: str, start: date | None, end: date | None, ts_from: datetime | None
) -> tuple[str, list[object]]:
    """Build the SELECT of one canonical table over an optional period, sorted by key."""
    _check_table(table)
    schema = TABLES[table]
    where: list[str] = []
    params: list[object] = []
    column = _TIME_COLUMN.get(table)
    if column is not None:
        is_date = column == "date"
        if start is not None:
            where.append(f"{_q(column)} >= ?")
            params.append(start if is_date else _utc_midnight(start))
        if end is not None:
            where.append(f"{_q(column)} {'<=' if is_date else '<'} ?")
            params.append(end if is_date else _utc_midnight(date.fromordinal(end.toordinal() + 1)))
        if ts_from is not None:
            where.append(f"{_q(column)} >= ?")
            params.append(_as_utc(ts_from).date() if is_date else _as_utc(ts_from))
    sql = f"SELECT {', '.join(_q(c) for c in schema.names())} FROM {_q(table)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + ", ".join(_q(k) for k in KEYS[table])
    return sql, params


def _canonical(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """UTC timestamps, ``''`` key placeholders back to null, canonical column order and types."""
    schema = TABLES[table]
    fixes = [
        pl.col(c).dt.convert_time_zone("UTC")
        for c, dtype in schema.items()
        if isinstance(dtype, pl.Datetime)
    ]
    fixes += [
        pl.when(pl.col(c) == d).then(None).otherwise(pl.col(c)).alias(c)
        for (t, c), d in _EMPTY_KEY_DEFAULTS.items()
        if t == table
    ]
    return frame.with_columns(fixes).cast(schema).select(schema.names())


_COUNTS_SQL = " UNION ALL ".join(
    f"SELECT '{t}' AS name, count(*) AS n FROM {_q(t)}" for t in TABLES
)


class Snapshot:
    """The store as of one instant: every read of one query, in one transaction.

    Obtained from :meth:`Store.snapshot`; valid only inside its ``with``
    block. Every method reads through the same connection and transaction,
    so the tables agree with each other and with :attr:`data_version`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
    >>> with store.snapshot() as snap:
    ...     snap.data_version, snap.currency, snap.counts()["touchpoints"]
    (0, 'USD', 0)
    """

    def __init__(self, store: Store, con: duckdb.DuckDBPyConnection) -> None:
        self.store = store
        self._con = con
        self.data_version = _version(con)
        """The ``data_version`` these reads see."""
        row = _first(_run(con, "SELECT value FROM meta WHERE key = 'currency'"))
        self.currency = str(row[0]) if row else DEFAULT_CURRENCY
        """The reporting currency (ISO 4217) of the money read."""

    def read(
        self,
        table: str,
        *,
        start: date | None = None,
        end: date | None = None,
        ts_from: datetime | None = None,
    ) -> pl.DataFrame:
        """Read one table as :meth:`Store.read` does, inside this snapshot.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> with store.snapshot() as snap:
        ...     snap.read("identities").columns
        ['anonymous_id', 'user_id']
        """
        sql, params = _read_sql(table, start, end, ts_from)
        return _canonical(table, _frame(self._con, sql, params))

    def copy_to_parquet(self, table: str, path: Path) -> int:
        """Write one table to a Parquet file inside DuckDB (streamed, no copy in Python).

        Columns are the canonical ones, ``''`` key placeholders are written
        as null, timestamps as UTC. Returns the rows written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with Store(root / "s.duckdb").snapshot() as snap:
        ...     snap.copy_to_parquet("costs", root / "costs.parquet")
        0
        """
        _check_table(table)
        columns = []
        for name in TABLES[table].names():
            default = _EMPTY_KEY_DEFAULTS.get((table, name))
            quoted = _q(name)
            columns.append(
                f"NULLIF({quoted}, '{default}') AS {quoted}" if default is not None else quoted
            )
        order = ", ".join(_q(k) for k in KEYS[table])
        select = f"SELECT {', '.join(columns)} FROM {_q(table)} ORDER BY {order}"
        target = str(path).replace("'", "''")
        _run(self._con, "SET TimeZone = 'UTC'")
        _run(self._con, f"COPY ({select}) TO '{target}' (FORMAT parquet)")
        return self.counts()[table]

    def query(self, sql: str, frames: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
        """Run one read-only query of the engine's definition inside this snapshot.

        ``frames`` are registered as views for the query's length (the
        identity-stitching map, for instance), so the query can join them.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> people = pl.DataFrame({"id": ["a"], "person_id": ["p"]})
        >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb").snapshot() as snap:
        ...     snap.query("SELECT count(*) AS n FROM person_map", {"person_map": people})
        shape: (1, 1)
        ┌─────┐
        │ n   │
        │ --- │
        │ i64 │
        ╞═════╡
        │ 1   │
        └─────┘
        """
        names = list(frames or {})
        for name, frame in (frames or {}).items():
            self._con.register(name, frame)
        try:
            _run(self._con, "SET TimeZone = 'UTC'")
            return _frame(self._con, sql)
        finally:
            for name in names:
                self._con.unregister(name)

    def counts(self) -> dict[str, int]:
        """Return the number of rows of every canonical table, inside this snapshot.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").snapshot() as snap:
        ...     snap.counts()
        {'touchpoints': 0, 'conversions': 0, 'costs': 0, 'identities': 0, 'accounts': 0,
        'lift_tests': 0}
        """
        rows = {str(name): int(n) for name, n in _run(self._con, _COUNTS_SQL)}
        return {t: int(rows[t]) for t in TABLES}


def _key_list(table: str, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + _q(k) for k in KEYS[table])


def _staged_frame(table: str, frame: pl.DataFrame, source: int, first_row: int) -> pl.DataFrame:
    """Canonical columns (key placeholders filled) plus ``_source``, ``_row`` and ``_ok``."""
    _check_table(table)
    schema = TABLES[table]
    missing = [c for c in schema.names() if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"Cannot write to {table}: the frame lacks column(s) "
            f"{', '.join(repr(c) for c in missing)}. Validate it first."
        )
    rows = (
        pl.col("_row").cast(pl.Int64)
        if "_row" in frame.columns
        else pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64)
    )
    ok = pl.col("_ok").cast(pl.Boolean) if "_ok" in frame.columns else pl.lit(True)
    fills = {column: d for (t, column), d in _EMPTY_KEY_DEFAULTS.items() if t == table}
    return frame.select(
        *(
            pl.col(c).cast(dtype).fill_null(fills[c]) if c in fills else pl.col(c).cast(dtype)
            for c, dtype in schema.items()
        ),
        pl.lit(source, dtype=pl.Int32).alias("_source"),
        rows.alias("_row"),
        ok.alias("_ok"),
    )


def _key_rows(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``_source``, ``_row`` and the keys, with ``''`` placeholders back to null."""
    schema = TABLES[table]
    keys = KEYS[table]
    fixes = [
        pl.when(pl.col(c) == d).then(None).otherwise(pl.col(c)).alias(c)
        for (t, c), d in _EMPTY_KEY_DEFAULTS.items()
        if t == table
    ]
    return (
        frame.select(
            pl.col("_source").cast(pl.Int32),
            pl.col("_row").cast(pl.Int64),
            *(pl.col(k).cast(schema[k]) for k in keys),
        )
        .with_columns(fixes)
        .sort("_source", "_row")
    )


class Staging:
    """Rows gathered for one write, then written at once by :meth:`finish`.

    Obtained from :meth:`Store.staging`. :meth:`stage` takes the rows of a
    table batch by batch (held in memory up to ``STAGE_MEMORY_ROWS`` per
    table, in Parquet files beside the store beyond); :meth:`finish` writes
    everything in one transaction of the store, as one ingest: for a key
    staged from several sources the row of the highest ``source`` wins,
    and counts are of the rows that remain. Within one source a key must
    appear once among the rows to write (:meth:`key_collisions` finds the
    repeats, which :meth:`finish` can leave out).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
    >>> _ = store.upsert("identities", pl.DataFrame({"anonymous_id": ["a1"], "user_id": ["u1"]}))
    >>> first = pl.DataFrame({"anonymous_id": ["a1", "a2"], "user_id": ["u1", "u1"]})
    >>> with store.staging() as staging:
    ...     staging.stage("identities", first, source=0)
    ...     staging.stage("identities", first.head(1), source=1)
    ...     staging.finish()
    {'identities': UpsertCounts(inserted=1, updated=0, unchanged=1)}
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._folder: Path | None = None
        self._memory: dict[str, list[pl.DataFrame]] = {}
        self._memory_rows: dict[str, int] = {}
        self._parts: dict[str, list[Path]] = {}
        self._rows: dict[str, int] = {}
        self._next_row: dict[tuple[str, int], int] = {}
        self._finished = False
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def stage(self, table: str, frame: pl.DataFrame, *, source: int = 0) -> None:
        """Add rows of one table to write.

        Parameters
        ----------
        table
            A canonical table name.
        frame
            The rows in the table's canonical columns (others are ignored),
            plus optionally ``_row`` (their row in the source; by default
            numbered on from the rows staged before from that source) and
            ``_ok`` (``False`` keeps a row for :meth:`key_collisions` but
            never writes it).
        source
            Which input the rows came from: for a key staged from several
            sources, the row of the highest one is written.

        Raises
        ------
        UnknownTableError, MissingColumnsError
            When ``table`` is not canonical or ``frame`` lacks a column.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> with store.staging() as staging:
        ...     staging.stage("identities", pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"]}))
        ...     staging.rows("identities")
        1
        """
        if self._finished:
            raise StoreError("This staging was written already; start another one.")
        first_row = self._next_row.get((table, source), 1)
        staged = _staged_frame(table, frame, source, first_row)
        self._next_row[(table, source)] = first_row + staged.height
        self._rows[table] = self._rows.get(table, 0) + staged.height
        self._memory.setdefault(table, []).append(staged)
        self._memory_rows[table] = self._memory_rows.get(table, 0) + staged.height
        if self._memory_rows[table] >= STAGE_MEMORY_ROWS:
            self._spill(table)

    def rows(self, table: str) -> int:
        """Return how many rows of ``table`` were staged.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").staging() as staging:
        ...     staging.rows("costs")
        0
        """
        return self._rows.get(table, 0)

    def _spill(self, table: str) -> None:
        """Write the rows of ``table`` held in memory to a new Parquet file."""
        frames = self._memory.pop(table, [])
        self._memory_rows[table] = 0
        if not frames:
            return
        if self._folder is None:
            _sweep_staging(self.store.path)
            self._folder = Path(
                tempfile.mkdtemp(
                    prefix=f".{self.store.path.name}.staging-{os.getpid()}-",
                    dir=self.store.path.parent,
                )
            )
        parts = self._parts.setdefault(table, [])
        path = self._folder / f"{table}-{len(parts):06d}.parquet"
        frame = pl.concat(frames, how="vertical")
        self._wait()  # one file in flight at a time: memory stays bounded
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging")
        self._pending = self._writer.submit(
            frame.write_parquet, path, compression="lz4", statistics=False
        )
        parts.append(path)

    def _wait(self) -> None:
        """Wait for the Parquet file being written, raising its error if it failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _in_memory(self, table: str) -> pl.DataFrame:
        frames = self._memory.get(table, [])
        if frames:
            return pl.concat(frames, how="vertical")
        return _staged_frame(table, pl.DataFrame(schema=TABLES[table]), 0, 1)

    def _parquet(self, table: str) -> str:
        """Return the SQL reading every spilled row of ``table``, spilling what memory held."""
        self._spill(table)
        self._wait()
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in self._parts[table])
        return f"read_parquet([{files}])"

    def key_collisions(self, table: str) -> pl.DataFrame:
        """Return the rows whose key may repeat one of another row of the same source.

        Every row of a key staged twice or more from one source is returned,
        and perhaps a few others (spilled rows are compared by a 64-bit hash
        of their key, so rows of different keys may collide): check the
        returned rows exactly (see :func:`ingest.validate.duplicate_issues`).

        Returns
        -------
        polars.DataFrame
            ``_source``, ``_row`` and the key columns (canonical types, an
            absent campaign as null), sorted by source and row.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> rows = pl.DataFrame({"anonymous_id": ["a", "b", "a"], "user_id": ["u", "u", "u"]})
        >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").staging() as staging:
        ...     staging.stage("identities", rows)
        ...     staging.key_collisions("identities")["_row"].to_list()
        [1, 3]
        """
        _check_table(table)
        keys = list(KEYS[table])
        if not self._parts.get(table):
            frame = self._in_memory(table)
            repeated = frame.filter(pl.struct("_source", *keys).is_duplicated())
            return _key_rows(table, repeated)
        assert self._folder is not None
        listed = _key_list(table)
        sql = (
            f"WITH s AS (SELECT _source, _row, {listed}, hash({listed}) AS _h "
            f"FROM {self._parquet(table)}) "
            f"SELECT s._source, s._row, {_key_list(table, 's')} FROM s SEMI JOIN "
            "(SELECT _source, _h FROM s GROUP BY _source, _h HAVING count(*) > 1) c "
            "ON s._source = c._source AND s._h = c._h ORDER BY s._source, s._row"
        )
        spill = str(self._folder / "spill").replace("'", "''")
        con = duckdb.connect(
            ":memory:", config={"memory_limit": _COLLISION_MEMORY, "temp_directory": spill}
        )
        try:
            return _key_rows(table, _frame(con, sql))
        finally:
            con.close()

    def finish(
        self, exclude: Mapping[str, pl.DataFrame] | None = None, *, currency: str | None = None
    ) -> dict[str, UpsertCounts]:
        """Write every staged row in one transaction of the store, and return the counts.

        Parameters
        ----------
        exclude
            Per table, rows (``_source``, ``_row``) to leave out: repeats of
            a key within a source, for instance.
        currency
            Set the reporting currency in the same transaction (refused, with
            nothing written, while the store holds money in another one).

        Returns
        -------
        dict[str, UpsertCounts]
            Per staged table (canonical order): rows inserted, updated and
            unchanged, counting for a key staged from several sources only
            the row written.

        Raises
        ------
        StoreBusyError
            When another process holds the store.
        StoreError
            When DuckDB refuses the write (a key twice in one source, for
            instance); nothing was written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> rows = pl.DataFrame({"anonymous_id": ["a", "b", "a"], "user_id": ["u", "u", "u"]})
        >>> with store.staging() as staging:
        ...     staging.stage("identities", rows)
        ...     staging.finish(exclude={"identities": pl.DataFrame({"_source": [0], "_row": [3]})})
        {'identities': UpsertCounts(inserted=2, updated=0, unchanged=0)}
        """
        if self._finished:
            raise StoreError("This staging was written already; start another one.")
        self._finished = True
        tables = [t for t in TABLES if t in self._rows]
        normal = _normal_currency(currency) if currency is not None else None
        if not tables and normal is None:
            return {}
        spilled = any(self._parts.get(t) for t in tables)
        with self.store._transaction(tables[0] if tables else None, any_order=spilled) as con:
            changed = normal is not None and _apply_currency(con, normal, self.store.path)
            counts = {t: self._write(con, t, (exclude or {}).get(t)) for t in tables}
            if changed or any(c.inserted or c.updated for c in counts.values()):
                _bump_version(con)
        return counts

    def _write(
        self, con: duckdb.DuckDBPyConnection, table: str, exclude: pl.DataFrame | None
    ) -> UpsertCounts:
        """Write the staged rows of one table inside the caller's transaction."""
        registered: list[str] = []
        if self._parts.get(table):
            relation = self._parquet(table)
        else:
            relation = f"_staged_{table}"
            con.register(relation, self._in_memory(table))
            registered.append(relation)
        where = "s._ok"
        if exclude is not None and exclude.height:
            con.register(
                "_excluded",
                exclude.select(pl.col("_source").cast(pl.Int32), pl.col("_row").cast(pl.Int64)),
            )
            registered.append("_excluded")
            where += (
                " AND NOT EXISTS (SELECT 1 FROM _excluded x"
                " WHERE x._source = s._source AND x._row = s._row)"
            )
        casts = ", ".join(
            f"CAST(s.{_q(c)} AS {_SQL_TYPES[dtype]}) AS {_q(c)}"
            for c, dtype in TABLES[table].items()
        )
        incoming = f"SELECT {casts}, s._source FROM {relation} s WHERE {where}"
        try:
            return self._write_passes(con, table, incoming)
        finally:
            for name in registered:
                con.unregister(name)

    def _write_passes(
        self, con: duckdb.DuckDBPyConnection, table: str, incoming: str
    ) -> UpsertCounts:
        """Write ``incoming`` in passes over hash partitions of the key, to bound memory."""
        row = _first(_run(con, f"SELECT count(*) FROM {_q(table)}"))
        target_rows = int(row[0]) if row else 0
        sources = len({s for t, s in self._next_row if t == table})
        if target_rows == 0 and sources == 1:
            passes = 1
        else:
            passes = max(1, math.ceil(max(self.rows(table), target_rows) / PASS_ROWS))
        keys = _key_list(table)
        counts = UpsertCounts()
        for number in range(passes):
            part, partition = incoming, "TRUE"
            if passes > 1:
                part = f"SELECT * FROM ({part}) WHERE hash({keys}) % {passes} = {number}"
                partition = f"hash({_key_list(table, 't')}) % {passes} = {number}"
            if sources > 1:
                latest = f"max(_source) OVER (PARTITION BY {keys})"
                part = f"SELECT * FROM ({part}) QUALIFY _source = {latest}"
            counts += _write_part(con, table, part, empty=target_rows == 0, partition=partition)
        return counts

    def close(self) -> None:
        """Forget the staged rows and remove their files (done when the ``with`` block ends).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Staging(Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")).close()
        """
        self._memory.clear()
        self._parts.clear()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
            self._pending = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _sweep_staging(store_path: Path) -> None:
    """Remove staging folders beside the store left by processes that no longer run.

    A killed ingest cannot remove its own folder; its name carries its pid.
    """
    for folder in store_path.parent.glob(f".{store_path.name}.staging-*"):
        pid = folder.name.rsplit(".staging-", 1)[1].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive, under another user
            continue


def _write_part(
    con: duckdb.DuckDBPyConnection,
    table: str,
    part: str,
    *,
    empty: bool,
    partition: str = "TRUE",
) -> UpsertCounts:
    """Insert new keys and update changed rows of one part (keys unique) of the staged rows.

    ``partition`` is the condition on the table's rows (alias ``t``) that can
    match the part: the same hash partition of the key. It keeps the table's
    side of the insert's anti-join small; the other joins build on the part.
    """
    keys, columns = KEYS[table], TABLES[table].names()
    values = [c for c in columns if c not in keys]
    t = _q(table)
    column_list = ", ".join(_q(c) for c in columns)
    if empty:
        row = _first(
            _run(con, f"INSERT INTO {t} ({column_list}) SELECT {column_list} FROM ({part})")
        )
        return UpsertCounts(inserted=int(row[0]) if row else 0)
    match = " AND ".join(f"t.{_q(k)} = i.{_q(k)}" for k in keys)
    differs = " OR ".join(f"t.{_q(c)} IS DISTINCT FROM i.{_q(c)}" for c in values) or "FALSE"
    first_key = f"t.{_q(keys[0])}"
    row = _first(
        _run(
            con,
            f"SELECT count(*), count({first_key}), count(*) FILTER (WHERE {first_key} IS NOT NULL"
            f" AND ({differs})) FROM ({part}) i LEFT JOIN {t} t ON {match}",
        )
    )
    total, matched, updated = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
    inserted = total - matched
    if updated:
        selected = ", ".join(f"i.{_q(c)}" for c in columns)
        _run(
            con,
            f"CREATE OR REPLACE TEMP TABLE _changes AS SELECT {selected} FROM ({part}) i"
            f" JOIN {t} t ON {match} WHERE {differs}",
        )
        try:
            assignments = ", ".join(f"{_q(c)} = i.{_q(c)}" for c in values)
            _run(con, f"UPDATE {t} AS t SET {assignments} FROM _changes i WHERE {match}")
        finally:
            _run(con, "DROP TABLE _changes")
    if inserted:
        _run(
            con,
            f"INSERT INTO {t} ({column_list}) SELECT {column_list} FROM ({part}) i"
            f" WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE {match} AND {partition})",
        )
    return UpsertCounts(inserted, updated, total - inserted - updated)


class Store:
    """The canonical tables in one DuckDB file; see the module docstring.

    Parameters
    ----------
    path
        The DuckDB file, created (with its tables) when absent. Defaults to
        :func:`default_db_path`. ``:memory:`` is refused: every operation
        opens its own connection, which would see a new empty database.
    wait_seconds
        How long an operation waits for another process to release the file
        before raising :class:`StoreBusyError`.

    Raises
    ------
    StoreBusyError
        When another process holds the file for longer than ``wait_seconds``.
    StoreError
        When the file cannot be opened as a closedloop store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
    >>> identities = pl.DataFrame({"anonymous_id": ["a1", "a2"], "user_id": ["u1", "u1"]})
    >>> store.upsert("identities", identities)
    UpsertCounts(inserted=2, updated=0, unchanged=0)
    >>> store.upsert("identities", identities)
    UpsertCounts(inserted=0, updated=0, unchanged=2)
    >>> store.counts()
    {'touchpoints': 0, 'conversions': 0, 'costs': 0, 'identities': 2, 'accounts': 0,
    'lift_tests': 0}
    >>> store.currency
    'USD'
    """

    def __init__(self, path: str | Path | None = None, *, wait_seconds: float = 10.0) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        if str(path) == ":memory:":
            raise StoreError(
                "The store cannot be ':memory:': every operation opens its own connection. "
                "Give a file path."
            )
        self.wait_seconds = wait_seconds
        key = self._key = str(self.path.resolve())
        with _locks_guard:
            self._write_lock = _write_locks.setdefault(key, threading.Lock())
            self._open_lock = _open_locks.setdefault(key, threading.Lock())
        with self._write_lock, self._connect() as con:
            for table in TABLES:
                _run(con, _create_table_sql(table))
            _run(
                con,
                "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
            )
            _run(
                con,
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [str(SCHEMA_VERSION)],
            )
            _run(con, "INSERT INTO meta VALUES ('data_version', '0') ON CONFLICT DO NOTHING")
            row = _first(_run(con, "SELECT value FROM meta WHERE key = 'schema_version'"))
            version = int(row[0]) if row else SCHEMA_VERSION
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The store '{self.path}' has schema version {version}, newer than the "
                    f"version {SCHEMA_VERSION} this closedloop reads. Upgrade closedloop."
                )
            self._upgrade(con, version)

    @staticmethod
    def _upgrade(con: duckdb.DuckDBPyConnection, version: int) -> None:
        """Bring an older store to this layout in one transaction.

        The migration of every schema change that adds a column: each
        canonical column a table lacks is added, nullable (null in the rows
        already there), and the ``schema_version`` is raised. A current store
        costs one catalogue query and no write.
        """
        missing = _missing_columns(con)
        if version == SCHEMA_VERSION and not missing:
            return
        _run(con, "BEGIN TRANSACTION")
        try:
            for table, name in missing:
                dtype = _SQL_TYPES[TABLES[table][name]]
                _run(con, f"ALTER TABLE {_q(table)} ADD COLUMN {_q(name)} {dtype}")
            _run(
                con,
                "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                [str(SCHEMA_VERSION)],
            )
            _run(con, "COMMIT")
        except BaseException:
            _run(con, "ROLLBACK")
            raise

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def _busy(self, exc: Exception, table: str | None) -> StoreBusyError:
        pid = re.search(r"PID (\d+)", str(exc))
        holder = f" (pid {pid.group(1)})" if pid else ""
        route = f"/v1/ingest/{table or '{table}'}"
        return StoreBusyError(
            f"The store '{self.path}' is locked by another process{holder}: is "
            "`closedloop serve` or another ingest using it? Retry, or ingest through the "
            f"running server: POST {route}."
        )

    @contextmanager
    def _connect(self, table: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection for one operation, waiting while another process holds the file."""
        check_cancelled()  # a cancelled request's work stops here; its queries can be interrupted
        deadline = time.monotonic() + self.wait_seconds
        pause = _FIRST_PAUSE
        while True:
            try:
                # Opening and closing are serialised within the process: a connect racing
                # the close of the last connection to the same file fails in DuckDB with
                # "Unique file handle conflict". The work in between runs concurrently.
                with self._open_lock:
                    con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"Cannot open the store '{self.path}': {exc}") from exc
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._busy(exc, table) from None
                time.sleep(min(pause, left))
                pause = min(pause * 2, _MAX_PAUSE)
            except duckdb.Error as exc:
                # DuckDB 2 now and then refuses a connect that races the release of the
                # previous instance in this process ("Unique file handle conflict"); it is
                # transient, so it is retried like a lock held by another process.
                transient = "file handle conflict" in str(exc).lower()
                left = deadline - time.monotonic()
                if not transient or left <= 0:
                    raise StoreError(f"Cannot open the store '{self.path}': {exc}") from exc
                time.sleep(min(pause, left))
                pause = min(pause * 2, _MAX_PAUSE)
        try:
            limit = duckdb_memory_limit()
            if limit is not None:
                _run(con, f"SET memory_limit = '{limit}'")
            with watch(con):
                yield con
        finally:
            with self._open_lock:
                con.close()

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> object:
        with self._connect() as con:
            row = _first(_run(con, sql, list(params)))
        return row[0] if row else None

    def upsert(self, table: str, frame: pl.DataFrame) -> UpsertCounts:
        """Insert new keys and update changed rows of one table, in one transaction.

        Parameters
        ----------
        table
            A canonical table name.
        frame
            Rows in the table's canonical schema (extra columns are ignored).
            When a key appears more than once, the last row wins.

        Returns
        -------
        UpsertCounts
            Rows inserted (new key), updated (key present, some value
            different) and unchanged (key present, same values).

        Raises
        ------
        UnknownTableError
            When ``table`` is not a canonical table.
        MissingColumnsError
            When ``frame`` lacks a canonical column.
        StoreBusyError
            When another process holds the store.
        StoreError
            When DuckDB refuses the write; nothing was written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> pairs = pl.DataFrame({"anonymous_id": ["a1"], "user_id": ["u1"]})
        >>> store.upsert("identities", pairs)
        UpsertCounts(inserted=1, updated=0, unchanged=0)
        """
        return self.upsert_many([(table, frame)])[0]

    def upsert_many(
        self, batches: Sequence[tuple[str, pl.DataFrame]], *, currency: str | None = None
    ) -> list[UpsertCounts]:
        """Upsert several (table, frame) batches in a single transaction.

        One ingest of several files, or of several tables, is one call: if any
        batch fails, none is written.

        Parameters
        ----------
        batches
            ``(table, frame)`` pairs, applied in order (a later batch of the
            same table wins over an earlier one for a repeated key).
        currency
            Set the reporting currency in the same transaction (refused, with
            nothing written, while the store holds money in another one).

        Returns
        -------
        list[UpsertCounts]
            The counts of every batch, in order.

        Raises
        ------
        UnknownTableError, MissingColumnsError, StoreBusyError, StoreError
            As :meth:`upsert`; nothing was written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> pairs = pl.DataFrame({"anonymous_id": ["a1"], "user_id": ["u1"]})
        >>> store.upsert_many([("identities", pairs), ("identities", pairs)])
        [UpsertCounts(inserted=1, updated=0, unchanged=0),
         UpsertCounts(inserted=0, updated=0, unchanged=1)]
        """
        prepared = [(table, self._prepare(table, frame)) for table, frame in batches]
        first_table = prepared[0][0] if prepared else None
        normal = _normal_currency(currency) if currency is not None else None
        with self._transaction(first_table) as con:
            changed = normal is not None and _apply_currency(con, normal, self.path)
            counts = [self._upsert_one(con, table, frame) for table, frame in prepared]
            if changed or any(c.inserted or c.updated for c in counts):
                _bump_version(con)
        return counts

    @contextmanager
    def _transaction(
        self, table: str | None = None, *, any_order: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction: committed when the block ends, rolled back on any error.

        ``any_order`` lets DuckDB store the rows of a large insert in any order
        (``preserve_insertion_order``, a setting of the whole database, is put
        back afterwards): faster, and less memory.
        """
        with self._write_lock, self._connect(table) as con:
            relaxed = False
            if any_order:
                row = _first(_run(con, "SELECT current_setting('preserve_insertion_order')"))
                relaxed = bool(row[0]) if row else False
            if relaxed:
                _run(con, "SET preserve_insertion_order = false")
            try:
                _run(con, "BEGIN TRANSACTION")
                try:
                    yield con
                    _run(con, "COMMIT")
                except BaseException as exc:
                    _run(con, "ROLLBACK")
                    if isinstance(exc, duckdb.Error):
                        raise StoreError(
                            f"Writing to the store '{self.path}' failed; nothing was written: {exc}"
                        ) from exc
                    raise
            finally:
                if relaxed:
                    _run(con, "SET preserve_insertion_order = true")

    @contextmanager
    def staging(self) -> Iterator[Staging]:
        """Gather rows batch by batch, then write them all in one transaction.

        The rows wait in memory, or in Parquet files in a temporary folder
        beside the store once there are many, until :meth:`Staging.finish`
        writes them; the store is not opened before then. The folder is
        removed when the block ends, whatever happens.

        Yields
        ------
        Staging

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> pairs = pl.DataFrame({"anonymous_id": ["a1"], "user_id": ["u1"]})
        >>> with store.staging() as staging:
        ...     staging.stage("identities", pairs)
        ...     staging.finish()
        {'identities': UpsertCounts(inserted=1, updated=0, unchanged=0)}
        """
        staging = Staging(self)
        try:
            yield staging
        finally:
            staging.close()

    @staticmethod
    def _prepare(table: str, frame: pl.DataFrame) -> pl.DataFrame:
        """Canonical columns in order and types, one row per key, SQL-friendly keys.

        An optional column the frame lacks (one added to the schema after the
        frame's code was written, such as ``conversions.account_id`` or
        ``conversions.pipeline``) is written as null; a required one is an error.
        """
        _check_table(table)
        schema = TABLES[table]
        missing = [c for c in REQUIRED[table] + KEYS[table] if c not in frame.columns]
        if missing:
            raise MissingColumnsError(
                f"Cannot write to {table}: the frame lacks column(s) "
                f"{', '.join(repr(c) for c in dict.fromkeys(missing))}. Validate it first."
            )
        absent = [
            pl.lit(None, schema[c]).alias(c) for c in schema.names() if c not in frame.columns
        ]
        out = frame.with_columns(absent).select(schema.names()).cast(schema)
        for (name_table, column), default in _EMPTY_KEY_DEFAULTS.items():
            if name_table == table:
                out = out.with_columns(pl.col(column).fill_null(default))
        return out.unique(subset=list(KEYS[table]), keep="last", maintain_order=True)

    def _upsert_one(
        self, con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame
    ) -> UpsertCounts:
        """Count, then write, one prepared batch inside the caller's transaction."""
        keys, columns = KEYS[table], TABLES[table].names()
        values = [c for c in columns if c not in keys]
        t, i = _q(table), "_incoming"
        match = " AND ".join(f"t.{_q(k)} = i.{_q(k)}" for k in keys)
        differs = " OR ".join(f"t.{_q(c)} IS DISTINCT FROM i.{_q(c)}" for c in values) or "FALSE"
        same = " AND ".join(f"t.{_q(c)} IS NOT DISTINCT FROM i.{_q(c)}" for c in values) or "TRUE"
        con.register(i, frame)
        try:
            row = _first(
                _run(
                    con,
                    "SELECT"
                    f" count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE {match})),"
                    f" count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {t} t WHERE {match}"
                    f" AND ({differs}))) FROM {i} i",
                )
            )
            inserted, updated = (int(row[0]), int(row[1])) if row else (0, 0)
            if inserted or updated:
                column_list = ", ".join(_q(c) for c in columns)
                on_conflict = (
                    "DO UPDATE SET " + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in values)
                    if values
                    else "DO NOTHING"
                )
                _run(
                    con,
                    f"INSERT INTO {t} ({column_list}) SELECT {column_list} FROM {i} i"
                    f" WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE {match} AND {same})"
                    f" ON CONFLICT ({', '.join(_q(k) for k in keys)}) {on_conflict}",
                )
        finally:
            con.unregister(i)
        return UpsertCounts(inserted, updated, frame.height - inserted - updated)

    def read(
        self,
        table: str,
        *,
        start: date | None = None,
        end: date | None = None,
        ts_from: datetime | None = None,
    ) -> pl.DataFrame:
        """Read one table as a polars frame in its canonical schema.

        Parameters
        ----------
        table
            A canonical table name.
        start, end
            Inclusive UTC dates on ``ts`` (touchpoints, conversions) or
            ``date`` (costs): ``end=date(2024, 3, 31)`` keeps all of 31 March.
            Ignored for identities, which have no time.
        ts_from
            Keep rows at or after this instant (naive means UTC); for costs,
            rows on or after its UTC date.

        Returns
        -------
        polars.DataFrame
            The rows sorted by key; timestamps are ``Datetime("us", "UTC")``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> store.read("costs")
        shape: (0, 6)
        ┌──────┬─────────┬──────────┬───────┬─────────────┬────────┐
        │ date ┆ channel ┆ campaign ┆ spend ┆ impressions ┆ clicks │
        │ ---  ┆ ---     ┆ ---      ┆ ---   ┆ ---         ┆ ---    │
        │ date ┆ str     ┆ str      ┆ f64   ┆ i64         ┆ i64    │
        ╞══════╪═════════╪══════════╪═══════╪═════════════╪════════╡
        └──────┴─────────┴──────────┴───────┴─────────────┴────────┘
        """
        with self.snapshot() as snap:
            return snap.read(table, start=start, end=end, ts_from=ts_from)

    def counts(self) -> dict[str, int]:
        """Return the number of rows of every canonical table.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").counts()
        {'touchpoints': 0, 'conversions': 0, 'costs': 0, 'identities': 0, 'accounts': 0,
        'lift_tests': 0}
        """
        with self.snapshot() as snap:
            return snap.counts()

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Read several tables as of one instant: one connection, one transaction.

        Everything read through the yielded :class:`Snapshot` comes from the
        same committed state of the store, so an ingest of several tables that
        commits meanwhile is seen entirely or not at all. Keep the block
        short: the store file is held for its duration.

        Yields
        ------
        Snapshot

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> with store.snapshot() as snap:
        ...     conversions = snap.read("conversions")
        ...     costs = snap.read("costs")
        >>> conversions.height, costs.height
        (0, 0)
        """
        state = _file_state(self.path)
        with self._connect() as con:
            _run(con, "BEGIN TRANSACTION")
            try:
                snap = Snapshot(self, con)
                yield snap
            finally:
                _run(con, "ROLLBACK")
        with _locks_guard:
            _seen_versions[self._key] = (state, snap.data_version)

    def delete_person(
        self, user_id: str, *, follow_identities: bool = True, max_component_size: int | None = None
    ) -> PersonDeletion:
        """Delete every row of one person, in one transaction (the right to erasure).

        Parameters
        ----------
        user_id
            Any id of the person: a CRM id, a cookie, an email hash.
        follow_identities
            Also delete the rows of every id stitched to it through the
            identity pairs (the person as reports see them). An id in an
            oversized component (see :func:`ingest.stitch_identities`) is
            not merged in reports, so only its own rows go.
        max_component_size
            The stitching cap reports use (default: theirs).

        Returns
        -------
        PersonDeletion
            The ids deleted and the rows removed from each table.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> _ = store.upsert("identities", pl.DataFrame({"anonymous_id": ["c1"],
        ...     "user_id": ["crm-7"]}))
        >>> store.delete_person("crm-7")
        PersonDeletion(ids=('c1', 'crm-7'), touchpoints=0, conversions=0, identities=1, accounts=0)
        """
        from ingest.identity import DEFAULT_MAX_COMPONENT_SIZE, stitch_identities

        cap = max_component_size or DEFAULT_MAX_COMPONENT_SIZE
        with self._transaction("identities") as con:
            ids = {user_id}
            if follow_identities:
                pairs = _frame(con, "SELECT anonymous_id, user_id FROM identities")
                persons = stitch_identities(pairs, max_component_size=cap).mapping
                mine = persons.filter(pl.col("id") == user_id)
                if not mine.is_empty():
                    person = mine["person_id"][0]
                    ids |= set(persons.filter(pl.col("person_id") == person)["id"].to_list())
            listed = sorted(ids)
            removed = {}
            for table, where in (
                ("touchpoints", "user_id IN (SELECT UNNEST(?))"),
                ("conversions", "user_id IN (SELECT UNNEST(?))"),
                (
                    "identities",
                    "anonymous_id IN (SELECT UNNEST(?)) OR user_id IN (SELECT UNNEST(?))",
                ),
                ("accounts", "user_id IN (SELECT UNNEST(?))"),
            ):
                params = [listed] * where.count("?")
                row = _first(_run(con, f"SELECT count(*) FROM {_q(table)} WHERE {where}", params))
                removed[table] = int(row[0]) if row else 0
                if removed[table]:
                    _run(con, f"DELETE FROM {_q(table)} WHERE {where}", params)
            if any(removed.values()):
                _bump_version(con)
        return PersonDeletion(tuple(listed), **removed)

    def export(self, folder: str | Path) -> dict[str, int]:
        """Write every table to ``folder/<table>/part-00000.parquet`` from one snapshot.

        ``folder/meta.json`` records the reporting ``currency`` and the
        ``data_version`` exported.

        The layout is the Parquet lake the Spark engine reads (a folder per
        canonical table, canonical columns, UTC timestamps) and serves as a
        backup. Everything is written to a sibling temporary folder first and
        moved into place at the end, so a failed export leaves ``folder`` as it
        was; tables already in ``folder`` are replaced.

        Parameters
        ----------
        folder
            Where to write; created when absent.

        Returns
        -------
        dict[str, int]
            Rows written per table.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> store = Store(root / "demo.duckdb")
        >>> _ = store.upsert("identities", pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"]}))
        >>> store.export(root / "lake")
        {'touchpoints': 0, 'conversions': 0, 'costs': 0, 'identities': 1, 'accounts': 0,
        'lift_tests': 0}
        >>> pl.read_parquet(root / "lake" / "identities").to_dicts()
        [{'anonymous_id': 'a', 'user_id': 'u'}]
        """
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target))
        written: dict[str, int] = {}
        try:
            with self.snapshot() as snap:
                for table in TABLES:
                    (staging / table).mkdir()
                    written[table] = snap.copy_to_parquet(
                        table, staging / table / "part-00000.parquet"
                    )
                meta = {"currency": snap.currency, "data_version": snap.data_version}
            (staging / "meta.json").write_text(json.dumps(meta) + "\n", encoding="utf-8")
            for table in TABLES:
                final = target / table
                if final.exists():
                    shutil.rmtree(final)
                (staging / table).rename(final)
            (staging / "meta.json").replace(target / "meta.json")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return written

    def restore(self, folder: str | Path) -> dict[str, UpsertCounts]:
        """Load a folder written by :meth:`export` back into the store, in one transaction.

        Into an empty store this restores the exported one exactly (rows and
        reporting currency); into a store holding data it is an upsert, the
        backup's row winning for a key both hold. Every table present in
        ``folder`` is read (``folder/<table>/`` of Parquet parts, or
        ``folder/<table>.parquet``); absent tables are left alone.

        Returns
        -------
        dict[str, UpsertCounts]
            Per table read: rows inserted, updated, unchanged.

        Raises
        ------
        InputError
            When the folder holds no table, a file is damaged or not a
            closedloop export (the message names the table and file, not
            the folder), or the backup's currency differs from the store's
            while the store holds money; nothing was written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> first = Store(root / "a.duckdb")
        >>> _ = first.upsert("identities", pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"]}))
        >>> _ = first.export(root / "backup")
        >>> Store(root / "b.duckdb").restore(root / "backup")["identities"]
        UpsertCounts(inserted=1, updated=0, unchanged=0)
        """
        source = Path(folder)
        frames: list[tuple[str, pl.DataFrame]] = []
        for table in TABLES:
            parts = _backup_parts(source, table)
            for part in parts:
                frames.append((table, _read_backup_part(table, part)))
        if not frames:
            raise InputError(
                f"'{source.name}' holds no table of a closedloop export (touchpoints/, "
                "conversions/, costs/, identities/, accounts/, lift_tests/). Write one with: "
                "closedloop export --out DIR."
            )
        currency = _backup_currency(source)
        if currency is not None and currency != self.currency:
            self.check_currency(currency)  # refused before any work while money in another is held
        with self.staging() as staging:
            for table, frame in frames:
                staging.stage(table, frame)
            # The currency is set in the rows' own transaction: a crash leaves neither.
            return staging.finish(currency=currency)

    def data_version(self) -> int:
        """Return the store's ``data_version``: it moves with every committed change.

        Answered from memory while the store file and its write-ahead log
        have the size and modification time they had when the number was
        last read (any commit, from any process, changes one of them);
        otherwise read from the store.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> before = store.data_version()
        >>> _ = store.upsert("identities", pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"]}))
        >>> store.data_version() == before + 1
        True
        """
        state = _file_state(self.path)
        with _locks_guard:
            seen = _seen_versions.get(self._key)
        if seen is not None and seen[0] == state:
            return seen[1]
        with self._connect() as con:
            version = _version(con)
        with _locks_guard:
            _seen_versions[self._key] = (state, version)
        return version

    def stages(self) -> list[str]:
        """Return the distinct conversion stages in the store, sorted.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").stages()
        []
        """
        with self._connect() as con:
            rows = _run(con, "SELECT DISTINCT stage FROM conversions ORDER BY stage")
        return [str(r[0]) for r in rows]

    def distinct_names(self, table: str, column: str) -> list[str]:
        """Return the distinct non-null values of a text column of one table, sorted.

        The loose cost-name match reads the touches' channels and campaigns
        with it (see :mod:`ingest.cost_names`).

        Raises
        ------
        UnknownTableError, InputError
            When ``table`` is not canonical, or ``column`` is not one of its text columns.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").distinct_names(
        ...     "touchpoints", "channel")
        []
        """
        _check_table(table)
        if TABLES[table].get(column) != pl.String:
            raise InputError(f"{table} has no text column {column!r}.")
        default = _EMPTY_KEY_DEFAULTS.get((table, column))
        blank = f" AND {_q(column)} <> '{default}'" if default is not None else ""
        sql = (
            f"SELECT DISTINCT {_q(column)} FROM {_q(table)} "
            f"WHERE {_q(column)} IS NOT NULL{blank} ORDER BY 1"
        )
        with self._connect() as con:
            rows = _run(con, sql)
        return [str(r[0]) for r in rows]

    @property
    def currency(self) -> str:
        """The reporting currency (ISO 4217) all money in the store is in; ``USD`` by default.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").currency
        'USD'
        """
        value = self._scalar("SELECT value FROM meta WHERE key = 'currency'")
        return str(value) if value is not None else DEFAULT_CURRENCY

    def set_currency(self, code: str) -> None:
        """Set the reporting currency; allowed only while no money is stored.

        Parameters
        ----------
        code
            A three-letter ISO 4217 code, in any case (``eur`` is ``EUR``).

        Raises
        ------
        InputError
            When ``code`` is not three letters, or the store already holds
            conversions or costs in another currency.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb")
        >>> store.set_currency("eur")
        >>> store.currency
        'EUR'
        """
        normal = _normal_currency(code)
        with self._transaction() as con:
            if _apply_currency(con, normal, self.path):
                _bump_version(con)

    def check_currency(self, code: str) -> str:
        """Return ``code`` normalised if the store may take it as its currency, else raise.

        Reads only: use it to refuse early, before reading files, what a write
        with ``currency=`` would refuse.

        Raises
        ------
        InputError
            When ``code`` is not three letters, or the store holds money in another currency.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").check_currency("eur")
        'EUR'
        """
        normal = _normal_currency(code)
        with self._connect() as con:
            _run(con, "BEGIN TRANSACTION")
            try:
                _apply_currency(con, normal, self.path)
            finally:
                _run(con, "ROLLBACK")
        return normal

    def date_range(self) -> tuple[date, date] | None:
        """Return the first and last UTC day with a conversion, or None when there is none.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb").date_range() is None
        True
        """
        with self._connect() as con:
            frame = _frame(con, "SELECT min(ts) AS lo, max(ts) AS hi FROM conversions")
        lo, hi = frame.select(pl.col("lo", "hi").dt.convert_time_zone("UTC").dt.date()).row(0)
        if lo is None or hi is None:
            return None
        return lo, hi
