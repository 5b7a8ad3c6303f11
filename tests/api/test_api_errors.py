"""The one error shape, the handlers behind it, and the OpenAPI document."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.deps import get_store
from api.http.errors import INTERNAL_ERROR_DETAIL, RETRY_AFTER_SECONDS
from api.http.settings import Settings
from attribution.errors import StoreBusyError, StoreError

AssertProblem = Callable[..., dict[str, Any]]


class FailingStore:
    """Stands in for the store and fails every operation with ``error``."""

    path = Path("failing.duckdb")
    currency = "USD"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def counts(self) -> dict[str, int]:
        raise self.error

    def read(self, table: str, **_: Any) -> Any:
        raise self.error

    def snapshot(self) -> Any:
        raise self.error

    def data_version(self) -> int:
        raise self.error

    def stages(self) -> list[str]:
        raise self.error


@pytest.fixture
def make_app(db_path: Path) -> Callable[[Exception], FastAPI]:
    def build(error: Exception) -> FastAPI:
        app = create_app(Settings(db_path=db_path))
        app.dependency_overrides[get_store] = lambda: FailingStore(error)
        return app

    return build


def test_unknown_route(client: TestClient, assert_problem: AssertProblem) -> None:
    assert_problem(
        client.get("/v1/nothing"),
        404,
        "Not Found",
        "Nothing at /v1/nothing. The API's routes are listed at /docs.",
    )


def test_wrong_method(client: TestClient, assert_problem: AssertProblem) -> None:
    response = client.delete("/v1/models")
    assert_problem(
        response, 405, "Method Not Allowed", "Method DELETE is not allowed on /v1/models."
    )
    assert response.headers["allow"] == "GET"


def test_store_busy_is_503_with_retry_after(
    make_app: Callable[[Exception], FastAPI], assert_problem: AssertProblem
) -> None:
    message = "The store 'x.duckdb' is locked by another process (pid 42): retry."
    with TestClient(make_app(StoreBusyError(message))) as client:
        for path in ("/v1/health", "/v1/attribution?model=linear"):
            response = client.get(path)
            assert_problem(response, 503, "Store busy", message)
            assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


def test_store_error_is_500_with_its_message(
    make_app: Callable[[Exception], FastAPI], assert_problem: AssertProblem
) -> None:
    with TestClient(make_app(StoreError("Cannot open the store 'x.duckdb': bad file"))) as client:
        assert_problem(
            client.get("/v1/health"),
            500,
            "Store error",
            "Cannot open the store 'x.duckdb': bad file",
        )


@pytest.fixture
def crashing_client(
    make_app: Callable[[Exception], FastAPI],
) -> Iterator[TestClient]:
    app = make_app(RuntimeError("secret internals at /srv/app.py line 3"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_unexpected_error_is_a_generic_500(
    crashing_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = crashing_client.get("/v1/health")
    assert_problem(response, 500, "Internal Server Error", INTERNAL_ERROR_DETAIL)
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text


def test_openapi_document(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    info = schema["info"]
    assert info["title"] == "closedloop"
    assert (
        "ROI = (revenue − spend) / spend, where the cost is\nad spend only" in (info["description"])
    )
    assert "inclusive at\nboth ends" in info["description"]
    operations = {
        (path, method): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert {op["operationId"] for op in operations.values()} == {
        "health-read_health",
        "models-list_models",
        "models-read_model",
        "models-explain_markov",
        "attribution-run_attribution",
        "ingest-ingest_table",
        "funnel-read_funnel",
        "budget-read_curves",
        "budget-create_plan",
        "budget-create_what_if",
        "attribution-attribute_paths",
        "dashboard-compare",
        "dashboard-read_paths",
        "dashboard-read_timeseries",
        "persons-delete_person",
    }
    attribution = operations[("/v1/attribution", "get")]
    assert set(attribution["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/vnd.apache.parquet",
    }
    for operation in operations.values():
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    upload = operations[("/v1/ingest/{table}", "post")]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data", "application/json", "application/x-ndjson"}


JSON_NOT_UTF8 = ("application/json", b"17\xb5x", "There was an error parsing the body")
"""A JSON body FastAPI cannot even decode, and the 400 it answers."""

MULTIPART_NO_HEADERS = (
    "multipart/form-data; boundary=b",
    b"--b\r\nTrue--b--\r\n",
    "Invalid multipart data.",
)
"""A multipart body whose part has no headers, and the 400 Starlette answers."""


@pytest.mark.parametrize(
    ("url", "route", "sent"),
    [
        ("/v1/budget/plan", "/v1/budget/plan", JSON_NOT_UTF8),
        ("/v1/budget/whatif", "/v1/budget/whatif", JSON_NOT_UTF8),
        ("/v1/attribution/paths?model=linear", "/v1/attribution/paths", MULTIPART_NO_HEADERS),
        ("/v1/ingest/touchpoints", "/v1/ingest/{table}", MULTIPART_NO_HEADERS),
    ],
)
def test_malformed_body_is_a_documented_400(
    client: TestClient,
    assert_problem: AssertProblem,
    url: str,
    route: str,
    sent: tuple[str, bytes, str],
) -> None:
    """Found by Schemathesis: the 400 was answered but missing from the OpenAPI document."""
    content_type, body, detail = sent
    response = client.post(url, content=body, headers={"content-type": content_type})
    assert_problem(response, 400, "Bad Request", detail)
    documented = client.get("/openapi.json").json()["paths"][route]["post"]["responses"]
    assert "400" in documented


def test_docs_page(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


def test_default_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from api.http import settings

    monkeypatch.setenv("CLOSEDLOOP_DB", str(tmp_path / "env.duckdb"))
    settings.get_settings.cache_clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with TestClient(create_app()) as client:
                # Reads need a key unless CLOSEDLOOP_PUBLIC_READ says otherwise: the
                # health probe then says only that the service is up.
                assert client.get("/v1/health").json() == {"status": "ok", "version": ANY}
                assert client.get("/v1/models").status_code == 401
        monkeypatch.setenv("CLOSEDLOOP_PUBLIC_READ", "1")
        settings.get_settings.cache_clear()
        with TestClient(create_app()) as client:
            assert client.get("/v1/health").json()["store"] == "env.duckdb"
    finally:
        settings.get_settings.cache_clear()


def test_a_500_keeps_the_connection_open(tmp_path: Path) -> None:
    """Issue #12: after any 500 the server dropped the keep-alive connection."""
    import socket
    import threading
    import time

    import uvicorn

    app = create_app(Settings(db_path=tmp_path / "k.duckdb"))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            answers = []
            for path in ("/boom", "/v1/models"):
                conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                answers.append(_read_response(conn))
        (status_500, body_500), (status_200, _) = answers
        assert status_500 == 500
        assert json.loads(body_500)["detail"] == INTERNAL_ERROR_DETAIL
        assert status_200 == 200  # answered on the same connection
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _read_response(conn: Any) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with a Content-Length from a socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(lines[0].split()[1]), body[:length]
