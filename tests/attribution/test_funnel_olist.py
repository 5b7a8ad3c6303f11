"""The funnel on real data: Olist's marketing funnel (8,000 MQLs, 842 closed deals).

Conversions as ``PROVENANCE.md`` maps them: one ``mql`` row per lead, one
``closed_won`` row per deal (owner = ``sr_id``, lead source = ``origin``).
The lead→won rate per origin is checked against counts made here directly
from the two CSV files.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from attribution.funnel import funnel

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
OLIST = REAL / "olist_marketing_funnel"

pytestmark = pytest.mark.skipif(
    not OLIST.is_dir(), reason=f"real data folder {OLIST} is absent (not shipped with the repo)"
)


@pytest.fixture(scope="module")
def raw() -> tuple[pl.DataFrame, pl.DataFrame]:
    mqls = pl.read_csv(OLIST / "olist_marketing_qualified_leads_dataset.csv")
    deals = pl.read_csv(OLIST / "olist_closed_deals_dataset.csv", infer_schema_length=0)
    return mqls, deals


@pytest.fixture(scope="module")
def conversions(raw: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    mqls, deals = raw
    leads = mqls.select(
        pl.col("mql_id").alias("conversion_id"),
        pl.col("mql_id").alias("user_id"),
        pl.col("first_contact_date").str.to_datetime("%Y-%m-%d", time_zone="UTC").alias("ts"),
        pl.lit("mql").alias("stage"),
        pl.lit(0.0).alias("revenue"),
        pl.lit(None, pl.String).alias("owner"),
        pl.col("origin").alias("lead_source"),
    )
    won = deals.join(mqls.select("mql_id", "origin"), on="mql_id", how="left").select(
        (pl.col("mql_id") + ":won").alias("conversion_id"),
        pl.col("mql_id").alias("user_id"),
        pl.col("won_date").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC").alias("ts"),
        pl.lit("closed_won").alias("stage"),
        pl.col("declared_monthly_revenue").cast(pl.Float64).fill_null(0.0).alias("revenue"),
        pl.col("sr_id").alias("owner"),
        pl.col("origin").alias("lead_source"),
    )
    return pl.concat([leads, won])


def test_lead_to_won_rate_by_origin(
    raw: tuple[pl.DataFrame, pl.DataFrame], conversions: pl.DataFrame
) -> None:
    mqls, deals = raw
    report = funnel(conversions, by="lead_source", stages="mql,closed_won")
    got = {row["lead_source"]: row for row in report.data.to_dicts()}
    expected_leads = dict(mqls.group_by(pl.col("origin").fill_null("(not set)")).len().iter_rows())
    expected_won = dict(
        deals.join(mqls, on="mql_id")
        .group_by(pl.col("origin").fill_null("(not set)"))
        .len()
        .iter_rows()
    )
    assert sorted(got) == sorted(expected_leads)
    for origin, leads in expected_leads.items():
        won = expected_won.get(origin, 0)
        assert got[origin]["mqls"] == leads, origin
        assert got[origin]["customers"] == won, origin
        assert got[origin]["lead_conversion_rate"] == pytest.approx(won / leads), origin
    assert (report.totals["mqls"], report.totals["customers"]) == (8000, 842)
    assert report.totals["lead_conversion_rate"] == pytest.approx(842 / 8000)
    # Every lead that closed was won (Olist ships won deals only): win rate 100%, no loss.
    assert report.totals["lost"] == 0


def test_owners_are_the_sales_reps(conversions: pl.DataFrame) -> None:
    report = funnel(conversions, by="owner", stages="mql,closed_won")
    owners = set(report.data["owner"]) - {"(not set)"}
    assert len(owners) == 22
    assert sum(report.data["customers"]) == 842
