from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient


def test_read_health(client: TestClient, filled_db: Path) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["store"] == filled_db.name  # the file name, never the server's path
    assert body["counts"] == {
        "touchpoints": 4,
        "conversions": 3,
        "costs": 4,
        "identities": 0,
        "accounts": 0,
        "lift_tests": 0,
    }
    assert body["currency"] == "USD"


def test_read_health_empty_store(empty_client: TestClient) -> None:
    body = empty_client.get("/v1/health").json()
    assert body["counts"] == {
        "touchpoints": 0,
        "conversions": 0,
        "costs": 0,
        "identities": 0,
        "accounts": 0,
        "lift_tests": 0,
    }
