"""Uncertainty for every model: a person-level bootstrap with percentile intervals.

:func:`bootstrap_totals` draws persons with replacement and totals a model's
credit per key on every resample; :meth:`BootstrapDraws.intervals` turns the
draws into percentile intervals (what ``attribute(..., ci=0.95)`` reports).
Each model supplies its own resampling
(:meth:`attribution.models.base.AttributionModel.resampler`); see
:mod:`attribution.uncertainty.bootstrap` for the method.

Examples
--------
>>> from attribution.journeys import build_journeys
>>> from attribution.models import Linear
>>> from attribution.report import _tiny_example
>>> tp, cv, _ = _tiny_example()
>>> bootstrap_totals(build_journeys(tp, cv), Linear(), resamples=10).route
'fixed weights'
"""

from attribution.uncertainty.bootstrap import (
    DEFAULT_RESAMPLES,
    METHOD,
    MIN_RESAMPLES,
    BootstrapDraws,
    ProgressCallback,
    bootstrap_totals,
    describe,
    require_ci,
    require_resamples,
)

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
