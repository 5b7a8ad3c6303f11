"""Browser-facing guards: security headers on every response, no cross-site writes.

:class:`SecurityHeaders` adds ``X-Content-Type-Options: nosniff``,
``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer`` to every
response and a Content-Security-Policy to HTML pages (the dashboard, the
offline API docs): scripts, styles, images and requests only from the server
itself, no framing, no plugins.

:class:`SameOriginWrites` refuses a request that changes something (``POST``,
``PUT``, ``PATCH``, ``DELETE``) when the browser says it comes from another
site: its ``Origin`` names a host other than the one it was sent to. Any web
page a user visits could otherwise post into their local server (a form
posting ``multipart/form-data`` needs no CORS preflight). Clients that are not
browsers send no ``Origin`` and are not affected. Origins listed in the
server's CORS origins are allowed. Bodies a cross-site HTML form can send
without a CORS preflight other than uploads (``text/plain`` and
``application/x-www-form-urlencoded``) are refused on every write with 415:
no route of this API reads them.

:class:`TrustedHosts` answers only requests whose ``Host`` header names the
server (the rules of Starlette's ``TrustedHostMiddleware``: exact names,
``*.example.com`` wildcards, ``*`` for any), with a problem+json 400 for
others. A page on another site cannot then reach a server on ``127.0.0.1``
by rebinding its own domain name to that address (DNS rebinding), and no
forged ``Host`` ends up in a ``Link`` header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.limits import send_problem

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The pages' policy. Vega compiles chart expressions (``unsafe-eval``); the
dashboard's own script and styles are inline; nothing loads from elsewhere."""

ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SecurityHeaders:
    """ASGI middleware adding the security headers (and a CSP to HTML pages).

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> SecurityHeaders(app).app is app
    True
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and add the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in ALWAYS if name not in present]
                kind = dict(headers).get(b"content-type", b"")
                if kind.startswith(b"text/html") and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class SameOriginWrites:
    """ASGI middleware refusing writes a browser sends from another site (403 problem+json).

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> SameOriginWrites(app).app is app
    True
    """

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a cross-site write or a form body; pass everything else on."""
        if scope["type"] == "http" and scope.get("method") in WRITES:
            headers = dict(scope.get("headers", []))
            origin = headers.get(b"origin")
            if (
                origin is not None
                and origin.decode("latin-1").rstrip("/").lower() not in self.allowed_origins
                and not same_site(
                    origin.decode("latin-1"), headers.get(b"host", b"").decode("latin-1")
                )
            ):
                await _refuse(scope, send)
                return
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if kind in FORM_BODIES:
                await send_problem(
                    scope,
                    send,
                    415,
                    "Unsupported Media Type",
                    f"This API does not read {kind.decode('latin-1')} bodies. Send "
                    "application/json, application/x-ndjson, text/csv or a multipart/form-data "
                    "upload, as the route's documentation says.",
                )
                return
        await self.app(scope, receive, send)


FORM_BODIES = frozenset({b"text/plain", b"application/x-www-form-urlencoded"})
"""Body types an HTML form on any site can send without a CORS preflight (uploads aside)."""


class TrustedHosts:
    """ASGI middleware answering only requests for the server's own host names (else 400).

    Examples
    --------
    >>> async def app(scope, receive, send):
    ...     pass
    >>> TrustedHosts(app, ("127.0.0.1", "*.example.com")).allows("api.example.com:8000")
    True
    >>> TrustedHosts(app, ("127.0.0.1",)).allows("evil.example")
    False
    """

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...]) -> None:
        self.app = app
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.any = "*" in self.allowed_hosts

    def allows(self, host_header: str) -> bool:
        """Say whether a ``Host`` header (port ignored) names this server.

        Examples
        --------
        >>> async def app(scope, receive, send):
        ...     pass
        >>> TrustedHosts(app, ("localhost", "[::1]")).allows("[::1]:8000")
        True
        """
        if self.any:
            return True
        host = host_header.strip().lower()
        host = host.split("]", 1)[0] + "]" if host.startswith("[") else host.split(":", 1)[0]
        for pattern in self.allowed_hosts:
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request for a host this server is not; pass the others on."""
        if scope["type"] in ("http", "websocket") and not self.any:
            host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
            if not self.allows(host):
                await send_problem(
                    scope,
                    send,
                    400,
                    "Invalid host header",
                    "This server does not answer for that host name. Use the address it was "
                    "started with, or start it with --allowed-host NAME "
                    "(CLOSEDLOOP_ALLOWED_HOSTS).",
                )
                return
        await self.app(scope, receive, send)


def same_site(origin: str, host: str) -> bool:
    """Say whether a request's ``Origin`` names the host (and port) it was sent to.

    Examples
    --------
    >>> same_site("http://127.0.0.1:8000", "127.0.0.1:8000")
    True
    >>> same_site("http://evil.example", "127.0.0.1:8000"), same_site("null", "127.0.0.1:8000")
    (False, False)
    """
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return False
    return parts.netloc.lower() == host.lower()


async def _refuse(scope: Scope, send: Send) -> None:
    await send_problem(
        scope,
        send,
        403,
        "Cross-site request refused",
        "This server does not accept writes from pages of another site. Send the request from "
        "the dashboard itself, or from a client that is not a browser.",
    )


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SameOriginWrites",
    "SecurityHeaders",
    "TrustedHosts",
    "same_site",
]
