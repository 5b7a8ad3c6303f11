"""``closedloop report`` options: each one changes the page, checked on hand-worked data.

``--model`` and ``--compare-model`` (named in the header, used by the tables, GA4's
side-by-side with % change), ``--by campaign``, ``--top N`` (N rows and one Other row
that sums the rest), ``--compare-previous`` (deltas), data without costs (no spend
columns), GA4 buckets, the funnel's stage-to-stage rates and ``--pdf``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli import main
from api.report import pdf
from api.report.frames import fold_top, safe_ratio
from attribution import attribute
from attribution.buckets import bucket_order
from ingest import Store, ingest_frame
from tests.api.conftest import write_example
from tests.conftest import require

SPEC = re.compile(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', re.S)
T0 = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)


def specs(page: str) -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in SPEC.findall(page)}


def section(page: str, name: str) -> str:
    """The HTML of ``<section id="name">`` (up to the next section)."""
    found = re.search(rf'<section[^>]* id="{name}"', page)
    assert found, f"no section {name}"
    start = found.start()
    end = page.find("<section", start + 1)
    return page[start : end if end > 0 else len(page)]


def table_rows(html: str) -> list[list[str]]:
    """The shown text of every body row of the first table in ``html``."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [
        [unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def headers(html: str) -> list[str]:
    """The headers of the last header row of the first table in ``html``."""
    head = html[html.index("<thead>") : html.index("</thead>")]
    last = re.findall(r"<tr[^>]*>(.*?)</tr>", head, re.S)[-1]
    return [unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", last)]


def report(args: list[str], tmp_path: Path, db: Path) -> str:
    out = tmp_path / "r.html"
    assert main(["report", "--db", str(db), "--out", str(out), *args]) == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("example")
    db = folder / "r.duckdb"
    for table, file in write_example(folder / "data").items():
        assert main(["ingest", table, str(file), "--db", str(db)]) == 0
    return db


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example data of examples/data (18 campaigns, long paths)."""
    from ingest import ingest_files

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    data = Path(__file__).resolve().parent.parent / "examples" / "data"
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(Store(db), table, [data / f"{table}.csv"])
    return db


def test_model_and_compare_model_are_named_and_used(example_db: Path, tmp_path: Path) -> None:
    page = report(["--models", "linear", "--model", "first_touch", "--compare-model",
                   "last_touch"], tmp_path, example_db)  # fmt: skip
    header = page[page.index("<header>") : page.index("</header>")]
    assert 'title="--model first_touch">First touch</b> model' in header
    assert "(chosen with --model)" in header
    assert 'title="--compare-model last_touch">Last touch</b>' in header
    assert "first_touch" not in section(page, "channels").split("</h2>", 1)[1]
    store = Store(example_db)
    tp, cv, costs = (store.read(t) for t in ("touchpoints", "conversions", "costs"))
    first = attribute(tp, cv, costs, model="first_touch")
    last = attribute(tp, cv, costs, model="last_touch")
    shown = {row[0]: row[2] for row in table_rows(section(page, "channels"))}
    for row in first.data.to_dicts():
        assert shown[row["channel"]] == f"${row['revenue']:,.2f}"
    # GA4's side by side: first touch, last touch, (last − first) / first.
    change = section(page, "model-change")
    assert "<h2>First touch vs Last touch</h2>" in change
    assert headers(change)[:4] == ["channel", "First touch", "Last touch", "% change"]
    before = {r["channel"]: r["revenue"] for r in first.data.to_dicts()}
    after = {r["channel"]: r["revenue"] for r in last.data.to_dicts()}
    for cells in table_rows(change):
        channel, revenue = cells[0], cells[4:7]
        assert revenue[0] == f"${before[channel]:,.2f}"
        assert revenue[1] == f"${after[channel]:,.2f}"
        if before[channel]:
            expected = (after[channel] - before[channel]) / before[channel]
            assert revenue[2] == f"{100 * expected:,.1f}%"
    # The comparison's models are listed by their names, never by registry ids.
    assert headers(section(page, "comparison"))[1:4] == ["Linear", "First touch", "Last touch"]


def test_default_model_is_markov_when_it_runs(example_db: Path, tmp_path: Path) -> None:
    page = report(["--models", "markov,linear"], tmp_path, example_db)
    assert 'title="--model markov">Data-driven (Markov chain)</b> model (the default' in page
    assert 'title="--compare-model linear">Linear</b>' in page  # no last touch compared
    page = report(["--models", "first_touch,linear"], tmp_path, example_db)
    assert 'title="--model linear">Linear</b> model (the default' in page


def test_by_campaign_keys_the_comparison_and_leads_with_campaigns(
    example_db: Path, tmp_path: Path
) -> None:
    page = report(["--models", "linear,last_touch", "--by", "campaign"], tmp_path, example_db)
    assert headers(section(page, "model-change"))[0] == "campaign"
    assert headers(section(page, "comparison"))[0] == "campaign"
    assert page.index('<section id="campaigns">') < page.index('<section id="channels">')
    campaigns = {r[0] for r in table_rows(section(page, "comparison"))}
    store = Store(example_db)
    tp, cv, costs = (store.read(t) for t in ("touchpoints", "conversions", "costs"))
    by_campaign = attribute(tp, cv, costs, model="linear", by="campaign")
    assert campaigns <= set(by_campaign.data["campaign"].to_list()) | {
        r[0] for r in table_rows(section(page, "comparison")) if r[0].startswith("Other (")
    }
    trend = specs(page)["trend-revenue"]
    assert trend["encoding"]["color"]["field"] == "campaign"


def test_top_shows_n_rows_and_an_other_row_that_sums_the_rest(
    demo_db: Path, tmp_path: Path
) -> None:
    page = report(["--models", "linear", "--top", "3"], tmp_path, demo_db)
    store = Store(demo_db)
    tp, cv, costs = (store.read(t) for t in ("touchpoints", "conversions", "costs"))
    by_campaign = attribute(tp, cv, costs, model="linear", by="campaign").data
    rows = table_rows(section(page, "campaigns"))
    assert len(rows) == 4
    top = by_campaign.sort(["revenue", "conversions"], descending=True).head(3)
    assert [r[0] for r in rows[:3]] == top["campaign"].to_list()
    rest = by_campaign.height - 3
    assert rows[3][0] == f"Other ({rest} rows)"
    other = float(by_campaign["revenue"].sum()) - float(top["revenue"].sum())
    assert rows[3][2] == f"${other:,.2f}"
    assert re.search(r'<tr class="other"><td data-v="Other \(\d+ rows\)">', page)
    paths = table_rows(section(page, "paths"))
    assert len(paths) == 4
    assert paths[-1][0].startswith("Other (")
    # --top 0: every campaign.
    page = report(["--models", "linear", "--top", "0"], tmp_path, demo_db)
    assert len(table_rows(section(page, "campaigns"))) == by_campaign.height


def test_top_refuses_a_negative_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--db", str(tmp_path / "x.duckdb"), "--out", "r.html", "--top", "-2"])
    assert code == 2
    assert "--top must be a whole number, 0 (every row) or more" in capsys.readouterr().err


def _two_months(path: Path, *, costs: bool = True) -> Path:
    """Email and Search in February and March 2025; March has Email 300 (was 200), Search 50
    (was 100); spend Email 10 and Search 20 a day."""
    rows = [("a", "Email", 200.0, 2), ("b", "Search", 100.0, 2),
            ("c", "Email", 300.0, 3), ("d", "Search", 50.0, 3)]  # fmt: skip
    tp = pl.DataFrame({
        "touchpoint_id": [f"t{u}" for u, *_ in rows],
        "user_id": [u for u, *_ in rows],
        "ts": [dt.datetime(2025, m, 5, tzinfo=dt.UTC) for *_, m in rows],
        "channel": [c for _, c, *_ in rows],
    })  # fmt: skip
    cv = pl.DataFrame({
        "conversion_id": [f"c{u}" for u, *_ in rows],
        "user_id": [u for u, *_ in rows],
        "ts": [dt.datetime(2025, m, 10, tzinfo=dt.UTC) for *_, m in rows],
        "stage": "purchase",
        "revenue": [r for *_, r, _ in rows],
    })  # fmt: skip
    store = Store(path)
    ingest_frame(store, "touchpoints", tp)
    ingest_frame(store, "conversions", cv)
    if costs:
        days = pl.date_range(dt.date(2025, 2, 1), dt.date(2025, 3, 31), eager=True)
        spend = pl.concat(
            [
                pl.DataFrame({"date": days, "channel": c, "spend": s})
                for c, s in (("Email", 10.0), ("Search", 20.0))
            ]
        )
        ingest_frame(store, "costs", spend)
    return path


def test_compare_previous_shows_deltas_by_hand(tmp_path: Path) -> None:
    db = _two_months(tmp_path / "two.duckdb")
    page = report(["--models", "linear", "--start", "2025-03-01", "--end", "2025-03-31",
                   "--compare-previous"], tmp_path, db)  # fmt: skip
    assert "Compared with the previous period, 2025-01-29 to\n2025-02-28." in page
    channels = section(page, "channels")
    assert headers(channels)[:5] == [
        "channel", "spend", "revenue", "revenue, previous period", "revenue change",
    ]  # fmt: skip
    rows = {r[0]: r for r in table_rows(channels)}
    assert rows["Email"][2:5] == ["$300.00", "$200.00", "50.0%"]
    assert rows["Search"][2:5] == ["$50.00", "$100.00", "-50.0%"]
    # Headline: 350 now, 300 before (the previous period spans Feb 1 to 28 of the costs).
    headline = section(page, "headline")
    assert '<b>$350.00</b><span>revenue</span><span class="delta">+16.7% vs previous' in headline


def test_compare_previous_without_a_period_takes_the_last_28_days(tmp_path: Path) -> None:
    db = _two_months(tmp_path / "two.duckdb")
    page = report(["--models", "linear", "--compare-previous"], tmp_path, db)
    # The last conversion is on 2025-03-10: 2025-02-11 to 03-10 against 01-14 to 02-10.
    assert "closedloop report · 2025-02-11 to 2025-03-10" in page
    assert "Compared with the previous period, 2025-01-14 to\n2025-02-10." in page


def test_data_without_costs_hides_spend_columns(tmp_path: Path) -> None:
    db = _two_months(tmp_path / "nocost.duckdb", costs=False)
    page = report(["--models", "linear,last_touch"], tmp_path, db)
    assert "No costs were loaded, so spend, ROAS, ROI and the costs per conversion are left" in page
    for name in ("channels", "campaigns", "model-change", "comparison"):
        shown = headers(section(page, name))
        assert not {"spend", "ROAS", "ROI", "CPA"} & set(shown), (name, shown)
    assert "<h3>ROAS per model</h3>" not in page
    assert "trend-spend" not in specs(page)
    assert "<span>spend</span>" not in page
    assert "A budget plan needs spend" in page


def test_path_length_and_time_lag_are_ga4_buckets(example_db: Path, tmp_path: Path) -> None:
    page = report(["--models", "linear"], tmp_path, example_db)
    charts = specs(page)
    lengths = charts["path-lengths"]["datasets"]["table"]
    lags = charts["time-lag"]["datasets"]["table"]
    assert [r["bucket"] for r in lengths] == bucket_order("length")
    assert [r["bucket"] for r in lags] == bucket_order("lag")
    assert len(lengths) == 9
    assert len(lags) == 10
    assert 'id="single-touch"' not in page  # journeys of several touches
    store = Store(example_db)
    tp, cv, costs = (store.read(t) for t in ("touchpoints", "conversions", "costs"))
    linear = attribute(tp, cv, costs, model="linear")
    touched = linear.totals["conversions"] - linear.totals["untouched_conversions"]
    assert sum(r["conversions"] for r in lengths) == pytest.approx(touched)
    assert sum(r["conversions"] for r in lags) == pytest.approx(touched)


def _tiny_funnel(path: Path) -> Path:
    """Ten leads (five Email, five Search), four MQLs (Email u0-u2, Search u5), one win (u0)."""
    users = [f"u{i}" for i in range(10)]
    tp = pl.DataFrame({"touchpoint_id": [f"t{i}" for i in range(10)], "user_id": users,
                       "ts": [T0] * 10, "channel": ["Email"] * 5 + ["Search"] * 5})  # fmt: skip
    day = dt.timedelta(days=1)
    rows = [(f"l{i}", u, T0 + day, "lead", 0.0) for i, u in enumerate(users)]
    rows += [(f"m{i}", users[i], T0 + 2 * day, "mql", 0.0) for i in (0, 1, 2, 5)]
    rows += [("w0", "u0", T0 + 3 * day, "closed_won", 100.0)]
    cv = pl.DataFrame(
        rows, schema=["conversion_id", "user_id", "ts", "stage", "revenue"], orient="row"
    )
    store = Store(path)
    ingest_frame(store, "touchpoints", tp)
    ingest_frame(store, "conversions", cv)
    return path


def test_funnel_shows_stage_to_stage_rates_by_hand(tmp_path: Path) -> None:
    db = _tiny_funnel(tmp_path / "funnel.duckdb")
    page = report(["--models", "linear", "--stage", "closed_won"], tmp_path, db)
    funnel = section(page, "funnel")
    assert headers(funnel) == ["channel", "leads", "MQLs", "won", "lead → MQL", "MQL → won",
                               "lead → won", "revenue"]  # fmt: skip
    rows = {r[0]: r[1:] for r in table_rows(funnel)}
    assert rows["Email"] == ["5", "3", "1", "60.0%", "33.3%", "20.0%", "$100.00"]
    assert rows["Search"] == ["5", "1", "0", "20.0%", "0.0%", "0.0%", "$0.00"]
    bars = specs(page)["funnel"]["datasets"]["table"]
    assert [(b["step"], b["count"], b["rate"]) for b in bars] == [
        ("leads", 10, None), ("MQLs", 4, 0.4), ("won", 1, 0.25),
    ]  # fmt: skip
    label = specs(page)["funnel"]["layer"][1]["transform"][0]["calculate"]
    assert "format(datum.rate, '.1%')" in label  # drawn as "4 · 40.0%"
    # One touch per person: the page says why every model gives the same credit.
    assert 'id="single-touch"' in section(page, "comparison")


def test_funnel_by_lead_source_and_other_row_rates_are_exact(tmp_path: Path) -> None:
    db = _tiny_funnel(tmp_path / "funnel.duckdb")
    conversions = Store(db).read("conversions")
    sources = {f"u{i}": s for i, s in enumerate("aabbccddee")}
    frame = conversions.with_columns(pl.col("user_id").replace_strict(sources).alias("lead_source"))
    ingest_frame(Store(db), "conversions", frame)
    page = report(["--models", "linear", "--funnel-by", "lead_source", "--top", "2"], tmp_path, db)
    funnel = section(page, "funnel")
    assert headers(funnel)[0] == "lead source"
    rows = table_rows(funnel)
    assert [r[0] for r in rows] == ["a", "b", "Other (3 rows)"]
    # Other: c (u4, u5: MQL u5), d (u6, u7), e (u8, u9): 6 leads, 1 MQL, 0 won.
    assert rows[2][1:6] == ["6", "1", "0", "16.7%", "0.0%"]


def test_pdf_is_printed_with_headless_chromium(example_db: Path, tmp_path: Path) -> None:
    try:
        pdf.find_browser()
    except Exception:
        require(False, "!!! PDF TEST NOT RUN: no headless Chromium (apt-get install chromium) !!!")
    out, printed = tmp_path / "r.html", tmp_path / "print" / "r.pdf"
    code = main(["report", "--db", str(example_db), "--models", "linear", "--out", str(out),
                 "--pdf", str(printed)])  # fmt: skip
    assert code == 0
    assert printed.read_bytes()[:5] == b"%PDF-"
    assert printed.stat().st_size > 20_000
    page = out.read_text(encoding="utf-8")
    assert "@media print" in page
    assert "break-before:page" in page


def test_pdf_without_a_browser_is_exit_2_with_the_fix(
    example_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(pdf, "BROWSER_NAMES", ("no-such-browser-here",))
    monkeypatch.setattr(pdf, "BROWSER_PATHS", (tmp_path / "no-chromium",))
    code = main(["report", "--db", str(example_db), "--out", str(tmp_path / "r.html"),
                 "--pdf", str(tmp_path / "r.pdf")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--pdf needs headless Chromium" in err
    assert "apt-get install chromium" in err
    assert not (tmp_path / "r.html").exists()  # said before any work


@settings(max_examples=60, deadline=None)
@given(
    revenue=st.lists(st.integers(0, 10_000), min_size=1, max_size=12),
    top=st.integers(0, 14),
)
def test_fold_top_keeps_every_total(revenue: list[int], top: int) -> None:
    frame = pl.DataFrame({
        "key": [f"k{i}" for i in range(len(revenue))],
        "revenue": [float(r) for r in revenue],
        "spend": [float(i % 3) for i in range(len(revenue))],
    }).with_columns(roas=safe_ratio(pl.col("revenue"), pl.col("spend")))  # fmt: skip
    roas = {"roas": safe_ratio(pl.col("revenue"), pl.col("spend"))}
    folded = fold_top(frame, "key", top, sums=["revenue", "spend"], derived=roas)
    assert folded["revenue"].sum() == frame["revenue"].sum()
    assert folded["spend"].sum() == frame["spend"].sum()
    folds = top > 0 and frame.height > top + 1
    assert folded.height == (top + 1 if folds else frame.height)
    kept = folded.head(top) if folds else folded
    assert kept["revenue"].to_list() == sorted(kept["revenue"].to_list(), reverse=True)
    if folds:
        other = folded.row(-1, named=True)
        assert other["key"] == f"Other ({frame.height - top} rows)"
        assert other["roas"] == (other["revenue"] / other["spend"] if other["spend"] else None)


def test_compare_previous_without_data_before_says_why(tmp_path: Path) -> None:
    db = _two_months(tmp_path / "two.duckdb")
    page = report(["--models", "linear", "--start", "2025-02-01", "--end", "2025-02-28",
                   "--compare-previous"], tmp_path, db)  # fmt: skip
    note = section(page, "previous")
    assert "The previous period (2025-01-04 to 2025-01-31) cannot be compared" in unescape(note)
    assert "revenue, previous period" not in page
