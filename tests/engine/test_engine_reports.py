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
from api.services.attribution import on_converting, on_paths, on_steps
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
        currency=store.currency,  # the store's rows, in the store's currency
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


def test_first_order_markov_is_answered_from_the_steps(
    stores: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No distinct path is built for Markov of order 1: the engine counts its steps."""
    import api.services.inputs

    def no_paths(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("first-order Markov must not build the distinct paths")

    engine, frames = stores
    monkeypatch.setattr(api.services.inputs, "store_paths", no_paths)
    for params in ({}, {"collapse_repeats": True}, {"normalisation": "journey"}):
        query = AttributionQuery.create("markov", params, by="campaign", stage="closed_won")
        assert on_steps(query)
        assert on_paths(query)
        got = engine.attribution(query).to_dict()["data"]
        want = frames.attribution(query).to_dict()["data"]
        assert [r["campaign"] for r in got] == [r["campaign"] for r in want]
        for row, expected in zip(got, want, strict=True):
            numbers = {k: v for k, v in expected.items() if isinstance(v, float)}
            assert {k: row[k] for k in numbers} == pytest.approx(numbers, rel=1e-9, abs=1e-9)
    assert not on_steps(AttributionQuery.create("markov", {"order": 2}))
    assert not on_steps(AttributionQuery.create("markov", ci=0.9))


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
    assert_same_totals(got.members["totals"], expected.members["totals"])
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
    assert_same_totals(got.members["totals"], expected.members["totals"])
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
    """Of a person without a conversion the funnel uses only their first and last touch and
    visits: the store counts those persons instead of sending them, and every number stays."""
    from api.services.queries import FunnelQuery

    engine, frames = stores
    query = FunnelQuery.create(by=by, mode=mode, assign=assign, **period)
    got, expected = engine.funnel(query).to_dict(), frames.funnel(query).to_dict()
    assert _close(got, expected)


@pytest.mark.parametrize("by", [None, "channel", "owner"])
@pytest.mark.parametrize("mode", ["cohort", "period"])
@pytest.mark.parametrize(
    "period", [{}, {"start": dt.date(2025, 3, 1), "end": dt.date(2025, 4, 30)}]
)
@pytest.mark.parametrize(
    ("stages", "lost"),
    [("lead,sal,opportunity,closed_won", "churned"), ("mql,sql,closed_won", None)],
)
def test_funnel_with_absent_stages_from_the_store_equals_the_polars_one(
    stores: tuple[Services, Services],
    by: str | None,
    mode: str,
    period: dict[str, Any],
    stages: str,
    lost: str | None,
) -> None:
    """A funnel naming stages the data lacks (``sal``, ``churned``) gives the same nulls."""
    from api.services.queries import FunnelQuery

    engine, frames = stores
    query = FunnelQuery.create(by=by, mode=mode, stages=stages, lost_stages=lost, **period)
    got, expected = engine.funnel(query).to_dict(), frames.funnel(query).to_dict()
    assert _close(got, expected)
    if lost == "churned":
        assert got["absent_stages"] == ["sal", "churned"]
        assert got["totals"]["sals"] is None
        assert got["totals"]["win_rate"] is None


PARTIAL_TOUCHES = """\
touchpoint_id,user_id,ts,channel,campaign,interaction
t1,cookie-w,2018-03-01T10:00:00Z,Email,a,visit
t2,x,2018-02-20T10:00:00Z,Search,b,click
t3,z,2018-02-25T10:00:00Z,Social,c,visit
"""
PARTIAL_SALES = """\
conversion_id,user_id,ts,stage,revenue,owner,lead_source
m-w,crm-w,2018-03-08T00:00:00Z,mql,0,,web
won-w,crm-w,2018-03-06T19:38:55Z,closed_won,10,rep1,web
m-x,x,2018-03-01T00:00:00Z,mql,0,,ads
won-x,x,2018-03-11T00:00:00Z,closed_won,20,rep2,ads
m-y,y,2018-03-02T00:00:00Z,mql,0,,ads
"""


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Services, Services]:
    """Olist-like data: MQLs and wins only, a win dated before its MQL row, a stitched cookie."""
    folder = tmp_path_factory.mktemp("partial")
    store = Store(folder / "partial.duckdb")
    for table, text in (
        ("touchpoints", PARTIAL_TOUCHES),
        ("conversions", PARTIAL_SALES),
        ("identities", PAIRS + "cookie-w,crm-w\n"),
    ):
        path = folder / f"{table}.csv"
        path.write_text(text)
        ingest_files(store, table, [path])
    frames = Services.for_frames(
        store.read("touchpoints"),
        store.read("conversions"),
        identities=store.read("identities"),
        currency=store.currency,
    )
    return Services.for_store(store), frames


@pytest.mark.parametrize("by", [None, "channel", "lead_source", "owner"])
@pytest.mark.parametrize("mode", ["cohort", "period"])
@pytest.mark.parametrize("stages", [None, "lead,mql,sql,opportunity,closed_won"])
def test_partial_data_funnel_from_the_store_equals_the_polars_one(
    partial: tuple[Services, Services], by: str | None, mode: str, stages: str | None
) -> None:
    from api.services.queries import FunnelQuery

    engine, frames = partial
    query = FunnelQuery.create(by=by, mode=mode, stages=stages)
    got, expected = engine.funnel(query).to_dict(), frames.funnel(query).to_dict()
    assert _close(got, expected)
    totals = got["totals"]
    assert totals["win_rate"] is None
    if stages is None:
        # mql → closed_won: w (won before its MQL row) is not timed; x took 10 days.
        assert got["stages"] == ["mql", "closed_won"]
        assert (totals["mqls"], totals["customers"]) == (3, 2)
        assert totals["days_lead_to_won_mean"] == 10.0
        assert any("dated before their lead row" in n for n in got["notes"])
    else:
        assert (totals["leads"], totals["mql_to_sql_rate"]) == (None, None)
    if by == "channel":
        # The stitched cookie puts w on Email (its first touch), y has none.
        rows = {r["channel"]: r for r in got["data"]}
        assert (rows["Email"]["mqls"], rows["Email"]["customers"]) == (1, 1)
        assert rows["(no touchpoint)"]["mqls"] == 1


def test_the_store_sends_the_funnel_fewer_touches(stores: tuple[Services, Services]) -> None:
    from api.services.inputs import StoreSource, Window

    engine, frames = stores
    source = engine.context.source
    assert isinstance(source, StoreSource)
    sent = source.funnel_read(Window.everything(), start=None, end=None, cut=False)
    everything = frames.inputs(Window.everything()).touchpoints
    assert 0 < sent.touchpoints.height < everything.height
    # The touched persons with no conversion are counted, not listed: every person once.
    assert sent.funnel_others is not None
    listed = sent.touchpoints["user_id"].n_unique()
    assert 0 < listed < listed + sent.funnel_others["persons"].sum()
    assert listed + sent.funnel_others["persons"].sum() == everything["user_id"].n_unique()


@pytest.mark.parametrize("by", [None, "channel", "lead_source"])
@pytest.mark.parametrize("mode", ["cohort", "period"])
def test_funnel_where_only_unconverted_persons_have_touches(
    tmp_path: Path, by: str | None, mode: str
) -> None:
    """No touch comes back one by one (the converted person has none): the counted persons still
    make their channels' rows and visitors, as the polars funnel over every touch does."""
    from api.services.queries import FunnelQuery

    store = Store(tmp_path / "s.duckdb")
    (tmp_path / "touchpoints.csv").write_text(
        "touchpoint_id,user_id,ts,channel,campaign,interaction\n"
        "t1,a,2025-03-01T10:00:00Z,Email,e1,visit\n"
        "t2,a,2025-03-02T10:00:00Z,Search,s1,click\n"
        "t3,b,2025-03-05T10:00:00Z,Search,s1,visit\n"
        "t4,c,2025-02-01T10:00:00Z,,s2,click\n"
    )
    (tmp_path / "conversions.csv").write_text(
        "conversion_id,user_id,ts,stage,revenue\n"
        "l1,z,2025-03-03T10:00:00Z,lead,0\n"
        "w1,z,2025-03-09T10:00:00Z,closed_won,100\n"
    )
    for table in ("touchpoints", "conversions"):
        ingest_files(store, table, [tmp_path / f"{table}.csv"])
    frames = Services.for_frames(
        store.read("touchpoints"), store.read("conversions"), currency=store.currency
    )
    periods: list[dict[str, Any]] = [
        {},
        {"start": dt.date(2025, 3, 2), "end": dt.date(2025, 3, 31)},
    ]
    for period in periods:
        query = FunnelQuery.create(by=by, mode=mode, stages="lead,closed_won", **period)
        got = Services.for_store(store).funnel(query).to_dict()
        assert _close(got, frames.funnel(query).to_dict())
        if by == "channel" and not period:
            rows = {r["channel"]: r for r in got["data"]}
            # a's first touch is Email, b's Search, c's channel is derived; z has no touch.
            assert set(rows) == {"Email", "Search", "Unassigned", "(no touchpoint)"}
            assert (rows["Email"]["visitors"], rows["Search"]["visitors"]) == (1, 1)
            assert rows["(no touchpoint)"]["customers"] == 1


def assert_same_totals(got: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal totals: numbers to 1e-9 relative, nulls (unknown metrics) as nulls."""
    assert got.keys() == expected.keys()
    assert {k for k, v in got.items() if v is None} == {k for k, v in expected.items() if v is None}
    known = {k: v for k, v in expected.items() if v is not None}
    assert {k: got[k] for k in known} == pytest.approx(known, rel=1e-9)
