"""Results say only what the data or the caller says: no invented period or currency.

An aggregated path table has no dates and no currency, so its report has
``start``, ``end`` and ``currency`` null unless ``--start``, ``--end`` and
``--currency`` (API: ``start``, ``end``, ``currency``) give them; frames given
to the library without a currency report ``null`` too.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.http.settings import Settings
from attribution import attribute, attribute_paths
from attribution.errors import ParameterError
from attribution.report import _tiny_example

PATHS = pl.DataFrame(
    {
        "path": ["a > b", "b", "a"],
        "total_conversions": [2, 1, 0],
        "total_conversion_value": [20.0, 5.0, 0.0],
        "total_null": [3, 6, 4],
    }
)


def test_a_path_table_reports_no_period_and_no_currency() -> None:
    report = attribute_paths(PATHS, model="linear")
    assert (report.start, report.end, report.currency) == (None, None, None)
    body = report.to_dict()
    assert (body["start"], body["end"], body["currency"]) == (None, None, None)
    header = report.to_table().splitlines()[0]
    assert header == "model linear · by channel · aggregated paths from paths"


def test_a_path_table_echoes_what_it_is_given() -> None:
    report = attribute_paths(
        PATHS, model="linear", start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31), currency="eur"
    )
    body = report.to_dict()
    assert (body["start"], body["end"], body["currency"]) == ("2024-01-01", "2024-03-31", "EUR")
    assert report.to_table().splitlines()[0].endswith(" · 2024-01-01 to 2024-03-31 · EUR")
    # Labels only: the numbers are those of the undated table.
    assert body["totals"] == attribute_paths(PATHS, model="linear").to_dict()["totals"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"currency": "euro"}, "Currency 'euro' is not a three-letter ISO 4217 code"),
        (
            {"start": dt.date(2024, 2, 1), "end": dt.date(2024, 1, 1)},
            "start (2024-02-01) is after end (2024-01-01)",
        ),
    ],
)
def test_a_path_table_refuses_a_bad_label(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError) as raised:
        attribute_paths(PATHS, model="linear", **kwargs)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_frames_without_a_currency_report_null() -> None:
    report = attribute(*_tiny_example(), model="linear")
    assert report.currency is None
    assert report.to_dict()["currency"] is None
    assert report.to_table().splitlines()[0].endswith("lookback 90.0 days")
    named = attribute(*_tiny_example(), model="linear", currency="EUR")
    assert named.to_table().splitlines()[0].endswith("lookback 90.0 days · EUR")
    # The period of timed data is still the data's own.
    assert (report.to_dict()["start"], report.to_dict()["end"]) == ("2024-01-01", "2024-01-03")


@pytest.fixture
def paths_csv(tmp_path: Path) -> Path:
    path = tmp_path / "paths.csv"
    PATHS.write_csv(path)
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["attribute", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_paths_print_no_invented_period(
    capsys: pytest.CaptureFixture[str], paths_csv: Path
) -> None:
    code, out, err = _cli(capsys, "--paths", str(paths_csv), "--model", "markov")
    assert (code, err) == (0, "")
    header = out.splitlines()[0]
    assert header.endswith("aggregated paths from 'paths.csv'")
    assert "2000" not in header
    assert "USD" not in header
    code, out, _ = _cli(capsys, "--paths", str(paths_csv), "--model", "markov", "--format", "json")
    body = json.loads(out)
    assert (body["start"], body["end"], body["currency"]) == (None, None, None)


def test_cli_paths_echo_start_end_and_currency(
    capsys: pytest.CaptureFixture[str], paths_csv: Path
) -> None:
    given = ("--start", "2024-01-01", "--end", "2024-03-31", "--currency", "brl")
    code, out, _ = _cli(capsys, "--paths", str(paths_csv), "--model", "linear", *given)
    assert code == 0
    assert out.splitlines()[0].endswith(" · 2024-01-01 to 2024-03-31 · BRL")
    code, out, _ = _cli(
        capsys, "--paths", str(paths_csv), "--model", "linear", *given, "--format", "json"
    )
    body = json.loads(out)
    assert (body["start"], body["end"], body["currency"]) == ("2024-01-01", "2024-03-31", "BRL")
    code, _, err = _cli(
        capsys, "--paths", str(paths_csv), "--model", "linear", "--start", "2024-05-01",
        "--end", "2024-01-01",
    )  # fmt: skip
    assert code == 2
    assert "start (2024-05-01) is after end (2024-01-01)" in err


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(db_path=tmp_path / "metadata.duckdb")))


def test_api_paths_null_unless_given(client: TestClient) -> None:
    records = PATHS.to_dicts()
    body = client.post("/v1/attribution/paths?model=linear", json=records).json()
    assert (body["start"], body["end"], body["currency"]) == (None, None, None)
    given = client.post(
        "/v1/attribution/paths?model=linear&start=2024-01-01&end=2024-03-31&currency=EUR",
        json=records,
    ).json()
    assert (given["start"], given["end"], given["currency"]) == ("2024-01-01", "2024-03-31", "EUR")
    assert "currency" not in given["params"]  # a label of the answer, not a model parameter


@pytest.mark.parametrize(
    ("query", "field"),
    [("currency=euro", "currency"), ("start=2024-13-01", "start"), ("end=0", "end")],
)
def test_api_paths_bad_labels_are_problems(client: TestClient, query: str, field: str) -> None:
    response = client.post(f"/v1/attribution/paths?model=linear&{query}", json=PATHS.to_dicts())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_api_paths_start_after_end(client: TestClient) -> None:
    response = client.post(
        "/v1/attribution/paths?model=linear&start=2024-02-01&end=2024-01-01",
        json=PATHS.to_dicts(),
    )
    assert response.status_code == 422
    assert "start (2024-02-01) is after end (2024-01-01)" in response.json()["detail"]


def test_answers_on_an_empty_store_invent_nothing(empty_client: TestClient) -> None:
    for route in ("/v1/attribution?model=linear", "/v1/funnel", "/v1/paths", "/v1/compare"):
        response = empty_client.get(route)
        assert response.status_code == 422, route
        body = response.json()
        assert body["title"] == "Empty input", route
        assert body["detail"].count("holds none") == 1, route  # compare: once, not per model


def test_funnel_and_budget_on_frames_name_no_currency() -> None:
    from api.services.budget import curves_table
    from attribution.budget.analysis import _example_frames, response_curves
    from attribution.funnel import funnel

    touchpoints, conversions, costs = _tiny_example()
    counted = funnel(conversions, touchpoints, costs)
    assert counted.currency is None
    assert counted.to_dict()["currency"] is None
    assert not counted.to_table().splitlines()[0].endswith(("None", "USD"))
    assert (
        funnel(conversions, touchpoints, costs, currency="EUR")
        .to_table()
        .splitlines()[0]
        .endswith(" · EUR")
    )
    curves = response_curves(*_example_frames(), model="linear", resamples=0)
    assert curves.meta["currency"] is None
    assert curves_table(curves).splitlines()[0].endswith(" weeks · per week")
