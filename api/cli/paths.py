"""``closedloop paths``: top conversion paths, GA4's buckets and the early/middle/late touch view.

::

    closedloop paths
    closedloop paths --by campaign --top 10 --start 2025-03-01 --end 2025-03-31
    closedloop paths --no-collapse --format csv > paths.csv
    closedloop paths --touchpoints t.csv --conversions c.csv --format json

The table shows the top paths (``--top``, default 20), the path-length and
time-lag buckets, the early / middle / late touches per channel or campaign
and the warnings; ``--format json`` prints the body of ``GET /v1/paths`` (its
``data`` cut to ``--top``, ``count`` all paths), ``--format csv`` the top paths' rows.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from api.cli._shared import (
    add_db_option,
    add_engine_options,
    add_file_options,
    add_format_option,
    add_journey_option,
    add_lookback_option,
    add_period_options,
    add_stage_option,
    add_window_options,
    report_services,
    warn_csv,
    write_output,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers

DEFAULT_TOP = 20
"""Paths shown unless ``--top`` says otherwise (the same default as the service's table)."""


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop paths`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["paths", "--by", "campaign", "--no-collapse", "--top", "5"])
    >>> args.by, args.collapse, args.top, args.format
    ('campaign', False, 5, 'table')
    """
    parser = subparsers.add_parser(
        "paths",
        help="top conversion paths, path length, time lag, early/middle/late touches",
        description="Top conversion paths with journeys, conversions, conversion rate, "
        "revenue, average touches and days to convert; path length and time lag in Google "
        "Analytics 4's buckets (1 ... 7, 8-11, 12+); and which channels open, assist and "
        "close converting journeys (GA4's early 25% / middle 50% / late 25% of each "
        "path's touches). See docs/paths.md.",
    )
    parser.add_argument(
        "--by",
        default="channel",
        help="paths of channel (default), campaign, source, medium or interaction",
    )
    add_stage_option(parser)
    add_lookback_option(parser)
    add_window_options(parser)
    add_period_options(parser)
    add_journey_option(parser)
    parser.add_argument(
        "--no-collapse",
        dest="collapse",
        action="store_false",
        help="keep consecutive repeats as steps (Email > Email > Search); by default they "
        "merge into one (Email > Search)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"paths to print, most conversions first (default {DEFAULT_TOP}; 0: all)",
    )
    add_format_option(parser)
    add_db_option(parser)
    add_engine_options(parser)
    add_file_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Summarise the paths of the store (or files) and print them.

    Examples
    --------
    >>> import tempfile
    >>> from api.cli import build_parser
    >>> db = f"{tempfile.mkdtemp()}/empty.duckdb"
    >>> run(build_parser().parse_args(["paths", "--db", db, "--top", "-1"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --top must be 0 (all paths) or more. Got -1.
    """
    from api.services import PathsQuery
    from api.services.paths import paths_table
    from attribution.errors import ParameterError

    if args.top < 0:
        raise ParameterError(f"--top must be 0 (all paths) or more. Got {args.top}.")
    query = PathsQuery(
        by=args.by,
        stage=args.stage,
        lookback_days=args.lookback_days,
        click_window_days=args.click_window_days,
        view_window_days=args.view_window_days,
        start=args.start,
        end=args.end,
        collapse=args.collapse,
        journey=args.journey,
        stitch=not args.no_stitch,
    )
    result = report_services(args).paths(query)
    limit = args.top or None

    def table() -> str:
        return "\n".join([paths_table(result.members, result.data, args.top), *result.notes])

    write_output(
        args.format,
        table=table,
        data=lambda: {**result.to_dict(limit=limit), "count": result.total_rows},
        csv=lambda: result.to_csv(limit=limit),
    )
    warn_csv(args.format, result.members)
    return 0


__all__ = ["register", "run"]
