"""``closedloop compare``: several models side by side, with GA4's % change from a baseline.

The same call as ``GET /v1/compare``, on the store, on files or on an
aggregated path table::

    closedloop compare --models first_touch,last_touch,linear --stage closed_won
    closedloop compare --models all --baseline last_touch --by campaign --format csv
    closedloop compare --models linear,markov --ci 0.9 --bootstrap 100 --out compare.parquet
    closedloop compare --paths Data.csv --delimiter ';' --models first_touch,last_touch,linear

``closedloop attribute --model a,b,c`` (or ``--model all``) prints the same.
The first model is the baseline unless ``--baseline`` names another; every
other model's conversions, revenue and ROAS get their % change from it. On
``--paths`` input only path-exact models run; the others are listed as
skipped, with the reason.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from api.cli._comparison import parse_models, run_comparison
from api.cli._report_inputs import add_report_options

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop compare`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["compare", "--models", "linear,markov", "--baseline", "markov"])
    >>> args.models, args.baseline, args.by, args.format
    ('linear,markov', 'markov', 'channel', 'table')
    """
    parser = subparsers.add_parser(
        "compare",
        help="compare models side by side, with the %% change from a baseline",
        description="Attribute the same conversions with several models and put each "
        "channel's (or campaign's) conversions, revenue and ROAS side by side, with every "
        "model's % change from the baseline model, as GA4's model comparison report does. "
        "Reads the store, files given with --touchpoints and --conversions, or an aggregated "
        "path table given with --paths (where only path-exact models run).",
    )
    parser.add_argument(
        "--models",
        metavar="A,B,...",
        help="models to compare, separated by commas, or all (default: every model that runs "
        "on the data; see `closedloop models`)",
    )
    parser.add_argument(
        "--baseline",
        metavar="MODEL",
        help="the model the others' %% change is from (default: the first of --models)",
    )
    add_report_options(parser)
    # What `attribute` alone takes (one model's parameters, chain, calibration): never given.
    parser.set_defaults(
        handler=run, param=None, explain=False, lift_tests=None, no_calibration=False
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Compare the models of ``--models`` and print the comparison.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> run(build_parser().parse_args(["compare", "--models", "linear", "--baseline", "markov"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The baseline 'markov' is not among the models compared ...
    """
    return run_comparison(args, parse_models(args.models, "--models"), baseline=args.baseline)


__all__ = ["register", "run"]
