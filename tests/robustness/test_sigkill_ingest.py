"""SIGKILL an ingest at random points: the store must hold exactly the state before or after it.

Checked, for ``closedloop ingest touchpoints FILE`` (one table: 200k rows
updated, 200k inserted, staged in Parquet files beside the store), for
``closedloop import BUNDLE`` (three tables in one transaction) and for an
upload to ``closedloop serve`` (``POST /v1/ingest/touchpoints``):

1. An uninterrupted run into a copy of the base store gives the *after*
   state and the run's duration.
2. Each kill copies the base store, starts the run and sends SIGKILL at a
   seeded random point on one of four clocks, in turn: *start* (drawn across
   the whole run: most land while files are read and rows are staged),
   *write* (from the first change to the store file or its WAL to the end:
   the write of the rows, COMMIT, the checkpoint into the file, the cleanup),
   *commit* (from the moment the WAL appears, which DuckDB creates at COMMIT,
   to the end: the checkpoint of this large write into the file, until which
   a kill leaves the state before, and what follows) and *committed* (from
   the moment the WAL is gone again to the end: removing the staging folder,
   closing, exiting or answering). Each
   clock's interval is measured in the uninterrupted run and cut in strata,
   one kill drawn in each. Runs that end before their kill are not counted.
3. The killed store opens and equals exactly the *before* or the *after*
   state: every table's rows (count and hash) and every ``meta`` row
   (``data_version``, ``currency``). Anything else (a half-written table, a
   ``data_version`` moved without the rows) fails, and the store is kept.
4. A fresh run then succeeds on the killed store (no lock or WAL left behind
   that blocks it): after half of the kills (on every clock) the same ingest
   again, which must give exactly the *after* state; after the others a small
   ingest of identities (cheaper: a process start, an open and a write).

The kill points come from a fixed seed; which of before/after a kill lands on
depends on the machine's speed, so the assertion is always "before or after",
and the tally (printed at the end of each test) must hold a "before" and an
"after" (the kills on the committed clock).
Leftover staging folders (``.STORE.staging-*``) of killed runs are counted
and printed: they are not part of the store's state.

The last test pins a bug it found: ``closedloop import`` of an export whose
currency differs from the store's committed the currency first and the rows
in a second transaction, so a kill in between left a store that was neither
before nor after. The currency now goes in the rows' own transaction.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import httpx
import pytest

from ingest import Store
from tests.robustness.conftest import (
    BASE_TOUCHPOINTS,
    SEED,
    Dataset,
    StoreState,
    cli,
    cli_env,
    run_cli,
    store_state,
    touchpoints,
)

pytestmark = pytest.mark.robustness

CLI_KILLS = {"ingest touchpoints": 12, "import bundle": 8}
"""SIGKILLs of each CLI case (20 in all, plus :data:`SERVER_KILLS`)."""

SERVER_KILLS = 4
"""SIGKILLs of ``closedloop serve`` during an upload."""

MAX_ATTEMPTS = 30
"""Runs per case at most: a run that ends before its kill lands is not a kill (and is redrawn)."""

Clock = Literal["start", "write", "commit", "committed"]


@dataclass
class Tally:
    """Outcomes of the kills of one case."""

    case: str
    outcomes: Counter[str] = field(default_factory=Counter)
    by_clock: Counter[tuple[Clock, str]] = field(default_factory=Counter)
    finished: int = 0
    leftovers: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def kills(self) -> int:
        """Runs that were really killed."""
        return sum(self.outcomes.values())

    def line(self) -> str:
        """One line for the test log."""
        clocks = ", ".join(f"{c}:{o}={n}" for (c, o), n in sorted(self.by_clock.items()))
        return (
            f"[robustness] {self.case}: {self.kills} kills -> before={self.outcomes['before']} "
            f"after={self.outcomes['after']} ({clocks}); {self.finished} runs ended before "
            f"their kill; {self.leftovers} staging folder(s) left behind by killed runs"
        )


def _file_stamp(db: Path) -> tuple[tuple[int, int] | None, ...]:
    """Size and modification time of the store file and its WAL (None when absent)."""
    stamps: list[tuple[int, int] | None] = []
    for path in (db, _wal(db)):
        try:
            stat = path.stat()
        except FileNotFoundError:
            stamps.append(None)
        else:
            stamps.append((stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


def _wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


@dataclass(frozen=True)
class Run:
    """How a (possibly killed) run went; times in seconds from its start."""

    killed: bool
    seconds: float
    """To its exit (or its kill)."""
    first_write: float | None = None
    """To the first change to the store file or its WAL."""
    wal_seen: float | None = None
    """To the first sight of the WAL (DuckDB writes it when the transaction commits)."""
    wal_gone: float | None = None
    """To the first moment the WAL was gone again (the commit checkpointed into the file)."""

    def origin(self, clock: Clock) -> float | None:
        """When ``clock`` starts in this run (None: not yet)."""
        origins = {
            "start": 0.0,
            "write": self.first_write,
            "commit": self.wal_seen,
            "committed": self.wal_gone,
        }
        return origins[clock]


def _watch(
    db: Path,
    alive: Callable[[], bool],
    kill: Callable[[], None],
    at: tuple[Clock, float] | None,
    timeout: float = 120,
) -> Run:
    """Poll the store's files every millisecond until the run ends, killing it at ``at``."""
    started = time.monotonic()
    stamp = _file_stamp(db)
    marks: dict[str, float] = {}
    while alive():
        now = time.monotonic() - started
        assert now < timeout, f"the run did not end within {timeout} s"
        current = _file_stamp(db)
        if current != stamp:
            marks.setdefault("first_write", now)
        if current[1] is not None:
            marks.setdefault("wal_seen", now)
        elif "wal_seen" in marks:
            marks.setdefault("wal_gone", now)
        if at is not None:
            origin = _marked(False, now, marks).origin(at[0])
            if origin is not None and now >= origin + at[1]:
                kill()
                return _marked(True, now, marks)
        time.sleep(0.001)
    return _marked(False, time.monotonic() - started, marks)


def _marked(killed: bool, seconds: float, marks: dict[str, float]) -> Run:
    return Run(
        killed, seconds, marks.get("first_write"), marks.get("wal_seen"), marks.get("wal_gone")
    )


def _run_process(args: list[str], db: Path, at: tuple[Clock, float] | None) -> Run:
    """Run ``closedloop ARGS`` on ``db``; SIGKILL it at ``at`` (see :func:`_watch`)."""
    process = subprocess.Popen(
        args, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        run = _watch(
            db,
            lambda: process.poll() is None,
            lambda: process.send_signal(signal.SIGKILL),
            at,
        )
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if run.killed and process.returncode == 0:  # it exited just before the signal
        run = replace(run, killed=False)
    if run.killed:
        assert process.returncode == -signal.SIGKILL, err[-3000:]
    else:
        assert process.returncode == 0, err[-3000:]
    return run


CLOCKS: tuple[Clock, ...] = ("start", "write", "commit", "committed")


def _kill_point(
    rng: random.Random, reference: Run, kill: int, kills: int, misses: int
) -> tuple[Clock, float]:
    """Where to put the ``kill``-th kill: on the start, write, commit and committed clocks in turn.

    A clock's interval runs from its origin in the uninterrupted reference run
    to that run's end. It is cut in as many equal strata as the clock has
    kills, and the point is drawn uniformly in the clock's next stratum, so
    the kills spread across the whole interval. After ``misses`` runs that
    ended before this kill, the point is drawn again and halved that often.
    """
    clock = CLOCKS[kill % len(CLOCKS)]
    origin = reference.origin(clock)
    if origin is None:  # the reference run never wrote (or its WAL came and went unseen)
        clock, origin = "start", 0.0
    span = reference.seconds - origin
    strata = max(1, math.ceil(kills / len(CLOCKS)))
    stratum = min(kill // len(CLOCKS), strata - 1)
    return clock, span * (stratum + rng.random()) / strata / 2**misses


def _staging_leftovers(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f".{db.name}.staging-*"))


def _outcome(state: StoreState, before: StoreState, after: StoreState) -> str:
    if state == before:
        return "before"
    if state == after:
        return "after"
    return "neither"


def _report(capsys: pytest.CaptureFixture[str], tally: Tally) -> None:
    with capsys.disabled():
        sys.stdout.write("\n" + tally.line() + "\n")


def _check_kills(
    case: str,
    dataset: Dataset,
    tmp_path: Path,
    run: Callable[[Path, tuple[Clock, float] | None], Run],
    retry: Callable[[Path], None],
    *,
    kills: int,
    seed: int,
) -> Tally:
    """Kill ``run`` ``kills`` times at seeded points; check every killed store (see module doc)."""
    before = store_state(dataset.base)
    reference_db = dataset.copy_base(tmp_path / "reference.duckdb")
    reference = run(reference_db, None)
    after = store_state(reference_db)
    assert after != before, "the uninterrupted run changed nothing: the test would prove nothing"
    assert after.data_version == before.data_version + 1

    rng = random.Random(seed)
    tally = Tally(case)
    misses = 0
    for attempt in range(MAX_ATTEMPTS):
        if tally.kills >= kills:
            break
        db = dataset.copy_base(tmp_path / f"kill-{attempt:02d}" / "store.duckdb")
        clock, delay = _kill_point(rng, reference, tally.kills, kills, misses)
        result = run(db, (clock, delay))
        if not result.killed:
            tally.finished += 1
            misses += 1
            shutil.rmtree(db.parent)
            continue
        misses = 0
        left = _staging_leftovers(db)
        tally.leftovers += len(left)
        state = store_state(db)
        outcome = _outcome(state, before, after)
        tally.outcomes[outcome] += 1
        tally.by_clock[(clock, outcome)] += 1
        where = f"kill {attempt} ({clock} clock, +{delay:.3f} s) of {case}"
        tally.details.append(f"{where}: {outcome}")
        assert outcome != "neither", (
            f"{where} left a store that is neither the state before nor after the ingest:\n"
            f"  found:  {state.summary()}\n  before: {before.summary()}\n"
            f"  after:  {after.summary()}\n  (store kept at {db})"
        )
        kill = tally.kills - 1  # 0-based; every other kill, each clock in turn, runs it all again
        if (kill + kill // len(CLOCKS)) % 2 == 0:
            retry(db)
            assert store_state(db) == after, (
                f"after {where}, a fresh run did not give the after state"
            )
        else:
            run_cli("ingest", "identities", str(dataset.identities_file), "--db", str(db))
            assert store_state(db).data_version == state.data_version + 1
        shutil.rmtree(db.parent)  # kept only when a check fails
    assert tally.kills >= kills, f"only {tally.kills} of {MAX_ATTEMPTS} runs were killed"
    assert tally.outcomes["before"] >= 1, tally.details
    # Kills on the committed clock come after the commit reached the file: they land "after".
    assert tally.outcomes["after"] >= 1, tally.details
    return tally


@pytest.mark.parametrize(
    ("case", "seed"),
    [("ingest touchpoints", SEED), ("import bundle", SEED + 1)],
)
def test_sigkill_during_a_cli_ingest_leaves_the_store_before_or_after(
    case: str,
    seed: int,
    dataset: Dataset,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def args(db: Path) -> list[str]:
        if case == "import bundle":
            return ["import", str(dataset.bundle), "--db", str(db)]
        return ["ingest", "touchpoints", str(dataset.touchpoints_file), "--db", str(db)]

    def run(db: Path, at: tuple[Clock, float] | None) -> Run:
        return _run_process(cli(*args(db)), db, at)

    def retry(db: Path) -> None:
        run_cli(*args(db))

    kills = CLI_KILLS[case]
    tally = _check_kills(case, dataset, tmp_path, run, retry, kills=kills, seed=seed)
    _report(capsys, tally)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(db: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``closedloop serve`` on ``db`` and a free port, up and answering; killed at the end."""
    port = _free_port()
    process = subprocess.Popen(
        cli("serve", "--db", str(db), "--port", str(port)),
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "closedloop serve did not answer within 60 s"
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def _upload(base: str, path: Path, headers: dict[str, str], result: list[int | str]) -> None:
    """POST ``path`` to the server's touchpoints ingest; append the status (or the error)."""
    try:
        with path.open("rb") as body:
            response = httpx.post(
                f"{base}/v1/ingest/touchpoints",
                files={"file": (path.name, body, "application/octet-stream")},
                headers=headers,
                timeout=120,
            )
        result.append(response.status_code)
    except httpx.HTTPError as exc:
        result.append(type(exc).__name__)


def test_sigkill_of_serve_during_an_upload_leaves_the_store_before_or_after(
    dataset: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(db: Path, at: tuple[Clock, float] | None) -> Run:
        with _server(db) as (process, base):
            result: list[int | str] = []
            upload = threading.Thread(
                target=_upload, args=(base, dataset.touchpoints_file, dataset.headers, result)
            )
            upload.start()
            outcome = _watch(db, upload.is_alive, lambda: process.send_signal(signal.SIGKILL), at)
            upload.join(timeout=120)
        if not outcome.killed:
            assert result == [200], result
        return outcome

    def retry(db: Path) -> None:
        run_cli("ingest", "touchpoints", str(dataset.touchpoints_file), "--db", str(db))

    tally = _check_kills(
        "serve upload", dataset, tmp_path, run, retry, kills=SERVER_KILLS, seed=SEED + 2
    )
    _report(capsys, tally)


def test_sigkill_during_an_import_that_changes_the_currency_leaves_before_or_after(
    dataset: Dataset, tmp_path: Path
) -> None:
    base = tmp_path / "base.duckdb"  # no money yet, so an import may change the currency
    Store(base).upsert("touchpoints", touchpoints(BASE_TOUCHPOINTS, SEED))
    bundle = tmp_path / "bundle-eur"
    shutil.copytree(dataset.bundle, bundle)
    meta = json.loads((bundle / "meta.json").read_text(encoding="utf-8"))
    (bundle / "meta.json").write_text(json.dumps({**meta, "currency": "EUR"}), encoding="utf-8")
    before = store_state(base)
    reference = tmp_path / "reference.duckdb"
    shutil.copyfile(base, reference)
    run_cli("import", str(bundle), "--db", str(reference))
    after = store_state(reference)
    assert dict(after.meta)["currency"] == "EUR"

    # Killed while the bundle's rows are staged beside the store (more rows than a staging
    # holds in memory), i.e. after the currency check and before the rows' transaction.
    db = tmp_path / "killed" / "store.duckdb"
    db.parent.mkdir()
    shutil.copyfile(base, db)
    process = subprocess.Popen(
        cli("import", str(bundle), "--db", str(db)), env=cli_env(), stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not _staging_leftovers(db) and process.poll() is None:
            assert time.monotonic() < deadline, "the import staged nothing within 120 s"
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the import ended before it was killed"
    state = store_state(db)
    assert state in (before, after), (
        f"neither before nor after:\n  found:  {state.summary()}\n  before: {before.summary()}"
        f"\n  after:  {after.summary()}"
    )
