"""attribute() and AttributionReport: spend join, metric rows, totals, CSV and JSON output."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from typing import Any

import polars as pl
import pytest

from attribution import (
    MissingColumnsError,
    ParameterError,
    UnknownModelError,
    attribute,
    cpa,
    roas,
    roi,
)
from attribution.export import text_table
from attribution.metrics import MEDIA_COLUMNS
from attribution.report import NO_TOUCHPOINT, NOT_SET, REPORT_COLUMNS

D = dt.datetime(2024, 1, 10, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def touchpoints() -> pl.DataFrame:
    """a: Email then Search, buys 100; b: Search, buys 50; d: Display, never buys."""
    return pl.DataFrame(
        {
            "touchpoint_id": ["a1", "a2", "b1", "d1"],
            "user_id": ["a", "a", "b", "d"],
            "ts": [D - 3 * DAY, D - DAY, D, D],
            "channel": ["Email", "Search", "Search", "Display"],
            "campaign": ["newsletter", "brand", "brand", None],
        }
    )


@pytest.fixture
def conversions() -> pl.DataFrame:
    """c buys 30 with no touch at all: the (no touchpoint) row."""
    return pl.DataFrame(
        {
            "conversion_id": ["ca", "cb", "cc"],
            "user_id": ["a", "b", "c"],
            "ts": [D, D + DAY, D + 2 * DAY],
            "stage": ["purchase"] * 3,
            "revenue": [100.0, 50.0, 30.0],
        }
    )


@pytest.fixture
def costs() -> pl.DataFrame:
    """Email 20, Search 40, Affiliates 5 (spend, never a touch); 1,000 outside Jan 9-12."""
    return pl.DataFrame(
        {
            "date": [
                dt.date(2024, 1, 9),
                dt.date(2024, 1, 10),
                dt.date(2024, 1, 10),
                dt.date(2024, 1, 11),
                dt.date(2024, 1, 11),
                dt.date(2023, 12, 1),
            ],
            "channel": ["Email", "Email", "Search", "Search", "Affiliates", "Search"],
            "campaign": ["newsletter", "newsletter", "brand", "generic", "partners", "brand"],
            "spend": [10.0, 10.0, 15.0, 25.0, 5.0, 1000.0],
        }
    )


JAN_9, JAN_12 = dt.date(2024, 1, 9), dt.date(2024, 1, 12)


def rows_by(report_data: pl.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    """The money columns of every row by key (the media columns are tested apart)."""
    money = report_data.drop(MEDIA_COLUMNS, strict=False)
    return {row.pop(key): row for row in money.to_dicts()}


def test_spend_is_joined_by_channel(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="last_touch", start=JAN_9, end=JAN_12)
    rows = rows_by(report.data, "channel")
    assert rows == {
        "Search": {
            "conversions": 2.0,
            "revenue": 150.0,
            "spend": 40.0,
            "roas": 150.0 / 40.0,
            "roi": 110.0 / 40.0,
            "cpa": 20.0,
        },
        NO_TOUCHPOINT: {
            "conversions": 1.0,
            "revenue": 30.0,
            "spend": None,
            "roas": None,
            "roi": None,
            "cpa": None,
        },
        "Email": {
            "conversions": 0.0,
            "revenue": 0.0,
            "spend": 20.0,
            "roas": 0.0,
            "roi": -1.0,
            "cpa": None,
        },
        "Affiliates": {
            "conversions": 0.0,
            "revenue": 0.0,
            "spend": 5.0,
            "roas": 0.0,
            "roi": -1.0,
            "cpa": None,
        },
    }
    # Sorted by revenue, then name.
    assert report.data["channel"].to_list() == ["Search", NO_TOUCHPOINT, "Affiliates", "Email"]
    assert report.data.columns == ["channel", *REPORT_COLUMNS]


def test_spend_is_joined_by_campaign(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(
        touchpoints,
        conversions,
        costs,
        model="linear",
        by="campaign",
        start=JAN_9,
        end=JAN_12,
    )
    rows = rows_by(report.data.select("campaign", "conversions", "revenue", "spend"), "campaign")
    assert rows == {
        "brand": {"conversions": 1.5, "revenue": 100.0, "spend": 15.0},
        "newsletter": {"conversions": 0.5, "revenue": 50.0, "spend": 20.0},
        "generic": {"conversions": 0.0, "revenue": 0.0, "spend": 25.0},
        "partners": {"conversions": 0.0, "revenue": 0.0, "spend": 5.0},
        NO_TOUCHPOINT: {"conversions": 1.0, "revenue": 30.0, "spend": None},
    }


def test_spend_outside_the_period_is_left_out(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    bounded = attribute(touchpoints, conversions, costs, start=JAN_9, end=JAN_12)
    assert bounded.totals["spend"] == 65.0
    # With no period given, the period is the dates the data covers: all of the spend.
    unbounded = attribute(touchpoints, conversions, costs)
    assert unbounded.totals["spend"] == 1065.0
    assert (unbounded.start, unbounded.end) == (dt.date(2023, 12, 1), dt.date(2024, 1, 12))


def test_rows_with_spend_but_no_credit_are_present(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, costs, model="first_touch")
    rows = rows_by(report.data, "channel")
    assert rows["Affiliates"]["conversions"] == 0.0
    assert rows["Affiliates"]["revenue"] == 0.0
    assert rows["Affiliates"]["spend"] == 5.0
    # Display had a touch, no credit and no spend: nothing to report.
    assert "Display" not in rows


def test_zero_denominator_ratios_are_null_never_infinite(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    costs = pl.DataFrame(
        {"date": [JAN_9, JAN_9], "channel": ["Search", "Email"], "spend": [0.0, 12.0]}
    )
    report = attribute(touchpoints, conversions, costs, model="last_touch")
    rows = rows_by(report.data, "channel")
    assert rows["Search"]["spend"] == 0.0
    assert rows["Search"]["roas"] is None
    assert rows["Search"]["roi"] is None
    assert rows["Search"]["cpa"] is None  # nothing paid: no cost per acquisition, not 0
    assert rows["Email"]["conversions"] == 0.0
    assert rows["Email"]["cpa"] is None
    for column in ("roas", "roi", "cpa"):
        values = report.data[column].drop_nulls()
        assert values.is_finite().all(), column


@pytest.mark.parametrize(
    ("metric", "numerator", "denominator"),
    [
        (roas, 100.0, 0.0),
        (roas, 0.0, 0.0),
        (roas, 100.0, None),
        (roi, -5.0, 0.0),
        (cpa, 12.0, 0.0),
        (cpa, 0.0, 0.0),
    ],
)
def test_metric_with_zero_or_null_denominator_is_null(
    metric: Any, numerator: float, denominator: float | None
) -> None:
    value = pl.select(metric(pl.lit(numerator, pl.Float64), pl.lit(denominator, pl.Float64))).item()
    assert value is None


def test_metric_formulas() -> None:
    assert pl.select(roas(pl.lit(300.0), pl.lit(120.0))).item() == 2.5
    assert pl.select(roi(pl.lit(300.0), pl.lit(120.0))).item() == 1.5
    assert pl.select(cpa(pl.lit(120.0), pl.lit(4.0))).item() == 30.0


def test_without_costs_spend_and_ratios_are_null(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, model="linear")
    for column in ("spend", "roas", "roi", "cpa"):
        assert report.data[column].null_count() == report.data.height, column
        assert report.totals[column] is None, column
    assert report.data.schema["spend"] == pl.Float64


def test_untouched_conversions_are_on_the_no_touchpoint_row(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, model="linear")
    row = report.data.filter(pl.col("channel") == NO_TOUCHPOINT)
    assert row.select("conversions", "revenue").rows() == [(1.0, 30.0)]
    assert report.totals["untouched_conversions"] == 1
    assert report.totals["non_converting_journeys"] == 1


def test_no_untouched_row_when_every_conversion_has_a_touch(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions.filter(pl.col("user_id") != "c"))
    assert NO_TOUCHPOINT not in report.data["channel"].to_list()
    assert report.totals["untouched_conversions"] == 0


def test_touches_without_a_value_are_reported_as_not_set(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    tp = touchpoints.with_columns(
        pl.when(pl.col("touchpoint_id") == "b1")
        .then(None)
        .otherwise(pl.col("campaign"))
        .alias("campaign")
    )
    report = attribute(tp, conversions, model="last_touch", by="campaign")
    rows = rows_by(report.data.select("campaign", "conversions"), "campaign")
    assert rows == {
        "brand": {"conversions": 1.0},
        NOT_SET: {"conversions": 1.0},
        NO_TOUCHPOINT: {"conversions": 1.0},
        "newsletter": {"conversions": 0.0},  # touched, not credited: still a row
    }


@pytest.mark.parametrize("model", ["first_touch", "linear", "time_decay", "position_based"])
@pytest.mark.parametrize("with_costs", [True, False], ids=["costs", "no_costs"])
def test_totals_equal_the_sums_of_the_rows(
    touchpoints: pl.DataFrame,
    conversions: pl.DataFrame,
    costs: pl.DataFrame,
    model: str,
    with_costs: bool,
) -> None:
    report = attribute(touchpoints, conversions, costs if with_costs else None, model=model)
    totals = report.totals
    assert math.isclose(totals["conversions"], report.data["conversions"].sum(), rel_tol=1e-12)
    assert math.isclose(totals["revenue"], report.data["revenue"].sum(), rel_tol=1e-12)
    assert totals["conversions"] == 3.0
    assert totals["revenue"] == 180.0
    if with_costs:
        assert totals["spend"] == report.data["spend"].sum() == 1065.0
        assert totals["roas"] == pytest.approx(180.0 / 1065.0, rel=1e-12)
        assert totals["roi"] == pytest.approx((180.0 - 1065.0) / 1065.0, rel=1e-12)
        assert totals["cpa"] == pytest.approx(1065.0 / 3.0, rel=1e-12)
    else:
        assert totals["spend"] is None


def test_csv_is_rfc_4180_with_crlf(touchpoints: pl.DataFrame, conversions: pl.DataFrame) -> None:
    awkward = 'Paid, "Social"'
    tp = touchpoints.with_columns(pl.col("channel").replace("Email", awkward))
    report = attribute(tp, conversions, model="linear")
    text = report.to_csv()
    assert text.endswith("\r\n")
    lines = text.split("\r\n")
    assert lines[-1] == ""
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert (
        lines[0] == "channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm"
    )
    assert '"Paid, ""Social"""' in text
    parsed = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    assert parsed[0] == ["channel", *REPORT_COLUMNS]
    assert [row[0] for row in parsed[1:]] == report.data["channel"].to_list()
    assert all(len(row) == 1 + len(REPORT_COLUMNS) for row in parsed)
    # Nulls are empty fields.
    assert all(row[3] == "" for row in parsed[1:])


def test_to_dict_is_json_serialisable(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = attribute(
        touchpoints,
        conversions,
        costs,
        model="time_decay",
        params={"half_life_days": "3"},
        start=JAN_9,
        end=JAN_12,
        currency="EUR",
    )
    body = report.to_dict()
    decoded = json.loads(json.dumps(body, allow_nan=False))
    assert decoded == body
    assert {k: body[k] for k in ("model", "params", "by", "stage", "start", "end")} == {
        "model": "time_decay",
        "params": {"half_life_days": 3.0},
        "by": "channel",
        "stage": "purchase",
        "start": "2024-01-09",
        "end": "2024-01-12",
    }
    assert body["currency"] == "EUR"
    assert body["lookback_days"] == 90.0
    assert len(body["data"]) == report.data.height
    assert set(body["totals"]) >= set(REPORT_COLUMNS)


def test_to_table_has_a_total_line(touchpoints: pl.DataFrame, conversions: pl.DataFrame) -> None:
    table = attribute(touchpoints, conversions, model="linear").to_table()
    assert table.startswith("model linear")
    assert "TOTAL" in table
    assert str(attribute(touchpoints, conversions, model="linear")) == table


def test_unknown_model_is_an_error(touchpoints: pl.DataFrame, conversions: pl.DataFrame) -> None:
    with pytest.raises(UnknownModelError) as info:
        attribute(touchpoints, conversions, model="liner")
    assert str(info.value).startswith("Unknown model 'liner'. Available models: ")
    assert str(info.value).endswith(" Did you mean 'linear'?")


def test_unknown_model_parameter_is_an_error(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    with pytest.raises(ParameterError) as info:
        attribute(touchpoints, conversions, model="linear", params={"half_life_days": 3})
    assert str(info.value) == (
        "Unknown parameter(s) for model 'linear': half_life_days. Accepted: none."
    )


def test_reporting_by_a_column_costs_lack_gives_null_spend(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    frame = touchpoints.with_columns(source=pl.Series(["news", "google", "google", "gdn"]))
    report = attribute(frame, conversions, costs, model="last_touch", by="source")
    rows = rows_by(report.data, "source")
    # a's last touch is google (100), b's google (50), c untouched (30).
    assert rows["google"]["revenue"] == 150.0
    for column in ("spend", "roas", "roi", "cpa"):
        assert report.data[column].null_count() == report.data.height, column
    # The period's spend is known even though no row can carry it: 20 + 40 + 5 + 1,000
    # (the default period reaches back to December's spend); Jan 9-12 alone holds 65.
    assert report.totals["spend"] == 1065.0
    january = attribute(
        frame, conversions, costs, model="last_touch", by="source", start=JAN_9, end=JAN_12
    )
    assert january.totals["spend"] == 65.0
    assert january.totals["roas"] == pytest.approx(180.0 / 65.0)
    # Costs given per channel only cannot be split by campaign: null spend, not all of it
    # under "(not set)".
    by_campaign = attribute(
        touchpoints, conversions, costs.drop("campaign"), model="linear", by="campaign"
    )
    assert by_campaign.data["spend"].null_count() == by_campaign.data.height
    assert "—" in by_campaign.to_table()


def test_costs_missing_columns_are_named(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    costs = pl.DataFrame({"day": [JAN_9], "channel": ["Email"], "cost": [1.0]})
    with pytest.raises(MissingColumnsError) as info:
        attribute(touchpoints, conversions, costs)
    assert str(info.value) == (
        "costs is missing required column(s): 'date', 'spend'. Found: 'day', 'channel', 'cost'."
    )


def test_costs_in_other_forms_give_the_same_report(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame
) -> None:
    reference = attribute(touchpoints, conversions, costs).data
    as_strings = costs.with_columns(pl.col("date").cast(pl.String))
    categorical = costs.with_columns(pl.col("channel").cast(pl.Categorical))
    integer_spend = costs.with_columns(pl.col("spend").cast(pl.Int64))
    for variant in (as_strings, categorical, integer_spend):
        assert attribute(touchpoints, conversions, variant).data.equals(reference)


def test_credits_are_kept_on_the_report(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame
) -> None:
    report = attribute(touchpoints, conversions, model="linear")
    credits = report.credits.select("journey_id", "touchpoint_id", "weight", "attributed_revenue")
    assert credits.sort("touchpoint_id").rows() == [
        ("ca", "a1", 0.5, 50.0),
        ("ca", "a2", 0.5, 50.0),
        ("cb", "b1", 1.0, 50.0),
    ]


def test_tables_show_null_numbers_as_a_dash_and_leave_text_alone() -> None:
    frame = pl.DataFrame(
        {"channel": ["null", "Email"], "spend": [None, 2.5], "clicks": [3, None]},
        schema={"channel": pl.String, "spend": pl.Float64, "clicks": pl.Int64},
    )
    rows = [line for line in text_table(frame).splitlines() if "┆" in line][1:]
    cells = [[cell.strip(" │") for cell in row.split("┆")] for row in rows]
    # A channel named "null" is text, shown as it is; missing numbers are "—".
    assert cells == [["null", "—", "3"], ["Email", "2.50", "—"]]
    assert len({len(line) for line in text_table(frame).splitlines()}) == 1  # columns aligned
