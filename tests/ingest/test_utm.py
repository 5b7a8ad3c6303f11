"""Landing-page URLs -> source / medium / campaign, click ids and referrer fallback."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from attribution.errors import InputError, MissingColumnsError
from ingest import Store, ingest_files, load_rules
from ingest.channels import ClickIdMode
from ingest.mapping import apply_mapping
from ingest.utm import CLICK_IDS, ClickId, parse_landing_urls

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
SITE = "https://acme.io"


def parse(
    url: str | None, referrer: str | None = None, mode: ClickIdMode | None = None
) -> dict[str, str | None]:
    frame = pl.DataFrame(
        {"landing_url": [url], "referrer": [referrer]},
        schema={"landing_url": pl.String, "referrer": pl.String},
    )
    out = parse_landing_urls(frame, click_id_mode=mode)
    return out.drop("landing_url", "referrer").row(0, named=True)


def triple(
    url: str | None, referrer: str | None = None, mode: ClickIdMode | None = None
) -> tuple[str | None, ...]:
    row = parse(url, referrer, mode)
    return row["source"], row["medium"], row["campaign"]


def channel(url: str | None, referrer: str | None = None, mode: ClickIdMode | None = None) -> str:
    source, medium, campaign = triple(url, referrer, mode)
    return load_rules().classify(source, medium, campaign)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"{SITE}/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
            ("google", "cpc", "brand"),
        ),
        # Percent-encoding and + as a space; the raw case is kept.
        (
            f"{SITE}/?utm_source=News%20Letter&utm_medium=email&utm_campaign=summer+travel%2B",
            ("News Letter", "email", "summer travel+"),
        ),
        (f"{SITE}/?utm_campaign=%C3%A9t%C3%A9&utm_source=x&utm_medium=y", ("x", "y", "été")),
        # Malformed escapes stay as given.
        (f"{SITE}/?utm_source=a%zz&utm_medium=b%FF", ("a%zz", "b%FF", "(not set)")),
        # Parameter order and other parameters do not matter; the first occurrence wins.
        (f"{SITE}/p?x=1&utm_medium=cpc&utm_source=bing&utm_source=z", ("bing", "cpc", "(not set)")),
        # A source or medium alone: the other is (not set).
        (f"{SITE}/?utm_source=newsletter", ("newsletter", "(not set)", "(not set)")),
        # Matomo tags, and utm_ wins over mtm_.
        (f"{SITE}/?mtm_source=matomo&mtm_medium=email&mtm_campaign=m", ("matomo", "email", "m")),
        (f"{SITE}/?mtm_source=matomo&utm_source=utm&utm_medium=cpc", ("utm", "cpc", "(not set)")),
        # Empty tags count as absent.
        (f"{SITE}/?utm_source=&utm_medium=", ("(direct)", "(none)", "(direct)")),
        # The fragment is not the query.
        (f"{SITE}/#utm_source=google&utm_medium=cpc", ("(direct)", "(none)", "(direct)")),
        (f"{SITE}/?utm_source=a&utm_medium=b#utm_campaign=c", ("a", "b", "(not set)")),
        (f"{SITE}/", ("(direct)", "(none)", "(direct)")),
        (None, ("(direct)", "(none)", "(direct)")),
    ],
)
def test_utm_tags(url: str | None, expected: tuple[str, str, str]) -> None:
    assert triple(url) == expected


@pytest.mark.parametrize(
    ("query", "source", "medium", "kind"),
    [
        ("gclid=Cj0KCQiA-AbC", "google", "cpc", "gclid"),
        ("gbraid=0AAAAA", "google", "cpc", "gbraid"),
        ("wbraid=CkQKCQ", "google", "cpc", "wbraid"),
        ("msclkid=5f1e2d", "bing", "cpc", "msclkid"),
        ("dclid=CJ2Hs8", "doubleclick", "display", "dclid"),
        ("ttclid=E.C.P.v3", "tiktok", "cpc", "ttclid"),
        ("li_fat_id=9c3e-6a1b", "linkedin", "cpc", "li_fat_id"),
        ("twclid=2-abc", "twitter", "cpc", "twclid"),
        ("ScCid=AbC", "snapchat", "cpc", "ScCid"),
        ("epik=dj0yJnU9", "pinterest", "cpc", "epik"),
        ("yclid=123", "yandex", "cpc", "yclid"),
    ],
)
def test_infer_mode_reads_every_click_id_as_paid(
    query: str, source: str, medium: str, kind: str
) -> None:
    row = parse(f"{SITE}/?{query}", mode="infer")
    assert (row["source"], row["medium"], row["campaign"]) == (source, medium, "(not set)")
    assert row["click_id_type"] == kind
    assert row["click_id"] == query.split("=", 1)[1]


@pytest.mark.parametrize(
    "query",
    ["msclkid=5f1e2d", "dclid=CJ2Hs8", "ttclid=E.C.P.v3", "li_fat_id=9c3e", "twclid=2-abc",
     "ScCid=AbC", "epik=dj0y", "yclid=123", "fbclid=IwAR"],
)  # fmt: skip
def test_ga4_mode_ignores_ids_ga4_does_not_read(query: str) -> None:
    # GA4 reads only Google Ads auto-tagging; the id is still reported as found.
    row = parse(f"{SITE}/?{query}")
    assert (row["source"], row["medium"], row["campaign"]) == ("(direct)", "(none)", "(direct)")
    assert row["click_id_type"] == query.split("=", 1)[0]
    assert row["click_id"] == query.split("=", 1)[1]


@pytest.mark.parametrize("param", ["gclid", "gbraid", "wbraid"])
def test_ga4_mode_reads_google_ads_auto_tagging(param: str) -> None:
    assert triple(f"{SITE}/?{param}=Cj0") == ("google", "cpc", "(not set)")
    # GA4 uses the auto-tagged values when a URL is tagged both ways; the campaign stays.
    url = f"{SITE}/?utm_source=news&utm_medium=email&utm_campaign=spring&{param}=Cj0"
    assert triple(url) == ("google", "cpc", "spring")
    assert triple(url, mode="infer") == ("news", "email", "spring")


def test_issue_cases_fbclid_and_msclkid() -> None:
    # fbclid alone: GA4 gives Direct; closedloop's inference Organic Social.
    assert channel(f"{SITE}/?fbclid=IwAR") == "Direct"
    assert channel(f"{SITE}/?fbclid=IwAR", mode="infer") == "Organic Social"
    # msclkid with a bing.com referrer: GA4 gives Organic Search; the inference Paid Search.
    bing = "https://www.bing.com/"
    assert triple(f"{SITE}/?msclkid=5f1e", bing) == ("bing", "organic", "(organic)")
    assert channel(f"{SITE}/?msclkid=5f1e", bing) == "Organic Search"
    assert channel(f"{SITE}/?msclkid=5f1e", bing, mode="infer") == "Paid Search"


def test_mode_comes_from_the_rules_unless_given() -> None:
    frame = pl.DataFrame({"landing_url": [f"{SITE}/?msclkid=m"]})
    infer = load_rules(click_ids="infer")
    assert parse_landing_urls(frame, rules=infer)["medium"].to_list() == ["cpc"]
    assert parse_landing_urls(frame, rules=infer, click_id_mode="ga4")["medium"].to_list() == [
        "(none)"
    ]
    with pytest.raises(InputError, match="click_id_mode must be one of ga4, infer"):
        parse_landing_urls(frame, click_id_mode="paid")  # type: ignore[arg-type]


def test_click_id_values_keep_their_case_and_names_are_exact() -> None:
    assert parse(f"{SITE}/?gclid=AbCdEf")["click_id"] == "AbCdEf"
    assert parse(f"{SITE}/?sccid=AbC")["click_id"] is None
    assert parse(f"{SITE}/#gclid=AbC")["click_id"] is None


def test_infer_mode_click_id_fills_only_a_missing_medium() -> None:
    def infer(url: str) -> tuple[str | None, ...]:
        return triple(url, mode="infer")

    assert infer(f"{SITE}/?utm_source=google&gclid=x") == ("google", "cpc", "(not set)")
    assert infer(f"{SITE}/?utm_source=partner&msclkid=x") == ("partner", "cpc", "(not set)")
    assert infer(f"{SITE}/?utm_medium=email&gclid=x") == ("google", "email", "(not set)")
    assert infer(f"{SITE}/?utm_source=a&utm_medium=b&gclid=x") == ("a", "b", "(not set)")
    assert infer(f"{SITE}/?gclid=x&utm_campaign=brand") == ("google", "cpc", "brand")
    # Several ids: CLICK_IDS order decides, in both modes.
    assert parse(f"{SITE}/?fbclid=f&msclkid=m&gclid=g", mode="infer")["click_id_type"] == "gclid"
    assert parse(f"{SITE}/?fbclid=f&msclkid=m&gclid=g")["click_id_type"] == "gclid"
    assert triple(f"{SITE}/?fbclid=f&msclkid=m&gclid=g") == ("google", "cpc", "(not set)")


def test_fbclid_alone_is_not_paid() -> None:
    # With a referrer, the referrer decides (both modes); without one, infer mode says
    # facebook / referral and GA4 Direct.
    for mode in ("ga4", "infer"):
        assert triple(f"{SITE}/?fbclid=IwAR", "https://l.facebook.com/", mode) == (
            "l.facebook.com",
            "referral",
            "(referral)",
        )
        assert triple(f"{SITE}/?utm_source=facebook&fbclid=IwAR", mode=mode) == (
            "facebook",
            "(not set)",
            "(not set)",
        )
    assert triple(f"{SITE}/?fbclid=IwAR", mode="infer") == ("facebook", "referral", "(referral)")
    assert triple(f"{SITE}/?fbclid=IwAR") == ("(direct)", "(none)", "(direct)")
    assert load_rules().classify("l.facebook.com", "referral") == "Organic Social"


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("https://www.google.com/", ("google", "organic", "(organic)")),
        ("https://www.google.co.uk/search?q=x", ("google", "organic", "(organic)")),
        ("https://search.yahoo.com/", ("yahoo", "organic", "(organic)")),
        ("https://duckduckgo.com/", ("duckduckgo", "organic", "(organic)")),
        ("https://cn.bing.com/", ("cn.bing.com", "organic", "(organic)")),
        ("https://www.ecosia.org/search", ("ecosia", "organic", "(organic)")),
        ("http://WWW.G2.com/products/acme", ("g2.com", "referral", "(referral)")),
        ("https://mail.google.com/", ("mail.google.com", "referral", "(referral)")),
        (
            "android-app://com.google.android.gm/",
            ("com.google.android.gm", "referral", "(referral)"),
        ),
        ("t.co", ("t.co", "referral", "(referral)")),
        # The site's own pages are not a referral.
        (f"{SITE}/pricing", ("(direct)", "(none)", "(direct)")),
        ("", ("(direct)", "(none)", "(direct)")),
        (None, ("(direct)", "(none)", "(direct)")),
    ],
)
def test_referrer_fallback(referrer: str | None, expected: tuple[str, str, str]) -> None:
    assert triple(f"{SITE}/blog", referrer) == expected


@pytest.mark.parametrize(
    "referrer",
    [
        "https://chatgpt.com/",
        "https://chat.openai.com/c/123",
        "https://gemini.google.com/app",
        "https://claude.ai/chat/x",
        "https://www.perplexity.ai/search?q=x",
        "https://copilot.microsoft.com/",
    ],
)
def test_ai_assistant_referrers(referrer: str) -> None:
    # As GA4 does: medium ai-assistant, campaign (ai-assistant), the AI Assistant channel.
    source, medium, campaign = triple(f"{SITE}/blog", referrer)
    assert (medium, campaign) == ("ai-assistant", "(ai-assistant)")
    assert source == referrer.split("/")[2].removeprefix("www.")
    assert channel(f"{SITE}/blog", referrer) == "AI Assistant"
    assert channel(f"{SITE}/blog", referrer, mode="infer") == "AI Assistant"


def test_tagged_ai_visits_keep_their_tags() -> None:
    # ChatGPT adds utm_source=chatgpt.com and no medium: GA4 shows chatgpt.com / (not set).
    url = f"{SITE}/?utm_source=chatgpt.com"
    assert triple(url, "https://chatgpt.com/") == ("chatgpt.com", "(not set)", "(not set)")
    assert channel(url, "https://chatgpt.com/") == "Unassigned"
    assert channel(f"{SITE}/?utm_source=chatgpt.com&utm_medium=referral") == "AI Assistant"


def test_tags_win_over_the_referrer() -> None:
    assert triple(f"{SITE}/?utm_source=x&utm_medium=email", "https://google.com") == (
        "x",
        "email",
        "(not set)",
    )
    assert triple(f"{SITE}/?utm_campaign=spring", "https://google.com") == (
        "google",
        "organic",
        "spring",
    )


def test_given_source_and_medium_are_kept() -> None:
    frame = pl.DataFrame(
        {
            "landing_url": [f"{SITE}/?utm_source=a&utm_medium=b&utm_campaign=c"] * 2,
            "source": ["crm", None],
            "medium": ["event", None],
            "campaign": [None, None],
        }
    )
    out = parse_landing_urls(frame, referrer_column=None)
    assert out.select("source", "medium", "campaign").rows() == [
        ("crm", "event", "c"),
        ("a", "b", "c"),
    ]


def test_extra_click_id_and_missing_column() -> None:
    frame = pl.DataFrame({"url": [f"{SITE}/?rdt_cid=1"]})
    extra = (*CLICK_IDS, ClickId("rdt_cid", "reddit", "cpc"))
    out = parse_landing_urls(frame, "url", click_ids=extra, click_id_mode="infer")
    assert out.select("source", "medium", "click_id_type").row(0) == ("reddit", "cpc", "rdt_cid")
    # GA4 mode counts only auto-tagged ids.
    out = parse_landing_urls(frame, "url", click_ids=extra)
    assert out.select("source", "medium", "click_id_type").row(0) == (
        "(direct)",
        "(none)",
        "rdt_cid",
    )
    tagged = (*CLICK_IDS, ClickId("rdt_cid", "reddit", "cpc", auto_tagged=True))
    out = parse_landing_urls(frame, "url", click_ids=tagged)
    assert out.select("source", "medium").row(0) == ("reddit", "cpc")
    with pytest.raises(MissingColumnsError, match="No landing-page URL column 'landing_url'"):
        parse_landing_urls(frame)


def test_decoding_many_rows_is_vectorised() -> None:
    urls = [
        f"{SITE}/?utm_source=s{i % 50}&utm_medium=cpc&utm_campaign=c%20{i % 7}"
        for i in range(50_000)
    ]
    out = parse_landing_urls(pl.DataFrame({"landing_url": urls}))
    assert out["campaign"].n_unique() == 7
    assert out["campaign"][3] == "c 3"


# -- ingest: a touchpoints file without a channel column ---------------------------------------

SESSIONS_MAP = {"touchpoint_id": "session_id", "user_id": "anonymous_id", "ts": "session_start"}

EXPECTED_SAMPLE_INFER = {
    "s001": "Paid Search",
    "s002": "Organic Search",
    "s003": "Paid Search",
    "s004": "Paid Search",
    "s005": "Organic Search",
    "s006": "Direct",
    "s007": "Paid Social",
    "s008": "Organic Social",
    "s009": "Paid Social",
    "s010": "Organic Social",
    "s011": "Email",
    "s012": "Direct",
    "s013": "Referral",
    "s014": "Direct",
    "s015": "Organic Video",
    "s016": "Display",
    "s017": "Display",
    "s018": "Paid Social",
    "s019": "Referral",
    "s020": "Unassigned",
    "s021": "Affiliates",
    "s022": "SMS",
    "s023": "Mobile Push Notifications",
    "s024": "Paid Shopping",
    "s025": "Cross-network",
    "s026": "Paid Social",
    "s027": "Organic Social",
    "s028": "Organic Social",
    "s029": "Referral",
    "s030": "Audio",
    "s031": "Paid Search",
    "s032": "Organic Search",
}


# GA4 reads no msclkid (s004, with a bing.com referrer), fbclid (s010), dclid (s017) or
# ttclid (s018); the rest is the same in both modes.
EXPECTED_SAMPLE = EXPECTED_SAMPLE_INFER | {
    "s004": "Organic Search",
    "s010": "Direct",
    "s017": "Direct",
    "s018": "Direct",
}


@pytest.mark.parametrize("mode", ["ga4", "infer"])
def test_ingest_sample_web_sessions_derives_channels(tmp_path: Path, mode: ClickIdMode) -> None:
    store = Store(tmp_path / "store.duckdb", wait_seconds=2.0)
    sample = EXAMPLES / "web_sessions_sample.csv"
    assert "channel" not in sample.read_text(encoding="utf-8").splitlines()[0]
    rules = load_rules(click_ids=mode)
    summary = ingest_files(
        store, "touchpoints", [sample], mapping=SESSIONS_MAP, channel_rules=rules
    )
    assert (summary.rows_read, summary.inserted, summary.rejected) == (32, 32, 0)
    stored = store.read("touchpoints").sort("touchpoint_id")
    expected = EXPECTED_SAMPLE if mode == "ga4" else EXPECTED_SAMPLE_INFER
    assert dict(stored.select("touchpoint_id", "channel").iter_rows()) == expected
    row = stored.filter(pl.col("touchpoint_id") == "s011").row(0, named=True)
    assert (row["source"], row["medium"], row["campaign"]) == (
        "newsletter",
        "email",
        "March product update",
    )


def test_ingest_derives_channel_from_source_and_medium(tmp_path: Path) -> None:
    path = tmp_path / "touches.csv"
    path.write_text(
        "touchpoint_id,user_id,ts,source,medium,channel\n"
        "t1,u1,2024-01-01,Google,CPC,\n"
        "t2,u1,2024-01-02,newsletter,email,Nurture\n"
        "t3,u2,2024-01-03,flyer,qr,\n",
        encoding="utf-8",
    )
    store = Store(tmp_path / "store.duckdb", wait_seconds=2.0)
    ingest_files(store, "touchpoints", [path])
    stored = store.read("touchpoints").sort("touchpoint_id")
    assert stored["channel"].to_list() == ["Paid Search", "Nurture", "Unassigned"]
    assert stored["source"].to_list() == ["Google", "newsletter", "flyer"]


def test_ingest_with_own_rules_and_mapped_url(tmp_path: Path) -> None:
    rules_path = tmp_path / "rules.toml"
    rules_path.write_text("[[rules]]\nchannel = 'Ads'\nall.medium_in = ['cpc']\n", encoding="utf-8")
    raw = pl.DataFrame(
        {
            "id": ["t1", "t2"],
            "who": ["u1", "u2"],
            "when": ["2024-01-01", "2024-01-02"],
            "page": [f"{SITE}/?gclid=x", f"{SITE}/"],
        }
    )
    mapping = {"touchpoint_id": "id", "user_id": "who", "ts": "when", "landing_url": "page"}
    out = apply_mapping(raw, "touchpoints", mapping, "x.csv", channel_rules=load_rules(rules_path))
    assert out["channel"].to_list() == ["Ads", "Unassigned"]
    assert "page" not in out.columns
    assert "click_id" not in out.columns


def test_missing_channel_without_inputs_still_fails(tmp_path: Path) -> None:
    raw = pl.DataFrame({"touchpoint_id": ["t1"], "user_id": ["u1"], "ts": ["2024-01-01"]})
    with pytest.raises(MissingColumnsError, match="derive the channel from"):
        apply_mapping(raw, "touchpoints", None, "touches.csv")
