"""``GET /v1/models`` and ``GET /v1/models/{name}``: the model registry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.http.errors import problem_responses
from api.http.pagination import MAX_LIMIT, paginate
from api.http.params import DecimalDigits
from api.http.schemas import ModelPublic, ModelsPublic
from attribution import available_models, model_class

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=ModelsPublic, responses=problem_responses(422))
def list_models(
    request: Request,
    response: Response,
    limit: Annotated[
        int, DecimalDigits, Query(ge=1, le=MAX_LIMIT, description="Models per page.")
    ] = MAX_LIMIT,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> dict[str, Any]:
    """List every registered model with its parameters and their defaults."""
    data = [model_class(name).describe() for name in available_models()]
    page = paginate(data, request.url, limit, cursor)
    response.headers.update(page.headers())
    return {"data": page.rows, **page.meta()}


@router.get("/{name}", response_model=ModelPublic, responses=problem_responses(404))
def read_model(name: str) -> dict[str, Any]:
    """Describe one model: summary, parameters with defaults, and its docstring."""
    return model_class(name).describe()
