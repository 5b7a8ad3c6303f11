"""The "Pipeline (store → answer)" section of ``benchmarks/BENCHMARKS.md``.

Whole processes, as a user runs them: the seeded data of
``benchmarks/generate_service_store.py`` (10 channels, 60 campaigns, about 3.2
touches per person with a heavy tail, about 3% of persons converting) is
written to a temporary directory, then every case is one fresh process
(``closedloop ...``, a peer of :mod:`benchmarks.peers` or a small child of
this file) timed from spawn to exit. Peak RSS is the largest ``VmHWM`` of any
process of the case's process tree, polled from ``/proc`` every 0.05 s
(``VmHWM`` is a high-water mark, so a poll sees the peak so far; only growth
in a process's last 0.05 s can be missed), so a JVM or a server started by the
case counts. Not ``ru_maxrss``: Linux carries the forking parent's peak across
``exec`` into it.

Cases, per size (touchpoints):

- **polars floor**: read the touchpoints Parquet, sort by person and time,
  join each person's channels into a path string, count the paths.
- **ingest**: ``closedloop ingest touchpoints|conversions|costs`` of the
  Parquet files into a fresh store; **DuckDB INSERT**: a fresh DuckDB file,
  the store's own ``CREATE TABLE`` (``ingest.store._create_table_sql``) and
  ``INSERT INTO touchpoints BY NAME SELECT * FROM read_parquet(...)``.
- **attribute**: ``closedloop attribute --db STORE --model M --format json``
  for every model of ``closedloop models``, and the 200-resample bootstrap.
- **peers** (:mod:`benchmarks.peers`): ChannelAttribution's ``markov_model``
  including the polars path building it needs, and DP6's
  ``marketing-attribution-models`` Markov, on the same Parquet files.
- **Spark local**: ``closedloop export`` then ``closedloop attribute --engine
  spark --lake LAKE --model markov`` (``local[*]``; includes JVM start).
- **API**: ``benchmarks/api_latency.py`` against ``closedloop serve`` on
  127.0.0.1 (cold request, then warm repeats and 16 concurrent clients;
  p50/p95/p99).

From :data:`HUGE` touchpoints on (the 50M size) only the floor, the store,
``attribute --model markov`` and ChannelAttribution run. The store is
built with ``closedloop ingest`` unless its touchpoints ingest passes
:data:`HUGE_INGEST_MEMORY_KIB` of RSS, in which case it is killed and the
touchpoints are loaded with DuckDB's own INSERT instead (the report says so).

Run as a script, this file is the floor and insert children::

    python benchmarks/pipeline.py floor TOUCHPOINTS.parquet
    python benchmarks/pipeline.py insert STORE.duckdb TOUCHPOINTS.parquet
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
TOUCHES_PER_PERSON = 3.186  # generate_service_store.py: 9,956,108 touches of 3,125,000 persons
DEFAULT_SIZES = (1_000_000, 10_000_000, 50_000_000)
QUICK_SIZES = (20_000,)
HUGE = 30_000_000
"""From this many touchpoints on: floor, store, markov and ChannelAttribution only."""
HUGE_INGEST_MEMORY_KIB = 16 * 1024**2
"""Above this RSS a HUGE size's touchpoints ingest is killed; DuckDB INSERT builds the store."""
TARGET_SIZE = 10_000_000
"""The size the issue's targets are stated for."""
QUICK_MODELS = ("first_touch", "linear", "markov", "shapley", "time_decay")
"""The models of ``--quick`` (the smoke test's time budget); full runs take every model."""
CLIENTS = 16
"""Concurrent API clients (loopback, bounded: --repeat requests each)."""
API_REPEAT = 20
"""Warm requests of the one client, and requests of each concurrent client."""
API_PATHS = ("/v1/attribution?model=markov", "/v1/attribution?model=linear")
HEADING = "## Pipeline (store → answer)"
INGEST_TARGET = 3.0
FLOOR_TARGET = 2.0
"""Whole ``attribute --model markov`` process at 10M: at most this many times the floor."""
FIRST_QUERY_TARGET = 2.0
"""First API query after an ingest (cold markov) at 10M: at most this many times the floor."""
WARM_P95_TARGET = 0.050
MEMORY_TARGET_KIB = 2 * 1024**2
"""Peak RSS of ingest, then attribute, at 10M."""
PEER_CA = "ChannelAttribution markov_model"
PEER_DP6 = "DP6 mam run_markov"
BOOTSTRAP = "attribute linear --ci 0.95 --bootstrap 200"
TARGET_ROUNDS = 3
BOUNDED = "attribute markov, DuckDB memory bounded"
BOUNDED_MEMORY = "1GB"
"""``CLOSEDLOOP_DUCKDB_MEMORY`` of the bounded-memory case (from 10M touchpoints on)."""
"""Runs of each case a target compares (floor, `attribute markov`, ChannelAttribution)."""


def _memory_guard_kib() -> int | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(int(line.split()[1]) * 0.8)
    return None


MEMORY_GUARD_KIB = _memory_guard_kib()
"""Any case whose process tree passes 80% of the machine's RAM is killed (not the OOM killer)."""


def persons_for(touches: int) -> int:
    """How many persons the generator needs for about ``touches`` touchpoints."""
    return max(1, round(touches / TOUCHES_PER_PERSON))


def closedloop() -> list[str]:
    """The ``closedloop`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("closedloop")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "api.cli"]


# --------------------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        parent = int(text.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry))
    return tree


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _tree_peak(root: int) -> int:
    tree = _children()
    peak, todo = 0, [root]
    while todo:
        pid = todo.pop()
        peak = max(peak, _hwm(pid))
        todo += tree.get(pid, [])
    return peak


def run_measured(
    command: list[str],
    cap: float,
    *,
    stdout: Path | None = None,
    cwd: Path = ROOT,
    memory_cap_kib: int | None = None,
) -> dict[str, Any]:
    """Run ``command`` as a fresh process; its wall time, the tree's peak RSS, its exit.

    The process tree is killed after ``cap`` seconds, or once its peak RSS
    passes ``memory_cap_kib`` (then the result says so instead of a time).
    """
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(tempfile.TemporaryFile())
        out: Any = stack.enter_context(open(stdout, "wb")) if stdout else subprocess.DEVNULL
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
            start_new_session=True,
        )  # fmt: skip
        peak = [0]
        over_memory = threading.Event()
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_peak(proc.pid))
                if memory_cap_kib and peak[0] > memory_cap_kib:
                    over_memory.set()
                if over_memory.is_set() or time.perf_counter() - started > cap:
                    with contextlib.suppress(OSError):
                        os.killpg(proc.pid, signal.SIGKILL)
                done.wait(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):  # leftovers of the tree (a JVM, a server)
            os.killpg(proc.pid, signal.SIGKILL)
        if over_memory.is_set():
            gib = (memory_cap_kib or 0) / 1024**2
            return {"error": f"capped: killed at {gib:.3g} GiB peak RSS after {seconds:,.0f} s"}
        if seconds > cap:
            return {"error": f"capped: killed after {cap:g} s"}
        if proc.returncode != 0:
            err.seek(0)
            lines = [x for x in err.read().decode(errors="replace").splitlines() if x.strip()]
            return {"error": f"failed: {lines[-1] if lines else f'exit {proc.returncode}'}"}
        # Not ``usage.ru_maxrss``: Linux carries the forking parent's high-water mark
        # across exec into it, so it reads this (large) benchmark process's peak.
        return {"seconds": seconds, "peak_kib": peak[0]}


def median_of_rounds(
    contenders: list[tuple[dict[str, Any], list[str]]],
    cap: float,
    label: str,
    progress: Callable[[str], None],
    rounds: int = TARGET_ROUNDS,
) -> None:
    """Run the targets' cases again, interleaved, and give each row its median wall time.

    A target is a ratio of two of these cases; running them in turn (floor,
    ours, peer, floor, ours, peer ...) lets a drift of the machine's speed
    (another process, the page cache) hit each alike, and the median of
    ``rounds`` runs is not moved by one slow or lucky run. Each row keeps its
    runs (``runs_s``); its peak RSS is the largest of them.
    """
    measured = [(row, command) for row, command in contenders if "seconds" in row]
    for row, _ in measured:
        row["runs_s"] = [row["seconds"]]
    for _ in range(rounds - 1):
        for row, command in measured:
            again = run_measured(command, cap)
            if "seconds" in again:
                row["runs_s"].append(again["seconds"])
                row["peak_kib"] = max(row["peak_kib"], again["peak_kib"])
    for row, _ in measured:
        row["seconds"] = statistics.median(row["runs_s"])
        runs = ", ".join(f"{s:.2f}" for s in row["runs_s"])
        row["what"] += f" (median of {len(row['runs_s'])} interleaved runs: {runs} s)"
        progress(f"[pipeline {label}] {row['name']}: median {row['seconds']:.2f} s of {runs}")


# --------------------------------------------------------------------------- children


def floor(path: str) -> dict[str, int]:
    """The polars floor: touchpoints → each person's path string → path counts."""
    import polars as pl

    counts = (
        pl.scan_parquet(path)
        .select("user_id", "ts", "channel")
        .sort("user_id", "ts")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("channel").str.join(" > ").alias("path"))
        .group_by("path")
        .len()
        .collect()
    )
    return {"distinct_paths": counts.height, "persons": int(counts["len"].sum())}


def insert(store: str, path: str) -> dict[str, Any]:
    """DuckDB's own load: the store's DDL, then one INSERT ... SELECT from the Parquet."""
    import duckdb

    from ingest.store import _create_table_sql

    con = duckdb.connect(store)
    con.execute(_create_table_sql("touchpoints"))
    started = time.perf_counter()
    con.execute("INSERT INTO touchpoints BY NAME SELECT * FROM read_parquet(?)", [path])
    seconds = time.perf_counter() - started
    rows = con.execute("SELECT count(*) FROM touchpoints").fetchone()
    con.close()
    return {"rows": rows[0] if rows else 0, "insert_s": seconds}


# --------------------------------------------------------------------------- cases


def pyspark_available() -> bool:
    """Whether pyspark imports here (the Spark cases need it)."""
    return importlib_util.find_spec("pyspark") is not None


def models() -> list[str]:
    """Every model ``closedloop models`` lists."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from attribution.models import available_models

    return sorted(available_models())


def _label(touches: int) -> str:
    if touches >= 1_000_000 and touches % 1_000_000 == 0:
        return f"{touches // 1_000_000}M"
    if touches >= 1_000 and touches % 1_000 == 0:
        return f"{touches // 1_000}k"
    return f"{touches:,}"


def _json(text: str) -> Any:
    """The JSON a child printed: the whole output, else its last line."""
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(text.strip().splitlines()[-1])


def markov_shares(report: dict[str, Any]) -> dict[str, float]:
    """Each channel's share of the conversions in ``closedloop attribute --format json``."""
    rows = report.get("data") or []
    total = sum(float(r["conversions"]) for r in rows)
    return {str(r["channel"]): float(r["conversions"]) / total for r in rows if total}


def max_share_gap(ours: dict[str, float], theirs: dict[str, float]) -> float:
    """The largest absolute difference between two channel → share mappings."""
    names = set(ours) | set(theirs)
    return max((abs(ours.get(c, 0.0) - theirs.get(c, 0.0)) for c in names), default=0.0)


def run_size(
    touches: int,
    tmp: Path,
    cap: float,
    quick: bool,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Generate the data of one size and run every case on it, in order."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks import peers

    label = _label(touches)
    data = tmp / f"data-{touches}"
    store = tmp / f"store-{touches}.duckdb"
    lake = tmp / f"lake-{touches}"
    persons = persons_for(touches)
    huge = touches >= HUGE
    progress(f"[pipeline {label}] generating {persons:,} persons …")
    began = time.perf_counter()
    generated = subprocess.run(
        [sys.executable, str(HERE.parent / "generate_service_store.py"), str(data), str(persons)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    info: dict[str, Any] = _json(generated.stdout)
    info["generate_s"] = time.perf_counter() - began
    rows: list[dict[str, Any]] = []
    cl = closedloop()

    def case(name: str, what: str, command: list[str], **extra: Any) -> dict[str, Any]:
        progress(f"[pipeline {label}] {name} …")
        stdout = tmp / "stdout.json"
        memory = extra.pop("memory_cap_kib", MEMORY_GUARD_KIB)
        want_json = extra.pop("json_out", False)
        result = run_measured(command, cap, stdout=stdout, memory_cap_kib=memory)
        if "seconds" in result and want_json:
            with contextlib.suppress(ValueError, OSError, IndexError):
                result["out"] = _json(stdout.read_text())
        result.update(name=name, what=what, **extra)
        rows.append(result)
        if "seconds" in result:
            progress(
                f"[pipeline {label}] {name}: {result['seconds']:.2f} s, "
                f"peak {result['peak_kib'] / 1024:,.0f} MiB"
            )
        else:
            progress(f"[pipeline {label}] {name}: {result['error']}")
        return result

    tp = str(data / "touchpoints.parquet")
    cv = str(data / "conversions.parquet")
    floor_row = case(
        "polars floor",
        "read Parquet, sort by person and time, path per person, count paths",
        [sys.executable, str(HERE), "floor", tp],
        json_out=True,
    )
    info["distinct_paths"] = floor_row.get("out", {}).get("distinct_paths")

    def ingest(table: str, **extra: Any) -> dict[str, Any]:
        return case(
            f"ingest {table}",
            f"`closedloop ingest {table}` into "
            + ("a fresh store" if table == "touchpoints" else "the same store"),
            [*cl, "ingest", table, str(data / f"{table}.parquet"), "--db", str(store)],
            group="ingest",
            **extra,
        )

    def duckdb_insert(target: Path, what: str) -> dict[str, Any]:
        row = case(
            "DuckDB INSERT touchpoints",
            what,
            [sys.executable, str(HERE), "insert", str(target), tp],
            json_out=True,
        )
        info["insert_s"] = row.get("out", {}).get("insert_s")
        return row

    if huge:
        memory = HUGE_INGEST_MEMORY_KIB
        if "seconds" not in ingest("touchpoints", memory_cap_kib=memory):
            for leftover in (store, store.with_name(store.name + ".wal")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            duckdb_insert(store, "builds this size's store: store DDL + `INSERT … read_parquet`")
            info["store_note"] = (
                f"`closedloop ingest touchpoints` passed {memory / 1024**2:.3g} GiB of RSS and was "
                "killed, so DuckDB's own INSERT loaded this size's touchpoints into the store "
                "(conversions and costs by `closedloop ingest`)"
            )
        ingest("conversions")
        ingest("costs")
    else:
        for table in ("touchpoints", "conversions", "costs"):
            ingest(table)
        insert_db = tmp / f"insert-{touches}.duckdb"
        duckdb_insert(insert_db, "store DDL + `INSERT … SELECT FROM read_parquet`")
        with contextlib.suppress(OSError):
            insert_db.unlink()
    contenders: list[tuple[dict[str, Any], list[str]]] = [
        (floor_row, [sys.executable, str(HERE), "floor", tp])
    ]
    for model in ["markov"] if huge else QUICK_MODELS if quick else models():
        command = [*cl, "attribute", "--db", str(store), "--model", model, "--format", "json"]
        row = case(
            f"attribute {model}",
            "`closedloop attribute --format json`",
            command,
            json_out=model == "markov",
        )
        if model == "markov":
            info["markov_shares"] = markov_shares(row.pop("out", {}))
            contenders.append((row, command))
    if touches >= TARGET_SIZE and not quick:
        # The same answer with DuckDB held to a memory limit: it spills, and the peak
        # shows what the process needs beyond the engine (what reaches Python).
        case(
            BOUNDED,
            f"`CLOSEDLOOP_DUCKDB_MEMORY={BOUNDED_MEMORY} closedloop attribute --model markov`",
            ["env", f"CLOSEDLOOP_DUCKDB_MEMORY={BOUNDED_MEMORY}", *cl, "attribute", "--db",
             str(store), "--model", "markov", "--format", "json"],
        )  # fmt: skip
    if not huge:
        case(
            BOOTSTRAP,
            "point estimate + 200 person-level resamples",
            [*cl, "attribute", "--db", str(store), "--model", "linear", "--format", "json",
             "--ci", "0.95", "--bootstrap", "200", "--seed", "0"],
        )  # fmt: skip

    # Peers: the same Parquet files, whole processes, path building included.
    peer_info: dict[str, str] = {}
    ca_version = peers.channelattribution_version()
    if ca_version is None:
        peer_info[PEER_CA] = "not installed (`make test` installs it; see the Makefile)"
    else:
        command = [sys.executable, str(HERE.parent / "peers.py"), "ca", tp, cv]
        row = case(
            PEER_CA,
            f"ChannelAttribution {ca_version}: polars paths + `markov_model(order=1)`",
            command,
            json_out=True,
            group="peer",
        )
        contenders.append((row, command))
    if not quick:
        median_of_rounds(contenders, cap, label, progress)
    if huge:
        peer_info[PEER_DP6] = (
            f"skipped from {_label(HUGE)} touchpoints on: its peak RSS grows with the data "
            "(about 1 GiB per million touchpoints; see its 10M row), more than this machine "
            "holds at 50M"
        )
    else:
        reason = peers.ensure_dp6(install=not quick)
        if reason is not None:
            peer_info[PEER_DP6] = reason
        else:
            case(
                PEER_DP6,
                f"marketing-attribution-models {peers.dp6_version()}: "
                '`MAM(format_type="session")` + `run_markov()`',
                [sys.executable, str(HERE.parent / "peers.py"), "dp6", tp, cv],
                json_out=True,
                group="peer",
            )
    info["peers"] = peer_info

    if huge:
        info["spark"] = "not run at this size"
    elif quick:
        info["spark"] = "skipped in quick mode (JVM start alone takes seconds)"
    elif not pyspark_available():
        info["spark"] = "skipped: pyspark is not installed"
    else:
        case(
            "export",
            "`closedloop export --out LAKE`",
            [*cl, "export", "--db", str(store), "--out", str(lake)],
        )
        case(
            "Spark attribute markov",
            "`attribute --engine spark --lake LAKE` (local[*], includes JVM start)",
            [*cl, "attribute", "--engine", "spark", "--lake", str(lake), "--model", "markov",
             "--format", "json"],
        )  # fmt: skip
        shutil.rmtree(lake, ignore_errors=True)
    if not huge:
        repeat = 2 if quick else API_REPEAT
        report = tmp / "api.json"
        api = case(
            "API server",
            f"`api_latency.py --repeat {repeat}`: start, cold + warm requests",
            [sys.executable, str(HERE.parent / "api_latency.py"), "--db", str(store),
             "--repeat", str(repeat), "--timeout", str(cap), "--json", str(report),
             "--clients", str(CLIENTS), "--paths", *API_PATHS],
        )  # fmt: skip
        rows.remove(api)
        if "seconds" in api:
            server = json.loads(report.read_text())["servers"][0]
            info["api"] = {"repeat": repeat, "startup_s": server["startup_s"], **server}
            info["api"]["peak_kib"] = server.get("vmhwm_kib")
        else:
            info["api"] = {"error": api["error"]}
    shutil.rmtree(data, ignore_errors=True)
    for leftover in (store, store.with_name(store.name + ".wal")):
        with contextlib.suppress(OSError):
            leftover.unlink()
    return {"touches": touches, "info": info, "rows": rows}


# --------------------------------------------------------------------------- report


def _secs(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:,.2f} s"


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:,.0f}" if value >= 0.1 else f"{value * 1000:,.1f}"


def _x(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.2g}" if value / base < 10 else f"{value / base:,.0f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _intro() -> list[str]:
    return textwrap.wrap(
        "Whole processes, as a user runs them, on the seeded data of "
        "`benchmarks/generate_service_store.py` (10 channels, 60 campaigns, about 3.2 touches "
        "per person with a heavy tail up to 300, about 3% of persons converting, a daily cost "
        "row per channel and campaign). Each case is one fresh process timed from spawn to "
        "exit, imports included; *peak RSS* is the largest `VmHWM` of any process in the "
        "case's process tree (a JVM or a server included). *× floor* divides by the polars "
        "floor of the same size: read the touchpoints Parquet, sort by person and time, join "
        "each person's channels into a path string, count the paths. *× best peer* divides "
        "the wall time by the fastest peer's whole Markov process on the same files "
        "(ChannelAttribution including the polars path building it needs, or DP6's "
        "marketing-attribution-models, `benchmarks/peers.py`). The store for the `attribute` "
        "cases is the one the `ingest` rows wrote (touchpoints, conversions, costs); every "
        "model of `closedloop models` runs at 1M and 10M. At 50M only the floor, the store, "
        "`attribute --model markov` and ChannelAttribution run (`--pipeline-sizes "
        "1000000,10000000` leaves 50M out). "
        "`python benchmarks/run.py --only pipeline` reruns this section alone and keeps the "
        "rest of the file (`--pipeline-sizes 1000000` for 1M only); a full `make bench` runs "
        "both parts.",
        width=88,
    )


def _peer_lines(info: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    ours = info.get("markov_shares") or {}
    lines = []
    for r in rows:
        if r.get("group") != "peer" or "seconds" not in r:
            continue
        out = r.get("out") or {}
        gap = (
            f"; max abs Δ share vs closedloop's markov: {max_share_gap(ours, out['shares']):.4f}"
            if ours and out.get("shares")
            else ""
        )
        if r["name"] == PEER_CA and "paths_s" in out:
            lines.append(
                f"- {PEER_CA}: {out['distinct_paths']:,} distinct paths; reading and building "
                f"them {_secs(out['paths_s'])}, `markov_model` {_secs(out['model_s'])} (import "
                f"included){gap} (it estimates by simulation, so this is its sampling noise)."
            )
        elif r["name"] == PEER_DP6 and "paths_s" in out:
            lines.append(
                f"- {PEER_DP6}: {out['journeys']:,} journeys; reading and flagging the touches "
                f"{_secs(out['read_s'])}, its journeys {_secs(out['paths_s'])}, `run_markov` "
                f"{_secs(out['model_s'])}{gap} (conversion flags only: its Markov removal "
                "effects take no value)."
            )
    for name, why in (info.get("peers") or {}).items():
        lines.append(f"- {name}: {why}.")
    return lines


def _target_lines(
    touches: int, info: dict[str, Any], rows: list[dict[str, Any]], fs: float | None
) -> list[str]:
    at_target = touches == TARGET_SIZE
    markov = next((r for r in rows if r["name"] == "attribute markov" and "seconds" in r), None)
    ingest = [r for r in rows if r.get("group") == "ingest" and "seconds" in r]
    peers_ = [r for r in rows if r.get("group") == "peer" and "seconds" in r]
    best = min(peers_, key=lambda r: r["seconds"]) if peers_ else None
    parts = []
    if markov and fs:
        ratio = markov["seconds"] / fs
        parts.append(
            f"`attribute --model markov` is **{ratio:.2f}×** the floor"
            + (
                f" (target ≤ {FLOOR_TARGET:g}×: {_verdict(ratio <= FLOOR_TARGET)})"
                if at_target
                else ""
            )
        )
    if markov and best:
        ratio = markov["seconds"] / best["seconds"]
        parts.append(
            f"**{ratio:.2f}×** the best peer end to end ({best['name']})"
            + (f" (target < 1×: {_verdict(ratio < 1)})" if at_target else "")
        )
    if markov and ingest and "store_note" not in info:
        peak = max(r["peak_kib"] for r in [*ingest, markov])
        parts.append(
            f"peak RSS of ingest then attribute: **{peak / 1024:,.0f} MiB**"
            + (f" (target < 2 GiB: {_verdict(peak < MEMORY_TARGET_KIB)})" if at_target else "")
        )
    api = info.get("api") or {}
    first = next((r for r in api.get("results", []) if "model=markov" in r["path"]), None)
    if first and first.get("cold_s") is not None and fs:
        ratio = first["cold_s"] / fs
        parts.append(
            f"first query after an ingest (the API's cold markov request) **{ratio:.2f}×** "
            "the floor"
            + (
                f" (target ≤ {FIRST_QUERY_TARGET:g}×: {_verdict(ratio <= FIRST_QUERY_TARGET)})"
                if at_target
                else ""
            )
        )
    if first and first.get("warm_p95_s") is not None:
        p95 = first["warm_p95_s"]
        parts.append(
            f"warm markov p95 **{_ms(p95)} ms**"
            + (
                f" (target < {WARM_P95_TARGET * 1000:g} ms: {_verdict(p95 < WARM_P95_TARGET)})"
                if at_target
                else ""
            )
        )
    lines = []
    if parts:
        scope = " (the issue's, at 10M)" if at_target else ""
        lines.append(f"- Targets{scope}: " + "; ".join(parts) + ".")
    paths = info.get("distinct_paths")
    if markov and paths:
        lines.append(
            f"- Memory vs distinct paths: {paths:,} distinct paths; `attribute --model markov` "
            f"peak {markov['peak_kib'] / 1024:,.0f} MiB "
            f"({markov['peak_kib'] / paths:,.2f} KiB per distinct path)."
        )
    bounded = next((r for r in rows if r["name"] == BOUNDED and "seconds" in r), None)
    if markov and bounded:
        lines.append(
            f"- With DuckDB held to {BOUNDED_MEMORY} (`CLOSEDLOOP_DUCKDB_MEMORY`; it spills to "
            f"disk beyond) the same answer peaks at {bounded['peak_kib'] / 1024:,.0f} MiB "
            f"(unbounded: {markov['peak_kib'] / 1024:,.0f} MiB) in {_secs(bounded['seconds'])} "
            f"(unbounded: {_secs(markov['seconds'])}): the rest of the peak is what reaches "
            "Python (the converting journeys' events and the distinct steps)."
        )
    return lines


def section(
    results: list[dict[str, Any]], command: str, elapsed: float, quick: bool, cap: float
) -> list[str]:
    """The markdown of the pipeline section."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING,
        "",
        *_intro(),
        "",
        f"- Command: `{command}`",
        f"- Date: {now}; pipeline section {elapsed:,.0f} s; cap {cap:g} s per case",
    ]
    if quick:
        lines.append(
            f"- Quick mode: a tiny size only, models {', '.join(QUICK_MODELS)} only, Spark "
            "skipped; not reference figures."
        )
    lines.append("")
    for result in results:
        info, rows = result["info"], result["rows"]
        label = _label(result["touches"])
        base = next((r for r in rows if r["name"] == "polars floor" and "seconds" in r), None)
        fs = base["seconds"] if base else None
        fp = base["peak_kib"] if base else None
        peers_ = [r for r in rows if r.get("group") == "peer" and "seconds" in r]
        best = min((r["seconds"] for r in peers_), default=None)
        paths = info.get("distinct_paths")
        lines += [
            f"### {label} touchpoints",
            "",
            f"{info['touchpoints']:,} touchpoints of {info['persons']:,} persons "
            f"({info['touchpoints'] / info['persons']:.2f} each), {info['conversions']:,} "
            f"conversions ({info['conversions'] / info['persons']:.1%} of persons), "
            f"{info['costs']:,} cost rows"
            + (f"; {paths:,} distinct paths" if paths else "")
            + f"; generated in {_secs(info['generate_s'])}.",
            "",
            "| case | what | wall | peak RSS (MiB) | × floor (wall) | × floor (peak) "
            "| × best peer (wall) |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        ingest = [r for r in rows if r.get("group") == "ingest"]
        for r in rows:
            if "seconds" not in r:
                lines.append(f"| {r['name']} | {r['what']} | {r['error']} | — | — | — | — |")
            else:
                lines.append(
                    f"| {r['name']} | {r['what']} | {_secs(r['seconds'])} "
                    f"| {r['peak_kib'] / 1024:,.0f} | {_x(r['seconds'], fs)} "
                    f"| {_x(r['peak_kib'], fp)} | {_x(r['seconds'], best)} |"
                )
            if ingest and r is ingest[-1] and all("seconds" in i for i in ingest):
                total = sum(i["seconds"] for i in ingest)
                peak = max(i["peak_kib"] for i in ingest)
                lines.append(
                    f"| ingest, all three | sum of the three processes | {_secs(total)} "
                    f"| {peak / 1024:,.0f} | {_x(total, fs)} | {_x(peak, fp)} "
                    f"| {_x(total, best)} |"
                )
        lines.append("")
        if "store_note" in info:
            lines.append(f"- Store: {info['store_note']}.")
        tp: dict[str, Any] = next((r for r in rows if r["name"] == "ingest touchpoints"), {})
        ins: dict[str, Any] = next((r for r in rows if r["name"].startswith("DuckDB INSERT")), {})
        if "seconds" in tp and "seconds" in ins:
            ratio = tp["seconds"] / ins["seconds"]
            verdict = "met" if ratio <= INGEST_TARGET else "not met"
            inner = info.get("insert_s")
            lines.append(
                f"- Ingest vs DuckDB's own load of the same touchpoints (both whole processes): "
                f"**{ratio:.2f}×** (target ≤ {INGEST_TARGET:g}×: {verdict})"
                + (f"; the INSERT statement alone took {_secs(inner)}." if inner else ".")
            )
        lines += _peer_lines(info, rows)
        lines += _target_lines(result["touches"], info, rows, fs)
        if "spark" in info:
            lines.append(f"- Spark: {info['spark']}.")
        else:
            lines.append(
                "- Spark rows: `closedloop export` writes the Parquet lake; the Spark "
                "`attribute` is one process with a `local[*]` session (JVM start included)."
            )
        api = info.get("api")
        if api and "error" in api:
            lines.append(f"- API: {api['error']}")
        elif api:
            lines += [
                "",
                f"API (`closedloop serve` on 127.0.0.1 via `benchmarks/api_latency.py "
                f"--repeat {api['repeat']} --clients {CLIENTS}`; milliseconds; cold is the first "
                f"request after the server started, then {api['repeat']} warm requests of one "
                f"client, then {CLIENTS} concurrent clients of {api['repeat']} requests each; "
                "× floor divides by the floor's wall):",
                "",
                "| request | status | cold | warm p50 | warm p95 | warm p99 "
                f"| {CLIENTS} clients p50 | p95 | p99 | errors | cold × floor |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for r in api["results"]:
                many = r.get("concurrent") or {}
                lines.append(
                    f"| `{r['path']}` | {r['status']} | {_ms(r.get('cold_s'))} "
                    f"| {_ms(r.get('warm_p50_s'))} | {_ms(r.get('warm_p95_s'))} "
                    f"| {_ms(r.get('warm_p99_s'))} | {_ms(many.get('p50_s'))} "
                    f"| {_ms(many.get('p95_s'))} | {_ms(many.get('p99_s'))} "
                    f"| {many.get('errors', '—')} | {_x(r.get('cold_s'), fs)} |"
                )
            hwm = api.get("peak_kib")
            lines += [
                "",
                f"- Server startup (spawn → first 200 from `/v1/health`) "
                f"{api['startup_s']:.2f} s; server peak RSS "
                + ("n/a" if hwm is None else f"{hwm / 1024:,.0f} MiB ({_x(hwm, fp)}× floor)")
                + ".",
            ]
        lines.append("")
    return lines


def run(
    sizes: list[int], cap: float, quick: bool, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Every size's cases, in a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="closedloop-pipeline-") as tmp:
        return [run_size(size, Path(tmp), cap, quick, progress) for size in sizes]


def main(argv: list[str]) -> int:
    """The floor and insert children."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if argv[:1] == ["floor"]:
        print(json.dumps(floor(argv[1])))
    elif argv[:1] == ["insert"]:
        print(json.dumps(insert(argv[1], argv[2])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
