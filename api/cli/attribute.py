"""``closedloop attribute``: credit conversions to channels or campaigns and print the report.

Reads the store, files given with ``--touchpoints`` and ``--conversions``, or an
aggregated path table given with ``--paths``::

    closedloop attribute --model time_decay --param half_life_days=3 --by campaign
    closedloop attribute --model linear --touchpoints t.csv --conversions c.csv --format json
    closedloop attribute --model markov --ci 0.95 --bootstrap 200 --seed 1
    closedloop attribute --model markov --explain --param order=auto
    closedloop attribute --paths Data.csv --model markov --param order=2
    closedloop attribute --paths Data.csv --model markov --currency EUR --start 2024-01-01
    closedloop attribute --stage lead --stage-values lead=50,mql=200
    closedloop attribute --model first_touch,last_touch,linear --paths Data.csv --delimiter ';'
    closedloop attribute --model all --out compare.csv

Several models, or ``--model all``, print the comparison ``closedloop
compare`` prints (ChannelAttribution's ``heuristic_models`` side by side,
with the % change from the first); one model prints its report.

With ``--paths``, ``--start``, ``--end`` and ``--currency`` only label the
report (a path table has no time and no currency of its own); without them
the period and the currency are null, never made up.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from api.cli._comparison import parse_models, run_comparison
from api.cli._report_inputs import (
    add_report_options,
    check_identity_options,
    check_paths_options,
    open_report_services,
    read_paths,
    report_period,
)
from api.cli._shared import (
    PROG,
    Progress,
    add_calibration_option,
    add_model_options,
    parse_params,
    terminal_progress,
    warn_csv,
    write_output,
    write_result,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop attribute`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> attribute = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["attribute", "--model", "linear", "--ci", "0.9"])
    >>> args.model, args.ci, args.bootstrap, args.format
    ('linear', 0.9, 200, 'table')
    """
    parser = subparsers.add_parser(
        "attribute",
        help="credit revenue to channels or campaigns with a model",
        description="Attribute conversions with a model and report attributed conversions, "
        "revenue, spend, ROAS, ROI = (revenue - spend) / spend and CPA per channel or "
        "campaign. Reads the store, or files given with --touchpoints and --conversions. "
        "Several models (--model first_touch,last_touch,linear) or --model all print the "
        "comparison of `closedloop compare`.",
    )
    add_model_options(parser, several=True)
    add_report_options(parser)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="with --model markov: print the chain instead of the report (order and auto "
        "scores, conversion probability, removal effects, top transitions, diagnostics)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=20,
        metavar="N",
        help="with --explain: transitions to list (default 20)",
    )
    parser.add_argument(
        "--positions",
        action="store_true",
        help="with --model shapley_ordered: print its credit per position x channel (the "
        "i-th channel visited, or touch, with --param position=touch) instead of the report",
    )
    parser.add_argument(
        "--lift-tests",
        metavar="FILE",
        help="... and these lift-test results (channel, start, end, incremental_revenue or "
        "incremental_conversions, lower, upper) to calibrate the report with",
    )
    add_calibration_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Attribute conversions with a model and print the report (several models: compare them).

    Raises
    ------
    attribution.errors.ClosedloopError
        For bad input; :func:`api.cli.main` turns it into exit status 2 or 1.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> run(build_parser().parse_args(["attribute", "--model", "linear", "--costs", "c.csv"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --costs goes with --touchpoints and --conversions.
    """
    models = parse_models(args.model, "--model")
    if models is None or len(models) > 1:
        return run_comparison(args, models, baseline=None)
    check_identity_options(args)
    if args.paths is not None:
        return _attribute_paths(args)
    from api.services import AttributionQuery, ExplainQuery
    from attribution import model_class

    model = model_class(args.model).name
    params = parse_params(args.param or [])
    _check_explain(args, model)
    period = report_period(args)
    if args.explain:
        ExplainQuery.create(params, **period)  # checks the period before reading anything
    else:
        AttributionQuery.create(model, params, **period)
    services = open_report_services(args)
    if args.explain:
        explained = services.explain(ExplainQuery.create(params, top=args.top, **period))
        write_output(args.format, table=explained.to_table, data=explained.to_dict)
        return 0
    query = AttributionQuery.create(
        model,
        params,
        ci=args.ci,
        bootstrap=args.bootstrap,
        seed=args.seed,
        stage_values=args.stage_values or (),
        calibrate=not args.no_calibration,
        **period,
    )
    progress = _bootstrap_progress(args)
    try:
        result = services.attribution(query, progress)
    finally:
        if progress is not None:
            progress.close()
    if args.positions:
        from api.services.attribution import positions_view

        result = positions_view(result)
    write_result(args.format, result)
    identity = result.members.get("identity")
    if args.format == "csv" and identity and identity["oversized_components"]:
        print(f"{PROG} attribute: note: {identity['note']}", file=sys.stderr)
    warn_csv(args.format, result.members)
    return 0


def _attribute_paths(args: argparse.Namespace) -> int:
    """``closedloop attribute --paths FILE``: attribute an aggregated path table."""
    from api.services import ExplainQuery
    from api.services.attribution import attribute_path_table
    from api.services.explain import explain_path_table
    from attribution import model_class

    check_paths_options(args)
    model = model_class(args.model).name
    params = parse_params(args.param or [])
    _check_explain(args, model)
    frame, query = read_paths(args)
    if args.explain:
        explained = explain_path_table(
            frame,
            ExplainQuery.create(params, top=args.top),
            sep=query.sep,
            columns=query.columns,
            source=query.source,
        )
        write_output(args.format, table=explained.to_table, data=explained.to_dict)
        return 0
    progress = _bootstrap_progress(args)
    try:
        result = attribute_path_table(frame, replace(query, model=model, params=params), progress)
    finally:
        if progress is not None:
            progress.close()
    if args.positions:
        from api.services.attribution import positions_view

        result = positions_view(result)
    write_result(args.format, result)
    return 0


def _check_explain(args: argparse.Namespace, model: str) -> None:
    """Refuse ``--explain`` with a model other than markov, or with a bootstrap."""
    if not args.explain:
        return
    from attribution.errors import ParameterError

    if model != "markov":
        raise ParameterError(
            f"--explain shows a Markov chain; it only works with --model markov (got {model})."
        )
    if args.ci is not None:
        raise ParameterError("--explain does not take --ci; run the report for intervals.")
    if args.format in ("csv", "parquet"):
        raise ParameterError(
            "--explain prints a table or JSON: use --format table or json (or --out FILE.json)."
        )


def _bootstrap_progress(args: argparse.Namespace) -> Progress | None:
    """Return a progress line for the bootstrap on a terminal, else ``None`` (quiet in pipes)."""
    return None if args.ci is None else terminal_progress("bootstrap", unit="resamples")


__all__ = ["register", "run"]
