"""Shapley attribution on channel sets (Zhao, Mahboobi & Bagheri 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.constants import NOT_SET
from attribution.journeys import Journeys, require_touch_column
from attribution.models.base import AttributionModel, to_credits
from attribution.shapley.values import shapley_values, touch_shares

"""Name of a touch with no value in the ``by`` column, as :meth:`Journeys.paths` spells it."""


@dataclass(frozen=True, kw_only=True)
class Shapley(AttributionModel):
    r"""Zhao's simplified Shapley value: each conversion split equally over the path's channels.

    Players are the channels (or the values of ``by``). With ``R(S)`` the
    conversions of journeys whose set of distinct channels is exactly ``S``,
    a coalition is worth what its subsets converted, ``v(S) = Σ_{T ⊆ S} R(T)``,
    and the Shapley value is ``φ_j = Σ_{S ∋ j} R(S) / |S|`` (Zhao, Mahboobi and
    Bagheri 2018, "Shapley Value Methods for Attribution Modeling in Online
    Advertising", arXiv:1804.05327, the "simplified Shapley value"). The same
    formula with revenue for ``R`` gives revenue credit.

    Read per journey, the formula is an equal split over the journey's
    *distinct* channels, and that is how touches are credited: each distinct
    channel of a journey gets ``1 / |S|``, shared equally among that channel's
    touches. ``Search > Email > Search`` gives Email ½ and each Search touch ¼.
    Summing the weights (× revenue) by channel gives exactly ``φ_j``;
    :meth:`channel_values` computes it from the coalition formula instead.

    Assumptions: only converting journeys carry value (Zhao's ``v`` ignores
    non-converting journeys; see ``shapley_counterfactual`` for a game that
    does not); order and repetition within a journey do not matter; a
    channel never seen on a converting journey gets nothing.

    Examples
    --------
    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"], "user_id": ["a"] * 4,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "channel": ["Search", "Email", "Search", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [90.0]})
    >>> Shapley().credit(build_journeys(tp, cv)).drop("revenue_weight")
    shape: (4, 3)
    ┌────────────┬───────────────┬──────────┐
    │ journey_id ┆ touchpoint_id ┆ weight   │
    │ ---        ┆ ---           ┆ ---      │
    │ str        ┆ str           ┆ f64      │
    ╞════════════╪═══════════════╪══════════╡
    │ c1         ┆ t1            ┆ 0.166667 │
    │ c1         ┆ t2            ┆ 0.333333 │
    │ c1         ┆ t3            ┆ 0.166667 │
    │ c1         ┆ t4            ┆ 0.333333 │
    └────────────┴───────────────┴──────────┘
    """

    name: ClassVar[str] = "shapley"
    label: ClassVar[str] = "Data-driven (Shapley)"
    population_independent: ClassVar[bool] = True
    summary: ClassVar[str] = (
        "Zhao's simplified Shapley value: equal split over a path's distinct channels"
    )
    path_exact: ClassVar[bool] = True

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Give each distinct channel ``1 / |S|``, shared by its touches."""
        touches = converting_with_key(journeys, by)
        shares = touch_shares(touches, journey="journey_id", key="_key", index="position")
        return to_credits(touches.with_columns(shares.split.alias("weight")))

    def channel_values(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Return ``φ_j`` per channel (conversions and revenue) from the coalition formula."""
        return shapley_values(journeys.paths(by))


def converting_with_key(journeys: Journeys, by: str) -> pl.DataFrame:
    """Return the converting touches with ``_key``: the ``by`` column as the paths spell it."""
    require_touch_column(journeys.touches, by)
    key = pl.col(by).cast(pl.String).fill_null(NOT_SET)
    return journeys.converting.with_columns(key.alias("_key"))
