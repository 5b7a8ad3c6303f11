"""A hand-made messy cost export against the public Olist funnel's touches (no public costs exist).

Olist's leads carry an origin, which the adapter turns into GA4 channels
(``Paid Search``, ``Social``, ``Display``, ``Email`` ...). The export below
writes those channels as a person would type them, one row per month.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from attribution import attribute
from ingest import Store, ingest_adapter, ingest_files
from ingest.cost_names import CostMap

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"the public test datasets are not here ({REAL}); they live beside the repo in "
    "shared/data/real",
)

MONTHS = [f"2018-{m:02d}-01" for m in range(1, 7)]
MONTHLY = "month,channel,cost\n" + "".join(
    f"{month},paid search,30000\n{month},SOCIAL,3000\n{month},display ,1000\n{month},E-mail,500\n"
    for month in MONTHS
)


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Path]:
    folder = tmp_path_factory.mktemp("olist")
    store = Store(folder / "olist.duckdb")
    ingest_adapter(store, "olist", [REAL / "olist_marketing_funnel"], currency="BRL")
    (folder / "costs.csv").write_text(MONTHLY)
    return store, folder


def _report(store: Store, costs: pl.DataFrame, by: str = "channel") -> dict[str, dict[str, object]]:
    report = attribute(
        store.read("touchpoints"),
        store.read("conversions"),
        costs,
        model="first_touch",
        stage="closed_won",
        lookback_days=400,
        by=by,
        currency="BRL",
    )
    assert report.totals["revenue"] == pytest.approx(61_784_006)
    assert report.totals["spend"] == pytest.approx(6 * 34_500)
    return {row[by]: row for row in report.data.iter_rows(named=True)}


def test_olist_with_a_messy_monthly_cost_export(olist: tuple[Store, Path], tmp_path: Path) -> None:
    store, folder = olist
    columns = {"date": "month", "spend": "cost"}
    mapped = ingest_files(
        Store(tmp_path / "costs.duckdb"), "costs", [folder / "costs.csv"], mapping=columns
    )
    assert mapped.inserted == 24
    # As typed, the costs join nothing: Paid Search's 195 customers look free.
    raw = pl.read_csv(folder / "costs.csv", try_parse_dates=True).rename(
        {"month": "date", "cost": "spend"}
    )
    rows = _report(store, raw)
    assert (rows["Paid Search"]["spend"], rows["Paid Search"]["cpa"]) == (0.0, None)

    # The same file, matched and spread: 6 x 30,000 over 195 first-touch customers.
    ingest_files(
        Store(folder / "olist.duckdb"),
        "costs",
        [folder / "costs.csv"],
        mapping=columns,
        cost_match="loose",
        cost_map=CostMap(channel={"E-mail": "Email"}),
        cost_grain="month",
    )
    costs = store.read("costs")
    assert costs.height == (31 + 28 + 31 + 30 + 31 + 30) * 4  # January-June 2018, 4 channels
    rows = _report(store, costs)
    paid = rows["Paid Search"]
    assert paid["spend"] == pytest.approx(180_000)
    assert paid["cpa"] == pytest.approx(180_000 / 195)
    assert paid["roas"] == pytest.approx(9_169_000 / 180_000)
    assert rows["Social"]["spend"] == pytest.approx(18_000)
    assert rows["Display"]["spend"] == pytest.approx(6_000)
    assert rows["Email"]["spend"] == pytest.approx(3_000)
    assert (rows["Organic Search"]["spend"], rows["Organic Search"]["cpa"]) == (0.0, None)
    # By Olist's own origin (the touch source): no spend per row, the period's in the totals.
    by_source = _report(store, costs, by="source")
    assert by_source["paid_search"]["revenue"] == pytest.approx(9_169_000)
    assert by_source["paid_search"]["spend"] is None
