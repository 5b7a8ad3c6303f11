"""Bounded inputs (#12): absurd values are row problems, malformed files clear errors.

- timestamps and dates within ``CLOSEDLOOP_MIN_YEAR`` .. ``CLOSEDLOOP_MAX_YEAR``
  (never wrapped around, never ±infinity);
- money finite and at most ``CLOSEDLOOP_MAX_AMOUNT``;
- counts checked against their type before they are cast;
- CSV files with CR-only or mixed line ends, a header only, a column named
  twice, NUL bytes or bytes that are not UTF-8;
- a bounded fuzz test: malformed CSV / NDJSON / JSON / Parquet files either
  load correctly or raise a clear closedloop error naming the file.
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
    for name in ("CLOSEDLOOP_MIN_YEAR", "CLOSEDLOOP_MAX_YEAR", "CLOSEDLOOP_MAX_AMOUNT"):
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
    ],
)
def test_bad_limits_in_the_environment(env: dict[str, str], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        current_limits(env)


def test_default_limits() -> None:
    assert current_limits({}) == Limits(1970, 2100, 1e12)


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
    path.write_bytes("id,name\n1,é\n2,x\x003\n".encode())
    with pytest.raises(InputError, match=r"row 2 \(line 3 of the file\) holds a NUL byte"):
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


def test_nul_byte_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "touchpoints.csv"
    path.write_bytes(b"touchpoint_id,user_id,ts,channel\nt1,u1,2024-03-01,Email\nt2,u\x002,x,y\n")
    match = r"Cannot read 'touchpoints\.csv': row 2 \(line 3 of the file\) holds a NUL byte"
    for read in (read_table, scan_table):
        with pytest.raises(InputError, match=match):
            read(path)


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
        assert not (skip and isinstance(error, ValidationFailedError))
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
