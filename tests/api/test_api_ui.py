"""What the browser pages load: /static, the offline /docs and /redoc, the chart specs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


class _Refs(HTMLParser):
    """The src and href attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href"} and v is not None]


def refs(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    return parser.urls


def assert_served(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    suffix = url[url.rindex(".") :]
    assert response.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
    assert len(response.content) > 500, url
    # Revalidated before each use: after an upgrade no page runs an older script.
    assert response.headers["cache-control"] == "no-cache", url


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            "/docs",
            {
                "/static/vendor/swagger-ui-bundle.js",
                "/static/vendor/swagger-ui.css",
                "/static/vendor/swagger-ui-favicon-32x32.png",
            },
        ),
        (
            "/redoc",
            {"/static/vendor/redoc.standalone.js", "/static/vendor/swagger-ui-favicon-32x32.png"},
        ),
    ],
)
def test_docs_load_only_local_files(client: TestClient, page: str, expected: set[str]) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = set(refs(response.text))
    assert urls == expected
    assert not re.search(r"https?://", response.text)  # no CDN, no web fonts
    for url in urls:
        assert_served(client, url)


def test_swagger_ui_settings(client: TestClient) -> None:
    page = client.get("/docs").text
    assert "url: '/openapi.json'" in page
    assert '"validatorUrl": null' in page  # no badge from validator.swagger.io
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert "oauth2" in redirect.text


def test_docs_follow_the_root_path(client: TestClient) -> None:
    with TestClient(client.app, root_path="/attribution") as proxied:
        page = proxied.get("/docs").text
    assert "/attribution/static/vendor/swagger-ui-bundle.js" in page
    assert "url: '/attribution/openapi.json'" in page


def test_pages_and_files_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/v1/")]


def test_dashboard_loads_the_vendored_chart_library(client: TestClient) -> None:
    page = client.get("/").text
    scripts = [u for u in refs(page) if u.endswith(".js")]
    assert scripts == [
        "/static/vendor/vega.min.js",
        "/static/vendor/vega-lite.min.js",
        "/static/vendor/vega-embed.min.js",
        "/static/charts.js",
        "/static/format.js",
        "/static/table.js",
        "/static/specs.js",
        "/static/state.js",
        "/static/dashboard.js",
        "/static/budget.js",
    ]
    for url in scripts:
        assert_served(client, url)
    assert "/dashboard/charts.json" in client.get("/static/dashboard.js").text
    assert "<svg" not in page  # the charts are Vega-Lite specs, no hand-drawn SVG
    assert client.get("/static/vendor/README.md").status_code == 200
    assert client.get("/static/vendor/nothing.js").status_code == 404


def test_dashboard_chart_specs_are_the_reports(client: TestClient) -> None:
    from api.report.charts import trend_chart

    response = client.get("/dashboard/charts.json?currency=EUR&by=campaign")
    assert response.status_code == 200
    specs = response.json()
    assert sorted(specs) == [
        "curve", "funnel", "lengths", "touch_positions_conversions", "touch_positions_revenue",
        "trend",
    ]  # fmt: skip
    for spec in specs.values():
        assert spec["data"] == {"name": "table"}
        assert "datasets" not in spec
        assert spec["config"]["locale"]["number"]["currency"] == ["€", ""]
    assert specs["trend"] == trend_chart(None, by="campaign", metric="revenue", currency="EUR")
    assert client.get("/dashboard/charts.json?currency=euro").status_code == 422
    assert client.get("/dashboard/charts.json?by=week").status_code == 422
    # Any touch column the reports take (costs lack source: its spend is null, the chart is not).
    assert client.get("/dashboard/charts.json?by=source").status_code == 200
    assert "<option>interaction</option>" in client.get("/").text
