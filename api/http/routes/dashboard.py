"""The dashboard page at ``/``: static HTML that reads only the ``/v1`` API from the browser.

Its data routes are the ordinary ones (``/v1/attribution``, ``/v1/compare``,
``/v1/paths``, ``/v1/timeseries``, ``/v1/funnel``, ``/v1/budget``); its
scripts are served from ``/static`` (:mod:`api.http.routes.ui`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

page = APIRouter(include_in_schema=False)
"""The dashboard page at ``/`` (outside ``/v1``, left out of the OpenAPI document)."""

STATIC = Path(__file__).resolve().parent.parent.parent / "static"


@page.get("/", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    """Serve the dashboard page (static; it reads the ``/v1`` API from the browser)."""
    return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"))


__all__ = ["page"]
