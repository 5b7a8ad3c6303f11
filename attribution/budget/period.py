"""Budget periods: the week the curves are fitted in, and the month and quarter people budget in.

Response curves are fitted on weekly spend and revenue, so a plan is solved
per week. A budget for a longer period is spread evenly over its weeks: a
quarterly budget ``B`` is ``B / 13`` a week, and the plan's amounts are the
weekly ones times 13. A month is ``52 / 12 ≈ 4.333`` weeks and a quarter
13 weeks: a year of 52 weeks split into twelve and into four, so three months
make exactly one quarter (a calendar month, ``365 / 12 / 7 ≈ 4.345`` weeks,
would not).

========  =================  ===============================
period    weeks per period   a budget of 100,000 is, a week
========  =================  ===============================
week      1                  100,000
month     52 / 12 ≈ 4.333    23,077
quarter   13                 7,692
========  =================  ===============================

Ratios (ROAS, marginal ROAS, changes in percent) are the same in every
period: spending the same each week of the period, each week earns what the
weekly curve says.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from attribution.errors import ParameterError

PERIODS: dict[str, float] = {"week": 1.0, "month": 52.0 / 12.0, "quarter": 13.0}
"""Weeks in each budget period."""

DEFAULT_PERIOD = "week"
"""The period amounts are in unless one is given."""

_ARITHMETIC = re.compile(r"[*/+x×÷]|(?<=\d)\s*-")


@dataclass(frozen=True)
class Period:
    """A budget period: its name and how many weeks it holds.

    Examples
    --------
    >>> quarter = Period.of("quarter")
    >>> quarter.weeks, quarter.to_weekly(130_000.0), quarter.from_weekly(10_000.0)
    (13.0, 10000.0, 130000.0)
    >>> quarter.money(10_000.0)
    '130,000 per quarter'
    """

    name: str = DEFAULT_PERIOD
    weeks: float = 1.0

    @classmethod
    def of(cls, name: str) -> Period:
        """Return the period called ``name`` (``week``, ``month`` or ``quarter``).

        Examples
        --------
        >>> round(Period.of("month").weeks, 3)
        4.333
        >>> Period.of("year")
        Traceback (most recent call last):
        ...
        attribution.errors.ParameterError: The 'period' parameter must be one of week, month, ...
        """
        if name not in PERIODS:
            raise ParameterError(
                f"The 'period' parameter must be one of {', '.join(PERIODS)}. Got {name!r} instead."
            )
        return cls(name, PERIODS[name])

    def to_weekly(self, amount: float) -> float:
        """Return the weekly amount of ``amount`` per period."""
        return amount / self.weeks

    def from_weekly(self, amount: float) -> float:
        """Return the amount per period of ``amount`` per week."""
        return amount * self.weeks

    def money(self, weekly: float) -> str:
        """Format a weekly amount in this period's money, e.g. ``'130,000 per quarter'``."""
        return f"{self.from_weekly(weekly):,.0f} per {self.name}"


def parse_amount(text: str, *, name: str = "--budget") -> float:
    """Parse a plain amount (``250000``, ``250000.5``); refuse arithmetic with the way to say it.

    Examples
    --------
    >>> parse_amount("250000")
    250000.0
    >>> parse_amount("250000/13")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --budget must be a plain amount such as 250000, not ...
    """
    cleaned = text.strip().replace("_", "")
    try:
        amount = float(cleaned)
    except ValueError:
        if _ARITHMETIC.search(cleaned):
            raise ParameterError(
                f"{name} must be a plain amount such as 250000, not arithmetic ({text!r}). "
                "Give the budget of the period you plan and name the period: "
                "--period quarter --budget 250000 (or month, week)."
            ) from None
        raise ParameterError(
            f"{name} must be an amount such as 250000. Got {text!r} instead."
        ) from None
    if not math.isfinite(amount) or amount < 0:
        raise ParameterError(f"{name} must be an amount >= 0. Got {text!r} instead.")
    return amount


__all__ = ["DEFAULT_PERIOD", "PERIODS", "Period", "parse_amount"]
