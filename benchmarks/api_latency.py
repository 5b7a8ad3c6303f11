"""Measure the HTTP API's latency and memory on a store, from the outside.

What it measures
----------------
One ``closedloop serve --db STORE`` server (``python -m api.cli serve``, run
with this interpreter, so ``PYTHONPATH`` decides which code is served) is
started on 127.0.0.1. Once ``GET /v1/health`` answers 200:

- **startup**: seconds from spawning the server to the first 200 from
  ``/v1/health`` (interpreter start, imports, ``create_app``, uvicorn bind).
- **cold**: for every path, in the order given, the wall time of the first
  request for that query since the server started. The first path also pays
  for whatever the server does lazily on its first real request (imports,
  caches), so the cold column depends on the order; ``--isolate`` starts a
  fresh server for every path instead, so every cold figure is "first query
  after start".
- **warm**: ``--repeat N`` more requests of the same query, one after the
  other on one keep-alive connection; p50, p95 (linear interpolation) and max.
- **peak RSS**: the server process's ``VmHWM`` from ``/proc/PID/status`` after
  the last request (the kernel's high-water mark of resident memory, native
  allocations of polars/DuckDB/numpy included), plus ``VmHWM`` right after
  startup and ``VmRSS`` at the end.

Times are client-side ``time.perf_counter`` around ``httpx`` ``GET`` including
reading the whole body: server compute + JSON encoding + loopback transfer.
Only HTTP is used, so the script works against any version of the code.

Usage (from the repository root)::

    .venv/bin/python benchmarks/api_latency.py --db STORE --repeat 10
    .venv/bin/python benchmarks/api_latency.py --db STORE --repeat 5 \\
        --paths '/v1/attribution?model=markov' '/v1/attribution?model=linear' \\
        --timeout 60 --json out.json

A request that exceeds ``--timeout`` seconds is reported as a timeout and its
warm repeats are skipped (the server may still be computing it, which then
slows the following paths: read their figures with that in mind).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

DEFAULT_PATHS = (
    "/v1/attribution?model=linear",
    "/v1/attribution?model=markov",
    "/v1/funnel?by=channel",
    "/v1/compare?models=first_touch,last_touch,linear,markov",
)
HEALTH = "/v1/health"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """Return the ``Vm*`` lines of ``/proc/PID/status`` in KiB (empty if unreadable)."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key.startswith("Vm") and rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0])
    return values


def percentile(values: list[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) by linear interpolation between ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Server:
    """A ``closedloop serve`` subprocess on 127.0.0.1; a context manager that always kills it."""

    def __init__(self, db: str, port: int, python: str, startup_timeout: float) -> None:
        self.db = db
        self.port = port
        self.python = python
        self.startup_timeout = startup_timeout
        self.base = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s = float("nan")
        self.after_start: dict[str, int] = {}
        self.health: dict[str, Any] = {}

    def __enter__(self) -> Server:
        command = [self.python, "-m", "api.cli", "serve", "--db", self.db]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = started + self.startup_timeout
        with httpx.Client(base_url=self.base, timeout=5.0) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}:\n{self.output()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    response = client.get(HEALTH)
                    if response.status_code == 200:
                        body = response.json()
                        self.health = {k: body.get(k) for k in ("version", "counts")}
                        break
                if time.perf_counter() > deadline:
                    raise RuntimeError(
                        f"no 200 from {HEALTH} within {self.startup_timeout} s:\n{self.output()}"
                    )
                time.sleep(0.05)
        self.startup_s = time.perf_counter() - started
        self.after_start = proc_status(self.proc.pid)
        return self

    def output(self) -> str:
        """Return the last 3000 characters the server wrote."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def status(self) -> dict[str, int]:
        """Return the server's ``/proc`` memory figures now."""
        return proc_status(self.proc.pid) if self.proc is not None else {}

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def timed_get(client: httpx.Client, path: str) -> tuple[float, int, int]:
    """GET ``path``; return (seconds, status, body bytes)."""
    started = time.perf_counter()
    response = client.get(path)
    body = response.content
    return time.perf_counter() - started, response.status_code, len(body)


def measure_path(client: httpx.Client, path: str, repeat: int) -> dict[str, Any]:
    """Time the cold request of ``path`` and ``repeat`` warm ones."""
    result: dict[str, Any] = {"path": path, "warm_s": []}
    try:
        cold, status, size = timed_get(client, path)
    except httpx.TimeoutException:
        result.update(status=f"timeout (> {client.timeout.read:g} s)", cold_s=None, bytes=None)
        return result
    result.update(status=status, cold_s=cold, bytes=size)
    for _ in range(repeat):
        try:
            seconds, status, _ = timed_get(client, path)
        except httpx.TimeoutException:
            result["status"] = f"{result['status']}, warm timeout"
            break
        if status != result["status"]:
            result["status"] = f"{result['status']}/{status}"
        result["warm_s"].append(seconds)
    warm = result["warm_s"]
    if warm:
        result.update(
            warm_p50_s=statistics.median(warm),
            warm_p95_s=percentile(warm, 95),
            warm_p99_s=percentile(warm, 99),
            warm_max_s=max(warm),
        )
    return result


def measure_concurrent(
    base: str, path: str, clients: int, repeat: int, timeout: httpx.Timeout
) -> dict[str, Any]:
    """``clients`` threads, each with its own connection, GET ``path`` ``repeat`` times at once.

    Bounded: ``clients * repeat`` requests in all, each with ``timeout``.
    Returns the latency percentiles over every request, the errors (non-200
    or failed requests) and the throughput.
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=timeout) as client:
            for _ in range(repeat):
                try:
                    seconds, status, _ = timed_get(client, path)
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    latencies.append(seconds)
                    errors += status != 200

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"clients": clients, "requests": clients * repeat, "errors": errors}
    if latencies:
        result.update(
            p50_s=statistics.median(latencies),
            p95_s=percentile(latencies, 95),
            p99_s=percentile(latencies, 99),
            per_second=len(latencies) / elapsed,
        )
    return result


def run_server(args: argparse.Namespace, paths: list[str]) -> dict[str, Any]:
    """Start one server, measure ``paths`` on it, stop it; return its figures."""
    port = args.port or free_port()
    with Server(args.db, port, args.python, args.startup_timeout) as server:
        timeout = httpx.Timeout(args.timeout, connect=10.0)
        with httpx.Client(base_url=server.base, timeout=timeout) as client:
            results = []
            for path in paths:
                results.append(measure_path(client, path, args.repeat))
                if args.clients > 1:
                    results[-1]["concurrent"] = measure_concurrent(
                        server.base, path, args.clients, args.repeat, timeout
                    )
                print(f"  {summary_line(results[-1])}", file=sys.stderr, flush=True)
        end = server.status()
        return {
            "health": server.health,
            "startup_s": server.startup_s,
            "vmhwm_after_start_kib": server.after_start.get("VmHWM"),
            "vmhwm_kib": end.get("VmHWM"),
            "vmrss_end_kib": end.get("VmRSS"),
            "results": results,
        }


def ms(seconds: float | None) -> str:
    """Format seconds as milliseconds for the table."""
    if seconds is None:
        return "—"
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:,.1f}"


def mib(kib: int | None) -> str:
    """Format KiB as MiB."""
    return "—" if kib is None else f"{kib / 1024:,.0f}"


def summary_line(result: dict[str, Any]) -> str:
    """One progress line for stderr."""
    return (
        f"{result['path']}: status {result['status']}, cold {ms(result.get('cold_s'))} ms, "
        f"warm p50 {ms(result.get('warm_p50_s'))} ms"
    )


def markdown(report: dict[str, Any]) -> str:
    """Render the figures as a Markdown table and a few lines below it."""
    isolate = report["isolate"]
    head = (
        "| path | status | bytes | cold ms | warm p50 ms | warm p95 ms | warm p99 ms "
        "| warm max ms | n warm |"
    )
    if isolate:
        head += " peak RSS MiB |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for server in report["servers"]:
        for result in server["results"]:
            size = result.get("bytes")
            row = (
                f"| `{result['path']}` | {result['status']} | "
                f"{'—' if size is None else f'{size:,}'} | {ms(result.get('cold_s'))} | "
                f"{ms(result.get('warm_p50_s'))} | {ms(result.get('warm_p95_s'))} | "
                f"{ms(result.get('warm_p99_s'))} | "
                f"{ms(result.get('warm_max_s'))} | {len(result['warm_s'])} |"
            )
            if isolate:
                row += f" {mib(server['vmhwm_kib'])} |"
            lines.append(row)
    lines.append("")
    for server in report["servers"]:
        for result in server["results"]:
            many = result.get("concurrent")
            if many:
                lines.append(
                    f"- `{result['path']}` with {many['clients']} concurrent clients "
                    f"({many['requests']:,} requests, {many['errors']} errors): p50 "
                    f"{ms(many.get('p50_s'))} ms, p95 {ms(many.get('p95_s'))} ms, p99 "
                    f"{ms(many.get('p99_s'))} ms, {many.get('per_second', 0):,.0f} requests/s"
                )
    counts = report["servers"][0]["health"].get("counts") or {}
    if counts:
        held = ", ".join(f"{n:,} {table}" for table, n in counts.items())
        lines.append(f"- store `{report['db']}`: {held}")
    for i, server in enumerate(report["servers"]):
        label = f"server {i + 1}: " if len(report["servers"]) > 1 else ""
        lines.append(
            f"- {label}startup (spawn → first 200 from `{HEALTH}`) {server['startup_s']:.2f} s; "
            f"peak RSS (VmHWM) {mib(server['vmhwm_kib'])} MiB "
            f"(after startup {mib(server['vmhwm_after_start_kib'])} MiB, "
            f"VmRSS at end {mib(server['vmrss_end_kib'])} MiB)"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the store file to serve")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--repeat", type=int, default=10, help="warm requests per path")
    parser.add_argument(
        "--paths",
        nargs="+",
        default=list(DEFAULT_PATHS),
        help="URL paths with query strings, measured in this order",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds one request may take (default 600)"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds to wait for /v1/health"
    )
    parser.add_argument(
        "--isolate", action="store_true", help="a fresh server for every path (independent colds)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="also run this many concurrent clients per path, --repeat requests each",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the server")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.repeat < 0:
        parser.error("--repeat must be >= 0")
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be between 1 and 64")
    if not Path(args.db).exists():
        parser.error(f"no store at {args.db}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the table."""
    args = parse_args(argv)
    groups = [[path] for path in args.paths] if args.isolate else [list(args.paths)]
    servers = [run_server(args, group) for group in groups]
    report = {
        "db": Path(args.db).name,
        "repeat": args.repeat,
        "isolate": args.isolate,
        "timeout_s": args.timeout,
        "python": platform.python_version(),
        "nproc": os.cpu_count(),
        "servers": servers,
    }
    print(markdown(report))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
