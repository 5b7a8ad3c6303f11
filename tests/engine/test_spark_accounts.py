"""Account journeys on the Spark engine: the lake gives the store's numbers.

The hand-worked Acme case of ``tests/api/test_account_journeys.py`` (Ana's
Search and Email, Bo's Webinar, Acme's 900 deal) exported to a Parquet lake:
by account, 300 per touch; a lake exported before the ``accounts`` table
existed still reads, linking only the deal's contact (450 + 450).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

from api.services import AttributionQuery, Services
from ingest import Store, ingest_files
from tests.api.test_account_journeys import write_case
from tests.conftest import require


@pytest.fixture(scope="module")
def spark() -> Any:
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed")
    from engine.spark import spark_session

    return spark_session("local[2]")


def revenue(services: Services, model: str) -> dict[str, float]:
    query = AttributionQuery.create(model, journey="account")
    return {r["channel"]: r["revenue"] for r in services.attribution(query).to_dict()["data"]}


def test_lake_account_journeys_equal_the_store(spark: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "acme.duckdb")
    for table, path in write_case(tmp_path).items():
        ingest_files(store, table, [path])
    store.export(tmp_path / "lake")
    lake = Services.for_lake(tmp_path / "lake", master="local[2]")
    for model in ("markov", "linear"):  # the engine's steps, and its converting journeys
        assert revenue(lake, model) == pytest.approx(revenue(Services.for_store(store), model))
    assert revenue(lake, "linear") == pytest.approx(
        {"Search": 300.0, "Email": 300.0, "Webinar": 300.0}
    )
    shutil.rmtree(tmp_path / "lake" / "accounts")
    older = Services.for_lake(tmp_path / "lake", master="local[2]")
    assert revenue(older, "markov") == pytest.approx({"Search": 450.0, "Email": 450.0})
