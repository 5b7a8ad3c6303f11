"""The mart tables of the store: what ``closedloop materialize`` wrote, for BI tools to read.

Tables
------
``mart_attribution``
    One row per run, model, grain, stage, period, channel and campaign:
    ``run_id`` then the columns of :data:`attribution.mart.MART_SCHEMA`.
    A run replaces the rows of its (model, grain, stage) pairs and leaves
    every other pair as it was, so several grains, stages and models live
    side by side.
``mart_run_log``
    One row per run: ``run_id``, ``materialized_at``, ``data_version`` (of
    the data the run read), ``grain``, ``stage``, ``models``,
    ``lookback_days``, ``journey``, ``currency``, ``rows``, ``skipped``
    (models that could not run on the data, as JSON) and ``definition``
    (the run's parameters, as JSON: what ``--refresh`` re-runs).
``mart_runs`` (a view)
    ``mart_run_log`` with two columns computed when it is read: ``current``
    (some rows of ``mart_attribution`` are still this run's) and ``stale``
    (the store's ``data_version`` has moved since the run: an ingest or a
    delete changed the data). Being a view, it is never out of date and an
    ingest pays nothing for it.

The tables are created by the first run. Every run is written in one
transaction (:meth:`Mart.write`): a failure leaves the previous mart as it
was. Writing a mart does not move ``data_version``: it changes no data.

Examples
--------
>>> import tempfile, pathlib
>>> from ingest import Store
>>> mart = Mart(Store(pathlib.Path(tempfile.mkdtemp()) / "m.duckdb"))
>>> mart.runs().height, mart.current()
(0, [])
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from attribution.errors import ParameterError
from attribution.mart import MART_SCHEMA
from ingest.store import Store, _frame, _run

MART_TABLE = "mart_attribution"
"""The long table of credited conversions, revenue and spend."""

RUNS_VIEW = "mart_runs"
"""The runs, with ``current`` and ``stale`` computed when read."""

RUN_LOG_TABLE = "mart_run_log"
"""The runs as written."""

FILE_FORMATS = ("parquet", "csv")
"""What :meth:`Mart.write_files` writes."""

_SQL_TYPES = {
    pl.String(): "VARCHAR",
    pl.Float64(): "DOUBLE",
    pl.Int64(): "BIGINT",
    pl.Date(): "DATE",
}

_CREATE_MART = (
    f"CREATE TABLE IF NOT EXISTS {MART_TABLE} (run_id BIGINT NOT NULL, "
    + ", ".join(f"{name} {_SQL_TYPES[dtype]}" for name, dtype in MART_SCHEMA.items())
    + ")"
)
_CREATE_LOG = f"""
CREATE TABLE IF NOT EXISTS {RUN_LOG_TABLE} (
    run_id BIGINT PRIMARY KEY,
    materialized_at TIMESTAMPTZ NOT NULL,
    data_version BIGINT NOT NULL,
    grain VARCHAR NOT NULL,
    stage VARCHAR NOT NULL,
    models VARCHAR NOT NULL,
    lookback_days DOUBLE NOT NULL,
    journey VARCHAR NOT NULL,
    currency VARCHAR,
    rows BIGINT NOT NULL,
    skipped VARCHAR NOT NULL,
    definition VARCHAR NOT NULL
)"""
_CREATE_VIEW = f"""
CREATE OR REPLACE VIEW {RUNS_VIEW} AS
SELECT log.*,
       log.run_id IN (SELECT DISTINCT run_id FROM {MART_TABLE}) AS current,
       log.data_version <> (
           SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'data_version'
       ) AS stale
FROM {RUN_LOG_TABLE} AS log
ORDER BY log.run_id"""


@dataclass(frozen=True)
class MartRun:
    """One run of ``closedloop materialize``: its rows' labels and how to compute them again.

    Examples
    --------
    >>> run = MartRun("week", "closed_won", ("linear",), {"grain": "week"}, 4)
    >>> run.models, run.lookback_days
    (('linear',), 90.0)
    """

    grain: str
    stage: str
    models: tuple[str, ...]
    definition: dict[str, Any]
    """The parameters the run was asked with (JSON-able): ``--refresh`` re-runs them."""
    data_version: int
    lookback_days: float = 90.0
    journey: str = "person"
    currency: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    """Models asked for (``--models all``) that could not run on the data, with the reason."""
    run_id: int | None = None
    """Given by the store when the run is written."""


def _present(con: duckdb.DuckDBPyConnection) -> bool:
    rows = _run(
        con,
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        [RUN_LOG_TABLE],
    )
    return bool(rows and rows[0][0])


class Mart:
    """The mart tables of one store.

    Parameters
    ----------
    store
        The store whose file holds the tables.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ingest import Store
    >>> Mart(Store(pathlib.Path(tempfile.mkdtemp()) / "m.duckdb")).read().columns[:3]
    ['run_id', 'model', 'grain']
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def write(self, runs: Sequence[tuple[MartRun, pl.DataFrame]]) -> list[int]:
        """Write runs and their rows in one transaction; return their ``run_id``.

        Each run's rows replace those of the same (model, grain, stage).
        On any error nothing is written and the previous mart stays whole.

        Parameters
        ----------
        runs
            ``(run, rows)`` pairs; ``rows`` has the :data:`MART_SCHEMA`
            columns, with the run's grain and stage.

        Examples
        --------
        >>> import tempfile, pathlib, datetime as dt
        >>> from ingest import Store
        >>> mart = Mart(Store(pathlib.Path(tempfile.mkdtemp()) / "m.duckdb"))
        >>> rows = pl.DataFrame({"model": ["linear"], "grain": ["day"], "stage": ["purchase"],
        ...     "period": [dt.date(2024, 1, 1)], "channel": ["Email"], "campaign": ["news"],
        ...     "attributed_conversions": [1.0], "attributed_revenue": [80.0],
        ...     "spend": [None], "impressions": [None], "clicks": [None]}, schema=MART_SCHEMA)
        >>> mart.write([(MartRun("day", "purchase", ("linear",), {}, 0), rows)])
        [1]
        >>> mart.read()["attributed_revenue"].to_list()
        [80.0]
        """
        with self.store._transaction() as con:
            for statement in (_CREATE_MART, _CREATE_LOG, _CREATE_VIEW):
                _run(con, statement)
            return [self._write_one(con, run, rows) for run, rows in runs]

    @staticmethod
    def _write_one(con: duckdb.DuckDBPyConnection, run: MartRun, rows: pl.DataFrame) -> int:
        wrong = rows.filter((pl.col("grain") != run.grain) | (pl.col("stage") != run.stage))
        if not wrong.is_empty():
            raise ParameterError(
                f"Mart rows of grain {wrong['grain'][0]!r}, stage {wrong['stage'][0]!r} cannot "
                f"be written with a run of grain {run.grain!r}, stage {run.stage!r}."
            )
        found = _run(con, f"SELECT coalesce(max(run_id), 0) + 1 FROM {RUN_LOG_TABLE}")
        run_id = int(found[0][0])
        _run(
            con,
            f"INSERT INTO {RUN_LOG_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                datetime.now(UTC),
                run.data_version,
                run.grain,
                run.stage,
                ",".join(run.models),
                run.lookback_days,
                run.journey,
                run.currency,
                rows.height,
                json.dumps(run.skipped, sort_keys=True),
                json.dumps(run.definition, sort_keys=True),
            ],
        )
        _run(
            con,
            f"DELETE FROM {MART_TABLE} WHERE grain = ? AND stage = ? AND list_contains(?, model)",
            [run.grain, run.stage, list(run.models)],
        )
        staged = rows.select(MART_SCHEMA.names()).cast(MART_SCHEMA)
        con.register("_mart_rows", staged)
        try:
            _run(con, f"INSERT INTO {MART_TABLE} SELECT ?, * FROM _mart_rows", [run_id])
        finally:
            con.unregister("_mart_rows")
        return run_id

    def read(self) -> pl.DataFrame:
        """Return every row of ``mart_attribution`` (empty before the first run).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> Mart(Store(pathlib.Path(tempfile.mkdtemp()) / "m.duckdb")).read().height
        0
        """
        schema = pl.Schema([("run_id", pl.Int64()), *MART_SCHEMA.items()])
        empty = pl.DataFrame(schema=schema)
        with self.store._connect() as con:
            if not _present(con):
                return empty
            frame = _frame(
                con,
                f"SELECT * FROM {MART_TABLE} ORDER BY model, grain, stage, period, channel, "
                "campaign",
            )
        return frame.cast(schema)

    def runs(self) -> pl.DataFrame:
        """Return the ``mart_runs`` view: every run, with ``current`` and ``stale``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> Mart(Store(pathlib.Path(tempfile.mkdtemp()) / "m.duckdb")).runs().columns[-2:]
        ['current', 'stale']
        """
        with self.store._connect() as con:
            if not _present(con):
                return pl.DataFrame(
                    schema={
                        "run_id": pl.Int64,
                        "data_version": pl.Int64,
                        "current": pl.Boolean,
                        "stale": pl.Boolean,
                    }
                )
            return _frame(con, f"SELECT * FROM {RUNS_VIEW}")

    def current(self) -> list[MartRun]:
        """Return the runs some rows of the mart still come from, each with those rows' models.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> Mart(Store(pathlib.Path(tempfile.mkdtemp()) / "m.duckdb")).current()
        []
        """
        with self.store._connect() as con:
            if not _present(con):
                return []
            held = _frame(
                con,
                f"SELECT log.*, kept.model FROM {RUN_LOG_TABLE} AS log JOIN "
                f"(SELECT DISTINCT run_id, model FROM {MART_TABLE}) AS kept USING (run_id) "
                "ORDER BY log.run_id, kept.model",
            )
        runs = []
        for (run_id,), group in held.group_by(["run_id"], maintain_order=True):
            row = group.row(0, named=True)
            runs.append(
                MartRun(
                    grain=row["grain"],
                    stage=row["stage"],
                    models=tuple(group["model"].to_list()),
                    definition=json.loads(row["definition"]),
                    data_version=row["data_version"],
                    lookback_days=row["lookback_days"],
                    journey=row["journey"],
                    currency=row["currency"],
                    skipped=json.loads(row["skipped"]),
                    run_id=int(run_id),  # type: ignore[call-overload]
                )
            )
        return runs

    def write_files(self, folder: str | Path, fmt: str = "parquet") -> dict[str, int]:
        """Write ``mart_attribution`` and ``mart_runs`` into ``folder``, one file each.

        ``fmt`` is ``parquet`` (``mart_attribution.parquet``, ``mart_runs.parquet``)
        or ``csv`` (RFC 4180 with a header: for Looker Studio's file upload). Each
        file is written beside its final name and renamed over it, so a reader
        (or a failure halfway) never sees half a file.

        Raises
        ------
        ParameterError
            When ``fmt`` is neither ``parquet`` nor ``csv``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from ingest import Store
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> Mart(Store(folder / "m.duckdb")).write_files(folder / "bi")
        {'mart_attribution': 0, 'mart_runs': 0}
        >>> sorted(p.name for p in (folder / "bi").iterdir())
        ['mart_attribution.parquet', 'mart_runs.parquet']
        """
        if fmt not in FILE_FORMATS:
            raise ParameterError(
                f"Cannot write the mart as {fmt!r}: choose one of {', '.join(FILE_FORMATS)}."
            )
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, frame in ((MART_TABLE, self.read()), (RUNS_VIEW, self.runs())):
            final = out / f"{name}.{fmt}"
            partial = out / f".{name}.{fmt}.partial"
            try:
                if fmt == "csv":
                    frame.write_csv(partial)
                else:
                    frame.write_parquet(partial)
                os.replace(partial, final)
            finally:
                partial.unlink(missing_ok=True)
            written[name] = frame.height
        return written


__all__ = ["FILE_FORMATS", "MART_TABLE", "RUNS_VIEW", "RUN_LOG_TABLE", "Mart", "MartRun"]
