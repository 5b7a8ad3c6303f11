"""A live server survives the heavy requests of #12: it answers each, stays up and stops at once.

Each test starts ``python -m api.cli serve`` on the example data set with
tight bounds in its environment, fires the reproductions of issue #12 at it
and checks that every answer is a 200 or an RFC 9457 problem (422 for
parameters refused up front, 503 with ``Retry-After`` for a full server,
one out of memory headroom or an answer still computing past the time
limit, 504 for a computation stopped at the time limit on a server without
a cache), that ``/v1/health`` still answers, that the computing slots come
back, and that the process exits within seconds of SIGINT or SIGTERM.

``HEAVY`` is a request the bounds accept but which computes for about two
minutes on the example data (2,000 bootstrap resamples of the
counterfactual Shapley model): without a time limit and cancellation it
would hold a slot, and the server's shutdown, for that long.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ingest import Store, ingest_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DATA = ROOT / "examples" / "data"

HEAVY = "/v1/attribution?model=shapley_counterfactual&ci=0.95&bootstrap=2000"
"""Accepted, but about two minutes of work on the example data."""

LIGHT = "/v1/attribution?model=linear"
"""A computing request answered in well under a second."""

REFUSED_UP_FRONT = (
    "/v1/timeseries?interval=day&start=0001-01-01&end=9999-12-30",
    "/v1/attribution?model=linear&ci=0.9&bootstrap=1000000000",
    "/v1/compare?ci=0.9&bootstrap=1000000000",
    "/v1/attribution?model=shapley_counterfactual&samples=100000000",
)
"""Requests for millions of buckets, resamples or samples: 422 before any work."""

STOP_SECONDS = 8.0
"""How long the server may take to exit after SIGINT or SIGTERM."""


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("survives") / "example.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [EXAMPLE_DATA / f"{table}.csv"])
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _poll(check: Callable[[], bool], seconds: float) -> bool:
    """Call ``check`` until it returns True or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


class Server:
    """``closedloop serve`` in a subprocess, with ``CLOSEDLOOP_*`` bounds in its environment."""

    def __init__(self, db: Path, log: Path, **bounds: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOSEDLOOP_")}
        env.update({f"CLOSEDLOOP_{name}": value for name, value in bounds.items()})
        env["PYTHONUNBUFFERED"] = "1"
        command = [sys.executable, "-m", "api.cli", "serve", "--db", str(db)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if not _poll(self._healthy, 60):
            self.kill()
            pytest.fail(f"the server did not start:\n{self.output()}")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            return False
        try:
            return httpx.get(f"{self.base}/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self, sig: signal.Signals) -> float:
        """Send ``sig``; return the seconds the server took to exit (fail past STOP_SECONDS)."""
        began = time.monotonic()
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the server did not exit within {STOP_SECONDS} s:\n{self.output()}")
        return time.monotonic() - began

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def serve(example_store: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(**bounds: str) -> Server:
        server = Server(example_store, tmp_path / f"server{len(started)}.log", **bounds)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def check_answer(response: httpx.Response, *statuses: int) -> None:
    """Assert ``response`` has one of ``statuses`` and, unless 200, is a problem+json body."""
    assert response.status_code in statuses, response.text
    if response.status_code == 200:
        return
    assert response.headers["content-type"] == "application/problem+json", response.text
    body = response.json()
    assert body["status"] == response.status_code
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    if response.status_code == 503:
        assert int(response.headers["retry-after"]) >= 1


def test_the_reproductions_are_answered_and_the_server_stays_up(
    serve: Callable[..., Server],
) -> None:
    server = serve(COMPUTE_TIMEOUT="2", MAX_COMPUTE="2", COMPUTE_WAIT="1", CACHE_MB="0")
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for url in REFUSED_UP_FRONT:
            check_answer(client.get(url), 422)

        began = time.monotonic()
        check_answer(client.get(HEAVY), 504)
        assert time.monotonic() - began < 2 + 3, "the 504 came late"

        # Five at once on two slots: two run to the time limit, three wait a second.
        def heavy(seed: int) -> httpx.Response:
            return httpx.get(f"{server.base}{HEAVY}&seed={seed}", timeout=30)

        began = time.monotonic()
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(heavy, range(1, 6)))
        for response in answers:
            check_answer(response, 503, 504)
        assert time.monotonic() - began < 15

        assert client.get("/v1/health").status_code == 200
        # The stopped computations gave their slots back: light work is answered again.
        assert _poll(lambda: client.get(LIGHT).status_code == 200, 10), server.output()
        assert server.process.poll() is None, server.output()

        # Told to stop with a computation in flight, the server answers it (504 at the time
        # limit at the latest) and exits.
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(heavy, 7)
            time.sleep(0.5)
            server.stop(signal.SIGINT)
            check_answer(pending.result(), 504)


def test_a_client_that_disconnects_frees_its_slot_and_never_holds_up_shutdown(
    serve: Callable[..., Server],
) -> None:
    # One slot, and a time limit far away: only the disconnect can stop the work in time.
    server = serve(COMPUTE_TIMEOUT="100", MAX_COMPUTE="1", COMPUTE_WAIT="5", CACHE_MB="0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        request = f"GET {HEAVY} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n"
        sock.sendall(request.encode())
        time.sleep(1.0)  # let it start computing (were it not yet, it must not start at all)
    # The client is gone: its work stops, and the one slot serves the next request.
    check_answer(httpx.get(f"{server.base}{LIGHT}", timeout=30), 200)
    # Nothing left running: the server exits at once (it would wait for the abandoned work).
    assert server.stop(signal.SIGTERM) < 3


def test_past_the_time_limit_the_work_goes_on_in_its_slot_and_stops_at_shutdown(
    serve: Callable[..., Server],
) -> None:
    # A cache (the default): past the time limit, the answer is 503 and the work goes on.
    server = serve(
        COMPUTE_TIMEOUT="1", COMPUTE_HARD_TIMEOUT="100", MAX_COMPUTE="1", COMPUTE_WAIT="1"
    )
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for _ in range(2):  # the retry joins the computation: no second one waits for the slot
            response = client.get(HEAVY)
            check_answer(response, 503)
            assert response.json()["title"] == "Still computing", response.text
        # The work in the background still holds the one slot.
        response = client.get(LIGHT)
        check_answer(response, 503)
        assert response.json()["title"] == "Server busy", response.text
        assert client.get("/v1/health").status_code == 200
    # Shutting down stops the work in the background: the server exits at once.
    assert server.stop(signal.SIGTERM) < 4, server.output()


def test_over_its_memory_ceiling_the_server_refuses_work_and_answers_the_rest(
    serve: Callable[..., Server],
) -> None:
    server = serve(MAX_MEMORY_MB="1")  # below any Python process: every computation is refused
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for url in (LIGHT, HEAVY, "/v1/timeseries?interval=month"):
            response = client.get(url)
            check_answer(response, 503)
            assert response.json()["title"] == "Server out of memory headroom"
            assert "CLOSEDLOOP_MAX_MEMORY_MB" in response.json()["detail"]
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/models").status_code == 200
    server.stop(signal.SIGTERM)
