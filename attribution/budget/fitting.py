"""One channel's curve fit in *fit space*: level at the reference spend, then shape.

Every curve kind is written with the revenue at the channel's reference
spend (its mean weekly spend over the fitted weeks) as the first parameter,
on a log scale, and its shape after it:

========  ==================================  =====================================
kind      fit-space parameters                money parameters
========  ==================================  =====================================
hill      ``level``, ``log_half``, ``log_shape``  ``top``, ``half = e^log_half · ref``,
                                              ``shape = e^log_shape``
power     ``level``, ``exponent``              ``scale``, ``exponent``
log       ``level``, ``log_half``              ``scale``, ``half = e^log_half · ref``
========  ==================================  =====================================

``level`` is what weekly revenue near the usual spend pins down even when
spend hardly moved; the shape parameters (half-saturation *relative to the
channel's own spend*, and Hill's shape) are what says how revenue responds
to more or less spend, and what :mod:`attribution.budget.pooling` shrinks
toward the portfolio. Writing the half-saturation relative to the channel's
own spend makes the shapes of a $1k and a $10k channel comparable.

:func:`fit_series` minimises squared residuals (weekly revenue minus the
curve, over the residual standard deviation) plus, when a prior is given,
the squared standardised distance of the shape from the prior's mean: the
posterior mode of a Gaussian model. Its Laplace approximation (the inverse
Hessian of that objective) gives the parameters' covariance, from which
:meth:`Fit.draws` draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FIT_NAMES: dict[str, tuple[str, ...]] = {
    "hill": ("level", "log_half", "log_shape"),
    "power": ("level", "exponent"),
    "log": ("level", "log_half"),
}
"""Fit-space parameter names of each kind; all but ``level`` are shape parameters."""

_BOUNDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "hill": ((np.log(1e-4), np.log(0.02), np.log(0.5)), (np.log(1e4), np.log(50.0), np.log(3.0))),
    "power": ((np.log(1e-4), 0.05), (np.log(1e4), 1.0)),
    "log": ((np.log(1e-4), np.log(0.01)), (np.log(1e4), np.log(50.0))),
}

MIN_SIGMA = 1e-3
"""Smallest residual standard deviation a fit claims, in scaled units (0.1% of mean revenue)."""

_RIDGE = 1e-6
"""Added to the Hessian's diagonal so a parameter the data says nothing about gets a huge
variance instead of a singular matrix."""


def bounds(kind: str) -> tuple[FloatArray, FloatArray]:
    """Return the lower and upper bounds of the fit-space parameters.

    Examples
    --------
    >>> [b.round(2).tolist() for b in bounds("power")]
    [[-9.21, 0.05], [9.21, 1.0]]
    """
    lower, upper = _BOUNDS[kind]
    return np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)


def fit_value(kind: str, x: FloatArray, theta: Sequence[float] | FloatArray) -> FloatArray:
    """Evaluate the curve in scaled units (spend / reference spend, revenue / revenue scale).

    Examples
    --------
    >>> fit_value("hill", np.array([1.0, 2.0]), (0.0, 0.0, 0.0)).round(4).tolist()
    [1.0, 1.3333]
    """
    x = np.maximum(np.asarray(x, dtype=float), 1e-12)
    level = np.exp(theta[0])
    if kind == "hill":
        half, shape = np.exp(theta[1]), np.exp(theta[2])
        at_ref = 1.0 / (1.0 + np.power(half, shape))
        return np.asarray(level / (1.0 + np.power(half / x, shape)) / at_ref, dtype=float)
    if kind == "power":
        return np.asarray(level * np.power(x, theta[1]), dtype=float)
    half = np.exp(theta[1])
    return np.asarray(level * np.log1p(x / half) / np.log1p(1.0 / half), dtype=float)


def to_money(kind: str, theta: FloatArray, ref: float, scale: float) -> FloatArray:
    """Convert fit-space parameters (rows of ``theta``) to money parameters.

    Examples
    --------
    >>> to_money("hill", np.array([0.0, 0.0, 0.0]), 1000.0, 500.0).tolist()
    [1000.0, 1000.0, 1.0]
    """
    theta = np.asarray(theta, dtype=float)
    level = np.exp(theta[..., 0]) * scale
    if kind == "hill":
        half, shape = np.exp(theta[..., 1]), np.exp(theta[..., 2])
        top = level * (1.0 + np.power(half, shape))
        return np.stack([top, half * ref, shape], axis=-1)
    if kind == "power":
        exponent = theta[..., 1]
        return np.stack([level / np.power(ref, exponent), exponent], axis=-1)
    half = np.exp(theta[..., 1])
    return np.stack([level / np.log1p(1.0 / half), half * ref], axis=-1)


def starts(kind: str, y: FloatArray) -> list[FloatArray]:
    """Return a few starting points that cover the plausible shapes.

    Examples
    --------
    >>> len(starts("hill", np.ones(3)))
    6
    """
    level = np.log(max(float(np.mean(y)), 1e-3))
    if kind == "hill":
        return [
            np.array([level, np.log(half), np.log(shape)])
            for half in (0.5, 1.0, 3.0)
            for shape in (1.0, 2.0)
        ]
    if kind == "power":
        return [np.array([level, exponent]) for exponent in (0.3, 0.7, 1.0)]
    return [np.array([level, np.log(half)]) for half in (0.2, 1.0, 5.0)]


@dataclass(frozen=True)
class Prior:
    """A Gaussian prior on the shape parameters (every fit-space parameter but ``level``).

    Examples
    --------
    >>> Prior(np.array([0.0, 0.0]), np.array([0.5, 0.3])).sd.tolist()
    [0.5, 0.3]
    """

    mean: FloatArray
    sd: FloatArray


@dataclass(frozen=True)
class Fit:
    """A fit in scaled units: the mode, its covariance (Laplace) and the residual spread.

    Attributes
    ----------
    theta
        Fit-space parameters at the mode.
    cov
        Their covariance: the inverse Hessian of the objective at the mode.
    sigma
        Standard deviation of the weekly residuals (scaled units).
    rss
        Sum of squared residuals (scaled units).
    n
        Weeks fitted.
    """

    kind: str
    theta: FloatArray
    cov: FloatArray
    sigma: float
    rss: float
    n: int

    def log_likelihood(self) -> float:
        """Return the Gaussian log-likelihood at the mode, the variance at its estimate.

        Examples
        --------
        Ten weeks with residual variance 0.01: ``−5 · (ln(2π · 0.01) + 1)``.

        >>> round(Fit("power", np.zeros(2), np.eye(2), 0.1, rss=0.1, n=10).log_likelihood(), 2)
        8.84
        """
        return float(-0.5 * self.n * (np.log(2 * np.pi * max(self.rss, 1e-300) / self.n) + 1.0))

    def draws(self, n: int, rng: np.random.Generator) -> FloatArray:
        """Return ``n`` parameter draws from the Laplace approximation, kept within bounds.

        Examples
        --------
        >>> x = np.linspace(0.5, 1.5, 10)
        >>> fit = fit_series("power", x, fit_value("power", x, (0.0, 0.5)) + 0.01 * np.sin(x * 9))
        >>> fit.draws(3, np.random.default_rng(0)).shape
        (3, 2)
        """
        lower, upper = bounds(self.kind)
        sample = rng.multivariate_normal(self.theta, self.cov, size=n, method="eigh")
        return np.asarray(np.clip(sample, lower, upper), dtype=float)


def fit_series(
    kind: str,
    x: FloatArray,
    y: FloatArray,
    *,
    prior: Prior | None = None,
    sigma: float | None = None,
    start: Sequence[FloatArray] = (),
    multistart: bool = True,
) -> Fit:
    """Fit a curve to scaled weekly spend ``x`` and revenue ``y`` (posterior mode with a prior).

    Parameters
    ----------
    kind
        ``hill``, ``power`` or ``log``.
    x, y
        Spend over the reference spend, revenue over the revenue scale.
    prior
        Gaussian prior on the shape parameters; ``None`` fits by least squares.
    sigma
        Residual standard deviation weighing the data against the prior;
        default: estimated from the least-squares fit.
    start
        Extra starting points (e.g. an earlier fit's mode).
    multistart
        Also start from :func:`starts` (default); ``False`` starts only from
        ``start``, for a fit next to one already made.

    Returns
    -------
    Fit

    Examples
    --------
    >>> x = np.linspace(0.3, 2.5, 12)
    >>> fit = fit_series("hill", x, fit_value("hill", x, (0.0, 0.0, 0.0)))
    >>> [abs(round(float(v), 3)) for v in fit.theta]
    [0.0, 0.0, 0.0]
    """
    from scipy.optimize import least_squares  # slow to import: only when used

    lower, upper = bounds(kind)
    scale = 1.0 if sigma is None else max(sigma, 1e-9)

    def residuals(theta: FloatArray) -> FloatArray:
        data = (fit_value(kind, x, theta) - y) / scale
        if prior is None:
            return np.asarray(data, dtype=float)
        return np.concatenate([data, (theta[1:] - prior.mean) / prior.sd])

    best = None
    points = [*start, *starts(kind, y)] if multistart or not start else list(start)
    for point in points:
        result = least_squares(
            residuals, np.clip(point, lower, upper), bounds=(lower, upper), max_nfev=200
        )
        if best is None or result.cost < best.cost:
            best = result
    assert best is not None
    theta = np.asarray(best.x, dtype=float)
    rss = float(np.sum((fit_value(kind, x, theta) - y) ** 2))
    if sigma is None:
        # A perfect fit (or revenue all zero) would claim infinite precision: floor the noise.
        scale = max(float(np.sqrt(rss / max(x.size - theta.size, 1))), MIN_SIGMA)
    jac = np.asarray(best.jac, dtype=float)
    if sigma is None:
        jac = jac / scale
    hessian = jac.T @ jac + _RIDGE * np.eye(theta.size)
    cov = np.linalg.inv(hessian)
    return Fit(kind, theta, 0.5 * (cov + cov.T), scale, rss, int(x.size))


__all__ = [
    "FIT_NAMES",
    "MIN_SIGMA",
    "Fit",
    "Prior",
    "bounds",
    "fit_series",
    "fit_value",
    "starts",
    "to_money",
]
