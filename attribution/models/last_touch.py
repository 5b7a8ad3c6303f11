"""Last-touch attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.journeys import Journeys
from attribution.models.base import AttributionModel, to_credits


@dataclass(frozen=True, kw_only=True)
class LastTouch(AttributionModel):
    """All credit to the last touch before (or at) each conversion.

    Assumes the final touch closed the deal. The touch at the conversion
    instant itself counts (a converting session is its own last touch).

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2"], "user_id": ["a", "a"],
    ...     "ts": ["2024-01-01", "2024-01-02"], "channel": ["Email", "Search"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-03"],
    ...     "stage": ["purchase"], "revenue": [10.0]})
    >>> LastTouch().credit(build_journeys(tp, cv))["weight"].to_list()
    [0.0, 1.0]
    """

    name: ClassVar[str] = "last_touch"
    label: ClassVar[str] = "Last touch"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "100% to the last touch"
    path_exact: ClassVar[bool] = True

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Credit each converting journey's last touch."""
        touches = journeys.converting
        last = pl.col("position") == pl.col("n_touches") - 1
        return to_credits(touches.with_columns(last.alias("weight")))
