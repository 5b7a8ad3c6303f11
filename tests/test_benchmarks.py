"""`benchmarks/run.py --quick` runs every case at 10k, the pipeline at 20k, and writes a report.

The load test's simulated dashboard user is held to the page: it asks exactly
the routes ``api/static`` fetches, builds its queries as ``state.js`` does (run
under Node), and loading a view makes the same requests, queries included, as
headless Chromium loading the page (both read from the server's access log).
"""

from __future__ import annotations

import asyncio
import json
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
STATIC = ROOT / "api" / "static"


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
    for kind in ("`GET /v1/attribution`", "`GET /v1/funnel`", "`POST /v1/budget/plan`", "`GET /`"):
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


FETCHED = re.compile(
    r"\b(?:get|getAll|authFetch)\((?:S\.url\()?\"(/[^\"?]+)\"(?:\)?,\s*\{\s*method:\s*\"(\w+)\")?"
)
"""A request in the page's scripts: ``get("/v1/…"``, ``getAll(…)``, ``authFetch("/v1/…", {
method: "POST"`` or ``authFetch(S.url("/dashboard/…"``; CSV links (``csvURL``) are not fetched."""


def page_requests() -> set[str]:
    """Every ``METHOD path`` the dashboard asks for: the page, its scripts, their fetches."""
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\s+src=\"([^\"]+)\"", html)
    asked = {"GET /", *(f"GET {src}" for src in scripts)}
    for src in scripts:
        if src.startswith("/static/") and "/vendor/" not in src:
            code = (STATIC / src.removeprefix("/static/")).read_text(encoding="utf-8")
            asked |= {f"{method or 'GET'} {path}" for path, method in FETCHED.findall(code)}
    return asked


def test_page_requests_are_read_from_the_page() -> None:
    asked = page_requests()
    # The routes named in docs/dashboard.md and budget.js, read out of the scripts.
    for request in (
        "GET /static/state.js",
        "GET /static/vendor/vega.min.js",
        "GET /v1/models",
        "GET /v1/attribution",
        "GET /v1/compare",
        "GET /v1/paths",
        "POST /v1/budget/plan",
        "POST /v1/budget/whatif",
        "GET /dashboard/charts.json",
    ):
        assert request in asked
    assert "GET /v1/budget/plan" not in asked


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the example touchpoints, conversions and costs."""
    from ingest import Store, ingest_files

    db = tmp_path_factory.mktemp("load") / "store.duckdb"
    store = Store(db)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    return db


@pytest.fixture(scope="module")
def load() -> dict[str, Any]:
    """The globals of ``benchmarks/load.py``."""
    return runpy.run_path(str(ROOT / "benchmarks" / "load.py"), run_name="benchmarks_load")


def test_load_user_asks_what_the_page_asks(example_store: Path, load: dict[str, Any]) -> None:
    messages: list[str] = []
    result = load["run"](
        db=str(example_store),
        users=1,
        seconds=3.0,
        ramp=0.0,
        think=(0.2, 0.5),
        progress=messages.append,
    )
    assert result["errors"] == 0, result["error_groups"]
    assert set(result["paths"]) == page_requests()  # every route the page asks, and no other
    assert result["refresh"]["n"] >= 1
    for row in result["kinds"]:  # outside 2xx/3xx only the "Empty input" the page shows
        failed = sum(n for status, n in row["statuses"].items() if not 200 <= status < 400)
        assert failed == result["expected"].get(row["kind"], 0), row


STATES: list[tuple[dict[str, str], str, str]] = [
    ({}, "2025-01-01", "2025-06-30"),
    (
        {
            "model": "markov",
            "compare": "shapley",
            "by": "campaign",
            "stage": "opportunity",
            "journey": "account",
            "ci": "0.9",
            "lookback_days": "60",
            "click_window_days": "30",
            "view_window_days": "0",
            "start": "2025-04-01",
            "end": "2025-06-30",
            "period": "previous",
            "funnel_by": "owner",
        },
        "2025-04-01",
        "2025-06-30",
    ),
    ({"by": "source", "period": "year", "start": "2024-02-29"}, "2024-02-29", "2024-03-31"),
    (
        {"period": "custom", "cmp_start": "2024-01-01", "cmp_end": "2024-01-31"},
        "2025-01-01",
        "2025-01-31",
    ),
    ({"period": "custom", "cmp_start": "2024-01-01"}, "2025-01-01", "2025-01-31"),
    (
        {"by": "interaction", "funnel_by": "lead_source", "end": "2025-03-31"},
        "2025-01-01",
        "2025-03-31",
    ),
    ({"model": "markov", "compare": "markov"}, "2025-01-01", "2025-06-30"),
]
"""Form states (over the defaults) and the period an attribution answer names for each."""

NODE_STATE = """
globalThis.window = globalThis;
require("vm").runInThisContext(require("fs").readFileSync(process.argv[1], "utf8"));
const S = closedloopState;
const out = JSON.parse(process.argv[2]).map(([state, start, end]) => ({
  queries: Object.fromEntries(
    Object.entries(S.queries(state)).map(([card, query]) => [card, Object.entries(query)])),
  url: S.toURL(state),
  back: S.fromURL(S.toURL(state)),
  period: S.comparisonPeriod(state, start, end),
}));
console.log(JSON.stringify(out));
"""


def test_page_state_matches_state_js() -> None:
    node = shutil.which("node")
    require(node, "node is not installed: state.js cannot be run (apt-get install nodejs)")
    assert node is not None
    page = runpy.run_path(str(ROOT / "benchmarks" / "page_state.py"))
    defaults: dict[str, str] = page["DEFAULTS"]
    cases = [({**defaults, **changes}, start, end) for changes, start, end in STATES]
    done = subprocess.run(
        [node, "-e", NODE_STATE, str(STATIC / "state.js"), json.dumps(cases)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for (state, start, end), js in zip(cases, json.loads(done.stdout), strict=True):
        mine = {
            card: [list(item) for item in q.items()] for card, q in page["queries"](state).items()
        }
        assert mine == js["queries"], state  # the same parameters, in the same order
        assert page["to_url"](state) == js["url"]
        assert page["from_url"](js["url"]) == js["back"]
        assert page["comparison_period"](state, start, end) == js["period"]
        compared = dict(js["queries"]["compare"])["models"]
        if state["compare"] == state["model"]:  # the API compares each model once (else 422)
            assert compared == state["model"]
        else:
            assert compared == f"{state['model']},{state['compare']}"


CHROMIUM = Path("/usr/bin/chromium")
LOGGED = re.compile(r'"(GET|POST) (\S+) HTTP/1\.1"')
"""A request line in ``closedloop serve``'s access log."""
VIEWS = (
    "",
    "?model=markov&compare=first_touch&by=campaign&stage=opportunity&journey=account&ci=0.9"
    "&lookback_days=60&click_window_days=30&start=2025-04-01&end=2025-06-30&period=previous"
    "&funnel_by=owner",
)
"""Dashboard addresses: the default view, and one with every control set."""


def test_load_user_asks_what_chromium_asks(
    example_store: Path, load: dict[str, Any], tmp_path: Path
) -> None:
    """Each view loaded by headless Chromium and by one simulated user: the same requests."""
    require(
        CHROMIUM.exists(),
        "/usr/bin/chromium is not installed: the page cannot be loaded (apt-get install chromium)",
    )
    server = load["Server"](str(example_store), load["free_port"](), sys.executable, 60.0)

    def logged() -> list[str]:
        server.log.seek(0)
        text = server.log.read().decode(errors="replace")
        return [" ".join(m) for m in LOGGED.findall(text) if m[1] != "/favicon.ico"]

    async def simulated(address: str) -> list[dict[str, Any]]:
        recorder = load["Recorder"]()
        user = load["User"](0, server.base, recorder, 0, (0.1, 0.2), 60.0)
        user.address = address
        try:
            await user.load_page(first=True)
        finally:
            await user.client.aclose()
        errors: list[dict[str, Any]] = recorder.errors
        return errors

    with server:
        for view in VIEWS:
            before = len(logged())
            dom = subprocess.run(
                [
                    str(CHROMIUM),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    f"--user-data-dir={tmp_path / 'chromium'}",
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                    "--virtual-time-budget=60000",
                    "--dump-dom",
                    f"{server.base}/{view}",
                ],
                capture_output=True,
                text=True,
                timeout=180,
            ).stdout
            assert 'data-ready="1"' in dom, view  # every card answered
            browser = logged()[before:]
            assert asyncio.run(simulated(view)) == []
            user = logged()[before + len(browser) :]
            # The same requests with the same queries; concurrent ones may arrive in any order.
            assert sorted(user) == sorted(browser), view
            assert any("/v1/budget/plan" in line for line in user)
