"""The shapes CRMs export (issue #13, item 4): as they come, through ``ingest_files``.

Slash dates in the order their column shows (or refused when it shows none),
money with currency signs, codes and separators, stage names mapped onto the
funnel's, one error for rows all in another currency, ``skip_invalid`` that
keeps nothing, and identity rows without both ids.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution.errors import InputError, ParameterError, ValidationFailedError
from ingest import Store, ingest_adapter, ingest_files, ingest_frame, validate
from ingest.loader import BATCH_ROWS, AllRejectedError, ForeignCurrencyError
from ingest.timestamps import AmbiguousDatesError

HEADER = "conversion_id,user_id,ts,stage,revenue\n"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def write(folder: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = folder / name
    path.write_text(header + "".join(f"{row}\n" for row in rows))
    return path


# What users saw: a CRM export is accepted as it comes


def test_a_crm_export_as_it_comes(store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "deals.csv",
        [
            'o1,u1,03/15/2025,Closed Won,"$12,000.00"',
            'o2,u2,3/16/2025 2:30 PM,Prospecting,"$0.00"',
            "o3,u3,04/01/2025,Closed Lost,",
        ],
    )
    summary = ingest_files(store, "conversions", path)
    assert (summary.inserted, summary.rejected, summary.notes) == (3, 0, [])
    rows = store.read("conversions").select("ts", "stage", "revenue").rows()
    assert rows == [
        (utc(2025, 3, 15), "closed_won", 12_000.0),
        (utc(2025, 3, 16, 14, 30), "opportunity", 0.0),
        (utc(2025, 4, 1), "closed_lost", 0.0),
    ]


# 1. Dates


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["15/03/2025", "01/04/2025"], [dt.date(2025, 3, 15), dt.date(2025, 4, 1)]),
        (["03/15/2025", "04/01/2025"], [dt.date(2025, 3, 15), dt.date(2025, 4, 1)]),
        (["15.03.2025", "1.4.2025"], [dt.date(2025, 3, 15), dt.date(2025, 4, 1)]),
        (["03-15-2025", "2025-04-01"], [dt.date(2025, 3, 15), dt.date(2025, 4, 1)]),
    ],
)
def test_slash_dates_are_read_in_the_order_their_column_shows(
    values: list[str], expected: list[dt.date]
) -> None:
    frame = pl.DataFrame({"date": values, "channel": ["Email", "Video"], "spend": ["1", "2"]})
    good, problems, _ = validate(frame, "costs", "costs.csv")
    assert problems == []
    assert good["date"].to_list() == expected


def test_ambiguous_dates_are_refused_naming_column_value_and_fix(
    store: Store, tmp_path: Path
) -> None:
    path = write(tmp_path, "deals.csv", ["o1,u1,03/04/2025,lead,", "o2,u2,05/06/2025,lead,"])
    with pytest.raises(AmbiguousDatesError) as caught:
        ingest_files(store, "conversions", path)
    assert str(caught.value) == (
        "deals.csv, column 'ts': cannot tell whether dates such as '03/04/2025' (row 1) are "
        "month/day/year or day/month/year: no first or second part is above 12. Pass "
        "--date-format %m/%d/%Y (month first) or --date-format %d/%m/%Y (day first)."
    )
    assert store.counts()["conversions"] == 0


def test_ambiguous_dates_name_the_users_column_and_suggest_a_format_with_the_time(
    store: Store, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "deals.csv",
        ["o1,u1,03.04.2025 9:15 AM,lead"],
        header="Id,Contact,CloseDate,Stage\n",
    )
    mapping = {"conversion_id": "Id", "user_id": "Contact", "ts": "CloseDate", "stage": "Stage"}
    with pytest.raises(AmbiguousDatesError, match="column 'CloseDate'") as caught:
        ingest_files(store, "conversions", path, mapping=mapping)
    assert "--date-format %m.%d.%Y %I:%M %p (month first)" in str(caught.value)
    assert "--date-format %d.%m.%Y %I:%M %p (day first)" in str(caught.value)


def test_inconsistent_dates_are_refused_naming_a_row_of_each(store: Store, tmp_path: Path) -> None:
    rows = ["o1,u1,01/02/2025,lead,", "o2,u2,25/03/2025,lead,", "o3,u3,03/25/2025,lead,"]
    with pytest.raises(AmbiguousDatesError) as caught:
        ingest_files(store, "conversions", write(tmp_path, "deals.csv", rows))
    assert str(caught.value) == (
        "deals.csv, column 'ts': the dates mix day first and month first: row 2 has "
        "'25/03/2025' (day first) but row 3 has '03/25/2025' (month first). Fix the file, or "
        "pass --date-format %d/%m/%Y (day first) or --date-format %m/%d/%Y (month first): the "
        "dates written the other way are then reported row by row."
    )


def test_the_order_is_decided_over_the_whole_file_not_one_batch(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batch 1 alone is ambiguous (03/04); batch 2 says day first (13/04).
    monkeypatch.setattr("ingest.loader.BATCH_ROWS", 2)
    rows = ["o1,u1,2025-01-01,lead,", "o2,u2,03/04/2025,lead,", "o3,u3,13/04/2025,lead,"]
    summary = ingest_files(store, "conversions", write(tmp_path, "deals.csv", rows))
    assert summary.inserted == 3
    assert store.read("conversions")["ts"].to_list() == [
        utc(2025, 1, 1),
        utc(2025, 4, 3),
        utc(2025, 4, 13),
    ]
    assert BATCH_ROWS > 2  # the real batches are large; this test made them small


def test_the_order_is_decided_per_file(store: Store, tmp_path: Path) -> None:
    us = write(tmp_path, "us.csv", ["o1,u1,03/15/2025,lead,"])
    eu = write(tmp_path, "eu.csv", ["o2,u2,15/03/2025,lead,"])
    assert ingest_files(store, "conversions", [us, eu]).inserted == 2
    assert store.read("conversions")["ts"].to_list() == [utc(2025, 3, 15)] * 2


def test_date_format_reads_a_format_of_your_own(store: Store, tmp_path: Path) -> None:
    rows = ["o1,u1,03/04/2025 14:05,lead,", "o2,u2,2025-03-04,lead,"]
    path = write(tmp_path, "deals.csv", rows)
    with pytest.raises(ValidationFailedError) as caught:
        ingest_files(store, "conversions", path, date_format="%d/%m/%Y %H:%M")
    assert [str(p) for p in caught.value.problems] == [
        "deals.csv row 2, field 'ts': expected a timestamp in the format '%d/%m/%Y %H:%M', got "
        "'2025-03-04'"
    ]
    summary = ingest_files(
        store, "conversions", path, date_format="%d/%m/%Y %H:%M", skip_invalid=True
    )
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert store.read("conversions")["ts"].to_list() == [utc(2025, 4, 3, 14, 5)]


def test_date_format_of_a_date_column_keeps_the_day_written() -> None:
    frame = pl.DataFrame({"date": ["31.12.2024 23:30 -0500"], "channel": ["Email"], "spend": [1]})
    good, problems, _ = validate(frame, "costs", "c.csv", date_format="%d.%m.%Y %H:%M %z")
    assert problems == []
    assert good["date"].to_list() == [dt.date(2024, 12, 31)]


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("%H:%M", "Bad --date-format '%H:%M': it must give the year, the month and the day"),
        ("%Q/%d", "Bad --date-format '%Q/%d': it has a directive strftime does not know"),
    ],
)
def test_a_bad_date_format_is_refused_before_reading(
    store: Store, tmp_path: Path, fmt: str, message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        ingest_files(store, "conversions", tmp_path / "absent.csv", date_format=fmt)


def test_iso_and_epoch_are_read_as_before() -> None:
    frame = pl.DataFrame(
        {
            "conversion_id": ["a", "b", "c"],
            "user_id": ["u", "u", "u"],
            "ts": ["2025-03-15T10:00:00+01:00", "1742032800", "20250315"],
            "stage": ["lead"] * 3,
        }
    )
    good, problems, _ = validate(frame, "conversions", "c.csv")
    assert problems == []
    assert good["ts"].to_list() == [utc(2025, 3, 15, 9), utc(2025, 3, 15, 10), utc(2025, 3, 15)]


# 2. Money


def conversions(revenue: list[str]) -> pl.DataFrame:
    n = len(revenue)
    return pl.DataFrame(
        {
            "conversion_id": [f"c{i}" for i in range(n)],
            "user_id": ["u"] * n,
            "ts": ["2025-03-15"] * n,
            "stage": ["closed_won"] * n,
            "revenue": revenue,
        }
    )


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$12,000.00", 12_000.0),
        ("USD 12.00", 12.0),
        ("12.00 USD", 12.0),
        ("usd12", 12.0),
        ("1,234", 1_234.0),
        ("1,234,567.5", 1_234_567.5),
        ("1 234.5", 1_234.5),
        ("$ 7", 7.0),
        ("7$", 7.0),
        ("(0.00)", 0.0),
        ("12.5", 12.5),
    ],
)
def test_money_as_people_write_it(text: str, amount: float) -> None:
    good, problems, _ = validate(conversions([text]), "conversions", "c.csv", currency="USD")
    assert problems == []
    assert good["revenue"].to_list() == [amount]


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1.234,56", 1_234.56), ("1234,5", 1_234.5), ("12", 12.0), ("€ 1.234.567", 1_234_567.0)],
)
def test_decimal_comma(text: str, amount: float) -> None:
    good, problems, _ = validate(
        conversions([text]), "conversions", "c.csv", currency="EUR", decimal=","
    )
    assert problems == []
    assert good["revenue"].to_list() == [amount]


@pytest.mark.parametrize(
    ("text", "decimal", "message"),
    [
        ("-$40.00", ".", "expected a number ≥ 0, got '-$40.00'"),
        ("($1,200.00)", ".", "expected a number ≥ 0, got '($1,200.00)'"),
        ("$12 USD)", ".", "expected a number ≥ 0, got '$12 USD)'"),
        ("twelve", ".", "expected a number ≥ 0, got 'twelve'"),
        (
            "1.234,56",
            ".",
            "expected a number ≥ 0 with '.' as the decimal separator, such as 1234.56 or "
            "1,234.56; got '1.234,56'",
        ),
        (
            "12.5",
            ",",
            "expected a number ≥ 0 with ',' as the decimal separator, such as 1234,56 or "
            "1.234,56; got '12.5'",
        ),
        (
            "1,23,456",
            ".",
            "expected a number ≥ 0 with '.' as the decimal separator, such as 1234.56 or "
            "1,234.56; got '1,23,456'",
        ),
    ],
)
def test_money_that_cannot_be_read_is_a_row_and_field_problem(
    text: str, decimal: str, message: str
) -> None:
    _, problems, rejected = validate(
        conversions(["5", text]), "conversions", "c.csv", currency="USD", decimal=decimal
    )
    assert [str(p) for p in problems] == [f"c.csv row 2, field 'revenue': {message}"]
    assert rejected["_row"].to_list() == [2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "12.00 EUR",
            "currency 'EUR' of '12.00 EUR' differs from the store's reporting currency 'USD'; "
            "convert first",
        ),
        (
            "€12",
            "currency 'EUR' of '€12' differs from the store's reporting currency 'USD'; "
            "convert first",
        ),
        (
            "£12",
            "currency 'GBP' of '£12' differs from the store's reporting currency 'USD'; "
            "convert first",
        ),
        (
            "¥1200",
            "'¥1200' is in a currency written '¥', not in the store's reporting currency 'USD'; "
            "convert first",
        ),
    ],
)
def test_money_in_another_currency_is_a_row_and_field_problem(text: str, message: str) -> None:
    _, problems, _ = validate(conversions(["1", text]), "conversions", "c.csv", currency="USD")
    assert [str(p) for p in problems] == [f"c.csv row 2, field 'revenue': {message}"]


def test_a_sign_the_store_currency_uses_is_fine() -> None:
    frame = conversions(["$5", "¥7"])
    assert validate(frame.head(1), "conversions", "c.csv", currency="CAD")[1] == []
    assert validate(frame.tail(1), "conversions", "c.csv", currency="JPY")[1] == []
    _, problems, _ = validate(frame.head(1), "conversions", "c.csv", currency="EUR")
    assert "not in the store's reporting currency 'EUR'" in str(problems[0])


def test_spend_reads_money_too() -> None:
    frame = pl.DataFrame({"date": ["2025-03-01"], "channel": ["Email"], "spend": ["$1,500"]})
    good, problems, _ = validate(frame, "costs", "costs.csv", currency="USD")
    assert (problems, good["spend"].to_list()) == ([], [1500.0])


def test_a_bad_decimal_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="Bad --decimal ';'"):
        ingest_files(store, "costs", tmp_path / "absent.csv", decimal=";")


# 3. Stages


def test_stage_map_renames_case_insensitively_after_trimming(store: Store, tmp_path: Path) -> None:
    rows = ["o1,u1,2025-03-01,  demo BOOKED ,", "o2,u2,2025-03-01,closed won,"]
    path = write(tmp_path, "deals.csv", rows)
    summary = ingest_files(store, "conversions", path, stage_map={"Demo Booked": "opportunity"})
    assert summary.notes == []
    assert store.read("conversions")["stage"].to_list() == ["opportunity", "closed_won"]


def test_your_stage_map_wins_over_the_built_in_names(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "deals.csv", ["o1,u1,2025-03-01,Qualification,"])
    ingest_files(store, "conversions", path, stage_map={"qualification": "sql"})
    assert store.read("conversions")["stage"].to_list() == ["sql"]


def test_hubspot_names_and_labels(store: Store, tmp_path: Path) -> None:
    rows = [
        "c1,u1,2025-03-01,marketingqualifiedlead,",
        "c2,u2,2025-03-01,Sales Qualified Lead,",
        "c3,u3,2025-03-01,closedwon,",
        "c4,u4,2025-03-01,Customer,",
        "c5,u5,2025-03-01,subscriber,",
    ]
    summary = ingest_files(store, "conversions", write(tmp_path, "hs.csv", rows))
    assert summary.notes == []  # subscriber is a stage the built-in names know
    assert store.read("conversions")["stage"].to_list() == [
        "mql",
        "sql",
        "closed_won",
        "closed_won",
        "subscriber",
    ]


def test_unknown_stages_are_kept_and_named_once_each(store: Store, tmp_path: Path) -> None:
    rows = [f"o{i},u{i},2025-03-01,Demo Booked," for i in range(3)]
    rows += ["o9,u9,2025-03-01,Closed-Won,", "o8,u8,2025-03-01,lead,"]
    summary = ingest_files(store, "conversions", write(tmp_path, "deals.csv", rows))
    assert summary.inserted == 5
    assert summary.notes == [
        "stage 'Demo Booked' (3 rows) is not a closedloop stage: the funnel and the stage-aware "
        'models do not count it; map it with --stage-map "Demo Booked=<stage>" (closedloop '
        "stages lists the stages)",
        "stage 'Closed-Won' (1 row) is not a closedloop stage: the funnel and the stage-aware "
        'models do not count it; map it with --stage-map "Closed-Won=closed_won" (closedloop '
        "stages lists the stages)",
    ]
    assert sorted(store.read("conversions")["stage"].unique()) == [
        "Closed-Won",
        "Demo Booked",
        "lead",
    ]


def test_unknown_stages_are_counted_over_every_batch(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.loader.BATCH_ROWS", 2)
    rows = [f"o{i},u{i},2025-03-01,Webinar," for i in range(5)]
    summary = ingest_files(store, "conversions", write(tmp_path, "deals.csv", rows))
    assert len(summary.notes) == 1
    assert summary.notes[0].startswith("stage 'Webinar' (5 rows)")


# 4. Currency: one error, not one per row


def test_rows_in_another_currency_into_a_store_without_money(store: Store, tmp_path: Path) -> None:
    rows = [f"o{i},u{i},2025-03-01,closed_won,12,EUR" for i in range(500)]
    path = write(tmp_path, "eur.csv", rows, header=HEADER.strip() + ",currency\n")
    with pytest.raises(ForeignCurrencyError) as caught:
        ingest_files(store, "conversions", path)
    assert str(caught.value) == (
        "eur.csv: these rows are in EUR but the store reports in USD; this store holds no money "
        "yet: rerun with --currency EUR."
    )
    summary = ingest_files(store, "conversions", path, currency="EUR")
    assert (summary.inserted, store.currency) == (500, "EUR")


def test_amounts_with_a_code_give_the_same_hint(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "eur.csv", ["o1,u1,2025-03-01,closed_won,12.00 EUR"])
    with pytest.raises(ForeignCurrencyError, match="rerun with --currency EUR"):
        ingest_files(store, "conversions", path)


def test_rows_in_another_currency_into_a_store_with_money(store: Store, tmp_path: Path) -> None:
    ingest_files(store, "conversions", write(tmp_path, "usd.csv", ["o0,u0,2025-03-01,lead,1"]))
    path = write(
        tmp_path, "eur.csv", ["o1,u1,2025-03-01,closed_won,€12", "o2,u1,2025-03-01,lead,€1"]
    )
    with pytest.raises(ForeignCurrencyError) as caught:
        ingest_files(store, "conversions", path)
    assert str(caught.value) == (
        "eur.csv: these rows are in EUR but the store reports in USD and already holds money in "
        "USD: convert the amounts to USD first, or ingest them into another store (--db) with "
        "--currency EUR."
    )


def test_mixed_currencies_are_listed_row_by_row(store: Store, tmp_path: Path) -> None:
    rows = ["o1,u1,2025-03-01,closed_won,12,USD", "o2,u1,2025-03-01,closed_won,12,EUR"]
    path = write(tmp_path, "mixed.csv", rows, header=HEADER.strip() + ",currency\n")
    with pytest.raises(ValidationFailedError) as caught:
        ingest_files(store, "conversions", path)
    assert not isinstance(caught.value, ForeignCurrencyError)
    assert caught.value.total == 1


def test_currency_is_set_with_the_rows_only(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", ["o1,u1,yesterday,lead,1"])
    with pytest.raises(ValidationFailedError):
        ingest_files(store, "conversions", path, currency="EUR")
    assert store.currency == "USD"


def test_the_adapter_path_gives_the_hint_too(store: Store, tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text(
        "date_start,campaign_name,spend,impressions,clicks,account_currency\n"
        "2024-03-01,Prospecting,12.50,1000,9,EUR\n2024-03-02,Prospecting,7,800,4,EUR\n"
    )
    with pytest.raises(ForeignCurrencyError, match="rerun with --currency EUR"):
        ingest_adapter(store, "meta_ads", [tmp_path / "meta.csv"])


# 5. skip_invalid that keeps nothing


def test_skip_invalid_that_rejects_every_row_fails(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "deals.csv", ["o1,u1,yesterday,lead,", "o2,u2,tomorrow,lead,"])
    with pytest.raises(AllRejectedError) as caught:
        ingest_files(store, "conversions", path, skip_invalid=True)
    rejects = tmp_path / "conversions.rejects.csv"
    assert str(caught.value).splitlines()[0] == (
        f"every row was rejected (2 of 2); the rejected rows and their reasons are in {rejects}. "
        "Nothing was written."
    )
    assert caught.value.total == 2
    assert pl.read_csv(rejects)["_row"].to_list() == [1, 2]
    assert store.counts()["conversions"] == 0


def test_skip_invalid_that_keeps_a_row_succeeds(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "deals.csv", ["o1,u1,yesterday,lead,", "o2,u2,2025-03-01,lead,"])
    summary = ingest_files(store, "conversions", path, skip_invalid=True)
    assert (summary.inserted, summary.rejected) == (1, 1)


def test_skip_invalid_of_rows_already_stored_is_no_failure(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "deals.csv", ["o1,u1,2025-03-01,lead,"])
    ingest_files(store, "conversions", path)
    summary = ingest_files(store, "conversions", path, skip_invalid=True)
    assert (summary.unchanged, summary.rejected) == (1, 0)


def test_skip_invalid_of_a_frame_that_keeps_nothing(store: Store) -> None:
    frame = pl.DataFrame({"date": ["soon"], "channel": ["Email"], "spend": ["1"]})
    with pytest.raises(AllRejectedError, match=r"^every row was rejected \(1 of 1\)\. Nothing"):
        ingest_frame(store, "costs", frame, skip_invalid=True)


def test_skip_invalid_of_an_adapter_that_keeps_nothing(store: Store, tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text(
        "date_start,campaign_name,spend,impressions,clicks,account_currency\n"
        "someday,Prospecting,12.50,1000,9,USD\n"
    )
    with pytest.raises(AllRejectedError, match=r"meta_ads\.rejects\.csv"):
        ingest_adapter(store, "meta_ads", [tmp_path / "meta.csv"], skip_invalid=True)
    assert (tmp_path / "meta_ads.rejects.csv").exists()


# 6. Identity rows without both ids: ignored and counted


def test_identity_rows_without_both_ids_are_ignored_and_counted(
    store: Store, tmp_path: Path
) -> None:
    path = write(
        tmp_path, "ids.csv", ["a1,u1", ",u2", "a3,", " , "], header="anonymous_id,user_id\n"
    )
    summary = ingest_files(store, "identities", path)
    assert (summary.rows_read, summary.inserted, summary.rejected, summary.ignored) == (4, 1, 0, 3)
    assert summary.notes == [
        "3 rows without both anonymous_id and user_id ignored: an identity pair needs two ids"
    ]
    assert "1 inserted, 0 updated, 0 unchanged, 0 rejected, 3 ignored" in str(summary)
    assert store.read("identities").rows() == [("a1", "u1")]


def test_identity_rows_with_a_bad_id_are_still_rejected(store: Store, tmp_path: Path) -> None:
    frame = pl.DataFrame({"anonymous_id": ["a\u202e1", None], "user_id": [None, "u2"]})
    with pytest.raises(ValidationFailedError) as caught:
        ingest_frame(store, "identities", frame)
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "anonymous_id")]


def test_an_identity_file_without_any_pair_is_refused(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "ids.csv", [",u1", "a2,"], header="anonymous_id,user_id\n")
    with pytest.raises(InputError) as caught:
        ingest_files(store, "identities", path)
    assert str(caught.value) == (
        "ids.csv: no row has both an anonymous_id and a user_id (2 rows); an identity pair needs "
        "two ids, so nothing was written. Check which columns you mapped: --map "
        "anonymous_id=<your column> --map user_id=<your column>."
    )


def test_validate_leaves_identity_rows_without_both_ids_out() -> None:
    frame = pl.DataFrame({"anonymous_id": ["a1", "", None], "user_id": ["u1", "u2", "u3"]})
    good, problems, rejected = validate(frame, "identities", "ids.csv")
    assert (good.rows(), problems, rejected.height) == ([("a1", "u1")], [], 0)


# Any text: a problem of its row, or a refused file, never a crash


SHAPES = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=14),
    st.from_regex(r"\A[ (-]?[$€£¥]?(USD|eur)? ?[0-9]{1,4}([.,' ][0-9]{1,3}){0,3}[)$€]?\Z"),
    st.from_regex(r"\A[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}( [0-9]{1,2}:[0-9]{2}( ?[AP]M)?)?\Z"),
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    st.lists(SHAPES, min_size=1, max_size=6),
    st.lists(SHAPES, min_size=1, max_size=6),
    st.sampled_from([".", ","]),
    st.sampled_from([None, "%m/%d/%Y", "%d.%m.%Y %H:%M"]),
)
def test_any_text_is_a_problem_or_a_refused_file(
    dates: list[str], amounts: list[str], decimal: str, date_format: str | None
) -> None:
    n = min(len(dates), len(amounts))
    frame = pl.DataFrame({"date": dates[:n], "channel": ["Email"] * n, "spend": amounts[:n]})
    try:
        good, _, rejected = validate(
            frame, "costs", "c.csv", currency="USD", decimal=decimal, date_format=date_format
        )
    except AmbiguousDatesError:
        assert date_format is None
        return
    assert good.height + rejected.height == n
    assert all(v is None or v >= 0 for v in good["spend"])
