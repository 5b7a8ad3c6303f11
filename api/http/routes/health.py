"""``GET /v1/health``: the service is up, what its store holds, and how its cache does."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter

from api.http.deps import ServicesDep, StoreDep
from api.http.errors import problem_responses
from api.http.schemas import HealthPublic

router = APIRouter(prefix="/health", tags=["health"])


def _version() -> str:
    try:
        return version("closedloop")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


@router.get("", response_model=HealthPublic, responses=problem_responses(503))
def read_health(store: StoreDep, services: ServicesDep) -> dict[str, object]:
    """Report the version, the store's file name, row counts, currency, data version and cache.

    The store is named by its file name only, not by its path on the server;
    all figures come from one snapshot of the store.
    """
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
