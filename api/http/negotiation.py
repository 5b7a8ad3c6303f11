"""Content negotiation: answer a :class:`~api.services.results.Result` as JSON, CSV or Parquet.

``?format=`` wins; otherwise the ``Accept`` header's preference decides
between ``application/json`` (the default), ``text/csv`` and
``application/vnd.apache.parquet``. Lists are cut into pages here, from the
result's frame: only the page's rows become Python objects.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from api.http.pagination import PageSpan, page_span
from api.services.results import Result

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
Format = Literal["json", "csv", "parquet"]

FORMATS: tuple[Format, ...] = ("json", "csv", "parquet")
_MEDIA: dict[str, Format] = {
    "text/csv": "csv",
    PARQUET_MEDIA_TYPE: "parquet",
    "application/json": "json",
    "application/*": "json",
    "*/*": "json",
}


def negotiate(fmt: str | None, accept: str | None) -> Format:
    """Return the format to answer in: ``?format=`` wins, else ``Accept``'s preference.

    Examples
    --------
    >>> negotiate(None, "text/csv")
    'csv'
    >>> negotiate(None, "application/json, text/csv;q=0.5")
    'json'
    >>> negotiate("json", "text/csv")
    'json'
    >>> negotiate(None, "application/vnd.apache.parquet")
    'parquet'
    >>> negotiate(None, "*/*")
    'json'
    """
    if fmt is not None:
        return fmt if fmt in FORMATS else "json"  # type: ignore[return-value]
    best: dict[Format, float] = {"json": 0.0, "csv": 0.0, "parquet": 0.0}
    for order, part in enumerate((accept or "").split(",")):
        media, *options = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # Earlier entries win ties, as browsers and curl list their preference first.
        kind = _MEDIA.get(media.lower())
        if kind is not None:
            best[kind] = max(best[kind], quality - order * 1e-6)
    if best["csv"] > 0 and best["csv"] > best["json"] and best["csv"] >= best["parquet"]:
        return "csv"
    if best["parquet"] > 0 and best["parquet"] > best["json"]:
        return "parquet"
    return "json"


def wants_csv(fmt: str | None, accept: str | None) -> bool:
    """Say whether to answer CSV (see :func:`negotiate`).

    Examples
    --------
    >>> wants_csv(None, "text/csv"), wants_csv("json", "text/csv")
    (True, False)
    """
    return negotiate(fmt, accept) == "csv"


def respond(
    result: Result,
    request: Request,
    *,
    fmt: str | None = None,
    accept: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    paged: bool = False,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """Answer ``result`` in the negotiated format, one page of it when paging.

    Parameters
    ----------
    result
        What a service returned.
    request
        The request (its URL makes the ``Link`` header of the next page).
    fmt, accept
        ``?format=`` and the ``Accept`` header.
    limit, cursor
        The page asked for. With ``paged`` the answer is always a page
        (``limit`` defaults to the list default); otherwise it is one only
        when ``limit`` or ``cursor`` is given.
    paged
        Whether this route always pages.
    extra_headers
        More headers to send.

    Returns
    -------
    fastapi.Response
        JSON (members, the page's rows, ``count`` and ``next_cursor`` when
        paged), CSV of the page's rows, or Parquet of every row; with
        ``Vary: Accept`` and the next page's RFC 8288 ``Link``.

    Examples
    --------
    >>> import polars as pl
    >>> from starlette.requests import Request
    >>> scope = {"type": "http", "method": "GET", "path": "/v1/x", "query_string": b"",
    ...     "headers": [(b"host", b"testserver")], "scheme": "http", "server": ("t", 80)}
    >>> answer = respond(Result("x", {"n": 1}, pl.DataFrame({"a": [1, 2]})), Request(scope),
    ...     limit=1, paged=True)
    >>> answer.body, answer.headers["link"]
    (b'{"n":1,"data":[{"a":1}],"count":2,"next_cursor":"bzox"}', '<http://testserver/v1/x?cursor=bzox>; rel="next"')
    """  # noqa: E501
    span: PageSpan | None = None
    if paged or limit is not None or cursor is not None:
        span = page_span(result.total_rows, request.url, limit, cursor)
    headers = {"Vary": "Accept", **(span.headers() if span else {}), **(extra_headers or {})}
    kind = negotiate(fmt, accept)
    if kind == "parquet":
        headers["Content-Disposition"] = f'attachment; filename="{result.name}.parquet"'
        return Response(result.to_parquet(), media_type=PARQUET_MEDIA_TYPE, headers=headers)
    offset, count = (span.offset, span.limit) if span else (0, None)
    if kind == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{result.name}.csv"'
        return Response(result.to_csv(offset, count), media_type=CSV_MEDIA_TYPE, headers=headers)
    body: dict[str, Any] = result.to_dict(offset, count)
    if span is not None:
        body.update(span.meta())
    return JSONResponse(body, headers=headers)


__all__ = [
    "CSV_MEDIA_TYPE",
    "FORMATS",
    "PARQUET_MEDIA_TYPE",
    "Format",
    "negotiate",
    "respond",
    "wants_csv",
]
