"""The mart's invariants on small random data (Hypothesis): credit and spend add up per period.

Persons touch channels and campaigns over a few weeks and may convert; costs
are random daily rows. Whatever the model and grain, per period the mart's
rows of a model add up to the conversions and revenue closed in that period,
and its spend to the media spend of the period's days.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import build_journeys, get_model
from attribution.mart import GRAINS, MART_SCHEMA, credited_periods, mart_rows, spend_periods
from attribution.timeseries import bucket_start

KEYS = (("Search", "brand"), ("Search", "generic"), ("Email", "news"), ("Email", None))
START = dt.datetime(2024, 2, 26, tzinfo=dt.UTC)  # a Monday, three days before a month ends


@st.composite
def data(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Touchpoints, conversions and costs of up to 6 persons over 40 days."""
    # One person always converts after a touch: there is credit to give.
    touches: list[tuple[str, str, dt.datetime, str, str | None]] = [
        ("t-first", "first", START, "Search", "brand")
    ]
    sales = [("c-first", "first", START + dt.timedelta(hours=1), "purchase", 50.0)]
    costs: list[tuple[dt.date, str, str | None, float]] = []
    for person in range(draw(st.integers(1, 5))):
        for n, hour in enumerate(draw(st.lists(st.integers(0, 40 * 24), min_size=0, max_size=5))):
            channel, campaign = draw(st.sampled_from(KEYS))
            touches.append(
                (
                    f"t{person}-{n}",
                    f"u{person}",
                    START + dt.timedelta(hours=hour),
                    channel,
                    campaign,
                )
            )
        for n, hour in enumerate(draw(st.lists(st.integers(0, 40 * 24), max_size=2))):
            revenue = draw(st.integers(0, 500))
            sales.append(
                (
                    f"c{person}-{n}",
                    f"u{person}",
                    START + dt.timedelta(hours=hour),
                    "purchase",
                    float(revenue),
                )
            )
    for day in draw(st.sets(st.integers(0, 40), max_size=6)):
        channel, campaign = draw(st.sampled_from(KEYS))
        costs.append(
            (
                START.date() + dt.timedelta(days=day),
                channel,
                campaign,
                float(draw(st.integers(0, 100))),
            )
        )
    utc = pl.Datetime("us", "UTC")
    return (
        pl.DataFrame(
            touches,
            orient="row",
            schema={
                "touchpoint_id": pl.String,
                "user_id": pl.String,
                "ts": utc,
                "channel": pl.String,
                "campaign": pl.String,
            },
        ),
        pl.DataFrame(
            sales,
            orient="row",
            schema={
                "conversion_id": pl.String,
                "user_id": pl.String,
                "ts": utc,
                "stage": pl.String,
                "revenue": pl.Float64,
            },
        ),
        pl.DataFrame(
            costs,
            orient="row",
            schema={
                "date": pl.Date,
                "channel": pl.String,
                "campaign": pl.String,
                "spend": pl.Float64,
            },
        ),
    )


@pytest.mark.parametrize("model", ["first_touch", "linear", "time_decay", "position_based"])
@given(sample=data(), grain=st.sampled_from(GRAINS))
def test_each_period_adds_up(
    model: str, sample: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], grain: str
) -> None:
    touchpoints, conversions, costs = sample
    journeys = build_journeys(touchpoints, conversions)
    credited = credited_periods(journeys, get_model(model), grain)
    rows = mart_rows(
        credited, spend_periods(costs, grain), model=model, grain=grain, stage="purchase"
    )
    assert rows.schema == MART_SCHEMA
    assert rows.select("period", "channel", "campaign").is_duplicated().sum() == 0

    mart = rows.group_by("period").agg(
        pl.col("attributed_conversions", "attributed_revenue", "spend").sum()
    )
    closed = conversions.group_by(bucket_start(pl.col("ts").dt.date(), grain).alias("period")).agg(
        pl.len().cast(pl.Float64).alias("conversions"), pl.col("revenue").sum()
    )
    spent = costs.group_by(bucket_start(pl.col("date"), grain).alias("period")).agg(
        pl.col("spend").sum().alias("paid")
    )
    expected = closed.join(spent, on="period", how="full", coalesce=True)
    both = expected.join(mart, on="period", how="full", coalesce=True).fill_null(0.0)
    for row in both.iter_rows(named=True):
        assert math.isclose(row["attributed_conversions"], row["conversions"], abs_tol=1e-9)
        assert math.isclose(row["attributed_revenue"], row["revenue"], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(row["spend"], row["paid"], rel_tol=1e-12, abs_tol=1e-12)
