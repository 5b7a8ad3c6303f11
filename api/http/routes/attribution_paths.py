"""``POST /v1/attribution/paths``: attribute an aggregated path table sent in the request.

The table is ChannelAttribution's shape (``path``, ``total_conversions``,
``total_conversion_value``, ``total_null``; other names via repeated
``map=role=column`` with roles ``path``, ``conversions``, ``revenue``,
``nulls``), as a multipart file upload (field ``file``: CSV with any one-
character delimiter, TSV, Parquet, NDJSON, JSON) or a JSON array of records.
Nothing is stored. The answer is the same report as ``GET /v1/attribution``
with spend, ROAS, ROI and CPA null (paths carry no cost), and ``ci`` adds
bootstrap intervals (each path row stands for its counted journeys). A path
table has no dates and no currency: ``start``, ``end`` and ``currency`` are
``null`` in the answer unless the request gives them (they label the report;
nothing is filtered).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import polars as pl
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.http.deps import extra_query_params
from api.http.errors import problem_responses
from api.http.negotiation import respond
from api.http.params import (
    Accept,
    Bootstrap,
    Ci,
    Currency,
    End,
    Format,
    Seed,
    Start,
    table_responses,
)
from api.services.attribution import PathTableQuery, attribute_path_table
from api.services.queries import resolve_model
from attribution.errors import InputError
from ingest import parse_map_args
from ingest.readers import read_path_table

router = APIRouter(prefix="/attribution", tags=["attribution"])

KNOWN_PARAMETERS = frozenset(
    {"model", "sep", "delimiter", "map", "format", "ci", "bootstrap", "seed"}
    | {"start", "end", "currency"}
)
"""Query parameters of the route itself; any other one is a model parameter."""


def _read_upload(data: bytes, filename: str, delimiter: str | None) -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(data)
        return read_path_table(path, None, delimiter)


def _read_json(body: bytes) -> pl.DataFrame:
    try:
        return pl.read_json(io.BytesIO(body))
    except Exception as exc:  # polars raises several types for malformed JSON
        raise InputError(f"request body: not a JSON array of path records ({exc}).") from None


@router.post(
    "/paths",
    responses={**table_responses("The report"), **problem_responses(400, 404, 413, 415, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                    "example": [
                        {
                            "path": "search > email",
                            "total_conversions": 3,
                            "total_conversion_value": 120.0,
                            "total_null": 9,
                        }
                    ],
                },
            },
        }
    },
)
async def attribute_paths(
    request: Request,
    model: Annotated[str, Query(description="A registered model name.", examples=["markov"])],
    sep: Annotated[str, Query(description="Separator between channels in a path.")] = ">",
    delimiter: Annotated[
        str | None, Query(description="CSV delimiter; sniffed from the header when absent.")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        Query(alias="map", description="`role=column`, roles path, conversions, revenue, nulls."),
    ] = None,
    ci: Ci = None,
    bootstrap: Bootstrap = 200,
    seed: Seed = 0,
    start: Start = None,
    end: End = None,
    currency: Currency = None,
    fmt: Format = None,
    accept: Accept = None,
) -> Response:
    """Attribute an aggregated path table with any path-based model; nothing is stored."""
    query = PathTableQuery(
        model=resolve_model(model, extra_query_params(request, KNOWN_PARAMETERS)),
        sep=sep,
        columns=parse_map_args(mapping or []),
        ci=ci,
        bootstrap=bootstrap,
        seed=seed,
        start=start,
        end=end,
        currency=currency,
    )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InputError("The multipart body has no file field named 'file'.")
            data = await upload.read()
            name = upload.filename or "paths.csv"
        frame = await run_in_threadpool(_read_upload, data, name, delimiter)
        source = f"'{Path(name).name}'"
    elif content_type in {"application/json", ""}:
        frame = await run_in_threadpool(_read_json, await request.body())
        source = "request body"
    else:
        raise HTTPException(
            status_code=415,
            detail=f"Unsupported content type '{content_type}': send a multipart file upload "
            "(field 'file') or a JSON array.",
        )
    result = await run_in_threadpool(attribute_path_table, frame, replace(query, source=source))
    return respond(
        result.renamed(f"paths-{result.members['model']}"), request, fmt=fmt, accept=accept
    )


__all__ = ["router"]
