"""Who may do what: API keys on every route that reads or changes the store.

A request proves a key with ``Authorization: Bearer <key>`` or
``X-API-Key: <key>`` (keys are made by ``closedloop keys create``; see
:mod:`ingest.keys`). Each route needs a scope (:func:`requires`):

- ``read``: every ``GET`` under ``/v1`` and the read-only computations sent
  as ``POST`` (a budget plan, a what-if, attributing an uploaded path file).
  With ``public_read`` (the default when the server listens on a loopback
  address only) reads need no key.
- ``write``: anything that changes the store (``POST /v1/ingest/...``).
  Always needs a key, whatever ``public_read`` says.
- ``admin``: deleting a person and answers keyed by a person-level column
  (``by=user_id`` or ``by=touchpoint_id``).

Statuses follow RFC 9110: no key, or a key that is unknown, malformed or
revoked, is ``401`` with ``WWW-Authenticate: Bearer realm="closedloop"``; a
valid key whose scope is too low is ``403``. Both are problem+json bodies
that say which scope the route needs and how to get a key. Keys are compared
in constant time. ``GET /v1/health`` answers without a key (load balancers
probe it); the dashboard page and its static files are public too — the data
they show comes from the API routes, which check the key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.http.deps import get_store
from api.http.settings import Settings, get_settings
from api.services.queries import PERSON_KEYS
from ingest import Store
from ingest.keys import ApiKey, KeyRing

REALM = 'Bearer realm="closedloop"'

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key from `closedloop keys create`, as `Authorization: Bearer clk_...`.",
)
_api_key = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="The same key in an `X-API-Key` header.",
)

_HOW = "Create one with: closedloop keys create --name NAME --scope {scope} --db STORE."


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key it proved, or nobody (a public read).

    Examples
    --------
    >>> Caller(None).scope
    'anonymous'
    """

    key: ApiKey | None

    @property
    def scope(self) -> str:
        """Return the key's scope, or ``anonymous``.

        Examples
        --------
        >>> Caller(None).scope
        'anonymous'
        """
        return self.key.scope if self.key else "anonymous"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": REALM})


def _forbidden(detail: str) -> HTTPException:
    return HTTPException(403, detail=detail)


def presented_key(
    bearer: HTTPAuthorizationCredentials | None, header_key: str | None
) -> str | None:
    """Return the key a request presents (``Authorization: Bearer`` first), if any.

    Examples
    --------
    >>> presented_key(None, "clk_x"), presented_key(None, None)
    ('clk_x', None)
    """
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header_key or None


def requires(scope: str) -> Callable[..., Caller]:
    """Return a FastAPI dependency that lets a request through only with ``scope``.

    Parameters
    ----------
    scope
        ``read``, ``write`` or ``admin``.

    Returns
    -------
    Callable
        The dependency; it returns the :class:`Caller`.

    Examples
    --------
    >>> from fastapi import APIRouter, Depends
    >>> router = APIRouter(dependencies=[Depends(requires("write"))])
    >>> len(router.dependencies)
    1
    """

    def check(
        request: Request,
        settings: Annotated[Settings, Depends(get_settings)],
        store: Annotated[Store, Depends(get_store)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header_key: Annotated[str | None, Depends(_api_key)],
    ) -> Caller:
        token = presented_key(bearer, header_key)
        by = request.query_params.get("by", "")
        needed = "admin" if by in PERSON_KEYS else scope
        if token is None:
            if needed == "read" and settings.public_read:
                return Caller(None)
            what = "read" if needed == "read" else needed
            raise _unauthorized(
                f"This request needs an API key with the {what} scope, sent as "
                f"'Authorization: Bearer <key>' or 'X-API-Key: <key>'. " + _HOW.format(scope=needed)
            )
        key = KeyRing(store).verify(token)
        if key is None:
            raise _unauthorized(
                "The API key is not valid: unknown, mistyped or revoked. "
                "`closedloop keys list` shows the keys of the store; " + _HOW.format(scope=needed)
            )
        if not key.allows(needed):
            reason = f"by={by} lists persons, which" if needed != scope else "This request"
            raise _forbidden(
                f"{reason} needs a key with the {needed} scope; key {key.key_id} "
                f"({key.name!r}) has the {key.scope} scope. " + _HOW.format(scope=needed)
            )
        return Caller(key)

    check.__name__ = f"requires_{scope}"
    return check


def permits(scope: str) -> Callable[..., bool]:
    """Return a FastAPI dependency saying whether the request may do ``scope`` (never raises).

    Examples
    --------
    >>> permits("read").__name__
    'permits_read'
    """
    check = requires(scope)

    def probe(
        request: Request,
        settings: Annotated[Settings, Depends(get_settings)],
        store: Annotated[Store, Depends(get_store)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header_key: Annotated[str | None, Depends(_api_key)],
    ) -> bool:
        try:
            check(request, settings, store, bearer, header_key)
        except HTTPException:
            return False
        return True

    probe.__name__ = f"permits_{scope}"
    return probe


read_access = requires("read")
"""Dependency of the read routes."""
write_access = requires("write")
"""Dependency of the routes that change the store."""
admin_access = requires("admin")
"""Dependency of the person-level routes."""

__all__ = [
    "REALM",
    "Caller",
    "admin_access",
    "permits",
    "presented_key",
    "read_access",
    "requires",
    "write_access",
]
