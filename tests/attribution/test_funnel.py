"""Lead-funnel metrics on a five-person data set worked out by hand.

The people (2024, UTC; see ``docs/funnel.md`` for the definitions):

- a: visits by Email (Jan 1), clicks Search (Jan 2); lead Jan 3, MQL Jan 4,
  SQL Jan 5, opportunity Jan 6, won Jan 11 (100), won again Mar 11 (50);
  lead source Web, owner rep1 from the SQL on;
- b: visits by Search (Jan 2); lead Jan 4, opportunity Jan 5 (skips MQL and
  SQL, so enters them Jan 5 too), lost Jan 10; Event, owner rep2;
- c: visits by Email (Jan 3); lead Jan 5; Web;
- d: visits by Social (Jan 4), never converts;
- e: no touch; lead Feb 1, won Feb 11 (200); Partner.

Spend: Email 10 (Jan 1) + 20 (Feb 1), Search 30 (Jan 2), Social 5 (Jan 4).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, TypedDict

import polars as pl
import pytest

from attribution.errors import ParameterError
from attribution.funnel import funnel
from attribution.funnel.stages import B2B_STAGES, ECOMMERCE_STAGES, FunnelStages

REL_TOL = 1e-12

TOUCHES = [
    ("t1", "a", "2024-01-01", "Email", "newsletter", "visit"),
    ("t2", "a", "2024-01-02", "Search", "brand", "click"),
    ("t3", "b", "2024-01-02", "Search", "generic", "visit"),
    ("t4", "c", "2024-01-03", "Email", "newsletter", "visit"),
    ("t5", "d", "2024-01-04", "Social", "prospecting", "visit"),
]

CONVERSIONS = [
    ("a", "2024-01-03", "lead", 0.0, None, "Web"),
    ("a", "2024-01-04", "mql", 0.0, None, "Web"),
    ("a", "2024-01-05", "sql", 0.0, "rep1", "Web"),
    ("a", "2024-01-06", "opportunity", 0.0, "rep1", "Web"),
    ("a", "2024-01-11", "closed_won", 100.0, "rep1", "Web"),
    ("a", "2024-03-11", "closed_won", 50.0, "rep1", "Web"),
    ("b", "2024-01-04", "lead", 0.0, None, "Event"),
    ("b", "2024-01-05", "opportunity", 0.0, "rep2", "Event"),
    ("b", "2024-01-10", "closed_lost", 0.0, "rep2", "Event"),
    ("c", "2024-01-05", "lead", 0.0, None, "Web"),
    ("e", "2024-02-01", "lead", 0.0, None, "Partner"),
    ("e", "2024-02-11", "closed_won", 200.0, None, "Partner"),
]

COSTS = [
    ("2024-01-01", "Email", "newsletter", 10.0),
    ("2024-02-01", "Email", "newsletter", 20.0),
    ("2024-01-02", "Search", "brand", 30.0),
    ("2024-01-04", "Social", "prospecting", 5.0),
]


class Window(TypedDict):
    """The ``start`` and ``end`` keyword arguments of :func:`funnel`."""

    start: dt.date
    end: dt.date


JANUARY: Window = {"start": dt.date(2024, 1, 1), "end": dt.date(2024, 1, 31)}


@pytest.fixture(scope="module")
def touchpoints() -> pl.DataFrame:
    columns = ["touchpoint_id", "user_id", "ts", "channel", "campaign", "interaction"]
    return pl.DataFrame(TOUCHES, schema=columns, orient="row")


@pytest.fixture(scope="module")
def conversions() -> pl.DataFrame:
    frame = pl.DataFrame(
        CONVERSIONS,
        schema=["user_id", "ts", "stage", "revenue", "owner", "lead_source"],
        orient="row",
    )
    return frame.with_columns(
        (pl.col("user_id") + "-" + pl.col("stage") + "-" + pl.col("ts")).alias("conversion_id")
    )


@pytest.fixture(scope="module")
def costs() -> pl.DataFrame:
    return pl.DataFrame(COSTS, schema=["date", "channel", "campaign", "spend"], orient="row")


def check(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        got = actual[key]
        if value is None or isinstance(value, int):
            assert got == value, (key, got, value)
        else:
            assert got is not None, key
            assert math.isclose(got, value, rel_tol=REL_TOL), (key, got, value)


def rows(report: Any) -> dict[str, dict[str, Any]]:
    return {row[report.by]: row for row in report.data.to_dicts()}


def test_worked_example_150_leads_35_customers() -> None:
    # conventions.md section 7: 35 / 150 × 100 = 23.3 %.
    users = [f"p{k:03d}" for k in range(150)]
    leads = pl.DataFrame({"user_id": users, "ts": ["2024-03-05"] * 150, "stage": ["lead"] * 150})
    won = leads.head(35).with_columns(
        pl.lit("2024-03-20").alias("ts"), pl.lit("closed_won").alias("stage")
    )
    conversions = pl.concat([leads, won]).with_columns(
        (pl.col("user_id") + pl.col("stage")).alias("conversion_id")
    )
    for mode in ("cohort", "period"):
        totals = funnel(
            conversions, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 31), mode=mode
        ).totals
        assert (totals["leads"], totals["customers"]) == (150, 35)
        assert totals["lead_conversion_rate"] == pytest.approx(35 / 150)
        assert round(100 * totals["lead_conversion_rate"], 1) == 23.3


def test_cohort_totals(
    conversions: pl.DataFrame, touchpoints: pl.DataFrame, costs: pl.DataFrame
) -> None:
    totals = funnel(conversions, touchpoints, costs).totals
    check(
        totals,
        {
            # a, b, c, e entered as leads; b enters mql and sql with its opportunity.
            "leads": 4,
            "mqls": 3,
            "sqls": 3,
            "opportunities": 3,
            # The opportunity cohort (a, b, e): a and e won, b lost.
            "won": 2,
            "lost": 1,
            "customers": 2,
            "new_customers": 2,
            # a, b, c, d visited; a, b, c became leads after their first visit.
            "visitors": 4,
            "orders": 3,
            "revenue": 350.0,
            "spend": 65.0,
            "lead_conversion_rate": 2 / 4,
            "visitor_to_lead_rate": 3 / 4,
            # d visited and never became a lead: 1 of 4 visitors abandoned.
            "visit_abandonment_rate": 1 / 4,
            "lead_to_mql_rate": 3 / 4,
            "mql_to_sql_rate": 1.0,
            "sql_to_opportunity_rate": 1.0,
            "opportunity_to_won_rate": 2 / 3,
            "win_rate": 2 / 3,
            # a: Jan 3 → Jan 11 = 8 days; e: Feb 1 → Feb 11 = 10 days.
            "days_lead_to_won_mean": 9.0,
            "days_lead_to_won_median": 9.0,
            # a: Jan 1 → Jan 11; e has no touch.
            "days_first_touch_to_won_mean": 10.0,
            "days_first_touch_to_won_median": 10.0,
            "average_revenue_per_customer": 175.0,
            "average_order_value": 350 / 3,
            "orders_per_customer": 1.5,
            # a bought on Jan 11 and Mar 11 (2024 is a leap year): 60 days.
            "customer_lifespan_days": 60.0,
            # AOV × (orders per customer per year) × lifespan in years, observed over
            # Jan 3 – Mar 11 = 69 days: 350/3 × (1.5 / (69/365.25)) × (60/365.25).
            "ltv": 350 / 3 * 1.5 * 60 / 69,
            "cpl": 65 / 4,
            "cpa": 65 / 2,
            "cac": 65 / 2,
        },
    )


def test_period_january(
    conversions: pl.DataFrame, touchpoints: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = funnel(conversions, touchpoints, costs, mode="period", **JANUARY)
    assert (report.start, report.end) == (JANUARY["start"], JANUARY["end"])
    check(
        report.totals,
        {
            "leads": 3,
            "mqls": 2,
            "sqls": 2,
            "opportunities": 2,
            "won": 1,
            "lost": 1,
            "customers": 1,
            "new_customers": 1,
            "visitors": 4,
            "orders": 1,
            "revenue": 100.0,
            "spend": 45.0,
            "lead_conversion_rate": 1 / 3,
            "visitor_to_lead_rate": 3 / 4,
            "lead_to_mql_rate": 2 / 3,
            "mql_to_sql_rate": 1.0,
            "sql_to_opportunity_rate": 1.0,
            "opportunity_to_won_rate": 1 / 2,
            "win_rate": 1 / 2,
            "days_lead_to_won_mean": 8.0,
            "days_first_touch_to_won_median": 10.0,
            "average_revenue_per_customer": 100.0,
            "average_order_value": 100.0,
            # Nobody bought twice in January: no lifespan, no LTV.
            "customer_lifespan_days": None,
            "ltv": None,
            "cpl": 15.0,
            "cpa": 45.0,
            "cac": 45.0,
        },
    )


def test_period_rate_can_exceed_one_cohort_cannot(conversions: pl.DataFrame) -> None:
    window: Window = {"start": dt.date(2024, 1, 5), "end": dt.date(2024, 1, 31)}
    period = funnel(conversions, mode="period", **window).totals
    # Entered in the window: MQL b (Jan 5); SQL a and b (Jan 5).
    assert (period["mqls"], period["sqls"]) == (1, 2)
    assert period["mql_to_sql_rate"] == 2.0
    cohort = funnel(conversions, mode="cohort", **window).totals
    # The MQL cohort (b) reached SQL: 1 of 1.
    assert cohort["mql_to_sql_rate"] == 1.0
    # The lead cohort is c alone, who never won.
    assert (cohort["leads"], cohort["customers"], cohort["lead_conversion_rate"]) == (1, 0, 0.0)


def test_by_channel_first_touch(
    conversions: pl.DataFrame, touchpoints: pl.DataFrame, costs: pl.DataFrame
) -> None:
    report = funnel(conversions, touchpoints, costs, by="channel")
    got = rows(report)
    assert sorted(got) == ["(no touchpoint)", "Email", "Search", "Social"]
    check(
        got["Email"],
        {
            "leads": 2,
            "mqls": 1,
            "won": 1,
            "lost": 0,
            "customers": 1,
            "visitors": 2,
            "orders": 2,
            "revenue": 150.0,
            "spend": 30.0,
            "lead_conversion_rate": 0.5,
            "visitor_to_lead_rate": 1.0,
            "win_rate": 1.0,
            "cpl": 15.0,
            "cpa": 30.0,
        },
    )
    check(
        got["Search"],
        {
            "leads": 1,
            "opportunities": 1,
            "won": 0,
            "lost": 1,
            "win_rate": 0.0,
            "spend": 30.0,
            "cpl": 30.0,
            "cpa": None,
            "lead_conversion_rate": 0.0,
        },
    )
    # A visitor only: no lead, so every lead-based ratio is null, not 0 or infinity.
    check(
        got["Social"],
        {
            "leads": 0,
            "visitors": 1,
            "visitor_to_lead_rate": 0.0,
            "lead_conversion_rate": None,
            "cpl": None,
            "spend": 5.0,
        },
    )
    check(got["(no touchpoint)"], {"leads": 1, "won": 1, "customers": 1, "spend": None})
    for column in ("leads", "won", "lost", "customers", "orders"):
        assert sum(r[column] for r in got.values()) == report.totals[column], column


def test_by_channel_lead_touch(conversions: pl.DataFrame, touchpoints: pl.DataFrame) -> None:
    got = rows(funnel(conversions, touchpoints, by="channel", assign="lead_touch"))
    # a's last touch before becoming a lead (Jan 3) is Search (Jan 2).
    assert got["Search"]["leads"] == 2
    assert got["Email"]["leads"] == 1


def test_by_campaign(
    conversions: pl.DataFrame, touchpoints: pl.DataFrame, costs: pl.DataFrame
) -> None:
    got = rows(funnel(conversions, touchpoints, costs, by="campaign"))
    check(got["newsletter"], {"leads": 2, "spend": 30.0, "cpl": 15.0})
    check(got["brand"], {"leads": 0, "spend": 30.0, "cpl": None})


def test_by_lead_source_and_owner(
    conversions: pl.DataFrame, touchpoints: pl.DataFrame, costs: pl.DataFrame
) -> None:
    by_source = rows(funnel(conversions, touchpoints, costs, by="lead_source"))
    assert sorted(by_source) == ["(not set)", "Event", "Partner", "Web"]
    check(
        by_source["Web"], {"leads": 2, "customers": 1, "lead_conversion_rate": 0.5, "spend": None}
    )
    check(by_source["Event"], {"leads": 1, "won": 0, "lost": 1, "win_rate": 0.0})
    by_owner = rows(funnel(conversions, by="owner"))
    check(by_owner["rep1"], {"leads": 1, "won": 1, "win_rate": 1.0})
    check(by_owner["rep2"], {"leads": 1, "lost": 1, "win_rate": 0.0})
    check(by_owner["(not set)"], {"leads": 2, "customers": 1})


def test_without_visits_the_visitor_rate_is_null(
    conversions: pl.DataFrame, touchpoints: pl.DataFrame
) -> None:
    totals = funnel(conversions, touchpoints.drop("interaction")).totals
    assert totals["visitors"] is None
    assert totals["visitor_to_lead_rate"] is None
    assert totals["visit_abandonment_rate"] is None


def test_without_costs_money_ratios_are_null(conversions: pl.DataFrame) -> None:
    totals = funnel(conversions).totals
    assert totals["spend"] is None
    assert (totals["cpl"], totals["cpa"], totals["cac"]) == (None, None, None)


def test_user_defined_stages(conversions: pl.DataFrame) -> None:
    report = funnel(conversions, stages="lead,opportunity,closed_won")
    assert report.stages == FunnelStages(("lead", "opportunity", "closed_won"), ("closed_lost",))
    check(
        report.totals,
        {
            "leads": 4,
            "opportunities": 3,
            "won": 2,
            "lead_to_opportunity_rate": 3 / 4,
            "opportunity_to_won_rate": 2 / 3,
        },
    )


def test_default_stages_ecommerce() -> None:
    cv = pl.DataFrame(
        {
            "conversion_id": ["1", "2", "3"],
            "user_id": ["a", "a", "b"],
            "ts": ["2024-01-01", "2024-01-05", "2024-01-02"],
            "stage": ["lead", "purchase", "lead"],
            "revenue": [0.0, 30.0, 0.0],
        }
    )
    report = funnel(cv)
    assert report.stages is ECOMMERCE_STAGES
    check(report.totals, {"leads": 2, "won": 1, "lead_conversion_rate": 0.5, "win_rate": None})
    assert report.data.columns[:3] == ["leads", "won", "lost"]


def test_outputs(conversions: pl.DataFrame, touchpoints: pl.DataFrame, costs: pl.DataFrame) -> None:
    report = funnel(conversions, touchpoints, costs, by="channel", **JANUARY)
    body = report.to_dict()
    assert body["stages"] == list(B2B_STAGES.order)
    assert body["totals"]["leads"] == 3
    csv = report.to_csv()
    assert csv.startswith("channel,leads,mqls,sqls,opportunities,won,lost,customers,")
    assert csv.splitlines()[-1].startswith("TOTAL,3,")
    assert "\r\n" in csv
    table = report.to_table()
    assert "cohort · by channel (person's first touch)" in table
    assert "lead_conversion_rate" in table


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "rolling"}, "mode must be one of cohort, period. Got 'rolling' instead."),
        ({"by": "region"}, "Cannot group the funnel by 'region'."),
        ({"by": "channel"}, "Grouping the funnel by channel needs touchpoints"),
        ({"assign": "last"}, "assign must be one of first_touch, lead_touch."),
        ({"start": dt.date(2024, 2, 1), "end": dt.date(2024, 1, 1)}, "is after end"),
        ({"stages": ""}, "A funnel needs at least one stage."),
        ({"stages": "lead,lead"}, "must be distinct; lead appear(s)"),
    ],
)
def test_bad_parameters(conversions: pl.DataFrame, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError, match=None) as info:
        funnel(conversions, **kwargs)
    assert message in str(info.value)


# Partial data: stages absent from the data, no losing stage, one lead date.


def _conversions(rows: list[tuple[str, str, str]], revenue: float = 10.0) -> pl.DataFrame:
    """Conversions from ``(user, ts, stage)`` rows; wins carry ``revenue``."""
    return pl.DataFrame(
        {
            "conversion_id": [f"{u}-{s}-{t}" for u, t, s in rows],
            "user_id": [u for u, _, _ in rows],
            "ts": [t for _, t, _ in rows],
            "stage": [s for _, _, s in rows],
            "revenue": [revenue if s == "closed_won" else 0.0 for _, _, s in rows],
        }
    )


B2B = "lead,mql,sql,opportunity,closed_won"

# MQLs and wins only, as Olist ships them: p wins, q and r do not.
MQL_AND_WON = _conversions(
    [
        ("p", "2024-01-02", "mql"),
        ("p", "2024-01-12", "closed_won"),
        ("q", "2024-01-03", "mql"),
        ("r", "2024-01-04", "mql"),
    ]
)


@pytest.mark.parametrize("mode", ["cohort", "period"])
def test_absent_stages_give_null_counts_and_rates_never_one(mode: str) -> None:
    report = funnel(MQL_AND_WON, stages=B2B, mode=mode)
    totals = report.totals
    assert report.absent_stages == ("lead", "sql", "opportunity", "closed_lost")
    for column in ("leads", "sqls", "opportunities", "lost"):
        assert totals[column] is None, column
    assert (totals["mqls"], totals["won"], totals["customers"]) == (3, 1, 1)
    for rate in (
        "lead_to_mql_rate",
        "mql_to_sql_rate",
        "sql_to_opportunity_rate",
        "opportunity_to_won_rate",
        "win_rate",
        "lead_conversion_rate",
        "days_lead_to_won_mean",
    ):
        assert totals[rate] is None, rate


def test_absent_stages_on_every_output() -> None:
    report = funnel(MQL_AND_WON, stages=B2B)
    body = report.to_dict()
    assert body["absent_stages"] == ["lead", "sql", "opportunity", "closed_lost"]
    assert body["count_columns"] == ["leads", "mqls", "sqls", "opportunities", "won"]
    assert (body["totals"]["leads"], body["totals"]["win_rate"]) == (None, None)
    header, row = report.to_csv().splitlines()
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    assert (cells["leads"], cells["mqls"], cells["win_rate"], cells["mql_to_sql_rate"]) == (
        "",
        "3",
        "",
        "",
    )
    table = report.to_table()
    lines = {line.split("┆")[0].strip("│ "): line for line in table.splitlines() if "┆" in line}
    assert "—" in lines["leads"]
    assert "—" in lines["opportunity_to_won_rate"]
    assert not [name for name, line in lines.items() if "rate" in name and "1.000" in line]
    assert "note: no rows of lead, sql, opportunity in the data" in table
    assert "note: no losing stage (closed_lost) in the data: lost and win_rate are null" in table
    assert body["notes"] == list(report.notes)


def test_the_default_funnel_keeps_the_stages_the_data_has() -> None:
    report = funnel(MQL_AND_WON)
    assert report.stages == FunnelStages(("mql", "closed_won"), ("closed_lost",))
    assert report.absent_stages == ("closed_lost",)
    check(
        report.totals,
        {"mqls": 3, "won": 1, "lost": None, "mql_to_won_rate": 1 / 3, "win_rate": None},
    )
    check(report.totals, {"lead_conversion_rate": 1 / 3, "days_lead_to_won_mean": 10.0})


def test_without_a_losing_stage_win_rate_is_null_not_one() -> None:
    data = _conversions(
        [
            ("p", "2024-01-01", "lead"),
            ("p", "2024-01-02", "opportunity"),
            ("p", "2024-01-05", "closed_won"),
            ("q", "2024-01-01", "lead"),
            ("q", "2024-01-03", "opportunity"),
        ]
    )
    totals = funnel(data, stages="lead,opportunity,closed_won").totals
    check(totals, {"won": 1, "lost": None, "win_rate": None, "opportunity_to_won_rate": 0.5})
    # No losing stage configured at all (e-commerce): the same.
    no_loss = FunnelStages.parse("lead,closed_won", lost=None)
    check(funnel(data, stages=no_loss).totals, {"won": 1, "lost": None, "win_rate": None})


def test_a_group_without_a_present_stage_shows_zero_not_null(conversions: pl.DataFrame) -> None:
    got = rows(funnel(conversions, by="lead_source"))
    # Presence is decided over everyone: Event (b) never won and Partner (e) never lost,
    # but the data has wins and losses, so those are zeros, not unknowns.
    check(got["Event"], {"won": 0, "customers": 0, "lost": 1, "win_rate": 0.0})
    check(got["Partner"], {"won": 1, "lost": 0, "win_rate": 1.0})
    check(got["Web"], {"leads": 2, "mqls": 1, "lost": 0, "lead_conversion_rate": 0.5})


def test_skipped_stages_are_filled_in_only_among_present_stages() -> None:
    # s has an MQL and a win, no SQL row; nobody has an SQL or opportunity row.
    data = _conversions(
        [
            ("s", "2024-01-01", "lead"),
            ("s", "2024-01-02", "mql"),
            ("s", "2024-01-09", "closed_won"),
            ("t", "2024-01-01", "lead"),
            ("t", "2024-01-05", "closed_lost"),
        ]
    )
    totals = funnel(data, stages=B2B).totals
    # t lost: that implies the MQL stage (present), never SQL or opportunity (absent).
    check(totals, {"leads": 2, "mqls": 2, "sqls": None, "opportunities": None})
    check(totals, {"lead_to_mql_rate": 1.0, "mql_to_sql_rate": None})
    # won / lost counted over the last present stage before the win: the MQLs.
    check(totals, {"won": 1, "lost": 1, "win_rate": 0.5, "lead_conversion_rate": 0.5})


def test_without_the_winning_stage_nothing_is_invented() -> None:
    data = _conversions([("u", "2024-01-01", "lead"), ("u", "2024-01-02", "mql")])
    totals = funnel(data, stages="lead,mql,closed_won").totals
    check(totals, {"leads": 1, "mqls": 1, "lead_to_mql_rate": 1.0})
    for column in ("won", "customers", "orders", "revenue", "mql_to_won_rate", "win_rate"):
        assert totals[column] is None, column
    assert totals["lead_conversion_rate"] is None


def test_without_the_entry_stage_lead_ratios_are_null(
    touchpoints: pl.DataFrame, costs: pl.DataFrame
) -> None:
    data = _conversions([("a", "2024-01-04", "mql"), ("a", "2024-01-11", "closed_won")])
    report = funnel(data, touchpoints, costs, by="channel", stages="lead,mql,closed_won")
    totals = report.totals
    check(totals, {"leads": None, "mqls": 1, "won": 1, "customers": 1, "visitors": 4})
    for column in ("lead_conversion_rate", "visitor_to_lead_rate", "cpl", "lead_to_mql_rate"):
        assert totals[column] is None, column
    # A channel with spend and nobody in it: 0 MQLs, but leads stay unknown (not 0).
    got = rows(report)
    check(got["Social"], {"leads": None, "mqls": 0, "spend": 5.0})
    # Sorted by the first stage the data has.
    assert report.data["channel"].to_list()[0] == "Email"


def test_in_a_period_a_stage_counts_as_present_only_up_to_its_end() -> None:
    data = _conversions(
        [
            ("a", "2024-01-01", "lead"),
            ("a", "2024-01-10", "closed_won"),
            ("b", "2024-02-01", "lead"),
            ("b", "2024-02-03", "mql"),
            ("b", "2024-02-20", "closed_won"),
        ]
    )
    january = funnel(data, stages="lead,mql,closed_won", mode="period", **JANUARY)
    # MQL rows start in February: in a January period report the stage is absent.
    assert january.absent_stages == ("mql", "closed_lost")
    check(january.totals, {"leads": 1, "mqls": None, "won": 1, "lead_to_mql_rate": None})
    cohort = funnel(data, stages="lead,mql,closed_won", **JANUARY)
    # A cohort is followed to the end of the data, where MQLs exist: a skipped them.
    assert cohort.absent_stages == ("closed_lost",)
    check(cohort.totals, {"leads": 1, "mqls": 1, "lead_to_mql_rate": 1.0})


# One lead date: the −1.18-day case of Olist (a deal won before its MQL row).
WON_BEFORE_LEAD = _conversions(
    [
        ("w", "2018-03-08T00:00:00Z", "mql"),
        ("w", "2018-03-06T19:38:55Z", "closed_won"),
        ("x", "2018-03-01T00:00:00Z", "mql"),
        ("x", "2018-03-11T00:00:00Z", "closed_won"),
    ]
)


@pytest.mark.parametrize("mode", ["cohort", "period"])
def test_a_win_before_the_lead_row_is_never_a_negative_time(mode: str) -> None:
    report = funnel(WON_BEFORE_LEAD, mode=mode)
    totals = report.totals
    # w is a customer (and a lead, from its earliest row), but its lead-to-won time is
    # unknown: left out and reported, never −1.18 days (nor a made-up 0).
    check(totals, {"mqls": 2, "customers": 2, "won": 2})
    check(totals, {"days_lead_to_won_mean": 10.0, "days_lead_to_won_median": 10.0})
    assert "note: 1 customer's win is dated before their lead row" in report.to_table()
    assert report.to_dict()["notes"][-1].endswith("left out of days_lead_to_won")


def test_one_lead_date_for_the_cohort_and_the_time() -> None:
    # w's lead date is its earliest funnel row (the win, Mar 6): a cohort starting
    # Mar 7 does not hold w, one ending Mar 6 does — by the date that would time it.
    late = funnel(WON_BEFORE_LEAD, start=dt.date(2018, 3, 7), end=dt.date(2018, 3, 31))
    assert (late.totals["mqls"], late.totals["customers"]) == (0, 0)
    early = funnel(WON_BEFORE_LEAD, start=dt.date(2018, 3, 6), end=dt.date(2018, 3, 6))
    assert (early.totals["mqls"], early.totals["customers"]) == (1, 1)
    assert early.totals["days_lead_to_won_mean"] is None
    # An MQL dated before the lead row: timed from the earliest row (the MQL).
    data = _conversions(
        [
            ("y", "2024-01-05", "lead"),
            ("y", "2024-01-01", "mql"),
            ("y", "2024-01-11", "closed_won"),
        ]
    )
    report = funnel(data, stages="lead,mql,closed_won")
    check(report.totals, {"leads": 1, "days_lead_to_won_mean": 10.0})
    assert report.notes == ("note: no losing stage (closed_lost) in the data: lost and win_rate "
                            "are null",)  # fmt: skip


def test_a_person_with_a_win_only_is_a_lead_but_is_not_timed() -> None:
    data = _conversions(
        [("a", "2024-01-01", "lead"), ("a", "2024-01-05", "closed_won"), ("b", "2024-01-03",
         "closed_won")]
    )  # fmt: skip
    totals = funnel(data).totals
    check(totals, {"leads": 2, "customers": 2, "days_lead_to_won_mean": 4.0})
