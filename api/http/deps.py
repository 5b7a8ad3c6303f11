"""Dependencies shared by the routes, as ``Annotated`` aliases.

Routes take ``services: ServicesDep`` (the application layer over the
store, with the server's one cache), ``store: StoreDep`` for writes, or
``settings: SettingsDep``.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from api.http.settings import Settings, get_settings
from api.services import Services
from api.services.cache import ResultCache
from attribution.errors import ParameterError
from ingest import Store


def get_store(settings: Annotated[Settings, Depends(get_settings)]) -> Store:
    """Return a handle on the store the settings name (created on first use).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> settings = Settings(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")
    >>> get_store(settings) is get_store(settings)
    True
    """
    with _building:  # lru_cache does not lock: a burst of first requests would build several
        return _store(settings)


_building = threading.RLock()
"""Held while the server's one store handle and services are looked up or built."""


@lru_cache(maxsize=8)
def _store(settings: Settings) -> Store:
    # A Store holds no connection, so one handle serves every request and
    # thread; building it creates the tables, which is worth doing once.
    return Store(settings.db_path, wait_seconds=settings.wait_seconds)


def get_services(
    settings: Annotated[Settings, Depends(get_settings)],
    store: Annotated[Store, Depends(get_store)],
) -> Services:
    """Return the services over the settings' store, sharing one cache for the server's life.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> settings = Settings(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb", cache_bytes=2**20)
    >>> store = get_store(settings)
    >>> get_services(settings, store) is get_services(settings, store)
    True
    >>> get_services(settings, store).cache.max_bytes
    1048576
    """
    with _building:
        return _services(settings, store)


@lru_cache(maxsize=8)
def _services(settings: Settings, store: Store) -> Services:
    return Services.for_store(store, ResultCache(settings.cache_bytes))


def extra_query_params(request: Request, known: Collection[str]) -> dict[str, str]:
    """Return the query parameters that are not the route's own: the model's parameters.

    A model parameter given twice is refused (422 naming it), so a typo'd
    repeat never silently wins.

    Examples
    --------
    >>> from starlette.requests import Request
    >>> scope = {"type": "http", "query_string": b"model=time_decay&half_life_days=3",
    ...     "headers": []}
    >>> extra_query_params(Request(scope), {"model"})
    {'half_life_days': '3'}
    """
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in known:
            continue
        if key in params:
            raise ParameterError(f"The '{key}' parameter is given more than once. Give it once.")
        params[key] = value
    return params


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ServicesDep = Annotated[Services, Depends(get_services)]

__all__ = [
    "ServicesDep",
    "SettingsDep",
    "StoreDep",
    "extra_query_params",
    "get_services",
    "get_store",
]
