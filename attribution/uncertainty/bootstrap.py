r"""Uncertainty for every model: a person-level bootstrap with percentile intervals.

One bootstrap *resample* draws the persons of the data with replacement: with
``N`` persons, person ``u`` is drawn ``M_u`` times, ``(M_1, …, M_N) ~
Multinomial(N, 1/N, …, 1/N)``, and every journey of ``u`` (converting,
non-converting, or a conversion without touches) counts ``M_u`` times. The
model's credit is recomputed on the resample and summed per key; the
``(1 − ci) / 2`` and ``(1 + ci) / 2`` quantiles of a key's totals over the
resamples are its interval (Efron's percentile interval). Persons, not
journeys or touches, are the unit because a person's journeys are not
independent of each other (the touches before a second purchase are the
touches after the first).

A row of aggregated paths whose ``count`` is ``n`` stands for ``n`` identical
persons and is resampled as ``n`` persons: person units are weighted by their
``count`` and ``N`` is the sum of those weights.

This module knows no model. It draws the multipliers ``M`` and asks the model
how to total its credit on them
(:meth:`~attribution.models.base.AttributionModel.resampler`, see
:mod:`attribution.models.resampling`); conversions without touches, which no
model credits, it totals itself. Nothing is looped over journeys; the routes
the built-in models take keep it fast:

- **Fixed weights** (the default for models whose credit of a journey does
  not depend on the other journeys,
  :attr:`~attribution.models.base.AttributionModel.population_independent`:
  first/last touch, linear, time decay, position based, Shapley). The
  touches are credited once; each person's contribution to each key is a
  (persons × keys) sparse matrix ``C``, and the totals of a block of
  resamples are one product ``M C``.
- **Markov paths** (Markov's own, with ``normalisation="global"``). The
  journeys are rolled up to paths once; each resample's path conversions,
  revenue and non-conversions are ``np.bincount`` over journeys;
  :class:`~attribution.markov.PathChain` re-solves the removal effects from
  those counts and turns them into channel totals (share × conversions,
  value share × revenue) without spreading credit onto touches.
- **Rerun** (the default for anything else: ``shapley_counterfactual``, user
  models): the model's
  :meth:`~attribution.models.base.AttributionModel.key_totals` on every
  resample.

Examples
--------
>>> from attribution.journeys import build_journeys
>>> from attribution.models import Linear
>>> from attribution.report import _tiny_example
>>> tp, cv, _ = _tiny_example()
>>> draws = bootstrap_totals(build_journeys(tp, cv), Linear(), resamples=20, seed=1)
>>> draws.intervals(0.9)
shape: (2, 5)
┌─────────┬─────────────────┬──────────────────┬─────────────┬──────────────┐
│ channel ┆ conversions_low ┆ conversions_high ┆ revenue_low ┆ revenue_high │
│ ---     ┆ ---             ┆ ---              ┆ ---         ┆ ---          │
│ str     ┆ f64             ┆ f64              ┆ f64         ┆ f64          │
╞═════════╪═════════════════╪══════════════════╪═════════════╪══════════════╡
│ Email   ┆ 0.5             ┆ 0.5              ┆ 50.0        ┆ 50.0         │
│ Search  ┆ 0.5             ┆ 0.5              ┆ 50.0        ┆ 50.0         │
└─────────┴─────────────────┴──────────────────┴─────────────┴──────────────┘

One person: every resample draws that person once, so the interval is a point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.cancel import check_cancelled
from attribution.constants import DEFAULT_RESAMPLES, INTERVAL_COLUMNS, NO_TOUCHPOINT
from attribution.errors import ParameterError
from attribution.journeys import Journeys, require_touch_column
from attribution.models.base import AttributionModel
from attribution.models.resampling import ResampleSpec, key_of, unit_id
from attribution.progress import report_progress

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METHOD = "person-level bootstrap, percentile interval"
"""How the intervals are computed, as the report echoes it."""

MIN_RESAMPLES = 10

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each resample (or block of resamples)."""


def require_ci(ci: float) -> None:
    """Raise :class:`ParameterError` unless ``0 < ci < 1``.

    Examples
    --------
    >>> require_ci(0.95)
    >>> require_ci(95)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). ...
    """
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not 0.0 < ci < 1.0:
        raise ParameterError(
            f"The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). Got {ci!r} instead."
        )


def require_resamples(resamples: int, seed: int = 0) -> None:
    """Raise :class:`ParameterError` unless ``resamples >= 10`` and ``seed >= 0`` are integers.

    Examples
    --------
    >>> require_resamples(200)
    >>> require_resamples(5)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'bootstrap' parameter must be an integer >= 10. ...
    """
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < MIN_RESAMPLES:
        raise ParameterError(
            f"The 'bootstrap' parameter must be an integer >= {MIN_RESAMPLES}. "
            f"Got {resamples!r} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"The 'seed' parameter must be an integer >= 0. Got {seed!r} instead.")


@dataclass(frozen=True)
class BootstrapDraws:
    """Per-key totals of every bootstrap resample.

    Attributes
    ----------
    by
        The key column (``channel``, ``campaign`` …).
    keys
        Key values, sorted; :data:`NO_TOUCHPOINT` for untouched conversions.
    conversions, revenue
        Arrays of shape ``(resamples, len(keys))``: attributed conversions and
        revenue of each key in each resample.
    seed
        The seed the resamples were drawn with.
    route
        How the model's totals were recomputed, as its
        :class:`~attribution.models.resampling.Resampler` names it:
        ``"fixed weights"``, ``"markov paths"`` or ``"rerun"`` for the
        built-in models (see the module docstring).
    """

    by: str
    keys: tuple[str, ...]
    conversions: FloatArray
    revenue: FloatArray
    seed: int
    route: str

    @property
    def resamples(self) -> int:
        """Number of resamples."""
        return int(self.conversions.shape[0])

    def shares(self) -> FloatArray:
        """Return each key's share of the resample's conversions, ``(resamples, keys)``.

        Examples
        --------
        >>> d = BootstrapDraws("channel", ("A", "B"), np.array([[1.0, 3.0]]),
        ...     np.zeros((1, 2)), 0, "rerun")
        >>> d.shares().tolist()
        [[0.25, 0.75]]
        """
        total = self.conversions.sum(axis=1, keepdims=True)
        shares: FloatArray = np.divide(
            self.conversions, total, out=np.zeros_like(self.conversions), where=total > 0
        )
        return shares

    def intervals(self, ci: float) -> pl.DataFrame:
        """Return percentile intervals at level ``ci`` per key.

        Returns
        -------
        polars.DataFrame
            ``by``, ``conversions_low``, ``conversions_high``, ``revenue_low``,
            ``revenue_high``, one row per key, sorted by key.

        Examples
        --------
        >>> d = BootstrapDraws("channel", ("A",), np.arange(21.0)[:, None],
        ...     np.arange(21.0)[:, None] * 10, 0, "rerun")
        >>> [round(v, 9) for v in d.intervals(0.9).row(0)[1:]]
        [1.0, 19.0, 10.0, 190.0]
        """
        require_ci(ci)
        q = [(1.0 - ci) / 2.0, (1.0 + ci) / 2.0]
        conv = np.quantile(self.conversions, q, axis=0)
        rev = np.quantile(self.revenue, q, axis=0)
        return pl.DataFrame(
            {
                self.by: list(self.keys),
                "conversions_low": conv[0],
                "conversions_high": conv[1],
                "revenue_low": rev[0],
                "revenue_high": rev[1],
            },
            schema={
                self.by: pl.String,
                **dict.fromkeys(INTERVAL_COLUMNS[:4], pl.Float64),
            },
        )


@dataclass(frozen=True)
class _Persons:
    """The resampling units: persons, their weight and how to draw them."""

    ids: list[str]
    weight: FloatArray
    n_draws: int
    absent: int = 0
    """Persons drawn too but not in the journeys (they add nothing to any total)."""

    @classmethod
    def of(cls, journeys: Journeys, absent: int = 0) -> _Persons:
        frames = [
            journeys.touches.select(unit_id(), pl.col("count").cast(pl.Float64)),
            journeys.untouched.select(unit_id(), pl.lit(1.0).alias("count")),
        ]
        units = pl.concat(frames).group_by("user_id").agg(pl.col("count").max()).sort("user_id")
        weight = units["count"].to_numpy().astype(np.float64)
        weight = np.where(weight > 0, weight, 0.0)
        draws = max(1, round(float(weight.sum())))
        return cls(units["user_id"].to_list(), weight, draws, max(0, int(absent)))

    @property
    def unit_weights(self) -> bool:
        """Whether every unit is one person (journeys built from events)."""
        return bool((self.weight == 1.0).all())

    def index(self) -> pl.DataFrame:
        """``user_id`` → row index (``person``), for joins."""
        return pl.DataFrame(
            {"user_id": self.ids, "person": np.arange(len(self.ids), dtype=np.int64)},
            schema={"user_id": pl.String, "person": pl.Int64},
        )

    def units(self) -> pl.DataFrame:
        """``user_id`` → ``unit``: the units of a :class:`~attribution.models.ResampleSpec`."""
        return self.index().rename({"person": "unit"})

    def multipliers(self, rng: np.random.Generator) -> FloatArray:
        """One resample: how many times each unit's journeys count, relative to now."""
        total = self.weight.sum()
        if total <= 0:
            return np.ones_like(self.weight)
        draws = self.n_draws
        if self.absent:
            # Of the draws over every person, those landing on the present ones: a binomial
            # share, then spread over them as below (exactly the same distribution).
            everyone = self.n_draws + self.absent
            draws = int(rng.binomial(everyone, self.n_draws / everyone))
        if self.unit_weights:
            # N uniform picks, counted: a Multinomial(N, 1/N, …) draw, far faster than
            # numpy's multinomial over 100k categories.
            picks = rng.integers(0, self.weight.size, size=draws)
            drawn = np.bincount(picks, minlength=self.weight.size).astype(np.float64)
        else:
            drawn = rng.multinomial(draws, self.weight / total).astype(np.float64)
        return np.divide(drawn, self.weight, out=np.zeros_like(drawn), where=self.weight > 0)


def bootstrap_totals(
    journeys: Journeys,
    model: AttributionModel,
    by: str = "channel",
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    credited: pl.DataFrame | None = None,
    absent_persons: int = 0,
) -> BootstrapDraws:
    """Draw ``resamples`` person-level bootstrap resamples and total the model's credit per key.

    Parameters
    ----------
    journeys
        Output of :func:`attribution.build_journeys` (or of aggregated paths).
    model
        Any attribution model.
    by
        Touch column to total by.
    resamples
        Number of resamples (at least 10).
    seed
        Seed of :func:`numpy.random.default_rng`: the same seed and data give
        the same draws, whatever the order of the input rows.
    progress
        Called as ``progress(done, resamples)`` after each resample; without
        it, progress goes to :func:`attribution.progress.report_progress`.
    credited
        The converting touches already credited by ``model``
        (:func:`attribution.credit_touches`), to save crediting them again.
    absent_persons
        Persons of the population that ``journeys`` leave out because they
        earn no credit (the engine returns only converting journeys to models
        that credit each journey on its own): each resample draws from them
        too, so the totals vary exactly as over the whole population.

    Returns
    -------
    BootstrapDraws

    Examples
    --------
    >>> from attribution.journeys import build_journeys
    >>> from attribution.models import FirstTouch
    >>> from attribution.report import _tiny_example
    >>> tp, cv, _ = _tiny_example()
    >>> d = bootstrap_totals(build_journeys(tp, cv), FirstTouch(), resamples=10)
    >>> d.keys, d.conversions.shape, d.route
    (('Email', 'Search'), (10, 2), 'fixed weights')
    """
    require_resamples(resamples, seed)
    require_touch_column(journeys.touches, by)
    persons = _Persons.of(journeys, absent_persons)
    rng = np.random.default_rng(seed)
    untouched = journeys.untouched.join(persons.index(), on="user_id", how="left")
    untouched_person = untouched["person"].to_numpy().astype(np.int64)
    untouched_revenue = untouched["revenue"].fill_null(0.0).to_numpy().astype(np.float64)
    keys = sorted(
        set(journeys.touches.select(key_of(by))["key"].to_list())
        | ({NO_TOUCHPOINT} if untouched.height else set())
    )
    spec = ResampleSpec(by, tuple(keys), persons.units())
    resampler = model.resampler(journeys, spec, credited=credited)
    no_touch = keys.index(NO_TOUCHPOINT) if NO_TOUCHPOINT in keys else None
    # Untouched conversions, per person: (1 × persons) rows of one multiplier product.
    untouched_at = (np.zeros(untouched_person.size, dtype=np.int64), untouched_person)
    shape = (1, len(persons.ids))
    import scipy.sparse as sp  # slow to import: only when intervals are asked for

    untouched_conv = sp.csr_array((np.ones(untouched_person.size), untouched_at), shape=shape)
    untouched_rev = sp.csr_array((untouched_revenue, untouched_at), shape=shape)
    conv = np.zeros((resamples, len(keys)))
    rev = np.zeros((resamples, len(keys)))
    block = max(1, resampler.block)
    for first in range(0, resamples, block):
        check_cancelled()  # a server request that ran out of time or lost its client stops here
        last = min(resamples, first + block)
        mult = np.stack([persons.multipliers(rng) for _ in range(first, last)], axis=1)
        conv[first:last], rev[first:last] = resampler.evaluate(mult)
        if no_touch is not None:
            conv[first:last, no_touch] += (untouched_conv @ mult)[0]
            rev[first:last, no_touch] += (untouched_rev @ mult)[0]
        if progress is not None:
            progress(last, resamples)
        else:
            report_progress(f"bootstrap {model.name}", last, resamples, "resamples")
    return BootstrapDraws(by, tuple(keys), conv, rev, seed, resampler.route)


def describe(ci: float, resamples: int, seed: int) -> dict[str, Any]:
    """Return the report's ``uncertainty`` member.

    Examples
    --------
    >>> describe(0.95, 200, 1)["method"]
    'person-level bootstrap, percentile interval'
    """
    return {"method": METHOD, "ci": ci, "bootstrap": resamples, "seed": seed}


__all__ = [
    "DEFAULT_RESAMPLES",
    "METHOD",
    "MIN_RESAMPLES",
    "BootstrapDraws",
    "ProgressCallback",
    "bootstrap_totals",
    "describe",
    "require_ci",
    "require_resamples",
]
