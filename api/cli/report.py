"""``closedloop report``: write one self-contained HTML report of the store's results.

::

    closedloop report --out report.html
    closedloop report --start 2025-03-01 --end 2025-03-31 --models linear,markov --out march.html
    closedloop report --ci 0.9 --bootstrap 100 --out report.html
    closedloop report --model markov --compare-model last_touch --by campaign --top 5 \
        --funnel-by lead_source --compare-previous --out report.html --pdf report.pdf

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
    FUNNEL_GROUPINGS,
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

BY_KEYS = ("channel", "campaign")
"""``--by``: :data:`api.report.data.BY_KEYS` (not imported: the parser stays light)."""
DEFAULT_TOP = 10
"""``--top``'s default: :data:`api.report.data.DEFAULT_TOP`."""
PREVIOUS_DAYS = 28
"""``--compare-previous`` without a period: :data:`api.report.data.PREVIOUS_DAYS`."""


def _top(text: str) -> int:
    """Parse ``--top N``: a whole number, 0 or more.

    Examples
    --------
    >>> _top("5"), _top("0")
    (5, 0)
    >>> _top("-1")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --top must be a whole number, 0 (every row) or more; got '-1'
    """
    if not text.isdigit():
        raise argparse.ArgumentTypeError(
            f"--top must be a whole number, 0 (every row) or more; got {text!r}"
        )
    return int(text)


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop report`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["report", "--out", "r.html", "--ci", "0.9"])
    >>> args.out, args.ci, args.bootstrap
    ('r.html', 0.9, 100)
    >>> args.model, args.compare_model, args.by, args.funnel_by, args.top, args.compare_previous
    (None, None, 'channel', 'channel', 10, False)
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
    parser.add_argument(
        "--pdf",
        metavar="PATH",
        help="also print the report to this PDF file with headless Chromium (chromium on PATH "
        "or /usr/bin/chromium)",
    )
    add_period_options(parser)
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="the model of the tables, the trend and the budget (default: markov when it runs "
        "on the data, else linear)",
    )
    parser.add_argument(
        "--compare-model",
        metavar="NAME",
        help="the second model of the side-by-side comparison with %% change (default: last_touch)",
    )
    parser.add_argument(
        "--by",
        choices=BY_KEYS,
        default="channel",
        help="key of the model comparison, the first table and the trend (default channel)",
    )
    parser.add_argument(
        "--funnel-by",
        choices=FUNNEL_GROUPINGS,
        default="channel",
        help="the funnel's groups (default channel)",
    )
    parser.add_argument(
        "--top",
        type=_top,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"rows of long tables before one 'Other' row (default {DEFAULT_TOP}; 0: every row)",
    )
    parser.add_argument(
        "--compare-previous",
        action="store_true",
        help="show the same-length period before --start/--end (without them: the data's "
        f"last {PREVIOUS_DAYS} days against the {PREVIOUS_DAYS} before) with the %% change",
    )
    parser.add_argument(
        "--models",
        metavar="A,B,...",
        help="models of the model comparison (default: every registered model that runs on "
        "the data)",
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
    from api.report.pdf import find_browser, print_pdf

    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    browser = find_browser() if args.pdf else None  # no browser: say so before the work
    with terminal_listening():
        page = build_report(
            open_services(args),
            start=args.start,
            end=args.end,
            models=models,
            model=args.model,
            compare_model=args.compare_model,
            by=args.by,
            funnel_by=args.funnel_by,
            top=args.top,
            compare_previous=args.compare_previous,
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
    if browser is not None:
        pdf = print_pdf(out, Path(args.pdf), browser=browser)
        sys.stdout.write(f"PDF written to {pdf} ({pdf.stat().st_size / 1024:,.0f} KiB)\n")
    return 0


__all__ = ["register", "run"]
