"""`benchmarks/run.py --quick` runs every case at 10k, the pipeline at 20k, and writes a report."""

from __future__ import annotations

import re
import runpy
import time
from pathlib import Path
from typing import Any

import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_quick_benchmark_writes_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = runpy.run_path(str(RUN), run_name="benchmarks_run")
    out = tmp_path / "BENCHMARKS.md"
    began = time.perf_counter()
    assert bench["main"](["--quick", "--only", "engine", "--out", str(out)]) == 0
    assert time.perf_counter() - began < 120  # ~10 s idle; room for a busy machine
    text = out.read_text()
    assert bench["MARKER"] in text
    assert "## 10k persons" in text
    assert "ChannelAttribution `markov_model`" not in text  # skipped in quick mode
    rows = [line for line in text.splitlines() if line.startswith("| ") and " | " in line]
    for name in (
        "build_journeys",
        "paths",
        "markov o1 attribute",
        "markov o3 chain",
        "shapley",
        "shapley_counterfactual",
        "linear",
        "bootstrap markov o1",
    ):
        row = next(line for line in rows if line.startswith(f"| {name} "))
        assert "failed" not in row, row
    assert "[10k] linear" in capsys.readouterr().err  # progress goes to stderr
    # A rerun keeps the hand-written text above the marker.
    out.write_text("# Mine\n\nhand-written\n\n" + bench["MARKER"] + text.split(bench["MARKER"])[1])
    assert bench["preface_of"](out) == "# Mine\n\nhand-written\n\n"
    assert bench["preface_of"](tmp_path / "absent.md") == bench["PREFACE"]
    # The pipeline section alone, appended below the engine's sections, which stay as they were.
    engine = out.read_text()
    began = time.perf_counter()
    assert bench["main"](["--quick", "--only", "pipeline", "--out", str(out)]) == 0
    assert time.perf_counter() - began < 180  # ~10 s idle: a dozen whole processes and a server
    text = out.read_text()
    assert text.startswith(engine.rstrip() + "\n\n## Pipeline (store → answer)\n")
    assert "### 20k touchpoints" in text
    pipeline = text.split("## Pipeline (store → answer)")[1]
    rows = [line for line in pipeline.splitlines() if line.startswith("| ")]
    for name in (
        "polars floor",
        "ingest touchpoints",
        "ingest, all three",
        "DuckDB INSERT touchpoints",
        "attribute markov",
        "attribute shapley",
        "attribute linear --ci 0.95",
        "`/v1/attribution?model=markov`",
        "`/v1/attribution?model=linear`",
    ):
        row = next(line for line in rows if line.startswith(f"| {name} "))
        assert "failed" not in row, row
        assert "capped" not in row, row
    assert "Ingest vs DuckDB's own load" in pipeline
    assert "Spark: skipped in quick mode" in pipeline
    assert str(tmp_path) not in pipeline.replace(str(out), "")  # no temp paths but --out
    # --only engine keeps the pipeline section.
    assert bench["split_report"](out)[1] == "## Pipeline (store → answer)" + pipeline


def test_quick_load_scenario_answers_every_request(tmp_path: Path) -> None:
    bench = runpy.run_path(str(RUN), run_name="benchmarks_run")
    out = tmp_path / "BENCHMARKS.md"
    assert bench["main"](["--quick", "--only", "load", "--out", str(out)]) == 0
    text = out.read_text()
    load = text.split("## Load (dashboard users)")[1]
    assert re.search(
        r"\*\*[\d,]+ requests in [\d.]+ s \([\d.,]+ requests/s\), 0 errors\.\*\*", load
    )
    for kind in ("`GET /v1/attribution`", "`GET /v1/funnel`", "`GET /`"):
        row = next(line for line in load.splitlines() if line.startswith(f"| {kind} "))
        assert row.split("|")[3].strip() == "0", row  # the errors column
    assert str(tmp_path) not in load.replace(str(out), "")


def test_targets_take_the_median_of_interleaved_runs(tmp_path: Path) -> None:
    pipeline = runpy.run_path(str(RUN.with_name("pipeline.py")), run_name="benchmarks_pipeline")
    log = tmp_path / "order.log"
    # Each command appends its letter and sleeps a different, known time.
    command = [
        "sh",
        "-c",
        'echo "$0" >> "$1"; [ "$0" = b ] && sleep 0.3; exit 0',
    ]
    rows: list[tuple[dict[str, Any], list[str]]] = [
        ({"name": name, "what": name, "seconds": first, "peak_kib": 1}, [*command, name, str(log)])
        for name, first in (("a", 9.0), ("b", 0.0))
    ]
    rows.append(({"name": "failed", "what": "x", "error": "boom"}, ["false"]))
    messages: list[str] = []
    pipeline["median_of_rounds"](rows, 60.0, "test", messages.append, rounds=3)
    a, b, failed = (row for row, _ in rows)
    assert log.read_text().split() == ["a", "b", "a", "b"]  # interleaved, failed case skipped
    assert len(a["runs_s"]) == len(b["runs_s"]) == 3
    assert a["seconds"] == sorted(a["runs_s"])[1] < 0.3 <= b["seconds"] < 9.0
    assert "median of 3 interleaved runs" in a["what"]
    assert "runs_s" not in failed
    assert len(messages) == 2
