"""Schemathesis against the live OpenAPI schema: no 5xx, every error a valid problem+json.

The schema is the one the app serves at ``/openapi.json``, loaded through the
ASGI app itself, so it is what clients see. Every operation in it is fuzzed
in-process with requests Schemathesis generates from it, valid and invalid
(its examples, coverage and fuzzing phases), and every response must pass:

(a) no status >= 500: a request the API cannot serve is the client's error
    (4xx) or a documented 503, never a crash;
(b) every status >= 400 is an RFC 9457 problem, as :mod:`api.http.errors`
    promises: ``application/problem+json`` with ``type``, ``title``,
    ``detail`` and ``status`` equal to the HTTP status (401/403 from
    authentication included);
(c) Schemathesis' default checks: the status code, content type, headers and
    body are the documented ones, invalid input is rejected, unsupported
    methods get 405, a route that declares a key refuses a request without
    one or with a wrong one ... (exceptions: :func:`excluded_checks`).

The requests carry an admin key (:func:`auth_headers`) so they reach every
route, writes and person-level answers included; the server does not let
reads through without a key (``public_read=False``), as the schema says.

Bounded and deterministic, to run in ``make test``: :data:`EXAMPLES` fuzzed
examples per operation, derandomized, against a throwaway copy of the example
store (the ingest and delete routes write into it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case, HookContext
from schemathesis.checks import CheckContext, CheckFunction
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.http.app import create_app
from api.http.errors import PROBLEM_MEDIA_TYPE
from api.http.settings import Settings
from attribution.schema import TABLES
from ingest import Store
from ingest.keys import KeyRing

EXAMPLES = 20
"""Examples per operation in the fuzzing phase (the examples and coverage phases add theirs)."""


def excluded_checks(case: Case[Any]) -> list[CheckFunction]:
    """Schemathesis' checks left out for ``case``, each for a reason the schema cannot state."""
    excluded: list[CheckFunction] = [
        # "Schema-valid request rejected": a request can match the schema and still get a
        # 422 problem for what a schema cannot say: a period with no conversions, a stage or
        # channel the store does not hold, a cursor that is not a previous page's
        # `next_cursor`, a `map=` that is not `column=column`. (b) still checks the 422.
        positive_data_acceptance,
    ]
    return excluded


def server_settings(db_path: Path) -> Settings:
    """Settings of the app under test: reads need a key, as the schema declares."""
    return Settings(db_path=db_path, wait_seconds=0.2, public_read=False)


@pytest.fixture(scope="module")
def store_copy(filled_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example store this module may write into (``POST /v1/ingest/*``)."""
    path = tmp_path_factory.mktemp("schemathesis") / filled_db.name
    shutil.copyfile(filled_db, path)
    return path


@pytest.fixture(scope="module")
def app(store_copy: Path) -> FastAPI:
    """The app under test, on that copy."""
    return create_app(server_settings(store_copy))


@pytest.fixture(scope="module")
def auth_headers(store_copy: Path) -> dict[str, str]:
    """Headers every request carries: a new admin key of the store, so every route is reached.

    Schemathesis' auth check sends each request once more without the key and
    once with a wrong one, and wants a 401 problem for both.
    """
    _, token = KeyRing(Store(store_copy)).create("schemathesis", "admin")
    # As a bearer token: the schema's first scheme, so Schemathesis takes this header for
    # the request's own credentials instead of generating a random one in its place.
    return {"Authorization": f"Bearer {token}"}


def problem_details(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Checks (a) and (b): no 5xx, and every error is an RFC 9457 problem+json body."""
    status = response.status_code
    assert status < 500, f"{status} for {case.method} {case.formatted_path}: {response.content!r}"
    if status < 400:
        return None
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == PROBLEM_MEDIA_TYPE, f"{status} answered as {media_type!r}"
    body: Any = json.loads(response.content)
    assert isinstance(body, dict), f"{status} answered with {body!r}, not a JSON object"
    for member in ("type", "title", "detail"):
        assert isinstance(body.get(member), str), f"{status} problem has no {member}: {body}"
    assert body.get("status") == status, f"{status} problem says status {body.get('status')!r}"
    return None


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: schemathesis.SerializationContext, value: Any) -> bytes:
    """Send ``POST /v1/ingest/*``'s NDJSON body (a string in the schema) as its UTF-8 bytes."""
    return str(value).encode()


SCHEMA = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(server_settings(Path("unused-by-openapi.duckdb")))
)
"""The schema as the app serves it, loaded at collection to parametrize over its operations.

Serving ``/openapi.json`` does not open the store, so this app's store path is
never used: the requests go to the ``app`` fixture (``case.call(app=...)``),
which serves the same schema (:func:`test_schema_is_the_one_served`).
``schemathesis.pytest.from_fixture`` would load it from that app directly, but
it fails under pytest 9.2 (it sets ``Node._nodeid``, which pytest renamed).
"""


@SCHEMA.hook
def flatmap_path_parameters(
    ctx: HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Send ``POST /v1/ingest/{table}`` to the real tables too, not only to unknown names.

    The schema types ``table`` as any string (an unknown one is a 404 naming the
    tables), so the fuzzer alone would never reach the readers and validators.
    """
    if not path_parameters or "table" not in path_parameters:
        return st.just(path_parameters)
    tables = [*TABLES, path_parameters["table"]]
    return st.sampled_from(tables).map(lambda table: {**path_parameters, "table": table})


def test_schema_is_the_one_served(app: FastAPI) -> None:
    assert app.openapi() == SCHEMA.raw_schema


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@SCHEMA.parametrize()
def test_api(case: Case[Any], app: FastAPI, auth_headers: dict[str, str]) -> None:
    case.call_and_validate(
        app=app,
        headers=auth_headers,
        additional_checks=[problem_details],
        excluded_checks=excluded_checks(case),
    )
