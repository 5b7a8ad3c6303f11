"""Counterfactual Shapley attribution: channels valued by the conversion rate they sustain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl

from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.models.base import AttributionModel
from attribution.models.shapley import converting_with_key
from attribution.schema import CREDITS
from attribution.shapley.values import (
    MAX_EXACT_LIMIT,
    CounterfactualValues,
    Method,
    counterfactual_shapley,
)
from attribution.spread import IPF_TOLERANCE, Spread, spread_channel_credit

MAX_SAMPLES = 100_000
"""The most random permutations one run draws (the sampling error is already below 0.3%)."""


@dataclass(frozen=True)
class CounterfactualCredit:
    """Everything one run of :class:`ShapleyCounterfactual` computed.

    Attributes
    ----------
    values
        The channel-level Shapley values, the method used (``"exact"`` or
        ``"sampled"``) and the conversion rate (:class:`CounterfactualValues`).
    credits
        :data:`~attribution.schema.CREDITS`, one row per converting touch.
    spread
        How well the per-touch weights meet the channel totals
        (:class:`~attribution.spread.Spread`; ``converged`` is ``False`` when
        some journey consists only of channels whose credit was clipped to 0).
    """

    values: CounterfactualValues
    credits: pl.DataFrame
    spread: Spread

    @property
    def method(self) -> Method:
        """``"exact"`` or ``"sampled"``."""
        return self.values.method

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready diagnostics: method, samples, values and spread convergence."""
        return {
            **self.values.to_dict(),
            "spread": {
                "converged": self.spread.converged,
                "max_gap": self.spread.max_gap,
                "iterations": self.spread.iterations,
            },
        }


@dataclass(frozen=True, kw_only=True)
class ShapleyCounterfactual(AttributionModel):
    r"""Shapley value of the conversion rate a coalition of channels sustains on its own.

    Zhao et al.'s game (``shapley``) never looks at journeys that did not
    convert. Here every journey counts, converting or not, weighted by its
    ``count``: a coalition ``S`` of channels is worth the conversion rate of
    the journeys whose set of distinct channels lies within ``S``,

    ``v(S) = Σ_{T ⊆ S} c(T) / Σ_{T ⊆ S} n(T)``,

    with ``c(T)`` the conversions and ``n(T)`` all journeys whose channel set
    is exactly ``T``. Conventions (argued in :mod:`attribution.shapley.values`):

    - ``v(∅) = 0``: no journey is touch-free, so the empty coalition is the
      "no marketing" baseline.
    - ``v(S) = 0`` when no journey's channel set lies within ``S``. Such
      coalitions are closed under subsets, so the game stays at the baseline
      there; a channel seen in no journey is a null player, and
      ``Σ φ = v(all channels)``, the overall conversion rate.

    The Shapley value ``φ`` is exact over all ``2^n`` coalitions (subset sums
    by a zeta transform over bitmasks) for up to ``max_exact_channels``
    channels, and estimated from ``samples`` random permutations drawn with
    ``sampling_seed`` above that. :meth:`explain` says which, with the standard error
    of a sampled estimate.

    ``v`` is not monotone, so ``φ`` can be negative (a channel mostly seen on
    journeys that do not convert lowers every rate it joins). Credit cannot
    be negative: ``φ`` is clipped at 0 and renormalised, and channel ``j``
    earns ``max(φ_j, 0) / Σ max(φ, 0)`` × total conversions (counts included).
    Those channel totals are spread onto touches with
    :func:`attribution.spread.spread_channel_credit` (iterative proportional
    fitting on the distinct channel sets, starting from the channel's share
    divided by its number of touches in the journey, ending on the journey
    normalisation), so each converting journey's weights sum to 1.
    Where a journey consists only of channels clipped to 0, its weights stay
    an equal split (conservation first) and the channel totals can then miss
    their targets; :meth:`explain` reports the gap.

    Revenue follows the weights (weight × the journey's revenue); the game
    itself is on conversions.

    Examples
    --------
    Search converts 1 of 2 journeys on its own, Email 0 of 2, and
    Search > Email 1 of 1: ``v(Search) = ½``, ``v(Email) = 0``,
    ``v(both) = ⅖``, so ``φ_Search = 0.45`` and ``φ_Email = −0.05``, clipped
    to 0. Search earns both conversions, including the whole of the journey
    it shares with Email.

    >>> from attribution import build_journeys
    >>> tp = pl.DataFrame({"touchpoint_id": ["a1", "b1", "c1", "d1", "e1", "e2"],
    ...     "user_id": ["a", "b", "c", "d", "e", "e"], "ts": ["2024-01-01"] * 5 + ["2024-01-02"],
    ...     "channel": ["Search", "Search", "Email", "Email", "Search", "Email"]})
    >>> cv = pl.DataFrame({"conversion_id": ["ca", "ce"], "user_id": ["a", "e"],
    ...     "ts": ["2024-01-05", "2024-01-05"], "stage": ["purchase"] * 2, "revenue": [10.0, 20.0]})
    >>> journeys = build_journeys(tp, cv)
    >>> result = ShapleyCounterfactual().explain(journeys)
    >>> result.method, result.spread.converged
    ('exact', True)
    >>> result.credits.sort("touchpoint_id").select(
    ...     "journey_id", "touchpoint_id", pl.col("weight").round(9))
    shape: (3, 3)
    ┌────────────┬───────────────┬────────┐
    │ journey_id ┆ touchpoint_id ┆ weight │
    │ ---        ┆ ---           ┆ ---    │
    │ str        ┆ str           ┆ f64    │
    ╞════════════╪═══════════════╪════════╡
    │ ca         ┆ a1            ┆ 1.0    │
    │ ce         ┆ e1            ┆ 1.0    │
    │ ce         ┆ e2            ┆ 0.0    │
    └────────────┴───────────────┴────────┘
    """

    name: ClassVar[str] = "shapley_counterfactual"
    label: ClassVar[str] = "Data-driven (counterfactual Shapley)"
    summary: ClassVar[str] = (
        "Shapley value of the conversion rate of journeys within each channel coalition"
    )
    path_exact: ClassVar[bool] = True
    # Coalition values are conversion rates over all journeys: the bootstrap reruns it.
    population_independent: ClassVar[bool] = False
    param_docs: ClassVar[dict[str, str]] = {
        "max_exact_channels": (
            f"exact over all 2^n coalitions up to this many channels (0-{MAX_EXACT_LIMIT}); "
            "permutation sampling above"
        ),
        "samples": "random permutations drawn when sampling (1 to 100,000)",
        "sampling_seed": "seed of the permutation sampler (>= 0); same seed, same credit",
    }

    max_exact_channels: int = 15
    samples: int = 2000
    sampling_seed: int = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not 0 <= self.max_exact_channels <= MAX_EXACT_LIMIT:
            raise ParameterError(
                f"The 'max_exact_channels' parameter of {name} must be between 0 and "
                f"{MAX_EXACT_LIMIT}. Got {self.max_exact_channels!r} instead."
            )
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise ParameterError(
                f"The 'samples' parameter of {name} must be between 1 and {MAX_SAMPLES:,}. "
                f"Got {self.samples!r} instead."
            )
        if self.sampling_seed < 0:
            raise ParameterError(
                f"The 'sampling_seed' parameter of {name} must be >= 0. "
                f"Got {self.sampling_seed!r} instead."
            )

    def method_for(self, n_channels: int) -> Method:
        """Say how ``n_channels`` channels would be valued: ``"exact"`` or ``"sampled"``.

        Examples
        --------
        >>> ShapleyCounterfactual().method_for(15), ShapleyCounterfactual().method_for(16)
        ('exact', 'sampled')
        """
        return "exact" if n_channels <= self.max_exact_channels else "sampled"

    def shapley(self, journeys: Journeys, by: str = "channel") -> CounterfactualValues:
        """Compute the channel-level Shapley values and say how (exact or sampled)."""
        return counterfactual_shapley(
            journeys.paths(by),
            max_exact_channels=self.max_exact_channels,
            samples=self.samples,
            seed=self.sampling_seed,
        )

    def explain(self, journeys: Journeys, by: str = "channel") -> CounterfactualCredit:
        """Compute the channel values, the per-touch credit and the diagnostics together."""
        touches = converting_with_key(journeys, by)
        values = self.shapley(journeys, by)
        if touches.is_empty():
            return CounterfactualCredit(values, pl.DataFrame(schema=CREDITS), Spread(0, 0.0, True))
        table = values.values
        effects = table.select("channel", pl.col("share").alias("removal_effect"), pl.col("share"))
        credits, _, iterations, gap, _ = spread_channel_credit(
            touches, "_key", effects, normalisation="journey"
        )
        total = float(touches.group_by("journey_id").agg(pl.col("count").first())["count"].sum())
        spread = Spread(iterations, gap, gap <= IPF_TOLERANCE * max(1.0, total))
        return CounterfactualCredit(values, credits, spread)

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Spread the clipped, normalised Shapley values onto the touches."""
        return self.explain(journeys, by).credits

    def channel_values(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Return ``shapley``, ``std_error``, ``share`` and ``conversions`` per channel."""
        return self.shapley(journeys, by).values
