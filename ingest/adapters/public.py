"""Adapters for the public datasets closedloop is tested on, each in its own shape.

- ``dp6``: DP6 Marketing-Attribution-Models session fixtures
  (``user_pseudo_id, session_id, event_time, user_id, is_conversion_purchase,
  [n_purchases,] source_medium``).
- ``olist``: Olist's marketing funnel (``olist_marketing_qualified_leads_dataset.csv``
  and ``olist_closed_deals_dataset.csv``).
- ``completejourney``: 84.51° The Complete Journey (``campaign_descriptions``,
  ``campaigns``, ``transactions_sample``, optionally ``coupon_redemptions``).

See ``docs/sources.md`` for the commands, the mapping decisions and the row
counts each gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import InputError
from ingest.adapters._common import (
    Frames,
    Options,
    Source,
    column,
    concat,
    empty,
    finish,
    first_present,
    identity_pairs,
    option_bool,
    option_map,
    read_sources,
    require,
    to_ts,
)

__all__ = [
    "DP6_SOURCE_MEDIUM",
    "OLIST_ORIGIN_CHANNELS",
    "load_completejourney",
    "load_dp6",
    "load_olist",
]

DP6_SOURCE_MEDIUM = {
    "seo": ("google", "organic"),
    "direct": ("(direct)", "(none)"),
    "google_ads": ("google", "cpc"),
    "crm": ("crm", "email"),
}
"""DP6 ``source_medium`` token -> (source, medium); GA4 rules then give
Organic Search, Direct, Paid Search and Email. An unlisted token becomes
``source = token, medium = (not set)``."""

OLIST_ORIGIN_CHANNELS = {
    "organic_search": "Organic Search",
    "paid_search": "Paid Search",
    "social": "Social",
    "direct_traffic": "Direct",
    "email": "Email",
    "referral": "Referral",
    "display": "Display",
    "other_publicities": "Other Advertising",
    "other": "Other",
    "unknown": "Unassigned",
}
"""Olist ``origin`` -> channel. Olist does not say whether ``social`` was paid,
so it stays ``Social``; an empty origin is ``Unassigned``."""


def load_dp6(paths: Sequence[str | Path] | str | Path, options: Options | None = None) -> Frames:
    r"""Read DP6's GA4-style session fixtures into touchpoints, identities and conversions.

    One touch per session (``touchpoint_id = session_id``, ``user_id =
    user_pseudo_id``, ``interaction = visit``) with source / medium from
    ``source_medium`` through :data:`DP6_SOURCE_MEDIUM` (channel derived at
    ingest); identities ``user_pseudo_id <-> user_id`` where ``user_id`` is
    set; a ``purchase`` conversion per session with ``is_conversion_purchase
    = 1`` (revenue = ``n_purchases`` when the column exists, else 1). Session
    ids restart in each file, so load each fixture into its own store.

    Parameters
    ----------
    paths
        ``test_dataset.csv`` and/or ``test_dataset_multiple_conversions.csv``.
    options
        ``source_medium``: ``token:source/medium`` pairs replacing the default map.

    Returns
    -------
    dict[str, polars.DataFrame]
        ``touchpoints``, ``conversions``, ``identities``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "dp6.csv"
    >>> _ = path.write_text("user_pseudo_id,session_id,event_time,user_id,"
    ...     "is_conversion_purchase,source_medium\nA,1,2021-07-20 15:00:00,,0,seo\n"
    ...     "A,2,2021-07-21 15:00:00,A1,1,direct\n")
    >>> frames = load_dp6([path])
    >>> frames["touchpoints"].select("touchpoint_id", "source", "medium").rows()
    [('1', 'google', 'organic'), ('2', '(direct)', '(none)')]
    >>> frames["conversions"].select("conversion_id", "user_id", "revenue").rows()
    [('2', 'A', '1')]
    """
    options = options or {}
    mapping = {k: tuple(v) for k, v in DP6_SOURCE_MEDIUM.items()}
    for token, pair in option_map(options, "source_medium", {}).items():
        source, _, medium = pair.partition("/")
        mapping[token] = (source.strip(), medium.strip() or NOT_SET)
    touches, conversions, identities = [], [], []
    for s in read_sources(paths):
        f = s.frame
        require(
            f,
            ["user_pseudo_id", "session_id", "event_time", "source_medium"],
            s.name,
            "a DP6 fixture",
        )
        key = pl.col("source_medium").str.strip_chars().str.to_lowercase()
        touches.append(
            f.select(
                pl.col("session_id").alias("touchpoint_id"),
                pl.col("user_pseudo_id").alias("user_id"),
                pl.col("event_time").alias("ts"),
                pl.lit(None, pl.String).alias("channel"),
                key.replace_strict({k: v[0] for k, v in mapping.items()}, default=key).alias(
                    "source"
                ),
                key.replace_strict(
                    {k: v[1] for k, v in mapping.items()}, default=pl.lit(NOT_SET)
                ).alias("medium"),
                pl.lit("visit").alias("interaction"),
                "_file",
                "_row",
            )
        )
        revenue = column(f, "n_purchases") if first_present(f, "n_purchases") else pl.lit("1")
        conversions.append(
            f.filter(column(f, "is_conversion_purchase").str.strip_chars() == "1").select(
                pl.col("session_id").alias("conversion_id"),
                pl.col("user_pseudo_id").alias("user_id"),
                pl.col("event_time").alias("ts"),
                pl.lit("purchase").alias("stage"),
                revenue.alias("revenue"),
                "_file",
                "_row",
            )
        )
        identities.append(identity_pairs(f, pl.col("user_pseudo_id"), column(f, "user_id")))
    return {
        "touchpoints": finish("touchpoints", concat(touches)),
        "conversions": finish("conversions", concat(conversions)),
        "identities": finish("identities", concat(identities)),
    }


def load_olist(paths: Sequence[str | Path] | str | Path, options: Options | None = None) -> Frames:
    r"""Read Olist's marketing funnel into conversions (mql, closed_won) and one touch per lead.

    - ``mql`` per MQL: ``conversion_id = mql_id``, ``user_id = mql_id``,
      ``ts = first_contact_date``, ``lead_source = origin``, revenue 0;
    - ``closed_won`` per closed deal: ``conversion_id = mql_id:won``,
      ``ts = won_date``, ``revenue = declared_monthly_revenue`` (BRL, as
      declared), ``owner = sr_id``, ``lead_source`` = the lead's origin,
      ``account_id = seller_id`` (the company that signed: Olist's deals
      are B2B, each seller signed through one lead);
    - a touch per lead: ``touchpoint_id = mql_id``, ``channel`` = origin via
      :data:`OLIST_ORIGIN_CHANNELS`, ``source`` = origin, ``campaign =
      landing_page_id``, ``interaction = form``.

    Money carries ``currency = BRL``: ingest into a store whose currency is
    BRL (``closedloop ingest --from olist ... --currency BRL`` on a new store).

    Parameters
    ----------
    paths
        The folder, or the two CSV files (told apart by their columns).
    options
        ``currency``: override ``BRL``.

    Returns
    -------
    dict[str, polars.DataFrame]
        ``touchpoints``, ``conversions``, ``identities`` (empty).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "mql.csv").write_text(
    ...     "mql_id,first_contact_date,landing_page_id,origin\nm1,2018-02-01,lp1,social\n")
    >>> _ = (folder / "deals.csv").write_text(
    ...     "mql_id,sr_id,won_date,declared_monthly_revenue\nm1,sr9,2018-03-01 10:00:00,5000.0\n")
    >>> conversions = load_olist([folder])["conversions"]
    >>> conversions.select("conversion_id", "stage", "owner", "lead_source").rows()
    [('m1', 'mql', None, 'social'), ('m1:won', 'closed_won', 'sr9', 'social')]
    """
    options = options or {}
    currency = str(options.get("currency", "BRL")).upper()
    mqls: list[Source] = []
    deals: list[Source] = []
    for s in read_sources(paths):
        if first_present(s.frame, "won_date") is not None:
            deals.append(s)
        elif first_present(s.frame, "first_contact_date") is not None:
            mqls.append(s)
        else:
            raise InputError(
                f"{s.name} is neither Olist's MQL file (first_contact_date) nor its closed-deals "
                "file (won_date)."
            )
    if not mqls:
        raise InputError("The olist adapter needs olist_marketing_qualified_leads_dataset.csv.")
    leads = concat(
        s.frame.select(
            pl.col("mql_id"),
            pl.col("first_contact_date"),
            column(s.frame, "landing_page_id").alias("landing_page_id"),
            column(s.frame, "origin").str.strip_chars().alias("origin"),
            "_file",
            "_row",
        )
        for s in mqls
    )
    origin = pl.col("origin")
    touches = leads.select(
        pl.col("mql_id").alias("touchpoint_id"),
        pl.col("mql_id").alias("user_id"),
        pl.col("first_contact_date").alias("ts"),
        pl.coalesce(
            origin.replace_strict(OLIST_ORIGIN_CHANNELS, default=None, return_dtype=pl.String),
            origin,
            pl.lit("Unassigned"),
        ).alias("channel"),
        pl.col("landing_page_id").alias("campaign"),
        origin.alias("source"),
        pl.lit("form").alias("interaction"),
        "_file",
        "_row",
    )
    mql_rows = leads.select(
        pl.col("mql_id").alias("conversion_id"),
        pl.col("mql_id").alias("user_id"),
        pl.col("first_contact_date").alias("ts"),
        pl.lit("mql").alias("stage"),
        pl.lit("0").alias("revenue"),
        origin.alias("lead_source"),
        pl.lit(currency).alias("currency"),
        "_file",
        "_row",
    )
    parts = [mql_rows]
    for s in deals:
        require(s.frame, ["mql_id", "won_date"], s.name, "Olist's closed-deals file")
        origins = leads.select("mql_id", "origin").unique(subset=["mql_id"], keep="first")
        parts.append(
            s.frame.join(origins, on="mql_id", how="left", maintain_order="left").select(
                (pl.col("mql_id") + ":won").alias("conversion_id"),
                pl.col("mql_id").alias("user_id"),
                pl.col("won_date").alias("ts"),
                pl.lit("closed_won").alias("stage"),
                column(s.frame, "declared_monthly_revenue").alias("revenue"),
                column(s.frame, "sr_id").alias("owner"),
                pl.col("origin").alias("lead_source"),
                column(s.frame, "seller_id").alias("account_id"),
                pl.lit(currency).alias("currency"),
                "_file",
                "_row",
            )
        )
    return {
        "touchpoints": finish("touchpoints", touches),
        "conversions": finish("conversions", concat(parts)),
        "identities": empty("identities"),
    }


def load_completejourney(
    paths: Sequence[str | Path] | str | Path, options: Options | None = None
) -> Frames:
    r"""Read 84.51° The Complete Journey: campaign receipts -> touches, baskets -> purchases.

    - a touch per ``campaigns.csv`` row: ``touchpoint_id = campaign_id:household_id``,
      ``user_id = household_id``, ``ts`` = the campaign's ``start_date``
      (**approximation**: the data does not say when a household received
      it), ``channel = campaign_type`` (``Type A`` / ``B`` / ``C``),
      ``campaign = campaign_id``, ``source = 8451``, ``medium =
      direct_mail``, ``interaction = campaign_received``;
    - with ``--option redemptions=true``, also a touch per
      ``coupon_redemptions.csv`` row (``ts = redemption_date``,
      ``interaction = coupon_redeem``, id ``campaign:household:coupon:date``);
    - a ``purchase`` per basket of ``transactions_sample.csv``:
      ``conversion_id = basket_id``, ``user_id = household_id``,
      ``ts = min(transaction_timestamp)``, ``revenue = Σ sales_value``.

    Parameters
    ----------
    paths
        The folder (files are picked by name; ``coupons``, ``demographics``
        and ``rda/`` are ignored), or the files.
    options
        ``redemptions`` (default false).

    Returns
    -------
    dict[str, polars.DataFrame]
        ``touchpoints``, ``conversions``, ``identities`` (empty).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "campaign_descriptions.csv").write_text(
    ...     "campaign_id,campaign_type,start_date,end_date\n1,Type B,2017-03-03,2017-04-09\n")
    >>> _ = (folder / "campaigns.csv").write_text("campaign_id,household_id\n1,105\n")
    >>> _ = (folder / "transactions_sample.csv").write_text(
    ...     "household_id,basket_id,sales_value,transaction_timestamp\n"
    ...     "105,b1,3.5,2017-03-05 10:00:00\n105,b1,1.25,2017-03-05 10:01:00\n")
    >>> frames = load_completejourney([folder])
    >>> frames["touchpoints"].select("touchpoint_id", "ts", "channel").rows()
    [('1:105', '2017-03-03', 'Type B')]
    >>> frames["conversions"].select("conversion_id", "revenue").rows()
    [('b1', 4.75)]
    """
    options = options or {}
    wanted = {"campaign_descriptions", "campaigns", "transactions_sample", "coupon_redemptions"}
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.name.split(".")[0] in wanted and p.is_file())
            )
        else:
            files.append(path)
    by_name = {s.name.split(".")[0]: s for s in read_sources(files)} if files else {}
    for needed in ("campaign_descriptions", "campaigns", "transactions_sample"):
        if needed not in by_name:
            raise InputError(
                f"The completejourney adapter needs {needed}.csv (give the dataset's folder)."
            )
    descriptions = by_name["campaign_descriptions"].frame.select(
        "campaign_id", "campaign_type", "start_date"
    )
    receipts = by_name["campaigns"].frame.join(
        descriptions, on="campaign_id", how="left", maintain_order="left"
    )
    touches = [
        receipts.select(
            (pl.col("campaign_id") + ":" + pl.col("household_id")).alias("touchpoint_id"),
            pl.col("household_id").alias("user_id"),
            pl.col("start_date").alias("ts"),
            pl.col("campaign_type").alias("channel"),
            pl.col("campaign_id").alias("campaign"),
            pl.lit("8451").alias("source"),
            pl.lit("direct_mail").alias("medium"),
            pl.lit("campaign_received").alias("interaction"),
            "_file",
            "_row",
        )
    ]
    if option_bool(options, "redemptions", False) and "coupon_redemptions" in by_name:
        redemptions = by_name["coupon_redemptions"].frame.join(
            descriptions, on="campaign_id", how="left", maintain_order="left"
        )
        touches.append(
            redemptions.select(
                pl.concat_str(
                    ["campaign_id", "household_id", "coupon_upc", "redemption_date"], separator=":"
                ).alias("touchpoint_id"),
                pl.col("household_id").alias("user_id"),
                pl.col("redemption_date").alias("ts"),
                pl.col("campaign_type").alias("channel"),
                pl.col("campaign_id").alias("campaign"),
                pl.lit("8451").alias("source"),
                pl.lit("coupon").alias("medium"),
                pl.lit("coupon_redeem").alias("interaction"),
                "_file",
                "_row",
            )
        )
    lines = by_name["transactions_sample"].frame
    lines = lines.with_columns(to_ts(lines, "transaction_timestamp").alias("_ts"))
    baskets = (
        lines.group_by("basket_id", maintain_order=True)
        .agg(
            pl.col("household_id").first().alias("user_id"),
            pl.col("_ts").min().alias("ts"),
            pl.col("sales_value").cast(pl.Float64).sum().round(2).alias("revenue"),
            pl.col("_file").first(),
            pl.col("_row").min(),
        )
        .select(
            pl.col("basket_id").alias("conversion_id"),
            "user_id",
            "ts",
            pl.lit("purchase").alias("stage"),
            "revenue",
            "_file",
            "_row",
        )
    )
    return {
        "touchpoints": finish("touchpoints", concat(touches)),
        "conversions": finish("conversions", baskets),
        "identities": empty("identities"),
    }
