"""Account journeys (``--journey account``): a deal is credited across its buying group.

Hand-worked case: Ana and Bo are contacts of Acme. Ana clicked a Search ad
(1 March) and an Email (2 March), Bo attended a Webinar (3 March); Acme's
deal (900, recorded on Ana, ``account_id`` acme) closed on 10 March. Bo is
linked to Acme by the ``accounts`` table only.

- person journeys: the deal is Ana's: linear gives Search 450, Email 450;
- account journeys: Acme's journey holds all three touches: 300 each, sum 900,
  one conversion (the deal), not one per contact.

The same answers come from frames in memory (polars), from the store (the
DuckDB engine), over HTTP, from the CLI, and on random cases DuckDB = polars.
The CRM sample exports (examples/sources) are worked by hand at the end.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from api.cli import main as cli
from api.http.app import create_app
from api.http.settings import Settings
from api.services import AttributionQuery, FunnelQuery, Services
from ingest import Store, ingest_adapter, ingest_files
from tests.engine.test_engine_paths import _case

from .conftest import TestClient, check_problem, with_key

SOURCES = Path(__file__).resolve().parents[2] / "examples" / "sources"

TOUCHES = """\
touchpoint_id,user_id,ts,channel
t1,ana,2024-03-01T09:00:00Z,Search
t2,ana,2024-03-02T09:00:00Z,Email
t3,bo,2024-03-03T09:00:00Z,Webinar
"""
SALES = """\
conversion_id,user_id,ts,stage,revenue,account_id
d1,ana,2024-03-10T00:00:00Z,closed_won,900,acme
"""
ACCOUNTS = """\
user_id,account_id
bo,acme
"""


def write_case(folder: Path) -> dict[str, Path]:
    files = {}
    for table, text in (("touchpoints", TOUCHES), ("conversions", SALES), ("accounts", ACCOUNTS)):
        files[table] = folder / f"{table}.csv"
        files[table].write_text(text)
    return files


@pytest.fixture
def case_store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "acme.duckdb")
    for table, path in write_case(tmp_path).items():
        ingest_files(store, table, [path])
    return store


def revenue_by_channel(services: Services, **fields: Any) -> dict[str, float]:
    data = services.attribution(AttributionQuery.create(**fields)).to_dict()
    return {row["channel"]: row["revenue"] for row in data["data"]}


def test_person_journey_credits_only_the_deal_contact(case_store: Store) -> None:
    services = Services.for_store(case_store)
    assert revenue_by_channel(services, model="linear") == {"Search": 450.0, "Email": 450.0}


@pytest.mark.parametrize("model", ["linear", "markov", "first_touch"])
def test_account_journey_credits_the_buying_group(case_store: Store, model: str) -> None:
    result = Services.for_store(case_store).attribution(
        AttributionQuery.create(model, journey="account")
    )
    body = result.to_dict()
    expected = {
        "linear": {"Search": 300.0, "Email": 300.0, "Webinar": 300.0},
        # One converting path and no non-converting journey: every touch is essential.
        "markov": {"Search": 300.0, "Email": 300.0, "Webinar": 300.0},
        "first_touch": {"Search": 900.0, "Email": 0.0, "Webinar": 0.0},
    }[model]
    got = {row["channel"]: row["revenue"] for row in body["data"]}
    assert got == pytest.approx(expected)
    assert body["totals"]["revenue"] == pytest.approx(900.0)
    assert body["totals"]["conversions"] == pytest.approx(1.0)  # the deal, once
    assert body["identity"]["journey"] == "account"
    assert body["identity"]["accounts"]["accounts"] == 1
    assert body["identity"]["accounts"]["linked_persons"] == 2


def test_frames_give_what_the_store_gives(tmp_path: Path, case_store: Store) -> None:
    files = write_case(tmp_path)
    frames = {t: case_store.read(t) for t in ("touchpoints", "conversions", "accounts")}
    services = Services.for_frames(
        frames["touchpoints"], frames["conversions"], accounts=frames["accounts"]
    )
    assert files  # the store was filled from these files
    for model in ("linear", "time_decay"):
        assert revenue_by_channel(services, model=model, journey="account") == pytest.approx(
            revenue_by_channel(Services.for_store(case_store), model=model, journey="account")
        )


def test_the_funnel_counts_accounts(case_store: Store) -> None:
    """By person, Bo is a Webinar prospect who never won; by account he is part of Acme."""

    def rows(journey: str) -> list[tuple[str, int]]:
        query = FunnelQuery(by="channel", journey=journey)
        data = Services.for_store(case_store).funnel(query).to_dict()["data"]
        return [(row["channel"], row["won"]) for row in data]

    assert rows("person") == [("Search", 1), ("Webinar", 0)]
    assert rows("account") == [("Search", 1)]


@pytest.mark.parametrize("seed", [1, 6, 11])
def test_duckdb_equals_polars_on_random_accounts(tmp_path: Path, seed: int) -> None:
    case = _case(seed)
    users = sorted(set(case.touches["user_id"]) | set(case.sales["user_id"]))
    # Every third person belongs to one of two accounts; a deal carries one more link.
    links = pl.DataFrame(
        {"user_id": users[::3], "account_id": [f"acc{i % 2}" for i in range(len(users[::3]))]}
    )
    sales = case.sales.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("acc1")).alias("account_id")
    )
    store = Store(tmp_path / "random.duckdb")
    touches = case.touches.with_columns(
        pl.lit(None, pl.String).alias(c) for c in ("source", "medium", "interaction")
    )
    store.upsert_many(
        [
            ("touchpoints", touches),
            ("conversions", sales),
            ("identities", case.pairs),
            ("accounts", links),
        ]
    )
    engine = Services.for_store(store)
    frames = Services.for_frames(
        store.read("touchpoints"),
        store.read("conversions"),
        identities=case.pairs,
        accounts=links,
    )
    period: dict[str, Any] = {
        "stage": "purchase",
        "lookback_days": case.lookback,
        "start": case.start,
        "end": case.end,
        "by": case.by,
        "journey": "account",
    }
    for model in ("linear", "markov", "position_based"):
        duck = engine.attribution(AttributionQuery.create(model, **period)).to_dict()
        polars_ = frames.attribution(AttributionQuery.create(model, **period)).to_dict()
        key = case.by
        assert {r[key]: r["revenue"] for r in duck["data"]} == pytest.approx(
            {r[key]: r["revenue"] for r in polars_["data"]}
        ), model
        assert duck["totals"]["revenue"] == pytest.approx(polars_["totals"]["revenue"])
        assert duck["identity"]["accounts"] == polars_["identity"]["accounts"]


def test_api_journey_parameter(case_store: Store, assert_problem: Any) -> None:
    with TestClient(create_app(Settings(db_path=case_store.path, wait_seconds=0.2))) as client:
        body = client.get("/v1/attribution", params={"model": "linear", "journey": "account"})
        assert body.status_code == 200, body.text
        rows = {r["channel"]: r["revenue"] for r in body.json()["data"]}
        assert rows == {"Search": 300.0, "Email": 300.0, "Webinar": 300.0}
        assert body.json()["identity"]["accounts"]["linked_persons"] == 2
        person = client.get("/v1/attribution", params={"model": "linear"}).json()
        assert "accounts" not in person["identity"]  # person journeys: as before
        funnel = client.get("/v1/funnel", params={"journey": "account"})
        assert funnel.status_code == 200, funnel.text
        bad = client.get("/v1/attribution", params={"model": "linear", "journey": "company"})
        problem = check_problem(bad, 422, "Invalid request")
        assert problem["errors"][0]["field"] == "journey"


def test_cli_files_and_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = write_case(tmp_path)
    args = ["attribute", "--model", "linear", "--format", "json", "--journey", "account"]
    args += ["--touchpoints", str(files["touchpoints"]), "--conversions", str(files["conversions"])]
    assert cli([*args, "--accounts", str(files["accounts"])]) == 0
    body = json.loads(capsys.readouterr().out)
    assert {r["channel"]: r["revenue"] for r in body["data"]} == {
        "Search": 300.0,
        "Email": 300.0,
        "Webinar": 300.0,
    }
    db = str(tmp_path / "cli.duckdb")
    for table in ("touchpoints", "conversions", "accounts"):
        assert cli(["ingest", table, str(files[table]), "--db", db]) == 0
    assert "accounts: 1 row read from 1 file — 1 inserted" in capsys.readouterr().out
    assert cli(["attribute", "--model", "linear", "--db", db, "--journey", "account"]) == 0
    table = capsys.readouterr().out
    assert "journeys: by account: 2 persons linked to 1 account" in table
    assert cli(["funnel", "--db", db, "--journey", "account", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["won"] == 1


def test_cli_refuses_accounts_without_account_journeys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_case(tmp_path)
    code = cli(
        [
            "attribute",
            "--model",
            "linear",
            "--touchpoints",
            str(files["touchpoints"]),
            "--conversions",
            str(files["conversions"]),
            "--accounts",
            str(files["accounts"]),
        ]
    )
    assert code == 2
    assert "--accounts links persons to accounts for --journey account" in capsys.readouterr().err


def test_salesforce_sample_credits_the_acme_buying_group(tmp_path: Path) -> None:
    """Opp01 (Acme, 50,000 won on 15 March), worked by hand.

    Its primary contact Ana (Con01, stitched to her lead 00Q…1) has a Webinar
    (4 January) and an Email (10 February); Eve (Con03, Acme's technical buyer
    on the contact roles) visited the trade-show booth (26 February).
    """
    store = Store(tmp_path / "sf.duckdb")
    ingest_adapter(store, "salesforce", [SOURCES / "salesforce"])
    services = Services.for_store(store)
    won = {"model": "linear", "stage": "closed_won"}
    assert revenue_by_channel(services, **won) == {"Webinar": 25_000.0, "Email": 25_000.0}
    by_account = revenue_by_channel(services, **won, journey="account")
    third = 50_000.0 / 3
    assert by_account == pytest.approx({"Webinar": third, "Email": third, "Events": third})
    # Re-ingesting the same exports changes nothing.
    again = ingest_adapter(store, "salesforce", [SOURCES / "salesforce"])
    assert all(s.inserted == s.updated == 0 for s in again)


def test_hubspot_sample_sources_and_companies(tmp_path: Path) -> None:
    """Deals 9001 (Acme 5001, 12,000 on 15 March) and 9003 (Gamma 5003, 30,000 on 1 April).

    Touches are the contacts' original and latest sources: 101 Paid Search
    (2 January) and Email (latest, 20 February); 103 Organic Social (1 February,
    its create date: no "Time First Seen"); 104 Paid Social (12 February) and
    Referral (latest, 10 March). 9003's contacts are 103 and 104.
    """
    store = Store(tmp_path / "hs.duckdb")
    ingest_adapter(store, "hubspot", [SOURCES / "hubspot"])
    services = Services.for_store(store)
    won = {"model": "linear", "stage": "closed_won"}
    # By person, 9003 is 103's only (the deal's first contact).
    assert revenue_by_channel(services, **won) == {
        "Paid Search": 6_000.0,
        "Email": 6_000.0,
        "Organic Social": 30_000.0,
    }
    assert revenue_by_channel(services, **won, journey="account") == {
        "Paid Search": 6_000.0,
        "Email": 6_000.0,
        "Organic Social": 10_000.0,
        "Paid Social": 10_000.0,
        "Referral": 10_000.0,
    }
    again = ingest_adapter(store, "hubspot", [SOURCES / "hubspot"])
    assert all(s.inserted == s.updated == 0 for s in again)
    assert store.counts()["touchpoints"] == 6


def test_an_account_journey_period_reads_the_whole_store(case_store: Store) -> None:
    """A period that starts after Bo's link was made still keys Bo by Acme."""
    services = Services.for_store(case_store)
    got = revenue_by_channel(services, model="linear", journey="account", start=dt.date(2024, 3, 5))
    assert got == {"Search": 300.0, "Email": 300.0, "Webinar": 300.0}


REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the public test datasets are not here ({REAL})")
def test_olist_sellers_are_accounts_of_one_lead(tmp_path: Path) -> None:
    """Olist's 842 closed deals each name their seller: 842 sellers, one lead each.

    So account journeys change nothing there: the same credit as by person,
    and 842 persons linked to 842 accounts.
    """
    store = Store(tmp_path / "olist.duckdb")
    ingest_adapter(store, "olist", [REAL / "olist_marketing_funnel"], currency="BRL")
    services = Services.for_store(store)
    won = {"model": "linear", "stage": "closed_won"}
    by_person = revenue_by_channel(services, **won)
    assert revenue_by_channel(services, **won, journey="account") == by_person
    query = AttributionQuery.create("linear", stage="closed_won", journey="account")
    accounts = services.attribution(query).to_dict()["identity"]["accounts"]
    assert (accounts["accounts"], accounts["linked_persons"]) == (842, 842)


def test_accounts_ingest_over_http_and_ignored_rows(
    case_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(Settings(db_path=case_store.path, wait_seconds=0.2))) as client:
        with_key(client, case_store.path)
        rows = [{"user_id": "cy", "account_id": "acme"}, {"user_id": "bo", "account_id": "acme"}]
        response = client.post("/v1/ingest/accounts", json=rows)
        assert response.status_code == 200, response.text
        assert (response.json()["inserted"], response.json()["unchanged"]) == (1, 1)
    path = tmp_path / "links.csv"
    path.write_text("user_id,account_id\ndee,beta\neve,\n")
    assert cli(["ingest", "accounts", str(path), "--db", str(case_store.path)]) == 0
    captured = capsys.readouterr()
    assert "1 row without both user_id and account_id ignored" in captured.err
    path.write_text("user_id,account_id\neve,\n")
    assert cli(["ingest", "accounts", str(path), "--db", str(case_store.path)]) == 2
    assert "no row has both a user_id and an account_id" in capsys.readouterr().err


def test_budget_curves_take_the_journey(case_store: Store) -> None:
    from api.services import CurvesQuery

    assert CurvesQuery(journey="account").window.journey == "account"
    with TestClient(create_app(Settings(db_path=case_store.path, wait_seconds=0.2))) as client:
        bad = client.get("/v1/budget/curves", params={"journey": "household"})
        problem = check_problem(bad, 422, "Invalid request")
        assert problem["errors"][0]["field"] == "journey"


def test_markov_explain_takes_the_journey(case_store: Store) -> None:
    """By account the one converting path is Search > Email > Webinar; by person Search > Email."""
    with TestClient(create_app(Settings(db_path=case_store.path, wait_seconds=0.2))) as client:
        person = client.get("/v1/models/markov/explain").json()
        account = client.get("/v1/models/markov/explain", params={"journey": "account"}).json()

    def revenue(body: dict[str, Any]) -> dict[str, float]:
        return {r["channel"]: r["revenue"] for r in body["removal_effects"] if r["revenue"]}

    assert revenue(person) == pytest.approx({"Search": 450.0, "Email": 450.0})
    assert revenue(account) == pytest.approx({"Search": 300.0, "Email": 300.0, "Webinar": 300.0})
