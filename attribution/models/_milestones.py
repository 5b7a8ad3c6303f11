"""Shared machinery of the stage-aware models: ``u_shaped``, ``w_shaped``, ``full_path``.

Each model gives fixed shares to *milestone touches* and spreads the rest over
the touches between the first touch and its last milestone, as Marketo Measure
(formerly Bizible) defines its U-shaped, W-shaped and full-path models. A
milestone touch is found from the stage timestamps of the journey's person
(:attr:`attribution.journeys.Journeys.milestones`):

- the **first touch** is the journey's first touch (position 0);
- the **touch of a stage** (lead creation, opportunity creation, closed won)
  is the last touch at or before the stage's conversion instant: a touch at
  that very instant counts, and of several touches at one instant the one
  with the greatest ``touchpoint_id`` is the last (the journey order is
  ``ts``, then ``touchpoint_id``, compared as text);
- the stage's conversion is, for the **lead**, the person's **first** lead
  conversion (``lead_touch="first"``, the default): Marketo Measure sets the
  lead-creation touch once, at the first lead creation, and a lead recycled
  or re-created later does not move it. ``lead_touch="last"`` takes the
  person's latest lead at or before the journey's conversion instead
  (closedloop's behaviour before 2026-12). For the **opportunity** and the
  **close** it is the person's latest conversion of that stage at or before
  the journey's conversion: each deal has its own opportunity-creation and
  closed-won touches.

Fallbacks, applied per journey:

1. *Stage not reached* (the person has no conversion of that stage at or
   before this conversion: no opportunity yet, or a lead journey under
   ``w_shaped``): the stage's share goes to the **last touch**. This is
   Marketo Measure's "Pending" position, which holds the closed-won share of
   an open opportunity on the most recent touch until the deal closes; on
   data without a lead stage it makes ``u_shaped`` the 40/20/40
   position-based model.
2. *Stage reached before the journey's first touch* (the lead was created
   before any touch in the lookback window, or before the touches left to a
   second deal): the share goes to the **first touch**, the earliest touch
   known.
3. *Coinciding milestones* (one touch is first touch and lead creation, say):
   the shares add on that touch.
4. *No other touch* between the first touch and the last milestone: the
   milestone touches share all the credit, in proportion to their shares
   (one touch gets 100%; first touch = lead creation and a separate
   opportunity touch under ``w_shaped`` get 60/30 scaled to 2/3 and 1/3).

Touches after the last milestone get nothing: ``w_shaped`` credits the
journey up to opportunity creation, ``full_path`` up to the close, as
Marketo Measure does. Journeys from aggregated paths have no stage
timestamps: these models raise :class:`~attribution.errors.ParameterError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import polars as pl

from attribution.errors import ParameterError
from attribution.journeys import Journeys, milestone_column
from attribution.models.base import AttributionModel, to_credits

LEAD_TOUCHES = ("first", "last")
"""``lead_touch`` values: the person's first lead conversion (Marketo Measure) or the latest."""


class Milestone(NamedTuple):
    """A milestone after the first touch: its stage, its share, and which conversion of the stage.

    ``first`` takes the person's first conversion of the stage (Marketo's
    lead creation) instead of the latest one at or before the journey's
    conversion.
    """

    stage: str
    share: float
    first: bool = False


def require_lead_touch(model: object, value: str) -> None:
    """Raise :class:`ParameterError` unless ``value`` is ``first`` or ``last``.

    Examples
    --------
    >>> require_lead_touch(object(), "first")
    """
    if value not in LEAD_TOUCHES:
        raise ParameterError(
            f"The 'lead_touch' parameter of {type(model).__name__} must be 'first' (the person's "
            "first lead, as Marketo Measure sets the lead-creation touch) or 'last' (their latest "
            f"lead before the conversion). Got {value!r} instead."
        )


def require_stage_name(model: object, name: str, value: str) -> None:
    """Raise :class:`ParameterError` unless ``value`` is a non-empty stage name.

    Examples
    --------
    >>> require_stage_name(object(), "lead_stage", "lead")
    """
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(
            f"The '{name}' parameter of {type(model).__name__} must be a stage name, "
            f"e.g. 'lead'. Got {value!r} instead."
        )


@dataclass(frozen=True, kw_only=True)
class MilestoneModel(AttributionModel):
    """Base of the stage-aware models: shares per milestone, the rest to touches in between."""

    first_share: ClassVar[float]
    rest_share: ClassVar[float]

    def milestone_stages(self) -> list[Milestone]:
        """Return each milestone after the first touch: its stage, share and conversion."""
        raise NotImplementedError

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Credit the milestone touches and spread the rest (see the module docstring)."""
        if journeys.milestones is None:
            raise ParameterError(
                f"{self.name} needs the stage timestamps of each person (lead, opportunity ...), "
                "and these journeys have none: journeys built from aggregated paths keep only "
                "the order of touches. Use position_based or linear instead."
            )
        touches = journeys.converting
        stages = self.milestone_stages()
        wanted = sorted({milestone_column(m.stage, m.first) for m in stages})
        present = [c for c in wanted if c in journeys.milestones.columns]
        stamps = journeys.milestones.select("journey_id", *present).with_columns(
            pl.lit(None, touches.schema["ts"]).alias(c) for c in wanted if c not in present
        )
        frame = touches.join(stamps, on="journey_id", how="left")
        last = pl.col("n_touches").cast(pl.Int64) - 1
        position = pl.col("position").cast(pl.Int64)
        at_positions: list[pl.Expr] = []
        shares: list[float] = [self.first_share]
        for k, (stage, share, first) in enumerate(stages):
            stamp = pl.col(milestone_column(stage, first))
            before = position.filter(pl.col("ts") <= stamp).max().over("journey_id")
            at_positions.append(
                pl.when(stamp.is_null()).then(last).otherwise(before.fill_null(0)).alias(f"_m{k}")
            )
            shares.append(share)
        frame = frame.with_columns(pl.lit(0, pl.Int64).alias("_first"), *at_positions)
        names = ["_first", *(f"_m{k}" for k in range(len(stages)))]
        milestone_weight = pl.sum_horizontal(
            pl.when(position == pl.col(name)).then(share).otherwise(0.0)
            for name, share in zip(names, shares, strict=True)
        )
        is_milestone = pl.any_horizontal(position == pl.col(name) for name in names)
        span_end = pl.max_horizontal(pl.col(name) for name in names)
        is_other = ~is_milestone & (position <= span_end)
        frame = frame.with_columns(
            milestone_weight.alias("_w"),
            is_other.alias("_other"),
        ).with_columns(pl.col("_other").cast(pl.Int64).sum().over("journey_id").alias("_n_other"))
        weight = (
            pl.when(pl.col("_n_other") == 0)
            .then(pl.col("_w") / (1.0 - self.rest_share))
            .when(pl.col("_other"))
            .then(self.rest_share / pl.col("_n_other"))
            .otherwise(pl.col("_w"))
        )
        return to_credits(frame.with_columns(weight.alias("weight")))
