"""``GET /v1/attribution`` at the lead stage: stage-named columns and ``stage_values``.

The example store has one lead (u1, 2024-01-02) whose only earlier touch is
Email (2024-01-01); Email spent 10 in the period.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import check_problem


def test_lead_stage_reports_cpl_and_null_roas(client: TestClient) -> None:
    body = client.get("/v1/attribution", params={"model": "linear", "stage": "lead"}).json()
    assert (body["value_column"], body["cost_column"]) == ("value", "cpl")
    email = next(row for row in body["data"] if row["channel"] == "Email")
    assert email["conversions"] == 1.0
    assert email["cpl"] == 10.0
    assert email["value"] is None
    assert email["roas"] is None
    assert email["roi"] is None
    assert "revenue" not in email
    assert "cpa" not in email


def test_stage_values_give_value_based_roas(client: TestClient) -> None:
    params = {"model": "linear", "stage": "lead", "stage_values": "lead=50"}
    body = client.get("/v1/attribution", params=params).json()
    email = next(row for row in body["data"] if row["channel"] == "Email")
    assert email["value"] == 50.0
    assert email["roas"] == 5.0
    assert body["stage_values"] == {"lead": 50.0}
    csv = client.get("/v1/attribution", params={**params, "format": "csv"}).text
    assert csv.startswith("channel,conversions,value,spend,roas,roi,cpl,")


def test_bad_stage_values_are_a_problem(client: TestClient) -> None:
    params = {"model": "linear", "stage": "lead", "stage_values": "closed_won=5"}
    body = check_problem(client.get("/v1/attribution", params=params), 422, "Invalid parameter")
    assert "Stage values are for stages without revenue" in body["detail"]
