"""``closedloop channels explain`` / ``rules`` and ``closedloop ingest --channel-rules``."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from api.cli import main
from ingest import Store

Capture = pytest.CaptureFixture[str]


def test_explain_text(capsys: Capture) -> None:
    assert main(["channels", "explain", "Google", "CPM"]) == 0
    assert capsys.readouterr().out == (
        "Google / CPM -> Paid Search\n"
        "rule 4 of 19 (Paid Search): source 'google' is a SEARCH source and medium 'cpm' "
        "matches pattern 'paid' ^(.*cp.*|ppc|retargeting|paid.*)$\n"
    )


def test_explain_with_campaign(capsys: Capture) -> None:
    assert main(["channels", "explain", "acme", "cpc", "Summer_Shop"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("acme / cpc / Summer_Shop -> Paid Shopping\nrule 3 of 19 (Paid Shopping)")


def test_explain_unassigned(capsys: Capture) -> None:
    assert main(["channels", "explain", "flyer", "qr"]) == 0
    assert capsys.readouterr().out == (
        "flyer / qr -> Unassigned\n"
        "no rule matched; the fallback channel is Unassigned (19 rules tried)\n"
    )


def test_explain_json(capsys: Capture) -> None:
    assert main(["channels", "explain", "google", "referral", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "source": "google",
        "medium": "referral",
        "campaign": None,
        "channel": "Organic Search",
        "rule_number": 13,
        "rule_name": "Organic Search",
        "reason": "source 'google' is a SEARCH source",
        "rules": data["rules"],
    }
    assert data["rules"].endswith("channel_rules.toml")


def test_explain_own_rules_and_categories(tmp_path: Path, capsys: Capture) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        "[[rules]]\nname = 'events'\nchannel = 'Events'\nall.medium_in = ['webinar']\n"
        "[[rules]]\nchannel = 'Social'\nall.source_category = ['SOCIAL']\n",
        encoding="utf-8",
    )
    extra = tmp_path / "extra.csv"
    extra.write_text("source,category\nmastodon.social,SOCIAL\n", encoding="utf-8")
    argv = ["channels", "explain", "zoom", "Webinar", "--channel-rules", str(rules)]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("zoom / Webinar -> Events\nrule 1 of 2 (events)")
    args = ["channels", "explain", "mastodon.social", "x", "--source-categories", str(extra)]
    assert main(args) == 0
    assert "-> Organic Social" in capsys.readouterr().out


def test_explain_bad_rules_file(tmp_path: Path, capsys: Capture) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nchannel = 'A'\nall.medium_is = 'x'\n", encoding="utf-8")
    assert main(["channels", "explain", "a", "b", "--channel-rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("closedloop channels: error: Channel rules 'rules.toml': rule 1 (A)")
    assert "Did you mean 'medium_in'?" in err


def test_explain_old_spellings_still_work(tmp_path: Path, capsys: Capture) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nchannel = 'Events'\nall.medium_in = ['webinar']\n")
    new = main(["channels", "explain", "zoom", "webinar", "--channel-rules", str(rules)])
    expected = capsys.readouterr()
    old = main(
        ["channels", "explain", "zoom", "webinar", "--rules", str(rules), "--format", "text"]
    )
    out, err = capsys.readouterr()
    assert (new, old) == (0, 0)
    assert expected.err == ""
    assert out == expected.out
    assert out.startswith("zoom / webinar -> Events\n")
    assert err == (
        "closedloop channels explain: note: --rules is deprecated; use --channel-rules.\n"
        "closedloop channels explain: note: --format text is deprecated; use --format table.\n"
    )


def test_explain_help_shows_the_new_spellings_only(capsys: Capture) -> None:
    assert main(["channels", "explain", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--channel-rules" in out
    assert "{table,json}" in out
    assert "--rules" not in out
    assert "text" not in out


def test_rules_prints_the_builtin_file(capsys: Capture) -> None:
    assert main(["channels", "rules"]) == 0
    data = tomllib.loads(capsys.readouterr().out)
    assert len(data["rules"]) == 19


def test_ingest_with_channel_rules(tmp_path: Path, capsys: Capture) -> None:
    touches = tmp_path / "touches.csv"
    touches.write_text(
        "touchpoint_id,user_id,ts,landing_url\n"
        "t1,u1,2024-01-01,https://acme.io/?utm_source=zoom&utm_medium=webinar\n"
        "t2,u1,2024-01-02,https://acme.io/?gclid=abc\n",
        encoding="utf-8",
    )
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rules]]\nchannel = 'Events'\nall.medium_in = ['webinar']\n")
    db = tmp_path / "store.duckdb"
    args = ["ingest", "touchpoints", str(touches), "--db", str(db), "--channel-rules", str(rules)]
    assert main(args) == 0
    assert "2 inserted" in capsys.readouterr().out
    stored = Store(db).read("touchpoints").sort("touchpoint_id")
    assert stored["channel"].to_list() == ["Events", "Unassigned"]
    assert stored["source"].to_list() == ["zoom", "google"]


def test_explain_url_with_click_id_modes(capsys: Capture) -> None:
    # Issue #13: fbclid alone is Direct in GA4; msclkid with a bing.com referrer Organic Search.
    assert main(["channels", "explain", "--url", "https://acme.io/?fbclid=IwAR"]) == 0
    assert capsys.readouterr().out == (
        "https://acme.io/?fbclid=IwAR -> (direct) / (none) / (direct)  (click ids: ga4)\n"
        "(direct) / (none) / (direct) -> Direct\n"
        "rule 1 of 19 (Direct): source is '(direct)' and medium is '(none)'\n"
    )
    argv = ["channels", "explain", "--url", "https://acme.io/?fbclid=IwAR", "--click-ids", "infer"]
    assert main(argv) == 0
    assert "facebook / referral / (referral) -> Organic Social" in capsys.readouterr().out
    url = ["--url", "https://acme.io/?msclkid=5f", "--referrer", "https://www.bing.com/"]
    assert main(["channels", "explain", *url, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["source"], data["medium"], data["channel"]) == (
        "bing",
        "organic",
        "Organic Search",
    )
    assert (data["click_ids"], data["click_id_type"]) == ("ga4", "msclkid")
    assert main(["channels", "explain", *url, "--click-ids", "infer", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["channel"] == "Paid Search"


def test_explain_url_ai_assistant(capsys: Capture) -> None:
    argv = ["channels", "explain", "--url", "https://acme.io/", "--referrer", "https://claude.ai/"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "claude.ai / ai-assistant / (ai-assistant) -> AI Assistant" in out


def test_explain_needs_source_and_medium_or_url(capsys: Capture) -> None:
    assert main(["channels", "explain", "google"]) == 2
    assert "give SOURCE and MEDIUM, or --url URL" in capsys.readouterr().err
    assert main(["channels", "explain", "google", "cpc", "--url", "https://a.io/"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["channels", "explain", "google", "cpc", "--referrer", "https://a.io/"]) == 2
    assert "--referrer needs --url" in capsys.readouterr().err


def test_ingest_click_ids_option(tmp_path: Path, capsys: Capture) -> None:
    touches = tmp_path / "touches.csv"
    touches.write_text(
        "touchpoint_id,user_id,ts,landing_url,referrer\n"
        "t1,u1,2024-01-01,https://acme.io/?fbclid=IwAR,\n"
        "t2,u1,2024-01-02,https://acme.io/?msclkid=5f,https://www.bing.com/\n"
        "t3,u1,2024-01-03,https://acme.io/?gclid=abc,\n",
        encoding="utf-8",
    )
    expected = {
        "ga4": ["Direct", "Organic Search", "Paid Search"],
        "infer": ["Organic Social", "Paid Search", "Paid Search"],
    }
    for mode, channels in expected.items():
        db = tmp_path / f"{mode}.duckdb"
        args = ["ingest", "touchpoints", str(touches), "--db", str(db), "--click-ids", mode]
        assert main(args) == 0
        capsys.readouterr()
        stored = Store(db).read("touchpoints").sort("touchpoint_id")
        assert stored["channel"].to_list() == channels
    db = tmp_path / "default.duckdb"
    assert main(["ingest", "touchpoints", str(touches), "--db", str(db)]) == 0
    assert (
        Store(db).read("touchpoints").sort("touchpoint_id")["channel"].to_list()
        == (expected["ga4"])
    )
