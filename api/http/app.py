"""The FastAPI application: ``create_app()`` builds it, ``app`` is the default one.

Routes live one module per path they serve in :mod:`api.http.routes`
(:data:`ROUTERS`), all under ``/v1``; each parses its parameters, calls one
application service (:mod:`api.services`) and formats the result
(:mod:`api.http.negotiation`). OpenAPI is at ``/openapi.json`` and the
interactive docs at ``/docs`` (Swagger UI) and ``/redoc``, served with the
dashboard's scripts from ``api/static`` at ``/static``: no CDN, they work
offline (:mod:`api.http.routes.ui`).

Concurrency
-----------
The store (:class:`ingest.Store`) opens a DuckDB connection per operation
and keeps none open, so the read routes are plain ``def`` functions that
FastAPI runs in its threadpool: reads run side by side and never block each
other. A query reads every table it needs in one transaction
(:meth:`ingest.Store.snapshot`), so it sees an ingest entirely or not at
all, and its answer is cached under the store's ``data_version``.

``closedloop ingest`` from another process while the server runs works: the
server holds the store file's lock only for the length of one operation, and
the CLI retries while the file is busy (up to ``wait_seconds``, 10 s by
default). The same holds the other way round: a request that finds the file
held by another process for longer gets a clear ``503 Store busy`` problem
with ``Retry-After``, never a hang or a 500.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.http.auth import requires
from api.http.errors import (
    PROBLEM_MEDIA_TYPE,
    UnexpectedErrors,
    install_error_handlers,
    problem_responses,
)
from api.http.guards import SameOriginWrites, SecurityHeaders, TrustedHosts
from api.http.limits import BodySizeLimit, ComputeLimit
from api.http.routes import (
    attribution,
    attribution_paths,
    budget,
    compare,
    dashboard,
    funnel,
    health,
    ingest,
    models,
    models_explain,
    paths,
    persons,
    timeseries,
    ui,
)
from api.http.settings import Settings, get_settings

TITLE = "closedloop"

DESCRIPTION = """\
Multi-touch marketing attribution: credit closed revenue to the channels and
campaigns that earned it, with pluggable models, and report what each one
really returned.

**Metrics.** `conversions` and `revenue` are attributed (fractional) credit;
`spend` is ad spend from the costs table for the same key and period.
ROAS = revenue / spend; **ROI = (revenue − spend) / spend, where the cost is
ad spend only** (not salaries, tooling or cost of goods, so a positive ROI here
can still lose money overall); CPA = spend / attributed conversions. A ratio
whose denominator is zero is `null`.

**Dates.** `start` and `end` are `YYYY-MM-DD` dates in UTC, **inclusive at
both ends**, as in the Google Ads and Meta APIs: `end=2024-03-31` includes all
of 31 March. Timestamps are ISO 8601 UTC. Money is in the store's `currency`
(ISO 4217).

**Errors** are RFC 9457 `application/problem+json` bodies (`type`, `title`,
`status`, `detail`, `instance`), with `errors: [{row, field, message, file}]`
listing rejected rows and `available` listing the names that exist when a
model or table is unknown.
"""

OPENAPI_TAGS = [
    {"name": "health", "description": "Is the service up, and what does its store hold?"},
    {"name": "models", "description": "The registered attribution models and their parameters."},
    {"name": "attribution", "description": "Attributed revenue, spend, ROAS, ROI and CPA."},
    {"name": "ingest", "description": "Load touchpoints, conversions, costs and identities."},
    {"name": "persons", "description": "Privacy: remove every row of one person."},
]


def operation_id(route: APIRoute) -> str:
    """Name operations ``tag-function``, e.g. ``attribution-run_attribution``."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare every error response as an ``application/problem+json`` Problem.

    FastAPI documents its own 422 body (``HTTPValidationError``) on every route
    with parameters; ours replaces it, so the docs show what clients get.
    """
    problem = {"$ref": "#/components/schemas/Problem"}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[0] in "45":
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem}}
                    if response.get("description") == "Validation Error":
                        response["description"] = _VALIDATION_DESCRIPTION
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


_VALIDATION_DESCRIPTION = "Invalid parameter or rejected input rows"


ROUTERS = (
    health,
    models,
    models_explain,
    attribution,
    attribution_paths,
    compare,
    paths,
    timeseries,
    funnel,
    budget,
    ingest,
    persons,
)
"""The route modules under ``/v1``, one per path they serve; adding a route is one line here."""

ACCESS: dict[ModuleType, str | None] = {health: None, ingest: "write", persons: "admin"}
"""The key scope each route module needs (:mod:`api.http.auth`); ``read`` unless named here.
``None``: no key (the health probe answers its details only to callers who may read)."""


def _keyless_operations(public_read: bool) -> set[tuple[str, str]]:
    """Return the ``(path, method)`` pairs that answer without a key on this server."""
    keyless = set()
    for module in ROUTERS:
        scope = ACCESS.get(module, "read")
        if scope is None or (scope == "read" and public_read):
            for route in module.router.routes:
                if isinstance(route, APIRoute):
                    keyless |= {(f"/v1{route.path}", m.lower()) for m in route.methods or ()}
    return keyless


def _optional_keys(schema: dict[str, Any], keyless: set[tuple[str, str]]) -> dict[str, Any]:
    """Mark the operations that need no key with an empty security requirement (OpenAPI 3.1)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if (path, method) in keyless and {} not in operation.get("security", [{}]):
                operation["security"].append({})
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API.

    Parameters
    ----------
    settings
        Use these settings (the store file ...) instead of the ones read
        from the environment.

    Returns
    -------
    fastapi.FastAPI
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        app_version = version("closedloop")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        app_version = "0.0.0"
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=app_version,
        openapi_tags=OPENAPI_TAGS,
        generate_unique_id_function=operation_id,
        docs_url=None,  # api.http.routes.ui serves /docs and /redoc from api/static/vendor
        redoc_url=None,
    )
    if settings is not None:
        app.dependency_overrides[get_settings] = lambda: settings
    bounds = settings or get_settings()
    app.add_middleware(BodySizeLimit, max_bytes=bounds.max_upload_bytes)
    app.add_middleware(
        ComputeLimit,
        slots=bounds.max_compute,
        wait_seconds=bounds.compute_wait_seconds,
        timeout_seconds=bounds.compute_timeout_seconds,
        hard_timeout_seconds=bounds.compute_hard_timeout_seconds,
        finish_in_background=bounds.cache_bytes > 0,  # an answer finished later lands there
        max_memory_bytes=bounds.max_memory_bytes,
    )
    app.add_middleware(SameOriginWrites, allowed_origins=bounds.cors_origins)
    if bounds.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(bounds.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Accept"],
            expose_headers=["Link", "Retry-After"],
        )
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(TrustedHosts, allowed_hosts=bounds.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    for module in ROUTERS:
        scope = ACCESS.get(module, "read")
        if scope is None:
            app.include_router(module.router, prefix="/v1")
        else:
            app.include_router(
                module.router,
                prefix="/v1",
                dependencies=[Depends(requires(scope))],
                responses=problem_responses(401, 403),
            )
    app.include_router(dashboard.page)
    ui.install(app)  # /static, offline /docs and /redoc, the dashboard's chart specs

    keyless = _keyless_operations(bounds.public_read)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = _optional_keys(_problem_media_types(schema), keyless)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


app = create_app()
