"""``POST /v1/ingest/{table}`` holds uploads and bodies to the text and file rules of #12.

A text value with a control character (a bidi override, a NUL, a line break)
or more than ``CLOSEDLOOP_MAX_TEXT`` characters is a 422 naming its row and
field; an upload whose rows do not have the header's fields, or whose quote
never closes, is a 422 naming the row. Nothing is written in either case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

AssertProblem = Callable[..., dict[str, Any]]

HEADER = "touchpoint_id,user_id,ts,channel"
RLO = (
    "contains the invisible control character U+202E (RIGHT-TO-LEFT OVERRIDE), "
    "which can disguise text; remove it, got 'Em\\u202eail'"
)


@pytest.fixture(autouse=True)
def _default_text_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOSEDLOOP_MAX_TEXT", raising=False)


def upload(client: TestClient, name: str, text: str) -> Any:
    return client.post("/v1/ingest/touchpoints", files={"file": (name, text.encode())})


def touchpoints(client: TestClient) -> int:
    counts: dict[str, int] = client.get("/v1/health").json()["counts"]
    return counts["touchpoints"]


def test_upload_with_a_bidi_override(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = upload(empty_client, "bidi.csv", f"{HEADER}\nt1,u1,2024-01-01,Em\u202eail\n")
    body = assert_problem(response, 422, "Validation failed")
    assert body["errors"] == [{"file": "bidi.csv", "row": 1, "field": "channel", "message": RLO}]
    assert "\u202e" not in response.text
    assert touchpoints(empty_client) == 0


def test_json_and_ndjson_bodies_with_control_characters(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    rows = [
        {"touchpoint_id": "t1", "user_id": "u1", "ts": "2024-01-01", "channel": "Em\u202eail"},
        {"touchpoint_id": "t2", "user_id": "u\u00002", "ts": "2024-01-01", "channel": "Email"},
    ]
    expected = [
        {"file": "request body", "row": 1, "field": "channel", "message": RLO},
        {
            "file": "request body",
            "row": 2,
            "field": "user_id",
            "message": "contains the invisible control character U+0000 (NULL); "
            "remove it, got 'u\\x002'",
        },
    ]
    response = empty_client.post("/v1/ingest/touchpoints", json=rows)
    assert assert_problem(response, 422, "Validation failed")["errors"] == expected
    ndjson = "".join(json.dumps(row) + "\n" for row in rows)
    response = empty_client.post(
        "/v1/ingest/touchpoints",
        content=ndjson.encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert assert_problem(response, 422, "Validation failed")["errors"] == expected
    assert touchpoints(empty_client) == 0


def test_json_body_with_a_two_million_character_name(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    rows = [
        {"touchpoint_id": "t1", "user_id": "u1", "ts": "2024-01-01", "channel": "x" * 2_000_000}
    ]
    response = empty_client.post("/v1/ingest/touchpoints", json=rows)
    body = assert_problem(response, 422, "Validation failed")
    assert body["errors"][0]["message"] == (
        "expected at most 4,096 characters (CLOSEDLOOP_MAX_TEXT), "
        f"got 2,000,000 characters: '{'x' * 60}…'"
    )
    assert touchpoints(empty_client) == 0


def test_text_bound_is_read_at_each_ingest(
    empty_client: TestClient, monkeypatch: pytest.MonkeyPatch, assert_problem: AssertProblem
) -> None:
    rows = [{"touchpoint_id": "t1", "user_id": "u1", "ts": "2024-01-01", "channel": "Newsletter"}]
    monkeypatch.setenv("CLOSEDLOOP_MAX_TEXT", "8")
    response = empty_client.post("/v1/ingest/touchpoints", json=rows)
    assert assert_problem(response, 422, "Validation failed")["errors"][0]["field"] == "channel"
    monkeypatch.delenv("CLOSEDLOOP_MAX_TEXT")
    assert empty_client.post("/v1/ingest/touchpoints", json=rows).json()["inserted"] == 1


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (
            f"{HEADER}\nt3,u3,2024-01-01T00:00:00Z,Email,extra\nt4,u4\n",
            "Cannot read 'ragged.csv': row 1 (line 2 of the file) has 5 fields, but the header "
            "has 4. Quote a value that holds the separator ',' (\"a,b\"), or remove the extra "
            "fields. Other rows without 4 fields: row 2 has 2 fields.",
        ),
        (
            f'{HEADER}\nt5,u5,2024-01-01T00:00:00Z,"Email\nt6,u6,2024-01-01T00:00:00Z,Email\n',
            "Cannot read 'ragged.csv': a quoted value opens in row 1 (line 2 of the file), at "
            "byte 60, and never closes, so the rest of the file would be read as that one value. "
            'Close the quote, or write a quote inside a value as two ("").',
        ),
    ],
    ids=["ragged", "unclosed-quote"],
)
def test_malformed_uploads_name_the_row(
    empty_client: TestClient, assert_problem: AssertProblem, text: str, detail: str
) -> None:
    assert_problem(upload(empty_client, "ragged.csv", text), 422, "Invalid input", detail)
    assert touchpoints(empty_client) == 0
