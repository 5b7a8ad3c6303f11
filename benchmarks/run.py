"""Benchmark closedloop's attribution engine and write ``benchmarks/BENCHMARKS.md``.

Usage (from the repository root)::

    make bench                                    # = .venv/bin/python benchmarks/run.py
    python benchmarks/run.py --sizes 10000,100000,1000000 --out benchmarks/BENCHMARKS.md
    python benchmarks/run.py --quick --out bench-quick.md  # 10k only, smoke run

How it works:

- For every size, journeys of that many persons are drawn (seeded) from a
  random first-order chain over 8 channels (:mod:`attribution.simulate`),
  conversion revenue is made lognormal, and touchpoints, conversions and the
  aggregated paths are written to Parquet in a temporary directory.
- Every case then runs in its own fresh Python process (``--child``), which
  loads its inputs, resets the kernel's peak-RSS counter
  (``/proc/self/clear_refs`` ← ``5``) and runs the case. Peak memory is the
  process's ``VmHWM`` (``/proc/self/status``) after the case: it counts
  native memory (polars, numpy, scipy) as well as Python objects, which
  ``tracemalloc`` would miss. The RSS the loaded inputs already held is
  reported too, so ``Δ`` is what the case itself added.
- Wall time is ``time.perf_counter``, the best of up to 5 runs for cases
  under 0.5 s, of 3 under 5 s, else a single run. A case that takes longer
  than ``--cap`` seconds (default 300) is killed and reported as capped.
- Where the ``ChannelAttribution`` package imports, its ``markov_model``
  (orders 1–3) runs on the same aggregated paths, and the report gives the
  ratio of our exact chain solve to it and the largest difference between
  the normalised removal effects (shares).

``--quick`` runs every case once at 10k in this process (no subprocesses, no
ChannelAttribution) for the smoke test; its memory column is the in-process
peak and not comparable across cases.

The last section, "Pipeline (store → answer)", is :mod:`benchmarks.pipeline`:
whole ``closedloop`` processes (ingest, every model, the bootstrap, export +
Spark, the API server) and the peers of :mod:`benchmarks.peers`
(ChannelAttribution and DP6's marketing-attribution-models, path building
included) on the data of ``benchmarks/generate_service_store.py`` at
``--pipeline-sizes`` touchpoints (default 1M, 10M and 50M, where only the
floor, the store, markov and ChannelAttribution run; ``--quick``: 20k, five
models, no Spark), each beside a bare polars floor.

After it, "Load (dashboard users)" is :mod:`benchmarks.load`: ``--load-users``
simulated dashboard users (default 50) for ``--load-seconds`` (default 60)
against one ``closedloop serve`` on 127.0.0.1, per store of ``--load-sizes``
touchpoints (default 100k and 1M; ``--quick``: 5 users, 5 s, 20k); p50, p95
and p99 per request kind, errors, requests/s, the server's peak RSS.

``--only engine``, ``--only pipeline`` or ``--only load`` reruns just that part
and keeps the others of ``--out`` as they are. Experiments write elsewhere
with ``--out``::

    python benchmarks/run.py --only pipeline                      # ~10 min here
    python benchmarks/run.py --only pipeline --pipeline-sizes 1000000 --out my-run.md
    python benchmarks/run.py --only load                          # ~4 min
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import load, pipeline  # noqa: E402

N_CHANNELS = 8
CHAIN_SEED = 7
JOURNEY_SEED = 11
REVENUE_SEED = 13
RESAMPLES = 200
CA_ORDERS = (1, 2, 3)
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_CAP = 300.0
MARKER = "<!-- Everything below is written by benchmarks/run.py; edit the text above only. -->"

PREFACE = """\
# Benchmarks

What is measured: the engine's hot paths on simulated journeys of 10k, 100k
and 1M persons (8 channels, seeded first-order chain from
`attribution.simulate`, about 2.5 touches per person, ~30% converting,
lognormal revenue). Each row is one case run in a fresh Python process:

- **build_journeys** joins touches to conversions (polars `join_asof`);
  **paths** rolls journeys up to distinct paths (`Journeys.paths`).
- **markov oK attribute** is `attribute(touchpoints, conversions,
  model=Markov(order=K))` end to end: journeys, paths, chain, removal
  effects (count and value), per-touch credit spreading and the report.
  **markov oK chain** is the chain alone on the aggregated paths, as
  `Markov(order=K)` solves it: `PathChain.from_paths` → `effects` (removal
  effects by count and by value, exactly; the same work ChannelAttribution's
  `markov_model` does).
- **shapley**, **shapley_counterfactual**, **linear**: `attribute` end to end.
- **bootstrap markov o1**: `attribute(..., model="markov", ci=0.95,
  bootstrap=200, seed=0)` (point estimate plus 200 person-level resamples).
- **ChannelAttribution**: `markov_model(..., order=K)` of the PyPI package on
  the same aggregated paths, default settings (simulation, `ncore=1`).

How to read it: *wall* is the best of the runs listed (fewer runs for slow
cases); *peak RSS* is the process's high-water mark during the case (kernel
`VmHWM`, which includes polars/numpy native memory), *inputs* is the RSS
already held once Python, the libraries and the case's input frames were
loaded, and *Δ* is the difference: the memory the case itself needed.
*ours/CA* below 1 means closedloop is faster; *max |Δ share|* is the largest
absolute difference between the two packages' normalised removal effects
(ChannelAttribution estimates them by simulation, closedloop solves the chain
exactly, so small differences are sampling noise of the reference).
polars uses all cores; everything else here is single-threaded.

The last section, **Pipeline (store → answer)**, times whole `closedloop`
processes (ingest, every model, the bootstrap, Spark, the API) at 1M, 10M and
50M touchpoints beside a bare polars floor and two peers on the same data
(ChannelAttribution's `markov_model` including its path building, and DP6's
marketing-attribution-models); `benchmarks/run.py --only pipeline` reruns it
alone and keeps the rest of this file. After it, **Load (dashboard users)** has
50 simulated dashboard users for 60 s against one `closedloop serve` on
loopback (`--only load`).
"""


# --------------------------------------------------------------------------- data


def generate(size: int, directory: Path) -> dict[str, Any]:
    """Write touchpoints, conversions and aggregated paths of ``size`` persons as Parquet."""
    import numpy as np
    import polars as pl

    from attribution.journeys import build_journeys
    from attribution.simulate import random_chain, simulate_markov_journeys

    spec = random_chain(N_CHANNELS, seed=CHAIN_SEED)
    touchpoints, conversions = simulate_markov_journeys(size, **spec.as_kwargs(), seed=JOURNEY_SEED)
    rng = np.random.default_rng(REVENUE_SEED)
    revenue = np.round(rng.lognormal(np.log(200.0), 0.8, conversions.height), 2)
    conversions = conversions.with_columns(pl.Series("revenue", revenue))
    journeys = build_journeys(touchpoints, conversions)
    paths = journeys.paths()
    directory.mkdir(parents=True, exist_ok=True)
    touchpoints.write_parquet(directory / "touchpoints.parquet")
    conversions.write_parquet(directory / "conversions.parquet")
    paths.write_parquet(directory / "paths.parquet")
    return {
        "persons": size,
        "touches": touchpoints.height,
        "conversions": conversions.height,
        "non_converting": int(paths["nulls"].sum()),
        "distinct_paths": paths.height,
        "mean_touches": touchpoints.height / size,
        "max_touches": int(paths["path"].list.len().max()),  # type: ignore[arg-type]
    }


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One benchmark case: ``setup(dir)`` loads inputs; the callable it returns is timed."""

    name: str
    what: str
    setup: Callable[[Path], Callable[[], Any]]
    ca: bool = False


def _frames(directory: Path) -> tuple[Any, Any]:
    import polars as pl

    return (
        pl.read_parquet(directory / "touchpoints.parquet"),
        pl.read_parquet(directory / "conversions.parquet"),
    )


def _paths(directory: Path) -> Any:
    import polars as pl

    return pl.read_parquet(directory / "paths.parquet")


def _setup_journeys(directory: Path) -> Callable[[], Any]:
    from attribution.journeys import build_journeys

    tp, cv = _frames(directory)
    return lambda: build_journeys(tp, cv)


def _setup_paths(directory: Path) -> Callable[[], Any]:
    from attribution.journeys import build_journeys

    journeys = build_journeys(*_frames(directory))
    return lambda: journeys.paths()


def _setup_attribute(model: str, **params: Any) -> Callable[[Path], Callable[[], Any]]:
    def setup(directory: Path) -> Callable[[], Any]:
        from attribution.models import get_model
        from attribution.report import attribute

        tp, cv = _frames(directory)
        instance = get_model(model, **params)
        return lambda: attribute(tp, cv, model=instance).data

    return setup


def _setup_chain(order: int) -> Callable[[Path], Callable[[], Any]]:
    def setup(directory: Path) -> Callable[[], Any]:
        from attribution.markov import PathChain
        from attribution.markov.chain import path_counts

        paths = _paths(directory)

        def run() -> dict[str, Any]:
            # What Markov(order=K) solves: the chain's structure from the paths, then its
            # removal effects (count and value) for the paths' counts, exactly.
            chain = PathChain.from_paths(paths["path"], order=order)
            conversions, revenue, nulls = path_counts(paths, "conversions", "revenue", "nulls")
            solved = chain.effects(conversions, revenue, nulls)
            effects = solved.as_dict()
            total = sum(effects.values())
            return {
                "shares": {c: e / total for c, e in effects.items()},
                "states": chain.n_states + 2,  # and (conversion), (null)
                "transitions": chain.transition_counts(conversions, nulls).height,
            }

        return run

    return setup


def bootstrap_mode() -> str:
    """How the bootstrap case can run with the code as it is now.

    ``"attribute"``: ``attribute(..., ci=, bootstrap=, seed=)`` exists;
    ``"totals"``: only :func:`attribution.uncertainty.bootstrap_totals` does;
    ``"pending"``: neither.
    """
    from attribution.report import attribute

    if {"ci", "bootstrap", "seed"} <= set(inspect.signature(attribute).parameters):
        return "attribute"
    try:
        from attribution.uncertainty import bootstrap_totals  # noqa: F401
    except ImportError:
        return "pending"
    return "totals"


def _setup_bootstrap(directory: Path) -> Callable[[], Any]:
    from attribution.journeys import build_journeys
    from attribution.models.markov import Markov
    from attribution.report import attribute

    tp, cv = _frames(directory)
    mode = bootstrap_mode()
    if mode == "attribute":
        kwargs: dict[str, Any] = {"ci": 0.95, "bootstrap": RESAMPLES, "seed": 0}
        return lambda: attribute(tp, cv, model=Markov(order=1), **kwargs).data
    if mode == "totals":
        from attribution.uncertainty import bootstrap_totals

        journeys = build_journeys(tp, cv)
        return lambda: bootstrap_totals(journeys, Markov(order=1), resamples=RESAMPLES, seed=0)
    raise RuntimeError("attribution.uncertainty is not available yet")


def _setup_ca(order: int) -> Callable[[Path], Callable[[], Any]]:
    def setup(directory: Path) -> Callable[[], Any]:
        import io

        import pandas as pd

        with contextlib.redirect_stdout(io.StringIO()):  # its import banner
            import ChannelAttribution as ca

        paths = _paths(directory)
        frame = pd.DataFrame(
            {
                "path": paths["path"].list.join(" > ").to_list(),
                "total_conversions": paths["conversions"].to_numpy(),
                "total_conversion_value": paths["revenue"].to_numpy(),
                "total_null": paths["nulls"].to_numpy(),
            }
        )

        def run() -> dict[str, Any]:
            with contextlib.redirect_stdout(io.StringIO()):
                out = ca.markov_model(
                    frame,
                    "path",
                    "total_conversions",
                    var_value="total_conversion_value",
                    var_null="total_null",
                    order=order,
                    out_more=True,
                    verbose=0,
                    flg_pro=False,
                )
            effects = out["removal_effects"]
            values = effects["removal_effects_conversion"].astype(float)
            total = float(values.sum())
            names = effects["channel_name"].astype(str)
            return {"shares": {c: float(v) / total for c, v in zip(names, values, strict=True)}}

        return run

    return setup


def cases(include_ca: bool) -> list[Case]:
    """Every case, in report order."""
    out = [
        Case("build_journeys", "touches + conversions → journeys", _setup_journeys),
        Case("paths", "journeys → aggregated paths", _setup_paths),
    ]
    for k in CA_ORDERS:
        end_to_end = _setup_attribute("markov", order=k)
        out.append(Case(f"markov o{k} attribute", "attribute() end to end", end_to_end))
        out.append(Case(f"markov o{k} chain", "paths → removal effects", _setup_chain(k)))
    out += [
        Case("shapley", "attribute() end to end", _setup_attribute("shapley")),
        Case(
            "shapley_counterfactual",
            "attribute() end to end",
            _setup_attribute("shapley_counterfactual"),
        ),
        Case("linear", "attribute() end to end", _setup_attribute("linear")),
        Case(f"bootstrap markov o1 ×{RESAMPLES}", "", _setup_bootstrap),
    ]
    if include_ca:
        out += [
            Case(f"ChannelAttribution o{k}", "markov_model on the same paths", _setup_ca(k), True)
            for k in CA_ORDERS
        ]
    return out


def channelattribution_version() -> str | None:
    """The installed ChannelAttribution version if it imports, else ``None``."""
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import ChannelAttribution  # noqa: F401
    except Exception:
        return None
    return _version("ChannelAttribution")


# --------------------------------------------------------------------------- measuring


def _status(field: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (``VmHWM``, ``VmRSS``), or ``None`` off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter to the current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def measure(case: Case, directory: Path, *, max_runs: int = 5) -> dict[str, Any]:
    """Set the case up, then time it (best of several runs) and read the peak RSS."""
    run = case.setup(directory)
    inputs = _status("VmRSS")
    reset = _reset_peak()
    times: list[float] = []
    result: Any = None
    while True:
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        best = min(times)
        wanted = 5 if best < 0.5 else 3 if best < 5.0 else 1
        if len(times) >= min(wanted, max_runs):
            break
    peak = _status("VmHWM")
    peak_note = "" if reset else "peak since process start"
    out: dict[str, Any] = {
        "seconds": min(times),
        "runs": len(times),
        "peak_kib": peak,
        "inputs_kib": inputs,
        "peak_note": peak_note,
    }
    if isinstance(result, dict):
        out.update({k: v for k, v in result.items() if k in ("shares", "states", "transitions")})
    return out


def run_child(case: Case, directory: Path, cap: float) -> dict[str, Any]:
    """Run one case in a fresh interpreter; report a timeout or a crash instead of raising."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        case.name,
        "--data",
        str(directory),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=cap, check=False, cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"error": f"capped: killed after {cap:g} s"}
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return {"error": f"failed: {lines[-1] if lines else f'exit {done.returncode}'}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- report


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    """CPU, cores, RAM, Python and library versions, for the report header."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    return {
        "CPU": cpu,
        "Cores": f"{os.cpu_count()} logical ({usable} usable)",
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Libraries": ", ".join(
            f"{p} {_version(p)}"
            for p in ("polars", "duckdb", "numpy", "scipy", "networkx", "pandas")
        ),
        "ChannelAttribution": channelattribution_version() or "not importable",
        "Commit": commit,
        "Load average at start (1/5/15 min)": _loadavg(),
    }


def _loadavg() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{max(kib, 0) / 1024:,.0f}"


def _seconds(value: float) -> str:
    if value < 0.01:
        return f"{value * 1000:.1f} ms"
    if value < 10:
        return f"{value:.3f} s"
    return f"{value:,.1f} s"


def _label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000}k"
    return f"{size:,}"


def size_section(
    size: int,
    data: dict[str, Any],
    results: dict[str, dict[str, Any]],
    catalogue: list[Case],
    quick: bool,
) -> list[str]:
    """The markdown of one size: data, the case table and the ChannelAttribution table."""
    lines = [
        f"## {_label(size)} persons",
        "",
        f"{data['touches']:,} touches, {data['conversions']:,} conversions, "
        f"{data['non_converting']:,} non-converting journeys, {data['distinct_paths']:,} distinct "
        f"paths; {data['mean_touches']:.2f} touches per person on average, at most "
        f"{data['max_touches']}.",
        "",
        "| case | what | wall | runs | peak RSS (MiB) | inputs (MiB) | Δ (MiB) | notes |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for case in catalogue:
        if case.ca:
            continue
        r = results.get(case.name, {})
        what = case.what
        if case.name.startswith("bootstrap"):
            what = r.get("what", what)
        if "error" in r or "seconds" not in r:
            note = r.get("error", "not run")
            lines.append(f"| {case.name} | {what} | — | — | — | — | — | {note} |")
            continue
        peak, inputs = r.get("peak_kib"), r.get("inputs_kib")
        delta = None if peak is None or inputs is None else peak - inputs
        notes = [r.get("peak_note", "")]
        if "states" in r:
            notes.append(f"{r['states']:,} states, {r['transitions']:,} transitions")
        if quick:
            notes.append("in-process (quick)")
        lines.append(
            f"| {case.name} | {what} | {_seconds(r['seconds'])} | {r['runs']} | {_mib(peak)} "
            f"| {_mib(inputs)} | {_mib(delta)} | {'; '.join(n for n in notes if n)} |"
        )
    ca_rows = [c for c in catalogue if c.ca]
    if ca_rows:
        lines += [
            "",
            f"ChannelAttribution `markov_model` on the same {data['distinct_paths']:,} paths:",
            "",
            "| order | ours: chain (s) | ours: attribute (s) | CA markov_model (s) "
            "| ours/CA (chain) | ours/CA (attribute) | max abs Δ share | CA peak RSS (MiB) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for k in CA_ORDERS:
            chain = results.get(f"markov o{k} chain", {})
            full = results.get(f"markov o{k} attribute", {})
            ref = results.get(f"ChannelAttribution o{k}", {})
            if "seconds" not in ref:
                lines.append(f"| {k} | | | {ref.get('error', 'not run')} | | | | |")
                continue
            diff = "—"
            if "shares" in chain and "shares" in ref:
                names = set(chain["shares"]) | set(ref["shares"])
                diff = "{:.4f}".format(
                    max(abs(chain["shares"].get(c, 0.0) - ref["shares"].get(c, 0.0)) for c in names)
                )

            def ratio(ours: dict[str, Any], ref: dict[str, Any] = ref) -> str:
                return f"{ours['seconds'] / ref['seconds']:.3g}" if "seconds" in ours else "—"

            def secs(r: dict[str, Any]) -> str:
                return _seconds(r["seconds"]) if "seconds" in r else "—"

            lines.append(
                f"| {k} | {secs(chain)} | {secs(full)} | {_seconds(ref['seconds'])} "
                f"| {ratio(chain)} | {ratio(full)} | {diff} | {_mib(ref.get('peak_kib'))} |"
            )
    lines.append("")
    return lines


def render(
    command: str,
    info: dict[str, str],
    sizes: list[int],
    datasets: dict[int, Any],
    results: dict[int, dict[str, dict[str, Any]]],
    catalogue: list[Case],
    quick: bool,
    cap: float,
    elapsed: float,
    preface: str,
) -> str:
    """The whole BENCHMARKS.md."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        preface.rstrip(),
        "",
        MARKER,
        "",
        "## Run",
        "",
        f"- Command: `{command}`",
        f"- Date: {now}; whole run {elapsed:,.0f} s; load average at the end {_loadavg()}",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- Data: `random_chain({N_CHANNELS}, seed={CHAIN_SEED})`, "
        f"`simulate_markov_journeys(seed={JOURNEY_SEED})`, revenue lognormal "
        f"(median 200, σ 0.8, seed {REVENUE_SEED}).",
        "- Memory: peak RSS = `VmHWM` of the case's own process, reset with "
        "`/proc/self/clear_refs` once the inputs are loaded; inputs = `VmRSS` at that point."
        + (
            " Quick mode: one process for everything, so not comparable across cases."
            if quick
            else ""
        ),
        f"- Cap: a case still running after {cap:g} s is killed and marked capped.",
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > (os.cpu_count() or 1):
        lines.append(
            f"- **Warning: the machine was busy** (1-minute load {load:.1f} on "
            f"{os.cpu_count()} cores at the end of the run): other processes shared the CPUs, "
            "so wall times are inflated and noisy, the more so for single-run (slow) cases. "
            "Rerun on an idle machine for reference figures."
        )
    mode = bootstrap_mode()
    if mode == "pending":
        lines.append(
            "- Bootstrap: **pending** — `attribution.uncertainty` is not available in this tree; "
            "rerun `make bench` once it is."
        )
    elif mode == "totals":
        lines.append(
            "- Bootstrap: `attribute()` has no `ci=` yet, so the row times "
            f"`bootstrap_totals(journeys, Markov(order=1), resamples={RESAMPLES}, seed=0)` "
            "on prebuilt journeys (the resampling alone, no point estimate); rerun "
            "`make bench` once `attribute(..., ci=0.95, bootstrap=200, seed=0)` exists."
        )
    lines.append("")
    for size in sizes:
        lines += size_section(size, datasets[size], results[size], catalogue, quick)
    return "\n".join(lines).rstrip() + "\n"


def split_report(out: Path) -> tuple[str, str, str]:
    """An existing report cut in three: the engine part, the pipeline section, the load section.

    A part is empty when the file, or the section, is missing.
    """
    if not out.exists():
        return "", "", ""
    text = out.read_text()
    if MARKER not in text:
        return "", "", ""
    text, sep, tail = text.partition("\n" + load.HEADING + "\n")
    load_text = (load.HEADING + "\n" + tail) if sep else ""
    head, sep, tail = text.partition("\n" + pipeline.HEADING + "\n")
    pipeline_text = (pipeline.HEADING + "\n" + tail).rstrip() + "\n" if sep else ""
    return head.rstrip() + "\n", pipeline_text, load_text


def preface_of(out: Path) -> str:
    """The hand-written text above :data:`MARKER` in an existing report, else :data:`PREFACE`."""
    if out.exists():
        text = out.read_text()
        if MARKER in text:
            return text.split(MARKER, 1)[0]
    return PREFACE


# --------------------------------------------------------------------------- main


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run every case at every size and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated numbers of persons (default %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10k only, one run per case, in-process, no ChannelAttribution",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "BENCHMARKS.md")
    parser.add_argument(
        "--cap",
        type=float,
        default=DEFAULT_CAP,
        help="seconds after which a case is killed (default %(default)s)",
    )
    parser.add_argument("--no-ca", action="store_true", help="skip ChannelAttribution")
    parser.add_argument(
        "--pipeline-sizes",
        default=",".join(str(s) for s in pipeline.DEFAULT_SIZES),
        help="comma-separated numbers of touchpoints for the pipeline section "
        "(default %(default)s; --quick uses 20000)",
    )
    parser.add_argument(
        "--load-sizes",
        default=",".join(str(s) for s in load.DEFAULT_SIZES),
        help="comma-separated numbers of touchpoints for the load section, one run each "
        "(default %(default)s; --quick uses 20000)",
    )
    parser.add_argument(
        "--load-users",
        type=int,
        default=load.DEFAULT_USERS,
        help="simulated dashboard users (default %(default)s; --quick: 5)",
    )
    parser.add_argument(
        "--load-seconds",
        type=float,
        default=load.DEFAULT_SECONDS,
        help="seconds the users use the dashboard (default %(default)s; --quick: 5)",
    )
    parser.add_argument(
        "--only",
        choices=("engine", "pipeline", "load"),
        help="run one part only and keep the other parts of the existing --out file as they are",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        case = next(c for c in cases(include_ca=True) if c.name == args.child)
        result = measure(case, args.data)
        if case.name.startswith("bootstrap"):
            result["what"] = _bootstrap_what()
        print(json.dumps(result))
        return 0

    began = time.perf_counter()
    command = shlex.join(
        [
            os.path.relpath(sys.executable, ROOT)
            if sys.executable.startswith(str(ROOT))
            else sys.executable,
            os.path.relpath(Path(__file__).resolve(), ROOT),
            *(sys.argv[1:] if argv is None else argv),
        ]
    )
    old_engine, old_pipeline, old_load = split_report(args.out)
    if args.only in ("pipeline", "load"):
        engine_text = old_engine or preface_of(args.out).rstrip() + "\n\n" + MARKER + "\n"
    else:
        engine_text = run_engine(args, command, began)
    if args.only in ("engine", "load"):
        pipeline_text = old_pipeline
    else:
        pipeline_began = time.perf_counter()
        sizes = (
            list(pipeline.QUICK_SIZES)
            if args.quick
            else [int(s) for s in args.pipeline_sizes.split(",") if s.strip()]
        )
        results = pipeline.run(sizes, args.cap, args.quick, _progress)
        pipeline_text = "\n".join(
            pipeline.section(
                results, command, time.perf_counter() - pipeline_began, args.quick, args.cap
            )
        )
    load_text = old_load if args.only in ("engine", "pipeline") else run_load(args, command)
    text = engine_text.rstrip() + "\n"
    for part in (pipeline_text, load_text):
        if part:
            text += "\n" + part.rstrip() + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    _progress(f"wrote {args.out} in {time.perf_counter() - began:,.0f} s")
    return 0


def run_load(args: argparse.Namespace, command: str) -> str:
    """Run the dashboard load test per store size; the load section."""
    if args.quick:
        sizes, users, seconds = list(load.QUICK_SIZES), load.QUICK_USERS, load.QUICK_SECONDS
    else:
        sizes = [int(s) for s in args.load_sizes.split(",") if s.strip()]
        users, seconds = args.load_users, args.load_seconds
    results = [
        load.run(touches=size, users=users, seconds=seconds, progress=_progress) for size in sizes
    ]
    return "\n".join(load.section(results, command, args.quick))


def run_engine(args: argparse.Namespace, command: str, began: float) -> str:
    """Run the engine cases at every size; the report from the preface to the last size."""
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    include_ca = not args.quick and not args.no_ca and channelattribution_version() is not None
    catalogue = cases(include_ca)
    info = machine()
    datasets: dict[int, Any] = {}
    results: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="closedloop-bench-") as tmp:
        for size in sizes:
            directory = Path(tmp) / str(size)
            _progress(f"[{_label(size)}] generating {size:,} persons …")
            datasets[size] = generate(size, directory)
            results[size] = {}
            for case in catalogue:
                if case.name.startswith("bootstrap") and bootstrap_mode() == "pending":
                    results[size][case.name] = {"error": "pending: rerun `make bench`"}
                    _progress(f"[{_label(size)}] {case.name}: pending")
                    continue
                _progress(f"[{_label(size)}] {case.name} …")
                if args.quick:
                    try:
                        result = measure(case, directory, max_runs=1)
                        if case.name.startswith("bootstrap"):
                            result["what"] = _bootstrap_what()
                    except Exception as error:  # a smoke run reports, the test checks
                        result = {"error": f"failed: {type(error).__name__}: {error}"}
                else:
                    result = run_child(case, directory, args.cap)
                results[size][case.name] = result
                if "seconds" in result:
                    _progress(
                        f"[{_label(size)}] {case.name}: {_seconds(result['seconds'])} "
                        f"(best of {result['runs']}), peak {_mib(result.get('peak_kib'))} MiB"
                    )
                else:
                    _progress(f"[{_label(size)}] {case.name}: {result.get('error')}")
    return render(
        command,
        info,
        sizes,
        datasets,
        results,
        catalogue,
        args.quick,
        args.cap,
        time.perf_counter() - began,
        preface_of(args.out),
    )


def _bootstrap_what() -> str:
    mode = bootstrap_mode()
    if mode == "attribute":
        return f"attribute(ci=0.95, bootstrap={RESAMPLES}) end to end"
    return f"bootstrap_totals only ({RESAMPLES} resamples)"


if __name__ == "__main__":
    sys.exit(main())
