"""``/v1/budget``: curves, plan and what-if over HTTP, JSON and CSV, with problem+json errors."""

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
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
FAST: dict[str, Any] = {"model": "linear", "stage": "closed_won", "bootstrap": 20}


@pytest.fixture(scope="module")
def budget_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("budget") / "budget.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [DATA / f"{table}.csv"])
    with TestClient(create_app(Settings(db_path=path, wait_seconds=0.2))) as client:
        yield client


def test_read_curves(budget_client: TestClient) -> None:
    response = budget_client.get("/v1/budget/curves", params={**FAST, "threshold": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "linear"
    assert body["curve"] == "hill"
    rows = {r["channel"]: r for r in body["data"]}
    social = rows["Paid Social"]
    assert social["status"] == "curve"
    assert social["marginal_roas"] > 0
    assert social["saturation_spend"] > 0
    assert len(social["points"]["curve"]) == 41
    assert social["points"]["marks"][0]["label"] == "current"
    assert rows["Direct"]["status"] == "no spend"


def test_read_curves_csv(budget_client: TestClient) -> None:
    response = budget_client.get("/v1/budget/curves", params={**FAST, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.startswith("channel,status,reason,curve,r2,")


def test_read_curves_unknown_model(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.get("/v1/budget/curves", params={"model": "shapely"})
    body = assert_problem(response, 404, "Unknown model")
    assert "Did you mean 'shapley'?" in body["detail"]


def test_create_plan(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/plan", json={**FAST, "min": {"Paid Social": "-20%"}, "locks": ["Email"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    rows = {r["channel"]: r for r in body["data"]}
    assert rows["Email"]["recommended_spend"] == rows["Email"]["current_spend"]
    social = rows["Paid Social"]
    assert social["recommended_spend"] >= 0.8 * social["current_spend"] - 1e-6
    held = [r for r in rows.values() if r["status"] == "not enough evidence"]
    assert held
    assert all(r["held_reason"].startswith("marginal ROAS at current spend ") for r in held)
    for key in ("current_spend", "recommended_spend", "change", "predicted_revenue",
                "marginal_roas", "points"):  # fmt: skip
        assert key in rows["Paid Social"]
    assert body["totals"]["recommended_spend"] == pytest.approx(body["totals"]["budget"])
    assert isinstance(body["warnings"], list)


def test_create_plan_csv(budget_client: TestClient) -> None:
    response = budget_client.post("/v1/budget/plan", json=FAST, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.text.startswith("channel,status,current_spend,recommended_spend,")


def test_create_plan_infeasible(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post(
        "/v1/budget/plan", json={**FAST, "min": {"Paid Social": 5000}, "max": {"Paid Social": 4000}}
    )
    assert_problem(
        response, 422, "Invalid parameter",
        "Bounds that cannot hold: 'Paid Social' minimum 5,000 is above its maximum 4,000.",
    )  # fmt: skip


def test_create_plan_bad_body(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post("/v1/budget/plan", json={**FAST, "budget": -5})
    body = assert_problem(response, 422, "Invalid request")
    assert body["errors"][0]["field"] == "budget"


def test_create_what_if(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/whatif", json={**FAST, "allocation": {"Paid Social": "+10%"}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    social = next(r for r in body["data"] if r["channel"] == "Paid Social")
    assert social["spend"] == pytest.approx(1.1 * social["current_spend"])
    assert body["totals"]["roas"] > 0


def test_create_what_if_for_a_channel_without_a_curve(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post("/v1/budget/whatif", json={**FAST, "allocation": {"Direct": 100}})
    body = assert_problem(response, 422, "Invalid parameter")
    assert body["detail"].startswith("'Direct' has no response curve (no spend in the costs)")


def test_read_curves_with_a_fixed_decay(budget_client: TestClient) -> None:
    response = budget_client.get("/v1/budget/curves", params={**FAST, "decay": 0.2})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decay"] == 0.2
    assert {r["decay"] for r in body["data"] if r["status"] != "no spend"} == {0.2}


def test_create_plan_with_a_bad_decay(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post("/v1/budget/plan", json={**FAST, "decay": 1.5})
    assert_problem(
        response, 422, "Invalid parameter",
        "The 'decay' parameter must be >= 0 and < 1. Got 1.5 instead.",
    )  # fmt: skip
