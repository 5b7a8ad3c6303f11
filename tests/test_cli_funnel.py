"""``closedloop funnel``: output formats, options and errors (store from tests/test_cli.py)."""

from __future__ import annotations

import json

import pytest

from api.cli import main
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV, Capture, run


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with the CLI tests' example data, ingested once (the tests only read it)."""
    folder = tmp_path_factory.mktemp("funnel")
    path = str(folder / "funnel.duckdb")
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        file = folder / f"{table}.csv"
        file.write_text(text)
        assert main(["ingest", table, str(file), "--db", path]) == 0
    return path


def test_funnel_table(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "funnel", "--by", "channel", "--db", db)
    assert code == 0, err
    # The data has lead and closed_won rows: the default funnel keeps those stages.
    assert out.startswith("funnel lead → closed_won (lost: closed_lost)")
    assert "cohort · by channel (person's first touch)" in out
    assert "lead_conversion_rate" in out
    assert "TOTAL" in out
    assert out.rstrip().endswith(
        "note: no losing stage (closed_lost) in the data: lost and win_rate are null"
    )


def test_funnel_absent_stages_show_as_dashes_not_rates(capsys: Capture, db: str) -> None:
    stages = "lead,mql,sql,opportunity,closed_won"
    code, out, err = run(capsys, "funnel", "--stages", stages, "--db", db)
    assert code == 0, err
    lines = {line.split("┆")[0].strip("│ "): line for line in out.splitlines() if "┆" in line}
    for metric in ("mqls", "sqls", "opportunities", "lost", "lead_to_mql_rate",
                   "mql_to_sql_rate", "sql_to_opportunity_rate", "opportunity_to_won_rate",
                   "win_rate"):  # fmt: skip
        assert lines[metric].split("┆")[1].strip(" │") == "—", metric
    assert lines["leads"].split("┆")[1].strip(" │") == "2"
    assert "note: no rows of mql, sql, opportunity in the data" in out
    code, out, _ = run(capsys, "funnel", "--stages", stages, "--format", "csv", "--db", db)
    header, total = out.splitlines()
    cells = dict(zip(header.split(","), total.split(","), strict=True))
    assert (cells["leads"], cells["mqls"], cells["win_rate"]) == ("2", "", "")


def test_funnel_json_period(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys,
        "funnel",
        "--period",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-31",
        "--format",
        "json",
        "--db",
        db,
    )
    assert code == 0
    body = json.loads(out)
    assert body["mode"] == "period"
    assert body["totals"]["leads"] == 2
    assert body["totals"]["revenue"] == 150.0


def test_funnel_csv_by_owner_with_stages(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys,
        "funnel",
        "--by",
        "owner",
        "--stages",
        "lead,closed_won",
        "--format",
        "csv",
        "--db",
        db,
    )
    assert code == 0
    assert out.startswith("owner,leads,won,lost,customers,")
    assert "lead_to_won_rate" in out.splitlines()[0]


def test_funnel_cohort_and_period_exclude_each_other(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "funnel", "--cohort", "--period", "--db", db)
    assert code == 2
    assert "not allowed with argument" in err


def test_funnel_lost_stages_need_stages(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "funnel", "--lost-stages", "lost", "--db", db)
    assert code == 2
    assert "lost stages go with stages" in err
