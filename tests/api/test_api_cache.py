"""Answers are cached per ``data_version`` and normalised query, and an ingest moves them on."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.http.app import create_app
from api.http.settings import Settings
from ingest import Store, ingest_files

from .conftest import TestClient, with_key

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "data"


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example data (28k touchpoints, 5k conversions) in a store."""
    path = tmp_path_factory.mktemp("cache") / "example.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [EXAMPLES / f"{table}.csv"])
    return path


@pytest.fixture
def example_client(example_store: Path) -> Iterator[TestClient]:
    settings = Settings(db_path=example_store, cache_bytes=256 * 2**20)
    with TestClient(create_app(settings)) as client:
        yield client


def _timed(client: TestClient, url: str) -> tuple[float, dict[str, object]]:
    began = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return elapsed, body


def test_second_identical_request_is_at_least_20x_faster(example_client: TestClient) -> None:
    url = "/v1/attribution?model=markov&by=campaign"
    cold, first = _timed(example_client, url)
    warm = min(_timed(example_client, url)[0] for _ in range(5))
    assert _timed(example_client, url)[1] == first
    assert cold / warm >= 20, f"cold {cold * 1000:.1f} ms, warm {warm * 1000:.2f} ms"


def test_two_spellings_of_one_query_share_an_entry(example_client: TestClient) -> None:
    first = example_client.get("/v1/attribution?model=time_decay&half_life_days=7")
    hits_before = _cache_hits(example_client)
    again = example_client.get("/v1/attribution?model=time_decay&half_life_days=7.0")
    assert again.json() == first.json()
    assert _cache_hits(example_client) > hits_before


def _cache_hits(client: TestClient) -> int:
    body = client.get("/v1/health").json()
    hits: int = body["cache"]["hits"]
    return hits


def test_pages_are_cut_from_one_cached_result(example_client: TestClient) -> None:
    whole = example_client.get("/v1/attribution?model=linear&by=campaign").json()
    rows, cursor = [], None
    while True:
        url = "/v1/attribution?model=linear&by=campaign&limit=7"
        page = example_client.get(url + (f"&cursor={cursor}" if cursor else "")).json()
        rows += page["data"]
        assert page["totals"] == whole["totals"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert rows == whole["data"]


NEW_CONVERSION = (
    "conversion_id,user_id,ts,stage,revenue\nnew-1,someone-new,2024-03-01T00:00:00Z,{stage},1000\n"
)


def test_an_ingest_over_http_is_reflected_in_the_next_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    for table in ("touchpoints", "conversions"):
        ingest_files(store, table, [EXAMPLES / f"{table}.csv"])
    stage = store.stages()[-1]
    with TestClient(create_app(Settings(db_path=store.path))) as client:
        with_key(client, store.path)
        url = f"/v1/attribution?model=linear&stage={stage}"
        before = client.get(url).json()["totals"]["revenue"]
        upload = {"file": ("more.csv", NEW_CONVERSION.format(stage=stage).encode())}
        assert client.post("/v1/ingest/conversions", files=upload).status_code == 200
        after = client.get(url).json()["totals"]["revenue"]
    assert after == pytest.approx(before + 1000)


def test_an_ingest_from_another_process_is_reflected_in_the_next_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    for table in ("touchpoints", "conversions"):
        ingest_files(store, table, [EXAMPLES / f"{table}.csv"])
    stage = store.stages()[-1]
    extra = tmp_path / "more.csv"
    extra.write_text(NEW_CONVERSION.format(stage=stage))
    with TestClient(create_app(Settings(db_path=store.path))) as client:
        url = f"/v1/attribution?model=first_touch&stage={stage}"
        before = client.get(url).json()["totals"]["revenue"]
        assert client.get(url).json()["totals"]["revenue"] == before  # cached
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.cli",
                "ingest",
                "conversions",
                str(extra),
                "--db",
                str(store.path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        after = client.get(url).json()["totals"]["revenue"]
    assert after == pytest.approx(before + 1000)


def test_the_cache_is_bounded_in_bytes(example_store: Path) -> None:
    settings = Settings(db_path=example_store, cache_bytes=2**20)
    with TestClient(create_app(settings)) as client:
        for model in ("first_touch", "last_touch", "linear", "position_based"):
            assert client.get(f"/v1/attribution?model={model}").status_code == 200
        cache = client.get("/v1/health").json()["cache"]
    assert cache["bytes"] <= cache["max_bytes"] == 2**20
