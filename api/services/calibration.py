"""Lift-test calibration of reports and budget curves (see :mod:`attribution.calibration`).

:func:`calibration` reads the source's lift tests, attributes each test's
days with the query's model (one report per distinct test window, through
the same cached services as any report) and combines the tests into one
factor per tested channel. :func:`calibrate_report` adds
``revenue_calibrated`` and ``calibration_factor`` to a report by channel;
:func:`calibrate_curveset` scales the budget planner's curves.

A source without lift tests (or a caller that asks ``calibrate=false``)
gets its answers unchanged. Calibration is by channel: a report by campaign
(or another touch column) is left as it is, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from api.services.context import Context
from api.services.queries import AttributionQuery, CurvesQuery
from attribution.budget import CurveSet
from attribution.budget.calibrate import calibrate_curves
from attribution.calibration import (
    TOTALS,
    calibrate_rows,
    calibration_factors,
    lift_test_windows,
)
from attribution.errors import EmptyInputError
from attribution.report import AttributionReport

ReportFn = Callable[[Context, AttributionQuery], tuple[AttributionReport, Any]]
"""Computes a report of a query (:func:`api.services.attribution.attribution_report`).

Passed in rather than imported: the attribution service imports this module.
"""

__all__ = [
    "Calibration",
    "ReportFn",
    "calibrate_curveset",
    "calibrate_report",
    "calibration",
    "lift_tests",
]


@dataclass(frozen=True)
class Calibration:
    """The factors of the tested channels, and what a report says about them.

    Examples
    --------
    >>> c = Calibration({"Retargeting": 0.4}, 2, ("a note",))
    >>> c.summary()["factors"], c.lines()[0]
    ({'Retargeting': 0.4}, 'calibrated by 2 lift tests: Retargeting ×0.400')
    """

    factors: dict[str, float]
    tests: int
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Return the ``calibration`` member of an answer.

        Examples
        --------
        >>> Calibration({"Email": 1.0}, 1).summary()["tests"]
        1
        """
        return {
            "calibrated": True,
            "tests": self.tests,
            "factors": self.factors,
            "untested": "channels without a lift test keep a factor of 1",
            "notes": list(self.notes),
        }

    def lines(self) -> tuple[str, ...]:
        """Return the lines a terminal shows under a calibrated table.

        Examples
        --------
        >>> Calibration({}, 1, ("lift test of TV ... left out",)).lines()
        ('calibrated by 1 lift test: no usable test', 'note: lift test of TV ... left out')
        """
        shown = ", ".join(f"{key} ×{value:.3f}" for key, value in self.factors.items())
        plural = "" if self.tests == 1 else "s"
        head = f"calibrated by {self.tests} lift test{plural}: {shown or 'no usable test'}"
        return (head, *(f"note: {n}" for n in self.notes))


def lift_tests(ctx: Context) -> pl.DataFrame:
    """Return the lift tests of the context's source (none when it cannot hold any).

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> lift_tests(Services.for_frames(*_tiny_example()).context).height
    0
    """
    reader = getattr(ctx.source, "lift_tests", None)
    if reader is None:
        return pl.DataFrame(schema={"channel": pl.String})
    found: pl.DataFrame = ctx.cached(("lift_tests",), reader)
    return found


def calibration(ctx: Context, query: AttributionQuery, attribute: ReportFn) -> Calibration | None:
    """Return the factors of ``query``'s model and journeys, or ``None`` without lift tests.

    Every test is compared with the attributed figure of its days: the
    conversions from ``start`` to ``end`` credited by the query's model,
    stage, lookback and journeys (a test of a campaign with that campaign's),
    computed by ``attribute``.

    Examples
    --------
    >>> import datetime as dt
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> tests = pl.DataFrame({"channel": ["Email"], "start": [dt.date(2024, 1, 1)],
    ...     "end": [dt.date(2024, 12, 31)], "incremental_revenue": [25.0]})
    >>> services = Services.for_frames(*_tiny_example(), lift_tests=tests)
    >>> from api.services.attribution import attribution_report
    >>> query = AttributionQuery.create("first_touch")
    >>> calibration(services.context, query, attribution_report).factors
    {'Email': 0.25}
    """
    tests = lift_tests(ctx)
    if tests.is_empty():
        return None
    base = replace(query, by="channel", ci=None, calibrate=False)

    def compute() -> Calibration:
        parts = [pl.DataFrame(schema=TOTALS)]
        for start, end, level in lift_test_windows(tests):
            asked = replace(base, by=level, start=start, end=end)
            try:
                report, _ = attribute(ctx, asked)
            except EmptyInputError:
                continue  # no conversion in the test's days: the test is left out, with a note
            parts.append(
                report.data.select(
                    pl.lit(start).alias("start"),
                    pl.lit(end).alias("end"),
                    pl.lit(level).alias("level"),
                    pl.col(level).alias("key"),
                    "revenue",
                    "conversions",
                ).cast(TOTALS)
            )
        factors, notes = calibration_factors(tests, pl.concat(parts))
        return Calibration(
            dict(zip(factors["channel"], factors["calibration_factor"], strict=True)),
            int(factors["tests"].sum()),
            tuple(notes),
        )

    key = replace(base, start=None, end=None)
    found: Calibration = ctx.cached(("calibration", key), compute)
    return found


def calibrate_report(
    ctx: Context, query: AttributionQuery, report: AttributionReport, attribute: ReportFn
) -> tuple[AttributionReport, Calibration | None, tuple[str, ...]]:
    """Add calibrated revenue to a report by channel when lift tests exist and are wanted.

    Returns the report (with ``revenue_calibrated`` and
    ``calibration_factor`` after ``revenue``, and their total), the
    calibration, and the notes for a terminal.

    Examples
    --------
    >>> import datetime as dt
    >>> from api.services import Services
    >>> from api.services.attribution import attribution_report
    >>> from attribution.report import _tiny_example
    >>> tests = pl.DataFrame({"channel": ["Email"], "start": [dt.date(2024, 1, 1)],
    ...     "end": [dt.date(2024, 12, 31)], "incremental_revenue": [25.0]})
    >>> ctx = Services.for_frames(*_tiny_example(), lift_tests=tests).context
    >>> query = AttributionQuery.create("first_touch")
    >>> report, _, notes = calibrate_report(
    ...     ctx, query, attribution_report(ctx, query)[0], attribution_report)
    >>> report.data.select("channel", "revenue", "revenue_calibrated").rows()
    [('Email', 100.0, 25.0), ('Search', 0.0, 0.0)]
    >>> notes[0]
    'calibrated by 1 lift test: Email ×0.250'
    """
    if not query.calibrate:
        return report, None, ()
    found = calibration(ctx, query, attribute)
    if found is None:
        return report, None, ()
    if query.by != "channel":
        note = (
            "note: lift-test calibration applies to reports by channel; "
            f"this report by {query.by} is not calibrated"
        )
        return report, None, (note,)
    data = calibrate_rows(report.data, found.factors, by="channel")
    totals = {
        **report.totals,
        "revenue_calibrated": float(data["revenue_calibrated"].sum()),
    }
    return replace(report, data=data, totals=totals), found, found.lines()


def calibrate_curveset(
    ctx: Context, query: CurvesQuery, fitted: CurveSet, attribute: ReportFn
) -> CurveSet:
    """Scale the fitted curves by the lift-test factors of the curves' model (if asked and any).

    The factors are those of a report by channel over each test's days with
    the curves' model, stage, lookback and journeys. Curves by campaign are
    left as they are. ``meta["calibration"]`` says what was done.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> ctx = Services.for_frames(*_tiny_example()).context
    >>> from api.services.attribution import attribution_report
    >>> calibrate_curveset(ctx, CurvesQuery(), "fitted", attribution_report)  # no lift tests
    'fitted'
    """
    if not query.calibrate or query.by != "channel":
        return fitted
    asked = AttributionQuery(
        model=query.model,
        stage=query.stage,
        lookback_days=query.lookback_days,
        journey=query.journey,
        click_window_days=query.click_window_days,
        view_window_days=query.view_window_days,
    )
    found = calibration(ctx, asked, attribute)
    if found is None:
        return fitted
    info = {"tests": found.tests, "notes": list(found.notes)}
    return calibrate_curves(fitted, found.factors, info)
