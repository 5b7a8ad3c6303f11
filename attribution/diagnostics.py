"""Diagnostics: what the data hides from an answer, with the figures and the fix.

Every answer carries a list of :class:`Diagnostic` (JSON member
``warnings``, lines under the CLI table, a box in the HTML report, a strip
in the dashboard). Each check is one function of *small* figures that the
engine already returns or computes in one aggregate (counts, the distinct
cost and touch keys, the gaps of the untouched conversions): none of them
looks at raw rows one by one. A check returns ``None`` (or nothing) when the
data is fine.

The codes are stable: :data:`CODES` lists them, ``docs/diagnostics.md``
documents each one (what it means, its figures, how to fix it). To add a
check: one registry line, one function returning :class:`Diagnostic`, one
section of the docs and one test that fires and one that stays silent.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from attribution.constants import MAX_LOOKBACK_DAYS, NO_TOUCHPOINT, NOT_SET
from attribution.numbers import format_number

Severity = Literal["info", "warning"]

CODES: dict[str, str] = {
    "no_touch_in_lookback": "conversions (and revenue) with no touch in the lookback window",
    "spend_without_touches": "spend whose key matches no touch of the period",
    "paid_touches_without_spend": "touches of a paid channel with no spend loaded for it",
    "unknown_stage": "conversion stages outside the stages closedloop knows",
    "funnel_stage_absent": "funnel stages the data does not have",
    "group_set_on_some_stages": "the grouping column is set on some stages only",
    "revenue_concentrated": "one conversion carries a large share of the revenue",
    "no_spend_in_period": "months of the period with no spend loaded",
}
"""Every diagnostic code and what it means; stable, documented in ``docs/diagnostics.md``."""

COVER_SHARE = 0.95
"""The share of the untouched conversions the suggested lookback reaches."""

UNTOUCHED_WARNING_SHARE = 0.05
"""Untouched conversions or revenue from this share on are a warning, below it information."""

CONCENTRATED_SHARE = 0.25
"""One conversion carrying this share of the revenue (and 10× an average one's) is reported."""

SET_SHARE, UNSET_SHARE = 0.5, 0.1
"""A column set on at least half of one stage's rows and under 10% of another's is partial."""

MAX_SPELLING_LOOKUPS = 50
"""Unmatched cost keys (by spend) compared by spelling; the rest by folded letters only."""

PAID_CHANNELS = frozenset(
    {
        "Audio",
        "Cross-network",
        "Display",
        "Other Advertising",
        "Paid Other",
        "Paid Search",
        "Paid Shopping",
        "Paid Social",
        "Paid Video",
    }
)
"""Channels bought per click or impression: GA4's paid default channel groups (and Olist's)."""


@dataclass(frozen=True)
class Diagnostic:
    """One thing the data hides: a stable ``code``, a ``severity``, a sentence and its figures.

    Examples
    --------
    >>> d = Diagnostic("funnel_stage_absent", "info", "No sql rows.", {"stages": ["sql"]})
    >>> d.to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'code': 'funnel_stage_absent', 'severity': 'info', 'message': 'No sql rows.',
     'stages': ['sql']}
    >>> d.line()
    'info [funnel_stage_absent]: No sql rows.'
    >>> Diagnostic("bogus", "info", "x")
    Traceback (most recent call last):
    ...
    ValueError: Unknown diagnostic code 'bogus'; add it to attribution.diagnostics.CODES.
    """

    code: str
    severity: Severity
    message: str
    figures: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(
                f"Unknown diagnostic code {self.code!r}; add it to attribution.diagnostics.CODES."
            )
        if self.severity not in ("info", "warning"):
            raise ValueError(f"severity must be 'info' or 'warning'. Got {self.severity!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: ``code``, ``severity``, ``message`` and the figures."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            **self.figures,
        }

    def line(self) -> str:
        """Return the line a terminal prints: ``warning [code]: message``."""
        return f"{self.severity} [{self.code}]: {self.message}"


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"


def _money(amount: float, currency: str | None) -> str:
    return format_number(amount, "money", currency)


@dataclass(frozen=True)
class TouchGaps:
    """How far the untouched conversions are from a touch (one engine aggregate).

    ``beyond`` conversions had their person's latest earlier touch outside
    the lookback (or none: ``never`` of them); ``cover_days`` is the lookback,
    in whole days, that reaches :data:`COVER_SHARE` of the ``beyond`` ones
    (``None`` when too many were never touched for any lookback to).
    """

    beyond: int
    never: int
    cover_days: float | None


def lookback_cover(gap_days: pl.Series, share: float = COVER_SHARE) -> TouchGaps:
    """Summarise the days from each untouched conversion back to its latest touch (null: none).

    The lookback that reaches ``share`` of them is the ``ceil(share × n)``-th
    smallest gap, rounded up to a whole day; when the never-touched ones are
    more than ``1 − share`` of them, no lookback does.

    Examples
    --------
    >>> lookback_cover(pl.Series([100.2, 120.0, 400.5, None]), share=0.5)
    TouchGaps(beyond=4, never=1, cover_days=120.0)
    >>> lookback_cover(pl.Series([None, None], dtype=pl.Float64))
    TouchGaps(beyond=2, never=2, cover_days=None)
    """
    n = gap_days.len()
    never = gap_days.null_count()
    rank = math.ceil(share * n)
    reached = gap_days.drop_nulls().sort()
    cover = float(math.ceil(reached[rank - 1])) if 0 < rank <= reached.len() else None
    return TouchGaps(beyond=n, never=never, cover_days=cover)


def check_untouched(
    *,
    stage: str | None,
    conversions: float,
    revenue: float,
    untouched: int,
    untouched_revenue: float,
    lookback_days: float,
    currency: str | None,
    gaps: TouchGaps | None = None,
    click_window_days: float | None = None,
) -> Diagnostic | None:
    """Report conversions no touch in the lookback reached (the ``(no touchpoint)`` row).

    With a click window narrower than the lookback (``click_window_days``),
    that window is what reached no touch, and the fix it suggests is a wider
    click window (and lookback, beyond it).

    Examples
    --------
    >>> d = check_untouched(stage="closed_won", conversions=842, revenue=61_784_006,
    ...     untouched=152, untouched_revenue=61_729_006, lookback_days=90, currency="BRL",
    ...     gaps=TouchGaps(beyond=152, never=0, cover_days=329.0))
    >>> d.severity, d.figures["share_revenue"] > 0.99, d.figures["suggested_lookback_days"]
    ('warning', True, 329.0)
    >>> print(d.message)  # doctest: +NORMALIZE_WHITESPACE
    152 of 842 closed_won conversions (18.1%), carrying R$61,729,006.00 of
    R$61,784,006.00 (99.9%), have no touch in the 90-day lookback and are credited to
    (no touchpoint); a lookback of 329 days reaches 95% of them (--lookback-days 329).
    >>> check_untouched(stage=None, conversions=10, revenue=0, untouched=0,
    ...     untouched_revenue=0, lookback_days=90, currency="USD") is None
    True
    >>> d = check_untouched(stage=None, conversions=10, revenue=100, untouched=4,
    ...     untouched_revenue=40, lookback_days=90, currency="USD", click_window_days=7,
    ...     gaps=TouchGaps(beyond=4, never=0, cover_days=30.0))
    >>> print(d.message)  # doctest: +NORMALIZE_WHITESPACE
    4 of 10 conversions (40.0%), carrying $40.00 of $100.00 (40.0%), have no touch in the
    7-day click window (90-day lookback) and are credited to (no touchpoint); a click window
    of 30 days reaches 95% of them (--click-window-days 30).
    """
    if untouched <= 0:
        return None
    share_conversions = _share(untouched, conversions)
    share_revenue = _share(untouched_revenue, revenue)
    large = max(share_conversions or 0.0, share_revenue or 0.0) >= UNTOUCHED_WARNING_SHARE
    what = f"{stage} conversions" if stage else "conversions"
    narrow = click_window_days is not None and click_window_days < lookback_days
    reach = (
        f"{click_window_days:g}-day click window ({lookback_days:g}-day lookback)"
        if narrow
        else f"{lookback_days:g}-day lookback"
    )
    message = (
        f"{untouched:,} of {conversions:,.0f} {what} ({_pct(share_conversions)}), carrying "
        f"{_money(untouched_revenue, currency)} of {_money(revenue, currency)} "
        f"({_pct(share_revenue)}), have no touch in the {reach} and are "
        f"credited to {NO_TOUCHPOINT}"
    )
    figures: dict[str, Any] = {
        "conversions": untouched,
        "revenue": untouched_revenue,
        "share_conversions": share_conversions,
        "share_revenue": share_revenue,
        "lookback_days": lookback_days,
        "suggested_lookback_days": None,
        "never_touched": None,
        "beyond_lookback": None,
    }
    if gaps is not None:
        figures["never_touched"] = gaps.never
        figures["beyond_lookback"] = gaps.beyond
        cover = gaps.cover_days
        if narrow and cover is not None and cover <= lookback_days:
            figures["suggested_click_window_days"] = cover
            message += (
                f"; a click window of {cover:g} days reaches {COVER_SHARE:.0%} of them "
                f"(--click-window-days {cover:g})"
            )
        elif cover is not None and lookback_days < cover <= MAX_LOOKBACK_DAYS:
            figures["suggested_lookback_days"] = cover
            flags = f"--lookback-days {cover:g}"
            if narrow:
                flags += f" --click-window-days {cover:g}"
            message += f"; a lookback of {cover:g} days reaches {COVER_SHARE:.0%} of them ({flags})"
        if gaps.never:
            message += (
                f"; {gaps.never:,} of them {'has' if gaps.never == 1 else 'have'} no touch of "
                "their own at any date (none, or all claimed by an earlier conversion): no "
                "lookback reaches them; load their touches, or check that their ids match the "
                "touches' (identities)"
            )
    return Diagnostic(
        "no_touch_in_lookback", "warning" if large else "info", message + ".", figures
    )


def _fold(key: str) -> str:
    """Compare keys as people read them: case, spaces, ``_`` and ``-`` aside."""
    return re.sub(r"[\s_\-]+", " ", key).strip().casefold()


def suggest_key(key: str, candidates: Sequence[str] | Mapping[str, str]) -> str | None:
    """Return the candidate ``key`` most likely means: same letters folded, else the closest.

    ``candidates`` may be given already folded (:func:`folded_keys`) when
    many keys are looked up in the same list.

    Examples
    --------
    >>> suggest_key("BRAND_SEARCH", ["Brand Search", "Email"])
    'Brand Search'
    >>> suggest_key("paid serch", ["Paid Search", "Paid Social"])
    'Paid Search'
    >>> suggest_key("tv", ["Paid Search"]) is None
    True
    """
    folded = candidates if isinstance(candidates, Mapping) else folded_keys(candidates)
    if _fold(key) in folded:
        return folded[_fold(key)]
    close = difflib.get_close_matches(_fold(key), list(folded), n=1, cutoff=0.75)
    return folded[close[0]] if close else None


def folded_keys(keys: Iterable[str]) -> dict[str, str]:
    """Return the keys by their folded spelling (case, spaces, ``_`` and ``-`` aside).

    Examples
    --------
    >>> folded_keys(["Paid Search"])
    {'paid search': 'Paid Search'}
    """
    return {_fold(k): k for k in keys}


def check_cost_keys(
    cost_keys: pl.DataFrame,
    touch_keys: Iterable[str],
    *,
    by: str,
    currency: str | None,
    paid: frozenset[str] = PAID_CHANNELS,
) -> list[Diagnostic]:
    """Compare the period's cost keys (``key``, ``spend``) with its touch keys.

    Spend whose key no touch has cannot be set against any revenue
    (``spend_without_touches``, with a did-you-mean per key); touches of a paid
    channel no spend row names make that channel look free
    (``paid_touches_without_spend``, by channel only). Run it after any cost
    mapping: it compares the keys as the report joins them.

    Examples
    --------
    >>> costs = pl.DataFrame({"key": ["paid search", "Email"], "spend": [120.0, 10.0]})
    >>> found = check_cost_keys(costs, ["Paid Search", "Email"], by="channel", currency="USD")
    >>> [d.code for d in found]
    ['spend_without_touches', 'paid_touches_without_spend']
    >>> print(found[0].message)  # doctest: +NORMALIZE_WHITESPACE
    $120.00 of spend (92.3% of $130.00) is on 1 channel no touch of the period has:
    'paid search' (did you mean 'Paid Search'?); rename it in the cost file (or map it) to
    match the touches exactly.
    >>> check_cost_keys(costs.head(0), ["Email"], by="channel", currency="USD")
    []
    """
    touches = sorted(set(touch_keys))
    spend = cost_keys.group_by("key").agg(pl.col("spend").sum()).sort("key")
    total = float(spend["spend"].sum())
    orphan = spend.filter(~pl.col("key").is_in(touches) & (pl.col("spend") != 0))
    found: list[Diagnostic] = []
    if orphan.height:
        orphan = orphan.sort(["spend", "key"], descending=[True, False])
        keys = orphan["key"].to_list()
        amounts = orphan["spend"].to_list()
        # Spelling distances cost keys × touch keys: only the costliest keys get one.
        folded = folded_keys(touches)
        suggestions = {
            k: suggest_key(k, folded) if i < MAX_SPELLING_LOOKUPS else folded.get(_fold(k))
            for i, k in enumerate(keys)
        }
        named = [
            f"'{k}'" + (f" (did you mean '{s}'?)" if s else "") for k, s in suggestions.items()
        ]
        unmatched = float(sum(amounts))
        shown = ", ".join(named[:10]) + (
            f" and {len(named) - 10:,} more" if len(named) > 10 else ""
        )
        found.append(
            Diagnostic(
                "spend_without_touches",
                "warning",
                f"{_money(unmatched, currency)} of spend ({_pct(_share(unmatched, total))} of "
                f"{_money(total, currency)}) is on {len(keys):,} {by}"
                f"{'' if len(keys) == 1 else 's'} no touch of the period has: {shown}; rename "
                f"{'it' if len(keys) == 1 else 'them'} in the cost file (or map "
                f"{'it' if len(keys) == 1 else 'them'}) to match the touches exactly.",
                {
                    "by": by,
                    "spend": unmatched,
                    "share_spend": _share(unmatched, total),
                    "keys": [
                        {"key": k, "spend": a, "did_you_mean": suggestions[k]}
                        for k, a in zip(keys, amounts, strict=True)
                    ],
                },
            )
        )
    if by == "channel" and spend.height:
        spent = set(spend.filter(pl.col("spend") != 0)["key"].to_list())
        free = [k for k in touches if k in paid and k not in spent]
        if free:
            cost_names = spend["key"].to_list()
            hints = {k: suggest_key(k, [c for c in cost_names if c not in touches]) for k in free}
            named = [
                f"'{k}'" + (f" (spend is under '{h}'?)" if h else "") for k, h in hints.items()
            ]
            found.append(
                Diagnostic(
                    "paid_touches_without_spend",
                    "warning",
                    f"{len(free):,} paid channel{'' if len(free) == 1 else 's'} ha"
                    f"{'s' if len(free) == 1 else 've'} touches but no spend in the period: "
                    f"{', '.join(named)}; their ROAS and CPA are null and the total spend is "
                    "understated (total ROAS too high): load their costs, or name them as the "
                    "touches do.",
                    {"by": by, "keys": [{"key": k, "did_you_mean": hints[k]} for k in free]},
                )
            )
    return found


def check_stages(
    present: Mapping[str, int], known: Sequence[str], *, stage_map_flag: str = "--stage-map"
) -> Diagnostic | None:
    """Report conversion stages outside the ones closedloop knows (funnel and report stages).

    Examples
    --------
    >>> d = check_stages({"Closed Won": 12, "mql": 40}, ["mql", "closed_won"])
    >>> print(d.message)  # doctest: +NORMALIZE_WHITESPACE
    12 conversions have a stage closedloop does not know: 'Closed Won' (12, did you mean
    'closed_won'?); the default funnels and the stage-aware models skip them: re-ingest with
    --stage-map 'Closed Won=closed_won' (or name them in --stages).
    >>> check_stages({"mql": 40}, ["mql"]) is None
    True
    """
    unknown = {s: n for s, n in sorted(present.items()) if s not in known}
    if not unknown:
        return None
    hints = {s: suggest_key(s, known) for s in unknown}
    named = [
        f"'{s}' ({n:,}" + (f", did you mean '{hints[s]}'?)" if hints[s] else ")")
        for s, n in unknown.items()
    ]
    example = next(((s, h) for s, h in hints.items() if h), (next(iter(unknown)), known[-1]))
    rows = sum(unknown.values())
    return Diagnostic(
        "unknown_stage",
        "warning",
        f"{rows:,} conversion{' has' if rows == 1 else 's have'} a stage closedloop does not "
        f"know: {', '.join(named)}; the default funnels and the stage-aware models skip them: "
        f"re-ingest with {stage_map_flag} '{example[0]}={example[1]}' (or name them in "
        "--stages).",
        {
            "stages": [
                {"stage": s, "conversions": n, "did_you_mean": hints[s]} for s, n in unknown.items()
            ],
            "known": list(known),
        },
    )


def check_absent_stages(
    absent: Sequence[str], stages: Sequence[str], lost: Sequence[str] = ()
) -> Diagnostic | None:
    """Report the funnel's stages the data has no row of (their counts and rates are null).

    Examples
    --------
    >>> print(check_absent_stages(["lead", "sql"], ["lead", "mql", "sql", "closed_won"]).message)
    The data has no lead, sql rows: their counts and every rate that needs them are null (not 0); pass --stages with the stages the data has (mql,closed_won).
    >>> print(check_absent_stages(["closed_lost"], ["mql", "closed_won"], ["closed_lost"]).message)
    The data has no closed_lost rows (the losing stage): lost and win_rate are null (not 0); load the lost deals too to get a win rate.
    >>> check_absent_stages([], ["mql"]) is None
    True
    """  # noqa: E501
    if not absent:
        return None
    missing = [s for s in absent if s not in lost]
    if not missing:
        message = (
            f"The data has no {', '.join(absent)} rows (the losing stage): lost and win_rate "
            "are null (not 0); load the lost deals too to get a win rate."
        )
    else:
        have = [s for s in stages if s not in absent]
        message = (
            f"The data has no {', '.join(absent)} rows: their counts and every rate that needs "
            f"them are null (not 0); pass --stages with the stages the data has "
            f"({','.join(have)})."
        )
    return Diagnostic("funnel_stage_absent", "info", message, {"stages": list(absent)})


def stage_coverage(conversions: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Return, per column and stage, how many conversion rows have the column set.

    One vectorised group-by: ``column``, ``stage``, ``rows``, ``set``.

    Examples
    --------
    >>> cv = pl.DataFrame({"stage": ["mql", "mql", "won"], "owner": [None, None, "ann"]})
    >>> stage_coverage(cv, ["owner"]).sort("stage").rows()
    [('owner', 'mql', 2, 0), ('owner', 'won', 1, 1)]
    """
    present = [c for c in columns if c in conversions.columns]
    if not present:
        return pl.DataFrame(
            schema={"column": pl.String, "stage": pl.String, "rows": pl.UInt32, "set": pl.UInt32}
        )
    counts = conversions.group_by("stage").agg(
        pl.len().alias("rows"), *[pl.col(c).is_not_null().sum().alias(c) for c in present]
    )
    return counts.unpivot(index=["stage", "rows"], variable_name="column", value_name="set").select(
        "column", "stage", pl.col("rows").cast(pl.UInt32), pl.col("set").cast(pl.UInt32)
    )


def check_group_coverage(
    coverage: pl.DataFrame, by: str, stages: Sequence[str]
) -> Diagnostic | None:
    """Report a grouping column set on some funnel stages only (owner only on won deals).

    ``coverage`` is :func:`stage_coverage` of the conversion columns; a
    column set on every stage (at least half of each stage's rows) is offered
    instead.

    Examples
    --------
    >>> cov = pl.DataFrame({"column": ["owner", "owner", "lead_source", "lead_source"],
    ...     "stage": ["mql", "closed_won"] * 2, "rows": [8000, 842] * 2, "set": [0, 842, 7940, 840]})
    >>> print(check_group_coverage(cov, "owner", ["mql", "closed_won"]).message)  # doctest: +NORMALIZE_WHITESPACE
    owner is set on 100.0% of closed_won rows but on 0.0% of mql rows: grouped by owner, those
    rows fall under (not set) and each group's rates compare a stage with itself; group by a
    column set at every stage (--by lead_source) or fill owner on the earlier stages.
    >>> check_group_coverage(cov, "lead_source", ["mql", "closed_won"]) is None
    True
    """  # noqa: E501
    shares = coverage.filter(
        pl.col("stage").is_in(list(stages)) & (pl.col("rows") > 0)
    ).with_columns((pl.col("set") / pl.col("rows")).alias("share"))
    own = shares.filter(pl.col("column") == by).sort(
        pl.col("stage").replace_strict(list(stages), list(range(len(stages))), default=len(stages))
    )
    set_on = own.filter(pl.col("share") >= SET_SHARE)
    unset_on = own.filter(pl.col("share") < UNSET_SHARE)
    if set_on.is_empty() or unset_on.is_empty():
        return None
    everywhere = (
        shares.filter(pl.col("column") != by)
        .group_by("column")
        .agg(pl.col("share").min(), pl.len().alias("n"))
        .filter((pl.col("share") >= SET_SHARE) & (pl.col("n") == own.height))
        .sort("column")["column"]
        .to_list()
    )
    instead = f"(--by {everywhere[0]}) " if everywhere else ""

    def listed(frame: pl.DataFrame) -> str:
        return ", ".join(f"{s:.1%} of {st} rows" for st, s in frame.select("stage", "share").rows())

    return Diagnostic(
        "group_set_on_some_stages",
        "warning",
        f"{by} is set on {listed(set_on)} but on {listed(unset_on)}: grouped by {by}, those "
        f"rows fall under {NOT_SET} and each group's rates compare a stage with itself; group "
        f"by a column set at every stage {instead}or fill {by} on the earlier stages.",
        {
            "by": by,
            "set_on": set_on["stage"].to_list(),
            "unset_on": unset_on["stage"].to_list(),
            "shares": dict(own.select("stage", "share").rows()),
            "columns_set_on_every_stage": everywhere,
        },
    )


def check_concentration(
    *,
    conversion_id: str | None,
    top_revenue: float,
    revenue: float,
    conversions: int,
    currency: str | None,
) -> Diagnostic | None:
    """Report one conversion carrying a large share of the period's revenue.

    It fires from :data:`CONCENTRATED_SHARE` of the revenue when that is also
    ten times an average conversion's share (4 deals of 25% each are normal).

    Examples
    --------
    >>> d = check_concentration(conversion_id="d1", top_revenue=50_000_000, revenue=61_784_006,
    ...     conversions=842, currency="BRL")
    >>> print(d.message)  # doctest: +NORMALIZE_WHITESPACE
    One conversion ('d1') carries R$50,000,000.00 of R$61,784,006.00 (80.9% of the revenue):
    every channel's revenue and ROAS move with it; check its amount at the source and read
    the figures with it in mind.
    >>> check_concentration(conversion_id="d1", top_revenue=30, revenue=100, conversions=4,
    ...     currency="USD") is None
    True
    """
    share = _share(top_revenue, revenue)
    if share is None or conversions < 2 or share < max(CONCENTRATED_SHARE, 10 / conversions):
        return None
    return Diagnostic(
        "revenue_concentrated",
        "warning",
        f"One conversion ('{conversion_id}') carries {_money(top_revenue, currency)} of "
        f"{_money(revenue, currency)} ({share:.1%} of the revenue): every channel's revenue "
        "and ROAS move with it; check its amount at the source and read the figures with it "
        "in mind.",
        {"conversion_id": conversion_id, "revenue": top_revenue, "share_revenue": share},
    )


def _months(start: dt.date, end: dt.date) -> list[str]:
    return (
        pl.date_range(start, end, "1d", eager=True).dt.strftime("%Y-%m").unique(maintain_order=True)
    ).to_list()


def check_spend_period(
    spend_days: pl.Series, start: dt.date | None, end: dt.date | None
) -> Diagnostic | None:
    """Report the months of the period no spend row covers (costs loaded for other dates).

    ``spend_days`` are the distinct days of the period with a cost row.
    Revenue of those months is counted against no cost: ROAS looks better.

    Examples
    --------
    >>> days = pl.Series([dt.date(2024, 1, 5), dt.date(2024, 1, 6)])
    >>> d = check_spend_period(days, dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    >>> print(d.message)  # doctest: +NORMALIZE_WHITESPACE
    No spend is loaded for 2024-02, 2024-03 (2 of the 3 months of 2024-01-01 to 2024-03-31):
    ROAS, ROI and CPA set those months' revenue against no cost; load their costs (closedloop
    ingest costs FILE) or narrow --start/--end to the months with spend.
    >>> check_spend_period(days, dt.date(2024, 1, 1), dt.date(2024, 1, 31)) is None
    True
    """
    if start is None or end is None or start > end:
        return None
    months = _months(start, end)
    covered = set(spend_days.drop_nulls().cast(pl.Date).dt.strftime("%Y-%m").to_list())
    missing = [m for m in months if m not in covered]
    if not missing:
        return None
    shown = ", ".join(missing[:12]) + (
        f" and {len(missing) - 12} more" if len(missing) > 12 else ""
    )
    return Diagnostic(
        "no_spend_in_period",
        "warning",
        f"No spend is loaded for {shown} ({len(missing)} of the {len(months)} months of "
        f"{start} to {end}): ROAS, ROI and CPA set those months' revenue against no cost; "
        "load their costs (closedloop ingest costs FILE) or narrow --start/--end to the "
        "months with spend.",
        {"months": missing, "period_months": len(months)},
    )


def to_json(diagnostics: Iterable[Diagnostic]) -> list[dict[str, Any]]:
    """Return the ``warnings`` member: warnings first, then information, in check order.

    Examples
    --------
    >>> info = Diagnostic("funnel_stage_absent", "info", "a")
    >>> warn = Diagnostic("unknown_stage", "warning", "b")
    >>> [d["code"] for d in to_json([info, warn])]
    ['unknown_stage', 'funnel_stage_absent']
    """
    kept = list(diagnostics)
    return [d.to_dict() for d in sorted(kept, key=lambda d: d.severity != "warning")]


__all__ = [
    "CODES",
    "PAID_CHANNELS",
    "Diagnostic",
    "TouchGaps",
    "check_absent_stages",
    "check_concentration",
    "check_cost_keys",
    "check_group_coverage",
    "check_spend_period",
    "check_stages",
    "check_untouched",
    "folded_keys",
    "lookback_cover",
    "stage_coverage",
    "suggest_key",
    "to_json",
]
