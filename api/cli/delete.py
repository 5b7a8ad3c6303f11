"""``closedloop delete``: remove every row of one person from the store (the right to erasure).

::

    closedloop delete --user-id crm-7 --yes [--db closedloop.duckdb] [--no-follow]

The person is the id given plus, unless ``--no-follow``, every id identity
stitching links to it (cookies, emails, CRM ids): their touchpoints,
conversions and identity pairs go in one transaction. It asks first when run
at a terminal; scripts pass ``--yes``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from api.cli._shared import add_db_option, open_store

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop delete`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["delete", "--user-id", "crm-7", "--yes"])
    >>> args.user_id, args.yes, args.follow
    ('crm-7', True, True)
    """
    parser = subparsers.add_parser(
        "delete",
        help="remove every row of one person (their ids stitched together)",
        description="Delete the touchpoints, conversions and identity pairs of one person in "
        "one transaction: the id given and every id identity stitching links to it.",
    )
    parser.add_argument("--user-id", required=True, metavar="ID", help="any id of the person")
    parser.add_argument(
        "--no-follow",
        dest="follow",
        action="store_false",
        help="delete the rows of this id only, not of the ids stitched to it",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_db_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Delete the person and say what went.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> run(argparse.Namespace(db=f"{folder}/s.duckdb", user_id="u1", follow=True, yes=True))
    u1: nothing to delete (no row has this id).
    0
    """
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                "closedloop delete: refusing to delete without confirmation; pass --yes.",
                file=sys.stderr,
            )
            return 2
        answer = input(f"Delete every row of {args.user_id!r} and the ids linked to it? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.", file=sys.stderr)
            return 0
    removed = open_store(args).delete_person(args.user_id, follow_identities=args.follow)
    if not removed.rows:
        print(f"{args.user_id}: nothing to delete (no row has this id).")
        return 0
    others = [i for i in removed.ids if i != args.user_id]
    linked = f" and {len(others):,} linked id(s): {', '.join(others[:10])}" if others else ""
    more = " …" if len(others) > 10 else ""
    print(
        f"{args.user_id}{linked}{more}: deleted {removed.touchpoints:,} touchpoints, "
        f"{removed.conversions:,} conversions, {removed.identities:,} identity pairs, "
        f"{removed.accounts:,} account links."
    )
    return 0


__all__ = ["register", "run"]
