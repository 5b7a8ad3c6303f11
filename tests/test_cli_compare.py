"""``closedloop compare`` and ``closedloop attribute --model a,b|all``: GA4's model comparison.

The store holds tests/test_cli.py's example: u1 Email (Jan 1) > Search (Jan 5) buys 100,
u2 Search buys 50, u3 Social never buys. First touch: Email 100, Search 50; last touch:
Search 150, Email 0.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from api.cli import main
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV, Capture, run

PATHS_CSV = """\
path;conv;value;nulls
A > B;1;10;1
B;0;0;2
A > B;1;30;0
B > A;2;20;1
"""
MAPPED = ("--delimiter", ";", "--map", "conversions=conv", "revenue=value", "nulls=nulls")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with the CLI tests' example data, ingested once (the tests only read it)."""
    folder = tmp_path_factory.mktemp("compare")
    path = str(folder / "compare.duckdb")
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        file = folder / f"{table}.csv"
        file.write_text(text)
        assert main(["ingest", table, str(file), "--db", path]) == 0
    return path


@pytest.fixture
def paths_file(tmp_path: Path) -> Path:
    path = tmp_path / "paths.csv"
    path.write_text(PATHS_CSV)
    return path


TWO = ("--stage", "closed_won", "--models", "first_touch,last_touch")


def test_compare_table(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "compare", *TWO, "--db", db)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("compare · stage closed_won · by channel · 2024-01-")
    assert lines[1] == "models: first_touch = First touch (baseline), last_touch = Last touch"
    assert lines[2].startswith("Δ% = % change from the baseline, first_touch")
    header = next(line for line in lines if "channel" in line and "┆" in line)
    cells = [cell.strip() for cell in header.strip("│").split("┆")]
    assert cells == [
        "channel", "first_touch conv", "first_touch revenue", "first_touch ROAS",
        "last_touch conv", "last_touch Δ% conv", "last_touch revenue", "last_touch Δ% rev",
        "last_touch ROAS",
    ]  # fmt: skip
    rows = {
        cells[0]: cells
        for line in lines
        if line.startswith("│") and line is not header
        for cells in [[c.strip() for c in line.strip("│").split("┆")]]
    }
    # Email: 100 → 0 (-100%); Search: 50 → 150 (+200%), 1 → 2 conversions (+100%).
    assert rows["Email"][1:] == ["1.0", "$100.00", "10.00", "0.0", "-100.0%", "$0.00",
                                 "-100.0%", "0.00"]  # fmt: skip
    assert rows["Search"][5] == "100.0%"
    assert rows["Search"][7] == "200.0%"
    assert rows["TOTAL"][2] == "$150.00"
    assert rows["TOTAL"][7] == "0.0%"


def test_compare_baseline_option(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "compare", *TWO, "--baseline", "last_touch", "--format",
                         "json", "--db", db)  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body["baseline"] == "last_touch"
    search = next(r for r in body["data"] if r["channel"] == "Search")
    assert search["first_touch_revenue_change"] == pytest.approx((50 - 150) / 150)


def test_compare_json_is_the_api_body(capsys: Capture, db: str) -> None:
    from api.services import CompareQuery, Services
    from ingest import Store

    code, out, err = run(capsys, "compare", *TWO, "--format", "json", "--db", db)
    assert code == 0, err
    query = CompareQuery.create(["first_touch", "last_touch"], stage="closed_won")
    expected = Services.for_store(Store(Path(db))).compare(query).to_dict()
    assert json.loads(out) == json.loads(json.dumps(expected, default=str))


def test_compare_csv_raw_numbers(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "compare", *TWO, "--format", "csv", "--db", db)
    assert code == 0, err
    frame = pl.read_csv(io.StringIO(out))
    search = frame.filter(pl.col("channel") == "Search").row(0, named=True)
    assert search["last_touch_revenue_change"] == pytest.approx(2.0)  # +200%, as a fraction
    assert search["first_touch_revenue"] == pytest.approx(50.0)


def test_attribute_several_models_prints_the_comparison(capsys: Capture, db: str) -> None:
    _, compared, _ = run(capsys, "compare", *TWO, "--db", db)
    code, out, err = run(capsys, "attribute", "--stage", "closed_won", "--model",
                         "first_touch,last_touch", "--db", db)  # fmt: skip
    assert code == 0, err
    assert out == compared


def test_attribute_model_all_is_compare_of_every_model(capsys: Capture, db: str) -> None:
    _, compared, _ = run(capsys, "compare", "--stage", "closed_won", "--format", "json",
                         "--db", db)  # fmt: skip
    code, out, err = run(capsys, "attribute", "--stage", "closed_won", "--model", "all",
                         "--format", "json", "--db", db)  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body == json.loads(compared)
    from attribution import available_models

    assert set(body["models"]) | set(body["skipped"]) == set(available_models())


def test_attribute_one_model_keeps_its_report(capsys: Capture, db: str) -> None:
    code, out, _ = run(capsys, "attribute", "--model", "linear", "--db", db)
    assert code == 0
    assert out.startswith("model linear · stage closed_won · by channel")


def test_compare_intervals(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "compare", *TWO, "--ci", "0.9", "--bootstrap", "20",
                         "--db", db)  # fmt: skip
    assert code == 0, err
    assert "90% intervals of revenue (low, high): person-level bootstrap" in out
    assert "first_touch low" in out
    assert "last_touch high" in out


def test_compare_paths_heuristic_models(capsys: Capture, paths_file: Path) -> None:
    code, out, err = run(capsys, "attribute", "--paths", str(paths_file), *MAPPED, "--model",
                         "first_touch,last_touch,linear", "--format", "json")  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body["models"] == ["first_touch", "last_touch", "linear"]
    rows = {r["channel"]: r for r in body["data"]}
    # A > B converts twice (value 40), B > A twice (20). First touch: A 40, B 20.
    assert rows["A"]["first_touch_revenue"] == pytest.approx(40.0)
    assert rows["A"]["last_touch_revenue"] == pytest.approx(20.0)
    assert rows["A"]["linear_revenue"] == pytest.approx(30.0)
    assert rows["A"]["last_touch_revenue_change"] == pytest.approx(-0.5)
    assert body["source"] == "'paths.csv'"


def test_compare_paths_skips_models_that_need_time(capsys: Capture, paths_file: Path) -> None:
    argv = ("compare", "--paths", str(paths_file), *MAPPED, "--models", "linear,time_decay")
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.splitlines()[0] == "compare · by channel · aggregated paths from 'paths.csv'"
    assert "skipped time_decay: it reads touch times or stage milestones" in out
    code, out, err = run(capsys, *argv, "--format", "csv")
    assert code == 0
    assert "closedloop compare: note: skipped time_decay: it reads touch times" in err
    assert "time_decay" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("compare", "--models", "linear", "--baseline", "markov"),
         "The baseline 'markov' is not among the models compared (linear)"),
        (("attribute", "--model", "linear,markov", "--param", "order=2"),
         "--param sets one model's parameters; it does not go with several models."),
        (("attribute", "--model", "all", "--explain"),
         "--explain go(es) with one model's report, not with several models."),
        (("compare", "--models", ","), "--models ',' names no model"),
        (("compare", "--models", "linear,shapely"), "Unknown model 'shapely'"),
    ],
)  # fmt: skip
def test_compare_bad_input(capsys: Capture, db: str, argv: tuple[str, ...], message: str) -> None:
    code, out, err = run(capsys, *argv, "--db", db)
    assert code == 2
    assert out == ""
    assert message in err


def test_compare_paths_baseline_needs_time(capsys: Capture, paths_file: Path) -> None:
    code, _, err = run(capsys, "compare", "--paths", str(paths_file), *MAPPED, "--models",
                       "linear,time_decay", "--baseline", "time_decay")  # fmt: skip
    assert code == 2
    assert "The baseline 'time_decay' cannot run on aggregated paths" in err


def test_compare_paths_refuses_store_options(capsys: Capture, paths_file: Path) -> None:
    code, _, err = run(capsys, "compare", "--paths", str(paths_file), "--stage", "lead")
    assert code == 2
    assert "--paths attributes an aggregated path table on its own" in err
