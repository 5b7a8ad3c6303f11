"""Click and view windows: how old a touch may be and still be credited, by kind of touch.

Ad platforms count a conversion for an ad only within a window after the
interaction, and the window is shorter for an ad that was only seen than for
one that was clicked: Meta's default is 7-day click / 1-day view, Google Ads
has separate click-through and engaged-view / view-through windows. closedloop
applies the same rule when it builds journeys, for every model:

- a touch whose ``interaction`` is a view (:data:`VIEW_INTERACTIONS`,
  compared trimmed and lower-cased) is kept for a conversion only if it is
  at most ``view_days`` before it;
- every other touch (click, visit, email, call, form, unknown or empty) is
  kept only if it is at most ``click_days`` before it;
- both windows lie inside the lookback window: touches older than
  ``lookback_days`` are never read. The click window defaults to the
  lookback, the view window to :data:`DEFAULT_VIEW_WINDOW_DAYS` (or the
  lookback when that is shorter).

A non-converting journey (what Markov and Shapley compare converting paths
with) is cut by the same rule, measured from its last touch: a person who
saw an ad a week before their last visit and did not convert had the same
path a converter would have had, so both kinds of path are censored alike.

Examples
--------
>>> touch_windows(90)
TouchWindows(click_days=90.0, view_days=1.0)
>>> touch_windows(30, click_window_days=7, view_window_days=1).to_dict()
{'click_days': 7.0, 'view_days': 1.0, 'view_interactions': ['impression']}
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from attribution.errors import ParameterError

VIEW_INTERACTIONS = ("impression",)
"""``interaction`` values (trimmed, lower case) that are views: an ad seen, not clicked."""

DEFAULT_VIEW_WINDOW_DAYS = 1.0
"""Days before a conversion a view can be credited, unless told otherwise (Meta's 1-day view)."""


@dataclass(frozen=True)
class TouchWindows:
    """The resolved windows of one attribution: days for clicks (and all non-views), for views.

    Build it with :func:`touch_windows`, which checks the values and fills
    the defaults.

    Examples
    --------
    >>> TouchWindows(7.0, 1.0).uniform, TouchWindows(7.0, 7.0).uniform
    (False, True)
    """

    click_days: float
    view_days: float

    @property
    def uniform(self) -> bool:
        """Whether views and other touches share one window (the rule is a plain lookback)."""
        return self.click_days == self.view_days

    def age_limit(self, views: pl.Expr) -> pl.Expr:
        """Return the oldest age kept for each touch, given a boolean ``views`` expression.

        Examples
        --------
        >>> frame = pl.DataFrame({"view": [True, False]})
        >>> frame.select(TouchWindows(7.0, 1.0).age_limit(pl.col("view")))["literal"].to_list()
        [datetime.timedelta(days=1), datetime.timedelta(days=7)]
        """
        click = pl.lit(dt.timedelta(days=self.click_days))
        if self.uniform:
            return click
        return pl.when(views).then(pl.lit(dt.timedelta(days=self.view_days))).otherwise(click)

    def to_dict(self) -> dict[str, Any]:
        """Return the windows as JSON-ready data (what reports echo).

        Examples
        --------
        >>> TouchWindows(90.0, 1.0).to_dict()["view_days"]
        1.0
        """
        return {
            "click_days": self.click_days,
            "view_days": self.view_days,
            "view_interactions": list(VIEW_INTERACTIONS),
        }


def _number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ParameterError(f"{name} must be a number of days. Got {value!r} instead.")
    return float(value)


def touch_windows(
    lookback_days: float,
    click_window_days: float | None = None,
    view_window_days: float | None = None,
) -> TouchWindows:
    """Check a click and a view window against the lookback and fill their defaults.

    Parameters
    ----------
    lookback_days
        The lookback window: no touch older than this is read.
    click_window_days
        Days a click (or any touch that is not a view) counts; ``None`` means
        the lookback. Must be > 0 and at most ``lookback_days``.
    view_window_days
        Days a view (:data:`VIEW_INTERACTIONS`) counts; ``None`` means
        :data:`DEFAULT_VIEW_WINDOW_DAYS`, or the lookback if shorter. Must be
        >= 0 (0: only views at the conversion instant) and at most
        ``lookback_days``.

    Returns
    -------
    TouchWindows

    Examples
    --------
    >>> touch_windows(0.5)
    TouchWindows(click_days=0.5, view_days=0.5)
    >>> touch_windows(30, click_window_days=45)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: click_window_days (45) is longer than lookback_days (30): ...
    """
    lookback = _number("lookback_days", lookback_days)
    click = (
        lookback if click_window_days is None else _number("click_window_days", click_window_days)
    )
    view = (
        min(DEFAULT_VIEW_WINDOW_DAYS, lookback)
        if view_window_days is None
        else _number("view_window_days", view_window_days)
    )
    if not click > 0:
        raise ParameterError(f"click_window_days must be > 0. Got {click_window_days!r} instead.")
    if not view >= 0:
        raise ParameterError(f"view_window_days must be >= 0. Got {view_window_days!r} instead.")
    for name, days in (("click_window_days", click), ("view_window_days", view)):
        if days > lookback:
            raise ParameterError(
                f"{name} ({days:g}) is longer than lookback_days ({lookback:g}): touches older "
                f"than the lookback are never read. Raise lookback_days to at least {days:g} "
                f"or shorten {name}."
            )
    return TouchWindows(click, view)


def is_view(column: str = "interaction") -> pl.Expr:
    """Return whether each touch is a view (:data:`VIEW_INTERACTIONS`; null is not a view).

    Examples
    --------
    >>> frame = pl.DataFrame({"interaction": [" Impression", "click", None]})
    >>> frame.select(is_view())["interaction"].to_list()
    [True, False, False]
    """
    return (
        pl.col(column)
        .cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .is_in(VIEW_INTERACTIONS)
        .fill_null(False)
    )


def view_only_conversions(touches: pl.DataFrame) -> float:
    """Count the converting journeys whose kept touches are all views (counts included).

    ``touches`` are journey touches (:data:`attribution.schema.JOURNEY_TOUCHES`);
    without an ``interaction`` column no touch is a view.

    Examples
    --------
    >>> touches = pl.DataFrame({"journey_id": ["c1", "c1", "c2"], "converted": [True] * 3,
    ...     "count": [1.0] * 3, "interaction": ["impression", "impression", "click"]})
    >>> view_only_conversions(touches)
    1.0
    """
    if "interaction" not in touches.columns:
        return 0.0
    per_journey = (
        touches.filter(pl.col("converted"))
        .group_by("journey_id")
        .agg(is_view().all().alias("views_only"), pl.col("count").first())
    )
    return float(per_journey.filter(pl.col("views_only"))["count"].sum())


__all__ = [
    "DEFAULT_VIEW_WINDOW_DAYS",
    "VIEW_INTERACTIONS",
    "TouchWindows",
    "is_view",
    "touch_windows",
    "view_only_conversions",
]
