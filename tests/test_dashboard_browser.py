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

import base64
import contextlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def recorder() -> WhatIfRecorder:
    return WhatIfRecorder()


@pytest.fixture(scope="module")
def recording_server(store_path: Path, recorder: WhatIfRecorder) -> Iterator[str]:
    yield from _serve(store_path, public_read=True, wrap=recorder.wrap)


class WhatIfRecorder:
    """Wraps the app to keep the JSON body of every ``POST /v1/budget/whatif`` it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def wrap(self, app: Any) -> Any:
        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["path"] != "/v1/budget/whatif":
                await app(scope, receive, send)
                return
            chunks: list[bytes] = []

            async def read() -> Any:
                message = await receive()
                if message["type"] == "http.request":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        self.bodies.append(json.loads(b"".join(chunks)))
                return message

            await app(scope, read, send)

        return recording


def _serve(
    store_path: Path, *, public_read: bool, wrap: Callable[[Any], Any] = lambda app: app
) -> Iterator[str]:
    import uvicorn

    from api.http.app import create_app
    from api.http.settings import Settings

    port = _free_port()
    settings = Settings(db_path=store_path, public_read=public_read)
    app = wrap(create_app(settings))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
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


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (no extra package).

    ``--remote-debugging-pipe`` reads commands from fd 3 and writes answers to fd 4,
    each one JSON message ended by a NUL byte. One page, attached in flat mode.
    """

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self._profile = tempfile.TemporaryDirectory()
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()
        self._proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={self._profile.name}",
             "--remote-debugging-pipe", f"--window-size={width},{height}"],
            pass_fds=(3, 4),
            preexec_fn=lambda: (os.dup2(to_chrome, 3), os.dup2(from_chrome, 4)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._next = 0
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False, session=True)  # fmt: skip

    def send(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events in between are dropped)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            while b"\0" not in self._buffer:
                ready, _, _ = select.select([self._read], [], [], deadline - time.monotonic())
                assert ready, f"Chromium did not answer {method}"
                self._buffer += os.read(self._read, 1 << 20)
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._next:
                assert "error" not in answer, answer["error"]
                result: dict[str, Any] = answer["result"]
                return result

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url, session=True)

    def eval(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return its value."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True, session=True)  # fmt: skip
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait(self, expression: str, timeout: float = 60.0) -> Any:
        """Wait until ``expression`` is truthy in the page; return its value."""
        deadline = time.monotonic() + timeout
        guarded = f"(() => {{ try {{ return {expression}; }} catch (e) {{ return null; }} }})()"
        while time.monotonic() < deadline:
            value = self.eval(guarded)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")

    def key(self, key: str, code: int) -> None:
        """Press and release a key on the focused element."""
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                      windowsVirtualKeyCode=code, session=True)  # fmt: skip

    def screenshot(self, selector: str, path: Path) -> None:
        """Save a PNG of the element ``selector`` (the whole element, scrolled or not)."""
        box = self.eval(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, "
            "width: r.width, height: r.height}; })()"
        )
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={**box, "scale": 1}, session=True)  # fmt: skip
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.send("Browser.close")
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._read)
        os.close(self._write)
        self._profile.cleanup()


@pytest.fixture
def browser() -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.close()


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
    # The warnings strip shows every code the answers carry (docs/diagnostics.md).
    codes = {w["code"] for w in attribution["warnings"]}
    assert codes, "the example data hides something (a conversion no touch reached)"
    assert re.search(r'<section class="warnings" id="warnings"(?![^>]*hidden)', dom)
    for code in codes:
        assert f"<code>{code}</code>" in dom
    assert re.search(r'<div[^>]*\bid="curve"[^>]*>\s*<svg', dom), "no response-curve chart"
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


def _bars(dom: str, figure: str) -> int:
    """How many bars vega-embed drew in the report's ``<figure id="chart-...">``."""
    start = dom.index(f'id="chart-{figure}"')
    svg = dom[start : dom.index("</figure>", start)]
    return svg.count('aria-roledescription="bar"')


def test_report_screenshot(store_path: Path, server: str, tmp_path: Path, images: Path) -> None:
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
    # The numbers shown are the API's: the default model (markov, it runs on this data) named
    # in the header, its totals in the headline and its revenue per channel in the table.
    assert 'title="--model markov">Data-driven (Markov chain)</b> model (the default' in dom
    api = httpx.get(f"{server}/v1/attribution?model=markov").json()
    headline = dom[dom.index('id="headline"') : dom.index("</section>", dom.index('id="headline"'))]
    assert f"<b>{_money(api['totals']['revenue'])}</b><span>revenue</span>" in headline
    assert f"<b>{_money(api['totals']['spend'])}</b><span>spend</span>" in headline
    channels = dom[dom.index('<section id="channels">') :]
    channels = channels[: channels.index("</table>")]
    for row in api["data"]:  # the shown cents (raw sort values may differ in the last bit)
        assert re.search(rf'<td data-v="{re.escape(row["channel"])}">{re.escape(row["channel"])}'
                         rf'</td><td[^>]*>[^<]*</td><td[^>]*>{re.escape(_money(row["revenue"]))}<',
                         channels), row  # fmt: skip
    # GA4 buckets: 9 path-length bars (1 to 7, 8-11, 12+), 10 time-lag bars (from 0).
    assert _bars(dom, "path-lengths") == 9
    assert _bars(dom, "time-lag") == 10
    _chromium(
        "--virtual-time-budget=5000",
        "--window-size=1400,1000",
        f"--screenshot={images / 'report.png'}",
        out.as_uri(),
    )
    assert (images / "report.png").stat().st_size > 10_000


def test_chromium_is_where_the_makefile_puts_it() -> None:
    assert shutil.which("chromium") or CHROMIUM.exists()


def _symbols(svg: str) -> list[str]:
    """The aria labels of the points drawn in an SVG (Vega labels each with its tooltip)."""
    tags = re.findall(r"<path [^>]*aria-roledescription=\"point\"[^>]*>", svg)
    return [m.group(1) for t in tags if (m := re.search(r'aria-label="([^"]*)"', t))]


def test_dashboard_curve_and_keyboard_what_if(
    recording_server: str, recorder: WhatIfRecorder, browser: Browser, images: Path
) -> None:
    browser.open(f"{recording_server}/")
    browser.wait("document.body.dataset.ready === '1' && document.body.dataset.whatif")
    browser.wait("document.querySelector('#curve svg') !== null")
    channel = browser.eval("document.getElementById('curve-channel').value")
    curves = httpx.get(f"{recording_server}/v1/budget/curves?bootstrap=20&points=false").json()
    row = next(r for r in curves["data"] if r["channel"] == channel)
    assert row["status"] == "curve"  # the first channel offered is one with a curve
    labels = _symbols(browser.eval("document.getElementById('curve').innerHTML"))
    for mark in ("current spend", "recommended spend"):
        assert any(f"mark: {mark}" in label for label in labels), (mark, labels)
    assert browser.eval("document.querySelector('#curve .mark-area') !== null"), "no band"
    # Keyboard only: focus the labelled slider, press the right arrow ten times.
    assert browser.eval(
        "document.getElementById('whatif-range').closest('label').textContent"
    ).startswith("What-if weekly spend")
    asked = len(recorder.bodies)
    shown = browser.eval("document.body.dataset.whatif")
    step = float(browser.eval("document.getElementById('whatif-range').step"))
    browser.eval("document.getElementById('whatif-range').focus()")
    for _ in range(10):
        browser.key("ArrowRight", 39)
    browser.wait(f"document.body.dataset.whatif !== '{shown}'")
    spend = float(browser.eval("document.getElementById('whatif-range').value"))
    assert spend > row["current_spend"] + 5 * step
    # Debounced: ten key presses, one (at most a few) requests; the last asks for the new spend.
    new = recorder.bodies[asked:]
    assert 1 <= len(new) < 10
    assert new[-1]["allocation"][channel] == pytest.approx(spend)
    assert float(browser.eval("document.getElementById('whatif-spend').value")) == round(spend)
    expected = httpx.post(
        f"{recording_server}/v1/budget/whatif",
        json={"allocation": new[-1]["allocation"], "bootstrap": 20, "points": False},
    ).json()
    moved = next(r for r in expected["data"] if r["channel"] == channel)
    text = browser.eval("document.getElementById('whatif-result').textContent")
    assert _money(moved["predicted_revenue"]) in text
    assert _money(expected["totals"]["predicted_revenue"]) in text
    # The moved point is drawn on the curve, at the new spend.
    browser.wait("document.querySelector('#curve svg') !== null")
    labels = _symbols(browser.eval("document.getElementById('curve').innerHTML"))
    moved_label = next(label for label in labels if "mark: what-if spend" in label)
    assert _money(moved["predicted_revenue"]) in moved_label
    browser.screenshot("#curves-card", images / "dashboard-curves.png")
    assert (images / "dashboard-curves.png").stat().st_size > 10_000
    # Another channel's amount in the table: focusing it shows its curve; typing asks for it.
    others = [r for r in curves["data"] if r["status"] == "curve" and r["channel"] != channel]
    if not others:
        # The example data under the default 1-day view window: one channel alone has a curve
        # (Display's impressions mostly fall outside the window), so no other amount to type.
        assert [r["channel"] for r in curves["data"] if r["status"] == "curve"] == [channel]
        return
    other = others[0]
    field = f"#whatif input[data-channel={json.dumps(other['channel'])}]"
    browser.eval(f"document.querySelector({json.dumps(field)}).select()")
    browser.eval(f"document.querySelector({json.dumps(field)}).focus()")
    assert browser.eval("document.getElementById('curve-channel').value") == other["channel"]
    asked, shown = len(recorder.bodies), browser.eval("document.body.dataset.whatif")
    for digit in "4321":
        browser.send("Input.insertText", text=digit, session=True)
    browser.wait(
        f"document.body.dataset.whatif !== '{shown}' && "
        "document.getElementById('whatif-result').textContent.includes('at $4,321.00 a week')"
    )
    last = recorder.bodies[-1]["allocation"]
    assert len(recorder.bodies) - asked < 4  # debounced: four key strokes, not four requests
    assert last[other["channel"]] == 4321
    assert last[channel] == pytest.approx(spend)  # the first channel keeps its what-if spend


def test_report_curves_are_drawn_with_their_marks(
    store_path: Path, tmp_path: Path, browser: Browser, images: Path
) -> None:
    from api.report import build_report
    from ingest import Store

    out = tmp_path / "report.html"
    out.write_text(build_report(Store(store_path)), encoding="utf-8")
    browser.open(out.as_uri())
    browser.wait("document.querySelector('#chart-response-curves svg') !== null")
    svg = browser.eval("document.getElementById('chart-response-curves').innerHTML")
    labels = _symbols(svg)
    for mark in ("current spend", "recommended spend", "saturation (marginal ROAS 1)"):
        assert any(f"mark: {mark}" in label for label in labels), (mark, labels)
    assert "mark-area" in svg  # the bands
    assert "mark-rule" in svg  # a channel without a curve: its spend as a dashed line
    browser.screenshot("#budget", images / "report-curves.png")
    assert (images / "report-curves.png").stat().st_size > 10_000
