"""Fixtures of the API tests: a small store with hand-checkable numbers, and a client on it.

The data (``write_example``) is small enough to attribute by hand:

- u1: Email (Jan 1), Search (Jan 5), then closed_won 100 on Jan 10, and a lead on Jan 2;
- u2: Search (Jan 3), then closed_won 50 on Jan 6;
- u3: Social (Jan 4), never converts.

Costs: Email 10, Search 20 + 20, Social 5. With ``linear``: Email gets 0.5
conversion and 50 of revenue, Search 1.5 and 100, Social nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.http.app import create_app
from api.http.settings import Settings
from ingest import Store, ingest_files
from ingest.keys import KeyRing

with warnings.catch_warnings():
    # Newer Starlette warns that its test client prefers `httpx2`; the client works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as TestClient  # re-exported to the API tests

TOUCHPOINTS_CSV = """\
touchpoint_id,user_id,ts,channel,campaign
t1,u1,2024-01-01T10:00:00Z,Email,newsletter
t2,u1,2024-01-05T10:00:00Z,Search,brand
t3,u2,2024-01-03T10:00:00Z,Search,generic
t4,u3,2024-01-04T10:00:00Z,Social,prospecting
"""

CONVERSIONS_CSV = """\
conversion_id,user_id,ts,stage,revenue
c1,u1,2024-01-10T00:00:00Z,closed_won,100
c2,u2,2024-01-06T00:00:00Z,closed_won,50
l1,u1,2024-01-02T00:00:00Z,lead,0
"""

COSTS_CSV = """\
date,channel,campaign,spend
2024-01-01,Email,newsletter,10
2024-01-02,Search,brand,20
2024-01-03,Search,generic,20
2024-01-04,Social,prospecting,5
"""

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def write_example(folder: Path) -> dict[str, Path]:
    """Write the example tables as CSV files in ``folder``; return their paths by table."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for table, text in (
        ("touchpoints", TOUCHPOINTS_CSV),
        ("conversions", CONVERSIONS_CSV),
        ("costs", COSTS_CSV),
    ):
        path = folder / f"{table}.csv"
        path.write_text(text)
        files[table] = path
    return files


@pytest.fixture
def example_files(tmp_path: Path) -> dict[str, Path]:
    return write_example(tmp_path / "data")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """An empty store file."""
    return tmp_path / "api.duckdb"


@pytest.fixture(scope="session")
def filled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the example touchpoints, conversions and costs.

    Shared by the whole session to keep the suite fast: tests that write use
    ``empty_client`` and their own store.
    """
    folder = tmp_path_factory.mktemp("filled")
    path = folder / "filled.duckdb"
    store = Store(path)
    for table, file in write_example(folder / "data").items():
        ingest_files(store, table, [file])
    return path


def with_key(client: TestClient, path: Path, scope: str = "write") -> TestClient:
    """Give ``client`` a new key of ``scope`` on the store at ``path`` (sent as ``X-API-Key``)."""
    _, token = KeyRing(Store(path)).create(f"tests-{scope}", scope)
    client.headers["X-API-Key"] = token
    return client


def _client(path: Path) -> Iterator[TestClient]:
    """A client with a write key: reads are public (the default), writes need the key."""
    with TestClient(create_app(Settings(db_path=path, wait_seconds=0.2))) as client:
        yield with_key(client, path)


@pytest.fixture
def client(filled_db: Path) -> Iterator[TestClient]:
    """A client of an app whose store holds the example data."""
    yield from _client(filled_db)


@pytest.fixture
def empty_client(db_path: Path) -> Iterator[TestClient]:
    """A client of an app whose store is empty."""
    yield from _client(db_path)


def check_problem(
    response: Any, status: int, title: str, detail: str | None = None
) -> dict[str, Any]:
    """Assert the RFC 9457 shape every error body has, and return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"] == title
    assert body["instance"] == response.request.url.path
    assert "Traceback" not in response.text
    if detail is not None:
        assert body["detail"] == detail
    for item in body.get("errors", []):
        assert set(item) == {"row", "field", "message", "file"}
    return body


@pytest.fixture
def assert_problem() -> Callable[..., dict[str, Any]]:
    """The helper that checks an error body: ``assert_problem(response, 404, "Unknown model")``."""
    return check_problem
