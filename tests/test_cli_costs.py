"""``closedloop ingest costs`` of a messy cost export and ``closedloop attribute`` on it.

``--cost-map``, ``--cost-match loose``, ``--cost-grain month``, the ``[cost_map]``
of ``--mapping``, the notes on stderr, and reports showing "—" where spend is
unknown (``--by source``) or CPA undefined (a channel without spend).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from ingest import Store

Capture = pytest.CaptureFixture[str]

TOUCHPOINTS = """\
touchpoint_id,user_id,ts,channel,campaign,source
t1,u1,2024-03-04T10:00:00Z,Paid Search,brand_search,google
t2,u2,2024-03-05T10:00:00Z,Paid Search,brand_search,bing
t3,u3,2024-03-05T10:00:00Z,Organic Search,,google
"""

CONVERSIONS = """\
conversion_id,user_id,ts,stage,revenue
c1,u1,2024-03-06T00:00:00Z,purchase,300
c2,u2,2024-03-07T00:00:00Z,purchase,100
c3,u3,2024-03-07T00:00:00Z,purchase,50
"""

# Monthly rows as an ads UI exports them, names as someone typed them.
COSTS = """\
Month,Channel,Campaign,Cost
2024-03-01,paid search,BRAND_SEARCH,310
2024-03-01,Paid Socail,prospecting,62
"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    db = str(tmp_path / "s.duckdb")
    for table, text in (("touchpoints", TOUCHPOINTS), ("conversions", CONVERSIONS)):
        (tmp_path / f"{table}.csv").write_text(text)
        assert main(["ingest", table, str(tmp_path / f"{table}.csv"), "--db", db]) == 0
    (tmp_path / "costs.csv").write_text(COSTS)
    (tmp_path / "map.toml").write_text(
        '[costs]\ndate = "Month"\nchannel = "Channel"\ncampaign = "Campaign"\nspend = "Cost"\n'
        '\n[cost_map.channel]\n"Paid Socail" = "Paid Social"\n'
    )
    return db


def test_a_messy_monthly_cost_export_joins(capsys: Capture, tmp_path: Path, db: str) -> None:
    capsys.readouterr()
    argv = ["ingest", "costs", str(tmp_path / "costs.csv"), "--db", db]
    argv += ["--mapping", str(tmp_path / "map.toml"), "--cost-match", "loose"]
    assert main([*argv, "--cost-grain", "month"]) == 0
    out, err = capsys.readouterr()
    assert "2 rows read from 1 file — 62 inserted" in out
    assert err.splitlines() == [
        "closedloop ingest: warning: cost campaign 'BRAND_SEARCH' renamed 'brand_search' (1 row): "
        "matched a touch campaign ignoring case and spaces",
        "closedloop ingest: warning: cost channel 'Paid Socail' renamed 'Paid Social' (1 row): by "
        "the cost map",
        "closedloop ingest: warning: cost channel 'paid search' renamed 'Paid Search' (1 row): "
        "matched a touch channel ignoring case and spaces",
        "closedloop ingest: warning: 2 monthly cost rows spread evenly over 62 days (spend, "
        "impressions and clicks add up to each row's)",
    ]
    costs = Store(db).read("costs")
    assert sorted(set(costs["channel"].to_list())) == ["Paid Search", "Paid Social"]

    report = ["attribute", "--db", db, "--model", "last_touch", "--format", "json"]
    # March 1-10: 10 of 31 days, so 100 of Paid Search's 310; 2 conversions, CPA 50.
    period = ["--start", "2024-03-01", "--end", "2024-03-10"]
    assert main([*report, *period]) == 0
    rows = {r["channel"]: r for r in json.loads(capsys.readouterr().out)["data"]}
    assert (rows["Paid Search"]["spend"], rows["Paid Search"]["cpa"]) == (100.0, 50.0)
    # Organic Search has a conversion and no spend: CPA unknown, not 0.00.
    assert (rows["Organic Search"]["spend"], rows["Organic Search"]["cpa"]) == (0.0, None)


def test_report_by_source_shows_dashes_for_spend(capsys: Capture, tmp_path: Path, db: str) -> None:
    argv = ["ingest", "costs", str(tmp_path / "costs.csv"), "--db", db, "--cost-grain", "month"]
    assert main([*argv, "--mapping", str(tmp_path / "map.toml")]) == 0
    capsys.readouterr()
    assert main(["attribute", "--db", db, "--model", "linear", "--by", "source"]) == 0
    table = capsys.readouterr().out.splitlines()
    google = next(line for line in table if "│ google" in line)
    assert [cell.strip(" │") for cell in google.split("┆")] == [
        "google", "2.0", "$350.00", "—", "—", "—", "—"
    ]  # fmt: skip
    total = next(line for line in table if "│ TOTAL" in line)
    assert "$372.00" in total  # the period's spend: 310 + 62


def test_cost_options_are_for_costs(capsys: Capture, tmp_path: Path, db: str) -> None:
    capsys.readouterr()
    argv = ["ingest", "touchpoints", str(tmp_path / "touchpoints.csv"), "--db", db]
    assert main([*argv, "--cost-grain", "week"]) == 2
    assert capsys.readouterr().err == (
        "closedloop ingest: error: --cost-map, --cost-match and --cost-grain apply to costs; "
        "touchpoints have no spend. Drop them, or ingest costs.\n"
    )


def test_a_budget_needs_a_key_spend_is_recorded_by(capsys: Capture, db: str) -> None:
    capsys.readouterr()
    assert main(["budget", "plan", "--db", db, "--by", "source"]) == 2
    assert capsys.readouterr().err == (
        "closedloop budget: error: Cannot plan a budget by 'source': spend is recorded by "
        "channel and campaign only. Choose channel or campaign.\n"
    )


def test_attributing_files_reads_costs_as_an_ingest_would(
    capsys: Capture, tmp_path: Path, db: str
) -> None:
    argv = ["ingest", "costs", str(tmp_path / "costs.csv"), "--db", db, "--cost-grain", "month"]
    assert main([*argv, "--mapping", str(tmp_path / "map.toml"), "--cost-match", "loose"]) == 0
    capsys.readouterr()
    report = ["attribute", "--model", "linear", "--format", "json", "--end", "2024-03-20"]
    assert main([*report, "--db", db]) == 0
    from_store = json.loads(capsys.readouterr().out)
    files = ["--touchpoints", str(tmp_path / "touchpoints.csv")]
    files += ["--conversions", str(tmp_path / "conversions.csv"), "--costs"]
    files += [str(tmp_path / "costs.csv"), "--mapping", str(tmp_path / "map.toml")]
    assert main([*report, *files, "--cost-match", "loose", "--cost-grain", "month"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["data"] == from_store["data"]
    assert "closedloop attribute: warning: cost channel 'paid search' renamed" in err
    # March 1-20 of a 310 month: 200.
    assert {r["channel"]: r["spend"] for r in from_store["data"]}["Paid Search"] == 200.0


def test_cost_options_need_a_costs_file(capsys: Capture, db: str) -> None:
    capsys.readouterr()
    assert main(["attribute", "--model", "linear", "--db", db, "--cost-grain", "week"]) == 2
    assert capsys.readouterr().err == (
        "closedloop attribute: error: --cost-map, --cost-match and --cost-grain read the --costs "
        "file; in the store, costs are matched and spread when ingested (closedloop ingest "
        "costs ...).\n"
    )
