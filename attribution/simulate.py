"""Simulated journeys from a known Markov chain: ground truth for the Markov model.

A person's first touch is drawn from ``start_probs``; after each touch the
chain moves to another channel, to ``(conversion)`` or to ``(null)`` with the
probabilities of ``transition``:

- ``order=1``: ``transition`` has shape ``(n, n + 2)``; row ``c`` is the next
  step after channel ``c``; columns are the channels, then conversion, then null.
- ``order=2``: ``transition`` has shape ``(n + 1, n, n + 2)``; ``transition[p, c]``
  is the next step after channel ``p`` then ``c``, and ``p = n`` means ``c`` was
  the first touch. This is exactly the prefix-state chain of
  :mod:`attribution.markov.chain` at order 2, so the model is well specified.

All persons advance together, one step per loop iteration over numpy arrays;
a person still travelling after ``max_steps`` touches is counted as not
converting (with the absorption rates of :func:`random_chain` that has
probability below 1e-100). :func:`true_removal_effects` solves the true chain
exactly, so a test can compare the model's estimate with the truth.

Examples
--------
>>> spec = random_chain(3, seed=1)
>>> touchpoints, conversions = simulate_markov_journeys(4, **spec.as_kwargs(), seed=2)
>>> touchpoints.columns
['touchpoint_id', 'user_id', 'ts', 'channel']
>>> conversions.columns
['conversion_id', 'user_id', 'ts', 'stage', 'revenue']
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.errors import ParameterError
from attribution.markov.chain import CONVERSION, NULL, START, State, removal_effects
from attribution.schema import CONVERSIONS, TOUCHPOINTS

FloatArray = npt.NDArray[np.float64]

CHANNEL_NAMES = (
    "Search",
    "Social",
    "Email",
    "Display",
    "Affiliate",
    "Direct",
    "Video",
    "Referral",
)
"""Names :func:`random_chain` gives its channels (``ch<i>`` beyond these)."""

SIMULATION_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True, eq=False)
class ChainSpec:
    """A Markov chain of channels: what :func:`simulate_markov_journeys` draws from."""

    channels: tuple[str, ...]
    start_probs: FloatArray
    transition: FloatArray
    order: int = 1

    def as_kwargs(self) -> dict[str, Any]:
        """Return the fields as keyword arguments of the functions of this module."""
        return {
            "channels": self.channels,
            "start_probs": self.start_probs,
            "transition": self.transition,
            "order": self.order,
        }


def _check_spec(
    channels: Sequence[str], start_probs: FloatArray, transition: FloatArray, order: int
) -> None:
    n = len(channels)
    if n == 0 or len(set(channels)) != n:
        raise ParameterError(f"channels must be distinct names, at least one. Got {channels!r}.")
    shapes = {1: (n, n + 2), 2: (n + 1, n, n + 2)}
    if order not in shapes:
        raise ParameterError(f"The simulator supports order 1 or 2. Got {order!r} instead.")
    for name, array, shape in (
        ("start_probs", start_probs, (n,)),
        ("transition", transition, shapes[order]),
    ):
        if array.shape != shape:
            raise ParameterError(
                f"{name} must have shape {shape} for {n} channels at order {order}. "
                f"Got {array.shape} instead."
            )
        if (array < 0).any() or not np.allclose(array.sum(axis=-1), 1.0):
            raise ParameterError(f"Every row of {name} must be probabilities summing to 1.")


def _draw(rng: np.random.Generator, probs: FloatArray) -> npt.NDArray[np.intp]:
    """Draw one category per row of ``probs`` (inverse CDF, vectorised)."""
    cumulative = probs.cumsum(axis=-1)
    cumulative[..., -1] = 1.0
    u = rng.random(probs.shape[:-1])[..., None]
    drawn: npt.NDArray[np.intp] = (cumulative <= u).sum(axis=-1).astype(np.intp)
    return drawn


def simulate_markov_journeys(
    n_persons: int,
    *,
    channels: Sequence[str],
    start_probs: FloatArray,
    transition: FloatArray,
    order: int = 1,
    seed: int,
    revenue: float = 100.0,
    max_steps: int = 500,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Simulate journeys of ``n_persons`` and return canonical touchpoints and conversions.

    Parameters
    ----------
    n_persons
        Number of persons; each has at least one touch.
    channels, start_probs, transition, order
        The chain (see the module docstring for the shapes).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same frames.
    revenue
        Revenue of every conversion.
    max_steps
        Touches after which a person still travelling is counted as not converting.

    Returns
    -------
    (touchpoints, conversions)
        ``touchpoint_id, user_id, ts, channel`` and ``conversion_id, user_id,
        ts, stage ("purchase"), revenue``; person ``i`` starts ``i`` seconds
        after 2024-01-01 UTC, touches are an hour apart and a conversion
        comes 30 minutes after the last touch.

    Examples
    --------
    >>> tp, cv = simulate_markov_journeys(2, channels=["A", "B"], start_probs=np.array([1.0, 0.0]),
    ...     transition=np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]), seed=0)
    >>> tp.select("user_id", "channel")
    shape: (4, 2)
    ┌─────────┬─────────┐
    │ user_id ┆ channel │
    │ ---     ┆ ---     │
    │ str     ┆ str     │
    ╞═════════╪═════════╡
    │ u000000 ┆ A       │
    │ u000000 ┆ B       │
    │ u000001 ┆ A       │
    │ u000001 ┆ B       │
    └─────────┴─────────┘
    >>> cv.select("conversion_id", "user_id", "stage", "revenue")
    shape: (2, 4)
    ┌───────────────┬─────────┬──────────┬─────────┐
    │ conversion_id ┆ user_id ┆ stage    ┆ revenue │
    │ ---           ┆ ---     ┆ ---      ┆ ---     │
    │ str           ┆ str     ┆ str      ┆ f64     │
    ╞═══════════════╪═════════╪══════════╪═════════╡
    │ c000000       ┆ u000000 ┆ purchase ┆ 100.0   │
    │ c000001       ┆ u000001 ┆ purchase ┆ 100.0   │
    └───────────────┴─────────┴──────────┴─────────┘
    """
    start_probs = np.asarray(start_probs, dtype=np.float64)
    transition = np.asarray(transition, dtype=np.float64)
    _check_spec(channels, start_probs, transition, order)
    if n_persons < 1:
        raise ParameterError(f"n_persons must be >= 1. Got {n_persons!r} instead.")
    n = len(channels)
    rng = np.random.default_rng(seed)

    ids = np.arange(n_persons)
    current = _draw(rng, np.broadcast_to(start_probs, (n_persons, n)).copy())
    previous = np.full(n_persons, n, dtype=np.intp)  # n: no previous touch yet
    converted = np.zeros(n_persons, dtype=bool)
    steps_taken = np.zeros(n_persons, dtype=np.int64)
    person_parts, step_parts, channel_parts = [], [], []
    for step in range(max_steps):
        person_parts.append(ids)
        step_parts.append(np.full(ids.size, step))
        channel_parts.append(current)
        steps_taken[ids] = step + 1
        probs = transition[current] if order == 1 else transition[previous, current]
        following = _draw(rng, probs)
        converted[ids[following == n]] = True
        moving = following < n
        ids, previous, current = ids[moving], current[moving], following[moving]
        if ids.size == 0:
            break

    names = np.asarray(channels, dtype=object)
    digits = max(6, len(str(n_persons - 1)))
    person_id = pl.col("person").cast(pl.String).str.zfill(digits)
    base = pl.lit(SIMULATION_START).cast(TOUCHPOINTS["ts"])
    touches = (
        pl.DataFrame(
            {
                "person": np.concatenate(person_parts),
                "step": np.concatenate(step_parts),
                "channel": names[np.concatenate(channel_parts)].tolist(),
            },
            schema={"person": pl.Int64, "step": pl.Int64, "channel": pl.String},
        )
        .sort("person", "step")
        .select(
            pl.format("t{}-{}", person_id, pl.col("step")).alias("touchpoint_id"),
            pl.format("u{}", person_id).alias("user_id"),
            (base + pl.duration(seconds=pl.col("person"), hours=pl.col("step"))).alias("ts"),
            "channel",
        )
    )
    conversions = (
        pl.DataFrame({"person": np.flatnonzero(converted), "steps": steps_taken[converted]})
        .cast(pl.Int64)
        .select(
            pl.format("c{}", person_id).alias("conversion_id"),
            pl.format("u{}", person_id).alias("user_id"),
            (
                base + pl.duration(seconds=pl.col("person"), hours=pl.col("steps") - 1, minutes=30)
            ).alias("ts"),
            pl.lit("purchase").alias("stage"),
            pl.lit(float(revenue)).alias("revenue"),
        )
    )
    return (
        touches.cast({"ts": TOUCHPOINTS["ts"]}),
        conversions.cast({"ts": CONVERSIONS["ts"], "revenue": CONVERSIONS["revenue"]}),
    )


def random_chain(n_channels: int, seed: int, *, order: int = 1) -> ChainSpec:
    """Return a random chain with distinct channel roles, for ground-truth tests.

    Each channel converts with probability 0.02–0.20 and drops out with
    0.15–0.40 per step; the rest of the mass moves to a channel (repeats
    included). At order 2 both rates are also scaled by a factor 0.3–2.0 of
    the (previous, current) pair, so the order matters.

    Examples
    --------
    >>> spec = random_chain(2, seed=0)
    >>> spec.channels, spec.transition.shape
    (('Search', 'Social'), (2, 4))
    >>> random_chain(2, seed=0, order=2).transition.shape
    (3, 2, 4)
    """
    if n_channels < 1:
        raise ParameterError(f"n_channels must be >= 1. Got {n_channels!r} instead.")
    rng = np.random.default_rng(seed)
    n = n_channels
    channels = tuple(CHANNEL_NAMES[i] if n <= len(CHANNEL_NAMES) else f"ch{i}" for i in range(n))
    start_probs = rng.dirichlet(np.full(n, 2.0))
    conv = rng.uniform(0.02, 0.20, n)
    drop = rng.uniform(0.15, 0.40, n)
    if order == 1:
        shape: tuple[int, ...] = (n,)
        conv_rates, drop_rates = conv, drop
    elif order == 2:
        shape = (n + 1, n)
        pair = rng.uniform(0.3, 2.0, (n + 1, n))
        pair[n] = 1.0  # the first touch converts at the channel's own rate
        conv_rates = np.minimum(conv[None, :] * pair, 0.35)
        drop_rates = np.minimum(drop[None, :] * rng.uniform(0.6, 1.5, (n + 1, n)), 0.5)
    else:
        raise ParameterError(f"random_chain supports order 1 or 2. Got {order!r} instead.")
    moves = rng.dirichlet(np.ones(n), size=shape) * (1.0 - conv_rates - drop_rates)[..., None]
    transition = np.concatenate([moves, conv_rates[..., None], drop_rates[..., None]], axis=-1)
    return ChainSpec(channels=channels, start_probs=start_probs, transition=transition, order=order)


def true_chain(
    *,
    channels: Sequence[str],
    start_probs: FloatArray,
    transition: FloatArray,
    order: int = 1,
) -> nx.DiGraph:
    """Return the chain of a spec as the state graph :mod:`attribution.markov.chain` solves.

    Examples
    --------
    >>> spec = random_chain(2, seed=0, order=2)
    >>> sorted(true_chain(**spec.as_kwargs()).successors(("Search",)))
    [('(conversion)',), ('(null)',), ('Search', 'Search'), ('Search', 'Social')]
    """
    start_probs = np.asarray(start_probs, dtype=np.float64)
    transition = np.asarray(transition, dtype=np.float64)
    _check_spec(channels, start_probs, transition, order)
    n = len(channels)
    graph = nx.DiGraph()
    graph.add_nodes_from([START, CONVERSION, NULL])

    def add_row(src: State, row: FloatArray, state_of: list[State]) -> None:
        targets = [*state_of, CONVERSION, NULL]
        for dst, p in zip(targets, row, strict=True):
            if p > 0:
                graph.add_edge(src, dst, p=float(p))

    add_row(START, np.append(start_probs, [0.0, 0.0]), [(c,) for c in channels])
    if order == 1:
        for i, c in enumerate(channels):
            add_row((c,), transition[i], [(d,) for d in channels])
    else:
        for i, c in enumerate(channels):
            add_row((c,), transition[n, i], [(c, d) for d in channels])
            for p_index, p_name in enumerate(channels):
                add_row((p_name, c), transition[p_index, i], [(c, d) for d in channels])
    reachable = nx.descendants(graph, START) | {START, CONVERSION, NULL}
    return graph.subgraph(reachable).copy()


def true_removal_effects(
    *,
    channels: Sequence[str],
    start_probs: FloatArray,
    transition: FloatArray,
    order: int = 1,
) -> dict[str, float]:
    """Return the exact removal effect of every channel of a spec.

    Examples
    --------
    >>> effects = true_removal_effects(channels=["A", "B"], start_probs=np.array([0.5, 0.5]),
    ...     transition=np.array([[0.0, 0.5, 0.0, 0.5], [0.0, 0.0, 0.5, 0.5]]))
    >>> {c: round(v, 12) for c, v in effects.items()}
    {'A': 0.333333333333, 'B': 1.0}
    """
    graph = true_chain(
        channels=channels, start_probs=start_probs, transition=transition, order=order
    )
    effects = removal_effects(graph)
    return {c: effects.get(c, 0.0) for c in channels}


__all__ = [
    "CHANNEL_NAMES",
    "ChainSpec",
    "random_chain",
    "simulate_markov_journeys",
    "true_chain",
    "true_removal_effects",
]
