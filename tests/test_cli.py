"""The ``closedloop`` command line: every command, its output and its exit status."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.cli._shared import Progress
from attribution import available_models
from attribution.errors import StoreBusyError
from ingest import Store

TOUCHPOINTS_CSV = """\
touchpoint_id,user_id,ts,channel,campaign
t1,u1,2024-01-01T10:00:00Z,Email,newsletter
t2,u1,2024-01-05T10:00:00Z,Search,brand
t3,u2,2024-01-03T10:00:00Z,Search,generic
t4,u3,2024-01-04T10:00:00Z,Social,prospecting
"""

CONVERSIONS_CSV = """\
conversion_id,user_id,ts,stage,revenue
c1,u1,2024-01-10T00:00:00Z,closed_won,100
c2,u2,2024-01-06T00:00:00Z,closed_won,50
l1,u1,2024-01-02T00:00:00Z,lead,0
"""

COSTS_CSV = """\
date,channel,campaign,spend
2024-01-01,Email,newsletter,10
2024-01-02,Search,brand,20
2024-01-03,Search,generic,20
2024-01-04,Social,prospecting,5
"""

BAD_TOUCHPOINTS_CSV = """\
touchpoint_id,user_id,ts,channel
t9,u9,yesterday,Email
t10,,2024-01-01,Email
t11,u1,2024-01-02,Email
"""

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "data"
    folder.mkdir()
    paths = {}
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        paths[table] = folder / f"{table}.csv"
        paths[table].write_text(text)
    return paths


@pytest.fixture
def db(tmp_path: Path, files: dict[str, Path]) -> str:
    """A store with the example data, ingested through the CLI."""
    path = str(tmp_path / "cli.duckdb")
    for table, file in files.items():
        assert main(["ingest", table, str(file), "--db", path]) == 0
    return path


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest(capsys: Capture, tmp_path: Path, files: dict[str, Path]) -> None:
    db = str(tmp_path / "new.duckdb")
    code, out, err = run(capsys, "ingest", "touchpoints", str(files["touchpoints"]), "--db", db)
    assert code == 0
    assert out.startswith(
        "touchpoints: 4 rows read from 1 file — 4 inserted, 0 updated, 0 unchanged, 0 rejected ("
    )
    assert err == ""
    assert Store(db).counts()["touchpoints"] == 4


def test_ingest_again_changes_nothing(capsys: Capture, db: str, files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "ingest", "costs", str(files["costs"]), "--db", db)
    assert code == 0
    assert "0 inserted, 0 updated, 4 unchanged, 0 rejected" in out


def test_ingest_db_from_environment(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, files: dict[str, Path]
) -> None:
    monkeypatch.setenv("CLOSEDLOOP_DB", str(tmp_path / "env.duckdb"))
    assert run(capsys, "ingest", "costs", str(files["costs"]))[0] == 0
    assert Store(tmp_path / "env.duckdb").counts()["costs"] == 4


def test_ingest_with_map_and_mapping_file(capsys: Capture, tmp_path: Path) -> None:
    theirs = tmp_path / "events.csv"
    theirs.write_text(TOUCHPOINTS_CSV.replace("user_id", "cookie").replace(",ts,", ",time,"))
    mapping = tmp_path / "map.toml"
    mapping.write_text('[touchpoints]\nts = "time"\n')
    db = str(tmp_path / "m.duckdb")
    code, out, err = run(
        capsys,
        "ingest",
        "touchpoints",
        str(theirs),
        "--db",
        db,
        "--map",
        "user_id=cookie",
        "--mapping",
        str(mapping),
    )
    assert (code, err) == (0, "")
    assert "4 inserted" in out


def test_ingest_validation_failed(capsys: Capture, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_TOUCHPOINTS_CSV)
    db = str(tmp_path / "bad.duckdb")
    code, out, err = run(capsys, "ingest", "touchpoints", str(bad), "--db", db)
    assert code == 2
    assert out == ""
    assert err == (
        "closedloop ingest: 2 problem(s) found; nothing was written.\n"
        "bad.csv row 1, field 'ts': expected an ISO 8601 timestamp, a date or epoch "
        "seconds/milliseconds, got 'yesterday'\n"
        "bad.csv row 2, field 'user_id': required value is missing\n"
    )
    assert Store(db).counts()["touchpoints"] == 0


def test_ingest_validation_lists_first_50(capsys: Capture, tmp_path: Path) -> None:
    bad = tmp_path / "many.csv"
    rows = "".join(f"t{i},u{i},never,Email\n" for i in range(60))
    bad.write_text("touchpoint_id,user_id,ts,channel\n" + rows)
    code, _, err = run(capsys, "ingest", "touchpoints", str(bad), "--db", str(tmp_path / "x.db"))
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "closedloop ingest: 60 problem(s) found; nothing was written."
    assert len(lines) == 1 + 50 + 1
    assert lines[-1] == "... and 10 more."


def test_ingest_skip_invalid(capsys: Capture, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_TOUCHPOINTS_CSV)
    rejects = tmp_path / "out" / "rejects.csv"
    db = str(tmp_path / "skip.duckdb")
    code, out, _ = run(
        capsys,
        "ingest",
        "touchpoints",
        str(bad),
        "--db",
        db,
        "--skip-invalid",
        "--rejects",
        str(rejects),
    )
    assert code == 0
    assert "1 inserted, 0 updated, 0 unchanged, 2 rejected" in out
    assert f"rejected rows written to {rejects}" in out
    assert (
        rejects.read_text().splitlines()[0] == "touchpoint_id,user_id,ts,channel,_file,_row,_reason"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["ingest", "touchpoints", "missing.csv"],
            "closedloop ingest: error: Cannot read 'missing.csv': no such file (missing.csv).\n",
        ),
        (
            ["ingest", "touchpoints", "costs.xlsx"],
            "closedloop ingest: error: Cannot read 'costs.xlsx': unsupported file type '.xlsx'. "
            "Supported: .csv, .csv.gz, .json, .json.gz, .jsonl, .jsonl.gz, .ndjson, .ndjson.gz, "
            ".parquet, .tsv, .tsv.gz.\n",
        ),
        (
            ["ingest", "touchpoints", "t.csv", "--map", "user_id"],
            "closedloop ingest: error: Bad --map 'user_id': expected <canonical column>=<your "
            "column>, e.g. --map ts=event_time.\n",
        ),
    ],
)
def test_ingest_bad_input(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text(TOUCHPOINTS_CSV)
    code, out, err = run(capsys, *argv, "--db", "x.duckdb")
    assert (code, out, err) == (2, "", message)


def test_ingest_unknown_table(capsys: Capture) -> None:
    code, _, err = run(capsys, "ingest", "deals", "deals.csv")
    assert code == 2
    assert err.endswith(
        "closedloop ingest: error: argument table: invalid choice: 'deals' (choose from "
        "'touchpoints', 'conversions', 'costs', 'identities', 'accounts', 'lift_tests')\n"
    )


def test_ingest_store_busy(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]
) -> None:
    message = "The store 'x.duckdb' is locked by another process (pid 42)."

    def busy(*args: Any, **kwargs: Any) -> Store:
        raise StoreBusyError(message)

    monkeypatch.setattr("ingest.store.Store", busy)
    code, _, err = run(capsys, "ingest", "costs", str(files["costs"]))
    assert (code, err) == (1, f"closedloop ingest: error: {message}\n")


def test_ingest_progress_on_a_terminal(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, files: dict[str, Path]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["ingest", "costs", str(files["costs"]), "--db", str(tmp_path / "p.db")]) == 0
    shown = terminal.getvalue()
    assert shown.startswith("\ringest costs: 4 of 4 rows (100%), ")
    assert shown.endswith(" rows/s\n")


def test_progress_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, "ingest touchpoints")
    progress(1_000, 4_000)
    progress.close()
    assert stream.getvalue().startswith("\ringest touchpoints: 1,000 of 4,000 rows (25%), ")
    assert stream.getvalue().endswith(" rows/s\n")


def test_attribute_table(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "attribute", "--model", "linear", "--db", db)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "stage closed_won · by channel · 2024-01-01 to 2024-01-10" in lines[0]
    assert "lookback 90.0 days · USD" in lines[0]
    body = "\n".join(lines[1:])
    for cells in (
        ("Search", "1.5", "$100.00", "$40.00", "2.50", "150.0%", "$26.67"),
        ("Email", "0.5", "$50.00", "$10.00", "5.00", "400.0%", "$20.00"),
        ("Social", "0.0", "$0.00", "$5.00", "0.00", "-100.0%", "—"),
        ("TOTAL", "2.0", "$150.00", "$55.00"),
    ):
        row = next(line for line in body.splitlines() if f" {cells[0]} " in line)
        assert [c.strip() for c in row.strip("│ ").split("┆")][: len(cells)] == list(cells)


def test_attribute_json(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys,
        "attribute",
        "--model",
        "time_decay",
        "--param",
        "half_life_days=3",
        "--by",
        "campaign",
        "--db",
        db,
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)
    assert report["model"] == "time_decay"
    assert report["params"] == {"half_life_days": 3.0}
    assert report["by"] == "campaign"
    assert report["currency"] == "USD"
    assert {row["campaign"] for row in report["data"]} == {
        "newsletter",
        "brand",
        "generic",
        "prospecting",
    }
    assert sum(row["revenue"] for row in report["data"]) == pytest.approx(150.0)
    assert out.startswith('{\n  "model": "time_decay",')


def test_attribute_csv(capsys: Capture, db: str) -> None:
    code, out, _ = run(capsys, "attribute", "--model", "first_touch", "--db", db, "--format", "csv")
    assert code == 0
    assert out == (
        "channel,conversions,revenue,spend,roas,roi,cpa,impressions,clicks,ctr,cpc,cpm\r\n"
        "Email,1.0,100.0,10.0,10.0,9.0,10.0,,,,,\r\n"
        "Search,1.0,50.0,40.0,1.25,0.25,40.0,,,,,\r\n"
        "Social,0.0,0.0,5.0,0.0,-1.0,,,,,,\r\n"
    )


def test_attribute_period_and_stage(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys,
        "attribute",
        "--model",
        "linear",
        "--start",
        "2024-01-07",
        "--end",
        "2024-01-31",
        "--lookback-days",
        "30",
        "--stage",
        "closed_won",
        "--db",
        db,
        "--format",
        "json",
    )
    assert code == 0
    report = json.loads(out)
    assert (report["start"], report["end"], report["lookback_days"]) == (
        "2024-01-07",
        "2024-01-31",
        30.0,
    )
    assert report["totals"]["revenue"] == 100.0


def test_attribute_from_files(capsys: Capture, db: str, files: dict[str, Path]) -> None:
    from_store = run(capsys, "attribute", "--model", "linear", "--db", db, "--format", "json")
    from_files = run(
        capsys,
        "attribute",
        "--model",
        "linear",
        "--touchpoints",
        str(files["touchpoints"]),
        "--conversions",
        str(files["conversions"]),
        "--costs",
        str(files["costs"]),
        "--currency",
        "usd",
        "--format",
        "json",
    )
    assert from_files == from_store
    # Files do not say what their money is in: without --currency, the report does not either.
    unnamed = run(
        capsys,
        "attribute",
        "--model",
        "linear",
        "--touchpoints",
        str(files["touchpoints"]),
        "--conversions",
        str(files["conversions"]),
        "--format",
        "json",
    )
    assert json.loads(unnamed[1])["currency"] is None


def test_attribute_from_files_with_map(
    capsys: Capture, tmp_path: Path, files: dict[str, Path]
) -> None:
    theirs = tmp_path / "events.csv"
    theirs.write_text(TOUCHPOINTS_CSV.replace(",ts,", ",time,"))
    code, out, err = run(
        capsys,
        "attribute",
        "--model",
        "last_touch",
        "--touchpoints",
        str(theirs),
        "--conversions",
        str(files["conversions"]),
        "--map",
        "ts=time",
        "--format",
        "json",
    )
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["totals"]["revenue"] == 150.0
    assert report["totals"]["spend"] is None


def test_attribute_from_invalid_file(
    capsys: Capture, tmp_path: Path, files: dict[str, Path]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_TOUCHPOINTS_CSV)
    code, out, err = run(
        capsys,
        "attribute",
        "--model",
        "linear",
        "--touchpoints",
        str(bad),
        "--conversions",
        str(files["conversions"]),
    )
    assert (code, out) == (2, "")
    assert err.splitlines()[1:] == [
        "bad.csv row 1, field 'ts': expected an ISO 8601 timestamp, a date or epoch "
        "seconds/milliseconds, got 'yesterday'",
        "bad.csv row 2, field 'user_id': required value is missing",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--model", "linaer"],
            "closedloop attribute: error: Unknown model 'linaer'. Available models: "
            f"{', '.join(available_models())}. Did you mean 'linear'?\n",
        ),
        (
            ["--model", "time_decay", "--param", "half_life_days=soon"],
            "closedloop attribute: error: The 'half_life_days' parameter of model 'time_decay' "
            "must be a number. Got 'soon' instead.\n",
        ),
        (
            ["--model", "time_decay", "--param", "half_life=3"],
            "closedloop attribute: error: Unknown parameter(s) for model 'time_decay': "
            "half_life. Accepted: half_life_days.\n",
        ),
        (
            ["--model", "time_decay", "--param", "half_life_days"],
            "closedloop attribute: error: Bad --param 'half_life_days': expected name=value, "
            "e.g. --param half_life_days=3.\n",
        ),
        (
            ["--model", "linear", "--stage", "closed_lost"],
            "closedloop attribute: error: No conversion has stage 'closed_lost'. "
            "Stages present: closed_won, lead.\n",
        ),
        (
            ["--model", "linear", "--start", "2024-02-01", "--end", "2024-01-01"],
            "closedloop attribute: error: start (2024-02-01) is after end (2024-01-01); "
            "the period is inclusive at both ends.\n",
        ),
        (
            ["--model", "linear", "--lookback-days", "-1"],
            "closedloop attribute: error: lookback_days must be > 0 and at most 36500 days. "
            "Got -1.0 instead.\n",
        ),
        (
            ["--model", "linear", "--touchpoints", "t.csv"],
            "closedloop attribute: error: Attributing from files needs both --touchpoints and "
            "--conversions (--costs is optional).\n",
        ),
        (
            ["--model", "linear", "--costs", "c.csv"],
            "closedloop attribute: error: --costs goes with --touchpoints and --conversions.\n",
        ),
    ],
)
def test_attribute_bad_input(capsys: Capture, db: str, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "attribute", *argv, "--db", db)
    assert (code, out, err) == (2, "", message)


def test_attribute_files_and_db(capsys: Capture, files: dict[str, Path]) -> None:
    code, _, err = run(
        capsys,
        "attribute",
        "--model",
        "linear",
        "--touchpoints",
        str(files["touchpoints"]),
        "--conversions",
        str(files["conversions"]),
        "--db",
        "x.duckdb",
    )
    assert code == 2
    assert err == (
        "closedloop attribute: error: Give either --db (attribute what the store holds) or "
        "--touchpoints and --conversions (attribute files), not both.\n"
    )


def test_attribute_bad_date_is_a_usage_error(capsys: Capture) -> None:
    code, _, err = run(capsys, "attribute", "--model", "linear", "--start", "2024-13-01")
    assert code == 2
    assert err.endswith(
        "closedloop attribute: error: argument --start: expected a date YYYY-MM-DD, "
        "got '2024-13-01'\n"
    )
    assert "Traceback" not in err


def test_attribute_needs_a_model(capsys: Capture) -> None:
    code, _, err = run(capsys, "attribute")
    assert code == 2
    assert err.endswith(
        "closedloop attribute: error: the following arguments are required: --model\n"
    )


def test_attribute_empty_store(capsys: Capture, tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    code, _, err = run(capsys, "attribute", "--model", "linear", "--db", str(db))
    assert code == 2
    assert err == (
        "closedloop attribute: error: There are no conversions to attribute: "
        f"the store '{db.name}' holds none. Ingest them first: closedloop ingest conversions FILE, "
        "or POST /v1/ingest/conversions.\n"
    )


def test_models_table(capsys: Capture) -> None:
    code, out, _ = run(capsys, "models")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == available_models()
    assert any(
        line.split() == ["half_life_days:", "float", "=", "7.0", *line.split()[4:]]
        for line in lines
    )


def test_models_json(capsys: Capture) -> None:
    code, out, _ = run(capsys, "models", "--format", "json")
    assert code == 0
    models = json.loads(out)
    assert [m["name"] for m in models] == available_models()
    decay = next(m for m in models if m["name"] == "time_decay")
    assert decay["params"][0]["name"] == "half_life_days"
    assert decay["params"][0]["default"] == 7.0


def test_serve(capsys: Capture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr("uvicorn.run", fake_run)
    db = tmp_path / "serve.duckdb"
    code, out, _ = run(capsys, "serve", "--db", str(db), "--host", "0.0.0.0", "--port", "8123")
    assert code == 0
    assert out == (
        "closedloop API on http://0.0.0.0:8123 — docs at http://0.0.0.0:8123/docs\n"
        "dashboard at http://0.0.0.0:8123/\n"
    )
    assert calls[0]["host"] == "0.0.0.0"
    assert calls[0]["port"] == 8123
    settings = next(iter(calls[0]["app"].dependency_overrides.values()))()
    assert settings.db_path == db
    assert db.exists()


def test_no_command(capsys: Capture) -> None:
    code, out, err = run(capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("usage: closedloop")


def test_help(capsys: Capture) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "attribute" in out


def test_unexpected_error(capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[str]:
        raise RuntimeError("boom")

    monkeypatch.setattr("attribution.available_models", broken)
    code, _, err = run(capsys, "models")
    assert code == 1
    assert "RuntimeError: boom" in err
    assert err.endswith(
        "closedloop models: unexpected error (a bug in closedloop); please report it with the "
        "traceback above.\n"
    )
