"""Explain: the Markov chain behind the credit (``GET /v1/models/markov/explain``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from api.services.context import Context
from api.services.queries import ExplainQuery
from api.services.results import Result
from attribution.journeys import Journeys
from attribution.models.markov import Markov
from attribution.numbers import format_number
from attribution.paths import journeys_from_paths


def explain(ctx: Context, query: ExplainQuery) -> Result:
    """Explain the Markov model on the journeys :func:`~api.services.attribution.attribute` uses.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> explained = explain(services.context, ExplainQuery()).to_dict()
    >>> explained["order"], [r["channel"] for r in explained["removal_effects"]]
    (1, ['Email', 'Search'])
    """

    def compute() -> Result:
        inputs = ctx.inputs(query.window)
        ctx.require_conversions(inputs, None, "explain")
        journeys = ctx.journeys(query)
        return explained_result(_explain(query.model, journeys, query.by, query.top))

    return ctx.cached(("explain", query), compute)


def explain_path_table(
    frame: pl.DataFrame,
    query: ExplainQuery,
    *,
    sep: str = ">",
    columns: Mapping[str, str] | None = None,
    source: str = "paths",
) -> Result:
    """Explain the Markov model on an aggregated path table.

    Examples
    --------
    >>> table = pl.DataFrame({"path": ["A > B", "B"], "total_conversions": [1, 1],
    ...     "total_null": [1, 1]})
    >>> explain_path_table(table, ExplainQuery(top=1)).members["conversion_probability"]
    0.5
    """
    journeys = journeys_from_paths(frame, sep=sep, columns=dict(columns or {}), source=source)
    explained = _explain(query.model, journeys, "channel", query.top)
    explained["stage"] = None
    return explained_result({**explained, "source": source})


def _explain(model: Any, journeys: Journeys, by: str, top: int) -> dict[str, Any]:
    assert isinstance(model, Markov)  # ExplainQuery accepts nothing else
    return {**model.explain(journeys, by=by, top=top), "stage": journeys.stage}


def explained_result(explained: Mapping[str, Any]) -> Result:
    """Wrap :meth:`~attribution.models.Markov.explain` output: rows are the removal effects.

    Examples
    --------
    >>> result = explained_result({"removal_effects": [{"channel": "A", "share": 1.0}]})
    >>> result.to_dict()
    {'removal_effects': [{'channel': 'A', 'share': 1.0}]}
    """
    members = dict(explained)
    rows = members.pop("removal_effects")
    return Result(
        "explain-markov",
        members,
        pl.DataFrame(rows, infer_schema_length=None),
        table=lambda: explain_table(explained),
        data_key="removal_effects",
        json_data=list(rows),
    )


def explain_table(explained: Mapping[str, Any]) -> str:
    """Render :meth:`~attribution.models.Markov.explain` output as readable text (the CLI's).

    Examples
    --------
    >>> table = pl.DataFrame({"path": ["A > B", "B"], "total_conversions": [1, 1],
    ...     "total_null": [1, 1]})
    >>> print(explain_table(Markov().explain(journeys_from_paths(table), top=1)))
    markov order 1 · by channel · conversion probability 0.5000 (2 conversions, 2 non-conversions)
    <BLANKLINE>
    removal effects
    channel  removal_effect  share   conversions  value_removal_effect  value_share  revenue
    B        1.0000          66.7%  1.3          0.0000                0.0%         0.00
    A        0.5000          33.3%  0.7          0.0000                0.0%         0.00
    <BLANKLINE>
    top 1 transitions (by count x probability)
    from  to  probability  count
    A     B   1.0000       2
    """
    journeys = explained["journeys"]
    lines = [
        f"markov order {explained['order']} · by {explained['by']} · conversion probability "
        f"{explained['conversion_probability']:.4f} ({journeys['conversions']:,g} conversions, "
        f"{journeys['non_conversions']:,g} non-conversions)"
    ]
    selection = explained.get("order_selection")
    if selection:
        lines += ["", f"order='auto' chose {selection['chosen']}: held-out log-likelihood"]
        rows = [["order", "log_likelihood", "per_journey", "states"]]
        rows += [
            [
                str(s["order"]),
                f"{s['log_likelihood']:,.1f}",
                f"{s['per_journey']:.4f}",
                f"{s['states']:,}",
            ]
            for s in selection["scores"]
        ]
        lines += _columns(rows)
        if selection.get("note"):
            lines.append(selection["note"])
    lines += ["", "removal effects"]
    rows = [
        [
            "channel",
            "removal_effect",
            "share",
            "conversions",
            "value_removal_effect",
            "value_share",
            "revenue",
        ]
    ]
    rows += [
        [
            str(r["channel"]),
            f"{r['removal_effect']:.4f}",
            format_number(r["share"], "rate"),
            format_number(r["conversions"], "conversions"),
            f"{r['value_removal_effect'] or 0.0:.4f}",
            format_number(r["value_share"] or 0.0, "rate"),
            format_number(r["revenue"] or 0.0, "money", explained.get("currency")),
        ]
        for r in explained["removal_effects"]
    ]
    lines += _columns(rows)
    top = explained["top_transitions"]
    lines += ["", f"top {len(top)} transitions (by count x probability)"]
    rows = [["from", "to", "probability", "count"]]
    rows += [[t["from"], t["to"], f"{t['probability']:.4f}", f"{t['count']:,g}"] for t in top]
    lines += _columns(rows)
    notes = explained["diagnostics"]["notes"]
    if notes:
        lines += ["", "diagnostics"] + [f"- {note}" for note in notes]
    return "\n".join(lines)


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


__all__ = ["explain", "explain_path_table", "explain_table", "explained_result"]
