"""Requests that would exhaust or break the service are refused with a 422 that says why (#12)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from api.services.queries import AttributionQuery, PathsQuery, TimeSeriesQuery
from attribution import get_model
from attribution.errors import ParameterError
from attribution.timeseries import MAX_BUCKETS, bucket_count


@pytest.mark.parametrize(
    "url",
    [
        "/v1/paths?by=revenue",
        "/v1/compare?by=revenue",
        "/v1/timeseries?by=owner",
    ],
)
def test_only_channel_or_campaign_is_a_dimension(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    assert "'channel'" in detail or "choose one of channel" in detail
    assert "campaign" in detail


def test_a_time_series_of_millions_of_buckets_is_refused(client: TestClient) -> None:
    response = client.get("/v1/timeseries?interval=day&start=0001-01-01&end=9999-12-30")
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "3,652,058 days" in detail
    assert f"{MAX_BUCKETS:,}" in detail


def test_a_time_series_at_the_limit_is_answered(client: TestClient) -> None:
    response = client.get("/v1/timeseries?interval=month&start=2000-01-01&end=2025-12-31")
    assert response.status_code == 200, response.text
    months = bucket_count(dt.date(2000, 1, 1), dt.date(2025, 12, 31), "month")
    assert response.json()["periods"] == months


def test_counterfactual_shapley_samples_are_bounded(client: TestClient) -> None:
    response = client.get("/v1/attribution?model=shapley_counterfactual&samples=100000000")
    assert response.status_code == 422, response.text
    assert "100,000" in response.json()["detail"]


def test_a_denormal_half_life_is_refused(client: TestClient) -> None:
    response = client.get("/v1/attribution?model=time_decay&half_life_days=1e-320")
    assert response.status_code == 422, response.text
    assert "half_life_days must be at least" in response.json()["detail"]


def test_the_query_objects_check_the_dimension() -> None:
    for build in (
        lambda: AttributionQuery.create("linear", by="revenue"),
        lambda: PathsQuery(by="revenue"),
        lambda: TimeSeriesQuery(by="owner"),
        lambda: TimeSeriesQuery(by="user_id"),
        lambda: AttributionQuery.create("linear", by="touchpoint_id"),
    ):
        with pytest.raises(ParameterError, match="choose one of channel, campaign"):
            build()
    with pytest.raises(ParameterError, match="at least"):
        get_model("time_decay", half_life_days=1e-9)
