"""Partial pooling of the channels' curve shapes: an empirical-Bayes prior from the portfolio.

A channel whose spend hardly moved says little about the *shape* of its
curve (how fast returns fall), though it pins down the revenue it earns at
its usual spend. The other channels say something about that shape: media
channels in one business saturate in broadly similar ways. The model is a
normal–normal hierarchy on each shape parameter ``k`` (see
:mod:`attribution.budget.fitting`):

``θ̂ᶜₖ ~ N(θᶜₖ, sᶜₖ²)`` (channel ``c``'s least-squares estimate and its
Laplace variance) and ``θᶜₖ ~ N(μₖ, τₖ²)`` (the portfolio).

``μₖ`` and ``τₖ`` are estimated from the channels by maximum marginal
likelihood, ``Σᶜ log N(θ̂ᶜₖ; μₖ, sᶜₖ² + τₖ²)``, as in random-effects
meta-analysis (a channel with a vague estimate has a large ``sᶜₖ²`` and
counts little). With a handful of channels that maximum is often at
``τ = 0`` (every channel forced to one shape); the ``log τ`` penalty of
Chung et al. (2013, *Psychometrika* 78: 685–709), a Gamma(2, 0) prior on
``τ``, keeps the estimate off that boundary. Each channel is then refitted
with the prior ``N(μₖ, τₖ² + se(μₖ)²)`` on its shape (the uncertainty of
the portfolio mean included), so its shape is a precision-weighted blend of
its own data and the portfolio's: a channel with clear data keeps its
shape, a channel with none takes the portfolio's, *with the portfolio's
spread*, so its intervals stay honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from attribution.budget.fitting import FIT_NAMES, Fit, FloatArray, Prior

MIN_CHANNELS = 3
"""Fewest channels with a fit that a portfolio prior is estimated from."""

_LOG_TAU_BOUNDS = (float(np.log(1e-3)), float(np.log(10.0)))


@dataclass(frozen=True)
class Pooling:
    """The portfolio prior of every shape parameter, by fit-space name.

    Attributes
    ----------
    mean, tau, se
        Per shape parameter: the portfolio mean ``μ``, the between-channel
        spread ``τ`` and the standard error of ``μ``.
    channels
        How many channels they were estimated from.
    """

    kind: str
    mean: FloatArray
    tau: FloatArray
    se: FloatArray
    channels: int

    @property
    def prior(self) -> Prior:
        """The prior each channel's shape is refitted with: ``N(μ, τ² + se²)``."""
        return Prior(self.mean, np.sqrt(self.tau**2 + self.se**2))

    def to_dict(self) -> dict[str, object]:
        """Return the prior as JSON-ready data, by shape parameter.

        Examples
        --------
        >>> Pooling("power", np.array([0.5]), np.array([0.1]), np.array([0.05]), 4).to_dict()
        {'channels': 4, 'exponent': {'mean': 0.5, 'tau': 0.1, 'se': 0.05}}
        """
        names = FIT_NAMES[self.kind][1:]
        return {
            "channels": self.channels,
            **{
                name: {"mean": float(m), "tau": float(t), "se": float(s)}
                for name, m, t, s in zip(names, self.mean, self.tau, self.se, strict=True)
            },
        }


def random_effects(estimates: FloatArray, variances: FloatArray) -> tuple[float, float, float]:
    """Return ``μ``, ``τ`` and ``se(μ)`` of a normal–normal model (penalised marginal likelihood).

    Parameters
    ----------
    estimates, variances
        Each channel's estimate and its sampling variance.

    Examples
    --------
    Four channels whose estimates spread far more than their own noise. With
    equal variances ``μ`` is the mean, 1.5, and with ``s = 0.01 + τ²`` the
    penalised likelihood ``−2 ln s − 2.5 / s + ln τ`` peaks where
    ``−2/s + 2.5/s² + 0.5/(s − 0.01) = 0``: ``s ≈ 1.6700``, ``τ ≈ 1.288``,
    ``se = √(s/4) ≈ 0.646``.

    >>> mu, tau, se = random_effects(np.array([0.0, 1.0, 2.0, 3.0]), np.full(4, 0.01))
    >>> round(mu, 3), round(tau, 3), round(se, 3)
    (1.5, 1.288, 0.646)
    """
    from scipy.optimize import minimize_scalar  # slow to import: only when used

    def parts(log_tau: float) -> tuple[float, float, float]:
        weights = 1.0 / (variances + np.exp(2.0 * log_tau))
        mean = float(np.sum(weights * estimates) / np.sum(weights))
        loglik = -0.5 * float(np.sum(-np.log(weights) + weights * (estimates - mean) ** 2))
        return mean, loglik + log_tau, float(1.0 / np.sqrt(np.sum(weights)))

    result = minimize_scalar(
        lambda t: -parts(t)[1], bounds=_LOG_TAU_BOUNDS, method="bounded",
        options={"xatol": 1e-6},
    )  # fmt: skip
    log_tau = float(result.x)
    mean, _, se = parts(log_tau)
    return mean, float(np.exp(log_tau)), se


def estimate_pooling(kind: str, fits: Sequence[Fit]) -> Pooling | None:
    """Estimate the portfolio prior on the shape parameters from the channels' own fits.

    ``None`` with fewer than :data:`MIN_CHANNELS` fits: too few to say what
    is typical.

    Examples
    --------
    >>> from attribution.budget.fitting import fit_series, fit_value
    >>> x = np.linspace(0.5, 1.5, 12)
    >>> fits = [fit_series("power", x, fit_value("power", x, (0.0, e))) for e in (0.4, 0.5, 0.6)]
    >>> pooled = estimate_pooling("power", fits)
    >>> round(float(pooled.mean[0]), 2), pooled.channels
    (0.5, 3)
    """
    if len(fits) < MIN_CHANNELS:
        return None
    theta = np.array([f.theta[1:] for f in fits])
    variance = np.array([np.diag(f.cov)[1:] for f in fits])
    parts = [random_effects(theta[:, k], variance[:, k]) for k in range(theta.shape[1])]
    mean, tau, se = (np.array(v, dtype=float) for v in zip(*parts, strict=True))
    return Pooling(kind, mean, tau, se, len(fits))


__all__ = ["MIN_CHANNELS", "Pooling", "estimate_pooling", "random_effects"]
