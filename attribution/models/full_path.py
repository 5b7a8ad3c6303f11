"""Full-path attribution: first, lead, opportunity and closed-won touches (Marketo Measure)."""

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
class FullPath(MilestoneModel):
    """22.5% each to the first, lead, opportunity and closed-won touches, 10% between.

    Marketo Measure's full-path model: the W-shaped milestones (the lead
    creation at the person's **first** ``lead_stage`` conversion unless
    ``lead_touch="last"``) plus the closed-won touch, the last touch at or
    before the person's ``won_stage`` conversion (for a ``closed_won``
    journey, its last touch; ties in time go to the greatest
    ``touchpoint_id``). The 10% is
    shared by the other touches up to the close. Fallbacks (a stage not
    reached yet → the last touch, Marketo's "Pending"; a milestone before the
    first touch → the first touch; coinciding milestones add; no touch
    between → shares scaled to 100%) are in
    :mod:`attribution.models._milestones`.

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
    >>> FullPath().credit(build_journeys(tp, cv, stage="closed_won"))["weight"].round(12).to_list()
    [0.225, 0.225, 0.1, 0.225, 0.225]
    """

    name: ClassVar[str] = "full_path"
    label: ClassVar[str] = "Full path (Z-shaped)"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "22.5% each to first, lead, opportunity, closed-won touch; 10% between"
    param_docs: ClassVar[dict[str, str]] = {
        "lead_stage": "conversion stage whose creation is the lead milestone",
        "lead_touch": "which lead conversion: first (Marketo Measure: set once) or last (latest)",
        "opportunity_stage": "conversion stage whose creation is the opportunity milestone",
        "won_stage": "conversion stage that closes the deal won",
    }
    first_share: ClassVar[float] = 0.225
    rest_share: ClassVar[float] = 0.1

    lead_stage: str = "lead"
    lead_touch: str = "first"
    opportunity_stage: str = "opportunity"
    won_stage: str = "closed_won"

    def __post_init__(self) -> None:
        require_stage_name(self, "lead_stage", self.lead_stage)
        require_lead_touch(self, self.lead_touch)
        require_stage_name(self, "opportunity_stage", self.opportunity_stage)
        require_stage_name(self, "won_stage", self.won_stage)

    def milestone_stages(self) -> list[Milestone]:
        """Return the lead, opportunity and closed-won milestones and their shares."""
        lead = Milestone(self.lead_stage, 0.225, first=self.lead_touch == "first")
        return [lead, Milestone(self.opportunity_stage, 0.225), Milestone(self.won_stage, 0.225)]
