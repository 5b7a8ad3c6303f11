"""Linear (equal-credit) attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.journeys import Journeys
from attribution.models.base import AttributionModel, to_credits


@dataclass(frozen=True, kw_only=True)
class Linear(AttributionModel):
    """Equal credit to every touch of a converting journey.

    Assumes every touch contributed the same. Repeated touches of one channel
    each get their share, so a channel touched three times gets three shares.

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"], "user_id": ["a"] * 4,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "channel": ["Email", "Search", "Email", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [10.0]})
    >>> Linear().credit(build_journeys(tp, cv))["weight"].to_list()
    [0.25, 0.25, 0.25, 0.25]
    """

    name: ClassVar[str] = "linear"
    label: ClassVar[str] = "Linear"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "equal share to every touch"
    path_exact: ClassVar[bool] = True

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Give each touch 1 / (number of touches)."""
        touches = journeys.converting
        return to_credits(touches.with_columns((1.0 / pl.col("n_touches")).alias("weight")))
