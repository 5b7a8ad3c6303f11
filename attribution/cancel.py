"""One request's work: its cancellation (a flag and interrupts) and its turn to compute.

The HTTP server opens a :class:`Cancellation` for each computing request
(:class:`api.http.limits.ComputeLimit`) and makes it *current* with
:meth:`Cancellation.active`: a context variable, which FastAPI's threadpool
copies into the thread that runs the route, so everything the request calls
sees it without being handed it. When the request runs out of time, its
client goes away or the server runs out of memory headroom, the server calls
:meth:`Cancellation.cancel`, and the work stops at the next of two kinds of
points:

- **checks**: code that loops or moves from one stage to the next calls
  :func:`check_cancelled` (a context-variable read, ~100 ns), which raises
  the cancellation's error once it is cancelled. The store checks before
  every connection it opens (:meth:`ingest.Store._connect`); a long loop
  (bootstrap resamples) checks once per iteration;
- **interrupts**: an engine that can stop a running query registers how to
  interrupt it with :meth:`Cancellation.interrupting` for as long as the
  query may run (the store registers each DuckDB connection's
  ``interrupt``): :meth:`Cancellation.cancel` calls them all.

A wait in such work — for a computing turn, for another request's
computation of the same answer — goes through :func:`wait_until`, which the
cancellation wakes: a request stopped while it waits stops waiting at once.
A wait for another request's computation is also marked with
:func:`joining` (:attr:`Cancellation.joining`), so the server can tell a
request that computes from one that only waits for an answer.

Computing turns
---------------
The server bounds how many requests compute at once with one
:class:`ComputeGate`, and gives each computing request a :class:`Turn` on it,
made current like the cancellation (:meth:`Turn.active`). The turn is taken
lazily: the result cache calls :func:`take_turn` on a miss it is about to
compute (:meth:`api.services.cache.ResultCache.get_or_compute`), so a request
answered from the cache never waits for one. Once taken, a turn is held until
the request ends (:meth:`Turn.close`), so the nested misses of one request
take nothing more.

How many requests *run* at once is bounded too, by a second gate whose
turns are *seats* (:func:`seated`): a request holds its seat while it runs
and gives it back while it waits (:func:`wait_until`) — for a computing turn,
or for another request's computation of its answer — so waiting requests
leave the processor to those that run, and a burst of requests woken by one
finished computation is served a few at a time rather than all at once.

Outside a request (the CLI, the tests, a notebook) nothing is current:
:func:`check_cancelled` and :func:`take_turn` do nothing. This module imports
nothing heavy, so every layer may use it.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from attribution.errors import ClosedloopError


class ComputationCancelledError(ClosedloopError):
    """Raised in work whose request was cancelled (its client left, or a bound was reached)."""

    status = 503
    title = "Computation stopped"


_current: ContextVar[Cancellation | None] = ContextVar("closedloop_cancellation", default=None)


class Cancellation:
    """A thread-safe cancellation flag, with the interrupts of the work it covers.

    Parameters
    ----------
    memory_limit_bytes
        A bound the work's engines should keep their memory under (the store
        sets DuckDB's ``memory_limit`` to it, so DuckDB spills to disk
        instead of growing); ``None`` leaves the engines' own defaults.

    Examples
    --------
    >>> scope = Cancellation()
    >>> with scope.active():
    ...     check_cancelled()  # not cancelled: nothing happens
    ...     scope.cancel(ComputationCancelledError, "The client went away.")
    ...     check_cancelled()
    Traceback (most recent call last):
    ...
    attribution.cancel.ComputationCancelledError: The client went away.
    >>> check_cancelled()  # outside the scope: nothing is current
    """

    def __init__(self, *, memory_limit_bytes: int | None = None) -> None:
        self.memory_limit_bytes = memory_limit_bytes
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._interrupts: dict[int, Callable[[], object]] = {}
        self._next = 0
        self._error: type[ClosedloopError] = ComputationCancelledError
        self._detail = "The computation was stopped."
        self._joins = 0

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called.

        Examples
        --------
        >>> Cancellation().cancelled
        False
        """
        return self._event.is_set()

    @property
    def error_type(self) -> type[ClosedloopError]:
        """The class of the error :meth:`check` raises once cancelled.

        Examples
        --------
        >>> Cancellation().error_type.__name__
        'ComputationCancelledError'
        """
        return self._error

    @property
    def detail(self) -> str:
        """The message of the error :meth:`check` raises once cancelled.

        Examples
        --------
        >>> scope = Cancellation()
        >>> _ = scope.cancel(detail="Too slow.")
        >>> scope.detail
        'Too slow.'
        """
        return self._detail

    @property
    def joining(self) -> bool:
        """Whether the work waits now for another request's computation of its answer.

        Examples
        --------
        >>> scope = Cancellation()
        >>> with scope.active(), joining():
        ...     scope.joining
        True
        >>> scope.joining
        False
        """
        return self._joins > 0

    def cancel(
        self,
        error: type[ClosedloopError] = ComputationCancelledError,
        detail: str = "The computation was stopped.",
    ) -> bool:
        """Cancel the work: later checks raise ``error(detail)``; running queries are interrupted.

        Only the first call counts (its error and detail are kept); it
        returns ``True``, later ones ``False``.

        Examples
        --------
        >>> scope = Cancellation()
        >>> scope.cancel(detail="first"), scope.cancel(detail="second"), scope.detail
        (True, False, 'first')
        """
        with self._lock:
            if self._event.is_set():
                return False
            self._error, self._detail = error, detail
            self._event.set()
        self.interrupt()
        return True

    def interrupt(self) -> int:
        """Call every registered interrupt now; return how many there were.

        :meth:`cancel` calls it once. A query started after that call is not
        interrupted by it, so a server waiting for cancelled work to end
        calls it again now and then. An interrupt that raises is ignored.

        Examples
        --------
        >>> scope, calls = Cancellation(), []
        >>> with scope.interrupting(lambda: calls.append("stop")):
        ...     scope.interrupt()
        1
        >>> calls, scope.interrupt()
        (['stop'], 0)
        """
        with self._lock:  # held while calling: an interrupt never runs after it is removed
            callbacks = list(self._interrupts.values())
            for callback in callbacks:
                try:
                    callback()
                except Exception:  # a connection being torn down may refuse; it is ending anyway
                    continue
        return len(callbacks)

    def error(self) -> ClosedloopError:
        """Return a new instance of the error this cancellation raises.

        Examples
        --------
        >>> scope = Cancellation()
        >>> _ = scope.cancel(detail="Stopped.")
        >>> str(scope.error())
        'Stopped.'
        """
        return self._error(self._detail)

    def check(self) -> None:
        """Raise the cancellation's error if it was cancelled.

        Examples
        --------
        >>> Cancellation().check()
        """
        if self._event.is_set():
            raise self.error()

    @contextmanager
    def interrupting(self, interrupt: Callable[[], object]) -> Iterator[None]:
        """Register ``interrupt`` (e.g. a DuckDB connection's) for the length of the block.

        Raises the cancellation's error at once if it is already cancelled.

        Examples
        --------
        >>> scope = Cancellation()
        >>> with scope.interrupting(lambda: None):
        ...     len(scope._interrupts)
        1
        >>> len(scope._interrupts)
        0
        """
        self.check()
        with self._lock:
            key = self._next
            self._next += 1
            self._interrupts[key] = interrupt
        try:
            yield
        finally:
            with self._lock:
                del self._interrupts[key]

    @contextmanager
    def active(self) -> Iterator[Cancellation]:
        """Make this cancellation the current one inside the block (and in tasks it starts).

        Examples
        --------
        >>> scope = Cancellation()
        >>> with scope.active():
        ...     current_cancellation() is scope
        True
        >>> current_cancellation() is None
        True
        """
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


def current_cancellation() -> Cancellation | None:
    """Return the cancellation of the work running here, if any.

    Examples
    --------
    >>> current_cancellation() is None
    True
    """
    return _current.get()


@contextmanager
def joining() -> Iterator[None]:
    """Mark the current work as waiting for another request's computation inside the block.

    The result cache wraps its wait for a value another request computes in
    it; outside a request (nothing current) it marks nothing.

    Examples
    --------
    >>> with joining():  # no request here: nothing to mark
    ...     current_cancellation() is None
    True
    """
    scope = _current.get()
    if scope is None:
        yield
        return
    with scope._lock:
        scope._joins += 1
    try:
        yield
    finally:
        with scope._lock:
            scope._joins -= 1


def check_cancelled(*_: object) -> None:
    """Raise the current cancellation's error if it was cancelled; else do nothing.

    Takes and ignores any arguments, so it also serves as a
    ``progress(done, total)`` callback.

    Examples
    --------
    >>> check_cancelled(3, 10)
    """
    scope = _current.get()
    if scope is not None and scope._event.is_set():
        raise scope.error()


def wait_until(
    ready: Callable[[], bool], condition: threading.Condition, timeout: float | None = None
) -> bool:
    """Wait on ``condition`` until ``ready()``, at most ``timeout`` seconds; stop if cancelled.

    ``ready`` is called with the condition's lock held, at first and each
    time the condition is notified: whoever changes what it reads notifies
    the condition. The current cancellation, if any, wakes the wait when it
    is cancelled (it is registered as one of its interrupts) and its error is
    raised. Returns ``ready()``'s last answer: ``False`` when the time ran out.

    A request that has to wait leaves its running seat meanwhile (see
    :func:`current_seat`) and takes one again before it goes on.

    Examples
    --------
    >>> condition, box = threading.Condition(), []
    >>> def fill():
    ...     with condition:
    ...         box.append(1)
    ...         condition.notify_all()
    >>> threading.Timer(0.01, fill).start()
    >>> wait_until(lambda: bool(box), condition, timeout=10)
    True
    >>> wait_until(lambda: False, condition, timeout=0)
    False
    >>> scope = Cancellation()
    >>> _ = scope.cancel(detail="Gone.")
    >>> with scope.active():
    ...     wait_until(lambda: False, condition)
    Traceback (most recent call last):
    ...
    attribution.cancel.ComputationCancelledError: Gone.
    """
    scope = _current.get()
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)

    def wake() -> None:
        with condition:
            condition.notify_all()

    def done() -> bool | None:
        """``ready()``'s ``True``, ``False`` once the time is up, else ``None`` (lock held)."""
        if scope is not None:
            scope.check()
        if ready():
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        return None

    # Registered outside the condition's lock: an interrupt runs under the cancellation's
    # lock and takes the condition's, so this order is the only one ever used.
    watching = scope.interrupting(wake) if scope is not None else contextlib.nullcontext()
    with watching:
        with condition:
            answer = done()
        if answer is not None:
            return answer
        seat = _seat.get()
        # Waiting is not running: the request leaves its seat, and takes one again after.
        aside = seat.aside() if seat is not None and seat.held else contextlib.nullcontext()
        with aside, condition:
            while (answer := done()) is None:
                condition.wait(None if deadline is None else deadline - time.monotonic())
            return answer


class _Ticket:
    """One place in a :class:`ComputeGate`'s line; ``wake`` is called once it is granted."""

    __slots__ = ("granted", "wake")

    def __init__(self, wake: Callable[[], None]) -> None:
        self.granted = False
        self.wake = wake


class ComputeGate:
    """At most ``slots`` computations at once, handed out first come, first served.

    Threads wait in :meth:`acquire` (woken by their cancellation, see
    :func:`wait_until`), the event loop in :meth:`acquire_async`; both wait
    in one line. A slot given back goes straight to the first in line, and
    only that waiter is woken (no herd of waiters wakes for one slot), so a
    request never overtakes one that asked before it. Requests take it
    through a :class:`Turn`.

    Parameters
    ----------
    slots
        How many may hold it at once (at least 1).

    Examples
    --------
    >>> gate = ComputeGate(1)
    >>> gate.acquire(), gate.acquire(timeout=0.01), gate.busy
    (True, False, 1)
    >>> gate.release(); gate.busy
    0
    """

    def __init__(self, slots: int) -> None:
        self.slots = max(1, int(slots))
        self._lock = threading.Lock()
        self._free = self.slots
        self._line: collections.deque[_Ticket] = collections.deque()

    @property
    def busy(self) -> int:
        """How many slots are taken now (or granted to a waiter not yet awake).

        Examples
        --------
        >>> ComputeGate(2).busy
        0
        """
        with self._lock:
            return self.slots - self._free

    @property
    def waiting(self) -> int:
        """How many are waiting for a slot now.

        Examples
        --------
        >>> ComputeGate(2).waiting
        0
        """
        with self._lock:
            return len(self._line)

    def _join(self, wake: Callable[[], None]) -> _Ticket | None:
        """Take a free slot (``None``) or join the line (the caller holds the lock)."""
        if self._free and not self._line:
            self._free -= 1
            return None
        ticket = _Ticket(wake)
        self._line.append(ticket)
        return ticket

    def _give_back(self) -> None:
        """Hand a slot to the first in line, or free it (the caller holds the lock)."""
        if self._line:
            ticket = self._line.popleft()
            ticket.granted = True
            ticket.wake()
        else:
            self._free = min(self.slots, self._free + 1)

    def _leave(self, ticket: _Ticket) -> None:
        """Leave the line without the slot (gave up, or stopped): pass it on if it came."""
        with self._lock:
            if ticket.granted:  # granted just as it gave up
                self._give_back()
            else:
                self._line.remove(ticket)

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds; return whether one was taken.

        The wait stops with the current cancellation's error if it is
        cancelled meanwhile (:func:`wait_until`).

        Examples
        --------
        >>> gate = ComputeGate(1)
        >>> gate.acquire(timeout=0)
        True
        """
        condition = threading.Condition(self._lock)
        with self._lock:
            ticket = self._join(condition.notify_all)
        if ticket is None:
            return True
        granted = False
        try:
            granted = wait_until(lambda: ticket.granted, condition, timeout)
        finally:
            if not granted:
                self._leave(ticket)
        return granted

    async def acquire_async(self, timeout: float | None = None) -> bool:
        """Take a slot from the event loop, waiting at most ``timeout`` seconds.

        Examples
        --------
        >>> import asyncio
        >>> gate = ComputeGate(1)
        >>> asyncio.run(gate.acquire_async(0)), asyncio.run(gate.acquire_async(0.01))
        (True, False)
        """
        import asyncio  # only the server's event loop waits this way

        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(woken.set)

        with self._lock:
            ticket = self._join(wake)
        if ticket is None:
            return True
        granted = False
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout)
            with self._lock:
                granted = ticket.granted
        finally:
            if not granted:
                self._leave(ticket)
        return granted

    def release(self) -> None:
        """Give a slot back: the first in line gets it.

        Examples
        --------
        >>> gate = ComputeGate(1)
        >>> gate.acquire(); gate.release(); gate.acquire(timeout=0)
        True
        True
        """
        with self._lock:
            self._give_back()


_turn: ContextVar[Turn | None] = ContextVar("closedloop_turn", default=None)
_seat: ContextVar[Turn | None] = ContextVar("closedloop_seat", default=None)


class Turn:
    """One request's claim on a :class:`ComputeGate`: taken when it first computes, held to its end.

    The same claim on the gate of running requests is the request's seat
    (:func:`seated`), taken when it arrives and given back while it waits
    (:meth:`aside`).

    Parameters
    ----------
    gate
        The server's gate.
    wait_seconds
        How long :meth:`take` waits for a slot.
    busy_error, busy_detail
        What a request that waited that long in vain gets: :meth:`take` cancels
        the current cancellation with them (so the server answers it) and
        raises its error.
    admitted
        Called once a slot was taken lazily (:meth:`take`), in the thread that
        took it; it may raise to refuse the work (the server checks its memory
        headroom). The slot stays held until :meth:`close`.

    Examples
    --------
    >>> gate = ComputeGate(1)
    >>> turn = Turn(gate, wait_seconds=0.01)
    >>> with turn.active():
    ...     take_turn(); take_turn()  # the second finds it held
    >>> turn.held, gate.busy
    (True, 1)
    >>> turn.close(); gate.busy
    0
    >>> with Turn(gate, 0.0).active():
    ...     take_turn()
    ...     with Turn(gate, 0.01, busy_detail="All slots are busy.").active():
    ...         take_turn()
    Traceback (most recent call last):
    ...
    attribution.cancel.ComputationCancelledError: All slots are busy.
    """

    def __init__(
        self,
        gate: ComputeGate,
        wait_seconds: float,
        *,
        busy_error: type[ClosedloopError] = ComputationCancelledError,
        busy_detail: str = "Every computing slot stayed busy.",
        admitted: Callable[[], None] | None = None,
    ) -> None:
        self.gate = gate
        self.wait_seconds = max(0.0, wait_seconds)
        self.busy_error = busy_error
        self.busy_detail = busy_detail
        self._admitted = admitted
        self._lock = threading.Lock()
        self._taking = threading.Lock()
        self._held = False
        self._closed = False
        self._waited = 0.0
        self._waiting_since: float | None = None

    @property
    def held(self) -> bool:
        """Whether the request holds its slot now.

        Examples
        --------
        >>> Turn(ComputeGate(1), 1.0).held
        False
        """
        return self._held

    def waited(self, now: float | None = None) -> float:
        """Return the seconds spent waiting for the slot so far (a wait going on included).

        ``now`` is a :func:`time.monotonic` reading (default: now).

        Examples
        --------
        >>> Turn(ComputeGate(1), 1.0).waited()
        0.0
        """
        with self._lock:
            since = self._waiting_since
            if since is None:
                return self._waited
            return self._waited + max(0.0, (time.monotonic() if now is None else now) - since)

    def _start_waiting(self) -> None:
        with self._lock:
            if self._closed:
                raise ComputationCancelledError("The request has ended.")
            self._waiting_since = time.monotonic()

    def _stop_waiting(self, got: bool) -> bool:
        """Account the wait; keep the slot if it was taken and the request is still on."""
        with self._lock:
            if self._waiting_since is not None:
                self._waited += time.monotonic() - self._waiting_since
                self._waiting_since = None
            if got and self._closed:  # the request ended while this thread waited
                self.gate.release()
                return False
            if got:
                self._held = True
            return got

    def take(self) -> None:
        """Hold a slot from now until :meth:`close`, waiting for one if need be.

        Does nothing if it is already held. Raises the current cancellation's
        error if the request is stopped while it waits, and ``busy_error`` when
        no slot came within ``wait_seconds``.

        Examples
        --------
        >>> turn = Turn(ComputeGate(1), 1.0)
        >>> turn.take(); turn.held
        True
        """
        if self._held:
            return
        with self._taking:  # two threads of one request take one slot
            if self._held:
                return
            self._start_waiting()
            got = False
            try:
                got = self.gate.acquire(self.wait_seconds)
            finally:
                got = self._stop_waiting(got)
            if not got:
                self._refuse()
        if self._admitted is not None:
            self._admitted()

    async def take_async(self) -> bool:
        """Take the slot from the event loop (work that is heavy from its start); ``False``: busy.

        Examples
        --------
        >>> import asyncio
        >>> turn = Turn(ComputeGate(1), 0.0)
        >>> asyncio.run(turn.take_async()), turn.held
        (True, True)
        """
        if self._held:
            return True
        self._start_waiting()
        got = False
        try:
            got = await self.gate.acquire_async(self.wait_seconds)
        finally:
            got = self._stop_waiting(got)
        return got

    def _refuse(self) -> None:
        with self._lock:
            closed = self._closed
        if closed:
            raise ComputationCancelledError("The request has ended.")
        scope = _current.get()
        if scope is None:
            raise self.busy_error(self.busy_detail)
        scope.cancel(self.busy_error, self.busy_detail)  # the server answers in the app's stead
        raise scope.error()

    def close(self) -> None:
        """Give the slot back, if held; a later :meth:`take` raises (the request has ended).

        Examples
        --------
        >>> gate = ComputeGate(1)
        >>> turn = Turn(gate, 1.0)
        >>> turn.take(); turn.close(); turn.close(); gate.busy
        0
        """
        with self._lock:
            self._closed = True
            held, self._held = self._held, False
        if held:
            self.gate.release()

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Give the slot back for the block (a wait), and take it again after it.

        Taking it again may wait, and raise as :meth:`take` does.

        Examples
        --------
        >>> gate = ComputeGate(1)
        >>> turn = Turn(gate, 1.0)
        >>> turn.take()
        >>> with turn.aside():
        ...     gate.busy
        0
        >>> turn.held, gate.busy
        (True, 1)
        """
        with self._lock:
            held, self._held = self._held, False
        if held:
            self.gate.release()
        try:
            yield
        finally:
            if held:
                self.take()

    @contextmanager
    def active(self) -> Iterator[Turn]:
        """Make this turn the current one inside the block (and in tasks it starts).

        Examples
        --------
        >>> turn = Turn(ComputeGate(1), 1.0)
        >>> with turn.active():
        ...     current_turn() is turn
        True
        >>> current_turn() is None
        True
        """
        token = _turn.set(self)
        try:
            yield self
        finally:
            _turn.reset(token)


@contextmanager
def seated(seat: Turn) -> Iterator[Turn]:
    """Make ``seat`` the request's running seat inside the block (and in tasks it starts).

    A seat is a :class:`Turn` on the gate of the requests *running* at once;
    :func:`wait_until` gives it back while the request waits and takes it
    again after, so only requests that run hold one.

    Examples
    --------
    >>> seat = Turn(ComputeGate(1), 1.0)
    >>> with seated(seat):
    ...     current_seat() is seat
    True
    >>> current_seat() is None
    True
    """
    token = _seat.set(seat)
    try:
        yield seat
    finally:
        _seat.reset(token)


def current_seat() -> Turn | None:
    """Return the running seat of the request running here, if any.

    Examples
    --------
    >>> current_seat() is None
    True
    """
    return _seat.get()


def current_turn() -> Turn | None:
    """Return the computing turn of the request running here, if any.

    Examples
    --------
    >>> current_turn() is None
    True
    """
    return _turn.get()


def take_turn() -> None:
    """Hold the current request's computing turn (wait for it if need be); outside one, nothing.

    Called by the result cache before it computes a missing value.

    Examples
    --------
    >>> take_turn()  # no request here: nothing to take
    """
    turn = _turn.get()
    if turn is not None:
        turn.take()


__all__ = [
    "Cancellation",
    "ComputationCancelledError",
    "ComputeGate",
    "Turn",
    "check_cancelled",
    "current_cancellation",
    "current_seat",
    "current_turn",
    "joining",
    "seated",
    "take_turn",
    "wait_until",
]
