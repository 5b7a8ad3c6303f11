"""Each public dataset in ../shared/data/real loads with its adapter; counts match PROVENANCE.md."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ingest import Store, ingest_adapter
from ingest.adapters.public import load_completejourney
from ingest.loader import ForeignCurrencyError

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"the public test datasets are not here ({REAL}); they live beside the repo in "
    "shared/data/real",
)


def _counts(store: Store) -> dict[str, int]:
    return {k: v for k, v in store.counts().items() if v}


@pytest.mark.parametrize(
    ("name", "sessions", "users_with_id"),
    [("test_dataset.csv", 16, 3), ("test_dataset_multiple_conversions.csv", 19, 4)],
)
def test_dp6(store: Store, name: str, sessions: int, users_with_id: int) -> None:
    path = REAL / "dp6_mam_fixture" / name
    raw = pl.read_csv(path, infer_schema=False)
    ingest_adapter(store, "dp6", [path])
    purchases = raw.filter(pl.col("is_conversion_purchase") == "1").height
    assert _counts(store) == {
        "touchpoints": sessions,
        "conversions": purchases,
        "identities": users_with_id,
    }
    channels = set(store.read("touchpoints")["channel"].to_list())
    assert channels <= {"Organic Search", "Direct", "Paid Search", "Email"}


def test_olist(tmp_path: Path) -> None:
    store = Store(tmp_path / "olist.duckdb")
    ingest_adapter(store, "olist", [REAL / "olist_marketing_funnel"], currency="BRL")
    assert store.currency == "BRL"
    assert _counts(store) == {"touchpoints": 8_000, "conversions": 8_842}
    conversions = store.read("conversions")
    won = conversions.filter(pl.col("stage") == "closed_won")
    assert won.height == 842
    assert won["revenue"].sum() == pytest.approx(61_784_006)
    assert won["owner"].n_unique() == 22
    touches = store.read("touchpoints")
    assert touches.filter(pl.col("channel") == "Organic Search").height == 2_296
    assert touches.filter(pl.col("channel") == "Unassigned").height == 1_099 + 60


def test_olist_needs_brl_store(store: Store) -> None:
    """8,842 conversions in BRL into a new store: one error naming the flag, not 8,842 problems."""
    with pytest.raises(ForeignCurrencyError) as caught:
        ingest_adapter(store, "olist", [REAL / "olist_marketing_funnel"])
    assert str(caught.value) == (
        "olist_marketing_qualified_leads_dataset.csv, olist_closed_deals_dataset.csv: these rows "
        "are in BRL but the store reports in USD; this store holds no money yet: rerun with "
        "--currency BRL."
    )
    assert _counts(store) == {}


def test_completejourney(store: Store) -> None:
    ingest_adapter(store, "completejourney", [REAL / "completejourney_8451"])
    assert _counts(store) == {"touchpoints": 6_589, "conversions": 47_243}
    conversions = store.read("conversions")
    assert conversions["revenue"].sum() == pytest.approx(233_935.24, abs=0.01)
    assert conversions["user_id"].n_unique() == 2_377
    touches = store.read("touchpoints")
    by_type = dict(touches.group_by("channel").len().iter_rows())
    assert by_type == {"Type A": 3_647, "Type B": 2_368, "Type C": 574}
    assert touches["user_id"].n_unique() == 1_559


def test_completejourney_with_redemptions() -> None:
    frames = load_completejourney([REAL / "completejourney_8451"], {"redemptions": "true"})
    touches = frames["touchpoints"]
    assert touches.height == 6_589 + 2_102
    assert touches["touchpoint_id"].n_unique() == touches.height


def test_channelattribution_paths_shape() -> None:
    # Aggregated paths go through `closedloop attribute --paths`, not through the store.
    paths = pl.read_csv(REAL / "channelattribution_pathdata" / "Data.csv", separator=";")
    assert paths.height == 10_000
    assert paths["total_conversions"].sum() == 19_785
    assert paths["total_null"].sum() == 68_602
