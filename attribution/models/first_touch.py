"""First-touch attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.journeys import Journeys
from attribution.models.base import AttributionModel, to_credits


@dataclass(frozen=True, kw_only=True)
class FirstTouch(AttributionModel):
    """All credit to the first touch of each converting journey.

    Assumes the touch that brought a person in caused the conversion; it
    ignores everything that happened afterwards. Ties in time are broken by
    ``touchpoint_id`` so the result does not depend on input order.

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2"], "user_id": ["a", "a"],
    ...     "ts": ["2024-01-01", "2024-01-02"], "channel": ["Email", "Search"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-03"],
    ...     "stage": ["purchase"], "revenue": [10.0]})
    >>> FirstTouch().credit(build_journeys(tp, cv))["weight"].to_list()
    [1.0, 0.0]
    """

    name: ClassVar[str] = "first_touch"
    label: ClassVar[str] = "First touch"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "100% to the first touch"
    path_exact: ClassVar[bool] = True

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Credit each converting journey's first touch."""
        touches = journeys.converting
        return to_credits(touches.with_columns((pl.col("position") == 0).alias("weight")))
