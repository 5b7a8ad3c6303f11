"""Cost names made the touches': the cost map, the loose match, and the messy export they fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import attribute
from attribution.errors import InputError, ParameterError
from ingest import Store, ingest_files, ingest_frame, load_mapping_file
from ingest.cost_names import CostMap, CostNames, load_cost_map

TOUCHPOINTS = """\
touchpoint_id,user_id,ts,channel,campaign
t1,u1,2024-03-04T10:00:00Z,Paid Search,brand_search
t2,u2,2024-03-04T11:00:00Z,Paid Search,brand_search
t3,u3,2024-03-05T10:00:00Z,Email,newsletter
"""

CONVERSIONS = """\
conversion_id,user_id,ts,stage,revenue
c1,u1,2024-03-06T00:00:00Z,purchase,300
c2,u2,2024-03-06T00:00:00Z,purchase,100
c3,u3,2024-03-07T00:00:00Z,purchase,50
"""

# The motivating case: names that differ from the touches' by case, spacing or spelling.
MESSY_COSTS = """\
date,channel,campaign,spend
2024-03-04,paid search,BRAND_SEARCH,120
2024-03-05, PAID  SEARCH ,brand_search,80
2024-03-05,E-mail,newsletter,10
2024-03-05,TV,upfront,500
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.duckdb")
    for table, text in (("touchpoints", TOUCHPOINTS), ("conversions", CONVERSIONS)):
        (tmp_path / f"{table}.csv").write_text(text)
        ingest_files(store, table, [tmp_path / f"{table}.csv"])
    (tmp_path / "costs.csv").write_text(MESSY_COSTS)
    return store


def _report(store: Store, by: str = "channel") -> dict[str, dict[str, object]]:
    report = attribute(
        store.read("touchpoints"),
        store.read("conversions"),
        store.read("costs"),
        model="last_touch",
        by=by,
        start=dt.date(2024, 3, 1),
        end=dt.date(2024, 3, 31),
    )
    assert report.totals["spend"] == 710.0  # every row's spend, renamed or not
    return {row[by]: row for row in report.data.iter_rows(named=True)}


def test_exact_names_join_nothing_and_cpa_is_null_not_free(store: Store, tmp_path: Path) -> None:
    ingest_files(store, "costs", [tmp_path / "costs.csv"])
    rows = _report(store)
    # Paid Search earned 400 but its spend sits on two rows of their own: its CPA is
    # unknown (null), never 0.00 ("free customers").
    assert (rows["Paid Search"]["revenue"], rows["Paid Search"]["spend"]) == (400.0, 0.0)
    assert rows["Paid Search"]["cpa"] is None
    assert rows["paid search"]["spend"] == 120.0
    assert rows["PAID  SEARCH"]["spend"] == 80.0  # surrounding spaces trimmed, as every name


def test_loose_match_and_cost_map_join_the_spend(store: Store, tmp_path: Path) -> None:
    summary = ingest_files(
        store,
        "costs",
        [tmp_path / "costs.csv"],
        cost_match="loose",
        cost_map=CostMap(channel={"E-mail": "Email"}),
    )
    rows = _report(store)
    # 120 + 80 now join Paid Search: CPA 200 / 2 conversions, ROAS 400 / 200.
    assert rows["Paid Search"]["spend"] == 200.0
    assert rows["Paid Search"]["cpa"] == 100.0
    assert rows["Paid Search"]["roas"] == 2.0
    assert rows["Email"]["spend"] == 10.0
    # A name no touch uses stays as it is, with its spend: visible, never dropped.
    assert (rows["TV"]["spend"], rows["TV"]["revenue"]) == (500.0, 0.0)
    campaigns = _report(store, by="campaign")
    assert campaigns["brand_search"]["spend"] == 200.0
    assert summary.notes == [
        "cost campaign 'BRAND_SEARCH' renamed 'brand_search' (1 row): matched a touch campaign "
        "ignoring case and spaces",
        "cost channel ' PAID  SEARCH ' renamed 'Paid Search' (1 row): matched a touch channel "
        "ignoring case and spaces",
        "cost channel 'E-mail' renamed 'Email' (1 row): by the cost map",
        "cost channel 'paid search' renamed 'Paid Search' (1 row): matched a touch channel "
        "ignoring case and spaces",
    ]


def test_the_cost_map_alone_renames_only_what_it_lists(store: Store, tmp_path: Path) -> None:
    cost_map = CostMap(channel={"paid search": "Paid Search"}, campaign={"BRAND_SEARCH": "x"})
    ingest_files(store, "costs", [tmp_path / "costs.csv"], cost_map=cost_map)
    costs = store.read("costs").sort("spend")
    assert costs["channel"].to_list() == ["E-mail", "PAID  SEARCH", "Paid Search", "TV"]
    assert costs["campaign"].to_list() == ["newsletter", "brand_search", "x", "upfront"]


def test_a_name_two_touch_spellings_share_is_left_as_is() -> None:
    names = CostNames(match="loose", touch_names={"channel": ("Facebook", "facebook", "Email")})
    renamed, counts = names.apply(pl.DataFrame({"channel": ["FACEBOOK", "facebook", "email"]}))
    assert renamed["channel"].to_list() == ["FACEBOOK", "facebook", "Email"]
    assert counts.rows() == [("channel", "email", "Email", "loose", 1)]


def test_loose_match_before_any_touchpoint_says_so(tmp_path: Path) -> None:
    (tmp_path / "costs.csv").write_text(MESSY_COSTS)
    summary = ingest_files(
        Store(tmp_path / "s.duckdb"), "costs", [tmp_path / "costs.csv"], cost_match="loose"
    )
    assert summary.notes == [
        "--cost-match loose found no touchpoints in the store to match cost names against; "
        "ingest touchpoints first, then these costs again"
    ]


def test_cost_map_files(tmp_path: Path) -> None:
    csv = tmp_path / "names.csv"
    csv.write_text("from,to\npaid search,Paid Search\n")
    assert load_cost_map(csv) == CostMap(channel={"paid search": "Paid Search"})
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[costs]\nspend = "Cost"\n\n[cost_map.channel]\n"paid search" = "Paid Search"\n\n'
        '[cost_map.campaign]\nBRAND_SEARCH = "brand_search"\n'
    )
    assert load_mapping_file(mapping)["costs"] == {"spend": "Cost"}  # the section is accepted
    assert load_cost_map(mapping) == CostMap(
        channel={"paid search": "Paid Search"}, campaign={"BRAND_SEARCH": "brand_search"}
    )
    plain = tmp_path / "plain.toml"
    plain.write_text('[columns]\nuser_id = "cookie"\n')
    assert load_cost_map(plain, mapping_file=True) == CostMap()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "column,from,to\nsource,google,Google\n",
            "Cost map 'names.csv' row 2, field 'column': expected channel or campaign, "
            "got 'source'.",
        ),
        (
            "from,to\nps,Paid Search\nps,Paid Social\n",
            "Cost map 'names.csv' row 3: channel 'ps' is renamed twice, to 'Paid Search' and "
            "'Paid Social'. Keep one.",
        ),
        (
            "name,target\nps,Paid Search\n",
            "Cost map 'names.csv' has columns name, target; expected column,from,to (column: "
            "channel or campaign) or from,to (channel names).",
        ),
    ],
)
def test_bad_cost_map_files_name_the_row(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "names.csv").write_text(text)
    with pytest.raises(InputError) as info:
        load_cost_map(tmp_path / "names.csv")
    assert str(info.value) == message


def test_loose_cost_map_entries_that_clash_are_refused() -> None:
    with pytest.raises(ParameterError) as info:
        CostNames(CostMap(channel={"PS": "Paid Search", "ps ": "Paid Social"}), match="loose")
    assert str(info.value) == (
        "With --cost-match loose the cost map's channel names 'PS' and 'ps ' are the same name "
        "('ps') renamed to 'Paid Search' and 'Paid Social'. Keep one, or use --cost-match exact."
    )


def test_the_example_monthly_export_gives_back_the_daily_spend(tmp_path: Path) -> None:
    """docs/costs.md's example: the monthly export, loosely matched, is the daily file by month."""
    root = Path(__file__).resolve().parents[2]
    folder = root / "examples" / "sources" / "cost_export"
    store = Store(tmp_path / "s.duckdb")
    touches = pl.read_csv(root / "examples" / "data" / "touchpoints.csv")
    names = touches.unique(["channel", "campaign"]).sort("touchpoint_id")  # the names suffice
    ingest_frame(store, "touchpoints", names)
    summary = ingest_files(
        store,
        "costs",
        [folder / "monthly_costs.csv"],
        mapping=load_mapping_file(folder / "mapping.toml")["costs"],
        cost_map=load_cost_map(folder / "mapping.toml"),
        cost_match="loose",
        cost_grain="month",
    )
    assert (summary.rows_read, summary.inserted) == (67, 2_023)  # Jan-Jun 2025: 181 days
    keys = [pl.col("date").dt.month_start().alias("month"), "channel", "campaign"]

    def monthly(costs: pl.DataFrame) -> pl.DataFrame:
        sums = costs.group_by(keys).agg(pl.col("spend").sum().round(2), pl.col("clicks").sum())
        return sums.sort("month", "channel", "campaign")

    daily = pl.read_csv(root / "examples" / "data" / "costs.csv", try_parse_dates=True)
    assert monthly(store.read("costs")).equals(monthly(daily))


NAMES = st.text(alphabet=st.sampled_from(list("aAbB _")), min_size=1, max_size=6)


@given(
    touches=st.lists(NAMES, min_size=1, max_size=5),
    costs=st.lists(st.one_of(st.none(), NAMES), min_size=1, max_size=8),
)
def test_loose_match_invariants(touches: list[str], costs: list[str | None]) -> None:
    names = CostNames(match="loose", touch_names={"channel": tuple(touches)})
    frame = pl.DataFrame({"channel": costs, "spend": [1.0] * len(costs)})
    renamed, counts = names.apply(frame)
    assert renamed["spend"].to_list() == frame["spend"].to_list()  # rows and spend untouched
    again, _ = names.apply(renamed)
    assert again["channel"].to_list() == renamed["channel"].to_list()  # idempotent
    assert int(counts["rows"].sum()) == sum(
        a != b for a, b in zip(costs, renamed["channel"].to_list(), strict=True) if a is not None
    )

    def fold(name: str) -> str:
        return " ".join(name.split()).lower()

    for before, after in zip(costs, renamed["channel"].to_list(), strict=True):
        spellings = {t for t in touches if before is not None and fold(t) == fold(before)}
        if before is None or before in touches or len(spellings) != 1:
            assert after == before  # as written, absent or ambiguous: left as it is
        else:
            assert after == spellings.pop()
