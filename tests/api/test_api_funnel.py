"""``GET /v1/funnel`` on the small example store (see conftest.py).

u1: lead Jan 2, won Jan 10 (100); u2: won Jan 6 (50), no lead row, so it
enters the funnel with its win. Both are leads; both are customers. The
data has lead and closed_won rows only: the default funnel is lead →
closed_won, and without a closed_lost row the win rate is unknown (null).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from fastapi.testclient import TestClient

from api.services import FunnelQuery, Services
from ingest import Store, ingest_files


def test_read_funnel_totals(client: TestClient) -> None:
    response = client.get("/v1/funnel")
    assert response.status_code == 200
    body = response.json()
    assert body["mode"] == "cohort"
    assert body["stages"] == ["lead", "closed_won"]
    assert (body["absent_stages"], body["count_columns"]) == (["closed_lost"], ["leads", "won"])
    totals = body["totals"]
    assert (totals["leads"], totals["customers"], totals["orders"]) == (2, 2, 2)
    assert totals["revenue"] == 150.0
    assert totals["lead_conversion_rate"] == 1.0
    # Spend 55 over two leads and two customers.
    assert (totals["spend"], totals["cpl"], totals["cpa"]) == (55.0, 27.5, 27.5)
    # No closed_lost at all: how many were lost is unknown, so is the win rate (not 100%).
    assert (totals["lost"], totals["win_rate"]) == (None, None)
    assert body["notes"] == [
        "note: no losing stage (closed_lost) in the data: lost and win_rate are null"
    ]
    # u1 is timed from its lead row (Jan 2 → Jan 10); u2 has no lead row.
    assert totals["days_lead_to_won_mean"] == 8.0
    assert response.headers["vary"] == "Accept"


def test_read_funnel_absent_stages_are_null_in_json_and_csv(client: TestClient) -> None:
    stages = "lead,mql,sql,opportunity,closed_won"
    body = client.get("/v1/funnel", params={"by": "channel", "stages": stages}).json()
    assert body["absent_stages"] == ["mql", "sql", "opportunity", "closed_lost"]
    for row in [*body["data"], body["totals"]]:
        for column in ("mqls", "sqls", "opportunities", "lost", "lead_to_mql_rate",
                       "opportunity_to_won_rate", "win_rate"):  # fmt: skip
            assert row[column] is None, column
    assert (body["totals"]["leads"], body["totals"]["won"]) == (2, 2)
    # Social has spend and nobody: 0 leads, but its MQLs stay unknown.
    social = next(r for r in body["data"] if r["channel"] == "Social")
    assert (social["leads"], social["mqls"]) == (0, None)
    response = client.get("/v1/funnel", params={"stages": stages, "format": "csv"})
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert (table[0]["leads"], table[0]["mqls"], table[0]["win_rate"]) == ("2", "", "")


def test_read_funnel_by_channel(client: TestClient) -> None:
    body = client.get("/v1/funnel", params={"by": "channel"}).json()
    rows = {row["channel"]: row for row in body["data"]}
    # u1's first touch is Email, u2's Search; Social has spend and no lead.
    assert rows["Email"]["leads"] == 1
    assert rows["Search"]["leads"] == 1
    assert rows["Social"]["leads"] == 0
    assert rows["Search"]["spend"] == 40.0
    assert rows["Social"]["cpl"] is None


def test_read_funnel_period_csv(client: TestClient) -> None:
    response = client.get(
        "/v1/funnel",
        params={
            "by": "channel",
            "mode": "period",
            "start": "2024-01-07",
            "end": "2024-01-31",
            "format": "csv",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="funnel-channel.csv"'
    table = list(csv.DictReader(io.StringIO(response.text)))
    total = next(row for row in table if row["channel"] == "TOTAL")
    # Only u1's win (Jan 10) is in the period; nobody became a lead in it.
    assert (total["leads"], total["won"], total["revenue"]) == ("0", "1", "100.0")


def test_read_funnel_csv_by_accept(client: TestClient) -> None:
    response = client.get("/v1/funnel", headers={"Accept": "text/csv"})
    assert response.text.startswith("group,leads,won,lost,")


def test_read_funnel_bad_grouping(
    client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = client.get("/v1/funnel", params={"by": "region"})
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "Cannot group the funnel by 'region'. Choose one of channel, campaign, lead_source, owner.",
    )


def test_read_funnel_bad_mode(
    client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = client.get("/v1/funnel", params={"mode": "weekly"})
    assert_problem(
        response,
        422,
        "Invalid parameter",
        "mode must be one of cohort, period. Got 'weekly' instead.",
    )


def test_read_funnel_empty_store(
    empty_client: TestClient, assert_problem: Callable[..., dict[str, Any]]
) -> None:
    response = empty_client.get("/v1/funnel")
    body = assert_problem(response, 422, "Empty input")
    assert body["detail"].startswith("There are no conversions to count")


def test_the_funnel_counts_stitched_persons_on_frames_and_on_the_store(tmp_path: Path) -> None:
    """The lead and the win under a CRM id, the touch under a cookie: one person, on Email."""
    touches = pl.DataFrame(
        {"touchpoint_id": ["t1"], "user_id": ["cookie-1"], "ts": ["2024-01-01T10:00:00Z"],
         "channel": ["Email"]}
    )  # fmt: skip
    sales = pl.DataFrame(
        {
            "conversion_id": ["l1", "w1", "l2"],
            "user_id": ["crm-1", "crm-1", "cookie-1"],
            "ts": ["2024-01-02T00:00:00Z", "2024-01-10T00:00:00Z", "2024-01-03T00:00:00Z"],
            "stage": ["lead", "closed_won", "lead"],
            "revenue": [0.0, 500.0, 0.0],
        }
    )
    pairs = pl.DataFrame({"anonymous_id": ["cookie-1"], "user_id": ["crm-1"]})
    store = Store(tmp_path / "stitched.duckdb")
    for table, frame in (("touchpoints", touches), ("conversions", sales), ("identities", pairs)):
        path = tmp_path / f"{table}.csv"
        frame.write_csv(path)
        ingest_files(store, table, [path])
    query = FunnelQuery.create(by="channel")
    frames = Services.for_frames(touches, sales, identities=pairs, currency=store.currency)
    on_frames = frames.funnel(query).to_dict()
    on_store = Services.for_store(store).funnel(query).to_dict()
    assert on_frames == on_store
    email = next(r for r in on_store["data"] if r["channel"] == "Email")
    # Two lead rows, one person: one lead, one customer, timed from the first lead row.
    assert (email["leads"], email["customers"], email["days_lead_to_won_mean"]) == (1, 1, 8.0)
    assert [r["channel"] for r in on_store["data"]] == ["Email"]
    raw = Services.for_store(store).funnel(FunnelQuery.create(by="channel", stitch=False))
    assert raw.to_dict()["totals"]["leads"] == 2
