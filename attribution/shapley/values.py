r"""Shapley values of channels on coalitions of paths: the maths behind the Shapley models.

Everything here is pure computation on a :data:`~attribution.schema.PATHS`
frame (journeys rolled up to identical paths, see :meth:`attribution.Journeys.paths`);
the models in ``attribution/models/shapley*.py`` turn these values into
per-touch credit.

Players and coalitions
----------------------
The players are the channels (or campaigns, or whatever the path is made of).
The *coalition* of a path is its set of distinct channels: ``B > A > B`` has
coalition ``{A, B}``. Order and repeats do not matter to the coalition.

Zhao's game (:func:`shapley_values`, :func:`ordered_shapley_values`)
---------------------------------------------------------------------
Zhao, Mahboobi and Bagheri (2018), "Shapley Value Methods for Attribution
Modeling in Online Advertising", arXiv:1804.05327. With ``R(S)`` the
conversions (or revenue) of the paths whose coalition is exactly ``S``, the
value of a coalition is everything its subsets converted,
``v(S) = Σ_{T ⊆ S} R(T)``, and the Shapley value simplifies to

.. math:: φ_j = Σ_{S ∋ j} R(S) / |S| ,

one term per *observed* coalition instead of ``2^n`` (the paper's
"simplified Shapley value"). Read per path, it is an equal split of each
conversion over the path's distinct channels. Non-converting paths do not
enter ``v``.

The *ordered* Shapley value splits ``φ_j`` by touch position ``i``:
``φ_j = Σ_i φ_j^i``, where ``φ_j^i`` collects the ``R(S) / |S|`` of the
paths on which ``j`` sits at position ``i``. Zhao et al. introduce it to "take
into account the order of channels visited by users" and read it as the
attribution "of channels at different stages of user conversion journeys".
The paper indexes ``φ_j^i`` by the order of the channels a user visits but
does not spell out how a channel that recurs within a path counts, so two
conventions are offered:

- ``position="first_visit"`` (default): the ``i``-th distinct channel visited
  (1-based, by first touch) is at position ``i``; later touches of a channel
  it has already visited open no new position. ``A > A > B`` puts ``A`` at
  position 1 and ``B`` at position 2, each with ½. A path with ``k`` distinct
  channels has exactly positions ``1..k``, each carrying ``1/k``.
- ``position="touch"``: the ``i``-th touch is position ``i``, and a channel
  touched ``m`` times shares its ``1/|S|`` equally over those ``m``
  positions. ``A > A > B`` gives ``A`` ¼ at 1 and ¼ at 2, ``B`` ½ at 3.

Either way ``Σ_i φ_j^i = φ_j`` exactly.

Counterfactual game (:func:`counterfactual_shapley`)
----------------------------------------------------
Zhao's ``v`` never sees a non-converting journey, so a channel that is on
every path, converting or not, looks as good as one that only appears where
people convert. The counterfactual game values a coalition by the conversion
rate of the journeys it could have produced on its own:

.. math:: v(S) = C(S) / N(S), \quad C(S) = Σ_{T ⊆ S} c(T), \quad N(S) = Σ_{T ⊆ S} n(T),

with ``c(T)`` the conversions and ``n(T)`` all journeys (conversions +
non-conversions, counts included) whose coalition is exactly ``T``.

- ``v(∅) = 0``. No journey has an empty coalition (a journey has at least one
  touch; conversions without any are reported apart), so the empty coalition
  is never observed; it is the "no marketing" baseline and gets nothing.
- ``v(S) = 0`` when ``N(S) = 0`` (no journey's channel set lies within ``S``).
  Those unobserved coalitions are closed under taking subsets, so on them the
  game simply stays at the baseline ``v(∅)``: nothing observed, nothing
  earned. This makes a channel that appears in no journey a null player
  (``φ = 0``) and keeps efficiency, ``Σ φ_j = v(N) − v(∅)`` = the overall
  conversion rate. Imputing, say, the overall rate instead would pay channels
  for journeys that never happened.

``v`` is not monotone (a channel mostly seen on non-converting paths lowers
the rate of every coalition it joins), so ``φ_j`` can be negative; the model
clips at 0 and renormalises (see :mod:`attribution.models.shapley_counterfactual`).

Up to ``max_exact_channels`` channels, ``C`` and ``N`` are tabulated over all
``2^n`` bitmasks with a subset-sum (zeta) transform, ``O(n 2^n)``, and
``φ`` is the classic weighted sum of marginal contributions, vectorised over
masks. Above that, ``φ`` is estimated from ``samples`` seeded random
permutations: ``v`` of every prefix of a permutation comes from the position
at which each observed coalition becomes complete, so no ``2^n`` table is
needed; the standard error of each estimate is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.errors import ParameterError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Method = Literal["exact", "sampled"]
"""How a counterfactual Shapley value was computed."""

POSITIONS = ("first_visit", "touch")
"""Conventions for touch positions in the ordered Shapley value (see the module docstring)."""

MAX_EXACT_LIMIT = 20
"""Largest ``max_exact_channels`` accepted: 2^20 coalitions are about 8 MB per table."""

_BATCH_CELLS = 1 << 21
"""Cells per batch of sampled permutations (bounds memory at a few tens of MB)."""


def coalitions(paths: pl.DataFrame) -> pl.DataFrame:
    """Roll paths up to their coalition: the sorted set of distinct channels.

    Parameters
    ----------
    paths
        :data:`~attribution.schema.PATHS`: ``path``, ``conversions``,
        ``revenue``, ``nulls``.

    Returns
    -------
    polars.DataFrame
        ``coalition`` (sorted list of names), ``size``, ``conversions``,
        ``revenue`` and ``nulls`` summed over the paths of that coalition,
        sorted by coalition.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["B", "A", "B"], ["A", "B"], ["C"]],
    ...     "conversions": [1.0, 2.0, 0.0], "revenue": [10.0, 30.0, 0.0], "nulls": [0.0, 1.0, 3.0]})
    >>> coalitions(paths)
    shape: (2, 5)
    ┌────────────┬──────┬─────────────┬─────────┬───────┐
    │ coalition  ┆ size ┆ conversions ┆ revenue ┆ nulls │
    │ ---        ┆ ---  ┆ ---         ┆ ---     ┆ ---   │
    │ list[str]  ┆ u32  ┆ f64         ┆ f64     ┆ f64   │
    ╞════════════╪══════╪═════════════╪═════════╪═══════╡
    │ ["A", "B"] ┆ 2    ┆ 3.0         ┆ 40.0    ┆ 1.0   │
    │ ["C"]      ┆ 1    ┆ 0.0         ┆ 0.0     ┆ 3.0   │
    └────────────┴──────┴─────────────┴─────────┴───────┘
    """
    return (
        paths.with_columns(pl.col("path").list.unique().list.sort().alias("coalition"))
        .group_by("coalition")
        .agg(pl.col("conversions", "revenue", "nulls").sum())
        .with_columns(pl.col("coalition").list.len().alias("size"))
        .select("coalition", "size", "conversions", "revenue", "nulls")
        .sort("coalition")
    )


def shapley_values(paths: pl.DataFrame) -> pl.DataFrame:
    """Zhao's simplified Shapley value of every channel: ``φ_j = Σ_{S ∋ j} R(S) / |S|``.

    Computed from the coalition formula (one term per observed coalition),
    for conversions and for revenue. Channels seen only on non-converting
    paths are listed with 0.

    Parameters
    ----------
    paths
        :data:`~attribution.schema.PATHS`.

    Returns
    -------
    polars.DataFrame
        ``channel``, ``conversions``, ``revenue``, sorted by channel; the
        columns sum to the paths' conversions and revenue.

    Examples
    --------
    ``R({A}) = 2``, ``R({A, B}) = 2``, ``R({B, C}) = 0``: ``φ_A = 2 + 2/2``,
    ``φ_B = 2/2``, ``φ_C = 0``.

    >>> paths = pl.DataFrame({"path": [["A"], ["B", "A", "B"], ["C", "B"]],
    ...     "conversions": [2.0, 2.0, 0.0], "revenue": [20.0, 60.0, 0.0], "nulls": [1.0, 0.0, 4.0]})
    >>> shapley_values(paths)
    shape: (3, 3)
    ┌─────────┬─────────────┬─────────┐
    │ channel ┆ conversions ┆ revenue │
    │ ---     ┆ ---         ┆ ---     │
    │ str     ┆ f64         ┆ f64     │
    ╞═════════╪═════════════╪═════════╡
    │ A       ┆ 3.0         ┆ 50.0    │
    │ B       ┆ 1.0         ┆ 30.0    │
    │ C       ┆ 0.0         ┆ 0.0     │
    └─────────┴─────────────┴─────────┘
    """
    members = coalitions(paths).explode("coalition").rename({"coalition": "channel"})
    size = pl.col("size").cast(pl.Float64)
    return (
        members.group_by("channel")
        .agg((pl.col("conversions") / size).sum(), (pl.col("revenue") / size).sum())
        .sort("channel")
    )


def ordered_shapley_values(paths: pl.DataFrame, position: str = "first_visit") -> pl.DataFrame:
    """Zhao's ordered Shapley value ``φ_j^i``: channel ``j``'s credit at position ``i``.

    Parameters
    ----------
    paths
        :data:`~attribution.schema.PATHS`.
    position
        ``"first_visit"``: position ``i`` is the ``i``-th distinct channel
        visited; ``"touch"``: position ``i`` is the ``i``-th touch, and a
        repeated channel's share is split equally over its touches (see the
        module docstring).

    Returns
    -------
    polars.DataFrame
        ``channel``, ``position`` (1-based), ``conversions``, ``revenue``,
        sorted by channel and position; summed over positions they equal
        :func:`shapley_values`. Only positions with converting paths are
        listed.

    Examples
    --------
    ``B > A > B`` converts twice: ``{A, B}`` has 2 channels, so ``B`` (visited
    first) gets ½ at position 1 and ``A`` ½ at position 2, per conversion.

    >>> paths = pl.DataFrame({"path": [["A"], ["B", "A", "B"]],
    ...     "conversions": [2.0, 2.0], "revenue": [20.0, 60.0], "nulls": [1.0, 0.0]})
    >>> ordered_shapley_values(paths)
    shape: (3, 4)
    ┌─────────┬──────────┬─────────────┬─────────┐
    │ channel ┆ position ┆ conversions ┆ revenue │
    │ ---     ┆ ---      ┆ ---         ┆ ---     │
    │ str     ┆ u32      ┆ f64         ┆ f64     │
    ╞═════════╪══════════╪═════════════╪═════════╡
    │ A       ┆ 1        ┆ 2.0         ┆ 20.0    │
    │ A       ┆ 2        ┆ 1.0         ┆ 30.0    │
    │ B       ┆ 1        ┆ 1.0         ┆ 30.0    │
    └─────────┴──────────┴─────────────┴─────────┘

    With ``position="touch"`` the two touches of ``B`` share its half:

    >>> ordered_shapley_values(paths, position="touch").filter(pl.col("channel") == "B")
    shape: (2, 4)
    ┌─────────┬──────────┬─────────────┬─────────┐
    │ channel ┆ position ┆ conversions ┆ revenue │
    │ ---     ┆ ---      ┆ ---         ┆ ---     │
    │ str     ┆ u32      ┆ f64         ┆ f64     │
    ╞═════════╪══════════╪═════════════╪═════════╡
    │ B       ┆ 1        ┆ 0.5         ┆ 15.0    │
    │ B       ┆ 3        ┆ 0.5         ┆ 15.0    │
    └─────────┴──────────┴─────────────┴─────────┘
    """
    require_position(position)
    touches = (
        paths.filter(pl.col("conversions") > 0)
        .with_row_index("_path")
        .with_columns(pl.int_ranges(pl.col("path").list.len()).alias("_index"))
        .explode("path", "_index")
        .rename({"path": "channel"})
    )
    weights = touch_shares(touches, journey="_path", key="channel", index="_index")
    if position == "first_visit":
        first = pl.col("_index") == pl.col("_index").min().over("_path", "channel")
        touches = touches.with_columns(weights.first_visit.alias("_share")).filter(first)
        pos = pl.col("_index").rank("dense").over("_path")
    else:
        touches = touches.with_columns(weights.split.alias("_share"))
        pos = pl.col("_index") + 1
    return (
        touches.with_columns(pos.cast(pl.UInt32).alias("position"))
        .group_by("channel", "position")
        .agg(
            (pl.col("conversions") * pl.col("_share")).sum(),
            (pl.col("revenue") * pl.col("_share")).sum(),
        )
        .sort("channel", "position")
    )


@dataclass(frozen=True)
class TouchShares:
    """Per-touch shares of Zhao's equal split over a journey's distinct channels.

    ``split`` gives each distinct channel ``1 / |S|``, shared equally over its
    touches; ``first_visit`` gives the whole ``1 / |S|`` to the channel's first
    touch and 0 to its repeats. Both sum to 1 per journey.
    """

    split: pl.Expr
    first_visit: pl.Expr


def touch_shares(touches: pl.DataFrame, *, journey: str, key: str, index: str) -> TouchShares:
    """Build the per-touch share expressions for touches of ``journey`` keyed by ``key``.

    ``touches`` is only used to check the columns exist; the expressions are
    evaluated in the caller's ``with_columns``.

    Examples
    --------
    >>> t = pl.DataFrame({"j": [1, 1, 1], "ch": ["A", "A", "B"], "i": [0, 1, 2]})
    >>> s = touch_shares(t, journey="j", key="ch", index="i")
    >>> t.select(s.split.alias("split"), s.first_visit.alias("first"))["split"].to_list()
    [0.25, 0.25, 0.5]
    >>> t.select(s.first_visit.alias("first"))["first"].to_list()
    [0.5, 0.0, 0.5]
    """
    missing = [c for c in (journey, key, index) if c not in touches.columns]
    if missing:
        raise ParameterError(f"touch_shares needs column(s) {', '.join(map(repr, missing))}.")
    n_channels = pl.col(key).n_unique().over(journey).cast(pl.Float64)
    repeats = pl.len().over(journey, key).cast(pl.Float64)
    is_first = pl.col(index) == pl.col(index).min().over(journey, key)
    return TouchShares(
        split=1.0 / (n_channels * repeats),
        first_visit=is_first.cast(pl.Float64) / n_channels,
    )


def require_position(position: str, owner: str = "ordered_shapley_values") -> None:
    """Raise :class:`ParameterError` unless ``position`` is a known convention.

    Examples
    --------
    >>> require_position("touch")
    """
    if position not in POSITIONS:
        raise ParameterError(
            f"The 'position' parameter of {owner} must be one of "
            f"{', '.join(repr(p) for p in POSITIONS)}. Got {position!r} instead."
        )


@dataclass(frozen=True)
class CounterfactualValues:
    """Counterfactual Shapley values of the channels and how they were computed.

    Attributes
    ----------
    values
        ``channel``, ``shapley`` (φ, in conversion-rate units; may be
        negative), ``std_error`` (0 when exact), ``share`` (φ clipped at 0
        and normalised) and ``conversions`` (``share`` × total conversions),
        sorted by channel.
    method
        ``"exact"`` (all ``2^n`` coalitions) or ``"sampled"`` (permutations).
    samples
        Permutations drawn; 0 when exact.
    n_channels
        Number of players.
    conversion_rate
        ``v(N)``: conversions / journeys over all paths; ``Σ φ`` equals it.
    """

    values: pl.DataFrame
    method: Method
    samples: int
    n_channels: int
    conversion_rate: float

    def to_dict(self) -> dict[str, object]:
        """Return JSON-ready data (what an ``--explain`` output can print)."""
        return {
            "method": self.method,
            "samples": self.samples,
            "n_channels": self.n_channels,
            "conversion_rate": self.conversion_rate,
            "values": self.values.to_dicts(),
        }


@dataclass(frozen=True)
class _Game:
    """Observed coalitions as channel codes: the data the counterfactual game is built from."""

    channels: list[str]
    offsets: IntArray  # start of each coalition's members in ``members`` (length m + 1)
    members: IntArray  # channel codes, coalition by coalition
    conversions: FloatArray  # c(T)
    journeys: FloatArray  # n(T) = conversions + nulls


def _game(paths: pl.DataFrame) -> _Game:
    table = coalitions(paths)
    names = table["coalition"].explode()
    channels = names.unique().sort().to_list()
    code = {name: i for i, name in enumerate(channels)}
    members = names.replace_strict(code, return_dtype=pl.Int64)
    sizes = table["size"].to_numpy().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    conversions = table["conversions"].to_numpy().astype(np.float64)
    return _Game(
        channels=channels,
        offsets=offsets,
        members=members.to_numpy().astype(np.int64),
        conversions=conversions,
        journeys=conversions + table["nulls"].to_numpy().astype(np.float64),
    )


def subset_sums(f: npt.ArrayLike) -> FloatArray:
    """Zeta transform over bitmasks: ``g[S] = Σ_{T ⊆ S} f[T]`` in ``O(n 2^n)``.

    ``f`` has length ``2^n``; bit ``i`` of an index says whether player ``i``
    is in the coalition.

    Examples
    --------
    >>> subset_sums([0.0, 1.0, 2.0, 4.0]).tolist()  # masks ∅, {0}, {1}, {0, 1}
    [0.0, 1.0, 2.0, 7.0]
    """
    g = np.array(f, dtype=np.float64, copy=True)
    n = g.size.bit_length() - 1
    if g.size != 1 << n:
        raise ParameterError(f"subset_sums needs 2^n values; got {g.size}.")
    for i in range(n):
        # Axis 1 of this view is bit i: add every coalition without i to the same one with i.
        view = g.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    return g


def exact_shapley(v: npt.ArrayLike) -> FloatArray:
    """Shapley values of a game given by its values on all ``2^n`` bitmasks.

    ``φ_i = Σ_{S ∌ i} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S))``,
    vectorised over the masks (one numpy pass per player).

    Examples
    --------
    A glove game: players 0 and 1 only earn together.

    >>> exact_shapley([0.0, 0.0, 0.0, 1.0]).tolist()
    [0.5, 0.5]
    """
    values = np.asarray(v, dtype=np.float64)
    n = values.size.bit_length() - 1
    if values.size != 1 << n:
        raise ParameterError(f"exact_shapley needs 2^n values; got {values.size}.")
    masks = np.arange(values.size, dtype=np.int64)
    sizes = np.bitwise_count(masks).astype(np.int64)
    weight = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)])
    phi = np.empty(n)
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        phi[i] = float(np.dot(weight[sizes[without]], values[without | bit] - values[without]))
    return phi


def counterfactual_coalition_values(paths: pl.DataFrame) -> tuple[list[str], FloatArray]:
    """Tabulate ``v(S) = C(S) / N(S)`` over all ``2^n`` coalitions (0 where ``N(S) = 0``).

    Returns the channels (bit ``i`` of a mask is ``channels[i]``) and ``v``.

    Examples
    --------
    ``A`` converts 1 of 2, ``B`` 0 of 2, ``A > B`` 1 of 1:
    ``v(A) = ½``, ``v(B) = 0``, ``v(AB) = 2/5``.

    >>> paths = pl.DataFrame({"path": [["A"], ["B"], ["A", "B"]],
    ...     "conversions": [1.0, 0.0, 1.0], "revenue": [0.0, 0.0, 0.0], "nulls": [1.0, 2.0, 0.0]})
    >>> channels, v = counterfactual_coalition_values(paths)
    >>> channels, v.tolist()
    (['A', 'B'], [0.0, 0.5, 0.0, 0.4])
    """
    game = _game(paths)
    n = len(game.channels)
    if n > MAX_EXACT_LIMIT:
        raise ParameterError(
            f"Cannot tabulate 2^{n} coalitions; at most {MAX_EXACT_LIMIT} channels. "
            "Use counterfactual_shapley, which samples permutations above that."
        )
    return game.channels, _coalition_values(game)


def _coalition_values(game: _Game) -> FloatArray:
    n = len(game.channels)
    coalition_of_member = np.repeat(np.arange(game.offsets.size - 1), np.diff(game.offsets))
    masks = np.bincount(coalition_of_member, weights=(1 << game.members).astype(np.float64)).astype(
        np.int64
    )
    converted = subset_sums(np.bincount(masks, weights=game.conversions, minlength=1 << n))
    observed = subset_sums(np.bincount(masks, weights=game.journeys, minlength=1 << n))
    rate = np.zeros_like(converted)
    np.divide(converted, observed, out=rate, where=observed > 0)
    return rate


def _sampled_shapley(game: _Game, samples: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Mean and standard error of marginal contributions over seeded random permutations."""
    n = len(game.channels)
    rng = np.random.default_rng(seed)
    perms = rng.permuted(np.tile(np.arange(n, dtype=np.int64), (samples, 1)), axis=1)
    # Small integers halve or quarter the memory traffic of the gather below.
    rank_type = np.int16 if n < 1 << 15 else np.int32
    ranks = np.empty(perms.shape, dtype=rank_type)
    np.put_along_axis(ranks, perms, np.arange(n, dtype=rank_type)[None, :], axis=1)
    m = game.conversions.size
    total = np.zeros(n)
    total_sq = np.zeros(n)
    batch = max(1, min(samples, _BATCH_CELLS // max(game.members.size, n)))
    for start in range(0, samples, batch):
        rank = ranks[start : start + batch]
        size = rank.shape[0]
        # A coalition lies within the first k+1 players of a permutation once its last member
        # has arrived: its "entry" position is the largest rank among its members.
        entry = np.maximum.reduceat(rank[:, game.members], game.offsets[:-1], axis=1)
        cell = (np.arange(size, dtype=np.int64)[:, None] * n + entry.astype(np.int64)).ravel()
        converted = np.bincount(
            cell, weights=np.broadcast_to(game.conversions, (size, m)).ravel(), minlength=size * n
        ).reshape(size, n)
        observed = np.bincount(
            cell, weights=np.broadcast_to(game.journeys, (size, m)).ravel(), minlength=size * n
        ).reshape(size, n)
        converted = np.cumsum(converted, axis=1)
        observed = np.cumsum(observed, axis=1)
        rate = np.zeros_like(converted)
        np.divide(converted, observed, out=rate, where=observed > 0)
        marginal = np.diff(rate, axis=1, prepend=0.0)
        players = perms[start : start + batch].ravel()
        total += np.bincount(players, weights=marginal.ravel(), minlength=n)
        total_sq += np.bincount(players, weights=marginal.ravel() ** 2, minlength=n)
    mean = total / samples
    variance = np.clip(total_sq / samples - mean**2, 0.0, None)
    return mean, np.sqrt(variance / samples)


def counterfactual_shapley(
    paths: pl.DataFrame,
    *,
    max_exact_channels: int = 15,
    samples: int = 2000,
    seed: int = 0,
) -> CounterfactualValues:
    """Shapley values of the counterfactual conversion-rate game (see the module docstring).

    Parameters
    ----------
    paths
        :data:`~attribution.schema.PATHS`, non-converting paths included.
    max_exact_channels
        Exact over all ``2^n`` coalitions up to this many channels (at most
        :data:`MAX_EXACT_LIMIT`); permutation sampling above.
    samples
        Random permutations drawn when sampling.
    seed
        Seed of the permutation sampler (same seed, same result).

    Returns
    -------
    CounterfactualValues

    Examples
    --------
    ``A`` converts 1 of 2, ``B`` 0 of 2, ``A > B`` 1 of 1. ``v(A) = ½``,
    ``v(B) = 0``, ``v(AB) = ⅖``: ``φ_A = ½·½ + ½·(⅖ − 0) = 0.45``,
    ``φ_B = ½·0 + ½·(⅖ − ½) = −0.05``, clipped to 0, so ``A`` gets both
    conversions.

    >>> paths = pl.DataFrame({"path": [["A"], ["B"], ["A", "B"]],
    ...     "conversions": [1.0, 0.0, 1.0], "revenue": [0.0, 0.0, 0.0], "nulls": [1.0, 2.0, 0.0]})
    >>> result = counterfactual_shapley(paths)
    >>> result.method, round(result.conversion_rate, 6)
    ('exact', 0.4)
    >>> result.values.with_columns(pl.col("shapley").round(6))
    shape: (2, 5)
    ┌─────────┬─────────┬───────────┬───────┬─────────────┐
    │ channel ┆ shapley ┆ std_error ┆ share ┆ conversions │
    │ ---     ┆ ---     ┆ ---       ┆ ---   ┆ ---         │
    │ str     ┆ f64     ┆ f64       ┆ f64   ┆ f64         │
    ╞═════════╪═════════╪═══════════╪═══════╪═════════════╡
    │ A       ┆ 0.45    ┆ 0.0       ┆ 1.0   ┆ 2.0         │
    │ B       ┆ -0.05   ┆ 0.0       ┆ 0.0   ┆ 0.0         │
    └─────────┴─────────┴───────────┴───────┴─────────────┘
    """
    if not 0 <= max_exact_channels <= MAX_EXACT_LIMIT:
        raise ParameterError(
            f"The 'max_exact_channels' parameter must be between 0 and {MAX_EXACT_LIMIT}. "
            f"Got {max_exact_channels!r} instead."
        )
    if samples < 1:
        raise ParameterError(f"The 'samples' parameter must be >= 1. Got {samples!r} instead.")
    if seed < 0:
        raise ParameterError(f"The 'seed' parameter must be >= 0. Got {seed!r} instead.")
    game = _game(paths)
    n = len(game.channels)
    total_conversions = float(game.conversions.sum())
    total_journeys = float(game.journeys.sum())
    rate = total_conversions / total_journeys if total_journeys > 0 else 0.0
    method: Method
    if n <= max_exact_channels:
        phi = exact_shapley(_coalition_values(game)) if n else np.zeros(0)
        error = np.zeros(n)
        method, drawn = "exact", 0
    else:
        phi, error = _sampled_shapley(game, samples, seed)
        method, drawn = "sampled", samples
    positive = np.clip(phi, 0.0, None)
    share = positive / positive.sum() if positive.sum() > 0 else np.zeros(n)
    values = pl.DataFrame(
        {
            "channel": pl.Series(game.channels, dtype=pl.String),
            "shapley": phi,
            "std_error": error,
            "share": share,
            "conversions": share * total_conversions,
        },
        schema={
            "channel": pl.String,
            "shapley": pl.Float64,
            "std_error": pl.Float64,
            "share": pl.Float64,
            "conversions": pl.Float64,
        },
    )
    return CounterfactualValues(
        values=values, method=method, samples=drawn, n_channels=n, conversion_rate=rate
    )


__all__ = [
    "MAX_EXACT_LIMIT",
    "POSITIONS",
    "CounterfactualValues",
    "TouchShares",
    "coalitions",
    "counterfactual_coalition_values",
    "counterfactual_shapley",
    "exact_shapley",
    "ordered_shapley_values",
    "require_position",
    "shapley_values",
    "subset_sums",
    "touch_shares",
]
