"""``GET /v1/attribution`` on stitched persons: the store's identities key journeys by person.

The store, small enough to check by hand:

- cookie-1 clicks Paid Search (Jan 1) and reads an Email (Jan 3), then fills a
  form as lead-1, converted to contact crm-1, who closes 100 on Jan 10;
- crm-2 clicks Social (Jan 4) under its own id and closes 50 on Jan 6;
- identities: cookie-1 ↔ lead-1, lead-1 ↔ crm-1 (a chain of three ids).

Stitched with ``linear``: Paid Search 50, Email 50, Social 50. Raw ids: the
100 of crm-1 has no touch (``(no touchpoint)``), Social 50.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.http.app import create_app
from api.http.settings import Settings
from ingest import Store, ingest_files

with warnings.catch_warnings():
    # As in conftest.py: newer Starlette prefers `httpx2`; the client works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

AssertProblem = Callable[..., dict[str, Any]]

FILES = {
    "touchpoints": """\
touchpoint_id,user_id,ts,channel
t1,cookie-1,2024-01-01T10:00:00Z,Paid Search
t2,cookie-1,2024-01-03T10:00:00Z,Email
t3,crm-2,2024-01-04T10:00:00Z,Social
""",
    "conversions": """\
conversion_id,user_id,ts,stage,revenue
c1,crm-1,2024-01-10T00:00:00Z,closed_won,100
c2,crm-2,2024-01-06T00:00:00Z,closed_won,50
""",
    "identities": """\
anonymous_id,user_id
cookie-1,lead-1
lead-1,crm-1
""",
}


@pytest.fixture(scope="module")
def stitched_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("identity")
    store = Store(folder / "identity.duckdb")
    for table, text in FILES.items():
        path = folder / f"{table}.csv"
        path.write_text(text)
        ingest_files(store, table, [path])
    return store.path


@pytest.fixture
def identity_client(stitched_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_path=stitched_db, wait_seconds=0.2))) as client:
        yield client


def revenue(body: dict[str, Any]) -> dict[str, float]:
    return {row["channel"]: row["revenue"] for row in body["data"] if row["revenue"]}


def test_run_attribution_stitches_identities_by_default(identity_client: TestClient) -> None:
    response = identity_client.get("/v1/attribution?model=linear")
    assert response.status_code == 200, response.text
    body = response.json()
    assert revenue(body) == {"Paid Search": 50.0, "Email": 50.0, "Social": 50.0}
    assert body["identity"] == {
        "stitched": True,
        "ids": 3,
        "persons": 1,
        "merged_ids": 2,
        "oversized_components": 0,
        "unmerged_ids": 0,
        "max_component_size": 1000,
        "note": None,
        "touchpoints_remapped": 0,
        "conversions_remapped": 1,
    }


def test_run_attribution_without_stitching_uses_raw_ids(identity_client: TestClient) -> None:
    body = identity_client.get("/v1/attribution?model=linear&stitch=false").json()
    assert revenue(body) == {"(no touchpoint)": 100.0, "Social": 50.0}
    assert body["identity"]["stitched"] is False
    assert body["identity"]["ids"] is None
    assert "stitching is off" in body["identity"]["note"]


def test_run_attribution_leaves_components_over_the_cap_unmerged(
    identity_client: TestClient,
) -> None:
    body = identity_client.get("/v1/attribution?model=linear&max_identity_component=2").json()
    assert revenue(body) == {"(no touchpoint)": 100.0, "Social": 50.0}
    identity = body["identity"]
    assert (identity["oversized_components"], identity["unmerged_ids"]) == (1, 3)
    assert (identity["persons"], identity["max_component_size"]) == (3, 2)
    assert identity["note"].startswith(
        "1 identity component larger than 2 ids was left unmerged (3 ids)"
    )


def test_run_attribution_max_identity_component_below_two_is_a_problem(
    identity_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = identity_client.get("/v1/attribution?model=linear&max_identity_component=1")
    assert_problem(
        response,
        422,
        "Invalid request",
        "Query parameter 'max_identity_component': Input should be greater than or equal to 2. "
        "Got '1'.",
    )


def test_run_attribution_csv_is_unchanged_by_the_identity_member(
    identity_client: TestClient,
) -> None:
    response = identity_client.get("/v1/attribution?model=linear&format=csv")
    assert response.status_code == 200
    assert (
        response.text.splitlines()[0]
        == "channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm"
    )
    assert "Paid Search" in response.text


def test_run_attribution_store_without_identities_echoes_zero(client: TestClient) -> None:
    body = client.get("/v1/attribution?model=linear").json()
    identity = body["identity"]
    assert (identity["stitched"], identity["ids"], identity["persons"]) == (True, 0, 0)
    assert (identity["touchpoints_remapped"], identity["conversions_remapped"]) == (0, 0)


def test_openapi_documents_the_identity_parameters(identity_client: TestClient) -> None:
    document = identity_client.get("/openapi.json").json()
    parameters = {p["name"] for p in document["paths"]["/v1/attribution"]["get"]["parameters"]}
    assert {"stitch", "max_identity_component"} <= parameters
    assert "identity" in document["components"]["schemas"]["AttributionPublic"]["properties"]
