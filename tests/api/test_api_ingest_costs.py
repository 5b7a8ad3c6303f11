"""``POST /v1/ingest/costs`` with cost names and grain: the command's options as parameters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from ingest import Store

AssertProblem = Callable[..., dict[str, Any]]

TOUCHES = [
    {"touchpoint_id": "t1", "user_id": "u1", "ts": "2024-03-04T10:00:00Z",
     "channel": "Paid Search", "campaign": "brand_search"},
]  # fmt: skip

MONTHLY = [
    {"date": "2024-03-01", "channel": "paid search", "campaign": "BRAND", "spend": "31"},
    {"date": "2024-03-01", "channel": "Socail", "campaign": "x", "spend": "3.1"},
]


def test_ingest_costs_renamed_and_spread(empty_client: TestClient, db_path: Path) -> None:
    assert empty_client.post("/v1/ingest/touchpoints", json=TOUCHES).status_code == 200
    query = (
        "?cost_match=loose&cost_grain=month&cost_channel_map=Socail%3DPaid%20Social"
        "&cost_campaign_map=BRAND%3Dbrand_search"
    )
    response = empty_client.post(f"/v1/ingest/costs{query}", json=MONTHLY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows_read"], body["inserted"]) == (2, 62)
    assert body["notes"] == [
        "cost campaign 'BRAND' renamed 'brand_search' (1 row): by the cost map",
        "cost channel 'Socail' renamed 'Paid Social' (1 row): by the cost map",
        "cost channel 'paid search' renamed 'Paid Search' (1 row): matched a touch channel "
        "ignoring case and spaces",
        "2 monthly cost rows spread evenly over 62 days (spend, impressions and clicks add up to "
        "each row's)",
    ]
    costs = Store(db_path).read("costs")
    per_day = costs.filter(costs["channel"] == "Paid Search")["spend"].unique().to_list()
    assert per_day == [1.0]


def test_ingest_cost_options_errors(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = empty_client.post("/v1/ingest/costs?cost_channel_map=Socail", json=MONTHLY)
    assert_problem(
        response,
        422,
        "Invalid input",
        "Bad cost_channel_map 'Socail': expected <your channel>=<the touches' channel>, e.g. "
        "cost_channel_map=paid search=Paid Search.",
    )
    response = empty_client.post("/v1/ingest/touchpoints?cost_grain=week", json=TOUCHES)
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "cost_channel_map, cost_match and cost_grain apply to costs; touchpoints have no spend. "
        "Drop them, or ingest costs.",
    )
    response = empty_client.post("/v1/ingest/costs?cost_grain=week", json=MONTHLY)
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"].startswith(
        "2024-03-01 is a Friday: with --cost-grain week each row is dated its week's Monday"
    )
