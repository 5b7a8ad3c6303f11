"""Column names and polars dtypes of the canonical tables, defined once.

Every module imports column names from here. The canonical tables are the
contract between ``ingest/`` (which produces them from what users have) and
``attribution/`` (which computes on them); see ``DESIGN.md``.

Timestamps are UTC ``Datetime("us", "UTC")``, money is ``Float64`` in the one
reporting currency of a store, ids are strings.
"""

from __future__ import annotations

import polars as pl

UTC_DATETIME = pl.Datetime("us", "UTC")

TOUCHPOINTS = pl.Schema(
    {
        "touchpoint_id": pl.String(),
        "user_id": pl.String(),
        "ts": UTC_DATETIME,
        "channel": pl.String(),
        "campaign": pl.String(),
        "source": pl.String(),
        "medium": pl.String(),
        "interaction": pl.String(),
    }
)
"""Marketing touches: one row per ad click, visit, email, call, form ..."""

TOUCHPOINTS_REQUIRED = ("touchpoint_id", "user_id", "ts", "channel")

CONVERSIONS = pl.Schema(
    {
        "conversion_id": pl.String(),
        "user_id": pl.String(),
        "ts": UTC_DATETIME,
        "stage": pl.String(),
        "revenue": pl.Float64(),
        "owner": pl.String(),
        "lead_source": pl.String(),
        "account_id": pl.String(),
        "pipeline": pl.Float64(),
    }
)
"""Conversions at any funnel stage (lead, mql, sql, opportunity, closed_won, purchase, ...).

``account_id`` (optional) is the account (B2B company) the converting person
belongs to: Salesforce ``AccountId``, a HubSpot deal's associated company. It
links the person to the account for account journeys (``--journey account``).
``pipeline`` is the amount an opportunity is worth while it is open
(Salesforce ``Amount``, HubSpot ``amount``); null where unknown.
"""

CONVERSIONS_REQUIRED = ("conversion_id", "user_id", "ts", "stage")

PIPELINE_STAGE = "opportunity"
"""The stage whose conversions are valued by their ``pipeline`` amount, not their revenue."""


def amount_column(stage: str | None) -> str:
    """Return the conversions column that holds what a conversion of ``stage`` is worth.

    ``pipeline`` for :data:`PIPELINE_STAGE` (an opportunity's amount is
    pipeline, not revenue yet), ``revenue`` for every other stage.

    Examples
    --------
    >>> amount_column("opportunity"), amount_column("closed_won"), amount_column(None)
    ('pipeline', 'revenue', 'revenue')
    """
    return "pipeline" if stage == PIPELINE_STAGE else "revenue"


COSTS = pl.Schema(
    {
        "date": pl.Date(),
        "channel": pl.String(),
        "campaign": pl.String(),
        "spend": pl.Float64(),
        "impressions": pl.Int64(),
        "clicks": pl.Int64(),
    }
)
"""Daily ad spend per channel and campaign."""

COSTS_REQUIRED = ("date", "channel", "spend")

IDENTITIES = pl.Schema({"anonymous_id": pl.String(), "user_id": pl.String()})
"""Pairs of identifiers that belong to the same person."""

IDENTITIES_REQUIRED = ("anonymous_id", "user_id")

ACCOUNTS = pl.Schema({"user_id": pl.String(), "account_id": pl.String()})
"""Which account (B2B company) a person belongs to: one row per (person id, account id)."""

ACCOUNTS_REQUIRED = ("user_id", "account_id")

LIFT_TESTS = pl.Schema(
    {
        "channel": pl.String(),
        "campaign": pl.String(),
        "start": pl.Date(),
        "end": pl.Date(),
        "incremental_revenue": pl.Float64(),
        "incremental_conversions": pl.Float64(),
        "lower": pl.Float64(),
        "upper": pl.Float64(),
    }
)
"""Lift-test (experiment) results: what a channel really added over a test period.

One row per test: the ``channel`` (and optionally the ``campaign``) tested
from ``start`` to ``end`` (inclusive days), and exactly one of
``incremental_revenue`` or ``incremental_conversions`` with, optionally, the
``lower`` and ``upper`` bounds of its interval. Attribution and response
curves are calibrated to them (see :mod:`attribution.calibration`).
"""

LIFT_TESTS_REQUIRED = ("channel", "start", "end")

LIFT_TEST_MEASURES = ("incremental_revenue", "incremental_conversions")
"""The columns of which a lift test gives exactly one."""

TABLES: dict[str, pl.Schema] = {
    "touchpoints": TOUCHPOINTS,
    "conversions": CONVERSIONS,
    "costs": COSTS,
    "identities": IDENTITIES,
    "accounts": ACCOUNTS,
    "lift_tests": LIFT_TESTS,
}
"""Every canonical table by name."""

REQUIRED: dict[str, tuple[str, ...]] = {
    "touchpoints": TOUCHPOINTS_REQUIRED,
    "conversions": CONVERSIONS_REQUIRED,
    "costs": COSTS_REQUIRED,
    "identities": IDENTITIES_REQUIRED,
    "accounts": ACCOUNTS_REQUIRED,
    "lift_tests": LIFT_TESTS_REQUIRED,
}
"""Required columns of every canonical table."""

KEYS: dict[str, tuple[str, ...]] = {
    "touchpoints": ("touchpoint_id",),
    "conversions": ("conversion_id",),
    "costs": ("date", "channel", "campaign"),
    "identities": ("anonymous_id", "user_id"),
    "accounts": ("user_id", "account_id"),
    "lift_tests": ("channel", "campaign", "start", "end"),
}
"""The key of every canonical table: re-ingesting a row with the same key updates it."""

JOURNEY_TOUCHES = pl.Schema(
    {
        "journey_id": pl.String(),
        "user_id": pl.String(),
        "converted": pl.Boolean(),
        "conversion_ts": UTC_DATETIME,
        "revenue": pl.Float64(),
        "touchpoint_id": pl.String(),
        "ts": UTC_DATETIME,
        "channel": pl.String(),
        "campaign": pl.String(),
        "position": pl.UInt32(),
        "n_touches": pl.UInt32(),
        "count": pl.Float64(),
    }
)
"""One row per touch of a journey, in time order (see :func:`attribution.build_journeys`).

``count`` is how many identical journeys the row stands for: 1 for journeys
built from events, the path's conversions or non-conversions for journeys
built from aggregated paths, and a resampling weight in the bootstrap.

``journey_id`` is the conversion id of a converting journey, and
``"~" + user_id`` for the non-converting journey of a person. ``position`` is
0-based; ``conversion_ts`` and ``revenue`` are null / 0 on non-converting
journeys.
"""

CREDITS = pl.Schema(
    {
        "journey_id": pl.String(),
        "touchpoint_id": pl.String(),
        "weight": pl.Float64(),
        "revenue_weight": pl.Float64(),
    }
)
"""Model output: the share of one conversion credited to one of its touches.

``weight`` shares out the conversion, ``revenue_weight`` its revenue; they are
equal for every model except those whose conversion and value credit differ
(Markov credits value by the value removal effect). The weights of one
converting journey sum to 1 (see :class:`attribution.models.markov.Markov`
for the one documented exception).
"""

PATHS = pl.Schema(
    {
        "path": pl.List(pl.String()),
        "conversions": pl.Float64(),
        "revenue": pl.Float64(),
        "nulls": pl.Float64(),
    }
)
"""Journeys rolled up to their path: identical channel sequences counted once."""
