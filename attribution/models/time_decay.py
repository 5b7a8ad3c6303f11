"""Time-decay attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.models.base import (
    AttributionModel,
    normalise_per_journey,
    require_positive,
    to_credits,
)

_MICROSECONDS_PER_DAY = 86_400_000_000


MIN_HALF_LIFE_DAYS = 1e-6
"""The shortest half-life accepted: shorter ones only round every weight but the last to 0."""


@dataclass(frozen=True, kw_only=True)
class TimeDecay(AttributionModel):
    """More credit to touches closer to the conversion, halving every half-life.

    A touch ``d`` days before the conversion gets a raw score ``2 ** (-d /
    half_life_days)``; scores are normalised to sum to 1 per journey. This is
    the exponential decay of Google Analytics' former time-decay model (7-day
    half-life by default). Time is measured continuously to the microsecond,
    not in whole days.

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2"], "user_id": ["a", "a"],
    ...     "ts": ["2024-01-01", "2024-01-08"], "channel": ["Email", "Search"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-08"],
    ...     "stage": ["purchase"], "revenue": [10.0]})
    >>> [round(w, 4) for w in TimeDecay().credit(build_journeys(tp, cv))["weight"]]
    [0.3333, 0.6667]
    """

    name: ClassVar[str] = "time_decay"
    label: ClassVar[str] = "Time decay"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "exponential decay towards the conversion"
    param_docs: ClassVar[dict[str, str]] = {
        "half_life_days": "days after which a touch's weight halves (at least 1e-6, ~0.1 s)",
    }

    half_life_days: float = 7.0

    def __post_init__(self) -> None:
        require_positive(self, "half_life_days", self.half_life_days)
        if self.half_life_days < MIN_HALF_LIFE_DAYS:
            # 1 / half_life overflows to inf below ~1e-308, and 0 x inf is NaN.
            raise ParameterError(
                f"half_life_days must be at least {MIN_HALF_LIFE_DAYS:g} (about 0.1 s). "
                f"Got {self.half_life_days!r} instead."
            )

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Weight touches by ``2 ** (-days_before_conversion / half_life_days)``."""
        if not journeys.timed:
            raise ParameterError(
                "time_decay needs touch timestamps, and these journeys come from aggregated "
                "paths, which keep only the order. Use position_based or linear instead."
            )
        touches = journeys.converting
        days = (pl.col("conversion_ts") - pl.col("ts")).dt.total_microseconds() / (
            _MICROSECONDS_PER_DAY
        )
        # Shift by the journey's smallest lag before exponentiating: the ratio
        # is unchanged and long lookbacks with short half-lives cannot underflow.
        relative = days - days.min().over("journey_id")
        raw = (2.0 ** (-relative / self.half_life_days)).alias("raw")
        weighted = touches.with_columns(raw).with_columns(
            normalise_per_journey(pl.col("raw")).alias("weight")
        )
        return to_credits(weighted)
