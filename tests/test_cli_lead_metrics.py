"""``closedloop attribute`` with ``--stage-values`` and ``--other-costs``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV, Capture, run

OTHER_COSTS_CSV = """\
date,spend,campaign
2024-01-05,45,SDR salaries
2023-06-01,999,before the period
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    texts = {"touchpoints": TOUCHPOINTS_CSV, "conversions": CONVERSIONS_CSV, "costs": COSTS_CSV}
    for table, text in texts.items():
        (tmp_path / f"{table}.csv").write_text(text)
    return {table: tmp_path / f"{table}.csv" for table in texts}


def attribute_files(capsys: Capture, files: dict[str, Path], *extra: str) -> dict[str, Any]:
    code, out, err = run(
        capsys,
        "attribute",
        "--model",
        "first_touch",
        "--touchpoints",
        str(files["touchpoints"]),
        "--conversions",
        str(files["conversions"]),
        "--costs",
        str(files["costs"]),
        "--format",
        "json",
        *extra,
    )
    assert code == 0, err
    body: dict[str, Any] = json.loads(out)
    return body


def test_other_costs_count_in_cac(
    capsys: Capture,
    files: dict[str, Path],
    tmp_path: Path,
) -> None:
    other = tmp_path / "sales.csv"
    other.write_text(OTHER_COSTS_CSV)
    body = attribute_files(capsys, files, "--other-costs", str(other))
    totals = body["totals"]
    assert totals["spend"] == 55.0  # media: 10 + 20 + 20 + 5
    assert totals["other_costs"] == 45.0  # the 2023 row is outside the period
    assert totals["cac"] == pytest.approx((55.0 + 45.0) / 2)  # two customers
    assert "(sales)" not in {row["channel"] for row in body["data"]}


def test_stage_values_on_the_command_line(
    capsys: Capture,
    files: dict[str, Path],
) -> None:
    body = attribute_files(capsys, files, "--stage", "lead", "--stage-values", "lead=40")
    email = next(row for row in body["data"] if row["channel"] == "Email")
    assert (email["value"], email["cpl"], email["roas"]) == (40.0, 10.0, 4.0)


def test_other_costs_need_files(capsys: Capture, tmp_path: Path) -> None:
    code = main(["attribute", "--model", "linear", "--other-costs", "x.csv"])
    assert code == 2
    assert "--other-costs goes with --touchpoints and --conversions" in capsys.readouterr().err
