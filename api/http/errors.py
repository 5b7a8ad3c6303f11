"""One error shape for everything the API answers: RFC 9457 problem details.

Every error body is ``application/problem+json`` with the members ``type``,
``title``, ``status``, ``detail`` and ``instance`` (the request path), plus:

- ``errors: [{row, field, message, file}]`` for rejected input: the rows of
  an ingest that failed validation (``row`` is 1-based as a spreadsheet shows
  it), or the request parameters FastAPI could not parse (``row`` and
  ``file`` null, ``field`` the parameter name);
- ``total`` with ``errors`` of a failed ingest: how many problems there were
  in all (at most the first 1,000 are listed);
- ``available`` for an unknown model or table: the names that exist.

Where the errors come from:

- :class:`attribution.errors.ClosedloopError` and its subclasses carry their
  own HTTP ``status`` and ``title``; the message is the ``detail``. A busy
  store (:class:`~attribution.errors.StoreBusyError`) answers 503 with
  ``Retry-After``.
- FastAPI's ``RequestValidationError`` becomes 422 naming the parameter.
- ``HTTPException`` (unknown route 404, wrong method 405, unsupported media
  type 415 ...) keeps its status, titled with the HTTP reason phrase.
- Anything else is a bug: 500 with a generic detail and no stack trace in the
  body (the traceback goes to the server log).

No ``detail`` shows where files live on the server or what the database said
(:func:`public_detail`): the store's path becomes its file name (the CLI keeps
the path, its user needs it), any other absolute path its last part, and an
error raised by DuckDB gets a generic detail and the ``type``
:data:`DATABASE_ERROR_TYPE`, its full text going to the server log.

``type`` is otherwise ``about:blank``: closedloop does not publish problem-type
documents; ``title`` and ``status`` say what kind of problem it is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.settings import get_settings
from attribution.cancel import ComputationCancelledError
from attribution.errors import (
    ClosedloopError,
    StoreBusyError,
    UnknownModelError,
    UnknownTableError,
    ValidationFailedError,
)

logger = logging.getLogger("closedloop.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

RETRY_AFTER_SECONDS = 5
"""``Retry-After`` sent with a 503 when another process holds the store."""

INTERNAL_ERROR_DETAIL = (
    "An unexpected error occurred while handling the request. It has been logged on the "
    "server; if it persists, please report it with the time of the request."
)

DATABASE_ERROR_TYPE = "urn:closedloop:problem:database-error"
"""``type`` of a problem DuckDB raised: its detail is generic, the full text is in the log."""

_ABSOLUTE_PATH = re.compile(
    r"""(?<![\w/.:~-])(?:/(?:[^\s'"()<>/]+/)+[^\s'"()<>,;]*|[A-Za-z]:\\[^\s'"()<>,;]*)"""
)
"""A POSIX path with two parts or more, or a Windows one, not inside a URL or a word."""

_API_PATHS = ("/v1/", "/docs", "/redoc", "/static/", "/openapi.json")
"""Paths of this API, which a detail may name (``POST /v1/ingest/touchpoints``)."""

_PARAMETER_PLACES = {
    "query": "Query parameter",
    "path": "Path parameter",
    "header": "Header",
    "cookie": "Cookie",
    "body": "Body field",
}


class ProblemResponse(JSONResponse):
    """A JSON response sent as ``application/problem+json``."""

    media_type = PROBLEM_MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """Build the problem+json response every error goes through."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _last_part(path: str) -> str:
    """Return the file or folder name a path ends with (``/srv/db/s.duckdb`` → ``s.duckdb``)."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1] or path


def public_detail(detail: str, store_path: Path | None = None) -> str:
    r"""Return ``detail`` without the server's absolute paths, for an HTTP client.

    The store's path, as given or absolute, becomes its file name (as
    ``/v1/health`` names it); any other absolute path becomes its last part.
    Paths of the API itself (``/v1/...``) and URLs are left alone.

    Parameters
    ----------
    detail
        The message of an error, as the CLI would print it.
    store_path
        The store file the server uses, when known.

    Returns
    -------
    str

    Examples
    --------
    >>> public_detail("The store '/srv/data/s.duckdb' is locked: POST /v1/ingest/costs.")
    "The store 's.duckdb' is locked: POST /v1/ingest/costs."
    >>> public_detail("Cannot read 'x.csv': no such file (/tmp/up-1/x.csv).")
    "Cannot read 'x.csv': no such file (x.csv)."
    >>> public_detail("Store 'data/my store.duckdb' is busy.", Path("data/my store.duckdb"))
    "Store 'my store.duckdb' is busy."
    >>> public_detail("See https://example.com/a/b and C:\\Users\\me\\s.duckdb")
    'See https://example.com/a/b and s.duckdb'
    """
    if store_path is not None:
        forms = {str(store_path), str(store_path.absolute()), str(store_path.resolve())}
        for form in sorted(forms, key=len, reverse=True):
            detail = detail.replace(form, store_path.name)

    def shorten(match: re.Match[str]) -> str:
        path = match.group(0)
        return path if path.startswith(_API_PATHS) else _last_part(path)

    return _ABSOLUTE_PATH.sub(shorten, detail)


def _from_database(exc: BaseException) -> bool:
    """Whether DuckDB raised ``exc`` or the error it was raised from (its text is DuckDB's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, duckdb.Error):
            return True
        seen.add(id(current))
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return False


def _store_path(request: Request) -> Path | None:
    """Return the path of the store the app serves (from its settings), if it can be told."""
    provider = request.app.dependency_overrides.get(get_settings, get_settings)
    try:
        path = provider().db_path
    except Exception:  # an error handler must not fail on its own
        return None
    return path if isinstance(path, Path) else None


def _database_detail(store: Path | None, message: str) -> str:
    name = f"The store '{store.name}'" if store is not None else "The store"
    written = "; nothing was written" if "nothing was written" in message else ""
    return (
        f"{name} reported a database error{written}. The full message is in the server log; "
        "if it persists, report it with the time of the request."
    )


async def closedloop_error(request: Request, exc: Exception) -> ProblemResponse:
    """Answer one of closedloop's own errors with the status and title it carries.

    The detail is the error's message with the server's paths shortened
    (:func:`public_detail`); an error DuckDB raised gets a generic detail and
    the ``type`` :data:`DATABASE_ERROR_TYPE`.
    """
    if not isinstance(exc, ClosedloopError):  # pragma: no cover - registered for ClosedloopError
        raise exc
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    store = _store_path(request)
    detail = public_detail(str(exc), store)
    if _from_database(exc):
        logger.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
        extra["type"] = DATABASE_ERROR_TYPE
        detail = _database_detail(store, str(exc))
    if isinstance(exc, ValidationFailedError):
        # The message lists the problems line by line for a terminal; the body
        # carries them as data and keeps the summary sentence as the detail.
        detail = detail.splitlines()[0]
        extra["errors"] = [p.to_dict() for p in exc.problems]
        extra["total"] = exc.total
    if isinstance(exc, UnknownModelError | UnknownTableError):
        extra["available"] = exc.available
    if isinstance(exc, StoreBusyError):
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if exc.status >= 500 and "type" not in extra and not isinstance(exc, ComputationCancelledError):
        # A stopped computation (time limit, memory, client gone) is logged by the limiter.
        logger.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
    return problem(request, exc.status, exc.title, detail, headers=headers, **extra)


def _parameter_error(error: Mapping[str, Any]) -> tuple[str, str]:
    """Return the parameter's name and a sentence saying what is wrong with it."""
    loc: Sequence[Any] = error.get("loc", ())
    place = _PARAMETER_PLACES.get(str(loc[0]), "Parameter") if loc else "Parameter"
    name = ".".join(str(part) for part in loc[1:]) or (str(loc[0]) if loc else "request")
    if error.get("type") == "missing":
        return name, f"{place} '{name}' is required."
    message = str(error.get("msg", "invalid value")).rstrip(".")
    return name, f"{place} '{name}': {message}. Got {error.get('input')!r}."


async def request_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    """Answer a request FastAPI could not parse: 422 naming each bad parameter."""
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it
        raise exc
    described = [_parameter_error(error) for error in exc.errors()]
    errors = [
        {"row": None, "field": name, "message": sentence, "file": None}
        for name, sentence in described
    ]
    detail = " ".join(sentence for _, sentence in described) or "The request is invalid."
    return problem(request, 422, "Invalid request", detail, errors=errors)


async def http_error(request: Request, exc: Exception) -> ProblemResponse:
    """Answer an ``HTTPException`` (unknown route, wrong method ...) as a problem."""
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registered for it
        raise exc
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    if status == 404 and detail == phrase:
        detail = f"Nothing at {request.url.path}. The API's routes are listed at /docs."
    elif status == 405 and detail == phrase:
        detail = f"Method {request.method} is not allowed on {request.url.path}."
    return problem(request, status, phrase, detail, headers=exc.headers)


async def internal_error(request: Request, exc: Exception) -> ProblemResponse:
    """Answer an unexpected exception: 500, a generic detail, no stack trace."""
    return problem(request, 500, "Internal Server Error", INTERNAL_ERROR_DETAIL)


class UnexpectedErrors:
    """ASGI middleware answering any exception the app did not handle: 500, connection kept.

    Starlette's own last resort sends the 500 and then raises the exception
    again for the server to log, and uvicorn then closes the connection, so a
    browser's or a client pool's next request on it fails. This middleware logs
    the traceback itself and answers the problem (when no response has started),
    so the connection stays open for the next request.

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> UnexpectedErrors(app).app is app
    True
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app; answer 500 problem+json for whatever it raises, without re-raising."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            logger.error("Unexpected error on %s", scope.get("path", ""), exc_info=exc)
            if started:  # too late for an answer: the server closes the connection
                raise
            response = problem(Request(scope), 500, "Internal Server Error", INTERNAL_ERROR_DETAIL)
            await response(scope, receive, send)


async def database_error(request: Request, exc: Exception) -> ProblemResponse:
    """Answer an error DuckDB raised that no closedloop error wraps: 500, a generic detail."""
    logger.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
    detail = _database_detail(_store_path(request), "")
    return problem(request, 500, "Store error", detail, type=DATABASE_ERROR_TYPE)


_RESPONSE_DESCRIPTIONS = {
    400: "Malformed request body (not valid JSON text, or broken multipart data)",
    401: "No API key, or one that is unknown or revoked (see WWW-Authenticate)",
    403: "The API key's scope does not allow this request, or a cross-site write",
    404: "Unknown model, table or route",
    415: "Unsupported request body type",
    422: "Invalid parameter or rejected input rows",
    500: "Unexpected server error",
    503: (
        "Busy (another process is writing to the store, every computing slot is taken, or "
        "memory is short), or Still computing (the answer goes on being computed for a retry "
        "of the same request); retry after Retry-After seconds"
    ),
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document error statuses of a route as problem+json in the OpenAPI schema."""
    from api.http.schemas import Problem

    return {
        status: {"model": Problem, "description": _RESPONSE_DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through :func:`problem`."""
    app.add_exception_handler(ClosedloopError, closedloop_error)
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(duckdb.Error, database_error)
    # What no handler takes is answered by UnexpectedErrors (added in create_app), which
    # keeps the connection open; this handler is Starlette's last resort behind it.
    app.add_exception_handler(Exception, internal_error)


__all__ = [
    "DATABASE_ERROR_TYPE",
    "INTERNAL_ERROR_DETAIL",
    "PROBLEM_MEDIA_TYPE",
    "ProblemResponse",
    "UnexpectedErrors",
    "install_error_handlers",
    "problem",
    "problem_responses",
    "public_detail",
]
