"""Lead and pipeline attribution: stage-named columns, stage values, media metrics, CAC.

Every expected number is worked by hand from the fixtures' few rows.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.services import AttributionQuery, Services
from attribution import attribute
from attribution.errors import ParameterError
from attribution.metrics import MEDIA_COLUMNS, parse_stage_values, stage_columns
from ingest import Store, ingest_frame

D = dt.datetime(2024, 3, 10, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def touchpoints() -> pl.DataFrame:
    """a: Search; b: Search then Social; c: Social; d: Email (no conversion at all)."""
    return pl.DataFrame(
        {
            "touchpoint_id": ["a1", "b1", "b2", "c1", "d1"],
            "user_id": ["a", "b", "b", "c", "d"],
            "ts": [D - 5 * DAY, D - 5 * DAY, D - 4 * DAY, D - 5 * DAY, D - 5 * DAY],
            "channel": ["Search", "Search", "Social", "Social", "Email"],
            "campaign": ["brand", "brand", "spring", "spring", None],
        }
    )


@pytest.fixture
def conversions() -> pl.DataFrame:
    """Leads a, b, c; MQL b; opportunities a (1,000) and b (500); a wins 800."""
    return pl.DataFrame(
        {
            "conversion_id": ["la", "lb", "lc", "mb", "oa", "ob", "wa"],
            "user_id": ["a", "b", "c", "b", "a", "b", "a"],
            "ts": [D - 3 * DAY, D - 3 * DAY, D - 3 * DAY, D - 2 * DAY, D - DAY, D - DAY, D],
            "stage": ["lead", "lead", "lead", "mql", "opportunity", "opportunity", "closed_won"],
            "revenue": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 800.0],
            "pipeline": [None, None, None, None, 1_000.0, 500.0, None],
        }
    )


@pytest.fixture
def costs() -> pl.DataFrame:
    """Search 60 (10,000 impressions, 200 clicks), Social 30 (no counts), sales team 140."""
    return pl.DataFrame(
        {
            "date": [dt.date(2024, 3, 5)] * 4,
            "channel": ["Search", "Social", "Email", "(sales)"],
            "campaign": ["brand", "spring", None, None],
            "spend": [60.0, 30.0, 0.0, 140.0],
            "impressions": [10_000, None, 500, None],
            "clicks": [200, None, 5, None],
        }
    )


def rows(report: Any) -> dict[str, dict[str, Any]]:
    return {row.pop(report.by): row for row in report.data.to_dicts()}


def test_lead_stage_reports_cpl_and_no_roas(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="linear", stage="lead")
    assert report.data.columns == ["channel", *stage_columns("lead").columns]
    assert report.data.columns[1:7] == ["conversions", "value", "spend", "roas", "roi", "cpl"]
    by = rows(report)
    # Linear leads: a → Search 1; b → Search ½, Social ½; c → Social 1.
    assert by["Search"]["conversions"] == pytest.approx(1.5)
    assert by["Search"]["cpl"] == pytest.approx(60.0 / 1.5)
    assert by["Social"]["cpl"] == pytest.approx(30.0 / 1.5)
    for row in by.values():
        assert row["value"] is None
        assert row["roas"] is None
        assert row["roi"] is None
    assert by["Email"]["spend"] == 0.0
    assert by["Email"]["cpl"] is None  # nothing paid: no cost per lead
    assert report.totals["cpl"] == pytest.approx(90.0 / 3)
    assert report.totals["roas"] is None
    assert report.totals["cac"] is None
    assert "cpl = spend per attributed lead" in report.to_table()


def test_stage_values_give_a_value_based_roas(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(
        touchpoints, conversions, costs, model="linear", stage="lead", stage_values={"lead": 50.0}
    )
    by = rows(report)
    assert by["Search"]["value"] == pytest.approx(75.0)  # 1.5 leads × 50
    assert by["Search"]["roas"] == pytest.approx(75.0 / 60.0)
    assert by["Search"]["roi"] == pytest.approx((75.0 - 60.0) / 60.0)
    assert report.totals["value"] == pytest.approx(150.0)
    assert report.to_dict()["stage_values"] == {"lead": 50.0}


@pytest.mark.parametrize(
    ("stage", "cost"), [("mql", "cost_per_mql"), ("sql", "cost_per_sql"), ("lead", "cpl")]
)
def test_cost_column_is_named_for_the_stage(stage: str, cost: str) -> None:
    assert stage_columns(stage).cost == cost
    assert stage_columns(stage).value == "value"


def test_mql_stage(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="last_touch", stage="mql")
    by = rows(report)
    assert by["Social"]["conversions"] == 1.0  # b's last touch before the MQL
    assert by["Social"]["cost_per_mql"] == 30.0
    assert by["Search"]["cost_per_mql"] is None  # 60 spent, no MQL: not infinite


def test_opportunity_stage_attributes_pipeline(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="linear", stage="opportunity")
    cols = report.data.columns
    assert cols[1:7] == ["conversions", "pipeline", "spend", "roas", "roi", "cost_per_opportunity"]
    by = rows(report)
    # a's 1,000 all to Search; b's 500 halved between Search and Social.
    assert by["Search"]["pipeline"] == pytest.approx(1_250.0)
    assert by["Social"]["pipeline"] == pytest.approx(250.0)
    assert report.totals["pipeline"] == pytest.approx(1_500.0)  # sums to the open pipeline
    assert by["Search"]["roas"] == pytest.approx(1_250.0 / 60.0)
    assert by["Search"]["cost_per_opportunity"] == pytest.approx(60.0 / 1.5)


def test_customer_stage_keeps_revenue_and_cpa(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="linear", stage="closed_won")
    by = rows(report)
    assert by["Search"]["revenue"] == 800.0
    assert by["Search"]["cpa"] == 60.0
    assert by["Social"]["roas"] == 0.0
    assert by["Social"]["roi"] == -1.0


def test_media_metrics_where_counts_are_known(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="linear", stage="closed_won")
    by = rows(report)
    assert by["Search"]["impressions"] == 10_000
    assert by["Search"]["clicks"] == 200
    assert by["Search"]["ctr"] == pytest.approx(0.02)
    assert by["Search"]["cpc"] == pytest.approx(0.30)
    assert by["Search"]["cpm"] == pytest.approx(6.0)
    assert all(by["Social"][c] is None for c in MEDIA_COLUMNS)  # no counts exported
    assert by["Email"]["ctr"] == pytest.approx(0.01)
    assert by["Email"]["cpc"] is None
    assert by["Email"]["cpm"] is None
    assert report.totals["impressions"] is None  # Social's are unknown: no partial total
    by_campaign = rows(
        attribute(touchpoints, conversions, costs, model="linear", stage="lead", by="campaign")
    )
    assert by_campaign["brand"]["cpm"] == pytest.approx(6.0)


def test_sales_costs_count_in_cac_only(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="linear", stage="closed_won")
    assert "(sales)" not in rows(report)
    assert report.totals["spend"] == 90.0  # media only
    assert report.totals["other_costs"] == 140.0
    assert report.totals["cac"] == pytest.approx((90.0 + 140.0) / 1.0)
    assert "non-media costs 140.00 (channel (sales)): in CAC only; CAC 230.00" in report.to_table()


def test_without_costs_every_cost_metric_is_null(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, model="linear", stage="lead")
    for row in rows(report).values():
        assert row["spend"] is None
        assert row["cpl"] is None
        assert row["ctr"] is None
    assert report.totals["other_costs"] is None
    assert report.totals["cac"] is None


def test_stage_values_are_checked() -> None:
    assert parse_stage_values(" lead = 50 ,mql=200") == {"lead": 50.0, "mql": 200.0}
    with pytest.raises(ParameterError, match="opportunity carries its pipeline amount"):
        parse_stage_values({"opportunity": 10.0})
    with pytest.raises(ParameterError, match=r"'lead=-5' is not a number ≥ 0"):
        parse_stage_values("lead=-5")
    with pytest.raises(ParameterError, match="is not stage=value"):
        parse_stage_values("lead50")


@settings(max_examples=25, deadline=None)
@given(
    amounts=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=2, max_size=2),
    stage_value=st.floats(0, 1e4, allow_nan=False),
)
def test_pipeline_and_value_sum_to_what_was_closed(
    amounts: list[float], stage_value: float
) -> None:
    tp = pl.DataFrame(
        {
            "touchpoint_id": ["1", "2", "3"],
            "user_id": ["a", "a", "b"],
            "ts": [D - 2 * DAY, D - DAY, D - DAY],
            "channel": ["X", "Y", "Y"],
        }
    )
    cv = pl.DataFrame(
        {
            "conversion_id": ["oa", "ob", "la", "lb"],
            "user_id": ["a", "b", "a", "b"],
            "ts": [D] * 4,
            "stage": ["opportunity", "opportunity", "lead", "lead"],
            "pipeline": [*amounts, None, None],
        }
    )
    pipeline = attribute(tp, cv, model="position_based", stage="opportunity")
    assert pipeline.data["pipeline"].sum() == pytest.approx(sum(amounts), rel=1e-9, abs=1e-9)
    leads = attribute(tp, cv, model="linear", stage="lead", stage_values={"lead": stage_value})
    assert leads.totals["value"] == pytest.approx(2 * stage_value, rel=1e-9, abs=1e-9)


def test_the_store_engine_attributes_the_same_pipeline(
    tmp_path: pathlib.Path,
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame,
) -> None:
    store = Store(tmp_path / "s.duckdb")
    for table, frame in (("touchpoints", touchpoints), ("conversions", conversions)):
        ingest_frame(store, table, frame)
    ingest_frame(store, "costs", costs)
    services = Services.for_store(store)
    for model in ("linear", "markov"):
        query = AttributionQuery.create(model, stage="opportunity", stage_values="lead=50")
        served = services.attribution(query).to_dict()
        local = attribute(touchpoints, conversions, costs, model=model, stage="opportunity")
        assert served["value_column"] == "pipeline"
        assert served["totals"]["pipeline"] == pytest.approx(1_500.0)
        expected = {r["channel"]: r["pipeline"] for r in local.to_dict()["data"]}
        assert {r["channel"]: r["pipeline"] for r in served["data"]} == pytest.approx(expected)


def test_intervals_are_named_for_the_stage(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    common: dict[str, Any] = {"model": "linear", "ci": 0.9, "bootstrap": 20, "seed": 3}
    leads = attribute(
        touchpoints, conversions, costs, stage="lead", stage_values={"lead": 10.0}, **common
    )
    assert leads.data.columns[-6:] == [
        "conversions_low",
        "conversions_high",
        "value_low",
        "value_high",
        "roas_low",
        "roas_high",
    ]
    for row in leads.data.to_dicts():
        assert row["value_low"] == pytest.approx(row["conversions_low"] * 10.0)
    pipeline = attribute(touchpoints, conversions, costs, stage="opportunity", **common)
    assert "pipeline_high" in pipeline.data.columns


def test_the_funnel_counts_sales_costs_in_cac_only(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    from attribution.funnel import funnel

    report = funnel(conversions, touchpoints, costs, by="channel")
    assert report.totals["spend"] == 90.0  # media only
    assert report.totals["cpl"] == pytest.approx(90.0 / 3)  # three leads
    assert report.totals["cac"] == pytest.approx((90.0 + 140.0) / 1)  # one new customer
    assert "(sales)" not in report.data["channel"].to_list()
    email = report.data.filter(pl.col("channel") == "Email").row(0, named=True)
    assert email["cac"] is None  # nothing spent on Email: no cost per customer, not 0
