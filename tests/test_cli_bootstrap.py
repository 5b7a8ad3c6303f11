"""``closedloop attribute --ci 0.95 [--bootstrap N] [--seed N]``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from api.cli import main
from attribution.report import INTERVAL_COLUMNS

Capture = pytest.CaptureFixture[str]

TOUCHPOINTS_CSV = """\
touchpoint_id,user_id,ts,channel
t1,u1,2024-01-01T10:00:00Z,Email
t2,u1,2024-01-05T10:00:00Z,Search
t3,u2,2024-01-03T10:00:00Z,Search
t4,u3,2024-01-04T10:00:00Z,Social
t5,u4,2024-01-04T10:00:00Z,Email
"""

CONVERSIONS_CSV = """\
conversion_id,user_id,ts,stage,revenue
c1,u1,2024-01-10T00:00:00Z,closed_won,100
c2,u2,2024-01-06T00:00:00Z,closed_won,50
c4,u4,2024-01-06T00:00:00Z,closed_won,80
"""

COSTS_CSV = """\
date,channel,spend
2024-01-01,Email,10
2024-01-02,Search,40
2024-01-04,Social,5
"""


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    paths = []
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        path = tmp_path / f"{table}.csv"
        path.write_text(text)
        paths += [f"--{table}", str(path)]
    return paths


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["attribute", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_attribute_ci_json(capsys: Capture, files: list[str]) -> None:
    argv = ("--model", "linear", *files, "--ci", "0.9", "--bootstrap", "20", "--seed", "4")
    code, out, err = run(capsys, *argv, "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["uncertainty"] == {
        "method": "person-level bootstrap, percentile interval",
        "ci": 0.9,
        "bootstrap": 20,
        "seed": 4,
    }
    assert report["params"] == {}
    for row in report["data"]:
        assert row["conversions_low"] <= row["conversions"] <= row["conversions_high"]
    _, again, _ = run(capsys, *argv, "--format", "json")
    assert json.loads(again) == report


def test_attribute_ci_csv_and_table(capsys: Capture, files: list[str]) -> None:
    code, out, _ = run(capsys, "--model", "markov", *files, "--ci", "0.95", "--format", "csv")
    assert code == 0
    assert next(csv.reader(io.StringIO(out)))[-6:] == list(INTERVAL_COLUMNS)
    code, out, _ = run(capsys, "--model", "markov", *files, "--ci", "0.95")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("windows 90-day click / 1-day view")  # then the intervals
    assert (
        lines[2]
        == "95% intervals: person-level bootstrap, percentile interval, 200 resamples, seed 0"
    )
    assert "roas_high" in out


def test_attribute_without_ci_has_no_intervals(capsys: Capture, files: list[str]) -> None:
    code, out, _ = run(capsys, "--model", "linear", *files, "--format", "json")
    assert code == 0
    assert json.loads(out)["uncertainty"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--ci", "95"],
            "closedloop attribute: error: The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). "
            "Got 95.0 instead.\n",
        ),
        (
            ["--ci", "0.95", "--bootstrap", "5"],
            "closedloop attribute: error: The 'bootstrap' parameter must be an integer >= 10. "
            "Got 5 instead.\n",
        ),
    ],
)
def test_attribute_bad_ci(
    capsys: Capture, files: list[str], extra: list[str], message: str
) -> None:
    assert run(capsys, "--model", "linear", *files, *extra) == (2, "", message)


def test_attribute_ci_progress_on_a_terminal(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, files: list[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    code = main(["attribute", "--model", "markov", *files, "--ci", "0.9", "--bootstrap", "10"])
    assert code == 0
    shown = terminal.getvalue()
    assert "\rbootstrap: 10 of 10 resamples (100%), " in shown
    assert shown.endswith(" resamples/s\n")


def test_attribute_ci_no_progress_when_not_a_terminal(capsys: Capture, files: list[str]) -> None:
    code, _, err = run(capsys, "--model", "linear", *files, "--ci", "0.9", "--bootstrap", "10")
    assert (code, err) == (0, "")
