"""Weekly and monthly cost rows spread over their days: exact totals, refused dates, the store."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import attribute
from attribution.errors import ParameterError, ValidationFailedError
from ingest import Store, ingest_files
from ingest.cost_grain import grain_issues, spread_costs

MONDAY = dt.date(2024, 3, 4)


def test_a_week_is_seven_equal_days_from_its_monday() -> None:
    week = pl.DataFrame(
        {
            "date": [MONDAY],
            "channel": ["Search"],
            "spend": [70.0],
            "impressions": [700],
            "clicks": [10],
        }
    )
    days = spread_costs(week, "week")
    assert days["date"].to_list() == [MONDAY + dt.timedelta(days=i) for i in range(7)]
    assert days["spend"].to_list() == [10.0] * 7
    assert days["impressions"].to_list() == [100] * 7
    # 10 clicks over 7 days: 1 each and the 3 left over handed out evenly (days 3, 5, 7).
    assert days["clicks"].to_list() == [1, 1, 2, 1, 2, 1, 2]
    assert days["channel"].to_list() == ["Search"] * 7


def test_a_month_covers_its_calendar_days() -> None:
    months = pl.DataFrame(
        {
            "date": [dt.date(2024, 2, 1), dt.date(2023, 2, 1), dt.date(2024, 3, 1)],
            "spend": [29.0, 28.0, 31.0],
        }
    )
    days = spread_costs(months, "month")
    per_month = days.group_by(pl.col("date").dt.month_start()).agg(pl.len(), pl.col("spend").max())
    assert sorted(per_month.rows()) == [
        (dt.date(2023, 2, 1), 28, 1.0),
        (dt.date(2024, 2, 1), 29, 1.0),  # a leap year
        (dt.date(2024, 3, 1), 31, 1.0),
    ]


def test_day_grain_changes_nothing() -> None:
    rows = pl.DataFrame({"date": [dt.date(2024, 3, 6)], "spend": [5.0]})
    assert spread_costs(rows, "day") is rows
    assert grain_issues(rows.with_columns(_row=pl.lit(1)), "day").height == 0


def test_rows_not_dated_their_periods_first_day_are_refused() -> None:
    rows = pl.DataFrame(
        {"_row": [1, 2, 3], "date": [MONDAY, dt.date(2024, 3, 10), None], "spend": [1.0, 1.0, 1.0]}
    )
    assert grain_issues(rows, "week").rows() == [
        (
            2,
            "date",
            "2024-03-10 is a Sunday: with --cost-grain week each row is dated its week's Monday "
            "(ISO 8601), here 2024-03-04; re-export with weeks starting on Monday, or ingest days "
            "with --cost-grain day",
        )
    ]
    assert [row[0] for row in grain_issues(rows, "month").rows()] == [1, 2]
    # Refused rows (and rows without a date) are kept as they are, never spread.
    assert spread_costs(rows, "week").height == 7 + 1 + 1


def test_unknown_grain() -> None:
    with pytest.raises(ParameterError, match="Bad --cost-grain 'quarter'"):
        spread_costs(pl.DataFrame({"date": [MONDAY], "spend": [1.0]}), "quarter")


@given(
    spend=st.one_of(
        st.integers(0, 10**11).map(lambda cents: cents / 100),
        st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
    ),
    impressions=st.one_of(st.none(), st.integers(0, 10**12)),
    clicks=st.integers(0, 10**6),
    grain=st.sampled_from(["week", "month"]),
    start=st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 1)),
)
def test_spreading_keeps_every_total_exactly(
    spend: float, impressions: int | None, clicks: int, grain: str, start: dt.date
) -> None:
    start = start - dt.timedelta(days=start.weekday()) if grain == "week" else start.replace(day=1)
    row = pl.DataFrame(
        {"date": [start], "spend": [spend], "impressions": [impressions], "clicks": [clicks]},
        schema={"date": pl.Date, "spend": pl.Float64, "impressions": pl.Int64, "clicks": pl.Int64},
    )
    days = spread_costs(row, grain)
    n = (
        7
        if grain == "week"
        else (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1).toordinal()
        - start.toordinal()
    )
    assert days.height == n
    assert days["date"].to_list() == [start + dt.timedelta(days=i) for i in range(n)]
    # Integer totals exact; spend exact to the millionth (the unit it is divided in).
    micros = (days["spend"] * 1_000_000).round().cast(pl.Int64)
    assert micros.sum() == round(spend * 1_000_000)
    assert math.isclose(days["spend"].sum(), spend, rel_tol=1e-12, abs_tol=1e-6)
    assert days["clicks"].sum() == clicks
    assert set(days["clicks"].to_list()) <= {clicks // n, clicks // n + 1}  # even: floor or ceiling
    if impressions is None:
        assert days["impressions"].null_count() == n
    else:
        assert days["impressions"].sum() == impressions
        assert days["impressions"].max() - days["impressions"].min() <= 1  # type: ignore[operator]


def _files(folder: Path, costs: str) -> dict[str, Path]:
    files = {
        "touchpoints": "touchpoint_id,user_id,ts,channel\nt1,u1,2024-03-05T10:00:00Z,Search\n",
        "conversions": (
            "conversion_id,user_id,ts,stage,revenue\nc1,u1,2024-03-06T00:00:00Z,purchase,300\n"
        ),
        "costs": costs,
    }
    out = {}
    for table, text in files.items():
        out[table] = folder / f"{table}.csv"
        out[table].write_text(text)
    return out


def test_a_monthly_row_in_the_store_is_cut_by_the_period(tmp_path: Path) -> None:
    files = _files(tmp_path, "date,channel,spend,clicks\n2024-03-01,Search,310,62\n")
    store = Store(tmp_path / "s.duckdb")
    summary = ingest_files(store, "costs", [files["costs"]], cost_grain="month")
    assert (summary.rows_read, summary.inserted) == (1, 31)
    assert summary.notes == [
        "1 monthly cost row spread evenly over 31 days (spend, impressions and clicks add up to "
        "each row's)"
    ]
    costs = store.read("costs")
    assert costs["spend"].sum() == 310.0
    assert costs["clicks"].sum() == 62
    tp, cv = (pl.read_csv(files[t], try_parse_dates=True) for t in ("touchpoints", "conversions"))
    # March 1-10 holds 10 of the month's 31 days: 100 of spend, so ROAS 300 / 100.
    report = attribute(tp, cv, costs, model="last_touch", start=dt.date(2024, 3, 1),
                       end=dt.date(2024, 3, 10))  # fmt: skip
    assert report.data.row(by_predicate=pl.col("channel") == "Search", named=True)["spend"] == 100.0
    assert report.totals["roas"] == 3.0
    # Re-ingesting the same monthly row changes nothing.
    again = ingest_files(store, "costs", [files["costs"]], cost_grain="month")
    assert (again.inserted, again.unchanged) == (0, 31)


def test_a_weekly_row_not_on_monday_names_row_and_field(tmp_path: Path) -> None:
    files = _files(tmp_path, "date,channel,spend\n2024-03-04,Search,70\n2024-03-10,Email,7\n")
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "costs", [files["costs"]], cost_grain="week")
    assert str(info.value).splitlines() == [
        "1 problem(s) found; nothing was written.",
        "costs.csv row 2, field 'date': 2024-03-10 is a Sunday: with --cost-grain week each row "
        "is dated its week's Monday (ISO 8601), here 2024-03-04; re-export with weeks starting "
        "on Monday, or ingest days with --cost-grain day",
    ]
    assert store.read("costs").height == 0


def test_a_repeated_monthly_row_is_one_problem_not_one_per_day(tmp_path: Path) -> None:
    files = _files(tmp_path, "date,channel,spend\n2024-03-01,Search,31\n2024-03-01,Search,62\n")
    store = Store(tmp_path / "s.duckdb")
    summary = ingest_files(store, "costs", [files["costs"]], cost_grain="month", skip_invalid=True)
    assert (summary.inserted, summary.rejected) == (31, 1)
    assert len(summary.problems) == 1
    assert summary.problems[0].row == 2
    assert store.read("costs")["spend"].sum() == 31.0


def test_cost_options_on_another_table_are_refused(tmp_path: Path) -> None:
    files = _files(tmp_path, "date,channel,spend\n")
    with pytest.raises(ParameterError, match="apply to costs; touchpoints have no spend"):
        ingest_files(Store(tmp_path / "s.duckdb"), "touchpoints", [files["touchpoints"]],
                     cost_grain="week")  # fmt: skip
