"""The dashboard and the HTML report in a real browser (headless Chromium).

Starts uvicorn on 127.0.0.1 (a free port, in a thread) on a store holding
the example data, loads ``/`` with ``--dump-dom`` after a virtual-time
budget, and checks that vega-embed drew the Vega-Lite charts (SVG inside
``.vega-embed``) and that the numbers shown equal the API's; the same for the
HTML report opened from a file. Chromium resolves no host but 127.0.0.1, so
the pages prove they need no internet. It saves screenshots of both as test
artifacts in ``$CLOSEDLOOP_SCREENSHOTS`` (default: a ``screenshots`` folder in
pytest's temporary directory); ``make screenshots`` points it at ``docs/img``
to refresh the README's pictures.

``make test`` installs Debian's ``chromium`` first (best effort); where
``/usr/bin/chromium`` is absent this test skips and says so loudly, and under
``CI=true`` it fails instead (:func:`tests.conftest.require`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
DATA = ROOT / "examples" / "data"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: ``$CLOSEDLOOP_SCREENSHOTS`` or a temporary folder."""
    chosen = os.environ.get("CLOSEDLOOP_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed() -> None:
    """Skip where ``make test`` could not install Chromium; under ``CI=true``, fail."""
    require(
        CHROMIUM.exists(),
        "!!! BROWSER TEST NOT RUN: /usr/bin/chromium is not installed. Run `make test` as "
        "root (it installs Debian's chromium) or `apt-get install -y chromium` !!!",
    )


FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Offline: every host but the test server's is unresolvable.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]

CHART = re.compile(r'<div class="vega-embed[^"]*"[^>]*>\s*<svg')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingest import Store, ingest_files

    path = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [DATA / f"{table}.csv"])
    return path


@pytest.fixture(scope="module")
def server(store_path: Path) -> Iterator[str]:
    yield from _serve(store_path, public_read=True)


@pytest.fixture(scope="module")
def keyed_server(store_path: Path) -> Iterator[str]:
    yield from _serve(store_path, public_read=False)


def _serve(store_path: Path, *, public_read: bool) -> Iterator[str]:
    import uvicorn

    from api.http.app import create_app
    from api.http.settings import Settings

    port = _free_port()
    settings = Settings(db_path=store_path, public_read=public_read)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
        uv.should_exit = True
        thread.join(timeout=5)


def _chromium(*args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _text(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
    assert match, f"#{element_id} not in the page"
    return match.group(1)


def test_dashboard_renders_the_api_numbers(server: str, images: Path) -> None:
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", f"{server}/")
    assert 'data-ready="1"' in dom, dom[-3000:]
    attribution = httpx.get(f"{server}/v1/attribution?model=linear").json()
    totals = attribution["totals"]
    assert _text(dom, "total-revenue") == _money(totals["revenue"])
    assert _text(dom, "total-spend") == _money(totals["spend"])
    assert _text(dom, "total-conversions") == f"{totals['conversions']:,.1f}"
    # Charts drawn by vega-embed: the weekly lines, the path-length and the funnel bars.
    assert 'class="chart-error"' not in dom
    for element_id in ("timeseries", "lengths", "funnel-chart"):
        tag = re.search(rf'<div[^>]*\bid="{element_id}"[^>]*>\s*<svg', dom)
        assert tag, element_id
        assert "vega-embed" in tag.group(0), element_id
    assert dom.count('role="graphics-symbol"') >= 3
    assert dom.count("mark-line") >= 1
    top = httpx.get(f"{server}/v1/paths?limit=1").json()["data"][0]
    assert f"<td>{top['path']}</td>" in dom.replace("&gt;", ">")
    assert "<input" in dom
    assert "Predict revenue" in dom
    # The warnings strip shows every code the answers carry (docs/diagnostics.md).
    codes = {w["code"] for w in attribution["warnings"]}
    assert codes, "the example data hides something (a conversion no touch reached)"
    assert re.search(r'<section class="warnings" id="warnings"(?![^>]*hidden)', dom)
    for code in codes:
        assert f"<code>{code}</code>" in dom
    _chromium(
        "--virtual-time-budget=10000",
        "--window-size=1400,1000",
        f"--screenshot={images / 'dashboard.png'}",
        f"{server}/",
    )
    assert (images / "dashboard.png").stat().st_size > 10_000


def test_dashboard_asks_for_a_key_where_reads_need_one(keyed_server: str, images: Path) -> None:
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", f"{keyed_server}/")
    assert 'data-ready="key"' in dom, dom[-3000:]
    assert re.search(r'<label id="keybox"(?![^>]*hidden)', dom), "the key field is not shown"
    assert "needs an API key with the read scope" in dom
    assert "Enter a read key and Apply" in dom
    _chromium(
        "--virtual-time-budget=5000",
        "--window-size=1400,500",
        f"--screenshot={images / 'dashboard-key.png'}",
        f"{keyed_server}/",
    )


def test_report_screenshot(store_path: Path, tmp_path: Path, images: Path) -> None:
    from api.report import build_report
    from ingest import Store

    out = tmp_path / "report.html"
    page = build_report(Store(store_path))
    out.write_text(page, encoding="utf-8")
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", out.as_uri())
    embedded = page.count('<script type="application/json" data-chart=')
    assert embedded >= 8
    assert len(CHART.findall(dom)) == embedded  # every embedded spec was drawn
    assert 'class="chart-error"' not in dom
    _chromium(
        "--virtual-time-budget=5000",
        "--window-size=1400,1000",
        f"--screenshot={images / 'report.png'}",
        out.as_uri(),
    )
    assert (images / "report.png").stat().st_size > 10_000


def test_chromium_is_where_the_makefile_puts_it() -> None:
    assert shutil.which("chromium") or CHROMIUM.exists()
