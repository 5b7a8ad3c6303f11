"""The absorbing Markov chain of paths: states, the one exact solver, removal effects, order.

Pure computation on paths (lists of channel names with their conversions,
revenue and non-conversions); the registered model that turns removal
effects into per-touch credit is :class:`attribution.models.Markov`.

- :mod:`attribution.markov.chain`: states and transitions, the chain of a
  set of paths re-solvable for any path counts (:class:`PathChain`), the
  first-order chain of step counts (:class:`FirstOrderChain`, what the
  engine counts where the data lives), the one linear solve
  (:func:`solve_absorbing`), and absorption probabilities and removal
  effects of any state graph;
- :mod:`attribution.markov.order`: choosing the order by held-out
  log-likelihood (``Markov(order="auto")``).

Examples
--------
>>> import polars as pl
>>> paths = pl.DataFrame({"path": [["A", "B"], ["B"]], "conversions": [1.0, 1.0],
...     "nulls": [1.0, 1.0]})
>>> removal_effects(build_chain(transition_counts(paths)))
{'A': 0.5, 'B': 1.0}
"""

from attribution.markov.chain import (
    CONVERSION,
    MAX_ORDER,
    NULL,
    RESERVED_NAMES,
    SEP,
    SPECIAL_STATES,
    START,
    STEPS,
    TRANSITIONS,
    ChainEffects,
    FirstOrderChain,
    PathChain,
    State,
    absorption_probabilities,
    build_chain,
    chain_channels,
    conversion_by_last_state,
    conversion_probability,
    last_state_values,
    path_counts,
    path_steps,
    removal_effects,
    require_order,
    solve_absorbing,
    transition_counts,
    value_removal_effects,
)
from attribution.markov.order import (
    BACKOFF_PRIOR,
    OrderSelection,
    hash_fraction,
    held_out_log_likelihoods,
    select_order,
    split_holdout,
)

__all__ = [
    "BACKOFF_PRIOR",
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
    "OrderSelection",
    "PathChain",
    "State",
    "absorption_probabilities",
    "build_chain",
    "chain_channels",
    "conversion_by_last_state",
    "conversion_probability",
    "hash_fraction",
    "held_out_log_likelihoods",
    "last_state_values",
    "path_counts",
    "path_steps",
    "removal_effects",
    "require_order",
    "select_order",
    "solve_absorbing",
    "split_holdout",
    "transition_counts",
    "value_removal_effects",
]
