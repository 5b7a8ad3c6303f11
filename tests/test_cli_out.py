"""``--out FILE``: every command that prints a result writes it to a file, its suffix the format."""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

import polars as pl
import pytest

from api.cli import build_parser, main
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV, Capture, run

NO_RESULT = {
    "ingest": "prints an ingest summary",
    "serve": "serves the API",
    "report": "writes an HTML file (its own --out)",
    "export": "writes a Parquet lake (its own --out DIR)",
    "materialize": "writes the mart tables into the store (and files with its own --out DIR)",
    "import": "loads a lake into the store",
    "delete": "deletes a person",
    "keys revoke": "revokes a key",
    "channels rules": "prints the rules file to copy and edit",
}
"""Commands that print no result table, and what they do instead."""


def _parsers(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every command and subcommand parser, by its words (``budget``, ``keys list``)."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = f"{prefix} {name}".strip()
                nested = _parsers(sub, words)
                found.update(nested or {words: sub})
    return found


COMMAND_PARSERS = _parsers(build_parser())


@pytest.mark.parametrize("command", sorted(COMMAND_PARSERS))
def test_every_command_that_prints_a_result_takes_out(command: str) -> None:
    options = {o for a in COMMAND_PARSERS[command]._actions for o in a.option_strings}
    if command in NO_RESULT:
        return
    # A new command prints its result with add_format_option + write_result (or write_output).
    assert {"--format", "--out"} <= options, f"{command} prints a result: give it --out"
    out = next(a for a in COMMAND_PARSERS[command]._actions if "--out" in a.option_strings)
    assert out.dest == "format"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with the CLI tests' example data, ingested once (the tests only read it)."""
    folder = tmp_path_factory.mktemp("out")
    path = str(folder / "out.duckdb")
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        file = folder / f"{table}.csv"
        file.write_text(text)
        assert main(["ingest", table, str(file), "--db", path]) == 0
    return path


ATTRIBUTE = ("attribute", "--model", "first_touch", "--stage", "closed_won")


def test_out_parquet(capsys: Capture, db: str, tmp_path: Path) -> None:
    target = tmp_path / "credit.parquet"
    code, out, err = run(capsys, *ATTRIBUTE, "--db", db, "--out", str(target))
    assert code == 0, err
    assert out == ""
    assert err.splitlines()[0] == f"wrote 3 rows to {target}"
    frame = pl.read_parquet(target)
    # u1 (Email first) buys 100, u2 (Search) 50; u3 (Social) touched and spent, never bought.
    assert dict(zip(frame["channel"], frame["revenue"], strict=True)) == {
        "Email": 100.0,
        "Search": 50.0,
        "Social": 0.0,
    }
    assert frame.schema["revenue"] == pl.Float64


def test_out_csv_is_the_csv_output(capsys: Capture, db: str, tmp_path: Path) -> None:
    target = tmp_path / "credit.csv"
    _, printed, _ = run(capsys, *ATTRIBUTE, "--db", db, "--format", "csv")
    code, out, err = run(capsys, *ATTRIBUTE, "--db", db, "--out", str(target))
    assert code == 0, err
    assert out == ""
    assert target.read_bytes() == printed.encode()
    assert pl.read_csv(target)["conversions"].sum() == 2.0
    assert f"wrote 3 rows to {target}" in err


def test_out_json_is_the_json_body(capsys: Capture, db: str, tmp_path: Path) -> None:
    target = tmp_path / "compare.json"
    argv = ("compare", "--models", "first_touch,linear", "--stage", "closed_won", "--db", db)
    _, printed, _ = run(capsys, *argv, "--format", "json")
    code, out, err = run(capsys, *argv, "--out", str(target))
    assert code == 0, err
    assert out == ""
    assert json.loads(target.read_text()) == json.loads(printed)
    assert f"wrote 3 rows to {target}" in err


def test_out_compare_parquet_has_the_change_columns(
    capsys: Capture, db: str, tmp_path: Path
) -> None:
    target = tmp_path / "compare.parquet"
    code, _, err = run(capsys, "compare", "--models", "first_touch,last_touch", "--stage",
                       "closed_won", "--db", db, "--out", str(target))  # fmt: skip
    assert code == 0, err
    frame = pl.read_parquet(target).filter(pl.col("channel") == "Search")
    assert frame["last_touch_revenue_change"].to_list() == [pytest.approx(2.0)]


def test_out_json_of_a_listing(capsys: Capture, tmp_path: Path) -> None:
    target = tmp_path / "models.json"
    code, out, err = run(capsys, "models", "--out", str(target))
    assert code == 0, err
    assert out == ""
    names = [m["name"] for m in json.loads(target.read_text())]
    assert "linear" in names
    assert f"wrote {len(names)} rows to {target}" in err


def test_out_funnel_parquet(capsys: Capture, db: str, tmp_path: Path) -> None:
    target = tmp_path / "funnel.parquet"
    code, out, err = run(capsys, "funnel", "--by", "channel", "--db", db, "--out", str(target))
    assert code == 0, err
    assert out == ""
    assert pl.read_parquet(target).height >= 1


def test_out_replaces_a_file_and_leaves_no_temporary(
    capsys: Capture, db: str, tmp_path: Path
) -> None:
    target = tmp_path / "credit.csv"
    target.write_text("old")
    code, _, err = run(capsys, *ATTRIBUTE, "--db", db, "--out", str(target))
    assert code == 0, err
    assert target.read_text().startswith("channel,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credit.csv"]


@pytest.mark.parametrize(
    ("command", "name", "suffixes"),
    [
        (ATTRIBUTE, "credit.xlsx", "end it in .csv, .json or .parquet"),
        (("models",), "models.csv", "end it in .json (.parquet"),
        (ATTRIBUTE, "credit", "end it in .csv, .json or .parquet"),
    ],
)
def test_out_unknown_suffix_is_a_usage_error(
    capsys: Capture, tmp_path: Path, command: tuple[str, ...], name: str, suffixes: str
) -> None:
    code, out, err = run(capsys, *command, "--out", str(tmp_path / name))
    assert code == 2
    assert out == ""
    assert "usage: closedloop" in err
    assert f"argument --out: cannot tell the format of '{tmp_path / name}': {suffixes}" in err


def test_out_into_a_missing_folder(capsys: Capture, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "credit.csv"
    code, out, err = run(capsys, *ATTRIBUTE, "--out", str(target))
    assert code == 2
    assert out == ""
    assert f"folder '{target.parent}' does not exist; create it first" in err


def test_out_onto_a_folder(capsys: Capture, tmp_path: Path) -> None:
    folder = tmp_path / "taken.csv"
    folder.mkdir()
    code, _, err = run(capsys, *ATTRIBUTE, "--out", str(folder))
    assert code == 2
    assert "it is a folder" in err


def test_out_write_failure_is_a_clear_error(
    capsys: Capture, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    target = tmp_path / "credit.csv"
    code, out, err = run(capsys, *ATTRIBUTE, "--db", db, "--out", str(target))
    assert code == 2
    assert out == ""
    assert err == (
        f"closedloop attribute: error: Cannot write --out {target}: No space left on device. "
        "Give a path in a folder you can write.\n"
    )
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


@pytest.mark.parametrize("order", ["format first", "out first"])
def test_out_and_format_must_agree(capsys: Capture, tmp_path: Path, order: str) -> None:
    target = str(tmp_path / "credit.csv")
    pair = ["--format", "json", "--out", target]
    if order == "out first":
        pair = pair[2:] + pair[:2]
    code, _, err = run(capsys, *ATTRIBUTE, *pair)
    assert code == 2
    assert f"--format json and --out {target} disagree: the suffix of --out picks" in err


def test_out_and_the_same_format(capsys: Capture, db: str, tmp_path: Path) -> None:
    target = tmp_path / "credit.csv"
    code, _, err = run(capsys, *ATTRIBUTE, "--db", db, "--format", "csv", "--out", str(target))
    assert code == 0, err
    assert pl.read_csv(io.BytesIO(target.read_bytes())).height == 3


def test_out_of_an_answer_without_rows(capsys: Capture, db: str, tmp_path: Path) -> None:
    code, out, err = run(capsys, "attribute", "--model", "markov", "--explain", "--db", db,
                         "--out", str(tmp_path / "chain.parquet"))  # fmt: skip
    assert code == 2
    assert out == ""
    assert (
        "--explain prints a table or JSON: use --format table or json (or --out FILE.json)" in err
    )
    code, _, err = run(capsys, "attribute", "--model", "markov", "--explain", "--db", db,
                       "--out", str(tmp_path / "chain.json"))  # fmt: skip
    assert code == 0, err
    assert "removal_effects" in json.loads((tmp_path / "chain.json").read_text())
