"""``closedloop budget curves|plan|whatif``: response curves, a budget plan, what-ifs.

The same calls as ``GET /v1/budget/curves``, ``POST /v1/budget/plan`` and
``POST /v1/budget/whatif``, on the store::

    closedloop budget curves --model markov --stage closed_won
    closedloop budget plan --model markov --budget 20000 --min "Display=-20%" --lock Email
    closedloop budget plan --period quarter --budget 250000 --max-change 0.5
    closedloop budget plan --models markov,linear,shapley --robust mean
    closedloop budget whatif --model markov --allocation "Paid Social=+25%" "Display=2000"

The curves are weekly. A plan or a what-if is for ``--period week`` (default),
``month`` (52/12 weeks) or ``quarter`` (13 weeks): ``--budget``, ``--min``,
``--max`` and ``--allocation`` amounts are in that period's money, and the
plan shows the period's amounts and the weekly ones. Guard rails: a channel
moves at most ``--max-change`` (0.3: ±30%) from its current spend unless its
own ``--min``/``--max`` says otherwise (``--max-change none`` removes the
rail), and none is cut below 10% of its current spend without
``--allow-zero`` (every channel) or ``--allow-zero CH ...``.

``budget plan`` without ``--model`` plans under several models
(``--models A,B,...`` or ``all``; by default markov, linear and
position_based): each model's plan side by side, a robust plan across them
(``--robust worst``, the default, maximises the worst case of the predicted
revenue change; ``mean`` the mean) and every plan's revenue under every
model. ``--model NAME`` gives one model's plan; ``--model`` and ``--models``
together are a usage error. ``curves`` and ``whatif`` use ``--model``
(default linear).

``--format json`` includes each channel's curve points; ``csv`` writes the
rows. ``--ci LEVEL`` is the level of the revenue range (default 0.9),
``--bootstrap N`` the resamples it comes from (refits of
the curves, as the API's ``bootstrap``), ``--attribution-bootstrap N``
person-level resamples of the attribution added to it, ``--seed`` their seed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.cli._shared import (
    BUDGET_PERIODS,
    CURVE_KINDS,
    DEFAULT_BUDGET_CI,
    DEFAULT_CAP_MULTIPLE,
    DEFAULT_MAX_CHANGE,
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
    add_window_options,
    open_services,
    parse_params,
    terminal_listening,
    write_result,
)

if TYPE_CHECKING:
    from api.cli._shared import Subparsers
    from api.services.results import Result

ACTIONS = ("curves", "plan", "whatif")

DEFAULT_MODEL = "linear"
"""The model of ``curves``, ``whatif`` and a one-model ``plan`` when ``--model`` is not given."""

ROBUST_OBJECTIVES = ("worst", "mean")
"""``budget plan --robust``: :data:`attribution.budget.robust.ROBUST_OBJECTIVES`."""

DEFAULT_PLAN_MODELS = "markov,linear,position_based"
"""``budget plan`` without ``--model``: :data:`attribution.budget.robust.DEFAULT_MODELS`."""


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


def parse_max_change(text: str) -> float | None:
    """Parse ``--max-change``: a fraction of current spend (``0.5``), or ``none`` for no rail.

    Examples
    --------
    >>> parse_max_change("0.5"), parse_max_change("none")
    (0.5, None)
    >>> parse_max_change("30%")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --max-change must be a fraction of current spend ...
    """
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        from attribution.errors import ParameterError

        raise ParameterError(
            "--max-change must be a fraction of current spend (0.3 for ±30%, 0.5 for ±50%) "
            f"or none for no rail. Got {text!r} instead."
        )
    return value


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop budget`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["budget", "plan", "--budget", "20000"])
    >>> args.action, args.model, args.models, args.robust, args.ci, args.bootstrap, args.period
    ('plan', None, None, 'worst', 0.9, 100, 'week')
    """
    parser = subparsers.add_parser(
        "budget",
        help="response curves, a budget plan, what-ifs",
        description="Fit each channel's weekly response curve (attributed revenue against "
        "spend), recommend the spend per channel for a week, month or quarter that maximises "
        "predicted revenue within guard rails, or predict an allocation. Amounts are in the "
        "--period's money. The curves are correlational: see docs/budget.md.",
    )
    parser.add_argument("action", choices=ACTIONS, help="curves, plan or whatif")
    add_model_options(parser, default=DEFAULT_MODEL)
    # Unset, --model means "linear" for curves and whatif but "several models" for a plan.
    parser.set_defaults(model=None)
    parser.add_argument(
        "--models", metavar="A,B,...|all",
        help="budget plan: plan under each of these models (comma list, or all), side by side, "
        f"with a robust plan across them (default without --model: {DEFAULT_PLAN_MODELS})",
    )  # fmt: skip
    parser.add_argument(
        "--robust", choices=ROBUST_OBJECTIVES, default="worst",
        help="budget plan across models: the robust plan maximises the worst case (default) or "
        "the mean across the models of the predicted revenue change",
    )  # fmt: skip
    add_by_option(parser, "plan")
    add_stage_option(parser)
    add_lookback_option(parser)
    add_journey_option(parser)
    add_window_options(parser)
    parser.add_argument(
        "--curve", choices=CURVE_KINDS, default="hill", help="curve shape (default hill)"
    )
    parser.add_argument(
        "--decay", default="auto", metavar="auto|D",
        help="adstock decay: auto (default: estimated per channel by profile likelihood) or a "
        "fixed value in [0, 1), e.g. 0.3",
    )  # fmt: skip
    parser.add_argument(
        "--period", choices=BUDGET_PERIODS, default="week",
        help="the period of --budget, --min, --max, --allocation and of the plan: week "
        "(default), month (52/12 weeks) or quarter (13 weeks)",
    )  # fmt: skip
    parser.add_argument(
        "--budget", metavar="AMOUNT",
        help="total budget of one --period, a plain amount (default: the current total)",
    )  # fmt: skip
    parser.add_argument(
        "--min", nargs="+", action="extend", metavar="CH=V",
        help='minimum spend per period: an amount or a change, e.g. "Display=-20%%"',
    )  # fmt: skip
    parser.add_argument(
        "--max", nargs="+", action="extend", metavar="CH=V",
        help='maximum spend per period, e.g. "Paid Search=12000" or "Email=+30%%"',
    )  # fmt: skip
    parser.add_argument(
        "--max-change", default=str(DEFAULT_MAX_CHANGE), metavar="FRACTION",
        help="guard rail: each channel moves at most this fraction of its current spend "
        f"(default {DEFAULT_MAX_CHANGE}: ±{DEFAULT_MAX_CHANGE * 100:.0f}%%); none removes it",
    )  # fmt: skip
    parser.add_argument(
        "--allow-zero", nargs="*", metavar="CH",
        help="let the plan cut these channels (none given: every channel) below 10%% of "
        "current spend, to zero",
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
        bootstrap_help="draws behind that range: parameter draws of each curve's fit",
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
    with terminal_listening():
        result = _compute(args)
    write_result(args.format, result)
    return 0


def _compute(args: argparse.Namespace) -> Result:
    """Fit the curves and compute what ``args.action`` asks for (progress goes to listeners)."""
    from api.services import CurvesQuery, PlanQuery, WhatIfQuery
    from api.services.budget import plan_models
    from attribution.budget.period import parse_amount
    from attribution.progress import stage

    services = open_services(args)
    curves = CurvesQuery.create(
        args.model or DEFAULT_MODEL,
        parse_params(args.param or []),
        by=args.by,
        stage=args.stage,
        lookback_days=args.lookback_days,
        click_window_days=args.click_window_days,
        view_window_days=args.view_window_days,
        curve=args.curve,
        decay=args.decay,
        bootstrap=args.bootstrap,
        attribution_bootstrap=args.attribution_bootstrap,
        seed=args.seed,
        journey=args.journey,
        calibrate=not args.no_calibration,
    )
    with stage(f"budget {args.action}"):
        if args.action == "curves":
            return services.curves_result(curves, args.threshold)
        if args.action == "plan":
            models, strict = ((), True) if args.model else plan_models(args.models)
            return services.plan(
                PlanQuery(
                    curves,
                    budget=None if args.budget is None else parse_amount(args.budget),
                    minimum=parse_pairs(args.min or [], "--min"),
                    maximum=parse_pairs(args.max or [], "--max"),
                    locks=tuple(args.lock or []),
                    cap_multiple=args.cap_multiple,
                    threshold=args.threshold,
                    ci=args.ci,
                    period=args.period,
                    max_change=parse_max_change(args.max_change),
                    allow_zero=True if args.allow_zero == [] else tuple(args.allow_zero or ()),
                    models=models,
                    robust=args.robust,
                    strict_models=strict,
                )
            )
        allocation = parse_pairs(args.allocation, "--allocation")
        return services.whatif(WhatIfQuery(curves, allocation, ci=args.ci, period=args.period))


def _check_options(args: argparse.Namespace) -> None:
    from attribution.errors import ParameterError

    plan_only = {"--budget": args.budget, "--min": args.min, "--max": args.max,
                 "--lock": args.lock, "--allow-zero": args.allow_zero is not None,
                 "--max-change": args.max_change != str(DEFAULT_MAX_CHANGE),
                 "--models": args.models is not None,
                 "--robust": args.robust != "worst"}  # fmt: skip
    if args.action != "plan":
        given = [name for name, value in plan_only.items() if value]
        if given:
            raise ParameterError(
                f"{', '.join(given)} go(es) with `budget plan`, not `{args.action}`."
            )
    if args.action == "plan" and args.model and args.models is not None:
        raise ParameterError(
            "--model and --models do not go together: --model NAME plans under one model, "
            "--models A,B,... (or all) under several, side by side. Give one of them."
        )
    if args.action == "plan" and args.model and args.robust != "worst":
        raise ParameterError(
            "--robust goes with a plan across models (--models, or no --model); "
            f"--model {args.model} plans under one model."
        )
    if args.action == "plan" and not args.model and args.param:
        raise ParameterError(
            "--param goes with --model NAME (one model's parameters); a plan across models "
            "uses each model's defaults."
        )
    if args.action == "curves" and args.period != "week":
        raise ParameterError(
            "--period goes with `budget plan` and `budget whatif`; the curves are weekly."
        )
    if args.action != "whatif" and args.allocation:
        raise ParameterError("--allocation goes with `budget whatif`.")
    if args.action == "whatif" and not args.allocation:
        raise ParameterError(
            "`budget whatif` needs --allocation CHANNEL=SPEND (repeatable), "
            'e.g. --allocation "Paid Social=6000" "Display=-25%".'
        )


__all__ = ["parse_max_change", "parse_pairs", "register", "run"]
