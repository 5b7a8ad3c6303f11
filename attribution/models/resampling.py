"""How a model's totals are recomputed on bootstrap resamples: the model side of the bootstrap.

The person-level bootstrap (:mod:`attribution.uncertainty`) draws resamples
of *units* (persons): in one resample, unit ``u``'s journeys count ``M_u``
times. It knows nothing of any model; it describes the resampling with a
:class:`ResampleSpec` and asks the model for a :class:`Resampler`
(:meth:`attribution.models.base.AttributionModel.resampler`), whose
``evaluate`` turns a block of unit multipliers into per-key totals.

Two generic resamplers are here; a model may supply its own (Markov re-solves
its chain from resampled path counts):

- :func:`reweighted_credit` (route ``"fixed weights"``): for models whose
  credit of a journey does not depend on the other journeys. The touches are
  credited once; each unit's contribution to each key is a (units × keys)
  sparse matrix ``C`` and a block of resamples is one product ``M C``.
- :func:`rerun` (route ``"rerun"``): reruns the model's
  :meth:`~attribution.models.base.AttributionModel.key_totals` on every
  resample, with each journey's ``count`` multiplied by its unit's multiplier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.constants import NOT_SET
from attribution.journeys import Journeys

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Evaluate = Callable[[FloatArray], tuple[FloatArray, FloatArray]]
"""``evaluate(multipliers) -> (conversions, revenue)``; see :class:`Resampler`."""

CHUNK_CELLS = 4_000_000
"""Largest (resamples × units) block of multipliers :func:`reweighted_credit` takes at once."""


def unit_id() -> pl.Expr:
    """Return the resampling unit of a row: its ``user_id`` as text, ``""`` when null.

    Examples
    --------
    >>> pl.DataFrame({"user_id": ["a", None]}).select(unit_id())["user_id"].to_list()
    ['a', '']
    """
    return pl.col("user_id").cast(pl.String).fill_null("")


def key_of(by: str) -> pl.Expr:
    """Return the key a touch is totalled under: its ``by`` value as text, ``(not set)`` if null.

    Examples
    --------
    >>> pl.DataFrame({"channel": ["Email", None]}).select(key_of("channel"))["key"].to_list()
    ['Email', '(not set)']
    """
    return pl.col(by).cast(pl.String).fill_null(NOT_SET).alias("key")


@dataclass(frozen=True)
class ResampleSpec:
    """What the bootstrap resamples and what it totals: units and keys.

    Attributes
    ----------
    by
        The touch column totals are keyed by.
    keys
        Every key, sorted: column ``i`` of a totals array is ``keys[i]``.
    units
        ``user_id`` (text, see :func:`unit_id`) and ``unit`` (its row in the
        multipliers), one row per unit.

    Examples
    --------
    >>> spec = ResampleSpec("channel", ("Email", "Search"),
    ...     pl.DataFrame({"user_id": ["a", "b"], "unit": [0, 1]}))
    >>> spec.n_units, spec.columns_of(["Search"]).tolist()
    (2, [1])
    >>> spec.unit_of(pl.DataFrame({"user_id": ["b", "a", "b"]})).tolist()
    [1, 0, 1]
    """

    by: str
    keys: tuple[str, ...]
    units: pl.DataFrame

    @property
    def n_units(self) -> int:
        """Number of units: the rows of the multipliers."""
        return self.units.height

    def unit_of(self, frame: pl.DataFrame) -> IntArray:
        """Return the unit of each row of ``frame`` (which has ``user_id``)."""
        joined = frame.select(unit_id()).join(
            self.units, on="user_id", how="left", maintain_order="left"
        )
        return joined["unit"].to_numpy().astype(np.int64)

    def columns_of(self, keys: Sequence[str]) -> IntArray:
        """Return the column of each key."""
        column = {k: i for i, k in enumerate(self.keys)}
        return np.array([column[k] for k in keys], dtype=np.int64)


@dataclass(frozen=True)
class Resampler:
    """A model's totals on bootstrap resamples, as the bootstrap calls them.

    Attributes
    ----------
    evaluate
        ``evaluate(multipliers)`` takes a ``(units, b)`` array: for each of
        ``b`` resamples, how many times each unit's journeys count (relative
        to the data: 0, 1, 2 …). It returns the conversions and the revenue
        credited to each key of the :class:`ResampleSpec`, two ``(b, keys)``
        arrays. Conversions without touches are the bootstrap's business:
        leave them out.
    route
        Short name of the method, echoed as
        :attr:`attribution.uncertainty.BootstrapDraws.route`.
    block
        The most resamples ``evaluate`` takes in one call (1: one at a time).

    Examples
    --------
    >>> double = Resampler(lambda m: (2 * m.T, 20 * m.T), route="example")
    >>> [a.tolist() for a in double.evaluate(np.ones((1, 1)))]
    [[[2.0]], [[20.0]]]
    """

    evaluate: Evaluate
    route: str
    block: int = 1


def reweighted_credit(touches: pl.DataFrame, spec: ResampleSpec) -> Resampler:
    """Resample fixed per-touch credit: each block of resamples is one sparse product.

    Right for a model whose credit of a journey does not depend on the other
    journeys: a resample only changes how many times each journey counts.

    Parameters
    ----------
    touches
        The converting touches credited by the model
        (:func:`attribution.models.base.credit_touches`): ``user_id``, the
        ``by`` column, ``attributed_conversions`` and ``attributed_revenue``.
    spec
        The units and keys.

    Examples
    --------
    >>> touches = pl.DataFrame({"user_id": ["a", "a", "b"], "channel": ["E", "S", "S"],
    ...     "attributed_conversions": [0.5, 0.5, 1.0], "attributed_revenue": [5.0, 5.0, 20.0]})
    >>> spec = ResampleSpec("channel", ("E", "S"), pl.DataFrame({"user_id": ["a", "b"],
    ...     "unit": [0, 1]}))
    >>> conv, rev = reweighted_credit(touches, spec).evaluate(np.array([[2.0], [0.0]]))
    >>> conv.tolist(), rev.tolist()
    ([[1.0, 1.0]], [[10.0, 10.0]])
    """
    import scipy.sparse as sp  # loaded on first use: importing the models does not need it

    cells = (
        touches.select(unit_id(), key_of(spec.by), "attributed_conversions", "attributed_revenue")
        .group_by("user_id", "key")
        .agg(pl.col("attributed_conversions", "attributed_revenue").sum())
    )
    rows = spec.unit_of(cells)
    cols = spec.columns_of(cells["key"].to_list())
    # Transposed (keys × units) so the product with a dense block is sparse @ dense.
    shape = (len(spec.keys), spec.n_units)
    conv_t = sp.csr_array((cells["attributed_conversions"].to_numpy(), (cols, rows)), shape=shape)
    rev_t = sp.csr_array((cells["attributed_revenue"].to_numpy(), (cols, rows)), shape=shape)

    def evaluate(multipliers: FloatArray) -> tuple[FloatArray, FloatArray]:
        conv: FloatArray = (conv_t @ multipliers).T
        rev: FloatArray = (rev_t @ multipliers).T
        return conv, rev

    return Resampler(
        evaluate, route="fixed weights", block=max(1, CHUNK_CELLS // max(1, spec.n_units))
    )


def rerun(
    journeys: Journeys,
    key_totals: Callable[[Journeys, str], pl.DataFrame],
    spec: ResampleSpec,
) -> Resampler:
    """Resample by rerunning ``key_totals`` on each resample's journeys, one at a time.

    Right for any model: each journey's ``count`` is multiplied by its unit's
    multiplier, journeys drawn 0 times are dropped, and conversions without
    touches are left out.

    Parameters
    ----------
    journeys
        The journeys of the data.
    key_totals
        Conversions and revenue per key of some journeys, e.g. a model's
        :meth:`~attribution.models.base.AttributionModel.key_totals`.
    spec
        The units and keys.

    Examples
    --------
    >>> from attribution.journeys import build_journeys
    >>> from attribution.models import Linear
    >>> from attribution.report import _tiny_example
    >>> tp, cv, _ = _tiny_example()
    >>> spec = ResampleSpec("channel", ("Email", "Search"),
    ...     pl.DataFrame({"user_id": ["a"], "unit": [0]}))
    >>> conv, _ = rerun(build_journeys(tp, cv), Linear().key_totals, spec).evaluate(
    ...     np.array([[3.0]]))
    >>> conv.tolist()
    [[1.5, 1.5]]
    """
    touches = journeys.touches.with_columns(unit_id())
    unit = spec.unit_of(touches)
    count = touches["count"].to_numpy().astype(np.float64)
    width = len(spec.keys)

    def one(mult: FloatArray) -> tuple[FloatArray, FloatArray]:
        resampled = touches.with_columns(pl.Series("count", count * mult[unit])).filter(
            pl.col("count") > 0
        )
        conv, rev = np.zeros(width), np.zeros(width)
        if resampled.filter(pl.col("converted")).is_empty():
            return conv, rev
        # replace() keeps every other field (stage, milestones …) of the journeys.
        sample = replace(journeys, touches=resampled, untouched=journeys.untouched.clear())
        totals = key_totals(sample, spec.by)
        idx = spec.columns_of(totals[spec.by].to_list())
        conv[idx] = totals["conversions"].to_numpy()
        rev[idx] = totals["revenue"].to_numpy()
        return conv, rev

    return Resampler(one_at_a_time(one), route="rerun")


def one_at_a_time(
    evaluate_one: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
) -> Evaluate:
    """Turn a function of one resample's ``(units,)`` multipliers into an ``evaluate``.

    Examples
    --------
    >>> evaluate = one_at_a_time(lambda m: (m[:1], m[1:]))
    >>> [a.tolist() for a in evaluate(np.array([[1.0, 2.0], [3.0, 4.0]]))]
    [[[1.0], [2.0]], [[3.0], [4.0]]]
    """

    def evaluate(multipliers: FloatArray) -> tuple[FloatArray, FloatArray]:
        pairs = [evaluate_one(multipliers[:, b]) for b in range(multipliers.shape[1])]
        return np.stack([c for c, _ in pairs]), np.stack([r for _, r in pairs])

    return evaluate


__all__ = [
    "CHUNK_CELLS",
    "Evaluate",
    "ResampleSpec",
    "Resampler",
    "key_of",
    "one_at_a_time",
    "rerun",
    "reweighted_credit",
    "unit_id",
]
