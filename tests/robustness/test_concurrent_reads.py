"""Readers during single- and multi-table ingests: every read sees a committed state, never half.

A *torn read* is a read that sees part of a write: some tables (or some
rows) before an ingest and others after it, or a ``data_version`` that does
not go with the rows. Checked two ways, with seeded data:

1. **Snapshots in one process** (the API server's situation): a writer
   thread runs, in turn, a single-table ingest (``ingest_files``: 400k
   touchpoints, staged in Parquet files), a multi-table one
   (``Store.restore`` of a three-table export) and an in-memory
   ``Store.upsert_many`` of touchpoints and conversions, while reader threads
   loop over ``Store.snapshot()``: ``data_version``, currency, the row counts
   and a hash of every row of touchpoints, conversions and costs, all in one
   snapshot. After each step the writer records the committed state.
2. **HTTP, and a writer in another process**: the API server (uvicorn, real
   HTTP, in this process) on a copy of the store; reader threads poll
   ``GET /v1/health`` (counts, currency and ``data_version`` from one
   snapshot) while an upload ingests touchpoints through the server, then
   while a ``closedloop import`` *process* writes three tables into the same
   file. Reads that the other process's file lock holds up past the server's
   wait would answer 503 (allowed, counted); the import may not fail.

In both, every observation must equal one of the committed states exactly,
and each reader's observations must move forward through them (never back:
``data_version`` is monotone). To be sure reads do land inside a write
transaction, each in-process write is *held* open for :data:`HOLD` seconds
after all its rows are written and ``data_version`` is bumped, just before
COMMIT (``ingest.store._bump_version`` wrapped): there must be reads during
every hold, and each must see the state before that write. The number of
holds also proves each step is exactly one transaction.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest

import ingest.store as store_module
from attribution.schema import TABLES
from ingest import Store, ingest_files
from tests.robustness.conftest import (
    SEED,
    Dataset,
    cli,
    cli_env,
    conversions,
    touchpoints,
)

pytestmark = pytest.mark.robustness

READERS = 3
"""Reader threads per test."""

HOLD = 0.3
"""Seconds each in-process write transaction is held open, rows written, before COMMIT."""

Observation = tuple[object, ...]


def _fingerprint(store: Store) -> Observation:
    """``data_version``, currency, counts and row hashes, all from one snapshot."""
    with store.snapshot() as snap:
        counts = snap.counts()
        hashes = tuple(
            snap.query(f"SELECT sum(hash(t)) AS h FROM {table} t").item()
            for table in ("touchpoints", "conversions", "costs")
        )
        return (snap.data_version, snap.currency, *(counts[t] for t in TABLES), *hashes)


@dataclass
class Readers:
    """Reader threads that call ``observe`` in a loop and keep what each one saw."""

    observe: Callable[[], Observation | None]
    pause: float = 0.0
    seen: list[list[tuple[float, Observation]]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    skipped: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _loop(self, mine: list[tuple[float, Observation]]) -> None:
        try:
            while not self._stop.is_set():
                observation = self.observe()
                if observation is None:
                    self.skipped += 1
                else:
                    mine.append((time.monotonic(), observation))
                time.sleep(self.pause)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.errors.append(exc)

    @contextmanager
    def running(self) -> Iterator[Readers]:
        """Run :data:`READERS` threads for the length of the block."""
        threads = []
        for _ in range(READERS):
            mine: list[tuple[float, Observation]] = []
            self.seen.append(mine)
            threads.append(threading.Thread(target=self._loop, args=(mine,), daemon=True))
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=60)

    def check(
        self,
        committed: list[Observation],
        windows: list[tuple[float, float]],
        holds: list[tuple[int, float, float]],
    ) -> str:
        """Assert no torn or backward read, and only *before* reads in every hold; summarise.

        ``windows`` are the (start, end) of each write step, ``holds`` the
        (step, start, end) of each held-open transaction. A read is timed when
        it has finished, so one timed inside the hold of step ``k`` started
        before that write committed and must see state ``k``.
        """
        assert not self.errors, self.errors
        order = {state: i for i, state in enumerate(committed)}
        assert len(order) == len(committed), "two steps left the same state: nothing to tell"
        for number, mine in enumerate(self.seen):
            last = 0
            for _, observation in mine:
                assert observation in order, (
                    f"reader {number} saw a state that was never committed (a torn read): "
                    f"{observation}; committed: {committed}"
                )
                assert order[observation] >= last, (
                    f"reader {number} went back from state {last} to {order[observation]}"
                )
                last = order[observation]
        reads = [(when, order[o]) for mine in self.seen for when, o in mine]
        held = []
        for step, start, end in holds:
            inside = [state for when, state in reads if start <= when <= end]
            assert inside, f"no read finished while the write of step {step} was held open"
            assert set(inside) == {step}, (
                f"reads during the uncommitted write of step {step} saw states {set(inside)}"
            )
            held.append(len(inside))
        during = [sum(start <= when <= end for when, _ in reads) for start, end in windows]
        assert all(during), f"no read during some write (reads per write: {during})"
        distinct = len({state for _, state in reads})
        return (
            f"{len(reads)} reads by {READERS} readers, {distinct} of {len(committed)} committed "
            f"states seen, reads during each write {during}, of which inside its open "
            f"transaction {held}; 0 torn, 0 backward; {self.skipped} answered busy"
        )


def _report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        sys.stdout.write(f"\n[robustness] {line}\n")


@pytest.fixture
def holds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Hold every write transaction of this process open :data:`HOLD` s before its COMMIT.

    Returns the list the (start, end) of each hold is appended to.
    """
    original = store_module._bump_version
    seen: list[tuple[float, float]] = []

    def bump_then_hold(con: duckdb.DuckDBPyConnection) -> None:
        original(con)
        start = time.monotonic()
        time.sleep(HOLD)
        seen.append((start, time.monotonic()))

    monkeypatch.setattr(store_module, "_bump_version", bump_then_hold)
    return seen


def test_snapshots_in_threads_never_see_half_of_an_ingest(
    dataset: Dataset,
    tmp_path: Path,
    holds: list[tuple[float, float]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(dataset.copy_base(tmp_path / "store.duckdb"), wait_seconds=60)
    extra = [
        ("touchpoints", touchpoints(50_000, SEED + 30, first=1_000_000)),
        ("conversions", conversions(5_000, SEED + 31, first=1_000_000)),
    ]
    steps: list[Callable[[], object]] = [
        lambda: ingest_files(store, "touchpoints", [dataset.touchpoints_file]),
        lambda: store.restore(dataset.bundle),
        lambda: store.upsert_many(extra),
    ]
    committed = [_fingerprint(store)]
    windows: list[tuple[float, float]] = []
    readers = Readers(lambda: _fingerprint(store), pause=0.02)
    with readers.running():
        time.sleep(0.2)  # the readers are reading before the first write starts
        for step in steps:
            started = time.monotonic()
            step()
            windows.append((started, time.monotonic()))
            committed.append(_fingerprint(store))
        time.sleep(0.2)
    assert len(holds) == len(steps), f"{len(holds)} write transactions for {len(steps)} steps"
    versions = [int(str(state[0])) for state in committed]
    assert versions == list(range(versions[0], versions[0] + len(steps) + 1)), versions
    numbered = [(k, start, end) for k, (start, end) in enumerate(holds)]
    _report(capsys, "in-process snapshots: " + readers.check(committed, windows, numbered))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(db: Path) -> Iterator[str]:
    """The API server (uvicorn, real HTTP) on ``db`` in a thread of this process."""
    import uvicorn

    from api.http.app import create_app
    from api.http.settings import Settings

    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(db_path=db)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "the server did not answer within 30 s"
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        try:
            yield base
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def _health(client: httpx.Client, base: str) -> Observation | None:
    """``data_version``, currency and counts from ``/v1/health``; None when the store was busy."""
    response = client.get(f"{base}/v1/health", timeout=60)
    if response.status_code == 503:
        return None
    assert response.status_code == 200, response.text
    body = response.json()
    return (body["data_version"], body["currency"], *(body["counts"][t] for t in TABLES))


def test_http_readers_never_see_half_of_an_upload_or_of_an_import_from_another_process(
    dataset: Dataset,
    tmp_path: Path,
    holds: list[tuple[float, float]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = dataset.copy_base(tmp_path / "store.duckdb")
    with _server(db) as base, httpx.Client() as client, httpx.Client() as reading:

        def upload() -> None:
            with dataset.touchpoints_file.open("rb") as body:
                response = client.post(
                    f"{base}/v1/ingest/touchpoints",
                    files={"file": (dataset.touchpoints_file.name, body)},
                    headers=dataset.headers,
                    timeout=120,
                )
            assert response.status_code == 200, response.text

        def import_bundle() -> None:
            done = subprocess.run(
                cli("import", str(dataset.bundle), "--db", str(db)),
                env=cli_env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-3000:]

        first = _health(client, base)
        assert first is not None
        committed = [first]
        windows: list[tuple[float, float]] = []
        # A short pause between reads leaves the other process gaps to take the file lock in.
        readers = Readers(lambda: _health(reading, base), pause=0.005)
        with readers.running():
            time.sleep(0.2)
            for step in (upload, import_bundle):
                started = time.monotonic()
                step()
                windows.append((started, time.monotonic()))
                state = _health(client, base)
                assert state is not None
                committed.append(state)
            time.sleep(0.2)
    # The upload's transaction ran in this process (held open); the import's in its own.
    assert len(holds) == 1, f"{len(holds)} write transactions in this process, not 1"
    summary = readers.check(committed, windows, [(0, *holds[0])])
    _report(capsys, "HTTP /v1/health: " + summary)
