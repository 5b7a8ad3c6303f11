from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from ingest import Store

AssertProblem = Callable[..., dict[str, Any]]

BAD_TOUCHPOINTS_CSV = """\
touchpoint_id,user_id,ts,channel
t9,u9,yesterday,Email
t10,,2024-01-01,Email
t9,u1,2024-01-01,Email
t11,u1,2024-01-02,Email
"""

CONVERSION_ROWS: list[dict[str, Any]] = [
    {
        "conversion_id": "c1",
        "user_id": "u1",
        "ts": "2024-01-10T00:00:00Z",
        "stage": "closed_won",
        "revenue": 100,
    },
    {"conversion_id": "c2", "user_id": "u2", "ts": "2024-01-06", "stage": "closed_won"},
]


def counts(client: TestClient) -> dict[str, int]:
    result: dict[str, int] = client.get("/v1/health").json()["counts"]
    return result


def summary_counts(body: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return (
        body["rows_read"],
        body["inserted"],
        body["updated"],
        body["unchanged"],
        body["rejected"],
    )


@pytest.fixture
def touchpoints_csv(example_files: dict[str, Path]) -> bytes:
    return example_files["touchpoints"].read_bytes()


def upload(client: TestClient, table: str, name: str, data: bytes, query: str = "") -> Any:
    return client.post(f"/v1/ingest/{table}{query}", files={"file": (name, data)})


def test_ingest_table_upload(empty_client: TestClient, touchpoints_csv: bytes) -> None:
    response = upload(empty_client, "touchpoints", "touchpoints.csv", touchpoints_csv)
    assert response.status_code == 200
    body = response.json()
    assert body["table"] == "touchpoints"
    assert body["files"] == ["touchpoints.csv"]
    assert summary_counts(body) == (4, 4, 0, 0, 0)
    assert body["problems"] == []
    assert counts(empty_client)["touchpoints"] == 4


def test_ingest_table_upload_again_changes_nothing(
    empty_client: TestClient, db_path: Path, touchpoints_csv: bytes
) -> None:
    upload(empty_client, "touchpoints", "touchpoints.csv", touchpoints_csv)
    before = Store(db_path).read("touchpoints")
    response = upload(empty_client, "touchpoints", "touchpoints.csv", touchpoints_csv)
    assert summary_counts(response.json()) == (4, 0, 0, 4, 0)
    assert Store(db_path).read("touchpoints").equals(before)


def test_ingest_table_upload_updates_by_key(
    empty_client: TestClient, example_files: dict[str, Path]
) -> None:
    conversions_csv = example_files["conversions"].read_text()
    upload(empty_client, "conversions", "conversions.csv", conversions_csv.encode())
    moved = conversions_csv.replace(
        "c2,u2,2024-01-06T00:00:00Z,closed_won,50", "c2,u2,2024-01-06T00:00:00Z,closed_won,75"
    )
    response = upload(empty_client, "conversions", "conversions.csv", moved.encode())
    assert summary_counts(response.json()) == (3, 0, 1, 2, 0)


def test_ingest_table_upload_gzip_and_format(
    empty_client: TestClient, touchpoints_csv: bytes
) -> None:
    gz = upload(empty_client, "touchpoints", "t.csv.gz", gzip.compress(touchpoints_csv))
    assert gz.status_code == 200
    forced = upload(empty_client, "touchpoints", "t.txt", touchpoints_csv, "?format=csv")
    assert summary_counts(forced.json()) == (4, 0, 0, 4, 0)


def test_ingest_table_upload_keeps_only_the_base_name(
    empty_client: TestClient, touchpoints_csv: bytes
) -> None:
    response = upload(empty_client, "touchpoints", "../../etc/t.csv", touchpoints_csv)
    assert response.json()["files"] == ["t.csv"]


def test_a_300_character_upload_name_is_shortened_not_a_500(
    empty_client: TestClient, touchpoints_csv: bytes
) -> None:
    # Issue #12: the name became a temporary file name longer than the file system allows.
    name = "a" * 300 + ".csv.gz"
    response = upload(empty_client, "touchpoints", name, gzip.compress(touchpoints_csv))
    assert response.status_code == 200, response.text
    (shown,) = response.json()["files"]
    assert shown.endswith("….csv.gz")
    assert shown.startswith("aaaa")
    assert len(shown.encode()) <= 120
    odd = upload(empty_client, "touchpoints", "t\u202egpj.csv", touchpoints_csv)
    assert odd.json()["files"] == ["tgpj.csv"]


def test_ingest_table_upload_with_map(empty_client: TestClient, touchpoints_csv: bytes) -> None:
    theirs = touchpoints_csv.decode().replace("user_id", "cookie").replace(",ts,", ",time,")
    response = upload(
        empty_client,
        "touchpoints",
        "events.csv",
        theirs.encode(),
        "?map=user_id=cookie&map=ts=time",
    )
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 4


def test_ingest_table_bad_map(
    empty_client: TestClient, assert_problem: AssertProblem, touchpoints_csv: bytes
) -> None:
    response = upload(empty_client, "touchpoints", "t.csv", touchpoints_csv, "?map=user_id")
    assert_problem(
        response,
        422,
        "Invalid input",
        "Bad map='user_id': expected <canonical column>=<your column>, e.g. map=ts=event_time.",
    )


def test_ingest_table_validation_failed(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = upload(empty_client, "touchpoints", "bad.csv", BAD_TOUCHPOINTS_CSV.encode())
    body = assert_problem(
        response, 422, "Validation failed", "3 problem(s) found; nothing was written."
    )
    assert body["total"] == 3
    assert body["errors"] == [
        {
            "file": "bad.csv",
            "row": 1,
            "field": "ts",
            "message": "expected an ISO 8601 timestamp, a date or epoch seconds/milliseconds, "
            "got 'yesterday'",
        },
        {"file": "bad.csv", "row": 2, "field": "user_id", "message": "required value is missing"},
        {
            "file": "bad.csv",
            "row": 3,
            "field": "touchpoint_id",
            "message": "duplicate key (touchpoint_id='t9'), first seen at row 1",
        },
    ]
    assert counts(empty_client)["touchpoints"] == 0


def test_ingest_table_skip_invalid(empty_client: TestClient) -> None:
    response = upload(
        empty_client, "touchpoints", "bad.csv", BAD_TOUCHPOINTS_CSV.encode(), "?skip_invalid=true"
    )
    assert response.status_code == 200
    body = response.json()
    assert summary_counts(body) == (4, 1, 0, 0, 3)
    assert body["rejects_path"] is None
    assert [(p["row"], p["field"]) for p in body["problems"]] == [
        (1, "ts"),
        (2, "user_id"),
        (3, "touchpoint_id"),
    ]
    assert counts(empty_client)["touchpoints"] == 1


def test_ingest_table_json_body(empty_client: TestClient, db_path: Path) -> None:
    response = empty_client.post("/v1/ingest/conversions", json=CONVERSION_ROWS)
    assert response.status_code == 200
    body = response.json()
    assert body["files"] == ["request body"]
    assert summary_counts(body) == (2, 2, 0, 0, 0)
    stored = Store(db_path).read("conversions")
    assert stored["revenue"].to_list() == [100.0, 0.0]
    assert stored["ts"].dtype == pl.Datetime("us", "UTC")


def test_ingest_table_json_body_again_changes_nothing(empty_client: TestClient) -> None:
    empty_client.post("/v1/ingest/conversions", json=CONVERSION_ROWS)
    response = empty_client.post("/v1/ingest/conversions", json=CONVERSION_ROWS)
    assert summary_counts(response.json()) == (2, 0, 0, 2, 0)


def test_ingest_table_ndjson_body(empty_client: TestClient) -> None:
    body = "\n".join(json.dumps(row) for row in CONVERSION_ROWS).encode()
    response = empty_client.post(
        "/v1/ingest/conversions", content=body, headers={"Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200
    assert response.json()["inserted"] == 2


def test_ingest_table_body_validation_failed(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    rows = [*CONVERSION_ROWS, {**CONVERSION_ROWS[0], "conversion_id": "c3", "revenue": -40}]
    response = empty_client.post("/v1/ingest/conversions", json=rows)
    body = assert_problem(
        response, 422, "Validation failed", "1 problem(s) found; nothing was written."
    )
    assert body["errors"] == [
        {
            "file": "request body",
            "row": 3,
            "field": "revenue",
            "message": "expected a number ≥ 0, got '-40'",
        }
    ]
    assert counts(empty_client)["conversions"] == 0


def test_ingest_table_unknown_table(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = empty_client.post("/v1/ingest/deals", json=CONVERSION_ROWS)
    body = assert_problem(
        response,
        404,
        "Unknown table",
        "Unknown table 'deals'. Available tables: accounts, conversions, costs, identities, "
        "lift_tests, touchpoints.",
    )
    assert body["available"] == [
        "accounts",
        "conversions",
        "costs",
        "identities",
        "lift_tests",
        "touchpoints",
    ]


def test_ingest_table_missing_columns(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = empty_client.post("/v1/ingest/costs", json=[{"day": "2024-01-01", "spend": 3}])
    assert_problem(
        response,
        422,
        "Missing columns",
        "request body is missing required column(s): 'date', 'channel'. Found: 'day', 'spend'. "
        "Map yours with --map date=<your column> --map channel=<your column>.",
    )


def test_ingest_table_unsupported_media_type(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = empty_client.post(
        "/v1/ingest/costs", content=b"date,channel,spend\n", headers={"Content-Type": "text/csv"}
    )
    assert_problem(
        response,
        415,
        "Unsupported Media Type",
        "Cannot ingest a body of type 'text/csv'. Send multipart/form-data with the file in the "
        "field 'file', application/json (an array of records) or application/x-ndjson "
        "(one record per line).",
    )


def test_ingest_table_upload_without_file_field(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = empty_client.post("/v1/ingest/costs", files={"upload": ("c.csv", b"x")})
    assert_problem(
        response,
        422,
        "Invalid input",
        "The multipart upload has no file in the field 'file'. "
        "Send it as: curl -F file=@touchpoints.csv ...",
    )


def test_ingest_table_unsupported_file_type(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = upload(empty_client, "costs", "costs.xlsx", b"PK")
    assert_problem(
        response,
        422,
        "Unsupported file format",
        "Cannot read 'costs.xlsx': unsupported file type '.xlsx'. Supported: .csv, .csv.gz, "
        ".json, .json.gz, .jsonl, .jsonl.gz, .ndjson, .ndjson.gz, .parquet, .tsv, .tsv.gz.",
    )


def test_ingest_table_bad_format_parameter(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = upload(empty_client, "costs", "costs.csv", b"x", "?format=xlsx")
    body = assert_problem(response, 422, "Invalid request")
    assert body["errors"][0]["field"] == "format"


def test_ingest_table_bad_input_is_a_problem_not_a_500(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    cases = [
        (b"", "application/json", "Invalid input"),
        (b'[{"conversion_id":', "application/json", "Invalid input"),
        (b"[1, 2]", "application/json", "Invalid input"),
        (b'"text"', "application/json", "Invalid input"),
        (b"[]", "application/json", "Missing columns"),
        (b"not json\n", "application/x-ndjson", "Invalid input"),
    ]
    for body, media, title in cases:
        response = empty_client.post(
            "/v1/ingest/conversions", content=body, headers={"Content-Type": media}
        )
        assert_problem(response, 422, title)
    for name, data in (("t.parquet", b"not parquet"), ("t.csv.gz", b"not gzip"), ("t.csv", b"")):
        assert_problem(upload(empty_client, "touchpoints", name, data), 422, "Invalid input")
    nested = [{"date": "2024-01-01", "channel": "Email", "spend": {"a": 1}}]
    assert_problem(empty_client.post("/v1/ingest/costs", json=nested), 422, "Wrong column type")


def test_ingest_table_empty_body_detail(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    response = empty_client.post(
        "/v1/ingest/costs", content=b"", headers={"Content-Type": "application/json"}
    )
    assert_problem(
        response,
        422,
        "Invalid input",
        "The request body is empty. Send a JSON array of records, NDJSON, or a multipart upload "
        "with the file in the field 'file'.",
    )


def test_ingest_then_attribute(empty_client: TestClient, example_files: dict[str, Path]) -> None:
    for table, path in example_files.items():
        assert upload(empty_client, table, path.name, path.read_bytes()).status_code == 200
    body = empty_client.get("/v1/attribution", params={"model": "linear"}).json()
    assert body["totals"]["revenue"] == 150.0


# CRM exports as they come: the command's options as query parameters


CRM_CSV = """\
conversion_id,user_id,ts,stage,revenue
o1,u1,03/15/2025,Closed Won,"$12,000.00"
o2,u2,03/16/2025,Demo Booked,$0
"""


def test_ingest_a_crm_export(empty_client: TestClient, db_path: Path) -> None:
    query = "?stage_map=Demo%20Booked%3Dopportunity"
    response = upload(empty_client, "conversions", "deals.csv", CRM_CSV.encode(), query)
    assert response.status_code == 200, response.text
    assert summary_counts(response.json()) == (2, 2, 0, 0, 0)
    rows = Store(db_path).read("conversions").select("stage", "revenue").rows()
    assert rows == [("closed_won", 12_000.0), ("opportunity", 0.0)]


def test_ingest_ambiguous_dates_names_the_query_parameter(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    data = b"conversion_id,user_id,ts,stage\no1,u1,03/04/2025,lead\n"
    response = upload(empty_client, "conversions", "deals.csv", data)
    assert_problem(
        response,
        422,
        "Ambiguous dates",
        "deals.csv, column 'ts': cannot tell whether dates such as '03/04/2025' (row 1) are "
        "month/day/year or day/month/year: no first or second part is above 12. Pass "
        "date_format=%m/%d/%Y (month first) or date_format=%d/%m/%Y (day first).",
    )
    response = upload(empty_client, "conversions", "deals.csv", data, "?date_format=%25d/%25m/%25Y")
    assert response.status_code == 200, response.text
    assert counts(empty_client)["conversions"] == 1


def test_ingest_bad_date_format(empty_client: TestClient, assert_problem: AssertProblem) -> None:
    response = upload(empty_client, "conversions", "d.csv", CRM_CSV.encode(), "?date_format=%25H")
    body = assert_problem(response, 422, "Invalid parameter")
    assert body["detail"].startswith("Bad date_format='%H': it must give the year")


def test_ingest_decimal_comma(empty_client: TestClient, db_path: Path) -> None:
    rows = [{"date": "2025-03-15", "channel": "Email", "spend": "1.234,56"}]
    response = empty_client.post("/v1/ingest/costs?decimal=,", json=rows)
    assert response.status_code == 200, response.text
    assert Store(db_path).read("costs")["spend"].to_list() == [1234.56]


def test_ingest_first_money_in_another_currency(
    empty_client: TestClient, assert_problem: AssertProblem, db_path: Path
) -> None:
    rows = [
        {"conversion_id": f"c{i}", "user_id": "u", "ts": "2025-03-01", "stage": "closed_won",
         "revenue": 5, "currency": "EUR"}
        for i in range(300)
    ]  # fmt: skip
    response = empty_client.post("/v1/ingest/conversions", json=rows)
    body = assert_problem(
        response,
        422,
        "Wrong currency",
        "request body: these rows are in EUR but the store reports in USD; this store holds no "
        "money yet: rerun with currency=EUR.",
    )
    assert "errors" not in body
    response = empty_client.post("/v1/ingest/conversions?currency=EUR", json=rows)
    assert response.status_code == 200, response.text
    assert Store(db_path).currency == "EUR"


def test_ingest_skip_invalid_that_keeps_nothing(
    empty_client: TestClient, assert_problem: AssertProblem
) -> None:
    rows = [{"date": "soon", "channel": "Email", "spend": "1"}]
    response = empty_client.post("/v1/ingest/costs?skip_invalid=true", json=rows)
    body = assert_problem(
        response,
        422,
        "Every row rejected",
        "every row was rejected (1 of 1). Nothing was written.",
    )
    assert body["total"] == 1
    assert body["errors"][0]["field"] == "date"
    assert counts(empty_client)["costs"] == 0


def test_ingest_stage_map_errors(empty_client: TestClient, assert_problem: AssertProblem) -> None:
    response = upload(empty_client, "conversions", "d.csv", CRM_CSV.encode(), "?stage_map=Won")
    assert_problem(
        response,
        422,
        "Invalid input",
        "Bad stage_map='Won': expected <your stage>=<stage>, e.g. stage_map=\"Closed "
        'Won=closed_won" (closedloop stages lists the stages).',
    )
    response = empty_client.post("/v1/ingest/costs?stage_map=a%3Db", json=[{"x": 1}])
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "stage_map renames conversion stages; costs have none. Drop it, or ingest conversions.",
    )


def test_ingest_identity_rows_without_both_ids(empty_client: TestClient) -> None:
    rows = [{"anonymous_id": "a1", "user_id": "u1"}, {"anonymous_id": "", "user_id": "u2"}]
    response = empty_client.post("/v1/ingest/identities", json=rows)
    assert response.status_code == 200, response.text
    assert summary_counts(response.json()) == (2, 1, 0, 0, 0)
