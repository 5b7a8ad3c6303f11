"""Scale response curves by lift-test calibration factors (:mod:`attribution.calibration`).

Every curve shape has one parameter that multiplies the whole curve (hill
``top``, power and log ``scale``), so calibrating a channel's curve by a
factor ``c`` is exact: ``c · f(x)`` is the same shape with that parameter
times ``c``. The observed weeks, the bootstrap draws, the residual spread
and the mean weekly revenue are scaled alike, so charts, the plan's range
and what-ifs all read the calibrated revenue. Spend, fit quality (R²) and
the saturation point of the *shape* do not change; the marginal ROAS does,
by ``c``, and with it where the plan puts the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import polars as pl

from attribution.budget.analysis import CurveSet
from attribution.budget.curves import PARAMS, ResponseCurve

__all__ = ["calibrate_curves", "scale_curve"]


def scale_curve(curve: ResponseCurve, factor: float) -> ResponseCurve:
    """Return ``curve`` with its revenue multiplied by ``factor``.

    Examples
    --------
    >>> import numpy as np
    >>> from attribution.budget.curves import _example_weeks, fit_curve
    >>> curve = fit_curve("A", *_example_weeks(), resamples=0)
    >>> half = scale_curve(curve, 0.5)
    >>> bool(np.isclose(half.predict(1000.0), 0.5 * curve.predict(1000.0)))
    True
    >>> half.params["half"] == curve.params["half"]
    True
    """
    multiplier = PARAMS[curve.kind][0]
    params = {
        name: value * factor if name == multiplier else value
        for name, value in curve.params.items()
    }
    draws = curve.draws
    if draws.size:
        draws = draws.copy()
        draws[:, 0] *= factor
    points = curve.points
    if "revenue" in points.columns:
        points = points.with_columns(pl.col("revenue") * factor)
    return replace(
        curve,
        params=params,
        draws=draws,
        points=points,
        residual_sd=None if curve.residual_sd is None else curve.residual_sd * factor,
    )


def calibrate_curves(
    curves: CurveSet, factors: Mapping[str, float], info: Mapping[str, Any] | None = None
) -> CurveSet:
    """Return the curves with each key's revenue multiplied by its factor (others as they are).

    ``info`` goes to ``meta["calibration"]``, which plans and what-ifs echo.

    Examples
    --------
    >>> from attribution.budget.analysis import _example_frames, response_curves
    >>> fitted = response_curves(*_example_frames(), resamples=0)
    >>> calibrated = calibrate_curves(fitted, {"Search": 0.5})
    >>> round(calibrated.revenue["Search"] / fitted.revenue["Search"], 6)
    0.5
    >>> calibrated.meta["calibration"]["factors"]
    {'Search': 0.5}
    """
    known = {key: float(f) for key, f in factors.items() if key in curves.keys}
    scaled = {
        key: scale_curve(curve, known[key]) if key in known else curve
        for key, curve in curves.curves.items()
    }
    by = curves.by
    factor = pl.col(by).replace_strict(known, default=1.0, return_dtype=pl.Float64)
    panel = curves.panel.with_columns(pl.col("revenue") * factor)
    return replace(
        curves,
        curves=scaled,
        revenue={key: value * known.get(key, 1.0) for key, value in curves.revenue.items()},
        panel=panel,
        meta={
            **curves.meta,
            "calibration": {"calibrated": True, "factors": known, **(info or {})},
        },
    )
