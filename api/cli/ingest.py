"""``closedloop ingest``: validate files and write them to the store, in one transaction.

::

    closedloop ingest touchpoints events.csv --map user_id=cookie --map ts=time
    closedloop ingest costs spend.txt --input-format tsv
    closedloop ingest conversions deals.csv --date-format %d/%m/%Y --decimal , --currency EUR
    closedloop ingest conversions deals.csv --stage-map "Demo Booked=opportunity"
    closedloop ingest costs spend.csv --cost-map names.csv --cost-match loose --cost-grain month
    closedloop ingest --from ga4 exports/ga4/ --db closedloop.duckdb

``--input-format`` names the files' format when their suffixes do not say.
The old spelling ``--format csv|tsv|parquet|ndjson|json`` still works, with a
note on stderr: ``--format`` is the output format in every other command.

CRM exports come as they are: slash dates (``03/15/2025``, read in the order
the column shows, or as ``--date-format`` says), money with currency signs,
codes and thousands separators (``--decimal ,`` for ``1.234,56``), and stage
names mapped onto closedloop's (the built-in Salesforce and HubSpot names,
``closedloop stages``, and ``--stage-map``). What the ingest did not refuse
but you should know (stages no funnel counts, identity rows without both ids)
is printed on stderr, one line each. ``--skip-invalid`` that keeps no row
exits 2.

Cost exports come as they are too: ``--cost-map`` renames their channel and
campaign names to the touches' (also ``[cost_map.channel]`` in the
``--mapping`` file), ``--cost-match loose`` takes a touch name equal but for
case and spaces, and ``--cost-grain week|month`` spreads each weekly (dated
Monday) or monthly (dated the 1st) row evenly over its days
(:mod:`ingest.cost_names`, :mod:`ingest.cost_grain`). Each renaming and the
spreading are noted on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli._shared import (
    ADAPTERS,
    INPUT_FORMATS,
    TABLES,
    DeprecatedAlias,
    add_db_option,
    add_input_format_option,
    add_mapping_options,
    column_mapping,
    open_store,
    parse_params,
    terminal_listening,
    terminal_progress,
    usage_error,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers
    from ingest import Store
    from ingest.cost_names import CostMap


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop ingest`` to the subcommands.

    Examples
    --------
    >>> import contextlib, io
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["ingest", "costs", "c.txt", "--input-format", "tsv"]).input_format
    'tsv'
    >>> with contextlib.redirect_stderr(io.StringIO()):  # the old spelling, with a note
    ...     parser.parse_args(["ingest", "costs", "c.txt", "--format", "tsv"]).input_format
    'tsv'
    """
    parser = subparsers.add_parser(
        "ingest",
        help="validate files and write them to the store",
        description="Validate files and write them to one table of the store, in one "
        "transaction. Re-ingesting the same rows changes nothing; a row with an existing key "
        "and new values updates it.",
    )
    parser.add_argument(
        "table",
        nargs="?",
        metavar="TABLE",
        help=f"the canonical table ({', '.join(TABLES)}); omitted with --from",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="CSV, Parquet, NDJSON or JSON")
    parser.add_argument(
        "--from",
        dest="source",
        metavar="SOURCE",
        help="read a tool's own export with a source adapter and write every table it "
        "yields in one transaction: " + ", ".join(ADAPTERS) + " (FILEs may be folders)",
    )
    parser.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="a --from adapter setting, e.g. --option conversion_events='Order Completed:purchase'",
    )
    parser.add_argument(
        "--currency",
        metavar="CODE",
        help="set the store's reporting currency first (ISO 4217; only while it holds no money)",
    )
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        help="strftime format of the timestamp or date column, e.g. %%m/%%d/%%Y or "
        "'%%d.%%m.%%Y %%H:%%M' (default: ISO 8601, epoch numbers, and slash dates in the "
        "order the column shows)",
    )
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        default=".",
        metavar="SEP",
        help="decimal separator of money: . (default, 1,234.56) or , (1.234,56)",
    )
    parser.add_argument(
        "--stage-map",
        action="append",
        metavar="YOURS=STAGE",
        help='rename a conversion stage, e.g. --stage-map "Closed Won=closed_won" (repeatable; '
        "on top of the built-in Salesforce and HubSpot names: `closedloop stages`)",
    )
    parser.add_argument(
        "--cost-map",
        metavar="FILE",
        help="costs: rename channel and campaign names to the touches' (CSV column,from,to "
        "or TOML [channel] / [campaign] tables; on top of [cost_map] in --mapping)",
    )
    parser.add_argument(
        "--cost-match",
        choices=("exact", "loose"),
        default="exact",
        help="costs: exact (default) or loose: a name equal to one touch channel or campaign "
        "already in the store but for case and spaces takes that name",
    )
    parser.add_argument(
        "--cost-grain",
        choices=("day", "week", "month"),
        default="day",
        help="costs: the period of each row: day (default), week (dated its ISO Monday) or "
        "month (dated the 1st), spread evenly over its days",
    )
    add_db_option(parser)
    add_mapping_options(parser)
    add_input_format_option(parser)
    parser.add_argument(
        "--format",
        dest="input_format",
        choices=INPUT_FORMATS,
        action=DeprecatedAlias,
        replacement="--input-format (--format is the output format of the other commands)",
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="write the valid rows and the rejected ones, with a reason, to a rejects file",
    )
    parser.add_argument("--rejects", metavar="PATH", help="where --skip-invalid writes rejects")
    parser.add_argument(
        "--channel-rules",
        metavar="F.toml",
        help="derive missing touchpoint channels with these rules (default: GA4 default "
        "channel grouping; see `closedloop channels rules`)",
    )
    parser.add_argument(
        "--click-ids",
        choices=("ga4", "infer"),
        default="ga4",
        help="how landing-URL click ids count when source / medium are derived: ga4 (default: "
        "as GA4 reads them, only Google Ads auto-tagging) or infer (closedloop's inference)",
    )
    parser.add_argument(
        "--materialize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="re-run the store's marts (closedloop materialize) when the ingest changed the "
        "data (the default whenever the store holds marts); --no-materialize leaves them "
        "stale for a later closedloop materialize --refresh",
    )
    parser.set_defaults(handler=run, parser=parser)
    return parser


def run(args: argparse.Namespace) -> int:
    """Validate files and write them to one table of the store (or every table of ``--from``).

    Examples
    --------
    >>> import contextlib, io
    >>> from api.cli import build_parser
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     run(build_parser().parse_args(["ingest", "deals", "deals.csv"]))
    2
    >>> err.getvalue().splitlines()[-1]
    "closedloop ingest: error: argument table: invalid choice: 'deals' (choose from 'touchpoints', 'conversions', 'costs', 'identities', 'accounts', 'lift_tests')"
    """  # noqa: E501
    if args.source is not None:
        return _ingest_from(args)
    if args.table not in TABLES:
        choices = ", ".join(f"'{t}'" for t in TABLES)
        return usage_error(
            args.parser, f"argument table: invalid choice: '{args.table}' (choose from {choices})"
        )
    if not args.files:
        return usage_error(args.parser, "the following arguments are required: FILE")
    from ingest import ingest_files, load_rules

    stage_map = _stage_map(args)
    cost_map = _cost_map(args)
    store = open_store(args)
    progress = terminal_progress(f"ingest {args.table}")
    try:
        summary = ingest_files(
            store,
            args.table,
            [Path(f) for f in args.files],
            mapping=column_mapping(args, args.table),
            fmt=args.input_format,
            skip_invalid=args.skip_invalid,
            rejects_path=Path(args.rejects) if args.rejects else None,
            progress=progress,
            channel_rules=load_rules(args.channel_rules, click_ids=args.click_ids),
            currency=args.currency,
            date_format=args.date_format,
            decimal=args.decimal,
            stage_map=stage_map,
            cost_map=cost_map,
            cost_match=args.cost_match,
            cost_grain=args.cost_grain,
        )
    finally:
        if progress is not None:
            progress.close()
    print(summary)
    for note in summary.notes:
        print(f"{args.parser.prog}: warning: {note}", file=sys.stderr)
    return _then_materialize(args, store)


def _then_materialize(args: argparse.Namespace, store: Store) -> int:
    """Refresh the marts the ingest made stale: by default when the store holds any.

    ``--materialize`` asks for it (a store without marts gets a note);
    ``--no-materialize`` leaves them stale.
    """
    asked = getattr(args, "materialize", None)
    if asked is False:
        return 0
    from api.services import Services
    from api.services.mart import refresh
    from attribution.errors import ClosedloopError
    from ingest.mart import Mart

    mart = Mart(store)
    if not mart.current():
        if asked:
            print(
                f"{args.parser.prog}: note: no mart to refresh (closedloop materialize makes one)",
                file=sys.stderr,
            )
        return 0
    try:
        with terminal_listening():
            done = refresh(Services.for_store(store), mart)
    except ClosedloopError as exc:
        if asked:
            raise
        # The ingest is done and kept; only the marts are behind, and say so.
        print(
            f"{args.parser.prog}: warning: the marts could not be refreshed: {exc} They stay "
            "stale until closedloop materialize --refresh succeeds.",
            file=sys.stderr,
        )
        return 0
    for line in done.describe():
        print(line)
    return 0


def _stage_map(args: argparse.Namespace) -> dict[str, str]:
    """``[stages]`` of ``--mapping``, then ``--stage-map`` (which wins); conversions only."""
    if args.stage_map and args.table != "conversions":
        from attribution.errors import ParameterError

        raise ParameterError(
            f"--stage-map renames conversion stages; {args.table} have none. Drop it, or "
            "ingest conversions."
        )
    if args.table != "conversions":
        return {}
    from ingest.mapping import load_stage_map
    from ingest.stages import parse_stage_map_args

    from_file = load_stage_map(args.mapping) if args.mapping else {}
    return {**from_file, **parse_stage_map_args(args.stage_map or [])}


def _cost_map(args: argparse.Namespace) -> CostMap | None:
    """``[cost_map]`` of ``--mapping``, then ``--cost-map`` (which wins); costs only."""
    from ingest.cost_names import CostMap, load_cost_map

    # Another table's --mapping may hold a [cost_map]; a --cost-map is refused by its ingest.
    costs = args.table == "costs"
    from_file = (
        load_cost_map(args.mapping, mapping_file=True) if args.mapping and costs else CostMap()
    )
    if args.cost_map:
        from_file = from_file.merged(load_cost_map(args.cost_map))
    return from_file if from_file.size else None


def _ingest_from(args: argparse.Namespace) -> int:
    """``ingest --from SOURCE FILE...``: every table the source adapter yields, at once."""
    files = [f for f in [args.table, *args.files] if f is not None]
    if not files:
        return usage_error(args.parser, "the following arguments are required: FILE")
    if args.map or args.mapping or args.input_format:
        from attribution.errors import ParameterError

        raise ParameterError(
            "--map, --mapping and --input-format apply to a table ingest, not to "
            f"--from {args.source}: the adapter knows its columns (adapter settings go in "
            "--option KEY=VALUE)."
        )
    if args.cost_map or args.cost_match != "exact" or args.cost_grain != "day":
        from attribution.errors import ParameterError

        raise ParameterError(
            "--cost-map, --cost-match and --cost-grain apply to a costs ingest, not to "
            f"--from {args.source}: ingest the spend as a table (closedloop ingest costs FILE)."
        )
    if args.date_format or args.stage_map or args.decimal != ".":
        from attribution.errors import ParameterError

        raise ParameterError(
            "--date-format, --decimal and --stage-map apply to a table ingest, not to "
            f"--from {args.source}: the adapter knows how its source writes dates, amounts "
            "and stages (adapter settings go in --option KEY=VALUE)."
        )
    from ingest import ingest_adapter, load_rules

    store = open_store(args)
    summaries = ingest_adapter(
        store,
        args.source,
        files,
        options=parse_params(args.option or [], "--option", "conversion_events=purchase"),
        currency=args.currency,
        skip_invalid=args.skip_invalid,
        rejects_path=Path(args.rejects) if args.rejects else None,
        channel_rules=load_rules(args.channel_rules, click_ids=args.click_ids),
    )
    for summary in summaries:
        print(summary)
    if not summaries:
        print(f"{args.source}: no rows found in {len(files)} file(s); nothing written.")
    return _then_materialize(args, store)


__all__ = ["register", "run"]
