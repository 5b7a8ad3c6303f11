"""Request limits: large bodies get 413; heavy work is bounded in number, time and memory.

:class:`BodySizeLimit` is a pure ASGI middleware: a ``Content-Length`` over
the bound is answered at once with an RFC 9457 problem, and a body sent
without one (chunked) is counted as it is read, so a route reading it gets
:class:`RequestTooLargeError` — answered as the same 413 problem — as soon
as the bound is passed, before the whole body is buffered.

:class:`ComputeLimit` bounds the requests that compute (:data:`COMPUTING_PREFIXES`):

====================================  ==============================  ==========================
Environment variable                  Bound (default)                 Answer past it
====================================  ==============================  ==========================
``CLOSEDLOOP_MAX_COMPUTE``            requests computing at once      wait, then 503 Server busy
                                      (the CPU count)                 with ``Retry-After``
``CLOSEDLOOP_COMPUTE_WAIT``           seconds to wait for a turn (30)
``CLOSEDLOOP_COMPUTE_TIMEOUT``        seconds a request computes      503 Still computing with
                                      before it is answered (120;     ``Retry-After``, the work
                                      0: no limit)                    going on in the background
                                                                      (504 Computation took too
                                                                      long, the work stopped,
                                                                      when it cannot be cached)
``CLOSEDLOOP_COMPUTE_HARD_TIMEOUT``   seconds a computation going on  the work stopped (its 503
                                      in the background may run in    was sent; the next retry
                                      all (10 time limits; 0: none)   starts it anew)
``CLOSEDLOOP_MAX_MEMORY_MB``          resident memory of the server   503 Server out of memory
                                      (3/4 of physical memory or of   headroom with
                                      the cgroup's limit; 0: none)    ``Retry-After``
====================================  ==============================  ==========================

Only work the result cache misses takes a computing slot: the slot is a
*turn* (:class:`attribution.cancel.Turn`) that the request's thread takes
at its first cache miss and holds until the request ends, so an answer
found in the cache is sent at once however many computations are running
or waiting. Work that does not go through the cache (:data:`UPFRONT_PREFIXES`:
ingests, uploaded path tables) takes its turn before it starts. How many
computing requests *run* at once is bounded as well (twice the slots): a
request waiting for a slot, or for another request's computation of its
answer, leaves its seat to others meanwhile.

At the time limit, a request that computes is answered ``503 Still
computing`` and its work goes on in the background, keeping its slot, so
``CLOSEDLOOP_MAX_COMPUTE`` still bounds the work running; its answer lands
in the result cache, where a retry of the same query finds it. A retry that
comes while it still runs waits for it (single flight: no second
computation), at most the time limit again, then gets a fresh ``503``.
``Retry-After`` is the time computed so far, rounded up, between 1 and
:data:`MAX_RETRY_AFTER_SECONDS` seconds. The work is stopped at the hard
limit, or when the server shuts down. What cannot be cached is stopped at
the time limit and answered ``504`` instead: uploaded path tables, work done
outside the result cache, and everything when the cache holds nothing
(``CLOSEDLOOP_CACHE_MB=0``) or the hard limit is not above the time limit.

A computation is also stopped when its client disconnects before its answer
— before the time limit. Once answered ``503 Still computing``, its answer is
wanted by the retry: a disconnect no longer stops it. Stopping goes
through :mod:`attribution.cancel`: DuckDB queries are interrupted
(:mod:`ingest.cancel`), long loops stop at their next check and a wait for a
turn or for another request's computation ends at once, so a stopped request
frees its slot, and never holds up the server's shutdown, for longer than
the step it was in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from attribution.cancel import (
    Cancellation,
    ComputationCancelledError,
    ComputeGate,
    Turn,
    current_cancellation,
    seated,
)
from attribution.errors import ClosedloopError, ParameterError


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


class ServerBusyError(ComputationCancelledError):
    """Raised when every computing slot stayed taken for as long as a request may wait.

    A cancellation: the request's turn cancels its work with it
    (:class:`~attribution.cancel.Turn`) and the limit answers it.
    """

    status = 503
    title = "Server busy"


class ComputeTimeoutError(ComputationCancelledError):
    """Raised in work that ran longer than the server's time limit (answered 504) or hard limit."""

    status = 504
    title = "Computation took too long"


class StillComputingError(ComputationCancelledError):
    """Raised in a request that waited its time limit for another's computation of its answer.

    Answered ``503 Still computing`` with ``Retry-After``; the computation it
    waited for goes on. A request that computes its answer itself is answered
    the same, without this error: its work goes on in the background.
    """

    status = 503
    title = "Still computing"


class OutOfMemoryHeadroomError(ComputationCancelledError):
    """Raised when the server's memory is over its ceiling (answered 503 with Retry-After)."""

    status = 503
    title = "Server out of memory headroom"


class ClientDisconnectedError(ComputationCancelledError):
    """Raised in work whose client closed the connection (nobody is left to answer)."""

    status = 499
    title = "Client closed request"


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

UNTIMED_PREFIXES = ("/v1/ingest",)
"""Computing routes without a time limit: writes, bounded by the size of their body instead."""

UPFRONT_PREFIXES = ("/v1/ingest", "/v1/attribution/paths")
"""Computing routes whose work does not go through the result cache (writes, uploaded path
tables): they take their computing turn before they start. The others take it at their
first cache miss."""

DEFAULT_THREADS = 256
"""Threads the routes may run in at once (anyio's default is 40): requests waiting for a turn
wait in theirs, so cache hits must still find one."""

DEFAULT_COMPUTE_TIMEOUT = 120.0
"""Seconds a request computes before it is answered, by default (``CLOSEDLOOP_COMPUTE_TIMEOUT``)."""

HARD_TIMEOUT_FACTOR = 10
"""The hard limit by default (``CLOSEDLOOP_COMPUTE_HARD_TIMEOUT``): this many time limits."""

MAX_RETRY_AFTER_SECONDS = 60
"""The largest ``Retry-After`` of a ``503 Still computing``."""

SHUTDOWN_GRACE_SECONDS = 5.0
"""How long the server's shutdown waits for the computations it stops in the background."""

DEFAULT_MEMORY_FRACTION = 0.75
"""Share of the machine's memory (or of the cgroup's limit) the server may use by default."""

DUCKDB_MEMORY_FRACTION = 0.5
"""Share of the server's memory ceiling DuckDB may use (its ``memory_limit``): it spills beyond."""

MEMORY_RETRY_AFTER_SECONDS = 10
"""``Retry-After`` of a 503 for want of memory headroom."""

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)

logger = logging.getLogger("closedloop.api")


def seconds_setting(name: str, default: float, default_text: str | None = None) -> float:
    """Return the seconds in environment variable ``name`` (a number ≥ 0), else ``default``.

    ``default_text`` says what the default is in the error message (default: ``default``).

    Raises
    ------
    ParameterError
        When the variable is set to anything but a finite number ≥ 0.

    Examples
    --------
    >>> os.environ["CLOSEDLOOP_EXAMPLE"] = "-1"
    >>> seconds_setting("CLOSEDLOOP_EXAMPLE", 120.0)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: CLOSEDLOOP_EXAMPLE must be a number of seconds ≥ 0 (0: no limit); got '-1'. Unset it to use the default (120).
    >>> del os.environ["CLOSEDLOOP_EXAMPLE"]
    >>> seconds_setting("CLOSEDLOOP_EXAMPLE", 120.0)
    120.0
    """  # noqa: E501
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ParameterError(
            f"{name} must be a number of seconds ≥ 0 (0: no limit); got '{text}'. "
            f"Unset it to use the default ({default_text or f'{default:g}'})."
        )
    return seconds


def default_compute_timeout() -> float:
    """Return ``$CLOSEDLOOP_COMPUTE_TIMEOUT`` seconds, else :data:`DEFAULT_COMPUTE_TIMEOUT`.

    ``0`` means no time limit.

    Examples
    --------
    >>> os.environ["CLOSEDLOOP_COMPUTE_TIMEOUT"] = "2.5"
    >>> default_compute_timeout()
    2.5
    >>> del os.environ["CLOSEDLOOP_COMPUTE_TIMEOUT"]
    >>> default_compute_timeout()
    120.0
    """
    return seconds_setting("CLOSEDLOOP_COMPUTE_TIMEOUT", DEFAULT_COMPUTE_TIMEOUT)


def default_compute_hard_timeout(timeout_seconds: float | None = None) -> float:
    """Return ``$CLOSEDLOOP_COMPUTE_HARD_TIMEOUT`` seconds, else 10 time limits.

    The time limit is ``timeout_seconds``, else :func:`default_compute_timeout`;
    ``0`` means no hard limit.

    Examples
    --------
    >>> default_compute_hard_timeout(2.5)
    25.0
    >>> os.environ["CLOSEDLOOP_COMPUTE_HARD_TIMEOUT"] = "600"
    >>> default_compute_hard_timeout(2.5)
    600.0
    >>> del os.environ["CLOSEDLOOP_COMPUTE_HARD_TIMEOUT"]
    """
    soft = default_compute_timeout() if timeout_seconds is None else timeout_seconds
    return seconds_setting(
        "CLOSEDLOOP_COMPUTE_HARD_TIMEOUT",
        HARD_TIMEOUT_FACTOR * soft,
        f"{HARD_TIMEOUT_FACTOR} × CLOSEDLOOP_COMPUTE_TIMEOUT",
    )


def memory_bound_bytes() -> int | None:
    """Return the memory this process can have: physical memory, or the cgroup's limit if lower.

    ``None`` when neither can be read (not Linux nor POSIX).

    Examples
    --------
    >>> memory_bound_bytes() > 2**20
    True
    """
    bound: int | None = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        bound = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for path in _CGROUP_LIMITS:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and (bound is None or 0 < int(text) < bound):
            bound = int(text)  # "max" (v2) or a huge number (v1) mean no limit
    return bound


def default_max_memory_bytes() -> int:
    """Return the memory ceiling: ``$CLOSEDLOOP_MAX_MEMORY_MB`` MiB, else 3/4 of the bound.

    The bound is :func:`memory_bound_bytes`; ``0`` (or no readable bound)
    means no ceiling.

    Examples
    --------
    >>> os.environ["CLOSEDLOOP_MAX_MEMORY_MB"] = "1024"
    >>> default_max_memory_bytes()
    1073741824
    >>> del os.environ["CLOSEDLOOP_MAX_MEMORY_MB"]
    >>> default_max_memory_bytes() == int(memory_bound_bytes() * DEFAULT_MEMORY_FRACTION)
    True
    """
    text = os.environ.get("CLOSEDLOOP_MAX_MEMORY_MB")
    if text:
        return max(0, int(float(text) * 2**20))
    bound = memory_bound_bytes()
    return int(bound * DEFAULT_MEMORY_FRACTION) if bound else 0


def resident_bytes() -> int | None:
    """Return this process's resident memory (RSS) now, from ``/proc/self/statm``.

    ``None`` where there is no ``/proc`` (then no memory ceiling applies).

    Examples
    --------
    >>> resident_bytes() > 2**20
    True
    """
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):  # pragma: no cover - not Linux
        return None


def release_memory() -> None:
    """Collect garbage and hand the C allocator's free pages back to the system (glibc).

    Examples
    --------
    >>> release_memory()
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _size(nbytes: int) -> str:
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:,.1f} GiB"
    return f"{nbytes / 2**20:,.0f} MiB"


def timeout_detail(seconds: float, bound: str = "CLOSEDLOOP_COMPUTE_TIMEOUT") -> str:
    """Say that a computation ran out of time, and how to ask for less.

    Examples
    --------
    >>> timeout_detail(120.0)
    'The computation ran longer than the 120 s this server allows, so it was stopped. Narrow the period (start, end), ask for fewer bootstrap resamples or samples, or run it from the command line (the bound is CLOSEDLOOP_COMPUTE_TIMEOUT).'
    """  # noqa: E501
    return (
        f"The computation ran longer than the {seconds:g} s this server allows, so it was "
        "stopped. Narrow the period (start, end), ask for fewer bootstrap resamples or "
        f"samples, or run it from the command line (the bound is {bound})."
    )


def still_computing_retry_after(elapsed: float) -> int:
    """Return the ``Retry-After`` of a ``503 Still computing``: the time spent so far, bounded.

    The computation has run ``elapsed`` seconds and may well need as long
    again; at least 1 s and at most :data:`MAX_RETRY_AFTER_SECONDS`, since a
    retry waits for the answer itself (up to the time limit again), so coming
    back early costs nothing but a connection.

    Examples
    --------
    >>> still_computing_retry_after(0.2), still_computing_retry_after(7.5)
    (1, 8)
    >>> still_computing_retry_after(120.0)
    60
    """
    return min(MAX_RETRY_AFTER_SECONDS, max(1, math.ceil(elapsed)))


def still_computing_detail(seconds: float, retry_after: int, hard_seconds: float) -> str:
    """Say that the answer is not ready yet, that it will be, and when to ask again.

    Examples
    --------
    >>> still_computing_detail(120.0, 60, 1200.0)
    'The answer is not ready after 120 s (the bound is CLOSEDLOOP_COMPUTE_TIMEOUT). It is still being computed and will be kept: retry the same request in 60 s, and the retry gets the answer, or waits for it up to 120 s again. A computation running longer than 1200 s in all is stopped (the bound is CLOSEDLOOP_COMPUTE_HARD_TIMEOUT).'
    """  # noqa: E501
    hard = (
        f" A computation running longer than {hard_seconds:g} s in all is stopped (the bound "
        "is CLOSEDLOOP_COMPUTE_HARD_TIMEOUT)."
        if hard_seconds
        else ""
    )
    return (
        f"The answer is not ready after {seconds:g} s (the bound is CLOSEDLOOP_COMPUTE_TIMEOUT). "
        f"It is still being computed and will be kept: retry the same request in {retry_after} "
        f"s, and the retry gets the answer, or waits for it up to {seconds:g} s again.{hard}"
    )


def memory_detail(resident: int, ceiling: int, *, stopped: bool = False) -> str:
    """Say that the server is out of memory headroom, and what to do.

    Examples
    --------
    >>> memory_detail(3 * 2**30, 2**31)
    'The server is using 3.0 GiB of the 2.0 GiB of memory it may use, so it cannot start another computation now. Retry later (the bound is CLOSEDLOOP_MAX_MEMORY_MB).'
    >>> memory_detail(3 * 2**30, 2**31, stopped=True)
    'The server ran out of memory headroom (3.0 GiB of the 2.0 GiB it may use) while computing this answer, so the computation was stopped. Retry later, or narrow the period (start, end) (the bound is CLOSEDLOOP_MAX_MEMORY_MB).'
    """  # noqa: E501
    if stopped:
        return (
            f"The server ran out of memory headroom ({_size(resident)} of the {_size(ceiling)} "
            "it may use) while computing this answer, so the computation was stopped. Retry "
            "later, or narrow the period (start, end) (the bound is CLOSEDLOOP_MAX_MEMORY_MB)."
        )
    return (
        f"The server is using {_size(resident)} of the {_size(ceiling)} of memory it may use, "
        "so it cannot start another computation now. Retry later (the bound is "
        "CLOSEDLOOP_MAX_MEMORY_MB)."
    )


DISCONNECTED_DETAIL = "The client closed the connection before the answer was ready."

SHUTDOWN_DETAIL = "The computation was stopped: its request was cancelled."


class _Run:
    """One computing request in flight: its cancellation, turn and seat, and what was sent."""

    def __init__(
        self,
        scope: Scope,
        send: Send,
        cancellation: Cancellation,
        turn: Turn,
        seat: Turn,
        timed: bool,
        answer: Callable[[_Run], Awaitable[None]],
        *,
        deferrable: bool = False,
    ) -> None:
        self.scope = scope
        self.send = send
        self.cancellation = cancellation
        self.turn = turn
        self.seat = seat
        self.timed = timed
        self.deferrable = deferrable
        """Past the time limit, its work may go on in the background (its answer is cached)."""
        self.background = False
        """Answered ``503 Still computing`` at the time limit: its work goes on, for the cache."""
        self.retry_after = 1
        self.still_detail = ""
        self.answer_sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done once the middleware's answer in the app's stead (:attr:`handled`) is sent whole."""
        self._answer = answer
        self.clock = time.monotonic()
        """When the app started on the request: its clock, less the time it waits for turns."""
        self._waited_before = turn.waited(self.clock) + seat.waited(self.clock)
        self.response_started = False
        self.response_complete = False
        self.answered = False
        """The middleware answered in the app's stead, or the client left: the app's messages
        are dropped."""
        self.handled = False

    def elapsed(self, now: float) -> float:
        """Seconds the request has run (``now``: :func:`time.monotonic`), waits for turns out."""
        waited = self.turn.waited(now) + self.seat.waited(now) - self._waited_before
        return now - self.clock - waited

    async def app_send(self, message: Message) -> None:
        if (
            message["type"] == "http.response.start"
            and self.cancellation.cancelled
            and not self.handled
        ):
            # Stopped from within (no turn came in time): the middleware's answer goes first.
            await self._answer(self)
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.response_complete = True
        await self.send(message)


class _Receiver:
    """Reads the client's messages for the app, noticing when the client leaves.

    One message is read ahead at most (a queue of one), so a large body is
    still read only as fast as the app consumes it.
    """

    def __init__(self, receive: Receive, run: _Run) -> None:
        self._receive = receive
        self._run = run
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        self._disconnected = False
        self._failure: Exception | None = None

    async def pump(self) -> None:
        while True:
            try:
                message = await self._receive()
            except Exception as exc:  # handed to the app, which would have got it reading
                self._failure = exc
                await self._queue.put(_RECEIVE_FAILED)
                return
            if message["type"] == "http.disconnect":
                self._disconnected = True
                # Past the time limit, the work goes on for the retry: its client may leave.
                if not self._run.response_complete and not self._run.background:
                    self._run.answered = True  # nobody is left to answer
                    self._run.cancellation.cancel(ClientDisconnectedError, DISCONNECTED_DETAIL)
            await self._queue.put(message)
            if self._disconnected:
                return

    async def receive(self) -> Message:
        if self._disconnected and self._queue.empty():
            return {"type": "http.disconnect"}
        message = await self._queue.get()
        if message is _RECEIVE_FAILED and self._failure is not None:
            self._queue.put_nowait(message)  # every later read fails the same way
            raise self._failure
        return message


_RECEIVE_FAILED: Message = {"type": "closedloop.receive.failed"}


class ComputeLimit:
    """ASGI middleware bounding computing requests: how many at once, how long, how much memory.

    - At most ``slots`` compute at once. A request takes its slot — its
      :class:`~attribution.cancel.Turn` on the limit's
      :class:`~attribution.cancel.ComputeGate` — at its first result-cache
      miss (:data:`UPFRONT_PREFIXES`: before it starts) and holds it until it
      ends; one answered from the cache never takes one. A request over the
      bound waits up to ``wait_seconds`` for a slot, first come first served,
      then is answered ``503 Server busy`` with ``Retry-After``: a burst of
      heavy requests queues or is turned away.
    - At most ``seats`` computing requests run at once (default: twice the
      slots), first come first served, with the same wait and 503. A request
      gives its seat back while it waits for a slot or for another request's
      computation of the same answer, and takes one again to go on: waiting
      requests leave the processor (and the interpreter's lock) to the ones
      that run, computations hold at most ``slots`` seats, and a cache hit
      waits at most behind other answers being sent.
    - A request computing longer than ``timeout_seconds`` (counted from
      when it arrived, without the time it waited for a slot or seat; reading
      an uploaded body included; writes under :data:`UNTIMED_PREFIXES` have
      no time limit) is answered then. With ``finish_in_background`` (the
      app caches its answers) it gets ``503 Still computing`` with
      ``Retry-After`` (:func:`still_computing_retry_after`), and:

      * if it holds its computing slot (it computes), its work goes on in the
        background, holding its slot and seat until it ends, so its answer
        lands in the result cache: a retry of the same query gets it from
        there, or waits for it (joining the computation, see
        :class:`api.services.cache.ResultCache`);
      * if it only waits for another request's computation of its answer
        (:attr:`~attribution.cancel.Cancellation.joining`), it stops waiting;
        that computation goes on.

      A computation in the background running longer than
      ``hard_timeout_seconds`` in all is stopped (the next retry starts it
      anew); so is one still running when the server shuts down. Work that is
      not cached (:data:`UPFRONT_PREFIXES`, or an app without a cache), and a
      request computing outside the cache, is stopped instead and answered
      ``504 Computation took too long``, as is every request past its time
      limit without ``finish_in_background`` or with a hard limit at or under
      the time limit.
    - While the process's resident memory is over ``max_memory_bytes``, a new
      computing request is answered ``503 Server out of memory headroom``
      with ``Retry-After`` (checked when it arrives and when it gets its
      slot), and the youngest running computation is stopped and answered so
      (one a second at most) until it is under again. DuckDB is given a
      ``memory_limit`` of :data:`DUCKDB_MEMORY_FRACTION` of the ceiling, so
      it spills to disk instead of growing past it.
    - A computation whose client closes the connection is stopped, waiting
      for a slot or computing, unless it was answered ``503 Still computing``
      already: its answer is wanted by the retry.

    Stopping one sets its :class:`~attribution.cancel.Cancellation`: the
    queries it runs in DuckDB are interrupted (again every ``poll_seconds``
    until it ends), its code stops at the next
    :func:`~attribution.cancel.check_cancelled` and its waits end. Its slot is
    freed once its work has actually ended, so the bound holds for the work
    running, not just for the answers pending. Once its response has started
    (the computation is done, the answer is being sent), only a disconnect
    stops it.

    The routes' threads wait for their turn, so the limit raises the number
    of threads routes may run in (anyio's default limiter) to ``threads``:
    requests waiting for a slot must not keep cache hits from a thread.

    Parameters
    ----------
    app
        The application.
    slots, wait_seconds
        ``CLOSEDLOOP_MAX_COMPUTE`` and ``CLOSEDLOOP_COMPUTE_WAIT``.
    timeout_seconds
        ``CLOSEDLOOP_COMPUTE_TIMEOUT``; ``0`` for none, ``None`` to read the
        environment (:func:`default_compute_timeout`).
    hard_timeout_seconds
        ``CLOSEDLOOP_COMPUTE_HARD_TIMEOUT``; ``0`` for none, ``None`` to read
        the environment (:func:`default_compute_hard_timeout`: ten time limits).
    finish_in_background
        Whether a computation past the time limit goes on in the background
        (answered ``503``) rather than being stopped (``504``): only for an app
        that caches its answers.
    max_memory_bytes
        ``CLOSEDLOOP_MAX_MEMORY_MB`` in bytes; ``0`` for no ceiling, ``None``
        to read the environment (:func:`default_max_memory_bytes`).
    poll_seconds
        How often a running computation's clock and the memory are looked at.
    threads
        At least this many threads for the routes (:data:`DEFAULT_THREADS`).
    seats
        How many computing requests may run at once; ``None``: twice ``slots``.

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> limit = ComputeLimit(app, slots=2, wait_seconds=1.0, timeout_seconds=60,
    ...     max_memory_bytes=2**32, finish_in_background=True)
    >>> limit.slots, limit.seats.slots, limit.timeout_seconds, limit.duckdb_memory_bytes
    (2, 4, 60.0, 2147483648)
    >>> limit.hard_timeout_seconds, limit.defers
    (600.0, True)
    """

    def __init__(
        self,
        app: ASGIApp,
        slots: int,
        wait_seconds: float,
        *,
        timeout_seconds: float | None = None,
        hard_timeout_seconds: float | None = None,
        finish_in_background: bool = False,
        max_memory_bytes: int | None = None,
        poll_seconds: float = 0.1,
        threads: int = DEFAULT_THREADS,
        seats: int | None = None,
    ) -> None:
        self.app = app
        self.slots = max(1, slots)
        self.wait_seconds = max(0.0, wait_seconds)
        timeout = default_compute_timeout() if timeout_seconds is None else timeout_seconds
        self.timeout_seconds = max(0.0, float(timeout))
        hard = (
            default_compute_hard_timeout(self.timeout_seconds)
            if hard_timeout_seconds is None
            else hard_timeout_seconds
        )
        self.hard_timeout_seconds = max(0.0, float(hard))
        self.defers = (
            finish_in_background
            and self.timeout_seconds > 0
            and (not self.hard_timeout_seconds or self.hard_timeout_seconds > self.timeout_seconds)
        )
        """Whether computations past the time limit go on in the background (answered 503)."""
        ceiling = default_max_memory_bytes() if max_memory_bytes is None else max_memory_bytes
        self.max_memory_bytes = max(0, int(ceiling))
        self.duckdb_memory_bytes = (
            int(self.max_memory_bytes * DUCKDB_MEMORY_FRACTION) if self.max_memory_bytes else None
        )
        self.poll_seconds = max(0.001, poll_seconds)
        self.threads = threads
        self.gate = ComputeGate(self.slots)
        """The computing slots, shared by every request."""
        self.seats = ComputeGate(2 * self.slots if seats is None else seats)
        """The seats of the computing requests running (not waiting) at once."""
        self._threads_raised = False
        self._running: list[_Run] = []
        self._background: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._next_memory_check = 0.0
        self._next_shed = 0.0
        self._next_release = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a computing request within the bounds, or refuse or stop it with a problem."""
        path = str(scope.get("path", ""))
        if scope["type"] == "lifespan":
            await self.app(scope, self._stopping_at_shutdown(receive), send)
            return
        if scope["type"] != "http" or not path.startswith(COMPUTING_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not self._threads_raised:  # on the server's event loop (the limiter is per loop)
            self._threads_raised = True
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = max(int(limiter.total_tokens), self.threads)
        if await self._refused_for_memory(scope, send):
            return
        busy = busy_detail(self.slots, self.wait_seconds)
        turn = Turn(
            self.gate,
            self.wait_seconds,
            busy_error=ServerBusyError,
            busy_detail=busy,
            admitted=self._check_headroom,
        )
        seat = Turn(self.seats, self.wait_seconds, busy_error=ServerBusyError, busy_detail=busy)
        in_background = False
        try:
            # A turn before a seat, always: nobody waits for a turn in a seat.
            upfront = path.startswith(UPFRONT_PREFIXES)
            if upfront and not await turn.take_async():
                await _busy(scope, send, self.slots, self.wait_seconds)
                return
            if not await seat.take_async():
                await _busy(scope, send, self.slots, self.wait_seconds)
                return
            if turn.held and await self._refused_for_memory(scope, send):
                return
            timed = self.timeout_seconds > 0 and not path.startswith(UNTIMED_PREFIXES)
            deferrable = timed and self.defers and not upfront
            in_background = await self._compute(scope, receive, send, turn, seat, timed, deferrable)
        finally:
            if not in_background:  # else the work in the background gives them back at its end
                seat.close()
                turn.close()

    def _stopping_at_shutdown(self, receive: Receive) -> Receive:
        """Wrap the lifespan's ``receive``: at shutdown, stop the work in the background first."""

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.stop_background()
            return message

        return watched

    async def stop_background(self, grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop the computations going on in the background; wait up to ``grace_seconds`` for them.

        The server calls it when it shuts down (the lifespan's shutdown event).

        Examples
        --------
        >>> import asyncio
        >>> async def app(scope, receive, send):
        ...     pass
        >>> asyncio.run(ComputeLimit(app, slots=1, wait_seconds=0).stop_background())
        """
        for run in list(self._running):
            if run.background:
                run.cancellation.cancel(ComputationCancelledError, SHUTDOWN_DETAIL)
        if self._background:
            await asyncio.wait(set(self._background), timeout=grace_seconds)

    def _over_ceiling(self) -> int | None:
        """Return the resident memory if it is over the ceiling (after trying to give some back)."""
        if not self.max_memory_bytes:
            return None
        resident = resident_bytes()
        if resident is None or resident <= self.max_memory_bytes:
            return None
        now = time.monotonic()
        if now >= self._next_release:
            self._next_release = now + 5.0
            release_memory()
            resident = resident_bytes()
            if resident is None or resident <= self.max_memory_bytes:
                return None
        return resident

    async def _refused_for_memory(self, scope: Scope, send: Send) -> bool:
        """Answer 503 if the process is over its memory ceiling (after trying to give some back)."""
        resident = self._over_ceiling()
        if resident is None:
            return False
        await send_problem(
            scope,
            send,
            OutOfMemoryHeadroomError.status,
            OutOfMemoryHeadroomError.title,
            memory_detail(resident, self.max_memory_bytes),
            [(b"retry-after", str(MEMORY_RETRY_AFTER_SECONDS).encode())],
        )
        return True

    def _check_headroom(self) -> None:
        """Refuse to start a computation while over the memory ceiling (in the request's thread).

        Called when a request got its turn: it cancels the request, which the
        limit then answers ``503`` as it answers one refused on arrival.
        """
        resident = self._over_ceiling()
        if resident is None:
            return
        detail = memory_detail(resident, self.max_memory_bytes)
        scope = current_cancellation()
        if scope is None:  # pragma: no cover - a turn is only taken inside a request
            raise OutOfMemoryHeadroomError(detail)
        scope.cancel(OutOfMemoryHeadroomError, detail)
        raise scope.error()

    async def _compute(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        turn: Turn,
        seat: Turn,
        timed: bool,
        deferrable: bool,
    ) -> bool:
        """Run the app on one request, watching its clock, the memory and its client.

        Returns whether the work goes on in the background (answered ``503
        Still computing``); its turn and seat are then given back at its end.
        """
        cancellation = Cancellation(memory_limit_bytes=self.duckdb_memory_bytes)

        async def answer(run: _Run) -> None:
            await self._answer(scope, run)

        run = _Run(scope, send, cancellation, turn, seat, timed, answer, deferrable=deferrable)
        receiver = _Receiver(receive, run)
        pump = asyncio.create_task(receiver.pump())
        # The app's task, and the threads it starts, see all three.
        with cancellation.active(), turn.active(), seated(seat):
            work = asyncio.ensure_future(self.app(scope, receiver.receive, run.app_send))
        self._running.append(run)
        self._start_watching()
        in_background = False
        try:
            # The watcher stops it, or answers it and lets it go on, if need be.
            await asyncio.wait({work, run.answer_sent}, return_when=asyncio.FIRST_COMPLETED)
            if not run.background:  # stopped, or done: its work must end before the request
                await asyncio.wait({work})
            if run.handled:  # the watcher's answer is sent whole before the request ends
                await run.answer_sent
            in_background = not work.done()
        except asyncio.CancelledError:
            cancellation.cancel(ComputationCancelledError, SHUTDOWN_DETAIL)
            work.cancel()
            raise
        finally:
            if not in_background:
                await self._ended(run, pump)
        if in_background:
            task = asyncio.get_running_loop().create_task(self._in_background(run, work, pump))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return True
        if cancellation.cancelled:
            if not run.handled:  # cancelled as it ended (the client left at the last moment)
                await self._answer(scope, run)
            failure = None if work.cancelled() else work.exception()
            if failure is not None:  # the work's own end, once stopped: not a server error
                logger.debug("Stopped computation ended with %r", failure)
            return False
        work.result()  # an unexpected error of the app goes on to the server's error handling
        return False

    async def _ended(self, run: _Run, pump: asyncio.Task[None]) -> None:
        """Stop watching ``run`` and reading its client."""
        self._running.remove(run)
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)

    async def _in_background(
        self, run: _Run, work: asyncio.Future[None], pump: asyncio.Task[None]
    ) -> None:
        """Let the work of a request answered ``503 Still computing`` go on to its end.

        Its turn and seat are given back once it has ended: its slot bounds the
        work running, answered or not.
        """
        path = run.scope.get("path", "")
        try:
            await asyncio.wait({work})  # the watcher stops it at the hard limit
        except asyncio.CancelledError:  # the event loop is closing
            run.cancellation.cancel(ComputationCancelledError, SHUTDOWN_DETAIL)
            work.cancel()
            raise
        finally:
            await self._ended(run, pump)
            run.seat.close()
            run.turn.close()
        failure = None if work.cancelled() else work.exception()
        if run.cancellation.cancelled:
            logger.debug("Stopped computation of %s ended with %r", path, failure)
        elif failure is not None:  # nobody is left to answer: the log is where it goes
            logger.error("Computation of %s failed in the background", path, exc_info=failure)
        else:
            logger.info("%s finished in the background; its answer is cached", path)

    def _start_watching(self) -> None:
        """Start the task watching the running requests, unless it runs (one for them all)."""
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch_all())

    async def _watch_all(self) -> None:
        """Every ``poll_seconds`` while requests run: their clocks, the memory, the stopped.

        One task for all the requests in flight, many of them waiting: polling
        each of them would keep the event loop (and the interpreter's lock)
        busy for nothing. A stopped request is answered, and its queries
        interrupted again (those started since the last interrupt), until it
        ends.
        """
        while self._running:
            for run in list(self._running):
                try:
                    if not run.cancellation.cancelled:
                        self._watch(run)
                    if run.cancellation.cancelled:
                        if not run.handled:
                            await self._answer(run.scope, run)
                        run.cancellation.interrupt()
                    elif run.background and not run.handled:
                        await self._answer_still_computing(run)
                except Exception:  # one request's failure must not leave the others unwatched
                    logger.exception("Watching %s failed", run.scope.get("path", ""))
            await asyncio.sleep(self.poll_seconds)

    def _watch(self, run: _Run) -> None:
        """Stop ``run`` if its time is up; stop the youngest run if memory is over the ceiling.

        The youngest run holding a turn is stopped first (it is computing), else the youngest.
        """
        if run.response_started:
            return
        now = time.monotonic()
        if run.timed:
            elapsed = run.elapsed(now)
            if not run.background and elapsed >= self.timeout_seconds:
                self._time_up(run, elapsed)
                return
            if (
                run.background
                and self.hard_timeout_seconds
                and elapsed >= self.hard_timeout_seconds
            ):
                detail = timeout_detail(
                    self.hard_timeout_seconds, "CLOSEDLOOP_COMPUTE_HARD_TIMEOUT"
                )
                self._stop(run, ComputeTimeoutError, detail)
                return
        if not self.max_memory_bytes or now < max(self._next_memory_check, self._next_shed):
            return
        self._next_memory_check = now + self.poll_seconds
        resident = resident_bytes()
        if resident is None or resident <= self.max_memory_bytes:
            return
        stoppable = [
            other
            for other in self._running
            if not other.cancellation.cancelled and not other.response_started
        ]
        computing = [other for other in stoppable if other.turn.held]
        if stoppable:
            youngest = (computing or stoppable)[-1]
            detail = memory_detail(resident, self.max_memory_bytes, stopped=True)
            self._stop(youngest, OutOfMemoryHeadroomError, detail)
            self._next_shed = now + 1.0

    def _time_up(self, run: _Run, elapsed: float) -> None:
        """Answer ``run`` at its time limit: let its work go on, or stop it (see the class)."""
        if run.deferrable and (run.turn.held or run.cancellation.joining):
            run.retry_after = still_computing_retry_after(elapsed)
            detail = still_computing_detail(
                self.timeout_seconds, run.retry_after, self.hard_timeout_seconds
            )
            if run.turn.held:  # it computes: it goes on, and the app's answer is dropped
                run.background = True
                run.answered = True
                run.still_detail = detail
            else:  # it waits for another's computation, which goes on
                run.cancellation.cancel(StillComputingError, detail)
            return
        run.cancellation.cancel(ComputeTimeoutError, timeout_detail(self.timeout_seconds))

    def _stop(self, run: _Run, error: type[ClosedloopError], detail: str) -> None:
        """Stop ``run``'s work; one in the background was answered already: say it in the log."""
        if run.cancellation.cancel(error, detail) and run.background:
            path = run.scope.get("path", "")
            logger.warning("%s stopped in the background: %s", path, detail)

    async def _answer_still_computing(self, run: _Run) -> None:
        """Answer ``503 Still computing`` to a request whose work goes on in the background."""
        run.handled = True
        logger.info("%s goes on in the background: %s", run.scope.get("path", ""), run.still_detail)
        try:
            await send_problem(
                run.scope,
                run.send,
                StillComputingError.status,
                StillComputingError.title,
                run.still_detail,
                [(b"retry-after", str(run.retry_after).encode())],
            )
        finally:
            _done(run.answer_sent)

    async def _answer(self, scope: Scope, run: _Run) -> None:
        """Answer a stopped computation's client in the app's stead, if it is still there."""
        run.handled = True
        try:
            await self._answer_stopped(scope, run)
        finally:
            _done(run.answer_sent)

    async def _answer_stopped(self, scope: Scope, run: _Run) -> None:
        cancellation = run.cancellation
        error = cancellation.error_type
        answerable = error in (
            ComputeTimeoutError,
            OutOfMemoryHeadroomError,
            ServerBusyError,
            StillComputingError,
        )
        if error is ServerBusyError:  # refused, not stopped: as quiet as a refusal on arrival
            level = logging.DEBUG
        elif error is StillComputingError:  # not stopped: the computation it waits for goes on
            level = logging.INFO
        else:
            level = logging.WARNING if answerable else logging.INFO
        logger.log(level, "%s stopped: %s", scope.get("path", ""), cancellation.detail)
        if run.response_started or not answerable:
            return
        run.answered = True
        headers = []
        if error is ServerBusyError:
            headers.append((b"retry-after", _retry_after(self.wait_seconds)))
        elif error is StillComputingError:
            headers.append((b"retry-after", str(run.retry_after).encode()))
        elif error.status == 503:
            headers.append((b"retry-after", str(MEMORY_RETRY_AFTER_SECONDS).encode()))
        await send_problem(scope, run.send, error.status, error.title, cancellation.detail, headers)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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


def _retry_after(wait_seconds: float) -> bytes:
    return str(max(1, math.ceil(wait_seconds))).encode()


async def _busy(scope: Scope, send: Send, slots: int, wait_seconds: float) -> None:
    await send_problem(
        scope,
        send,
        503,
        ServerBusyError.title,
        busy_detail(slots, wait_seconds),
        [(b"retry-after", _retry_after(wait_seconds))],
    )


__all__ = [
    "COMPUTING_PREFIXES",
    "DEFAULT_COMPUTE_TIMEOUT",
    "DEFAULT_MEMORY_FRACTION",
    "DEFAULT_THREADS",
    "DUCKDB_MEMORY_FRACTION",
    "HARD_TIMEOUT_FACTOR",
    "MAX_RETRY_AFTER_SECONDS",
    "MEMORY_RETRY_AFTER_SECONDS",
    "SHUTDOWN_GRACE_SECONDS",
    "UNTIMED_PREFIXES",
    "UPFRONT_PREFIXES",
    "BodySizeLimit",
    "ClientDisconnectedError",
    "ComputeLimit",
    "ComputeTimeoutError",
    "OutOfMemoryHeadroomError",
    "RequestTooLargeError",
    "ServerBusyError",
    "StillComputingError",
    "busy_detail",
    "default_compute_hard_timeout",
    "default_compute_timeout",
    "default_max_memory_bytes",
    "memory_bound_bytes",
    "memory_detail",
    "release_memory",
    "resident_bytes",
    "seconds_setting",
    "send_problem",
    "still_computing_detail",
    "still_computing_retry_after",
    "timeout_detail",
    "too_large_detail",
]
