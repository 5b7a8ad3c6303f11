"""``closedloop export``: write every table of the store to a Parquet lake (also a backup).

::

    closedloop export --db closedloop.duckdb --out lake/

The layout is the one the Spark engine reads: ``OUT/touchpoints``,
``OUT/conversions``, ``OUT/costs``, ``OUT/identities``, each a folder of
Parquet files with the canonical columns and UTC timestamps.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from api.cli._shared import add_db_option, open_store

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop export`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["export", "--out", "lake"]).out
    'lake'
    """
    parser = subparsers.add_parser(
        "export",
        help="write every table to Parquet (a lake for Spark, or a backup)",
        description="Write touchpoints, conversions, costs and identities to OUT/<table>/ as "
        "Parquet, read from one snapshot of the store. Tables already in OUT are replaced; "
        "a failed export leaves OUT as it was.",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    add_db_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Export the store and say how many rows each table got.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> run(argparse.Namespace(db=f"{folder}/s.duckdb", out=f"{folder}/lake"))
    touchpoints: 0 rows → lake/touchpoints/
    conversions: 0 rows → lake/conversions/
    costs: 0 rows → lake/costs/
    identities: 0 rows → lake/identities/
    accounts: 0 rows → lake/accounts/
    lift_tests: 0 rows → lake/lift_tests/
    0
    """
    from pathlib import Path

    out = Path(args.out)
    for table, rows in open_store(args).export(out).items():
        print(f"{table}: {rows:,} rows → {out.name}/{table}/")
    return 0


__all__ = ["register", "run"]
