"""Cancellation of one request's work: a flag its code checks, and interrupts for its queries.

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

Outside a request (the CLI, the tests, a notebook) nothing is current and
:func:`check_cancelled` does nothing. This module imports nothing heavy, so
every layer may use it.
"""

from __future__ import annotations

import threading
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


__all__ = [
    "Cancellation",
    "ComputationCancelledError",
    "check_cancelled",
    "current_cancellation",
]
