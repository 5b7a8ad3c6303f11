"""``closedloop materialize``: write every model's results per period into the store, for BI tools.

::

    closedloop materialize --models markov,linear --grain week
    closedloop materialize --models all --grain day --stage lead --stage-values lead=50
    closedloop materialize --models markov --grain month --out bi/    # also Parquet files
    closedloop materialize --refresh                                  # only if the data changed
    closedloop ingest conversions new.csv --materialize               # ingest, then refresh

The rows go to the table ``mart_attribution`` of the store (one per model,
period, channel and campaign), each run to ``mart_run_log`` and the view
``mart_runs`` (with ``current`` and ``stale``): see :mod:`ingest.mart`, and
``docs/bi.md`` for the columns. Metabase or Superset read the DuckDB file;
``--out DIR`` also writes ``DIR/mart_attribution.parquet`` and
``DIR/mart_runs.parquet``. Progress per model goes to stderr on a terminal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli._shared import (
    add_db_option,
    add_journey_option,
    add_lookback_option,
    add_stage_option,
    add_stage_values_option,
    open_store,
    terminal_listening,
    usage_error,
)
from attribution.constants import DEFAULT_LOOKBACK_DAYS

if TYPE_CHECKING:
    from api.cli._shared import Subparsers
    from ingest import Store

GRAINS = ("day", "week", "month")
"""``--grain``: the period of each row (weeks are ISO weeks, starting on Monday)."""

_DEFINITION_OPTIONS = ("models", "grain", "stage", "stage_values", "lookback_days", "journey")


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop materialize`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["materialize", "--models", "markov,linear", "--grain", "day"])
    >>> args.models, args.grain, args.refresh
    ('markov,linear', 'day', False)
    """
    parser = subparsers.add_parser(
        "materialize",
        help="write credited conversions, revenue and spend per period to tables for BI tools",
        description="Attribute with each model and write, per model × period × channel × "
        "campaign, attributed conversions and revenue with spend, impressions and clicks to "
        "the store's table mart_attribution (and the run to mart_runs), in one transaction. "
        "A run replaces the rows of its models at its grain and stage. --refresh re-runs the "
        "stored runs when the data changed since.",
    )
    parser.add_argument(
        "--models",
        metavar="A,B,...|all",
        help="models to materialize (default all: every registered model that runs on the "
        "data; those that cannot are skipped and named)",
    )
    parser.add_argument(
        "--grain",
        choices=GRAINS,
        help="the period of each row: day, week (ISO, Monday; the default) or month",
    )
    add_stage_option(parser)
    add_stage_values_option(parser)
    add_lookback_option(parser)
    add_journey_option(parser)
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="re-run the current runs with their stored definitions if the data changed "
        "since (an ingest or delete); nothing to do otherwise",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="also write DIR/mart_attribution.parquet and DIR/mart_runs.parquet (each "
        "replaced whole)",
    )
    parser.add_argument(
        "--out-format",
        choices=("parquet", "csv"),
        default="parquet",
        help="the files --out writes: parquet (default) or csv (e.g. for Looker Studio)",
    )
    add_db_option(parser)
    # None where not given: --refresh refuses them, a run fills in the defaults.
    parser.set_defaults(handler=run, parser=parser, journey=None, lookback_days=None)
    return parser


def run(args: argparse.Namespace) -> int:
    """Materialize the mart (or refresh it) and say what was written.

    Examples
    --------
    >>> import contextlib, io, tempfile
    >>> from api.cli import build_parser
    >>> db = f"{tempfile.mkdtemp()}/x.duckdb"
    >>> run(build_parser().parse_args(["materialize", "--db", db]))  # an empty store
    Traceback (most recent call last):
    ...
    attribution.errors.EmptyInputError: There are no conversions to materialize: ...
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     run(build_parser().parse_args(["materialize", "--refresh", "--grain", "day"]))
    2
    >>> err.getvalue().splitlines()[-1]
    'closedloop materialize: error: --refresh re-runs the stored definitions: drop --grain'
    """
    if args.refresh:
        given = [
            f"--{name.replace('_', '-')}"
            for name in _DEFINITION_OPTIONS
            if getattr(args, name, None)
        ]
        if given:
            return usage_error(
                args.parser,
                f"--refresh re-runs the stored definitions: drop {', '.join(given)}",
            )
        store = open_store(args)
        status = _refresh(store)
        return _write_files(store, args.out, args.out_format) if args.out else status
    from api.services import Services
    from api.services.mart import MartQuery, materialize
    from ingest.mart import Mart

    query = MartQuery.create(
        args.models,
        grain=args.grain or "week",
        stage=args.stage,
        lookback_days=DEFAULT_LOOKBACK_DAYS if args.lookback_days is None else args.lookback_days,
        journey=args.journey or "person",
        stage_values=args.stage_values or {},
    )
    store = open_store(args)
    with terminal_listening():
        built = materialize(Services.for_store(store), Mart(store), query)
    _print(built.describe())
    print(f"mart_attribution and mart_runs are in {store.path}")
    _notes(built.notes)
    return _write_files(store, args.out, args.out_format) if args.out else 0


def _refresh(store: Store) -> int:
    from api.services import Services
    from api.services.mart import refresh
    from ingest.mart import Mart

    with terminal_listening():
        done = refresh(Services.for_store(store), Mart(store))
    _print(done.describe())
    for built in done.builds:
        _notes(built.notes)
    return 0


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line)


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        print(f"closedloop materialize: note: {note}", file=sys.stderr)


def _write_files(store: Store, out: str, fmt: str) -> int:
    from ingest.mart import Mart

    folder = Path(out)
    for name, rows in Mart(store).write_files(folder, fmt).items():
        print(f"{name}: {rows:,} row{'' if rows == 1 else 's'} → {folder / f'{name}.{fmt}'}")
    return 0


__all__ = ["GRAINS", "register", "run"]
