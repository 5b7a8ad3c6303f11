"""What-if: predicted revenue and ROAS of an allocation the user gives, for a week or longer.

The allocation is in the chosen period's money (:mod:`attribution.budget.period`),
spent evenly over its weeks; the rows give the period's amounts and the weekly
ones (``current_weekly``, ``spend_weekly``). Channels not in the allocation
keep their current spend. A channel without a trustworthy curve (not enough
evidence, or no spend) can only stay where it is: predicting its revenue at
another spend would be a guess, so it is an error. Spend beyond the observed
range is predicted, with a warning: that part of the curve is extrapolation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from attribution.budget.analysis import CurveSet
from attribution.budget.period import DEFAULT_PERIOD, Period
from attribution.budget.plan import DEFAULT_CI, _Channel, _range, parse_bound
from attribution.errors import ParameterError
from attribution.export import json_ready, rfc4180_csv, text_table
from attribution.numbers import format_number

WHATIF_COLUMNS = (
    "status", "current_spend", "spend", "change", "current_revenue", "predicted_revenue",
    "revenue_change", "roas", "marginal_roas", "current_weekly", "spend_weekly",
)  # fmt: skip
"""Columns of a what-if's rows after the key column."""

_MONEY = ("current_spend", "spend", "change", "current_revenue", "predicted_revenue",
          "revenue_change")  # fmt: skip


@dataclass(frozen=True)
class WhatIf:
    """Predicted revenue of one allocation over a period, per channel and in total."""

    by: str
    data: pl.DataFrame
    totals: dict[str, Any]
    warnings: list[str]
    meta: dict[str, Any]
    curves: CurveSet = field(repr=False)

    def to_dict(self, points: bool = True) -> dict[str, Any]:
        """Return the what-if as JSON-ready data; each row carries its curve's points."""
        rows = []
        for row in self.data.to_dicts():
            item = json_ready(row)
            if points:
                marks = {"what_if": row["spend_weekly"]}
                item["points"] = self.curves.points(row[self.by], marks=marks)
            rows.append(item)
        return {
            **self.meta,
            "by": self.by,
            "data": rows,
            "totals": json_ready(self.totals),
            "warnings": self.warnings,
        }

    def to_csv(self) -> str:
        """Return the rows as RFC 4180 CSV (header row, CRLF line ends)."""
        return rfc4180_csv(self.data)

    def to_table(self) -> str:
        """Return the rows, the totals and the warnings as a human-readable table."""
        period = self.meta.get("period", DEFAULT_PERIOD)
        hidden = ["current_revenue", "revenue_change", "current_weekly"]
        if period == "week":
            hidden.append("spend_weekly")
        t = self.totals
        currency = self.meta.get("currency")
        table = text_table(self.data.drop(hidden), currency=currency, text_width=40)

        def money(key: str, signed: bool = False) -> str:
            return format_number(t[key], "money", currency, signed=signed)

        lines = [
            f"what-if · model {self.meta.get('model')} · by {self.by} · "
            f"{f'{currency} per {period}' if currency else f'per {period}'}",
            table,
            f"spend {money('spend')} per {period}: predicted revenue "
            f"{money('current_revenue')} now "
            f"→ {money('predicted_revenue')} ({money('revenue_change', signed=True)}); "
            f"{t['ci']:.0%} range {money('revenue_low')} to {money('revenue_high')}",
        ]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])

    def __str__(self) -> str:
        return self.to_table()


def what_if(
    curves: CurveSet,
    allocation: Mapping[str, float | str],
    *,
    period: str = DEFAULT_PERIOD,
    ci: float = DEFAULT_CI,
) -> WhatIf:
    """Predict revenue and ROAS per channel for ``allocation`` over a period.

    Parameters
    ----------
    curves
        The response curves (:func:`~attribution.budget.analysis.response_curves`).
    allocation
        Spend per channel and period: an amount or a change from current
        spend (``"+20%"``). Channels left out keep their current spend.
    period
        ``week`` (default), ``month`` or ``quarter``: the period of the
        allocation's amounts and of the result's.
    ci
        Level of the predicted revenue's range.

    Returns
    -------
    WhatIf

    Examples
    --------
    >>> from attribution.budget.analysis import _example_frames, response_curves
    >>> curves = response_curves(*_example_frames(), resamples=0)
    >>> result = what_if(curves, {"Search": 1000})
    >>> round(result.totals["predicted_revenue"]), round(result.data["marginal_roas"][0], 2)
    (3000, 1.5)
    >>> month = what_if(curves, {"Search": 52 / 12 * 1000}, period="month")
    >>> round(month.totals["predicted_revenue"]), month.data["spend_weekly"].round(6).to_list()
    (13000, [1000.0])
    """
    per = Period.of(period)
    unknown = [k for k in allocation if k not in curves.keys]
    if unknown:
        raise ParameterError(
            f"Unknown {curves.by} {', '.join(repr(k) for k in unknown)}. "
            f"Known: {', '.join(curves.keys)}."
        )
    spend: dict[str, float] = {}
    for key in curves.keys:
        current = curves.current.get(key, 0.0)
        if key not in allocation:
            spend[key] = current
            continue
        name = f"The spend of '{key}'"
        value = per.to_weekly(parse_bound(allocation[key], per.from_weekly(current), name=name))
        status = curves.status(key)
        if status != "curve" and abs(value - current) > 1e-9 * max(current, 1.0):
            curve = curves.curves.get(key)
            why = curve.reason if curve else "no spend in the costs"
            raise ParameterError(
                f"'{key}' has no response curve ({why}), so its revenue at another spend cannot "
                f"be predicted; leave it at its current spend ({per.money(current)})."
            )
        spend[key] = value
    warnings: list[str] = []
    rows = []
    channels = []
    for key in curves.keys:
        curve = curves.curves.get(key)
        current, new = curves.current.get(key, 0.0), spend[key]
        has_curve = curve is not None and curve.evidence
        if has_curve and curve is not None:
            channels.append(_Channel(key, "planned", current, new, new, curve))
            if new > curve.spend_max * 1.0001:
                at = f"{new:,.0f}"
                if per.name != "week":
                    at = f"{per.money(new)} ({at} a week)"
                warnings.append(
                    f"'{key}' at {at} is above the largest weekly spend observed "
                    f"({curve.spend_max:,.0f}); its prediction there is extrapolation."
                )
        now, then = curves.revenue_at(key, current), curves.revenue_at(key, new)
        rows.append(
            {
                curves.by: key,
                "status": curves.status(key),
                "current_spend": current,
                "spend": new,
                "change": new - current,
                "current_revenue": now,
                "predicted_revenue": then,
                "revenue_change": then - now,
                "roas": then / new if new > 0 and curve is not None else None,
                "marginal_roas": float(curve.marginal_roas(new)) if has_curve and curve else None,
                "current_weekly": current,
                "spend_weekly": new,
            }
        )
    schema: dict[str, pl.DataType] = {curves.by: pl.String(), "status": pl.String()}
    schema.update({c: pl.Float64() for c in WHATIF_COLUMNS if c != "status"})
    data = pl.DataFrame(rows, schema=schema, orient="row").with_columns(pl.col(*_MONEY) * per.weeks)
    low, high, method = _range(curves, channels, spend, ci)
    total_spend = float(data["spend"].sum())
    predicted = float(data["predicted_revenue"].sum())
    current_revenue = float(data["current_revenue"].sum())
    totals = {
        "spend": total_spend,
        "current_spend": float(data["current_spend"].sum()),
        "current_revenue": current_revenue,
        "predicted_revenue": predicted,
        "revenue_change": predicted - current_revenue,
        "spend_weekly": float(data["spend_weekly"].sum()),
        "revenue_low": per.from_weekly(low),
        "revenue_high": per.from_weekly(high),
        "ci": ci,
        "range_method": method,
        "roas": predicted / total_spend if total_spend > 0 else None,
    }
    meta = {**curves.meta, "period": per.name, "weeks_per_period": per.weeks}
    return WhatIf(curves.by, data, totals, warnings, meta, curves)


__all__ = ["WHATIF_COLUMNS", "WhatIf", "what_if"]
