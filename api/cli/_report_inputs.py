"""What ``closedloop attribute`` and ``closedloop compare`` share: a report's inputs and options.

Both read the store (or a Spark lake), files given with ``--touchpoints`` and
``--conversions`` (read, mapped and validated as ``closedloop ingest`` would,
without a store), or an aggregated path table given with ``--paths``; both
take the same key, period, window, identity and interval options, added here
by :func:`add_report_options`. Heavy modules are imported inside the functions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.cli._shared import (
    DEFAULT_MAX_COMPONENT_SIZE,
    DEFAULT_RESAMPLES,
    PROG,
    add_by_option,
    add_db_option,
    add_engine_options,
    add_format_option,
    add_input_format_option,
    add_interval_options,
    add_journey_option,
    add_lookback_option,
    add_mapping_options,
    add_period_options,
    add_stage_option,
    add_stage_values_option,
    add_window_options,
    load_file,
    open_services,
)

if TYPE_CHECKING:
    import polars as pl

    from api.services import Services
    from api.services.attribution import PathTableQuery


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """Add what ``attribute`` and ``compare`` share: key, period, windows, inputs, intervals.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_report_options(parser)
    >>> args = parser.parse_args(["--paths", "Data.csv", "--delimiter", ";", "--ci", "0.9"])
    >>> args.paths, args.delimiter, args.ci, args.by
    ('Data.csv', ';', 0.9, 'channel')
    """
    add_by_option(parser, "report")
    add_stage_option(parser)
    add_lookback_option(parser)
    add_journey_option(parser)
    add_window_options(parser)
    add_period_options(parser)
    add_format_option(parser)
    add_db_option(parser)
    add_engine_options(parser)
    parser.add_argument("--touchpoints", metavar="FILE", help="attribute this file ...")
    parser.add_argument("--conversions", metavar="FILE", help="... with these conversions")
    parser.add_argument("--costs", metavar="FILE", help="... and this spend (optional)")
    parser.add_argument(
        "--cost-map",
        metavar="FILE",
        help="with --costs: rename its channels and campaigns to the touches' (as closedloop "
        "ingest costs --cost-map)",
    )
    parser.add_argument(
        "--cost-match",
        choices=("exact", "loose"),
        default="exact",
        help="with --costs: loose gives a cost name the touch name it equals but for case and "
        "spaces (default exact)",
    )
    parser.add_argument(
        "--cost-grain",
        choices=("day", "week", "month"),
        default="day",
        help="with --costs: each row's period (week: dated Monday; month: dated the 1st), "
        "spread evenly over its days (default day)",
    )
    parser.add_argument(
        "--other-costs",
        metavar="FILE",
        help="... and these non-media costs (date, spend; e.g. sales salaries): counted in "
        "the total CAC, never credited (in the store: cost rows of channel (sales))",
    )
    add_stage_values_option(parser)
    add_input_format_option(parser, "those files (and of --paths)")
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        help="strftime format of those files' timestamps, e.g. %%m/%%d/%%Y (default: ISO 8601, "
        "epoch numbers, and slash dates in the order the column shows)",
    )
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        default=".",
        metavar="SEP",
        help="decimal separator of money in those files: . (default) or , (1.234,56)",
    )
    parser.add_argument(
        "--currency",
        metavar="CODE",
        help="ISO 4217 currency of the money in --touchpoints/--conversions/--costs or --paths "
        "files, echoed in the report (default: none, reported as null)",
    )
    parser.add_argument(
        "--identities",
        metavar="FILE",
        help="... and these id pairs (anonymous_id, user_id) to stitch persons from",
    )
    parser.add_argument(
        "--accounts",
        metavar="FILE",
        help="... and these person -> account links (user_id, account_id) for --journey account",
    )
    parser.add_argument(
        "--no-stitch",
        action="store_true",
        help="use the raw user_id: do not stitch ids into persons with the identities",
    )
    parser.add_argument(
        "--max-identity-component",
        type=int,
        default=DEFAULT_MAX_COMPONENT_SIZE,
        metavar="N",
        help="leave identity components of more than N ids unmerged, e.g. a shared device "
        f"(default {DEFAULT_MAX_COMPONENT_SIZE})",
    )
    add_interval_options(
        parser,
        ci=None,
        ci_help="add LEVEL confidence intervals (e.g. 0.95) to every row: a person-level "
        "bootstrap (conversions_low/high, revenue_low/high, roas_low/high)",
        bootstrap=DEFAULT_RESAMPLES,
        bootstrap_help="person-level bootstrap resamples for --ci (at least 10)",
    )
    parser.add_argument(
        "--paths",
        metavar="FILE",
        help="attribute an aggregated path table instead: one row per path with its "
        "conversions, value and non-conversions (ChannelAttribution's path, "
        "total_conversions, total_conversion_value, total_null; others via --map "
        "path=<col> conversions=<col> revenue=<col> nulls=<col>)",
    )
    parser.add_argument(
        "--sep", default=">", help="with --paths: separator between channels (default '>')"
    )
    parser.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="with --paths: CSV field delimiter (default: sniffed from the header, e.g. ';')",
    )
    add_mapping_options(parser)


def report_period(args: argparse.Namespace) -> dict[str, Any]:
    """Return the query fields the report options give: key, stage, windows, period, persons.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> report_period(build_parser().parse_args(["compare", "--by", "campaign"]))["by"]
    'campaign'
    """
    return {
        "by": args.by,
        "stage": args.stage,
        "lookback_days": args.lookback_days,
        "click_window_days": args.click_window_days,
        "view_window_days": args.view_window_days,
        "start": args.start,
        "end": args.end,
        "stitch": not args.no_stitch,
        "max_identity_component": args.max_identity_component,
        "journey": args.journey,
    }


def open_report_services(args: argparse.Namespace) -> Services:
    """Return the services over ``--touchpoints``/``--conversions`` files, or the store or lake.

    Checks first that the input options go together (files, or ``--db``, or
    ``--engine spark``; cost options with a ``--costs`` file).

    Examples
    --------
    >>> from api.cli import build_parser
    >>> open_report_services(build_parser().parse_args(["compare", "--touchpoints", "t.csv"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Attributing from files needs both --touchpoints and ...
    """
    from api.services import Services
    from attribution.errors import ParameterError
    from attribution.paths import iso_currency

    from_files = args.touchpoints is not None or args.conversions is not None
    if from_files:
        if args.touchpoints is None or args.conversions is None:
            raise ParameterError(
                "Attributing from files needs both --touchpoints and --conversions "
                "(--costs is optional)."
            )
        if args.db is not None:
            raise ParameterError(
                "Give either --db (attribute what the store holds) or --touchpoints and "
                "--conversions (attribute files), not both."
            )
        if args.engine == "spark" or args.lake is not None:
            raise ParameterError(
                "--engine spark reads a lake (--lake DIR); files given with --touchpoints and "
                "--conversions are attributed in memory. Give one or the other."
            )
    elif args.costs is not None or args.other_costs is not None:
        flag = "--costs" if args.costs is not None else "--other-costs"
        raise ParameterError(f"{flag} goes with --touchpoints and --conversions.")
    if args.costs is None and (
        args.cost_map or args.cost_match != "exact" or args.cost_grain != "day"
    ):
        raise ParameterError(
            "--cost-map, --cost-match and --cost-grain read the --costs file; in the store, "
            "costs are matched and spread when ingested (closedloop ingest costs ...)."
        )
    lift_tests = getattr(args, "lift_tests", None)
    if not from_files:
        services = open_services(args)
        currency = services.inputs().currency if args.currency else None
        if args.currency and currency is not None and args.currency.upper() != currency:
            raise ParameterError(
                f"--currency {args.currency} differs from the store's currency, "
                f"{currency}; --currency is for attributing files."
            )
        return services
    touchpoints = load_file(args.touchpoints, "touchpoints", args)
    return Services.for_frames(
        touchpoints,
        load_file(args.conversions, "conversions", args),
        _costs(args, touchpoints),
        identities=load_file(args.identities, "identities", args) if args.identities else None,
        accounts=load_file(args.accounts, "accounts", args) if args.accounts else None,
        lift_tests=load_file(lift_tests, "lift_tests", args) if lift_tests else None,
        currency=iso_currency(args.currency) if args.currency else None,
        name=f"'{Path(args.conversions).name}'",
    )


def check_paths_options(args: argparse.Namespace) -> None:
    """Refuse, with ``--paths``, the options an aggregated path table cannot use.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> check_paths_options(build_parser().parse_args(["compare", "--paths", "p", "--db", "x"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --paths attributes an aggregated path table on its own; ...
    """
    from attribution.errors import ParameterError

    clashing = [
        flag
        for flag, value in (
            ("--touchpoints", args.touchpoints),
            ("--conversions", args.conversions),
            ("--costs", args.costs),
            ("--other-costs", args.other_costs),
            ("--stage-values", args.stage_values),
            ("--db", args.db),
            ("--stage", args.stage),
            ("--mapping", args.mapping),
            ("--click-window-days", args.click_window_days),
            ("--view-window-days", args.view_window_days),
        )
        if value is not None
    ]
    if clashing:
        raise ParameterError(
            f"--paths attributes an aggregated path table on its own; it does not take "
            f"{', '.join(clashing)} (paths carry no time, stage, interaction or spend; "
            "--start, --end and --currency only label the report)."
        )


def read_paths(args: argparse.Namespace) -> tuple[pl.DataFrame, PathTableQuery]:
    r"""Read ``--paths FILE`` and say how to read it: separator, columns, labels, intervals.

    The query's model is the default; the caller sets the one it runs.

    Examples
    --------
    >>> import tempfile
    >>> from api.cli import build_parser
    >>> path = Path(tempfile.mkdtemp()) / "paths.csv"
    >>> _ = path.write_text("path,total_conversions\nA > B,2\n")
    >>> frame, query = read_paths(build_parser().parse_args(["compare", "--paths", str(path)]))
    >>> frame.height, query.source
    (1, "'paths.csv'")
    """
    from api.services.attribution import PathTableQuery
    from ingest.mapping import parse_map_args
    from ingest.readers import read_path_table

    frame = read_path_table(args.paths, args.input_format, args.delimiter)
    query = PathTableQuery(
        sep=args.sep,
        columns=parse_map_args(args.map or []),
        by=args.by,
        start=args.start,
        end=args.end,
        currency=args.currency,
        source=f"'{Path(args.paths).name}'",
        ci=args.ci,
        bootstrap=args.bootstrap,
        seed=args.seed,
    )
    return frame, query


def _load_costs(path: str, args: argparse.Namespace, touchpoints: pl.DataFrame) -> pl.DataFrame:
    """Read a cost file as ``closedloop ingest costs`` would: names matched, periods spread."""
    import polars as pl

    from attribution.errors import ValidationFailedError
    from ingest.cost_grain import grain_issues, spread_costs
    from ingest.cost_names import NAME_COLUMNS, CostMap, CostNames, load_cost_map, rename_notes
    from ingest.validate import problem_list

    cost_map = load_cost_map(args.mapping, mapping_file=True) if args.mapping else CostMap()
    if args.cost_map:  # wins over the [cost_map] of --mapping, as in an ingest
        cost_map = cost_map.merged(load_cost_map(args.cost_map))
    names = CostNames(
        cost_map,
        args.cost_match,
        {c: tuple(touchpoints[c].drop_nulls().unique().sort().to_list()) for c in NAME_COLUMNS},
    )
    renamed: list[pl.DataFrame] = []

    def rename(frame: pl.DataFrame) -> pl.DataFrame:
        frame, counts = names.apply(frame)
        renamed.append(counts)
        return frame

    good = load_file(path, "costs", args, rename=rename if names.active else None)
    for note in rename_notes(pl.concat(renamed)) if renamed else []:
        print(f"{PROG} {getattr(args, 'command', 'attribute')}: warning: {note}", file=sys.stderr)
    # No row was rejected (that raised), so the good rows are the file's rows in order.
    refused = grain_issues(good.with_row_index("_row", offset=1), args.cost_grain)
    if refused.height:
        problems = problem_list(refused, Path(path).name)
        raise ValidationFailedError(problems, problems.total)
    return spread_costs(good, args.cost_grain)


def _costs(args: argparse.Namespace, touchpoints: pl.DataFrame) -> pl.DataFrame | None:
    """Read ``--costs`` and ``--other-costs`` into one frame; other costs under channel (sales)."""
    import polars as pl

    from attribution.metrics import OTHER_COSTS_CHANNEL

    parts = [_load_costs(args.costs, args, touchpoints)] if args.costs else []
    if args.other_costs:
        other = load_file(args.other_costs, "costs", args, channel=OTHER_COSTS_CHANNEL)
        parts.append(other.with_columns(pl.lit(OTHER_COSTS_CHANNEL).alias("channel")))
    return pl.concat(parts, how="vertical_relaxed") if parts else None


def check_identity_options(args: argparse.Namespace) -> None:
    """Refuse ``--identities`` where it cannot apply: the store has its own, paths have none.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> check_identity_options(build_parser().parse_args(["compare", "--identities", "i.csv"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --identities goes with --touchpoints and --conversions; ...
    """
    from attribution.errors import ParameterError

    if args.paths is not None and args.journey != "person":
        raise ParameterError(
            "--paths attributes aggregated paths, which hold no persons to group by account; "
            "--journey account goes with a store or --touchpoints and --conversions."
        )
    if args.accounts is not None:
        if args.touchpoints is None:
            raise ParameterError(
                "--accounts goes with --touchpoints and --conversions; in store mode the "
                "store's accounts table is used (closedloop ingest accounts FILE)."
            )
        if args.journey != "account":
            raise ParameterError("--accounts links persons to accounts for --journey account.")
    if args.lift_tests is not None and args.touchpoints is None:
        raise ParameterError(
            "--lift-tests goes with --touchpoints and --conversions; in store mode the store's "
            "lift_tests table is used (closedloop ingest lift_tests FILE)."
        )
    if args.identities is None:
        return

    if args.paths is not None:
        raise ParameterError("--paths attributes aggregated paths; it does not take --identities.")
    if args.touchpoints is None:
        raise ParameterError(
            "--identities goes with --touchpoints and --conversions; in store mode the store's "
            "identities table is used (closedloop ingest identities FILE)."
        )
    if args.no_stitch:
        raise ParameterError("Give either --identities or --no-stitch, not both.")


__all__ = [
    "add_report_options",
    "check_identity_options",
    "check_paths_options",
    "open_report_services",
    "read_paths",
    "report_period",
]
