"""One number style in the tables people read; raw numbers in CSV, JSON and Parquet (#15 item 6).

The tables are read from real command output on the example data
(``closedloop attribute``, ``funnel``, ``budget plan``); the expected formats
are written by hand from the style's rules, not by the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cli import main
from api.services import Services
from api.services.queries import AttributionQuery
from attribution.export import text_table
from attribution.numbers import format_number
from attribution.report import _tiny_example
from ingest import Store, ingest_files

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"
PATHS_CSV = "path;total_conversions;total_conversion_value;total_null\nA > B;2;300;1\nB;1;50.5;3\n"

Capture = pytest.CaptureFixture[str]

MONEY = re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d{2}$")
PERCENT = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d%$")
ONE_DECIMAL = re.compile(r"^\d{1,3}(,\d{3})*\.\d$")
TWO_DECIMALS = re.compile(r"^-?\d{1,3}(,\d{3})*\.\d{2}$")
INTEGER = re.compile(r"^\d{1,3}(,\d{3})*$")
DASH = "—"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The example data, ingested once (the tests only read it)."""
    path = tmp_path_factory.mktemp("numbers") / "numbers.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [DATA / f"{table}.csv"])
    return str(path)


@pytest.fixture(scope="module")
def paths_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("paths") / "paths.csv"
    path.write_text(PATHS_CSV, encoding="utf-8")
    return str(path)


def run(capsys: Capture, *argv: str) -> str:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def table_cells(out: str) -> dict[str, dict[str, str]]:
    """Return the first table of ``out`` as {first cell: {header: cell}}, cells stripped."""
    rows = [
        [cell.strip(" │") for cell in line.split("┆")]
        for line in out.splitlines()
        if "┆" in line and line.startswith("│")
    ]
    header, *body = rows
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def assert_column(cells: dict[str, dict[str, str]], column: str, style: re.Pattern[str]) -> None:
    shown = [row[column] for row in cells.values()]
    assert any(cell != DASH for cell in shown), f"{column}: every cell is {DASH}"
    wrong = [cell for cell in shown if cell != DASH and not style.fullmatch(cell)]
    assert not wrong, f"{column}: {wrong} do not match {style.pattern}"


def test_attribute_table_writes_each_kind_in_its_style(capsys: Capture, db: str) -> None:
    out = run(capsys, "attribute", "--model", "linear", "--stage", "closed_won", "--db", db)
    cells = table_cells(out)
    for money in ("revenue", "spend", "cpa", "cpc", "cpm"):
        assert_column(cells, money, MONEY)
    for rate in ("roi", "ctr"):
        assert_column(cells, rate, PERCENT)
    assert_column(cells, "roas", TWO_DECIMALS)
    assert_column(cells, "conversions", ONE_DECIMAL)
    assert_column(cells, "impressions", INTEGER)
    assert_column(cells, "clicks", INTEGER)
    # The example data closes 134 conversions (examples/data/README.md).
    assert cells["TOTAL"]["conversions"] == "134.0"
    assert "lookback 90.0 days · USD" in out.splitlines()[0]


def test_attribute_table_right_aligns_numbers(capsys: Capture, db: str) -> None:
    out = run(capsys, "attribute", "--model", "first_touch", "--stage", "closed_won", "--db", db)
    lines = [line for line in out.splitlines() if "┆" in line]
    revenue = [line.split("┆")[2] for line in lines]
    assert {len(cell) for cell in revenue} == {len(revenue[0])}
    assert all(cell.endswith(" ") and cell[-2] != " " for cell in revenue)  # flush right
    channel = [line.split("┆")[0] for line in lines]
    assert all(cell.startswith("│ ") and cell[2] != " " for cell in channel)  # text flush left


def test_funnel_table_writes_counts_rates_money_and_days(capsys: Capture, db: str) -> None:
    out = run(capsys, "funnel", "--by", "channel", "--db", db)
    rows = table_cells(out)
    by_metric = {metric: list(row.values())[1:] for metric, row in rows.items()}
    for metric, style in (
        ("leads", INTEGER),
        ("visitors", INTEGER),
        ("revenue", MONEY),
        ("spend", MONEY),
        ("cpl", MONEY),
        ("ltv", MONEY),
        ("lead_conversion_rate", PERCENT),
        ("win_rate", PERCENT),
        ("visit_abandonment_rate", PERCENT),
        ("days_lead_to_won_mean", ONE_DECIMAL),
        ("customer_lifespan_days", ONE_DECIMAL),
        ("orders_per_customer", TWO_DECIMALS),
    ):
        wrong = [c for c in by_metric[metric] if c != DASH and not style.fullmatch(c)]
        assert not wrong, f"{metric}: {wrong}"
    # A channel without spend spent $0.00: zero is a number, not 0.000.
    assert rows["spend"]["Organic Search"] == "$0.00"


def test_budget_plan_table_and_totals_line(capsys: Capture, db: str) -> None:
    out = run(
        capsys, "budget", "plan", "--model", "linear", "--stage", "closed_won",
        "--bootstrap", "20", "--seed", "1", "--view-window-days", "90", "--db", db,
    )  # fmt: skip
    cells = table_cells(out)
    assert_column(cells, "spend now", MONEY)
    assert_column(cells, "recommended", MONEY)
    assert_column(cells, "revenue", MONEY)
    assert_column(cells, "change", re.compile(r"^-?\d{1,3}(,\d{3})*\.\d%$"))
    assert_column(cells, "mROAS now", TWO_DECIMALS)
    total = next(line for line in out.splitlines() if line.startswith("budget $"))
    money = r"\$\d{1,3}(,\d{3})*\.\d{2}"
    assert re.fullmatch(
        rf"budget {money} per week: predicted revenue {money} now → {money} as planned "
        rf"\([+-]?{money}\); 90% range {money} to {money}",
        total,
    ), total


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("attribute", "--model", "linear", "--stage", "closed_won"), id="attribute"),
        pytest.param(("funnel", "--by", "channel"), id="funnel"),
    ],
)
def test_csv_and_json_stay_raw_numbers(capsys: Capture, db: str, argv: tuple[str, ...]) -> None:
    text = run(capsys, *argv, "--format", "csv", "--db", db)
    assert not {"$", "%", DASH} & set(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows
    for column in ("revenue", "spend"):
        assert all(re.fullmatch(r"-?\d+(\.\d+)?(e[+-]?\d+)?|", r[column]) for r in rows), column
    body = json.loads(run(capsys, *argv, "--format", "json", "--db", db))
    money = [row[c] for row in body["data"] for c in ("revenue", "spend")]
    assert all(v is None or isinstance(v, int | float) for v in money)
    assert sum(isinstance(v, float) for v in money) > len(money) / 2
    words = [v for row in body["data"] for v in row.values() if isinstance(v, str)]
    assert not [v for v in words if MONEY.fullmatch(v) or PERCENT.fullmatch(v) or v == DASH]


def test_paths_file_attribute_stays_raw(capsys: Capture, paths_file: str) -> None:
    argv = ("attribute", "--paths", paths_file, "--model", "linear", "--currency", "EUR")
    text = run(capsys, *argv, "--format", "csv")
    rows = {r["channel"]: r for r in csv.DictReader(io.StringIO(text))}
    # Linear on "A > B" (2 conversions, 300) and "B" (1, 50.5): A gets half of the first path.
    assert rows["A"]["conversions"] == "1.0"
    assert rows["A"]["revenue"] == "150.0"
    assert rows["B"]["revenue"] == "200.5"
    body = json.loads(run(capsys, *argv, "--format", "json"))
    assert {r["channel"]: r["revenue"] for r in body["data"]} == {"A": 150.0, "B": 200.5}
    table = table_cells(run(capsys, *argv))
    assert table["B"]["revenue"] == "€200.50"
    assert table["TOTAL"]["conversions"] == "3.0"


def test_parquet_stays_raw_numbers() -> None:
    result = Services.for_frames(*_tiny_example()).attribution(AttributionQuery.create("linear"))
    frame = pl.read_parquet(result.to_parquet())
    assert frame.schema["revenue"] == pl.Float64
    assert frame.schema["roi"] == pl.Float64
    assert frame.filter(pl.col("channel") == "Email")["roi"].item() == pytest.approx(4.0)


def test_table_of_a_hand_worked_frame() -> None:
    frame = pl.DataFrame(
        {
            "campaign": ["brand", "TOTAL"],
            "conversions": [2.25, 3.0],
            "revenue": [1_000_000.0, -12.5],
            "roas": [3.14159, None],
            "win_rate": [0.5, 0.0],
            "leads": [1234, 5],
            "days_to_close": [3.25, 10.0],
        }
    )
    assert text_table(frame, currency="JPY").splitlines()[3:5] == [
        "│ brand    ┆         2.2 ┆ ¥1,000,000 ┆ 3.14 ┆    50.0% ┆ 1,234 ┆           3.2 │",
        "│ TOTAL    ┆         3.0 ┆       -¥12 ┆    — ┆     0.0% ┆     5 ┆          10.0 │",
    ]


def test_raw_mode_keeps_numbers_as_they_are() -> None:
    frame = pl.DataFrame({"name": ["x"], "revenue": [1234.5], "win_rate": [0.25]})
    table = text_table(frame, raw=True, currency="USD")
    assert "1,234.50" in table
    assert "0.25" in table
    assert "$" not in table
    assert "%" not in table


def test_stages_listing_is_a_raw_table(capsys: Capture) -> None:
    out = run(capsys, "stages")
    assert "closed_won" in out
    assert "┆" in out


@pytest.mark.parametrize(
    ("value", "kind", "currency", "shown"),
    [
        (-1234.5, "money", "USD", "-$1,234.50"),
        (0.0, "money", "USD", "$0.00"),
        (-0.004, "money", "EUR", "€0.00"),
        (0, "count", None, "0"),
        (0.0, "rate", None, "0.0%"),
        (1e15, "money", "USD", "$1,000,000,000,000,000.00"),
        (12_345_678_901, "count", None, "12,345,678,901"),
        (1234.5, "money", "JPY", "¥1,234"),  # JPY has no minor unit; half to even
        (1235.5, "money", "JPY", "¥1,236"),
        (99.999, "money", "KRW", "₩100"),
        (1234.5, "money", "XYZ", "1,234.50 XYZ"),  # unknown: code after the amount
        (1234.5, "money", "sek", "1,234.50 SEK"),
        (1234.5, "money", None, "1,234.50"),  # no currency: the amount alone
        (1234.5, "money", "", "1,234.50"),
        (-0.2904, "rate", None, "-29.0%"),
        (12.34, "percent", None, "12.3%"),
        (float("inf"), "ratio", None, DASH),
        (None, "count", None, DASH),
        (2.0, "days", None, "2.0"),
        (1234.567, "number", None, "1,234.57"),
    ],
)
def test_format_number_edge_cases(
    value: float | None, kind: str, currency: str | None, shown: str
) -> None:
    assert format_number(value, kind, currency) == shown


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_money_round_trips_to_two_decimals(amount: float) -> None:
    shown = format_number(amount, "money", "USD")
    assert re.fullmatch(r"-?\$\d{1,3}(,\d{3})*\.\d{2}", shown)
    number = float(shown.replace("$", "").replace(",", ""))
    assert number == pytest.approx(amount, abs=0.005 + abs(amount) * 1e-15)
