"""Last non-direct touch attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.models.base import AttributionModel, to_credits


@dataclass(frozen=True, kw_only=True)
class LastNonDirect(AttributionModel):
    """All credit to the last touch that is not direct traffic.

    Universal Analytics' default model, also in DP6's MAM
    (``attribution_last_click_non``): a direct visit (typing the address, a
    bookmark) rarely caused the conversion, so the credit goes to the last
    marketing touch before it. A journey made only of direct touches credits
    its last touch. ``direct`` lists the channel names treated as direct
    (comma-separated, compared case-insensitively).

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3"], "user_id": ["a"] * 3,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
    ...     "channel": ["Email", "Paid Search", "Direct"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-03"],
    ...     "stage": ["purchase"], "revenue": [10.0]})
    >>> LastNonDirect().credit(build_journeys(tp, cv))["weight"].to_list()
    [0.0, 1.0, 0.0]
    """

    name: ClassVar[str] = "last_non_direct"
    label: ClassVar[str] = "Last non-direct click"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "100% to the last touch that is not direct traffic"
    param_docs: ClassVar[dict[str, str]] = {
        "direct": "comma-separated channel names treated as direct (case-insensitive)",
    }

    direct: str = "Direct,(direct)"

    def runs_on_paths(self, by: str = "channel") -> bool:
        """Say whether paths suffice: by channel yes; by campaign each touch's channel is needed.

        Examples
        --------
        >>> LastNonDirect().runs_on_paths("channel"), LastNonDirect().runs_on_paths("campaign")
        (True, False)
        """
        return by == "channel"

    def __post_init__(self) -> None:
        if not self.names():
            raise ParameterError(
                "The 'direct' parameter of LastNonDirect must name at least one channel. "
                f"Got {self.direct!r} instead."
            )

    def names(self) -> list[str]:
        """Return the lower-cased channel names treated as direct."""
        return [name.strip().lower() for name in self.direct.split(",") if name.strip()]

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Credit the last non-direct touch, or the last touch if all are direct."""
        touches = journeys.converting
        # Always judged on the channel, whatever the report groups by.
        is_direct = pl.col("channel").str.to_lowercase().is_in(self.names()).fill_null(False)
        candidate_position = pl.when(~is_direct).then(pl.col("position"))
        last_non_direct = candidate_position.max().over("journey_id")
        target = pl.coalesce(last_non_direct, pl.col("n_touches") - 1)
        return to_credits(touches.with_columns((pl.col("position") == target).alias("weight")))
