"""Several models side by side from the command line: ``compare``, and ``attribute --model a,b``.

Both commands end in :func:`run_comparison`, which reads what
:mod:`api.cli._report_inputs` reads and prints the comparison the service
returns (``GET /v1/compare``'s body) as a table, JSON, CSV or a file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from api.cli._report_inputs import (
    check_identity_options,
    check_paths_options,
    open_report_services,
    read_paths,
    report_period,
)
from api.cli._shared import PROG, terminal_progress, warn_csv, write_result


def parse_models(text: str | None, option: str) -> list[str] | None:
    """Return the model names of ``a,b,c``; ``None`` for ``all`` or nothing (every model).

    Raises
    ------
    attribution.errors.ParameterError
        If ``text`` names no model (``","``).

    Examples
    --------
    >>> parse_models("first_touch, last_touch,linear", "--models")
    ['first_touch', 'last_touch', 'linear']
    >>> parse_models("all", "--model") is None, parse_models(None, "--models") is None
    (True, True)
    >>> parse_models(",", "--models")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --models ',' names no model: give names separated by ...
    """
    if text is None or text.strip().lower() == "all":
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        from attribution.errors import ParameterError

        raise ParameterError(
            f"{option} {text!r} names no model: give names separated by commas "
            "(e.g. first_touch,last_touch,linear) or all."
        )
    return names


def run_comparison(
    args: argparse.Namespace, models: Sequence[str] | None, *, baseline: str | None
) -> int:
    """Compare ``models`` (every one when ``None``) with the options of ``args`` and print it.

    ``closedloop compare`` and ``closedloop attribute --model a,b`` both end
    here. Model parameters (``--param``) go with one model, so they are
    refused, as are ``--explain`` and lift-test calibration.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> args = build_parser().parse_args(["attribute", "--model", "all", "--param", "order=2"])
    >>> run_comparison(args, None, baseline=None)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --param sets one model's parameters; it does not go with ...
    """
    from attribution.errors import ParameterError

    several = "several models" if models is None or len(models) > 1 else "compare"
    refused = [
        flag
        for flag, given in (
            ("--param", args.param),
            ("--explain", args.explain),
            ("--lift-tests", args.lift_tests),
            ("--no-calibration", args.no_calibration),
            ("--positions", getattr(args, "positions", False)),
        )
        if given
    ]
    if refused:
        raise ParameterError(
            f"{refused[0]} sets one model's parameters; it does not go with {several}. "
            "Compare models at their defaults, or attribute one model with it."
            if refused[0] == "--param"
            else f"{', '.join(refused)} go(es) with one model's report, not with {several}."
        )
    check_identity_options(args)
    progress = None if args.ci is None else terminal_progress("bootstrap", unit="resamples")
    try:
        if args.paths is not None:
            from api.services.compare import compare_path_table

            check_paths_options(args)
            frame, query = read_paths(args)
            result = compare_path_table(frame, query, models, baseline=baseline, progress=progress)
        else:
            from api.services import CompareQuery

            query_fields = report_period(args)
            compared = CompareQuery.create(
                models,
                baseline=baseline,
                ci=args.ci,
                bootstrap=args.bootstrap,
                seed=args.seed,
                stage_values=args.stage_values or (),
                **query_fields,
            )
            result = open_report_services(args).compare(compared)
    finally:
        if progress is not None:
            progress.close()
    write_result(args.format, result)
    warn_csv(args.format, result.members)
    if args.format not in ("table", "json"):  # the table lists them under it, JSON in skipped
        for name, why in result.members.get("skipped", {}).items():
            print(f"{PROG} {args.command}: note: skipped {name}: {why}", file=sys.stderr)
    return 0


__all__ = ["parse_models", "run_comparison"]
