"""Computing slots: only work that misses the cache takes one; a burst queues, then gets 503 (#12).

The apps here stand in for the routes: they call :func:`attribution.cancel.take_turn`
in a worker thread where a route's result cache would, on a miss it computes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
import pytest

from api.http import limits
from api.http.limits import ClientDisconnectedError, ComputeLimit, busy_detail
from api.http.settings import Settings
from api.services.cache import ResultCache
from attribution.cancel import ComputationCancelledError, check_cancelled, take_turn

DEADLINE = 10.0
"""Seconds any wait of these tests may take before it counts as a hang."""


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

    await limit(_scope(path), receive, send)
    return sent


async def _ok(send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` on the event loop, failing after :data:`DEADLINE` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


# The first two tests used to assert that any request under a computing prefix queued
# for a slot. Now a request takes one only when it computes (a cache miss), so their
# apps say when they compute, with take_turn, as the result cache does.


def test_a_request_over_the_bound_waits_then_gets_503() -> None:
    release = asyncio.Event()
    started: list[str] = []

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.to_thread(take_turn)  # a miss: compute
        started.append(scope["path"])
        await release.wait()
        await _ok(send)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        limit = ComputeLimit(slow_app, slots=1, wait_seconds=0.05, max_memory_bytes=0)
        first = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.gate.busy == 1)
        refused = await _call(limit, "/v1/compare")  # waits 0.05 s, the slot stays taken
        release.set()
        return await first, refused

    answered, refused = asyncio.run(scenario())
    assert answered[0]["status"] == 200
    start, body = refused
    assert start["status"] == 503
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"application/problem+json"
    assert headers[b"retry-after"] == b"1"
    problem = json.loads(body["body"])
    assert problem["status"] == 503
    assert "CLOSEDLOOP_MAX_COMPUTE" in problem["detail"]
    assert started == ["/v1/attribution"]


def test_cheap_routes_never_wait_and_a_freed_slot_is_reused() -> None:
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] != "/v1/health":
            await asyncio.to_thread(take_turn)
        if scope["path"] == "/v1/attribution":
            await release.wait()
        await _ok(send)

    async def scenario() -> list[int]:
        limit = ComputeLimit(app, slots=1, wait_seconds=DEADLINE, max_memory_bytes=0)
        busy = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.gate.busy == 1)
        health = await asyncio.wait_for(_call(limit, "/v1/health"), timeout=DEADLINE)
        queued = asyncio.create_task(_call(limit, "/v1/paths"))
        await _until(lambda: limit.gate.waiting == 1)
        release.set()
        return [health[0]["status"], (await busy)[0]["status"], (await queued)[0]["status"]]

    assert asyncio.run(scenario()) == [200, 200, 200]


def test_a_request_answered_from_the_cache_never_waits_for_a_slot() -> None:
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/v1/attribution":  # a miss, computing until released
            await asyncio.to_thread(take_turn)
            await release.wait()
        await _ok(send)  # /v1/compare: a hit, no turn taken

    async def scenario() -> tuple[int, int, bool]:
        limit = ComputeLimit(app, slots=1, wait_seconds=DEADLINE, max_memory_bytes=0)
        busy = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.gate.busy == 1)
        hit = await asyncio.wait_for(_call(limit, "/v1/compare"), timeout=DEADLINE)
        still_busy = not busy.done()
        release.set()
        return hit[0]["status"], (await busy)[0]["status"], still_busy

    assert asyncio.run(scenario()) == (200, 200, True)


def test_the_503_of_a_lazy_turn_is_the_one_a_refusal_on_arrival_gets() -> None:
    """A turn that does not come in time is answered exactly as the upfront refusal."""
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].startswith("/v1/ingest"):  # takes its turn upfront
            await release.wait()
        else:
            await asyncio.to_thread(take_turn)
        await _ok(send)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        limit = ComputeLimit(app, slots=1, wait_seconds=0.05, max_memory_bytes=0)
        busy = asyncio.create_task(_call(limit, "/v1/ingest/costs"))
        await _until(lambda: limit.gate.busy == 1)
        upfront = await _call(limit, "/v1/ingest/touchpoints")
        lazy = await _call(limit, "/v1/paths")
        release.set()
        assert (await busy)[0]["status"] == 200
        return upfront, lazy

    upfront, lazy = asyncio.run(scenario())
    assert [m["type"] for m in lazy] == ["http.response.start", "http.response.body"]
    for start, body in (lazy, upfront):  # the same headers, in the same order
        headers = dict(start["headers"])
        assert [name for name, _ in start["headers"]] == [
            b"content-type", b"content-length", b"retry-after"
        ]  # fmt: skip
        assert headers[b"content-length"] == str(len(body["body"])).encode()
        assert (start["status"], headers[b"retry-after"]) == (503, b"1")
    refused = json.loads(lazy[1]["body"])
    expected = json.loads(upfront[1]["body"])
    assert refused == {**expected, "instance": "/v1/paths"}
    assert refused["detail"] == busy_detail(1, 0.05)


def test_waiting_for_a_slot_is_not_computing_time_and_ends_when_the_client_leaves() -> None:
    release = asyncio.Event()
    ended: list[type[BaseException] | None] = []
    gone = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].startswith("/v1/ingest"):  # untimed, holds the one slot
            await release.wait()
        else:
            try:
                await asyncio.to_thread(take_turn)
            except ComputationCancelledError as exc:
                ended.append(type(exc))
                raise
            ended.append(None)
        await _ok(send)

    async def leaves() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def scenario() -> tuple[int, list[dict[str, Any]], int, int]:
        limit = ComputeLimit(
            app, slots=1, wait_seconds=DEADLINE, timeout_seconds=0.2, max_memory_bytes=0,
            poll_seconds=0.01,
        )  # fmt: skip
        holder = asyncio.create_task(_call(limit, "/v1/ingest/costs"))
        await _until(lambda: limit.gate.busy == 1)
        waits = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.gate.waiting == 1)
        await asyncio.sleep(0.4)  # twice the time limit, spent waiting: not counted
        left = asyncio.create_task(_call(limit, "/v1/paths", leaves))
        await _until(lambda: limit.gate.waiting == 2)
        gone.set()  # its client leaves while it waits: it stops waiting, the slot still taken
        after_leaving = await asyncio.wait_for(left, timeout=DEADLINE)
        waiting_after = limit.gate.waiting
        release.set()
        answered = await asyncio.wait_for(waits, timeout=DEADLINE)
        await holder
        return answered[0]["status"], after_leaving, waiting_after, limit.gate.busy

    status, after_leaving, waiting_after, busy = asyncio.run(scenario())
    assert status == 200  # not 504: its clock ran only once it had the slot
    assert after_leaving == []  # nobody to answer
    assert waiting_after == 1
    assert busy == 0
    assert len(ended) == 2
    assert set(ended) == {ClientDisconnectedError, None}


def test_the_time_limit_counts_from_when_the_work_starts_not_from_its_seat() -> None:
    """A request that waited for a seat gets its whole time limit once it runs."""
    release = asyncio.Event()
    ran: list[float] = []

    def compute() -> None:
        take_turn()
        began = time.monotonic()
        try:
            for _ in range(int(DEADLINE / 0.005)):
                check_cancelled()
                time.sleep(0.005)
        finally:
            ran.append(time.monotonic() - began)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].startswith("/v1/ingest"):  # untimed, in the only seat
            await release.wait()
        else:
            await asyncio.to_thread(compute)
        await _ok(send)

    async def scenario() -> int:
        limit = ComputeLimit(
            app, slots=1, seats=1, wait_seconds=DEADLINE, timeout_seconds=0.1,
            max_memory_bytes=0, poll_seconds=0.01,
        )  # fmt: skip
        holder = asyncio.create_task(_call(limit, "/v1/ingest/costs"))
        await _until(lambda: limit.seats.busy == 1)
        stopped = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.seats.waiting == 1)
        await asyncio.sleep(1.0)  # ten times its time limit, waiting for a seat
        release.set()
        await holder
        answer = await asyncio.wait_for(stopped, timeout=DEADLINE)
        return int(answer[0]["status"])

    assert asyncio.run(scenario()) == 504
    assert len(ran) == 1
    assert ran[0] < 0.8  # stopped after its own 0.1 s, not after the 1 s it waited


def test_a_request_ending_while_its_thread_waits_leaves_no_slot_taken() -> None:
    """Shutdown cancels the request's task; its thread, still waiting, must not keep a slot."""
    release = asyncio.Event()
    waiting = threading.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].startswith("/v1/ingest"):
            await release.wait()
        else:
            waiting.set()
            await asyncio.to_thread(take_turn)
        await _ok(send)

    async def scenario() -> int:
        limit = ComputeLimit(app, slots=1, wait_seconds=DEADLINE, max_memory_bytes=0)
        holder = asyncio.create_task(_call(limit, "/v1/ingest/costs"))
        await _until(lambda: limit.gate.busy == 1)
        waits = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.gate.waiting == 1)
        waits.cancel()  # the server shuts down
        await asyncio.gather(waits, return_exceptions=True)
        await _until(lambda: limit.gate.waiting == 0)
        release.set()
        await holder
        return limit.gate.busy

    assert asyncio.run(scenario()) == 0


def test_requests_waiting_for_a_slot_leave_threads_for_cache_hits() -> None:
    """Waiting happens in the routes' threads: more waiters than anyio's default 40 of them."""
    release = asyncio.Event()
    waiters = 45

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/v1/attribution":  # computes, holding the one slot
            await anyio.to_thread.run_sync(take_turn)
            await release.wait()
        elif scope["path"] == "/v1/compare":  # misses, waiting for the slot in their threads
            await anyio.to_thread.run_sync(take_turn)
        else:  # a hit, answered in a thread as the sync routes are
            await anyio.to_thread.run_sync(lambda: None)
        await _ok(send)

    async def scenario() -> tuple[int, list[int]]:
        limit = ComputeLimit(app, slots=1, wait_seconds=DEADLINE, max_memory_bytes=0)
        holder = asyncio.create_task(_call(limit, "/v1/attribution"))
        await _until(lambda: limit.gate.busy == 1)
        queued = [asyncio.create_task(_call(limit, "/v1/compare")) for _ in range(waiters)]
        await _until(lambda: limit.gate.waiting == waiters)
        hit = await asyncio.wait_for(_call(limit, "/v1/paths"), timeout=DEADLINE)
        release.set()
        done = await asyncio.wait_for(asyncio.gather(holder, *queued), timeout=DEADLINE)
        return hit[0]["status"], [answer[0]["status"] for answer in done]

    hit, rest = asyncio.run(scenario())
    assert hit == 200
    assert rest == [200] * (waiters + 1)


def test_requests_woken_by_one_computation_run_a_few_at_a_time() -> None:
    """Those waiting for one answer leave their seats, and take one again to send it."""
    cache = ResultCache(2**20)
    release = threading.Event()
    running: list[int] = [0, 0]  # now, at most
    lock = threading.Lock()
    burst = 8

    def compute() -> str:
        assert release.wait(DEADLINE)
        return "answer"

    def handle() -> None:
        cache.get_or_compute(("s", 1), "k", compute, admit=take_turn)
        with lock:
            running[0] += 1
            running[1] = max(running)
        time.sleep(0.02)  # sends the answer, in its seat
        with lock:
            running[0] -= 1

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await anyio.to_thread.run_sync(handle)  # the routes' threads (asyncio's pool has 6)
        await _ok(send)

    async def scenario() -> list[int]:
        limit = ComputeLimit(app, slots=1, seats=2, wait_seconds=DEADLINE, max_memory_bytes=0)
        calls = [asyncio.create_task(_call(limit, "/v1/attribution")) for _ in range(burst)]
        # One computes; the others wait (for its answer, or for the slot), out of their seats.
        await _until(lambda: cache.waiting() + limit.gate.waiting == burst - 1)
        assert limit.seats.busy == 1
        release.set()
        answers = await asyncio.wait_for(asyncio.gather(*calls), timeout=DEADLINE)
        return [answer[0]["status"] for answer in answers]

    assert asyncio.run(scenario()) == [200] * burst
    assert running[1] <= 2


def test_over_the_memory_ceiling_when_its_turn_comes_a_request_gets_503(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory is checked on arrival and again when the slot is taken, as it was before."""
    grown = threading.Event()
    monkeypatch.setattr(limits, "resident_bytes", lambda: 3 * 2**30 if grown.is_set() else 1)
    monkeypatch.setattr(limits, "release_memory", lambda: None)
    computed: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        grown.set()  # memory grows while the request is on its way to its first miss
        await asyncio.to_thread(take_turn)
        computed.append(True)
        await _ok(send)

    limit = ComputeLimit(app, slots=1, wait_seconds=1.0, max_memory_bytes=2**31)
    start, body = asyncio.run(_call(limit, "/v1/attribution"))
    assert start["status"] == 503
    assert dict(start["headers"])[b"retry-after"] == str(limits.MEMORY_RETRY_AFTER_SECONDS).encode()
    problem = json.loads(body["body"])
    assert problem["title"] == "Server out of memory headroom"
    assert problem["detail"] == limits.memory_detail(3 * 2**30, 2**31)
    assert computed == []
    assert limit.gate.busy == 0


def test_the_bounds_come_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("CLOSEDLOOP_MAX_COMPUTE", "3")
    monkeypatch.setenv("CLOSEDLOOP_COMPUTE_WAIT", "2.5")
    settings = Settings.from_env()
    assert (settings.max_compute, settings.compute_wait_seconds) == (3, 2.5)
