"""Settings of the HTTP API, read from the environment once.

``CLOSEDLOOP_DB`` names the store file (default ``./closedloop.duckdb``, as
for the CLI); ``CLOSEDLOOP_CACHE_MB`` bounds the result cache (default 1/8
of physical memory); ``CLOSEDLOOP_MAX_UPLOAD_MB`` bounds one upload or
request body (default 256); ``CLOSEDLOOP_MAX_COMPUTE`` bounds the requests
that compute at once (default: the CPU count) and ``CLOSEDLOOP_COMPUTE_WAIT``
how many seconds one waits for a turn before a 503 (default 30);
``CLOSEDLOOP_COMPUTE_TIMEOUT`` how many seconds one may compute before it is
answered (default 120, 0 for no limit): ``503 Still computing`` with
``Retry-After`` while its work goes on in the background for the retry
(``504`` and the work stopped when nothing is cached), and
``CLOSEDLOOP_COMPUTE_HARD_TIMEOUT`` how many seconds that work may run in all
before it is stopped (default 10 × ``CLOSEDLOOP_COMPUTE_TIMEOUT``, 0 for no
limit);
``CLOSEDLOOP_MAX_MEMORY_MB`` the resident memory above which computing
requests get 503 (default 3/4 of physical memory, or of the cgroup's limit
when lower; 0 for no ceiling; DuckDB gets half of it as its
``memory_limit``). See :mod:`api.http.limits`.
Access (:mod:`api.http.auth`, :mod:`api.http.guards`): ``CLOSEDLOOP_PUBLIC_READ=1``
lets reads through without a key (default off here; ``closedloop serve`` turns it
on when it listens on loopback only); ``CLOSEDLOOP_ALLOWED_HOSTS`` lists the
``Host`` names answered (comma-separated, default any) and
``CLOSEDLOOP_CORS_ORIGINS`` the web origins allowed to call the API from a
browser (default none).
:func:`get_settings` is cached; tests and ``closedloop serve`` swap it
through ``app.dependency_overrides`` (see :func:`api.http.app.create_app`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from api.http.limits import (
    default_compute_hard_timeout,
    default_compute_timeout,
    default_max_memory_bytes,
)
from api.services.cache import default_cache_bytes
from ingest import default_db_path

DEFAULT_MAX_UPLOAD_BYTES = 256 * 2**20
"""Largest upload or request body accepted by default (256 MiB)."""


def _max_upload_bytes() -> int:
    text = os.environ.get("CLOSEDLOOP_MAX_UPLOAD_MB")
    return int(float(text) * 2**20) if text else DEFAULT_MAX_UPLOAD_BYTES


def _max_compute() -> int:
    text = os.environ.get("CLOSEDLOOP_MAX_COMPUTE")
    return max(1, int(text)) if text else max(1, os.cpu_count() or 1)


def _compute_wait() -> float:
    text = os.environ.get("CLOSEDLOOP_COMPUTE_WAIT")
    return max(0.0, float(text)) if text else 30.0


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _names(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Where the store is, how long to wait for it, and the server's memory bounds.

    Examples
    --------
    >>> settings = Settings(Path("demo.duckdb"), cache_bytes=0)
    >>> settings.db_path.name, settings.cache_bytes, settings.max_upload_bytes > 0
    ('demo.duckdb', 0, True)
    """

    db_path: Path
    wait_seconds: float = 10.0
    public_read: bool = True
    """Reads need no key (writes always do). ``closedloop serve`` turns it on only on loopback."""
    allowed_hosts: tuple[str, ...] = ("*",)
    """``Host`` headers answered (``*.example.com`` wildcards; ``*`` any): others get 400."""
    cors_origins: tuple[str, ...] = ()
    """Web origins (``https://bi.example.com``) whose pages may call the API; none by default."""
    cache_bytes: int = field(default_factory=default_cache_bytes)
    """Bound of the result cache, in bytes (0 caches nothing)."""
    max_upload_bytes: int = field(default_factory=_max_upload_bytes)
    """Largest upload or request body, in bytes: larger ones get 413."""
    max_compute: int = field(default_factory=_max_compute)
    """Requests that compute at once (attribution, compare, paths, ...); others wait their turn."""
    compute_wait_seconds: float = field(default_factory=_compute_wait)
    """How long a request waits for a turn before it gets 503 with ``Retry-After``."""
    compute_timeout_seconds: float = field(default_factory=default_compute_timeout)
    """How long a request may compute before it is answered: 503 while its work goes on for the
    retry, or 504 and the work stopped when the cache holds nothing (0: no limit)."""
    compute_hard_timeout_seconds: float = field(default_factory=default_compute_hard_timeout)
    """How long a computation going on past the time limit may run in all (0: no limit)."""
    max_memory_bytes: int = field(default_factory=default_max_memory_bytes)
    """Resident memory above which computing requests get 503 (0: no ceiling)."""

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from ``CLOSEDLOOP_DB`` (or the default store path) and the bounds.

        Examples
        --------
        >>> Settings.from_env().wait_seconds
        10.0
        """
        return cls(
            db_path=Path(default_db_path()),
            public_read=_flag("CLOSEDLOOP_PUBLIC_READ"),
            allowed_hosts=_names("CLOSEDLOOP_ALLOWED_HOSTS") or ("*",),
            cors_origins=_names("CLOSEDLOOP_CORS_ORIGINS"),
        )


@lru_cache
def get_settings() -> Settings:
    """Return the settings read from the environment (cached; override in tests).

    Examples
    --------
    >>> get_settings() is get_settings()
    True
    """
    return Settings.from_env()
