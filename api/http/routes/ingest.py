"""``POST /v1/ingest/{table}``: load rows into the store over HTTP.

The same validation, transaction and idempotency as ``closedloop ingest``:
an upload is saved to a temporary file under its own name and read by
:func:`ingest.read_table` (format from the suffix, or ``?format=``), a JSON or
NDJSON body is read as such, and both go through :func:`ingest.ingest_frame`,
the call behind :func:`ingest.ingest_files`, named after the upload's file name
(or ``request body``), so problems read ``touchpoints.csv row 3, field 'ts': ...``.
One bad row means nothing is written and a 422 problem lists every rejected
value (``errors: [{row, field, message, file}]``), unless ``skip_invalid=true``;
with it, a request whose every row is rejected writes nothing and answers 422
too. ``currency=``, ``date_format=``, ``decimal=`` and ``stage_map=`` are the
command's ``--currency``, ``--date-format``, ``--decimal`` and ``--stage-map``,
and errors name them so. For costs, ``cost_channel_map=`` /
``cost_campaign_map=`` (``yours=the touches'``, repeatable) are the
``--cost-map`` file's rows, and ``cost_match=`` / ``cost_grain=`` the
command's ``--cost-match`` / ``--cost-grain``; the summary's ``notes`` say
what was renamed and spread.

The handler is ``async`` only to read the body; parsing and writing run in
the threadpool like the other routes, so they never block the event loop.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.http.deps import StoreDep
from api.http.errors import problem_responses
from api.http.schemas import IngestSummaryPublic
from attribution.errors import ClosedloopError, InputError, ParameterError, UnknownTableError
from attribution.schema import TABLES
from ingest import Store, ingest_frame, parse_map_args, read_table
from ingest.cost_names import CostMap, parse_cost_map_args
from ingest.loader import ForeignCurrencyError
from ingest.readers import READERS
from ingest.stages import parse_stage_map_args
from ingest.timestamps import AmbiguousDatesError

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


_OPTIONS = (
    ("--cost-map, --cost-match and --cost-grain", "cost_channel_map, cost_match and cost_grain"),
    ("--date-format ", "date_format="),
    ("--currency ", "currency="),
    ("--stage-map ", "stage_map="),
    ("--decimal ", "decimal="),
    ("--map ", "map="),
    ("--cost-grain ", "cost_grain="),
    ("--cost-match ", "cost_match="),
)
"""The command's options, as this route's query parameters."""

_WORDED = (InputError, ParameterError, ForeignCurrencyError, AmbiguousDatesError)
"""Errors whose message is worded for the command line and names its options."""


def _as_query(exc: ClosedloopError) -> ClosedloopError:
    """Return ``exc`` with the command's options named as query parameters (same class).

    Examples
    --------
    >>> str(_as_query(ForeignCurrencyError("rerun with --currency EUR.")))
    'rerun with currency=EUR.'
    """
    text = str(exc)
    if type(exc) not in _WORDED:
        return exc
    for option, parameter in _OPTIONS:
        text = text.replace(option, parameter)
    return exc if text == str(exc) else type(exc)(text)


@dataclass(frozen=True)
class _Options:
    """How the rows are read and written: the query's options for :func:`ingest.ingest_frame`."""

    mapping: dict[str, str]
    skip_invalid: bool = False
    currency: str | None = None
    date_format: str | None = None
    decimal: str = "."
    stage_map: dict[str, str] | None = None
    cost_map: CostMap | None = None
    cost_match: str = "exact"
    cost_grain: str = "day"

    def ingest(self, store: Store, table: str, frame: pl.DataFrame, source: str) -> dict[str, Any]:
        """Ingest ``frame`` as these options say, with errors worded for this route."""
        try:
            summary = ingest_frame(
                store,
                table,
                frame,
                source=source,
                mapping=self.mapping,
                skip_invalid=self.skip_invalid,
                currency=self.currency,
                date_format=self.date_format,
                decimal=self.decimal,
                stage_map=self.stage_map,
                cost_map=self.cost_map,
                cost_match=self.cost_match,
                cost_grain=self.cost_grain,
            )
        except ClosedloopError as exc:
            worded = _as_query(exc)
            if worded is exc:
                raise
            raise worded from None
        return summary.to_dict()


def _ingest_upload(
    store: Store,
    table: str,
    source: IO[bytes],
    name: str,
    *,
    fmt: str | None,
    options: _Options,
) -> dict[str, Any]:
    # Saved under the user's file name: the suffix picks the reader and a
    # gzipped upload is decompressed exactly as `closedloop ingest` would.
    with tempfile.TemporaryDirectory(prefix="closedloop-upload-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            shutil.copyfileobj(source, out)
        frame = read_table(path, fmt)
    return options.ingest(store, table, frame, name)


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
    store: Store, table: str, body: bytes, fmt: str, *, options: _Options
) -> dict[str, Any]:
    frame = _read_body(body, fmt)
    return options.ingest(store, table, frame, "request body")


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
    currency: Annotated[
        str | None,
        Query(
            description="Set the store's reporting currency (ISO 4217) in this request's "
            "transaction; only while the store holds no money in another one.",
            examples=["EUR"],
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        Query(
            description="strftime format of the timestamp or date column, e.g. `%m/%d/%Y` "
            "(default: ISO 8601, epoch numbers, and slash dates in the order the column shows).",
            examples=["%d/%m/%Y"],
        ),
    ] = None,
    decimal: Annotated[
        Literal[".", ","],
        Query(description="Decimal separator of money: `.` (1,234.56) or `,` (1.234,56)."),
    ] = ".",
    stage_map: Annotated[
        list[str] | None,
        Query(
            description="Rename conversion stages: `stage_map=Closed Won=closed_won` "
            "(repeatable; on top of the built-in Salesforce and HubSpot names).",
        ),
    ] = None,
    cost_channel_map: Annotated[
        list[str] | None,
        Query(
            description="Costs: rename a channel to the touches' name: "
            "`cost_channel_map=paid search=Paid Search` (repeatable).",
        ),
    ] = None,
    cost_campaign_map: Annotated[
        list[str] | None,
        Query(
            description="Costs: rename a campaign to the touches' name: "
            "`cost_campaign_map=BRAND_SEARCH=brand_search` (repeatable).",
        ),
    ] = None,
    cost_match: Annotated[
        Literal["exact", "loose"],
        Query(
            description="Costs: `exact` names, or `loose`: a channel or campaign equal to one "
            "touch name already in the store but for case and spaces takes that name.",
        ),
    ] = "exact",
    cost_grain: Annotated[
        Literal["day", "week", "month"],
        Query(
            description="Costs: each row's period, spread evenly over its days: `day`, `week` "
            "(rows dated the ISO week's Monday) or `month` (rows dated the 1st).",
        ),
    ] = "day",
) -> Any:
    """Validate rows and write them to a table: `touchpoints` ... `accounts`, `lift_tests`.

    One request is one transaction; re-sending the same rows changes nothing.
    """
    _check_table(table)
    try:
        mapping = parse_map_args(map_ or [])
        stages = parse_stage_map_args(stage_map or [])
        cost_map = CostMap(
            channel=parse_cost_map_args("channel", cost_channel_map or [], "cost_channel_map"),
            campaign=parse_cost_map_args("campaign", cost_campaign_map or [], "cost_campaign_map"),
        )
    except InputError as exc:
        # The parsers word their messages for the command line's options.
        raise _as_query(exc) from None
    if stages and table != "conversions":
        raise ParameterError(
            f"stage_map renames conversion stages; {table} have none. Drop it, or ingest "
            "conversions."
        )
    options = _Options(
        mapping,
        skip_invalid,
        currency,
        date_format,
        decimal,
        stages or None,
        cost_map if cost_map.size else None,
        cost_match,
        cost_grain,
    )
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
                options=options,
            )
    if media in _BODY_TYPES:
        body = await request.body()
        return await run_in_threadpool(
            _ingest_body,
            store,
            table,
            body,
            _BODY_TYPES[media],
            options=options,
        )
    raise HTTPException(
        415,
        detail=f"Cannot ingest a body of type '{media or '(none)'}'. Send multipart/form-data "
        "with the file in the field 'file', application/json (an array of records) or "
        "application/x-ndjson (one record per line).",
    )
