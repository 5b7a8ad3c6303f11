"""Group touches into channels with the GA4 default channel grouping, kept as data.

The rules live in ``ingest/channel_rules.toml`` and the source-category list
(which sources are search engines, social networks, video or shopping sites,
and AI assistants: closedloop's own list of about 1,100 sources, in GA4's
categories) in ``ingest/source_categories.csv``, read once per process; no
rule is written as an ``if`` here.
:func:`load_rules` reads them into a :class:`ChannelRules`, whose
:meth:`~ChannelRules.classify` and :meth:`~ChannelRules.explain` answer for
one touch and whose rules :func:`assign_channels` turns into one polars
expression for a whole frame.

How matching works (the same for one touch and for a frame):

- source, medium and campaign are trimmed and lower-cased, because GA4's
  channel definitions are not case-sensitive; a missing or empty value is
  ``(not set)``, as GA4 shows it. The raw values stay in the frame for
  display.
- Rules are tried in order and the first one that matches wins; when none
  does, the channel is the file's ``fallback`` (``Unassigned``).
- The source is looked up in the category list with a leading ``www.``
  removed on both sides.

To change the grouping, copy the rules file (``closedloop channels rules >
my_rules.toml``), edit it and pass it with ``--channel-rules my_rules.toml``
to ``closedloop ingest`` or as ``load_rules("my_rules.toml")``. Add sources
to the category list in the rules file's ``[source_categories]`` table, or
with ``load_rules(extra_categories=...)``. ``docs/channels.md`` describes
the file format.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import InputError

__all__ = [
    "CATEGORIES",
    "CLICK_ID_MODES",
    "DEFAULT_CATEGORIES_PATH",
    "DEFAULT_RULES_PATH",
    "FIELDS",
    "ChannelRules",
    "ClickIdMode",
    "Condition",
    "Rule",
    "RuleMatch",
    "assign_channels",
    "load_rules",
    "load_source_categories",
]

DEFAULT_RULES_PATH = Path(__file__).with_name("channel_rules.toml")
"""The built-in rules: GA4's default channel grouping for manual traffic."""

DEFAULT_CATEGORIES_PATH = Path(__file__).with_name("source_categories.csv")
"""The built-in source-category list."""

FIELDS = ("source", "medium", "campaign")
"""The touch columns rules can test."""

CATEGORIES = ("SEARCH", "SOCIAL", "SHOPPING", "VIDEO", "AI_ASSISTANT")
"""The source categories: Google's four (``SOURCE_CATEGORY_<name>`` there) and AI_ASSISTANT."""

ClickIdMode = Literal["ga4", "infer"]
"""How landing-page click ids count when source and medium are derived (see :mod:`ingest.utm`)."""

CLICK_ID_MODES: tuple[ClickIdMode, ...] = ("ga4", "infer")
"""``ga4`` (the default): as GA4 reads them; ``infer``: closedloop's inference from every id."""

_OPS = ("in", "contains", "endswith", "regex", "pattern")
_KEYS = (*(f"{f}_{op}" for f in FIELDS for op in _OPS), "source_category")
_TMP = {name: f"__channels_{name}" for name in (*FIELDS, "category")}


def _normalised(expr: pl.Expr) -> pl.Expr:
    """Trimmed, lower-cased text; null or empty is ``(not set)``."""
    text = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(text.is_null() | (text == "")).then(pl.lit(NOT_SET)).otherwise(text)


def _category_key(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_prefix("www.")


def _category_key_text(source: str) -> str:
    source = source.strip().lower()
    return source.removeprefix("www.")


@dataclass(frozen=True)
class Condition:
    """One condition of a rule, such as ``medium_pattern = "paid"``.

    ``key`` is the name in the rules file, ``field`` the touch column it
    reads (``source`` for ``source_category``), ``op`` one of ``in``,
    ``contains``, ``endswith``, ``regex``, ``pattern`` or ``category``,
    ``values`` the lower-cased values (the regex for ``regex`` and
    ``pattern``) and ``label`` the pattern's name.
    """

    key: str
    field: str
    op: str
    values: tuple[str, ...]
    label: str = ""

    def expr(self) -> pl.Expr:
        """Return the test as a boolean polars expression over the normalised columns."""
        if self.op == "category":
            return pl.col(_TMP["category"]).is_in(list(self.values)).fill_null(False)
        column = pl.col(_TMP[self.field])
        if self.op == "in":
            return column.is_in(list(self.values))
        if self.op == "contains":
            return pl.any_horizontal(column.str.contains(v, literal=True) for v in self.values)
        if self.op == "endswith":
            return pl.any_horizontal(column.str.ends_with(v) for v in self.values)
        return column.str.contains(f"(?i){self.values[0]}")

    def describe(self, value: str, category: str | None) -> str:
        """Say in words why the test held for ``value``."""
        if self.op == "category":
            article = "an" if str(category)[:1] in "AEIOU" else "a"
            return f"source '{value}' is {article} {category} source"
        what = f"{self.field} '{value}'"
        if self.op == "in":
            return f"{self.field} is '{value}'"
        if self.op == "contains":
            hit = next(v for v in self.values if v in value)
            return f"{what} contains '{hit}'"
        if self.op == "endswith":
            hit = next(v for v in self.values if value.endswith(v))
            return f"{what} ends with '{hit}'"
        if self.op == "pattern":
            return f"{what} matches pattern '{self.label}' {self.values[0]}"
        return f"{what} matches {self.values[0]}"


def _listed(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


@dataclass(frozen=True)
class Rule:
    """One rule: the channel it gives, and its ``all`` and ``any`` tests.

    It matches when every test in ``all`` holds and, if ``any`` is not
    empty, at least one test in ``any`` holds. ``number`` is its 1-based
    position in the file.
    """

    number: int
    name: str
    channel: str
    all: tuple[Condition, ...] = ()
    any: tuple[Condition, ...] = ()

    def expr(self) -> pl.Expr:
        """Return the rule as a boolean polars expression over the normalised columns."""
        parts = [t.expr() for t in self.all]
        if self.any:
            parts.append(pl.any_horizontal(t.expr() for t in self.any))
        return pl.all_horizontal(parts)


@dataclass(frozen=True)
class RuleMatch:
    """Which rule gave a touch its channel, and why.

    ``rule_number`` and ``rule_name`` are ``None`` when no rule matched and
    the channel is the fallback.
    """

    channel: str
    rule_number: int | None
    rule_name: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the match as JSON-ready data.

        Examples
        --------
        >>> RuleMatch("Email", 15, "Email", "medium 'email' is 'email'").to_dict()["rule_number"]
        15
        """
        return {
            "channel": self.channel,
            "rule_number": self.rule_number,
            "rule_name": self.rule_name,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ChannelRules:
    """An ordered list of channel rules and the source-category list they use.

    Build it with :func:`load_rules`. It is immutable, so one instance can
    serve every ingest.

    Parameters
    ----------
    rules
        The rules, first match wins.
    categories
        Lower-cased source (without ``www.``) -> category.
    fallback
        The channel when no rule matches.
    path
        The rules file it was read from, for messages.
    click_ids
        How :func:`ingest.utm.parse_landing_urls` reads click ids when it
        derives source and medium for these rules: ``"ga4"`` (GA4's
        treatment, the default) or ``"infer"`` (closedloop's inference).
        Carried here so one object configures a whole ingest.
    """

    rules: tuple[Rule, ...]
    categories: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    fallback: str = "Unassigned"
    path: str = ""
    click_ids: ClickIdMode = "ga4"

    def _expr(self) -> pl.Expr:
        """Return the channel as one expression over the helper columns of ``_with_inputs``."""
        chain: Any = pl
        for rule in self.rules:
            chain = chain.when(rule.expr()).then(pl.lit(rule.channel))
        if chain is pl:
            return pl.lit(self.fallback, dtype=pl.String)
        result: pl.Expr = chain.otherwise(pl.lit(self.fallback))
        return result

    def _with_inputs(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Add the normalised source, medium, campaign and category helper columns."""
        columns = {
            _TMP[name]: _normalised(
                pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)
            )
            for name in FIELDS
        }
        keys = list(self.categories)
        values = list(self.categories.values())
        return frame.with_columns(**columns).with_columns(
            _category_key(pl.col(_TMP["source"]))
            .replace_strict(keys, values, default=None, return_dtype=pl.String)
            .alias(_TMP["category"])
        )

    def category(self, source: str | None) -> str | None:
        """Return the category of a source, or ``None``.

        Examples
        --------
        >>> rules = load_rules()
        >>> rules.category("WWW.Facebook.com"), rules.category("example.com")
        ('SOCIAL', None)
        """
        if source is None:
            return None
        return self.categories.get(_category_key_text(source))

    def classify(self, source: str | None, medium: str | None, campaign: str | None = None) -> str:
        """Return the channel of one touch.

        For many touches use :func:`assign_channels`, which evaluates the
        rules once over the whole frame.

        Examples
        --------
        >>> rules = load_rules()
        >>> rules.classify("google", "cpc"), rules.classify("Google", "CPM")
        ('Paid Search', 'Paid Search')
        >>> rules.classify("newsletter", "email", "spring_sale")
        'Email'
        >>> rules.classify("flyer", "qr")
        'Unassigned'
        """
        return self.explain(source, medium, campaign).channel

    def explain(
        self, source: str | None, medium: str | None, campaign: str | None = None
    ) -> RuleMatch:
        """Return which rule gives one touch its channel, and why.

        The tests are evaluated by polars, exactly as :func:`assign_channels`
        evaluates them on a frame.

        Examples
        --------
        >>> match = load_rules().explain("google", "referral")
        >>> match.channel, match.rule_number, match.rule_name
        ('Organic Search', 13, 'Organic Search')
        >>> print(match.reason)
        source 'google' is a SEARCH source
        >>> load_rules().explain("flyer", "qr").reason
        'no rule matched; the fallback channel is Unassigned'
        """
        one = self._with_inputs(
            pl.DataFrame(
                {"source": [source], "medium": [medium], "campaign": [campaign]},
                schema=dict.fromkeys(FIELDS, pl.String),
            )
        )
        tests = {
            f"{rule.number}:{kind}:{i}": test.expr()
            for rule in self.rules
            for kind, group in (("all", rule.all), ("any", rule.any))
            for i, test in enumerate(group)
        }
        held = one.select(**tests).row(0, named=True) if tests else {}
        values = one.select(*(pl.col(_TMP[name]).alias(name) for name in FIELDS)).row(0, named=True)
        category = one[_TMP["category"]][0]
        for rule in self.rules:
            all_held = [held[f"{rule.number}:all:{i}"] for i in range(len(rule.all))]
            any_held = [held[f"{rule.number}:any:{i}"] for i in range(len(rule.any))]
            if all(all_held) and (not rule.any or any(any_held)):
                reasons = [
                    t.describe(values[t.field], category)
                    for t, ok in zip(rule.any, any_held, strict=True)
                    if ok
                ][:1]
                reasons += [t.describe(values[t.field], category) for t in rule.all]
                unique = list(dict.fromkeys(reasons))
                return RuleMatch(rule.channel, rule.number, rule.name, " and ".join(unique))
        return RuleMatch(
            self.fallback, None, None, f"no rule matched; the fallback channel is {self.fallback}"
        )


def _rules_error(path: str, message: str) -> InputError:
    return InputError(f"Channel rules '{Path(path).name}': {message}")


def _as_strings(value: object, path: str, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise _rules_error(
            path, f'{where}: expected a string or a list of strings, e.g. ["cpc"]; got {value!r}.'
        )
    return tuple(str(v) for v in items)


def _check_regex(regex: str, path: str, where: str) -> None:
    try:
        pl.select(pl.lit("").str.contains(f"(?i){regex}"))
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _rules_error(
            path, f"{where}: '{regex}' is not a valid regex ({first}). Fix the pattern."
        ) from None


def _test(key: str, value: object, patterns: Mapping[str, str], path: str, where: str) -> Condition:
    if key not in _KEYS:
        close = difflib.get_close_matches(key, _KEYS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise _rules_error(
            path,
            f"{where}: unknown test '{key}'. Tests: <field>_in, _contains, _endswith, _regex, "
            f"_pattern (field source, medium or campaign) and source_category.{hint}",
        )
    if key == "source_category":
        names = tuple(_category_name(v, path, where) for v in _as_strings(value, path, where))
        return Condition(key, "source", "category", names)
    name, _, op = key.rpartition("_")
    if op == "pattern":
        label = _as_strings(value, path, where)
        if len(label) != 1 or label[0] not in patterns:
            known = ", ".join(sorted(patterns)) or "(none)"
            raise _rules_error(
                path, f"{where}: unknown pattern {value!r}. Patterns in [patterns]: {known}."
            )
        return Condition(key, name, op, (patterns[label[0]],), label[0])
    if op == "regex":
        regex = _as_strings(value, path, where)
        if len(regex) != 1:
            raise _rules_error(path, f"{where}: give one regex; join alternatives with |.")
        _check_regex(regex[0], path, where)
        return Condition(key, name, op, regex)
    return Condition(
        key, name, op, tuple(v.strip().lower() for v in _as_strings(value, path, where))
    )


def _category(value: str) -> str | None:
    """``SOCIAL`` for ``social`` or ``SOURCE_CATEGORY_SOCIAL``; ``None`` when unknown."""
    name = value.strip().upper().removeprefix("SOURCE_CATEGORY_")
    return name if name in CATEGORIES else None


def _unknown_category(value: object) -> str:
    return f"unknown source category {value!r}. Categories: {', '.join(CATEGORIES)}."


def _category_name(value: str, path: str, where: str) -> str:
    name = _category(value)
    if name is None:
        raise _rules_error(path, f"{where}: {_unknown_category(value)}")
    return name


def _tests(
    group: object, patterns: Mapping[str, str], path: str, where: str
) -> tuple[Condition, ...]:
    if not isinstance(group, dict):
        raise _rules_error(path, f"{where}: expected a table of tests, e.g. all.medium_in = [..].")
    return tuple(
        _test(key, value, patterns, path, f"{where}.{key}") for key, value in group.items()
    )


def load_source_categories(path: str | Path) -> dict[str, str]:
    r"""Read a ``source,category`` CSV file into source -> category.

    Lines starting with ``#`` are comments; the first other line is a header.
    Sources are lower-cased without a leading ``www.``; categories may be
    written ``SOCIAL`` or ``SOURCE_CATEGORY_SOCIAL``. A later row wins.

    Parameters
    ----------
    path
        The CSV file.

    Returns
    -------
    dict[str, str]
        Source -> one of :data:`CATEGORIES`.

    Raises
    ------
    InputError
        When the file cannot be read, or a row has no source or an unknown
        category.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> extra = pathlib.Path(tempfile.mkdtemp()) / "extra.csv"
    >>> _ = extra.write_text("source,category\nMastodon.social,SOURCE_CATEGORY_SOCIAL\n")
    >>> load_source_categories(extra)
    {'mastodon.social': 'SOCIAL'}
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"Cannot read source categories '{path.name}': {exc.strerror}.") from None
    categories: dict[str, str] = {}
    header_seen = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#") or not line.strip():
            continue
        if not header_seen:
            header_seen = True
            continue
        row = next(csv.reader([line]))
        if len(row) < 2 or not row[0].strip():
            problem = f"expected source,category; got {line!r}."
        elif _category(row[1]) is None:
            problem = _unknown_category(row[1])
        else:
            categories[_category_key_text(row[0])] = str(_category(row[1]))
            continue
        raise InputError(f"Source categories '{path.name}' line {number}: {problem}")
    return categories


def _click_id_mode(value: str) -> ClickIdMode:
    """Check a click-id mode name and return it lower-cased.

    Examples
    --------
    >>> _click_id_mode("GA4")
    'ga4'
    """
    mode = value.strip().lower() if isinstance(value, str) else value
    for known in CLICK_ID_MODES:
        if mode == known:
            return known
    raise InputError(
        f"click_ids must be one of {', '.join(CLICK_ID_MODES)} (ga4: as GA4 reads them; "
        f"infer: closedloop's inference from every click id). Got {value!r} instead."
    )


def load_rules(
    path: str | Path | None = None,
    *,
    extra_categories: str | Path | Mapping[str, str] | None = None,
    click_ids: ClickIdMode = "ga4",
) -> ChannelRules:
    """Read channel rules from a TOML file (default: GA4's default channel grouping).

    Parameters
    ----------
    path
        A rules file in the format of ``ingest/channel_rules.toml``;
        ``None`` for the built-in one (read once and cached).
    extra_categories
        More sources for the category list: a ``source,category`` CSV file
        or a mapping. They win over the built-in list and over the rules
        file's ``[source_categories]``.
    click_ids
        How landing-page click ids count when an ingest derives source and
        medium for these rules (:func:`ingest.utm.parse_landing_urls`):
        ``"ga4"`` (default) as GA4 reads them, only Google Ads auto-tagging
        (``gclid``, ``gbraid``, ``wbraid``) making a visit ``google / cpc``;
        ``"infer"`` closedloop's inference, every known click id being
        evidence of a paid click (``msclkid`` -> ``bing / cpc`` ...).

    Returns
    -------
    ChannelRules
        The rules in file order, with the built-in source-category list
        plus the file's ``[source_categories]`` and ``extra_categories``.

    Raises
    ------
    InputError
        When the file cannot be read, is not valid TOML, or has a rule
        without a channel or tests, an unknown test, pattern or category,
        or a bad regex (the message names the rule); or when ``click_ids``
        is not ``ga4`` or ``infer``.

    Examples
    --------
    >>> rules = load_rules()
    >>> len(rules.rules), rules.rules[3].channel, rules.fallback, rules.click_ids
    (19, 'Paid Search', 'Unassigned', 'ga4')
    >>> load_rules(extra_categories={"mastodon.social": "SOCIAL"}).classify(
    ...     "mastodon.social", "referral")
    'Organic Social'
    >>> load_rules(click_ids="infer").click_ids
    'infer'
    """
    mode = _click_id_mode(click_ids)
    rules = _default_rules() if path is None else _read_rules(Path(path))
    if mode != rules.click_ids:
        rules = dataclasses.replace(rules, click_ids=mode)
    if extra_categories is None:
        return rules
    if isinstance(extra_categories, Mapping):
        extra = {}
        for source, category in extra_categories.items():
            name = _category(category)
            if name is None:
                raise InputError(f"extra_categories['{source}']: {_unknown_category(category)}")
            extra[_category_key_text(source)] = name
    else:
        extra = load_source_categories(extra_categories)
    return dataclasses.replace(rules, categories=MappingProxyType({**rules.categories, **extra}))


@functools.cache
def _default_rules() -> ChannelRules:
    return _read_rules(DEFAULT_RULES_PATH)


@functools.cache
def _builtin_categories() -> Mapping[str, str]:
    """Return the built-in source-category list, read once per process.

    Every rules file starts from it, so reading a user's rules file (or the
    same one again) does not parse the ~1,100-row CSV again.
    """
    return MappingProxyType(load_source_categories(DEFAULT_CATEGORIES_PATH))


def _read_rules(path: Path) -> ChannelRules:
    name = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"Cannot read channel rules '{path.name}': {exc.strerror}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise _rules_error(name, f"not valid TOML: {exc}.") from None
    allowed = {"version", "fallback", "patterns", "source_categories", "rules"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _rules_error(
            name,
            f"unknown top-level key(s) {_listed(unknown)}. Keys: {_listed(sorted(allowed))}.",
        )
    if data.get("version", 1) != 1:
        raise _rules_error(name, f"version {data['version']!r} is not supported; use version = 1.")
    fallback = data.get("fallback", "Unassigned")
    if not isinstance(fallback, str) or not fallback.strip():
        raise _rules_error(name, f"fallback must be a channel name; got {fallback!r}.")
    patterns = data.get("patterns", {})
    if not isinstance(patterns, dict) or not all(isinstance(v, str) for v in patterns.values()):
        raise _rules_error(name, '[patterns] must hold name = "regex" entries.')
    for label, regex in patterns.items():
        _check_regex(regex, name, f"[patterns] {label}")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise _rules_error(name, "rules must be an array of tables: [[rules]].")
    rules = []
    for number, raw in enumerate(raw_rules, 1):
        where = f"rule {number}"
        if not isinstance(raw, dict):
            raise _rules_error(name, f"{where}: expected a [[rules]] table.")
        channel = raw.get("channel")
        if not isinstance(channel, str) or not channel.strip():
            raise _rules_error(name, f'{where}: needs channel = "<channel name>".')
        where = f"rule {number} ({channel})"
        extra_keys = sorted(set(raw) - {"channel", "name", "all", "any"})
        if extra_keys:
            raise _rules_error(
                name,
                f"{where}: unknown key(s) {_listed(extra_keys)}. A rule has channel, name, "
                "all.<test> and any.<test>.",
            )
        all_tests = _tests(raw.get("all", {}), patterns, name, f"{where} all")
        any_tests = _tests(raw.get("any", {}), patterns, name, f"{where} any")
        if not all_tests and not any_tests:
            raise _rules_error(
                name,
                f"{where}: has no tests; add all.<test> or any.<test>, e.g. "
                'all.medium_in = ["email"].',
            )
        rule_name = raw.get("name", channel)
        if not isinstance(rule_name, str):
            raise _rules_error(name, f"{where}: name must be a string; got {rule_name!r}.")
        rules.append(Rule(number, rule_name, channel, all_tests, any_tests))
    categories = dict(_builtin_categories())
    extra = data.get("source_categories", {})
    if not isinstance(extra, dict):
        raise _rules_error(name, '[source_categories] must hold "source" = "CATEGORY" entries.')
    for source, category in extra.items():
        if not isinstance(category, str):
            raise _rules_error(
                name, f"[source_categories] '{source}': expected a category name; got {category!r}."
            )
        categories[_category_key_text(source)] = _category_name(
            category, name, f"[source_categories] '{source}'"
        )
    return ChannelRules(tuple(rules), MappingProxyType(categories), fallback, name)


def assign_channels(frame: pl.DataFrame, rules: ChannelRules | None = None) -> pl.DataFrame:
    """Fill a missing ``channel`` from source, medium and campaign with the channel rules.

    The rules become one polars expression evaluated over the whole frame;
    no Python runs per row. A ``channel`` that is already given (not null,
    not blank) is kept as it is. Absent ``source`` / ``medium`` /
    ``campaign`` columns count as ``(not set)``. The raw source, medium and
    campaign are left unchanged.

    Parameters
    ----------
    frame
        Touches with some of ``source``, ``medium``, ``campaign`` and
        ``channel``.
    rules
        The rules; ``None`` for GA4's default channel grouping.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``channel`` filled in (added as the last column when
        it was absent).

    Examples
    --------
    >>> touches = pl.DataFrame({
    ...     "source": ["Google", "google", "facebook", "newsletter", None],
    ...     "medium": ["CPC", "referral", "paid-social", "email", None],
    ...     "channel": [None, None, None, "Nurture", None],
    ... })
    >>> assign_channels(touches)
    shape: (5, 3)
    ┌────────────┬─────────────┬────────────────┐
    │ source     ┆ medium      ┆ channel        │
    │ ---        ┆ ---         ┆ ---            │
    │ str        ┆ str         ┆ str            │
    ╞════════════╪═════════════╪════════════════╡
    │ Google     ┆ CPC         ┆ Paid Search    │
    │ google     ┆ referral    ┆ Organic Search │
    │ facebook   ┆ paid-social ┆ Paid Social    │
    │ newsletter ┆ email       ┆ Nurture        │
    │ null       ┆ null        ┆ Unassigned     │
    └────────────┴─────────────┴────────────────┘
    """
    rules = rules or load_rules()
    derived = rules._expr()
    if "channel" in frame.columns:
        given = pl.col("channel").cast(pl.String)
        blank = given.is_null() | (given.str.strip_chars() == "")
        if frame.select(blank.any()).item() is not True:
            return frame
        channel = pl.when(blank).then(derived).otherwise(given)
    else:
        channel = derived
    helpers = list(_TMP.values())
    return rules._with_inputs(frame).with_columns(channel.alias("channel")).drop(helpers)
