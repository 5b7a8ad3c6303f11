"""Attribution through the engine's paths equals attribution of every journey in polars.

The services answer path-exact models (:meth:`AttributionModel.runs_on_paths`)
from the engine's aggregated paths when the data is in the store, and from
polars journeys when frames are given; both must report the same rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from api.services import AttributionQuery, CompareQuery, Services
from api.services.attribution import on_converting, on_paths
from attribution import available_models, get_model
from ingest import Store, ingest_files

ROOT = Path(__file__).resolve().parents[2]
PAIRS = "anonymous_id,user_id\n"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Services, Services]:
    folder = tmp_path_factory.mktemp("engine")
    store = Store(folder / "example.duckdb")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    users = store.read("conversions")["user_id"].unique().sort().to_list()
    pairs = folder / "pairs.csv"
    # Merge some persons so stitching changes journeys.
    pairs.write_text(
        PAIRS + "".join(f"{a},{b}\n" for a, b in zip(users[:40], users[40:80], strict=True))
    )
    ingest_files(store, "identities", [pairs])
    frames = Services.for_frames(
        store.read("touchpoints"),
        store.read("conversions"),
        store.read("costs"),
        identities=store.read("identities"),
    )
    return Services.for_store(store), frames


PATH_MODELS = [m for m in available_models() if get_model(m).runs_on_paths("channel")]
PERIODS: list[dict[str, Any]] = [
    {},
    {"start": dt.date(2025, 3, 1), "end": dt.date(2025, 4, 30)},
    {"start": dt.date(2025, 2, 1), "lookback_days": 14.0},
]


def test_path_models_are_the_rule_based_and_data_driven_ones() -> None:
    assert set(PATH_MODELS) >= {"first_touch", "last_touch", "linear", "markov", "shapley"}
    assert "time_decay" not in PATH_MODELS
    assert "u_shaped" not in PATH_MODELS


CASES = [
    (model, by)
    for model in PATH_MODELS
    for by in ("channel", "campaign")
    if get_model(model).runs_on_paths(by)
]


@pytest.mark.parametrize(("model", "by"), CASES)
@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_engine_report_equals_the_polars_report(
    stores: tuple[Services, Services], model: str, by: str, period: int
) -> None:
    engine, frames = stores
    query = AttributionQuery.create(model, by=by, stage="closed_won", **PERIODS[period])
    assert on_paths(query)
    got = engine.attribution(query)
    expected = frames.attribution(query)
    assert got.members["totals"] == pytest.approx(expected.members["totals"], rel=1e-9)
    # Remapped rows are counted in the read window, as the store's polars reading does.
    assert got.members["identity"] == engine.inputs(query.window).identity
    rows = {r[by]: r for r in got.to_dict()["data"]}
    want = {r[by]: r for r in expected.to_dict()["data"]}
    assert rows.keys() == want.keys()
    for key, row in want.items():
        for column, value in row.items():
            if isinstance(value, float):
                assert rows[key][column] == pytest.approx(value, rel=1e-9, abs=1e-9), (key, column)
            else:
                assert rows[key][column] == value, (key, column)


CONVERTING_CASES = [
    (model, by)
    for model in available_models()
    for by in ("channel", "campaign")
    if not get_model(model).runs_on_paths(by) and get_model(model).population_independent
]


def test_the_converting_route_serves_the_time_and_stage_models() -> None:
    served = {model for model, _ in CONVERTING_CASES}
    assert served >= {"time_decay", "u_shaped", "w_shaped", "full_path"}
    assert ("last_non_direct", "campaign") in CONVERTING_CASES


@pytest.mark.parametrize(("model", "by"), CONVERTING_CASES)
@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_engine_converting_report_equals_the_polars_report(
    stores: tuple[Services, Services], model: str, by: str, period: int
) -> None:
    """Models that read touch times or milestones get the engine's converting journeys."""
    engine, frames = stores
    query = AttributionQuery.create(model, by=by, stage="closed_won", **PERIODS[period])
    assert on_converting(query)
    assert not on_paths(query)
    got = engine.attribution(query)
    expected = frames.attribution(query)
    assert got.members["totals"] == pytest.approx(expected.members["totals"], rel=1e-9)
    rows = {r[by]: r for r in got.to_dict()["data"]}
    want = {r[by]: r for r in expected.to_dict()["data"]}
    assert rows.keys() == want.keys()
    for key, row in want.items():
        for column, value in row.items():
            if isinstance(value, float):
                assert rows[key][column] == pytest.approx(value, rel=1e-9, abs=1e-9), (key, column)
            else:
                assert rows[key][column] == value, (key, column)


@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_comparison_of_every_model_is_the_same_on_the_engine(
    stores: tuple[Services, Services], period: int
) -> None:
    engine, frames = stores
    query = CompareQuery.create(None, stage="closed_won", **PERIODS[period])
    got, expected = engine.compare(query).to_dict(), frames.compare(query).to_dict()
    assert got["models"] == expected["models"]
    assert got["skipped"] == expected["skipped"]
    assert len(got["data"]) == len(expected["data"])
    for row, want in zip(got["data"], expected["data"], strict=True):
        for column, value in want.items():
            if isinstance(value, float):
                assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-9), column
            else:
                assert row[column] == value, column


@pytest.mark.parametrize("model", ["linear", "time_decay", "w_shaped", "last_non_direct"])
@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_engine_timeseries_equals_the_polars_one(
    stores: tuple[Services, Services], model: str, period: int
) -> None:
    """Time series of models that credit each journey alone come from converting journeys."""
    from api.services.queries import TimeSeriesQuery

    engine, frames = stores
    query = TimeSeriesQuery(
        metric="all",
        interval="week",
        model=get_model(model),
        by="campaign",
        stage="closed_won",
        **PERIODS[period],
    )
    got, expected = engine.timeseries(query).to_dict(), frames.timeseries(query).to_dict()
    assert {k: v for k, v in got.items() if k != "data"} == {
        k: v for k, v in expected.items() if k != "data"
    }
    assert len(got["data"]) == len(expected["data"])
    for row, want in zip(got["data"], expected["data"], strict=True):
        for column, value in want.items():
            if isinstance(value, float):
                assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-9), column
            else:
                assert row[column] == value, column


@pytest.mark.parametrize("model", ["linear", "time_decay"])
def test_engine_bootstrap_matches_the_polars_one_in_distribution(
    stores: tuple[Services, Services], model: str
) -> None:
    """The engine's bootstrap draws other random numbers than the polars route (its persons are
    the converting ones plus a count of the others), but the same distribution: the intervals
    agree to Monte Carlo error, and the point estimates exactly."""
    engine, frames = stores
    query = AttributionQuery.create(
        model, by="channel", stage="closed_won", ci=0.9, bootstrap=1000, seed=3
    )
    assert on_converting(query)
    got = {r["channel"]: r for r in engine.attribution(query).to_dict()["data"]}
    want = {r["channel"]: r for r in frames.attribution(query).to_dict()["data"]}
    assert got.keys() == want.keys()
    for key, row in want.items():
        assert got[key]["revenue"] == pytest.approx(row["revenue"], rel=1e-9)
        width = row["revenue_high"] - row["revenue_low"]
        for side in ("revenue_low", "revenue_high"):
            assert got[key][side] == pytest.approx(row[side], abs=0.15 * width + 1e-9), key


@pytest.mark.parametrize("by", ["channel", "campaign"])
@pytest.mark.parametrize("collapse", [True, False])
@pytest.mark.parametrize("period", range(len(PERIODS)))
def test_engine_path_statistics_equal_the_polars_ones(
    stores: tuple[Services, Services], by: str, collapse: bool, period: int
) -> None:
    """Top paths, lengths and time lags from converting journeys plus the other paths' counts."""
    from api.services.queries import PathsQuery

    engine, frames = stores
    query = PathsQuery(by=by, collapse=collapse, stage="closed_won", **PERIODS[period])
    got, expected = engine.paths(query).to_dict(), frames.paths(query).to_dict()
    assert got.keys() == expected.keys()
    for member, want in expected.items():
        if member == "data":
            continue
        assert _close(got[member], want), member
    got_rows = sorted(got["data"], key=lambda r: r["path"])
    want_rows = sorted(expected["data"], key=lambda r: r["path"])
    assert len(got_rows) == len(want_rows)
    for row, want in zip(got_rows, want_rows, strict=True):
        assert _close(row, want), want["path"]


def _close(got: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return bool(got.keys() == want.keys()) and all(_close(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(_close(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, float):
        return bool(got == pytest.approx(want, rel=1e-9, abs=1e-9))
    return bool(got == want)


@pytest.mark.parametrize("by", [None, "channel", "campaign", "lead_source"])
@pytest.mark.parametrize("mode", ["cohort", "period"])
@pytest.mark.parametrize("assign", ["first_touch", "lead_touch"])
@pytest.mark.parametrize(
    "period", [{}, {"start": dt.date(2025, 3, 1), "end": dt.date(2025, 4, 30)}]
)
def test_funnel_from_the_stores_few_touches_equals_the_polars_one(
    stores: tuple[Services, Services],
    by: str | None,
    mode: str,
    assign: str,
    period: dict[str, Any],
) -> None:
    """Of a person without a conversion the funnel reads only their first and last touch and
    first visits: the store sends only those, and every number stays the same."""
    from api.services.queries import FunnelQuery

    engine, frames = stores
    query = FunnelQuery.create(by=by, mode=mode, assign=assign, **period)
    got, expected = engine.funnel(query).to_dict(), frames.funnel(query).to_dict()
    assert _close(got, expected)


def test_the_store_sends_the_funnel_fewer_touches(stores: tuple[Services, Services]) -> None:
    from api.services.inputs import StoreSource, Window

    engine, frames = stores
    source = engine.context.source
    assert isinstance(source, StoreSource)
    sent = source.funnel_read(Window.everything(), start=None, end=None, cut=False)
    everything = frames.inputs(Window.everything()).touchpoints
    assert 0 < sent.touchpoints.height < everything.height
    assert sent.touchpoints["user_id"].n_unique() == everything["user_id"].n_unique()
