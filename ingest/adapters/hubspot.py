"""HubSpot exports (contacts, deals, deal pipeline stages) -> conversions, touches, accounts.

Files are recognised by their columns: a **contacts** export has
``lifecyclestage`` or ``email``; a **deals** export has ``dealstage``; a
**pipeline stages** table has a probability and a closed flag per stage
(``pipeline, stage_id, probability, is_closed``, or the pipelines API JSON
``{"results": [{"id", "stages": [{"id", "metadata": {"probability", "isClosed"}}]}]}``).
Internal property names (``hs_lifecyclestage_lead_date``) and the UI
export's labels (``Became a Lead Date``, ``Record ID``, ``Deal Stage``) are
both accepted. Timestamps may be ISO 8601 (API v3) or epoch milliseconds (v1).

Contacts
--------
One conversion per lifecycle stage date that is set, ``conversion_id`` =
contact id + ``:`` + stage, ``user_id`` = the contact id, ``owner`` =
``hubspot_owner_id``, ``lead_source`` = ``hs_analytics_source`` (HubSpot's
own source categories, kept apart from GA4 channels). Stages map as
``lead`` / ``marketingqualifiedlead`` / ``salesqualifiedlead`` /
``opportunity`` / ``customer`` -> ``lead`` / ``mql`` / ``sql`` /
``opportunity`` / ``closed_won`` (:data:`LIFECYCLE_STAGES`). Identity:
contact id <-> lower-cased ``email`` (HubSpot's unique key for a contact).
Account: the contact's ``associatedcompanyid`` (its primary company) is the
``account_id`` of its conversions and an ``accounts`` row.

Source touches
--------------
HubSpot keeps, per contact, the source of its first visit (Original source,
``hs_analytics_source``, at ``hs_analytics_first_timestamp``, "Time First
Seen") and of its latest session (Latest source, ``hs_latest_source``, at
``hs_latest_source_timestamp``). Each becomes a touchpoint of the contact:
``touchpoint_id`` = contact id + ``:original_source``, and contact id +
``:latest_source:`` + the latest source's timestamp (as exported), so
re-ingesting an export changes nothing and a later export adds the new
latest source beside the earlier one. ``channel``: the source category's
GA4 default channel (:data:`SOURCE_CHANNELS`; an unknown category is left
to the channel rules), ``source`` = ``hubspot``, ``medium`` = the category,
lower-cased; ``campaign`` = drill-down 1 for ``OTHER_CAMPAIGNS`` (the
utm_campaign); ``interaction`` = ``original_source`` / ``latest_source``.
An original source without "Time First Seen" is dated ``createdate``; a
latest source without its timestamp, or the same category at the same
instant as the original, makes no touch. ``lead_source`` stays the
original source, as before.

Deals
-----
``opportunity`` at ``createdate`` with ``pipeline`` = ``amount`` (what
``--stage opportunity`` attributes); at ``closedate`` a deal whose stage is
closed with probability 1.0 is ``closed_won`` (revenue = ``amount``) and one
closed with probability 0.0 is ``closed_lost``. The stage's probability and
closed flag come from, in order: the deal's own ``hs_deal_stage_probability``
and ``hs_is_closed`` columns; a pipeline-stages table given with the files;
for the ``default`` pipeline's stages not in such a table,
:data:`DEFAULT_PIPELINE_STAGES` (HubSpot's
out-of-the-box stages). The stage id itself is never compared with
``closedwon``. A deal in another pipeline without stage data is an error
naming the pipeline. ``user_id`` = the first associated contact id (else the
deal id); identity: deal id <-> that contact. ``account_id`` = the first
associated company (``associated_company_ids``, "Associated Company IDs"),
and every associated contact is linked to it (``accounts``): with
``--journey account`` the deal is credited across all its contacts' touches.

When deals are given, a contact's own ``customer`` and ``opportunity``
lifecycle dates are dropped for contacts associated with a deal: the deal
rows carry those stages (with the revenue), and keeping both would count
them twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

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
    flatten,
    identity_pairs,
    lower_email,
    option_map,
    parse_flag,
    read_sources,
    require,
)
from ingest.stages import FUNNEL_STAGES, builtin_stages

__all__ = ["DEFAULT_PIPELINE_STAGES", "LIFECYCLE_STAGES", "SOURCE_CHANNELS", "from_exports", "load"]


def _lifecycle_stages() -> dict[str, str]:
    """Return the first lifecycle stage of ``stages.toml`` mapping to each funnel stage."""
    first: dict[str, str] = {}
    for entry in builtin_stages("hubspot", "lifecyclestage"):
        if entry.stage in FUNNEL_STAGES and entry.stage not in first.values():
            first[entry.value] = entry.stage
    return first


LIFECYCLE_STAGES = _lifecycle_stages()
"""HubSpot lifecycle stage (internal value) -> conversion stage: for each funnel stage, the
first entry of ``[hubspot.lifecyclestage]`` in ``ingest/stages.toml`` that maps to it (so
``customer``, not ``evangelist``, dates ``closed_won``)."""

_STAGE_LABELS = {s.value: s.label or s.value for s in builtin_stages("hubspot", "lifecyclestage")}

_DEAL_STAGES = [s for s in builtin_stages("hubspot", "dealstage") if s.probability is not None]
DEFAULT_PIPELINE_STAGES = pl.DataFrame(
    {
        "pipeline": ["default"] * len(_DEAL_STAGES),
        "stage": [s.value for s in _DEAL_STAGES],
        "probability": [s.probability for s in _DEAL_STAGES],
        "closed": [s.stage in ("closed_won", "closed_lost") for s in _DEAL_STAGES],
    },
    schema={
        "pipeline": pl.String,
        "stage": pl.String,
        "probability": pl.Float64,
        "closed": pl.Boolean,
    },
)
"""HubSpot's default sales pipeline: stage id, probability and closed flag, from
``[hubspot.dealstage]`` of ``ingest/stages.toml``."""

SOURCE_CHANNELS = {
    "ORGANIC_SEARCH": "Organic Search",
    "PAID_SEARCH": "Paid Search",
    "EMAIL_MARKETING": "Email",
    "SOCIAL_MEDIA": "Organic Social",
    "PAID_SOCIAL": "Paid Social",
    "REFERRALS": "Referral",
    "DIRECT_TRAFFIC": "Direct",
    "AI_REFERRALS": "AI Assistant",
    "OTHER_CAMPAIGNS": "Unassigned",
    "OFFLINE": "Offline Sources",
}
"""HubSpot source category (``hs_analytics_source``, ``hs_latest_source``) -> channel.

The GA4 default channel each category is closest to (support.google.com/analytics/answer/9756891;
the categories: knowledge.hubspot.com/properties/understand-source-properties). GA4 has no
channel for offline sources (imports, CRM entries, integrations), so they keep HubSpot's name;
other campaigns carry a UTM campaign GA4 would leave Unassigned without its medium. Matched on
the upper-cased category with spaces as ``_``, so the UI export's labels (``Paid search``)
match too.
"""

_ACCOUNT_COLUMNS = (
    "associatedcompanyid",
    "Associated Company ID",
    "Primary Associated Company ID",
    "company_id",
)
_DEAL_COMPANIES = (
    "associated_company_ids",
    "associatedcompanyids",
    "Associated Company IDs",
    "Associated Company",
    "company_ids",
)

_ID_COLUMNS = ("hs_object_id", "Record ID", "vid", "id", "contact_id", "dealId", "deal_id")


def _kind(frame: pl.DataFrame) -> str | None:
    def has(*names: str) -> bool:
        return any(first_present(frame, n) is not None for n in names)

    if has("results", "stages") or (
        has("probability", "metadata.probability")
        and has("is_closed", "isClosed", "closed", "metadata.isClosed")
        and not has("dealname", "Deal Name")
    ):
        return "stages"
    if has("dealstage", "Deal Stage"):
        return "deals"
    if has("lifecyclestage", "Lifecycle Stage", "email", "Email"):
        return "contacts"
    return None


def _stage_table(source: Source) -> pl.DataFrame:
    frame = source.frame
    if first_present(frame, "results") is not None:
        frame = frame.explode("results").unnest("results")
    if first_present(frame, "stages") is not None:
        frame = frame.rename({"id": "pipeline"}) if "id" in frame.columns else frame
        frame = frame.explode("stages").unnest("stages")
    frame = flatten(frame)
    require(
        frame,
        ["probability" if "probability" in frame.columns else "metadata.probability"],
        source.name,
        "HubSpot pipeline stages",
    )
    return frame.select(
        column(frame, "pipeline", "pipeline_id", "pipelineId").alias("pipeline"),
        column(frame, "stage_id", "stage", "stageId", "id").alias("stage"),
        column(frame, "probability", "metadata.probability", dtype=pl.Float64()).alias(
            "probability"
        ),
        parse_flag(column(frame, "is_closed", "isClosed", "closed", "metadata.isClosed")).alias(
            "closed"
        ),
    )


def _stage_date_columns(frame: pl.DataFrame, stages: dict[str, str]) -> dict[str, str]:
    """Source column -> lifecycle stage, for internal names and UI labels."""
    found: dict[str, str] = {}
    for stage in stages:
        label = _STAGE_LABELS.get(stage, stage)
        name = first_present(frame, f"hs_lifecyclestage_{stage}_date", f"Became a {label} Date")
        if name is not None:
            found[name] = stage
    return found


def _id_list(expr: pl.Expr) -> pl.Expr:
    """Split a list of ids as exports write it (``103;101``, ``103, 101``) into a list."""
    return (
        expr.str.replace_all(r"[;,\s]+", ";")
        .str.strip_chars(";")
        .str.split(";")
        .list.eval(pl.element().filter(pl.element() != ""))
    )


def _category(expr: pl.Expr) -> pl.Expr:
    """``Paid search`` / ``PAID_SEARCH`` -> ``PAID_SEARCH``; blank -> null."""
    key = expr.str.strip_chars().str.to_uppercase().str.replace_all(r"[\s-]+", "_")
    return pl.when(key != "").then(key)


def _source_touches(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the original and latest source of each contact as touches (module docstring)."""
    sources = frame.select(
        "_file",
        "_row",
        column(frame, *_ID_COLUMNS).alias("contact_id"),
        _category(column(frame, "hs_analytics_source", "Original Source")).alias("original"),
        pl.coalesce(
            column(frame, "hs_analytics_first_timestamp", "Time First Seen"),
            column(frame, "createdate", "Create Date"),
        ).alias("original_ts"),
        column(frame, "hs_analytics_source_data_1", "Original Source Drill-Down 1").alias(
            "original_detail"
        ),
        _category(column(frame, "hs_latest_source", "Latest Source")).alias("latest"),
        column(
            frame, "hs_latest_source_timestamp", "Latest Source Timestamp", "Latest Source Date"
        ).alias("latest_ts"),
        column(frame, "hs_latest_source_data_1", "Latest Source Drill-Down 1").alias(
            "latest_detail"
        ),
    )

    def touches(kind: str, suffix: pl.Expr) -> pl.DataFrame:
        category, ts, detail = pl.col(kind), pl.col(f"{kind}_ts"), pl.col(f"{kind}_detail")
        return sources.filter(category.is_not_null() & ts.is_not_null()).select(
            (pl.col("contact_id") + suffix).alias("touchpoint_id"),
            pl.col("contact_id").alias("user_id"),
            ts.alias("ts"),
            category.replace_strict(SOURCE_CHANNELS, default=None, return_dtype=pl.String).alias(
                "channel"
            ),
            pl.when(category == "OTHER_CAMPAIGNS").then(detail).alias("campaign"),
            pl.lit("hubspot").alias("source"),
            category.str.to_lowercase().alias("medium"),
            pl.lit(f"{kind}_source").alias("interaction"),
            "_file",
            "_row",
        )

    same = (pl.col("latest") == pl.col("original")) & (pl.col("latest_ts") == pl.col("original_ts"))
    original = touches("original", pl.lit(":original_source"))
    sources = sources.filter(~same.fill_null(False))
    latest = touches("latest", pl.lit(":latest_source:") + pl.col("latest_ts").str.strip_chars())
    return concat([original, latest])


def _contacts(
    source: Source, stages: dict[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    frame = source.frame
    require(
        frame,
        [next((c for c in _ID_COLUMNS if first_present(frame, c)), "hs_object_id")],
        source.name,
        "a HubSpot contacts export",
    )
    dates = _stage_date_columns(frame, stages)
    base = frame.select(
        "_file",
        "_row",
        column(frame, *_ID_COLUMNS).alias("contact_id"),
        lower_email(column(frame, "email", "Email")).alias("email"),
        column(frame, "hubspot_owner_id", "Contact owner", "HubSpot Owner ID").alias("owner"),
        column(frame, "hs_analytics_source", "Original Source").alias("lead_source"),
        column(frame, *_ACCOUNT_COLUMNS).str.strip_chars().alias("account_id"),
        *[column(frame, name).alias(f"stage:{stage}") for name, stage in dates.items()],
    )
    touches = _source_touches(frame)
    if not dates:
        return empty("conversions"), base, touches
    long = (
        base.unpivot(
            index=["_file", "_row", "contact_id", "owner", "lead_source", "account_id"],
            on=[f"stage:{s}" for s in dates.values()],
            variable_name="lifecycle",
            value_name="ts",
        )
        .filter(pl.col("ts").is_not_null() & (pl.col("ts").str.strip_chars() != ""))
        .with_columns(pl.col("lifecycle").str.strip_prefix("stage:"))
        .with_columns(
            pl.col("lifecycle").replace_strict(stages, return_dtype=pl.String).alias("stage")
        )
        .with_columns(
            (pl.col("contact_id") + ":" + pl.col("stage")).alias("conversion_id"),
            pl.col("contact_id").alias("user_id"),
            pl.lit(0.0).alias("revenue"),
        )
        .sort("_row", maintain_order=True)
    )
    return long, base, touches


def _deals(
    source: Source, stage_tables: list[pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    frame = source.frame
    require(
        frame,
        ["createdate" if first_present(frame, "createdate") else "Create Date"],
        source.name,
        "a HubSpot deals export",
    )
    contacts = column(
        frame,
        "associated_contact_ids",
        "associatedcontactids",
        "Associated Contact IDs",
        "Associated Contact",
        "contact_ids",
    )
    deals = frame.select(
        "_file",
        "_row",
        column(frame, *_ID_COLUMNS).alias("deal_id"),
        column(frame, "createdate", "Create Date").alias("created"),
        column(frame, "closedate", "Close Date").alias("close_date"),
        column(frame, "dealstage", "Deal Stage").alias("stage"),
        pl.coalesce(column(frame, "pipeline", "Pipeline"), pl.lit("default")).alias("pipeline"),
        column(frame, "amount", "Amount").alias("amount"),
        column(frame, "hubspot_owner_id", "Deal owner", "Deal Owner").alias("owner"),
        column(frame, "deal_currency_code", "Currency").alias("currency"),
        column(frame, "hs_deal_stage_probability", dtype=pl.Float64()).alias("own_probability"),
        parse_flag(column(frame, "hs_is_closed")).alias("own_closed"),
        _id_list(contacts).alias("contacts"),
        _id_list(column(frame, *_DEAL_COMPANIES)).list.first().alias("account_id"),
    ).with_columns(pl.col("contacts").list.first().alias("person"))
    # The user's stage tables win; the default pipeline's known stages fill in.
    table = concat([*stage_tables, DEFAULT_PIPELINE_STAGES]).unique(
        subset=["pipeline", "stage"], keep="first", maintain_order=True
    )
    keyed = table.filter(pl.col("pipeline").is_not_null())
    anywhere = table.filter(pl.col("pipeline").is_null()).drop("pipeline").unique(subset=["stage"])
    deals = (
        deals.join(keyed, on=["pipeline", "stage"], how="left", maintain_order="left")
        .join(anywhere, on="stage", how="left", suffix="_any", maintain_order="left")
        .with_columns(
            pl.coalesce("own_probability", "probability", "probability_any").alias("probability"),
            pl.coalesce("own_closed", "closed", "closed_any").alias("closed"),
        )
    )
    unknown = deals.filter(pl.col("closed").is_null() & pl.col("stage").is_not_null())
    if unknown.height:
        first = unknown.row(0, named=True)
        pairs = unknown.select("pipeline", "stage").unique(maintain_order=True).head(5).rows()
        shown = ", ".join(f"{p}/{s}" for p, s in pairs)
        raise InputError(
            f"{source.name} row {first['_row']}: no probability / closed flag is known for deal "
            f"stage(s) {shown} (pipeline/stage). Give a pipeline-stages table "
            "(pipeline,stage_id,probability,is_closed) with the files, or export the deals' "
            "hs_deal_stage_probability and hs_is_closed properties."
        )
    won = pl.col("closed").fill_null(False) & (pl.col("probability") >= 1.0)
    lost = pl.col("closed").fill_null(False) & (pl.col("probability") <= 0.0)
    shared: list[pl.Expr | str] = [
        pl.coalesce("person", "deal_id").alias("user_id"),
        "owner",
        "account_id",
        "currency",
        "_file",
        "_row",
    ]
    created = deals.select(
        (pl.col("deal_id") + ":opportunity").alias("conversion_id"),
        pl.col("created").alias("ts"),
        pl.lit("opportunity").alias("stage"),
        pl.lit("0").alias("revenue"),
        pl.col("amount").alias("pipeline"),
        *shared,
    )
    closed = deals.filter(won | lost).select(
        (
            pl.col("deal_id")
            + pl.when(won).then(pl.lit(":closed_won")).otherwise(pl.lit(":closed_lost"))
        ).alias("conversion_id"),
        pl.col("close_date").alias("ts"),
        pl.when(won).then(pl.lit("closed_won")).otherwise(pl.lit("closed_lost")).alias("stage"),
        pl.when(won).then(pl.col("amount")).otherwise(pl.lit("0")).alias("revenue"),
        *shared,
    )
    associated = (
        deals.select(pl.col("contacts").explode().alias("contact_id")).drop_nulls().unique()
    )
    identities = identity_pairs(deals, pl.col("deal_id"), pl.col("person"))
    accounts = deals.select(
        pl.col("contacts").alias("user_id"), "account_id", "_file", "_row"
    ).explode("user_id")
    return concat([created, closed]), identities, associated, accounts


def from_exports(sources: Sequence[Source], options: Options | None = None) -> Frames:
    """Turn HubSpot exports into canonical frames.

    Parameters
    ----------
    sources
        Contacts, deals and pipeline-stages files, in any order.
    options
        ``lifecycle_stages``: ``hubspot_stage:stage`` pairs replacing
        :data:`LIFECYCLE_STAGES` (e.g. to add ``subscriber:subscriber``).

    Returns
    -------
    dict[str, polars.DataFrame]
        ``conversions`` and ``identities`` (and an empty ``touchpoints``).

    Examples
    --------
    >>> from pathlib import Path
    >>> contacts = pl.DataFrame({"hs_object_id": ["101"], "email": ["Ana@X.com"],
    ...     "lifecyclestage": ["customer"], "hs_analytics_source": ["PAID_SEARCH"],
    ...     "hs_lifecyclestage_lead_date": ["2024-01-03T10:00:00Z"],
    ...     "hs_lifecyclestage_customer_date": ["2024-03-01T00:00:00Z"]})
    >>> deals = pl.DataFrame({"hs_object_id": ["9001"], "dealname": ["Ana Corp"],
    ...     "amount": ["1200"], "dealstage": ["closedwon"], "pipeline": ["default"],
    ...     "createdate": ["2024-02-01T00:00:00Z"], "closedate": ["2024-03-01T00:00:00Z"],
    ...     "associated_contact_ids": ["101"]})
    >>> frames = from_exports([Source(Path("contacts.csv"), contacts),
    ...                        Source(Path("deals.csv"), deals)])
    >>> frames["conversions"].select("conversion_id", "user_id", "stage", "revenue").rows()
    [('101:lead', '101', 'lead', '0.0'), ('9001:opportunity', '101', 'opportunity', '0'),
     ('9001:closed_won', '101', 'closed_won', '1200')]
    """
    options = options or {}
    stages = option_map(options, "lifecycle_stages", LIFECYCLE_STAGES)
    stages = {k.lower(): v for k, v in stages.items()}
    by_kind: dict[str, list[Source]] = {"contacts": [], "deals": [], "stages": []}
    for source in sources:
        kind = _kind(source.frame)
        if kind is None:
            raise InputError(
                f"Cannot tell what HubSpot export '{source.name}' is: a contacts export has "
                "'email' or 'lifecyclestage', a deals export 'dealstage', a stages table "
                "'probability' and 'is_closed'."
            )
        by_kind[kind].append(source)
    stage_tables = [_stage_table(s) for s in by_kind["stages"]]
    conversions: list[pl.DataFrame] = []
    identities: list[pl.DataFrame] = []
    touches: list[pl.DataFrame] = []
    accounts: list[pl.DataFrame] = []
    deal_contacts = pl.DataFrame(schema={"contact_id": pl.String})
    for source in by_kind["deals"]:
        deal_conversions, deal_ids, associated, deal_accounts = _deals(source, stage_tables)
        conversions.append(deal_conversions)
        identities.append(deal_ids)
        accounts.append(deal_accounts)
        deal_contacts = concat([deal_contacts, associated])
    for source in by_kind["contacts"]:
        contact_conversions, base, contact_touches = _contacts(source, stages)
        touches.append(contact_touches)
        accounts.insert(
            0, base.select(pl.col("contact_id").alias("user_id"), "account_id", "_file", "_row")
        )
        if by_kind["deals"] and contact_conversions.height:
            in_deal = pl.col("contact_id").is_in(deal_contacts["contact_id"].implode())
            contact_conversions = contact_conversions.filter(
                ~(in_deal & pl.col("stage").is_in(["closed_won", "opportunity"]))
            )
        conversions.insert(0, contact_conversions)
        identities.insert(0, identity_pairs(base, pl.col("contact_id"), pl.col("email")))
    if not conversions:
        raise InputError("A HubSpot ingest needs a contacts or a deals export.")
    links = (
        concat(accounts).filter(
            pl.col("user_id").is_not_null() & pl.col("account_id").is_not_null()
        )
        if accounts
        else empty("accounts")
    )
    return {
        "touchpoints": finish("touchpoints", concat(touches)) if touches else empty("touchpoints"),
        "conversions": finish("conversions", concat(conversions)),
        "identities": finish("identities", concat(identities))
        if identities
        else empty("identities"),
        "accounts": finish(
            "accounts",
            links.unique(subset=["user_id", "account_id"], keep="first", maintain_order=True),
        ),
    }


def load(paths: Sequence[str | Path] | str | Path, options: Options | None = None) -> Frames:
    r"""Read HubSpot export files (or a folder of them) into canonical frames.

    Parameters
    ----------
    paths
        Contacts, deals and (optionally) pipeline-stages files, or a folder.
    options
        As :func:`from_exports`.

    Returns
    -------
    dict[str, polars.DataFrame]
        ``touchpoints`` (empty), ``conversions``, ``identities``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "contacts.csv"
    >>> _ = path.write_text("Record ID,Email,Became a Lead Date\n7,c@z.io,2024-05-01 10:00\n")
    >>> load([path])["conversions"].select("conversion_id", "ts").rows()
    [('7:lead', '2024-05-01 10:00')]
    """
    return from_exports(read_sources(paths), options)
