"""``GET /v1/attribution`` with ``ci``, ``bootstrap`` and ``seed``: bootstrap intervals per row."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.routes.attribution import KNOWN_PARAMETERS
from attribution.report import INTERVAL_COLUMNS

AssertProblem = Callable[..., dict[str, Any]]

UNCERTAINTY = {
    "method": "person-level bootstrap, percentile interval",
    "ci": 0.95,
    "bootstrap": 20,
    "seed": 1,
}


def get(client: TestClient, **params: Any) -> Any:
    return client.get("/v1/attribution", params={"model": "linear", **params})


def test_run_attribution_with_ci(client: TestClient) -> None:
    response = get(client, ci=0.95, bootstrap=20, seed=1)
    assert response.status_code == 200
    body = response.json()
    assert body["uncertainty"] == UNCERTAINTY
    assert body["params"] == {}  # ci, bootstrap and seed are not model parameters
    for row in body["data"]:
        assert list(row)[-6:] == list(INTERVAL_COLUMNS)
        assert row["conversions_low"] <= row["conversions"] <= row["conversions_high"]
        assert row["revenue_low"] <= row["revenue"] <= row["revenue_high"]
    search = next(row for row in body["data"] if row["channel"] == "Search")
    assert search["roas_low"] == pytest.approx(search["revenue_low"] / search["spend"])
    json.dumps(body, allow_nan=False)


def test_run_attribution_with_ci_is_reproducible(client: TestClient) -> None:
    first = get(client, model="markov", ci=0.9, bootstrap=15, seed=3).json()
    again = get(client, model="markov", ci=0.9, bootstrap=15, seed=3).json()
    assert first["data"] == again["data"]


def test_run_attribution_without_ci(client: TestClient) -> None:
    body = get(client).json()
    assert body["uncertainty"] is None
    assert not set(INTERVAL_COLUMNS) & set(body["data"][0])


def test_run_attribution_with_ci_as_csv(client: TestClient) -> None:
    response = get(client, ci=0.8, bootstrap=10, format="csv")
    assert response.status_code == 200
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[-6:] == list(INTERVAL_COLUMNS)


def test_bootstrap_parameters_are_route_parameters() -> None:
    assert {"ci", "bootstrap", "seed"} <= KNOWN_PARAMETERS


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"ci": "1.5"}, "The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). Got 1.5 instead."),
        ({"ci": "0"}, "The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). Got 0.0 instead."),
        (
            {"ci": "0.95", "bootstrap": "3"},
            "The 'bootstrap' parameter must be an integer >= 10. Got 3 instead.",
        ),
        (
            {"ci": "0.95", "seed": "-2"},
            "The 'seed' parameter must be an integer >= 0. Got -2 instead.",
        ),
    ],
)
def test_run_attribution_bad_ci(
    client: TestClient, assert_problem: AssertProblem, params: dict[str, str], detail: str
) -> None:
    assert_problem(get(client, **params), 422, "Invalid parameter", detail)


def test_run_attribution_ci_not_a_number(client: TestClient) -> None:
    response = get(client, ci="high")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ci"
