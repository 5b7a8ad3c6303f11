from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from attribution.errors import (
    MissingColumnsError,
    UnknownTableError,
    UnsupportedFormatError,
    ValidationFailedError,
)
from ingest import IngestSummary, Store, ingest_files, ingest_frame

CONVERSIONS_CSV = """conversion_id,user_id,ts,stage,revenue
c1,u1,2024-03-01T10:00:00Z,lead,
c2,u1,2024-03-02T10:00:00+02:00,purchase,120.50
c3,u2,2024-03-03,purchase,80
"""

EVENTS_CSV = """event,cookie,time,channel,utm_campaign
t1,a1,2024-02-28T09:00:00Z,Email,newsletter
t2,a1,1709280000,Paid Search,brand
t3,a2,2024-03-02 12:30:00,Paid Social,
"""

COSTS_CSV = """date,channel,campaign,spend,impressions,clicks,currency
2024-03-01,Email,newsletter,10.5,100,4,USD
2024-03-01,Paid Search,,20,200,10,USD
2024-03-02,Paid Search,brand,30.25,,,EUR
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_ingest_and_summary(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "conversions.csv", CONVERSIONS_CSV)
    summary = ingest_files(store, "conversions", [path])
    assert (summary.rows_read, summary.inserted, summary.updated, summary.unchanged) == (3, 3, 0, 0)
    assert summary.files == [str(path)]
    assert str(summary).startswith(
        "conversions: 3 rows read from 1 file — 3 inserted, 0 updated, 0 unchanged, 0 rejected ("
    )
    assert summary.to_dict()["inserted"] == 3
    assert store.read("conversions")["revenue"].to_list() == [0.0, 120.5, 80.0]


def test_reingesting_the_same_file_changes_nothing(
    tmp_path: Path, store: Store, snapshot: Any, same_store: Any
) -> None:
    path = write(tmp_path / "conversions.csv", CONVERSIONS_CSV)
    ingest_files(store, "conversions", path)
    before = snapshot(store)
    again = ingest_files(store, "conversions", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    same_store(before, snapshot(store))


def test_changed_revenue_updates_one_row(tmp_path: Path, store: Store) -> None:
    ingest_files(store, "conversions", write(tmp_path / "a.csv", CONVERSIONS_CSV))
    changed = write(tmp_path / "b.csv", CONVERSIONS_CSV.replace("120.50", "130"))
    summary = ingest_files(store, "conversions", changed)
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 2)
    assert store.read("conversions")["revenue"].to_list() == [0.0, 130.0, 80.0]


def test_map_option_loads_cookie_time_channel(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "events.csv", EVENTS_CSV)
    mapping = {
        "touchpoint_id": "event",
        "user_id": "cookie",
        "ts": "time",
        "campaign": "utm_campaign",
    }
    summary = ingest_files(store, "touchpoints", [path], mapping=mapping)
    assert summary.inserted == 3
    stored = store.read("touchpoints")
    assert stored["user_id"].to_list() == ["a1", "a1", "a2"]
    assert stored["campaign"].to_list() == ["newsletter", "brand", None]


def test_unmapped_file_says_how_to_map(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "events.csv", EVENTS_CSV)
    with pytest.raises(MissingColumnsError, match=r"Map yours with --map touchpoint_id="):
        ingest_files(store, "touchpoints", [path])


@pytest.mark.parametrize("suffix", ["csv", "csv.gz", "parquet", "ndjson", "ndjson.gz", "json"])
def test_every_format_ingests_the_same_rows(tmp_path: Path, suffix: str) -> None:
    frame = pl.read_csv(CONVERSIONS_CSV.encode(), infer_schema=False)
    path = tmp_path / f"conversions.{suffix}"
    if suffix.startswith("csv"):
        data = frame.write_csv().encode()
    elif suffix.startswith("ndjson"):
        data = frame.write_ndjson().encode()
    elif suffix == "json":
        data = frame.write_json().encode()
    else:
        frame.write_parquet(path)
        data = b""
    if data:
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    store = Store(tmp_path / "s.duckdb")
    assert ingest_files(store, "conversions", [path]).inserted == 3
    reference = Store(tmp_path / "ref.duckdb")
    ingest_files(reference, "conversions", [write(tmp_path / "ref.csv", CONVERSIONS_CSV)])
    assert store.read("conversions").equals(reference.read("conversions"))


def test_bad_row_writes_nothing(
    tmp_path: Path, store: Store, snapshot: Any, same_store: Any
) -> None:
    ingest_files(store, "conversions", write(tmp_path / "old.csv", CONVERSIONS_CSV))
    before = snapshot(store)
    good = write(tmp_path / "more.csv", CONVERSIONS_CSV.replace("\nc", "\nd"))
    bad = write(tmp_path / "conversions.csv", CONVERSIONS_CSV.replace("80", "-40"))
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "conversions", [good, bad])
    assert str(info.value) == (
        "1 problem(s) found; nothing was written.\n"
        "conversions.csv row 3, field 'revenue': expected a number ≥ 0, got '-40'"
    )
    assert [p.to_dict() for p in info.value.problems] == [
        {
            "file": "conversions.csv",
            "row": 3,
            "field": "revenue",
            "message": "expected a number ≥ 0, got '-40'",
        }
    ]
    same_store(before, snapshot(store))


def test_skip_invalid_writes_good_rows_and_rejects_file(tmp_path: Path, store: Store) -> None:
    text = CONVERSIONS_CSV + "c4,u3,yesterday,lead,1\nc5,,2024-03-04,lead,-2\n"
    path = write(tmp_path / "conversions.csv", text)
    summary = ingest_files(store, "conversions", [path], skip_invalid=True)
    assert (summary.inserted, summary.rejected) == (3, 2)
    assert summary.rejects_path == str(tmp_path / "conversions.rejects.csv")
    assert str(summary).endswith(
        f"; rejected rows written to {tmp_path / 'conversions.rejects.csv'}"
    )
    rejects = pl.read_csv(tmp_path / "conversions.rejects.csv", infer_schema=False)
    assert rejects.columns == [
        "conversion_id", "user_id", "ts", "stage", "revenue", "_file", "_row", "_reason",
    ]  # fmt: skip
    assert rejects.select("conversion_id", "ts", "_file", "_row", "_reason").rows() == [
        (
            "c4",
            "yesterday",
            "conversions.csv",
            "4",
            "ts: expected an ISO 8601 timestamp, a date or epoch seconds/milliseconds, "
            "got 'yesterday'",
        ),
        (
            "c5",
            "2024-03-04",
            "conversions.csv",
            "5",
            "user_id: required value is missing; revenue: expected a number ≥ 0, got '-2'",
        ),
    ]
    assert [p.row for p in summary.problems] == [4, 5, 5]


def test_rejects_keep_the_users_column_names(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "events.csv", EVENTS_CSV.replace("1709280000", "soon"))
    target = tmp_path / "out" / "bad.csv"
    mapping = {"touchpoint_id": "event", "user_id": "cookie", "ts": "time"}
    summary = ingest_files(
        store, "touchpoints", [path], mapping=mapping, skip_invalid=True, rejects_path=target
    )
    assert summary.rejects_path == str(target)
    rejects = pl.read_csv(target, infer_schema=False)
    assert rejects.columns == [*EVENTS_CSV.splitlines()[0].split(","), "_file", "_row", "_reason"]
    assert rejects["time"].to_list() == ["soon"]


def test_no_rejects_file_when_nothing_rejected(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "conversions.csv", CONVERSIONS_CSV)
    assert ingest_files(store, "conversions", [path], skip_invalid=True).rejects_path is None
    assert not (tmp_path / "conversions.rejects.csv").exists()


def test_later_file_wins_for_a_key_in_two_files(tmp_path: Path, store: Store) -> None:
    first = write(tmp_path / "a.csv", CONVERSIONS_CSV)
    second = write(tmp_path / "b.csv", CONVERSIONS_CSV.replace("120.50", "7"))
    summary = ingest_files(store, "conversions", [first, second])
    assert (summary.rows_read, summary.inserted) == (6, 3)
    assert store.read("conversions")["revenue"].to_list() == [0.0, 7.0, 80.0]


def test_currency_mismatch_rejected(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path / "costs.csv", COSTS_CSV)
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "costs", [path])
    assert info.value.problems[0].message == (
        "currency 'EUR' differs from the store's reporting currency 'USD'; convert first"
    )
    store.set_currency("EUR")
    summary = ingest_files(store, "costs", [path], skip_invalid=True)
    assert (summary.inserted, summary.rejected) == (1, 2)


def test_more_than_fifty_problems(tmp_path: Path, store: Store) -> None:
    rows = "".join(f"c{i},u,2024-03-01,lead,-{i}\n" for i in range(1, 121))
    path = write(tmp_path / "conversions.csv", "conversion_id,user_id,ts,stage,revenue\n" + rows)
    with pytest.raises(ValidationFailedError) as info:
        ingest_files(store, "conversions", [path])
    lines = str(info.value).splitlines()
    assert lines[0] == "120 problem(s) found; nothing was written."
    assert len(lines) == 52
    assert lines[50] == "conversions.csv row 50, field 'revenue': expected a number ≥ 0, got '-50'"
    assert lines[-1] == "... and 70 more."
    assert info.value.total == 120


def test_progress_is_reported(tmp_path: Path, store: Store) -> None:
    seen: list[tuple[int, int]] = []
    paths = [write(tmp_path / "a.csv", CONVERSIONS_CSV), write(tmp_path / "b.csv", CONVERSIONS_CSV)]
    ingest_files(store, "conversions", paths, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(3, 6), (6, 6)]


def test_unknown_table_and_format(tmp_path: Path, store: Store) -> None:
    with pytest.raises(UnknownTableError, match="Unknown table 'conversion'"):
        ingest_files(store, "conversion", [tmp_path / "x.csv"])
    with pytest.raises(UnsupportedFormatError, match=r"unsupported file type '\.xlsx'"):
        ingest_files(store, "costs", [tmp_path / "costs.xlsx"])


def test_ingest_frame(store: Store) -> None:
    frame = pl.DataFrame({"anonymous_id": ["a1", "a2", "a\x003"], "user_id": ["u1", "u1", "u2"]})
    with pytest.raises(ValidationFailedError, match="request body row 3, field 'anonymous_id'"):
        ingest_frame(store, "identities", frame)
    assert store.counts()["identities"] == 0
    summary = ingest_frame(store, "identities", frame, source="batch 7", skip_invalid=True)
    assert isinstance(summary, IngestSummary)
    assert summary.files == ["batch 7"]
    assert (summary.inserted, summary.rejected, summary.rejects_path) == (2, 1, None)
    assert summary.to_dict()["problems"] == [
        {
            "file": "batch 7",
            "row": 3,
            "field": "anonymous_id",
            "message": "contains the invisible control character U+0000 (NULL); remove it, "
            "got 'a\\x003'",
        }
    ]


def test_ingest_frame_with_mapping(store: Store) -> None:
    frame = pl.DataFrame({"cookie": ["a1"], "email": ["u1"]})
    summary = ingest_frame(
        store, "identities", frame, mapping={"anonymous_id": "cookie", "user_id": "email"}
    )
    assert summary.inserted == 1
