"""Every interface shows an answer's diagnostics: HTTP JSON, CLI, the HTML report.

The API example (see ``conftest.py``) plus what a new user's data hides:

- u4 closed a 1,000 deal with no touch at all (on the ``(no touchpoint)`` row:
  1 of 3 conversions, 1,000 of 1,150 revenue);
- the cost file spells ``Search`` as ``search`` on Jan 5 (7 of spend);
- a ``Demo Booked`` row no funnel knows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from tests.api.conftest import TestClient, write_example

EXTRA_CONVERSIONS = """\
conversion_id,user_id,ts,stage,revenue
c3,u4,2024-01-08T00:00:00Z,closed_won,1000
d1,u3,2024-01-07T00:00:00Z,Demo Booked,0
"""

EXTRA_COSTS = "date,channel,campaign,spend\n2024-01-05,search,brand,7\n"


@pytest.fixture
def hiding_db(tmp_path: Path) -> Path:
    db = tmp_path / "hides.duckdb"
    files = write_example(tmp_path / "data")
    (tmp_path / "data" / "more_conversions.csv").write_text(EXTRA_CONVERSIONS)
    (tmp_path / "data" / "more_costs.csv").write_text(EXTRA_COSTS)
    for table, file in [
        *files.items(),
        ("conversions", tmp_path / "data" / "more_conversions.csv"),
        ("costs", tmp_path / "data" / "more_costs.csv"),
    ]:
        assert main(["ingest", table, str(file), "--db", str(db)]) == 0
    return db


@pytest.fixture
def hiding_client(hiding_db: Path) -> TestClient:
    from api.http.app import create_app
    from api.http.settings import Settings

    return TestClient(create_app(Settings(db_path=hiding_db, public_read=True)))


def test_api_attribution_warnings(hiding_client: TestClient) -> None:
    response = hiding_client.get("/v1/attribution", params={"model": "linear"})
    assert response.status_code == 200
    warnings = {w["code"]: w for w in response.json()["warnings"]}
    assert set(warnings) == {"no_touch_in_lookback", "spend_without_touches", "unknown_stage"}
    untouched = warnings["no_touch_in_lookback"]
    assert untouched["severity"] == "warning"
    assert untouched["conversions"] == 1
    assert untouched["revenue"] == 1000.0
    assert untouched["share_revenue"] == pytest.approx(1000 / 1150)
    assert untouched["never_touched"] == 1
    orphan = warnings["spend_without_touches"]
    assert orphan["keys"] == [{"key": "search", "spend": 7.0, "did_you_mean": "Search"}]
    assert warnings["unknown_stage"]["stages"][0]["stage"] == "Demo Booked"


def test_api_clean_answer_has_an_empty_list(client: TestClient) -> None:
    body = client.get("/v1/attribution", params={"model": "linear"}).json()
    assert body["warnings"] == []


def test_api_funnel_warnings(hiding_client: TestClient) -> None:
    body = hiding_client.get("/v1/funnel").json()
    codes = [w["code"] for w in body["warnings"]]
    assert "unknown_stage" in codes
    assert "funnel_stage_absent" in codes
    # warnings before information
    severities = [w["severity"] for w in body["warnings"]]
    assert severities == sorted(severities, key=lambda s: s != "warning")


def test_cli_prints_warnings_under_the_table(
    hiding_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["attribute", "--model", "linear", "--db", str(hiding_db)]) == 0
    out = capsys.readouterr().out
    table_end = out.index("TOTAL")
    line = "warning [spend_without_touches]: "
    assert out.index(line) > table_end
    assert "'search' (did you mean 'Search'?)" in out
    assert "warning [no_touch_in_lookback]: 1 of 3 closed_won conversions (33.3%)" in out


def test_cli_csv_warns_on_stderr_and_json_carries_them(
    hiding_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["attribute", "--model", "linear", "--format", "csv", "--db", str(hiding_db)]) == 0
    captured = capsys.readouterr()
    assert "warning [" not in captured.out
    assert "warning [spend_without_touches]" in captured.err
    assert main(["funnel", "--format", "json", "--db", str(hiding_db)]) == 0
    body = json.loads(capsys.readouterr().out)
    assert "unknown_stage" in [w["code"] for w in body["warnings"]]


def test_report_has_a_what_the_data_hides_box(hiding_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(hiding_db), "--models", "linear", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    box = page.index('<section class="hides" id="warnings">')
    assert box < page.index('id="headline"')
    assert "<h2>What the data hides</h2>" in page
    assert "<code>spend_without_touches</code>" in page
    # (no touchpoint) and Demo Booked are escaped text, not markup
    assert "no_touch_in_lookback" in page
    assert "&#39;Demo Booked&#39;" in page or "'Demo Booked'" in page


def test_api_compare_carries_the_period_warnings(hiding_client: TestClient) -> None:
    compared = hiding_client.get("/v1/compare", params={"models": "first_touch,linear"}).json()
    single = hiding_client.get("/v1/attribution", params={"model": "linear"}).json()
    assert compared["warnings"] == single["warnings"]


@pytest.mark.parametrize("route", ["/v1/paths", "/v1/timeseries"])
def test_api_paths_and_timeseries_carry_warnings(hiding_client: TestClient, route: str) -> None:
    body = hiding_client.get(route).json()
    untouched = {w["code"]: w for w in body["warnings"]}["no_touch_in_lookback"]
    # u4's 1,000 deal: 1 of the 3 closed_won conversions, 1,000 of 1,150 revenue
    assert untouched["conversions"] == 1
    assert untouched["share_revenue"] == pytest.approx(1000 / 1150)
    assert "unknown_stage" in {w["code"] for w in body["warnings"]}
