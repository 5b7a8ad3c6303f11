"""The bounds an ingest holds values to, read from the environment when rows are validated.

Values outside these bounds are rejected as row problems (with
``--skip-invalid`` the row is set aside; without it nothing is written):

``CLOSEDLOOP_MIN_YEAR`` (default ``1970``)
    Timestamps (``ts`` of touchpoints and conversions) and dates (``date``
    of costs) must fall on or after 1 January of this year.
``CLOSEDLOOP_MAX_YEAR`` (default ``2100``)
    ... and before 1 January of this year. Both years must be whole numbers
    with ``1 <= CLOSEDLOOP_MIN_YEAR < CLOSEDLOOP_MAX_YEAR <= 9999``.
``CLOSEDLOOP_MAX_AMOUNT`` (default ``1e12``)
    The largest money amount (``revenue`` of conversions, ``spend`` of
    costs), in the store's reporting currency: a positive, finite number.
``CLOSEDLOOP_MAX_TEXT`` (default ``4096``)
    The most characters of a text value (after its surrounding whitespace
    is removed): every id and dimension of the canonical tables
    (``touchpoint_id``, ``user_id``, ``channel``, ``campaign``, ``stage``
    ...), a whole number from 1 to 100,000,000. The canonical tables hold
    no URL: a ``landing_url`` or ``referrer`` column only serves to derive
    ``source``, ``medium``, ``campaign`` and ``channel``, which are then held
    to this bound like any other text.

Counts (``impressions``, ``clicks``) are bounded by their column type
(``Int64``: at most ``2**63 - 1``); that bound is not configurable.

The variables are read every time rows are validated (:func:`current_limits`),
so a long-running API process picks up a change without a restart only for
ingests started after it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from attribution.errors import ParameterError

__all__ = [
    "DEFAULT_MAX_AMOUNT",
    "DEFAULT_MAX_TEXT",
    "DEFAULT_MAX_YEAR",
    "DEFAULT_MIN_YEAR",
    "MAX_AMOUNT_VAR",
    "MAX_TEXT_VAR",
    "MAX_YEAR_VAR",
    "MIN_YEAR_VAR",
    "Limits",
    "current_limits",
]

MIN_YEAR_VAR = "CLOSEDLOOP_MIN_YEAR"
"""Environment variable: the earliest year of a timestamp or date (inclusive)."""

MAX_YEAR_VAR = "CLOSEDLOOP_MAX_YEAR"
"""Environment variable: timestamps and dates must be before 1 January of this year."""

MAX_AMOUNT_VAR = "CLOSEDLOOP_MAX_AMOUNT"
"""Environment variable: the largest revenue or spend accepted."""

MAX_TEXT_VAR = "CLOSEDLOOP_MAX_TEXT"
"""Environment variable: the most characters of an id or other text value."""

DEFAULT_MIN_YEAR = 1970
DEFAULT_MAX_YEAR = 2100
DEFAULT_MAX_AMOUNT = 1e12
DEFAULT_MAX_TEXT = 4_096

_YEAR_RANGE = (1, 9999)
_TEXT_RANGE = (1, 100_000_000)


@dataclass(frozen=True)
class Limits:
    """Bounds on timestamps, dates, money amounts and text (see the module docstring).

    Examples
    --------
    >>> limits = Limits()
    >>> limits.earliest, limits.before
    (datetime.date(1970, 1, 1), datetime.date(2100, 1, 1))
    >>> limits.amount_text, limits.max_text
    ('1,000,000,000,000', 4096)
    """

    min_year: int = DEFAULT_MIN_YEAR
    max_year: int = DEFAULT_MAX_YEAR
    max_amount: float = DEFAULT_MAX_AMOUNT
    max_text: int = DEFAULT_MAX_TEXT

    @property
    def earliest(self) -> dt.date:
        """The first day accepted: 1 January of ``min_year``."""
        return dt.date(self.min_year, 1, 1)

    @property
    def before(self) -> dt.date:
        """The first day no longer accepted: 1 January of ``max_year``."""
        return dt.date(self.max_year, 1, 1)

    @property
    def earliest_ts(self) -> dt.datetime:
        """:attr:`earliest` at midnight UTC."""
        return dt.datetime(self.min_year, 1, 1, tzinfo=dt.UTC)

    @property
    def before_ts(self) -> dt.datetime:
        """:attr:`before` at midnight UTC."""
        return dt.datetime(self.max_year, 1, 1, tzinfo=dt.UTC)

    @property
    def amount_text(self) -> str:
        """``max_amount`` as a message shows it (thousands separated)."""
        if self.max_amount == int(self.max_amount) and self.max_amount < 1e18:
            return f"{int(self.max_amount):,}"
        return f"{self.max_amount:,g}"


def _year(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        year = int(text)
    except ValueError:
        year = None
    low, high = _YEAR_RANGE
    if year is None or not low <= year <= high:
        raise ParameterError(
            f"{name} must be a year from {low} to {high}; got '{text}'. "
            f"Unset it to use the default ({default})."
        )
    return year


def _amount(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        amount = float(text)
    except ValueError:
        amount = math.nan
    if not (math.isfinite(amount) and amount > 0):
        raise ParameterError(
            f"{name} must be a finite number > 0; got '{text}'. "
            f"Unset it to use the default ({default:g})."
        )
    return amount


def _count(environ: Mapping[str, str], name: str, default: int, bounds: tuple[int, int]) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    low, high = bounds
    try:
        count = int(text)
    except ValueError:
        count = None
    if count is None or not low <= count <= high:
        raise ParameterError(
            f"{name} must be a whole number from {low:,} to {high:,}; got '{text}'. "
            f"Unset it to use the default ({default:,})."
        )
    return count


def current_limits(environ: Mapping[str, str] | None = None) -> Limits:
    """Return the bounds set by the environment variables, or their defaults.

    Parameters
    ----------
    environ
        Where to read the variables; ``None`` for :data:`os.environ`.

    Returns
    -------
    Limits
        ``CLOSEDLOOP_MIN_YEAR``, ``CLOSEDLOOP_MAX_YEAR``,
        ``CLOSEDLOOP_MAX_AMOUNT`` and ``CLOSEDLOOP_MAX_TEXT``, each defaulted
        when unset or empty.

    Raises
    ------
    ParameterError
        When a variable is not a number, out of range, or the minimum year is
        not before the maximum year.

    Examples
    --------
    >>> current_limits({})
    Limits(min_year=1970, max_year=2100, max_amount=1000000000000.0, max_text=4096)
    >>> current_limits({"CLOSEDLOOP_MIN_YEAR": "2000", "CLOSEDLOOP_MAX_AMOUNT": "5e6",
    ...                 "CLOSEDLOOP_MAX_TEXT": "255"})
    Limits(min_year=2000, max_year=2100, max_amount=5000000.0, max_text=255)
    >>> current_limits({"CLOSEDLOOP_MAX_YEAR": "1960"})
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: CLOSEDLOOP_MIN_YEAR (1970) must be before
    CLOSEDLOOP_MAX_YEAR (1960).
    """
    env = os.environ if environ is None else environ
    min_year = _year(env, MIN_YEAR_VAR, DEFAULT_MIN_YEAR)
    max_year = _year(env, MAX_YEAR_VAR, DEFAULT_MAX_YEAR)
    if min_year >= max_year:
        raise ParameterError(
            f"{MIN_YEAR_VAR} ({min_year}) must be before {MAX_YEAR_VAR} ({max_year})."
        )
    return Limits(
        min_year,
        max_year,
        _amount(env, MAX_AMOUNT_VAR, DEFAULT_MAX_AMOUNT),
        _count(env, MAX_TEXT_VAR, DEFAULT_MAX_TEXT, _TEXT_RANGE),
    )
