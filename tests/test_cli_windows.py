"""Click and view windows through the CLI (files and store) and the HTTP API.

The data is ``docs/windows.md``'s hand-worked person: a Display impression and
a Search click two days before a 100 conversion, a Social impression twelve
hours before it; a second person who never converts.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.http.app import create_app
from api.http.settings import Settings
from ingest import Store, ingest_files
from tests.api.conftest import check_problem

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

TOUCHPOINTS = """\
touchpoint_id,user_id,ts,channel,interaction
t1,a,2024-01-08T09:00:00Z,Display,impression
t2,a,2024-01-08T09:00:00Z,Search,click
t3,a,2024-01-09T21:00:00Z,Social,Impression
t4,b,2024-01-05T09:00:00Z,Display,impression
t5,b,2024-01-09T09:00:00Z,Search,click
"""
CONVERSIONS = """\
conversion_id,user_id,ts,stage,revenue
c1,a,2024-01-10T09:00:00Z,closed_won,100
"""

Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("windows")
    paths = {"touchpoints": folder / "t.csv", "conversions": folder / "c.csv"}
    paths["touchpoints"].write_text(TOUCHPOINTS)
    paths["conversions"].write_text(CONVERSIONS)
    return paths


@pytest.fixture(scope="module")
def db(files: dict[str, Path]) -> Path:
    path = files["touchpoints"].parent / "windows.duckdb"
    store = Store(path)
    for table, file in files.items():
        ingest_files(store, table, [file])
    return path


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _revenue(body: dict[str, Any]) -> dict[str, float]:
    return {row["channel"]: round(row["revenue"], 2) for row in body["data"]}


@pytest.mark.parametrize("source", ["files", "store"])
@pytest.mark.parametrize("model", ["linear", "markov"])
def test_attribute_windows(
    capsys: Capture, files: dict[str, Path], db: Path, source: str, model: str
) -> None:
    where = (
        ["--touchpoints", str(files["touchpoints"]), "--conversions", str(files["conversions"])]
        if source == "files"
        else ["--db", str(db)]
    )
    base = ["attribute", "--model", model, *where, "--format", "json"]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    body = json.loads(out)
    assert body["windows"] == {
        "click_days": 90.0,
        "view_days": 1.0,
        "view_interactions": ["impression"],
    }
    assert set(_revenue(body)) == {"Search", "Social"}
    assert body["totals"]["view_only_conversions"] == 0
    code, out, err = run(capsys, *base, "--view-window-days", "7")
    assert code == 0, err
    assert set(_revenue(json.loads(out))) == {"Display", "Search", "Social"}
    code, out, err = run(capsys, *base, "--click-window-days", "1")
    assert code == 0, err
    body = json.loads(out)
    assert _revenue(body) == {"Social": 100.0}
    assert body["totals"]["view_only_conversions"] == 1


def test_attribute_table_says_the_windows(capsys: Capture, db: Path) -> None:
    code, out, _ = run(
        capsys, "attribute", "--model", "linear", "--db", str(db), "--click-window-days", "7"
    )
    assert code == 0
    assert (
        "windows 7-day click / 1-day view (impressions) · 0 conversions reached by views only"
        in (out)
    )


def test_a_window_longer_than_the_lookback_exits_2(capsys: Capture, db: Path) -> None:
    code, out, err = run(
        capsys, "attribute", "--model", "linear", "--db", str(db), "--lookback-days", "30",
        "--click-window-days", "45",
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert "click_window_days (45) is longer than lookback_days (30)" in err
    assert "Raise lookback_days to at least 45" in err


def test_paths_take_no_window(capsys: Capture, tmp_path: Path) -> None:
    table = tmp_path / "paths.csv"
    table.write_text("path,total_conversions,total_conversion_value,total_null\nA > B,1,10,1\n")
    code, _, err = run(
        capsys, "attribute", "--model", "linear", "--paths", str(table), "--view-window-days", "7"
    )
    assert code == 2
    assert "--view-window-days" in err


@pytest.fixture(scope="module")
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_path=db, wait_seconds=0.2))) as client:
        yield client


def test_http_attribution_windows(client: TestClient) -> None:
    response = client.get("/v1/attribution", params={"model": "linear"})
    assert response.status_code == 200, response.text
    assert set(_revenue(response.json())) == {"Search", "Social"}
    response = client.get(
        "/v1/attribution", params={"model": "linear", "view_window_days": 7, "format": "json"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["windows"]["view_days"] == 7.0
    assert set(_revenue(body)) == {"Display", "Search", "Social"}


@pytest.mark.parametrize(
    "route", ["/v1/attribution?model=linear", "/v1/compare", "/v1/paths", "/v1/timeseries"]
)
def test_http_windows_are_checked_against_the_lookback(client: TestClient, route: str) -> None:
    sep = "&" if "?" in route else "?"
    response = client.get(f"{route}{sep}lookback_days=30&click_window_days=45")
    body = check_problem(response, 422, "Invalid parameter")
    assert "click_window_days (45) is longer than lookback_days (30)" in body["detail"]


def test_http_paths_and_compare_echo_the_windows(client: TestClient) -> None:
    for route in ("/v1/paths", "/v1/compare"):
        response = client.get(route, params={"click_window_days": 1})
        assert response.status_code == 200, response.text
        assert response.json()["windows"]["click_days"] == 1.0
