"""The funnel on real data: Olist's marketing funnel (8,000 MQLs, 842 closed deals).

Conversions as ``PROVENANCE.md`` maps them: one ``mql`` row per lead, one
``closed_won`` row per deal (owner = ``sr_id``, lead source = ``origin``).
Olist has no ``lead``, ``sql``, ``opportunity`` or ``closed_lost`` row: a
funnel on partial data. The MQL→won rate per origin is checked against
counts made here directly from the two CSV files with plain polars, through
:func:`attribution.funnel.funnel`, the store and ``closedloop funnel``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from attribution.funnel import funnel

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
OLIST = REAL / "olist_marketing_funnel"

pytestmark = pytest.mark.skipif(
    not OLIST.is_dir(), reason=f"real data folder {OLIST} is absent (not shipped with the repo)"
)

B2B = "lead,mql,sql,opportunity,closed_won"
ABSENT_RATES = (
    "lead_to_mql_rate",
    "mql_to_sql_rate",
    "sql_to_opportunity_rate",
    "opportunity_to_won_rate",
    "lead_conversion_rate",
    "win_rate",
)


@pytest.fixture(scope="module")
def raw() -> tuple[pl.DataFrame, pl.DataFrame]:
    mqls = pl.read_csv(OLIST / "olist_marketing_qualified_leads_dataset.csv")
    deals = pl.read_csv(OLIST / "olist_closed_deals_dataset.csv", infer_schema_length=0)
    return mqls, deals


@pytest.fixture(scope="module")
def expected(raw: tuple[pl.DataFrame, pl.DataFrame]) -> dict[str, tuple[int, int]]:
    """(MQLs, closed deals) per origin, counted straight from the CSV files."""
    mqls, deals = raw
    origin = pl.col("origin").fill_null("(not set)")
    leads = mqls.group_by(origin).agg(pl.len().alias("mqls"))
    won = deals.join(mqls, on="mql_id").group_by(origin).agg(pl.len().alias("won"))
    table = leads.join(won, on="origin", how="left").with_columns(pl.col("won").fill_null(0))
    return {o: (n, w) for o, n, w in table.select("origin", "mqls", "won").iter_rows()}


@pytest.fixture(scope="module")
def days_won_after_mql(raw: tuple[pl.DataFrame, pl.DataFrame]) -> pl.Series:
    """Days from the MQL to the win of every closed deal, straight from the CSV files."""
    mqls, deals = raw
    joined = deals.join(mqls, on="mql_id").select(
        pl.col("won_date").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
        - pl.col("first_contact_date").str.to_datetime("%Y-%m-%d", time_zone="UTC")
    )
    return joined.to_series().dt.total_seconds() / 86_400


@pytest.fixture(scope="module")
def conversions(raw: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    mqls, deals = raw
    leads = mqls.select(
        pl.col("mql_id").alias("conversion_id"),
        pl.col("mql_id").alias("user_id"),
        pl.col("first_contact_date").str.to_datetime("%Y-%m-%d", time_zone="UTC").alias("ts"),
        pl.lit("mql").alias("stage"),
        pl.lit(0.0).alias("revenue"),
        pl.lit(None, pl.String).alias("owner"),
        pl.col("origin").alias("lead_source"),
    )
    won = deals.join(mqls.select("mql_id", "origin"), on="mql_id", how="left").select(
        (pl.col("mql_id") + ":won").alias("conversion_id"),
        pl.col("mql_id").alias("user_id"),
        pl.col("won_date").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC").alias("ts"),
        pl.lit("closed_won").alias("stage"),
        pl.col("declared_monthly_revenue").cast(pl.Float64).fill_null(0.0).alias("revenue"),
        pl.col("sr_id").alias("owner"),
        pl.col("origin").alias("lead_source"),
    )
    return pl.concat([leads, won])


def _check_mql_to_won(rows: list[dict[str, Any]], expected: dict[str, tuple[int, int]]) -> None:
    got = {row["lead_source"]: row for row in rows}
    assert sorted(got) == sorted(expected)
    for origin, (mqls, won) in expected.items():
        row = got[origin]
        assert (row["mqls"], row["won"], row["customers"]) == (mqls, won, won), origin
        assert row["mql_to_won_rate"] == pytest.approx(won / mqls, rel=1e-12), origin
        assert row["lead_conversion_rate"] == pytest.approx(won / mqls, rel=1e-12), origin
        # Olist ships closed deals only: how many were lost is unknown, not 0.
        assert (row["lost"], row["win_rate"]) == (None, None), origin


def test_the_independent_counts_are_olists() -> None:
    """The numbers the other tests compare with, as PROVENANCE.md gives them."""
    mqls = pl.read_csv(OLIST / "olist_marketing_qualified_leads_dataset.csv")
    assert mqls.height == 8_000
    assert mqls.filter(pl.col("origin") == "organic_search").height == 2_296


@pytest.mark.parametrize("stages", ["mql,closed_won", None])
def test_mql_to_won_rate_by_origin_with_and_without_stages(
    conversions: pl.DataFrame, expected: dict[str, tuple[int, int]], stages: str | None
) -> None:
    report = funnel(conversions, by="lead_source", stages=stages)
    assert report.stages.order == ("mql", "closed_won")
    assert report.absent_stages == ("closed_lost",)
    _check_mql_to_won(report.to_dict()["data"], expected)
    assert (report.totals["mqls"], report.totals["customers"]) == (8000, 842)
    assert report.totals["mql_to_won_rate"] == pytest.approx(842 / 8000)
    assert expected["organic_search"] == (2296, 271)


def test_the_whole_b2b_funnel_shows_olists_absent_stages_as_null(
    conversions: pl.DataFrame, expected: dict[str, tuple[int, int]]
) -> None:
    report = funnel(conversions, by="lead_source", stages=B2B)
    assert report.absent_stages == ("lead", "sql", "opportunity", "closed_lost")
    for row in [*report.to_dict()["data"], report.to_dict()["totals"]]:
        for column in ("leads", "sqls", "opportunities", "lost", *ABSENT_RATES):
            assert row[column] is None, (row.get("lead_source"), column)
    got = {row["lead_source"]: row for row in report.data.to_dicts()}
    for origin, (mqls, won) in expected.items():
        assert (got[origin]["mqls"], got[origin]["won"]) == (mqls, won), origin
    assert "1.000" not in "".join(line for line in report.to_table().splitlines() if "rate" in line)


@pytest.mark.parametrize("stages", [None, B2B])
def test_owners_are_the_sales_reps_and_no_win_rate_is_invented(
    conversions: pl.DataFrame, stages: str | None
) -> None:
    # Owners are set on won deals only (a rep per deal): whatever the grouping makes of
    # that, the funnel invents no win rate (no losses in the data) and no stage rate.
    report = funnel(conversions, by="owner", stages=stages)
    owners = set(report.data["owner"]) - {"(not set)"}
    assert len(owners) == 22
    assert sum(report.data["customers"]) == 842
    assert report.data["win_rate"].null_count() == report.data.height
    if stages == B2B:
        for rate in ABSENT_RATES:
            assert report.data[rate].null_count() == report.data.height, rate


def test_the_deal_won_before_its_mql_row_is_not_timed(
    conversions: pl.DataFrame, days_won_after_mql: pl.Series
) -> None:
    # One deal is won 1.18 days before its MQL row: its lead-to-won time is unknown.
    negative = days_won_after_mql.filter(days_won_after_mql < 0)
    assert negative.round(2).to_list() == [-1.18]
    timed = days_won_after_mql.filter(days_won_after_mql >= 0)
    report = funnel(conversions, by="lead_source")
    totals = report.totals
    assert totals["days_lead_to_won_mean"] == pytest.approx(timed.mean(), rel=1e-12)
    assert totals["days_lead_to_won_median"] == pytest.approx(timed.median(), rel=1e-12)
    assert report.data["days_lead_to_won_mean"].min() >= 0  # type: ignore[operator]
    assert (
        "note: 1 customer's win is dated before their lead row: left out of days_lead_to_won"
        in report.notes
    )
    # It is a customer all the same, in the cohort of its earliest row (the win).
    assert totals["customers"] == 842


@pytest.fixture(scope="module")
def olist_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Olist ingested as the docs say: ``closedloop ingest --from olist ... --currency BRL``."""
    from ingest import Store, ingest_adapter

    store = Store(tmp_path_factory.mktemp("olist") / "olist.duckdb")
    ingest_adapter(store, "olist", [OLIST], currency="BRL")
    return store.path


@pytest.mark.parametrize("stages", [(), ("--stages", "mql,closed_won")])
def test_closedloop_funnel_on_the_olist_store(
    olist_db: Path,
    expected: dict[str, tuple[int, int]],
    capsys: pytest.CaptureFixture[str],
    stages: tuple[str, ...],
) -> None:
    from api.cli import main

    argv = ["funnel", "--by", "lead_source", *stages, "--format", "json", "--db", str(olist_db)]
    assert main(argv) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["stages"] == ["mql", "closed_won"]
    assert body["currency"] == "BRL"
    _check_mql_to_won(body["data"], expected)


def test_closedloop_funnel_table_on_the_olist_store_with_b2b_stages(
    olist_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main

    assert main(["funnel", "--by", "lead_source", "--stages", B2B, "--db", str(olist_db)]) == 0
    out = capsys.readouterr().out
    lines = {line.split("┆")[0].strip("│ "): line for line in out.splitlines() if "┆" in line}
    for rate in ABSENT_RATES:
        cells = [c.strip(" │") for c in lines[rate].split("┆")[1:]]
        assert set(cells) == {"—"}, rate
    assert "note: no rows of lead, sql, opportunity in the data" in out
