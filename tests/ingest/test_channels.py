"""GA4 default channel grouping as data: every rule, the order notes, the rules-file format."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution.errors import InputError
from ingest.channels import DEFAULT_RULES_PATH, assign_channels, load_rules, load_source_categories

RULES = load_rules()

# (source, medium, campaign, channel, rule number): one case per rule at least.
CASES = [
    ("(direct)", "(none)", None, "Direct", 1),
    ("(direct)", "(not set)", None, "Direct", 1),
    ("(direct)", None, None, "Direct", 1),
    ("google", "cpc", "PMax Cross-Network Q1", "Cross-network", 2),
    ("amazon", "cpc", None, "Paid Shopping", 3),
    ("acme", "ppc", "summer_shop", "Paid Shopping", 3),
    ("acme", "paid", "Shopping_Feed", "Paid Shopping", 3),
    ("google", "cpc", None, "Paid Search", 4),
    ("bing", "ppc", None, "Paid Search", 4),
    ("facebook", "paid-social", None, "Paid Social", 5),
    ("facebook", "retargeting", None, "Paid Social", 5),
    ("youtube", "cpv", None, "Paid Video", 6),
    ("gdn", "banner", None, "Display", 7),
    ("acme", "interstitial", None, "Display", 7),
    ("acme", "paid_social", None, "Paid Other", 8),
    ("acme", "cpa", None, "Paid Other", 8),
    ("chatgpt.com", "ai-assistant", "(ai-assistant)", "AI Assistant", 9),
    ("www.Perplexity.ai", "referral", None, "AI Assistant", 9),
    ("gemini.google.com", "Referral", None, "AI Assistant", 9),
    ("ebay", "referral", None, "Organic Shopping", 10),
    ("acme", "organic", "shop_spring", "Organic Shopping", 10),
    ("acme", "organic", "workshop", "Organic Search", 13),
    ("linkedin", "(none)", None, "Organic Social", 11),
    ("acme", "social network", None, "Organic Social", 11),
    ("vimeo.com", "referral", None, "Organic Video", 12),
    ("acme", "video_embed", None, "Organic Video", 12),
    ("google", "organic", None, "Organic Search", 13),
    ("acme", "organic", None, "Organic Search", 13),
    ("g2.com", "referral", None, "Referral", 14),
    ("acme", "app", None, "Referral", 14),
    ("newsletter", "email", None, "Email", 15),
    ("e-mail", "(not set)", None, "Email", 15),
    ("partnerstack", "affiliate", None, "Affiliates", 16),
    ("spotify", "audio", None, "Audio", 17),
    ("sms", "(not set)", None, "SMS", 18),
    ("twilio", "sms", None, "SMS", 18),
    ("onesignal", "web-push", None, "Mobile Push Notifications", 19),
    ("acme", "mobile_app", None, "Mobile Push Notifications", 19),
    ("acme", "notification", None, "Mobile Push Notifications", 19),
    ("firebase", "(not set)", None, "Mobile Push Notifications", 19),
]


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "channel", "number"),
    CASES,
    ids=[f"{c[3]}-{c[0]}-{c[1]}" for c in CASES],
)
def test_every_rule(
    source: str, medium: str | None, campaign: str | None, channel: str, number: int
) -> None:
    match = RULES.explain(source, medium, campaign)
    assert (match.channel, match.rule_number) == (channel, number)
    assert RULES.classify(source, medium, campaign) == channel


def test_each_of_the_19_rules_is_covered() -> None:
    assert len(RULES.rules) == 19
    assert {c[4] for c in CASES} == set(range(1, 20))
    by_number = {c[4]: c[3] for c in CASES}
    assert [r.channel for r in RULES.rules] == [by_number[n] for n in range(1, 20)]


@pytest.mark.parametrize(
    ("source", "medium", "campaign", "channel"),
    [
        # google / cpm: cpm matches the paid regex, and Paid Search comes before Display.
        ("google", "cpm", None, "Paid Search"),
        # google / referral: google is a SEARCH source, and Organic Search precedes Referral.
        ("google", "referral", None, "Organic Search"),
        # paid-social with an unknown source.
        ("acme", "paid-social", None, "Paid Other"),
        ("acme", "paid_social", None, "Paid Other"),
        ("linkedin", "paid_social", None, "Paid Social"),
        # Made-up media.
        ("flyer", "qr", None, "Unassigned"),
        ("acme", "print", None, "Unassigned"),
        ("acme", None, None, "Unassigned"),
        (None, None, None, "Unassigned"),
        # retargeting is in PAID (newer text of Google's page).
        ("acme", "retargeting", None, "Paid Other"),
        # "shop" preceded by a letter from a-d or f-z is not a shop campaign; "eshop" is.
        ("acme", "cpc", "bishop_tour", "Paid Other"),
        ("acme", "cpc", "eshop_launch", "Paid Shopping"),
        # Exact sets stay exact.
        ("acme", "emails", None, "Unassigned"),
        ("acme", "affiliates", None, "Unassigned"),
    ],
)
def test_order_and_edge_cases(
    source: str, medium: str | None, campaign: str | None, channel: str
) -> None:
    assert RULES.classify(source, medium, campaign) == channel


# Issue #13 item 9: where GA4 puts them (Google's source-category list and rule order).
GA4_PARITY = [
    # IGShopping is a SHOPPING source in Google's list: Organic Shopping (rule 10) comes before
    # Organic Social (rule 11), and with a paid medium it is Paid Shopping.
    ("IGShopping", "Social", "Organic Shopping", 10),
    ("IGShopping", "cpc", "Paid Shopping", 3),
    ("IGShopping", "paid", "Paid Shopping", 3),
    # "Google Shopping" is SHOPPING too; the organic medium does not reach Organic Search.
    ("Google Shopping", "organic", "Organic Shopping", 10),
    # yelp.com is SOCIAL and ted.com VIDEO in Google's list, not plain referrals.
    ("yelp.com", "referral", "Organic Social", 11),
    ("m.yelp.com", "referral", "Organic Social", 11),
    ("ted.com", "referral", "Organic Video", 12),
    # Referral is evaluated before Email: source email with medium referral is Referral.
    ("email", "referral", "Referral", 14),
    ("email", "(not set)", "Email", 15),
    ("newsletter", "e_mail", "Email", 15),
    # AI assistants: the referral of one, and GA4's own medium; tags keep their meaning.
    ("chatgpt.com", "referral", "AI Assistant", 9),
    ("claude.ai", "referral", "AI Assistant", 9),
    ("copilot.microsoft.com", "referral", "AI Assistant", 9),
    ("anything", "ai-assistant", "AI Assistant", 9),
    ("chatgpt.com", "cpc", "Paid Other", 8),
    ("chatgpt.com", "organic", "Organic Search", 13),
    ("chatgpt.com", "(not set)", "Unassigned", None),
    # closedloop's own rows classify familiar hostnames GA4 would also name by category.
    ("x.com", "referral", "Organic Social", 11),
    ("google.com", "referral", "Organic Search", 13),
    ("rakuten", "referral", "Organic Shopping", 10),
]


@pytest.mark.parametrize(
    ("source", "medium", "channel", "number"),
    GA4_PARITY,
    ids=[f"{c[0]}-{c[1]}" for c in GA4_PARITY],
)
def test_ga4_parity_cases(source: str, medium: str, channel: str, number: int | None) -> None:
    match = RULES.explain(source, medium)
    assert (match.channel, match.rule_number) == (channel, number)


def test_ai_assistant_reasons_are_not_repeated() -> None:
    assert RULES.explain("x", "ai-assistant").reason == "medium is 'ai-assistant'"
    assert RULES.explain("chatgpt.com", "referral").reason == (
        "source 'chatgpt.com' is an AI_ASSISTANT source and medium is 'referral'"
    )


def test_builtin_list_has_the_sources_ga4_classifies_against_their_names() -> None:
    categories = load_source_categories(DEFAULT_RULES_PATH.with_name("source_categories.csv"))
    assert categories["igshopping"] == "SHOPPING"
    assert categories["google shopping"] == "SHOPPING"
    assert categories["yelp.com"] == "SOCIAL"
    assert categories["ted.com"] == "VIDEO"
    assistants = {source for source, category in categories.items() if category == "AI_ASSISTANT"}
    assert {"chatgpt.com", "gemini.google.com", "claude.ai", "perplexity.ai"} <= assistants


def test_googles_own_spreadsheet_can_be_passed_as_it_is(tmp_path: Path) -> None:
    google = tmp_path / "ga4.csv"
    google.write_text(
        "source,category\nmastodon.social,SOURCE_CATEGORY_SOCIAL\nqwant.com,SOURCE_CATEGORY_SEARCH\n"
    )
    rules = load_rules(extra_categories=google)
    assert rules.classify("mastodon.social", "referral") == "Organic Social"
    assert rules.classify("qwant.com", "organic") == "Organic Search"


def test_click_id_mode_is_checked() -> None:
    assert load_rules().click_ids == "ga4"
    assert load_rules(click_ids="infer").click_ids == "infer"
    assert load_rules(click_ids="infer").rules == RULES.rules
    with pytest.raises(InputError, match="click_ids must be one of ga4, infer"):
        load_rules(click_ids="always")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "medium"),
    [("Google", "CPC"), ("GOOGLE", "cpc"), (" google ", "Cpc "), ("www.Yahoo.com", "cPc")],
)
def test_matching_ignores_case_and_spaces(source: str, medium: str | None) -> None:
    assert RULES.classify(source, medium) == "Paid Search"


def test_unassigned_explains_itself() -> None:
    match = RULES.explain("flyer", "qr")
    assert match.rule_number is None
    assert match.rule_name is None
    assert match.reason == "no rule matched; the fallback channel is Unassigned"


def test_explain_reasons() -> None:
    assert RULES.explain("google", "cpm").reason == (
        "source 'google' is a SEARCH source and medium 'cpm' matches pattern 'paid' "
        "^(.*cp.*|ppc|retargeting|paid.*)$"
    )
    assert RULES.explain("(direct)", "(none)").reason == (
        "source is '(direct)' and medium is '(none)'"
    )
    assert RULES.explain("x", "y", "a cross-network b").reason == (
        "campaign 'a cross-network b' contains 'cross-network'"
    )
    assert RULES.explain("acme", "web-push").reason == "medium 'web-push' ends with 'push'"


def test_assign_channels_is_vectorised_and_keeps_raw_values() -> None:
    frame = pl.DataFrame(
        {
            "source": [c[0] for c in CASES],
            "medium": [c[1] for c in CASES],
            "campaign": [c[2] for c in CASES],
        }
    )
    out = assign_channels(frame)
    assert out["channel"].to_list() == [c[3] for c in CASES]
    assert_frame_equal(out.drop("channel"), frame)


def test_assign_channels_fills_only_missing_channels() -> None:
    frame = pl.DataFrame(
        {
            "source": ["google", "google", "google"],
            "medium": ["cpc", "cpc", "cpc"],
            "channel": ["Brand", None, "  "],
        }
    )
    assert assign_channels(frame)["channel"].to_list() == ["Brand", "Paid Search", "Paid Search"]


def test_assign_channels_without_inputs_is_unassigned() -> None:
    out = assign_channels(pl.DataFrame({"touchpoint_id": ["t1"]}))
    assert out.columns == ["touchpoint_id", "channel"]
    assert out["channel"].to_list() == ["Unassigned"]


def test_assign_channels_large_frame_is_fast() -> None:
    n = 200_000
    frame = pl.DataFrame(
        {"source": ["google", "facebook", "acme", None] * (n // 4), "medium": ["cpc"] * n}
    )
    out = assign_channels(frame)
    assert out["channel"].value_counts().height == 3


def _write(folder: Path, text: str, name: str = "rules.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_own_rules_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
fallback = "Other"
[patterns]
paid = '^(cpc|ppc)$'
[source_categories]
"mastodon.social" = "SOCIAL"
[[rules]]
name = "events"
channel = "Events"
any.medium_in = ["event", "webinar"]
any.source_regex = 'eventbrite|zoom'
[[rules]]
channel = "Social"
all.source_category = ["SOURCE_CATEGORY_SOCIAL"]
[[rules]]
channel = "Paid"
all.medium_pattern = "paid"
""",
    )
    rules = load_rules(path)
    assert rules.classify("zoom", "x") == "Events"
    assert rules.explain("zoom", "x").rule_name == "events"
    assert rules.classify("Mastodon.Social", "referral") == "Social"
    assert rules.classify("google", "CPC") == "Paid"
    assert rules.classify("google", "organic") == "Other"


def test_extra_categories_from_a_csv(tmp_path: Path) -> None:
    extra = _write(tmp_path, "source,category\n# mine\nacme-search.com,search\n", "extra.csv")
    assert load_source_categories(extra) == {"acme-search.com": "SEARCH"}
    rules = load_rules(extra_categories=extra)
    assert rules.classify("acme-search.com", "cpc") == "Paid Search"
    assert RULES.classify("acme-search.com", "cpc") == "Paid Other"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rules]]\nall.medium_in = ['x']\n", 'rule 1: needs channel = "<channel name>".'),
        ("[[rules]]\nchannel = 'A'\n", "rule 1 (A): has no tests"),
        (
            "[[rules]]\nchannel = 'A'\nall.medium_is = ['x']\n",
            "unknown test 'medium_is'. Tests: <field>_in, _contains, _endswith, _regex, _pattern "
            "(field source, medium or campaign) and source_category. Did you mean 'medium_in'?",
        ),
        ("[[rules]]\nchannel = 'A'\nall.medium_pattern = 'nope'\n", "unknown pattern 'nope'"),
        ("[[rules]]\nchannel = 'A'\nall.source_category = ['NEWS']\n", "unknown source category"),
        ("[[rules]]\nchannel = 'A'\nall.medium_regex = '('\n", "is not a valid regex"),
        ("[[rules]]\nchannel = 'A'\nall.medium_in = []\n", "expected a string or a list"),
        ("colour = 1\n", "unknown top-level key(s) 'colour'"),
        ("[[rules]\n", "not valid TOML"),
    ],
)
def test_bad_rules_files_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=r"Channel rules 'rules\.toml'") as info:
        load_rules(_write(tmp_path, text))
    assert message in str(info.value)


def test_bad_category_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "source,category\nacme,NEWS\n", "extra.csv")
    with pytest.raises(InputError, match=r"'extra.csv' line 2: unknown source category 'NEWS'"):
        load_source_categories(path)


def test_builtin_files_are_package_data() -> None:
    assert DEFAULT_RULES_PATH.name == "channel_rules.toml"
    categories = load_source_categories(DEFAULT_RULES_PATH.with_name("source_categories.csv"))
    assert categories["l.facebook.com"] == "SOCIAL"
    assert categories["youtube"] == "VIDEO"
    assert categories["amazon"] == "SHOPPING"
    assert categories["duckduckgo"] == "SEARCH"
    assert categories["chatgpt.com"] == "AI_ASSISTANT"
    assert len(categories) > 200
