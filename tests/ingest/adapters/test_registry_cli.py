"""The adapter registry, ingest_adapter's transaction and the `ingest --from` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main
from attribution.errors import InputError, ValidationFailedError
from ingest import Store, ingest_adapter
from ingest.adapters import ADAPTERS, get_adapter

SAMPLES = Path(__file__).resolve().parents[3] / "examples" / "sources"


def test_registry_names() -> None:
    assert {
        "ga4",
        "segment",
        "rudderstack",
        "salesforce",
        "hubspot",
        "google_ads",
        "meta_ads",
        "linkedin_ads",
        "microsoft_ads",
    } <= set(ADAPTERS)
    with pytest.raises(InputError, match="Did you mean 'salesforce'"):
        get_adapter("salesfroce")


def test_nothing_written_when_one_table_fails(store: Store, tmp_path: Path) -> None:
    (tmp_path / "Lead.csv").write_text(
        "Id,Email,Status,CreatedDate,IsConverted\n"
        "00Q1,a@x.com,Open,2024-01-01,false\n00Q2,b@x.com,Open,not a date,false\n"
    )
    with pytest.raises(ValidationFailedError) as caught:
        ingest_adapter(store, "salesforce", [tmp_path])
    assert str(caught.value.problems[0]).startswith("Lead.csv row 2, field 'ts'")
    assert store.counts() == {
        "touchpoints": 0,
        "conversions": 0,
        "costs": 0,
        "identities": 0,
        "accounts": 0,
        "lift_tests": 0,
    }
    summaries = ingest_adapter(store, "salesforce", [tmp_path], skip_invalid=True)
    assert {s.table: (s.inserted, s.rejected) for s in summaries} == {
        "conversions": (1, 1),
        "identities": (2, 0),
    }
    assert (tmp_path / "salesforce.rejects.csv").read_text().count("\n") == 2


def test_reingest_is_idempotent(store: Store) -> None:
    ingest_adapter(store, "ga4", [SAMPLES / "ga4"])
    again = ingest_adapter(store, "ga4", [SAMPLES / "ga4"])
    assert all(s.inserted == 0 and s.updated == 0 for s in again)


def test_cli_from(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    code = main(["ingest", "--from", "hubspot", str(SAMPLES / "hubspot"), "--db", db])
    out = capsys.readouterr().out
    assert code == 0
    assert "conversions: 13 rows read from 2 files — 13 inserted" in out
    assert "identities: 8 rows read" in out
    code = main(
        [
            "ingest",
            "--from",
            "segment",
            str(SAMPLES / "segment" / "events.ndjson"),
            "--option",
            "conversion_events=Order Completed:purchase",
            "--db",
            db,
        ]
    )
    assert code == 0
    assert Store(db).counts()["touchpoints"] == 6 + 3  # HubSpot sources, then Segment


def test_cli_from_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["ingest", "--from", "ga4", "--db", str(tmp_path / "x.duckdb")]) == 2
    assert capsys.readouterr().err.endswith("error: the following arguments are required: FILE\n")
    code = main(
        [
            "ingest",
            "--from",
            "ga4",
            str(SAMPLES / "ga4"),
            "--map",
            "ts=x",
            "--db",
            str(tmp_path / "x.duckdb"),
        ]
    )
    assert code == 2
    assert "--option KEY=VALUE" in capsys.readouterr().err
    assert main(["ingest", "--from", "nope", "f.csv", "--db", str(tmp_path / "x.duckdb")]) == 2
    assert "Unknown source 'nope'" in capsys.readouterr().err
