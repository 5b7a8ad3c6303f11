"""Adstock decay estimated from the data: a profile likelihood over a grid.

For every decay ``d`` of :data:`DECAY_GRID` the channel's spend is
adstocked with ``d`` and its curve fitted by least squares; the Gaussian
log-likelihood of that fit, ``ℓ(d)``, is the decay's *profile* likelihood
(the other parameters at their best for that ``d``). Every ``d`` is fitted
on the same weeks, so the ``ℓ(d)`` compare. A decay above 0 is one more
parameter, so it must earn its place: the decay chosen maximises
``ℓ(d) − [d > 0]`` (Akaike's criterion), which keeps 0 (no carry-over)
unless the data clearly prefer one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from attribution.budget.fitting import FloatArray, fit_series
from attribution.errors import ParameterError

DECAY_GRID = tuple(round(0.1 * i, 1) for i in range(10))
"""Decays the profile likelihood is computed at: 0, 0.1, …, 0.9."""


def require_decay(decay: float) -> None:
    """Raise :class:`ParameterError` unless ``0 <= decay < 1``.

    Examples
    --------
    >>> require_decay(1.0)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'decay' parameter must be >= 0 and < 1. Got 1.0 instead.
    """
    if not 0.0 <= decay < 1.0:
        raise ParameterError(f"The 'decay' parameter must be >= 0 and < 1. Got {decay!r} instead.")


def adstock(spend: FloatArray, decay: float) -> FloatArray:
    """Carry spend over geometrically: ``(1 − decay) · Σₖ decayᵏ · x₍ₜ₋ₖ₎``.

    The weeks before the first are taken to have had the first week's spend
    (a steady state), so the first weeks are not understated.

    Examples
    --------
    >>> adstock(np.array([100.0, 0.0, 0.0]), 0.5).tolist()
    [100.0, 50.0, 25.0]
    >>> adstock(np.array([100.0, 100.0]), 0.0).tolist()
    [100.0, 100.0]
    """
    require_decay(decay)
    spend = np.asarray(spend, dtype=float)
    if decay == 0 or spend.size == 0:
        return spend.copy()
    # Lower-triangular weights decayᵗ⁻ᵏ: a few hundred weeks at most, and no overflow.
    t = np.arange(spend.size)
    lag = t[:, None] - t[None, :]
    weights = np.where(lag >= 0, np.power(decay, np.maximum(lag, 0)), 0.0)
    carried = (1.0 - decay) * (weights @ spend) + np.power(decay, t + 1) * spend[0]
    return np.asarray(carried, dtype=float)


@dataclass(frozen=True)
class DecayProfile:
    """The profile log-likelihood of every decay of the grid, and the decay chosen.

    Examples
    --------
    >>> DecayProfile((0.0, 0.5), (-10.0, -8.0)).chosen
    0.5
    >>> DecayProfile((0.0, 0.5), (-10.0, -9.5)).chosen
    0.0
    """

    decays: tuple[float, ...]
    loglik: tuple[float, ...]

    @property
    def chosen(self) -> float:
        """The decay with the best log-likelihood, a decay above 0 counting as one parameter."""
        score = [
            ll - (1.0 if d > 0 else 0.0) for d, ll in zip(self.decays, self.loglik, strict=True)
        ]
        return self.decays[int(np.argmax(score))]

    def to_dict(self) -> dict[str, float]:
        """Return ``{decay: log-likelihood relative to the best}`` (0 at the best), JSON-ready.

        Examples
        --------
        >>> DecayProfile((0.0, 0.5), (-10.0, -8.0)).to_dict()
        {'0.0': -2.0, '0.5': 0.0}
        """
        top = max(self.loglik)
        return {
            # + 0.0 turns a -0.0 into 0.0.
            f"{d:.1f}": round(ll - top, 3) + 0.0
            for d, ll in zip(self.decays, self.loglik, strict=True)
        }


def decay_profile(
    kind: str,
    spend: FloatArray,
    revenue: FloatArray,
    used: npt.NDArray[np.bool_],
    *,
    grid: tuple[float, ...] = DECAY_GRID,
) -> DecayProfile:
    """Return the profile log-likelihood of each decay of ``grid`` for one channel.

    Parameters
    ----------
    kind
        Curve kind.
    spend, revenue
        The weekly series in time order, without gaps.
    used
        Boolean mask of the weeks to fit on (every decay fits the same weeks).
    grid
        Decays to try.

    Examples
    --------
    Revenue that follows last week's spend as much as this week's:

    >>> rng = np.random.default_rng(0)
    >>> spend = rng.uniform(500, 1500, 40)
    >>> revenue = 3 * adstock(spend, 0.5) ** 0.8 * np.exp(rng.normal(0, 0.02, 40))
    >>> decay_profile("power", spend, revenue, np.ones(40, bool)).chosen
    0.5
    """
    mask = np.asarray(used, dtype=bool)
    y = np.asarray(revenue, dtype=float)[mask]
    scale = max(float(np.mean(np.abs(y))), 1e-9)
    loglik = []
    previous: list[FloatArray] = []
    for decay in grid:
        x = adstock(spend, decay)[mask]
        ref = max(float(np.mean(x)), 1e-9)
        # The next decay's optimum is near this one's: start there only.
        fit = fit_series(kind, x / ref, y / scale, start=previous, multistart=not previous)
        previous = [fit.theta]
        loglik.append(fit.log_likelihood())
    return DecayProfile(tuple(grid), tuple(loglik))


__all__ = ["DECAY_GRID", "DecayProfile", "adstock", "decay_profile", "require_decay"]
