"""``closedloop channels``: see which channel rule a source / medium / campaign falls under.

::

    closedloop channels explain google cpm
    closedloop channels explain facebook paid-social spring_sale --format json
    closedloop channels explain mastodon.social referral --source-categories extra.csv
    closedloop channels explain zoom webinar --channel-rules my_rules.toml
    closedloop channels rules > my_rules.toml      # the built-in rules, to copy and edit

``explain`` matches exactly as ingest does (case-insensitive, first rule
wins); ``--channel-rules`` checks your own rules file before you ingest with
it, the same option as ``closedloop ingest --channel-rules``. The old
spellings ``--rules`` and ``--format text`` still work, with a note on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from api.cli._shared import DeprecatedAlias, add_format_option

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop channels explain`` and ``closedloop channels rules``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["channels", "explain", "google", "cpc", "--format", "json"])
    >>> args.channels_command, args.source, args.medium, args.format
    ('explain', 'google', 'cpc', 'json')
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
        "wins, case-insensitive) and why.",
    )
    explain.add_argument("source", metavar="SOURCE", help="utm_source, e.g. google")
    explain.add_argument("medium", metavar="MEDIUM", help="utm_medium, e.g. cpc")
    explain.add_argument("campaign", metavar="CAMPAIGN", nargs="?", help="utm_campaign")
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
    """
    if args.channels_command == "rules":
        return _rules()
    return _explain(args)


def _explain(args: argparse.Namespace) -> int:
    """Print which rule gives SOURCE / MEDIUM [/ CAMPAIGN] its channel, and why."""
    from ingest.channels import DEFAULT_RULES_PATH, load_rules

    rules = load_rules(args.channel_rules, extra_categories=args.source_categories)
    match = rules.explain(args.source, args.medium, args.campaign)
    if args.format == "json":
        data = {
            "source": args.source,
            "medium": args.medium,
            "campaign": args.campaign,
            **match.to_dict(),
            "rules": str(args.channel_rules or DEFAULT_RULES_PATH),
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    given = " / ".join(v for v in (args.source, args.medium, args.campaign) if v is not None)
    if match.rule_number is None:
        why = f"{match.reason} ({len(rules.rules)} rules tried)"
    else:
        why = f"rule {match.rule_number} of {len(rules.rules)} ({match.rule_name}): {match.reason}"
    sys.stdout.write(f"{given} -> {match.channel}\n{why}\n")
    return 0


def _rules() -> int:
    """Print the built-in rules file, to copy and edit."""
    from ingest.channels import DEFAULT_RULES_PATH

    sys.stdout.write(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    return 0


__all__ = ["register", "run"]
