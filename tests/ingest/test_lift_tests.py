"""The lift_tests table: keys (campaign optional), signed numbers, idempotent re-ingest."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest import Store, ingest_files
from ingest.validate import validate

LIFT_CSV = """\
channel,campaign,start,end,incremental_revenue,incremental_conversions,lower,upper
Paid Social,,2025-03-03,2025-03-30,26000,,19000,33000
Paid Social,meta_retargeting,2025-03-03,2025-03-30,-1200,,-4000,1500
Email,,2025-04-07,2025-05-04,,4,2.5,6
"""


def test_lift_tests_are_keyed_by_channel_campaign_and_days(tmp_path: Path) -> None:
    path = tmp_path / "lift.csv"
    path.write_text(LIFT_CSV)
    store = Store(tmp_path / "s.duckdb")
    first = ingest_files(store, "lift_tests", [path])
    again = ingest_files(store, "lift_tests", [path])
    assert (first.inserted, again.inserted, again.unchanged) == (3, 0, 3)
    stored = store.read("lift_tests").sort("channel", "campaign", nulls_last=False)
    assert stored["campaign"].to_list() == [None, None, "meta_retargeting"]
    assert stored["incremental_revenue"].to_list() == [None, 26000.0, -1200.0]
    assert stored["lower"].to_list() == [2.5, 19000.0, -4000.0]


def test_a_bound_beyond_the_amount_cap_is_refused() -> None:
    raw = pl.DataFrame(
        {
            "channel": ["Email"],
            "start": ["2025-03-01"],
            "end": ["2025-03-31"],
            "incremental_revenue": ["5"],
            "lower": ["-1e13"],
        }
    )
    _, problems, _ = validate(raw, "lift_tests", "lift.csv")
    assert [str(p) for p in problems] == [
        "lift.csv row 1, field 'lower': expected an amount from -1,000,000,000,000 to "
        "1,000,000,000,000 (CLOSEDLOOP_MAX_AMOUNT), got '-1e13'"
    ]
