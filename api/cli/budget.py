"""``closedloop budget curves|plan|whatif``: response curves, a budget plan, what-ifs.

The same calls as ``GET /v1/budget/curves``, ``POST /v1/budget/plan`` and
``POST /v1/budget/whatif``, on the store::

    closedloop budget curves --model markov --stage closed_won
    closedloop budget plan --model markov --budget 20000 --min "Display=-20%" --lock Email
    closedloop budget whatif --model markov --allocation "Paid Social=+25%" "Display=2000"

Every amount is per week. ``--format json`` includes each channel's curve
points; ``csv`` writes the rows. ``--ci LEVEL`` is the level of the revenue
range (default 0.9), ``--bootstrap N`` the resamples it comes from (refits of
the curves, as the API's ``bootstrap``), ``--attribution-bootstrap N``
person-level resamples of the attribution added to it, ``--seed`` their seed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.cli._shared import (
    CURVE_KINDS,
    DEFAULT_BUDGET_CI,
    DEFAULT_CAP_MULTIPLE,
    add_by_option,
    add_calibration_option,
    add_db_option,
    add_engine_options,
    add_format_option,
    add_interval_options,
    add_journey_option,
    add_lookback_option,
    add_model_options,
    add_stage_option,
    open_services,
    parse_params,
    write_output,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers

ACTIONS = ("curves", "plan", "whatif")


def parse_pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    """Parse ``CHANNEL=VALUE`` pairs (the channel may hold spaces), refusing repeats.

    Examples
    --------
    >>> parse_pairs(["Paid Search=-20%", "Email=500"], "--min")
    {'Paid Search': '-20%', 'Email': '500'}
    >>> parse_pairs(["Email"], "--min")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Bad --min 'Email': expected CHANNEL=VALUE, ...
    """
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.rpartition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            from attribution.errors import ParameterError

            raise ParameterError(
                f"Bad {option} '{pair}': expected CHANNEL=VALUE, "
                f'e.g. {option} "Paid Search=-20%".'
            )
        if key in result:
            from attribution.errors import ParameterError

            raise ParameterError(f"{option} {key} is given more than once. Give it once.")
        result[key] = value
    return result


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop budget`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["budget", "plan", "--budget", "20000"])
    >>> args.action, args.model, args.ci, args.bootstrap, args.seed
    ('plan', 'linear', 0.9, 100, 0)
    """
    parser = subparsers.add_parser(
        "budget",
        help="response curves, a budget plan, what-ifs",
        description="Fit each channel's weekly response curve (attributed revenue against "
        "spend), recommend the weekly spend per channel that maximises predicted revenue, or "
        "predict an allocation. Amounts are per week. The curves are correlational: see "
        "docs/budget.md.",
    )
    parser.add_argument("action", choices=ACTIONS, help="curves, plan or whatif")
    add_model_options(parser, default="linear")
    add_by_option(parser, "plan")
    add_stage_option(parser)
    add_lookback_option(parser)
    add_journey_option(parser)
    parser.add_argument(
        "--curve", choices=CURVE_KINDS, default="hill", help="curve shape (default hill)"
    )
    parser.add_argument(
        "--decay", type=float, default=0.0, help="adstock decay in [0, 1) (default 0)"
    )
    parser.add_argument("--budget", type=float, help="total weekly budget (default: current)")
    parser.add_argument(
        "--min", nargs="+", action="extend", metavar="CH=V",
        help='minimum weekly spend: an amount or a change, e.g. "Display=-20%%"',
    )  # fmt: skip
    parser.add_argument(
        "--max", nargs="+", action="extend", metavar="CH=V",
        help='maximum weekly spend, e.g. "Paid Search=12000" or "Email=+30%%"',
    )  # fmt: skip
    parser.add_argument(
        "--lock", nargs="+", action="extend", metavar="CH", help="keep at current spend"
    )
    parser.add_argument(
        "--cap-multiple", type=float, default=DEFAULT_CAP_MULTIPLE,
        help="cap each channel at this × its largest observed weekly spend "
        f"(default {DEFAULT_CAP_MULTIPLE})",
    )  # fmt: skip
    parser.add_argument(
        "--allocation", nargs="+", action="extend", metavar="CH=V",
        help="what-if spend per channel: an amount or a change",
    )  # fmt: skip
    parser.add_argument("--threshold", type=float, help="also report where mROAS drops below this")
    add_interval_options(
        parser,
        ci=DEFAULT_BUDGET_CI,
        ci_help="level of the predicted-revenue range",
        bootstrap=100,
        bootstrap_help="resamples behind that range: residual-bootstrap refits of each curve",
    )
    parser.add_argument(
        "--attribution-bootstrap", type=int, default=0, metavar="N",
        help="also resample the attribution (person-level bootstrap, N resamples) for the "
        "revenue range (default 0: none)",
    )  # fmt: skip
    add_format_option(parser)
    add_db_option(parser)
    add_engine_options(parser)
    add_calibration_option(parser)
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Fit the curves, then print them, a plan or a what-if.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> run(build_parser().parse_args(["budget", "curves", "--budget", "100"]))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --budget go(es) with `budget plan`, not `curves`.
    """
    _check_options(args)
    from api.services import CurvesQuery, PlanQuery, WhatIfQuery

    services = open_services(args)
    curves = CurvesQuery.create(
        args.model,
        parse_params(args.param or []),
        by=args.by,
        stage=args.stage,
        lookback_days=args.lookback_days,
        curve=args.curve,
        decay=args.decay,
        bootstrap=args.bootstrap,
        attribution_bootstrap=args.attribution_bootstrap,
        seed=args.seed,
        journey=args.journey,
        calibrate=not args.no_calibration,
    )
    if args.action == "curves":
        result = services.curves_result(curves, args.threshold)
    elif args.action == "plan":
        result = services.plan(
            PlanQuery(
                curves,
                budget=args.budget,
                minimum=parse_pairs(args.min or [], "--min"),
                maximum=parse_pairs(args.max or [], "--max"),
                locks=tuple(args.lock or []),
                cap_multiple=args.cap_multiple,
                threshold=args.threshold,
                ci=args.ci,
            )
        )
    else:
        allocation = parse_pairs(args.allocation, "--allocation")
        result = services.whatif(WhatIfQuery(curves, allocation, ci=args.ci))
    write_output(args.format, table=result.to_table, data=result.to_dict, csv=result.to_csv)
    return 0


def _check_options(args: argparse.Namespace) -> None:
    from attribution.errors import ParameterError

    plan_only = {"--budget": args.budget, "--min": args.min, "--max": args.max,
                 "--lock": args.lock}  # fmt: skip
    if args.action != "plan":
        given = [name for name, value in plan_only.items() if value]
        if given:
            raise ParameterError(
                f"{', '.join(given)} go(es) with `budget plan`, not `{args.action}`."
            )
    if args.action != "whatif" and args.allocation:
        raise ParameterError("--allocation goes with `budget whatif`.")
    if args.action == "whatif" and not args.allocation:
        raise ParameterError(
            "`budget whatif` needs --allocation CHANNEL=SPEND (repeatable), "
            'e.g. --allocation "Paid Social=6000" "Display=-25%".'
        )


__all__ = ["parse_pairs", "register", "run"]
