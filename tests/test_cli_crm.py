"""``closedloop ingest`` of CRM exports as they come, and ``closedloop stages``.

Every flag (``--date-format``, ``--decimal``, ``--stage-map``, ``--currency``
on a table ingest) and every message: exit status, stdout and stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from ingest import Store

Capture = pytest.CaptureFixture[str]

HEADER = "conversion_id,user_id,ts,stage,revenue\n"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "crm.duckdb")


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def ingest(*argv: str) -> int:
    return main(["ingest", *argv])


def test_a_crm_export_as_it_comes(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(
        tmp_path,
        "deals.csv",
        HEADER + 'o1,u1,03/15/2025,Closed Won,"$12,000.00"\no2,u2,03/16/2025,Prospecting,$0\n',
    )
    assert ingest("conversions", path, "--db", db) == 0
    out, err = capsys.readouterr()
    assert "2 inserted" in out
    assert err == ""
    rows = Store(db).read("conversions").select("stage", "revenue").rows()
    assert rows == [("closed_won", 12_000.0), ("opportunity", 0.0)]


def test_ambiguous_dates(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "deals.csv", HEADER + "o1,u1,03/04/2025,lead,\n")
    assert ingest("conversions", path, "--db", db) == 2
    assert capsys.readouterr().err == (
        "closedloop ingest: error: deals.csv, column 'ts': cannot tell whether dates such as "
        "'03/04/2025' (row 1) are month/day/year or day/month/year: no first or second part is "
        "above 12. Pass --date-format %m/%d/%Y (month first) or --date-format %d/%m/%Y (day "
        "first).\n"
    )
    assert ingest("conversions", path, "--db", db, "--date-format", "%d/%m/%Y") == 0
    assert "1 inserted" in capsys.readouterr().out
    assert str(Store(db).read("conversions")["ts"][0].date()) == "2025-04-03"


def test_inconsistent_dates(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "d.csv", HEADER + "o1,u1,13/04/2025,lead,\no2,u1,04/13/2025,lead,\n")
    assert ingest("conversions", path, "--db", db) == 2
    err = capsys.readouterr().err
    assert "row 1 has '13/04/2025' (day first) but row 2 has '04/13/2025' (month first)" in err


def test_bad_date_format(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "deals.csv", HEADER)
    assert ingest("conversions", path, "--db", db, "--date-format", "%d/%m") == 2
    assert capsys.readouterr().err.startswith(
        "closedloop ingest: error: Bad --date-format '%d/%m': it must give the year, the month "
        "and the day"
    )


def test_decimal_comma(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "k.csv", 'date,channel,spend\n15.03.2025,Email,"1.234,56 €"\n')
    assert ingest("costs", path, "--db", db, "--decimal", ",", "--currency", "EUR") == 0
    capsys.readouterr()
    assert Store(db).read("costs")["spend"].to_list() == [1234.56]
    assert Store(db).currency == "EUR"
    assert ingest("costs", path, "--db", db, "--decimal", ";") == 2
    assert "argument --decimal: invalid choice: ';'" in capsys.readouterr().err


def test_stage_map_and_unknown_stage_warnings(capsys: Capture, tmp_path: Path, db: str) -> None:
    rows = "".join(f"o{i},u{i},2025-03-01,Demo Booked,\n" for i in range(3))
    path = write(tmp_path, "deals.csv", HEADER + rows + "o9,u9,2025-03-01,Webinar,\n")
    assert ingest("conversions", path, "--db", db) == 0
    out, err = capsys.readouterr()
    assert "4 inserted" in out
    assert err.splitlines() == [
        "closedloop ingest: warning: stage 'Demo Booked' (3 rows) is not a closedloop stage: "
        "the funnel and the stage-aware models do not count it; map it with --stage-map "
        '"Demo Booked=<stage>" (closedloop stages lists the stages)',
        "closedloop ingest: warning: stage 'Webinar' (1 row) is not a closedloop stage: the "
        "funnel and the stage-aware models do not count it; map it with --stage-map "
        '"Webinar=<stage>" (closedloop stages lists the stages)',
    ]
    argv = ["conversions", path, "--db", db, "--stage-map", "demo booked=opportunity"]
    assert ingest(*argv, "--stage-map", "Webinar = lead") == 0
    out, err = capsys.readouterr()
    assert ("0 inserted, 4 updated" in out, err) == (True, "")
    assert set(Store(db).read("conversions")["stage"]) == {"opportunity", "lead"}


def test_stage_map_in_a_mapping_file(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "deals.csv", "Id,Who,When,Stage\no1,u1,2025-03-01,Won It\n")
    mapping = write(
        tmp_path,
        "crm.toml",
        '[conversions]\nconversion_id = "Id"\nuser_id = "Who"\nts = "When"\nstage = "Stage"\n'
        '[stages]\n"Won It" = "purchase"\n',
    )
    assert ingest("conversions", path, "--db", db, "--mapping", mapping) == 0
    assert capsys.readouterr().err == ""
    assert Store(db).read("conversions")["stage"].to_list() == ["purchase"]
    # --stage-map wins over the file.
    argv = ["conversions", path, "--db", db, "--mapping", mapping]
    assert ingest(*argv, "--stage-map", "won it=closed_won") == 0
    assert Store(db).read("conversions")["stage"].to_list() == ["closed_won"]


def test_stage_map_is_for_conversions(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "c.csv", "date,channel,spend\n2025-03-01,Email,1\n")
    assert ingest("costs", path, "--db", db, "--stage-map", "a=b") == 2
    assert capsys.readouterr().err == (
        "closedloop ingest: error: --stage-map renames conversion stages; costs have none. Drop "
        "it, or ingest conversions.\n"
    )


def test_bad_stage_map(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "deals.csv", HEADER)
    assert ingest("conversions", path, "--db", db, "--stage-map", "Closed Won") == 2
    assert capsys.readouterr().err == (
        "closedloop ingest: error: Bad --stage-map 'Closed Won': expected <your stage>=<stage>, "
        'e.g. --stage-map "Closed Won=closed_won" (closedloop stages lists the stages).\n'
    )


@pytest.mark.parametrize(
    "flag", [["--date-format", "%d/%m/%Y"], ["--decimal", ","], ["--stage-map", "a=b"]]
)
def test_from_refuses_the_table_options(capsys: Capture, tmp_path: Path, flag: list[str]) -> None:
    argv = ["--from", "hubspot", str(tmp_path), "--db", str(tmp_path / "x.duckdb"), *flag]
    assert ingest(*argv) == 2
    assert capsys.readouterr().err.startswith(
        "closedloop ingest: error: --date-format, --decimal and --stage-map apply to a table "
        "ingest, not to --from hubspot"
    )


def test_a_first_ingest_in_another_currency(capsys: Capture, tmp_path: Path, db: str) -> None:
    rows = "".join(f"o{i},u{i},2025-03-01,closed_won,12,EUR\n" for i in range(8_842))
    path = write(tmp_path, "eur.csv", HEADER.strip() + ",currency\n" + rows)
    assert ingest("conversions", path, "--db", db) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "closedloop ingest: error: eur.csv: these rows are in EUR but the store reports in USD; "
        "this store holds no money yet: rerun with --currency EUR.\n",
    )
    assert ingest("conversions", path, "--db", db, "--currency", "EUR") == 0
    assert "8,842 inserted" in capsys.readouterr().out
    assert Store(db).currency == "EUR"


def test_currency_of_a_table_ingest_is_refused_while_money_is_held(
    capsys: Capture, tmp_path: Path, db: str
) -> None:
    path = write(tmp_path, "usd.csv", HEADER + "o1,u1,2025-03-01,lead,1\n")
    assert ingest("conversions", path, "--db", db) == 0
    assert ingest("conversions", path, "--db", db, "--currency", "EUR") == 2
    assert "Cannot change the reporting currency" in capsys.readouterr().err
    assert Store(db).currency == "USD"


def test_skip_invalid_that_wrote_nothing_exits_2(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "deals.csv", HEADER + "o1,u1,yesterday,lead,\no2,u2,soon,lead,\n")
    rejects = tmp_path / "out" / "rejects.csv"
    assert ingest("conversions", path, "--db", db, "--skip-invalid", "--rejects", str(rejects)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == (
        "closedloop ingest: every row was rejected (2 of 2); the rejected rows and their reasons "
        f"are in {rejects}. Nothing was written."
    )
    assert "deals.csv row 1, field 'ts'" in err
    assert rejects.exists()
    assert Store(db).counts()["conversions"] == 0


def test_identity_rows_without_both_ids(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "ids.csv", "anonymous_id,user_id\na1,u1\n,u2\na3,\n")
    assert ingest("identities", path, "--db", db) == 0
    out, err = capsys.readouterr()
    assert "1 inserted, 0 updated, 0 unchanged, 0 rejected, 2 ignored" in out
    assert err == (
        "closedloop ingest: warning: 2 rows without both anonymous_id and user_id ignored: an "
        "identity pair needs two ids\n"
    )


def test_an_identity_file_without_any_pair(capsys: Capture, tmp_path: Path, db: str) -> None:
    path = write(tmp_path, "ids.csv", "cookie,email\na1,\n")
    assert (
        ingest("identities", path, "--db", db, "--map", "anonymous_id=cookie", "user_id=email") == 2
    )
    assert "ids.csv: no row has both an anonymous_id and a user_id (1 row)" in (
        capsys.readouterr().err
    )


# closedloop stages


def test_stages_table(capsys: Capture) -> None:
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:3] == [
        "stages (conversions.stage):",
        "  funnel (default)  lead → mql → sql → opportunity → closed_won (lost: closed_lost)",
        "  e-commerce        lead → purchase",
    ]
    assert "Negotiation/Review" in out
    assert "marketingqualifiedlead (Marketing Qualified Lead)" in out


def test_stages_json(capsys: Capture) -> None:
    assert main(["stages", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stages"] == [
        "lead",
        "mql",
        "sql",
        "opportunity",
        "closed_won",
        "closed_lost",
        "purchase",
    ]
    assert data["funnels"]["b2b"] == {
        "order": ["lead", "mql", "sql", "opportunity", "closed_won"],
        "lost": ["closed_lost"],
    }
    assert {
        "source": "salesforce",
        "field": "Opportunity Stage",
        "value": "Closed Won",
        "label": None,
        "stage": "closed_won",
    } in data["mappings"]
    assert {
        "source": "hubspot",
        "field": "dealstage",
        "value": "closedwon",
        "label": "Closed Won",
        "stage": "closed_won",
    } in data["mappings"]


def test_stages_refuses_csv(capsys: Capture) -> None:
    assert main(["stages", "--format", "csv"]) == 2
    assert "argument --format: invalid choice: 'csv'" in capsys.readouterr().err


def test_attribute_from_files_takes_the_date_format_and_decimal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touches = tmp_path / "t.csv"
    touches.write_text("touchpoint_id,user_id,ts,channel\nt1,u1,03/04/2025,Email\n")
    deals = tmp_path / "c.csv"
    deals.write_text(
        'conversion_id,user_id,ts,stage,revenue\nc1,u1,03/05/2025,Closed Won,"1.200,50"\n'
    )
    files = ["--touchpoints", str(touches), "--conversions", str(deals), "--model", "linear"]
    assert main(["attribute", *files, "--format", "json"]) == 2
    assert "--date-format %m/%d/%Y" in capsys.readouterr().err
    args = ["attribute", *files, "--date-format", "%m/%d/%Y", "--decimal", ",", "--format", "json"]
    assert main(args) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["totals"]["revenue"] == 1200.5
    assert answer["stage"] == "closed_won"
