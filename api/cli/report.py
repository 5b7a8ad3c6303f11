"""``closedloop report``: write one self-contained HTML report of the store's results.

::

    closedloop report --out report.html
    closedloop report --start 2025-03-01 --end 2025-03-31 --models linear,markov --out march.html
    closedloop report --ci 0.9 --bootstrap 100 --out report.html

On a terminal, stderr shows which section is being computed and how far its
bootstraps and curve fits are (:func:`api.cli._shared.terminal_listening`);
nothing when piped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli._shared import (
    add_calibration_option,
    add_db_option,
    add_engine_options,
    add_interval_options,
    add_journey_option,
    add_lookback_option,
    add_period_options,
    add_stage_option,
    add_stage_values_option,
    add_window_options,
    open_services,
    terminal_listening,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop report`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["report", "--out", "r.html", "--ci", "0.9"])
    >>> args.out, args.ci, args.bootstrap
    ('r.html', 0.9, 100)
    """
    parser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report",
        description="Write one self-contained HTML file (works offline: Vega-Lite charts, "
        "the chart library inlined): headline totals, model comparison, channel and campaign "
        "tables, conversion paths, the lead funnel, the weekly trend and the budget plan with "
        "response curves.",
    )
    parser.add_argument("--out", required=True, metavar="PATH", help="the HTML file to write")
    add_period_options(parser)
    parser.add_argument(
        "--models",
        metavar="A,B,...",
        help="models to compare (default: every registered model that runs on the data)",
    )
    add_stage_option(parser)
    add_stage_values_option(parser)
    add_lookback_option(parser)
    add_journey_option(parser)
    add_window_options(parser)
    add_interval_options(
        parser,
        ci=None,
        ci_help="add bootstrap intervals at this level to the model comparison",
        bootstrap=100,
        bootstrap_help="person-level bootstrap resamples for --ci",
    )
    add_db_option(parser)
    add_engine_options(parser)
    add_calibration_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Build the report from the store and write it to ``--out``.

    Examples
    --------
    >>> import tempfile
    >>> from api.cli import build_parser
    >>> folder = tempfile.mkdtemp()
    >>> args = ["report", "--db", f"{folder}/x.duckdb", "--out", f"{folder}/r.html"]
    >>> run(build_parser().parse_args(args))  # an empty store
    Traceback (most recent call last):
    ...
    attribution.errors.EmptyInputError: There are no conversions to report on: ...
    """
    from api.report import build_report

    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    with terminal_listening():
        page = build_report(
            open_services(args),
            start=args.start,
            end=args.end,
            models=models,
            stage=args.stage,
            lookback_days=args.lookback_days,
            click_window_days=args.click_window_days,
            view_window_days=args.view_window_days,
            ci=args.ci,
            bootstrap=args.bootstrap,
            seed=args.seed,
            journey=args.journey,
            stage_values=args.stage_values,
            calibrate=not args.no_calibration,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    size = len(page.encode()) / 1024
    sys.stdout.write(f"report written to {out} ({size:,.0f} KiB); open it in a browser\n")
    return 0


__all__ = ["register", "run"]
