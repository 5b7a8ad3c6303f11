"""Shared data and helpers of the robustness tests (``make test-robust``, marker ``robustness``).

The data are seeded and generated here with polars, so every run ingests the
same rows: a *base* store (touchpoints, conversions, costs, identities, USD)
that the tests start from, a touchpoints file that both updates half of the
base's touchpoints and adds as many new ones (so an ingest compares, updates
and inserts, and stages its rows in Parquet files beside the store), and an
export bundle of three tables for ``closedloop import`` (one multi-table
transaction).

:func:`store_state` describes a store exactly: per table, its row count and a
hash of its rows, plus every ``meta`` row (``data_version``, ``currency``,
``schema_version``). Two stores with equal states hold the same rows and the
same metadata (up to a 64-bit hash collision). Where the server takes writes
only with an API key, the base store holds a ``write`` key for the uploads.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from attribution.schema import TABLES
from ingest import Store

ROOT = Path(__file__).resolve().parents[2]

SEED = 20240612
"""Seed of every generated row and every random kill point."""

BASE_TOUCHPOINTS = 200_000
"""Touchpoints of the base store (ids 0 .. 199,999)."""

NEW_TOUCHPOINTS = 400_000
"""Touchpoints of the ingested file: ids 0 .. 399,999, so half update the base, half are new."""

BUNDLE_TOUCHPOINTS = 300_000
"""Touchpoints of the export bundle: ids 100,000 .. 399,999 (100k update the base, 200k new)."""

CHANNELS = ("Paid Search", "Email", "Display", "Paid Social", "Direct")
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAYS = 90


def touchpoints(n: int, seed: int, first: int = 0) -> pl.DataFrame:
    """``n`` touchpoints with ids ``first`` .. ``first + n - 1``, in the canonical schema."""
    rng = np.random.default_rng(seed)
    raw = pl.DataFrame(
        {
            "i": np.arange(first, first + n),
            "u": rng.integers(0, max(1, n // 3), n),
            "s": rng.integers(0, DAYS * 86_400, n),
            "c": rng.integers(0, len(CHANNELS), n),
            "k": rng.integers(0, 3, n),
        }
    )
    return raw.select(
        pl.format("t{}", pl.col("i").cast(pl.String).str.zfill(9)).alias("touchpoint_id"),
        pl.format("u{}", pl.col("u").cast(pl.String).str.zfill(7)).alias("user_id"),
        (pl.lit(START) + pl.duration(seconds=pl.col("s"))).alias("ts"),
        pl.col("c")
        .replace_strict(range(len(CHANNELS)), CHANNELS, return_dtype=pl.String)
        .alias("channel"),
        pl.format("campaign_{}", pl.col("k")).alias("campaign"),
        pl.lit(None, pl.String).alias("source"),
        pl.lit(None, pl.String).alias("medium"),
        pl.lit(None, pl.String).alias("interaction"),
    ).cast(TABLES["touchpoints"])


def conversions(n: int, seed: int, first: int = 0) -> pl.DataFrame:
    """``n`` purchases with ids ``first`` .. ``first + n - 1``, in the canonical schema."""
    rng = np.random.default_rng(seed)
    raw = pl.DataFrame(
        {
            "i": np.arange(first, first + n),
            "u": rng.integers(0, max(1, n), n),
            "s": rng.integers(0, DAYS * 86_400, n),
            "r": rng.lognormal(5.0, 0.8, n).round(2),
        }
    )
    return raw.select(
        pl.format("c{}", pl.col("i").cast(pl.String).str.zfill(9)).alias("conversion_id"),
        pl.format("u{}", pl.col("u").cast(pl.String).str.zfill(7)).alias("user_id"),
        (pl.lit(START) + pl.duration(seconds=pl.col("s"))).alias("ts"),
        pl.lit("purchase").alias("stage"),
        pl.col("r").alias("revenue"),
        pl.lit(None, pl.String).alias("owner"),
        pl.lit(None, pl.String).alias("lead_source"),
    ).pipe(canonical, "conversions")


def canonical(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """``frame`` in ``table``'s canonical schema: the optional columns it lacks are null."""
    schema = TABLES[table]
    absent = [pl.lit(None, dtype).alias(c) for c, dtype in schema.items() if c not in frame.columns]
    return frame.with_columns(absent).select(schema.names()).cast(schema)  # type: ignore[arg-type]


def costs(seed: int) -> pl.DataFrame:
    """Daily spend of every channel and campaign over the :data:`DAYS` days."""
    rng = np.random.default_rng(seed)
    days = pl.date_range(START.date(), START.date() + dt.timedelta(days=DAYS - 1), eager=True)
    grid = (
        pl.DataFrame({"date": days})
        .join(pl.DataFrame({"channel": CHANNELS}), how="cross")
        .join(pl.DataFrame({"campaign": [f"campaign_{k}" for k in range(3)]}), how="cross")
    )
    n = grid.height
    return grid.with_columns(
        pl.Series("spend", rng.gamma(2.0, 50.0, n).round(2)),
        pl.Series("impressions", rng.integers(100, 10_000, n)),
        pl.Series("clicks", rng.integers(0, 100, n)),
    ).cast(TABLES["costs"])


def identities(n: int, seed: int) -> pl.DataFrame:
    """``n`` anonymous ids stitched to known users."""
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "anonymous_id": [f"a{i:07d}" for i in range(n)],
            "user_id": [f"u{u:07d}" for u in rng.integers(0, BASE_TOUCHPOINTS // 3, n)],
        }
    )


@dataclass(frozen=True)
class StoreState:
    """What a store holds: per table ``(name, rows, hash of its rows)``, and its ``meta`` rows."""

    tables: tuple[tuple[str, int, str], ...]
    meta: tuple[tuple[str, str], ...]

    @property
    def data_version(self) -> int:
        """The ``data_version`` of this state."""
        return int(dict(self.meta)["data_version"])

    def summary(self) -> str:
        """Row counts and ``data_version``, for messages."""
        rows = ", ".join(f"{t}={n}" for t, n, _ in self.tables)
        return f"{rows}, meta={dict(self.meta)}"


def store_state(path: Path) -> StoreState:
    """Read the exact state of the store at ``path`` through one :meth:`Store.snapshot`.

    A table's content is the sum of DuckDB's 64-bit hash of each of its rows:
    independent of the rows' physical order, and different for any change
    of a value, a row more or a row less (up to hash collisions).
    """
    store = Store(path, wait_seconds=30)
    tables = []
    with store.snapshot() as snap:
        for table in TABLES:
            row = snap.query(f"SELECT count(*) AS n, sum(hash(t)) AS h FROM {table} t").row(0)
            tables.append((table, int(row[0]), str(row[1])))
        meta = snap.query("SELECT key, value FROM meta ORDER BY key")
    return StoreState(tuple(tables), tuple((str(k), str(v)) for k, v in meta.iter_rows()))


def cli(*args: str) -> list[str]:
    """The command line running ``closedloop ARGS`` with this interpreter."""
    return [sys.executable, "-m", "api.cli", *args]


def cli_env() -> dict[str, str]:
    """The environment of a ``closedloop`` subprocess: this source tree first on the path."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``closedloop ARGS`` to its end; fail the test with its stderr if it fails."""
    done = subprocess.run(
        cli(*args), env=cli_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"closedloop {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done


@dataclass(frozen=True)
class Dataset:
    """The files the robustness tests start from (written once per session)."""

    base: Path
    """The base store: never written by a test, which copies it first."""
    touchpoints_file: Path
    """:data:`NEW_TOUCHPOINTS` touchpoints (Parquet): updates half the base and adds as many."""
    bundle: Path
    """A ``closedloop export`` folder: touchpoints, conversions and costs, currency USD."""
    identities_file: Path
    """A small CSV of identities not in the base: a quick write to check a store takes one."""
    headers: dict[str, str]
    """Headers of a write to ``closedloop serve`` on a copy of the base: its API key, if any."""

    def copy_base(self, target: Path) -> Path:
        """Copy the base store to ``target`` (a file path) and return it."""
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.base.read_bytes())
        return target


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Build the seeded base store, the touchpoints file and the export bundle."""
    root = tmp_path_factory.mktemp("robust-data")
    base = root / "base.duckdb"
    store = Store(base)
    store.upsert_many(
        [
            ("touchpoints", touchpoints(BASE_TOUCHPOINTS, SEED)),
            ("conversions", conversions(BASE_TOUCHPOINTS // 10, SEED + 1)),
            ("costs", costs(SEED + 2)),
            ("identities", identities(10_000, SEED + 3)),
        ]
    )
    touchpoints_file = root / "touchpoints.parquet"
    touchpoints(NEW_TOUCHPOINTS, SEED + 10).write_parquet(touchpoints_file)

    headers = {}
    token = _write_token(store)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"

    source = Store(root / "bundle-source.duckdb")
    source.upsert_many(
        [
            (
                "touchpoints",
                touchpoints(BUNDLE_TOUCHPOINTS, SEED + 20, first=BASE_TOUCHPOINTS // 2),
            ),
            ("conversions", conversions(BASE_TOUCHPOINTS // 5, SEED + 21)),
            ("costs", costs(SEED + 22)),
        ]
    )
    bundle = root / "bundle"
    source.export(bundle)
    identities_file = root / "identities.csv"
    pl.DataFrame({"anonymous_id": ["robust-a1"], "user_id": ["robust-u1"]}).write_csv(
        identities_file
    )
    return Dataset(
        base=base,
        touchpoints_file=touchpoints_file,
        bundle=bundle,
        identities_file=identities_file,
        headers=headers,
    )


def _write_token(store: Store) -> str | None:
    """Create a ``write`` API key in ``store`` and return its token (None without API keys)."""
    try:
        keys = importlib.import_module("ingest.keys")
    except ModuleNotFoundError:  # a closedloop whose server takes writes without a key
        return None
    _, token = keys.KeyRing(store).create("robustness", "write")
    return str(token)
