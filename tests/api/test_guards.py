"""Security headers on every response; writes from another site refused (#12)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.guards import CONTENT_SECURITY_POLICY


@pytest.fixture
def touchpoints_csv(example_files: dict[str, Path]) -> bytes:
    return example_files["touchpoints"].read_bytes()


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/v1/health", "/v1/attribution?model=linear", "/v1/nowhere"):
        response = client.get(path)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert "content-security-policy" not in response.headers, path


def test_pages_get_a_content_security_policy(client: TestClient) -> None:
    for path in ("/", "/docs"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert policy == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in policy
        assert "connect-src 'self'" in policy


def test_a_write_from_another_site_is_refused(
    empty_client: TestClient, touchpoints_csv: bytes
) -> None:
    response = empty_client.post(
        "/v1/ingest/touchpoints",
        files={"file": ("touchpoints.csv", touchpoints_csv)},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "another site" in response.json()["detail"]
    assert empty_client.get("/v1/health").json()["counts"]["touchpoints"] == 0


@pytest.mark.parametrize("origin", [None, "http://testserver"])
def test_same_site_and_non_browser_writes_pass(
    empty_client: TestClient, touchpoints_csv: bytes, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = empty_client.post(
        "/v1/ingest/touchpoints",
        files={"file": ("touchpoints.csv", touchpoints_csv)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
