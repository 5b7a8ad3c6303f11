"""Generate the seeded, synthetic B2B example data set in ``examples/data/``.

The data is a small but realistic simulation of a B2B software company over
six months (2025-01-01 to 2025-06-30, UTC):

* daily ad costs per channel and campaign, with budgets that change week to
  week, campaign flights and pauses, and event sponsorships;
* a few thousand people who touch the company's marketing 1 to 15 times over
  several weeks; the number of touches a paid campaign produces in a week
  follows a Hill (diminishing-returns) curve of that week's spend;
* CRM conversions: a person becomes a lead when the influence accumulated
  from their touches tips them over (channels have different true effects),
  then moves through mql, sql, opportunity and closed_won / closed_lost with
  realistic drop-off; a handful of customers open a second deal.

The output is deterministic given ``--seed``: rerunning writes the same bytes.

Run ``python examples/generate.py --help`` for the options.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

START = date(2025, 1, 1)
"""First day of the simulated period (UTC)."""

N_DAYS = 181
"""Days from 2025-01-01 to 2025-06-30 inclusive."""

N_WEEKS = (N_DAYS + 6) // 7
"""Weeks of the period, counted from the first day (the last one is partial)."""

DAY_S = 86_400
"""Seconds in a day."""

END_S = N_DAYS * DAY_S
"""End of the period in seconds after ``START`` (exclusive)."""

START_EPOCH_S = int(datetime(START.year, START.month, START.day, tzinfo=UTC).timestamp())
"""``START`` as Unix seconds."""

REFERENCE_PERSONS = 4000
"""Audience size the campaign budgets are written for; spend scales with ``--persons``."""

DEFAULT_OUT = Path(__file__).resolve().parent / "data"
"""Where the example data lives: ``examples/data`` next to this script."""

MAX_ORGANIC_TOUCHES = 10
"""Most acquisition touches a person can have (nurture and expansion add up to 5 more)."""

OWNERS = ("rep_ana", "rep_ben", "rep_chloe", "rep_dev", "rep_emma")
"""Sales reps who own deals from the sql stage on."""

OWNER_WIN_SHIFT = np.array([0.06, 0.0, -0.04, 0.02, -0.03])
"""How much each rep moves the win probability (some reps close better)."""

HOUR_WEIGHTS = np.array(
    [1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1], dtype=float
)
"""Relative activity by hour of day (UTC): a European and US business audience."""

DOW_FACTOR = np.array([1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5])
"""Relative activity and spend by weekday (Monday first); sums to 7."""


@dataclass(frozen=True)
class Campaign:
    """One campaign of one channel, with its tagging, true effect and budget.

    Attributes
    ----------
    channel, name : str
        GA4-style channel group and readable campaign name.
    sources : tuple of (str, float)
        ``utm_source`` values and their probabilities.
    medium : str
        ``utm_medium``.
    interactions : tuple of (str, float)
        Interaction types and their probabilities.
    kind : str
        ``"always_on"`` (paid, spend every day it runs), ``"email"`` (spend on
        send days), ``"event"`` (promotion and event-day spend), ``"organic"``
        (no spend) or ``"nurture"`` (post-lead emails only).
    volume : float
        Relative touches per week at the base budget (or per week for organic).
    influence : float
        True effect: how much one touch moves a person towards becoming a lead.
    navigational : float
        How likely the lead form is filled on this touch once the person is
        ready (brand search and direct are where decided buyers arrive).
    first_mult, later_mult : float
        Propensity of the campaign to be a person's first touch / a later one.
    weekly_budget : float
        Base weekly spend in the reporting currency (0 when unpaid).
    weeks_on : tuple of (int, int)
        First and last week (0-based, inclusive) the campaign runs.
    paused_weeks : tuple of int
        Weeks (0-based) the campaign is paused within its flight.
    budget_steps : tuple of (int, float)
        Planned budget changes: from that week on, multiply the budget.
    cpc, ctr : float
        Cost per click and click-through rate, used for impressions and clicks.
    hill_k, hill_n : float
        Half-saturation (as a multiple of the base weekly budget) and shape of
        the spend-to-touches Hill curve.
    """

    channel: str
    name: str
    sources: tuple[tuple[str, float], ...]
    medium: str
    interactions: tuple[tuple[str, float], ...]
    kind: str
    volume: float
    influence: float
    navigational: float
    first_mult: float = 1.0
    later_mult: float = 1.0
    weekly_budget: float = 0.0
    weeks_on: tuple[int, int] = (0, N_WEEKS - 1)
    paused_weeks: tuple[int, ...] = ()
    budget_steps: tuple[tuple[int, float], ...] = ()
    cpc: float = 0.0
    ctr: float = 0.0
    hill_k: float = 1.0
    hill_n: float = 1.0


CLICK = (("click", 1.0),)
VISIT = (("visit", 0.9), ("form", 0.1))

CAMPAIGNS: tuple[Campaign, ...] = (
    # Paid Search: brand captures decided buyers, generic and competitor create demand.
    Campaign("Paid Search", "brand_search", (("google", 0.85), ("bing", 0.15)), "cpc", CLICK,
             "always_on", 30, 0.15, 2.2, first_mult=0.4, later_mult=1.7, weekly_budget=800,
             budget_steps=((9, 1.15),), cpc=2.4, ctr=0.09, hill_k=0.9, hill_n=1.1),
    Campaign("Paid Search", "generic_search", (("google", 0.85), ("bing", 0.15)), "cpc", CLICK,
             "always_on", 45, 0.35, 1.0, first_mult=1.2, later_mult=0.9, weekly_budget=2200,
             budget_steps=((8, 1.3), (17, 0.85)), cpc=7.5, ctr=0.035, hill_k=1.2, hill_n=1.0),
    Campaign("Paid Search", "competitor_search", (("google", 1.0),), "cpc", CLICK,
             "always_on", 14, 0.3, 0.9, first_mult=1.1, weekly_budget=800,
             paused_weeks=(7, 8, 9), budget_steps=((20, 1.25),), cpc=9.0, ctr=0.025,
             hill_k=1.0, hill_n=1.0),
    # Paid Social: LinkedIn for accounts, Meta for cheap retargeting.
    Campaign("Paid Social", "linkedin_abm", (("linkedin", 1.0),), "paid_social",
             (("impression", 0.45), ("click", 0.55)), "always_on", 32, 0.6, 0.6,
             first_mult=1.5, weekly_budget=2000, budget_steps=((12, 1.2),), cpc=11.0,
             ctr=0.0055, hill_k=1.3, hill_n=1.2),
    Campaign("Paid Social", "linkedin_lead_gen", (("linkedin", 1.0),), "paid_social",
             (("click", 0.6), ("form", 0.4)), "always_on", 22, 0.35, 1.5, first_mult=1.3,
             weekly_budget=1400, weeks_on=(10, 21), cpc=9.5, ctr=0.007, hill_k=1.0, hill_n=1.1),
    Campaign("Paid Social", "meta_retargeting", (("facebook", 0.7), ("instagram", 0.3)),
             "paid_social", (("impression", 0.6), ("click", 0.4)), "always_on", 24, 0.12, 0.7,
             first_mult=0.1, later_mult=1.6, weekly_budget=500, weeks_on=(3, N_WEEKS - 1),
             cpc=1.8, ctr=0.009, hill_k=0.8, hill_n=1.0),
    # Display: prospecting reach, weak true effect.
    Campaign("Display", "gdn_prospecting", (("google", 1.0),), "display",
             (("impression", 0.8), ("click", 0.2)), "always_on", 26, 0.1, 0.25,
             first_mult=1.8, later_mult=0.6, weekly_budget=800, budget_steps=((18, 0.5),),
             cpc=1.6, ctr=0.0018, hill_k=1.0, hill_n=1.0),
    Campaign("Display", "programmatic_abm", (("demandbase", 1.0),), "display",
             (("impression", 0.75), ("click", 0.25)), "always_on", 16, 0.25, 0.35,
             first_mult=1.4, weekly_budget=1000, weeks_on=(6, N_WEEKS - 1), cpc=6.0,
             ctr=0.002, hill_k=1.1, hill_n=1.2),
    # Email: the newsletter and a launch flight acquire; nurture follows up leads.
    Campaign("Email", "newsletter", (("newsletter", 1.0),), "email", (("email", 1.0),),
             "email", 28, 0.3, 0.8, first_mult=0.3, later_mult=1.3, weekly_budget=400,
             cpc=0.9, ctr=0.022, hill_k=1.0, hill_n=1.0),
    Campaign("Email", "product_launch_apr", (("newsletter", 1.0),), "email", (("email", 1.0),),
             "email", 24, 0.4, 0.9, first_mult=0.3, later_mult=1.3, weekly_budget=400,
             weeks_on=(13, 17), cpc=0.8, ctr=0.03, hill_k=1.0, hill_n=1.0),
    Campaign("Email", "nurture_sequence", (("hubspot", 1.0),), "email", (("email", 1.0),),
             "nurture", 0, 0.0, 0.0, weekly_budget=250, cpc=0.6, ctr=0.04),
    # Events: webinars and a trade show; the strongest true effect.
    Campaign("Events", "webinar_q1", (("zoom", 1.0),), "event", (("event", 1.0),), "event",
             28, 1.0, 1.4, first_mult=1.0, later_mult=1.2, hill_k=1.0, hill_n=1.0),
    Campaign("Events", "webinar_q2", (("zoom", 1.0),), "event", (("event", 1.0),), "event",
             30, 1.0, 1.4, first_mult=1.0, later_mult=1.2, hill_k=1.0, hill_n=1.0),
    Campaign("Events", "saas_summit_2025", (("saas_summit", 1.0),), "event",
             (("event", 1.0),), "event", 90, 1.1, 1.6, first_mult=1.2, hill_k=1.0, hill_n=1.0),
    # Unpaid channels, with GA4's placeholder campaign names.
    Campaign("Organic Search", "(organic)", (("google", 0.88), ("bing", 0.08),
             ("duckduckgo", 0.04)), "organic", VISIT, "organic", 60, 0.35, 1.1,
             first_mult=1.3, later_mult=0.9),
    Campaign("Referral", "(referral)", (("g2.com", 0.45), ("capterra.com", 0.25),
             ("partner.hubspot.com", 0.2), ("news.ycombinator.com", 0.1)), "referral", VISIT,
             "organic", 16, 0.7, 1.0, first_mult=1.4, later_mult=0.8),
    Campaign("Direct", "(direct)", (("(direct)", 1.0),), "(none)", VISIT, "organic", 45, 0.08,
             1.8, first_mult=0.5, later_mult=1.5),
)  # fmt: skip
"""Every campaign of the example, channel by channel."""

EVENT_DAYS: dict[str, tuple[tuple[str, ...], ...]] = {
    "webinar_q1": (("2025-01-22",), ("2025-02-19",), ("2025-03-19",)),
    "webinar_q2": (("2025-04-16",), ("2025-05-14",), ("2025-06-11",)),
    "saas_summit_2025": (("2025-05-06", "2025-05-07", "2025-05-08"),),
}
"""Days each event campaign's events take place (one inner tuple per event)."""

EVENT_COST: dict[str, tuple[float, float]] = {
    "webinar_q1": (2200.0, 400.0),
    "webinar_q2": (2500.0, 400.0),
    "saas_summit_2025": (4000.0, 20000.0),
}
"""(promotion spend over the 14 days before, spend on the event days) per event."""

SIM_TOUCHES = pl.Schema({"person": pl.Int64, "t": pl.Int64, "campaign": pl.Int64})
"""Simulated touches before ids and tagging: person index, seconds, campaign index."""

SIM_CONVERSIONS = pl.Schema(
    {
        "person": pl.Int64,
        "t": pl.Int64,
        "stage": pl.String,
        "revenue": pl.Float64,
        "owner": pl.String,
        "lead_source": pl.String,
    }
)
"""Simulated conversions before ids: person index and seconds after ``START``."""

STAGE_DELAY_DAYS = {"mql": (0.3, 4.0), "sql": (1.0, 8.0), "opportunity": (2.0, 10.0)}
"""(minimum, mean extra) days from the previous stage to this one."""


def _day_index(day: str) -> int:
    """Return the 0-based day index of an ISO date within the period.

    Parameters
    ----------
    day : str
        ISO date, ``YYYY-MM-DD``.

    Returns
    -------
    int
        Days after ``START``.
    """
    return (date.fromisoformat(day) - START).days


def _hill(spend: np.ndarray, half: float, shape: float) -> np.ndarray:
    """Return the Hill saturation curve ``s^n / (s^n + K^n)`` in ``[0, 1)``.

    Parameters
    ----------
    spend : numpy.ndarray
        Spend, non-negative.
    half : float
        Half-saturation spend ``K``.
    shape : float
        Hill exponent ``n``; ``n <= 1`` is concave everywhere.

    Returns
    -------
    numpy.ndarray
        The response, same shape as ``spend``.
    """
    s: np.ndarray = np.power(np.maximum(spend, 0.0), shape)
    response: np.ndarray = s / (s + half**shape)
    return response


def _weekdays() -> np.ndarray:
    """Return the weekday (Monday = 0) of every day of the period.

    Returns
    -------
    numpy.ndarray
        Integer array of length ``N_DAYS``.
    """
    return (np.arange(N_DAYS) + START.weekday()) % 7


def simulate_spend(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Simulate daily spend of every campaign.

    Always-on campaigns get a weekly budget (base x planned steps x an AR(1)
    wobble, zero outside their flight) spread over the days of the week with
    less on weekends. Email spends on send days, events on the 14 days of
    promotion before each event and on the event days.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    spend : numpy.ndarray
        ``(n_campaigns, N_DAYS)`` daily spend, 0 for unpaid campaigns.
    sends : numpy.ndarray
        ``(n_campaigns, N_DAYS)`` boolean, True on email send days.
    """
    n = len(CAMPAIGNS)
    weekday = _weekdays()
    week = np.arange(N_DAYS) // 7
    spend = np.zeros((n, N_DAYS))
    sends = np.zeros((n, N_DAYS), dtype=bool)
    for i, c in enumerate(CAMPAIGNS):
        if c.kind in ("always_on", "email", "nurture"):
            wobble = np.zeros(N_WEEKS)
            shocks = rng.normal(0.0, 0.2, N_WEEKS)
            for w in range(N_WEEKS):
                wobble[w] = (0.6 * wobble[w - 1] if w else 0.0) + shocks[w]
            budget = c.weekly_budget * np.exp(wobble)
            for from_week, factor in c.budget_steps:
                budget[from_week:] *= factor
            weeks = np.arange(N_WEEKS)
            on = (weeks >= c.weeks_on[0]) & (weeks <= c.weeks_on[1])
            on &= ~np.isin(weeks, c.paused_weeks)
            budget = np.where(on, budget, 0.0)
            if c.kind == "always_on":
                daily = budget[week] / 7.0 * DOW_FACTOR[weekday]
                # A few dark days: a campaign paused for a day or two by hand.
                dark = rng.random(N_DAYS) < 0.015
                daily = np.where(dark, 0.0, daily * rng.lognormal(0.0, 0.1, N_DAYS))
            elif c.kind == "email":
                # Newsletter goes out on Tuesdays; launch flights also on Thursdays.
                send_days = (1,) if c.name == "newsletter" else (1, 3)
                sends[i] = np.isin(weekday, send_days) & on[week]
                per_week = np.bincount(week[sends[i]], minlength=N_WEEKS)
                share = np.where(sends[i], 1.0 / np.maximum(per_week[week], 1), 0.0)
                daily = budget[week] * share * rng.lognormal(0.0, 0.05, N_DAYS)
            else:  # nurture: automated daily sends, a small steady cost
                daily = budget[week] / 7.0 * rng.lognormal(0.0, 0.05, N_DAYS)
            spend[i] = daily
        elif c.kind == "event":
            promo_total, event_total = EVENT_COST[c.name]
            for days in EVENT_DAYS[c.name]:
                idx = np.array([_day_index(d) for d in days])
                scale = rng.lognormal(0.0, 0.15)
                promo = np.arange(idx[0] - 14, idx[0])
                promo = promo[(promo >= 0) & (weekday[promo] < 5)]
                spend[i, promo] += promo_total * scale / len(promo)
                spend[i, idx] += event_total * scale / len(idx)
    return np.round(spend, 2), sends


def touch_intensity(spend: np.ndarray, sends: np.ndarray) -> np.ndarray:
    """Return the expected acquisition touches of every campaign on every day.

    For paid campaigns the weekly touches are a Hill curve of that week's
    spend (events: of the event's whole spend, landing on the event days);
    organic channels grow slowly over the period.

    Parameters
    ----------
    spend : numpy.ndarray
        ``(n_campaigns, N_DAYS)`` daily spend from :func:`simulate_spend`.
    sends : numpy.ndarray
        ``(n_campaigns, N_DAYS)`` email send days.

    Returns
    -------
    numpy.ndarray
        ``(n_campaigns, N_DAYS)`` non-negative intensities (relative units).
    """
    weekday = _weekdays()
    week = np.arange(N_DAYS) // 7
    lam = np.zeros_like(spend)
    for i, c in enumerate(CAMPAIGNS):
        if c.kind in ("always_on", "email"):
            weekly = np.bincount(week, weights=spend[i], minlength=N_WEEKS)
            half = c.hill_k * c.weekly_budget
            peak = c.volume / _hill(np.array([c.weekly_budget]), half, c.hill_n)[0]
            per_week = peak * _hill(weekly, half, c.hill_n)
            if c.kind == "always_on":
                lam[i] = per_week[week] / 7.0 * DOW_FACTOR[weekday] * (spend[i] > 0)
            else:
                n_sends = np.bincount(week[sends[i]], minlength=N_WEEKS)
                lam[i] = np.where(sends[i], per_week[week] / np.maximum(n_sends[week], 1), 0.0)
        elif c.kind == "event":
            promo_total, event_total = EVENT_COST[c.name]
            half = c.hill_k * (promo_total + event_total)
            peak = c.volume / _hill(np.array([promo_total + event_total]), half, c.hill_n)[0]
            for days in EVENT_DAYS[c.name]:
                idx = np.array([_day_index(d) for d in days])
                total = spend[i, np.arange(idx[0] - 14, idx[-1] + 1).clip(0)].sum()
                lam[i, idx] = peak * _hill(np.array([total]), half, c.hill_n)[0] / len(idx)
        elif c.kind == "organic":
            growth = 1.0 + 0.25 * np.arange(N_DAYS) / N_DAYS
            lam[i] = c.volume * growth / 7.0 * DOW_FACTOR[weekday]
    return lam


def _seconds_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw times of day (seconds) following :data:`HOUR_WEIGHTS`.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    size : int
        How many.

    Returns
    -------
    numpy.ndarray
        Integer seconds in ``[0, 86400)``.
    """
    hours = rng.choice(24, size=size, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hours * 3600 + rng.integers(0, 3600, size)


def _pick(rng: np.random.Generator, options: tuple[tuple[str, float], ...], size: int) -> list[str]:
    """Draw ``size`` values from weighted options.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    options : tuple of (str, float)
        Values and their probabilities.
    size : int
        How many.

    Returns
    -------
    list of str
        The draws.
    """
    values = [v for v, _ in options]
    p = np.array([w for _, w in options])
    return [values[k] for k in rng.choice(len(values), size=size, p=p / p.sum())]


def simulate_touches(
    rng: np.random.Generator, lam: np.ndarray, n_persons: int
) -> dict[str, np.ndarray]:
    """Simulate every person's acquisition touches.

    Persons arrive, and touch again, at a rate proportional to the total
    daily intensity, so weeks with more spend bring more touches; each touch's
    campaign is drawn in proportion to that day's campaign intensities,
    weighted by how likely a campaign is to open a journey or to follow up.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    lam : numpy.ndarray
        ``(n_campaigns, N_DAYS)`` intensities from :func:`touch_intensity`.
    n_persons : int
        Number of persons.

    Returns
    -------
    dict of str to numpy.ndarray
        Parallel arrays ``person``, ``t`` (seconds after ``START``) and
        ``campaign`` (index into :data:`CAMPAIGNS`), sorted by person and time.
    """
    daily = lam.sum(axis=0)
    cum = np.concatenate([[0.0], np.cumsum(daily)])
    total = cum[-1]
    # Persons also arrive in the six weeks before the period, so that it opens
    # with journeys already under way; their earlier touches are not observed.
    burn_in = 42 * total / N_DAYS
    n_candidates = int(n_persons * 1.6) + 50
    n_touch = np.minimum(rng.geometric(0.27, n_candidates), MAX_ORGANIC_TOUCHES)
    person = np.repeat(np.arange(n_candidates), n_touch)
    start = np.cumsum(n_touch) - n_touch
    pos = np.arange(person.size) - start[person]
    # Time is measured in "intensity units": more spend, more touches that day.
    arrival = rng.uniform(-burn_in, total, n_candidates)
    pace = rng.lognormal(0.0, 0.6, n_candidates) * 7.0 * total / N_DAYS  # ~ a week apart
    gaps = np.where(pos == 0, 0.0, rng.exponential(1.0, person.size) * pace[person])
    clock = arrival[person] + np.cumsum(gaps) - np.cumsum(gaps)[start][person]
    keep = (clock >= 0) & (clock < total)
    person, clock, pos = person[keep], clock[keep], pos[keep]
    # Candidates are exchangeable: keep the first n_persons seen in the period.
    seen = np.unique(person)
    if seen.size < n_persons:
        raise RuntimeError(f"only {seen.size} persons have touches; lower --persons")
    keep = person <= seen[n_persons - 1]
    person = np.searchsorted(seen, person[keep])
    clock, pos = clock[keep], pos[keep]
    day = np.clip(np.searchsorted(cum, clock, side="right") - 1, 0, N_DAYS - 1)
    t = day * DAY_S + _seconds_of_day(rng, day.size)
    order = np.lexsort((t, person))
    person, t, day = person[order], t[order], day[order]
    opened_here = np.bincount(person, weights=pos[order] == 0, minlength=n_persons) > 0
    first = np.r_[True, person[1:] != person[:-1]] & opened_here[person]
    mult = np.array([[c.first_mult, c.later_mult] for c in CAMPAIGNS])
    weights = lam[:, day].T * np.where(first[:, None], mult[:, 0], mult[:, 1])
    cumw = np.cumsum(weights, axis=1)
    u = rng.random(day.size) * cumw[:, -1]
    campaign = (cumw < u[:, None]).sum(axis=1)
    return {"person": person, "t": t, "campaign": campaign}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Return the logistic function of ``x``.

    Parameters
    ----------
    x : numpy.ndarray
        Log-odds.

    Returns
    -------
    numpy.ndarray
        Probabilities.
    """
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return probabilities


def _stage_delay(rng: np.random.Generator, stage: str, size: int) -> np.ndarray:
    """Draw delays in seconds from the previous CRM stage to ``stage``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    stage : str
        A key of :data:`STAGE_DELAY_DAYS`.
    size : int
        How many.

    Returns
    -------
    numpy.ndarray
        Integer seconds, positive.
    """
    low, mean = STAGE_DELAY_DAYS[stage]
    return ((low + rng.exponential(mean, size)) * DAY_S).astype(np.int64)


def simulate_funnel(
    rng: np.random.Generator, touches: dict[str, np.ndarray], n_persons: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Turn touches into leads and move leads down the CRM funnel.

    Each touch adds its campaign's true ``influence`` to the person's running
    total; the chance that the person fills a form right after a touch grows
    with that total and with the touch's ``navigational`` weight. The first
    such touch makes a lead. Leads then pass mql, sql and opportunity with
    drop-off, and opportunities close won or lost; rates rise for persons who
    attended events, came by referral or were in an ABM campaign. Stages that
    would fall after the period are left open.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    touches : dict of str to numpy.ndarray
        Output of :func:`simulate_touches`.
    n_persons : int
        Number of persons.

    Returns
    -------
    leads : dict of str to numpy.ndarray
        Per lead: ``person``, ``t`` of every stage (-1 when not reached),
        ``won`` flag, ``owner`` index, ``lead_source`` and ``revenue``.
    touched : dict of str to numpy.ndarray
        Per person flags ``events``, ``referral`` and ``abm``.
    """
    person, t, camp = touches["person"], touches["t"], touches["campaign"]
    impression = touches["interaction"] == "impression"
    influence = np.array([c.influence for c in CAMPAIGNS])[camp] * np.where(impression, 0.5, 1.0)
    nav = np.array([c.navigational for c in CAMPAIGNS])[camp] * np.where(impression, 0.3, 1.0)
    start = np.r_[0, np.flatnonzero(person[1:] != person[:-1]) + 1]
    run = np.cumsum(influence)
    run = run - np.repeat(run[start] - influence[start], np.diff(np.r_[start, person.size]))
    propensity = rng.lognormal(-0.18, 0.6, n_persons)
    hazard = 1.0 - np.exp(-0.16 * run * nav * propensity[person])
    fires = rng.random(person.size) < hazard
    lead_persons, first_fire = np.unique(person[fires], return_index=True)
    lead_touch = np.flatnonzero(fires)[first_fire]
    n = lead_persons.size

    channel_of = np.array([c.channel for c in CAMPAIGNS])
    name_of = np.array([c.name for c in CAMPAIGNS])
    ch = channel_of[camp]
    touched = {
        "events": np.bincount(person, weights=ch == "Events", minlength=n_persons) > 0,
        "referral": np.bincount(person, weights=ch == "Referral", minlength=n_persons) > 0,
        "abm": np.bincount(
            person, weights=np.char.endswith(name_of[camp], "_abm"), minlength=n_persons
        )
        > 0,
    }
    ev = touched["events"][lead_persons].astype(float)
    ref = touched["referral"][lead_persons].astype(float)
    abm = touched["abm"][lead_persons].astype(float)
    lead_gen = (name_of[camp[lead_touch]] == "linkedin_lead_gen").astype(float)

    # Most forms are filled within the session; some a day or two later.
    same_session = rng.random(n) < 0.75
    delay = np.where(
        same_session, rng.integers(60, 45 * 60, n), rng.exponential(1.2 * DAY_S, n) + 3600
    ).astype(np.int64)
    t_lead = t[lead_touch] + delay
    lead_channel = ch[lead_touch]
    outbound = (np.isin(lead_channel, ["Direct", "Organic Search"])) & (rng.random(n) < 0.25)
    lead_source = np.where(
        lead_channel == "Events",
        "Event",
        np.where(lead_channel == "Referral", "Partner", np.where(outbound, "Outbound", "Web")),
    )

    p_mql = _sigmoid(0.35 + 0.5 * ev + 0.4 * ref + 0.3 * abm - 0.6 * lead_gen)
    p_sql = _sigmoid(0.05 + 0.5 * ev + 0.5 * ref + 0.3 * abm)
    p_opp = _sigmoid(0.6 + 0.3 * ev + 0.3 * ref)
    owner = rng.integers(0, len(OWNERS), n)
    p_win = np.clip(0.30 + 0.10 * ev + 0.08 * ref + 0.05 * abm + OWNER_WIN_SHIFT[owner], 0, 1)

    stages: dict[str, np.ndarray] = {"lead": np.where(t_lead < END_S, t_lead, -1)}
    prev = stages["lead"]
    for stage, p in (("mql", p_mql), ("sql", p_sql), ("opportunity", p_opp)):
        ts = prev + _stage_delay(rng, stage, n)
        ok = (prev >= 0) & (rng.random(n) < p) & (ts < END_S)
        stages[stage] = np.where(ok, ts, -1)
        prev = stages[stage]
    won = rng.random(n) < p_win
    close_days = 7.0 + rng.gamma(2.0, 14.0, n) * np.where(won, 1.0, 0.8)
    t_close = prev + (close_days * DAY_S).astype(np.int64)
    stages["closed"] = np.where((prev >= 0) & (t_close < END_S), t_close, -1)
    size = rng.lognormal(np.log(11_000.0), 0.55, n) * np.where(abm > 0, 1.6, 1.0)
    revenue = np.round(np.clip(size, 2_500.0, 150_000.0), 2)
    leads = {
        "person": lead_persons,
        "owner": owner,
        "won": won,
        "lead_source": lead_source,
        "revenue": revenue,
        **{f"t_{k}": v for k, v in stages.items()},
    }
    return leads, touched


def simulate_nurture(rng: np.random.Generator, leads: dict[str, np.ndarray]) -> pl.DataFrame:
    """Simulate touches between a person's lead and the close of their deal.

    Each lead gets 0-3 nurture touches until an opportunity is opened:
    emails from ``nurture_sequence``, direct visits, and attending the next
    webinar or the trade show.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    leads : dict of str to numpy.ndarray
        Output of :func:`simulate_funnel`.

    Returns
    -------
    polars.DataFrame
        Columns ``person``, ``t``, ``campaign`` (index into :data:`CAMPAIGNS`).
    """
    names = [c.name for c in CAMPAIGNS]
    has_lead = leads["t_lead"] >= 0
    t0 = leads["t_lead"][has_lead]
    # Marketing nurtures until sales opens an opportunity (or for 75 days).
    opened = leads["t_opportunity"][has_lead]
    t1 = np.where(opened >= 0, opened, np.minimum(t0 + 75 * DAY_S, END_S - 1))
    k = np.minimum(rng.poisson(1.6, t0.size), 3)
    idx = np.repeat(np.arange(t0.size), k)
    t = t0[idx] + (rng.random(idx.size) * (t1[idx] - t0[idx])).astype(np.int64)
    kind = rng.choice(3, size=idx.size, p=[0.6, 0.25, 0.15])
    campaign = np.where(kind == 0, names.index("nurture_sequence"), names.index("(direct)"))
    # Event attendance: snap to the next event day after the drawn time.
    event_days = sorted(
        (_day_index(d), names.index(name))
        for name, events in EVENT_DAYS.items()
        for days in events
        for d in days
    )
    ev_day = np.array([d for d, _ in event_days])
    ev_camp = np.array([c for _, c in event_days])
    nxt = np.searchsorted(ev_day * DAY_S, t, side="right")
    is_event = kind == 2
    valid = nxt < ev_day.size
    nxt = np.minimum(nxt, ev_day.size - 1)
    ev_t = ev_day[nxt] * DAY_S + 9 * 3600 + rng.integers(0, 8 * 3600, idx.size)
    t = np.where(is_event, ev_t, t)
    campaign = np.where(is_event, ev_camp[nxt], campaign)
    keep = (~is_event | valid) & (t < t1[idx]) & (t > t0[idx])
    person = leads["person"][has_lead][idx]
    return pl.DataFrame(
        {"person": person[keep], "t": t[keep], "campaign": campaign[keep]}, schema=SIM_TOUCHES
    )


def simulate_expansion(
    rng: np.random.Generator, leads: dict[str, np.ndarray]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Give a handful of won customers a second deal (an expansion).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    leads : dict of str to numpy.ndarray
        Output of :func:`simulate_funnel`.

    Returns
    -------
    touches : polars.DataFrame
        One or two touches before the new opportunity: ``person``, ``t``,
        ``campaign``.
    conversions : polars.DataFrame
        ``person``, ``t``, ``stage``, ``revenue``, ``owner``, ``lead_source``.
    """
    names = [c.name for c in CAMPAIGNS]
    won = (leads["t_closed"] >= 0) & leads["won"]
    eligible = np.flatnonzero(won & (leads["t_closed"] < END_S - 40 * DAY_S))
    chosen = eligible[rng.random(eligible.size) < 0.25]
    n = chosen.size
    first = leads["t_closed"][chosen] + (rng.uniform(10, 35, n) * DAY_S).astype(np.int64)
    k = rng.integers(1, 3, n)
    idx = np.repeat(np.arange(n), k)
    second = np.r_[0, idx[1:] == idx[:-1]].astype(bool)
    t_touch = first[idx] + np.where(second, (rng.uniform(1, 6, idx.size) * DAY_S), 0).astype(
        np.int64
    )
    options = np.array([names.index(x) for x in ("brand_search", "(direct)", "newsletter")])
    campaign = options[rng.choice(3, size=idx.size, p=[0.4, 0.4, 0.2])]
    last = t_touch[np.cumsum(k) - 1]  # a customer's touches are in time order
    t_opp = last + (rng.uniform(0.5, 5, n) * DAY_S).astype(np.int64)
    t_close = t_opp + (rng.uniform(14, 45, n) * DAY_S).astype(np.int64)
    win = rng.random(n) < 0.6
    revenue = np.round(rng.lognormal(np.log(6_000.0), 0.45, n), 2)
    person = leads["person"][chosen]
    touch_df = pl.DataFrame(
        {"person": person[idx], "t": t_touch, "campaign": campaign}, schema=SIM_TOUCHES
    )
    owner = np.array(OWNERS)[leads["owner"][chosen]]
    rows = pl.DataFrame(
        {
            "person": np.tile(person, 2),
            "t": np.r_[t_opp, t_close],
            "stage": np.r_[np.full(n, "opportunity"), np.where(win, "closed_won", "closed_lost")],
            "revenue": np.r_[np.zeros(n), np.where(win, revenue, 0.0)],
            "owner": np.tile(owner, 2),
            "lead_source": np.tile(leads["lead_source"][chosen], 2),
        },
        schema=SIM_CONVERSIONS,
    )
    return touch_df.filter(pl.col("t") < END_S), rows.filter(pl.col("t") < END_S)


def _iso(seconds: pl.Expr) -> pl.Expr:
    """Format seconds after ``START`` as ISO 8601 UTC with a ``Z``.

    Parameters
    ----------
    seconds : polars.Expr
        Integer seconds after ``START``.

    Returns
    -------
    polars.Expr
        String expression, e.g. ``2025-01-03T14:22:05Z``.
    """
    return (
        pl.from_epoch(seconds + START_EPOCH_S, time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def build_touchpoints(rng: np.random.Generator, touches: pl.DataFrame) -> pl.DataFrame:
    """Add ids, tagging and interactions to the simulated touches.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    touches : polars.DataFrame
        ``person``, ``t``, ``campaign`` (index), ``interaction``.

    Returns
    -------
    polars.DataFrame
        The canonical touchpoints table, ``ts`` as ISO strings.
    """
    touches = touches.sort("t", "person", "campaign")
    camp = touches["campaign"].to_numpy()
    source = np.empty(camp.size, dtype=object)
    for i, c in enumerate(CAMPAIGNS):
        mask = camp == i
        source[mask] = _pick(rng, c.sources, int(mask.sum()))
    return touches.select(
        touchpoint_id=pl.format("tp{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(6)),
        user_id=pl.format("u{}", (pl.col("person") + 1).cast(pl.String).str.zfill(5)),
        ts=_iso(pl.col("t")),
        channel=pl.col("campaign").replace_strict(
            list(range(len(CAMPAIGNS))), [c.channel for c in CAMPAIGNS], return_dtype=pl.String
        ),
        campaign=pl.col("campaign").replace_strict(
            list(range(len(CAMPAIGNS))), [c.name for c in CAMPAIGNS], return_dtype=pl.String
        ),
        source=pl.Series(source.tolist(), dtype=pl.String),
        medium=pl.col("campaign").replace_strict(
            list(range(len(CAMPAIGNS))), [c.medium for c in CAMPAIGNS], return_dtype=pl.String
        ),
        interaction=pl.col("interaction"),
    )


def _interactions(rng: np.random.Generator, camp: np.ndarray) -> np.ndarray:
    """Draw the interaction type of every touch from its campaign's mix.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    camp : numpy.ndarray
        Campaign index per touch.

    Returns
    -------
    numpy.ndarray
        Interaction names (object array).
    """
    out = np.empty(camp.size, dtype=object)
    for i, c in enumerate(CAMPAIGNS):
        mask = camp == i
        out[mask] = _pick(rng, c.interactions, int(mask.sum()))
    return out.astype(str)


def build_conversions(leads: dict[str, np.ndarray], expansion: pl.DataFrame) -> pl.DataFrame:
    """Build the canonical conversions table, one row per stage reached.

    Parameters
    ----------
    leads : dict of str to numpy.ndarray
        Output of :func:`simulate_funnel`.
    expansion : polars.DataFrame
        Second-deal rows from :func:`simulate_expansion`.

    Returns
    -------
    polars.DataFrame
        The canonical conversions table, ``ts`` as ISO strings.
    """
    owner = np.array(OWNERS)[leads["owner"]]
    frames = []
    for stage in ("lead", "mql", "sql", "opportunity", "closed"):
        t = leads[f"t_{stage}"]
        name = (
            np.where(leads["won"], "closed_won", "closed_lost")
            if stage == "closed"
            else np.full(t.size, stage)
        )
        revenue = np.where(leads["won"], leads["revenue"], 0.0) if stage == "closed" else 0.0
        frames.append(
            pl.DataFrame(
                {
                    "person": leads["person"],
                    "t": t,
                    "stage": name,
                    "revenue": np.broadcast_to(revenue, t.shape).astype(float),
                    "owner": owner,
                    "lead_source": leads["lead_source"],
                }
            )
            .with_columns(
                owner=pl.col("owner") if stage in ("sql", "opportunity", "closed") else None
            )
            .filter(pl.col("t") >= 0)
        )
    frames.append(expansion)
    rows = pl.concat(frames, how="vertical_relaxed")
    order = {"lead": 0, "mql": 1, "sql": 2, "opportunity": 3, "closed_won": 4, "closed_lost": 4}
    rows = rows.sort("t", "person", pl.col("stage").replace_strict(order, return_dtype=pl.Int8))
    return rows.select(
        conversion_id=pl.format("cv{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(5)),
        user_id=pl.format("u{}", (pl.col("person") + 1).cast(pl.String).str.zfill(5)),
        ts=_iso(pl.col("t")),
        stage=pl.col("stage"),
        revenue=pl.col("revenue"),
        owner=pl.col("owner").cast(pl.String),
        lead_source=pl.col("lead_source"),
    )


def build_costs(rng: np.random.Generator, spend: np.ndarray) -> pl.DataFrame:
    """Build the canonical costs table with impressions and clicks.

    Clicks follow spend / CPC with noise, impressions follow clicks / CTR;
    event rows have neither. Days without spend have no row.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    spend : numpy.ndarray
        ``(n_campaigns, N_DAYS)`` daily spend.

    Returns
    -------
    polars.DataFrame
        The canonical costs table, ``date`` as ISO strings.
    """
    ci, di = np.nonzero(spend > 0)
    s = spend[ci, di]
    cpc = np.array([c.cpc for c in CAMPAIGNS])[ci]
    ctr = np.array([c.ctr for c in CAMPAIGNS])[ci]
    has_clicks = cpc > 0
    clicks = rng.poisson(np.where(has_clicks, s / np.where(has_clicks, cpc, 1.0), 0.0))
    clicks = np.round(clicks * rng.lognormal(0.0, 0.08, s.size)).astype(np.int64)
    impressions = np.round(
        np.where(has_clicks, clicks / np.where(has_clicks, ctr, 1.0), 0.0)
        * rng.lognormal(0.0, 0.1, s.size)
    ).astype(np.int64)
    impressions = np.maximum(impressions, clicks)
    days = [(START + timedelta(days=int(d))).isoformat() for d in range(N_DAYS)]
    costs = pl.DataFrame(
        {
            "date": np.array(days)[di],
            "channel": np.array([c.channel for c in CAMPAIGNS])[ci],
            "campaign": np.array([c.name for c in CAMPAIGNS])[ci],
            "spend": s,
            "impressions": pl.Series(impressions).set(pl.Series(~has_clicks), None),
            "clicks": pl.Series(clicks).set(pl.Series(~has_clicks), None),
        }
    )
    return costs.sort("date", "channel", "campaign")


README = """\
# Example data (synthetic)

These files are a **synthetic**, seeded simulation of a B2B software company's
marketing and sales over six months (2025-01-01 to 2025-06-30, UTC). No real
person, company or campaign is in them. They are in closedloop's canonical
tables (see `attribution/schema.py`), so they load as they are.

Regenerate them (deterministic: the same seed writes the same bytes) with

```
python examples/generate.py            # --out examples/data --seed 7 --persons 8000
```

## Files

- `touchpoints.csv`, one row per marketing touch of a person: `touchpoint_id`,
  `user_id`, `ts`, `channel`, `campaign`, `source`, `medium`, `interaction`.
- `conversions.csv`, one row per CRM stage a person reached: `conversion_id`,
  `user_id`, `ts`, `stage`, `revenue`, `owner`, `lead_source`.
- `costs.csv`, one row per day, channel and campaign with spend: `date`,
  `channel`, `campaign`, `spend`, `impressions`, `clicks`.

Timestamps (`ts`) are ISO 8601 UTC with a `Z`; `date` is `YYYY-MM-DD`; money is
in one currency with two decimals. Empty fields are nulls.

## What is in them

- **Channels** (GA4 default channel-group names) and campaigns:
  Paid Search (`brand_search`, `generic_search`, `competitor_search`),
  Paid Social (`linkedin_abm`, `linkedin_lead_gen`, `meta_retargeting`),
  Display (`gdn_prospecting`, `programmatic_abm`),
  Email (`newsletter`, `product_launch_apr`, `nurture_sequence`),
  Events (`webinar_q1`, `webinar_q2`, `saas_summit_2025`),
  and the unpaid Organic Search, Referral and Direct, whose campaign is GA4's
  placeholder `(organic)`, `(referral)`, `(direct)`. Only the first five
  channels have cost rows.
- **Touches** carry plausible `source` / `medium` (`google`/`cpc`,
  `linkedin`/`paid_social`, `newsletter`/`email`, `google`/`organic`,
  `g2.com`/`referral`, `(direct)`/`(none)`, `zoom`/`event` ...) and an
  `interaction`: `click`, `impression`, `email`, `visit`, `form` or `event`.
  A person has 1 to 15 touches over weeks. Ads keep reaching people after
  they become leads, and leads get nurture emails, visits and events until
  sales opens an opportunity.
- **Costs** vary over time: weekly budget changes, campaigns that start,
  pause or end (`meta_retargeting` starts in late January, `programmatic_abm`
  in mid-February, `competitor_search` pauses for three weeks from 19
  February, `linkedin_lead_gen` runs from mid-March to early June,
  `product_launch_apr` from April to early May, `gdn_prospecting` is halved
  from May), monthly webinars and a three-day trade show (6-8 May). The
  touches a paid campaign brings in a week follow a diminishing-returns
  (Hill) curve of that week's spend, so budget planning has a response to
  fit. Event rows have no
  impressions or clicks.
- **Conversions** are CRM stages, each its own row with increasing
  timestamps: `lead` -> `mql` -> `sql` -> `opportunity` -> `closed_won` or
  `closed_lost`. Most persons never become a lead; about two thirds of leads become
  MQLs, and about a third of closed opportunities are won. `revenue` is set on
  `closed_won` rows only (B2B deal sizes, mostly 5k-30k) and 0 elsewhere.
  `owner` (a sales rep) is set from `sql` on; `lead_source` (`Web`, `Event`,
  `Partner`, `Outbound`) on every row. Deals still open on 2025-06-30 simply
  have no later rows. A handful of customers open a second deal
  (`opportunity` -> closed) after their first win.
- **True effects differ by channel**: events, referrals and LinkedIn ABM move
  people most; brand search and direct are where decided buyers arrive; display
  and retargeting do little. So first-touch, last-touch and the data-driven
  models disagree, as they should.
"""


def generate(out: Path, seed: int = 7, n_persons: int = 8000) -> dict[str, pl.DataFrame]:
    """Simulate the example and write the CSV files and README to ``out``.

    Parameters
    ----------
    out : pathlib.Path
        Output directory, created if missing.
    seed : int, default 7
        Seed of ``numpy.random.default_rng``.
    n_persons : int, default 8000
        Number of persons.

    Returns
    -------
    dict of str to polars.DataFrame
        The written ``touchpoints``, ``conversions`` and ``costs`` tables.
    """
    rng = np.random.default_rng(seed)
    spend, sends = simulate_spend(rng)
    lam = touch_intensity(spend, sends)
    acq = simulate_touches(rng, lam, n_persons)
    acq["interaction"] = _interactions(rng, acq["campaign"])
    leads, _ = simulate_funnel(rng, acq, n_persons)
    nurture = simulate_nurture(rng, leads)
    exp_touches, exp_rows = simulate_expansion(rng, leads)
    extra = pl.concat([nurture, exp_touches])
    extra = extra.with_columns(
        interaction=pl.Series(_interactions(rng, extra["campaign"].to_numpy()), dtype=pl.String)
    )
    touches = pl.concat(
        [
            pl.DataFrame(acq).with_columns(pl.col("interaction").cast(pl.String)),
            extra,
        ],
        how="vertical_relaxed",
    )
    tables = {
        "touchpoints": build_touchpoints(rng, touches),
        "conversions": build_conversions(leads, exp_rows),
        # Budgets are set for REFERENCE_PERSONS; scale them with the audience.
        "costs": build_costs(rng, np.round(spend * n_persons / REFERENCE_PERSONS, 2)),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_csv(out / f"{name}.csv", float_precision=2)
    (out / "README.md").write_text(README, encoding="utf-8")
    return tables


def summarise(tables: dict[str, pl.DataFrame]) -> str:
    """Return a short text summary of the generated tables.

    Parameters
    ----------
    tables : dict of str to polars.DataFrame
        Output of :func:`generate`.

    Returns
    -------
    str
        Persons, touches, conversions per stage, closed-won revenue, spend
        and blended ROAS.
    """
    tp, cv, co = tables["touchpoints"], tables["conversions"], tables["costs"]
    per_person = tp.group_by("user_id").len()["len"].to_list()
    stages = cv.group_by("stage").len()
    counts = dict(zip(stages["stage"], stages["len"], strict=True))
    order = ("lead", "mql", "sql", "opportunity", "closed_won", "closed_lost")
    revenue = float(cv["revenue"].sum())
    spend = float(co["spend"].sum())
    lines = [
        f"persons       {tp['user_id'].n_unique():>12,}",
        f"touches       {tp.height:>12,}  ({min(per_person)}-{max(per_person)} per person)",
        "conversions   " + ", ".join(f"{s} {counts.get(s, 0):,}" for s in order),
        f"won revenue   {revenue:>12,.2f}",
        f"total spend   {spend:>12,.2f}",
        f"blended ROAS  {revenue / spend:>12.2f}x",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, write the example data and print a summary.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments; ``sys.argv[1:]`` when None.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: examples/data)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--persons", type=int, default=8000, help="number of persons")
    args = parser.parse_args(argv)
    if args.persons < 1:
        parser.error("--persons must be at least 1")
    tables = generate(args.out, seed=args.seed, n_persons=args.persons)
    print(f"wrote {', '.join(f'{n}.csv' for n in tables)} and README.md to {args.out}")
    print(summarise(tables))


if __name__ == "__main__":
    main()
