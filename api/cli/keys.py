"""``closedloop keys``: create, list and revoke the HTTP API's keys.

::

    closedloop keys create --name loader --scope write [--db closedloop.duckdb]
    closedloop keys list [--format json]
    closedloop keys revoke 3f9a0c1b7e2d

A key is printed once, when it is created; the store keeps only its hash
(:mod:`ingest.keys`). Scopes: ``read`` (reports), ``write`` (also ingest),
``admin`` (also person-level answers and deleting a person). Send it as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. A running server
sees a new or revoked key at its next request.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from api.cli._shared import add_db_option, add_format_option, open_store, write_output

if TYPE_CHECKING:
    from api.cli._shared import Subparsers
    from ingest.keys import ApiKey

SCOPE_CHOICES = ("read", "write", "admin")


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop keys`` (``create``, ``list``, ``revoke``) to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["keys", "create", "--name", "ci", "--scope", "write"])
    >>> args.action, args.name, args.scope
    ('create', 'ci', 'write')
    """
    parser = subparsers.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="Manage the keys the HTTP API asks for: writes always need one, reads "
        "unless the server allows public reads. A key is shown once, when it is created.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument("--name", required=True, help="what the key is for, e.g. dashboard")
    create.add_argument(
        "--scope",
        choices=SCOPE_CHOICES,
        default="read",
        help="read (reports), write (also ingest) or admin (also person-level answers and "
        "deleting a person); default read",
    )
    add_format_option(create, ("table", "json"))
    add_db_option(create)
    listing = actions.add_parser("list", help="list the keys (never their secrets)")
    add_format_option(listing, ("table", "json"))
    add_db_option(listing)
    revoke = actions.add_parser("revoke", help="revoke a key: it stops working at once")
    revoke.add_argument("key_id", metavar="KEY_ID", help="the id `keys list` shows (or the key)")
    add_db_option(revoke)
    parser.set_defaults(handler=run)
    return parser


def _table(keys: list[ApiKey]) -> str:
    if not keys:
        return "No keys yet. Create one: closedloop keys create --name NAME --scope write"
    header = f"{'key id':<14}{'scope':<8}{'created (UTC)':<18}{'status':<22}name"
    lines = [header]
    for key in keys:
        status = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        lines.append(
            f"{key.key_id:<14}{key.scope:<8}{key.created_at:%Y-%m-%d %H:%M}  {status:<22}{key.name}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Create, list or revoke keys of the store.

    Examples
    --------
    >>> import tempfile
    >>> db = f"{tempfile.mkdtemp()}/k.duckdb"
    >>> run(argparse.Namespace(db=db, action="list", format="table"))
    No keys yet. Create one: closedloop keys create --name NAME --scope write
    0
    """
    from ingest.keys import KeyRing

    ring = KeyRing(open_store(args))
    if args.action == "create":
        key, token = ring.create(args.name, args.scope)
        write_output(
            args.format,
            table=lambda: (
                f"{token}\n"
                f"Key {key.key_id} ({key.name!r}, scope {key.scope}). This is the only time it "
                "is shown: store it now.\nSend it as 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'."
            ),
            data=lambda: {**key.to_dict(), "key": token},
        )
        return 0
    if args.action == "list":
        keys = ring.list()
        write_output(
            args.format, table=lambda: _table(keys), data=lambda: [k.to_dict() for k in keys]
        )
        return 0
    key = ring.revoke(args.key_id)
    print(f"Key {key.key_id} ({key.name!r}, scope {key.scope}) is revoked.", file=sys.stderr)
    return 0


__all__ = ["register", "run"]
