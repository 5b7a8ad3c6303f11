"""Request limits: bodies larger than the server's bound get 413, a full server 503.

:class:`BodySizeLimit` is a pure ASGI middleware: a ``Content-Length`` over
the bound is answered at once with an RFC 9457 problem, and a body sent
without one (chunked) is counted as it is read, so a route reading it gets
:class:`RequestTooLargeError` — answered as the same 413 problem — as soon
as the bound is passed, before the whole body is buffered.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attribution.errors import ClosedloopError


class RequestTooLargeError(ClosedloopError):
    """Raised when a request body or upload is larger than the server accepts."""

    status = 413
    title = "Request too large"


def too_large_detail(limit: int) -> str:
    """Say how large a body may be and what to do instead.

    Examples
    --------
    >>> too_large_detail(2**20)
    'The request body is larger than the 1 MiB this server accepts. Split the file, or ingest it from the command line: closedloop ingest TABLE FILE (the bound is CLOSEDLOOP_MAX_UPLOAD_MB).'
    """  # noqa: E501
    size = f"{limit / 2**20:,.0f} MiB" if limit >= 2**20 else f"{limit:,} bytes"
    return (
        f"The request body is larger than the {size} this server accepts. Split the file, or "
        "ingest it from the command line: closedloop ingest TABLE FILE (the bound is "
        "CLOSEDLOOP_MAX_UPLOAD_MB)."
    )


class BodySizeLimit:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413.

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> BodySizeLimit(app, max_bytes=10).max_bytes
    10
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, counting its body; refuse it once over the bound."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(scope, send, self.max_bytes)
            return
        seen = 0
        limit = self.max_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise RequestTooLargeError(too_large_detail(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def send_problem(
    scope: Scope,
    send: Send,
    status: int,
    title: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer from ASGI middleware with an RFC 9457 problem (no route ran).

    Examples
    --------
    >>> import asyncio
    >>> sent = []
    >>> async def send(message):
    ...     sent.append(message)
    >>> asyncio.run(send_problem({"path": "/v1/x"}, send, 503, "Server busy", "Later."))
    >>> sent[0]["status"], json.loads(sent[1]["body"])["detail"]
    (503, 'Later.')
    """
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope.get("path", ""),
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    await send_problem(
        scope,
        send,
        413,
        RequestTooLargeError.title,
        too_large_detail(limit),
        [(b"connection", b"close")],
    )


class ServerBusyError(ClosedloopError):
    """Raised when every computing slot stayed taken for as long as a request may wait."""

    status = 503
    title = "Server busy"


COMPUTING_PREFIXES = (
    "/v1/attribution",
    "/v1/compare",
    "/v1/paths",
    "/v1/timeseries",
    "/v1/funnel",
    "/v1/budget",
    "/v1/models/",
    "/v1/ingest",
)
"""The routes that compute or write (cheap ones — health, the schema, static files — never wait)."""


class ComputeLimit:
    """ASGI middleware letting at most ``slots`` computing requests run at once.

    A request over the bound waits up to ``wait_seconds`` for a slot, then is
    answered ``503`` with ``Retry-After`` (an RFC 9457 problem): a burst of
    heavy requests queues or is turned away instead of exhausting memory.

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> ComputeLimit(app, slots=2, wait_seconds=1.0).slots
    2
    """

    def __init__(self, app: ASGIApp, slots: int, wait_seconds: float) -> None:
        self.app = app
        self.slots = max(1, slots)
        self.wait_seconds = max(0.0, wait_seconds)
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a computing request once a slot is free, or refuse it with 503."""
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(COMPUTING_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # created on the server's event loop
            self._semaphore = asyncio.Semaphore(self.slots)
        semaphore = self._semaphore
        try:
            await asyncio.wait_for(semaphore.acquire(), timeout=self.wait_seconds or 1e-9)
        except TimeoutError:
            await _busy(scope, send, self.slots, self.wait_seconds)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            semaphore.release()


def busy_detail(slots: int, wait_seconds: float) -> str:
    """Say why a request was turned away and what to do.

    Examples
    --------
    >>> busy_detail(2, 30.0)
    'All 2 computing slots stayed busy for 30 s. Retry later (the bound is CLOSEDLOOP_MAX_COMPUTE).'
    """
    return (
        f"All {slots} computing slots stayed busy for {wait_seconds:g} s. Retry later "
        "(the bound is CLOSEDLOOP_MAX_COMPUTE)."
    )


async def _busy(scope: Scope, send: Send, slots: int, wait_seconds: float) -> None:
    retry = str(max(1, math.ceil(wait_seconds))).encode()
    await send_problem(
        scope,
        send,
        503,
        ServerBusyError.title,
        busy_detail(slots, wait_seconds),
        [(b"retry-after", retry)],
    )


__all__ = [
    "COMPUTING_PREFIXES",
    "BodySizeLimit",
    "ComputeLimit",
    "RequestTooLargeError",
    "ServerBusyError",
    "busy_detail",
    "send_problem",
    "too_large_detail",
]
