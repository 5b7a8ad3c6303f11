"""Issue #12, clean outputs: no spreadsheet formulas in any CSV, no server internals in errors.

A channel or campaign named like a formula (``=HYPERLINK(...)``, ``@SUM(A1)``,
``-2+3``) is written to every CSV with a leading ``'``; numeric columns, and
text that is a plain number (``+1``, ``-40``), stay as they are. Problem
details over HTTP name the store by its file name and never quote DuckDB.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.cli import main
from api.http.app import create_app
from api.http.deps import get_store
from api.http.errors import DATABASE_ERROR_TYPE
from api.http.settings import Settings
from attribution.errors import StoreBusyError
from ingest import Store, ingest_adapter, ingest_frame
from tests.api.test_api_errors import FailingStore
from tests.ingest.test_ingest_store import another_process_holding

HYPERLINK = '=HYPERLINK("http://x")'
FORMULAS = {HYPERLINK: "'" + HYPERLINK, "@SUM(A1)": "'@SUM(A1)", "-2+3": "'-2+3"}
"""Formula-like text as ingested → as every CSV must show it."""

TOUCHPOINTS = pl.DataFrame(
    {
        "touchpoint_id": ["t1", "t2", "t3", "t4"],
        "user_id": ["u1", "u1", "u2", "u2"],
        "ts": [
            "2024-01-01T10:00:00Z",
            "2024-01-05T10:00:00Z",
            "2024-01-03T10:00:00Z",
            "2024-01-04T10:00:00Z",
        ],
        "channel": [HYPERLINK, "-2+3", "+1", "@SUM(A1)"],
        "campaign": ["@SUM(A1)", "-2+3", "brand", HYPERLINK],
    }
)
CONVERSIONS = pl.DataFrame(
    {
        "conversion_id": ["c1", "c2", "l1"],
        "user_id": ["u1", "u2", "u1"],
        "ts": ["2024-01-10T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-02T00:00:00Z"],
        "stage": ["closed_won", "closed_won", "lead"],
        "revenue": [100.0, 50.0, 0.0],
    }
)
COSTS = pl.DataFrame(
    {
        "date": ["2024-01-01", "2024-01-03"],
        "channel": [HYPERLINK, "+1"],
        "campaign": ["@SUM(A1)", "brand"],
        "spend": [10.0, 1000.0],  # "+1" earns 25 on 1000: a negative ROI
    }
)
AssertProblem = Callable[..., dict[str, Any]]

EXPECTED_CHANNELS = {"'" + HYPERLINK, "'-2+3", "+1", "'@SUM(A1)"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose channels and campaigns look like spreadsheet formulas."""
    path = tmp_path_factory.mktemp("clean") / "s.duckdb"
    store = Store(path)
    for table, frame in (
        ("touchpoints", TOUCHPOINTS),
        ("conversions", CONVERSIONS),
        ("costs", COSTS),
    ):
        ingest_frame(store, table, frame)
    return path


@pytest.fixture(scope="module")
def client(db: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_path=db, wait_seconds=0.2))) as test_client:
        yield test_client


def rows(text: str) -> list[dict[str, str]]:
    """Parse CSV as a spreadsheet importer would (RFC 4180 quoting undone)."""
    return list(csv.DictReader(io.StringIO(text)))


def assert_clean(text: str, numeric: tuple[str, ...]) -> list[dict[str, str]]:
    """Assert no cell of ``text`` would run as a formula and numeric cells are plain numbers."""
    parsed = rows(text)
    assert parsed, text
    for row in parsed:
        for name, cell in row.items():
            if name in numeric:
                if cell not in ("", "NaN", "inf", "-inf"):
                    float(cell)  # a number, unquoted
                continue
            starts = cell[:1] in ("=", "+", "-", "@", "\t", "\r")
            if starts:
                assert cell.lstrip("+-").replace(".", "", 1).isdigit(), (name, cell)
    return parsed


def test_cli_attribute_csv(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    capsys.readouterr()
    code = main(["attribute", "--model", "linear", "--db", str(db), "--format", "csv"])
    out, err = capsys.readouterr()
    assert code == 0, err
    parsed = assert_clean(out, ("conversions", "revenue", "spend", "roas", "roi", "cpa"))
    assert {row["channel"] for row in parsed} == EXPECTED_CHANNELS
    plus_one = next(row for row in parsed if row["channel"] == "+1")
    assert plus_one["roi"].startswith("-")  # a negative number, written as a number
    assert float(plus_one["roi"]) < 0
    assert "'=HYPERLINK(" in out


def test_cli_attribute_csv_by_campaign(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    capsys.readouterr()
    argv = ["attribute", "--model", "linear", "--by", "campaign", "--db", str(db)]
    assert main([*argv, "--format", "csv"]) == 0
    parsed = assert_clean(capsys.readouterr().out, ("conversions", "revenue"))
    assert {row["campaign"] for row in parsed} >= {"'" + HYPERLINK, "'@SUM(A1)", "'-2+3"}


def test_cli_funnel_csv(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    capsys.readouterr()
    assert main(["funnel", "--by", "channel", "--db", str(db), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    parsed = rows(out)
    assert "'" + HYPERLINK in {row["channel"] for row in parsed}
    assert all(not row["leads"].startswith("'") for row in parsed)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/v1/attribution?model=linear&format=csv", {}),
        ("/v1/attribution?model=linear", {"Accept": "text/csv"}),
        ("/v1/attribution?model=linear&format=csv&limit=2", {}),
    ],
)
def test_http_attribution_csv(client: TestClient, url: str, headers: dict[str, str]) -> None:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    parsed = assert_clean(response.text, ("conversions", "revenue", "spend", "roi"))
    assert {row["channel"] for row in parsed} <= EXPECTED_CHANNELS


def test_http_attribution_csv_has_every_channel(client: TestClient) -> None:
    text = client.get("/v1/attribution?model=linear&format=csv").text
    assert {row["channel"] for row in rows(text)} == EXPECTED_CHANNELS
    json_rows = client.get("/v1/attribution?model=linear").json()["data"]
    assert {row["channel"] for row in json_rows} == {HYPERLINK, "-2+3", "+1", "@SUM(A1)"}


def test_http_funnel_csv(client: TestClient) -> None:
    response = client.get("/v1/funnel?by=channel&format=csv")
    assert response.status_code == 200, response.text
    parsed = rows(response.text)
    # The funnel credits each person's first touch: HYPERLINK for u1, "+1" for u2.
    assert {row["channel"] for row in parsed} == {"'" + HYPERLINK, "+1", "TOTAL"}
    assert all(not row["leads"].startswith("'") for row in parsed)


def test_cli_rejects_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "conversions.csv"
    bad.write_text(
        "conversion_id,user_id,ts,stage,revenue\n"
        "c1,u1,2024-01-10T00:00:00Z,closed_won,100\n"
        'c2,@SUM(A1),2024-01-06T00:00:00Z,"=HYPERLINK(""http://x"")",-40\n'
        "c3,-2+3,yesterday,closed_won,5\n"
    )
    rejects = tmp_path / "rejects.csv"
    argv = ["ingest", "conversions", str(bad), "--db", str(tmp_path / "r.duckdb")]
    assert main([*argv, "--skip-invalid", "--rejects", str(rejects)]) == 0
    parsed = rows(rejects.read_text())
    by_id = {row["conversion_id"]: row for row in parsed}
    assert by_id["c2"]["user_id"] == "'@SUM(A1)"
    assert by_id["c2"]["stage"] == "'" + HYPERLINK
    assert by_id["c2"]["revenue"] == "-40"  # the number the user wrote, unchanged
    assert by_id["c3"]["user_id"] == "'-2+3"
    assert by_id["c3"]["revenue"] == "5"


def test_adapter_rejects_csv(tmp_path: Path) -> None:
    export = tmp_path / "meta.csv"
    export.write_text(
        "date_start,campaign_name,spend,impressions,clicks,account_currency\n"
        "2024-03-01,@SUM(A1),12.50,1000,9,USD\n"
        "not a date,=HYPERLINK(1),7,800,4,USD\n"
    )
    rejects = tmp_path / "meta.rejects.csv"
    store = Store(tmp_path / "a.duckdb")
    ingest_adapter(store, "meta_ads", [export], skip_invalid=True, rejects_path=rejects)
    text = rejects.read_text()
    assert "'=HYPERLINK(1)" in text
    assert "\n=" not in text
    assert ",=" not in text
    assert store.read("costs")["campaign"].to_list() == ["@SUM(A1)"]  # the store keeps raw text


def test_store_path_is_a_file_name_over_http(tmp_path: Path, assert_problem: AssertProblem) -> None:
    db = tmp_path / "busy.duckdb"
    Store(db)
    app = create_app(Settings(db_path=db, wait_seconds=0.2))
    with another_process_holding(db), TestClient(app) as test_client:
        response = test_client.get("/v1/health")
    body = assert_problem(response, 503, "Store busy")
    assert "'busy.duckdb'" in body["detail"]
    assert str(tmp_path) not in response.text
    assert response.headers["retry-after"]


def test_store_error_paths_are_file_names(tmp_path: Path, assert_problem: AssertProblem) -> None:
    db = tmp_path / "deep" / "s.duckdb"
    app = create_app(Settings(db_path=db))
    message = f"The store '{db}' is locked by another process: POST /v1/ingest/costs."
    app.dependency_overrides[get_store] = lambda: FailingStore(StoreBusyError(message))
    with TestClient(app) as test_client:
        body = assert_problem(test_client.get("/v1/health"), 503, "Store busy")
    assert body["detail"] == (
        "The store 's.duckdb' is locked by another process: POST /v1/ingest/costs."
    )


def test_duckdb_error_is_generic_over_http(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "not-a-file.duckdb"
    folder.mkdir()
    app = create_app(Settings(db_path=folder, wait_seconds=0.2))
    with TestClient(app) as test_client:
        response = test_client.get("/v1/health")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == DATABASE_ERROR_TYPE
    assert body["title"] == "Store error"
    assert body["detail"].startswith("The store 'not-a-file.duckdb' reported a database error.")
    assert str(tmp_path) not in response.text
    assert "IO Error" not in response.text
    # The CLI keeps the full path: its user needs it.
    capsys.readouterr()
    assert main(["attribute", "--model", "linear", "--db", str(folder)]) != 0
    assert str(folder) in capsys.readouterr().err
