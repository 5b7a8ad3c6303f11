"""Ad-cost adapters on the shipped exports, with currency checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from attribution.errors import InputError, ValidationFailedError
from ingest import Store, ingest_adapter
from ingest.adapters import ad_costs

SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "sources"


def _rows(frames: dict[str, pl.DataFrame]) -> list[tuple[Any, ...]]:
    return (
        frames["costs"]
        .select("date", "channel", "campaign", "spend", "impressions", "clicks")
        .rows()
    )


def test_google_ads_micros_channel_types_and_segments_summed() -> None:
    assert _rows(ad_costs.load_google_ads([SAMPLES / "google_ads"])) == [
        ("2024-03-01", "Paid Search", "Brand Search", "15.0", "1000", "45"),  # 12.5 + 2.5 (devices)
        ("2024-03-01", "Cross-network", "PMax - Spring", "30.0", "5000", "60"),
        ("2024-03-02", "Paid Video", "YouTube - Demo", "1.234567", "2500", "7"),
    ]


def test_meta_spend_strings() -> None:
    assert _rows(ad_costs.load_meta_ads([SAMPLES / "meta_ads"])) == [
        ("2024-03-01", "Paid Social", "Prospecting - Lookalike", "5339.5", "310224", "4120"),
        ("2024-03-01", "Paid Social", "Retargeting", "120.25", "8021", "211"),
        ("2024-03-02", "Paid Social", "Prospecting - Lookalike", "0.0", "0", "0"),
    ]


def test_linkedin_with_campaign_lookup() -> None:
    frames = ad_costs.load_linkedin_ads([SAMPLES / "linkedin_ads"])
    assert _rows(frames) == [
        ("2024-03-01", "Paid Social", "ABM - Q1 Decision Makers", "250.75", "12000", "85"),
        ("2024-03-02", "Paid Social", "ABM - Q1 Decision Makers", "199.5", "9800", "61"),
        ("2024-03-01", "Paid Social", "Retargeting - Site Visitors", "40.0", "3000", "9"),
    ]
    assert frames["costs"]["currency"].unique().to_list() == ["USD"]


def test_linkedin_without_currency_uses_usd_column(tmp_path: Path) -> None:
    data = json.loads((SAMPLES / "linkedin_ads" / "ad_analytics.json").read_text())
    for element in data["elements"]:
        del element["costInUsd"]
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="--option currency="):
        ad_costs.load_linkedin_ads([tmp_path / "a.json"])
    frames = ad_costs.load_linkedin_ads([tmp_path / "a.json"], {"currency": "eur"})
    assert frames["costs"]["campaign"].to_list() == ["180332114", "180332114", "180332999"]
    assert frames["costs"]["currency"].unique().to_list() == ["EUR"]


def test_microsoft_report_with_title_block_and_footer() -> None:
    assert _rows(ad_costs.load_microsoft_ads([SAMPLES / "microsoft_ads"])) == [
        ("2024-03-01", "Paid Search", "Brand - Exact", "70.0", "1550", "54"),  # 61.20 + 8.80
        ("2024-03-02", "Display", "Audience - Remarketing", "15.0", "22000", "30"),
    ]


def test_currency_mismatch_is_rejected_naming_file_and_row(store: Store, tmp_path: Path) -> None:
    data = json.loads((SAMPLES / "meta_ads" / "insights.json").read_text())
    data["data"][1]["account_currency"] = "EUR"
    (tmp_path / "meta.json").write_text(json.dumps(data))
    with pytest.raises(ValidationFailedError) as caught:
        ingest_adapter(store, "meta_ads", [tmp_path / "meta.json"])
    assert str(caught.value.problems[0]) == (
        "meta.json row 2, field 'currency': currency 'EUR' differs from the store's reporting "
        "currency 'USD'; convert first"
    )
    assert store.counts()["costs"] == 0


def test_a_failed_ingest_with_currency_leaves_the_currency_as_it_was(
    store: Store, tmp_path: Path
) -> None:
    """--currency is written with the rows, in one transaction: a failure changes neither."""
    (tmp_path / "ms.csv").write_text(
        "TimePeriod,CampaignName,Spend,Impressions,Clicks,CurrencyCode\n"
        "2024-03-01,A,1.5,10,1,EUR\n2024-03-02,B,n/a,10,1,EUR\n"
    )
    version = store.data_version()
    with pytest.raises(ValidationFailedError):
        ingest_adapter(store, "microsoft_ads", [tmp_path / "ms.csv"], currency="eur")
    assert store.currency == "USD"
    assert store.data_version() == version
    (tmp_path / "ms.csv").write_text(
        "TimePeriod,CampaignName,Spend,Impressions,Clicks,CurrencyCode\n2024-03-01,A,1.5,10,1,EUR\n"
    )
    ingest_adapter(store, "microsoft_ads", [tmp_path / "ms.csv"], currency="eur")
    assert store.currency == "EUR"
    assert store.counts()["costs"] == 1
    assert store.data_version() == version + 1  # rows and currency: one commit


def test_bad_spend_names_the_source_row(store: Store, tmp_path: Path) -> None:
    (tmp_path / "ms.csv").write_text(
        "TimePeriod,CampaignName,Spend,Impressions,Clicks,CurrencyCode\n"
        "2024-03-01,A,1.5,10,1,USD\n2024-03-02,B,n/a,10,1,USD\n"
    )
    with pytest.raises(ValidationFailedError, match=r"ms.csv row 2, field 'spend'.*'n/a'"):
        ingest_adapter(store, "microsoft_ads", [tmp_path / "ms.csv"])


@pytest.mark.parametrize(
    ("source", "rows", "spend"),
    [
        ("google_ads", 3, 46.234567),
        ("meta_ads", 3, 5459.75),
        ("linkedin_ads", 3, 490.25),
        ("microsoft_ads", 2, 85.0),
    ],
)
def test_ingest_each_platform(store: Store, source: str, rows: int, spend: float) -> None:
    (summary,) = ingest_adapter(store, source, [SAMPLES / source])
    assert (summary.table, summary.inserted) == ("costs", rows)
    assert store.read("costs")["spend"].sum() == pytest.approx(spend)
