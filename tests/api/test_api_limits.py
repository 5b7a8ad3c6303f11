"""Heavy parameters and large bodies are refused; heavy work is bounded in time and memory."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import limits
from api.http.app import create_app
from api.http.limits import (
    ClientDisconnectedError,
    ComputeLimit,
    ComputeTimeoutError,
    OutOfMemoryHeadroomError,
)
from api.http.settings import Settings
from api.services import Services
from api.services.inputs import StoreSource
from api.services.queries import MAX_BOOTSTRAP
from attribution.cancel import check_cancelled
from attribution.errors import ParameterError

from .conftest import TestClient, with_key

LIMIT = 1_000


@pytest.fixture
def small_client(filled_db: Path, tmp_path: Path) -> Iterator[TestClient]:
    # Its own copy: a body under the limit is ingested, and the session's store is shared.
    own = tmp_path / filled_db.name
    shutil.copyfile(filled_db, own)
    settings = Settings(db_path=own, wait_seconds=0.2, max_upload_bytes=LIMIT)
    with TestClient(create_app(settings)) as client:
        yield with_key(client, own)


def test_an_upload_over_the_limit_is_413(
    small_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    big = b"touchpoint_id,user_id,ts,channel\n" + b"t,u,2024-01-01T00:00:00Z,Email\n" * 100
    response = small_client.post("/v1/ingest/touchpoints", files={"file": ("t.csv", big)})
    body = assert_problem(response, 413, "Request too large")
    assert "CLOSEDLOOP_MAX_UPLOAD_MB" in body["detail"]


def test_a_streamed_body_over_the_limit_is_413(
    small_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b'{"touchpoint_id": "t", "user_id": "u"}\n'

    response = small_client.post(
        "/v1/ingest/touchpoints",
        content=chunks(),
        headers={"content-type": "application/x-ndjson"},
    )
    assert_problem(response, 413, "Request too large")


def test_a_body_under_the_limit_is_read(small_client: TestClient) -> None:
    rows = [{"touchpoint_id": "t9", "user_id": "u9", "ts": "2024-01-02", "channel": "Email"}]
    response = small_client.post("/v1/ingest/touchpoints?skip_invalid=true", json=rows)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ["/v1/attribution?model=linear", "/v1/compare"])
def test_bootstrap_is_capped_on_every_route(
    client: TestClient, assert_problem: Callable[..., dict[str, Any]], route: str
) -> None:
    sep = "&" if "?" in route else "?"
    response = client.get(f"{route}{sep}ci=0.9&bootstrap={MAX_BOOTSTRAP + 1}")
    body = assert_problem(response, 422, "Invalid parameter")
    assert f"at most {MAX_BOOTSTRAP}" in body["detail"]


# --- Heavy computations: a time limit, a memory ceiling, and a client that leaves (#12) ---

ENDLESS_SQL = "SELECT sum(range % 7) FROM range(10000000000000)"
"""A query DuckDB would take hours over: it ends only when interrupted."""


class Work:
    """A stand-in for ``Services.attribution`` that runs ``body`` and records how it ended."""

    def __init__(self, body: Callable[[Services], None]) -> None:
        self.body = body
        self.started = threading.Event()
        self.ended: list[BaseException | None] = []
        self.seconds = 0.0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        work = self

        def attribution(self: Services, query: object, progress: object = None) -> object:
            work.started.set()
            began = time.monotonic()
            try:
                work.body(self)
            except BaseException as exc:
                work.ended.append(exc)
                raise
            finally:
                work.seconds = time.monotonic() - began
            work.ended.append(None)
            raise AssertionError("the work was not stopped")

        monkeypatch.setattr(Services, "attribution", attribution)


def endless_query(services: Services) -> None:
    source = services.source
    assert isinstance(source, StoreSource)
    with source.store._connect() as con:
        con.sql(ENDLESS_SQL).fetchall()


def endless_loop(services: Services) -> None:
    for _ in range(3_000):  # 30 s if nothing stops it
        check_cancelled()
        time.sleep(0.01)


def bounded_app(db: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> FastAPI:
    """An app on ``db`` whose bounds come from ``CLOSEDLOOP_*`` variables set for the test.

    It caches nothing, so a computation past the time limit is stopped and answered 504
    (with a cache it goes on in the background: ``test_compute_in_background.py``).
    """
    for name, value in env.items():
        monkeypatch.setenv(f"CLOSEDLOOP_{name}", value)
    return create_app(Settings(db_path=db, wait_seconds=0.2, cache_bytes=0))


@pytest.mark.parametrize("body", [endless_query, endless_loop], ids=["duckdb", "python"])
def test_a_computation_over_the_time_limit_is_504_and_stopped(
    filled_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    assert_problem: Callable[..., dict[str, Any]],
    body: Callable[[Services], None],
) -> None:
    work = Work(body)
    work.install(monkeypatch)
    app = bounded_app(
        filled_db, monkeypatch, COMPUTE_TIMEOUT="0.3", MAX_COMPUTE="1", COMPUTE_WAIT="0.5"
    )
    with TestClient(app) as client:
        response = client.get("/v1/attribution?model=linear")
        problem = assert_problem(response, 504, "Computation took too long")
        assert "0.3 s" in problem["detail"]
        assert "CLOSEDLOOP_COMPUTE_TIMEOUT" in problem["detail"]
        # The test client returns once the app has ended: the work stopped, its slot is free.
        assert [type(exc) for exc in work.ended] == [ComputeTimeoutError]
        assert work.seconds < 5
        assert client.get("/v1/models/linear").status_code == 200  # a cheap one, in the slot


async def _asgi(
    app: ASGIApp, path: str, receive: Callable[[], Awaitable[Message]]
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def send(message: Message) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    return sent


def test_a_client_that_disconnects_stops_the_work_and_frees_its_slot(
    filled_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = Work(endless_query)
    work.install(monkeypatch)
    app = bounded_app(filled_db, monkeypatch, MAX_COMPUTE="1", COMPUTE_WAIT="1")

    async def leaves_once_started() -> Message:
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        while not work.started.is_set():
            await asyncio.sleep(0.01)
        return {"type": "http.disconnect"}

    async def stays() -> Message:
        await asyncio.Event().wait()  # the client stays until the answer
        raise AssertionError

    requested: list[bool] = []

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        left = await asyncio.wait_for(
            _asgi(app, "/v1/attribution?model=linear", leaves_once_started), 10
        )
        after = await asyncio.wait_for(_asgi(app, "/v1/models/linear", stays), 10)
        return left, after

    left, after = asyncio.run(scenario())
    assert left == []  # nobody to answer
    assert [type(exc) for exc in work.ended] == [ClientDisconnectedError]
    assert work.seconds < 5
    assert after[0]["status"] == 200  # the one slot was free again


def test_over_the_memory_ceiling_computations_get_503_and_cheap_routes_answer(
    filled_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    assert_problem: Callable[..., dict[str, Any]],
) -> None:
    released: list[bool] = []
    monkeypatch.setattr(limits, "resident_bytes", lambda: 3 * 2**30)
    monkeypatch.setattr(limits, "release_memory", lambda: released.append(True))
    app = bounded_app(filled_db, monkeypatch, MAX_MEMORY_MB="2048")
    with TestClient(app) as client:
        response = client.get("/v1/attribution?model=linear")
        problem = assert_problem(response, 503, "Server out of memory headroom")
        assert response.headers["retry-after"] == str(limits.MEMORY_RETRY_AFTER_SECONDS)
        assert "3.0 GiB of the 2.0 GiB" in problem["detail"]
        assert "CLOSEDLOOP_MAX_MEMORY_MB" in problem["detail"]
        assert released  # it tried to give memory back before refusing
        assert client.get("/v1/health").status_code == 200
        monkeypatch.setattr(limits, "resident_bytes", lambda: 2**30)
        assert client.get("/v1/attribution?model=linear").status_code == 200


def test_a_computation_running_when_memory_passes_the_ceiling_is_stopped(
    filled_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    assert_problem: Callable[..., dict[str, Any]],
) -> None:
    work = Work(endless_query)
    work.install(monkeypatch)
    monkeypatch.setattr(limits, "resident_bytes", lambda: 2**40 if work.started.is_set() else 1)
    app = bounded_app(filled_db, monkeypatch, MAX_MEMORY_MB="1024")
    with TestClient(app) as client:
        response = client.get("/v1/attribution?model=linear")
    problem = assert_problem(response, 503, "Server out of memory headroom")
    assert "while computing this answer" in problem["detail"]
    assert "retry-after" in response.headers
    assert [type(exc) for exc in work.ended] == [OutOfMemoryHeadroomError]


def test_duckdb_gets_a_share_of_the_memory_ceiling(
    filled_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def memory_limit(services: Services) -> None:
        source = services.source
        assert isinstance(source, StoreSource)
        with source.store._connect() as con:
            seen.append(con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0])
        raise ParameterError("done")

    Work(memory_limit).install(monkeypatch)
    app = bounded_app(filled_db, monkeypatch, MAX_MEMORY_MB="8192")
    with TestClient(app) as client:
        assert client.get("/v1/attribution?model=linear").status_code == 422
    assert seen == ["4.0 GiB"]


def test_writes_have_no_time_limit_and_late_messages_are_dropped() -> None:
    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        limit = ComputeLimit(
            slow_app, slots=2, wait_seconds=1, timeout_seconds=0.1, max_memory_bytes=0
        )
        write = await _asgi(limit, "/v1/ingest/costs", receive)
        read = await _asgi(limit, "/v1/paths", receive)
        return write, read

    write, read = asyncio.run(scenario())
    assert write[0]["status"] == 200
    assert [message["type"] for message in read] == ["http.response.start", "http.response.body"]
    assert read[0]["status"] == 504  # the app's own 200, sent later, was dropped


def test_the_time_and_memory_bounds_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLOSEDLOOP_COMPUTE_TIMEOUT", "7.5")
    monkeypatch.setenv("CLOSEDLOOP_MAX_MEMORY_MB", "512")
    settings = Settings.from_env()
    assert (settings.compute_timeout_seconds, settings.max_memory_bytes) == (7.5, 512 * 2**20)
    monkeypatch.delenv("CLOSEDLOOP_COMPUTE_TIMEOUT")
    monkeypatch.delenv("CLOSEDLOOP_MAX_MEMORY_MB")
    settings = Settings.from_env()
    assert settings.compute_timeout_seconds == limits.DEFAULT_COMPUTE_TIMEOUT
    bound = limits.memory_bound_bytes()
    assert bound is not None
    assert settings.max_memory_bytes == int(bound * limits.DEFAULT_MEMORY_FRACTION)
    # A cgroup limit below physical memory is the bound; "max" means none.
    cgroup = tmp_path / "memory.max"
    monkeypatch.setattr(limits, "_CGROUP_LIMITS", (cgroup,))
    cgroup.write_text(f"{2**30}\n")
    assert limits.memory_bound_bytes() == 2**30
    cgroup.write_text("max\n")
    assert limits.memory_bound_bytes() == bound


def test_a_failing_receive_reaches_the_app_as_it_would_without_the_limit() -> None:
    async def reading_app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()

    async def receive() -> Message:
        raise RuntimeError("connection lost")

    limit = ComputeLimit(reading_app, slots=1, wait_seconds=1, max_memory_bytes=0)
    with pytest.raises(RuntimeError, match="connection lost"):
        asyncio.run(_asgi(limit, "/v1/paths", receive))
