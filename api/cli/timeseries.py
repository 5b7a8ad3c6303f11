"""``closedloop timeseries``: one metric per channel or campaign and day, ISO week or month.

::

    closedloop timeseries --metric revenue --model markov --interval month
    closedloop timeseries --metric spend --by campaign --start 2025-03-01 --end 2025-03-31
    closedloop timeseries --metric roas --format csv > roas.csv

The table pivots the series (periods as rows, keys as columns, and a
``total`` column for spend, revenue and conversions); ``--format json`` and
``--format csv`` give the long rows of ``GET /v1/timeseries`` (``period``,
key, metric), every bucket present and zero-filled.
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
    add_model_options,
    add_period_options,
    add_stage_option,
    add_window_options,
    parse_params,
    report_services,
    warn_csv,
    write_result,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers

METRICS = ("revenue", "conversions", "spend", "roas")
"""What a series can show (the API's ``metric``)."""


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop timeseries`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["timeseries", "--metric", "spend", "--interval", "month"])
    >>> args.metric, args.interval, args.model, args.by
    ('spend', 'month', 'linear', 'channel')
    """
    parser = subparsers.add_parser(
        "timeseries",
        help="spend, attributed revenue, conversions or ROAS per day, week or month",
        description="One metric per channel or campaign and period: spend (at the cost's "
        "date), attributed revenue or conversions (at the conversion's date, credited by "
        "--model) or ROAS = revenue / spend. Every period of the range is shown, zero-filled; "
        "weeks are ISO weeks starting on Monday, each period labelled by its first day.",
    )
    parser.add_argument(
        "--metric", choices=METRICS, default="revenue", help="what to show (default revenue)"
    )
    add_model_options(parser, default="linear")
    parser.add_argument(
        "--by",
        choices=("channel", "campaign", "source", "medium", "interaction"),
        default="channel",
        help="the series key (default channel); costs carry only channel and campaign, so by "
        "the others spend and ROAS are —",
    )
    parser.add_argument(
        "--interval",
        choices=("day", "week", "month"),
        default="week",
        help="period size (default week: ISO weeks, Monday first)",
    )
    add_stage_option(parser)
    add_lookback_option(parser)
    add_window_options(parser)
    add_period_options(parser)
    add_journey_option(parser)
    add_format_option(parser)
    add_db_option(parser)
    add_engine_options(parser)
    add_file_options(parser, costs=True)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Compute the series on the store (or files) and print it.

    Examples
    --------
    >>> import tempfile
    >>> from api.cli import build_parser
    >>> db = f"{tempfile.mkdtemp()}/empty.duckdb"
    >>> run(build_parser().parse_args(["timeseries", "--db", db, "--model", "linea"]))
    Traceback (most recent call last):
    ...
    attribution.errors.UnknownModelError: Unknown model 'linea'. ... Did you mean 'linear'?
    """
    from api.services import TimeSeriesQuery
    from api.services.queries import resolve_model

    query = TimeSeriesQuery(
        metric=args.metric,
        by=args.by,
        interval=args.interval,
        model=resolve_model(args.model, parse_params(args.param or [])),
        stage=args.stage,
        lookback_days=args.lookback_days,
        click_window_days=args.click_window_days,
        view_window_days=args.view_window_days,
        start=args.start,
        end=args.end,
        journey=args.journey,
        stitch=not args.no_stitch,
    )
    result = report_services(args).timeseries(query)
    write_result(args.format, result)
    warn_csv(args.format, result.members)
    return 0


__all__ = ["register", "run"]
