"""The store's side of cancellation: DuckDB connections a cancelled request can interrupt.

:meth:`ingest.Store._connect` opens every connection inside :func:`watch`.
When a :class:`attribution.cancel.Cancellation` is current (a computing
request of the HTTP server), :func:`watch`:

- refuses to start if it is already cancelled (every store read is a point
  where cancelled work stops);
- sets DuckDB's ``memory_limit`` to the cancellation's
  ``memory_limit_bytes`` (DuckDB then spills large sorts and joins to disk
  instead of growing past the server's memory ceiling). DuckDB shares one
  database instance, and this setting, between the connections of a process
  to one file;
- registers the connection's ``interrupt`` for as long as it is open, so
  :meth:`~attribution.cancel.Cancellation.cancel` stops a running query;
- turns whatever fails once the cancellation is cancelled (DuckDB's
  ``InterruptException``, or a store error wrapping it) into the
  cancellation's own error, so the server answers and logs it as such.

Outside a request it does nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from attribution.cancel import current_cancellation

logger = logging.getLogger("closedloop.store")

MIN_DUCKDB_MEMORY_BYTES = 128 * 2**20
"""Smallest ``memory_limit`` given to DuckDB (below it, ordinary queries fail)."""


@contextmanager
def watch(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Tie ``con`` to the current cancellation, if any, for the length of the block.

    Examples
    --------
    >>> from attribution.cancel import Cancellation, ComputationCancelledError
    >>> con = duckdb.connect()
    >>> scope = Cancellation(memory_limit_bytes=256 * 2**20)
    >>> with scope.active(), watch(con):
    ...     con.sql("SELECT current_setting('memory_limit')").fetchall()
    [('256.0 MiB',)]
    >>> _ = scope.cancel(ComputationCancelledError, "Stopped.")
    >>> with scope.active(), watch(con):
    ...     pass
    Traceback (most recent call last):
    ...
    attribution.cancel.ComputationCancelledError: Stopped.
    """
    scope = current_cancellation()
    if scope is None:
        yield
        return
    scope.check()
    if scope.memory_limit_bytes:
        limit = max(int(scope.memory_limit_bytes), MIN_DUCKDB_MEMORY_BYTES)
        try:
            con.execute(f"SET memory_limit = '{limit}B'")
        except duckdb.Error as exc:  # e.g. more is in use than the new bound: keep the old one
            logger.debug("memory_limit left as it was: %s", exc)
    with scope.interrupting(con.interrupt):
        try:
            yield
        except Exception:
            if scope.cancelled:
                raise scope.error() from None
            raise


__all__ = ["MIN_DUCKDB_MEMORY_BYTES", "watch"]
