"""``closedloop channels``: see which channel rule a source / medium / campaign falls under.

::

    closedloop channels explain google cpm
    closedloop channels explain facebook paid-social spring_sale --format json
    closedloop channels explain mastodon.social referral --source-categories extra.csv
    closedloop channels explain zoom webinar --channel-rules my_rules.toml
    closedloop channels explain --url 'https://acme.io/?msclkid=5f' --referrer https://bing.com/
    closedloop channels explain --url 'https://acme.io/?fbclid=Iw' --click-ids infer
    closedloop channels rules > my_rules.toml      # the built-in rules, to copy and edit

``explain`` matches exactly as ingest does (case-insensitive, first rule
wins); ``--channel-rules`` checks your own rules file before you ingest with
it, the same option as ``closedloop ingest --channel-rules``. With ``--url``
(and ``--referrer``) it first derives source, medium and campaign from a
landing page as ingest does, reading click ids as ``--click-ids`` says
(``ga4``, the default, or ``infer``: the same option as ``closedloop
ingest --click-ids``). The old spellings ``--rules`` and ``--format text``
still work, with a note on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from api.cli._shared import DeprecatedAlias, add_format_option, write_output

if TYPE_CHECKING:
    from api.cli._shared import Subparsers
    from ingest.channels import ChannelRules


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop channels explain`` and ``closedloop channels rules``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["channels", "explain", "google", "cpc", "--format", "json"])
    >>> args.channels_command, args.source, args.medium, args.format, args.click_ids
    ('explain', 'google', 'cpc', 'json', 'ga4')
    """
    channels = subparsers.add_parser(
        "channels",
        help="explain the channel rules (GA4 default channel grouping)",
        description="Touches without a channel get one from ordered rules over source, medium "
        "and campaign (GA4's default channel grouping unless --channel-rules says otherwise). "
        "See docs/channels.md.",
    )
    actions = channels.add_subparsers(dest="channels_command", metavar="ACTION", required=True)
    explain = actions.add_parser(
        "explain",
        help="say which rule a source / medium / campaign matches, and why",
        description="Say which channel rule SOURCE / MEDIUM [/ CAMPAIGN] matches (first match "
        "wins, case-insensitive) and why. With --url instead, derive source, medium and "
        "campaign from a landing-page URL (and --referrer) first, as ingest does.",
    )
    explain.add_argument("source", metavar="SOURCE", nargs="?", help="utm_source, e.g. google")
    explain.add_argument("medium", metavar="MEDIUM", nargs="?", help="utm_medium, e.g. cpc")
    explain.add_argument("campaign", metavar="CAMPAIGN", nargs="?", help="utm_campaign")
    explain.add_argument(
        "--url",
        metavar="URL",
        help="a landing-page URL to derive source / medium / campaign from (UTM tags, click ids)",
    )
    explain.add_argument(
        "--referrer", metavar="URL", help="the visit's referrer, with --url (default: none)"
    )
    explain.add_argument(
        "--click-ids",
        choices=("ga4", "infer"),
        default="ga4",
        help="how --url's click ids count: ga4 (default: as GA4 reads them, only Google Ads "
        "auto-tagging) or infer (closedloop's inference from every click id), as for "
        "`closedloop ingest --click-ids`",
    )
    explain.add_argument(
        "--channel-rules",
        metavar="F.toml",
        help="your rules file, as for `closedloop ingest` (default: the built-in GA4 rules)",
    )
    explain.add_argument(
        "--rules",
        dest="channel_rules",
        metavar="F.toml",
        action=DeprecatedAlias,
        replacement="--channel-rules",
    )
    explain.add_argument(
        "--source-categories",
        metavar="F.csv",
        help="extra source,category rows (SEARCH, SOCIAL, VIDEO, SHOPPING)",
    )
    add_format_option(explain, ("table", "json"), renamed={"text": "table"})
    explain.set_defaults(explain_parser=explain)
    actions.add_parser(
        "rules",
        help="print the built-in rules file, to copy and edit",
        description="Print the built-in rules file (TOML). Save it, edit it and pass it with "
        "--channel-rules to `closedloop ingest`.",
    )
    channels.set_defaults(handler=run)
    return channels


def run(args: argparse.Namespace) -> int:
    """Run ``channels explain`` or ``channels rules``.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> run(build_parser().parse_args(["channels", "explain", "google", "cpc"]))
    google / cpc -> Paid Search
    rule ...
    0
    >>> run(build_parser().parse_args(["channels", "explain", "--url", "https://a.io/?fbclid=x"]))
    https://a.io/?fbclid=x -> (direct) / (none) / (direct)  (click ids: ga4)
    (direct) / (none) / (direct) -> Direct
    rule 1 of ...
    0
    """
    if args.channels_command == "rules":
        return _rules()
    return _explain(args)


def _explain(args: argparse.Namespace) -> int:
    """Print which rule gives SOURCE / MEDIUM [/ CAMPAIGN] (or --url's) its channel, and why."""
    from ingest.channels import DEFAULT_RULES_PATH, load_rules

    parser = getattr(args, "explain_parser", None)
    if args.url is None and (args.source is None or args.medium is None):
        return _usage(parser, "give SOURCE and MEDIUM, or --url URL")
    if args.url is not None and args.source is not None:
        return _usage(parser, "give SOURCE MEDIUM or --url URL, not both")
    if args.referrer is not None and args.url is None:
        return _usage(parser, "--referrer needs --url")
    rules = load_rules(
        args.channel_rules, extra_categories=args.source_categories, click_ids=args.click_ids
    )
    derived: dict[str, str | None] = {}
    if args.url is not None:
        derived = _from_url(args.url, args.referrer, rules)
    source = derived.get("source", args.source)
    medium = derived.get("medium", args.medium)
    campaign = derived.get("campaign", args.campaign)
    match = rules.explain(source, medium, campaign)
    data: dict[str, object] = {}
    if args.url is not None:
        data |= {
            "url": args.url,
            "referrer": args.referrer,
            "click_ids": args.click_ids,
            "click_id_type": derived.get("click_id_type"),
        }
    data |= {
        "source": source,
        "medium": medium,
        "campaign": campaign,
        **match.to_dict(),
        "rules": str(args.channel_rules or DEFAULT_RULES_PATH),
    }
    given = " / ".join(v for v in (source, medium, campaign) if v is not None)
    lines = []
    if args.url is not None:
        lines.append(f"{args.url} -> {given}  (click ids: {args.click_ids})")
    if match.rule_number is None:
        why = f"{match.reason} ({len(rules.rules)} rules tried)"
    else:
        why = f"rule {match.rule_number} of {len(rules.rules)} ({match.rule_name}): {match.reason}"
    lines += [f"{given} -> {match.channel}", why]
    write_output(args.format, table=lambda: "\n".join(lines), data=lambda: data)
    return 0


def _usage(parser: argparse.ArgumentParser | None, message: str) -> int:
    """Report a usage error of ``channels explain`` and return 2."""
    from api.cli._shared import usage_error

    if parser is None:
        parser = argparse.ArgumentParser(prog="closedloop channels explain")
    return usage_error(parser, message)


def _from_url(url: str, referrer: str | None, rules: ChannelRules) -> dict[str, str | None]:
    """Derive source, medium, campaign and the click-id type of one landing-page visit."""
    import polars as pl

    from ingest.utm import parse_landing_urls

    visit = pl.DataFrame(
        {"landing_url": [url], "referrer": [referrer]},
        schema={"landing_url": pl.String, "referrer": pl.String},
    )
    row = parse_landing_urls(visit, rules=rules).row(0, named=True)
    return {k: row[k] for k in ("source", "medium", "campaign", "click_id_type")}


def _rules() -> int:
    """Print the built-in rules file, to copy and edit."""
    from ingest.channels import DEFAULT_RULES_PATH

    sys.stdout.write(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    return 0


__all__ = ["register", "run"]
