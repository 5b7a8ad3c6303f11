"""``closedloop funnel``: lead-funnel counts and rates per channel, campaign, lead source or owner.

::

    closedloop funnel --by channel
    closedloop funnel --by owner --period --start 2025-03-01 --end 2025-03-31 --format csv
    closedloop funnel --stages mql,closed_won --by lead_source
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from api.cli._shared import (
    FUNNEL_ASSIGNMENTS,
    FUNNEL_GROUPINGS,
    add_db_option,
    add_engine_options,
    add_format_option,
    add_journey_option,
    add_period_options,
    open_services,
    warn_csv,
    write_result,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop funnel`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["funnel", "--by", "owner", "--period"])
    >>> args.by, args.mode, args.assign, args.format
    ('owner', 'period', 'first_touch', 'table')
    """
    parser = subparsers.add_parser(
        "funnel",
        help="lead-funnel counts and conversion rates",
        description="Count leads, MQLs, SQLs, opportunities, won and lost per group and in "
        "total, with stage-to-stage rates, win rate = won / (won + lost), time to conversion, "
        "revenue per customer, LTV, CPL, CPA and CAC. Cohort mode (default): a rate is over "
        "the persons who entered its earlier stage in the period. Period mode: counts per "
        "period, rates as their ratios (which can exceed 100%). A stage with no row in the "
        "data is null (—), never filled in; win rate is null without a losing stage. See "
        "docs/funnel.md.",
    )
    parser.add_argument(
        "--by",
        choices=FUNNEL_GROUPINGS,
        help="group by the person's channel, campaign, lead source "
        "or owner (default: the total only)",
    )
    add_period_options(parser)
    add_journey_option(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--cohort",
        dest="mode",
        action="store_const",
        const="cohort",
        help="rates over the cohort that entered the earlier stage in the period (default)",
    )
    mode.add_argument(
        "--period",
        dest="mode",
        action="store_const",
        const="period",
        help="counts per period, rates as their ratios",
    )
    parser.set_defaults(mode="cohort")
    parser.add_argument(
        "--stages",
        metavar="A,B,...",
        help="the funnel, entry first, winning stage last (default: the stages of "
        "lead,mql,sql,opportunity,closed_won - lead,purchase for e-commerce data - that the "
        "data has); a stage with no row in the data shows as null (—)",
    )
    parser.add_argument(
        "--lost-stages", metavar="A,...", help="losing stages with --stages (default closed_lost)"
    )
    parser.add_argument(
        "--assign",
        choices=FUNNEL_ASSIGNMENTS,
        default="first_touch",
        help="with --by channel/campaign: the person's first touch (default) or the last "
        "touch before they became a lead",
    )
    add_format_option(parser)
    add_db_option(parser)
    add_engine_options(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Compute the funnel on the store and print it.

    Examples
    --------
    >>> import tempfile
    >>> from api.cli import build_parser
    >>> db = f"{tempfile.mkdtemp()}/empty.duckdb"
    >>> run(build_parser().parse_args(["funnel", "--db", db, "--by", "channel"]))
    Traceback (most recent call last):
    ...
    attribution.errors.EmptyInputError: There are no conversions to count: ...
    """
    from api.services import FunnelQuery

    query = FunnelQuery.create(
        by=args.by,
        start=args.start,
        end=args.end,
        mode=args.mode,
        stages=args.stages,
        lost_stages=args.lost_stages,
        assign=args.assign,
        journey=args.journey,
    )
    result = open_services(args).funnel(query)
    write_result(args.format, result)
    warn_csv(args.format, result.members)
    return 0


__all__ = ["register", "run"]
