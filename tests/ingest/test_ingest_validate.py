from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution.errors import (
    ColumnTypeError,
    MissingColumnsError,
    UnknownTableError,
    ValidationFailedError,
)
from attribution.schema import CONVERSIONS, COSTS, IDENTITIES, TOUCHPOINTS
from ingest import validate
from ingest.validate import MAX_PROBLEMS, ProblemList


def conversions(**changes: list[object]) -> pl.DataFrame:
    """Three good conversion rows as CSV text, with some columns replaced."""
    columns: dict[str, list[object]] = {
        "conversion_id": ["c1", "c2", "c3"],
        "user_id": ["u1", "u2", "u3"],
        "ts": ["2024-03-01T10:00:00Z", "2024-03-02", "1709280000"],
        "stage": ["lead", "purchase", "purchase"],
        "revenue": ["0", "12.5", None],
    }
    columns.update(changes)
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


def messages(frame: pl.DataFrame, currency: str | None = None) -> list[str]:
    _, problems, _ = validate(frame, "conversions", "/data/conversions.csv", currency=currency)
    return [str(p) for p in problems]


def test_good_rows_are_cast_to_the_canonical_schema() -> None:
    good, problems, rejected = validate(conversions(), "conversions", "conversions.csv")
    assert problems == []
    assert rejected.height == 0
    assert good.schema == CONVERSIONS
    assert good["revenue"].to_list() == [0.0, 12.5, 0.0]
    assert good["ts"].to_list() == [
        dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 2, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC),
    ]


def test_negative_revenue() -> None:
    assert messages(conversions(revenue=["1", "-40", "2"])) == [
        "conversions.csv row 2, field 'revenue': expected a number ≥ 0, got '-40'"
    ]


@pytest.mark.parametrize("value", ["abc", "NaN", "inf", "-$5", "($5)", "$"])
def test_revenue_not_a_finite_number(value: str) -> None:
    assert messages(conversions(revenue=["1", "2", value])) == [
        f"conversions.csv row 3, field 'revenue': expected a number ≥ 0, got '{value}'"
    ]


def test_unparseable_timestamp() -> None:
    assert messages(conversions(ts=["yesterday", "2024-03-02", "2024-03-03"])) == [
        "conversions.csv row 1, field 'ts': expected an ISO 8601 timestamp, a date or epoch "
        "seconds/milliseconds, got 'yesterday'"
    ]


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_missing_ids_and_timestamps(missing: str | None) -> None:
    frame = conversions(user_id=["u1", missing, "u3"], ts=["2024-03-01", "2024-03-02", missing])
    assert messages(frame) == [
        "conversions.csv row 2, field 'user_id': required value is missing",
        "conversions.csv row 3, field 'ts': required value is missing",
    ]


def test_duplicate_key_reported_on_every_repeat() -> None:
    frame = pl.concat([conversions(), conversions(), conversions(conversion_id=["c9"] * 3)])
    assert messages(frame)[:4] == [
        "conversions.csv row 4, field 'conversion_id': "
        "duplicate key (conversion_id='c1'), first seen at row 1",
        "conversions.csv row 5, field 'conversion_id': "
        "duplicate key (conversion_id='c2'), first seen at row 2",
        "conversions.csv row 6, field 'conversion_id': "
        "duplicate key (conversion_id='c3'), first seen at row 3",
        "conversions.csv row 8, field 'conversion_id': "
        "duplicate key (conversion_id='c9'), first seen at row 7",
    ]
    good, problems, _ = validate(frame, "conversions", "c.csv")
    assert len(problems) == 5
    assert good["conversion_id"].to_list() == ["c1", "c2", "c3", "c9"]


def test_costs_rules_and_composite_key() -> None:
    frame = pl.DataFrame(
        {
            "date": ["2024-03-01", "2024-03-01", "1 March", "2024-03-02", "2024-03-01"],
            "channel": ["Email", "Email", "Email", "Email", "Email"],
            "campaign": [None, "", "x", "y", "spring"],
            "spend": ["10", "5", "1", "-1", "2"],
            "impressions": ["100", None, "1", "3.5", "-2"],
            "clicks": [None, None, None, "1", "1"],
        }
    )
    _, problems, rejected = validate(frame, "costs", "costs.csv")
    assert [str(p) for p in problems] == [
        "costs.csv row 2, field 'date, channel, campaign': "
        "duplicate key (date='2024-03-01', channel='Email', campaign=null), first seen at row 1",
        "costs.csv row 3, field 'date': expected a date (YYYY-MM-DD), got '1 March'",
        "costs.csv row 4, field 'spend': expected a number ≥ 0, got '-1'",
        "costs.csv row 4, field 'impressions': expected a whole number ≥ 0, got '3.5'",
        "costs.csv row 5, field 'impressions': expected a whole number ≥ 0, got '-2'",
    ]
    assert rejected["_reason"].to_list()[2] == (
        "spend: expected a number ≥ 0, got '-1'; "
        "impressions: expected a whole number ≥ 0, got '3.5'"
    )


def test_costs_good_rows() -> None:
    frame = pl.DataFrame(
        {"date": ["2024-03-01"], "channel": [" Email "], "spend": [3], "clicks": ["7"]}
    )
    good, problems, _ = validate(frame, "costs", "costs.json")
    assert problems == []
    assert good.schema == COSTS
    assert good.row(0) == (dt.date(2024, 3, 1), "Email", None, 3.0, None, 7)


def test_native_json_types() -> None:
    frame = pl.DataFrame(
        {
            "touchpoint_id": [1, 2],
            "user_id": ["u1", "u2"],
            "ts": [1709280000000, 1709280000000],
            "channel": ["Email", "Email"],
        }
    )
    good, problems, _ = validate(frame, "touchpoints", "t.ndjson")
    assert problems == []
    assert good.schema == TOUCHPOINTS
    assert good["touchpoint_id"].to_list() == ["1", "2"]


def test_identities_pairs_deduplicate() -> None:
    frame = pl.DataFrame({"anonymous_id": ["a", "a", "a"], "user_id": ["u", "v", "u"]})
    good, problems, _ = validate(frame, "identities", "ids.csv")
    assert good.schema == IDENTITIES
    assert [str(p) for p in problems] == [
        "ids.csv row 3, field 'anonymous_id, user_id': "
        "duplicate key (anonymous_id='a', user_id='u'), first seen at row 1"
    ]


def test_currency_mismatch_rejected() -> None:
    frame = conversions().with_columns(currency=pl.Series(["usd", "EUR", None]))
    assert messages(frame, currency="USD") == [
        "conversions.csv row 2, field 'currency': currency 'EUR' differs from the store's "
        "reporting currency 'USD'; convert first"
    ]
    assert messages(frame) == []


def test_rejected_rows_keep_the_raw_values() -> None:
    frame = conversions(revenue=["1", "-40", "x"]).with_columns(extra=pl.lit("kept"))
    _, _, rejected = validate(frame, "conversions", "/data/conversions.csv")
    assert rejected.columns == [*frame.columns, "_file", "_row", "_reason"]
    assert rejected.select("revenue", "extra", "_file", "_row", "_reason").rows() == [
        ("-40", "kept", "conversions.csv", 2, "revenue: expected a number ≥ 0, got '-40'"),
        ("x", "kept", "conversions.csv", 3, "revenue: expected a number ≥ 0, got 'x'"),
    ]


def test_missing_required_column() -> None:
    with pytest.raises(MissingColumnsError) as info:
        validate(conversions().drop("stage"), "conversions", "conversions.csv")
    assert str(info.value) == (
        "conversions.csv is missing required column(s): 'stage'. "
        "Found: 'conversion_id', 'user_id', 'ts', 'revenue'. "
        "Map yours with --map stage=<your column>."
    )


def test_nested_column_is_a_type_error() -> None:
    frame = conversions().with_columns(stage=pl.Series([["a"], ["b"], ["c"]]))
    with pytest.raises(ColumnTypeError, match="column 'stage' holds List"):
        validate(frame, "conversions", "c.json")


def test_unknown_table() -> None:
    with pytest.raises(UnknownTableError):
        validate(conversions(), "sales", "c.csv")


def test_chunks_give_the_same_result_and_report_progress() -> None:
    frame = pl.concat([conversions(conversion_id=[f"c{i}", f"d{i}", "dup"]) for i in range(10)])
    whole = validate(frame, "conversions", "c.csv")
    seen: list[tuple[int, int]] = []
    chunked = validate(
        frame, "conversions", "c.csv", chunk_rows=7, progress=lambda d, t: seen.append((d, t))
    )
    assert_frame_equal(whole[0], chunked[0])
    assert whole[1] == chunked[1]
    assert_frame_equal(whole[2], chunked[2])
    assert seen == [(7, 30), (14, 30), (21, 30), (28, 30), (30, 30)]


def test_problem_objects_are_capped_but_all_counted() -> None:
    n = MAX_PROBLEMS + 500
    frame = pl.DataFrame(
        {
            "conversion_id": [f"c{i}" for i in range(n)],
            "user_id": ["u"] * n,
            "ts": ["never"] * n,
            "stage": ["lead"] * n,
        }
    )
    good, problems, rejected = validate(frame, "conversions", "c.csv")
    assert isinstance(problems, ProblemList)
    assert len(problems) == MAX_PROBLEMS
    assert problems.total == n
    assert rejected.height == n
    assert good.height == 0


def test_more_than_fifty_problems_message_lists_fifty() -> None:
    n = 73
    frame = conversions(
        conversion_id=[f"c{i}" for i in range(n)],
        user_id=["u"] * n,
        ts=["2024-03-01"] * n,
        stage=["lead"] * n,
        revenue=["-1"] * n,
    )
    _, problems, _ = validate(frame, "conversions", "c.csv")
    error = ValidationFailedError(problems, getattr(problems, "total", len(problems)))
    lines = str(error).splitlines()
    assert lines[0] == "73 problem(s) found; nothing was written."
    assert lines[1] == "c.csv row 1, field 'revenue': expected a number ≥ 0, got '-1'"
    assert len(lines) == 1 + 50 + 1
    assert lines[-1] == "... and 23 more."
