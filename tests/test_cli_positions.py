"""``closedloop attribute --model shapley_ordered --positions``: the position × channel table.

The data (tests/test_cli.py), closed_won: u1 Email > Search converts for 100 (Email first,
Search second, ½ each); u2 Search converts for 50 (Search first).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import Capture, run
from tests.test_cli import files as files  # the fixture: the example CSV files


def test_positions_table_csv_and_json(capsys: Capture, files: dict[str, Path]) -> None:
    inputs = ("--touchpoints", str(files["touchpoints"]), "--conversions",
              str(files["conversions"]), "--stage", "closed_won")  # fmt: skip
    code, out, err = run(capsys, "attribute", "--model", "shapley_ordered", "--positions", *inputs)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        "shapley_ordered credit by position (first_visit: the i-th distinct channel visited) "
        "and channel"
    )
    rows = [[c.strip(" │") for c in line.split("┆")] for line in lines if "┆" in line]
    # conversions, then revenue: columns by most credit (Search 1.5, Email 0.5).
    assert rows[0] == ["position", "Search", "Email", "total"]
    assert rows[1] == ["1", "1.0", "0.5", "1.5"]
    assert rows[2] == ["2", "0.5", "0.0", "0.5"]
    assert rows[4] == ["1", "50.00", "50.00", "100.00"]
    code, out, _ = run(capsys, "attribute", "--model", "shapley_ordered", "--positions",
                       "--format", "csv", *inputs)  # fmt: skip
    assert out.splitlines() == [
        "position,channel,conversions,revenue",
        "1,Email,0.5,50.0",
        "1,Search,1.0,50.0",
        "2,Search,0.5,50.0",
    ]
    code, out, _ = run(capsys, "attribute", "--model", "shapley_ordered", "--format", "json",
                       *inputs)  # fmt: skip
    assert json.loads(out)["positions"]["max_position"] == 5


def test_positions_needs_shapley_ordered(capsys: Capture, files: dict[str, Path]) -> None:
    code, _, err = run(capsys, "attribute", "--model", "linear", "--positions",
                       "--touchpoints", str(files["touchpoints"]),
                       "--conversions", str(files["conversions"]))  # fmt: skip
    assert code == 2
    assert "Only shapley_ordered splits credit by position; got linear" in err
