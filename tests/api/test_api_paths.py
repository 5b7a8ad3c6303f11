"""POST /v1/attribution/paths: aggregated paths over HTTP, with the same numbers as the library."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.settings import Settings
from attribution import attribute_paths

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
DATA_CSV = REAL / "channelattribution_pathdata" / "Data.csv"

RECORDS = [
    {"path": "a > b", "total_conversions": 2, "total_conversion_value": 20.0, "total_null": 3},
    {"path": "b", "total_conversions": 1, "total_conversion_value": 5.0, "total_null": 6},
    {"path": "a", "total_conversions": 0, "total_conversion_value": 0.0, "total_null": 4},
]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(db_path=tmp_path / "paths.duckdb")))


def test_json_body_matches_the_library(client: TestClient) -> None:
    response = client.post("/v1/attribution/paths?model=markov", json=RECORDS)
    assert response.status_code == 200
    body = response.json()
    expected = attribute_paths(pl.DataFrame(RECORDS), model="markov").to_dict()
    got = {row["channel"]: (row["conversions"], row["revenue"]) for row in body["data"]}
    want = {row["channel"]: (row["conversions"], row["revenue"]) for row in expected["data"]}
    assert got.keys() == want.keys()
    for channel, (conversions, revenue) in want.items():
        assert got[channel] == pytest.approx((conversions, revenue), rel=1e-12)
    assert sum(row["conversions"] for row in body["data"]) == pytest.approx(3.0)
    assert sum(row["revenue"] for row in body["data"]) == pytest.approx(25.0)
    assert body["source"] == "request body"


def test_model_parameters_and_csv(client: TestClient) -> None:
    response = client.post(
        "/v1/attribution/paths?model=position_based&first_weight=0.5&last_weight=0.5&format=csv",
        json=RECORDS,
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith(
        "channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm\r\n"
    )


def test_bootstrap_intervals(client: TestClient) -> None:
    response = client.post("/v1/attribution/paths?model=linear&ci=0.9&bootstrap=20", json=RECORDS)
    assert response.status_code == 200
    row = response.json()["data"][0]
    assert row["conversions_low"] <= row["conversions"] <= row["conversions_high"]


def test_errors_are_problems(client: TestClient) -> None:
    unknown = client.post("/v1/attribution/paths?model=shapely", json=RECORDS)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    time_decay = client.post("/v1/attribution/paths?model=time_decay", json=RECORDS)
    assert time_decay.status_code == 422
    assert "time_decay needs touch timestamps" in time_decay.json()["detail"]
    bad = client.post(
        "/v1/attribution/paths?model=linear",
        json=[{"path": "a", "total_conversions": -1}],
    )
    assert bad.status_code == 422
    assert "row 1, field 'total_conversions'" in bad.json()["detail"]
    wrong_type = client.post(
        "/v1/attribution/paths?model=linear", content=b"x", headers={"content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415


@pytest.mark.skipif(not DATA_CSV.exists(), reason=f"shared real data not found at {DATA_CSV}")
def test_channelattribution_file_upload(client: TestClient) -> None:
    with DATA_CSV.open("rb") as handle:
        response = client.post(
            "/v1/attribution/paths?model=markov", files={"file": ("Data.csv", handle, "text/csv")}
        )
    assert response.status_code == 200
    body = response.json()
    assert sum(row["conversions"] for row in body["data"]) == pytest.approx(19_785)
    assert sum(row["revenue"] for row in body["data"]) == pytest.approx(74_802.97, abs=0.01)
    assert body["source"] == "'Data.csv'"
