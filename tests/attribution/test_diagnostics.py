"""Diagnostics: one test per code that fires on a hand-made case and one that stays silent.

Expected figures are worked out by hand in the comments, never by the code
under test.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.diagnostics import (
    CODES,
    Diagnostic,
    check_absent_stages,
    check_concentration,
    check_cost_keys,
    check_group_coverage,
    check_spend_period,
    check_stages,
    check_untouched,
    lookback_cover,
    stage_coverage,
    suggest_key,
    to_json,
)


def test_codes_are_stable_snake_case() -> None:
    assert set(CODES) == {
        "no_touch_in_lookback",
        "spend_without_touches",
        "paid_touches_without_spend",
        "unknown_stage",
        "funnel_stage_absent",
        "group_set_on_some_stages",
        "revenue_concentrated",
        "no_spend_in_period",
    }
    assert all(code.replace("_", "").isalpha() and code.islower() for code in CODES)


def test_unknown_code_and_severity_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown diagnostic code 'nope'"):
        Diagnostic("nope", "info", "x")
    with pytest.raises(ValueError, match="severity must be 'info' or 'warning'"):
        Diagnostic("unknown_stage", "error", "x")  # type: ignore[arg-type]


# no_touch_in_lookback ---------------------------------------------------------------------


def test_no_touch_in_lookback_fires_with_share_and_lookback() -> None:
    # 20 conversions of 100 (20%), 300 of 1,000 revenue (30%): a warning.
    gaps = lookback_cover(pl.Series([100.0] * 18 + [150.0, 400.0]))
    found = check_untouched(
        stage="purchase",
        conversions=100,
        revenue=1000.0,
        untouched=20,
        untouched_revenue=300.0,
        lookback_days=30,
        currency="EUR",
        gaps=gaps,
    )
    assert found is not None
    assert found.code == "no_touch_in_lookback"
    assert found.severity == "warning"
    assert found.figures["share_conversions"] == pytest.approx(0.2)
    assert found.figures["share_revenue"] == pytest.approx(0.3)
    # 95% of 20 = the 19th smallest gap = 150 days.
    assert found.figures["suggested_lookback_days"] == 150.0
    assert "--lookback-days 150" in found.message
    assert "€300.00 of €1,000.00 (30.0%)" in found.message


def test_no_touch_in_lookback_is_info_when_small_and_silent_when_none() -> None:
    small = check_untouched(
        stage="purchase",
        conversions=1000,
        revenue=1000.0,
        untouched=1,
        untouched_revenue=1.0,
        lookback_days=90,
        currency="USD",
    )
    assert small is not None
    assert small.severity == "info"
    assert small.figures["suggested_lookback_days"] is None
    none = check_untouched(
        stage="purchase",
        conversions=10,
        revenue=10.0,
        untouched=0,
        untouched_revenue=0.0,
        lookback_days=90,
        currency="USD",
    )
    assert none is None


def test_no_lookback_is_suggested_when_too_many_were_never_touched() -> None:
    # 2 of 4 never touched: no lookback reaches 95% of them.
    gaps = lookback_cover(pl.Series([10.0, 20.0, None, None]))
    assert (gaps.beyond, gaps.never, gaps.cover_days) == (4, 2, None)
    found = check_untouched(
        stage=None,
        conversions=4,
        revenue=4.0,
        untouched=4,
        untouched_revenue=4.0,
        lookback_days=5,
        currency="USD",
        gaps=gaps,
    )
    assert found is not None
    assert "--lookback-days" not in found.message
    assert "2 of them have no touch of their own at any date" in found.message


@given(st.lists(st.one_of(st.none(), st.floats(0.01, 5000.0)), min_size=1, max_size=40))
def test_the_suggested_lookback_reaches_95_percent(gaps: list[float | None]) -> None:
    cover = lookback_cover(pl.Series(gaps, dtype=pl.Float64)).cover_days
    needed = math.ceil(0.95 * len(gaps))
    if cover is None:
        assert sum(g is not None for g in gaps) < needed
    else:
        assert sum(g is not None and g <= cover for g in gaps) >= needed
        # and a day less would not
        assert sum(g is not None and g <= cover - 1 for g in gaps) < needed


# spend_without_touches / paid_touches_without_spend ---------------------------------------


def test_spend_without_touches_suggests_case_and_spelling_fixes() -> None:
    costs = pl.DataFrame(
        {
            "key": ["paid search", "BRAND_SEARCH", "Email", "tv"],
            "spend": [100.0, 50.0, 25.0, 25.0],
        }
    )
    found = check_cost_keys(
        costs, ["Paid Search", "Brand Search", "Email"], by="channel", currency="USD"
    )
    by_code = {d.code: d for d in found}
    orphan = by_code["spend_without_touches"]
    # 100 + 50 + 25 of 200 spend (87.5%) on keys no touch has.
    assert orphan.figures["spend"] == 175.0
    assert orphan.figures["share_spend"] == pytest.approx(0.875)
    # costliest first
    assert orphan.figures["keys"] == [
        {"key": "paid search", "spend": 100.0, "did_you_mean": "Paid Search"},
        {"key": "BRAND_SEARCH", "spend": 50.0, "did_you_mean": "Brand Search"},
        {"key": "tv", "spend": 25.0, "did_you_mean": None},
    ]
    # Paid Search has touches and no spend row under its exact name.
    paid = by_code["paid_touches_without_spend"]
    assert paid.figures["keys"] == [{"key": "Paid Search", "did_you_mean": "paid search"}]


def test_only_the_costliest_keys_are_compared_by_spelling() -> None:
    # 60 unmatched campaigns of falling spend; the cheapest two look like touch keys.
    keys = [f"zz{i:02d}" for i in range(58)] + ["BRAND_SEARCH", "brand serch"]
    costs = pl.DataFrame({"key": keys, "spend": [float(100 - i) for i in range(60)]})
    found = check_cost_keys(costs, ["Brand Search"], by="campaign", currency="USD")
    hints = {k["key"]: k["did_you_mean"] for k in found[0].figures["keys"]}
    assert hints["BRAND_SEARCH"] == "Brand Search"  # same letters: always found
    assert hints["brand serch"] is None  # a misspelling past the 50 costliest: not looked up
    assert "and 50 more" in found[0].message


def test_cost_keys_silent_when_they_match() -> None:
    costs = pl.DataFrame({"key": ["Paid Search", "Email"], "spend": [1.0, 2.0]})
    assert (
        check_cost_keys(costs, ["Paid Search", "Email", "Direct"], by="channel", currency="USD")
        == []
    )


def test_paid_touches_without_spend_only_for_paid_channels() -> None:
    costs = pl.DataFrame({"key": ["Email"], "spend": [2.0]})
    found = check_cost_keys(
        costs, ["Email", "Organic Search", "Display"], by="channel", currency="USD"
    )
    assert [d.code for d in found] == ["paid_touches_without_spend"]
    assert found[0].figures["keys"] == [{"key": "Display", "did_you_mean": None}]
    # by campaign nothing says which campaign is paid
    assert check_cost_keys(costs, ["Email", "Display"], by="campaign", currency="USD") == []


def test_suggest_key_folds_case_spaces_and_separators() -> None:
    assert suggest_key("  paid-search ", ["Paid Search"]) == "Paid Search"
    assert suggest_key("Paid Serach", ["Paid Search", "Paid Social"]) == "Paid Search"
    assert suggest_key("Radio", ["Paid Search"]) is None


# unknown_stage ----------------------------------------------------------------------------


def test_unknown_stage_fires_with_stage_map_fix() -> None:
    found = check_stages({"Closed Won": 3, "Demo Booked": 2, "mql": 9}, ["mql", "closed_won"])
    assert found is not None
    assert found.code == "unknown_stage"
    assert found.figures["stages"] == [
        {"stage": "Closed Won", "conversions": 3, "did_you_mean": "closed_won"},
        {"stage": "Demo Booked", "conversions": 2, "did_you_mean": None},
    ]
    assert "5 conversions have a stage" in found.message
    assert "--stage-map 'Closed Won=closed_won'" in found.message


def test_unknown_stage_silent_on_known_stages() -> None:
    assert check_stages({"mql": 9, "closed_won": 1}, ["lead", "mql", "closed_won"]) is None


# funnel_stage_absent ----------------------------------------------------------------------


def test_funnel_stage_absent_fires_and_stays_silent() -> None:
    found = check_absent_stages(["sql"], ["lead", "sql", "closed_won"])
    assert found is not None
    assert found.figures == {"stages": ["sql"]}
    assert "--stages" in found.message
    assert "(lead,closed_won)" in found.message
    assert check_absent_stages([], ["lead", "closed_won"]) is None


# group_set_on_some_stages -----------------------------------------------------------------


def _owner_only_on_won() -> pl.DataFrame:
    # 4 mql rows without owner, 2 won rows with one; lead_source on every row.
    return pl.DataFrame(
        {
            "stage": ["mql"] * 4 + ["closed_won"] * 2,
            "owner": [None] * 4 + ["ann", "bob"],
            "lead_source": ["Web", "Web", "Event", "Web", "Web", "Event"],
        }
    )


def test_group_set_on_some_stages_fires_with_an_alternative() -> None:
    coverage = stage_coverage(_owner_only_on_won(), ["owner", "lead_source"])
    found = check_group_coverage(coverage, "owner", ["mql", "closed_won"])
    assert found is not None
    assert found.code == "group_set_on_some_stages"
    assert found.figures["set_on"] == ["closed_won"]
    assert found.figures["unset_on"] == ["mql"]
    assert found.figures["shares"] == {"mql": 0.0, "closed_won": 1.0}
    assert found.figures["columns_set_on_every_stage"] == ["lead_source"]
    assert "--by lead_source" in found.message


def test_group_set_on_every_stage_is_silent() -> None:
    coverage = stage_coverage(_owner_only_on_won(), ["owner", "lead_source"])
    assert check_group_coverage(coverage, "lead_source", ["mql", "closed_won"]) is None


# revenue_concentrated ---------------------------------------------------------------------


def test_revenue_concentrated_fires_on_one_large_deal() -> None:
    # 900 of 1,000 over 50 conversions: 90% ≥ 25% and ≥ 10 × 2%.
    found = check_concentration(
        conversion_id="d9", top_revenue=900.0, revenue=1000.0, conversions=50, currency="USD"
    )
    assert found is not None
    assert found.code == "revenue_concentrated"
    assert found.figures == {"conversion_id": "d9", "revenue": 900.0, "share_revenue": 0.9}


def test_revenue_concentrated_silent_on_even_or_few_deals() -> None:
    # 100 conversions, the largest 5%: normal.
    assert (
        check_concentration(
            conversion_id="a", top_revenue=50, revenue=1000, conversions=100, currency="USD"
        )
        is None
    )
    # 3 deals, the largest 50%: below 10 × 33%.
    assert (
        check_concentration(
            conversion_id="a", top_revenue=50, revenue=100, conversions=3, currency="USD"
        )
        is None
    )
    assert (
        check_concentration(
            conversion_id="a", top_revenue=0, revenue=0, conversions=10, currency="USD"
        )
        is None
    )


# no_spend_in_period -----------------------------------------------------------------------


def test_no_spend_in_period_names_the_missing_months() -> None:
    days = pl.Series([dt.date(2024, 1, 31), dt.date(2024, 3, 1)])
    found = check_spend_period(days, dt.date(2024, 1, 15), dt.date(2024, 4, 2))
    assert found is not None
    assert found.code == "no_spend_in_period"
    # Jan..Apr is 4 months; Feb and Apr have no cost row.
    assert found.figures == {"months": ["2024-02", "2024-04"], "period_months": 4}


def test_no_spend_in_period_silent_when_every_month_has_spend() -> None:
    days = pl.Series([dt.date(2024, 1, 31), dt.date(2024, 2, 1)])
    assert check_spend_period(days, dt.date(2024, 1, 15), dt.date(2024, 2, 20)) is None
    assert check_spend_period(days, None, None) is None


def test_to_json_puts_warnings_first() -> None:
    info = Diagnostic("funnel_stage_absent", "info", "a", {"stages": ["sql"]})
    warn = Diagnostic("unknown_stage", "warning", "b")
    assert to_json([info, warn]) == [
        {"code": "unknown_stage", "severity": "warning", "message": "b"},
        {"code": "funnel_stage_absent", "severity": "info", "message": "a", "stages": ["sql"]},
    ]


def test_every_code_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    sections = re.findall(r"^### `([a-z_]+)`", docs, flags=re.MULTILINE)
    assert sorted(sections) == sorted(CODES)
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert "(docs/diagnostics.md)" in readme
    for code in CODES:
        assert f"`{code}`" in readme


def test_untouched_under_a_narrow_click_window_suggests_widening_it() -> None:
    from attribution.diagnostics import TouchGaps

    def check(click: float, cover: float) -> Diagnostic:
        found = check_untouched(
            stage="closed_won",
            conversions=10,
            revenue=100.0,
            untouched=4,
            untouched_revenue=40.0,
            lookback_days=90,
            currency="USD",
            click_window_days=click,
            gaps=TouchGaps(beyond=4, never=0, cover_days=cover),
        )
        assert found is not None
        return found

    inside = check(7, 30.0)
    assert "no touch in the 7-day click window (90-day lookback)" in inside.message
    assert inside.figures["suggested_click_window_days"] == 30.0
    assert inside.figures["suggested_lookback_days"] is None
    beyond = check(7, 120.0)
    assert "(--lookback-days 120 --click-window-days 120)" in beyond.message
    assert beyond.figures["suggested_lookback_days"] == 120.0
    wide = check(90, 120.0)
    assert "no touch in the 90-day lookback" in wide.message
    assert "--click-window-days" not in wide.message
