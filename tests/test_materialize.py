"""``closedloop materialize``: the mart's numbers, its refresh, its one-transaction write, Parquet.

The small case is worked by hand: two channels with one campaign each
(Email/news, Search/brand), two days (Thursday 2024-02-29 and Friday
2024-03-01: one ISO week, two months), two customers and one conversion no
touch reaches. Person ``u1`` touches Email on the 29th and Search on the
1st, then buys for 100 on the 1st; ``u2`` touches Search on the 29th and buys
for 40 that day; ``u3`` buys for 7 on the 1st with no touch.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from pathlib import Path

import duckdb
import polars as pl
import pytest

from api.cli import main
from api.services import AttributionQuery, Services, TimeSeriesQuery
from api.services.mart import MartQuery, build_mart, materialize
from attribution import AttributionModel, Journeys, get_model
from attribution.constants import NO_TOUCHPOINT, NOT_SET
from attribution.errors import ParameterError
from ingest import Store, ingest_files
from ingest.mart import Mart

ROOT = Path(__file__).resolve().parent.parent
Capture = pytest.CaptureFixture[str]
REL = 1e-12
"""Float sums of the same numbers in another order differ in the last bits, no more."""

TOUCHPOINTS = """\
touchpoint_id,user_id,ts,channel,campaign
t1,u1,2024-02-29T10:00:00Z,Email,news
t2,u1,2024-03-01T09:00:00Z,Search,brand
t3,u2,2024-02-29T08:00:00Z,Search,brand
"""
CONVERSIONS = """\
conversion_id,user_id,ts,stage,revenue
c1,u1,2024-03-01T12:00:00Z,purchase,100
c2,u2,2024-02-29T20:00:00Z,purchase,40
c3,u3,2024-03-01T15:00:00Z,purchase,7
"""
COSTS = """\
date,channel,campaign,spend,impressions,clicks
2024-02-29,Search,brand,20,1000,10
2024-03-01,Search,brand,30,500,5
2024-02-29,Email,news,5,,
"""

THU, FRI = dt.date(2024, 2, 29), dt.date(2024, 3, 1)
WEEK = dt.date(2024, 2, 26)  # the Monday of that ISO week
FEB, MAR = dt.date(2024, 2, 1), dt.date(2024, 3, 1)
EMAIL, SEARCH, NONE = ("Email", "news"), ("Search", "brand"), (NO_TOUCHPOINT, NOT_SET)

# (period, channel, campaign, conversions, revenue, spend, impressions, clicks), by hand.
LINEAR = {
    "day": [
        (THU, *EMAIL, 0.0, 0.0, 5.0, None, None),
        (THU, *SEARCH, 1.0, 40.0, 20.0, 1000, 10),
        (FRI, *NONE, 1.0, 7.0, None, None, None),
        (FRI, *EMAIL, 0.5, 50.0, 0.0, None, None),
        (FRI, *SEARCH, 0.5, 50.0, 30.0, 500, 5),
    ],
    "week": [
        (WEEK, *NONE, 1.0, 7.0, None, None, None),
        (WEEK, *EMAIL, 0.5, 50.0, 5.0, None, None),
        (WEEK, *SEARCH, 1.5, 90.0, 50.0, 1500, 15),
    ],
    "month": [
        (FEB, *EMAIL, 0.0, 0.0, 5.0, None, None),
        (FEB, *SEARCH, 1.0, 40.0, 20.0, 1000, 10),
        (MAR, *NONE, 1.0, 7.0, None, None, None),
        (MAR, *EMAIL, 0.5, 50.0, 0.0, None, None),
        (MAR, *SEARCH, 0.5, 50.0, 30.0, 500, 5),
    ],
}
FIRST_TOUCH_WEEK = [
    (WEEK, *NONE, 1.0, 7.0, None, None, None),
    (WEEK, *EMAIL, 1.0, 100.0, 5.0, None, None),
    (WEEK, *SEARCH, 1.0, 40.0, 50.0, 1500, 15),
]


def _ingest(db: Path, folder: Path, **texts: str) -> None:
    for table, text in texts.items():
        path = folder / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        # Leave the marts stale: these tests refresh them themselves.
        assert main(["ingest", table, str(path), "--db", str(db), "--no-materialize"]) == 0


@pytest.fixture
def small(tmp_path: Path) -> Path:
    db = tmp_path / "small.duckdb"
    _ingest(db, tmp_path, touchpoints=TOUCHPOINTS, conversions=CONVERSIONS, costs=COSTS)
    return db


def _rows(db: Path, model: str, grain: str) -> list[tuple[object, ...]]:
    mart = Mart(Store(db)).read().filter(model=model, grain=grain)
    assert set(mart["stage"]) == {"purchase"}
    return mart.drop("run_id", "model", "grain", "stage").rows()


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_the_small_case_by_hand_at_every_grain(small: Path, grain: str, capsys: Capture) -> None:
    args = ["materialize", "--models", "linear,first_touch", "--grain", grain, "--db", str(small)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"materialized run 1: grain {grain}, stage purchase, data version 3, 2 models" in out
    assert _rows(small, "linear", grain) == LINEAR[grain]
    if grain == "week":
        assert _rows(small, "first_touch", grain) == FIRST_TOUCH_WEEK


def test_every_model_sums_to_the_closed_revenue_of_each_period(small: Path) -> None:
    services, mart = Services.for_store(Store(small)), Mart(Store(small))
    built = materialize(services, mart, MartQuery.create("all", grain="day"))
    assert not built.run.skipped
    per_day = built.rows.group_by("model", "period").agg(
        pl.col("attributed_conversions", "attributed_revenue").sum()
    )
    closed = {THU: (1.0, 40.0), FRI: (2.0, 107.0)}
    for model, period, conversions, revenue in per_day.iter_rows():
        assert (conversions, revenue) == pytest.approx(closed[period], rel=REL), model


def test_a_run_replaces_its_models_and_keeps_the_others(small: Path) -> None:
    db = str(small)
    assert main(["materialize", "--models", "linear,first_touch", "--db", db]) == 0
    assert main(["materialize", "--models", "linear", "--db", db]) == 0
    assert main(["materialize", "--models", "linear", "--grain", "day", "--db", db]) == 0
    kept = Mart(Store(small)).read().group_by("model", "grain").agg(pl.col("run_id").unique())
    assert sorted(kept.rows()) == [
        ("first_touch", "week", [1]),
        ("linear", "day", [3]),
        ("linear", "week", [2]),
    ]
    runs = Mart(Store(small)).runs().select("run_id", "models", "current", "stale").rows()
    assert runs == [
        (1, "linear,first_touch", True, False),
        (2, "linear", True, False),
        (3, "linear", True, False),
    ]


# The example data: several models agree with `closedloop attribute` and the time series.


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("example") / "example.duckdb")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    return store


@pytest.fixture(scope="module")
def example_mart(example_store: Store) -> pl.DataFrame:
    query = MartQuery.create("linear,time_decay,position_based,markov,shapley", grain="week")
    return build_mart(Services.for_store(example_store), query).rows


def _closed_won_revenue(store: Store) -> tuple[int, float]:
    conversions = store.read("conversions").filter(stage="closed_won")
    return conversions.height, math.fsum(conversions["revenue"].to_list())


@pytest.mark.parametrize("model", ["linear", "time_decay", "position_based", "markov", "shapley"])
def test_example_sums_equal_attribute(
    example_store: Store, example_mart: pl.DataFrame, model: str
) -> None:
    rows = example_mart.filter(model=model)
    count, revenue = _closed_won_revenue(example_store)
    assert rows["attributed_revenue"].sum() == pytest.approx(revenue, rel=REL)
    assert rows["attributed_conversions"].sum() == pytest.approx(count, rel=REL)
    assert set(rows["stage"]) == {"closed_won"}

    services = Services.for_store(example_store)
    report = services.attribution(AttributionQuery.create(model))
    by_channel = rows.group_by("channel").agg(pl.col("attributed_revenue", "spend").sum())
    expected = {row["channel"]: row for row in report.to_dict()["data"]}
    assert set(by_channel["channel"]) == set(expected)
    for channel, attributed, spend in by_channel.iter_rows():
        assert attributed == pytest.approx(expected[channel]["revenue"], rel=1e-9, abs=1e-6)
        if expected[channel]["spend"] is not None:
            assert spend == pytest.approx(expected[channel]["spend"], rel=REL)


@pytest.mark.parametrize("model", ["linear", "markov"])
def test_example_weeks_equal_the_time_series(
    example_store: Store, example_mart: pl.DataFrame, model: str
) -> None:
    series = Services.for_store(example_store).timeseries(
        TimeSeriesQuery(metric="all", interval="week", model=get_model(model))
    )
    weekly = series.data.group_by("period").agg(
        pl.col("revenue", "conversions").sum(), pl.col("spend").sum().alias("series_spend")
    )
    mart = (
        example_mart.filter(model=model)
        .group_by("period")
        .agg(pl.col("attributed_revenue", "attributed_conversions", "spend").sum())
    )
    joined = weekly.join(mart, on="period", how="full", coalesce=True).fill_null(0.0)
    assert joined.height == weekly.height
    for row in joined.iter_rows(named=True):
        assert row["attributed_revenue"] == pytest.approx(row["revenue"], rel=1e-9, abs=1e-6)
        assert row["attributed_conversions"] == pytest.approx(row["conversions"], abs=1e-9)
        assert row["spend"] == pytest.approx(row["series_spend"], rel=REL)


def test_a_stage_without_revenue_is_valued_by_its_stage_value(example_store: Store) -> None:
    services = Services.for_store(example_store)
    leads = example_store.read("conversions").filter(stage="lead").height
    valued = build_mart(
        services, MartQuery.create("linear", grain="month", stage="lead", stage_values="lead=50")
    ).rows
    assert set(valued["stage"]) == {"lead"}
    assert valued["attributed_conversions"].sum() == pytest.approx(leads, rel=REL)
    assert valued["attributed_revenue"].sum() == pytest.approx(50.0 * leads, rel=REL)
    unvalued = build_mart(services, MartQuery.create("linear", grain="month", stage="lead")).rows
    assert unvalued["attributed_revenue"].null_count() == unvalued.height
    assert unvalued["spend"].sum() == pytest.approx(valued["spend"].sum(), rel=REL)


def test_spend_is_the_same_on_every_model_row(example_mart: pl.DataFrame) -> None:
    spent = example_mart.filter(pl.col("spend") > 0)
    per_key = spent.group_by("period", "channel", "campaign").agg(
        pl.col("spend").n_unique().alias("values"), pl.col("model").n_unique().alias("models")
    )
    assert per_key["values"].to_list() == [1] * per_key.height
    assert per_key["models"].to_list() == [5] * per_key.height


# Refreshed when the data changes


NEW_SALE = "conversion_id,user_id,ts,stage,revenue\nc9,u2,2024-03-01T18:00:00Z,purchase,60\n"


def test_refresh_is_a_no_op_until_the_data_changes(
    small: Path, tmp_path: Path, capsys: Capture
) -> None:
    db = str(small)
    assert main(["materialize", "--models", "linear", "--grain", "month", "--db", db]) == 0
    capsys.readouterr()
    assert main(["materialize", "--refresh", "--db", db]) == 0
    assert capsys.readouterr().out == (
        "mart is current (data version 3, 1 run): nothing to refresh\n"
    )
    assert Mart(Store(small)).runs()["run_id"].to_list() == [1]

    _ingest(small, tmp_path, conversions=CONVERSIONS + NEW_SALE.splitlines()[1] + "\n")
    assert Mart(Store(small)).runs().select("run_id", "current", "stale").rows() == [
        (1, True, True)
    ]
    assert main(["materialize", "--refresh", "--db", db]) == 0
    assert "refreshed run 2: grain month, stage purchase, data version 4" in capsys.readouterr().out
    runs = Mart(Store(small)).runs().select("run_id", "data_version", "current", "stale")
    assert runs.rows() == [(1, 3, False, True), (2, 4, True, False)]
    march = [row for row in _rows(small, "linear", "month") if row[0] == MAR]
    # u2's one touch went to its sale of the 29th (a touch counts towards the first
    # conversion after it only): the new sale of 60 has no touch.
    assert [row[1:5] for row in march] == [
        (*NONE, 2.0, 67.0),
        (*EMAIL, 0.5, 50.0),
        (*SEARCH, 0.5, 50.0),
    ]


def test_ingest_materialize_refreshes_the_marts(
    small: Path, tmp_path: Path, capsys: Capture
) -> None:
    sale = tmp_path / "sale.csv"
    sale.write_text(NEW_SALE, encoding="utf-8")
    args = ["ingest", "conversions", str(sale), "--db", str(small), "--materialize"]
    assert main(args) == 0
    assert "no mart to refresh" in capsys.readouterr().err

    assert (
        main(["materialize", "--models", "first_touch", "--grain", "day", "--db", str(small)]) == 0
    )
    sale.write_text(NEW_SALE.replace("c9", "c10").replace(",60", ",1"), encoding="utf-8")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "refreshed run 2: grain day, stage purchase, data version 5, 1 model" in out
    assert Mart(Store(small)).runs()["stale"].to_list() == [True, False]


def test_an_ingest_refreshes_existing_marts_by_default_and_not_with_no_materialize(
    small: Path, tmp_path: Path, capsys: Capture
) -> None:
    sale = tmp_path / "sale.csv"
    sale.write_text(NEW_SALE, encoding="utf-8")
    plain = ["ingest", "conversions", str(sale), "--db", str(small)]
    assert main(plain) == 0  # no mart yet: nothing said, nothing done
    assert "mart" not in capsys.readouterr().err
    assert (
        main(["materialize", "--models", "first_touch", "--grain", "day", "--db", str(small)]) == 0
    )
    capsys.readouterr()
    sale.write_text(NEW_SALE.replace("c9", "c10").replace(",60", ",1"), encoding="utf-8")
    assert main([*plain, "--no-materialize"]) == 0
    assert "refreshed" not in capsys.readouterr().out
    assert Mart(Store(small)).runs()["stale"].to_list() == [True]
    sale.write_text(NEW_SALE.replace("c9", "c11").replace(",60", ",2"), encoding="utf-8")
    assert main(plain) == 0
    assert "refreshed run 2: grain day" in capsys.readouterr().out
    assert Mart(Store(small)).runs()["stale"].to_list() == [True, False]


def test_a_refresh_that_fails_after_an_ingest_keeps_the_data_and_says_so(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    db = str(small)
    assert main(["materialize", "--models", "linear", "--db", db]) == 0
    import api.services.mart as service

    def fails(*args: object, **kwargs: object) -> pl.DataFrame:
        raise ParameterError("linear cannot run today")

    monkeypatch.setattr(service, "credited_periods", fails)
    capsys.readouterr()
    sale = tmp_path / "sale.csv"
    sale.write_text(NEW_SALE, encoding="utf-8")
    assert main(["ingest", "conversions", str(sale), "--db", db]) == 0  # the data is in
    err = capsys.readouterr().err
    assert "the marts could not be refreshed: linear cannot run today" in err
    assert "closedloop materialize --refresh" in err
    assert Mart(Store(small)).runs()["stale"].to_list() == [True]
    sale.write_text(NEW_SALE.replace("c9", "c10"), encoding="utf-8")
    assert main(["ingest", "conversions", str(sale), "--db", db, "--materialize"]) == 2


def test_refresh_refuses_definition_options_and_needs_a_mart(small: Path, capsys: Capture) -> None:
    assert main(["materialize", "--refresh", "--models", "linear", "--db", str(small)]) == 2
    assert "--refresh re-runs the stored definitions: drop --models" in capsys.readouterr().err
    assert main(["materialize", "--refresh", "--db", str(small)]) == 2
    assert "There is no mart to refresh in this store" in capsys.readouterr().err


# One transaction


def test_a_failing_model_leaves_the_previous_mart(
    small: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    db = str(small)
    assert main(["materialize", "--models", "linear,first_touch", "--db", db]) == 0
    before = Mart(Store(small)).read()

    import api.services.mart as service
    from attribution.mart import credited_periods

    def fails_on_first_touch(
        journeys: Journeys,
        model: AttributionModel,
        grain: str,
        stage_values: Mapping[str, float] | None = None,
    ) -> pl.DataFrame:
        if model.name == "first_touch":
            raise ParameterError("first_touch cannot run today")
        return credited_periods(journeys, model, grain, stage_values)

    monkeypatch.setattr(service, "credited_periods", fails_on_first_touch)
    _ingest(small, small.parent, conversions=CONVERSIONS + NEW_SALE.splitlines()[1] + "\n")
    assert main(["materialize", "--models", "linear,first_touch", "--db", db]) == 2
    assert "first_touch cannot run today" in capsys.readouterr().err
    assert Mart(Store(small)).read().equals(before)
    assert Mart(Store(small)).runs()["run_id"].to_list() == [1]

    # With --models all, a model that cannot run is skipped and named instead.
    assert main(["materialize", "--models", "all", "--db", db]) == 0
    assert "note: skipped first_touch: first_touch cannot run today" in capsys.readouterr().err


def test_a_failed_write_rolls_back_every_run(small: Path) -> None:
    store = Store(small)
    services, mart = Services.for_store(store), Mart(store)
    materialize(services, mart, MartQuery.create("linear", grain="day"))
    before, runs = mart.read(), mart.runs()
    good = build_mart(services, MartQuery.create("linear", grain="week"))
    bad = build_mart(services, MartQuery.create("first_touch", grain="month"))
    mislabelled = bad.rows.with_columns(grain=pl.lit("day"))
    with pytest.raises(ParameterError, match="cannot be written with a run of grain 'month'"):
        mart.write([(good.run, good.rows), (bad.run, mislabelled)])
    assert mart.read().equals(before)
    assert mart.runs().equals(runs)


# Parquet and SQL


def test_out_writes_parquet_that_reads_back(small: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "bi"
    args = ["materialize", "--models", "linear", "--grain", "day", "--db", str(small)]
    assert main([*args, "--out", str(out)]) == 0
    assert (
        f"mart_attribution: 5 rows → {out / 'mart_attribution.parquet'}" in capsys.readouterr().out
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "mart_attribution.parquet",
        "mart_runs.parquet",
    ]
    mart = Mart(Store(small))
    assert pl.read_parquet(out / "mart_attribution.parquet").equals(mart.read())
    runs = pl.read_parquet(out / "mart_runs.parquet")
    assert runs.select("run_id", "grain", "models", "current", "stale").rows() == [
        (1, "day", "linear", True, False)
    ]


def test_out_csv_for_looker_studio(small: Path, tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "csv"
    args = ["materialize", "--models", "linear", "--grain", "week", "--db", str(small)]
    assert main([*args, "--out", str(out), "--out-format", "csv"]) == 0
    assert f"mart_runs: 1 row → {out / 'mart_runs.csv'}" in capsys.readouterr().out
    lines = (out / "mart_attribution.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [
        "run_id,model,grain,stage,period,channel,campaign,attributed_conversions,"
        "attributed_revenue,spend,impressions,clicks",
        "1,linear,week,purchase,2024-02-26,(no touchpoint),(not set),1.0,7.0,,,",
        "1,linear,week,purchase,2024-02-26,Email,news,0.5,50.0,5.0,,",
        "1,linear,week,purchase,2024-02-26,Search,brand,1.5,90.0,50.0,1500,15",
    ]
    assert not [p for p in out.iterdir() if p.name.endswith(".partial")]


def _documented_sql() -> str:
    text = (ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, "docs/bi.md shows no SQL query"
    return str(blocks[0])


def test_the_documented_query_runs_on_the_mart(example_store: Store, tmp_path: Path) -> None:
    services, mart = Services.for_store(example_store), Mart(example_store)
    materialize(services, mart, MartQuery.create("markov,linear", grain="week"))
    with duckdb.connect(str(example_store.path), read_only=True) as con:
        answer = con.sql(_documented_sql()).pl()
    _, revenue = _closed_won_revenue(example_store)
    assert answer["revenue"].sum() == pytest.approx(revenue, rel=REL)
    spend = example_store.read("costs")["spend"].sum()
    assert answer["spend"].sum() == pytest.approx(spend, rel=REL)
    roas = answer.filter(pl.col("spend") > 0)
    assert (roas["roas"] - roas["revenue"] / roas["spend"]).abs().max() == pytest.approx(0.0)
