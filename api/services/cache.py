"""A memory-bounded cache of inputs, journeys and finished results, keyed by ``data_version``.

Every key a service stores starts with the store's ``data_version``, so a
committed ingest (from this process or another) makes every older entry
unreachable; :meth:`ResultCache.get_or_compute` drops them the first time it
sees a newer version. Entries are weighed in bytes (polars' estimate for
frames) and evicted least-recently-used first once the bound is reached; one
entry larger than the whole bound is computed and returned, never stored.

Concurrent requests for the same key compute it once (single flight): the
first computes, the others wait for it — no lock is held while it computes,
so other keys are looked up and computed meanwhile — and get its value, or
its error. When the first was *stopped* instead (a
:class:`~attribution.cancel.ComputationCancelledError`: its client left, it
ran out of time or memory, the server shut down), that says nothing about
the question, so one of the others computes it anew. A caller waiting for
another's computation is marked :func:`~attribution.cancel.joining` while it
waits: on the server, a request past its time limit that only waits is
answered ``503 Still computing`` and stops waiting, while the computation it
waits for goes on (:class:`api.http.limits.ComputeLimit`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import Any, Generic, TypeVar, cast

import polars as pl
from cachetools import LRUCache

from attribution.cancel import ComputationCancelledError, joining, wait_until

T = TypeVar("T")

DEFAULT_CACHE_FRACTION = 0.125
"""Share of the machine's physical memory the cache may hold by default."""

_FALLBACK_BYTES = 512 * 2**20


def default_cache_bytes() -> int:
    """Return the default bound: ``$CLOSEDLOOP_CACHE_MB`` MiB, else 1/8 of physical memory.

    Examples
    --------
    >>> os.environ["CLOSEDLOOP_CACHE_MB"] = "64"
    >>> default_cache_bytes()
    67108864
    >>> del os.environ["CLOSEDLOOP_CACHE_MB"]
    >>> default_cache_bytes() > 0
    True
    """
    text = os.environ.get("CLOSEDLOOP_CACHE_MB")
    if text:
        return max(int(float(text) * 2**20), 0)
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return _FALLBACK_BYTES
    return int(total * DEFAULT_CACHE_FRACTION)


def size_of(value: object, _depth: int = 0) -> int:
    """Estimate the bytes ``value`` holds: frames by polars, containers and dataclasses summed.

    Examples
    --------
    >>> size_of(pl.DataFrame({"a": [1, 2, 3]}))
    24
    >>> size_of({"frame": pl.DataFrame({"a": [1.0]})}) > 8
    True
    """
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size())
    if isinstance(value, pl.Series):
        return int(value.estimated_size())
    if _depth > 4:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(
            size_of(k, _depth + 1) + size_of(v, _depth + 1) for k, v in value.items()
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(size_of(v, _depth + 1) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(
            size_of(getattr(value, f.name), _depth + 1) for f in fields(value)
        )
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return sys.getsizeof(value)


class _Flight(Generic[T]):
    """One computation in progress, which other callers of the same key wait for."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.done = False
        self.value: T | None = None
        self.error: BaseException | None = None
        self.waiters = 0

    def finish(self, value: T | None, error: BaseException | None = None) -> None:
        with self._condition:
            self.value, self.error, self.done = value, error, True
            self._condition.notify_all()

    def wait(self) -> None:
        """Wait until it is done (raises the caller's cancellation error if it is stopped).

        The wait is marked :func:`~attribution.cancel.joining`: the server
        then knows the caller computes nothing itself meanwhile.
        """
        with self._condition:
            self.waiters += 1
        try:
            with joining():
                wait_until(lambda: self.done, self._condition)
        finally:
            with self._condition:
                self.waiters -= 1


def _retried(error: BaseException) -> bool:
    """Whether the waiters of a computation that failed with ``error`` compute it themselves."""
    return isinstance(error, ComputationCancelledError) or not isinstance(error, Exception)


class ResultCache:
    """Least-recently-used values, weighed in bytes, all of one ``data_version`` per store.

    Parameters
    ----------
    max_bytes
        The bound; ``None`` uses :func:`default_cache_bytes`, ``0`` caches
        nothing (every call computes).

    Examples
    --------
    >>> cache = ResultCache(max_bytes=2**20)
    >>> calls = []
    >>> def compute():
    ...     calls.append(1)
    ...     return pl.DataFrame({"x": [1, 2]})
    >>> _ = cache.get_or_compute(("store", 1), ("query",), compute)
    >>> _ = cache.get_or_compute(("store", 1), ("query",), compute)
    >>> len(calls), cache.stats()["hits"]
    (1, 1)
    >>> _ = cache.get_or_compute(("store", 2), ("query",), compute)  # a new data_version
    >>> len(calls), cache.stats()["entries"]
    (2, 1)
    """

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = default_cache_bytes() if max_bytes is None else max(0, max_bytes)
        self._entries: LRUCache[Hashable, Any] = LRUCache(
            maxsize=max(self.max_bytes, 1), getsizeof=self._weight
        )
        self._versions: dict[Hashable, Hashable] = {}
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, _Flight[Any]] = {}
        self.hits = 0
        self.misses = 0

    def _weight(self, value: Any) -> int:
        return max(size_of(value), 1)

    def get_or_compute(
        self,
        version: Hashable,
        key: Hashable,
        compute: Callable[[], T],
        *,
        admit: Callable[[], None] | None = None,
    ) -> T:
        """Return the value cached for ``key`` at ``version``, computing it once if absent.

        Concurrent callers of one key share one computation (see the module's
        docstring); waiting for it is counted as a hit.

        Parameters
        ----------
        version
            ``(store, data_version)``: entries of an older version of the same
            store are dropped when a newer one is first seen.
        key
            The normalised query (hashable).
        compute
            Called without arguments when the value is not cached.
        admit
            Called before computing a missing value that nobody is computing
            yet, outside any lock; it may wait (the server's computing turn,
            :func:`attribution.cancel.take_turn`) or raise (the value is then
            not computed). Not called on a hit, nor by a caller that waits for
            another's computation.

        Examples
        --------
        >>> ResultCache(0).get_or_compute(("s", 1), "k", lambda: 42)
        42
        >>> admitted = []
        >>> cache = ResultCache(2**20)
        >>> cache.get_or_compute(("s", 1), "k", lambda: 1, admit=lambda: admitted.append(1))
        1
        >>> cache.get_or_compute(("s", 1), "k", lambda: 2, admit=lambda: admitted.append(2))
        1
        >>> admitted  # the hit took no turn
        [1]
        """
        full = (version, key)
        admitted = admit is None
        while True:
            with self._lock:
                self._forget_older(version)
                if full in self._entries:
                    self.hits += 1
                    value: T = self._entries[full]
                    return value
                flight: _Flight[T] | None = self._inflight.get(full)
                if flight is None and admitted:
                    flight = self._inflight[full] = _Flight()
                    self.misses += 1
                    break
            if flight is None:
                assert admit is not None  # admitted is False only with admit
                admit()  # may wait: the key is looked up again afterwards
                admitted = True
                continue
            flight.wait()
            if flight.error is None:
                with self._lock:
                    self.hits += 1
                return cast(T, flight.value)
            if not _retried(flight.error):
                raise flight.error
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(full, None)
            flight.finish(None, exc)
            raise
        with self._lock:
            if self.max_bytes:
                # A value larger than the whole bound is returned, not kept.
                with contextlib.suppress(ValueError):
                    self._entries[full] = value
            self._inflight.pop(full, None)
        flight.finish(value)
        return value

    def _forget_older(self, version: Hashable) -> None:
        """Drop every entry of the same store at another version (caller holds the lock)."""
        if not isinstance(version, tuple) or len(version) != 2:
            return
        store, number = version
        if self._versions.get(store) == number:
            return
        self._versions[store] = number
        stale = [
            key
            for key in self._entries
            if isinstance(key, tuple) and key[0][0] == store and key[0][1] != number
        ]
        for key in stale:
            del self._entries[key]

    def waiting(self) -> int:
        """Return how many callers wait now for a value another caller is computing.

        Examples
        --------
        >>> ResultCache(2**20).waiting()
        0
        """
        with self._lock:
            flights = list(self._inflight.values())
        return sum(flight.waiters for flight in flights)

    def clear(self) -> None:
        """Drop every entry.

        Examples
        --------
        >>> cache = ResultCache(2**20)
        >>> _ = cache.get_or_compute(("s", 1), "k", lambda: 1)
        >>> cache.clear(); cache.stats()["entries"]
        0
        """
        with self._lock:
            self._entries.clear()
            self._versions.clear()

    def stats(self) -> dict[str, int]:
        """Return entries, bytes held, the bound, hits and misses.

        Examples
        --------
        >>> sorted(ResultCache(2**20).stats())
        ['bytes', 'entries', 'hits', 'max_bytes', 'misses']
        """
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": int(self._entries.currsize),
                "max_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
            }


__all__ = ["DEFAULT_CACHE_FRACTION", "ResultCache", "default_cache_bytes", "size_of"]
