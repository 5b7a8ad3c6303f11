"""Choosing a Markov chain's order: held-out log-likelihood of the journeys' paths.

``Markov(order="auto")`` fits a chain of every order from 1 to ``max_order``
on part of the persons and keeps the order that best predicts the journeys of
the others (:func:`select_order`); this module holds that machinery:

- :func:`split_holdout`: a reproducible split of persons (or, for aggregated
  paths, of the anonymous journeys of each path) into training and held-out;
- :func:`held_out_log_likelihoods`: the back-off smoothed log-likelihood of
  held-out paths under chains of each order;
- :class:`OrderSelection`: what was tried and what was chosen.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from attribution.errors import ParameterError
from attribution.journeys import Journeys, require_touch_column
from attribution.markov.chain import MAX_ORDER, START, State, require_order, transition_counts


@dataclass(frozen=True)
class OrderSelection:
    """How ``order="auto"`` chose the order: held-out log-likelihood per order.

    Attributes
    ----------
    chosen
        The order with the highest held-out log-likelihood (the lowest on ties).
    scores
        One dict per order tried: ``order``, ``log_likelihood`` (natural log,
        summed over the test journeys), ``per_journey`` (that divided by the
        number of test journeys) and ``states`` (states of the chain fit on
        the training journeys).
    holdout, seed
        The share of persons held out and the seed of their hash.
    train_journeys, test_journeys
        Journeys (counts included) on each side of the split.
    note
        Why the selection fell back to order 1, if it did; else empty.

    Examples
    --------
    >>> OrderSelection(1, (), 0.3, 0, 10.0, 0.0, note="Too few persons.").to_dict()["chosen"]
    1
    """

    chosen: int
    scores: tuple[dict[str, float], ...]
    holdout: float
    seed: int
    train_journeys: float
    test_journeys: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the selection as JSON-ready data."""
        return {
            "criterion": "held-out log-likelihood (back-off smoothed), higher is better",
            "chosen": self.chosen,
            "holdout": self.holdout,
            "seed": self.seed,
            "train_journeys": self.train_journeys,
            "test_journeys": self.test_journeys,
            "scores": [dict(score) for score in self.scores],
            "note": self.note,
        }


BACKOFF_PRIOR = 1.0
"""Pseudo-count of the lower-order distribution in :func:`held_out_log_likelihoods`."""


def _backoff_context(state: State, order: int) -> State:
    """Return the order-``order − 1`` context a state of order ``order`` backs off to."""
    if state == START:
        return START
    return state[1:] if len(state) == order else state


def held_out_log_likelihoods(
    train: pl.DataFrame,
    test: pl.DataFrame,
    max_order: int = MAX_ORDER,
    collapse_repeats: bool = False,
    prior: float = BACKOFF_PRIOR,
) -> list[float]:
    r"""Return the log-likelihood of ``test`` paths under chains of order 1 to ``max_order``.

    The chains are fit on ``train``.

    Each test journey is scored on its whole path: ``(start)`` → its states →
    ``(conversion)`` or ``(null)``, each step being the prediction of the next
    *symbol* (a channel, conversion or null) from the current state, as in
    :func:`transition_counts`. A transition never seen in ``train`` would
    have probability 0 (log-likelihood −∞), so the estimates are smoothed by
    recursive back-off to the next lower order (a Dirichlet prior centred on
    the lower-order prediction):

    .. math::

        p_k(x \mid s) = \frac{n_k(s, x) + \beta\, p_{k-1}(x \mid s')}{n_k(s) + \beta},
        \qquad p_0(x) = \frac{n(x) + 1}{N + V},

    where ``n_k(s, x)`` counts ``s → x`` in the order-``k`` training chain,
    ``s'`` drops the oldest channel of a full window (a prefix state and
    ``(start)`` keep theirs), ``β`` is ``prior`` (one pseudo-journey), ``p_0``
    is the add-one unigram of next symbols and ``V`` the number of distinct
    symbols in train and test. A state never seen in training thus predicts
    exactly as the lower order does, and a well-populated state predicts by
    its own counts; higher orders only win where their extra memory pays off
    on journeys they were not fit on.

    Parameters
    ----------
    train, test
        :data:`~attribution.schema.PATHS` frames (``path``, ``conversions``, ``nulls``).
    max_order
        Highest order scored (1 to :data:`MAX_ORDER`).
    collapse_repeats
        As in :func:`transition_counts`.
    prior
        The back-off pseudo-count ``β`` (> 0).

    Returns
    -------
    list[float]
        The natural-log likelihood of all test journeys (counts included), one
        value per order from 1 to ``max_order``.

    Examples
    --------
    ``B`` converts when it follows ``A`` and drops out when it comes first.
    Order 1 cannot tell the two apart; order 2 can, and scores the held-out
    ``A > B`` conversion higher:

    >>> train = pl.DataFrame({"path": [["A", "B"], ["B", "A"]], "conversions": [9.0, 0.0],
    ...     "nulls": [1.0, 10.0]})
    >>> test = pl.DataFrame({"path": [["A", "B"]], "conversions": [1.0], "nulls": [0.0]})
    >>> [round(v, 3) for v in held_out_log_likelihoods(train, test, max_order=2)]
    [-2.249, -0.895]
    """
    require_order(max_order, owner="held_out_log_likelihoods")
    if not prior > 0:
        raise ParameterError(f"prior must be > 0. Got {prior!r} instead.")
    tables: list[dict[State, dict[str, float]]] = []
    for k in range(1, max_order + 1):
        table: dict[State, dict[str, float]] = {}
        for src, dst, count in transition_counts(train, k, collapse_repeats).iter_rows():
            table.setdefault(tuple(src), {})[dst[-1]] = float(count)
        tables.append(table)
    totals = [{s: sum(row.values()) for s, row in table.items()} for table in tables]
    unigram: dict[str, float] = {}
    for row in tables[0].values():
        for symbol, count in row.items():
            unigram[symbol] = unigram.get(symbol, 0.0) + count
    scored = [transition_counts(test, k, collapse_repeats) for k in range(1, max_order + 1)]
    symbols = set(unigram) | {dst[-1] for frame in scored for dst in frame["dst"].to_list()}
    n_total, vocabulary = sum(unigram.values()), len(symbols)
    cache: dict[tuple[int, State, str], float] = {}

    def probability(k: int, state: State, symbol: str) -> float:
        if k == 0:
            return (unigram.get(symbol, 0.0) + 1.0) / (n_total + vocabulary)
        key = (k, state, symbol)
        if key not in cache:
            lower = probability(k - 1, _backoff_context(state, k), symbol)
            seen = tables[k - 1].get(state, {}).get(symbol, 0.0)
            cache[key] = (seen + prior * lower) / (totals[k - 1].get(state, 0.0) + prior)
        return cache[key]

    return [
        float(
            sum(
                count * np.log(probability(k, tuple(src), dst[-1]))
                for src, dst, count in frame.iter_rows()
            )
        )
        for k, frame in enumerate(scored, start=1)
    ]


def hash_fraction(seed: int, key: str) -> float:
    """Map ``(seed, key)`` to a reproducible number in ``[0, 1)``.

    Examples
    --------
    >>> 0.0 <= hash_fraction(0, "person-1") < 1.0
    True
    """
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def split_holdout(
    touches: pl.DataFrame, holdout: float, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split touches into training and held-out ones (see :func:`select_order`).

    When every journey is one person (``count`` is 1), persons are split by
    :func:`hash_fraction`: a person is held out when it is below ``holdout``.
    Aggregated journeys stand for ``count`` anonymous persons each: a binomial
    draw (seeded with ``seed``) of them is held out, or exactly the share
    ``holdout`` of a fractional count.

    Examples
    --------
    >>> touches = pl.DataFrame({"journey_id": ["j1", "j2"], "user_id": ["a", "b"],
    ...     "count": [1.0, 1.0]})
    >>> train, test = split_holdout(touches, 0.5, seed=0)
    >>> train.height + test.height
    2
    """
    if (touches["count"] == 1).all():
        users = touches["user_id"].unique().sort().to_list()
        held_users = [u for u in users if hash_fraction(seed, u) < holdout]
        in_test = pl.col("user_id").is_in(held_users)
        return touches.filter(~in_test), touches.filter(in_test)
    # Aggregated journeys: each stands for ``count`` anonymous persons.
    per_journey = touches.group_by("journey_id").agg(pl.col("count").first()).sort("journey_id")
    counts = per_journey["count"].to_numpy()
    rng = np.random.default_rng(seed)
    whole = np.round(counts)
    if np.allclose(counts, whole):
        held_counts = rng.binomial(whole.astype(np.int64), holdout).astype(float)
    else:
        held_counts = counts * holdout
    held = per_journey.select("journey_id", pl.Series("held", held_counts))
    split = touches.join(held, on="journey_id", how="left")
    train = split.with_columns(pl.col("count") - pl.col("held")).filter(pl.col("count") > 0)
    test = split.with_columns(pl.col("held").alias("count")).filter(pl.col("count") > 0)
    return train.drop("held"), test.drop("held")


def select_order(
    journeys: Journeys,
    by: str = "channel",
    *,
    max_order: int = MAX_ORDER,
    collapse_repeats: bool = False,
    holdout: float = 0.3,
    seed: int = 0,
) -> OrderSelection:
    """Score orders 1 to ``max_order`` on held-out journeys and pick the best.

    Persons are split by :func:`split_holdout`; a chain of every order is fit
    on the training side and scored by :func:`held_out_log_likelihoods` on
    the held-out side. With too few persons to hold any out (or to keep any),
    order 1 is chosen and ``note`` says why.

    Examples
    --------
    >>> from attribution.simulate import random_chain, simulate_markov_journeys
    >>> from attribution.journeys import build_journeys
    >>> tp, cv = simulate_markov_journeys(3_000, **random_chain(3, seed=1).as_kwargs(), seed=2)
    >>> selection = select_order(build_journeys(tp, cv), max_order=3)
    >>> selection.chosen, [s["order"] for s in selection.scores]
    (1, [1, 2, 3])
    """
    require_touch_column(journeys.touches, by)
    train_touches, test_touches = split_holdout(journeys.touches, holdout, seed)
    users = journeys.touches["user_id"].n_unique()
    train = replace(journeys, touches=train_touches).paths(by)
    test = replace(journeys, touches=test_touches).paths(by)
    n_train = float((train["conversions"] + train["nulls"]).sum())
    n_test = float((test["conversions"] + test["nulls"]).sum())
    if test.is_empty() or train.is_empty():
        return OrderSelection(
            chosen=1,
            scores=(),
            holdout=holdout,
            seed=seed,
            train_journeys=n_train,
            test_journeys=n_test,
            note=f"Too few persons ({users:,}) to hold some out: order 1 was used.",
        )
    likelihoods = held_out_log_likelihoods(train, test, max_order, collapse_repeats)
    scores = []
    for k, ll in enumerate(likelihoods, start=1):
        states = transition_counts(train, k, collapse_repeats)["src"].n_unique()
        scores.append(
            {
                "order": k,
                "log_likelihood": ll,
                "per_journey": ll / n_test,
                "states": states,
            }
        )
    best = max(likelihoods)
    chosen = next(k for k, ll in enumerate(likelihoods, start=1) if ll == best)
    return OrderSelection(
        chosen=chosen,
        scores=tuple(scores),
        holdout=holdout,
        seed=seed,
        train_journeys=n_train,
        test_journeys=n_test,
    )


__all__ = [
    "BACKOFF_PRIOR",
    "OrderSelection",
    "hash_fraction",
    "held_out_log_likelihoods",
    "select_order",
    "split_holdout",
]
