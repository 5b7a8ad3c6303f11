"""A burst of heavy requests queues for a bounded time, then gets 503 with Retry-After (#12)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

from api.http.limits import ComputeLimit
from api.http.settings import Settings


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


async def _call(limit: ComputeLimit, path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await limit(_scope(path), receive, send)
    return sent


def test_a_request_over_the_bound_waits_then_gets_503() -> None:
    release = asyncio.Event()
    started: list[str] = []

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        started.append(scope["path"])
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        limit = ComputeLimit(slow_app, slots=1, wait_seconds=0.05)
        first = asyncio.create_task(_call(limit, "/v1/attribution"))
        await asyncio.sleep(0.01)
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
        if scope["path"] == "/v1/attribution":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def scenario() -> list[int]:
        limit = ComputeLimit(app, slots=1, wait_seconds=1.0)
        busy = asyncio.create_task(_call(limit, "/v1/attribution"))
        await asyncio.sleep(0.01)
        health = await asyncio.wait_for(_call(limit, "/v1/health"), timeout=0.5)
        queued = asyncio.create_task(_call(limit, "/v1/paths"))
        await asyncio.sleep(0.01)
        release.set()
        return [health[0]["status"], (await busy)[0]["status"], (await queued)[0]["status"]]

    assert asyncio.run(scenario()) == [200, 200, 200]


def test_the_bounds_come_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("CLOSEDLOOP_MAX_COMPUTE", "3")
    monkeypatch.setenv("CLOSEDLOOP_COMPUTE_WAIT", "2.5")
    settings = Settings.from_env()
    assert (settings.max_compute, settings.compute_wait_seconds) == (3, 2.5)
