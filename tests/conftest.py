"""Shared fixtures, the Hypothesis settings profiles and :func:`require` of the test suite.

``marketing_data`` is a small, realistic, fully deterministic data set: 200
persons touched by 4 channels over half a year, with non-converting persons,
repeat converters, ties in time, conversions with no touch in their lookback
window, a second funnel stage and daily spend (incl. a channel with spend and
no touches).

:func:`require` guards the tests whose dependencies ``make test`` installs
only on a best-effort basis (ChannelAttribution, Chromium): they skip where
the dependency is missing, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, settings

# Deterministic in CI: the same examples on every run, nothing read from or written to
# a local example database. `HYPOTHESIS_PROFILE=dev` explores more, with random seeds.
settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def require(condition: object, reason: str) -> None:
    """Skip the calling test unless ``condition`` holds; under ``CI=true``, fail it instead.

    For dependencies that ``make test`` installs best effort (the
    ChannelAttribution peer, headless Chromium): on a developer's machine a
    missing one skips with ``reason``, in CI (``CI=true``) it must not go
    unnoticed, so the test fails with ``reason``.
    """
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing test dependency fails the run)", pytrace=False)
    pytest.skip(reason)


CHANNELS = ("Paid Search", "Email", "Paid Social", "Display")
"""Channels of the ``marketing_data`` fixture."""

CAMPAIGNS = {
    "Paid Search": ("brand", "generic"),
    "Email": ("newsletter", "nurture"),
    "Paid Social": ("prospecting", "retargeting"),
    "Display": ("awareness",),
}
"""Campaigns of each channel of the ``marketing_data`` fixture."""

SEED = 20240101
N_PERSONS = 200
PERIOD_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
PERIOD_DAYS = 180


@dataclass(frozen=True)
class MarketingData:
    """Canonical touchpoints, conversions (stages ``lead`` and ``purchase``) and costs."""

    touchpoints: pl.DataFrame
    conversions: pl.DataFrame
    costs: pl.DataFrame

    @property
    def purchases(self) -> pl.DataFrame:
        """The conversions of the stage attributed by default."""
        return self.conversions.filter(pl.col("stage") == "purchase")


def make_marketing_data(seed: int = SEED, n_persons: int = N_PERSONS) -> MarketingData:
    """Generate the fixture data set with a seeded numpy generator."""
    rng = np.random.default_rng(seed)
    touch_rows: list[dict[str, object]] = []
    conversion_rows: list[dict[str, object]] = []
    for p in range(n_persons):
        user = f"u{p:03d}"
        n_touches = int(rng.integers(0, 9))
        # Whole hours, so that ties in time happen naturally ...
        hours = np.sort(rng.integers(0, PERIOD_DAYS * 24, size=n_touches))
        # ... and on purpose: every 7th person has two touches at the same instant.
        if p % 7 == 0 and n_touches >= 2:
            hours[1] = hours[0]
        for k, hour in enumerate(hours):
            channel = CHANNELS[int(rng.integers(0, len(CHANNELS)))]
            campaigns = CAMPAIGNS[channel]
            touch_rows.append(
                {
                    "touchpoint_id": f"{user}-t{k}",
                    "user_id": user,
                    "ts": PERIOD_START + dt.timedelta(hours=int(hour)),
                    "channel": channel,
                    "campaign": campaigns[int(rng.integers(0, len(campaigns)))],
                }
            )
        # 0, 1 or 2 purchases; persons with no touch can still buy (untouched conversions).
        n_purchases = int(rng.choice([0, 1, 2], p=[0.45, 0.4, 0.15]))
        if n_touches:
            last = int(hours[-1])
            anchors = [int(hours[n_touches // 2]), last][-n_purchases:] if n_purchases else []
        else:
            anchors = [int(h) for h in rng.integers(0, PERIOD_DAYS * 24, size=n_purchases)]
        for k, anchor in enumerate(sorted(anchors)):
            # Some at the very instant of a touch (tie with the conversion), most later.
            lag = 0 if p % 11 == 0 else int(rng.integers(1, 24 * 10))
            conversion_rows.append(
                {
                    "conversion_id": f"{user}-c{k}",
                    "user_id": user,
                    "ts": PERIOD_START + dt.timedelta(hours=anchor + lag),
                    "stage": "purchase",
                    "revenue": float(np.round(rng.uniform(20, 2000), 2)),
                }
            )
        if n_touches and rng.random() < 0.5:
            conversion_rows.append(
                {
                    "conversion_id": f"{user}-lead",
                    "user_id": user,
                    "ts": PERIOD_START + dt.timedelta(hours=int(hours[0]) + 1),
                    "stage": "lead",
                    "revenue": 0.0,
                }
            )
    # A purchase whose only touch is far outside the 90-day lookback window.
    touch_rows.append(
        {
            "touchpoint_id": "old-t0",
            "user_id": "old",
            "ts": PERIOD_START,
            "channel": "Display",
            "campaign": "awareness",
        }
    )
    conversion_rows.append(
        {
            "conversion_id": "old-c0",
            "user_id": "old",
            "ts": PERIOD_START + dt.timedelta(days=170),
            "stage": "purchase",
            "revenue": 99.0,
        }
    )
    touchpoints = pl.DataFrame(
        touch_rows,
        schema={
            "touchpoint_id": pl.String,
            "user_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "channel": pl.String,
            "campaign": pl.String,
        },
    )
    conversions = pl.DataFrame(
        conversion_rows,
        schema={
            "conversion_id": pl.String,
            "user_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "stage": pl.String,
            "revenue": pl.Float64,
        },
    )
    days = pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 6, 30), eager=True)
    cost_rows = [
        {
            "date": day,
            "channel": channel,
            "campaign": campaign,
            "spend": float(np.round(rng.uniform(0, 50), 2)),
        }
        for day in days
        for channel in (*CHANNELS, "Affiliates")  # Affiliates: spend, never a touch
        for campaign in CAMPAIGNS.get(channel, ("partners",))
    ]
    costs = pl.DataFrame(
        cost_rows,
        schema={"date": pl.Date, "channel": pl.String, "campaign": pl.String, "spend": pl.Float64},
    )
    return MarketingData(touchpoints, conversions, costs)


@pytest.fixture(scope="session")
def marketing_data() -> MarketingData:
    """The deterministic 200-person data set (polars frames are immutable, so shared)."""
    return make_marketing_data()


@pytest.fixture(scope="session")
def touchpoints(marketing_data: MarketingData) -> pl.DataFrame:
    """Touchpoints of ``marketing_data``."""
    return marketing_data.touchpoints


@pytest.fixture(scope="session")
def conversions(marketing_data: MarketingData) -> pl.DataFrame:
    """Conversions of ``marketing_data``: stages ``lead`` and ``purchase`` (the default)."""
    return marketing_data.conversions


@pytest.fixture(scope="session")
def purchases(marketing_data: MarketingData) -> pl.DataFrame:
    """The ``purchase`` conversions of ``marketing_data``: what is attributed by default."""
    return marketing_data.purchases


@pytest.fixture(scope="session")
def costs(marketing_data: MarketingData) -> pl.DataFrame:
    """Daily spend of ``marketing_data``, per channel and campaign."""
    return marketing_data.costs
