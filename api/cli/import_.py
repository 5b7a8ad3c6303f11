"""``closedloop import``: load a folder ``closedloop export`` wrote back into a store.

::

    closedloop export --db closedloop.duckdb --out backup/
    closedloop import backup/ --db restored.duckdb

Into an empty store this restores the exported one exactly (every row, the
reporting currency); into one holding data it is an upsert, the backup's row
winning. One transaction: a damaged or foreign file writes nothing.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from api.cli._shared import add_db_option, open_store

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop import`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["import", "backup"]).folder
    'backup'
    """
    parser = subparsers.add_parser(
        "import",
        help="load a folder written by export back into the store (a restore)",
        description="Read DIR/touchpoints, DIR/conversions, DIR/costs and DIR/identities "
        "(Parquet, as closedloop export writes them) and the currency in DIR/meta.json into "
        "the store, in one transaction.",
    )
    parser.add_argument("folder", metavar="DIR", help="a folder written by closedloop export")
    add_db_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Restore the folder into the store and say what each table got.

    Examples
    --------
    >>> import tempfile
    >>> from ingest import Store
    >>> import polars as pl
    >>> folder = tempfile.mkdtemp()
    >>> first = Store(f"{folder}/a.duckdb")
    >>> _ = first.upsert("identities", pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"]}))
    >>> _ = first.export(f"{folder}/backup")
    >>> run(argparse.Namespace(db=f"{folder}/b.duckdb", folder=f"{folder}/backup"))
    touchpoints: 0 inserted, 0 updated, 0 unchanged
    conversions: 0 inserted, 0 updated, 0 unchanged
    costs: 0 inserted, 0 updated, 0 unchanged
    identities: 1 inserted, 0 updated, 0 unchanged
    accounts: 0 inserted, 0 updated, 0 unchanged
    lift_tests: 0 inserted, 0 updated, 0 unchanged
    0
    """
    for table, counts in open_store(args).restore(args.folder).items():
        print(
            f"{table}: {counts.inserted:,} inserted, {counts.updated:,} updated, "
            f"{counts.unchanged:,} unchanged"
        )
    return 0


__all__ = ["register", "run"]
