"""GET /v1/compare?baseline=: GA4's % change from a baseline model, in JSON, CSV and OpenAPI."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient


def test_change_from_the_first_model_by_default(client: TestClient) -> None:
    body = client.get("/v1/compare?models=last_touch,first_touch&stage=closed_won").json()
    assert body["baseline"] == "last_touch"
    # u1: Email > Search buys 100, u2: Search buys 50. Last touch: Search 150, Email 0;
    # first touch: Email 100, Search 50.
    rows = {r["channel"]: r for r in body["data"]}
    assert rows["Search"]["first_touch_revenue_change"] == pytest.approx((50 - 150) / 150)
    assert rows["Search"]["first_touch_conversions_change"] == pytest.approx((1 - 2) / 2)
    assert rows["Email"]["first_touch_revenue_change"] is None  # the baseline gave Email 0
    assert "last_touch_revenue_change" not in rows["Search"]
    assert body["total_changes"]["first_touch"]["revenue_change"] == pytest.approx(0.0)


def test_baseline_parameter(client: TestClient) -> None:
    body = client.get(
        "/v1/compare?models=last_touch,first_touch&stage=closed_won&baseline=first_touch"
    ).json()
    assert body["baseline"] == "first_touch"
    search = next(r for r in body["data"] if r["channel"] == "Search")
    assert search["last_touch_revenue_change"] == pytest.approx((150 - 50) / 50)


def test_baseline_in_csv(client: TestClient) -> None:
    response = client.get("/v1/compare?models=last_touch,linear&stage=closed_won&format=csv")
    frame = pl.read_csv(io.StringIO(response.text))
    assert "linear_revenue_change" in frame.columns
    assert "last_touch_revenue_change" not in frame.columns


def test_baseline_not_compared(client: TestClient, assert_problem: Callable[..., Any]) -> None:
    body = assert_problem(
        client.get("/v1/compare?models=linear,first_touch&baseline=markov"),
        422,
        "Invalid parameter",
    )
    assert body["detail"].startswith(
        "The baseline 'markov' is not among the models compared (linear, first_touch)"
    )


def test_baseline_unknown_model(client: TestClient, assert_problem: Callable[..., Any]) -> None:
    body = assert_problem(client.get("/v1/compare?baseline=lineer"), 404, "Unknown model")
    assert "'lineer'" in body["detail"]


def test_baseline_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/v1/compare"]["get"]["parameters"]}
    assert "% change" in parameters["baseline"]["description"]
    schema = spec["components"]["schemas"]["ComparePublic"]
    assert "baseline" in schema["required"]
