"""Derive source, medium and campaign from landing-page URLs, click ids and referrers.

:func:`parse_landing_urls` reads the query string of a landing-page URL
(``page_location`` in GA4, ``context.page.url`` in Segment) the way web
analytics tools do, with polars string expressions over the whole column:

1. **UTM tags.** ``utm_source``, ``utm_medium``, ``utm_campaign``; Matomo's
   ``mtm_source``, ``mtm_medium``, ``mtm_campaign`` when the ``utm_`` one is
   absent. Only the query counts, not the ``#fragment``; values are
   percent-decoded with ``+`` as a space, trimmed, and kept in their case.
   When a URL has a source or a medium tag, a missing one is ``(not set)``.
2. **Click ids** (:data:`CLICK_IDS`), in one of two modes
   (:data:`ingest.channels.CLICK_ID_MODES`):

   - ``ga4`` (the default) treats them as GA4 does: only Google Ads
     auto-tagging counts (``gclid``, ``gbraid``, ``wbraid``: the ids with
     ``auto_tagged``), and it gives ``google`` / ``cpc`` even over UTM tags,
     because GA4 uses the auto-tagged values when both are present. This
     assumes the Google Ads account is linked to GA4, as auto-tagging needs.
     Every other id (``msclkid``, ``fbclid``, ``dclid``, ``ttclid`` ...) is
     ignored: GA4 does not read it, so ``?fbclid=`` alone is Direct and
     ``?msclkid=`` with a ``bing.com`` referrer is Organic Search.
   - ``infer`` is closedloop's inference: every paid id is evidence of a
     paid click when ``utm_medium`` is absent (``gclid`` gives ``google`` /
     ``cpc``, ``msclkid`` ``bing`` / ``cpc``, ``dclid`` ``doubleclick`` /
     ``display`` ...); it fills the medium, and the source when
     ``utm_source`` is absent, and UTM tags win. ``fbclid`` is not such
     evidence, because Meta adds it to organic outbound clicks too: it only
     says ``facebook`` / ``referral`` when nothing else is known.
3. **Referrer**, for untagged visits: an AI assistant of the source-category
   list (``AI_ASSISTANT``: ``chatgpt.com``, ``gemini.google.com`` ...) gives
   its host and ``ai-assistant``, as GA4 does; a search engine of the list
   gives the engine (``google``) and ``organic``; another site gives its
   host without ``www.`` and ``referral``; a referrer on the landing page's
   own host counts as none.
4. Otherwise ``(direct)`` / ``(none)``.

Untagged rows get GA4's campaign placeholders ``(ai-assistant)``,
``(organic)``, ``(referral)`` or ``(direct)``. Parameter names are matched
exactly (``ScCid`` is case-sensitive); click-id values are never
lower-cased, and ``click_id`` / ``click_id_type`` report the first id found
in either mode.

To recognise another click id, pass ``click_ids=(*CLICK_IDS, ClickId(...))``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import InputError, MissingColumnsError
from ingest.channels import CLICK_ID_MODES, ChannelRules, ClickIdMode, load_rules

__all__ = ["CLICK_IDS", "ClickId", "parse_landing_urls"]


@dataclass(frozen=True)
class ClickId:
    """A click-id query parameter and the source and medium it stands for.

    ``paid`` says whether, in ``infer`` mode, the id proves a paid click (it
    then fills a missing ``utm_medium``); a non-paid id is only used when
    there is no UTM tag and no referrer. ``auto_tagged`` says whether GA4
    reads it (Google Ads auto-tagging): only such ids count in ``ga4`` mode,
    where they win over UTM tags.

    Examples
    --------
    >>> ClickId("rdt_cid", "reddit", "cpc")
    ClickId(param='rdt_cid', source='reddit', medium='cpc', paid=True, auto_tagged=False)
    """

    param: str
    source: str
    medium: str
    paid: bool = True
    auto_tagged: bool = False


CLICK_IDS: tuple[ClickId, ...] = (
    ClickId("gclid", "google", "cpc", auto_tagged=True),
    ClickId("gbraid", "google", "cpc", auto_tagged=True),
    ClickId("wbraid", "google", "cpc", auto_tagged=True),
    ClickId("msclkid", "bing", "cpc"),
    ClickId("dclid", "doubleclick", "display"),
    ClickId("yclid", "yandex", "cpc"),
    ClickId("ttclid", "tiktok", "cpc"),
    ClickId("li_fat_id", "linkedin", "cpc"),
    ClickId("twclid", "twitter", "cpc"),
    ClickId("ScCid", "snapchat", "cpc"),
    ClickId("epik", "pinterest", "cpc"),
    ClickId("fbclid", "facebook", "referral", paid=False),
)
"""Recognised click ids, in precedence order when a URL carries several."""

_TAGS = ("source", "medium", "campaign")
_PREFIXES = ("utm_", "mtm_")
_HOST = r"^(?:[a-z][a-z0-9+.\-]*:)?(?://)?(?:[^/?#@]*@)?([^/?#:]+)"
# The engine name of a search host: google for www.google.co.uk, yahoo for search.yahoo.com.
_ENGINE = r"^(?:www\.|m\.|search\.)?([a-z0-9-]+)\.(?:(?:co|com|org|net|ne|or|ac)\.)?[a-z]{2,}$"


def _percent_pairs() -> tuple[list[str], list[str]]:
    """Map ``%XY`` (as hex tokens of its three bytes) to the byte ``XY`` (as a hex token)."""
    digits = "0123456789abcdefABCDEF"
    patterns, replacements = [], []
    for high in digits:
        for low in digits:
            patterns.append(f"25 {ord(high):02x} {ord(low):02x} ")
            replacements.append(f"{high.lower()}{low.lower()} ")
    return patterns, replacements


_PERCENT_PATTERNS, _PERCENT_BYTES = _percent_pairs()
_CONT = "[89ab][0-9a-f] "
# Well-formed UTF-8 (RFC 3629), over "xx " hex tokens.
_UTF8 = (
    "^(?:[0-7][0-9a-f] "
    f"|(?:c[2-9a-f]|d[0-9a-f]) {_CONT}"
    f"|e0 [ab][0-9a-f] {_CONT}|e[1-9a-cef] {_CONT}{_CONT}|ed [89][0-9a-f] {_CONT}"
    f"|f0 (?:9[0-9a-f]|[ab][0-9a-f]) {_CONT}{_CONT}|f[1-3] {_CONT}{_CONT}{_CONT}"
    f"|f4 8[0-9a-f] {_CONT}{_CONT})*$"
)


def _percent_decode(text: pl.Expr) -> pl.Expr:
    """Percent-decode with ``+`` as a space, as ``urllib.parse.unquote_plus`` does.

    polars has no URL decoder, so the text is written as hex byte tokens
    (``"%C3"`` becomes ``"25 43 33 "``), every ``%XY`` token triple becomes
    the byte ``XY`` (token-aligned, since every token is three characters),
    and the bytes are read back as UTF-8. A value whose decoded bytes are not
    valid UTF-8 (``%FF``) is kept as given, with only ``+`` replaced.
    """
    plus = text.str.replace_all("+", " ", literal=True)
    tokens = (
        plus.str.encode("hex")
        .str.replace_all("(..)", "$1 ")
        .str.replace_many(_PERCENT_PATTERNS, _PERCENT_BYTES)
    )
    valid = pl.when(tokens.str.contains(_UTF8)).then(tokens)
    decoded = valid.str.replace_all(" ", "", literal=True).str.decode("hex").cast(pl.String)
    return pl.coalesce(decoded, plus)


def _decode_column(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """Decode one column, computing each distinct encoded value once; blank becomes null."""
    column = frame.get_column(name)
    encoded = column.filter(column.str.contains(r"[%+]")).unique()
    if encoded.len():
        decoded = pl.select(_percent_decode(pl.lit(encoded))).to_series()
        frame = frame.with_columns(pl.col(name).replace(encoded, decoded))
    text = pl.col(name).str.strip_chars()
    return frame.with_columns(pl.when(text != "").then(text).alias(name))


def _param(query: pl.Expr, name: str) -> pl.Expr:
    return query.str.extract(rf"(?:^|&){re.escape(name)}=([^&]*)", 1)


def _host(url: pl.Expr) -> pl.Expr:
    host = url.str.strip_chars().str.to_lowercase().str.extract(_HOST, 1).str.strip_prefix("www.")
    return pl.when(host != "").then(host)


def _blank(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return text.is_null() | (text == "")


def parse_landing_urls(
    frame: pl.DataFrame,
    url_column: str = "landing_url",
    *,
    referrer_column: str | None = "referrer",
    rules: ChannelRules | None = None,
    click_ids: Sequence[ClickId] = CLICK_IDS,
    click_id_mode: ClickIdMode | None = None,
) -> pl.DataFrame:
    """Fill ``source``, ``medium`` and ``campaign`` from landing-page URLs and referrers.

    Rows that already have a ``source`` or ``medium`` keep their three
    values (a missing campaign is still filled from ``utm_campaign``); the
    others get them derived as the module docstring describes. The raw,
    decoded values keep their case; channel rules lower-case them.

    Parameters
    ----------
    frame
        Touches with a URL column and optionally a referrer column.
    url_column
        The landing-page URL (full URL with its query string).
    referrer_column
        The referring URL (or host); an absent column means no referrer.
    rules
        Whose source-category list says which referrers are search engines
        and AI assistants, and whose ``click_ids`` is the default click-id
        mode; ``None`` for the built-in list and ``ga4``.
    click_ids
        The click ids to recognise, in precedence order.
    click_id_mode
        ``"ga4"`` (GA4's treatment) or ``"infer"`` (closedloop's inference),
        as the module docstring describes; ``None`` takes ``rules.click_ids``.

    Returns
    -------
    polars.DataFrame
        ``frame`` with ``source``, ``medium``, ``campaign``, ``click_id`` and
        ``click_id_type`` filled (added at the end when absent).

    Raises
    ------
    MissingColumnsError
        When ``url_column`` is not in ``frame``.
    InputError
        When ``click_id_mode`` is not ``ga4`` or ``infer``.

    Examples
    --------
    >>> visits = pl.DataFrame({
    ...     "landing_url": [
    ...         "https://acme.io/?utm_source=Newsletter&utm_medium=email&utm_campaign=spring+sale",
    ...         "https://acme.io/pricing?gclid=Cj0KCQ",
    ...         "https://acme.io/blog",
    ...         "https://acme.io/blog",
    ...         "https://acme.io/#utm_source=ignored",
    ...     ],
    ...     "referrer": [None, None, "https://www.google.co.uk/", "https://g2.com/x", None],
    ... })
    >>> parse_landing_urls(visits).drop("landing_url", "referrer")
    shape: (5, 5)
    ┌────────────┬──────────┬─────────────┬──────────┬───────────────┐
    │ source     ┆ medium   ┆ campaign    ┆ click_id ┆ click_id_type │
    │ ---        ┆ ---      ┆ ---         ┆ ---      ┆ ---           │
    │ str        ┆ str      ┆ str         ┆ str      ┆ str           │
    ╞════════════╪══════════╪═════════════╪══════════╪═══════════════╡
    │ Newsletter ┆ email    ┆ spring sale ┆ null     ┆ null          │
    │ google     ┆ cpc      ┆ (not set)   ┆ Cj0KCQ   ┆ gclid         │
    │ google     ┆ organic  ┆ (organic)   ┆ null     ┆ null          │
    │ g2.com     ┆ referral ┆ (referral)  ┆ null     ┆ null          │
    │ (direct)   ┆ (none)   ┆ (direct)    ┆ null     ┆ null          │
    └────────────┴──────────┴─────────────┴──────────┴───────────────┘

    GA4 ignores ``msclkid`` and ``fbclid``; closedloop's inference reads them:

    >>> ads = pl.DataFrame({"landing_url": ["https://acme.io/?msclkid=5f1e", "https://acme.io/?fbclid=Iw"],
    ...     "referrer": ["https://www.bing.com/", None]})
    >>> parse_landing_urls(ads).select("source", "medium").rows()
    [('bing', 'organic'), ('(direct)', '(none)')]
    >>> parse_landing_urls(ads, click_id_mode="infer").select("source", "medium").rows()
    [('bing', 'cpc'), ('facebook', 'referral')]
    """
    if url_column not in frame.columns:
        raise MissingColumnsError(
            f"No landing-page URL column '{url_column}' to read UTM tags from. Found: "
            f"{', '.join(repr(c) for c in frame.columns) or '(none)'}."
        )
    rules = rules or load_rules()
    mode = rules.click_ids if click_id_mode is None else click_id_mode
    if mode not in CLICK_ID_MODES:
        raise InputError(
            f"click_id_mode must be one of {', '.join(CLICK_ID_MODES)}. Got {mode!r} instead."
        )
    ga4 = mode == "ga4"
    search = [s for s, category in rules.categories.items() if category == "SEARCH"]
    assistants = [s for s, category in rules.categories.items() if category == "AI_ASSISTANT"]
    url = pl.col(url_column).cast(pl.String)
    tmp = {
        name: f"__utm_{name}"
        for name in (
            *_TAGS,
            "query",
            "click_id",
            "type",
            "weak_type",
            "paid_type",
            "ref_host",
            "engine",
        )
    }
    query = pl.col(tmp["query"])

    def tag(name: str) -> pl.Expr:
        values = [_param(query, prefix + name) for prefix in _PREFIXES]
        return pl.coalesce(pl.when(v != "").then(v) for v in values)

    found = [(cid, _param(query, cid.param)) for cid in click_ids]
    found = [(cid, pl.when(value != "").then(value)) for cid, value in found]

    def counts(cid: ClickId, paid_only: bool) -> bool:
        """Whether the id counts: as a paid click, or (``paid_only`` off) at all, in this mode."""
        if ga4:
            return cid.auto_tagged
        return cid.paid or not paid_only

    def first(paid_only: bool, every: bool = False) -> pl.Expr:
        kinds = [
            pl.when(value.is_not_null()).then(pl.lit(cid.param))
            for cid, value in found
            if every or counts(cid, paid_only)
        ]
        return pl.coalesce(kinds) if kinds else pl.lit(None, dtype=pl.String)

    referrer = (
        pl.col(referrer_column).cast(pl.String)
        if referrer_column is not None and referrer_column in frame.columns
        else pl.lit(None, dtype=pl.String)
    )
    ref_host = _host(referrer)
    # Stages of temporary columns, so each regex runs once per row.
    out = frame.with_columns(url.str.extract(r"^[^?#]*\?([^#]*)", 1).alias(tmp["query"]))
    out = out.with_columns(
        *(tag(name).alias(tmp[name]) for name in _TAGS),
        (pl.coalesce(v for _, v in found) if found else pl.lit(None, dtype=pl.String)).alias(
            tmp["click_id"]
        ),
        first(False, every=True).alias(tmp["type"]),
        first(False).alias(tmp["weak_type"]),
        first(True).alias(tmp["paid_type"]),
        pl.when(ref_host != _host(url).fill_null("")).then(ref_host).alias(tmp["ref_host"]),
    )
    out = out.with_columns(pl.col(tmp["ref_host"]).str.extract(_ENGINE, 1).alias(tmp["engine"]))
    for name in (*_TAGS, "click_id"):
        out = _decode_column(out, tmp[name])

    def pick(attribute: str, paid_only: bool) -> pl.Expr:
        by_param = {cid.param: getattr(cid, attribute) for cid in click_ids}
        kind = pl.col(tmp["paid_type"] if paid_only else tmp["weak_type"])
        return kind.replace_strict(by_param, default=None, return_dtype=pl.String)

    source, medium, campaign = (pl.col(tmp[name]) for name in _TAGS)
    # In ga4 mode an auto-tagged click wins over the tags (GA4 uses the auto-tagged values).
    tagged = source.is_not_null() | medium.is_not_null()
    paid_source, paid_medium = pick("source", True), pick("medium", True)
    weak_source, weak_medium = pick("source", False), pick("medium", False)
    auto = paid_source.is_not_null() if ga4 else pl.lit(False)
    ref_host = pl.col(tmp["ref_host"])
    external = ref_host.is_not_null()
    engine = pl.col(tmp["engine"])
    engine_known = engine.is_in(search).fill_null(False)
    is_search = engine_known | ref_host.is_in(search).fill_null(False)
    is_assistant = ref_host.is_in(assistants).fill_null(False)

    derived = {
        "source": pl.when(auto)
        .then(paid_source)
        .when(tagged)
        .then(pl.coalesce(source, paid_source, pl.lit(NOT_SET)))
        .when(paid_source.is_not_null())
        .then(paid_source)
        .when(external & ~is_assistant & engine_known)
        .then(engine)
        .when(external)
        .then(ref_host)
        .otherwise(pl.coalesce(weak_source, pl.lit("(direct)"))),
        "medium": pl.when(auto)
        .then(paid_medium)
        .when(tagged)
        .then(pl.coalesce(medium, paid_medium, pl.lit(NOT_SET)))
        .when(paid_medium.is_not_null())
        .then(paid_medium)
        .when(external & is_assistant)
        .then(pl.lit("ai-assistant"))
        .when(external & is_search)
        .then(pl.lit("organic"))
        .when(external)
        .then(pl.lit("referral"))
        .otherwise(pl.coalesce(weak_medium, pl.lit("(none)"))),
        "campaign": pl.when(campaign.is_not_null())
        .then(campaign)
        .when(tagged | paid_medium.is_not_null())
        .then(pl.lit(NOT_SET))
        .when(external & is_assistant)
        .then(pl.lit("(ai-assistant)"))
        .when(external & is_search)
        .then(pl.lit("(organic)"))
        .when(external | weak_medium.is_not_null())
        .then(pl.lit("(referral)"))
        .otherwise(pl.lit("(direct)")),
        "click_id_type": pl.col(tmp["type"]),
    }
    given = {
        name: pl.col(name).cast(pl.String) if name in frame.columns else None
        for name in (*_TAGS, "click_id", "click_id_type")
    }
    has_given = pl.lit(False)
    for name in ("source", "medium"):
        if given[name] is not None:
            has_given = has_given | ~_blank(pl.col(name))
    columns = []
    for name in _TAGS:
        value = derived[name]
        existing = given[name]
        if existing is None:
            filled = pl.when(has_given).then(campaign if name == "campaign" else None)
            columns.append(filled.otherwise(value).alias(name))
        elif name == "campaign":
            columns.append(
                pl.when(~_blank(existing))
                .then(existing)
                .when(has_given)
                .then(campaign)
                .otherwise(value)
                .alias(name)
            )
        else:
            columns.append(pl.when(has_given).then(existing).otherwise(value).alias(name))
    for name, value in (
        ("click_id", pl.col(tmp["click_id"])),
        ("click_id_type", derived["click_id_type"]),
    ):
        existing = given[name]
        columns.append(
            (
                value
                if existing is None
                else pl.when(_blank(existing)).then(value).otherwise(existing)
            ).alias(name)
        )
    return out.with_columns(columns).drop(tmp.values(), strict=False)
