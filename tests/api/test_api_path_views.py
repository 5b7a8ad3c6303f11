"""GET /v1/paths' buckets and early/middle/late touches; shapley_ordered's positions.

The data (tests/api/conftest.py), closed_won: u1 Email > Search converts for 100 8.6 days
after its first touch; u2 Search converts for 50 after 2.6 days; u3 Social never converts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from attribution.buckets import bucket_order


def test_paths_buckets_and_touch_positions(client: TestClient) -> None:
    body = client.get("/v1/paths?stage=closed_won").json()
    lengths = {r["bucket"]: r for r in body["length_buckets"]}
    assert list(lengths) == bucket_order("length")
    assert lengths["1"] == {"bucket": "1", "journeys": 2.0, "conversions": 1.0, "revenue": 50.0}
    assert lengths["2"]["revenue"] == 100.0
    assert lengths["12+"]["journeys"] == 0.0
    lags = {r["bucket"]: (r["conversions"], r["revenue"]) for r in body["time_lag_buckets"]}
    assert list(lags) == bucket_order("lag")
    assert (lags["2"], lags["8-11"], lags["0"]) == ((1.0, 50.0), (1.0, 100.0), (0.0, 0.0))
    positions = {r["channel"]: r for r in body["touch_positions"]}
    # Email opens u1 (early 1) and shares u1's empty middle with Search (½ each).
    assert positions["Email"]["early_conversions"] == 1.0
    assert positions["Email"]["middle_revenue"] == 50.0
    assert positions["Email"]["late_conversions"] == 0.0
    # Search closes both; it is all of u2, so early, middle and late of u2 too.
    assert positions["Search"]["late_revenue"] == 150.0
    assert positions["Search"]["middle_conversions"] == 1.5
    assert "Social" not in positions  # never on a converting journey
    for part in ("early", "middle", "late"):
        assert sum(r[f"{part}_conversions"] for r in body["touch_positions"]) == 2.0


def test_paths_by_campaign_keys_touch_positions_by_campaign(client: TestClient) -> None:
    body = client.get("/v1/paths?stage=closed_won&by=campaign").json()
    assert {r["campaign"] for r in body["touch_positions"]} == {"newsletter", "brand", "generic"}


def test_shapley_ordered_answer_has_positions(client: TestClient) -> None:
    body = client.get("/v1/attribution?model=shapley_ordered&stage=closed_won").json()
    positions = body["positions"]
    assert (positions["convention"], positions["max_position"]) == ("first_visit", 5)
    rows = {(r["position"], r["channel"]): r["revenue"] for r in positions["data"]}
    # u1: Email first (½ of 100), Search second (½); u2: Search first (all of 50).
    assert rows == {("1", "Email"): 50.0, ("1", "Search"): 50.0, ("2", "Search"): 50.0}
    by_channel = {r["channel"]: r["revenue"] for r in body["data"]}
    assert by_channel["Search"] == pytest.approx(100.0)
    touch = client.get(
        "/v1/attribution?model=shapley_ordered&position=touch&stage=closed_won"
    ).json()
    assert touch["positions"]["convention"] == "touch"


def test_other_models_have_no_positions(client: TestClient) -> None:
    body = client.get("/v1/attribution?model=linear&stage=closed_won").json()
    assert body.get("positions") is None


def test_bad_position_is_a_problem(client: TestClient, assert_problem: Callable[..., Any]) -> None:
    body = assert_problem(
        client.get("/v1/attribution?model=shapley_ordered&position=middle"),
        422,
        "Invalid parameter",
    )
    assert "'position' parameter of ShapleyOrdered must be one of" in body["detail"]
