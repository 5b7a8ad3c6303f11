"""Salesforce adapter on the shipped exports (examples/sources/salesforce), worked by hand.

Leads: L1 Ana (converted 2024-01-20 to contact C1 and opportunity O1), L2 Bob
(Status MQL, last modified 2024-01-15 12:00), L3 Cy (open), L4 Dee (converted
2024-02-02 to C2 / O2). O1 is won (IsWon, stage renamed "Signed - Closed Won")
for 50,000 with primary contact C1 (C3 is a non-primary role); O2 is lost
("Lost to competitor", no contact role: its person comes from the converted
lead L4 -> C2); O3 is open with ContactId C3.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from attribution.errors import InputError, MissingColumnsError
from ingest import Store, ingest_adapter
from ingest.adapters import salesforce

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sources" / "salesforce"
L1, L2, L3, L4 = (f"00Q5e00000AbCd{i}EAF" for i in range(1, 5))
C1, C2, C3 = (f"0035e00000Con0{i}AAA" for i in range(1, 4))
O1, O2, O3 = (f"0065e00000Opp0{i}AAA" for i in range(1, 4))


def test_conversions_at_every_stage() -> None:
    conversions = salesforce.load([SAMPLE])["conversions"]
    rows = {
        r[0]: r[1:] for r in conversions.select("conversion_id", "user_id", "ts", "stage").rows()
    }
    assert len(rows) == 12  # 4 leads + 2 converted (sql) + 1 mql + 3 opportunities + won + lost
    assert rows[f"{L1}:sql"] == (L1, "2024-01-20", "sql")
    assert rows[f"{L2}:mql"] == (L2, "2024-01-15T12:00:00.000+0000", "mql")
    assert rows[f"{O1}:opportunity"][0] == C1  # primary contact role, not C3
    assert rows[f"{O2}:closed_lost"] == (C2, "2024-03-01", "closed_lost")  # via lead L4
    assert rows[f"{O3}:opportunity"][0] == C3  # Opportunity.ContactId
    won = conversions.filter(conversions["stage"] == "closed_won")
    assert won.select("conversion_id", "ts", "revenue", "owner", "lead_source").rows() == [
        (f"{O1}:closed_won", "2024-03-15", "50000.00", "0055e000001UsrAAAS", "Web")
    ]


def test_identities_honour_lead_conversion() -> None:
    pairs = set(salesforce.load([SAMPLE])["identities"].select("anonymous_id", "user_id").rows())
    assert {(L1, C1), (L4, C2), (L1, "ana@acme.com"), (C1, "ana@acme.com")} <= pairs
    assert (L2, "bob@beta.io") in pairs  # e-mail lower-cased
    assert {(O1, C1), (O2, C2), (O3, C3)} <= pairs
    assert len(pairs) == 12


def test_campaign_member_touches() -> None:
    touches = salesforce.load([SAMPLE])["touchpoints"]
    assert touches.select("user_id", "ts", "channel", "campaign", "interaction").rows() == [
        (L1, "2024-01-04", "Webinar", "Q1 Webinar: Attribution 101", "responded"),
        (C1, "2024-02-10T07:00:00.000+0000", "Email", "Nurture March", "member"),
        (L2, "2024-01-09", "Events", "SaaStr 2024", "responded"),
        ("0035e00000Con03AAA", "2024-02-26", "Events", "SaaStr 2024", "responded"),
    ]
    responded = salesforce.load([SAMPLE], {"responded_only": "true"})["touchpoints"]
    assert responded.height == 3


def test_status_mapping_is_configurable() -> None:
    options = {"status_stages": "Open - Not Contacted:mql", "converted_stage": ""}
    stages = salesforce.load([SAMPLE], options)["conversions"]
    ids = set(stages["conversion_id"].to_list())
    assert f"{L3}:mql" in ids
    assert f"{L2}:mql" not in ids
    assert f"{L1}:sql" not in ids


def test_explicit_object_files_and_missing_flags(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "Lead.csv", tmp_path / "export_1.csv")
    frames = salesforce.load([f"Lead={tmp_path / 'export_1.csv'}"])
    assert frames["conversions"].height == 7
    (tmp_path / "Opportunity.csv").write_text(
        "Id,StageName,CloseDate,CreatedDate\n006X,Closed Won,2024-01-01,2024-01-01\n"
    )
    with pytest.raises(MissingColumnsError, match="'IsClosed', 'IsWon'"):
        salesforce.load([tmp_path / "Opportunity.csv"])
    with pytest.raises(InputError, match="needs a Lead or an Opportunity"):
        salesforce.load([SAMPLE / "Contact.csv"])


def test_one_transaction_for_all_tables(store: Store) -> None:
    summaries = ingest_adapter(store, "salesforce", [SAMPLE])
    assert {s.table: s.inserted for s in summaries} == {
        "touchpoints": 4,
        "conversions": 12,
        "identities": 12,
        "accounts": 3,
    }
    assert store.read("conversions").filter(store.read("conversions")["stage"] == "closed_won")[
        "revenue"
    ].to_list() == [50000.0]


def test_accounts_from_contacts_and_contact_roles() -> None:
    frames = salesforce.load([SAMPLE])
    assert sorted(frames["accounts"].select("user_id", "account_id").rows()) == [
        ("0035e00000Con01AAA", "0015e00000Acc01AAA"),
        ("0035e00000Con02AAA", "0015e00000Acc02AAA"),
        # Eve: Acme's technical buyer on Opp01's contact roles (and Acme in Contact.csv).
        ("0035e00000Con03AAA", "0015e00000Acc01AAA"),
    ]
    conversions = frames["conversions"].select("conversion_id", "account_id")
    assert dict(conversions.rows())["0065e00000Opp01AAA:closed_won"] == "0015e00000Acc01AAA"
    # A converted lead carries its ConvertedAccountId.
    assert dict(conversions.rows())["00Q5e00000AbCd1EAF:lead"] == "0015e00000Acc01AAA"


def test_contact_roles_alone_link_to_the_opportunity_account(tmp_path: Path) -> None:
    (tmp_path / "Opportunity.csv").write_text(
        "Id,AccountId,IsWon,IsClosed,Amount,CloseDate,CreatedDate\n"
        "006A,001A,true,true,100,2024-03-01,2024-02-01\n"
    )
    (tmp_path / "OpportunityContactRole.csv").write_text(
        "OpportunityId,ContactId,IsPrimary\n006A,003P,true\n006A,003Q,false\n"
    )
    accounts = salesforce.load([tmp_path])["accounts"]
    assert accounts.select("user_id", "account_id").rows() == [("003P", "001A"), ("003Q", "001A")]


def test_opportunities_carry_their_amount_as_pipeline(store: Store) -> None:
    ingest_adapter(store, "salesforce", [SAMPLE])
    conversions = store.read("conversions")
    opportunities = conversions.filter(conversions["stage"] == "opportunity").sort("conversion_id")
    # Opportunity.csv: Amount 50,000.00 (won), 20,000.00 (lost), and the third one's.
    amounts = {r[0]: r[1] for r in opportunities.select("conversion_id", "pipeline").rows()}
    assert amounts[f"{O1}:opportunity"] == 50_000.0
    assert amounts[f"{O2}:opportunity"] == 20_000.0
    assert opportunities["revenue"].to_list() == [0.0, 0.0, 0.0]  # pipeline is not revenue
    closed = conversions.filter(conversions["stage"].is_in(["closed_won", "closed_lost"]))
    assert closed["pipeline"].is_null().all()
