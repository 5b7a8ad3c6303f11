"""Past the time limit a computation is answered 503 and goes on: the retry gets its answer (#14).

A request still computing at ``CLOSEDLOOP_COMPUTE_TIMEOUT`` is answered
``503 Still computing`` with ``Retry-After``; its work goes on in the
background, holding its slot, until it ends (its answer lands in the result
cache) or reaches ``CLOSEDLOOP_COMPUTE_HARD_TIMEOUT``. A retry gets the cached
answer, or waits for the computation still running — at most the time limit
again, then ``503`` again — without starting a second one.

The slow computations here wait for an event the test sets (checking their
cancellation meanwhile), so nothing depends on how fast the machine is; the
tests poll only for conditions, with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI

from api.http import deps
from api.http.app import create_app
from api.http.limits import (
    ClientDisconnectedError,
    ComputeLimit,
    ComputeTimeoutError,
    default_compute_hard_timeout,
    still_computing_retry_after,
)
from api.http.settings import Settings
from api.services import attribution as attribution_service
from api.services import diagnose
from api.services.cache import ResultCache
from attribution.cancel import ComputationCancelledError, check_cancelled, take_turn
from attribution.errors import ParameterError

from .conftest import TestClient

DEADLINE = 10.0
"""Seconds any wait of these tests may take before it counts as a hang."""

URL = "/v1/attribution?model=linear"


def _poll(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds, failing after :data:`DEADLINE` seconds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


class Slow:
    """A computation that runs until :attr:`release` is set, checking its cancellation.

    ``calls`` counts the computations started; ``ended`` says how each ended
    (``None``: it finished).
    """

    def __init__(self) -> None:
        self.calls = 0
        self.started = threading.Event()
        self.release = threading.Event()
        self.ended: list[type[BaseException] | None] = []

    def wait(self) -> None:
        self.calls += 1
        self.started.set()
        try:
            while not self.release.wait(0.005):
                check_cancelled()
        except BaseException as exc:
            self.ended.append(type(exc))
            raise
        self.ended.append(None)


def _held(monkeypatch: pytest.MonkeyPatch, step: str, original: Any) -> Iterator[Slow]:
    """Hold ``step`` of the attribution service's cached computation until released."""
    work = Slow()

    def held(*args: Any, **kwargs: Any) -> Any:
        work.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(attribution_service, step, held)
    deps._services.cache_clear()  # a cache of its own: nothing computed by other tests
    yield work
    work.release.set()
    deps._services.cache_clear()


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Slow]:
    """Hold the attribution service's cached computation at its first step."""
    yield from _held(monkeypatch, "attribution_report", attribution_service.attribution_report)


@pytest.fixture
def slow_at_the_end(monkeypatch: pytest.MonkeyPatch) -> Iterator[Slow]:
    """Hold the attribution service's cached computation at its last step (once released, the
    answer is ready at once)."""
    yield from _held(monkeypatch, "with_warnings", diagnose.with_warnings)


def _settings(db: Path, **bounds: Any) -> Settings:
    return Settings(db_path=db, wait_seconds=0.2, cache_bytes=2**26, **bounds)


def _app(db: Path, **bounds: Any) -> FastAPI:
    return create_app(_settings(db, **bounds))


def _limit_of(app: FastAPI) -> ComputeLimit:
    """The app's :class:`ComputeLimit` (its middleware stack is built by the first request)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, ComputeLimit):
        layer = layer.app
    return layer


def _assert_still_computing(
    response: Any, assert_problem: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    problem = assert_problem(response, 503, "Still computing")
    assert response.headers["retry-after"].isdigit()
    assert int(response.headers["retry-after"]) >= 1
    assert "CLOSEDLOOP_COMPUTE_TIMEOUT" in problem["detail"]
    assert "retry the same request" in problem["detail"]
    return problem


def test_past_the_time_limit_the_answer_is_503_and_the_retry_gets_it(
    filled_db: Path, slow: Slow, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    slow.release.set()
    with TestClient(_app(filled_db, compute_timeout_seconds=0)) as unlimited:
        expected = unlimited.get(URL)
    assert expected.status_code == 200, expected.text
    deps._services.cache_clear()
    slow.release.clear()
    slow.calls = 0
    slow.ended.clear()

    app = _app(filled_db, compute_timeout_seconds=0.5, compute_hard_timeout_seconds=60)
    with TestClient(app) as client:
        began = time.monotonic()
        first = client.get(URL)
        took = time.monotonic() - began
        slow.started.wait(DEADLINE)
        problem = _assert_still_computing(first, assert_problem)
        # The time computed so far (0.5 s, and what the watcher took to see it), rounded up.
        assert 1 <= int(first.headers["retry-after"]) <= max(1, math.ceil(took))
        assert "60 s in all" in problem["detail"]
        limit = _limit_of(app)
        assert (slow.calls, slow.ended, limit.gate.busy) == (1, [], 1)  # computing, in its slot

        # A retry while it runs waits for it (the time limit again), then gets 503 again.
        again = client.get(URL)
        _assert_still_computing(again, assert_problem)
        assert (slow.calls, slow.ended) == (1, [])  # no second computation

        slow.release.set()
        _poll(lambda: limit.gate.busy == 0)  # it ended and gave its slot back
        assert slow.ended == [None]
        retry = client.get(URL)
    assert retry.status_code == 200, retry.text
    assert retry.json() == expected.json()
    revenue = {row["channel"]: row["revenue"] for row in retry.json()["data"]}
    assert revenue == {"Email": 50.0, "Search": 100.0, "Social": 0.0}  # worked by hand
    assert slow.calls == 1


def test_a_retry_finds_the_computation_running_and_gets_its_answer(
    filled_db: Path, slow_at_the_end: Slow, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    slow = slow_at_the_end
    settings = _settings(filled_db, compute_timeout_seconds=0.5, compute_hard_timeout_seconds=60)
    services = deps.get_services(settings, deps.get_store(settings))

    def release_once_joined() -> None:
        _poll(lambda: slow.started.is_set() and services.cache.waiting() == 1)
        slow.release.set()

    with TestClient(create_app(settings)) as client:
        _assert_still_computing(client.get(URL), assert_problem)
        # The retry joins the computation still running, which ends while the retry waits.
        threading.Thread(target=release_once_joined, daemon=True).start()
        retry = client.get(URL)
    assert retry.status_code == 200, retry.text
    assert (slow.calls, slow.ended) == (1, [None])


def test_the_server_stops_the_work_in_the_background_when_it_shuts_down(
    filled_db: Path, slow: Slow, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    app = _app(filled_db, compute_timeout_seconds=0.5, compute_hard_timeout_seconds=0)
    with TestClient(app) as client:
        _assert_still_computing(client.get(URL), assert_problem)
        limit = _limit_of(app)
        assert slow.started.wait(DEADLINE)
        assert slow.ended == []
    # Leaving the client shuts the app down (its lifespan's shutdown): the work was stopped.
    assert slow.ended == [ComputationCancelledError]
    assert limit.gate.busy == 0


def test_without_a_cache_the_work_is_stopped_at_the_time_limit_and_answered_504(
    filled_db: Path, slow: Slow, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    settings = Settings(db_path=filled_db, cache_bytes=0, compute_timeout_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        assert_problem(client.get(URL), 504, "Computation took too long")
    assert slow.ended == [ComputeTimeoutError]


# --- The limit on its own, with a result cache and apps standing in for the routes ---


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


async def _stays() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _call(
    limit: ComputeLimit,
    path: str,
    receive: Callable[[], Awaitable[dict[str, Any]]] = _stays,
) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await asyncio.wait_for(limit(_scope(path), receive, send), DEADLINE)
    return sent


async def _until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` on the event loop, failing after :data:`DEADLINE` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


def _cached_app(cache: ResultCache, work: Slow) -> Callable[..., Awaitable[None]]:
    """An app computing ``work`` on a miss of the one key, as a route does through the cache."""

    def compute() -> str:
        work.wait()
        return "answer"

    async def app(scope: Any, receive: Any, send: Any) -> None:
        answer = await anyio.to_thread.run_sync(
            lambda: cache.get_or_compute(("s", 1), "k", compute, admit=take_turn)
        )
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": answer.encode()})

    return app


def _limit(app: Any, **bounds: Any) -> ComputeLimit:
    options: dict[str, Any] = {
        "slots": 1,
        "wait_seconds": DEADLINE,
        "timeout_seconds": 0.3,
        "hard_timeout_seconds": 0,
        "finish_in_background": True,
        "max_memory_bytes": 0,
        "poll_seconds": 0.01,
    }
    return ComputeLimit(app, **{**options, **bounds})


def _problem(sent: list[dict[str, Any]]) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
    start, body = sent
    return start["status"], dict(start["headers"]), json.loads(body["body"])


def test_the_hard_limit_stops_the_work_in_the_background_and_frees_its_slot() -> None:
    cache, work = ResultCache(2**20), Slow()

    async def scenario() -> tuple[list[dict[str, Any]], int, list[dict[str, Any]]]:
        limit = _limit(_cached_app(cache, work), hard_timeout_seconds=0.8)
        answered = await _call(limit, "/v1/attribution")
        busy = limit.gate.busy  # still computing, in its slot
        await _until(lambda: limit.gate.busy == 0)
        # Stopped: the next retry starts over (and, released, computes the answer).
        work.release.set()
        retried = await _call(limit, "/v1/attribution")
        return answered, busy, retried

    answered, busy, retried = asyncio.run(scenario())
    status, headers, problem = _problem(answered)
    assert (status, headers[b"content-type"]) == (503, b"application/problem+json")
    assert problem["title"] == "Still computing"
    assert "CLOSEDLOOP_COMPUTE_HARD_TIMEOUT" in problem["detail"]
    assert busy == 1
    assert work.ended == [ComputeTimeoutError, None]
    assert retried[0]["status"] == 200
    assert work.calls == 2


def test_a_retry_past_its_time_limit_gets_a_fresh_503_and_starts_nothing() -> None:
    cache, work = ResultCache(2**20), Slow()

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        limit = _limit(_cached_app(cache, work))
        first = await _call(limit, "/v1/attribution")
        retry = await _call(limit, "/v1/attribution")
        waiting = cache.waiting()
        work.release.set()
        await _until(lambda: limit.gate.busy == 0)
        return first, retry, waiting

    first, retry, waiting = asyncio.run(scenario())
    for sent in (first, retry):
        status, headers, problem = _problem(sent)
        assert (status, problem["title"]) == (503, "Still computing")
        assert int(headers[b"retry-after"]) >= 1
    assert waiting == 0  # the retry stopped waiting when it was answered
    assert (work.calls, work.ended) == (1, [None])
    assert cache.get_or_compute(("s", 1), "k", lambda: "computed again") == "answer"


def test_a_disconnect_before_the_time_limit_stops_the_work() -> None:
    cache, work = ResultCache(2**20), Slow()
    requested: list[bool] = []

    async def leaves_once_started() -> dict[str, Any]:
        if not requested:
            requested.append(True)
            return await _stays()
        while not work.started.is_set():
            await asyncio.sleep(0.005)
        return {"type": "http.disconnect"}

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        limit = _limit(_cached_app(cache, work), timeout_seconds=DEADLINE)
        sent = await _call(limit, "/v1/attribution", leaves_once_started)
        return sent, limit.gate.busy

    sent, busy = asyncio.run(scenario())
    assert sent == []  # nobody to answer
    assert work.ended == [ClientDisconnectedError]
    assert busy == 0


def test_a_disconnect_after_the_503_leaves_the_work_to_finish_for_the_retry() -> None:
    cache, work = ResultCache(2**20), Slow()
    answered = asyncio.Event()
    requested: list[bool] = []
    left: list[bool] = []

    async def leaves_once_answered() -> dict[str, Any]:
        if not requested:
            requested.append(True)
            return await _stays()
        await answered.wait()
        left.append(True)
        return {"type": "http.disconnect"}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        limit = _limit(_cached_app(cache, work))
        sent: list[dict[str, Any]] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))
            if message["type"] == "http.response.body":
                answered.set()

        await limit(_scope("/v1/attribution"), leaves_once_answered, send)
        await _until(lambda: bool(left))
        await asyncio.sleep(0.05)  # the client has gone; the work goes on meanwhile
        work.release.set()
        await _until(lambda: limit.gate.busy == 0)
        retry = await _call(limit, "/v1/attribution")
        return sent, retry

    first, retry = asyncio.run(scenario())
    assert _problem(first)[0] == 503
    assert work.ended == [None]
    assert (retry[0]["status"], retry[1]["body"]) == (200, b"answer")
    assert work.calls == 1


def test_uploaded_path_tables_are_not_cached_and_keep_the_504() -> None:
    work = Slow()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await anyio.to_thread.run_sync(work.wait)

    limit = _limit(app)
    status, _, problem = _problem(asyncio.run(_call(limit, "/v1/attribution/paths")))
    assert (status, problem["title"]) == (504, "Computation took too long")
    assert work.ended == [ComputeTimeoutError]


def test_a_hard_limit_within_the_time_limit_keeps_the_504() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    assert not _limit(app, hard_timeout_seconds=0.3).defers  # the time limit's own
    assert _limit(app, hard_timeout_seconds=0.4).defers
    assert not _limit(app, finish_in_background=False).defers


def test_the_retry_after_is_the_time_spent_within_one_second_and_a_minute() -> None:
    assert [still_computing_retry_after(s) for s in (0.0, 0.3, 1.0, 2.1, 59.5, 3600.0)] == [
        1, 1, 1, 3, 60, 60
    ]  # fmt: skip


def test_the_hard_limit_comes_from_the_environment_and_is_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLOSEDLOOP_COMPUTE_TIMEOUT", "30")
    settings = Settings.from_env()
    assert (settings.compute_timeout_seconds, settings.compute_hard_timeout_seconds) == (30, 300)
    monkeypatch.setenv("CLOSEDLOOP_COMPUTE_HARD_TIMEOUT", "0")
    assert Settings.from_env().compute_hard_timeout_seconds == 0
    monkeypatch.setenv("CLOSEDLOOP_COMPUTE_HARD_TIMEOUT", "45.5")
    assert default_compute_hard_timeout() == 45.5
    for bad in ("-1", "soon", "nan", "inf"):
        monkeypatch.setenv("CLOSEDLOOP_COMPUTE_HARD_TIMEOUT", bad)
        with pytest.raises(ParameterError) as raised:
            Settings.from_env()
        assert str(raised.value) == (
            f"CLOSEDLOOP_COMPUTE_HARD_TIMEOUT must be a number of seconds ≥ 0 (0: no limit); "
            f"got '{bad}'. Unset it to use the default (10 × CLOSEDLOOP_COMPUTE_TIMEOUT)."
        )
