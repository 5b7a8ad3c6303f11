"""``closedloop timeseries``: a pivot for people, the API's long rows for programs.

The data (tests/test_cli.py), closed_won, linear: c2 (Sat Jan 6, ISO week of Jan 1) gives
Search 50; c1 (Wed Jan 10, week of Jan 8) gives Email 50 and Search 50.
"""

from __future__ import annotations

import json

import pytest

from api.cli import main
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV, Capture, run


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("timeseries")
    path = str(folder / "s.duckdb")
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        file = folder / f"{table}.csv"
        file.write_text(text)
        assert main(["ingest", table, str(file), "--db", path]) == 0
    return path


def _cells(out: str) -> dict[str, list[str]]:
    return {
        line.split("┆")[0].strip("│ "): [c.strip(" │") for c in line.split("┆")[1:]]
        for line in out.splitlines()
        if "┆" in line
    }


def test_table_pivots_periods_by_keys(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "timeseries", "--stage", "closed_won", "--db", db)
    assert code == 0, err
    assert out.splitlines()[0] == (
        "revenue by channel per week (model linear, stage closed_won, USD)"
    )
    cells = _cells(out)
    assert cells["period"] == ["Email", "Search", "Social", "total"]
    assert cells["2024-01-01"] == ["$0.00", "$50.00", "$0.00", "$50.00"]
    assert cells["2024-01-08"] == ["$50.00", "$50.00", "$0.00", "$100.00"]


def test_roas_has_no_total_and_spend_by_campaign(capsys: Capture, db: str) -> None:
    code, out, _ = run(capsys, "timeseries", "--metric", "roas", "--stage", "closed_won",
                       "--db", db)  # fmt: skip
    assert code == 0
    assert "total" not in _cells(out)["period"]
    assert _cells(out)["2024-01-08"][0] == "—"  # Email spent nothing that week
    code, out, _ = run(capsys, "timeseries", "--metric", "spend", "--by", "campaign",
                       "--interval", "month", "--stage", "closed_won", "--db", db)  # fmt: skip
    assert _cells(out)["2024-01-01"][-1] == "$55.00"


def test_json_and_csv_are_long(capsys: Capture, db: str) -> None:
    args = ("timeseries", "--stage", "closed_won", "--interval", "day", "--db", db,
            "--start", "2024-01-06", "--end", "2024-01-10")  # fmt: skip
    code, out, _ = run(capsys, *args, "--format", "json")
    assert code == 0
    body = json.loads(out)
    assert body["interval"] == "day"
    assert body["periods"] == 5
    assert {"period": "2024-01-06", "channel": "Search", "revenue": 50.0} in body["data"]
    code, out, _ = run(capsys, *args, "--format", "csv")
    assert out.splitlines()[0] == "period,channel,revenue"
    assert len(out.splitlines()) == 1 + 5 * 2  # Email, Search: Social spent on Jan 4 only


def test_unknown_model_is_a_usage_error(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "timeseries", "--model", "shapely", "--db", db)
    assert code == 2
    assert "Did you mean 'shapley'?" in err
