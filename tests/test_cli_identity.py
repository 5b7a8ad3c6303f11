"""``closedloop attribute`` on stitched persons: store mode, file mode (--identities), the switches.

Same data as ``tests/api/test_api_identity.py``: cookie-1's Paid Search and
Email touches belong, through lead-1, to crm-1's deal of 100; crm-2's Social
touch to its own deal of 50. Stitched with ``linear``: 50 each. Raw: the 100
has no touch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main

Capture = pytest.CaptureFixture[str]

FILES = {
    "touchpoints": """\
touchpoint_id,user_id,ts,channel
t1,cookie-1,2024-01-01T10:00:00Z,Paid Search
t2,cookie-1,2024-01-03T10:00:00Z,Email
t3,crm-2,2024-01-04T10:00:00Z,Social
""",
    "conversions": """\
conversion_id,user_id,ts,stage,revenue
c1,crm-1,2024-01-10T00:00:00Z,closed_won,100
c2,crm-2,2024-01-06T00:00:00Z,closed_won,50
""",
    "identities": """\
anonymous_id,user_id
cookie-1,lead-1
lead-1,crm-1
""",
}

STITCHED = {"Paid Search": 50.0, "Email": 50.0, "Social": 50.0}
RAW = {"(no touchpoint)": 100.0, "Social": 50.0}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("identity_files")
    paths = {}
    for table, text in FILES.items():
        paths[table] = folder / f"{table}.csv"
        paths[table].write_text(text)
    return paths


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, files: dict[str, Path]) -> str:
    """A store with the data; the tests only read it, so one serves the module."""
    path = str(tmp_path_factory.mktemp("identity_db") / "identity.duckdb")
    for table, file in files.items():
        assert main(["ingest", table, str(file), "--db", path]) == 0
    return path


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def report(capsys: Capture, *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "attribute", "--model", "linear", "--format", "json", *argv)
    assert (code, err) == (0, ""), err
    body: dict[str, Any] = json.loads(out)
    return body


def revenue(body: dict[str, Any]) -> dict[str, float]:
    return {row["channel"]: row["revenue"] for row in body["data"] if row["revenue"]}


def file_args(files: dict[str, Path]) -> tuple[str, ...]:
    return ("--touchpoints", str(files["touchpoints"]), "--conversions", str(files["conversions"]))


def test_attribute_store_stitches_identities(capsys: Capture, db: str) -> None:
    body = report(capsys, "--db", db)
    assert revenue(body) == STITCHED
    assert {k: body["identity"][k] for k in ("stitched", "ids", "persons", "merged_ids")} == {
        "stitched": True,
        "ids": 3,
        "persons": 1,
        "merged_ids": 2,
    }


def test_attribute_store_no_stitch(capsys: Capture, db: str) -> None:
    body = report(capsys, "--db", db, "--no-stitch")
    assert revenue(body) == RAW
    assert body["identity"]["stitched"] is False


def test_attribute_store_cap(capsys: Capture, db: str) -> None:
    body = report(capsys, "--db", db, "--max-identity-component", "2")
    assert revenue(body) == RAW
    assert body["identity"]["oversized_components"] == 1


def test_attribute_files_with_identities_equals_store(
    capsys: Capture, db: str, files: dict[str, Path]
) -> None:
    from_files = report(
        capsys, *file_args(files), "--identities", str(files["identities"]), "--currency", "USD"
    )
    assert from_files == report(capsys, "--db", db)
    assert revenue(from_files) == STITCHED


def test_attribute_files_without_identities_uses_raw_ids(
    capsys: Capture, files: dict[str, Path]
) -> None:
    body = report(capsys, *file_args(files))
    assert revenue(body) == RAW
    assert (body["identity"]["stitched"], body["identity"]["ids"]) == (True, 0)


def test_attribute_table_says_what_stitching_did(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "attribute", "--model", "linear", "--db", db)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == (
        "identity: 3 ids stitched into 1 person; 0 touchpoint and 1 conversion rows re-keyed"
    )
    code, out, _ = run(capsys, "attribute", "--model", "linear", "--db", db, "--no-stitch")
    assert out.splitlines()[-1] == (
        "identity: not stitched (--no-stitch): conversions credited by raw id"
    )


def test_attribute_csv_notes_oversized_components_on_stderr(capsys: Capture, db: str) -> None:
    code, out, err = run(
        capsys, "attribute", "--model", "linear", "--db", db, "--format", "csv",
        "--max-identity-component", "2",
    )  # fmt: skip
    assert code == 0
    assert out.startswith(
        "channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm\r\n"
    )
    assert err.startswith(
        "closedloop attribute: note: 1 identity component larger than 2 ids was left unmerged"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--identities", "ids.csv"),
            "--identities goes with --touchpoints and --conversions; in store mode the store's "
            "identities table is used (closedloop ingest identities FILE).",
        ),
        (
            ("--max-identity-component", "1"),
            "max_identity_component must be an integer >= 2 (a person needs two ids to merge). "
            "Got 1 instead.",
        ),
    ],
)
def test_attribute_identity_usage_errors(
    capsys: Capture, db: str, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "attribute", "--model", "linear", "--db", db, *argv)
    assert (code, out, err) == (2, "", f"closedloop attribute: error: {message}\n")


def test_attribute_identities_and_no_stitch_conflict(
    capsys: Capture, files: dict[str, Path]
) -> None:
    code, out, err = run(
        capsys, "attribute", "--model", "linear", *file_args(files),
        "--identities", str(files["identities"]), "--no-stitch",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        "closedloop attribute: error: Give either --identities or --no-stitch, not both.\n"
    )
