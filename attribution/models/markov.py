"""The data-driven Markov-chain model: removal effects, computed exactly.

See :mod:`attribution.markov` for the chain, the maths and the choice of
order; this module turns channel removal effects into per-touch credit, and
tells the bootstrap how to re-solve the chain on resamples
(:meth:`Markov.resampler`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import ParameterError
from attribution.export import json_ready
from attribution.journeys import Journeys, require_converting, require_touch_column
from attribution.markov.chain import (
    MAX_ORDER,
    SEP,
    STEPS,
    ChainEffects,
    FirstOrderChain,
    PathChain,
    State,
    build_chain,
    conversion_probability,
    path_counts,
    require_order,
    transition_counts,
)
from attribution.markov.order import OrderSelection, select_order
from attribution.models.base import AttributionModel, key_frame
from attribution.models.resampling import FloatArray, Resampler, ResampleSpec, one_at_a_time
from attribution.schema import CREDITS
from attribution.spread import (
    IPF_MAX_ITERATIONS,
    IPF_TOLERANCE,
    NORMALISATIONS,
    spread_channel_credit,
)

if TYPE_CHECKING:
    import networkx as nx

REMOVAL_EFFECTS = pl.Schema(
    {
        "channel": pl.String(),
        "removal_effect": pl.Float64(),
        "share": pl.Float64(),
        "value_removal_effect": pl.Float64(),
        "value_share": pl.Float64(),
    }
)
"""Output of :meth:`Markov.removal_effects`."""


AUTO = "auto"
"""The ``order`` value that picks the order by held-out log-likelihood."""


@dataclass(frozen=True)
class MarkovFit:
    """Everything one Markov run computed, for ``credit`` and for explaining it.

    Attributes
    ----------
    transitions
        The chain's transition counts (:data:`attribution.markov.TRANSITIONS`).
    conversion_probability
        Probability that a journey from ``(start)`` converts in the full chain.
    removal_effects
        :data:`REMOVAL_EFFECTS`: per channel, its removal effect and its
        normalised ``share`` (the ChannelAttribution channel credit is
        ``share × conversions``).
    credits
        :data:`~attribution.schema.CREDITS`, one row per touch of a converting journey.
    channel_credit
        ``channel``, ``target`` (share × conversions) and ``credited``
        (the sum of the touch weights of that channel).
    revenue_credit
        The same for revenue: ``target`` is the value share × revenue.
    ipf_iterations
        Iterations the spreading took (0 if the start already fitted).
    ipf_error
        Largest ``|credited − target|`` over channels, in conversions.
    diagnostics
        Plain-language notes on anything that made the credit deviate from
        the textbook case; empty when nothing did.
    order
        The order the chain was built with (the chosen one with ``order="auto"``).
    order_selection
        With ``order="auto"``: the held-out score of every order tried; else ``None``.
    chain
        The absorbing chain as a state graph (:func:`attribution.markov.build_chain`),
        built from ``transitions`` when first asked for (NetworkX loads then).
    """

    transitions: pl.DataFrame
    conversion_probability: float
    removal_effects: pl.DataFrame
    credits: pl.DataFrame
    channel_credit: pl.DataFrame
    revenue_credit: pl.DataFrame
    ipf_iterations: int
    ipf_error: float
    diagnostics: tuple[str, ...]
    order: int = 1
    order_selection: OrderSelection | None = None

    @cached_property
    def chain(self) -> nx.DiGraph:
        """The absorbing chain as a state graph (built once, on first use)."""
        return build_chain(self.transitions)


@dataclass(frozen=True, kw_only=True)
class Markov(AttributionModel):
    """Credit channels by their removal effect in an order-k absorbing Markov chain.

    Journeys, converting **and** non-converting, are rolled up to paths; the
    paths define an absorbing chain whose states are the last ``order``
    channels, plus ``(start)``, ``(conversion)`` and ``(null)`` (Anderl et al.
    2016; ChannelAttribution). A channel's *removal effect* is the relative
    drop of the chain's conversion probability when every state containing the
    channel leads to ``(null)``; it is computed exactly, by solving the
    absorption equations with a sparse LU factorisation, not by simulation.

    Channel credit, as in ChannelAttribution, is the normalised removal effect
    times the number of conversions. It is spread onto touches so that each
    converting journey's weights sum to 1 **and** each channel's weights sum to
    its credit: the weights start proportional to the removal effect of the
    touch's channel, divided by how often that channel occurs in the journey,
    then are fitted by iterative proportional fitting (scale every channel to
    its credit, renormalise every journey, repeat until the totals are within
    ``1e-10`` per conversion or 1,000 iterations).

    Such weights do not always exist. On ChannelAttribution's own example data
    5,742 conversions come from journeys that only touched ``alpha``, yet the
    normalised removal effect gives ``alpha`` 5,345: no per-journey split can
    give a lone ``alpha`` touch less than the whole conversion. The
    ``normalisation`` parameter says which margin wins then:

    - ``"global"`` (default): channel totals are exactly the normalised removal
      effects × conversions, as ChannelAttribution reports them; the IPF weights
      are scaled per channel to those totals, so single journeys may sum to a
      little more or less than 1. The grand total is always exact.
    - ``"journey"``: every journey's weights sum to 1 exactly (the textbook
      per-conversion allocation) and channel totals are the closest IPF got.

    Either way :meth:`fit` reports the gap in ``diagnostics``.

    ``order="auto"`` chooses the order from 1 to ``max_order`` by predictive
    power on journeys the chain was not fit on: persons (``user_id``; for
    aggregated paths, each path row's converting or non-converting journeys)
    are split by a hash seeded with ``holdout_seed``, a share ``holdout`` of
    them held out; a chain of every order is fit on the rest and scored by the
    log-likelihood of each held-out journey's whole path, absorbing step
    included (:func:`attribution.markov.held_out_log_likelihoods`:
    unseen transitions back off to the next lower order). The best order is
    then fit on all journeys; :meth:`fit` and :meth:`explain` report the score
    of every order.

    Assumptions and conventions:

    - The next step depends only on the last ``order`` channels. At order k
      a journey's first k − 1 touches are in shorter prefix states; this gives
      the same removal effects as ChannelAttribution's first full window.
    - ``collapse_repeats=False`` keeps consecutive repeats of a channel as
      self-loops. At order 1 collapsing them changes nothing, because a
      self-loop never changes an absorption probability (proved in
      :mod:`attribution.markov.chain`, checked by a test). ChannelAttribution's
      ``markov_model`` drops self-transitions of a repeated state (since 1.15;
      its ``transition_matrix`` keeps them by default), which likewise leaves
      removal effects unchanged. At order ≥ 2 ``collapse_repeats=True``
      removes states such as ``(A, A)`` and so changes the model.
    - Without non-converting journeys every state converts with probability 1,
      so a removal effect is the probability that a journey passes through the
      channel — reach, not lift. That is still defined and warning-free;
      ``diagnostics`` says so.
    - A channel seen only in non-converting journeys can still have a removal
      effect (the chain recombines paths), but has no touch to carry credit:
      its share is spread over the other channels in proportion and
      ``diagnostics`` names it. Journeys whose channels all have removal
      effect 0 get equal weights per touch.
    - Conversions with no touch (``Journeys.untouched``) are not credited.

    References: E. Anderl, I. Becker, F. v. Wangenheim, J. H. Schumann,
    "Mapping the customer journey: Lessons learned from graph-based online
    attribution modeling", IJRM 33(3), 2016; D. Altomare, ChannelAttribution
    (R/Python package), ``markov_model``.

    Examples
    --------
    >>> from attribution.journeys import build_journeys
    >>> from attribution.report import attribute
    >>> tp = pl.DataFrame({"touchpoint_id": ["t1", "t2", "t3", "t4"],
    ...     "user_id": ["a", "a", "b", "c"],
    ...     "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
    ...     "channel": ["Email", "Search", "Search", "Email"]})
    >>> cv = pl.DataFrame({"conversion_id": ["c1", "c2"], "user_id": ["a", "b"],
    ...     "ts": ["2024-01-05", "2024-01-05"], "stage": ["purchase", "purchase"],
    ...     "revenue": [100.0, 300.0]})
    >>> journeys = build_journeys(tp, cv)
    >>> Markov().removal_effects(journeys).select("channel", "removal_effect", "share")
    shape: (2, 3)
    ┌─────────┬────────────────┬──────────┐
    │ channel ┆ removal_effect ┆ share    │
    │ ---     ┆ ---            ┆ ---      │
    │ str     ┆ f64            ┆ f64      │
    ╞═════════╪════════════════╪══════════╡
    │ Email   ┆ 0.5            ┆ 0.333333 │
    │ Search  ┆ 1.0            ┆ 0.666667 │
    └─────────┴────────────────┴──────────┘

    Both conversions end in state ``(Search)`` with mean value 200, so the
    value removal effects equal the count ones here.

    Two conversions: Email's credit is ⅓ × 2 = ⅔, all of it on ``t1``; Search
    gets ⅓ in ``c1`` and all of ``c2``, 4/3 in total.

    >>> Markov().credit(journeys).sort("touchpoint_id").drop("revenue_weight")
    shape: (3, 3)
    ┌────────────┬───────────────┬──────────┐
    │ journey_id ┆ touchpoint_id ┆ weight   │
    │ ---        ┆ ---           ┆ ---      │
    │ str        ┆ str           ┆ f64      │
    ╞════════════╪═══════════════╪══════════╡
    │ c1         ┆ t1            ┆ 0.666667 │
    │ c1         ┆ t2            ┆ 0.333333 │
    │ c2         ┆ t3            ┆ 1.0      │
    └────────────┴───────────────┴──────────┘

    Revenue is 400: Email is owed ⅓ × 400 = 133.33, but ``c1`` only brought
    100 and ``c2`` (300) only touched Search. With the default
    ``normalisation="global"`` the channel totals are kept (Email 133.33,
    Search 266.67), so ``c1``'s Email touch carries 1.33 of its revenue;
    ``normalisation="journey"`` keeps each deal's revenue on its own touches.

    >>> report = attribute(tp, cv, model=Markov())
    >>> report.data.select("channel", "conversions", "revenue")
    shape: (2, 3)
    ┌─────────┬─────────────┬────────────┐
    │ channel ┆ conversions ┆ revenue    │
    │ ---     ┆ ---         ┆ ---        │
    │ str     ┆ f64         ┆ f64        │
    ╞═════════╪═════════════╪════════════╡
    │ Search  ┆ 1.333333    ┆ 266.666667 │
    │ Email   ┆ 0.666667    ┆ 133.333333 │
    └─────────┴─────────────┴────────────┘
    """

    name: ClassVar[str] = "markov"
    label: ClassVar[str] = "Data-driven (Markov chain)"
    # Removal effects come from all journeys: the bootstrap re-solves the chain.
    population_independent: ClassVar[bool] = False
    summary: ClassVar[str] = (
        "Removal effect in an order-k absorbing Markov chain of converting and "
        "non-converting paths, solved exactly"
    )
    param_docs: ClassVar[dict[str, str]] = {
        "order": (
            f"Number of last channels a state remembers (1 to {MAX_ORDER}), or 'auto': the "
            "order with the best held-out log-likelihood."
        ),
        "collapse_repeats": (
            "Merge consecutive repeats of a channel before building states (no effect at order 1)."
        ),
        "normalisation": (
            "'global': channel totals = normalised removal effect x conversions, exactly "
            "(ChannelAttribution); 'journey': every journey's weights sum to 1 exactly."
        ),
        "max_order": "With order='auto': the highest order tried.",
        "holdout": "With order='auto': share of persons held out to score each order (0 to 1).",
        "holdout_seed": "With order='auto': seed of the hash that splits persons.",
    }

    order: int | str = 1
    collapse_repeats: bool = False
    normalisation: str = "global"
    max_order: int = MAX_ORDER
    holdout: float = 0.3
    holdout_seed: int = 0

    def __post_init__(self) -> None:
        if self.order != AUTO:
            if isinstance(self.order, str):
                raise ParameterError(
                    f"The 'order' parameter of Markov must be an integer from 1 to {MAX_ORDER} "
                    f"or 'auto'. Got {self.order!r} instead."
                )
            require_order(self.order, owner="Markov")
        if (
            isinstance(self.max_order, bool)
            or not isinstance(self.max_order, int)
            or not 1 <= self.max_order <= MAX_ORDER
        ):
            raise ParameterError(
                f"The 'max_order' parameter of Markov must be an integer from 1 to {MAX_ORDER}. "
                f"Got {self.max_order!r} instead."
            )
        if (
            isinstance(self.holdout, bool)
            or not isinstance(self.holdout, int | float)
            or not 0 < self.holdout < 1
        ):
            raise ParameterError(
                "The 'holdout' parameter of Markov must be a number between 0 and 1 "
                f"(exclusive). Got {self.holdout!r} instead."
            )
        if isinstance(self.holdout_seed, bool) or not isinstance(self.holdout_seed, int):
            raise ParameterError(
                f"The 'holdout_seed' parameter of Markov must be an integer. "
                f"Got {self.holdout_seed!r} instead."
            )
        if self.normalisation not in NORMALISATIONS:
            raise ParameterError(
                "The 'normalisation' parameter of Markov must be one of "
                f"{', '.join(NORMALISATIONS)}. Got {self.normalisation!r} instead."
            )
        if not isinstance(self.collapse_repeats, bool):
            raise ParameterError(
                "The 'collapse_repeats' parameter of Markov must be true or false. "
                f"Got {self.collapse_repeats!r} instead."
            )

    def runs_on_paths(self, by: str = "channel") -> bool:
        """Say whether paths suffice: yes, but ``order="auto"`` splits persons to score orders.

        Examples
        --------
        >>> Markov(order=2).runs_on_paths(), Markov(order="auto").runs_on_paths()
        (True, False)
        """
        return self.order != "auto"

    def weights_sum_to_one_per_journey(self) -> bool:
        """Only ``normalisation="journey"`` guarantees it (see the class docstring)."""
        return self.normalisation == "journey"

    def on_steps(self, steps: pl.DataFrame) -> CountedMarkov:
        """Return this model crediting from step counts of every journey (order 1 only).

        At order 1 the chain depends on the journeys only through their steps
        (:class:`~attribution.markov.FirstOrderChain`): the engine counts
        those where the data lives, and only the converting journeys, which
        carry the credit, need to be given to the returned model's
        :meth:`credit`. Same parameters and numbers as this model on every
        journey (:class:`CountedMarkov`).

        Parameters
        ----------
        steps
            :data:`~attribution.markov.STEPS` of every journey, converting or
            not (:func:`attribution.markov.path_steps` counts them from paths).

        Raises
        ------
        ParameterError
            Unless ``order`` is 1.

        Examples
        --------
        >>> from attribution.markov import path_steps
        >>> from attribution.paths import journeys_from_path_lists
        >>> paths = pl.DataFrame({"path": [["A", "B"], ["B"], ["A"]],
        ...     "conversions": [1.0, 1.0, 0.0], "revenue": [100.0, 300.0, 0.0],
        ...     "nulls": [0.0, 0.0, 1.0]})
        >>> converting = journeys_from_path_lists(paths.filter(pl.col("conversions") > 0))
        >>> counted = Markov().on_steps(path_steps(paths))
        >>> counted.removal_effects(converting).select("channel", "removal_effect").rows()
        [('A', 0.5), ('B', 1.0)]
        """
        return CountedMarkov(**self.params(), steps=steps)

    def select_order(self, journeys: Journeys, by: str = "channel") -> OrderSelection:
        """Score orders 1 to ``max_order`` on held-out journeys and pick the best.

        Works whatever ``order`` is set to (it is what ``order="auto"`` runs).
        Persons are split by ``blake2b(f"{holdout_seed}:{user_id}")``: a person
        is held out when the hash, read as a fraction of 2**64, is below
        ``holdout``, so the split is reproducible across runs and machines and
        a person's journeys stay together. With too few persons to hold any
        out (or to keep any), order 1 is chosen and ``note`` says why.

        Examples
        --------
        >>> from attribution.simulate import random_chain, simulate_markov_journeys
        >>> from attribution.journeys import build_journeys
        >>> tp, cv = simulate_markov_journeys(3_000, **random_chain(3, seed=1).as_kwargs(), seed=2)
        >>> selection = Markov(order="auto", max_order=3).select_order(build_journeys(tp, cv))
        >>> selection.chosen, [s["order"] for s in selection.scores]
        (1, [1, 2, 3])
        """
        return select_order(
            journeys,
            by,
            max_order=self.max_order,
            collapse_repeats=self.collapse_repeats,
            holdout=self.holdout,
            seed=self.holdout_seed,
        )

    def _resolve_order(self, journeys: Journeys, by: str) -> tuple[int, OrderSelection | None]:
        if self.order == AUTO:
            selection = self.select_order(journeys, by)
            return selection.chosen, selection
        return int(self.order), None

    def chain(self, journeys: Journeys, by: str = "channel") -> nx.DiGraph:
        """Return the absorbing chain built from all journeys' paths."""
        require_touch_column(journeys.touches, by)
        order, _ = self._resolve_order(journeys, by)
        counts = transition_counts(journeys.paths(by), order, self.collapse_repeats)
        return build_chain(counts)

    def conversion_probability(self, journeys: Journeys, by: str = "channel") -> float:
        """Return the probability that a journey converts, in the full chain."""
        return conversion_probability(self.chain(journeys, by))

    def removal_effects(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Return :data:`REMOVAL_EFFECTS`: each channel's removal effect and normalised share."""
        return self._analyse(journeys, by)[2]

    def _analyse(
        self, journeys: Journeys, by: str, order: int | None = None
    ) -> tuple[pl.DataFrame, nx.DiGraph, pl.DataFrame]:
        """Return the paths, the state graph and the removal effects (count and value).

        ``order`` overrides the model's (with ``order="auto"`` it is chosen here if not given).
        """
        paths, transitions, effects, _ = self._solve(journeys, by, order)
        return paths, build_chain(transitions), effects

    def _solve(
        self, journeys: Journeys, by: str, order: int | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, ChainEffects]:
        """:meth:`_analyse` (transition counts for the graph), and the chain's solve."""
        require_touch_column(journeys.touches, by)
        if order is None:
            order, _ = self._resolve_order(journeys, by)
        paths = journeys.paths(by)
        chain = PathChain.from_paths(
            paths["path"], order=order, collapse_repeats=self.collapse_repeats
        )
        conversions, revenue, nulls = path_counts(paths, "conversions", "revenue", "nulls")
        solved = chain.effects(conversions, revenue, nulls)
        transitions = chain.transition_counts(conversions, nulls)
        return paths, transitions, _solved_frame(solved), solved

    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Credit every converting journey to its touches (see the class docstring)."""
        return self.fit(journeys, by).credits

    def diagnostics(self, journeys: Journeys, by: str = "channel") -> tuple[str, ...]:
        """Return the notes of :meth:`fit`: why credit may differ from the textbook case."""
        return self.fit(journeys, by).diagnostics

    def fit(self, journeys: Journeys, by: str = "channel") -> MarkovFit:
        """Compute the chain, removal effects and per-touch credit in one pass."""
        require_converting(journeys)
        order, selection = self._resolve_order(journeys, by)
        paths, transitions, effects, solved = self._solve(journeys, by, order)
        return self._credit_touches(
            journeys.converting,
            by,
            transitions,
            effects,
            solved,
            revenue=float(paths["revenue"].sum()),
            non_converting=not journeys.touches.filter(~pl.col("converted")).is_empty(),
            order=order,
            selection=selection,
        )

    def _credit_touches(
        self,
        converting: pl.DataFrame,
        by: str,
        transitions: pl.DataFrame,
        effects: pl.DataFrame,
        solved: ChainEffects,
        *,
        revenue: float,
        non_converting: bool,
        order: int,
        selection: OrderSelection | None,
    ) -> MarkovFit:
        """Spread the solved chain's credit onto ``converting`` touches.

        ``revenue`` is the converting journeys' revenue and ``non_converting``
        whether the chain saw any journey that did not convert.
        """
        value_effects = effects.select(
            "channel",
            pl.col("value_removal_effect").alias("removal_effect"),
            pl.col("value_share").alias("share"),
        )
        notes: list[str] = []
        if not non_converting:
            notes.append(
                "No non-converting journeys: every state converts with probability 1, so a "
                "removal effect is the probability that a journey passes through the channel "
                "(reach, not lift). Include non-converting journeys for lift."
            )
        credits, channel_credit, iterations, error, spread_notes = spread_channel_credit(
            converting, by, effects, self.normalisation
        )
        notes.extend(spread_notes)
        keys = ["journey_id", "touchpoint_id"]
        revenue_credits: pl.DataFrame | None = None
        if revenue > 0:
            revenue_credits, revenue_credit, _, _, revenue_notes = spread_channel_credit(
                converting,
                by,
                value_effects,
                self.normalisation,
                mass=pl.col("count") * pl.col("revenue"),
            )
            notes.extend(f"Revenue: {note}" for note in revenue_notes)
            if revenue_credits.select(keys).equals(credits.select(keys)):
                # Both spreads credited the same touches (both come sorted): no join needed.
                credits = credits.with_columns(revenue_credits["weight"].alias("revenue_weight"))
                revenue_credits = None
        else:
            revenue_credit = channel_credit.with_columns(pl.lit(0.0).alias("credited"))
        # Journeys left out of the fit (no mass) still get a row: equal weights.
        credits = (
            converting.select(
                "journey_id",
                "touchpoint_id",
                (1.0 / pl.col("n_touches").cast(pl.Float64)).alias("uniform"),
            )
            .join(credits, on=keys, how="left")
            .with_columns(
                pl.col("weight").fill_null(pl.col("uniform")),
                pl.col("revenue_weight").fill_null(pl.col("uniform")),
            )
            .drop("uniform")
            .cast(CREDITS)
        )
        if revenue_credits is not None:
            credits = credits.drop("revenue_weight").join(
                revenue_credits.select(*keys, pl.col("weight").alias("revenue_weight")),
                on=keys,
                how="left",
            )
            credits = credits.with_columns(
                pl.col("revenue_weight").fill_null(pl.col("weight"))
            ).cast(CREDITS)
        return MarkovFit(
            transitions=transitions,
            conversion_probability=solved.conversion_probability,
            removal_effects=effects,
            credits=credits,
            channel_credit=channel_credit,
            revenue_credit=revenue_credit,
            ipf_iterations=iterations,
            ipf_error=error,
            diagnostics=tuple(notes),
            order=order,
            order_selection=selection,
        )

    def explain(self, journeys: Journeys, by: str = "channel", top: int = 20) -> dict[str, Any]:
        """Explain a run as JSON-ready data: the chain, removal effects and diagnostics.

        Parameters
        ----------
        journeys
            Output of :func:`attribution.build_journeys` or
            :func:`attribution.paths.journeys_from_paths`.
        by
            The touch column states are made of.
        top
            How many transitions to list (at least 0).

        Returns
        -------
        dict
            ``model``, ``params``, ``by``; ``order`` (the one used) and
            ``order_selection`` (``order="auto"``: the held-out score of every
            order, else ``null``); ``conversion_probability`` of the full
            chain; ``journeys`` (conversions, non-conversions, revenue);
            ``states`` and ``transitions`` (how many); ``removal_effects``,
            one row per channel with its ``removal_effect``, ``share``,
            ``conversions`` (share × conversions), ``value_removal_effect``,
            ``value_share`` and ``revenue`` (value share × revenue);
            ``top_transitions``, the ``top`` transitions with the largest
            ``count × probability`` (frequent *and* likely: ``from``, ``to``
            as ``"A > B"`` strings, ``probability``, ``count``); and
            ``diagnostics`` (the notes of :meth:`fit`, with the spreading's
            iterations and largest gap).

        Examples
        --------
        >>> from attribution.paths import journeys_from_paths
        >>> table = pl.DataFrame({"path": ["A > B", "B", "A"], "total_conversions": [2, 1, 0],
        ...     "total_null": [1, 1, 2]})
        >>> out = Markov().explain(journeys_from_paths(table), top=2)
        >>> out["order"], round(out["conversion_probability"], 4)
        (1, 0.4286)
        >>> [(r["channel"], round(r["removal_effect"], 4)) for r in out["removal_effects"]]
        [('B', 1.0), ('A', 0.6)]
        >>> out["top_transitions"][0]
        {'from': '(start)', 'to': 'A', 'probability': 0.7142857142857143, 'count': 5.0}
        """
        if isinstance(top, bool) or not isinstance(top, int) or top < 0:
            raise ParameterError(f"top must be an integer >= 0. Got {top!r} instead.")
        fit = self.fit(journeys, by)
        n_conversions, non_conversions, revenue = self._journey_totals(journeys, by)
        effects = fit.removal_effects.with_columns(
            (pl.col("share") * n_conversions).alias("conversions"),
            (pl.col("value_share") * revenue).alias("revenue"),
        ).sort("removal_effect", "channel", descending=[True, False])
        edges = sorted(
            (
                (data["count"] * data["p"], _state_label(src), _state_label(dst), data)
                for src, dst, data in fit.chain.edges(data=True)
            ),
            key=lambda edge: (-edge[0], edge[1], edge[2]),
        )
        return {
            "model": self.name,
            "params": self.params(),
            "by": by,
            "order": fit.order,
            "order_selection": (
                fit.order_selection.to_dict() if fit.order_selection is not None else None
            ),
            "conversion_probability": fit.conversion_probability,
            "journeys": {
                "conversions": n_conversions,
                "non_conversions": non_conversions,
                "revenue": revenue,
            },
            "states": fit.chain.number_of_nodes(),
            "transitions": fit.chain.number_of_edges(),
            "removal_effects": json_ready(effects.to_dicts()),
            "top_transitions": [
                {"from": src, "to": dst, "probability": data["p"], "count": data["count"]}
                for _, src, dst, data in edges[:top]
            ],
            "diagnostics": {
                "notes": list(fit.diagnostics),
                "ipf_iterations": fit.ipf_iterations,
                "ipf_error": fit.ipf_error,
            },
        }

    def _journey_totals(self, journeys: Journeys, by: str) -> tuple[float, float, float]:
        """Conversions, non-conversions and revenue of the journeys the chain is built from."""
        paths = journeys.paths(by)
        return (
            float(paths["conversions"].sum()),
            float(paths["nulls"].sum()),
            float(paths["revenue"].sum()),
        )

    def path_totals(self, paths: pl.DataFrame, by: str = "channel") -> pl.DataFrame:
        """Return each channel's conversions and revenue straight from aggregated paths.

        The totals :meth:`credit` sums to per channel with
        ``normalisation="global"`` (share × conversions, value share ×
        revenue, with the same handling of channels without touches and of
        journeys whose channels have no removal effect), computed without
        spreading credit onto touches: the bootstrap's way of re-solving the
        chain on every resample (:meth:`resampler`, :class:`attribution.markov.PathChain`).

        Parameters
        ----------
        paths
            :data:`~attribution.schema.PATHS`: ``path``, ``conversions``,
            ``revenue``, ``nulls`` (see :meth:`attribution.Journeys.paths`).
        by
            Name of the key column of the result.

        Returns
        -------
        polars.DataFrame
            ``by``, ``conversions``, ``revenue``, one row per channel, sorted.

        Examples
        --------
        >>> paths = pl.DataFrame({"path": [["Email", "Search"], ["Search"], ["Email"]],
        ...     "conversions": [1.0, 1.0, 0.0], "revenue": [100.0, 300.0, 0.0],
        ...     "nulls": [0.0, 0.0, 1.0]})
        >>> Markov().path_totals(paths).with_columns(pl.col("conversions", "revenue").round(4))
        shape: (2, 3)
        ┌─────────┬─────────────┬──────────┐
        │ channel ┆ conversions ┆ revenue  │
        │ ---     ┆ ---         ┆ ---      │
        │ str     ┆ f64         ┆ f64      │
        ╞═════════╪═════════════╪══════════╡
        │ Email   ┆ 0.6667      ┆ 133.3333 │
        │ Search  ┆ 1.3333      ┆ 266.6667 │
        └─────────┴─────────────┴──────────┘
        """
        if self.order == AUTO or self.normalisation != "global":
            raise ParameterError(
                "Markov.path_totals needs a fixed order and normalisation='global'. "
                f"Got order={self.order!r}, normalisation={self.normalisation!r}; "
                "use key_totals() with journeys instead."
            )
        chain = PathChain.from_paths(
            paths["path"], order=int(self.order), collapse_repeats=self.collapse_repeats
        )
        conversions, revenue = chain.totals(*path_counts(paths, "conversions", "revenue", "nulls"))
        return key_frame(by, list(chain.channels), conversions, revenue)

    def resampler(
        self, journeys: Journeys, spec: ResampleSpec, *, credited: pl.DataFrame | None = None
    ) -> Resampler:
        """Re-solve the chain on every bootstrap resample (with ``normalisation="global"``).

        The journeys are rolled up to paths once and the chain built once
        (:class:`~attribution.markov.PathChain`); each resample's path
        conversions, revenue and non-conversions are three ``np.bincount``
        over journeys, and :meth:`PathChain.totals
        <attribution.markov.PathChain.totals>` re-solves the removal effects
        and turns them into channel totals, as :meth:`path_totals` does. With
        ``order="auto"`` the order is chosen once, on the data: the intervals
        are conditional on that order. With ``normalisation="journey"`` the
        default applies (the model reruns on every resample).

        Examples
        --------
        >>> from attribution.journeys import build_journeys
        >>> from attribution.report import _tiny_example
        >>> tp, cv, _ = _tiny_example()
        >>> spec = ResampleSpec("channel", ("Email", "Search"),
        ...     pl.DataFrame({"user_id": ["a"], "unit": [0]}))
        >>> resampler = Markov().resampler(build_journeys(tp, cv), spec)
        >>> resampler.route, resampler.evaluate(np.array([[2.0]]))[0].tolist()
        ('markov paths', [[1.0, 1.0]])
        """
        if self.normalisation != "global":
            return super().resampler(journeys, spec, credited=credited)
        by = spec.by
        per_journey = (
            journeys.touches.group_by("journey_id")
            .agg(
                pl.col(by).cast(pl.String).fill_null(NOT_SET).sort_by("position").alias("path"),
                pl.col("user_id").first(),
                pl.col("converted").first(),
                pl.col("revenue").fill_null(0.0).first(),
                pl.col("count").first(),
            )
            .sort("journey_id")
            .with_columns(pl.col("path").list.join(SEP).alias("path_key"))
        )
        paths = per_journey.select("path", "path_key").unique("path_key").sort("path_key")
        path_id = per_journey.join(
            paths.with_row_index("path_id").select("path_key", "path_id"),
            on="path_key",
            how="left",
            maintain_order="left",
        )
        pid = path_id["path_id"].to_numpy().astype(np.int64)
        unit = spec.unit_of(path_id)
        converted = path_id["converted"].to_numpy()
        count = path_id["count"].to_numpy().astype(np.float64)
        value = count * path_id["revenue"].to_numpy().astype(np.float64)
        order = (
            self.order if isinstance(self.order, int) else self.select_order(journeys, by).chosen
        )
        chain = PathChain.from_paths(
            paths["path"], order=order, collapse_repeats=self.collapse_repeats
        )
        n_paths = paths.height
        where = spec.columns_of(chain.channels)
        width = len(spec.keys)

        def one(mult: FloatArray) -> tuple[FloatArray, FloatArray]:
            m = mult[unit]
            conv_p = _bincount(pid, np.where(converted, count * m, 0.0), n_paths)
            rev_p = _bincount(pid, np.where(converted, value * m, 0.0), n_paths)
            null_p = _bincount(pid, np.where(converted, 0.0, count * m), n_paths)
            conv_k, rev_k = chain.totals(conv_p, rev_p, null_p)
            conv, rev = np.zeros(width), np.zeros(width)
            conv[where], rev[where] = conv_k, rev_k
            return conv, rev

        return Resampler(one_at_a_time(one), route="markov paths")


@dataclass(frozen=True, kw_only=True)
class CountedMarkov(Markov):
    """:class:`Markov` at order 1 on step counts made elsewhere (:meth:`Markov.on_steps`).

    The chain is the :class:`~attribution.markov.FirstOrderChain` of
    ``steps``, counted over every journey, converting or not (the engine's
    :func:`engine.paths.store_steps`); the journeys given to :meth:`credit`,
    :meth:`fit` and :meth:`explain` are the converting ones, on which the
    credit is spread exactly as :class:`Markov` spreads it. With the steps
    of the same journeys every number is :class:`Markov`'s. ``steps`` is not
    a parameter (:meth:`params` leaves it out): the report echoes the
    model's.

    A bootstrap needs every journey, so :meth:`resampler` refuses.

    Examples
    --------
    >>> from attribution.markov import path_steps
    >>> paths = pl.DataFrame({"path": [["A"]], "conversions": [1.0], "revenue": [5.0],
    ...     "nulls": [3.0]})
    >>> model = Markov(collapse_repeats=True).on_steps(path_steps(paths))
    >>> model.params()["collapse_repeats"], "steps" in model.params()
    (True, False)
    """

    steps: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=STEPS), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.order != 1:
            raise ParameterError(
                "Step counts make a first-order chain: CountedMarkov needs order=1. "
                f"Got order={self.order!r}; use Markov on the journeys instead."
            )

    def params(self) -> dict[str, Any]:
        """Return the parameters of the Markov model (the steps are data, not a parameter)."""
        return {k: v for k, v in super().params().items() if k != "steps"}

    def counted_chain(self) -> FirstOrderChain:
        """Return the chain of the steps (repeats collapsed when the model says so).

        Examples
        --------
        >>> from attribution.markov import path_steps
        >>> paths = pl.DataFrame({"path": [["A", "B"]], "conversions": [1.0],
        ...     "revenue": [5.0], "nulls": [1.0]})
        >>> Markov().on_steps(path_steps(paths)).counted_chain().channels
        ('A', 'B')
        """
        return FirstOrderChain.from_steps(self.steps, collapse_repeats=self.collapse_repeats)

    def chain(self, journeys: Journeys, by: str = "channel") -> nx.DiGraph:
        """Return the absorbing chain of the counted steps (``journeys`` are not needed)."""
        return build_chain(self.counted_chain().transition_counts())

    def _solve(
        self, journeys: Journeys, by: str, order: int | None = None
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, ChainEffects]:
        """Return the converting paths, the counted chain's transitions and its solve."""
        require_touch_column(journeys.touches, by)
        chain = self.counted_chain()
        solved = chain.effects()
        return journeys.paths(by), chain.transition_counts(), _solved_frame(solved), solved

    def fit(self, journeys: Journeys, by: str = "channel") -> MarkovFit:
        """Solve the counted chain and spread its credit onto the converting ``journeys``."""
        require_converting(journeys)
        require_touch_column(journeys.touches, by)
        chain = self.counted_chain()
        solved = chain.effects()
        return self._credit_touches(
            journeys.converting,
            by,
            chain.transition_counts(),
            _solved_frame(solved),
            solved,
            revenue=float(chain.revenue.sum()),
            non_converting=float(chain.nulls.sum()) > 0,
            order=1,
            selection=None,
        )

    def _journey_totals(self, journeys: Journeys, by: str) -> tuple[float, float, float]:
        """Conversions, non-conversions and revenue of the counted journeys."""
        chain = self.counted_chain()
        return (
            float(chain.conversions.sum()),
            float(chain.nulls.sum()),
            float(chain.revenue.sum()),
        )

    def resampler(
        self, journeys: Journeys, spec: ResampleSpec, *, credited: pl.DataFrame | None = None
    ) -> Resampler:
        """Refuse: resampling persons needs every journey, not step counts."""
        raise ParameterError(
            "Bootstrap intervals resample persons, which step counts no longer know: "
            "run Markov on every journey for intervals."
        )


def _state_label(state: State) -> str:
    """Show a state as ChannelAttribution does: ``"A > B"``, ``"(start)"``."""
    return " > ".join(state)


def _bincount(index: npt.NDArray[np.int64], weights: FloatArray, length: int) -> FloatArray:
    """``np.bincount`` with weights, typed as the float array it returns."""
    counts: FloatArray = np.bincount(index, weights, length).astype(np.float64, copy=False)
    return counts


def _solved_frame(solved: ChainEffects) -> pl.DataFrame:
    """:data:`REMOVAL_EFFECTS` of a solved chain: count and value removal effects, shares."""
    value = _effects_frame(solved.as_dict(value=True)).select(
        "channel",
        pl.col("removal_effect").alias("value_removal_effect"),
        pl.col("share").alias("value_share"),
    )
    return (
        _effects_frame(solved.as_dict()).join(value, on="channel", how="left").cast(REMOVAL_EFFECTS)
    )


def _effects_frame(effects: dict[str, float]) -> pl.DataFrame:
    frame = pl.DataFrame(
        {"channel": list(effects), "removal_effect": list(effects.values())},
        schema={"channel": pl.String, "removal_effect": pl.Float64},
    )
    total = frame["removal_effect"].sum()
    share = pl.col("removal_effect") / total if total > 0 else pl.lit(0.0)
    return frame.with_columns(share.alias("share")).sort("channel")


__all__ = [
    "IPF_MAX_ITERATIONS",
    "IPF_TOLERANCE",
    "NORMALISATIONS",
    "REMOVAL_EFFECTS",
    "CountedMarkov",
    "Markov",
    "MarkovFit",
    "OrderSelection",
]
