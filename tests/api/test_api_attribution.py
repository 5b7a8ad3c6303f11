from __future__ import annotations

import csv
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from attribution import available_models

AssertProblem = Callable[..., dict[str, Any]]

NO_MEDIA = dict.fromkeys(("impressions", "clicks", "ctr", "cpc", "cpm"))
"""The example costs have no impressions or clicks: every media metric is null."""

LINEAR_ROWS = [
    {
        "channel": "Search",
        "conversions": 1.5,
        "revenue": 100.0,
        "spend": 40.0,
        "roas": 2.5,
        "roi": 1.5,
        "cpa": pytest.approx(40 / 1.5),
        **NO_MEDIA,
    },
    {
        "channel": "Email",
        "conversions": 0.5,
        "revenue": 50.0,
        "spend": 10.0,
        "roas": 5.0,
        "roi": 4.0,
        "cpa": 20.0,
        **NO_MEDIA,
    },
    {
        "channel": "Social",
        "conversions": 0.0,
        "revenue": 0.0,
        "spend": 5.0,
        "roas": 0.0,
        "roi": -1.0,
        "cpa": None,
        **NO_MEDIA,
    },
]


def test_run_attribution(client: TestClient) -> None:
    response = client.get("/v1/attribution", params={"model": "linear"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["vary"] == "Accept"
    body = response.json()
    assert {k: body[k] for k in ("model", "params", "by", "stage", "start", "end")} == {
        "model": "linear",
        "params": {},
        "by": "channel",
        "stage": "closed_won",
        "start": "2024-01-01",
        "end": "2024-01-10",
    }
    assert body["lookback_days"] == 90.0
    assert body["currency"] == "USD"
    assert body["data"] == LINEAR_ROWS
    totals = body["totals"]
    assert totals["conversions"] == 2.0
    assert totals["revenue"] == 150.0
    assert totals["spend"] == 55.0
    assert totals["roi"] == pytest.approx((150 - 55) / 55)
    assert totals["non_converting_journeys"] == 1


def test_run_attribution_by_campaign(client: TestClient) -> None:
    body = client.get("/v1/attribution", params={"model": "first_touch", "by": "campaign"}).json()
    rows = {
        row["campaign"]: (row["conversions"], row["revenue"], row["spend"]) for row in body["data"]
    }
    assert rows == {
        "newsletter": (1.0, 100.0, 10.0),
        "generic": (1.0, 50.0, 20.0),
        "brand": (0.0, 0.0, 20.0),
        "prospecting": (0.0, 0.0, 5.0),
    }


@pytest.mark.parametrize("by", ["source", "medium", "interaction"])
def test_run_attribution_by_a_touch_column_costs_lack(client: TestClient, by: str) -> None:
    response = client.get("/v1/attribution", params={"model": "linear", "by": by})
    assert response.status_code == 200
    body = response.json()
    # The example touches have no source, medium or interaction: one "(not set)" row.
    assert [(row[by], row["revenue"]) for row in body["data"]] == [("(not set)", 150.0)]
    assert {k: body["data"][0][k] for k in ("spend", "roas", "roi", "cpa")} == dict.fromkeys(
        ("spend", "roas", "roi", "cpa")
    )
    assert body["totals"]["spend"] == 55.0  # the period's spend, unsplit


@pytest.mark.parametrize("model", available_models())
def test_run_attribution_every_model_conserves_revenue(client: TestClient, model: str) -> None:
    body = client.get("/v1/attribution", params={"model": model}).json()
    assert sum(row["revenue"] for row in body["data"]) == pytest.approx(150.0)
    assert sum(row["conversions"] for row in body["data"]) == pytest.approx(2.0)


def test_run_attribution_model_params_echoed(client: TestClient) -> None:
    response = client.get("/v1/attribution", params={"model": "time_decay", "half_life_days": "3"})
    assert response.status_code == 200
    assert response.json()["params"] == {"half_life_days": 3.0}


def test_run_attribution_period(client: TestClient) -> None:
    # c2 (Jan 6) is before the period; its touch t3 stays with it and is not credited to c1.
    body = client.get(
        "/v1/attribution", params={"model": "linear", "start": "2024-01-07", "end": "2024-01-31"}
    ).json()
    assert (body["start"], body["end"]) == ("2024-01-07", "2024-01-31")
    rows = {
        row["channel"]: (row["conversions"], row["revenue"], row["spend"]) for row in body["data"]
    }
    # No spend in the period: spend 0, not unknown.
    assert rows == {"Email": (0.5, 50.0, 0.0), "Search": (0.5, 50.0, 0.0)}


def test_run_attribution_stage(client: TestClient) -> None:
    body = client.get("/v1/attribution", params={"model": "last_touch", "stage": "lead"}).json()
    assert body["stage"] == "lead"
    assert body["totals"]["conversions"] == 1.0


def test_run_attribution_csv_by_accept(client: TestClient) -> None:
    response = client.get(
        "/v1/attribution", params={"model": "linear"}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == 'attachment; filename="attribution-linear.csv"'
    )
    assert response.text.startswith(
        "channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm\r\n"
    )
    assert response.text.endswith("\r\n")
    assert response.headers["vary"] == "Accept"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["channel"] for row in rows] == ["Search", "Email", "Social"]
    assert rows[2]["cpa"] == ""


def test_run_attribution_csv_by_format(client: TestClient) -> None:
    response = client.get("/v1/attribution", params={"model": "first_touch", "format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="attribution-first_touch.csv"' in response.headers["content-disposition"]


def test_run_attribution_json_preferred_in_accept(client: TestClient) -> None:
    response = client.get(
        "/v1/attribution",
        params={"model": "linear"},
        headers={"Accept": "application/json, text/csv;q=0.5"},
    )
    assert response.headers["content-type"] == "application/json"


def test_run_attribution_format_json_wins_over_accept(client: TestClient) -> None:
    response = client.get(
        "/v1/attribution",
        params={"model": "linear", "format": "json"},
        headers={"Accept": "text/csv"},
    )
    assert response.headers["content-type"] == "application/json"


def test_run_attribution_unknown_model(client: TestClient, assert_problem: AssertProblem) -> None:
    response = client.get("/v1/attribution", params={"model": "first_tuch"})
    names = ", ".join(available_models())
    body = assert_problem(
        response,
        404,
        "Unknown model",
        f"Unknown model 'first_tuch'. Available models: {names}. Did you mean 'first_touch'?",
    )
    assert body["available"] == available_models()


def test_run_attribution_missing_model(client: TestClient, assert_problem: AssertProblem) -> None:
    body = assert_problem(
        client.get("/v1/attribution"),
        422,
        "Invalid request",
        "Query parameter 'model' is required.",
    )
    assert body["errors"] == [
        {
            "row": None,
            "field": "model",
            "message": "Query parameter 'model' is required.",
            "file": None,
        }
    ]


def test_run_attribution_bad_param_value(client: TestClient, assert_problem: AssertProblem) -> None:
    response = client.get(
        "/v1/attribution", params={"model": "time_decay", "half_life_days": "abc"}
    )
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "The 'half_life_days' parameter of model 'time_decay' must be a number. Got 'abc' instead.",
    )


def test_run_attribution_param_out_of_range(
    client: TestClient, assert_problem: AssertProblem
) -> None:
    response = client.get("/v1/attribution", params={"model": "time_decay", "half_life_days": "-3"})
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "The 'half_life_days' parameter of TimeDecay must be > 0. Got -3.0 instead.",
    )


def test_run_attribution_unknown_param(client: TestClient, assert_problem: AssertProblem) -> None:
    response = client.get("/v1/attribution", params={"model": "time_decay", "halflife": "3"})
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "Unknown parameter(s) for model 'time_decay': halflife. Accepted: half_life_days.",
    )


def test_run_attribution_repeated_param(client: TestClient, assert_problem: AssertProblem) -> None:
    response = client.get("/v1/attribution?model=time_decay&half_life_days=3&half_life_days=4")
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "The 'half_life_days' parameter is given more than once. Give it once.",
    )


@pytest.mark.parametrize(
    ("query", "title", "detail"),
    [
        (
            "start=2024-13-01",
            "Invalid request",
            "Query parameter 'start': Input should be a valid date or datetime, month value is "
            "outside expected range of 1-12. Got '2024-13-01'.",
        ),
        (
            "end=yesterday",
            "Invalid request",
            "Query parameter 'end': Input should be a date as YYYY-MM-DD. Got 'yesterday'.",
        ),
        # Not a Unix time: pydantic alone read start=0 as 1970-01-01 (found by Schemathesis).
        (
            "start=0",
            "Invalid request",
            "Query parameter 'start': Input should be a date as YYYY-MM-DD. Got '0'.",
        ),
        (
            "end=20240131",
            "Invalid request",
            "Query parameter 'end': Input should be a date as YYYY-MM-DD. Got '20240131'.",
        ),
        (
            "start=2024-02-01&end=2024-01-01",
            "Invalid parameter",
            "start (2024-02-01) is after end (2024-01-01); the period is inclusive at both ends.",
        ),
        (
            "lookback_days=-1",
            "Invalid request",
            "Query parameter 'lookback_days': Input should be greater than 0. Got '-1'.",
        ),
        (
            "lookback_days=inf",
            "Invalid request",
            "Query parameter 'lookback_days': Input should be a number in plain decimal "
            "notation, such as 0.95. Got 'inf'.",
        ),
        (
            "lookback_days=ninety",
            "Invalid request",
            "Query parameter 'lookback_days': Input should be a number in plain decimal "
            "notation, such as 0.95. Got 'ninety'.",
        ),
        (
            "stage=closed_lost",
            "Invalid parameter",
            "No conversion has stage 'closed_lost'. Stages present: closed_won, lead.",
        ),
        (
            "by=colour",
            "Invalid parameter",
            "Cannot report by 'colour': choose one of channel, campaign, source, medium, "
            "interaction.",
        ),
        (
            "end=9999-12-31",
            "Invalid parameter",
            "end (9999-12-31) is out of range; use a date before 9999-12-31.",
        ),
        (
            "format=xml",
            "Invalid request",
            "Query parameter 'format': Input should be 'json', 'csv' or 'parquet'. Got 'xml'.",
        ),
    ],
)
def test_run_attribution_bad_input_is_a_problem_not_a_500(
    client: TestClient, assert_problem: AssertProblem, query: str, title: str, detail: str
) -> None:
    response = client.get(f"/v1/attribution?model=linear&{query}")
    assert_problem(response, 422, title, detail)


def test_run_attribution_far_past_start(client: TestClient) -> None:
    response = client.get("/v1/attribution", params={"model": "linear", "start": "0001-01-01"})
    assert response.status_code == 200
    assert response.json()["totals"]["revenue"] == 150.0


def test_run_attribution_empty_store(
    empty_client: TestClient, assert_problem: AssertProblem, db_path: Any
) -> None:
    response = empty_client.get("/v1/attribution", params={"model": "linear"})
    assert_problem(
        response,
        422,
        "Empty input",
        f"There are no conversions to attribute: the store '{db_path.name}' holds none. "
        "Ingest them first: closedloop ingest conversions FILE, or POST /v1/ingest/conversions.",
    )


def test_run_attribution_reads_run_side_by_side(client: TestClient) -> None:
    def fetch(model: str) -> tuple[int, float]:
        response = client.get("/v1/attribution", params={"model": model})
        return response.status_code, response.json()["totals"]["revenue"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, available_models() * 4))
    assert [status for status, _ in results] == [200] * len(results)
    assert [revenue for _, revenue in results] == pytest.approx([150.0] * len(results), rel=1e-12)
