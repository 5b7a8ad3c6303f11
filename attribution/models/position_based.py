"""Position-based (U-shaped, 40/20/40) attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.models.base import AttributionModel, require_fraction, to_credits


@dataclass(frozen=True, kw_only=True)
class PositionBased(AttributionModel):
    """Fixed shares to the first and last touch, the rest spread over the middle.

    With the defaults the first and the last touch get 40% each and the touches
    between share 20% equally (Google Analytics' position-based model).
    Conventions for short journeys, where the middle is empty:

    - one touch gets 100%;
    - two touches split in the ratio ``first_weight : last_weight`` (50/50 by
      default);
    - with ``first_weight + last_weight == 1`` middle touches get nothing.

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"], "user_id": ["a"] * 4,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "channel": ["Email", "Search", "Email", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [10.0]})
    >>> PositionBased().credit(build_journeys(tp, cv))["weight"].round(12).to_list()
    [0.4, 0.1, 0.1, 0.4]
    """

    name: ClassVar[str] = "position_based"
    label: ClassVar[str] = "Position-based"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "40% first, 40% last, 20% shared by the middle"
    path_exact: ClassVar[bool] = True
    param_docs: ClassVar[dict[str, str]] = {
        "first_weight": "share of the first touch (0-1)",
        "last_weight": "share of the last touch (0-1); first_weight + last_weight <= 1",
    }

    first_weight: float = 0.4
    last_weight: float = 0.4

    def __post_init__(self) -> None:
        require_fraction(self, "first_weight", self.first_weight)
        require_fraction(self, "last_weight", self.last_weight)
        if self.first_weight + self.last_weight > 1.0 + 1e-12:
            raise ParameterError(
                "The 'first_weight' and 'last_weight' parameters of PositionBased must add up "
                f"to at most 1. Got {self.first_weight!r} + {self.last_weight!r} instead."
            )
        if self.first_weight + self.last_weight == 0.0:
            raise ParameterError(
                "The 'first_weight' and 'last_weight' parameters of PositionBased cannot both "
                "be 0: two-touch journeys would have no credit. Use linear instead."
            )

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Apply the first / middle / last shares."""
        first, last = self.first_weight, self.last_weight
        middle = 1.0 - first - last
        n = pl.col("n_touches")
        is_first = pl.col("position") == 0
        is_last = pl.col("position") == n - 1
        weight = (
            pl.when(n == 1)
            .then(1.0)
            .when(n == 2)
            .then(pl.when(is_first).then(first / (first + last)).otherwise(last / (first + last)))
            .when(is_first)
            .then(first)
            .when(is_last)
            .then(last)
            .otherwise(middle / (n - 2))
        )
        return to_credits(journeys.converting.with_columns(weight.alias("weight")))
