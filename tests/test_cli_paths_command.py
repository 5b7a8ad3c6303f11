"""``closedloop paths``: top paths, GA4 buckets, early/middle/late touches (store or files).

The data (tests/test_cli.py), closed_won: u1 Email (Jan 1) > Search (Jan 5) converts on
Jan 10 for 100 (2 touches, 9 days); u2 Search (Jan 3) converts on Jan 6 for 50 (1 touch,
3 days); u3 Social never converts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV, Capture, run


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI tests' files and a store holding them (the tests only read it)."""
    folder = tmp_path_factory.mktemp("paths")
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        file = folder / f"{table}.csv"
        file.write_text(text)
        assert main(["ingest", table, str(file), "--db", str(folder / "s.duckdb")]) == 0
    return folder


def test_table_shows_every_section(capsys: Capture, folder: Path) -> None:
    code, out, err = run(capsys, "paths", "--stage", "closed_won", "--db", str(folder / "s.duckdb"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Paths by channel (stage closed_won, 90-day lookback)"
    for title in (
        "Path length (touches, GA4 buckets)",
        "Time lag (whole days from first touch to conversion, GA4 buckets)",
        "Early / middle / late touches of converting journeys by channel (first 25% / "
        "middle 50% / last 25% of each path's touches; revenue in USD)",
    ):
        assert title in lines
    rows = {r.split("┆")[0].strip("│ "): [c.strip(" │") for c in r.split("┆")[1:]]
            for r in lines if "┆" in r}  # fmt: skip
    assert rows["Email > Search"][:4] == ["1", "1.0", "100.0%", "$100.00"]
    assert rows["8-11"] == ["1.0", "$100.00"]  # u1's 9 days
    # Search: early of u2 (1.0, 50); middle ½ of u1 + all of u2; late of both.
    assert rows["Search"] == ["1.0", "$50.00", "1.5", "$100.00", "2.0", "$150.00"]


def test_top_json_and_csv(capsys: Capture, folder: Path) -> None:
    db = ("--stage", "closed_won", "--db", str(folder / "s.duckdb"))
    code, out, _ = run(capsys, "paths", "--top", "1", *db)
    assert code == 0
    assert out.startswith("Top 1 of 3 paths by channel")
    code, out, _ = run(capsys, "paths", "--top", "2", "--format", "json", *db)
    body = json.loads(out)
    assert [r["path"] for r in body["data"]] == ["Email > Search", "Search"]
    assert body["count"] == 3
    assert [r["bucket"] for r in body["length_buckets"]][-2:] == ["8-11", "12+"]
    assert body["length_buckets"][0] == {
        "bucket": "1", "journeys": 2.0, "conversions": 1.0, "revenue": 50.0
    }  # fmt: skip
    assert sum(r["late_revenue"] for r in body["touch_positions"]) == 150.0
    code, out, _ = run(capsys, "paths", "--top", "0", "--format", "csv", *db)
    assert out.splitlines()[0].startswith("path,steps,journeys,conversions")
    assert len(out.splitlines()) == 4


def test_files_by_campaign_without_collapse(capsys: Capture, folder: Path) -> None:
    code, out, err = run(
        capsys, "paths", "--touchpoints", str(folder / "touchpoints.csv"),
        "--conversions", str(folder / "conversions.csv"), "--stage", "closed_won",
        "--by", "campaign", "--no-collapse", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body["by"] == "campaign"
    assert {r["path"] for r in body["data"]} == {"newsletter > brand", "generic", "prospecting"}


def test_errors(capsys: Capture, folder: Path) -> None:
    code, _, err = run(capsys, "paths", "--touchpoints", str(folder / "touchpoints.csv"))
    assert code == 2
    assert "needs both --touchpoints and --conversions" in err
    code, _, err = run(capsys, "paths", "--by", "owner", "--db", str(folder / "s.duckdb"))
    assert code == 2
    assert "Cannot report by 'owner'" in err
