"""``closedloop report``: one self-contained HTML file whose numbers are attribute()'s."""

from __future__ import annotations

import io
import json
import re
import sys
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.report.data import REPORT_SECTIONS
from api.report.render import VENDOR_SCRIPTS, inline_script
from attribution import attribute
from attribution.numbers import format_number
from ingest import Store
from tests.api.conftest import write_example


def money(value: float | None, currency: str = "USD") -> str:
    """An amount as the report shows it (the number style of attribution/numbers.py)."""
    return format_number(value, "money", currency)


SPEC = re.compile(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', re.S)


class _Links(HTMLParser):
    """Every src / href attribute of the page, and the scripts loaded from a file."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.script_srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value is not None:
                self.urls.append(value)
                if tag == "script":
                    self.script_srcs.append(value)


def links(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def specs(page: str) -> dict[str, dict[str, Any]]:
    """The Vega-Lite specs embedded in the page, by chart name."""
    return {name: json.loads(text) for name, text in SPEC.findall(page)}


def rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = spec["datasets"]["table"]
    return table


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    db = tmp_path / "r.duckdb"
    for table, file in write_example(tmp_path / "data").items():
        assert main(["ingest", table, str(file), "--db", str(db)]) == 0
    return db


def test_report_writes_self_contained_html(
    store_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    code = main(["report", "--db", str(store_file), "--models", "linear,first_touch",
                 "--stage", "closed_won", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "report written to" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    for title in ("Model comparison", "Channels", "Campaigns", "Conversion paths",
                  "Lead funnel", "Weekly trend", "Budget plan"):  # fmt: skip
        assert f"<h2>{title}</h2>" in page
    store = Store(store_file)
    tp, cv, costs = (store.read(t) for t in ("touchpoints", "conversions", "costs"))
    report = attribute(tp, cv, costs, model="linear", stage="closed_won")
    assert f"<b>{money(report.totals['revenue'])}</b>" in page
    assert f"<b>{money(report.totals['spend'])}</b>" in page
    for row in report.data.to_dicts():
        assert f">{money(row['revenue'])}</td>" in page
    # first touch gives Email 100 of 150, linear 50: the Email row is highlighted.
    assert re.search(r'<tr class="hot"><td data-v="Email">', page)


def test_report_is_offline(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(store_file), "--models", "linear", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    found = links(page)
    # Nothing is loaded from elsewhere: no src or href to another host, no script file.
    assert not [u for u in found.urls if re.match(r"(https?:)?//", u)], found.urls
    assert found.script_srcs == []
    assert "<link" not in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    # The vendored chart library is inlined, whole, in load order.
    positions = [page.index(str(inline_script(name))) for name in VENDOR_SCRIPTS]
    assert positions == sorted(positions)
    assert "closedloopCharts.drawAll(document)" in page
    assert "sourceMappingURL" not in page


def test_report_charts_are_vega_lite_specs_of_the_numbers(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code = main(["report", "--db", str(store_file), "--models", "linear,first_touch",
                 "--stage", "closed_won", "--out", str(out)])  # fmt: skip
    assert code == 0
    charts = specs(out.read_text(encoding="utf-8"))
    assert {"comparison", "channel-roas", "campaign-roas", "path-lengths", "time-lag",
            "trend-revenue", "trend-spend"} <= set(charts)  # fmt: skip
    for spec in charts.values():
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v")
        assert "url" not in json.dumps(spec.get("data", {}))  # the rows are inline
        assert spec["config"]["locale"]["number"]["currency"] == ["$", ""]
    store = Store(store_file)
    tp, cv, costs = (store.read(t) for t in ("touchpoints", "conversions", "costs"))
    linear = attribute(tp, cv, costs, model="linear", stage="closed_won")
    first = attribute(tp, cv, costs, model="first_touch", stage="closed_won")
    expected = {r["channel"]: r["revenue"] for r in linear.data.to_dicts()}
    # Model comparison: each model's revenue per channel.
    comparison = {r["channel"]: r for r in rows(charts["comparison"])}
    for report in (linear, first):
        for row in report.data.to_dicts():
            assert comparison[row["channel"]][f"{report.model}_revenue"] == pytest.approx(
                row["revenue"]
            )
    assert charts["comparison"]["encoding"]["xOffset"]["field"] == "model"
    # ROAS per channel with spend.
    roas = {r["channel"]: r["roas"] for r in rows(charts["channel-roas"])}
    assert roas == {
        r["channel"]: pytest.approx(r["roas"]) for r in linear.data.to_dicts() if r["spend"]
    }
    # The weekly trend sums to each channel's attributed revenue and spend.
    weekly: dict[str, float] = defaultdict(float)
    for row in rows(charts["trend-revenue"]):
        weekly[row["channel"]] += row["revenue"]
    assert {k: v for k, v in weekly.items() if v} == pytest.approx(
        {k: v for k, v in expected.items() if v}
    )
    spend: dict[str, float] = defaultdict(float)
    for row in rows(charts["trend-spend"]):
        spend[row["channel"]] += row["spend"] or 0.0
    assert sum(spend.values()) == pytest.approx(linear.totals["spend"])
    # Path lengths: conversions per number of touches add up to the conversions.
    assert sum(r["conversions"] for r in rows(charts["path-lengths"])) == pytest.approx(
        linear.totals["conversions"]
    )


def test_chart_look_tooltips_ticks_dates(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(store_file), "--models", "linear", "--out", str(out)]) == 0
    charts = specs(out.read_text(encoding="utf-8"))
    text = json.dumps(charts)
    assert '"$,.2f"' in text  # money in tooltips
    assert "$~s" in text  # round money ticks: $20k, $1.5M
    trend = charts["trend-revenue"]["encoding"]
    assert trend["x"]["axis"]["format"] == "%b %d, %Y"  # the year on the time axis
    assert trend["x"]["timeUnit"] == "utcyearmonthdate"
    assert {t.get("format") for t in trend["tooltip"]} >= {"%b %d, %Y", "$,.2f"}
    assert trend["y"]["axis"]["tickCount"] == 6
    assert trend["y"]["scale"]["nice"] == 6
    for spec in charts.values():
        assert "tooltip" in json.dumps(spec)


def test_names_cannot_break_out_of_the_page(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    files = write_example(tmp_path / "data")
    evil = "Email</script><script>alert(1)</script><!--"
    touchpoints = files["touchpoints"]
    touchpoints.write_text(touchpoints.read_text().replace(",Email,", f',"{evil}",'))
    costs = files["costs"]
    costs.write_text(costs.read_text().replace(",Email,", f',"{evil}",'))
    for table, file in files.items():
        assert main(["ingest", table, str(file), "--db", str(db)]) == 0
    out = tmp_path / "r.html"
    assert main(["report", "--db", str(db), "--models", "linear", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert evil not in page
    assert "<script>alert(1)" not in page
    assert "Email&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--" in page
    charts = specs(page)  # every embedded spec still parses, the name intact inside
    assert evil in {r["channel"] for r in rows(charts["comparison"])}


def test_report_with_intervals_and_a_budget_note(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "ci.html"
    code = main(["report", "--db", str(store_file), "--models", "linear", "--ci", "0.9",
                 "--bootstrap", "20", "--out", str(out)])  # fmt: skip
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert "bootstrap intervals in brackets" in page
    # Four days of spend cannot fit a weekly response curve: a note, not a crash.
    assert "Budget plan" in page
    assert "response-curves" not in specs(page)


def test_money_format() -> None:
    assert money(1234567.891) == "$1,234,567.89"
    assert money(1234.5, "BRL") == "R$1,234.50"


def test_report_on_an_empty_store_is_bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    code = main(
        ["report", "--db", str(tmp_path / "empty.duckdb"), "--out", str(tmp_path / "r.html")]
    )
    assert code == 2
    assert "There are no conversions to report on" in capsys.readouterr().err


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_report_shows_its_sections_and_bootstraps_on_a_terminal(
    store_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = tmp_path / "progress.html"
    code = main(["report", "--db", str(store_file), "--models", "linear", "--ci", "0.9",
                 "--bootstrap", "20", "--out", str(out)])  # fmt: skip
    assert code == 0
    drawn = terminal.getvalue()
    announced = re.findall(r"\rreport (\d)/(\d): ([a-z ]+) …", drawn)
    assert [name for *_, name in announced] == list(REPORT_SECTIONS)
    assert [int(n) for n, *_ in announced] == list(range(1, len(REPORT_SECTIONS) + 1))
    assert "\rreport 1/6: model comparison › bootstrap linear: 20 of 20 resamples (100%)" in drawn
    assert drawn.endswith("\r\x1b[K")


def test_report_draws_nothing_when_piped(
    store_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "quiet.html"
    assert main(["report", "--db", str(store_file), "--models", "linear", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""


def _curve_store(path: Path) -> Store:
    """Twenty weeks: Search on 6,000 · x / (x + 1,000) (a curve), Email at a steady 700 a
    week (spend that never varied: no curve), Direct without spend."""
    import datetime as dt

    import polars as pl

    from attribution.budget.analysis import _example_frames
    from ingest import ingest_frame

    touches, conversions, costs = _example_frames()
    start = dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
    extra = [(f"e{w}", "Email", 7 * w + 3) for w in range(20)]
    extra += [(f"d{w}", "Direct", 7 * w + 4) for w in range(20)]
    touches = pl.concat([touches, pl.DataFrame({
        "touchpoint_id": [f"t-{u}" for u, _, _ in extra],
        "user_id": [u for u, _, _ in extra],
        "ts": [start + dt.timedelta(days=d) for _, _, d in extra],
        "channel": [c for _, c, _ in extra],
    })])  # fmt: skip
    conversions = pl.concat([conversions, pl.DataFrame({
        "conversion_id": [f"c-{u}" for u, _, _ in extra],
        "user_id": [u for u, _, _ in extra],
        "ts": [start + dt.timedelta(days=d, hours=1) for _, _, d in extra],
        "stage": "purchase",
        "revenue": [1_000.0 + 37.0 * (i % 5) for i in range(len(extra))],
    })])  # fmt: skip
    email = pl.DataFrame({"date": costs["date"], "channel": "Email", "spend": 100.0})
    store = Store(path)
    for table, frame in (("touchpoints", touches), ("conversions", conversions),
                         ("costs", pl.concat([costs, email]))):  # fmt: skip
        ingest_frame(store, table, frame)
    return store


def test_report_draws_every_channel_that_spent_with_its_marks(tmp_path: Path) -> None:
    from api.report import build_report

    page = build_report(_curve_store(tmp_path / "curves.duckdb"), models=["linear"])
    spec = specs(page)["response-curves"]
    assert spec["facet"]["sort"] == ["Search", "Email · no curve"]  # Direct never spent
    by_panel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows(spec):
        by_panel[row["panel"]].append(row)
    kinds = ("observed", "curve", "current", "recommended", "saturation")
    search = {kind: [r for r in by_panel["Search"] if r["kind"] == kind] for kind in kinds}
    assert len(search["observed"]) >= 16
    assert len(search["curve"]) == 41
    assert all(r["revenue_low"] <= r["revenue"] <= r["revenue_high"] for r in search["curve"])
    # Current: the mean of the last four full weeks of spend, 900, 1,500, 500 and 700.
    assert search["current"][0]["spend"] == pytest.approx(900.0)
    assert search["current"][0]["revenue"] == pytest.approx(6_000 * 900 / 1_900, rel=1e-3)
    # Saturation of the true curve: 6·10⁶ / (x + 1,000)² = 1 at x = √(6·10⁶) − 1,000.
    assert search["saturation"][0]["spend"] == pytest.approx(6e6**0.5 - 1_000, rel=1e-2)
    assert len(search["recommended"]) == 1
    email = by_panel["Email · no curve"]
    assert {r["kind"] for r in email} == {"observed", "current", "recommended"}
    current = next(r for r in email if r["kind"] == "current")
    assert current["spend"] == pytest.approx(700.0)
    assert current["revenue"] is None  # no curve to sit on: drawn as a dashed line
    section = page[page.index('<section id="budget">') :]
    assert "<h3>Response curves</h3>" in section
    for words in ("90% range", "current spend", "recommended spend", "saturation"):
        assert words in section
