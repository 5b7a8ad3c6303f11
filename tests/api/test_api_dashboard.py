"""GET /v1/compare, /v1/paths, /v1/timeseries and the page at /: numbers, paging, CSV."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.pagination import encode_cursor


def test_compare_matches_attribution(client: TestClient) -> None:
    body = client.get("/v1/compare?models=linear,first_touch,last_touch&stage=closed_won").json()
    assert body["models"] == ["linear", "first_touch", "last_touch"]
    for model in body["models"]:
        report = client.get(f"/v1/attribution?model={model}&stage=closed_won").json()
        expected = {r["channel"]: r for r in report["data"]}
        assert {r["channel"] for r in body["data"]} == set(expected)
        for row in body["data"]:
            assert row[f"{model}_revenue"] == pytest.approx(expected[row["channel"]]["revenue"])
            assert row[f"{model}_roas"] == expected[row["channel"]]["roas"]
        assert body["totals"][model]["revenue"] == report["totals"]["revenue"]
    email = next(r for r in body["data"] if r["channel"] == "Email")
    # first touch gives Email u1's 100 of 150; last touch nothing.
    assert email["max_share_gap"] == pytest.approx(100 / 150)
    assert (email["max_share_model"], email["min_share_model"]) == ("first_touch", "last_touch")
    assert body["next_cursor"] is None


def test_compare_with_intervals(client: TestClient) -> None:
    body = client.get("/v1/compare?models=linear&ci=0.9&bootstrap=20").json()
    assert {"linear_revenue_low", "linear_revenue_high"} <= set(body["data"][0])


def test_compare_unknown_model(client: TestClient, assert_problem: Callable[..., Any]) -> None:
    assert_problem(client.get("/v1/compare?models=linear,shapely"), 404, "Unknown model")


def test_paths(client: TestClient) -> None:
    body = client.get("/v1/paths?stage=closed_won").json()
    rows = {r["path"]: r for r in body["data"]}
    assert rows["Email > Search"]["revenue"] == 100.0
    assert rows["Search"]["conversions"] == 1.0
    assert rows["Social"]["journeys"] == 1.0
    assert rows["Social"]["conversion_rate"] == 0.0
    assert [r["length"] for r in body["lengths"]] == [1, 2]
    assert sum(r["conversions"] for r in body["time_lag"]) == 2.0


def test_paging_cursor_link_and_csv(client: TestClient) -> None:
    first = client.get("/v1/paths?stage=closed_won&limit=2")
    body = first.json()
    assert len(body["data"]) == 2
    assert body["count"] == 3
    assert body["next_cursor"] == encode_cursor(2)
    assert first.headers["link"].endswith(f'cursor={encode_cursor(2)}>; rel="next"')
    second = client.get(f"/v1/paths?stage=closed_won&limit=2&cursor={body['next_cursor']}")
    assert len(second.json()["data"]) == 1
    assert second.json()["next_cursor"] is None
    assert "link" not in second.headers
    csv = client.get("/v1/paths?stage=closed_won&limit=2", headers={"Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"].startswith("attachment")
    lines = csv.text.split("\r\n")
    assert lines[0].startswith("path,steps,journeys,conversions")
    assert len(lines) == 4
    assert lines[-1] == ""
    assert "link" in csv.headers


def test_limit_bounds(client: TestClient, assert_problem: Callable[..., Any]) -> None:
    assert client.get("/v1/paths?limit=1001").status_code == 422
    assert_problem(client.get("/v1/paths?cursor=nope"), 422, "Invalid parameter")


def test_timeseries_weeks_zero_filled_and_summing_to_attribution(client: TestClient) -> None:
    body = client.get(
        "/v1/timeseries?metric=revenue&interval=week&stage=closed_won&limit=1000"
    ).json()
    periods = sorted({r["period"] for r in body["data"]})
    # 2024-01-01 is a Monday; data runs to 2024-01-10.
    assert periods == ["2024-01-01", "2024-01-08"]
    channels = {r["channel"] for r in body["data"]}
    assert len(body["data"]) == len(periods) * len(channels)
    report = client.get("/v1/attribution?model=linear&stage=closed_won").json()
    for row in report["data"]:
        total = sum(r["revenue"] for r in body["data"] if r["channel"] == row["channel"])
        assert total == pytest.approx(row["revenue"])
    week2 = {r["channel"]: r["revenue"] for r in body["data"] if r["period"] == "2024-01-08"}
    assert week2["Email"] == 50.0
    assert week2["Social"] == 0.0


def test_timeseries_spend_by_day_csv(client: TestClient) -> None:
    response = client.get("/v1/timeseries?metric=spend&interval=day&format=csv&limit=1000")
    lines = response.text.split("\r\n")
    assert lines[0] == "period,channel,spend"
    assert "2024-01-02,Search,20.0" in lines


def test_timeseries_month(client: TestClient) -> None:
    body = client.get("/v1/timeseries?metric=roas&interval=month&stage=closed_won").json()
    search = next(r for r in body["data"] if r["channel"] == "Search")
    assert search["period"] == "2024-01-01"
    assert search["roas"] == pytest.approx(100 / 40)


def test_timeseries_by_a_touch_column_costs_lack_has_null_spend(client: TestClient) -> None:
    url = "/v1/timeseries?interval=week&by=source&stage=closed_won&limit=1000&metric="
    revenue = client.get(url + "revenue").json()["data"]
    assert {r["source"] for r in revenue} == {"(not set)"}
    assert sum(r["revenue"] for r in revenue) == 150.0
    for metric in ("spend", "roas"):
        assert all(r[metric] is None for r in client.get(url + metric).json()["data"])


def test_timeseries_bad_interval(client: TestClient) -> None:
    assert client.get("/v1/timeseries?interval=year").status_code == 422


def test_dashboard_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/static/dashboard.js" in response.text
    assert "/v1/" in client.get("/static/dashboard.js").text
    assert "http://" not in response.text
    assert "https://" not in response.text
