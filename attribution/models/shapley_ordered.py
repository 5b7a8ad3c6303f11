"""Ordered Shapley attribution: Zhao's Shapley value split by touch position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.journeys import Journeys
from attribution.models.base import AttributionModel, to_credits
from attribution.models.shapley import converting_with_key
from attribution.shapley.values import ordered_shapley_values, require_position, touch_shares


@dataclass(frozen=True, kw_only=True)
class ShapleyOrdered(AttributionModel):
    r"""Zhao's ordered Shapley value: the simplified Shapley value per touch position.

    Zhao, Mahboobi and Bagheri (2018, arXiv:1804.05327) refine the simplified
    Shapley value ``φ_j = Σ_{S ∋ j} R(S) / |S|`` (see ``shapley``) into
    ``φ_j = Σ_i φ_j^i``, the credit of channel ``j`` at touch point ``i``, to
    "take into account the order of channels visited by users" and to show
    "the attribution of channels at different stages of user conversion
    journeys". :meth:`channel_values` returns that channel × position table.

    The paper orders touch points by the channels a user visits but does not
    spell out how a channel that recurs within a path counts, so
    ``position`` states it:

    - ``"first_visit"`` (default): position ``i`` is the ``i``-th *distinct*
      channel visited. The channel's whole ``1 / |S|`` lands on its **first
      touch**, which defines its position; its later touches get 0. A
      journey with ``k`` distinct channels fills positions ``1..k``, so
      ``Search > Email > Search > Display`` puts Search, Email, Display at
      1, 2, 3 with ⅓ each and the second Search touch at 0. Per touch this
      differs from ``shapley``: credit goes to the touch that brought the
      channel into the journey.
    - ``"touch"``: position ``i`` is the ``i``-th touch (1-based), and a
      channel touched ``m`` times shares its ``1 / |S|`` equally over those
      ``m`` positions. Per touch this equals ``shapley``; only the position
      table is new.

    Either way ``Σ_i φ_j^i = φ_j`` and each converting journey's weights sum
    to 1. Assumptions are those of ``shapley``: non-converting journeys carry
    no value, and within a journey every distinct channel counts the same.

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"], "user_id": ["a"] * 4,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "channel": ["Search", "Email", "Search", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [90.0]})
    >>> journeys = build_journeys(tp, cv)
    >>> ShapleyOrdered().credit(journeys)["weight"].round(6).to_list()
    [0.333333, 0.333333, 0.0, 0.333333]
    >>> ShapleyOrdered().channel_values(journeys).with_columns(pl.col("conversions").round(6))
    shape: (3, 4)
    ┌─────────┬──────────┬─────────────┬─────────┐
    │ channel ┆ position ┆ conversions ┆ revenue │
    │ ---     ┆ ---      ┆ ---         ┆ ---     │
    │ str     ┆ u32      ┆ f64         ┆ f64     │
    ╞═════════╪══════════╪═════════════╪═════════╡
    │ Display ┆ 3        ┆ 0.333333    ┆ 30.0    │
    │ Email   ┆ 2        ┆ 0.333333    ┆ 30.0    │
    │ Search  ┆ 1        ┆ 0.333333    ┆ 30.0    │
    └─────────┴──────────┴─────────────┴─────────┘
    """

    name: ClassVar[str] = "shapley_ordered"
    label: ClassVar[str] = "Data-driven (ordered Shapley)"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = "Zhao's ordered Shapley value: Shapley credit per touch position"
    path_exact: ClassVar[bool] = True
    param_docs: ClassVar[dict[str, str]] = {
        "position": (
            "'first_visit': position i = i-th distinct channel, credit on its first touch; "
            "'touch': position i = i-th touch, a repeated channel's share split over its touches"
        ),
    }

    position: str = "first_visit"

    def __post_init__(self) -> None:
        require_position(self.position, owner=type(self).__name__)

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Give each distinct channel ``1 / |S|`` at its position(s)."""
        touches = converting_with_key(journeys, by)
        shares = touch_shares(touches, journey="journey_id", key="_key", index="position")
        weight = shares.first_visit if self.position == "first_visit" else shares.split
        return to_credits(touches.with_columns(weight.alias("weight")))

    def channel_values(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Return ``φ_j^i``: ``channel``, ``position`` (1-based), ``conversions``, ``revenue``."""
        return ordered_shapley_values(journeys.paths(by), position=self.position)
