"""Bounded inputs (#12): absurd values are row problems, malformed files clear errors.

- timestamps and dates within ``CLOSEDLOOP_MIN_YEAR`` .. ``CLOSEDLOOP_MAX_YEAR``
  (never wrapped around, never ±infinity);
- money finite and at most ``CLOSEDLOOP_MAX_AMOUNT``;
- counts checked against their type before they are cast;
- CSV files with CR-only or mixed line ends, a header only, a column named
  twice, NUL bytes or bytes that are not UTF-8;
- a bounded fuzz test: malformed CSV / NDJSON / JSON / Parquet files either
  load correctly or raise a clear closedloop error naming the file;
- text values without control characters (bidi overrides, C0/C1 controls,
  line breaks inside ids and names) and at most ``CLOSEDLOOP_MAX_TEXT``
  characters, in every format and through the streaming ingest;
- rows with more or fewer fields than the header, and quotes that never
  close, name their row.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import tempfile
from pathlib import Path
from typing import Any, Literal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ingest.readers as readers
from attribution.errors import (
    ClosedloopError,
    InputError,
    ParameterError,
    ValidationFailedError,
)
from attribution.schema import REQUIRED, TABLES
from ingest import Store, ingest_files, parse_timestamps, read_table
from ingest.limits import Limits, current_limits
from ingest.readers import scan_table
from ingest.validate import validate

RANGE = "from 1970-01-01 to before 2100-01-01 (CLOSEDLOOP_MIN_YEAR, CLOSEDLOOP_MAX_YEAR)"
CAP = "expected an amount ≤ 1,000,000,000,000 (CLOSEDLOOP_MAX_AMOUNT)"
INT64_MAX = "expected a whole number ≤ 9,223,372,036,854,775,807"


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "CLOSEDLOOP_MIN_YEAR",
        "CLOSEDLOOP_MAX_YEAR",
        "CLOSEDLOOP_MAX_AMOUNT",
        "CLOSEDLOOP_MAX_TEXT",
    ):
        monkeypatch.delenv(name, raising=False)


def conversions(**columns: list[Any] | pl.Series) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, Any] = {
        "conversion_id": [f"c{i}" for i in range(n)],
        "user_id": ["u1"] * n,
        "ts": ["2024-03-01"] * n,
        "stage": ["lead"] * n,
    }
    return pl.DataFrame({**base, **columns})


def costs(**columns: list[Any] | pl.Series) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, Any] = {
        "date": ["2024-03-01"] * n,
        "channel": [f"ch{i}" for i in range(n)],
        "spend": ["1"] * n,
    }
    return pl.DataFrame({**base, **columns})


def messages(frame: pl.DataFrame, table: str, file: str = "f.csv") -> list[str]:
    _, problems, _ = validate(frame, table, file)
    return [str(p) for p in problems]


# --- 1. timestamps and dates in a sane range ---------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "9223372036854775807",  # Int64 max: microseconds in the year 294,247
        "-9223372036854775808",  # Int64 min: its abs() overflows; once wrapped to 1970-01-01
        "99999999999999999999",  # beyond Int64
        "-99999999999999",  # milliseconds, year -1199
        "9999-01-01",
        "1200-01-01",
        "1969-12-31T23:59:59Z",
        "2100-01-01",
        "99999999999999999999999.5",  # a decimal epoch far beyond Int64
    ],
)
def test_timestamp_out_of_range_is_a_row_problem(value: str) -> None:
    frame = conversions(ts=["2024-03-01", value])
    assert messages(frame, "conversions", "conversions.csv") == [
        f"conversions.csv row 2, field 'ts': expected a timestamp {RANGE}, got '{value}'"
    ]


def test_timestamp_range_is_inclusive_then_exclusive() -> None:
    good, problems, _ = validate(
        conversions(ts=["1970-01-01T00:00:00Z", "2099-12-31T23:59:59.999999Z"]),
        "conversions",
        "c.csv",
    )
    assert problems == []
    assert good["ts"].dt.year().to_list() == [1970, 2099]


def test_huge_epochs_never_wrap_around() -> None:
    values = pl.Series("ts", ["-9223372036854775808", "9223372036854775807", "1709280000"])
    ts, bad = parse_timestamps(values)
    assert bad.to_list() == [False, False, False]
    assert ts.dt.year().to_list() == [0, 9999, 2024]


def test_native_out_of_range_temporal_values_are_problems_not_panics() -> None:
    ms = pl.Series([2**62, -(2**63), 1_709_280_000_000], dtype=pl.Int64).cast(pl.Datetime("ms"))
    frame = pl.DataFrame(
        {"touchpoint_id": ["a", "b", "c"], "user_id": ["u"] * 3, "channel": ["x"] * 3, "ts": ms}
    )
    assert messages(frame, "touchpoints", "t.parquet") == [
        f"t.parquet row 1, field 'ts': expected a timestamp {RANGE}, "
        "got '4611686018427387904 ms since 1970-01-01'",
        f"t.parquet row 2, field 'ts': expected a timestamp {RANGE}, "
        "got '-9223372036854775808 ms since 1970-01-01'",
    ]
    days = pl.Series([2**31 - 1, 19_783], dtype=pl.Int32).cast(pl.Date)
    assert messages(costs(date=days), "costs", "k.parquet") == [
        f"k.parquet row 1, field 'date': expected a date {RANGE}, "
        "got '2147483647 days since 1970-01-01'"
    ]


@pytest.mark.parametrize("value", ["1200-01-01", "9999-12-31", "2100-01-01", "1969-12-31"])
def test_cost_date_out_of_range(value: str) -> None:
    assert messages(costs(date=["2024-03-01", value]), "costs", "k.csv") == [
        f"k.csv row 2, field 'date': expected a date {RANGE}, got '{value}'"
    ]


def test_years_come_from_the_environment_at_validation_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = conversions(ts=["1999-12-31", "2000-01-01", "2030-01-01"])
    assert messages(frame, "conversions") == []
    monkeypatch.setenv("CLOSEDLOOP_MIN_YEAR", "2000")
    monkeypatch.setenv("CLOSEDLOOP_MAX_YEAR", "2030")
    assert messages(frame, "conversions") == [
        "f.csv row 1, field 'ts': expected a timestamp from 2000-01-01 to before 2030-01-01 "
        "(CLOSEDLOOP_MIN_YEAR, CLOSEDLOOP_MAX_YEAR), got '1999-12-31'",
        "f.csv row 3, field 'ts': expected a timestamp from 2000-01-01 to before 2030-01-01 "
        "(CLOSEDLOOP_MIN_YEAR, CLOSEDLOOP_MAX_YEAR), got '2030-01-01'",
    ]


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"CLOSEDLOOP_MIN_YEAR": "soon"}, "CLOSEDLOOP_MIN_YEAR must be a year from 1 to 9999"),
        ({"CLOSEDLOOP_MAX_YEAR": "10000"}, "CLOSEDLOOP_MAX_YEAR must be a year from 1 to 9999"),
        ({"CLOSEDLOOP_MIN_YEAR": "2100"}, r"CLOSEDLOOP_MIN_YEAR \(2100\) must be before"),
        ({"CLOSEDLOOP_MAX_AMOUNT": "inf"}, "CLOSEDLOOP_MAX_AMOUNT must be a finite number > 0"),
        ({"CLOSEDLOOP_MAX_AMOUNT": "-1"}, "CLOSEDLOOP_MAX_AMOUNT must be a finite number > 0"),
        ({"CLOSEDLOOP_MAX_TEXT": "0"}, "CLOSEDLOOP_MAX_TEXT must be a whole number from 1 to"),
        ({"CLOSEDLOOP_MAX_TEXT": "4k"}, "CLOSEDLOOP_MAX_TEXT must be a whole number from 1 to"),
        ({"CLOSEDLOOP_MAX_TEXT": "1e9"}, "CLOSEDLOOP_MAX_TEXT must be a whole number from 1 to"),
    ],
)
def test_bad_limits_in_the_environment(env: dict[str, str], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        current_limits(env)


def test_default_limits() -> None:
    assert current_limits({}) == Limits(1970, 2100, 1e12, 4096)


def test_out_of_range_timestamp_writes_nothing_or_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "conversions.csv"
    path.write_text(
        "conversion_id,user_id,ts,stage\n"
        "c1,u1,2024-03-01,lead\n"
        "c2,u1,9223372036854775807,lead\n"
        "c3,u1,1200-01-01,lead\n"
    )
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(ValidationFailedError, match="2 problem"):
        ingest_files(store, "conversions", path)
    assert store.read("conversions").height == 0
    summary = ingest_files(store, "conversions", path, skip_invalid=True)
    assert (summary.rows_read, summary.inserted, summary.rejected) == (3, 1, 2)
    assert store.read("conversions")["conversion_id"].to_list() == ["c1"]


# --- 2. money finite and below a cap ----------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "NaN", "1e400", "Infinity"])
def test_money_must_be_finite(value: str) -> None:
    assert messages(conversions(revenue=["1", value]), "conversions") == [
        f"f.csv row 2, field 'revenue': expected a number ≥ 0, got '{value}'"
    ]
    assert messages(costs(spend=["1", value]), "costs") == [
        f"f.csv row 2, field 'spend': expected a number ≥ 0, got '{value}'"
    ]


def test_money_above_the_cap() -> None:
    frame = conversions(revenue=["1e12", "1000000000000.01", "-3"])
    assert messages(frame, "conversions") == [
        f"f.csv row 2, field 'revenue': {CAP}, got '1000000000000.01'",
        "f.csv row 3, field 'revenue': expected a number ≥ 0, got '-3'",
    ]
    native = costs(spend=[1.0, float("inf"), 2e12, float("nan")])
    assert messages(native, "costs", "k.parquet") == [
        "k.parquet row 2, field 'spend': expected a number ≥ 0, got 'inf'",
        f"k.parquet row 3, field 'spend': {CAP}, got '2000000000000.0'",
        "k.parquet row 4, field 'spend': expected a number ≥ 0, got 'NaN'",
    ]


def test_money_cap_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSEDLOOP_MAX_AMOUNT", "100")
    assert messages(costs(spend=["100", "100.5"]), "costs") == [
        "f.csv row 2, field 'spend': expected an amount ≤ 100 (CLOSEDLOOP_MAX_AMOUNT), got '100.5'"
    ]


# --- 3. counts checked against their type -----------------------------------------------------


def test_integer_columns_of_the_schema_are_the_counts() -> None:
    integers = {
        (table, name)
        for table, schema in TABLES.items()
        for name, dtype in schema.items()
        if dtype.is_integer()
    }
    assert integers == {("costs", "impressions"), ("costs", "clicks")}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("9223372036854775808", INT64_MAX),
        ("18446744073709551616", INT64_MAX),
        ("1e19", INT64_MAX),
        ("1e400", "expected a whole number ≥ 0"),
        ("-1", "expected a whole number ≥ 0"),
        ("2.5", "expected a whole number ≥ 0"),
        ("many", "expected a whole number ≥ 0"),
        ("nan", "expected a whole number ≥ 0"),
    ],
)
def test_bad_counts_are_row_problems(value: str, message: str) -> None:
    frame = costs(impressions=["1", value], clicks=[value, "2"])
    assert messages(frame, "costs") == [
        f"f.csv row 1, field 'clicks': {message}, got '{value}'",
        f"f.csv row 2, field 'impressions': {message}, got '{value}'",
    ]


def test_big_counts_are_read_exactly() -> None:
    frame = costs(
        impressions=["9223372036854775807", " +7 ", "12.0"], clicks=["9007199254740993"] * 3
    )
    good, problems, _ = validate(frame, "costs", "f.csv")
    assert problems == []
    assert good["impressions"].to_list() == [2**63 - 1, 7, 12]
    assert good["clicks"].to_list() == [2**53 + 1] * 3


def test_native_unsigned_counts_beyond_int64(tmp_path: Path) -> None:
    path = tmp_path / "costs.parquet"
    costs(
        spend=[1.0, 2.0, 3.0], impressions=pl.Series([2**64 - 1, 5, 2**63], dtype=pl.UInt64)
    ).write_parquet(path)
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(ValidationFailedError) as caught:
        ingest_files(store, "costs", path)
    assert [str(p) for p in caught.value.problems] == [
        f"costs.parquet row 1, field 'impressions': {INT64_MAX}, got '18446744073709551615'",
        f"costs.parquet row 3, field 'impressions': {INT64_MAX}, got '9223372036854775808'",
    ]
    summary = ingest_files(store, "costs", path, skip_invalid=True)
    assert (summary.inserted, summary.rejected) == (1, 2)
    assert store.read("costs")["impressions"].to_list() == [5]


# --- 4. reading CSV files ---------------------------------------------------------------------

TOUCHES = [("t1", "u1", "2024-03-01", "Email"), ("t2", "u2", "2024-03-02", "Video")]


def touch_csv(ends: list[str]) -> bytes:
    lines = ["touchpoint_id,user_id,ts,channel", *(",".join(row) for row in TOUCHES)]
    return "".join(line + end for line, end in zip(lines, ends, strict=True)).encode()


@pytest.mark.parametrize(
    "ends", [["\r"] * 3, ["\r\n", "\n", "\r"], ["\n", "\r", "\r\n"], ["\r", "\r\n", ""]]
)
def test_cr_only_and_mixed_line_ends(tmp_path: Path, ends: list[str]) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_bytes(touch_csv(ends))
    assert read_table(path).rows() == TOUCHES
    assert pl.concat(scan_table(path).batches(1)).rows() == TOUCHES
    summary = ingest_files(Store(tmp_path / "s.duckdb"), "touchpoints", path)
    assert (summary.rows_read, summary.inserted) == (2, 2)


def test_line_ends_split_between_scanned_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "_SCAN_BYTES", 3)
    for ends in (["\r\n"] * 3, ["\r"] * 3, ["\n", "\r\n", "\r"]):
        path = tmp_path / "t.csv"
        path.write_bytes(touch_csv(ends))
        assert read_table(path).rows() == TOUCHES
    path.write_bytes("id,name\n1,é\n2,x".encode() + b"\xff3\n")
    with pytest.raises(InputError, match=r"row 2 \(line 3 of the file\) is not valid UTF-8"):
        read_table(path)
    path.write_bytes(b"id,na\x00me\n1,x\n")
    with pytest.raises(InputError, match=r"the header holds a NUL byte \(\\x00, at byte 5\)"):
        read_table(path)


@pytest.mark.parametrize("name", ["touchpoints.csv", "touchpoints.csv.gz", "touchpoints.tsv"])
def test_header_without_rows(tmp_path: Path, name: str) -> None:
    header = b"touchpoint_id,user_id,ts,channel\r\n"
    data = header.replace(b",", b"\t") if name.endswith(".tsv") else header
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    match = f"Cannot read '{name}': it has a header but no data rows"
    with pytest.raises(InputError, match=match):
        read_table(path)
    with pytest.raises(InputError, match=match):
        scan_table(path)
    with pytest.raises(InputError, match=match):
        ingest_files(Store(tmp_path / "s.duckdb"), "touchpoints", path)


def test_duplicate_column_names(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_text("touchpoint_id,user_id,ts,channel,ts,user_id\nt1,u1,2024-03-01,Email,x,y\n")
    match = r"Cannot read 'touchpoints\.csv': the header names column\(s\) 'ts', 'user_id' more"
    for read in (read_table, scan_table):
        with pytest.raises(InputError, match=match):
            read(path)


def test_nul_byte_names_the_row_and_field(tmp_path: Path) -> None:
    """A NUL in a value is a control character like the others: a problem of its row and field."""
    path = tmp_path / "touchpoints.csv"
    path.write_bytes(
        b"touchpoint_id,user_id,ts,channel,notes\n"
        b"t1,u1,2024-03-01,Email,ok\nt2,u\x002,2024-03-01,y,n\x00te\n"
    )
    with pytest.raises(ValidationFailedError) as caught:
        ingest_files(Store(tmp_path / "s.duckdb"), "touchpoints", path)
    assert [str(p) for p in caught.value.problems] == [
        "touchpoints.csv row 2, field 'user_id': contains the invisible control character "
        "U+0000 (NULL); remove it, got 'u\\x002'"
    ]
    path.write_bytes(b"touchpoint_id,user\x00_id\nt1,u1\n")
    match = r"Cannot read 'touchpoints\.csv': the header holds a NUL byte \(\\x00, at byte 18\)"
    for read in (read_table, scan_table):
        with pytest.raises(InputError, match=match):
            read(path)


def test_utf16_without_a_byte_order_mark_is_not_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_bytes("touchpoint_id,user_id\nt1,u1\n".encode("utf-16-le"))
    with pytest.raises(InputError, match=r"the header holds a NUL byte.*it may be UTF-16"):
        read_table(path)


def test_latin1_names_the_row_and_suggests_utf8(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    text = "touchpoint_id,user_id,ts,channel\nt1,u1,2024-03-01,Email\nt2,u2,2024-03-01,Télé\n"
    path.write_bytes(text.encode("latin-1"))
    match = (
        r"Cannot read 'touchpoints\.csv': row 2 \(line 3 of the file\) is not valid UTF-8 "
        r"\(byte 0xE9 at byte 74\)\. Re-save the file as UTF-8"
    )
    for read in (read_table, scan_table):
        with pytest.raises(InputError, match=match):
            read(path)
    with pytest.raises(InputError, match=match):
        ingest_files(Store(tmp_path / "s.duckdb"), "touchpoints", path)


def test_utf16_is_not_read_as_garbage(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_bytes("touchpoint_id,user_id\nt1,u1\n".encode("utf-16"))
    with pytest.raises(InputError, match="the header is not valid UTF-8"):
        read_table(path)


# --- 5. fuzz: malformed files are clear errors or correct loads ----------------------------------

NASTY = [
    "",
    " ",
    "x",
    '"',
    'a"b',
    "a,b",
    "line\nbreak",
    "cr\rhere",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e400",
    "inf",
    "-inf",
    "nan",
    "-1",
    "0.5",
    "1e12",
    "9999-01-01",
    "1200-01-01",
    "2024-02-30",
    "2024-03-01",
    "2024-03-01T10:00:00+02:00",
    "1709280000",
    "1709280000000",
    "20240301",
    "é",
    "\ufeff",
]
CELLS = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)
TABLE_NAMES = st.sampled_from(["touchpoints", "conversions"])
ENDS = st.sampled_from(["\n", "\r\n", "\r"])
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None)


def columns_of(table: str, data: st.DataObject) -> list[str]:
    extra = [c for c in TABLES[table] if c not in REQUIRED[table]]
    chosen = data.draw(st.lists(st.sampled_from(extra), unique=True, max_size=2))
    columns = [c for c in REQUIRED[table] if data.draw(st.integers(0, 19)) > 0] + chosen
    return columns or ["x"]


def check_ingest(path: Path, table: str, skip: bool, expected_rows: int | None = None) -> None:
    """Ingest one file into a fresh store: a correct load, or a clear error naming the file."""
    store = Store(path.parent / "s.duckdb")
    error: ClosedloopError | None = None
    try:
        summary = ingest_files(store, table, path, skip_invalid=skip)
    except ClosedloopError as exc:  # anything else fails the test
        error = exc
    if error is not None:
        assert isinstance(error, InputError), repr(error)
        assert path.name in str(error), str(error)
        assert store.read(table).height == 0  # nothing written
        # Skipping invalid rows fails only when none is left (every row rejected).
        assert not (skip and type(error) is ValidationFailedError)
        return
    counted = summary.inserted + summary.updated + summary.unchanged + summary.rejected
    assert summary.rows_read == counted, summary
    assert store.read(table).height == summary.inserted
    if expected_rows is not None:
        assert summary.rows_read == expected_rows
    if not skip:
        assert summary.rejected == 0


def corrupt(data: bytes, draw: st.DataObject) -> bytes:
    """Maybe truncate the bytes or splice random bytes into them."""
    how = draw.draw(st.sampled_from(["none", "none", "truncate", "splice"]))
    if how == "truncate" and data:
        return data[: draw.draw(st.integers(0, len(data) - 1))]
    if how == "splice":
        at = draw.draw(st.integers(0, len(data)))
        return data[:at] + draw.draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


@FUZZ
@given(table=TABLE_NAMES, data=st.data(), skip=st.booleans())
def test_fuzz_csv(table: str, data: st.DataObject, skip: bool) -> None:
    columns = columns_of(table, data)
    rows = data.draw(st.lists(st.lists(CELLS, min_size=1, max_size=len(columns) + 1), max_size=6))
    ragged = any(len(row) != len(columns) for row in rows)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="")
    lines = []
    for row in [columns, *rows]:
        text.seek(0)
        text.truncate()
        writer.writerow(row)
        lines.append(text.getvalue() + data.draw(ENDS))
    raw = "".join(lines).encode()
    if data.draw(st.booleans()):
        raw = data.draw(st.binary(max_size=200)) if data.draw(st.booleans()) else corrupt(raw, data)
    # Clean rows of well-formed text must all be read: nothing silently dropped.
    expected = None if ragged or raw != "".join(lines).encode() else len(rows)
    if expected is not None and any("\x00" in cell for row in rows for cell in row):
        expected = None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{table}.csv"
        path.write_bytes(raw)
        check_ingest(path, table, skip, expected)


JSON_VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
    st.lists(st.integers(0, 3), max_size=2),
)


@FUZZ
@given(table=TABLE_NAMES, data=st.data(), skip=st.booleans(), lines=st.booleans())
def test_fuzz_json(table: str, data: st.DataObject, skip: bool, lines: bool) -> None:
    columns = columns_of(table, data)
    records = data.draw(
        st.lists(st.fixed_dictionaries(dict.fromkeys(columns, JSON_VALUES)), max_size=6)
    )
    if lines:
        raw = "".join(json.dumps(r) + "\n" for r in records).encode()
    else:
        raw = json.dumps(records).encode()
    if data.draw(st.booleans()):
        raw = data.draw(st.binary(max_size=200)) if data.draw(st.booleans()) else corrupt(raw, data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{table}.{'ndjson' if lines else 'json'}"
        path.write_bytes(raw)
        check_ingest(path, table, skip)


def parquet_column(name: str, data: st.DataObject, n: int) -> pl.Series:
    kind = data.draw(st.sampled_from(["text", "int", "uint", "float", "datetime", "date"]))
    if kind == "text":
        return pl.Series(name, data.draw(st.lists(CELLS, min_size=n, max_size=n)), pl.String)
    if kind == "int":
        values = st.integers(-(2**63), 2**63 - 1) | st.sampled_from([0, 1_709_280_000])
        return pl.Series(name, data.draw(st.lists(values, min_size=n, max_size=n)), pl.Int64)
    if kind == "uint":
        unsigned = st.integers(0, 2**64 - 1)
        return pl.Series(name, data.draw(st.lists(unsigned, min_size=n, max_size=n)), pl.UInt64)
    if kind == "float":
        floats = st.floats() | st.sampled_from([1e12, 1.5, -0.0])
        return pl.Series(name, data.draw(st.lists(floats, min_size=n, max_size=n)), pl.Float64)
    if kind == "datetime":
        unit: Literal["ms", "us", "ns"] = data.draw(st.sampled_from(["ms", "us", "ns"]))
        stamps = st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31))
        if unit == "ns":
            stamps = st.datetimes(dt.datetime(1678, 1, 1), dt.datetime(2262, 1, 1))
        series = pl.Series(name, data.draw(st.lists(stamps, min_size=n, max_size=n)))
        return series.cast(pl.Datetime(unit))
    days = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))
    return pl.Series(name, data.draw(st.lists(days, min_size=n, max_size=n)), pl.Date)


@FUZZ
@given(table=TABLE_NAMES, data=st.data(), skip=st.booleans())
def test_fuzz_parquet(table: str, data: st.DataObject, skip: bool) -> None:
    n = data.draw(st.integers(0, 5))
    frame = pl.DataFrame([parquet_column(c, data, n) for c in columns_of(table, data)])
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    raw = corrupt(buffer.getvalue(), data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{table}.parquet"
        path.write_bytes(raw)
        check_ingest(path, table, skip, n if raw == buffer.getvalue() else None)


def test_rejects_file_shows_a_date_polars_cannot_format(tmp_path: Path) -> None:
    """A Parquet timestamp past the year 262,143 is a row problem, and its rejects row says it."""
    import datetime as dt

    from ingest import Store, ingest_files

    days = pl.Series("ts", [19_783, 2**31 - 1], dtype=pl.Int32).cast(pl.Date)
    frame = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2"],
            "user_id": ["u1", "u2"],
            "ts": days,
            "channel": ["Email", "Search"],
        }
    )
    path = tmp_path / "touches.parquet"
    frame.write_parquet(path)
    rejects = tmp_path / "rejects.csv"
    summary = ingest_files(
        Store(tmp_path / "s.duckdb"), "touchpoints", [path], skip_invalid=True, rejects_path=rejects
    )
    assert (summary.inserted, summary.rejected) == (1, 1)
    written = pl.read_csv(rejects)
    assert written["ts"].to_list() == ["2147483647 days since 1970-01-01"]
    assert dt.date(2024, 3, 1).isoformat() not in written["ts"].to_list()


# --- 6. text values: no control characters, bounded length -------------------------------------

TOUCH_HEADER = "touchpoint_id,user_id,ts,channel"
RLO = (
    "contains the invisible control character U+202E (RIGHT-TO-LEFT OVERRIDE), "
    "which can disguise text; remove it"
)


def touchpoints(**columns: list[Any]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, Any] = {
        "touchpoint_id": [f"t{i}" for i in range(n)],
        "user_id": ["u1"] * n,
        "ts": ["2024-03-01"] * n,
        "channel": ["Email"] * n,
    }
    return pl.DataFrame({**base, **columns})


def ingest_problems(path: Path, table: str = "touchpoints") -> list[str]:
    """The problems of ingesting ``path`` into a fresh store, which must stay empty."""
    store = Store(path.parent / f"{path.name}.duckdb")
    with pytest.raises(ValidationFailedError) as caught:
        ingest_files(store, table, path)
    assert store.read(table).height == 0
    return [str(p) for p in caught.value.problems]


def test_bidi_override_is_a_row_problem(tmp_path: Path) -> None:
    """The issue's reproduction: 'Em\\u202eail' shows as 'Emlia' and was stored silently."""
    path = tmp_path / "bidi.csv"
    path.write_bytes(f"{TOUCH_HEADER}\nt1,u1,2024-01-01T00:00:00Z,Em\u202eail\n".encode())
    assert ingest_problems(path) == [f"bidi.csv row 1, field 'channel': {RLO}, got 'Em\\u202eail'"]


@pytest.mark.parametrize(
    ("char", "shown", "described"),
    [
        ("\u202a", "\\u202a", "the invisible control character U+202A (LEFT-TO-RIGHT EMBEDDING)"),
        ("\u2066", "\\u2066", "the invisible control character U+2066 (LEFT-TO-RIGHT ISOLATE)"),
        ("\u2069", "\\u2069", "the invisible control character U+2069 (POP DIRECTIONAL ISOLATE)"),
        ("\u200f", "\\u200f", "the invisible control character U+200F (RIGHT-TO-LEFT MARK)"),
        ("\u061c", "\\u061c", "the invisible control character U+061C (ARABIC LETTER MARK)"),
        ("\x01", "\\x01", "the invisible control character U+0001 (START OF HEADING)"),
        ("\x1b", "\\x1b", "the invisible control character U+001B (ESCAPE)"),
        ("\x7f", "\\x7f", "the invisible control character U+007F (DELETE)"),
        ("\x9b", "\\x9b", "the invisible control character U+009B (a C1 control)"),
        ("\x00", "\\x00", "the invisible control character U+0000 (NULL)"),
        ("\n", "\\n", "a line break, U+000A (LINE FEED); ids and names must fit on one line"),
        ("\r", "\\r", "a line break, U+000D (CARRIAGE RETURN); ids and names must fit on one line"),
        ("\x85", "\\x85", "a line break, U+0085 (NEXT LINE); ids and names must fit on one line"),
        ("\u2028", "\\u2028", "a line break, U+2028 (LINE SEPARATOR); ids and names must fit"),
    ],
)
def test_control_characters_inside_text_are_row_problems(
    char: str, shown: str, described: str
) -> None:
    frame = touchpoints(user_id=["u1", f"u{char}2"], campaign=["x", "y"])
    found = messages(frame, "touchpoints", "t.json")
    assert len(found) == 1
    assert found[0].startswith(f"t.json row 2, field 'user_id': contains {described}")
    assert found[0].endswith(f"; remove it, got 'u{shown}2'")
    assert char not in found[0]  # never echoed raw: no terminal escapes, no reordering


def test_whitespace_around_text_and_tabs_inside_are_kept_out_of_the_rules() -> None:
    frame = touchpoints(
        channel=[" Email\r\n", "\tPaid\tSearch\t", "\u2028Social\u2029"], campaign=["a\tb", "", " "]
    )
    good, problems, _ = validate(frame, "touchpoints", "t.csv")
    assert problems == []
    assert good["channel"].to_list() == ["Email", "Paid\tSearch", "Social"]
    assert good["campaign"].to_list() == ["a\tb", None, None]


def identities(**columns: list[Any]) -> pl.DataFrame:
    return pl.DataFrame({"anonymous_id": ["a1", "a2"], "user_id": ["u1", "u2"], **columns})


def accounts(**columns: list[Any]) -> pl.DataFrame:
    return pl.DataFrame({"user_id": ["u1", "u2"], "account_id": ["acc1", "acc2"], **columns})


def lift_tests(**columns: list[Any]) -> pl.DataFrame:
    base = {
        "channel": ["Email", "Email"],
        "campaign": ["a", "b"],
        "start": ["2024-03-01", "2024-03-01"],
        "end": ["2024-03-31", "2024-03-31"],
        "incremental_revenue": [10.0, 20.0],
    }
    return pl.DataFrame({**base, **columns})


def test_every_text_column_of_every_table_is_checked() -> None:
    frames = {
        "touchpoints": touchpoints,
        "conversions": conversions,
        "costs": costs,
        "identities": identities,
        "accounts": accounts,
        "lift_tests": lift_tests,
    }
    for table, schema in TABLES.items():
        for name, dtype in schema.items():
            if dtype != pl.String:
                continue
            frame = frames[table](**{name: ["ok", "b\u202ead"]})
            found = messages(frame, table)
            assert found == [f"f.csv row 2, field '{name}': {RLO}, got 'b\\u202ead'"], found


def test_multi_line_notes_in_unused_columns_are_fine(tmp_path: Path) -> None:
    """CRM exports carry multi-line notes: only the canonical ids and names must be one line."""
    path = tmp_path / "conversions.csv"
    path.write_bytes(
        b"conversion_id,user_id,ts,stage,notes\r\n"
        b'c1,u1,2024-03-01,lead,"called twice,\r\nleft a message"\r\n'
        b'c2,u2,2024-03-02,"closed\nwon","a ""quoted"" note"\r\n'
    )
    assert ingest_problems(path, "conversions") == [
        "conversions.csv row 2, field 'stage': contains a line break, U+000A (LINE FEED); "
        "ids and names must fit on one line; remove it, got 'closed\\nwon'"
    ]
    path.write_bytes(path.read_bytes().replace(b'"closed\nwon"', b"closed_won"))
    summary = ingest_files(Store(tmp_path / "ok.duckdb"), "conversions", path)
    assert (summary.rows_read, summary.inserted) == (2, 2)


def test_control_characters_in_json_ndjson_and_parquet(tmp_path: Path) -> None:
    rows = [
        {"touchpoint_id": "t1", "user_id": "u1", "ts": "2024-03-01", "channel": "Em\u202eail"},
        {"touchpoint_id": "t\x002", "user_id": "u1", "ts": "2024-03-01", "channel": "Email"},
    ]
    expected = [
        "row 1, field 'channel': " + RLO + ", got 'Em\\u202eail'",
        "row 2, field 'touchpoint_id': contains the invisible control character U+0000 (NULL); "
        "remove it, got 't\\x002'",
    ]
    (tmp_path / "t.json").write_text(json.dumps(rows))
    (tmp_path / "t.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pl.DataFrame(rows).write_parquet(tmp_path / "t.parquet")
    for name in ("t.json", "t.ndjson", "t.parquet"):
        assert ingest_problems(tmp_path / name) == [f"{name} {e}" for e in expected]


def test_rows_with_control_characters_can_be_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_bytes(
        f"{TOUCH_HEADER}\nt1,u1,2024-03-01,Email\nt2,u2,2024-03-01,=cmd\x07\n".encode()
    )
    rejects = tmp_path / "rejects.csv"
    summary = ingest_files(
        Store(tmp_path / "s.duckdb"), "touchpoints", path, skip_invalid=True, rejects_path=rejects
    )
    assert (summary.inserted, summary.rejected) == (1, 1)
    written = pl.read_csv(rejects, infer_schema=False)
    assert written["_reason"].to_list() == [
        "channel: contains the invisible control character U+0007 (BELL); "
        "remove it, got '=cmd\\x07'"
    ]
    assert written["channel"].to_list() == ["'=cmd\x07"]  # the row as given, formula-neutralised


def test_other_problems_show_control_characters_escaped() -> None:
    frame = conversions(ts=["2024-03-01", "\x1b]0;pwned\x072024"], revenue=["1", "\u202e5"])
    assert messages(frame, "conversions") == [
        f"f.csv row 2, field 'ts': {TIMESTAMP}, got '\\x1b]0;pwned\\x072024'",
        "f.csv row 2, field 'revenue': expected a number ≥ 0, got '\\u202e5'",
    ]


TIMESTAMP = "expected an ISO 8601 timestamp, a date or epoch seconds/milliseconds"


def test_two_million_character_name_is_a_row_problem(tmp_path: Path) -> None:
    """The issue's reproduction: a 2,000,000-character channel was stored."""
    path = tmp_path / "big.csv"
    path.write_text(f"{TOUCH_HEADER}\nt1,u1,2024-01-01,{'x' * 2_000_000}\nt2,u2,2024-01-01,ok\n")
    assert ingest_problems(path) == [
        "big.csv row 1, field 'channel': expected at most 4,096 characters "
        f"(CLOSEDLOOP_MAX_TEXT), got 2,000,000 characters: '{'x' * 60}…'"
    ]


def test_text_bound_counts_characters_after_stripping() -> None:
    frame = touchpoints(
        channel=["é" * 4096, " " + "x" * 4096 + " ", "y" * 4097], campaign=["a", "b", "c"]
    )
    assert messages(frame, "touchpoints") == [
        "f.csv row 3, field 'channel': expected at most 4,096 characters "
        f"(CLOSEDLOOP_MAX_TEXT), got 4,097 characters: '{'y' * 60}…'"
    ]


def test_text_bound_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOSEDLOOP_MAX_TEXT", "5")
    frame = pl.DataFrame(
        {"anonymous_id": ["abcde", "abcdef", "a"], "user_id": ["u1", "u1", "u123456789"]}
    )
    assert messages(frame, "identities") == [
        "f.csv row 2, field 'anonymous_id': expected at most 5 characters "
        "(CLOSEDLOOP_MAX_TEXT), got 6 characters: 'abcdef'",
        "f.csv row 3, field 'user_id': expected at most 5 characters "
        "(CLOSEDLOOP_MAX_TEXT), got 10 characters: 'u123456789'",
    ]


def test_text_rules_hold_in_the_streaming_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of a large file are checked like a small file, rows numbered in the whole file."""
    import ingest.loader as loader

    monkeypatch.setattr(loader, "BATCH_ROWS", 3)
    monkeypatch.setenv("CLOSEDLOOP_MAX_TEXT", "8")
    lines = [f"t{i},u{i},2024-03-01,Email" for i in range(10)]
    lines[4] = "t4,u4,2024-03-01,Em\u202eail"
    lines[8] = "t8,u8,2024-03-01,Newsletters"
    path = tmp_path / "touchpoints.csv"
    path.write_text(TOUCH_HEADER + "\n" + "\n".join(lines) + "\n")
    assert ingest_problems(path) == [
        f"touchpoints.csv row 5, field 'channel': {RLO}, got 'Em\\u202eail'",
        "touchpoints.csv row 9, field 'channel': expected at most 8 characters "
        "(CLOSEDLOOP_MAX_TEXT), got 11 characters: 'Newsletters'",
    ]


# --- 7. rows with the wrong number of fields, quotes that never close ---------------------------

RAGGED = f"{TOUCH_HEADER}\nt3,u3,2024-01-01T00:00:00Z,Email,extra\nt4,u4\n"
UNCLOSED = f'{TOUCH_HEADER}\nt5,u5,2024-01-01T00:00:00Z,"Email\nt6,u6,2024-01-01T00:00:00Z,Email\n'


def all_readers_raise(path: Path, match: str) -> None:
    """read_table, scan_table and ingest_files all raise ``match``, and nothing is written."""
    for read in (read_table, scan_table):
        with pytest.raises(InputError, match=match):
            read(path)
    store = Store(path.parent / f"{path.name}.duckdb")
    with pytest.raises(InputError, match=match):
        ingest_files(store, "touchpoints", path)
    assert store.read("touchpoints").height == 0


def test_too_many_fields_names_the_row(tmp_path: Path) -> None:
    """The issue's reproduction: polars said 'found more fields than defined in Schema'."""
    path = tmp_path / "ragged.csv"
    path.write_text(RAGGED)
    all_readers_raise(
        path,
        r"^Cannot read 'ragged\.csv': row 1 \(line 2 of the file\) has 5 fields, but the "
        r"header has 4\. Quote a value that holds the separator ',' \(\"a,b\"\), or remove "
        r"the extra fields\. Other rows without 4 fields: row 2 has 2 fields\.$",
    )


def test_too_few_fields_are_an_error_not_filled_with_nulls(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text(f"{TOUCH_HEADER},campaign\nt1,u1,2024-01-01,Email,spring\nt2,u2,2024-01-01,x\n")
    all_readers_raise(
        path,
        r"^Cannot read 'short\.csv': row 2 \(line 3 of the file\) has 4 fields, but the header "
        r"has 5\. Give every row all its fields, empty ones too: missing fields are not filled "
        r"in\.$",
    )


def test_blank_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_bytes(
        f"{TOUCH_HEADER}\r\nt1,u1,2024-01-01,Email\r\n\r\nt2,u2,2024-01-01,x\r\n".encode()
    )
    all_readers_raise(
        path,
        r"^Cannot read 'blank\.csv': row 2 \(line 3 of the file\) is blank, but the header has "
        r"4 fields\. Remove the line\.$",
    )


def test_many_ragged_rows_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "many.tsv"
    good = "t\tu\t2024-01-01\tEmail\n"
    path.write_text(TOUCH_HEADER.replace(",", "\t") + "\n" + good + "t\tu\n" * 9 + good)
    all_readers_raise(
        path,
        r"row 2 \(line 3 of the file\) has 2 fields, but the header has 4\..* Other rows "
        r"without 4 fields: row 3 has 2 fields, row 4 has 2 fields, row 5 has 2 fields, "
        r"row 6 has 2 fields and 4 more\.$",
    )


def test_unclosed_quote_names_the_row_where_it_opens(tmp_path: Path) -> None:
    """The issue's reproduction: it said 'it has a header but no data rows'."""
    path = tmp_path / "quote.csv"
    path.write_text(UNCLOSED)
    all_readers_raise(
        path,
        r"^Cannot read 'quote\.csv': a quoted value opens in row 1 \(line 2 of the file\), at "
        r"byte 60, and never closes, so the rest of the file would be read as that one value\. "
        r"Close the quote, or write a quote inside a value as two \(\"\"\)\.$",
    )
    text = f'{TOUCH_HEADER}\nt0,u0,2024-01-01,"a\nb"\n' + UNCLOSED.split("\n", 1)[1]
    path.write_text(text)
    at = text.index('"Email')
    all_readers_raise(path, rf"a quoted value opens in row 2 \(line 4 of the file\), at byte {at},")
    path.write_text('touchpoint_id,"user_id\nt1,u1\n')
    all_readers_raise(path, r"a quoted value opens in the header, at byte 14,")


def test_quote_closed_too_late_names_the_lines_it_spans(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text(f'{TOUCH_HEADER}\nt1,u1,2024-01-01,"Email\nt2,u2,2024-01-01,Email",x\n')
    all_readers_raise(
        path,
        r"row 1 \(lines 2 to 3 of the file\) has 5 fields, but the header has 4\..* A quoted "
        r"value spans its lines: check that each quote closes\.$",
    )


def test_quoted_separators_and_line_breaks_are_one_field(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_bytes(
        b'touchpoint_id,user_id,ts,channel,"note, with comma"\n'
        b't1,u1,2024-01-01,Email,"a,b\nc ""d,e"""\n'
        b't2,u2,2024-01-01,"Paid, Search",""\n'
        b"t3,u3,2024-01-01,Video,x"
    )
    assert read_table(path)["note, with comma"].to_list() == ['a,b\nc "d,e"', "", "x"]
    summary = ingest_files(Store(tmp_path / "s.duckdb"), "touchpoints", path)
    assert (summary.rows_read, summary.inserted) == (3, 3)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_records_are_checked_across_scanned_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    monkeypatch.setattr(readers, "_SCAN_BYTES", size)
    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b\r\n"x\r\n,y",2\r\n"""",""\r\n3,"4"\r\n')
    assert read_table(path).rows() == [("x\r\n,y", "2"), ('"', ""), ("3", "4")]
    path.write_bytes(b'a,b\n1,"2\n3,4\n')
    with pytest.raises(InputError, match=r"opens in row 1 \(line 2 of the file\), at byte 6,"):
        read_table(path)
    path.write_bytes(b'a,b\n"1,2",3\n4,5,"6\n7"\n8,9\n')
    with pytest.raises(InputError, match=r"row 2 \(lines 3 to 4 of the file\) has 3 fields"):
        read_table(path)


def test_ragged_gzipped_and_path_tables(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv.gz"
    path.write_bytes(gzip.compress(RAGGED.encode()))
    all_readers_raise(path, r"row 1 \(line 2 of the file\) has 5 fields, but the header has 4")
    table = tmp_path / "paths.csv"
    table.write_text("path;total_conversions\na > b;2;7\n")
    with pytest.raises(InputError, match=r"row 1 \(line 2 of the file\) has 3 fields"):
        readers.read_path_table(table)
