"""HubSpot adapter on the shipped exports (examples/sources/hubspot), worked by hand.

Contacts 101 (lead, mql, sql, opportunity, customer dates), 102 (lead, mql),
103 (lead, as epoch ms). Deals: 9001 default/closedwon 12,000 -> 101;
9002 default/closedlost -> 102; 9003 in a custom pipeline, stage 1234567
(closed, probability 1.0 in deal_stages.csv) 30,000 -> 103 (first of "103;104");
9004 default/contractsent (open) -> 102.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from attribution.errors import InputError
from ingest import Store, ingest_adapter
from ingest.adapters import hubspot

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sources" / "hubspot"


def test_lifecycle_and_deal_stages() -> None:
    conversions = hubspot.load([SAMPLE])["conversions"]
    assert conversions.select("conversion_id", "stage").rows() == [
        ("101:lead", "lead"),
        ("101:mql", "mql"),
        ("101:sql", "sql"),  # 101's opportunity and customer dates: carried by deal 9001
        ("102:lead", "lead"),
        ("102:mql", "mql"),
        ("103:lead", "lead"),
        ("9001:opportunity", "opportunity"),
        ("9002:opportunity", "opportunity"),
        ("9003:opportunity", "opportunity"),
        ("9004:opportunity", "opportunity"),
        ("9001:closed_won", "closed_won"),
        ("9002:closed_lost", "closed_lost"),
        ("9003:closed_won", "closed_won"),
    ]
    won = conversions.filter(conversions["stage"] == "closed_won")
    assert won.select("user_id", "revenue").rows() == [("101", "12000"), ("103", "30000")]


def test_contacts_alone_keep_customer_as_closed_won() -> None:
    conversions = hubspot.load([SAMPLE / "contacts.csv"])["conversions"]
    assert conversions.height == 8
    assert ("101:closed_won", "2024-03-15T00:00:00.000Z") in conversions.select(
        "conversion_id", "ts"
    ).rows()


def test_custom_pipeline_needs_stage_data(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"row 3: no probability / closed flag .* 75e28846"):
        hubspot.load([SAMPLE / "deals.csv"])


def test_ingest_and_identities(store: Store) -> None:
    summaries = ingest_adapter(store, "hubspot", [SAMPLE])
    assert {s.table: s.inserted for s in summaries} == {
        "touchpoints": 6,
        "conversions": 13,
        "identities": 8,
        "accounts": 4,
    }
    conversions = store.read("conversions")
    # Epoch milliseconds (legacy v1 export) parsed as UTC.
    lead_103 = conversions.filter(conversions["conversion_id"] == "103:lead")["ts"]
    assert lead_103.dt.strftime("%Y-%m-%dT%H:%M").to_list() == ["2024-02-01T00:00"]
    assert conversions["revenue"].sum() == 42000.0


def test_original_and_latest_sources_become_touches() -> None:
    touches = hubspot.load([SAMPLE])["touchpoints"]
    assert touches.select("touchpoint_id", "ts", "channel", "medium", "interaction").rows() == [
        (
            "101:original_source",
            "2024-01-02T16:20:00.000Z",
            "Paid Search",
            "paid_search",
            "original_source",
        ),
        ("102:original_source", "2024-01-05T10:55:00.000Z", "Organic Search", "organic_search",
         "original_source"),
        # No "Time First Seen": dated at the contact's create date (epoch ms).
        ("103:original_source", "1706745600000", "Organic Social", "social_media",
         "original_source"),
        ("104:original_source", "2024-02-12T07:45:00.000Z", "Paid Social", "paid_social",
         "original_source"),
        # 102's latest source is its original one at the same instant: no second touch.
        ("101:latest_source:2024-02-20T09:30:00.000Z", "2024-02-20T09:30:00.000Z", "Email",
         "email_marketing", "latest_source"),
        ("104:latest_source:2024-03-10T14:00:00.000Z", "2024-03-10T14:00:00.000Z", "Referral",
         "referrals", "latest_source"),
    ]  # fmt: skip
    conversions = hubspot.load([SAMPLE])["conversions"]
    # lead_source stays the original source.
    assert conversions.filter(conversions["conversion_id"] == "101:lead")[
        "lead_source"
    ].to_list() == ["PAID_SEARCH"]


def test_ui_labels_and_unknown_categories(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "Record ID,Email,Original Source,Time First Seen,Latest Source,Latest Source Timestamp\n"
        "7,a@b.io,Paid search,2024-05-01 10:00,Carrier pigeon,2024-05-03 10:00\n"
    )
    touches = hubspot.load([path])["touchpoints"]
    assert touches.select("touchpoint_id", "channel", "medium").rows() == [
        ("7:original_source", "Paid Search", "paid_search"),
        # Unknown: left to the channel rules at ingest.
        ("7:latest_source:2024-05-03 10:00", None, "carrier_pigeon"),
    ]


def test_companies_link_every_deal_contact() -> None:
    frames = hubspot.load([SAMPLE])
    assert sorted(frames["accounts"].select("user_id", "account_id").rows()) == [
        ("101", "5001"),
        ("102", "5002"),
        ("103", "5003"),
        ("104", "5003"),  # a contact of deal 9003 (and of Gamma in the contacts export)
    ]
    won = frames["conversions"].filter(frames["conversions"]["stage"] == "closed_won")
    assert won.select("conversion_id", "account_id").rows() == [
        ("9001:closed_won", "5001"),
        ("9003:closed_won", "5003"),
    ]


def test_deals_carry_their_amount_as_pipeline(store: Store) -> None:
    ingest_adapter(store, "hubspot", [SAMPLE])
    conversions = store.read("conversions")
    deals = conversions.filter(conversions["stage"] == "opportunity").sort("conversion_id")
    # deals.csv: 9001 amount 12000, 9002 amount 3000.
    amounts = dict(deals.select("conversion_id", "pipeline").rows())
    assert amounts["9001:opportunity"] == 12_000.0
    assert amounts["9002:opportunity"] == 3_000.0
    assert deals["revenue"].sum() == 0.0
