"""Ordered Shapley attribution: Zhao's Shapley value split by touch position.

:func:`position_credit` turns the model's per-touch credit into the
position × channel table the ordering is for (positions past
:data:`MAX_POSITION` - 1 are summed into one ``k+`` row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import ParameterError
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


MAX_POSITION = 5
"""Positions shown one by one before the last row, ``5+``, sums the rest."""


def position_label(index: pl.Expr, max_position: int = MAX_POSITION) -> pl.Expr:
    """Return the label of a 1-based position: ``"1"`` … ``"k-1"``, then ``"k+"``.

    Examples
    --------
    >>> pl.DataFrame({"i": [1, 4, 5, 9]}).select(position_label(pl.col("i")))["i"].to_list()
    ['1', '4', '5+', '5+']
    """
    return (
        pl.when(index < max_position)
        .then(index.cast(pl.String))
        .otherwise(pl.lit(f"{max_position}+"))
    )


def position_credit(
    credits: pl.DataFrame,
    by: str = "channel",
    *,
    position: str = "first_visit",
    max_position: int = MAX_POSITION,
) -> pl.DataFrame:
    """Sum the ordered Shapley credit per position and ``by`` value: Zhao's ``φ_j^i`` table.

    Position follows the model's ``position`` convention: with
    ``first_visit`` the ``i``-th distinct channel of the journey (the order
    its channels were first visited), with ``touch`` the ``i``-th touch. The
    credit is the model's own, so a channel's positions sum to its row of
    the report, and all positions to the credited conversions and revenue.

    Parameters
    ----------
    credits
        Credited touches (:func:`attribution.models.base.credit_touches`:
        ``journey_id``, ``position``, ``by``, ``attributed_conversions``,
        ``attributed_revenue``) of a ``shapley_ordered`` run.
    by
        The column credit was keyed by.
    position
        ``first_visit`` or ``touch``: the model's ``position`` parameter.
    max_position
        Positions from this one on are summed into one ``"<max>+"`` row.

    Returns
    -------
    polars.DataFrame
        ``position`` (label), ``by``, ``conversions``, ``revenue``: one row
        per position and value with credit, sorted by position then value.

    Examples
    --------
    ``Search > Email > Search > Display`` for 90: Search opens (position 1),
    Email is the second channel visited, Display the third.

    >>> from attribution import build_journeys
    >>> from attribution.models.base import credit_touches
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"], "user_id": ["a"] * 4,
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
    ...     "channel": ["Search", "Email", "Search", "Display"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1"], "user_id": ["a"], "ts": ["2024-01-05"],
    ...     "stage": ["purchase"], "revenue": [90.0]})
    >>> credits = credit_touches(build_journeys(tp, cv), ShapleyOrdered())
    >>> position_credit(credits, max_position=3).select("position", "channel", "revenue").rows()
    [('1', 'Search', 30.0), ('2', 'Email', 30.0), ('3+', 'Display', 30.0)]
    """
    require_position(position, owner="position_credit")
    if max_position < 1:
        raise ParameterError(
            f"The 'max_position' parameter of position_credit must be >= 1. "
            f"Got {max_position!r} instead."
        )
    key = pl.col(by).cast(pl.String).fill_null(NOT_SET)
    if position == "first_visit":
        first_visit = pl.col("position").min().over("journey_id", key)
        index = first_visit.rank("dense").over("journey_id")
    else:
        index = pl.col("position").rank("ordinal").over("journey_id")
    rows = credits.select(
        position_label(index.cast(pl.Int64), max_position).alias("position"),
        index.cast(pl.Int64).clip(upper_bound=max_position).alias("_rank"),
        key.alias(by),
        pl.col("attributed_conversions").alias("conversions"),
        pl.col("attributed_revenue").alias("revenue"),
    )
    return (
        rows.group_by("position", "_rank", by)
        .agg(pl.col("conversions", "revenue").sum())
        .filter(pl.col("conversions") != 0)
        .sort("_rank", by)
        .drop("_rank")
    )


__all__ = ["MAX_POSITION", "ShapleyOrdered", "position_credit", "position_label"]
