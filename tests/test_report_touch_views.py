"""The report's early / middle / late touches and ordered Shapley's credit by position.

Four converting persons, worked by hand (docs/paths.md):

====  ==============================  =======  =====================================
who   touches, in time order          revenue  early · middle · late
====  ==============================  =======  =====================================
a     Email, Search, Search, Display  100      Email · Search ½ + ½ · Display
b     Email                           50       Email · Email · Email (one touch: all)
c     Search, Display                 30       Search · Search ½, Display ½ · Display
d     Display                         20       Display · Display · Display
====  ==============================  =======  =====================================

So per channel (conversions / revenue): Email 2 / 150, 1 / 50, 1 / 50; Display 1 / 20,
1.5 / 35, 3 / 150; Search 1 / 30, 1.5 / 115, 0 / 0; every part sums to 4 / 200.

Ordered Shapley (first visit) gives each distinct channel of a journey ``1 / k`` at the
position of its first touch: a puts Email, Search, Display at 1, 2, 3 (⅓ each), b Email at 1,
c Search at 1 and Display at 2 (½ each), d Display at 1. Revenue: position 1 Email 83.33,
Display 20, Search 15; position 2 Display 15, Search 33.33; position 3 Display 33.33.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.report.frames import TOUCH_PARTS, fold_touch_positions, position_pivot
from ingest import Store, ingest_frame
from tests.test_report_options import headers, report, section, specs, table_rows

T0 = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
PERSONS = {
    "a": (["Email", "Search", "Search", "Display"], 100.0),
    "b": (["Email"], 50.0),
    "c": (["Search", "Display"], 30.0),
    "d": (["Display"], 20.0),
}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("touches") / "touches.duckdb"
    touches = [
        (f"{who}{i}", who, T0 + dt.timedelta(days=i), channel)
        for who, (channels, _) in PERSONS.items()
        for i, channel in enumerate(channels)
    ]
    tp = pl.DataFrame(touches, schema=["touchpoint_id", "user_id", "ts", "channel"], orient="row")
    cv = pl.DataFrame({
        "conversion_id": [f"c{who}" for who in PERSONS],
        "user_id": list(PERSONS),
        "ts": [T0 + dt.timedelta(days=10)] * len(PERSONS),
        "stage": "purchase",
        "revenue": [revenue for _, revenue in PERSONS.values()],
    })  # fmt: skip
    store = Store(path)
    ingest_frame(store, "touchpoints", tp)
    ingest_frame(store, "conversions", cv)
    return path


def part(page: str, title: str) -> str:
    """The HTML of the paths section from the heading ``title`` to the next heading."""
    paths = section(page, "paths")
    start = paths.index(title)
    end = paths.find("<h3", start + 1)
    return paths[start : end if end > 0 else len(paths)]


def test_early_middle_late_table_and_chart_by_hand(db: Path, tmp_path: Path) -> None:
    page = report(["--models", "linear"], tmp_path, db)
    touches = part(page, "Early, middle and late touches</h3>")
    assert re.search(r"4\.0\s+conversions, \$200\.00", touches)  # what every part sums to
    assert re.findall(r'<th colspan="2">([^<]*)</th>', touches) == [
        "early · opens", "middle · assists", "late · closes",
    ]  # fmt: skip
    assert headers(touches) == ["channel"] + ["conversions", "revenue"] * 3
    assert table_rows(touches) == [
        ["Email", "2.0", "$150.00", "1.0", "$50.00", "1.0", "$50.00"],
        ["Display", "1.0", "$20.00", "1.5", "$35.00", "3.0", "$150.00"],
        ["Search", "1.0", "$30.00", "1.5", "$115.00", "0.0", "$0.00"],
    ]
    chart = specs(page)["touch-positions"]
    rows = {r["channel"]: r for r in chart["datasets"]["table"]}
    assert rows["Search"]["middle_revenue"] == pytest.approx(115.0)
    assert rows["Display"]["late_conversions"] == pytest.approx(3.0)
    assert chart["transform"][0]["fold"] == ["early_revenue", "middle_revenue", "late_revenue"]
    # Ordered Shapley is not compared: no position table.
    assert "Credit by position" not in page


def test_top_folds_the_touch_table_and_keeps_each_part_total(db: Path, tmp_path: Path) -> None:
    page = report(["--models", "linear", "--top", "1"], tmp_path, db)
    rows = table_rows(part(page, "Early, middle and late touches</h3>"))
    assert rows == [
        ["Email", "2.0", "$150.00", "1.0", "$50.00", "1.0", "$50.00"],
        ["Other (2 rows)", "2.0", "$50.00", "3.0", "$150.00", "3.0", "$150.00"],
    ]
    # The chart keeps every channel (it folds past seven by itself).
    assert len(specs(page)["touch-positions"]["datasets"]["table"]) == 3


def test_credit_by_position_with_model_shapley_ordered_by_hand(db: Path, tmp_path: Path) -> None:
    page = report(["--models", "linear", "--model", "shapley_ordered"], tmp_path, db)
    positions = part(page, 'id="positions"')
    assert re.search(r"i-th distinct\s+channel the journey visited", positions)
    assert "among the compared models" not in positions
    revenue = part(page, "<h3>Revenue by position and channel</h3>")
    assert headers(revenue) == ["position", "Email", "Display", "Search", "total"]
    assert table_rows(revenue) == [
        ["1", "$83.33", "$20.00", "$15.00", "$118.33"],
        ["2", "$0.00", "$15.00", "$33.33", "$48.33"],
        ["3", "$0.00", "$33.33", "$0.00", "$33.33"],
    ]
    conversions = part(page, "<h3>Conversions by position and channel</h3>")
    assert table_rows(conversions) == [
        ["1", "1.3", "1.0", "0.5", "2.8"],
        ["2", "0.0", "0.5", "0.3", "0.8"],
        ["3", "0.0", "0.3", "0.0", "0.3"],
    ]


def test_credit_by_position_from_the_compared_models_folds_keys(db: Path, tmp_path: Path) -> None:
    page = report(["--models", "linear,shapley_ordered", "--top", "1"], tmp_path, db)
    positions = part(page, 'id="positions"')
    assert re.search(r"shown because ordered Shapley is among the compared\s+models", positions)
    revenue = part(page, "<h3>Revenue by position and channel</h3>")
    assert headers(revenue) == ["position", "Email", "Other (2 channels)", "total"]
    assert table_rows(revenue) == [
        ["1", "$83.33", "$35.00", "$118.33"],
        ["2", "$0.00", "$48.33", "$48.33"],
        ["3", "$0.00", "$33.33", "$33.33"],
    ]


credits = st.lists(
    st.tuples(st.sampled_from("ABCDEFG"), st.integers(0, 1000), st.integers(0, 4)),
    min_size=1,
    max_size=20,
)


@settings(max_examples=40, deadline=None)
@given(rows=credits, top=st.integers(0, 8))
def test_folding_keeps_every_part_and_position_total(
    rows: list[tuple[str, int, int]], top: int
) -> None:
    """Whatever ``--top``, each part's column and each position's credit keep their sums."""
    long = pl.DataFrame(
        {
            "position": [str(p + 1) for _, _, p in rows],
            "channel": [k for k, _, _ in rows],
            "conversions": [v / 100 for _, v, _ in rows],
            "revenue": [float(v) for _, v, _ in rows],
        }
    )
    wide = position_pivot(long, "channel", "revenue", top)
    assert wide["total"].sum() == pytest.approx(long["revenue"].sum())
    assert wide.height == long["position"].n_unique()
    keys = long["channel"].n_unique()
    assert wide.width - 2 == (top + 1 if 0 < top < keys - 1 else keys)
    per_key = long.group_by("channel").agg(  # parts that differ: the position's share
        expr
        for i, part in enumerate(TOUCH_PARTS)
        for expr in (
            pl.col("conversions")
            .filter(pl.col("position") == str(i + 1))
            .sum()
            .alias(f"{part}_conversions"),
            (pl.col("revenue") * (i + 1)).sum().alias(f"{part}_revenue"),
        )
    )
    folded = fold_touch_positions(per_key, "channel", top)
    for column in per_key.columns[1:]:
        assert folded[column].sum() == pytest.approx(per_key[column].sum())
