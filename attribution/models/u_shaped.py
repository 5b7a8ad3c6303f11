"""U-shaped attribution: first touch and lead-creation touch (Marketo Measure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from attribution.models._milestones import (
    Milestone,
    MilestoneModel,
    require_lead_touch,
    require_stage_name,
)


@dataclass(frozen=True, kw_only=True)
class UShaped(MilestoneModel):
    """40% to the first touch, 40% to the lead-creation touch, 20% to the touches between.

    Marketo Measure's U-shaped model: the lead-creation touch is the last
    touch at or before the person first became a lead (their first
    ``lead_stage`` conversion: Marketo sets it once; ``lead_touch="last"``
    takes their latest lead at or before the journey's conversion instead);
    a touch at that instant counts, and ties in time go to the greatest
    ``touchpoint_id``. Touches after it get nothing. Assumes discovery and the
    hand-raise matter most. Fallbacks (no lead yet → the last touch; lead
    before the first touch → the first touch; coinciding milestones add; no
    touch between → 50/50) are in :mod:`attribution.models._milestones`.
    On data without a lead stage it is the 40/20/40 position-based model.

    Examples
    --------
    >>> import polars as pl
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"], "user_id": ["a"] * 4,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "channel": ["Email", "Search", "Event", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["l1", "w1"], "user_id": ["a", "a"],
    ...     "ts": ["2024-01-03T12:00:00", "2024-01-05"], "stage": ["lead", "closed_won"],
    ...     "revenue": [0.0, 10.0]})
    >>> UShaped().credit(build_journeys(tp, cv, stage="closed_won"))["weight"].round(12).to_list()
    [0.4, 0.2, 0.4, 0.0]
    """

    name: ClassVar[str] = "u_shaped"
    label: ClassVar[str] = "U-shaped"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "40% first touch, 40% lead-creation touch, 20% between"
    param_docs: ClassVar[dict[str, str]] = {
        "lead_stage": "conversion stage whose creation is the lead milestone",
        "lead_touch": "which lead conversion: first (Marketo Measure: set once) or last (latest)",
    }
    first_share: ClassVar[float] = 0.4
    rest_share: ClassVar[float] = 0.2

    lead_stage: str = "lead"
    lead_touch: str = "first"

    def __post_init__(self) -> None:
        require_stage_name(self, "lead_stage", self.lead_stage)
        require_lead_touch(self, self.lead_touch)

    def milestone_stages(self) -> list[Milestone]:
        """Return the lead milestone and its share."""
        return [Milestone(self.lead_stage, 0.4, first=self.lead_touch == "first")]
