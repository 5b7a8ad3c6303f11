"""``closedloop serve``: serve the HTTP API (and the dashboard) on the store.

::

    closedloop serve --port 8000
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

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

    store = open_store(args)  # creates the store, or fails now with a clear message
    app = create_app(Settings(db_path=store.path))
    base = f"http://{args.host}:{args.port}"
    print(f"closedloop API on {base} — docs at {base}/docs", flush=True)
    print(f"dashboard at {base}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


__all__ = ["register", "run"]
