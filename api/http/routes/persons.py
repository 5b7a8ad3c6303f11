"""``DELETE /v1/persons/{user_id}``: remove every row of one person (admin key).

The right to erasure over HTTP: the same call as ``closedloop delete``
(:meth:`ingest.Store.delete_person`), one transaction, following the ids
stitched to the person unless ``follow=false``. The answer says what went;
an id no row has answers 404, so a typo never reads as "done".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from api.http.deps import StoreDep
from api.http.errors import problem_responses
from api.http.schemas import PersonDeletionPublic

router = APIRouter(prefix="/persons", tags=["persons"])


@router.delete(
    "/{user_id}",
    response_model=PersonDeletionPublic,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def delete_person(
    store: StoreDep,
    user_id: Annotated[
        str, Path(min_length=1, max_length=512, description="Any id of the person.")
    ],
    follow: Annotated[
        bool,
        Query(description="Also delete the ids stitched to this one through identity pairs."),
    ] = True,
) -> Any:
    """Delete every touchpoint, conversion and identity pair of one person, in one transaction."""
    removed = await run_in_threadpool(store.delete_person, user_id, follow_identities=follow)
    if not removed.rows:
        raise HTTPException(404, detail=f"No row has the id {user_id[:64]!r}: nothing deleted.")
    return {
        "user_id": user_id,
        "ids": list(removed.ids),
        "touchpoints": removed.touchpoints,
        "conversions": removed.conversions,
        "identities": removed.identities,
        "accounts": removed.accounts,
        "rows": removed.rows,
    }


__all__ = ["router"]
