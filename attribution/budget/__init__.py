"""Budget planning from attributed revenue: response curves, marginal ROAS, a plan, what-ifs.

Pure computation on polars frames, in four steps:

- :mod:`~attribution.budget.weekly`: weekly spend and weekly attributed
  revenue per channel (revenue dated at the touch);
- :mod:`~attribution.budget.curves`: a saturating response curve per channel
  (Hill by default), its shape pooled with the other channels'
  (:mod:`~attribution.budget.pooling`), its adstock decay estimated
  (:mod:`~attribution.budget.decay`), its fit quality and whether the data can
  say which direction helps;
- :mod:`~attribution.budget.plan`: the spend per channel that maximises
  predicted revenue under a budget, guard rails, bounds, locks and caps;
- :mod:`~attribution.budget.whatif`: predicted revenue of a given allocation;
- :mod:`~attribution.budget.robust`: plans under several models' curves side
  by side, and a robust plan across them (worst case or mean).

:func:`response_curves` runs the first two from touchpoints, conversions and
costs. The curves are weekly; a plan or a what-if is for a week, a month or a
quarter (:mod:`~attribution.budget.period`), spent evenly over its weeks.
The curves are correlational (they describe how attributed revenue moved
with spend, not what more spend would cause); ``docs/budget.md`` says what
that means for a plan.
"""

from attribution.budget.analysis import CurveSet, curves_from_credits, response_curves
from attribution.budget.curves import KINDS, ResponseCurve, fit_curve, fit_curves
from attribution.budget.period import PERIODS, Period
from attribution.budget.plan import BudgetPlan, optimise, parse_bound, plan_budget
from attribution.budget.robust import MultiPlan, plan_across_models
from attribution.budget.weekly import weekly_panel, weekly_revenue, weekly_spend
from attribution.budget.whatif import WhatIf, what_if

__all__ = [
    "KINDS",
    "PERIODS",
    "BudgetPlan",
    "CurveSet",
    "MultiPlan",
    "Period",
    "ResponseCurve",
    "WhatIf",
    "curves_from_credits",
    "fit_curve",
    "fit_curves",
    "optimise",
    "parse_bound",
    "plan_across_models",
    "plan_budget",
    "response_curves",
    "weekly_panel",
    "weekly_revenue",
    "weekly_spend",
    "what_if",
]
