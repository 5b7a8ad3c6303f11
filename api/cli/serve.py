"""``closedloop serve``: serve the HTTP API (and the dashboard) on the store.

::

    closedloop serve --port 8000
    closedloop serve --host 0.0.0.0 --allowed-host attribution.example.com
    closedloop serve --cors-origin https://bi.example.com

Writes always need an API key (``closedloop keys create --scope write``).
Reads need none when the server listens on a loopback address only
(``127.0.0.1``, ``::1``, ``localhost``: the default), and do otherwise unless
``--public-read``. The server answers only requests whose ``Host`` names it:
the loopback names by default, the ``--host`` given, and every
``--allowed-host`` (``*`` for any; binding all interfaces without one allows
any and says so).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import TYPE_CHECKING, Any

from api.cli._shared import add_db_option, open_store

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop serve`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["serve", "--port", "8123"])
    >>> args.host, args.port
    ('127.0.0.1', 8123)
    """
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API",
        description="Serve the HTTP API (OpenAPI docs at /docs) on the store.",
    )
    add_db_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--public-read",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let reads through without a key (default: on for a loopback --host, off otherwise)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (repeatable; *.example.com wildcards)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages of this web origin call the API (repeatable, e.g. https://bi.example.com)",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve the HTTP API with uvicorn until interrupted.

    Examples
    --------
    >>> import tempfile, uvicorn
    >>> from unittest import mock
    >>> db = f"{tempfile.mkdtemp()}/serve.duckdb"
    >>> with mock.patch.object(uvicorn, "run"):  # doctest: +ELLIPSIS
    ...     run(argparse.Namespace(db=db, host="127.0.0.1", port=8000))
    closedloop API on http://127.0.0.1:8000 — docs at http://127.0.0.1:8000/docs
    dashboard at http://127.0.0.1:8000/
    0
    """
    import uvicorn

    from api.http.app import create_app
    from api.http.settings import Settings
    from ingest.keys import KeyRing

    store = open_store(args)  # creates the store, or fails now with a clear message
    access = access_settings(
        args.host,
        getattr(args, "public_read", None),
        getattr(args, "allowed_host", []),
        getattr(args, "cors_origin", []),
    )
    app = create_app(Settings(db_path=store.path, **access))
    base = f"http://{_url_host(args.host)}:{args.port}"
    print(f"closedloop API on {base} — docs at {base}/docs", flush=True)
    print(f"dashboard at {base}/", flush=True)
    writers = [k for k in KeyRing(store).list() if k.allows("write")]
    reads = "public" if access["public_read"] else "need a key"
    hint = "" if writers else " (none yet: closedloop keys create --name NAME --scope write)"
    print(f"reads {reads}; writes need a key{hint}", file=sys.stderr, flush=True)
    if access["allowed_hosts"] == ("*",) and not _loopback(args.host):
        print(
            "note: answering any Host name; name this server's with --allowed-host NAME",
            file=sys.stderr,
            flush=True,
        )
    # A request still computing at shutdown is given 5 s, then the server exits.
    uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)
    return 0


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def access_settings(
    host: str,
    public_read: bool | None = None,
    allowed_hosts: list[str] | None = None,
    cors_origins: list[str] | None = None,
) -> dict[str, Any]:
    """Return the access settings a server on ``host`` gets: public reads, hosts, origins.

    Examples
    --------
    >>> access_settings("127.0.0.1")["public_read"], access_settings("0.0.0.0")["public_read"]
    (True, False)
    >>> access_settings("0.0.0.0")["allowed_hosts"]
    ('*',)
    >>> access_settings("10.0.0.5", allowed_hosts=["api.example.com"])["allowed_hosts"]
    ('10.0.0.5', 'api.example.com')
    """
    loopback = _loopback(host)
    extra = tuple(allowed_hosts or ())
    if loopback:
        hosts: tuple[str, ...] = (*LOOPBACK_NAMES, *extra)
    elif host in ("0.0.0.0", "::", "[::]"):
        hosts = extra or ("*",)
    else:
        hosts = (_url_host(host), *extra)
    return {
        "public_read": loopback if public_read is None else public_read,
        "allowed_hosts": tuple(dict.fromkeys(hosts)),
        "cors_origins": tuple(cors_origins or ()),
    }


__all__ = ["access_settings", "register", "run"]
