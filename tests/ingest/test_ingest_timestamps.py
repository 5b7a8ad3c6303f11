from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from attribution.errors import ParameterError
from ingest import parse_timestamps, read_table
from ingest.timestamps import (
    AmbiguousDatesError,
    DateOrder,
    SlashDates,
    check_date_format,
    date_order,
    find_slash_dates,
    parse_dates,
)

INSTANT = dt.datetime(2024, 3, 1, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-01T10:00:00+02:00",
        "2024-03-01T10:00:00+0200",
        "2024-03-01T03:00:00-05:00",
        "2024-03-01T08:00:00Z",
        "2024-03-01T08:00:00.000000Z",
        "2024-03-01T08:00Z",
        "2024-03-01T08:00:00",
        "2024-03-01 08:00:00",
        "2024-03-01 10:00:00 +02:00",
        " 2024-03-01T08:00:00Z ",
        "1709280000",
        "1709280000000",
        "1709280000000000",
        "1709280000.0",
    ],
)
def test_text_forms_give_the_same_instant(text: str) -> None:
    ts, bad = parse_timestamps(pl.Series("ts", [text]))
    assert ts.dtype == pl.Datetime("us", "UTC")
    assert ts.to_list() == [INSTANT]
    assert bad.to_list() == [False]


@pytest.mark.parametrize("text", ["2024-03-01", "20240301"])
def test_a_date_is_midnight_utc(text: str) -> None:
    ts, _ = parse_timestamps(pl.Series([text]))
    assert ts.to_list() == [dt.datetime(2024, 3, 1, tzinfo=dt.UTC)]


def test_fractional_seconds_kept_to_the_microsecond() -> None:
    ts, _ = parse_timestamps(pl.Series(["2024-03-01T08:00:00.123456Z", "1709280000.5"]))
    assert ts.to_list() == [
        INSTANT.replace(microsecond=123456),
        INSTANT.replace(microsecond=500000),
    ]


@pytest.mark.parametrize(
    "values", [[1709280000], [1709280000000], [1709280000000000], [1709280000.0]]
)
def test_epoch_numbers_by_magnitude(values: list[float]) -> None:
    ts, bad = parse_timestamps(pl.Series(values))
    assert ts.to_list() == [INSTANT]
    assert not bad.any()


def test_native_datetimes_naive_aware_and_dates() -> None:
    naive = pl.Series([dt.datetime(2024, 3, 1, 8)])
    paris = pl.Series([dt.datetime(2024, 3, 1, 9)]).dt.replace_time_zone("Europe/Paris")
    nanos = naive.dt.cast_time_unit("ns")
    for series in (naive, paris, nanos):
        ts, _ = parse_timestamps(series)
        assert ts.dtype == pl.Datetime("us", "UTC")
        assert ts.to_list() == [INSTANT]
    ts, _ = parse_timestamps(pl.Series([dt.date(2024, 3, 1)]))
    assert ts.to_list() == [dt.datetime(2024, 3, 1, tzinfo=dt.UTC)]


def test_native_parquet_datetime(tmp_path: Path) -> None:
    frame = pl.DataFrame({"ts": [dt.datetime(2024, 3, 1, 10)]}).with_columns(
        pl.col("ts").dt.replace_time_zone("Europe/Athens")
    )
    frame.write_parquet(tmp_path / "t.parquet")
    ts, _ = parse_timestamps(read_table(tmp_path / "t.parquet")["ts"])
    assert ts.to_list() == [INSTANT]


def test_bad_and_missing_values() -> None:
    ts, bad = parse_timestamps(
        pl.Series(["yesterday", None, "", "  ", "2024-13-01", "2024-03-01T25:00:00Z"])
    )
    assert ts.null_count() == 6
    assert bad.to_list() == [True, False, False, False, True, True]
    _, bad = parse_timestamps(pl.Series([float("nan"), None]))
    assert bad.to_list() == [True, False]


def test_parse_dates_keeps_the_written_day() -> None:
    dates, bad = parse_dates(
        pl.Series(
            "date",
            [
                "2024-03-01",
                "20240301",
                "2024-03-01T23:30:00-05:00",
                "2024-03-01 00:10:00",
                "x",
                None,
            ],
        )
    )
    assert dates.dtype == pl.Date
    assert dates.to_list() == [dt.date(2024, 3, 1)] * 4 + [None, None]
    assert bad.to_list() == [False] * 4 + [True, False]


def test_parse_dates_native_and_epoch() -> None:
    for series in (
        pl.Series([dt.date(2024, 3, 1)]),
        pl.Series([dt.datetime(2024, 3, 1, 23, 0)]),
        pl.Series([1709280000]),
    ):
        dates, bad = parse_dates(series)
        assert dates.to_list() == [dt.date(2024, 3, 1)]
        assert not bad.any()


# Slash dates and formats of your own (CRM exports)


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("03/01/2024", "mdy", dt.datetime(2024, 3, 1, tzinfo=dt.UTC)),
        ("01/03/2024", "dmy", dt.datetime(2024, 3, 1, tzinfo=dt.UTC)),
        ("3/1/2024 8:00", "mdy", INSTANT),
        ("3/1/2024 8:00 AM", "mdy", INSTANT),
        ("3/1/2024, 08:00:00am", "mdy", INSTANT),
        ("03/01/2024 12:00 AM", "mdy", dt.datetime(2024, 3, 1, tzinfo=dt.UTC)),
        ("03/01/2024 12:30 PM", "mdy", dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC)),
        ("03/01/2024 9:00 PM +13:00", "mdy", INSTANT),
        ("01.03.2024 10:00:00.5 +02:00", "dmy", INSTANT.replace(microsecond=500_000)),
        ("01-03-2024T08:00Z", "dmy", INSTANT),
    ],
)
def test_slash_dates_in_a_known_order(text: str, order: DateOrder, expected: dt.datetime) -> None:
    ts, bad = parse_timestamps(pl.Series("ts", [text]), date_order=order)
    assert (ts.to_list(), bad.to_list()) == ([expected], [False])


@pytest.mark.parametrize("text", ["13/13/2024", "02/30/2024", "03/01/2024 13:00 PM", "3/1/24"])
def test_impossible_slash_dates_are_flagged(text: str) -> None:
    ts, bad = parse_timestamps(pl.Series("ts", [text]), date_order="mdy")
    assert (ts.to_list(), bad.to_list()) == ([None], [True])


def test_without_an_order_a_slash_date_is_not_read() -> None:
    assert parse_timestamps(pl.Series("ts", ["03/01/2024"]))[1].to_list() == [True]


def test_find_slash_dates_counts_and_finds_the_first_of_each_kind() -> None:
    series = pl.Series(["2024-01-01", " 03/01/2024 ", "03/15/2024", "15/03/2024", None])
    found = find_slash_dates(series, offset=10)
    assert found == SlashDates(3, (11, "03/01/2024"), (13, "15/03/2024"), (12, "03/15/2024"))
    assert find_slash_dates(pl.Series([20240301])) == SlashDates()


def test_date_order_decides_or_refuses() -> None:
    def order(*values: str) -> DateOrder | None:
        return date_order(find_slash_dates(pl.Series(values)), "f.csv", "ts")

    assert order("2024-03-01") is None
    assert order("13/01/2024", "01/01/2024") == "dmy"
    assert order("01/13/2024", "01/01/2024") == "mdy"
    with pytest.raises(AmbiguousDatesError, match="no first or second part is above 12"):
        order("01/02/2024")
    with pytest.raises(AmbiguousDatesError, match="mix day first and month first"):
        order("13/01/2024", "01/13/2024")


@pytest.mark.parametrize(
    "fmt",
    [
        "%m/%d/%Y",
        "%d.%m.%Y %H:%M",
        "%Y%j",
        "%F %T",
        "%s",
        "%b %d, %Y %I:%M %p",
        "%-m/%-d/%y",
        "%G-%V-%u",
    ],
)
def test_check_date_format_accepts_whole_dates(fmt: str) -> None:
    assert check_date_format(fmt) == fmt


@pytest.mark.parametrize("fmt", ["%H:%M", "%Y-%m", "%m/%d", "", "day %d"])
def test_check_date_format_needs_year_month_and_day(fmt: str) -> None:
    with pytest.raises(ParameterError, match="it must give the year, the month and the day"):
        check_date_format(fmt)


@pytest.mark.parametrize("fmt", ["%Q", "%Y-%m-%d %", "%Y-%m-%d %!"])
def test_check_date_format_refuses_unknown_directives(fmt: str) -> None:
    with pytest.raises(ParameterError, match="a directive strftime does not know"):
        check_date_format(fmt)


def test_date_format_replaces_the_other_forms_for_text_only() -> None:
    native = pl.Series("ts", [INSTANT])
    assert parse_timestamps(native, date_format="%d/%m/%Y")[0].to_list() == [INSTANT]
    text = pl.Series("ts", ["01/03/2024", "2024-03-01", "1709280000"])
    _, bad = parse_timestamps(text, date_format="%d/%m/%Y")
    assert bad.to_list() == [False, True, True]
    dates, bad = parse_dates(pl.Series(["01/03/2024 23:59 -0800"]), date_format="%d/%m/%Y %H:%M %z")
    assert ([str(d) for d in dates], bad.to_list()) == (["2024-03-01"], [False])


def test_slash_dates_in_a_date_column() -> None:
    dates, bad = parse_dates(
        pl.Series(["15/03/2024", "1.4.2024 10:00", "2024-03-01"]), date_order="dmy"
    )
    assert [str(d) for d in dates] == ["2024-03-15", "2024-04-01", "2024-03-01"]
    assert bad.to_list() == [False, False, False]
