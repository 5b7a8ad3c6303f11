"""Every interface sees the same stitched persons: API, CLI and the HTML report agree.

Touches are recorded under a cookie, the lead and the won deal under a CRM
id, and an identity pair links them. Attribution credits Email with the
deal; the funnel must put the lead and the deal on Email too (it used to
read raw ids and put them on ``(no touchpoint)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from api.cli import main as cli
from api.http.app import create_app
from api.http.settings import Settings
from api.services import (
    AttributionQuery,
    FunnelQuery,
    PathsQuery,
    Services,
    TimeSeriesQuery,
)
from api.services.queries import CompareQuery
from ingest import Store, ingest_files

from .conftest import TestClient

TOUCHES = """\
touchpoint_id,user_id,ts,channel
t1,cookie-1,2024-01-01T10:00:00Z,Email
t2,cookie-2,2024-01-02T10:00:00Z,Search
"""
SALES = """\
conversion_id,user_id,ts,stage,revenue
l1,crm-1,2024-01-02T00:00:00Z,lead,0
w1,crm-1,2024-01-10T00:00:00Z,closed_won,500
"""
PAIRS = """\
anonymous_id,user_id
cookie-1,crm-1
"""


@pytest.fixture
def stitched_store(tmp_path: Path) -> Path:
    store = Store(tmp_path / "stitched.duckdb")
    for table, text in (("touchpoints", TOUCHES), ("conversions", SALES), ("identities", PAIRS)):
        path = tmp_path / f"{table}.csv"
        path.write_text(text)
        ingest_files(store, table, [path])
    return store.path


STAGES = "lead,closed_won"


def test_every_service_sees_the_same_persons(stitched_store: Path) -> None:
    services = Services.for_store(Store(stitched_store))
    credit = services.attribution(AttributionQuery.create("linear", stage="closed_won"))
    assert {r["channel"]: r["revenue"] for r in credit.to_dict()["data"]}["Email"] == 500
    funnel = services.funnel(FunnelQuery.create(by="channel", stages=STAGES)).to_dict()
    email = next(r for r in funnel["data"] if r["channel"] == "Email")
    assert (email["leads"], email["won"]) == (1, 1)
    assert all(r["channel"] != "(no touchpoint)" for r in funnel["data"])
    paths = services.paths(PathsQuery(stage="closed_won")).to_dict()
    assert paths["data"][0]["path"] == "Email"
    series = services.timeseries(TimeSeriesQuery(stage="closed_won", interval="month"))
    assert {r["channel"]: r["revenue"] for r in series.to_dict()["data"]}["Email"] == 500
    compare = services.compare(CompareQuery.create(["first_touch"], stage="closed_won"))
    assert compare.to_dict()["data"][0]["channel"] == "Email"


def test_the_funnel_over_http_counts_stitched_persons(stitched_store: Path) -> None:
    with TestClient(create_app(Settings(db_path=stitched_store))) as client:
        body = client.get(f"/v1/funnel?by=channel&stages={STAGES}").json()
        credit = client.get("/v1/attribution?model=linear&stage=closed_won").json()
    email = next(r for r in body["data"] if r["channel"] == "Email")
    assert (email["leads"], email["won"]) == (1, 1)
    assert next(r for r in credit["data"] if r["channel"] == "Email")["revenue"] == 500


def test_the_funnel_on_the_command_line_counts_stitched_persons(
    stitched_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli(
        [
            "funnel",
            "--by",
            "channel",
            "--stages",
            STAGES,
            "--format",
            "json",
            "--db",
            str(stitched_store),
        ]
    )
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    email = next(r for r in body["data"] if r["channel"] == "Email")
    assert (email["leads"], email["won"]) == (1, 1)


def test_the_html_report_counts_stitched_persons(stitched_store: Path) -> None:
    from api.report import gather_report_data

    data = gather_report_data(Store(stitched_store), models=["linear"], stage="closed_won")
    assert isinstance(data.funnel, dict), data.funnel
    email = next(r for r in data.funnel["data"] if r["channel"] == "Email")
    assert (email["leads"], email["won"]) == (1, 1)
    channels = data.channels
    assert isinstance(channels, pl.DataFrame), channels
    revenue = dict(zip(channels["channel"], channels["revenue"], strict=True))
    assert revenue["Email"] == 500
