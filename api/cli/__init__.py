"""The ``closedloop`` command: ingest files, attribute revenue, plan budgets, serve the API.

Every command is the same call the HTTP API makes, from a terminal::

    closedloop ingest touchpoints events.csv --map user_id=cookie --map ts=time
    closedloop ingest --from ga4 exports/ga4/ --db closedloop.duckdb
    closedloop attribute --model time_decay --param half_life_days=3 --by campaign
    closedloop attribute --model linear --touchpoints t.csv --conversions c.csv --format json
    closedloop attribute --model markov --ci 0.95 --bootstrap 200 --seed 1
    closedloop compare --models first_touch,last_touch,linear --out compare.parquet
    closedloop models
    closedloop serve --port 8000

One module per command (``api/cli/<command>.py``), each with ``register``
(adds its parser, with ``handler=run``) and ``run(args) -> int``; the
:data:`COMMANDS` tuple lists them in help order. Adding a command is one
module and one line there. What commands share (options, output, the
exit-code policy) is in :mod:`api.cli._shared`. Building the parser imports
the standard library and :mod:`attribution.constants` only; a command's
dependencies load when it runs.

An option means the same in every command: ``--format`` is the output format
(table, json, csv), ``--out FILE`` writes it to a file instead (.parquet, .csv,
.json by suffix), ``--input-format`` the format of files read, ``--ci LEVEL``
/ ``--bootstrap N`` / ``--seed S`` the level, resamples and seed of bootstrap
intervals, ``--db`` the store.

Exit status: 0 on success; 2 for bad input or usage (the message on stderr,
no traceback); 1 for anything unexpected, or when the store cannot be used
(busy, unreadable); 130 when interrupted. Reports go to stdout, messages and
progress to stderr; progress (rows/s) only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from api.cli import (
    attribute,
    budget,
    channels,
    compare,
    delete,
    export,
    funnel,
    import_,
    ingest,
    keys,
    materialize,
    models,
    paths,
    report,
    serve,
    stages,
    timeseries,
)
from api.cli._shared import PROG, run_command

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


class Command(Protocol):
    """What a command module provides (a module satisfies this protocol).

    Examples
    --------
    >>> all(callable(command.register) and callable(command.run) for command in COMMANDS)
    True
    """

    def register(self, subparsers: Subparsers) -> argparse.ArgumentParser:
        """Add the command's parser to ``subparsers``, with ``handler=run``."""
        ...

    def run(self, args: argparse.Namespace) -> int:
        """Run the command with the parsed arguments and return its exit status."""
        ...


COMMANDS: tuple[Command, ...] = (
    ingest,
    attribute,
    compare,
    models,
    serve,
    budget,
    channels,
    stages,
    funnel,
    paths,
    timeseries,
    report,
    export,
    materialize,
    import_,
    delete,
    keys,
)
"""Every command module, in the order ``closedloop --help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """Build the ``closedloop`` argument parser and its subcommands.

    Examples
    --------
    >>> args = build_parser().parse_args(["models", "--format", "json"])
    >>> args.command, args.format, args.handler is models.run
    ('models', 'json', True)
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Multi-touch marketing attribution: ingest touchpoints, conversions and "
        "costs, credit revenue to channels, report ROAS, ROI and CPA.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``closedloop`` command line and return its exit status.

    Parameters
    ----------
    argv
        The arguments after ``closedloop`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 1 for an unexpected error or
        an unusable store, 130 when interrupted.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     main(["attribute"])
    2
    >>> err.getvalue().splitlines()[-1]
    'closedloop attribute: error: the following arguments are required: --model'
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return run_command(args)


__all__ = ["COMMANDS", "Command", "build_parser", "main"]
