"""The diagnostics' figures from the store (DuckDB SQL) equal those of frames (polars).

The example data with persons merged by identity pairs, a cost row whose
channel is spelled differently from the touches' and a stage no funnel
knows; every answer's ``warnings`` must be the same from both sources.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from pathlib import Path
from typing import Any

import pytest

from api.services import AttributionQuery, Services
from ingest import Store, ingest_files
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def rounded(value: Any) -> Any:
    """Floats to 12 significant digits (sums in another order differ in the last bits)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("diagnostics")
    store = Store(folder / "example.duckdb")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    users = store.read("conversions")["user_id"].unique().sort().to_list()
    pairs = folder / "pairs.csv"
    pairs.write_text(
        "anonymous_id,user_id\n"
        + "".join(f"{a},{b}\n" for a, b in zip(users[:40], users[40:80], strict=True))
    )
    ingest_files(store, "identities", [pairs])
    extra_costs = folder / "extra_costs.csv"
    extra_costs.write_text("date,channel,campaign,spend\n2025-02-03,paid search,brand,123.5\n")
    ingest_files(store, "costs", [extra_costs])
    extra = folder / "extra_conversions.csv"
    extra.write_text(
        "conversion_id,user_id,ts,stage,revenue\nx1,u00001,2025-02-03T10:00:00Z,Demo Booked,0\n"
    )
    ingest_files(store, "conversions", [extra])
    return store


@pytest.fixture(scope="module")
def stores(store: Store) -> tuple[Services, Services]:
    frames = Services.for_frames(
        store.read("touchpoints"),
        store.read("conversions"),
        store.read("costs"),
        identities=store.read("identities"),
        currency=store.currency,  # the store's rows, in the store's currency
    )
    return Services.for_store(store), frames


QUERIES: list[dict[str, Any]] = [
    {"model": "linear"},
    {"model": "markov", "lookback_days": 3.0},
    {"model": "time_decay", "start": dt.date(2025, 3, 1), "end": dt.date(2025, 4, 30)},
    {"model": "first_touch", "by": "campaign", "lookback_days": 7.0},
]


@pytest.mark.parametrize("asked", QUERIES, ids=lambda q: "-".join(str(v) for v in q.values()))
def test_store_and_frames_warn_alike(
    stores: tuple[Services, Services], asked: dict[str, Any]
) -> None:
    store, frames = stores
    query = AttributionQuery.create(**asked)
    from_store = store.attribution(query).members["warnings"]
    from_frames = frames.attribution(query).members["warnings"]
    assert rounded(from_store) == rounded(from_frames)
    codes = {w["code"] for w in from_store}
    assert "unknown_stage" in codes
    # The misspelt cost row (channel 'paid search', campaign 'brand') is dated 2025-02-03:
    # outside March-April.
    assert ("spend_without_touches" in codes) == ("start" not in asked)


def test_short_lookback_suggests_one_that_reaches_the_untouched(
    stores: tuple[Services, Services],
) -> None:
    store, _ = stores
    short = store.attribution(AttributionQuery.create("linear", lookback_days=3.0))
    (untouched,) = [w for w in short.members["warnings"] if w["code"] == "no_touch_in_lookback"]
    suggested = untouched["suggested_lookback_days"]
    assert suggested is not None
    assert suggested > 3
    # The suggestion reaches at least 95% of the conversions the short lookback missed.
    longer = store.attribution(AttributionQuery.create("linear", lookback_days=suggested))
    missed = short.members["totals"]["untouched_conversions"]
    left = longer.members["totals"]["untouched_conversions"]
    reached = math.ceil(0.95 * untouched["beyond_lookback"])
    assert left <= missed - reached


def test_spend_without_touches_names_the_touch_spelling(stores: tuple[Services, Services]) -> None:
    store, _ = stores
    warnings = store.attribution(AttributionQuery.create("linear")).members["warnings"]
    (orphan,) = [w for w in warnings if w["code"] == "spend_without_touches"]
    assert orphan["keys"] == [{"key": "paid search", "spend": 123.5, "did_you_mean": "Paid Search"}]


def test_spark_warns_as_duckdb_does(store: Store, tmp_path: Path) -> None:
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed")
    store.export(tmp_path / "lake")
    lake = Services.for_lake(tmp_path / "lake", master="local[2]")
    duck = Services.for_store(store)
    for asked in QUERIES[:2]:
        query = AttributionQuery.create(**asked)
        on_spark = lake.attribution(query).members["warnings"]
        assert rounded(on_spark) == rounded(duck.attribution(query).members["warnings"])
