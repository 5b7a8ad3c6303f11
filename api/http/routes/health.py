"""``GET /v1/health``: the service is up, what its store holds, and how its cache does."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

from fastapi import APIRouter, Depends

from api.http.auth import permits
from api.http.deps import ServicesDep, StoreDep
from api.http.errors import problem_responses
from api.http.schemas import HealthPublic

router = APIRouter(prefix="/health", tags=["health"])


def _version() -> str:
    try:
        return version("closedloop")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


@router.get(
    "",
    response_model=HealthPublic,
    response_model_exclude_none=True,
    responses=problem_responses(503),
)
def read_health(
    store: StoreDep, services: ServicesDep, may_read: Annotated[bool, Depends(permits("read"))]
) -> dict[str, object]:
    """Report the version, the store's file name, row counts, currency, data version and cache.

    Needs no key; without one, on a server where reads need a key, only
    ``status`` and ``version`` are answered. The store is named by its file
    name only, not by its path on the server; all figures come from one
    snapshot of the store.
    """
    if not may_read:
        return {"status": "ok", "version": _version()}
    with store.snapshot() as snap:
        counts, currency, data_version = snap.counts(), snap.currency, snap.data_version
    return {
        "status": "ok",
        "version": _version(),
        "store": store.path.name,
        "counts": counts,
        "currency": currency,
        "data_version": data_version,
        "cache": services.cache.stats(),
    }


__all__ = ["router"]
