"""W-shaped attribution: first, lead-creation and opportunity-creation touches (Marketo Measure)."""

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
class WShaped(MilestoneModel):
    """30% each to the first, lead-creation and opportunity-creation touches, 10% between.

    Marketo Measure's W-shaped model: the lead-creation touch is the last
    touch at or before the person's **first** ``lead_stage`` conversion
    (Marketo sets it once; ``lead_touch="last"`` takes their latest lead at
    or before the journey's conversion instead), the opportunity-creation
    touch the last touch at or before their latest ``opportunity_stage``
    conversion; a touch at the stage's instant counts, and ties in time go
    to the greatest ``touchpoint_id``. The 10% is shared equally by the other
    touches up to opportunity creation, and touches after it get nothing.
    Assumes discovery, the hand-raise and the sales hand-off matter most.
    Fallbacks (no opportunity yet → its 30% to the last touch, Marketo's
    "Pending"; a milestone before the first touch → the first touch;
    coinciding milestones add; no touch between → shares scaled to 100%) are
    in :mod:`attribution.models._milestones`.

    Examples
    --------
    >>> import polars as pl
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4", "t5"], "user_id": ["a"] * 5,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
    ...     "channel": ["Email", "Search", "Event", "Social", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["l1", "o1", "w1"], "user_id": ["a"] * 3,
    ...     "ts": ["2024-01-02T12:00:00", "2024-01-04T12:00:00", "2024-01-06"],
    ...     "stage": ["lead", "opportunity", "closed_won"], "revenue": [0.0, 0.0, 10.0]})
    >>> WShaped().credit(build_journeys(tp, cv, stage="closed_won"))["weight"].round(12).to_list()
    [0.3, 0.3, 0.1, 0.3, 0.0]
    """

    name: ClassVar[str] = "w_shaped"
    label: ClassVar[str] = "W-shaped"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = (
        "30% first, 30% lead-creation, 30% opportunity-creation touch, 10% between"
    )
    param_docs: ClassVar[dict[str, str]] = {
        "lead_stage": "conversion stage whose creation is the lead milestone",
        "lead_touch": "which lead conversion: first (Marketo Measure: set once) or last (latest)",
        "opportunity_stage": "conversion stage whose creation is the opportunity milestone",
    }
    first_share: ClassVar[float] = 0.3
    rest_share: ClassVar[float] = 0.1

    lead_stage: str = "lead"
    lead_touch: str = "first"
    opportunity_stage: str = "opportunity"

    def __post_init__(self) -> None:
        require_stage_name(self, "lead_stage", self.lead_stage)
        require_lead_touch(self, self.lead_touch)
        require_stage_name(self, "opportunity_stage", self.opportunity_stage)

    def milestone_stages(self) -> list[Milestone]:
        """Return the lead and opportunity milestones and their shares."""
        lead = Milestone(self.lead_stage, 0.3, first=self.lead_touch == "first")
        return [lead, Milestone(self.opportunity_stage, 0.3)]
