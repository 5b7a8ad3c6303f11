r"""The absorbing Markov chain of paths, solved exactly (no simulation).

This module is pure computation on a :data:`~attribution.schema.PATHS` frame
(journeys rolled up to identical paths, see :meth:`attribution.Journeys.paths`).
It follows Anderl et al. (2016), "Mapping the customer journey: Lessons
learned from graph-based online attribution modeling", and the conventions of
the ChannelAttribution package (Altomare), but computes every probability by
solving a linear system instead of simulating journeys.

One chain, one solver:

- :class:`PathChain` is the chain of a fixed set of distinct paths, built
  once; it is re-solved for any per-path counts (the data's, or a bootstrap
  resample's). The Markov model, its bootstrap and :func:`transition_counts`
  all go through it.
- :func:`solve_absorbing` is the one linear solve behind every probability
  here, for the full chain and with every channel removed at once;
  :class:`PathChain` and the functions on a state graph
  (:func:`absorption_probabilities`, :func:`removal_effects` …, for chains
  given as a :class:`networkx.DiGraph`, such as a simulation's true chain)
  both call it.

States
------
A state is a tuple of channel names: for order ``k`` the last ``k`` channels
seen. The first ``k - 1`` touches of a path are in the shorter *prefix* states
``(A,)``, ``(A, B)``, …, so ``A > B > C`` at order 2 is
``(start) → (A) → (A, B) → (B, C) → (conversion)``. Three special states are
``(start)``, ``(conversion)`` and ``(null)`` (a journey that ended without
converting). ChannelAttribution instead opens with the first full window
(``(start) → (A, B) → (B, C)``) and keeps a path shorter than ``k`` as one
state; a prefix state has a single predecessor, so contracting it gives
exactly ChannelAttribution's transition, and both representations give the
same absorption probabilities and removal effects (checked by a test).

Every path contributes its ``conversions + nulls`` to each of its transitions,
``conversions`` to ``last state → (conversion)`` and ``nulls`` to
``last state → (null)``. Transition probabilities are the counts normalised
per source state.

Absorption and removal effect
-----------------------------
Write ``Q`` for the transitions among the transient states and ``r`` for the
one-step probabilities into ``(conversion)``. The probability ``x_s`` of
converting from state ``s`` solves ``x = Q x + r``, i.e. ``(I − Q) x = r``;
the chain's conversion probability is ``x_(start)``.

The *removal effect* of a channel ``c`` is ``RE_c = 1 − P(conv without c) /
P(conv)``, where "without ``c``" redirects every state that contains ``c`` to
``(null)`` (those states get ``x = 0``). Since paths that never meet ``c`` are
unaffected, ``P(conv) − P(conv without c) = P(convert and visit c)``, so
``RE_c`` is the share of converting chain paths that pass through ``c`` — which
is what ChannelAttribution's simulation counts. If nothing converts,
``P(conv) = 0`` and every removal effect is defined as 0.

A self-loop ``s → s`` never changes absorption: ``x_s = p_ss x_s + Σ_{t≠s} p_st
x_t`` gives ``x_s = Σ_{t≠s} p_st / (1 − p_ss) · x_t``, the chain with the loop
dropped. At order 1, collapsing repeated channels (``A > A > B`` to ``A > B``)
removes only self-loop counts, so it leaves removal effects unchanged; at
higher orders it changes the states (``(A, A)`` disappears) and so the model.

Worked example
--------------
Paths ``A > B`` (1 conversion), ``B > A`` (1 null), ``A`` (1 null) and
``B > A > B`` (1 conversion) give ``start → A, B`` with ½ each, ``A → B, null``
with ½ each and ``B → A, conversion`` with ½ each. Then ``x_A = ½ x_B``,
``x_B = ½ x_A + ½``, so ``x_B = ⅔``, ``x_A = ⅓`` and ``P(conv) = ½``. Without
``A``: ``x_B = ½``, ``P = ¼``, ``RE_A = ½``; without ``B`` nothing converts,
``RE_B = 1``.

>>> paths = pl.DataFrame({"path": [["A", "B"], ["B", "A"], ["A"], ["B", "A", "B"]],
...     "conversions": [1.0, 0.0, 0.0, 1.0], "nulls": [0.0, 1.0, 1.0, 0.0]})
>>> chain = build_chain(transition_counts(paths))
>>> conversion_probability(chain)
0.5
>>> removal_effects(chain)
{'A': 0.5, 'B': 1.0}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import InputError, ParameterError

if TYPE_CHECKING:
    # NetworkX and SciPy load on first use, not on import: listing the models
    # (whose registry imports this module) needs neither.
    import networkx as nx
    import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

State = tuple[str, ...]
"""A chain state: the last ``order`` channels, or one of the special states."""

START: State = ("(start)",)
CONVERSION: State = ("(conversion)",)
NULL: State = ("(null)",)
SPECIAL_STATES: frozenset[State] = frozenset({START, CONVERSION, NULL})
RESERVED_NAMES: frozenset[str] = frozenset(s[0] for s in SPECIAL_STATES)
"""Names a channel may not have: they label the special states."""

MAX_ORDER = 4

TRANSITIONS = pl.Schema(
    {"src": pl.List(pl.String()), "dst": pl.List(pl.String()), "count": pl.Float64()}
)
"""Output of :func:`transition_counts`: weighted transition counts between states."""

SEP = "\x1f"

_INTEGER_STATES_BELOW = 2**62
"""States are coded as integers while (channels + 1) ** order stays below this, else as text."""
"""Separator of names joined into one string key (ASCII unit separator: never in a name)."""

_DENSE_STATES = 64
"""Chains with at most this many transient states are solved densely, every removal in one
batch; larger ones (higher orders) by a sparse LU factorisation per removal."""


def require_order(order: int, owner: str = "transition_counts") -> None:
    """Raise :class:`ParameterError` unless ``order`` is an int from 1 to :data:`MAX_ORDER`.

    Examples
    --------
    >>> require_order(2)
    """
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ParameterError(
            f"The 'order' parameter of {owner} must be an integer from 1 to {MAX_ORDER}. "
            f"Got {order!r} instead."
        )


def solve_absorbing(
    n: int,
    src: IntArray,
    dst: IntArray,
    p: FloatArray,
    rhs: FloatArray,
    keep: BoolArray,
    *,
    transpose: bool = False,
) -> FloatArray:
    r"""Solve ``(I − Q_c) x = b_c`` (or ``(I − Q_c)ᵀ x = b_c``) for every removal ``c`` at once.

    The one linear solve of this module. ``Q`` is the ``n × n`` matrix of
    transition probabilities among the transient states, given by its
    entries ``Q[src, dst] = p``; ``Q_c`` is ``Q`` with the rows of the states
    that ``keep[c]`` drops set to zero: those states lead to ``(null)``.

    With ``b = r`` (one-step probabilities into ``(conversion)``, zero on
    dropped states) ``x`` is the probability of converting from each state;
    transposed, with ``b = e_(start)``, it is the expected number of visits
    of each state by a journey from ``(start)``. Chains of at most 64 states
    are solved densely in one batch, larger ones by a sparse LU
    factorisation per removal.

    Parameters
    ----------
    n
        Number of transient states.
    src, dst, p
        The non-zero entries of ``Q`` (no duplicate ``(src, dst)`` pairs).
    rhs
        Right-hand sides, shape ``(m, n)``: one per removal.
    keep
        Shape ``(m, n)``: which states each removal keeps.
    transpose
        Solve the transposed systems.

    Returns
    -------
    numpy.ndarray
        Shape ``(m, n)``: the solution of each system.

    Examples
    --------
    ``(start) → A`` always, ``A`` converts with probability ¼: converting from
    either state has probability ¼, and 0 once ``A`` is removed.

    >>> keep = np.array([[True, True], [True, False]])
    >>> r = np.array([0.0, 0.25]) * keep
    >>> solve_absorbing(2, np.array([0]), np.array([1]), np.array([1.0]), r, keep).tolist()
    [[0.25, 0.25], [0.0, 0.0]]
    """
    m = keep.shape[0]
    if n <= _DENSE_STATES:
        q = np.zeros((n, n))
        q[src, dst] = p
        systems = np.eye(n) - q[None, :, :] * keep[:, :, None]
        if transpose:
            systems = systems.transpose(0, 2, 1)
        return np.asarray(np.linalg.solve(systems, rhs[..., None])[..., 0], dtype=np.float64)
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    out = np.empty((m, n))
    for c in range(m):
        kept = keep[c][src]
        q_c = sp.csc_array((p[kept], (src[kept], dst[kept])), shape=(n, n))
        system = sp.identity(n, format="csc") - q_c
        out[c] = splu((system.T if transpose else system).tocsc()).solve(rhs[c])
    return out


def _state_indices(code: int | str, radix: int) -> list[int]:
    """Return the channel indices of a state's code, oldest first (see ``PathChain.from_paths``).

    Examples
    --------
    >>> _state_indices(2 * 4 + 3, 4), _state_indices("3,2,0", 4)
    ([1, 2], [1, 2])
    """
    if isinstance(code, str):
        digits = [int(d) for d in code.split(",")]
    else:
        digits = []
        while code:
            code, digit = divmod(code, radix)
            digits.append(digit)
    return [d - 1 for d in reversed(digits) if d]


@dataclass(frozen=True)
class ChainEffects:
    """What solving a :class:`PathChain` for some path counts gives, per channel.

    Attributes
    ----------
    channels
        Channel names, sorted.
    conversion_probability
        Probability that a journey from ``(start)`` converts.
    removal_effects
        ``RE_c`` of each channel, in ``[0, 1]``.
    value_removal_effects
        Each channel's share of the expected conversion *value* lost on its
        removal (see :func:`value_removal_effects`).

    Examples
    --------
    >>> effects = PathChain.from_paths(pl.Series([["A", "B"], ["B"]])).effects(
    ...     np.array([1.0, 1.0]), np.array([10.0, 30.0]), np.array([1.0, 1.0]))
    >>> effects.as_dict()
    {'A': 0.5, 'B': 1.0}
    """

    channels: tuple[str, ...]
    conversion_probability: float
    removal_effects: FloatArray
    value_removal_effects: FloatArray

    def as_dict(self, value: bool = False) -> dict[str, float]:
        """Return ``{channel: removal effect}`` (the value removal effects with ``value=True``).

        Examples
        --------
        >>> ChainEffects(("A",), 0.5, np.array([1.0]), np.array([0.5])).as_dict(value=True)
        {'A': 0.5}
        """
        effects = self.value_removal_effects if value else self.removal_effects
        return {c: float(e) for c, e in zip(self.channels, effects, strict=True)}


@dataclass(frozen=True)
class PathChain:
    """The order-k Markov chain of a fixed set of paths, re-solvable for any path counts.

    Built once from the distinct paths (:meth:`from_paths`); then each of
    :meth:`transition_counts`, :meth:`effects` and :meth:`totals` takes each
    path's conversions (and revenue, and non-conversions): the data's, or
    those of one bootstrap resample, say. States, transitions, removal and
    value removal follow the module docstring; every solve is
    :func:`solve_absorbing`'s.

    :meth:`totals` returns the channel totals
    :class:`~attribution.models.markov.Markov` reports with
    ``normalisation="global"``, without spreading them onto touches: share of
    the removal effects × conversions and share of the value removal effects
    × revenue, with the conventions of the spreading (a channel with a
    removal effect but no touch in a converting journey passes its share on
    to the others; journeys whose channels all have removal effect 0 are
    split equally per touch).

    Examples
    --------
    >>> chain = PathChain.from_paths(pl.Series([["A", "B"], ["B", "A"], ["A"], ["B", "A", "B"]]))
    >>> chain.channels
    ('A', 'B')
    >>> conv, rev = chain.totals(np.array([1.0, 0, 0, 1]), np.array([10.0, 0, 0, 30]),
    ...     np.array([0.0, 1, 1, 0]))
    >>> conv.round(6).tolist(), rev.round(6).tolist()
    ([0.666667, 1.333333], [13.333333, 26.666667])
    """

    channels: tuple[str, ...]
    states: tuple[State, ...]
    """Transient states, ``(start)`` first, then the others sorted by channel index."""
    pair_src: IntArray
    pair_dst: IntArray
    incidence: sp.csr_array
    """(paths × transition pairs): how often each path makes each transition."""
    last_state: IntArray
    """Last state of each path (-1 for an empty path)."""
    state_channels: BoolArray
    """(states × channels): whether a state contains a channel."""
    touch_fraction: sp.csr_array
    """(paths × channels): share of the path's touches on each channel."""
    touched: sp.csr_array
    """(paths × channels): 1 where the path touches the channel."""

    @property
    def n_states(self) -> int:
        """Number of transient states, ``(start)`` included."""
        return len(self.states)

    @classmethod
    def from_paths(
        cls, paths: pl.Series, *, order: int = 1, collapse_repeats: bool = False
    ) -> PathChain:
        """Build the chain's structure from a series of paths (lists of channel names).

        Parameters
        ----------
        paths
            One list of channel names per path; a null name is
            :data:`~attribution.constants.NOT_SET`.
        order
            Number of last channels that make a state (1 to 4).
        collapse_repeats
            Merge consecutive repeats of a channel (``A > A > B`` → ``A > B``)
            before building states.

        Raises
        ------
        InputError
            If a channel has a name reserved for a special state.

        Examples
        --------
        >>> PathChain.from_paths(pl.Series([["A", "A", "B"]]), order=2).states
        (('(start)',), ('A',), ('A', 'A'), ('A', 'B'))
        """
        import scipy.sparse as sp

        require_order(order)
        frame = pl.DataFrame({"path": paths.cast(pl.List(pl.String))}).with_row_index("pid")
        frame = frame.with_columns(pl.col("path").list.eval(pl.element().fill_null(NOT_SET)))
        raw = (
            frame.filter(pl.col("path").list.len() > 0).explode("path").rename({"path": "channel"})
        )
        reserved = raw.filter(pl.col("channel").is_in(list(RESERVED_NAMES)))
        if not reserved.is_empty():
            raise InputError(
                f"Channel name '{reserved['channel'][0]}' is reserved for a Markov chain state "
                f"({', '.join(sorted(RESERVED_NAMES))}); rename that channel."
            )
        channels = sorted(raw["channel"].unique().to_list())
        channel_id = {c: i for i, c in enumerate(channels)}
        n_paths = frame.height
        touches = raw.with_columns(
            pl.col("channel").replace_strict(channel_id, return_dtype=pl.Int64).alias("c")
        )
        shape = (n_paths, len(channels))
        pid = touches["pid"].to_numpy().astype(np.int64)
        counts = sp.csr_array(
            (np.ones(pid.size), (pid, touches["c"].to_numpy().astype(np.int64))), shape=shape
        )
        # touches of each channel on each path (building a CSR array sums repeated cells)
        rows = np.repeat(np.arange(n_paths), np.diff(counts.indptr))
        touch_fraction = sp.csr_array(
            (
                counts.data / np.bincount(pid, minlength=n_paths)[rows],
                counts.indices,
                counts.indptr,
            ),
            shape=shape,
        )
        touched = sp.csr_array((np.ones(counts.nnz), counts.indices, counts.indptr), shape=shape)

        # Touches are in path order, one path after the other: a shift looks back within the
        # path while the path id is unchanged (cheaper than a window over each path).
        def within(i: int) -> pl.Expr:
            return pl.col("pid").shift(i) == pl.col("pid")

        steps = touches.select("pid", pl.col("c").cast(pl.Int64))
        if collapse_repeats:
            repeat = within(1) & (pl.col("c").shift(1) == pl.col("c"))
            steps = steps.filter(~repeat.fill_null(False))
        # A state is its last `order` channels, newest last, as one integer: channel index + 1
        # as digits in base (channels + 1), newest least significant; 0 digits before the start.
        radix = len(channels) + 1
        digits = [
            pl.when(within(i)).then(pl.col("c").shift(i) + 1).otherwise(0) if i else pl.col("c") + 1
            for i in range(order)
        ]
        if radix**order < _INTEGER_STATES_BELOW:
            dst = pl.sum_horizontal(d * radix**i for i, d in enumerate(digits))
        else:  # too many channels for an integer code: the digits as text, newest first
            dst = pl.concat_str([d.cast(pl.String) for d in digits], separator=",")
        steps = steps.with_columns(dst.alias("dst"))
        steps = steps.with_columns(
            pl.when(within(1)).then(pl.col("dst").shift(1)).otherwise(None).alias("src")
        )
        codes = steps["dst"].unique().to_list()
        keys_of = {code: SEP.join(map(str, _state_indices(code, radix))) for code in codes}
        keys = sorted(keys_of.values())
        state_of_key = {key: i + 1 for i, key in enumerate(keys)}  # 0 is (start)
        state_id = {code: state_of_key[key] for code, key in keys_of.items()}
        steps = steps.with_columns(
            pl.col("dst").replace_strict(state_id, return_dtype=pl.Int64).alias("dst_id"),
            pl.col("src")
            .replace_strict(state_id, default=None, return_dtype=pl.Int64)
            .fill_null(0)
            .alias("src_id"),
        )
        step_path = steps["pid"].to_numpy().astype(np.int64)
        src_id = steps["src_id"].to_numpy()
        dst_id = steps["dst_id"].to_numpy()
        # The transition pairs, sorted by (source, destination), and each step's pair.
        radix_states = len(keys) + 1
        step_keys = src_id * radix_states + dst_id
        if radix_states**2 <= 1 << 24:  # a lookup table over every possible pair: no sort
            present = np.bincount(step_keys, minlength=radix_states**2) > 0
            pair_keys = np.flatnonzero(present)
            pair_of_step = (np.cumsum(present) - 1)[step_keys]
        else:
            pair_keys, pair_of_step = np.unique(step_keys, return_inverse=True)
        incidence = sp.csr_array(
            (np.ones(step_path.size), (step_path, pair_of_step.ravel())),
            shape=(n_paths, pair_keys.size),
        )
        # Each path's last state: the steps are still in path order.
        is_last = np.append(step_path[1:] != step_path[:-1], True)[: step_path.size]
        last_state = np.full(n_paths, -1, dtype=np.int64)
        last_state[step_path[is_last]] = dst_id[is_last]
        states: list[State] = [START]
        state_channels = np.zeros((len(keys) + 1, len(channels)), dtype=bool)
        for i, key in enumerate(keys, start=1):
            ids = [int(c) for c in key.split(SEP)]
            states.append(tuple(channels[c] for c in ids))
            state_channels[i, ids] = True
        return cls(
            channels=tuple(channels),
            states=tuple(states),
            pair_src=(pair_keys // radix_states).astype(np.int64),
            pair_dst=(pair_keys % radix_states).astype(np.int64),
            incidence=incidence,
            last_state=last_state,
            state_channels=state_channels,
            touch_fraction=touch_fraction,
            touched=touched,
        )

    def _ends(self, *per_path: FloatArray) -> list[FloatArray]:
        """Sum each per-path array over the paths ending in each state."""
        ends = self.last_state >= 0
        return [
            np.bincount(self.last_state[ends], values[ends], minlength=self.n_states).astype(
                np.float64, copy=False
            )
            for values in per_path
        ]

    def transition_counts(self, conversions: FloatArray, nulls: FloatArray) -> pl.DataFrame:
        """Return the weighted transition counts of the paths, as :func:`transition_counts` does.

        Parameters
        ----------
        conversions, nulls
            Per path (in the order given to :meth:`from_paths`): converting
            and non-converting journeys.

        Returns
        -------
        polars.DataFrame
            :data:`TRANSITIONS`, sorted by ``src`` and ``dst``; zero counts are dropped.

        Examples
        --------
        >>> chain = PathChain.from_paths(pl.Series([["A", "B"], ["B"]]))
        >>> chain.transition_counts(np.array([1.0, 0.0]), np.array([0.0, 2.0])).rows()[:2]
        [(['(start)'], ['A'], 1.0), (['(start)'], ['B'], 2.0)]
        """
        flow = self.incidence.T @ (conversions + nulls)
        end_conv, end_null = self._ends(conversions, nulls)
        src: list[State] = []
        dst: list[State] = []
        count: list[float] = []
        for s, d, f in zip(self.pair_src, self.pair_dst, flow, strict=True):
            if f > 0:
                src.append(self.states[s])
                dst.append(self.states[d])
                count.append(float(f))
        for target, totals in ((CONVERSION, end_conv), (NULL, end_null)):
            for s in np.flatnonzero(totals > 0):
                src.append(self.states[s])
                dst.append(target)
                count.append(float(totals[s]))
        frame = pl.DataFrame(
            {"src": [list(s) for s in src], "dst": [list(d) for d in dst], "count": count},
            schema=TRANSITIONS,
        )
        return frame.sort("src", "dst")

    def _flows(
        self, conversions: FloatArray, nulls: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Flow through each transition pair, and into ``(conversion)`` and ``(null)`` per state."""
        end_conv, end_null = self._ends(conversions, nulls)
        flow: FloatArray = self.incidence.T @ (conversions + nulls)
        return flow, end_conv, end_null

    def effects(
        self, conversions: FloatArray, revenue: FloatArray, nulls: FloatArray
    ) -> ChainEffects:
        """Solve the chain for the given path counts: conversion probability and removal effects.

        Parameters
        ----------
        conversions, revenue, nulls
            Per path (in the order given to :meth:`from_paths`): converting
            journeys, their summed revenue and non-converting journeys.

        Examples
        --------
        >>> paths = pl.Series([["A", "B"], ["B", "A"], ["A"], ["B", "A", "B"]])
        >>> e = PathChain.from_paths(paths).effects(
        ...     np.array([1.0, 0, 0, 1]), np.zeros(4), np.array([0.0, 1, 1, 0]))
        >>> round(e.conversion_probability, 12), e.as_dict()
        (0.5, {'A': 0.5, 'B': 1.0})
        """
        k = len(self.channels)
        if k == 0 or conversions.sum() <= 0:
            return ChainEffects(self.channels, 0.0, np.zeros(k), np.zeros(k))
        flow, end_conv, end_null = self._flows(conversions, nulls)
        (end_rev,) = self._ends(revenue)
        return _chain_effects(
            self.channels,
            self.state_channels,
            self.pair_src,
            self.pair_dst,
            flow,
            end_conv,
            end_null,
            end_rev,
        )

    def totals(
        self, conversions: FloatArray, revenue: FloatArray, nulls: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Return the conversions and revenue credited to each channel.

        Parameters
        ----------
        conversions, revenue, nulls
            Per path (in the order given to :meth:`from_paths`): converting
            journeys, their summed revenue and non-converting journeys.

        Returns
        -------
        (conversions, revenue)
            Arrays over :attr:`channels`.

        Examples
        --------
        >>> chain = PathChain.from_paths(pl.Series([["A"], ["B"]]))
        >>> chain.totals(np.array([1.0, 3.0]), np.array([10.0, 30.0]), np.zeros(2))[0].tolist()
        [1.0, 3.0]
        """
        k = len(self.channels)
        if k == 0 or conversions.sum() <= 0:
            return np.zeros(k), np.zeros(k)
        effects = self.effects(conversions, revenue, nulls)
        return (
            self._spread(effects.removal_effects, conversions),
            self._spread(effects.value_removal_effects, revenue),
        )

    def _spread(self, effect: FloatArray, mass: FloatArray) -> FloatArray:
        """Channel totals of ``mass`` shared by ``effect``, as Markov's per-touch spreading sums."""
        positive = (effect > 0).astype(np.float64)
        with_mass = mass > 0
        has_effect = (self.touched @ positive) > 0
        fitted = np.where(with_mass & has_effect, mass, 0.0)
        uniform = np.where(with_mass & ~has_effect, mass, 0.0)
        totals: FloatArray = self.touch_fraction.T @ uniform
        present = (effect > 0) & ((self.touched.T @ fitted) > 0)
        weight = effect[present].sum()
        if weight > 0:
            totals[present] += effect[present] / weight * fitted.sum()
        return totals


STEPS = pl.Schema(
    {"prev": pl.String(), "next": pl.String(), "count": pl.Float64(), "revenue": pl.Float64()}
)
"""Steps of journeys (:meth:`FirstOrderChain.from_steps`): from ``prev`` (null: the start) to
``next`` (null: the conversion), by ``count`` journeys; ``revenue`` of the conversions."""


def path_steps(paths: pl.DataFrame) -> pl.DataFrame:
    """Count the steps of aggregated paths: what :meth:`FirstOrderChain.from_steps` reads.

    Each path's ``conversions + nulls`` journeys take each of its steps
    between channels (the first from the start); its ``conversions`` take
    the step from its last channel to the conversion, with its ``revenue``.
    Non-conversions are not steps: the chain infers them.

    Parameters
    ----------
    paths
        A :data:`~attribution.schema.PATHS` frame (``path``, ``conversions``,
        ``revenue``, ``nulls``).

    Returns
    -------
    polars.DataFrame
        :data:`STEPS`, one row per distinct step, sorted.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A", "B"], ["B"]], "conversions": [1.0, 0.0],
    ...     "revenue": [5.0, 0.0], "nulls": [1.0, 2.0]})
    >>> path_steps(paths).rows()
    [(None, 'A', 2.0, 0.0), (None, 'B', 2.0, 0.0), ('A', 'B', 2.0, 0.0), ('B', None, 1.0, 5.0)]
    """
    numbers = [pl.col(c).cast(pl.Float64).fill_null(0.0) for c in ("conversions", "revenue")]
    frame = paths.select(
        pl.col("path").cast(pl.List(pl.String)).list.eval(pl.element().fill_null(NOT_SET)),
        *numbers,
        (numbers[0] + pl.col("nulls").cast(pl.Float64).fill_null(0.0)).alias("journeys"),
    ).filter(pl.col("path").list.len() > 0)
    moves = (
        frame.select(
            pl.concat_list(pl.lit(None, pl.String), pl.col("path"))
            .list.slice(0, pl.col("path").list.len())
            .alias("prev"),
            pl.col("path").alias("next"),
            pl.col("journeys").alias("count"),
        )
        .explode("prev", "next")
        .with_columns(pl.lit(0.0).alias("revenue"))
    )
    ends = frame.filter(pl.col("conversions") != 0).select(
        pl.col("path").list.last().alias("prev"),
        pl.lit(None, pl.String).alias("next"),
        pl.col("conversions").alias("count"),
        "revenue",
    )
    return (
        pl.concat([moves, ends])
        .filter(pl.col("count") != 0)
        .group_by("prev", "next")
        .agg(pl.col("count", "revenue").sum())
        .sort("prev", "next", nulls_last=[False, True])
        .cast(STEPS)  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class FirstOrderChain:
    """The first-order chain of journeys, given by how often each step is taken.

    At order 1 a state is the last channel, so the chain, and with it every
    removal effect, depends on the journeys only through their step counts:
    how many go from ``(start)`` or a channel to a channel, and how many
    convert after each channel (and their revenue). Where journeys are many
    the engine counts them where the data lives
    (:func:`engine.sql.journey_steps_sql`) instead of rolling up every
    distinct path. Non-conversions are not counted: a journey leaves every
    channel it enters once, so those that end in ``(null)`` after a channel
    are the journeys entering it less those leaving it for a channel or the
    conversion.

    For the same journeys :meth:`effects` equals :meth:`PathChain.effects` at
    order 1 (the same computation on the same counts).

    Attributes
    ----------
    channels
        Channel names, sorted.
    src, dst
        Transition pairs between states, sorted: ``0`` is ``(start)``,
        ``1 + i`` the channel ``channels[i]``.
    count
        Journeys taking each pair.
    conversions, revenue, nulls
        Per channel: conversions after it as the last touch, their revenue,
        and journeys that ended there without converting.

    Examples
    --------
    The worked example of the module docstring:

    >>> paths = pl.DataFrame({"path": [["A", "B"], ["B", "A"], ["A"], ["B", "A", "B"]],
    ...     "conversions": [1.0, 0.0, 0.0, 1.0], "revenue": [10.0, 0, 0, 30.0],
    ...     "nulls": [0.0, 1.0, 1.0, 0.0]})
    >>> chain = FirstOrderChain.from_steps(path_steps(paths))
    >>> chain.nulls.tolist(), chain.effects().as_dict()
    ([2.0, 0.0], {'A': 0.5, 'B': 1.0})
    """

    channels: tuple[str, ...]
    src: IntArray
    dst: IntArray
    count: FloatArray
    conversions: FloatArray
    revenue: FloatArray
    nulls: FloatArray

    @classmethod
    def from_steps(cls, steps: pl.DataFrame, *, collapse_repeats: bool = False) -> FirstOrderChain:
        """Build the chain from step counts (:data:`STEPS`; a step may repeat, it is summed).

        Parameters
        ----------
        steps
            ``prev``, ``next``, ``count`` and ``revenue`` (see :data:`STEPS`).
            A conversion with no touch (``prev`` and ``next`` null) is not
            part of the chain and is left out.
        collapse_repeats
            Drop the steps from a channel to itself (``A > A > B`` as
            ``A > B``). A self-loop never changes an absorption probability,
            so the effects stay the same (see the module docstring).

        Raises
        ------
        InputError
            If a channel has a name reserved for a special state, or the
            steps cannot be those of journeys (more leave a channel than enter it).

        Examples
        --------
        >>> steps = pl.DataFrame({"prev": [None, "A", "A"], "next": ["A", "A", None],
        ...     "count": [3.0, 1.0, 1.0], "revenue": [0.0, 0.0, 20.0]})
        >>> chain = FirstOrderChain.from_steps(steps)
        >>> chain.channels, chain.count.tolist(), chain.nulls.tolist()
        (('A',), [3.0, 1.0], [2.0])
        >>> FirstOrderChain.from_steps(steps, collapse_repeats=True).count.tolist()
        [3.0]
        """
        frame = steps.select(
            pl.col("prev").cast(pl.String),
            pl.col("next").cast(pl.String),
            pl.col("count").cast(pl.Float64).fill_null(0.0),
            pl.col("revenue").cast(pl.Float64).fill_null(0.0),
        ).filter(pl.col("prev").is_not_null() | pl.col("next").is_not_null())
        names = pl.concat([frame["prev"], frame["next"]]).drop_nulls().unique()
        reserved = names.filter(names.is_in(list(RESERVED_NAMES)))
        if not reserved.is_empty():
            raise InputError(
                f"Channel name '{reserved[0]}' is reserved for a Markov chain state "
                f"({', '.join(sorted(RESERVED_NAMES))}); rename that channel."
            )
        channels = sorted(names.to_list())
        k = len(channels)
        index = {c: i + 1 for i, c in enumerate(channels)}
        coded = frame.with_columns(
            pl.col("prev").replace_strict(index, default=0, return_dtype=pl.Int64).alias("src"),
            pl.col("next").replace_strict(index, default=0, return_dtype=pl.Int64).alias("dst"),
        )
        moves = (
            coded.filter(pl.col("dst") > 0)
            .group_by("src", "dst")
            .agg(pl.col("count").sum())
            .filter(pl.col("count") != 0)
            .sort("src", "dst")
        )
        ends = coded.filter(pl.col("dst") == 0)
        src = moves["src"].to_numpy().astype(np.int64)
        dst = moves["dst"].to_numpy().astype(np.int64)
        count = moves["count"].to_numpy().astype(np.float64)
        end_at = ends["src"].to_numpy().astype(np.int64) - 1
        conversions = np.bincount(end_at, ends["count"].to_numpy(), minlength=k).astype(np.float64)
        revenue = np.bincount(end_at, ends["revenue"].to_numpy(), minlength=k).astype(np.float64)
        entering = np.bincount(dst - 1, count, minlength=k)
        leaving = np.bincount(src[src > 0] - 1, count[src > 0], minlength=k)
        nulls = entering - leaving - conversions
        # Counts of journeys are whole numbers; a float input may miss by rounding only.
        slack = 1e-9 * max(1.0, float(entering.max(initial=0.0)))
        if (nulls < -slack).any() or (count < 0).any():
            gone = channels[int(np.argmin(nulls))]
            raise InputError(
                f"These steps are not those of journeys: more journeys leave channel '{gone}' "
                "(to a channel or the conversion) than enter it."
            )
        nulls = np.maximum(nulls, 0.0)
        if collapse_repeats:
            loop = src == dst
            src, dst, count = src[~loop], dst[~loop], count[~loop]
        return cls(tuple(channels), src, dst, count, conversions, revenue, nulls)

    def effects(self) -> ChainEffects:
        """Solve the chain: conversion probability, removal and value removal effects.

        Examples
        --------
        >>> paths = pl.DataFrame({"path": [["A"], ["A", "B"]], "conversions": [1.0, 1.0],
        ...     "revenue": [10.0, 30.0], "nulls": [1.0, 1.0]})
        >>> effects = FirstOrderChain.from_steps(path_steps(paths)).effects()
        >>> effects.as_dict(), effects.as_dict(value=True)
        ({'A': 1.0, 'B': 0.5}, {'A': 1.0, 'B': 0.75})
        """
        k = len(self.channels)
        if k == 0 or self.conversions.sum() <= 0:
            return ChainEffects(self.channels, 0.0, np.zeros(k), np.zeros(k))
        state_channels = np.zeros((k + 1, k), dtype=bool)
        state_channels[1:] = np.eye(k, dtype=bool)
        return _chain_effects(
            self.channels,
            state_channels,
            self.src,
            self.dst,
            self.count,
            *(np.concatenate([[0.0], v]) for v in (self.conversions, self.nulls, self.revenue)),
        )

    def transition_counts(self) -> pl.DataFrame:
        """Return the transition counts, as :func:`transition_counts` gives them at order 1.

        Examples
        --------
        >>> paths = pl.DataFrame({"path": [["A", "A", "B"], ["B"]], "conversions": [2.0, 0.0],
        ...     "revenue": [0.0, 0.0], "nulls": [1.0, 1.0]})
        >>> FirstOrderChain.from_steps(path_steps(paths)).transition_counts().rows()[:3]
        [(['(start)'], ['A'], 3.0), (['(start)'], ['B'], 1.0), (['A'], ['A'], 3.0)]
        """
        states = [START, *((c,) for c in self.channels)]
        src = [list(states[s]) for s in self.src]
        dst = [list(states[d]) for d in self.dst]
        count = self.count.tolist()
        for target, totals in ((CONVERSION, self.conversions), (NULL, self.nulls)):
            for i in np.flatnonzero(totals > 0):
                src.append([self.channels[i]])
                dst.append(list(target))
                count.append(float(totals[i]))
        frame = pl.DataFrame({"src": src, "dst": dst, "count": count}, schema=TRANSITIONS)
        return frame.filter(pl.col("count") > 0).sort("src", "dst")


def _chain_effects(
    channels: tuple[str, ...],
    state_channels: BoolArray,
    pair_src: IntArray,
    pair_dst: IntArray,
    flow: FloatArray,
    end_conv: FloatArray,
    end_null: FloatArray,
    end_rev: FloatArray,
) -> ChainEffects:
    """Solve a chain given by its counts: removal and value removal effects of every channel.

    The one computation behind :meth:`PathChain.effects` and
    :meth:`FirstOrderChain.effects`. States are ``0`` (``(start)``) to
    ``n − 1``; ``flow`` is the count of each transition pair ``pair_src →
    pair_dst`` (no duplicate pairs), ``end_conv``, ``end_null`` and
    ``end_rev`` the conversions, non-conversions and conversion revenue
    ending in each state; ``state_channels`` (states × channels) says which
    channels a state contains. Transition probabilities are the counts
    normalised per source state; the visits ``y`` solve ``(I − Q)ᵀ y =
    e_start`` and ``P_s = y_s r_s`` (see :func:`conversion_by_last_state`),
    for the full chain and with each channel's states led to ``(null)``.
    """
    k, n = len(channels), state_channels.shape[0]
    out = np.bincount(pair_src, flow, minlength=n) + end_conv + end_null
    scale = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    p, r = flow * scale[pair_src], end_conv * scale
    keep = np.ones((k + 1, n), dtype=bool)
    keep[1:] = ~state_channels.T
    start = np.zeros(n)
    start[0] = 1.0
    rhs = np.broadcast_to(start, (k + 1, n))
    visits = solve_absorbing(n, pair_src, pair_dst, p, rhs, keep, transpose=True)
    by_last = visits * r[None, :] * keep  # (1 + k, states): full chain, then each removal
    full, without = by_last[0], by_last[1:]
    base = full.sum()
    effect = np.clip(1.0 - without.sum(axis=1) / base, 0.0, 1.0) if base > 0 else np.zeros(k)
    mean_value = np.divide(end_rev, end_conv, out=np.zeros(n), where=end_conv > 0)
    value_base = float(mean_value @ full)
    value_effect = (
        np.clip((value_base - without @ mean_value) / value_base, 0.0, 1.0)
        if value_base > 0
        else np.zeros(k)
    )
    return ChainEffects(channels, float(base), effect, value_effect)


def path_counts(paths: pl.DataFrame, *columns: str) -> list[FloatArray]:
    """Return columns of a paths frame as float arrays, nulls as 0.

    Examples
    --------
    >>> path_counts(pl.DataFrame({"conversions": [1, None]}), "conversions")[0].tolist()
    [1.0, 0.0]
    """
    return [paths[c].cast(pl.Float64).fill_null(0.0).to_numpy() for c in columns]


def transition_counts(
    paths: pl.DataFrame, order: int = 1, collapse_repeats: bool = False
) -> pl.DataFrame:
    """Count the transitions between states over all paths, weighted by their journeys.

    Parameters
    ----------
    paths
        A :data:`~attribution.schema.PATHS` frame; only ``path``,
        ``conversions`` and ``nulls`` are used.
    order
        Number of last channels that make a state (1 to 4).
    collapse_repeats
        Merge consecutive repeats of a channel (``A > A > B`` → ``A > B``)
        before building states.

    Returns
    -------
    polars.DataFrame
        :data:`TRANSITIONS`: ``src`` and ``dst`` states as lists of names and
        the summed ``count``, sorted by ``src`` and ``dst``; zero counts are dropped.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A", "A", "B"], ["B"]], "conversions": [2.0, 0.0],
    ...     "nulls": [1.0, 1.0]})
    >>> transition_counts(paths, order=2)
    shape: (7, 3)
    ┌─────────────┬──────────────────┬───────┐
    │ src         ┆ dst              ┆ count │
    │ ---         ┆ ---              ┆ ---   │
    │ list[str]   ┆ list[str]        ┆ f64   │
    ╞═════════════╪══════════════════╪═══════╡
    │ ["(start)"] ┆ ["A"]            ┆ 3.0   │
    │ ["(start)"] ┆ ["B"]            ┆ 1.0   │
    │ ["A"]       ┆ ["A", "A"]       ┆ 3.0   │
    │ ["A", "A"]  ┆ ["A", "B"]       ┆ 3.0   │
    │ ["A", "B"]  ┆ ["(conversion)"] ┆ 2.0   │
    │ ["A", "B"]  ┆ ["(null)"]       ┆ 1.0   │
    │ ["B"]       ┆ ["(null)"]       ┆ 1.0   │
    └─────────────┴──────────────────┴───────┘
    """
    require_order(order)
    chain = PathChain.from_paths(paths["path"], order=order, collapse_repeats=collapse_repeats)
    return chain.transition_counts(*path_counts(paths, "conversions", "nulls"))


def last_state_values(
    paths: pl.DataFrame, order: int = 1, collapse_repeats: bool = False
) -> dict[State, float]:
    """Return ``μ_s``: the mean value of conversions whose last state is ``s``.

    The last state of a path is its last ``order`` channels (after collapsing
    repeats when asked), as in :func:`transition_counts`.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A"], ["B", "A"], ["A", "B"]],
    ...     "conversions": [1.0, 3.0, 1.0], "revenue": [10.0, 90.0, 5.0], "nulls": [0.0] * 3})
    >>> last_state_values(paths)
    {('A',): 25.0, ('B',): 5.0}
    """
    require_order(order)
    path = pl.col("path").list.eval(pl.element().fill_null(NOT_SET))
    if collapse_repeats:
        path = path.list.eval(pl.element().filter(pl.element().ne_missing(pl.element().shift(1))))
    per_state = (
        paths.filter(pl.col("conversions") > 0)
        .select(path.list.tail(order).alias("state"), "conversions", "revenue")
        .group_by("state")
        .agg(pl.col("revenue").sum() / pl.col("conversions").sum())
        .sort("state")
    )
    return {tuple(state): float(value) for state, value in per_state.iter_rows()}


def build_chain(counts: pl.DataFrame) -> nx.DiGraph:
    """Build the chain from transition counts, with probabilities normalised per source.

    Parameters
    ----------
    counts
        Output of :func:`transition_counts`.

    Returns
    -------
    networkx.DiGraph
        Nodes are states (tuples of names, see :data:`START`, :data:`CONVERSION`,
        :data:`NULL`); each edge has ``count`` and ``p``. The three special
        states are always present.

    Examples
    --------
    >>> counts = pl.DataFrame({"src": [["(start)"], ["A"], ["A"]],
    ...     "dst": [["A"], ["(conversion)"], ["(null)"]], "count": [4.0, 1.0, 3.0]})
    >>> chain = build_chain(counts)
    >>> chain.edges[("A",), ("(conversion)",)]
    {'count': 1.0, 'p': 0.25}
    """
    import networkx as nx

    probabilities = counts.with_columns(
        (pl.col("count") / pl.col("count").sum().over("src")).alias("p")
    )
    graph = nx.DiGraph()
    graph.add_nodes_from([START, CONVERSION, NULL])
    # One edge per distinct transition: the chain is as small as the set of states.
    for src, dst, count, p in probabilities.select("src", "dst", "count", "p").iter_rows():
        graph.add_edge(tuple(src), tuple(dst), count=float(count), p=float(p))
    return graph


def chain_channels(graph: nx.DiGraph) -> list[str]:
    """Return the sorted channel names that occur in the states of a chain.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([(START, ("A",)), (("A",), ("A", "B")), (("A", "B"), CONVERSION)])
    >>> chain_channels(g)
    ['A', 'B']
    """
    return sorted({c for state in graph.nodes if state not in SPECIAL_STATES for c in state})


@dataclass(frozen=True)
class _GraphSystem:
    """A state graph as :func:`solve_absorbing` takes it: transient states and ``Q``, ``r``."""

    states: list[State]
    src: IntArray
    dst: IntArray
    p: FloatArray
    r: FloatArray

    @classmethod
    def of(cls, graph: nx.DiGraph) -> _GraphSystem:
        states = sorted(s for s in graph.nodes if s not in (CONVERSION, NULL))
        index = {s: i for i, s in enumerate(states)}
        src: list[int] = []
        dst: list[int] = []
        p: list[float] = []
        r = np.zeros(len(states))
        for a, b, weight in graph.edges(data="p", default=1.0):
            if a not in index:
                continue
            if b == CONVERSION:
                r[index[a]] += weight
            elif b in index:
                src.append(index[a])
                dst.append(index[b])
                p.append(weight)
        return cls(
            states,
            np.array(src, dtype=np.int64),
            np.array(dst, dtype=np.int64),
            np.array(p, dtype=np.float64),
            r,
        )

    def keep(self, removals: Iterable[Iterable[str]]) -> BoolArray:
        """One row per removal: which states contain none of its channels."""
        rows = [frozenset(gone) for gone in removals]
        return np.array(
            [[s == START or gone.isdisjoint(s) for s in self.states] for gone in rows], dtype=bool
        ).reshape(len(rows), len(self.states))

    def absorption(self, removals: list[frozenset[str]]) -> FloatArray:
        """``x``: probability of converting from each state, one row per removal."""
        keep = self.keep(removals)
        return solve_absorbing(len(self.states), self.src, self.dst, self.p, self.r * keep, keep)

    def conversion_by_last_state(self, removals: list[frozenset[str]]) -> FloatArray:
        """``P_s = y_s r_s``: converting with ``s`` as the last state, one row per removal."""
        keep = self.keep(removals)
        n = len(self.states)
        start = np.zeros(n)
        start[self.states.index(START)] = 1.0
        rhs = np.broadcast_to(start, (len(removals), n))
        visits = solve_absorbing(n, self.src, self.dst, self.p, rhs, keep, transpose=True)
        result: FloatArray = visits * self.r[None, :] * keep
        return result


def absorption_probabilities(
    graph: nx.DiGraph, removed: Iterable[str] = frozenset()
) -> dict[State, float]:
    """Return the probability of reaching ``(conversion)`` from every transient state.

    Solves ``(I − Q) x = r`` (:func:`solve_absorbing`). States that contain a
    ``removed`` channel are redirected to ``(null)`` and get probability 0.

    Parameters
    ----------
    graph
        Output of :func:`build_chain` (or any chain with edge attribute ``p``).
    removed
        Channels to remove.

    Returns
    -------
    dict
        ``{state: probability}`` for every state except ``(conversion)`` and
        ``(null)``, including ``(start)``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph()
    >>> g.add_edge(START, ("A",), p=1.0)
    >>> g.add_edge(("A",), CONVERSION, p=0.25)
    >>> g.add_edge(("A",), NULL, p=0.75)
    >>> absorption_probabilities(g)
    {('(start)',): 0.25, ('A',): 0.25}
    >>> absorption_probabilities(g, removed={"A"})
    {('(start)',): 0.0, ('A',): 0.0}
    """
    system = _GraphSystem.of(graph)
    if not system.states or not graph.has_node(CONVERSION):
        return dict.fromkeys(system.states, 0.0)
    x = system.absorption([frozenset(removed)])[0]
    return {s: float(v) for s, v in zip(system.states, x, strict=True)}


def conversion_by_last_state(
    graph: nx.DiGraph, removed: Iterable[str] = frozenset()
) -> dict[State, float]:
    r"""Return ``P_s``: the probability that a journey converts with ``s`` as its last state.

    With ``N = (I − Q)^{-1}`` the expected number of visits, a journey from
    ``(start)`` visits ``s`` on average ``y_s = N_(start),s`` times, and
    ``P_s = y_s · p(s → conversion)``. ``y`` solves ``(I − Q)^T y = e_(start)``
    (:func:`solve_absorbing`); ``Σ_s P_s`` is the chain's conversion
    probability. States that contain a ``removed`` channel are redirected to
    ``(null)`` and get 0.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A"], ["A", "B"]], "conversions": [1.0, 1.0],
    ...     "nulls": [1.0, 1.0]})
    >>> chain = build_chain(transition_counts(paths))
    >>> {s[0]: round(p, 6) for s, p in conversion_by_last_state(chain).items()}
    {'A': 0.25, 'B': 0.25}
    """
    system = _GraphSystem.of(graph)
    result = {s: 0.0 for s in system.states if s != START}
    if START not in system.states or not graph.has_node(CONVERSION):
        return result
    by_last = system.conversion_by_last_state([frozenset(removed)])[0]
    for state, value in zip(system.states, by_last, strict=True):
        if state != START:
            result[state] = float(value)
    return result


def value_removal_effects(
    graph: nx.DiGraph, value_by_last_state: dict[State, float]
) -> dict[str, float]:
    r"""Return each channel's share of the chain's expected conversion *value* lost on removal.

    With ``μ_s`` the mean value of conversions whose last state is ``s`` and
    ``P_s``, ``P_s^{(−c)}`` from :func:`conversion_by_last_state`, the value
    removal effect of ``c`` is ``Σ_s μ_s (P_s − P_s^{(−c)}) / Σ_s μ_s P_s``.
    This is the exact counterpart of ChannelAttribution's simulation, which
    gives every simulated conversion the mean value observed for its last
    state. With one value everywhere it equals :func:`removal_effects`.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A"], ["A", "B"]], "conversions": [1.0, 1.0],
    ...     "nulls": [1.0, 1.0]})
    >>> chain = build_chain(transition_counts(paths))
    >>> value_removal_effects(chain, {("A",): 10.0, ("B",): 30.0})
    {'A': 1.0, 'B': 0.75}
    """
    channels = chain_channels(graph)
    system = _GraphSystem.of(graph)
    if START not in system.states or not graph.has_node(CONVERSION):
        return dict.fromkeys(channels, 0.0)
    by_last = system.conversion_by_last_state([frozenset(), *(frozenset({c}) for c in channels)])
    values = np.array([value_by_last_state.get(s, 0.0) for s in system.states])
    values[system.states.index(START)] = 0.0
    base = float(values @ by_last[0])
    if base <= 0.0:
        return dict.fromkeys(channels, 0.0)
    lost = base - by_last[1:] @ values
    return {c: min(1.0, max(0.0, float(v) / base)) for c, v in zip(channels, lost, strict=True)}


def conversion_probability(graph: nx.DiGraph, removed: Iterable[str] = frozenset()) -> float:
    """Return the probability that a journey from ``(start)`` ends in ``(conversion)``.

    Parameters
    ----------
    graph
        Output of :func:`build_chain`.
    removed
        Channels whose states are redirected to ``(null)``.

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A"], ["B"]], "conversions": [1.0, 0.0],
    ...     "nulls": [1.0, 2.0]})
    >>> conversion_probability(build_chain(transition_counts(paths)))
    0.25
    """
    return absorption_probabilities(graph, removed).get(START, 0.0)


def removal_effects(graph: nx.DiGraph) -> dict[str, float]:
    """Return ``RE_c = 1 − P(conv without c) / P(conv)`` for every channel of the chain.

    Removal effects are in ``[0, 1]`` and do not sum to 1; normalise them to
    share out conversions. All are 0 if the chain never converts. Every
    removal is solved in one batch (:func:`solve_absorbing`).

    Examples
    --------
    >>> paths = pl.DataFrame({"path": [["A", "B"], ["B"]], "conversions": [1.0, 1.0],
    ...     "nulls": [1.0, 1.0]})
    >>> removal_effects(build_chain(transition_counts(paths)))
    {'A': 0.5, 'B': 1.0}
    """
    channels = chain_channels(graph)
    system = _GraphSystem.of(graph)
    if START not in system.states or not graph.has_node(CONVERSION):
        return dict.fromkeys(channels, 0.0)
    start = system.states.index(START)
    x = system.absorption([frozenset(), *(frozenset({c}) for c in channels)])[:, start]
    base = float(x[0])
    if base <= 0.0:
        return dict.fromkeys(channels, 0.0)
    # Clipped: P(conv without c) <= P(conv) holds exactly, rounding can cross it by an ulp.
    return {
        c: min(1.0, max(0.0, 1.0 - float(v) / base)) for c, v in zip(channels, x[1:], strict=True)
    }


__all__ = [
    "CONVERSION",
    "MAX_ORDER",
    "NULL",
    "RESERVED_NAMES",
    "SEP",
    "SPECIAL_STATES",
    "START",
    "STEPS",
    "TRANSITIONS",
    "ChainEffects",
    "FirstOrderChain",
    "PathChain",
    "State",
    "absorption_probabilities",
    "build_chain",
    "chain_channels",
    "conversion_by_last_state",
    "conversion_probability",
    "last_state_values",
    "path_counts",
    "path_steps",
    "removal_effects",
    "require_order",
    "solve_absorbing",
    "transition_counts",
    "value_removal_effects",
]
