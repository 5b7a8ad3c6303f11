"""Spread channel-level credit back onto the touches of each journey.

Data-driven models (Markov removal effects, counterfactual Shapley) are
defined on channel totals: "alpha earns 31.2% of all conversions". Reports by
campaign, source or any other touch column need credit per touch.
:func:`spread_channel_credit` finds per-touch weights by iterative
proportional fitting (IPF, also called RAS or matrix raking):

1. start from each channel's share, divided by the number of its touches in
   the journey, scaled to sum to 1 per journey;
2. scale every channel so its total (``Σ weight × count``) equals its target;
3. scale every journey's weights back to sum to 1;
4. repeat 2-3 until the channel totals are within ``1e-10`` per conversion.

IPF runs on the distinct *channel sets* of journeys, weighted by how many
journeys share each set: row and column scaling never tell journeys with the
same set apart, so the matrix is at most (distinct sets × channels) however
many journeys there are, and 1,000 iterations cost milliseconds.

When the targets can be met, IPF converges to the weights closest to the
start (Kullback-Leibler) that satisfy both margins. When they cannot (a
channel owed less than the journeys that only touch it), ``normalisation``
says which margin wins: ``"journey"`` ends on step 3 (every journey sums to
1, channel totals approximate), ``"global"`` ends on step 2 (channel totals
exact, single journeys may sum to a little more or less than 1). The grand
total is exact either way, and the notes returned say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from attribution.constants import NOT_SET
from attribution.schema import CREDITS


@dataclass(frozen=True)
class Spread:
    """How well the spreading met the channel targets."""

    iterations: int
    max_gap: float
    converged: bool


IPF_TOLERANCE = 1e-10
"""Largest accepted gap between a channel's credited and target conversions, per conversion."""

IPF_MAX_ITERATIONS = 1_000

NORMALISATIONS = ("global", "journey")
"""Which margin wins when both cannot hold at once (see the module docstring)."""


def spread_channel_credit(
    converting: pl.DataFrame,
    by: str,
    effects: pl.DataFrame,
    normalisation: str = "global",
    mass: pl.Expr | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, int, float, list[str]]:
    """Spread channel credit onto touches by iterative proportional fitting.

    Parameters
    ----------
    converting
        Converting touches (``journey_id``, ``touchpoint_id``, ``n_touches``,
        ``count`` and the ``by`` column).
    by
        The touch column the channel credit is keyed by.
    effects
        ``channel``, ``removal_effect`` (any non-negative score; 0 means "no
        credit") and ``share`` (the normalised share of the total).
    normalisation
        ``"global"`` or ``"journey"``: which margin wins when both cannot hold.
    mass
        Each journey's mass (default ``count``; ``count × revenue`` to spread
        revenue).

    Returns
    -------
    tuple
        Credits (:data:`~attribution.schema.CREDITS`), per-channel ``target``
        and ``credited`` totals, IPF iterations, the largest gap before the
        final scaling, and plain-language notes.

    Examples
    --------
    Two journeys, A→B and B; A is owed 0.75 conversions and B 1.25:

    >>> touches = pl.DataFrame({"journey_id": ["j1", "j1", "j2"],
    ...     "touchpoint_id": ["t1", "t2", "t3"], "n_touches": [2, 2, 1],
    ...     "count": [1.0, 1.0, 1.0], "channel": ["A", "B", "B"]})
    >>> effects = pl.DataFrame({"channel": ["A", "B"], "removal_effect": [0.75, 1.25],
    ...     "share": [0.375, 0.625]})
    >>> credits, totals, *_ = spread_channel_credit(touches, "channel", effects)
    >>> credits["weight"].round(6).to_list()
    [0.75, 0.25, 1.0]
    """
    notes: list[str] = []
    # ``count`` below is each journey's mass: its conversions, or its revenue.
    # Journeys without mass (a zero-revenue deal, a bootstrap draw of 0) cannot
    # carry credit and are left out; masses below 1e-12 of the largest count
    # as none, which keeps the scaling below free of under- and overflow.
    touches = converting.select(
        "journey_id",
        "touchpoint_id",
        "n_touches",
        (pl.col("count") if mass is None else mass).alias("count"),
        pl.col(by).fill_null(NOT_SET).alias("channel"),
    )
    largest = touches["count"].max()
    floor = 1e-12 * float(largest) if isinstance(largest, (int, float)) else 0.0
    touches = touches.filter(pl.col("count") > floor)
    journey_counts = touches.group_by("journey_id").agg(pl.col("count").first())
    n_conversions = float(journey_counts["count"].sum())
    cells = (
        touches.group_by("journey_id", "channel")
        .agg(pl.len().alias("n_channel"))
        .join(effects.select("channel", "removal_effect"), on="channel", how="left")
        .with_columns(pl.col("removal_effect").fill_null(0.0))
    )
    row_effect = pl.col("removal_effect").sum().over("journey_id")
    uniform_cells = cells.filter(row_effect <= 0.0)
    fitted_cells = cells.filter(row_effect > 0.0)
    uniform_ids = uniform_cells["journey_id"].unique()
    n_uniform = float(
        journey_counts.filter(pl.col("journey_id").is_in(uniform_ids.implode()))["count"].sum()
    )
    if n_uniform:
        notes.append(
            f"{n_uniform:,g} converting journey(s) only touch channels with removal effect 0; "
            "they got equal weights per touch."
        )

    present = sorted(fitted_cells.filter(pl.col("removal_effect") > 0)["channel"].unique())
    share_of = dict(zip(effects["channel"], effects["share"], strict=True))
    absent = [c for c, s in share_of.items() if s > 0 and c not in present]
    if absent:
        lost = sum(share_of[c] for c in absent)
        notes.append(
            f"Channel(s) {', '.join(absent)} have a removal effect but no touch in a converting "
            f"journey; their share ({lost:.2%}) was spread over the other channels in proportion."
        )
    n_fitted = n_conversions - n_uniform
    present_share = sum(share_of[c] for c in present)
    targets = np.array(
        [share_of[c] / present_share * n_fitted if present_share > 0 else 0.0 for c in present]
    )

    column = {c: i for i, c in enumerate(present)}
    channel_sets = (
        fitted_cells.filter(pl.col("removal_effect") > 0)
        .group_by("journey_id")
        .agg(pl.col("channel").sort().alias("set"))
        .join(journey_counts, on="journey_id")
    )
    rows = channel_sets.group_by("set").agg(pl.col("count").sum().alias("journeys")).sort("set")
    start = np.zeros((rows.height, len(present)))
    for r, members in enumerate(rows["set"].to_list()):
        for c in members:
            start[r, column[c]] = share_of[c]
    multiplicity = rows["journeys"].to_numpy().astype(float)
    weights, iterations, error = ipf(start, multiplicity, targets)
    if error > IPF_TOLERANCE * max(1, n_fitted):
        if normalisation == "global":
            totals = multiplicity @ weights
            weights = weights * np.divide(
                targets, totals, out=np.zeros_like(targets), where=totals > 0
            )
            drift = float(np.abs(weights.sum(axis=1) - 1.0).max())
            notes.append(
                "The channel credits cannot be matched by per-touch weights that sum to 1 in "
                f"every journey (IPF stopped after {iterations:,} iterations, largest gap "
                f"{error:.3g} conversions). With normalisation='global' the channel totals "
                "are kept exact (as ChannelAttribution reports them) and the weights of single "
                f"journeys may differ from 1 by up to {drift:.3g}; the grand total is exact."
            )
        else:
            notes.append(
                "The channel credits cannot be matched by per-touch weights that sum to 1 in "
                f"every journey (IPF stopped after {iterations:,} iterations, largest gap "
                f"{error:.3g} conversions). With normalisation='journey' every journey still "
                "sums to 1 and the channel totals are the closest IPF reached."
            )

    set_weights = pl.DataFrame(
        {
            "set": rows["set"],
            "weights": weights.tolist(),
        },
        schema={"set": pl.List(pl.String), "weights": pl.List(pl.Float64)},
    )
    per_channel = (
        set_weights.with_columns(pl.lit(present, dtype=pl.List(pl.String)).alias("channel"))
        .explode("weights", "channel")
        .rename({"weights": "cell_weight"})
    )
    fitted_weights = (
        channel_sets.join(per_channel, on="set")
        .select("journey_id", "channel", "cell_weight")
        .join(cells, on=["journey_id", "channel"], how="right")
        .with_columns(pl.col("cell_weight").fill_null(0.0))
    )
    channel_sets = channel_sets.drop("count")
    weighted = touches.join(
        fitted_weights.select("journey_id", "channel", "cell_weight", "n_channel"),
        on=["journey_id", "channel"],
        how="left",
    ).with_columns(
        pl.when(pl.col("journey_id").is_in(uniform_cells["journey_id"].unique().implode()))
        .then(1.0 / pl.col("n_touches").cast(pl.Float64))
        .otherwise(pl.col("cell_weight") / pl.col("n_channel"))
        .alias("weight")
    )
    credits = (
        weighted.with_columns(pl.col("weight").alias("revenue_weight"))
        .select(pl.col(c).cast(t) for c, t in CREDITS.items())
        .sort("journey_id", "touchpoint_id")
    )
    channel_credit = (
        weighted.group_by("channel")
        .agg((pl.col("weight") * pl.col("count")).sum().alias("credited"))
        .join(
            effects.select("channel", (pl.col("share") * n_conversions).alias("target")),
            on="channel",
            how="full",
            coalesce=True,
        )
        .select("channel", pl.col("target").fill_null(0.0), pl.col("credited").fill_null(0.0))
        .sort("channel")
    )
    return credits.cast(CREDITS), channel_credit, iterations, error, notes


def ipf(
    start: np.ndarray, multiplicity: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, int, float]:
    """Fit row sums to 1 and multiplicity-weighted column sums to ``targets``.

    Returns the weights, the iterations used and the largest column gap.
    Always ends with the row normalisation, so rows sum to 1 even if the
    column targets cannot be met.
    """
    if start.size == 0:
        return start, 0, 0.0
    weights = start / start.sum(axis=1, keepdims=True)
    tolerance = IPF_TOLERANCE * max(1.0, float(multiplicity.sum()))

    def gap(w: np.ndarray) -> float:
        return float(np.abs(multiplicity @ w - targets).max())

    error = gap(weights)
    iterations = 0
    while error >= tolerance and iterations < IPF_MAX_ITERATIONS:
        totals = multiplicity @ weights
        weights = weights * np.divide(targets, totals, out=np.zeros_like(targets), where=totals > 0)
        weights = weights / weights.sum(axis=1, keepdims=True)
        iterations += 1
        error = gap(weights)
    return weights, iterations, error


__all__ = [
    "IPF_MAX_ITERATIONS",
    "IPF_TOLERANCE",
    "NORMALISATIONS",
    "Spread",
    "ipf",
    "spread_channel_credit",
]
