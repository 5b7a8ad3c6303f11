"""Heavy parameters and large bodies are refused with problem+json, before any work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.http.app import create_app
from api.http.settings import Settings
from api.services.queries import MAX_BOOTSTRAP

from .conftest import TestClient, with_key

LIMIT = 1_000


@pytest.fixture
def small_client(filled_db: Path) -> Iterator[TestClient]:
    settings = Settings(db_path=filled_db, wait_seconds=0.2, max_upload_bytes=LIMIT)
    with TestClient(create_app(settings)) as client:
        yield with_key(client, filled_db)


def test_an_upload_over_the_limit_is_413(
    small_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    big = b"touchpoint_id,user_id,ts,channel\n" + b"t,u,2024-01-01T00:00:00Z,Email\n" * 100
    response = small_client.post("/v1/ingest/touchpoints", files={"file": ("t.csv", big)})
    body = assert_problem(response, 413, "Request too large")
    assert "CLOSEDLOOP_MAX_UPLOAD_MB" in body["detail"]


def test_a_streamed_body_over_the_limit_is_413(
    small_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b'{"touchpoint_id": "t", "user_id": "u"}\n'

    response = small_client.post(
        "/v1/ingest/touchpoints",
        content=chunks(),
        headers={"content-type": "application/x-ndjson"},
    )
    assert_problem(response, 413, "Request too large")


def test_a_body_under_the_limit_is_read(small_client: TestClient) -> None:
    rows = [{"touchpoint_id": "t9", "user_id": "u9", "ts": "2024-01-02", "channel": "Email"}]
    response = small_client.post("/v1/ingest/touchpoints?skip_invalid=true", json=rows)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", ["/v1/attribution?model=linear", "/v1/compare"])
def test_bootstrap_is_capped_on_every_route(
    client: TestClient, assert_problem: Callable[..., dict[str, Any]], route: str
) -> None:
    sep = "&" if "?" in route else "?"
    response = client.get(f"{route}{sep}ci=0.9&bootstrap={MAX_BOOTSTRAP + 1}")
    body = assert_problem(response, 422, "Invalid parameter")
    assert f"at most {MAX_BOOTSTRAP}" in body["detail"]
