"""``/v1/budget``: curves, plan and what-if over HTTP, JSON and CSV, with problem+json errors."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.http import limits
from api.http.app import create_app
from api.http.settings import Settings
from api.services import CurvesQuery, PlanQuery, Services
from attribution.cancel import Cancellation
from ingest import Store, ingest_files

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
# Views count over the lookback: the example data's Paid Social then has a curve to plan with.
FAST: dict[str, Any] = {
    "model": "linear",
    "stage": "closed_won",
    "bootstrap": 20,
    "view_window_days": 90,
}


@pytest.fixture(scope="module")
def budget_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("budget") / "budget.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [DATA / f"{table}.csv"])
    return path


@pytest.fixture(scope="module")
def budget_client(budget_db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_path=budget_db, wait_seconds=0.2))) as client:
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
        "/v1/budget/plan",
        json={**FAST, "view_window_days": 90, "min": {"Paid Social": "-20%"}, "locks": ["Email"]},
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


def test_create_plan_for_a_quarter(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/plan", json={**FAST, "period": "quarter", "budget": 250_000, "points": False}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["period"], body["weeks_per_period"], body["max_change"]) == ("quarter", 13, 0.3)
    assert body["totals"]["budget"] == 250_000
    assert body["totals"]["recommended_spend"] == pytest.approx(250_000)
    for row in body["data"]:
        assert row["recommended_spend"] == pytest.approx(13 * row["recommended_weekly"])
        assert row["current_spend"] == pytest.approx(13 * row["current_weekly"])
        if row["status"] == "planned":
            assert row["lower"] == pytest.approx(0.7 * row["current_spend"])
            assert row["upper"] <= 1.3 * row["current_spend"] + 1e-6


def test_create_plan_without_rail(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/plan",
        json={
            **FAST,
            "view_window_days": 90,  # Display's impressions are its evidence
            "max_change": None,
            "allow_zero": ["Paid Social"],
            "points": False,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["max_change"] is None
    assert body["allow_zero"] == ["Paid Social"]
    display = next(r for r in body["data"] if r["channel"] == "Paid Social")
    assert display["lower"] == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"period": "year"}, "period", id="period"),
        pytest.param({"max_change": -0.1}, "max_change", id="max_change"),
    ],
)
def test_create_plan_bad_period_or_rail(
    budget_client: TestClient,
    assert_problem: Callable[..., dict[str, Any]],
    extra: dict[str, Any],
    field: str,
) -> None:
    response = budget_client.post("/v1/budget/plan", json={**FAST, **extra})
    body = assert_problem(response, 422, "Invalid request")
    assert body["errors"][0]["field"] == field


def test_create_plan_cut_to_zero_needs_allow_zero(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post(
        "/v1/budget/plan", json={**FAST, "view_window_days": 90, "min": {"Paid Social": 0}}
    )
    body = assert_problem(response, 422, "Invalid parameter")
    assert body["detail"].startswith(
        "The minimum of 'Paid Social' (0 per week) cuts it below 10% of its current spend"
    )


def test_create_what_if_for_a_quarter(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/whatif",
        json={**FAST, "period": "quarter", "allocation": {"Paid Social": 65_000}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == "quarter"
    social = next(r for r in body["data"] if r["channel"] == "Paid Social")
    assert social["spend"] == pytest.approx(65_000)
    assert social["spend_weekly"] == pytest.approx(5_000)


def test_budget_routes_are_held_to_the_time_limit() -> None:
    for path in ("/v1/budget/curves", "/v1/budget/plan", "/v1/budget/whatif"):
        assert path.startswith(limits.COMPUTING_PREFIXES)
        assert not path.startswith(limits.UNTIMED_PREFIXES)


def test_a_plan_past_the_time_limit_stops_in_its_resamples(budget_db: Path) -> None:
    # What CLOSEDLOOP_COMPUTE_TIMEOUT does to a request (answered 504): cancel its work. The
    # attribution bootstrap behind the curves' range checks at every block of resamples, so
    # 2,000 of them stop within one block of the limit.
    services = Services.for_store(Store(budget_db))
    query = PlanQuery(CurvesQuery.create("linear", stage="closed_won", attribution_bootstrap=2_000))
    scope = Cancellation()
    timer = threading.Timer(0.2, scope.cancel, (limits.ComputeTimeoutError, "too long"))
    started = time.monotonic()
    timer.start()
    with scope.active(), pytest.raises(limits.ComputeTimeoutError, match="too long"):
        services.plan(query)
    assert time.monotonic() - started < 10


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


ACROSS: dict[str, Any] = {k: v for k, v in FAST.items() if k != "model"}
"""FAST without its model: a plan across models."""


def test_create_plan_across_models(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/plan", json={**ACROSS, "period": "quarter", "budget": 250000, "points": False}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["models"] == ["markov", "linear", "position_based"]
    assert body["robust"]["objective"] == "worst"
    assert set(body["plans"]) == set(body["models"])
    assert all(p["period"] == "quarter" for p in body["plans"].values())
    totals = body["robust"]["totals"]
    assert totals["worst_model"] in body["models"]
    assert all(regret >= -1e-6 * totals["budget"] for regret in totals["regret"].values())
    matrix = {row["plan"]: row for row in body["matrix"]}
    assert matrix["robust"]["worst_change"] == pytest.approx(totals["worst_change"])
    rows = {r["channel"]: r for r in body["data"]}
    for model in body["models"]:
        assert model in rows["Email"]
        assert f"{model}_change_pct" in rows["Email"]
    # A channel held under any model is held in the robust plan, and says by whom.
    for row in body["robust"]["data"]:
        if row["held_by"]:
            assert row["recommended_spend"] == pytest.approx(row["current_spend"])
            assert row["binding"] == "held"


def test_create_plan_across_models_csv(budget_client: TestClient) -> None:
    response = budget_client.post(
        "/v1/budget/plan",
        json={**ACROSS, "models": ["markov", "linear"], "robust": "mean"},
        headers={"Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.text.startswith("channel,status,held_by,current_spend,markov,")


def test_create_plan_model_and_models(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post("/v1/budget/plan", json={**FAST, "models": ["markov", "linear"]})
    assert_problem(
        response, 422, "Invalid parameter",
        "Give `model` (one model's plan) or `models` (plans across models, side by side), "
        "not both.",
    )  # fmt: skip


def test_create_plan_bad_robust_and_unknown_model(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    body = assert_problem(
        budget_client.post("/v1/budget/plan", json={**ACROSS, "robust": "best"}),
        422,
        "Invalid request",
    )
    assert body["errors"][0]["field"] == "robust"
    response = budget_client.post(
        "/v1/budget/plan", json={**ACROSS, "models": ["markov", "shapely"]}
    )
    assert "Did you mean 'shapley'?" in assert_problem(response, 404, "Unknown model")["detail"]


def test_create_plan_robust_goes_with_models(
    budget_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = budget_client.post("/v1/budget/plan", json={**FAST, "robust": "mean"})
    assert_problem(
        response, 422, "Invalid parameter",
        "`robust` goes with a plan across models (`models`, or no `model`); a body with `model` "
        "plans under that one model.",
    )  # fmt: skip
