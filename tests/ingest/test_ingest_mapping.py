from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from attribution.errors import InputError, MissingColumnsError, UnknownTableError
from ingest import apply_mapping, load_mapping_file, parse_map_args
from ingest.mapping import load_stage_map, source_columns

EVENTS = pl.DataFrame(
    {
        "cookie": ["a1", "a2"],
        "time": ["2024-03-01T10:00:00Z", "2024-03-02"],
        "channel": ["Email", "Display"],
        "event_id": ["e1", "e2"],
        "browser": ["firefox", "safari"],
    }
)


def test_parse_map_args() -> None:
    assert parse_map_args(["user_id=cookie", " ts = time ", "source=a=b"]) == {
        "user_id": "cookie",
        "ts": "time",
        "source": "a=b",
    }


@pytest.mark.parametrize("arg", ["user_id", "=cookie", "user_id="])
def test_parse_map_args_rejects_malformed(arg: str) -> None:
    with pytest.raises(InputError) as info:
        parse_map_args([arg])
    assert str(info.value) == (
        f"Bad --map '{arg}': expected <canonical column>=<your column>, e.g. --map ts=event_time."
    )


def test_parse_map_args_rejects_conflicting_repeats() -> None:
    with pytest.raises(InputError, match="--map ts is given twice: 'a' and 'b'"):
        parse_map_args(["ts=a", "ts=b"])


def test_map_renames_cookie_time_channel() -> None:
    mapping = parse_map_args(["user_id=cookie", "ts=time", "touchpoint_id=event_id"])
    out = apply_mapping(EVENTS, "touchpoints", mapping, "events.csv")
    assert out.columns == [
        "touchpoint_id",
        "user_id",
        "ts",
        "channel",
        "campaign",
        "source",
        "medium",
        "interaction",
    ]
    assert out["user_id"].to_list() == ["a1", "a2"]
    assert out["ts"].to_list() == ["2024-03-01T10:00:00Z", "2024-03-02"]
    assert out["campaign"].null_count() == 2


def test_one_column_can_feed_two_canonical_ones() -> None:
    out = apply_mapping(
        EVENTS, "touchpoints", {"touchpoint_id": "cookie", "user_id": "cookie", "ts": "time"}, "e"
    )
    assert out["touchpoint_id"].to_list() == out["user_id"].to_list() == ["a1", "a2"]


def test_missing_required_column_message() -> None:
    frame = pl.DataFrame(
        {"user_id": ["u"], "channel": ["c"], "time": ["t"], "touchpoint_id": ["x"]}
    )
    with pytest.raises(MissingColumnsError) as info:
        apply_mapping(frame, "touchpoints", None, "/data/touchpoints.csv")
    assert str(info.value) == (
        "touchpoints.csv is missing required column(s): 'ts'. "
        "Found: 'user_id', 'channel', 'time', 'touchpoint_id'. "
        "Map yours with --map ts=<your column>."
    )


def test_mapped_column_absent_names_file_column_and_found() -> None:
    with pytest.raises(MissingColumnsError) as info:
        apply_mapping(EVENTS, "touchpoints", {"user_id": "visitor"}, "events.csv")
    assert str(info.value) == (
        "events.csv has no column 'visitor' (mapped to 'user_id' by --map user_id=visitor). "
        "Found: 'cookie', 'time', 'channel', 'event_id', 'browser'."
    )


def test_unknown_canonical_name_in_mapping() -> None:
    with pytest.raises(InputError, match="Unknown canonical column"):
        apply_mapping(EVENTS, "touchpoints", {"userid": "cookie"}, "events.csv")


def test_mapping_entries_of_other_tables_are_ignored() -> None:
    mapping = {"user_id": "cookie", "ts": "time", "touchpoint_id": "event_id", "stage": "x"}
    assert apply_mapping(EVENTS, "touchpoints", mapping, "e").height == 2


def test_case_insensitive_match_and_optional_defaults() -> None:
    frame = pl.DataFrame(
        {"Conversion_ID": ["c1"], "USER_ID": ["u1"], "ts": ["2024-03-01"], "Stage": ["lead"]}
    )
    out = apply_mapping(frame, "conversions", None, "c.csv")
    assert out.row(0, named=True) == {
        "conversion_id": "c1",
        "user_id": "u1",
        "ts": "2024-03-01",
        "stage": "lead",
        "revenue": 0.0,
        "owner": None,
        "lead_source": None,
        "account_id": None,
        "pipeline": None,
    }


def test_currency_column_is_kept_for_money_tables_only() -> None:
    costs = pl.DataFrame(
        {"day": ["2024-03-01"], "channel": ["Email"], "spend": ["1"], "account_currency": ["EUR"]}
    )
    out = apply_mapping(costs, "costs", {"date": "day", "currency": "account_currency"}, "c.csv")
    assert out.columns[-1] == "currency"
    assert out["campaign"].to_list() == [None]
    pairs = pl.DataFrame({"anonymous_id": ["a"], "user_id": ["u"], "currency": ["EUR"]})
    assert apply_mapping(pairs, "identities", None, "i.csv").columns == ["anonymous_id", "user_id"]


def test_unknown_table() -> None:
    with pytest.raises(UnknownTableError, match=r"Unknown table 'touchpoint'.*Did you mean"):
        apply_mapping(EVENTS, "touchpoint", None, "e.csv")


def test_mapping_file_shared_and_per_table(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text(
        '[columns]\nuser_id = "cookie"\nts = "time"\n\n'
        '[touchpoints]\ntouchpoint_id = "event_id"\nts = "event_time"\n'
    )
    mapping = load_mapping_file(path)
    assert mapping["touchpoints"] == {
        "user_id": "cookie",
        "ts": "event_time",
        "touchpoint_id": "event_id",
    }
    assert mapping["conversions"] == {"user_id": "cookie", "ts": "time"}
    events = EVENTS.rename({"time": "event_time"})
    assert apply_mapping(events, "touchpoints", mapping["touchpoints"], "e.csv").height == 2


def test_mapping_file_with_only_columns(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('[columns]\nuser_id = "cookie"\n')
    assert load_mapping_file(path)["identities"] == {"user_id": "cookie"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[touchpoint]\nts = "t"\n', r"unknown section \[touchpoint\]"),
        ("[columns]\nts = 3\n", r"\[columns\] ts: expected a column name in quotes"),
        ('[costs]\nts = "t"\n', r"\[costs\]: unknown canonical column 'ts'"),
        ("[columns\n", "is not valid TOML"),
        ('ts = "t"\n', "'ts' is outside a section"),
    ],
)
def test_mapping_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "map.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_mapping_file(path)


def test_mapping_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"Cannot read mapping file 'nope\.toml'"):
        load_mapping_file(tmp_path / "nope.toml")


# Stage values in a mapping file, and where each canonical column comes from


def test_mapping_file_with_stages(tmp_path: Path) -> None:
    path = tmp_path / "crm.toml"
    path.write_text(
        '[conversions]\nstage = "StageName"\n\n[stages]\n"Closed Won" = "closed_won"\n'
        '" Demo Booked " = " opportunity "\n'
    )
    assert load_mapping_file(path)["conversions"] == {"stage": "StageName"}
    assert load_stage_map(path) == {"Closed Won": "closed_won", "Demo Booked": "opportunity"}


def test_mapping_file_without_stages(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[columns]\nuser_id = "cookie"\n')
    assert load_stage_map(path) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[stages]\n"Won" = 1\n', r"\[stages\] 'Won': expected your stage = the closedloop stage"),
        ('[stages]\n"Won" = ""\n', r"\[stages\] 'Won': expected your stage"),
        ('[stages]\n" " = "lead"\n', r"\[stages\] ' ': expected your stage"),
    ],
)
def test_mapping_file_stage_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_mapping_file(path)
    with pytest.raises(InputError, match=message):
        load_stage_map(path)


def test_source_columns() -> None:
    columns = ["Id", "User_ID ", "CloseDate", "currency"]
    found = source_columns(columns, "conversions", {"conversion_id": "Id", "ts": "CloseDate"}, "c")
    assert found == {
        "conversion_id": "Id",
        "user_id": "User_ID ",
        "ts": "CloseDate",
        "currency": "currency",
    }
    with pytest.raises(MissingColumnsError, match=r"c\.csv has no column 'When'"):
        source_columns(columns, "conversions", {"ts": "When"}, "x/c.csv")
