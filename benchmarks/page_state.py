"""The dashboard's ``api/static/state.js`` in Python, for the load test's simulated users.

The page keeps its state in one form (every control a named field, defaults in
:data:`DEFAULTS`), writes the fields that differ from their default into the
URL's query string, and builds every card's API query from that state alone
(:func:`queries`). A simulated user (:mod:`benchmarks.load`) holds the same
state and asks the same queries, with the parameters in the page's order.

Keep this module in step with ``state.js``: ``tests/test_benchmarks.py`` runs
``state.js`` under Node and compares its answers with these for a set of
states. A control added to the page is a new key of :data:`DEFAULTS` here and
wherever :func:`queries` should send it.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode

State = dict[str, str]
"""The form's fields by name (``model``, ``by``, ``start``, …), every value a string."""

Query = dict[str, str]
"""One request's query parameters, in the order the page sends them."""

DEFAULTS: State = {
    "model": "linear",
    "compare": "last_touch",
    "by": "channel",
    "stage": "",
    "journey": "person",
    "ci": "",
    "lookback_days": "",
    "click_window_days": "",
    "view_window_days": "",
    "start": "",
    "end": "",
    "period": "",
    "cmp_start": "",
    "cmp_end": "",
    "funnel_by": "",
}
"""Each control's default: ``state.js``'s ``DEFAULTS``, in its order."""

WINDOWS = ("stage", "lookback_days", "click_window_days", "view_window_days", "start", "end")
"""The fields every attribution-like card sends when they are set (``state.js``'s ``WINDOWS``)."""


def pick(state: State, names: tuple[str, ...]) -> Query:
    """Return the fields of ``names`` that are set (not empty), in the order of ``names``.

    Examples
    --------
    >>> pick({"stage": "", "start": "2025-01-01", "end": "2025-01-31"}, ("stage", "start"))
    {'start': '2025-01-01'}
    """
    return {name: state[name] for name in names if state.get(name)}


def queries(state: State) -> dict[str, Query]:
    """Return each card's API query for ``state``, as ``state.js``'s ``queries()`` builds it.

    Parameters
    ----------
    state
        The form's fields (missing ones are their :data:`DEFAULTS`).

    Returns
    -------
    dict
        ``attribution``, ``compare``, ``timeseries``, ``paths`` and ``funnel``: the
        query of each, before the page adds ``limit`` (and, on the time series, the
        metric the attribution answer calls for).

    Examples
    --------
    >>> asked = queries({**DEFAULTS, "model": "markov", "by": "source", "start": "2025-03-01"})
    >>> asked["compare"]
    {'models': 'markov,last_touch', 'baseline': 'markov', 'by': 'source', 'start': '2025-03-01'}
    >>> asked["paths"]
    {'by': 'channel', 'start': '2025-03-01'}
    >>> asked["funnel"]
    {'start': '2025-03-01'}
    """
    state = {**DEFAULTS, **state}
    shared: Query = {"by": state["by"], **pick(state, WINDOWS)}
    if state["journey"] != "person":
        shared["journey"] = state["journey"]
    ci: Query = {"ci": state["ci"]} if state["ci"] else {}
    # Paths are sequences of channels or of campaigns: any other grouping asks for channels.
    paths_by = "campaign" if state["by"] == "campaign" else "channel"
    model = state["model"]
    funnel: Query = {"by": state["funnel_by"]} if state["funnel_by"] else {}
    funnel.update(pick(state, ("start", "end")))
    if state["journey"] != "person":
        funnel["journey"] = state["journey"]
    return {
        "attribution": {"model": model, **shared, **ci},
        # The same model twice is one model (as state.js sends it).
        "compare": {
            "models": model if state["compare"] == model else f"{model},{state['compare']}",
            "baseline": model,
            **shared,
            **ci,
        },
        "timeseries": {"metric": "revenue", "interval": "week", "model": model, **shared},
        "paths": {**shared, "by": paths_by},
        "funnel": funnel,
    }


def to_url(state: State) -> str:
    """Return the page's query string for ``state``: the fields that differ from their default.

    Examples
    --------
    >>> to_url({**DEFAULTS, "model": "markov", "period": "previous"})
    '?model=markov&period=previous'
    >>> to_url(DEFAULTS)
    ''
    """
    changed = [(k, state.get(k, "")) for k in DEFAULTS if state.get(k, "") != DEFAULTS[k]]
    return "?" + urlencode(changed) if changed else ""


def from_url(search: str) -> State:
    """Return the state a page opened at ``search`` starts from (its fields over the defaults).

    Examples
    --------
    >>> from_url("?model=markov&start=2025-03-01")["model"]
    'markov'
    >>> from_url("") == DEFAULTS
    True
    """
    given = dict(parse_qsl(search.removeprefix("?")))
    return {name: given.get(name, default).strip() for name, default in DEFAULTS.items()}


def add_days(day: str, days: int) -> str:
    """Return the ISO date ``days`` after ``day`` (before it when negative).

    Examples
    --------
    >>> add_days("2025-03-01", -1)
    '2025-02-28'
    """
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


def last_year(day: str) -> str:
    """Return the same date a year earlier; 29 February becomes 28 February.

    Examples
    --------
    >>> last_year("2024-02-29")
    '2023-02-28'
    """
    date = dt.date.fromisoformat(day)
    try:
        return date.replace(year=date.year - 1).isoformat()
    except ValueError:
        return date.replace(year=date.year - 1, day=28).isoformat()


def comparison_period(state: State, start: str | None, end: str | None) -> Query | None:
    """Return the period ``[start, end]`` is compared with (``start``, ``end``), or ``None``.

    As ``state.js``'s ``comparisonPeriod()``: ``previous`` is as many days just
    before, ``year`` the same dates a year earlier, ``custom`` the form's
    ``cmp_start`` and ``cmp_end``.

    Examples
    --------
    >>> comparison_period({"period": "previous"}, "2025-04-01", "2025-06-30")
    {'start': '2024-12-31', 'end': '2025-03-31'}
    >>> comparison_period({"period": "year"}, "2024-02-29", "2024-03-31")
    {'start': '2023-02-28', 'end': '2023-03-31'}
    >>> comparison_period({"period": ""}, "2025-04-01", "2025-06-30") is None
    True
    """
    if not start or not end:
        return None
    period = state.get("period", "")
    if period == "previous":
        days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1
        return {"start": add_days(start, -days), "end": add_days(start, -1)}
    if period == "year":
        return {"start": last_year(start), "end": last_year(end)}
    if period == "custom" and state.get("cmp_start") and state.get("cmp_end"):
        return {"start": state["cmp_start"], "end": state["cmp_end"]}
    return None


__all__ = [
    "DEFAULTS",
    "WINDOWS",
    "Query",
    "State",
    "add_days",
    "comparison_period",
    "from_url",
    "last_year",
    "pick",
    "queries",
    "to_url",
]
