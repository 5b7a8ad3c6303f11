"""The "Pipeline (store → answer)" section of ``benchmarks/BENCHMARKS.md``.

Whole processes, as a user runs them: the seeded service data of
``benchmarks/generate_service_store.py`` is written to a temporary directory,
then every case is one fresh process (``closedloop ...`` or a small child of
this file) timed from spawn to exit. Peak RSS is the largest ``VmHWM`` of any
process of the case's process tree, polled from ``/proc`` every 0.05 s
(``VmHWM`` is a high-water mark, so a poll sees the peak so far; only growth
in a process's last 0.05 s can be missed), so a JVM or a server started by the
case counts. Not ``ru_maxrss``: Linux carries the forking parent's peak across
``exec`` into it.

Cases, per size (touchpoints; about 2.5 per person):

- **polars floor**: read the touchpoints Parquet, sort by person and time,
  join each person's channels into a path string, count the paths.
- **ingest**: ``closedloop ingest touchpoints|conversions|costs`` of the
  Parquet files into a fresh store; **DuckDB INSERT**: a fresh DuckDB file,
  the store's own ``CREATE TABLE`` (``ingest.store._create_table_sql``) and
  ``INSERT INTO touchpoints BY NAME SELECT * FROM read_parquet(...)``.
- **attribute**: ``closedloop attribute --db STORE --model M --format json``.
- **Spark local**: ``closedloop export`` then ``closedloop attribute --engine
  spark --lake LAKE --model markov`` (``local[*]``; includes JVM start).
- **API**: ``benchmarks/api_latency.py`` against ``closedloop serve`` on
  127.0.0.1 (cold request, then warm repeats; p50/p95).

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
TOUCHES_PER_PERSON = 2.53  # generate_service_store.py: 1,011,848 touches of 400,000 persons
DEFAULT_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (20_000,)
MODELS_FULL = ("first_touch", "linear", "markov", "shapley", "time_decay")
MODELS_LARGE = ("markov", "linear")
CLIENTS = 16
"""Concurrent API clients (loopback, bounded: --repeat requests each)."""
API_PATHS = ("/v1/attribution?model=markov", "/v1/attribution?model=linear")
HEADING = "## Pipeline (store → answer)"
INGEST_TARGET = 3.0


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
    command: list[str], cap: float, *, stdout: Path | None = None, cwd: Path = ROOT
) -> dict[str, Any]:
    """Run ``command`` as a fresh process; its wall time, the tree's peak RSS, its exit."""
    with contextlib.ExitStack() as stack:
        err = stack.enter_context(tempfile.TemporaryFile())
        out: Any = stack.enter_context(open(stdout, "wb")) if stdout else subprocess.DEVNULL
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd,
            start_new_session=True,
        )  # fmt: skip
        peak = [0]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_peak(proc.pid))
                if time.perf_counter() - started > cap:
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
        if seconds > cap:
            return {"error": f"capped: killed after {cap:g} s"}
        if proc.returncode != 0:
            err.seek(0)
            lines = [x for x in err.read().decode(errors="replace").splitlines() if x.strip()]
            return {"error": f"failed: {lines[-1] if lines else f'exit {proc.returncode}'}"}
        # Not ``usage.ru_maxrss``: Linux carries the forking parent's high-water mark
        # across exec into it, so it reads this (large) benchmark process's peak.
        return {"seconds": seconds, "peak_kib": peak[0]}


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


def _label(touches: int) -> str:
    if touches >= 1_000_000 and touches % 1_000_000 == 0:
        return f"{touches // 1_000_000}M"
    if touches >= 1_000 and touches % 1_000 == 0:
        return f"{touches // 1_000}k"
    return f"{touches:,}"


def run_size(
    touches: int,
    tmp: Path,
    cap: float,
    quick: bool,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Generate the data of one size and run every case on it, in order."""
    import polars as pl

    label = _label(touches)
    data = tmp / f"data-{touches}"
    store = tmp / f"store-{touches}.duckdb"
    lake = tmp / f"lake-{touches}"
    persons = persons_for(touches)
    progress(f"[pipeline {label}] generating {persons:,} persons …")
    subprocess.run(
        [sys.executable, str(HERE.parent / "generate_service_store.py"), str(data), str(persons)],
        check=True,
        cwd=ROOT,
    )
    counts = {
        table: pl.scan_parquet(data / f"{table}.parquet").select(pl.len()).collect().item()
        for table in ("touchpoints", "conversions", "costs")
    }
    info: dict[str, Any] = {"persons": persons, **counts}
    rows: list[dict[str, Any]] = []
    cl = closedloop()

    def case(name: str, what: str, command: list[str], **extra: Any) -> dict[str, Any]:
        progress(f"[pipeline {label}] {name} …")
        stdout = tmp / "stdout.json"
        result = run_measured(command, cap, stdout=stdout)
        if "seconds" in result and extra.pop("json_out", False):
            with contextlib.suppress(ValueError, OSError):
                result["out"] = json.loads(stdout.read_text().strip().splitlines()[-1])
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
    floor_row = case(
        "polars floor",
        "read Parquet, sort, path per person, count paths",
        [sys.executable, str(HERE), "floor", tp],
        json_out=True,
    )
    info["distinct_paths"] = floor_row.get("out", {}).get("distinct_paths")
    for table in ("touchpoints", "conversions", "costs"):
        case(
            f"ingest {table}",
            f"`closedloop ingest {table}` into a fresh store",
            [*cl, "ingest", table, str(data / f"{table}.parquet"), "--db", str(store)],
            group="ingest",
        )
    insert_row = case(
        "DuckDB INSERT touchpoints",
        "store DDL + `INSERT … SELECT FROM read_parquet`",
        [sys.executable, str(HERE), "insert", str(tmp / f"insert-{touches}.duckdb"), tp],
        json_out=True,
    )
    with contextlib.suppress(OSError):
        (tmp / f"insert-{touches}.duckdb").unlink()
    info["insert_s"] = insert_row.get("out", {}).get("insert_s")
    large = touches >= 5_000_000
    for model in MODELS_LARGE if large else MODELS_FULL:
        case(
            f"attribute {model}",
            "`closedloop attribute --format json`",
            [*cl, "attribute", "--db", str(store), "--model", model, "--format", "json"],
        )
    if not large:
        case(
            "attribute linear --ci 0.95 --bootstrap 200",
            "point estimate + 200 person-level resamples",
            [*cl, "attribute", "--db", str(store), "--model", "linear", "--format", "json",
             "--ci", "0.95", "--bootstrap", "200", "--seed", "0"],
        )  # fmt: skip
    if quick:
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
    if not large:
        repeat = 2 if quick else 5
        report = tmp / "api.json"
        api = case(
            "API server",
            f"`api_latency.py --repeat {repeat}`: start, cold + warm requests",
            [sys.executable, str(HERE.parent / "api_latency.py"), "--db", str(store),
             "--repeat", str(repeat), "--timeout", str(cap), "--json", str(report),
             "--clients", str(CLIENTS), "--paths", *API_PATHS],
        )  # fmt: skip
        if "seconds" in api:
            rows.remove(api)
            server = json.loads(report.read_text())["servers"][0]
            info["api"] = {"repeat": repeat, "startup_s": server["startup_s"], **server}
            info["api"]["peak_kib"] = server.get("vmhwm_kib")
        else:
            info["api"] = {"error": api["error"]}
            rows.remove(api)
    shutil.rmtree(data, ignore_errors=True)
    with contextlib.suppress(OSError):
        store.unlink()
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


def section(
    results: list[dict[str, Any]], command: str, elapsed: float, quick: bool, cap: float
) -> list[str]:
    """The markdown of the pipeline section."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING,
        "",
        *textwrap.wrap(
            "Whole processes, as a user runs them, on the seeded data of "
            "`benchmarks/generate_service_store.py` (8 channels, about 2.5 touches per person, "
            "~5% of persons converting, a daily cost row per channel). Each case is one fresh "
            "process timed from spawn to exit, imports included; *peak RSS* is the largest "
            "`VmHWM` of any process in the case's process tree (a JVM or a server included). "
            "*× floor* divides by the polars floor of the same size: read the touchpoints "
            "Parquet, sort by person and time, join each person's channels into a path string, "
            "count the paths. The store for the `attribute` cases is the one the `ingest` rows "
            "wrote (touchpoints, conversions, costs). Spark and the API run only where "
            "this section says so; 10M runs markov and linear only, and no API. "
            "`python benchmarks/run.py --only pipeline` reruns this section alone and keeps "
            "the rest of the file (`--pipeline-sizes 1000000` for 1M only); a full "
            "`make bench` runs both parts.",
            width=88,
        ),
        "",
        f"- Command: `{command}`",
        f"- Date: {now}; pipeline section {elapsed:,.0f} s; cap {cap:g} s per case",
    ]
    if quick:
        lines.append("- Quick mode: a tiny size only, Spark skipped; not reference figures.")
    lines.append("")
    for result in results:
        info, rows = result["info"], result["rows"]
        label = _label(result["touches"])
        base = next((r for r in rows if r["name"] == "polars floor" and "seconds" in r), None)
        fs = base["seconds"] if base else None
        fp = base["peak_kib"] if base else None
        paths = info.get("distinct_paths")
        lines += [
            f"### {label} touchpoints",
            "",
            f"{info['touchpoints']:,} touchpoints of {info['persons']:,} persons, "
            f"{info['conversions']:,} conversions, {info['costs']:,} cost rows"
            + (f"; {paths:,} distinct paths." if paths else "."),
            "",
            "| case | what | wall | peak RSS (MiB) | × floor (wall) | × floor (peak) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        ingest = [r for r in rows if r.get("group") == "ingest"]
        for r in rows:
            if "seconds" not in r:
                lines.append(f"| {r['name']} | {r['what']} | — | — | — | {r['error']} |")
            else:
                lines.append(
                    f"| {r['name']} | {r['what']} | {_secs(r['seconds'])} "
                    f"| {r['peak_kib'] / 1024:,.0f} | {_x(r['seconds'], fs)} "
                    f"| {_x(r['peak_kib'], fp)} |"
                )
            if ingest and r is ingest[-1] and all("seconds" in i for i in ingest):
                total = sum(i["seconds"] for i in ingest)
                peak = max(i["peak_kib"] for i in ingest)
                lines.append(
                    f"| ingest, all three | sum of the three processes | {_secs(total)} "
                    f"| {peak / 1024:,.0f} | {_x(total, fs)} | {_x(peak, fp)} |"
                )
        lines.append("")
        tp = next((r for r in rows if r["name"] == "ingest touchpoints"), {})
        ins = next((r for r in rows if r["name"].startswith("DuckDB INSERT")), {})
        if "seconds" in tp and "seconds" in ins:
            ratio = tp["seconds"] / ins["seconds"]
            verdict = "met" if ratio <= INGEST_TARGET else "not met"
            inner = info.get("insert_s")
            lines.append(
                f"- Ingest vs DuckDB's own load of the same touchpoints (both whole processes): "
                f"**{ratio:.2f}×** (target ≤ {INGEST_TARGET:g}×: {verdict})"
                + (f"; the INSERT statement alone took {_secs(inner)}." if inner else ".")
            )
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
                f"--repeat {api['repeat']} --clients {CLIENTS}`; milliseconds; one client, then "
                f"{CLIENTS} concurrent clients of {api['repeat']} requests each; × floor divides "
                "by the floor's wall):",
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
