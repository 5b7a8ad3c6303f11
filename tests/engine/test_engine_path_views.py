"""The new path views from the store's engine equal the polars ones on the example data.

GA4's length and time-lag buckets and the early / middle / late touches of ``GET /v1/paths``
(the engine: converting journeys whole, the others as distinct paths), and
``shapley_ordered``'s positions (the engine's converting journeys).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from api.services import AttributionQuery, PathsQuery, Services
from tests.engine.test_engine_reports import _close
from tests.engine.test_engine_reports import stores as stores  # the module-scoped fixture

PERIODS: list[dict[str, Any]] = [{}, {"start": dt.date(2025, 3, 1), "end": dt.date(2025, 4, 30)}]


@pytest.mark.parametrize("period", PERIODS, ids=["all", "spring"])
def test_buckets_and_touch_positions(
    stores: tuple[Services, Services], period: dict[str, Any]
) -> None:
    engine, frames = stores
    query = PathsQuery(stage="closed_won", by="campaign", **period)
    got, want = engine.paths(query).members, frames.paths(query).members
    for member in ("length_buckets", "time_lag_buckets", "touch_positions"):
        assert want[member], member
        assert _close(got[member], want[member]), member
    total = sum(r["conversions"] for r in want["length_buckets"])
    for part in ("early", "middle", "late"):
        assert sum(r[f"{part}_conversions"] for r in want["touch_positions"]) == pytest.approx(
            total
        )


@pytest.mark.parametrize("position", ["first_visit", "touch"])
def test_shapley_ordered_positions(stores: tuple[Services, Services], position: str) -> None:
    engine, frames = stores
    query = AttributionQuery.create("shapley_ordered", {"position": position}, stage="closed_won")
    got = engine.attribution(query).members["positions"]
    want = frames.attribution(query).members["positions"]
    assert _close(sorted(got["data"], key=_row_key), sorted(want["data"], key=_row_key))


def _row_key(row: dict[str, Any]) -> tuple[str, str]:
    return row["position"], row["channel"]
