"""``POST /v1/ingest/{table}``: load rows into the store over HTTP.

The same validation, transaction and idempotency as ``closedloop ingest``:
an upload is saved to a temporary file under its own name and read by
:func:`ingest.read_table` (format from the suffix, or ``?format=``), a JSON or
NDJSON body is read as such, and both go through :func:`ingest.ingest_frame`,
the call behind :func:`ingest.ingest_files`, named after the upload's file name
(or ``request body``), so problems read ``touchpoints.csv row 3, field 'ts': ...``.
One bad row means nothing is written and a 422 problem lists every rejected
value (``errors: [{row, field, message, file}]``), unless ``skip_invalid=true``.

The handler is ``async`` only to read the body; parsing and writing run in
the threadpool like the other routes, so they never block the event loop.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import unicodedata
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.http.deps import StoreDep
from api.http.errors import problem_responses
from api.http.schemas import IngestSummaryPublic
from attribution.errors import InputError, UnknownTableError
from attribution.schema import TABLES
from ingest import Store, ingest_frame, parse_map_args, read_table
from ingest.readers import READERS

router = APIRouter(prefix="/ingest", tags=["ingest"])

_JSON_TYPES = {"application/json": "json"}
_NDJSON_TYPES = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
}
_BODY_TYPES = {**_JSON_TYPES, **_NDJSON_TYPES}

_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A file upload (multipart field `file`; format from the file name's "
        "suffix or `?format=`), a JSON array of records, or NDJSON (one record per line).",
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
                        "touchpoint_id": "t1",
                        "user_id": "u1",
                        "ts": "2024-03-01T10:00:00Z",
                        "channel": "Email",
                    }
                ],
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise UnknownTableError(table, TABLES)


MAX_NAME_BYTES = 120
"""Longest upload name kept as it is (UTF-8 bytes); longer ones are shortened, suffixes kept."""


def _upload_name(filename: str | None, fmt: str | None) -> str:
    """Return a safe base name for the upload, so problems name the user's file.

    Never a path; control and bidirectional-formatting characters are dropped;
    a name longer than :data:`MAX_NAME_BYTES` keeps its start and its
    suffixes (``.csv.gz``), which pick the reader.

    Examples
    --------
    >>> _upload_name("../../etc/passwd", None), _upload_name(None, "parquet")
    ('passwd', 'upload.parquet')
    >>> _upload_name("a" * 300 + ".csv.gz", None)[-12:]
    'aaaa….csv.gz'
    >>> _upload_name("evil\u202egpj.csv", None)
    'evilgpj.csv'
    """
    raw = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in raw if unicodedata.category(c)[0] != "C")
    if name in {"", ".", ".."}:
        return f"upload.{fmt or 'csv'}"
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    suffixes = "".join(s for s in Path(name).suffixes[-2:] if len(s) <= 9 and s[1:].isalnum())
    stem = name[: len(name) - len(suffixes)] if suffixes else name
    while len((stem + "…" + suffixes).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + "…" + suffixes


def _ingest_upload(
    store: Store,
    table: str,
    source: IO[bytes],
    name: str,
    *,
    fmt: str | None,
    mapping: dict[str, str],
    skip_invalid: bool,
) -> dict[str, Any]:
    # Saved under the user's file name: the suffix picks the reader and a
    # gzipped upload is decompressed exactly as `closedloop ingest` would.
    with tempfile.TemporaryDirectory(prefix="closedloop-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            shutil.copyfileobj(source, out)
        frame = read_table(path, fmt)
    summary = ingest_frame(
        store, table, frame, source=name, mapping=mapping, skip_invalid=skip_invalid
    )
    return summary.to_dict()


def _read_body(body: bytes, fmt: str) -> pl.DataFrame:
    if not body.strip():
        raise InputError(
            "The request body is empty. Send a JSON array of records, NDJSON, or a multipart "
            "upload with the file in the field 'file'."
        )
    try:
        return READERS[fmt](io.BytesIO(body))
    except (pl.exceptions.PolarsError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Cannot read the request body as {fmt}: {reason}") from None


def _ingest_body(
    store: Store,
    table: str,
    body: bytes,
    fmt: str,
    *,
    mapping: dict[str, str],
    skip_invalid: bool,
) -> dict[str, Any]:
    frame = _read_body(body, fmt)
    summary = ingest_frame(
        store, table, frame, source="request body", mapping=mapping, skip_invalid=skip_invalid
    )
    return summary.to_dict()


@router.post(
    "/{table}",
    response_model=IngestSummaryPublic,
    responses=problem_responses(400, 404, 413, 415, 422, 503),
    openapi_extra=_REQUEST_BODY,
)
async def ingest_table(
    table: str,
    request: Request,
    store: StoreDep,
    skip_invalid: Annotated[
        bool,
        Query(description="Write the valid rows and report the rejected ones in the summary."),
    ] = False,
    fmt: Annotated[
        Literal["csv", "tsv", "parquet", "ndjson", "jsonl", "json"] | None,
        Query(alias="format", description="Format of an upload, if its suffix does not say."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        Query(
            alias="map",
            description="Rename your columns: `map=user_id=cookie` (repeatable).",
        ),
    ] = None,
) -> Any:
    """Validate rows and write them to `touchpoints`, `conversions`, `costs` or `identities`.

    One request is one transaction; re-sending the same rows changes nothing.
    """
    _check_table(table)
    try:
        mapping = parse_map_args(map_ or [])
    except InputError as exc:
        # The parser words its message for the command line's --map option.
        raise InputError(str(exc).replace("--map ", "map=")) from None
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InputError(
                    "The multipart upload has no file in the field 'file'. "
                    "Send it as: curl -F file=@touchpoints.csv ..."
                )
            return await run_in_threadpool(
                _ingest_upload,
                store,
                table,
                upload.file,
                _upload_name(upload.filename, fmt),
                fmt=fmt,
                mapping=mapping,
                skip_invalid=skip_invalid,
            )
    if media in _BODY_TYPES:
        body = await request.body()
        return await run_in_threadpool(
            _ingest_body,
            store,
            table,
            body,
            _BODY_TYPES[media],
            mapping=mapping,
            skip_invalid=skip_invalid,
        )
    raise HTTPException(
        415,
        detail=f"Cannot ingest a body of type '{media or '(none)'}'. Send multipart/form-data "
        "with the file in the field 'file', application/json (an array of records) or "
        "application/x-ndjson (one record per line).",
    )
