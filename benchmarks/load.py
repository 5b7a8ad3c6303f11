"""Load test: concurrent dashboard users against one ``closedloop serve``, from the outside.

What it measures
----------------
One ``closedloop serve --db STORE`` server (``python -m api.cli serve``, this
interpreter, default settings) is started on a free 127.0.0.1 port, exactly as
:mod:`benchmarks.api_latency` starts it. Then ``--users`` simulated browsers
(default 50; asyncio + ``httpx.AsyncClient``, each with its own pool of at most
6 connections, as a browser has per host) start over the first ``--ramp``
seconds and use the dashboard for ``--seconds`` (default 60), making the
requests ``api/static/dashboard.html`` makes, in its order:

- **page load**: ``GET /`` at the page's address (the view's state is in its
  query string, so a reload keeps the view), every script its ``<script
  src>`` names, at once (today ten: Vega, Vega-Lite, vega-embed, then
  ``charts.js``, ``format.js``, ``table.js``, ``specs.js``, ``state.js``,
  ``dashboard.js``, ``budget.js``), ``GET /v1/models``, then a refresh.
- **refresh** (the page's ``refresh()``; every query built from the form's
  state as ``api/static/state.js`` builds it, mirrored by
  :mod:`benchmarks.page_state`, with the parameters in the page's order):
  ``/v1/attribution`` first (the page fills its empty date fields from that
  answer, so the next Apply sends them), and when a comparison period is on, a
  second ``/v1/attribution`` for that period; then at once ``/v1/compare`` of
  the chosen model and the compare-with model (``baseline=`` the first),
  ``/v1/timeseries`` (weekly revenue, or conversions when the stage has no
  revenue), ``/v1/paths`` (``limit=1000``), ``/v1/funnel`` (total or by the
  funnel grouping) and ``POST /v1/budget/plan`` (every channel's curve points,
  ``bootstrap=20``) followed by ``POST /v1/budget/whatif`` at the current
  spends; ``limit=1000`` pages following ``next_cursor`` where the page does,
  and ``/dashboard/charts.json`` for the charts, once per page load (the page
  caches that request and its charts share it), and on a page with the early /
  middle / late card once more per page load when the paths are grouped by
  campaign (that chart asks for the specs ``by`` the paths' grouping). Stage,
  journey, intervals and the lookback, click and view windows go into every
  query that takes them. An attribution with nothing to attribute (a
  comparison period before the data, a click window no conversion of the
  period has a touch in) is answered 422 "Empty input", which the page shows
  (as "—", or as its message in the status line, asking nothing more): counted
  apart, not as an error.
- **interactions**, after a think time drawn uniformly from ``--think``
  (default 0.5–2 s), with the weights of :data:`ACTIONS`: switch the model
  (any other of ``/v1/models`` but the compare-with one, 20%), the
  compare-with model (10%), the period (the whole range, a calendar month
  inside it, or its last four weeks, 15%), the grouping (channel, campaign,
  source, medium, interaction; 10%), the stage (one the answers named that
  the data has, or the default, as the page lists them; 6%), the comparison
  period on or off (previous period, same period last year or a custom one;
  8%), the windows (lookback, click and view days, 5%), the funnel grouping
  (5%), the journey person/account (2%) or the intervals (off, 90%, 95%; 2%) —
  each then applies and refreshes — move one channel's what-if spend (``POST
  /v1/budget/whatif``, 12%), or reload the page (5%; the scripts are then
  revalidated with ``If-None-Match`` and answered 304).

A user stops at the first action due after ``--seconds``; requests in flight
then finish (bounded by ``--timeout``). Every user's choices come from its own
generator seeded by ``--seed`` and its number, so the sequence of actions is
reproducible; how many each user gets through depends on the server.

Recorded: every request's client-side latency (``time.perf_counter`` around
``send`` + reading the whole body: server queueing and compute, JSON encoding,
loopback), per request kind and overall (p50, p95, p99 by linear
interpolation, max); errors, i.e. any status outside 2xx/3xx (but the "Empty
input" answer above, which the page shows) or any exception (timeout, refused
connection), listed with their kind and status; requests resent because the
server closed their idle keep-alive connection just as they were sent (uvicorn
closes connections idle for 5 s; a browser resends such a request on a new
connection, and so does this: counted apart, not as errors); requests per
second over the load phase; the whole refresh as the user sees it (Apply →
every panel answered); the server's peak RSS (``VmHWM`` from
``/proc/PID/status``) and its CPU seconds (``/proc/PID/stat``); this load
generator's own CPU seconds (it shares the machine with the server).

The stores are the pipeline benchmark's data (``generate_service_store.py``)
written by ``closedloop ingest`` into a temporary directory, one run per size
of ``--touchpoints`` (default 100k and 1M touchpoints, a fresh server each),
unless ``--db`` names an existing store. The server starts cold: the first
request of each period, model and grouping computes, later ones are answered
from its result cache.

Usage (from the repository root)::

    .venv/bin/python benchmarks/load.py                  # 100k and 1M touchpoints, 50 users, 60 s
    .venv/bin/python benchmarks/load.py --touchpoints 100000 --users 10 --seconds 20
    .venv/bin/python benchmarks/load.py --db STORE --json load.json
    .venv/bin/python benchmarks/run.py --only load       # the section of BENCHMARKS.md

Progress goes to stderr; the Markdown section to stdout. The exit status is 1
when any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.api_latency import Server, free_port, percentile, proc_status  # noqa: E402
from benchmarks.page_state import (  # noqa: E402
    DEFAULTS,
    Query,
    State,
    comparison_period,
    from_url,
    queries,
    to_url,
)
from benchmarks.pipeline import closedloop, persons_for  # noqa: E402

HEADING = "## Load (dashboard users)"
DEFAULT_USERS = 50
DEFAULT_SECONDS = 60.0
DEFAULT_SIZES = (100_000, 1_000_000)
"""Store sizes (touchpoints), one run each."""
DEFAULT_THINK = (0.5, 2.0)
DEFAULT_RAMP = 5.0
DEFAULT_TIMEOUT = 120.0
QUICK_USERS = 5
QUICK_SECONDS = 5.0
QUICK_SIZES = (20_000,)
BROWSER_CONNECTIONS = 6
"""Connections a browser opens per host over HTTP/1.1."""
PROGRESS_EVERY = 5.0
CLOSED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
"""What a request meets on a keep-alive connection the server closed just then (uvicorn
closes connections idle for 5 s): browsers send such a request again, and so does this."""

SCRIPT_SRC = re.compile(r"<script\s+src=\"([^\"]+)\"")
"""A ``<script src>`` of the page: a browser fetches each one the page names."""
PAGE_ROWS = 1000
"""The page's ``PAGE``: the rows its tables ask for (the API's largest page)."""
BUDGET_BOOTSTRAP = 20
"""The curve bootstrap of the page's budget card (``budget.js``)."""
ACCEPT_JSON = {"Accept": "application/json"}

ACTIONS = {
    "model": 0.20,
    "compare": 0.10,
    "period": 0.15,
    "group": 0.10,
    "stage": 0.06,
    "comparison": 0.08,
    "windows": 0.05,
    "funnel": 0.05,
    "journey": 0.02,
    "intervals": 0.02,
    "whatif": 0.12,
    "reload": 0.05,
}
"""Interactions and their probabilities. Model, period and grouping are what an analyst
changes most; what-if is the budget card's slider; the rarer controls (journey, intervals,
windows) are used now and then; a reload keeps the view (the state is in the URL)."""
GROUPINGS = ("channel", "campaign", "source", "medium", "interaction")
"""The page's "Group by" options."""
FUNNEL_GROUPINGS = ("", "channel", "campaign", "lead_source", "owner")
"""The page's "Funnel by" options ("" is the total)."""
INTERVALS = ("", "0.9", "0.95")
"""The page's "Intervals" options (off, 90%, 95%)."""
WINDOW_PRESETS = (
    {"lookback_days": "", "click_window_days": "", "view_window_days": ""},
    {"lookback_days": "30", "click_window_days": "", "view_window_days": ""},
    {"lookback_days": "60", "click_window_days": "30", "view_window_days": ""},
    {"lookback_days": "", "click_window_days": "7", "view_window_days": "0"},
)
"""Lookback, click and view windows a user types in ("": the API's defaults)."""
COMPARISONS = {"previous": 0.6, "year": 0.2, "custom": 0.2}
"""How a comparison period is turned on: previous period, same period last year, custom."""

KINDS = (
    "GET /",
    "GET /static/…",
    "GET /v1/models",
    "GET /v1/attribution",
    "GET /v1/compare",
    "GET /v1/timeseries",
    "GET /v1/paths",
    "GET /v1/funnel",
    "POST /v1/budget/plan",
    "POST /v1/budget/whatif",
    "GET /dashboard/charts.json",
)
"""Request kinds, in the report's order."""


# --------------------------------------------------------------------------- recording


def nothing_to_attribute(response: httpx.Response) -> bool:
    """Say whether ``response`` is the API's "Empty input" answer: nothing to attribute.

    A comparison period may lie before the first conversion, and a narrow click
    window may leave a period no converting journey; the page shows that answer
    (as "—", or as its message), so it is the answer the user asked for, not an error.
    """
    if response.status_code != 422:
        return False
    try:
        return bool(response.json().get("title") == "Empty input")
    except ValueError:
        return False


@dataclass
class Recorder:
    """Every request's latency and outcome, shared by all users (one event loop, no locks)."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    raised: Counter[str] = field(default_factory=Counter)
    """Requests that raised (timeout, refused connection), by kind."""
    retried: Counter[str] = field(default_factory=Counter)
    """Requests sent again because the server closed their idle connection, by kind."""
    paths: Counter[str] = field(default_factory=Counter)
    """Requests sent, by method and path (without the query): what the users asked for."""
    expected: Counter[str] = field(default_factory=Counter)
    """Answers outside 2xx/3xx that the page expects and shows (not errors), by kind."""
    expected_urls: list[str] = field(default_factory=list)
    """The targets of the first 50 of those answers."""
    refreshes: list[float] = field(default_factory=list)
    began: float = 0.0

    @property
    def requests(self) -> int:
        """Requests answered or failed so far."""
        return sum(len(v) for v in self.latencies.values()) + sum(self.raised.values())

    def all_latencies(self) -> list[float]:
        """Every answered request's latency, errors with a status included."""
        return [s for values in self.latencies.values() for s in values]

    async def send(
        self,
        client: httpx.AsyncClient,
        kind: str,
        method: str,
        url: str,
        expected: Callable[[httpx.Response], bool] | None = None,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """Send one request, read its body, record it; ``None`` unless answered 2xx or 3xx.

        Like a browser, a request whose keep-alive connection the server closed
        as it was sent is sent once more on a new connection (counted in
        :attr:`retried`; its latency covers both attempts). An answer outside
        2xx/3xx for which ``expected`` says yes is counted in :attr:`expected`,
        not as an error.
        """
        request = client.build_request(method, url, **kwargs)
        target = request.url.raw_path.decode()
        self.paths[f"{method} {request.url.path}"] += 1
        started = time.perf_counter()
        try:
            try:
                response = await client.send(request)
            except CLOSED:
                self.retried[kind] += 1
                response = await client.send(client.build_request(method, url, **kwargs))
        except httpx.HTTPError as error:
            self.raised[kind] += 1
            self.errors.append(
                {
                    "kind": kind,
                    "url": target,
                    "error": f"{type(error).__name__}: {error}".strip(": "),
                    "after_s": time.perf_counter() - started,
                    "at_s": started - self.began,
                }
            )
            return None
        seconds = time.perf_counter() - started
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses.setdefault(kind, Counter())[response.status_code] += 1
        if 200 <= response.status_code < 400:
            return response
        if expected is not None and expected(response):
            self.expected[kind] += 1
            if len(self.expected_urls) < 50:
                self.expected_urls.append(target)
            return None
        self.errors.append(
            {
                "kind": kind,
                "url": target,
                "status": response.status_code,
                "error": f"HTTP {response.status_code}: {response.text[:300]}",
                "after_s": seconds,
                "at_s": started - self.began,
            }
        )
        return None


# --------------------------------------------------------------------------- one user


def has_curve(row: dict[str, Any]) -> bool:
    """Say whether a budget row has a response curve (``budget.js``'s ``hasCurve``)."""
    points = row.get("points") or {}
    return bool(points.get("curve"))


@dataclass
class Page:
    """What one browser tab holds: the form, the chart spec cache and the budget card's rows."""

    form: State = field(default_factory=lambda: dict(DEFAULTS))
    currency: str = "USD"
    stages: list[str] = field(default_factory=list)
    """The stages the answers named (the page's stage list)."""
    absent: set[str] = field(default_factory=set)
    """The funnel's ``absent_stages``: listed by the page, but no conversion has them."""
    specs: dict[str, asyncio.Future[httpx.Response | None]] = field(default_factory=dict)
    """``chartSpecs()``'s cache: one request per currency, shared by the charts drawn at once."""
    touches_card: bool = False
    """The page has the early / middle / late card (it asks the specs by the paths' grouping)."""
    budget_model: str = DEFAULTS["model"]
    budget_rows: list[dict[str, Any]] = field(default_factory=list)
    allocation: dict[str, float] = field(default_factory=dict)


class User:
    """One simulated dashboard user: a page load, then interactions until the deadline."""

    def __init__(
        self,
        number: int,
        base: str,
        recorder: Recorder,
        seed: int,
        think: tuple[float, float],
        timeout: float,
    ) -> None:
        self.number = number
        self.base = base
        self.recorder = recorder
        self.rng = random.Random(seed * 100_003 + number)
        self.think = think
        self.client = httpx.AsyncClient(
            base_url=base,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=BROWSER_CONNECTIONS),
        )
        self.page = Page()
        self.address = ""
        """The page's query string (``location.search``): the state the last Apply wrote."""
        self.models: list[str] = [DEFAULTS["model"]]
        self.bounds: tuple[str, str] | None = None
        """The data's whole period, from the first attribution answer (no dates asked)."""
        self.etags: dict[str, str] = {}
        self.actions: Counter[str] = Counter()

    # ---- requests as the page makes them

    async def get(
        self,
        path: str,
        query: dict[str, Any],
        expected: Callable[[httpx.Response], bool] | None = None,
    ) -> dict[str, Any] | None:
        """The page's ``get()``: ``path`` with ``query`` in its order; the JSON answer."""
        response = await self.recorder.send(
            self.client,
            f"GET {path}",
            "GET",
            path,
            expected=expected,
            params=query,
            headers=ACCEPT_JSON,
        )
        return None if response is None else dict(response.json())

    async def get_all(self, path: str, query: dict[str, Any]) -> dict[str, Any] | None:
        """The page's ``getAll()``: ``limit=1000`` pages, following ``next_cursor``."""
        body = await self.get(path, {"limit": PAGE_ROWS, **query})
        while body is not None and body.get("next_cursor"):
            body = await self.get(
                path, {"limit": PAGE_ROWS, "cursor": body["next_cursor"], **query}
            )
        return body

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """A JSON ``POST`` as ``budget.js`` sends it (a browser adds its ``Origin``)."""
        response = await self.recorder.send(
            self.client,
            f"POST {path}",
            "POST",
            path,
            json=body,
            headers={"Origin": self.base},
        )
        return None if response is None else dict(response.json())

    async def chart_specs(self, by: str = "channel") -> None:
        """The page's ``chartSpecs(by)``: one request per page, currency and grouping.

        The page caches the request's promise, so charts drawn at once share
        it; a failed one is forgotten, to be asked again by the next chart.
        """
        key = f"{self.page.currency}/{by}"
        fetch = self.page.specs.get(key)
        if fetch is None:
            fetch = asyncio.ensure_future(
                self.recorder.send(
                    self.client,
                    "GET /dashboard/charts.json",
                    "GET",
                    "/dashboard/charts.json",
                    params={"currency": self.page.currency, "by": by},
                )
            )
            self.page.specs[key] = fetch
        if await fetch is None and self.page.specs.get(key) is fetch:
            del self.page.specs[key]

    def add_stages(self, stages: list[str | None] | None) -> None:
        """The page's ``addStages()``: remember the stages an answer names."""
        for stage in stages or []:
            if stage and stage not in self.page.stages:
                self.page.stages.append(stage)

    async def load_page(self, first: bool) -> None:
        """``GET /`` at the page's address, its scripts, ``/v1/models``, then a refresh.

        The scripts are the page's ``<script src>``, fetched at once (revalidated
        with ``If-None-Match`` after the first load); the form starts from the
        URL's state, so a reload shows the view it left.
        """
        self.page = Page(form=from_url(self.address))
        send = self.recorder.send
        response = await send(self.client, "GET /", "GET", "/" + self.address)
        if response is None:
            return
        self.page.touches_card = 'id="touches-card"' in response.text

        async def script(path: str) -> None:
            headers = {} if first or path not in self.etags else {"If-None-Match": self.etags[path]}
            answer = await send(self.client, "GET /static/…", "GET", path, headers=headers)
            if answer is not None and "etag" in answer.headers:
                self.etags[path] = answer.headers["etag"]

        await asyncio.gather(*(script(path) for path in SCRIPT_SRC.findall(response.text)))
        models = await send(self.client, "GET /v1/models", "GET", "/v1/models")
        if models is not None:
            self.models = [m["name"] for m in models.json()["data"]] or self.models
        await self.refresh()

    async def refresh(self) -> None:
        """The page's ``refresh()``: attribution (and its comparison period), then every card."""
        started = time.perf_counter()
        state = dict(self.page.form)
        asked = queries(state)
        attributed = await self.attribution(state, asked)
        if attributed is None:
            return
        await asyncio.gather(
            self.get_all("/v1/compare", asked["compare"]),
            self.timeseries(asked, attributed),
            self.paths(asked),
            self.funnel(asked),
            self.budget(state["model"]),
        )
        self.recorder.refreshes.append(time.perf_counter() - started)

    async def attribution(self, state: State, asked: dict[str, Query]) -> dict[str, Any] | None:
        """``loadAttribution()``: the table, then the comparison period's when one is on."""
        body = await self.get("/v1/attribution", asked["attribution"], nothing_to_attribute)
        if body is None:
            return None
        self.page.currency = body.get("currency") or "USD"
        start, end = body.get("start"), body.get("end")
        # The page fills its empty date fields from the answer; the next Apply sends them.
        for name, value in (("start", start), ("end", end)):
            if not self.page.form[name] and value:
                self.page.form[name] = value
        if self.bounds is None and start and end:
            self.bounds = (start, end)
        self.add_stages([body.get("stage")])
        period = comparison_period(state, start, end)
        if period is not None:
            previous = {**asked["attribution"], **period}
            await self.get("/v1/attribution", previous, nothing_to_attribute)
        return body

    async def timeseries(self, asked: dict[str, Query], attributed: dict[str, Any]) -> None:
        """``loadTimeseries()``: revenue per week, or conversions for a stage without revenue."""
        totals = attributed.get("totals") or {}
        metric = "revenue" if totals.get("revenue") else "conversions"
        if await self.get_all("/v1/timeseries", {**asked["timeseries"], "metric": metric}):
            await self.chart_specs()

    async def paths(self, asked: dict[str, Query]) -> None:
        """``loadPaths()``: the 1,000 most common paths, then the bucket charts.

        A page with the early / middle / late card (``#touches-card``) then draws
        that card's chart with the specs of the paths' grouping (``channel`` or
        ``campaign``).
        """
        if await self.get("/v1/paths", {"limit": PAGE_ROWS, **asked["paths"]}) is None:
            return
        await self.chart_specs()
        if self.page.touches_card:
            await self.chart_specs(asked["paths"]["by"])

    async def funnel(self, asked: dict[str, Query]) -> None:
        """``loadFunnel()``: the funnel, total or per group, then its chart."""
        body = await self.get("/v1/funnel", asked["funnel"])
        if body is not None:
            self.add_stages(body.get("stages"))
            self.page.absent.update(body.get("absent_stages") or [])
            await self.chart_specs()

    async def budget(self, model: str) -> None:
        """``closedloopBudget.load()``: the plan with every channel's curve, then a what-if."""
        self.page.budget_model = model
        body = await self.post(
            "/v1/budget/plan",
            {"model": model, "by": "channel", "bootstrap": BUDGET_BOOTSTRAP, "points": True},
        )
        rows = [] if body is None else body["data"]
        spent = [r for r in rows if r["current_spend"] > 0 or has_curve(r)]
        self.page.budget_rows = [r for r in spent if has_curve(r)] + [
            r for r in spent if not has_curve(r)
        ]
        self.page.allocation = {r["channel"]: r["current_spend"] for r in self.page.budget_rows}
        if body is None:
            return
        if self.page.budget_rows:
            await self.chart_specs()  # the chosen channel's curve
        await self.what_if()

    async def what_if(self) -> None:
        """``whatIf()``: ``POST /v1/budget/whatif`` with the spend of every channel with a curve."""
        allocation = {
            r["channel"]: self.page.allocation[r["channel"]]
            for r in self.page.budget_rows
            if has_curve(r)
        }
        body = {
            "model": self.page.budget_model,
            "by": "channel",
            "allocation": allocation,
            "points": False,
            "bootstrap": BUDGET_BOOTSTRAP,
        }
        if await self.post("/v1/budget/whatif", body) is not None and self.page.budget_rows:
            await self.chart_specs()  # the curve again, with the what-if mark

    # ---- the session

    def periods(self) -> list[tuple[str, str]]:
        """The periods a user picks from: the whole range, its calendar months, last 4 weeks."""
        if self.bounds is None:
            return []
        first, last = (dt.date.fromisoformat(d) for d in self.bounds)
        out = [(first, last)]
        month = first.replace(day=1)
        while month <= last:
            following = (month + dt.timedelta(days=32)).replace(day=1)
            if month >= first and following - dt.timedelta(days=1) <= last:
                out.append((month, following - dt.timedelta(days=1)))
            month = following
        out.append((max(first, last - dt.timedelta(days=27)), last))
        return [(a.isoformat(), b.isoformat()) for a, b in out]

    def other(self, options: list[str] | tuple[str, ...], current: str) -> str:
        """One of ``options`` other than ``current`` (``current`` when there is no other)."""
        others = [o for o in options if o != current]
        return self.rng.choice(others) if others else current

    def other_period(self, current: tuple[str, str]) -> tuple[str, str]:
        """One of :meth:`periods` other than ``current``."""
        others = [p for p in self.periods() if p != current]
        return self.rng.choice(others) if others else current

    def change(self, action: str) -> None:
        """Change the form's controls as ``action`` does (the page then applies them)."""
        form = self.page.form
        if action == "model":
            # A user compares two different models (the page sends one model when alike).
            choices = [m for m in self.models if m != form["compare"]]
            form["model"] = self.other(choices, form["model"])
        elif action == "compare":
            choices = [m for m in self.models if m != form["model"]]
            form["compare"] = self.other(choices, form["compare"])
        elif action == "period":
            form["start"], form["end"] = self.other_period((form["start"], form["end"]))
        elif action == "group":
            form["by"] = self.other(GROUPINGS, form["by"])
        elif action == "stage":
            # The page lists the stages the data has (the funnel's, less its absent ones).
            present = [st for st in self.page.stages if st not in self.page.absent]
            form["stage"] = self.other(["", *present], form["stage"])
        elif action == "comparison":
            self.toggle_comparison()
        elif action == "windows":
            now = {name: form[name] for name in WINDOW_PRESETS[0]}
            form.update(self.rng.choice([w for w in WINDOW_PRESETS if w != now]))
        elif action == "funnel":
            form["funnel_by"] = self.other(FUNNEL_GROUPINGS, form["funnel_by"])
        elif action == "journey":
            form["journey"] = "account" if form["journey"] == "person" else "person"
        elif action == "intervals":
            form["ci"] = self.other(INTERVALS, form["ci"])

    def toggle_comparison(self) -> None:
        """Turn the comparison period off, or on as one of :data:`COMPARISONS`."""
        form = self.page.form
        if form["period"]:
            form["period"] = ""
            return
        kind = self.rng.choices(list(COMPARISONS), weights=list(COMPARISONS.values()))[0]
        if kind == "custom":
            if self.bounds is None:
                kind = "previous"
            else:
                current = (form["start"], form["end"])
                form["cmp_start"], form["cmp_end"] = self.other_period(current)
        form["period"] = kind

    async def what_if_move(self) -> None:
        """Move one channel's what-if spend (the slider), or "Reset all" when none has a curve."""
        curves = [r["channel"] for r in self.page.budget_rows if has_curve(r)]
        if curves:
            channel = self.rng.choice(curves)
            spend = self.page.allocation[channel] * self.rng.uniform(0.5, 1.5)
            self.page.allocation[channel] = round(spend, -2)
        else:
            self.page.allocation = {r["channel"]: r["current_spend"] for r in self.page.budget_rows}
        await self.what_if()

    async def act(self) -> None:
        """One interaction, drawn with :data:`ACTIONS`' probabilities."""
        action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        self.actions[action] += 1
        if action == "whatif":
            await self.what_if_move()
        elif action == "reload":
            await self.load_page(first=False)
        else:
            self.change(action)
            # Apply: the form's state goes into the URL, and every card is asked again.
            self.address = to_url(self.page.form)
            await self.refresh()

    async def run(self, start_at: float, deadline: float) -> None:
        """Wait for this user's start, load the page, then interact until ``deadline``."""
        await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
        try:
            await self.load_page(first=True)
            while True:
                await asyncio.sleep(self.rng.uniform(*self.think))
                if time.perf_counter() >= deadline:
                    break
                await self.act()
        finally:
            await self.client.aclose()


# --------------------------------------------------------------------------- a run


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (``/proc/PID/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarise(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (empty when there are none)."""
    if not values:
        return {}
    return {
        "p50_s": percentile(values, 50),
        "p95_s": percentile(values, 95),
        "p99_s": percentile(values, 99),
        "max_s": max(values),
    }


async def drive(
    base: str,
    users: int,
    seconds: float,
    ramp: float,
    think: tuple[float, float],
    seed: int,
    timeout: float,
    progress: Callable[[str], None],
) -> tuple[Recorder, Counter[str], float]:
    """Run every user against ``base``; the recorder, the actions taken, the elapsed seconds."""
    recorder = Recorder(began=time.perf_counter())
    deadline = recorder.began + seconds
    crowd = [User(i, base, recorder, seed, think, timeout) for i in range(users)]
    starts = [recorder.began + ramp * i / max(1, users) for i in range(users)]
    tasks = [asyncio.create_task(u.run(s, deadline)) for u, s in zip(crowd, starts, strict=True)]

    async def report() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            now = time.perf_counter() - recorder.began
            done = recorder.requests
            recent = summarise(recorder.all_latencies())
            progress(
                f"[load] {now:5.1f} s: {sum(not t.done() for t in tasks)} users, {done:,} "
                f"requests ({done / now:,.0f}/s), {len(recorder.errors)} errors, "
                f"{sum(recorder.retried.values())} resent, p95 so far "
                f"{recent.get('p95_s', 0) * 1000:,.0f} ms"
            )

    reporter = asyncio.create_task(report())
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    reporter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reporter
    elapsed = time.perf_counter() - recorder.began
    for number, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):  # a bug of this script, not of the server
            recorder.errors.append(
                {"kind": "user", "url": "", "error": f"user {number}: {outcome!r}", "after_s": 0}
            )
    actions: Counter[str] = Counter()
    for user in crowd:
        actions.update(user.actions)
    return recorder, actions, elapsed


def build_store(touches: int, directory: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """Generate the pipeline data of about ``touches`` touchpoints and ingest it into a store."""
    data = directory / "data"
    store = directory / "store.duckdb"
    persons = persons_for(touches)
    began = time.perf_counter()
    progress(f"[load] generating {persons:,} persons and ingesting them …")
    generated = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generate_service_store.py"), str(data),
         str(persons)],
        check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    info: dict[str, Any] = json.loads(generated.stdout)
    for table in ("touchpoints", "conversions", "costs"):
        subprocess.run(
            [*closedloop(), "ingest", table, str(data / f"{table}.parquet"), "--db", str(store)],
            check=True, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
    info["build_s"] = time.perf_counter() - began
    info["db"] = str(store)
    return info


def label(touches: int) -> str:
    """``1000000`` → ``1M``, ``100000`` → ``100k``."""
    if touches >= 1_000_000 and touches % 1_000_000 == 0:
        return f"{touches // 1_000_000}M"
    if touches >= 1_000 and touches % 1_000 == 0:
        return f"{touches // 1_000}k"
    return f"{touches:,}"


def run(
    *,
    db: str | None = None,
    touches: int = DEFAULT_SIZES[0],
    users: int = DEFAULT_USERS,
    seconds: float = DEFAULT_SECONDS,
    ramp: float = DEFAULT_RAMP,
    think: tuple[float, float] = DEFAULT_THINK,
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build a store of ``touches`` (or take ``db``), serve it, run the users; every figure."""
    say = progress or (lambda message: print(message, file=sys.stderr, flush=True))
    tag = "[load]" if db else f"[load {label(touches)}]"

    def told(message: str) -> None:
        say(message.replace("[load]", tag, 1))

    began = time.perf_counter()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="closedloop-load-") as tmp:
        store: dict[str, Any] = {"db": db} if db else build_store(touches, Path(tmp), told)
        with Server(store["db"], free_port(), python, startup_timeout=120.0) as server:
            assert server.proc is not None
            pid = server.proc.pid
            told(
                f"[load] server up in {server.startup_s:.2f} s; {users} users for {seconds:g} s "
                f"(think {think[0]:g}–{think[1]:g} s, seed {seed}) …"
            )
            server_cpu = cpu_seconds(pid)
            client_cpu = time.process_time()
            recorder, actions, elapsed = asyncio.run(
                drive(server.base, users, seconds, ramp, think, seed, timeout, told)
            )
            client_cpu = time.process_time() - client_cpu
            end_cpu = cpu_seconds(pid)
            end = proc_status(pid)
            server_log = server.output() if recorder.errors else ""
            health = server.health
            startup_s, after_start = server.startup_s, server.after_start
    errors_by_kind = Counter(e["kind"] for e in recorder.errors)
    seen = set(recorder.latencies) | set(errors_by_kind)
    kinds = [k for k in KINDS if k in seen] + sorted(seen - set(KINDS))
    result: dict[str, Any] = {
        "touches": None if db else touches,
        "users": users,
        "seconds": seconds,
        "ramp_s": ramp,
        "think_s": list(think),
        "seed": seed,
        "timeout_s": timeout,
        "store": {k: v for k, v in store.items() if k != "db"},
        "counts": health.get("counts") or {},
        "startup_s": startup_s,
        "vmhwm_after_start_kib": after_start.get("VmHWM"),
        "vmhwm_kib": end.get("VmHWM"),
        "vmrss_end_kib": end.get("VmRSS"),
        "server_cpu_s": None if server_cpu is None or end_cpu is None else end_cpu - server_cpu,
        "client_cpu_s": client_cpu,
        "elapsed_s": elapsed,
        "requests": recorder.requests,
        "errors": len(recorder.errors),
        "retried": sum(recorder.retried.values()),
        "expected": dict(recorder.expected),
        "expected_list": recorder.expected_urls,
        "paths": dict(sorted(recorder.paths.items())),
        "error_groups": error_groups(recorder.errors),
        "error_list": recorder.errors[:50],
        "server_log_tail": server_log,
        "per_second": recorder.requests / elapsed if elapsed else 0.0,
        "overall": summarise(recorder.all_latencies()),
        "kinds": [
            {
                "kind": kind,
                "n": len(recorder.latencies.get(kind, [])) + recorder.raised[kind],
                "errors": errors_by_kind[kind],
                "retried": recorder.retried[kind],
                "statuses": dict(sorted(recorder.statuses.get(kind, Counter()).items())),
                **summarise(recorder.latencies.get(kind, [])),
            }
            for kind in kinds
        ],
        "refresh": {"n": len(recorder.refreshes), **summarise(recorder.refreshes)},
        "actions": dict(actions),
        "loadavg_start": list(load_start),
        "loadavg_end": list(os.getloadavg()),
        "nproc": os.cpu_count(),
        "total_s": time.perf_counter() - began,
    }
    overall = result["overall"]
    told(
        f"[load] {result['requests']:,} requests in {elapsed:.1f} s "
        f"({result['per_second']:,.0f}/s), {result['errors']} errors, {result['retried']} "
        f"resent; p50 "
        f"{ms(overall.get('p50_s'))} ms, p95 {ms(overall.get('p95_s'))} ms, p99 "
        f"{ms(overall.get('p99_s'))} ms; server peak RSS {mib(result['vmhwm_kib'])} MiB"
    )
    for group in result["error_groups"]:
        told(f"[load] errors: {group['n']} × {group['kind']}: {group['error']}")
    for error in recorder.errors[:5]:
        told(
            f"[load] error at {error.get('at_s', 0):.1f} s, after {error['after_s']:.3f} s: "
            f"{error['kind']} {error['url']}: {error['error']}"
        )
    if server_log:
        told("[load] the server's last output:\n" + server_log[-1500:])
    return result


def error_groups(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors counted by kind and message (the message's first line, without the URL)."""
    counts: Counter[tuple[str, str]] = Counter(
        (e["kind"], e["error"].splitlines()[0][:240]) for e in errors
    )
    return [{"kind": k, "error": m, "n": n} for (k, m), n in counts.most_common()]


# --------------------------------------------------------------------------- report


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds for the table."""
    if seconds is None:
        return "—"
    return f"{seconds * 1000:,.0f}" if seconds >= 0.1 else f"{seconds * 1000:,.1f}"


def mib(kib: int | None) -> str:
    """KiB as MiB."""
    return "—" if kib is None else f"{kib / 1024:,.0f}"


def _loadavg(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def share(action: str) -> str:
    """The probability of ``action`` in :data:`ACTIONS`, as a percentage: ``"20%"``."""
    return f"{ACTIONS[action]:.0%}"


def intro(result: dict[str, Any]) -> list[str]:
    """What the section measures, wrapped (from the first result's settings)."""
    think = result["think_s"]
    scripts = sum(1 for p in result.get("paths", {}) if p.startswith("GET /static/"))
    return textwrap.wrap(
        f"{result['users']} simulated dashboard users (asyncio + httpx, no browser; each with "
        "its own pool of at most 6 connections, as a browser has) against one `closedloop "
        "serve` on 127.0.0.1, started cold, at default settings. They start over the first "
        f"{result['ramp_s']:g} s; each makes the requests `api/static/dashboard.html` makes, "
        f"in its order, with its query parameters: the page, its {scripts or ''} scripts, "
        "`/v1/models`, then a refresh: `/v1/attribution` (and, with a comparison period on, "
        "the same for that period), then at once `/v1/compare` of two models with "
        f"`baseline=`, `/v1/timeseries`, `/v1/paths` (`limit={PAGE_ROWS}`), `/v1/funnel`, "
        "`POST /v1/budget/plan` followed by `POST /v1/budget/whatif`, and the chart specs "
        "(cached by the page: once per page load, and once more for the early / middle / late "
        "chart of paths by campaign). Then, after a think time drawn uniformly from "
        f"{think[0]:g}–{think[1]:g} s, one interaction after another until "
        f"{result['seconds']:g} s have passed: switch the model ({share('model')}), the "
        f"compare-with model ({share('compare')}), the period (the whole range, a calendar "
        f"month, the last four weeks; {share('period')}), the grouping ({share('group')}), the "
        f"stage ({share('stage')}), a comparison period on or off (previous, last year, "
        f"custom; {share('comparison')}), the lookback/click/view windows "
        f"({share('windows')}), the funnel grouping ({share('funnel')}), the journey "
        f"({share('journey')}) or the intervals ({share('intervals')}) — each then refreshes "
        f"— move a channel's what-if spend (`POST /v1/budget/whatif`, {share('whatif')}) or "
        f"reload the page ({share('reload')}; same view, the scripts revalidated and answered "
        "304). An attribution with nothing to attribute (a comparison period before the data, "
        'a narrow click window) is answered 422 "Empty input", which the page shows: counted, '
        "not an error. Requests in flight at the end finish and "
        "count. Latency is client-side, from sending to the last byte of the body (queueing "
        "in the server included). An error is any other status outside 2xx/3xx or any "
        "exception (timeout, refused connection). The stores are the pipeline section's data "
        "(`benchmarks/generate_service_store.py`, `closedloop ingest` of the three tables). "
        "`benchmarks/load.py` runs this alone; `python benchmarks/run.py --only load` "
        "reruns the section and keeps the rest of the file.",
        width=88,
    )


def size_lines(result: dict[str, Any]) -> list[str]:
    """The subsection of one run: store, outcome, the table per request kind, notes."""
    nproc = result.get("nproc") or 1
    errors = result["errors"]
    overall = result["overall"]
    store = result.get("store") or {}
    if store.get("touchpoints"):
        title = f"### {label(result['touches'])} touchpoints"
        held = (
            f"{store['touchpoints']:,} touchpoints of {store['persons']:,} persons, "
            f"{store['conversions']:,} conversions, {store['costs']:,} cost rows (generated "
            f"and ingested in {store['build_s']:.1f} s)"
        )
    else:
        title = "### Given store"
        counts = result.get("counts") or {}
        held = ", ".join(f"{n:,} {table}" for table, n in counts.items()) or "given with --db"
    lines = [
        title,
        "",
        f"- Store: {held}.",
        f"- {result['users']} users for {result['seconds']:g} s (ramp {result['ramp_s']:g} s, "
        f"think {result['think_s'][0]:g}–{result['think_s'][1]:g} s, seed {result['seed']}, "
        f"request timeout {result['timeout_s']:g} s); interactions: "
        + ", ".join(f"{name} {n:,}" for name, n in sorted(result["actions"].items()))
        + ".",
        f"- Load average (1/5/15 min) {_loadavg(result['loadavg_start'])} at the start, "
        f"{_loadavg(result['loadavg_end'])} at the end, on {nproc} cores.",
    ]
    load = max(result["loadavg_start"][0], result["loadavg_end"][0])
    if load > nproc:
        lines.append(
            f"- **The machine was busy** (1-minute load up to {load:.1f} on {nproc} cores): "
            "other processes shared the CPUs with the server and the load generator, so "
            "latencies are inflated and noisy, and the server's capacity understated."
        )
    lines += [
        "",
        f"**{result['requests']:,} requests in {result['elapsed_s']:.1f} s "
        f"({result['per_second']:,.0f} requests/s), {errors} error{'s' if errors != 1 else ''}.**"
        f" All requests: p50 "
        f"{ms(overall.get('p50_s'))} ms, p95 {ms(overall.get('p95_s'))} ms, p99 "
        f"{ms(overall.get('p99_s'))} ms, max {ms(overall.get('max_s'))} ms.",
        "",
        "| request | n | errors | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in result["kinds"]:
        statuses = ", ".join(f"{s}: {n:,}" for s, n in row["statuses"].items())
        lines.append(
            f"| `{row['kind']}` | {row['n']:,} | {row['errors']} | {ms(row.get('p50_s'))} "
            f"| {ms(row.get('p95_s'))} | {ms(row.get('p99_s'))} | {ms(row.get('max_s'))} "
            f"| {statuses} |"
        )
    lines.append(
        f"| all | {result['requests']:,} | {errors} | {ms(overall.get('p50_s'))} "
        f"| {ms(overall.get('p95_s'))} | {ms(overall.get('p99_s'))} "
        f"| {ms(overall.get('max_s'))} | |"
    )
    refresh = result["refresh"]
    cpu = result.get("server_cpu_s")
    lines += [
        "",
        f"- Whole refresh as the user sees it (Apply → every panel answered; "
        f"{refresh['n']:,} refreshes): p50 {ms(refresh.get('p50_s'))} ms, p95 "
        f"{ms(refresh.get('p95_s'))} ms, max {ms(refresh.get('max_s'))} ms.",
        f"- Server: startup {result['startup_s']:.2f} s; peak RSS (VmHWM) "
        f"{mib(result['vmhwm_kib'])} MiB (after startup {mib(result['vmhwm_after_start_kib'])} "
        f"MiB, VmRSS at the end {mib(result['vmrss_end_kib'])} MiB)"
        + (
            f"; CPU {cpu:,.1f} s over the run ({cpu / result['elapsed_s']:.2f} of {nproc} cores)"
            if cpu is not None
            else ""
        )
        + f". The load generator used {result['client_cpu_s']:,.1f} s of CPU.",
    ]
    if result.get("retried"):
        kinds = ", ".join(
            f"{row['retried']} `{row['kind']}`" for row in result["kinds"] if row.get("retried")
        )
        lines.append(
            f"- Resent: {result['retried']:,} request{'s' if result['retried'] != 1 else ''} "
            f"({kinds}) met a keep-alive connection the server closed as it was sent (uvicorn "
            "closes connections idle for 5 s); like a browser, the load generator sent it "
            "again on a new connection (not an error; the latency covers both attempts)."
        )
    if result.get("expected"):
        kinds = ", ".join(f"{n:,} `{kind}`" for kind, n in result["expected"].items())
        lines.append(
            f'- Expected answers, not errors: {kinds} answered 422 "Empty input": nothing to '
            "attribute (a comparison period before the data, or a click window no conversion "
            "of the period has a touch in), which the page shows."
        )
    if errors:
        lines.append(f"- **{errors} error{'s' if errors != 1 else ''}**, by request and answer:")
        for group in result["error_groups"][:10]:
            lines.append(f"  - {group['n']:,} × `{group['kind']}`: {group['error']}")
    else:
        other = " other" if result.get("expected") else ""
        lines.append(f"- Errors: none (every{other} answer 2xx or 304; no timeouts, no refusals).")
    lines.append("")
    return lines


def section(results: list[dict[str, Any]], command: str, quick: bool = False) -> list[str]:
    """The Markdown of the load section of ``BENCHMARKS.md``: intro, then one part per run."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(r["total_s"] for r in results)
    lines = [
        HEADING,
        "",
        *intro(results[0]),
        "",
        *textwrap.wrap(
            "How to read it: the server starts cold, so the first request for each period, "
            "model, grouping and setting of the other controls computes (hundreds of "
            "milliseconds to seconds at 1M), while repeats are answered from its result cache "
            "in milliseconds. At most "
            "`CLOSEDLOOP_MAX_COMPUTE` computing requests (default: the CPU count) run at once; "
            "the others queue, cache hits included, for up to `CLOSEDLOOP_COMPUTE_WAIT` (30 s) "
            "and are then answered 503. While the server keeps up, the medians of the "
            "computing routes are cache hits and their high percentiles the first "
            "computations and what queued behind them; once new combinations arrive faster "
            "than it computes them, the queue is the latency of every computing route, hits "
            "included. The page, the scripts, `/v1/models` and the chart specs never wait for "
            "a computing slot. *statuses* counts the answers by HTTP status (304: a script "
            "revalidated on reload; 422: an attribution with nothing to attribute). With "
            "requests queued, server CPU well below the number "
            "of cores means its computations were short of CPU (other processes) or "
            "serialised (the GIL). Two sizes by default, 100k and 1M (the "
            'pipeline section\'s first size); `benchmarks/SERVICE.md` ("Load") says why, and '
            "where the time goes.",
            width=88,
        ),
        "",
        f"- Command: `{command}`",
        f"- Date: {now}; load section {total:,.0f} s",
    ]
    if quick:
        lines.append("- Quick mode: a tiny store, few users, a few seconds; not reference figures.")
    lines.append("")
    for result in results:
        lines += size_lines(result)
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="an existing store (default: build one per --touchpoints)")
    parser.add_argument(
        "--touchpoints",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated sizes of the generated stores, one run each (default %(default)s)",
    )
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="default %(default)s")
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="duration (default %(default)s)"
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=DEFAULT_RAMP,
        help="seconds over which the users start (default %(default)s)",
    )
    parser.add_argument(
        "--think",
        default=f"{DEFAULT_THINK[0]:g},{DEFAULT_THINK[1]:g}",
        help="think time range in seconds, MIN,MAX (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="default %(default)s")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds one request may take (default %(default)s)",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the server")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this file")
    args = parser.parse_args(argv)
    try:
        low, high = (float(x) for x in args.think.split(","))
        args.sizes = [int(x) for x in args.touchpoints.split(",") if x.strip()]
    except ValueError:
        parser.error("--think must be MIN,MAX and --touchpoints comma-separated integers")
    if not 0 <= low <= high:
        parser.error("--think needs 0 <= MIN <= MAX")
    args.think = (low, high)
    if args.users < 1 or args.seconds <= 0:
        parser.error("--users must be >= 1 and --seconds > 0")
    if args.db and not Path(args.db).exists():
        parser.error(f"no store at {args.db}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the load test per size (or on --db) and print its Markdown section."""
    args = parse_args(argv)
    settings = {
        "users": args.users,
        "seconds": args.seconds,
        "ramp": args.ramp,
        "think": args.think,
        "seed": args.seed,
        "timeout": args.timeout,
        "python": args.python,
    }
    if args.db:
        results = [run(db=args.db, **settings)]
    else:
        results = [run(touches=size, **settings) for size in args.sizes]
    words = sys.argv[1:] if argv is None else argv
    print("\n".join(section(results, shlex.join(["python", "benchmarks/load.py", *words]))))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
