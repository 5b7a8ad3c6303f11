"""Pagination of list endpoints: ``limit`` and an opaque ``cursor`` (conventions.md 6.2).

The cursor is the URL-safe base64 of ``o:<offset>``; clients pass back the
``next_cursor`` of a page (``null`` on the last page) or follow the RFC 8288
``Link: <…>; rel="next"`` header. CSV pages carry the same header.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import URL

from attribution.errors import ParameterError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000


def encode_cursor(offset: int) -> str:
    """Return the opaque cursor of ``offset``.

    Examples
    --------
    >>> encode_cursor(100)
    'bzoxMDA'
    >>> decode_cursor(encode_cursor(100))
    100
    """
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """Return the offset a cursor stands for (0 for none); refuse a cursor we did not make."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ParameterError(
            f"Invalid cursor {cursor!r}: pass back the next_cursor of a previous page."
        ) from None
    return offset


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the next cursor and the ``Link`` header to send."""

    rows: list[Any]
    total: int
    next_cursor: str | None
    link: str | None

    def headers(self) -> dict[str, str]:
        """Return the ``Link`` header when there is a next page."""
        return {"Link": self.link} if self.link else {}

    def meta(self) -> dict[str, Any]:
        """Return the body members that describe the page."""
        return {"count": self.total, "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class PageSpan:
    """Where one page of a list starts, how long it is, and how to ask for the next one.

    Examples
    --------
    >>> span = page_span(5, URL("http://x/v1/paths"), 2, encode_cursor(4))
    >>> span.offset, span.limit, span.meta()
    (4, 2, {'count': 5, 'next_cursor': None})
    """

    offset: int
    limit: int
    total: int
    next_cursor: str | None
    link: str | None

    def headers(self) -> dict[str, str]:
        """Return the ``Link`` header when there is a next page."""
        return {"Link": self.link} if self.link else {}

    def meta(self) -> dict[str, Any]:
        """Return the body members that describe the page."""
        return {"count": self.total, "next_cursor": self.next_cursor}


def page_span(total: int, url: URL, limit: int | None, cursor: str | None) -> PageSpan:
    """Return the page of a list of ``total`` rows that ``cursor`` starts, ``limit`` rows long.

    ``limit`` defaults to :data:`MAX_LIMIT` when absent.

    Examples
    --------
    >>> span = page_span(5, URL("http://x/v1/paths?limit=2"), 2, None)
    >>> span.offset, span.next_cursor, span.link
    (0, 'bzoy', '<http://x/v1/paths?limit=2&cursor=bzoy>; rel="next"')
    """
    size = MAX_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise ParameterError(f"limit must be between 1 and {MAX_LIMIT:,}. Got {size} instead.")
    offset = decode_cursor(cursor)
    end = offset + size
    next_cursor = encode_cursor(end) if end < total else None
    link = None
    if next_cursor is not None:
        link = f'<{url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return PageSpan(offset=offset, limit=size, total=total, next_cursor=next_cursor, link=link)


def paginate(rows: list[Any], url: URL, limit: int, cursor: str | None) -> Page:
    """Cut ``rows`` to the page ``cursor`` starts, ``limit`` rows long.

    Examples
    --------
    >>> page = paginate(list(range(5)), URL("http://x/v1/paths?limit=2"), 2, None)
    >>> page.rows, page.next_cursor, page.link
    ([0, 1], 'bzoy', '<http://x/v1/paths?limit=2&cursor=bzoy>; rel="next"')
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(f"limit must be between 1 and {MAX_LIMIT:,}. Got {limit} instead.")
    offset = decode_cursor(cursor)
    end = offset + limit
    next_cursor = encode_cursor(end) if end < len(rows) else None
    link = None
    if next_cursor is not None:
        link = f'<{url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return Page(rows=rows[offset:end], total=len(rows), next_cursor=next_cursor, link=link)


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Page",
    "PageSpan",
    "decode_cursor",
    "encode_cursor",
    "page_span",
    "paginate",
]
