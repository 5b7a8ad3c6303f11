"""Constants shared across closedloop's packages, defined once.

Labels that appear in reports (``(not set)``, ``(no touchpoint)``), the
lookback window's default and bound, and the other values more than one
module (or package: :mod:`ingest` and :mod:`api` import them from here)
must agree on. Importing this module is cheap: it imports nothing.

Examples
--------
>>> NOT_SET, NO_TOUCHPOINT
('(not set)', '(no touchpoint)')
>>> DEFAULT_LOOKBACK_DAYS <= MAX_LOOKBACK_DAYS
True
"""

from __future__ import annotations

NOT_SET = "(not set)"
"""Label of a missing value: a touch with no channel or campaign, an empty UTM tag.

As Google Analytics shows it. It is also a channel name in Markov paths (a
touch with no value in the ``by`` column is a state of its own).
"""

NO_TOUCHPOINT = "(no touchpoint)"
"""Row label for conversions (or persons) with no touch in their lookback window."""

DEFAULT_LOOKBACK_DAYS = 90.0
"""Days before a conversion whose touches can be credited, unless told otherwise."""

MAX_LOOKBACK_DAYS = 36_500
"""The longest lookback accepted, in days (100 years): longer is a typo, not a window."""

DEFAULT_CURRENCY = "USD"
"""ISO 4217 code reports echo when none is given."""

DEFAULT_RESAMPLES = 200
"""Bootstrap resamples drawn for intervals, unless told otherwise."""

DAY_SECONDS = 86_400.0
"""Seconds in a day, to turn durations into days."""

INTERVAL_COLUMNS = (
    "conversions_low",
    "conversions_high",
    "revenue_low",
    "revenue_high",
    "roas_low",
    "roas_high",
)
"""Columns a report gains with ``ci=`` (see :mod:`attribution.uncertainty`).

The first four are the bootstrap's percentile bounds, the last two the
revenue bounds over spend.
"""

__all__ = [
    "DAY_SECONDS",
    "DEFAULT_CURRENCY",
    "DEFAULT_LOOKBACK_DAYS",
    "DEFAULT_RESAMPLES",
    "INTERVAL_COLUMNS",
    "MAX_LOOKBACK_DAYS",
    "NOT_SET",
    "NO_TOUCHPOINT",
]
