"""What the browser pages need besides ``/v1``: static files, offline API docs, chart specs.

- ``/static/...``: ``api/static``: the dashboard's scripts, one job each
  (``charts.js`` draws Vega-Lite specs, also inlined in the report;
  ``format.js`` the number style; ``table.js`` sortable tables with a TOTAL
  row, top N and a CSV link; ``specs.js`` the stacked weekly areas and the
  bucket bars; ``state.js`` the form, the URL and the API queries;
  ``dashboard.js`` the cards; ``budget.js`` the response-curve card; see
  ``docs/dashboard.md``) and the vendored ``vendor/*`` files (see
  ``api/static/vendor/README.md``);
- ``/docs`` (Swagger UI, with ``/docs/oauth2-redirect``) and ``/redoc``:
  FastAPI's pages, but loading Swagger UI and ReDoc from ``/static/vendor``
  instead of a CDN, so the docs render offline;
- ``/dashboard/charts.json``: the dashboard's Vega-Lite chart specs without
  rows (:func:`api.report.charts.chart_templates`), the report's specs.

:func:`install` adds them to an app that was built with ``docs_url=None,
redoc_url=None``; none of them is in the OpenAPI document.
"""

from __future__ import annotations

import os
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

router = APIRouter(include_in_schema=False)

STATIC = Path(str(files("api") / "static"))
"""``api/static``, served at ``/static``."""
VENDOR = "/static/vendor"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
SWAGGER_JS = f"{VENDOR}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui.css"
SWAGGER_FAVICON = f"{VENDOR}/swagger-ui-favicon-32x32.png"
REDOC_JS = f"{VENDOR}/redoc.standalone.js"


class RevalidatedStaticFiles(StaticFiles):
    """Static files a browser asks about again before each use (``Cache-Control: no-cache``).

    Without the header browsers guess a freshness from ``Last-Modified`` and
    may run a dashboard script older than the page after an upgrade; with it
    they revalidate with the ``ETag``, which costs a ``304`` when nothing changed.

    Examples
    --------
    >>> from starlette.testclient import TestClient
    >>> client = TestClient(RevalidatedStaticFiles(directory=STATIC))
    >>> answer = client.get("/format.js")
    >>> answer.headers["cache-control"], client.get(
    ...     "/format.js", headers={"If-None-Match": answer.headers["etag"]}).status_code
    ('no-cache', 304)
    """

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Answer the file as Starlette does, marked ``Cache-Control: no-cache``."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    """Serve ``/static``, the offline ``/docs`` and ``/redoc`` and the chart specs on ``app``.

    Parameters
    ----------
    app
        An app built with ``docs_url=None, redoc_url=None`` (else FastAPI's
        CDN pages answer first).

    Examples
    --------
    >>> app = FastAPI(docs_url=None, redoc_url=None)
    >>> install(app)
    >>> str(app.url_path_for("static", path="vendor/vega.min.js"))
    '/static/vendor/vega.min.js'
    >>> [str(app.url_path_for(name)) for name in ("swagger_ui", "redoc", "chart_specs")]
    ['/docs', '/redoc', '/dashboard/charts.json']
    """
    app.include_router(router)
    app.mount("/static", RevalidatedStaticFiles(directory=STATIC), name="static")


def _root(request: Request) -> str:
    """Return the path the app is served under (``root_path``), without a final /."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Serve Swagger UI on the app's OpenAPI document, from the vendored files."""
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
        swagger_js_url=root + SWAGGER_JS,
        swagger_css_url=root + SWAGGER_CSS,
        swagger_favicon_url=root + SWAGGER_FAVICON,
        swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
    )


@router.get(OAUTH2_REDIRECT, response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    """Serve Swagger UI's OAuth2 redirect page.

    Examples
    --------
    >>> swagger_ui_redirect().status_code
    200
    """
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """Serve ReDoc on the app's OpenAPI document, from the vendored file, without web fonts."""
    root = _root(request)
    return get_redoc_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=root + REDOC_JS,
        redoc_favicon_url=root + SWAGGER_FAVICON,
        with_google_fonts=False,
    )


@router.get("/dashboard/charts.json")
def chart_specs(
    currency: Annotated[str, Query(pattern="^[A-Z]{3}$")] = "USD",
    by: Literal["channel", "campaign", "source", "medium", "interaction"] = "channel",
) -> dict[str, Any]:
    """Serve the dashboard's chart specs without rows, by name: the report's, same look.

    Examples
    --------
    >>> sorted(chart_specs("EUR", "campaign"))  # doctest: +NORMALIZE_WHITESPACE
    ['curve', 'funnel', 'lengths', 'touch_positions_conversions', 'touch_positions_revenue',
     'trend']
    """
    from api.report.charts import chart_templates

    return chart_templates(currency, by)


__all__ = ["RevalidatedStaticFiles", "install", "router"]
