"""Shapley values of channels on coalitions of paths: the maths behind the Shapley models.

Pure computation on paths; the registered models that turn these values into
per-touch credit are :class:`attribution.models.Shapley`,
:class:`~attribution.models.ShapleyOrdered` and
:class:`~attribution.models.ShapleyCounterfactual`. See
:mod:`attribution.shapley.values` for the games and the conventions.

Examples
--------
>>> import polars as pl
>>> paths = pl.DataFrame({"path": [["A", "B"], ["A"]], "conversions": [2.0, 1.0],
...     "revenue": [20.0, 10.0], "nulls": [0.0, 0.0]})
>>> shapley_values(paths).select("channel", "conversions").rows()
[('A', 2.0), ('B', 1.0)]
"""

from attribution.shapley.values import (
    MAX_EXACT_LIMIT,
    POSITIONS,
    CounterfactualValues,
    TouchShares,
    coalitions,
    counterfactual_coalition_values,
    counterfactual_shapley,
    exact_shapley,
    ordered_shapley_values,
    require_position,
    shapley_values,
    subset_sums,
    touch_shares,
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
