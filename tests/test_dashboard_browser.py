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
import csv
import io
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
from urllib.parse import parse_qsl, urlencode

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
def recorder() -> RequestRecorder:
    return RequestRecorder()


@pytest.fixture(scope="module")
def recording_server(store_path: Path, recorder: RequestRecorder) -> Iterator[str]:
    yield from _serve(store_path, public_read=True, wrap=recorder.wrap)


class RequestRecorder:
    """Wraps the app to keep every request's path and query, and the JSON body of each what-if.

    ``requests`` holds ``(path, query)`` pairs in arrival order (the query as a dict of
    single values); ``bodies`` the JSON body of every ``POST /v1/budget/whatif``.
    """

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str]]] = []

    def asked(self, path: str) -> list[dict[str, str]]:
        """Return the queries of the requests to ``path``, oldest first."""
        return [query for asked, query in self.requests if asked == path]

    def wrap(self, app: Any) -> Any:
        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                query = dict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True))
                self.requests.append((scope["path"], query))
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
    # Charts drawn by vega-embed: the weekly areas, the path-length, time-lag and funnel bars.
    assert 'class="chart-error"' not in dom
    for element_id in ("timeseries", "lengths-chart", "lags-chart", "funnel-chart"):
        tag = re.search(rf'<div[^>]*\bid="{element_id}"[^>]*>\s*<svg', dom)
        assert tag, element_id
        assert "vega-embed" in tag.group(0), element_id
    assert dom.count('role="graphics-symbol"') >= 3
    assert dom.count("mark-area") >= 1
    top = httpx.get(f"{server}/v1/paths?limit=1").json()["data"][0]
    assert f'<th scope="row" data-key="path">{top["path"]}</th>' in dom.replace("&gt;", ">")
    assert "<input" in dom
    # The warnings strip shows every code the answers carry (docs/diagnostics.md).
    codes = {w["code"] for w in attribution["warnings"]}
    assert codes, "the example data hides something (a conversion no touch reached)"
    assert re.search(r'<section class="warnings wide" id="warnings"(?![^>]*hidden)', dom)
    for code in codes:
        assert f"<code>{code}</code>" in dom
    assert re.search(r'<div[^>]*\bid="curve"[^>]*>\s*<svg', dom), "no response-curve chart"
    # 1280 px wide (a laptop) and 420 px (a phone): nothing needs a sideways scroll but tables.
    for name, size in (("dashboard.png", "1280,1000"), ("dashboard-narrow.png", "420,1400")):
        _chromium(
            "--virtual-time-budget=10000",
            f"--window-size={size}",
            f"--screenshot={images / name}",
            f"{server}/",
        )
        assert (images / name).stat().st_size > 10_000


def test_dashboard_asks_for_a_key_where_reads_need_one(keyed_server: str, images: Path) -> None:
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", f"{keyed_server}/")
    assert 'data-ready="key"' in dom, dom[-3000:]
    assert re.search(r'id="keybox"(?![^>]*hidden)', dom), "the key field is not shown"
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
    # Early / middle / late: 8 channels (none folded: at most 7 and one more) x 3 parts.
    channels_touched = httpx.get(f"{server}/v1/paths?limit=1").json()["touch_positions"]
    assert len(channels_touched) == 8
    assert _bars(dom, "touch-positions") == 8 * 3
    # Ordered Shapley runs on this data, so its credit by position is shown.
    assert 'id="positions"' in dom
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
    recording_server: str, recorder: RequestRecorder, browser: Browser, images: Path
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
    browser.wait("document.querySelector('#chart-touch-positions svg') !== null")
    browser.screenshot("#paths", images / "report-paths.png")
    assert (images / "report-paths.png").stat().st_size > 10_000


LINKED = {
    "model": "markov",
    "compare": "shapley",
    "by": "campaign",
    "stage": "closed_won",
    "lookback_days": "60",
    "click_window_days": "30",
    "view_window_days": "0",
    "start": "2025-04-01",
    "end": "2025-06-30",
    "period": "previous",
    "funnel_by": "owner",
}
"""A view to link to: every report control away from its default."""
WINDOW = {k: LINKED[k] for k in ("by", "stage", "lookback_days", "click_window_days",
                                 "view_window_days", "start", "end")}  # fmt: skip
PREVIOUS = {"start": "2024-12-31", "end": "2025-03-31"}
"""The 91 days before 1 April to 30 June 2025 (hand-counted: 30 + 31 + 30 days)."""

MONEY_TEXT = re.compile(r"-?\$\d{1,3}(,\d{3})*\.\d{2}")
RATE_TEXT = re.compile(r"-?\d{1,3}(,\d{3})*\.\d%")
RATIO_TEXT = re.compile(r"-?\d{1,3}(,\d{3})*\.\d{2}")
ONE_DECIMAL = re.compile(r"-?\d{1,3}(,\d{3})*\.\d")


def _controls(browser: Browser) -> dict[str, str]:
    shown: dict[str, str] = browser.eval(
        "Object.fromEntries(closedloopState.FIELDS"
        ".map((n) => [n, document.getElementById(n).value]))"
    )
    return shown


def _cells(browser: Browser, table: str, key: str, part: str = "tbody") -> list[str]:
    found: list[str] = browser.eval(
        f"[...document.querySelectorAll('#{table} {part} [data-key=\"{key}\"]')]"
        ".map((cell) => cell.textContent)"
    )
    return found


def _total(browser: Browser, table: str, key: str) -> str:
    return _cells(browser, table, key, "tfoot")[0]


def _applied(browser: Browser) -> None:
    """Submit the form (the Apply button) and wait for every card to be drawn again."""
    browser.eval("document.getElementById('apply').click()")
    browser.wait("document.body.dataset.ready === '1'")


def _press_enter(browser: Browser) -> None:
    for kind in ("keyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                     windowsVirtualKeyCode=13, text="\r", session=True)  # fmt: skip


def test_dashboard_link_restores_the_view_with_the_api_totals(
    recording_server: str, recorder: RequestRecorder, browser: Browser
) -> None:
    server = recording_server
    browser.open(f"{server}/?{urlencode(LINKED)}")
    browser.wait("document.body.dataset.ready === '1'")
    # The controls show the link's state, and the state written back is the link's.
    shown = _controls(browser)
    assert {k: shown[k] for k in LINKED} == LINKED
    assert dict(parse_qsl(browser.eval("document.body.dataset.state").lstrip("?"))) == LINKED
    # Each card asked its route for exactly that view.
    markov = {**WINDOW, "model": "markov"}
    assert markov in recorder.asked("/v1/attribution")
    assert {**markov, **PREVIOUS} in recorder.asked("/v1/attribution")
    assert {**WINDOW, "models": "markov,shapley", "baseline": "markov", "limit": "1000"} in (
        recorder.asked("/v1/compare")
    )
    assert {**markov, "metric": "revenue", "interval": "week", "limit": "1000"} in (
        recorder.asked("/v1/timeseries")
    )
    assert {**WINDOW, "limit": "1000"} in recorder.asked("/v1/paths")
    assert {"by": "owner", "start": "2025-04-01", "end": "2025-06-30"} in recorder.asked(
        "/v1/funnel"
    )
    # TOTAL rows and KPIs are the API's totals, in the one number style.
    totals = httpx.get(f"{server}/v1/attribution", params=markov).json()["totals"]
    before = httpx.get(f"{server}/v1/attribution", params={**markov, **PREVIOUS}).json()["totals"]
    assert _total(browser, "attribution", "conversions") == f"{totals['conversions']:,.1f}"
    assert _total(browser, "attribution", "revenue") == _money(totals["revenue"])
    assert _total(browser, "attribution", "spend") == _money(totals["spend"])
    assert _total(browser, "attribution", "roas") == f"{totals['roas']:,.2f}"
    assert _total(browser, "attribution", "roi") == f"{totals['roi']:,.1%}"
    assert _total(browser, "attribution", "prev_revenue") == _money(before["revenue"])
    change = (totals["revenue"] - before["revenue"]) / before["revenue"]
    assert _total(browser, "attribution", "revenue_change") == f"{change:+,.1%}"
    assert _text(browser.eval("document.body.innerHTML"), "total-revenue") == _money(
        totals["revenue"]
    )
    compared = httpx.get(
        f"{server}/v1/compare", params={**WINDOW, "models": "markov,shapley"}
    ).json()["totals"]
    assert _total(browser, "comparison", "markov_revenue") == _money(compared["markov"]["revenue"])
    assert _total(browser, "comparison", "shapley_conversions") == (
        f"{compared['shapley']['conversions']:,.1f}"
    )
    funnel = httpx.get(
        f"{server}/v1/funnel", params={"by": "owner", "start": "2025-04-01", "end": "2025-06-30"}
    ).json()
    assert _total(browser, "funnel", "leads") == f"{funnel['totals']['leads']:,}"
    # Every cell of a kind has its format; a missing number is an em dash.
    kinds = {"revenue": MONEY_TEXT, "spend": MONEY_TEXT, "cpa": MONEY_TEXT, "roi": RATE_TEXT,
             "roas": RATIO_TEXT, "conversions": ONE_DECIMAL,
             "revenue_change": RATE_TEXT}  # fmt: skip
    for key, pattern in kinds.items():
        cells = _cells(browser, "attribution", key)
        assert cells, key
        for text in cells:
            assert text == "—" or pattern.fullmatch(text.lstrip("+")), (key, text)
    # GA4's buckets, hand-folded here from the API's rows per length.
    paths = httpx.get(f"{server}/v1/paths", params={**WINDOW, "limit": "1"}).json()
    middle = sum(r["conversions"] for r in paths["lengths"] if 8 <= r["length"] <= 11)
    tail = sum(r["conversions"] for r in paths["lengths"] if r["length"] >= 12)
    shown_buckets = dict(
        zip(
            _cells(browser, "lengths", "bucket"),
            _cells(browser, "lengths", "conversions"),
            strict=True,
        )
    )
    assert shown_buckets["8-11"] == f"{middle:,.0f}"
    assert shown_buckets["12+"] == f"{tail:,.0f}"
    assert list(shown_buckets) == ["1", "2", "3", "4", "5", "6", "7", "8-11", "12+"]
    everything = sum(r["conversions"] for r in paths["lengths"])
    assert _total(browser, "lengths", "conversions") == f"{everything:,.0f}"
    # "Download CSV" is the API's CSV of the same query: raw numbers that sum to the total.
    href = browser.eval("document.querySelector('#attribution a.csv').getAttribute('href')")
    path, _, query = href.partition("?")
    assert (path, dict(parse_qsl(query))) == ("/v1/attribution", {**markov, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(httpx.get(server + href).text)))
    assert sum(float(r["revenue"]) for r in rows) == pytest.approx(totals["revenue"], rel=1e-9)
    _touch_positions_are_the_apis(browser, paths)
    _positions_are_the_apis(recording_server, recorder, browser)


def _amount(text: str) -> float:
    """The number a cell shows: ``$1,234.50`` is 1234.5, ``12.3`` is 12.3."""
    return float(text.replace("$", "").replace(",", ""))


def _shown(browser: Browser, table: str) -> dict[str, dict[str, str]]:
    """Every shown row of a dashboard table (TOTAL too): its first cell -> {data-key: text}."""
    rows: dict[str, dict[str, str]] = browser.eval(
        f"Object.fromEntries([...document.querySelectorAll('#{table} tbody tr, #{table} tfoot tr')]"
        ".map((tr) => [tr.querySelector('th').textContent, Object.fromEntries("
        "[...tr.querySelectorAll('td')].map((td) => [td.dataset.key, td.textContent]))]))"
    )
    return rows


def _assert_shown(shown: dict[str, str], expected: dict[str, float], money: bool) -> None:
    """Each shown cell is the expected number to the cent (money) or to one decimal."""
    half = 0.005 if money else 0.05
    assert shown.keys() == expected.keys()
    for key, value in expected.items():
        assert shown[key].startswith("$") == money, (key, shown[key])
        assert abs(_amount(shown[key]) - value) <= half + 1e-9, (key, shown[key], value)


def _touch_positions_are_the_apis(browser: Browser, paths: dict[str, Any]) -> None:
    """The early / middle / late table shows /v1/paths' touch_positions, every row and part;
    each part's TOTAL is the conversions and revenue of the converting journeys with a touch."""
    by = paths["by"]
    api = paths["touch_positions"]
    assert len(api) > 10  # campaigns: "show all" is needed to see them
    browser.eval("document.querySelector('#touches button.more').click()")
    shown = _shown(browser, "touches")
    assert list(shown) == [r[by] for r in api] + ["TOTAL"]
    measures = [
        f"{part}_{m}" for part in ("early", "middle", "late") for m in ("conversions", "revenue")
    ]
    for row in api:
        for m in measures:
            _assert_shown({m: shown[row[by]][m]}, {m: row[m]}, money=m.endswith("revenue"))
    touched = {m: sum(r[m] for r in paths["lengths"]) for m in ("conversions", "revenue")}
    assert touched["revenue"] > 0
    for m in measures:
        measure = m.split("_")[1]
        _assert_shown({m: shown["TOTAL"][m]}, {m: touched[measure]}, money=measure == "revenue")
    # The chart: three bars (early, middle, late) split by campaign, past seven folded to Other.
    svg = browser.eval("document.getElementById('touches-chart').innerHTML")
    assert 'aria-roledescription="bar"' in svg
    for label in ("early · opens", "middle · assists", "late · closes", "Other"):
        assert f">{label}<" in svg, label


def _positions_are_the_apis(server: str, recorder: RequestRecorder, browser: Browser) -> None:
    """Markov has no positions: a hint and a button; pressing it (keyboard) asks shapley_ordered
    and shows its positions, position x campaign, in revenue and (toggled) conversions."""
    assert browser.eval("document.getElementById('positions-hint').hidden") is False
    assert browser.eval("document.querySelector('#positions table')") is None
    asked = len(recorder.requests)
    browser.eval("document.getElementById('positions-pick').focus()")
    _press_enter(browser)
    browser.wait(
        "document.body.dataset.ready === '1' && location.search.includes('shapley_ordered')"
    )
    query = {**WINDOW, "model": "shapley_ordered"}
    assert query in [q for path, q in recorder.requests[asked:] if path == "/v1/attribution"]
    answer = httpx.get(f"{server}/v1/attribution", params=query).json()
    by, rows = answer["by"], answer["positions"]["data"]
    assert browser.eval("document.getElementById('positions-hint').hidden") is True
    assert "distinct channel" in browser.eval(
        "document.getElementById('positions-note').textContent"
    )
    for measure in ("revenue", "conversions"):
        if measure == "conversions":  # the toggle: a labelled select, redrawn on change
            assert browser.eval(
                "document.getElementById('positions-measure').closest('label').textContent"
            ).startswith("Show")
            browser.eval(
                "(() => { const s = document.getElementById('positions-measure');"
                " s.value = 'conversions'; s.dispatchEvent(new Event('change')); })()"
            )
        shown = _shown(browser, "positions")
        keys = {f"key:{r[by]}" for r in rows}
        expected: dict[str, dict[str, float]] = {}
        for r in rows:
            cells = expected.setdefault(r["position"], dict.fromkeys(keys, 0.0))
            cells[f"key:{r[by]}"] += r[measure]
        for cells in expected.values():
            cells["total"] = sum(cells[k] for k in keys)
        total = {k: sum(cells[k] for cells in expected.values()) for k in [*keys, "total"]}
        assert list(shown) == [*dict.fromkeys(r["position"] for r in rows), "TOTAL"]
        for position, cells in {**expected, "TOTAL": total}.items():
            _assert_shown(shown[position], cells, money=measure == "revenue")
        credited = answer["totals"][measure] - (
            next((r[measure] for r in answer["data"] if r[by] == "(no touchpoint)"), 0.0)
        )
        assert abs(_amount(shown["TOTAL"]["total"]) - credited) <= 0.05


def test_dashboard_controls_change_what_the_api_is_asked(
    recording_server: str, recorder: RequestRecorder, browser: Browser, images: Path
) -> None:
    server = recording_server
    browser.open(f"{server}/?start=2025-04-01&end=2025-06-30")
    browser.wait("document.body.dataset.ready === '1'")
    # Keyboard: type a lookback in its labelled field and press Enter to submit the form.
    assert browser.eval("document.querySelector('label[for=lookback_days]').textContent") == (
        "Lookback"
    )
    asked = len(recorder.requests)
    browser.eval("document.getElementById('lookback_days').focus()")
    browser.send("Input.insertText", text="45", session=True)
    _press_enter(browser)
    browser.wait("document.body.dataset.ready === '1' && location.search.includes('lookback')")
    assert any(
        path == "/v1/attribution" and query.get("lookback_days") == "45"
        for path, query in recorder.requests[asked:]
    )
    # control, value, the route asked, what it must be asked, and text shown then (a JS
    # expression's value must contain it)
    note = "document.getElementById('{}').textContent"
    header = "[...document.querySelectorAll('#{} thead th')].map((th) => th.textContent).join('|')"
    changes = [
        ("model", "first_touch", "/v1/attribution", {"model": "first_touch"},
         note.format("compare-note"), "A: First touch"),
        ("compare", "linear", "/v1/compare", {"models": "first_touch,linear"},
         note.format("compare-note"), "B: Linear"),
        ("by", "campaign", "/v1/timeseries", {"by": "campaign"},
         header.format("attribution"), "campaign|"),
        ("stage", "opportunity", "/v1/attribution", {"stage": "opportunity"},
         header.format("attribution"), "Pipeline"),
        ("journey", "account", "/v1/paths", {"journey": "account"}, "location.search", "account"),
        ("click_window_days", "20", "/v1/compare", {"click_window_days": "20"},
         "location.search", "click_window_days=20"),
        ("view_window_days", "2", "/v1/paths", {"view_window_days": "2"},
         "location.search", "view_window_days=2"),
        ("start", "2025-02-01", "/v1/funnel", {"start": "2025-02-01"},
         note.format("attribution-note"), "2025-02-01 to"),
        ("end", "2025-05-31", "/v1/attribution", {"end": "2025-05-31"},
         note.format("attribution-note"), "to 2025-05-31"),
        ("period", "year", "/v1/attribution", {"start": "2024-02-01", "end": "2024-05-31"},
         header.format("attribution"), "Conversions|Δ|"),
        ("funnel_by", "lead_source", "/v1/funnel", {"by": "lead_source"},
         header.format("funnel"), "lead source"),
        ("ci", "0.9", "/v1/attribution", {"ci": "0.9"}, header.format("attribution"), "90% range"),
    ]  # fmt: skip
    for control, value, route, expected, shown, text in changes:
        set_value = (
            f"(() => {{ const f = document.getElementById('{control}'); f.value = '{value}'; "
            "f.dispatchEvent(new Event('change')); return f.value; })()"
        )
        assert browser.eval(set_value) == value, control  # the option exists
        asked = len(recorder.requests)
        _applied(browser)
        queries = [q for path, q in recorder.requests[asked:] if path == route]
        assert any(expected.items() <= q.items() for q in queries), (control, queries)
        assert dict(parse_qsl(browser.eval("location.search").lstrip("?")))[control] == value
        assert text in browser.eval(shown), (control, browser.eval(shown))
    # A custom comparison period shows its two date fields and asks for those dates.
    browser.eval("document.getElementById('period').value = 'custom'")
    browser.eval("document.getElementById('period').dispatchEvent(new Event('change'))")
    assert browser.eval("document.getElementById('cmp_start').offsetParent !== null")
    browser.eval("document.getElementById('cmp_start').value = '2025-01-01'")
    browser.eval("document.getElementById('cmp_end').value = '2025-01-31'")
    asked = len(recorder.requests)
    _applied(browser)
    assert any(
        q.get("start") == "2025-01-01" and q.get("end") == "2025-01-31"
        for path, q in recorder.requests[asked:]
        if path == "/v1/attribution"
    )
    # The URL round-trips: opening it again shows the same controls.
    controls, link = _controls(browser), browser.eval("location.href")
    browser.open(link)
    browser.wait("document.body.dataset.ready === '1'")
    assert _controls(browser) == controls
    browser.eval("document.getElementById('copy-link').click()")
    assert browser.wait("document.body.dataset.link") == link
    # Sorting by keyboard: the value column's header button, Enter; then "show all".
    api = httpx.get(
        f"{server}/v1/attribution", params=dict(parse_qsl(_csv_query(browser, "attribution")))
    ).json()
    by, value = api["by"], api["value_column"]
    browser.eval(f"document.querySelector('#attribution button.sort[data-sort={value}]').focus()")
    _press_enter(browser)
    browser.wait("document.querySelector('#attribution th[aria-sort=descending]') !== null")
    ranked = sorted(api["data"], key=lambda r: -(r[value] or 0))
    assert _cells(browser, "attribution", by)[0] == ranked[0][by]
    assert len(_cells(browser, "attribution", by)) == min(10, len(ranked))
    if len(ranked) > 10:
        browser.eval("document.querySelector('#attribution button.more').click()")
        assert len(_cells(browser, "attribution", by)) == len(ranked)
    browser.screenshot("main", images / "dashboard-controls.png")


def _csv_query(browser: Browser, table: str) -> str:
    """Return the query of a table's CSV link without ``format``."""
    href: str = browser.eval(f"document.querySelector('#{table} a.csv').getAttribute('href')")
    return "&".join(p for p in href.split("?", 1)[1].split("&") if not p.startswith("format="))


def test_number_style(server: str, browser: Browser) -> None:
    browser.open(f"{server}/static/format.js")
    browser.wait("document.readyState === 'complete'")
    browser.eval(
        "new Promise((done) => { const s = document.createElement('script');"
        " s.src = '/static/format.js'; s.onload = done; document.head.append(s); })"
    )
    cases = {
        "money(1234.5, 'USD')": "$1,234.50",
        "money(-0.5, 'USD')": "-$0.50",
        "money(1234.5, 'EUR')": "€1,234.50",
        "rate(0.1234)": "12.3%",
        "ratio(2.3456)": "2.35",
        "conversions(134)": "134.0",
        "count(2067)": "2,067",
        "days(56.72)": "56.7",
        "change(0.1234)": "+12.3%",
        "change(-0.04)": "-4.0%",
        "money(null, 'USD')": "—",
        "rate(undefined)": "—",
        "ratio(Infinity)": "—",
        "relativeChange(3, 0)": None,
        "relativeChange(3, 2)": 0.5,
    }
    for expression, expected in cases.items():
        assert browser.eval(f"closedloopFormat.{expression}") == expected, expression


def test_state_periods_and_sorting(server: str, browser: Browser) -> None:
    browser.open(f"{server}/static/state.js")
    browser.wait("document.readyState === 'complete'")
    browser.eval(
        "Promise.all(['/static/format.js', '/static/table.js', '/static/state.js'].map((src) =>"
        " new Promise((done) => { const s = document.createElement('script'); s.src = src;"
        " s.onload = done; document.head.append(s); })))"
    )
    state = "closedloopState"
    # Hand-counted periods: 91 days before a quarter; a year back, 29 February is the 28th.
    previous = f"{state}.comparisonPeriod({{period: 'previous'}}, '2025-04-01', '2025-06-30')"
    assert browser.eval(previous) == {"start": "2024-12-31", "end": "2025-03-31"}
    leap = f"{state}.comparisonPeriod({{period: 'year'}}, '2024-02-01', '2024-02-29')"
    assert browser.eval(leap) == {"start": "2023-02-01", "end": "2023-02-28"}
    one_day = f"{state}.comparisonPeriod({{period: 'previous'}}, '2025-03-01', '2025-03-01')"
    assert browser.eval(one_day) == {"start": "2025-02-28", "end": "2025-02-28"}
    assert (
        browser.eval(f"{state}.comparisonPeriod({{period: ''}}, '2025-03-01', '2025-03-31')")
        is None
    )
    # Defaults stay out of the URL; what differs round-trips.
    assert browser.eval(f"{state}.toURL({state}.DEFAULTS)") == ""
    linked = "?" + urlencode(LINKED)
    assert browser.eval(f"{state}.toURL({state}.fromURL({json.dumps(linked)}))") == (
        "?" + urlencode({k: LINKED[k] for k in browser.eval(f"{state}.FIELDS") if k in LINKED})
    )
    # Sorting: largest first, missing numbers last, ties in the API's order; TOTAL stays put.
    sorted_keys = browser.eval(
        "(() => { const el = document.createElement('div'); document.body.append(el);"
        " closedloopTable.render(el, { columns: [{key: 'k', label: 'k'},"
        " {key: 'v', label: 'v', format: (v) => closedloopFormat.money(v, 'USD')}],"
        " rows: [{k: 'a', v: 1}, {k: 'b', v: null}, {k: 'c', v: 3}, {k: 'd', v: 1}],"
        " total: {k: 'TOTAL', v: 5} });"
        " el.querySelector('button.sort[data-sort=v]').click();"
        " return [[...el.querySelectorAll('tbody th')].map((c) => c.textContent),"
        " el.querySelector('th[aria-sort]:not([aria-sort=none])').getAttribute('aria-sort'),"
        " el.querySelector('tfoot td').textContent]; })()"
    )
    assert sorted_keys == [["c", "a", "d", "b"], "descending", "$5.00"]


def test_dashboard_touches_card_by_channel(server: str, browser: Browser, images: Path) -> None:
    """By channel with shapley_ordered: 8 channels, none folded in the chart; the picture."""
    browser.open(f"{server}/?model=shapley_ordered")
    browser.wait("document.body.dataset.ready === '1'")
    browser.wait("document.querySelector('#touches-chart svg') !== null")
    svg = browser.eval("document.getElementById('touches-chart').innerHTML")
    assert ">Other<" not in svg
    assert svg.count('aria-roledescription="bar"') == 8 * 3  # 8 channels x early, middle, late
    assert list(_shown(browser, "positions"))[-1] == "TOTAL"
    browser.screenshot("#touches-card", images / "dashboard-touches.png")
    assert (images / "dashboard-touches.png").stat().st_size > 10_000


class StillComputingOnce:
    """Wraps the app to answer the first ``GET /v1/attribution`` 503 "Still computing".

    As the server does when a computation passes its time limit (it goes on in the
    background); ``asked`` counts the requests to that route.
    """

    def __init__(self) -> None:
        self.asked = 0

    def wrap(self, app: Any) -> Any:
        async def first_still_computing(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/v1/attribution":
                self.asked += 1
                if self.asked == 1:
                    body = json.dumps({"type": "about:blank", "title": "Still computing",
                                       "status": 503, "detail": "retry"}).encode()  # fmt: skip
                    headers = [(b"content-type", b"application/problem+json"),
                               (b"retry-after", b"1")]  # fmt: skip
                    await send({"type": "http.response.start", "status": 503, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
            await app(scope, receive, send)

        return first_still_computing


def test_dashboard_asks_again_after_a_still_computing_answer(store_path: Path) -> None:
    once = StillComputingOnce()
    for base in _serve(store_path, public_read=True, wrap=once.wrap):
        dom = _chromium("--virtual-time-budget=15000", "--dump-dom", f"{base}/")
        assert 'data-ready="1"' in dom, dom[-3000:]
        assert once.asked >= 2  # the 503, then the retry Retry-After said to make
        totals = httpx.get(f"{base}/v1/attribution?model=linear").json()["totals"]
        assert _text(dom, "total-revenue") == _money(totals["revenue"])
        assert "still computing" not in _text(dom, "status")


def test_stage_list_leaves_out_stages_the_data_lacks(tmp_path: Path) -> None:
    import polars as pl

    from ingest import Store, ingest_files

    won_only = tmp_path / "conversions.csv"
    pl.read_csv(DATA / "conversions.csv").filter(pl.col("stage") == "closed_won").write_csv(
        won_only
    )
    path = tmp_path / "won.duckdb"
    store = Store(path)
    for table, file in (("touchpoints", DATA / "touchpoints.csv"), ("conversions", won_only)):
        ingest_files(store, table, [file])
    for base in _serve(path, public_read=True):
        absent = httpx.get(f"{base}/v1/funnel").json()["absent_stages"]
        assert "lead" in absent  # the funnel lists it, the data has none
        dom = _chromium("--virtual-time-budget=10000", "--dump-dom", f"{base}/")
        assert 'data-ready="1"' in dom, dom[-3000:]
        stages = re.search(r'<select id="stage"[^>]*>(.*?)</select>', dom, re.S)
        assert stages is not None
        offered = re.findall(r'<option value="([^"]*)"', stages.group(1))
        assert "closed_won" in offered
        assert not set(offered) & set(absent), offered  # choosing one would answer 422
