"""Salesforce exports -> conversions at every stage, identities, campaign-member touches.

Objects read: Lead, Contact, Opportunity, OpportunityContactRole, CampaignMember, Campaign.

Give a folder holding the object exports, or the files themselves. Each file
is recognised by its name (``Lead.csv``, ``leads.csv``, ``Opportunity.json``,
``OpportunityContactRole.csv``, ``CampaignMember.csv``, ``Campaign.csv``,
``Contact.csv``), by an explicit ``Object=path`` argument
(``Lead=export_2024.csv``), or else by its columns (``IsConverted`` -> Lead,
``StageName`` -> Opportunity, ``OpportunityId`` + ``ContactId`` ->
OpportunityContactRole, ``CampaignId`` + ``LeadId``/``ContactId`` ->
CampaignMember, ``Id`` + ``Name`` + ``Type`` -> Campaign, ``Id`` + ``Email``
-> Contact). Only the objects given are used; Lead and Opportunity carry the
funnel, the others refine it.

Conversions (``conversion_id`` = record id + ``:`` + stage)
-----------------------------------------------------------
- ``lead`` for every Lead, at ``CreatedDate``; ``user_id`` = the Lead Id,
  ``owner`` = ``OwnerId``, ``lead_source`` = ``LeadSource``.
- ``mql`` / ``sql`` from the Lead ``Status`` through ``status_stages``
  (case-insensitive; default :data:`DEFAULT_STATUS_STAGES`, from
  ``ingest/stages.toml``: ``MQL``/``Marketing Qualified`` -> mql,
  ``SQL``/``Sales Qualified``/``Closed - Converted`` -> sql, Salesforce's
  other default statuses -> lead, which every lead is already).
  Salesforce keeps only the current status, so the stage is dated
  ``LastModifiedDate`` when exported, else ``CreatedDate`` (**an
  approximation**; export a stage-date field and map it with ``--map`` on a
  plain conversions ingest when you have one).
- A converted lead (``IsConverted``) also reaches ``converted_stage``
  (default ``sql``) at ``ConvertedDate`` (a date without time).
- ``opportunity`` for every Opportunity at its ``CreatedDate``, with
  ``pipeline`` = its ``Amount`` (what ``--stage opportunity`` attributes);
  ``closed_won`` / ``closed_lost`` at ``CloseDate`` from the ``IsClosed`` and
  ``IsWon`` flags, **never from the StageName label** (orgs rename stages);
  revenue = ``Amount`` on won, 0 otherwise. ``CurrencyIsoCode`` (multi-currency
  orgs) is checked against the store.
- The opportunity's person (``user_id``): the primary contact of its
  OpportunityContactRole rows (``IsPrimary``, else its first role), else
  ``Opportunity.ContactId``, else the contact (or lead) of the Lead whose
  ``ConvertedOpportunityId`` is this opportunity, else the opportunity id.

Accounts (``--journey account``: a deal is credited across the account's buying group)
--------------------------------------------------------------------------------------
``account_id`` of the opportunity's conversions = ``Opportunity.AccountId``;
of a converted lead's conversions = ``ConvertedAccountId``. ``accounts``
rows: ``Contact.Id`` -> ``Contact.AccountId``, and every
OpportunityContactRole contact -> its opportunity's ``AccountId`` (the
buying group, not only the primary contact).

Identities (Salesforce lead conversion: the lead, its contact and the person are one)
-----------------------------------------------------------------------------------
Lead Id <-> ``ConvertedContactId``, Lead Id <-> lower-cased ``Email``,
Contact Id <-> lower-cased ``Email``, Opportunity Id <-> its primary contact,
CampaignMember ``LeadId`` <-> ``ContactId``.

Touchpoints
-----------
One per CampaignMember (``Id``, else ``CampaignId:LeadOrContactId``), dated
``FirstRespondedDate`` when set, else ``CreatedDate``; ``user_id`` =
``ContactId``, else ``LeadId``; ``campaign`` = the Campaign's ``Name``;
``channel`` from the Campaign ``Type`` through ``campaign_channels``
(default :data:`CAMPAIGN_TYPE_CHANNELS`; an unlisted type is its own
channel); ``source`` = ``salesforce``, ``medium`` = the type, lower-cased;
``interaction`` = ``responded`` or ``member``. ``responded_only=true`` keeps
only members with ``HasResponded``.
"""

from __future__ import annotations

import re
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
    expand_paths,
    finish,
    first_present,
    identity_pairs,
    lower_email,
    option_bool,
    option_map,
    parse_flag,
    require,
)
from ingest.readers import read_table
from ingest.stages import builtin_stages

__all__ = [
    "CAMPAIGN_TYPE_CHANNELS",
    "DEFAULT_STATUS_STAGES",
    "OBJECTS",
    "from_objects",
    "load",
]

OBJECTS = (
    "Lead",
    "Contact",
    "Opportunity",
    "OpportunityContactRole",
    "CampaignMember",
    "Campaign",
)
"""The Salesforce objects the adapter reads."""

DEFAULT_STATUS_STAGES = {s.value: s.stage for s in builtin_stages("salesforce", "Lead Status")}
"""Lead ``Status`` -> stage (matched case-insensitively): ``[salesforce."Lead Status"]`` of
``ingest/stages.toml``, which plain conversion ingests use too (``closedloop stages``)."""

CAMPAIGN_TYPE_CHANNELS = {
    "Email": "Email",
    "Banner Ads": "Display",
    "Advertisement": "Paid Other",
    "Referral Program": "Referral",
    "Webinar": "Webinar",
    "Conference": "Events",
    "Trade Show": "Events",
    "Direct Mail": "Direct Mail",
    "Telemarketing": "Telemarketing",
    "Public Relations": "Public Relations",
    "Partners": "Partners",
}
"""Campaign ``Type`` (Salesforce's default picklist) -> channel."""

_NAME_KEYS = {
    "lead": "Lead",
    "leads": "Lead",
    "contact": "Contact",
    "contacts": "Contact",
    "opportunity": "Opportunity",
    "opportunities": "Opportunity",
    "opportunitycontactrole": "OpportunityContactRole",
    "opportunitycontactroles": "OpportunityContactRole",
    "campaignmember": "CampaignMember",
    "campaignmembers": "CampaignMember",
    "campaign": "Campaign",
    "campaigns": "Campaign",
}


def _object_by_name(path: Path) -> str | None:
    stem = path.name.split(".")[0]
    return _NAME_KEYS.get(re.sub(r"[^a-z]", "", stem.lower()))


def _object_by_columns(frame: pl.DataFrame) -> str | None:
    def has(*names: str) -> bool:
        return all(first_present(frame, n) is not None for n in names)

    if has("IsConverted"):
        return "Lead"
    if has("StageName"):
        return "Opportunity"
    if has("OpportunityId", "ContactId"):
        return "OpportunityContactRole"
    if has("CampaignId") and (has("LeadId") or has("ContactId")):
        return "CampaignMember"
    if has("Id", "Name", "Type"):
        return "Campaign"
    if has("Id", "Email"):
        return "Contact"
    return None


def _read_objects(paths: Sequence[str | Path] | str | Path) -> dict[str, Source]:
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    explicit: list[tuple[str, Path]] = []
    plain: list[str | Path] = []
    objects_by_lower = {o.lower(): o for o in OBJECTS}
    for item in items:
        left, sep, right = str(item).partition("=")
        if sep and left.strip().lower() in objects_by_lower:
            explicit.append((objects_by_lower[left.strip().lower()], Path(right.strip())))
        else:
            plain.append(item)
    found: dict[str, Source] = {}

    def add(obj: str, path: Path, frame: pl.DataFrame) -> None:
        if obj in found:
            raise InputError(
                f"Two files hold Salesforce {obj} records: '{found[obj].name}' and '{path.name}'. "
                f"Give one, or name it explicitly as {obj}=<file>."
            )
        found[obj] = Source(path, frame)

    for obj, path in explicit:
        add(obj, path, read_table(path))
    for path in expand_paths(plain) if plain else []:
        frame = read_table(path)
        found_obj = _object_by_name(path) or _object_by_columns(frame)
        if found_obj is None:
            raise InputError(
                f"Cannot tell which Salesforce object '{path.name}' holds: name it Lead.csv, "
                f"Opportunity.csv ... or pass Object=<file> (objects: {', '.join(OBJECTS)})."
            )
        add(found_obj, path, frame)
    if "Lead" not in found and "Opportunity" not in found:
        raise InputError(
            "A Salesforce ingest needs a Lead or an Opportunity export; got "
            f"{', '.join(sorted(found)) or 'no file'}."
        )
    return found


def _leads(lead: Source, options: Options) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = lead.frame
    require(frame, ["Id", "CreatedDate"], lead.name, "a Salesforce Lead export")
    status_stages = {
        k.lower(): v for k, v in option_map(options, "status_stages", DEFAULT_STATUS_STAGES).items()
    }
    converted_stage = str(options.get("converted_stage", "sql")).strip()
    base = frame.select(
        "_file",
        "_row",
        column(frame, "Id").alias("lead_id"),
        column(frame, "CreatedDate").alias("created"),
        column(frame, "LastModifiedDate").alias("modified"),
        column(frame, "OwnerId").alias("owner"),
        column(frame, "LeadSource").alias("lead_source"),
        column(frame, "Status").str.strip_chars().str.to_lowercase().alias("status"),
        parse_flag(column(frame, "IsConverted")).fill_null(False).alias("converted"),
        column(frame, "ConvertedDate").alias("converted_date"),
        column(frame, "ConvertedContactId").alias("contact_id"),
        column(frame, "ConvertedOpportunityId").alias("opportunity_id"),
        column(frame, "ConvertedAccountId").alias("account_id"),
        lower_email(column(frame, "Email")).alias("email"),
    )
    shared: list[pl.Expr | str] = [
        pl.col("lead_id").alias("user_id"),
        "owner",
        "lead_source",
        "account_id",
        "_file",
        "_row",
    ]
    created = base.select(
        (pl.col("lead_id") + ":lead").alias("conversion_id"),
        pl.col("created").alias("ts"),
        pl.lit("lead").alias("stage"),
        *shared,
    )
    converted = base.filter(pl.col("converted") & (converted_stage != "")).select(
        (pl.col("lead_id") + ":" + converted_stage).alias("conversion_id"),
        pl.coalesce("converted_date", "modified", "created").alias("ts"),
        pl.lit(converted_stage).alias("stage"),
        *shared,
    )
    status_stage = pl.col("status").replace_strict(
        status_stages, default=None, return_dtype=pl.String
    )
    by_status = base.filter(status_stage.is_not_null()).select(
        (pl.col("lead_id") + ":" + status_stage).alias("conversion_id"),
        pl.coalesce("modified", "created").alias("ts"),
        status_stage.alias("stage"),
        *shared,
    )
    conversions = concat([created, converted, by_status]).unique(
        subset=["conversion_id"], keep="first", maintain_order=True
    )
    return conversions.with_columns(pl.lit(0.0).alias("revenue")), base


def _opportunity_people(
    opp: pl.DataFrame, roles: Source | None, leads: pl.DataFrame | None
) -> pl.DataFrame:
    """``opportunity_id`` -> ``person`` (see the module docstring for the order)."""
    people = opp.select("opportunity_id", "contact_id")
    if roles is not None:
        r = roles.frame
        require(
            r,
            ["OpportunityId", "ContactId"],
            roles.name,
            "a Salesforce OpportunityContactRole export",
        )
        primary = (
            r.select(
                column(r, "OpportunityId").alias("opportunity_id"),
                column(r, "ContactId").alias("role_contact"),
                parse_flag(column(r, "IsPrimary")).fill_null(False).alias("primary"),
                "_row",
            )
            .filter(pl.col("role_contact").is_not_null())
            .sort(["opportunity_id", "primary", "_row"], descending=[False, True, False])
            .group_by("opportunity_id", maintain_order=True)
            .first()
            .select("opportunity_id", "role_contact")
        )
        people = people.join(primary, on="opportunity_id", how="left")
    else:
        people = people.with_columns(pl.lit(None, pl.String).alias("role_contact"))
    if leads is not None:
        via_lead = (
            leads.filter(pl.col("opportunity_id").is_not_null())
            .select("opportunity_id", pl.coalesce("contact_id", "lead_id").alias("lead_person"))
            .unique(subset=["opportunity_id"], keep="first", maintain_order=True)
        )
        people = people.join(via_lead, on="opportunity_id", how="left")
    else:
        people = people.with_columns(pl.lit(None, pl.String).alias("lead_person"))
    return people.select(
        "opportunity_id",
        pl.coalesce("role_contact", "contact_id", "lead_person", "opportunity_id").alias("person"),
        pl.col("role_contact").is_not_null().alias("has_role"),
    )


def _opportunities(
    opportunity: Source, roles: Source | None, leads: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = opportunity.frame
    require(
        frame,
        ["Id", "CreatedDate", "CloseDate", "IsClosed", "IsWon"],
        opportunity.name,
        "a Salesforce Opportunity export (closed and won come from the IsClosed / IsWon "
        "flags, never from StageName labels, which orgs rename)",
    )
    opp = frame.select(
        "_file",
        "_row",
        column(frame, "Id").alias("opportunity_id"),
        column(frame, "CreatedDate").alias("created"),
        column(frame, "CloseDate").alias("close_date"),
        parse_flag(column(frame, "IsClosed")).fill_null(False).alias("closed"),
        parse_flag(column(frame, "IsWon")).fill_null(False).alias("won"),
        column(frame, "Amount").alias("amount"),
        column(frame, "OwnerId").alias("owner"),
        column(frame, "LeadSource").alias("opp_lead_source"),
        column(frame, "ContactId").alias("contact_id"),
        column(frame, "AccountId").alias("account_id"),
        column(frame, "CurrencyIsoCode").alias("currency"),
    )
    people = _opportunity_people(opp, roles, leads)
    opp = opp.join(people, on="opportunity_id", how="left", maintain_order="left")
    if leads is not None:
        sources = (
            leads.filter(pl.col("opportunity_id").is_not_null())
            .select("opportunity_id", pl.col("lead_source").alias("lead_lead_source"))
            .unique(subset=["opportunity_id"], keep="first", maintain_order=True)
        )
        opp = opp.join(sources, on="opportunity_id", how="left", maintain_order="left")
    else:
        opp = opp.with_columns(pl.lit(None, pl.String).alias("lead_lead_source"))
    shared: list[pl.Expr | str] = [
        pl.col("person").alias("user_id"),
        "owner",
        pl.coalesce("opp_lead_source", "lead_lead_source").alias("lead_source"),
        "account_id",
        "currency",
        "_file",
        "_row",
    ]
    created = opp.select(
        (pl.col("opportunity_id") + ":opportunity").alias("conversion_id"),
        pl.col("created").alias("ts"),
        pl.lit("opportunity").alias("stage"),
        pl.lit("0").alias("revenue"),
        pl.col("amount").alias("pipeline"),
        *shared,
    )
    closed = opp.filter(pl.col("closed")).select(
        (
            pl.col("opportunity_id")
            + pl.when(pl.col("won")).then(pl.lit(":closed_won")).otherwise(pl.lit(":closed_lost"))
        ).alias("conversion_id"),
        pl.col("close_date").alias("ts"),
        pl.when(pl.col("won"))
        .then(pl.lit("closed_won"))
        .otherwise(pl.lit("closed_lost"))
        .alias("stage"),
        pl.when(pl.col("won")).then(pl.col("amount")).otherwise(pl.lit("0")).alias("revenue"),
        *shared,
    )
    identities = identity_pairs(
        opp.filter(pl.col("person") != pl.col("opportunity_id")),
        pl.col("opportunity_id"),
        pl.col("person"),
    )
    return concat([created, closed]), identities


def _account_links(objects: dict[str, Source], opportunities: pl.DataFrame | None) -> pl.DataFrame:
    """``accounts`` rows: contacts' ``AccountId`` and every contact role's opportunity account."""
    links: list[pl.DataFrame] = []
    if "Contact" in objects:
        c = objects["Contact"].frame
        links.append(
            c.select(
                column(c, "Id").alias("user_id"),
                column(c, "AccountId").alias("account_id"),
                "_file",
                "_row",
            )
        )
    roles = objects.get("OpportunityContactRole")
    if roles is not None and opportunities is not None:
        r = roles.frame
        accounts = opportunities.select(
            pl.col("conversion_id").str.replace(r":[^:]*$", "").alias("opportunity_id"),
            "account_id",
        ).unique(subset=["opportunity_id"], keep="first")
        links.append(
            r.select(
                column(r, "OpportunityId").alias("opportunity_id"),
                column(r, "ContactId").alias("user_id"),
                "_file",
                "_row",
            )
            .join(accounts, on="opportunity_id", how="left", maintain_order="left")
            .drop("opportunity_id")
        )
    if not links:
        return empty("accounts")
    rows = concat(links).with_columns(pl.col("user_id", "account_id").str.strip_chars())
    return rows.filter(
        pl.col("user_id").is_not_null()
        & pl.col("account_id").is_not_null()
        & (pl.col("user_id") != "")
        & (pl.col("account_id") != "")
    ).unique(subset=["user_id", "account_id"], keep="first", maintain_order=True)


def _campaign_touches(
    member: Source, campaign: Source | None, options: Options
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = member.frame
    require(frame, ["CampaignId", "CreatedDate"], member.name, "a Salesforce CampaignMember export")
    channels = option_map(options, "campaign_channels", CAMPAIGN_TYPE_CHANNELS)
    rows = frame.select(
        "_file",
        "_row",
        column(frame, "Id").alias("member_id"),
        column(frame, "CampaignId").alias("campaign_id"),
        column(frame, "LeadId").alias("lead_id"),
        column(frame, "ContactId").alias("contact_id"),
        parse_flag(column(frame, "HasResponded")).fill_null(False).alias("responded"),
        column(frame, "FirstRespondedDate").alias("responded_date"),
        column(frame, "CreatedDate").alias("created"),
    )
    if campaign is not None:
        c = campaign.frame
        require(c, ["Id"], campaign.name, "a Salesforce Campaign export")
        info = c.select(
            column(c, "Id").alias("campaign_id"),
            column(c, "Name").alias("campaign_name"),
            column(c, "Type").alias("campaign_type"),
        ).unique(subset=["campaign_id"], keep="first", maintain_order=True)
        rows = rows.join(info, on="campaign_id", how="left", maintain_order="left")
    else:
        rows = rows.with_columns(
            pl.lit(None, pl.String).alias("campaign_name"),
            pl.lit(None, pl.String).alias("campaign_type"),
        )
    if option_bool(options, "responded_only", False):
        rows = rows.filter(pl.col("responded"))
    person = pl.coalesce("contact_id", "lead_id")
    touches = rows.select(
        pl.coalesce("member_id", pl.col("campaign_id") + ":" + person).alias("touchpoint_id"),
        person.alias("user_id"),
        pl.coalesce("responded_date", "created").alias("ts"),
        pl.coalesce(
            pl.col("campaign_type").replace_strict(channels, default=None, return_dtype=pl.String),
            pl.col("campaign_type"),
            pl.lit("Offline Campaign"),
        ).alias("channel"),
        pl.coalesce("campaign_name", "campaign_id").alias("campaign"),
        pl.lit("salesforce").alias("source"),
        pl.col("campaign_type").str.to_lowercase().alias("medium"),
        pl.when(pl.col("responded"))
        .then(pl.lit("responded"))
        .otherwise(pl.lit("member"))
        .alias("interaction"),
        "_file",
        "_row",
    )
    return touches, identity_pairs(rows, pl.col("lead_id"), pl.col("contact_id"))


def from_objects(objects: dict[str, Source], options: Options | None = None) -> Frames:
    """Turn Salesforce object exports into canonical frames.

    Parameters
    ----------
    objects
        Object name (see :data:`OBJECTS`) -> its rows as a :class:`Source`.
    options
        ``status_stages`` (``Status:stage`` pairs), ``converted_stage``
        (default ``sql``; empty to skip), ``campaign_channels``
        (``Type:channel`` pairs), ``responded_only`` (default false).

    Returns
    -------
    dict[str, polars.DataFrame]
        ``touchpoints`` (from CampaignMember), ``conversions`` and ``identities``.

    Examples
    --------
    >>> from pathlib import Path
    >>> lead = pl.DataFrame({"Id": ["00Q1"], "Email": ["Ana@x.com"], "LeadSource": ["Web"],
    ...     "OwnerId": ["005A"], "Status": ["Closed - Converted"],
    ...     "CreatedDate": ["2024-01-05T09:00:00.000+0000"], "IsConverted": ["true"],
    ...     "ConvertedDate": ["2024-02-01"], "ConvertedContactId": ["0031"],
    ...     "ConvertedOpportunityId": ["0061"]})
    >>> opp = pl.DataFrame({"Id": ["0061"], "StageName": ["Signed"], "IsWon": ["true"],
    ...     "IsClosed": ["true"], "Amount": ["5000"], "CloseDate": ["2024-03-15"],
    ...     "CreatedDate": ["2024-02-01T10:00:00.000+0000"], "OwnerId": ["005B"]})
    >>> frames = from_objects({"Lead": Source(Path("Lead.csv"), lead),
    ...                        "Opportunity": Source(Path("Opportunity.csv"), opp)})
    >>> frames["conversions"].select("conversion_id", "user_id", "stage", "revenue").rows()
    [('00Q1:lead', '00Q1', 'lead', '0.0'), ('00Q1:sql', '00Q1', 'sql', '0.0'),
     ('0061:opportunity', '0031', 'opportunity', '0'),
     ('0061:closed_won', '0031', 'closed_won', '5000')]
    >>> sorted(frames["identities"].select("anonymous_id", "user_id").rows())
    [('0061', '0031'), ('00Q1', '0031'), ('00Q1', 'ana@x.com')]
    """
    options = options or {}
    conversions: list[pl.DataFrame] = []
    identities: list[pl.DataFrame] = []
    touches: list[pl.DataFrame] = []
    leads: pl.DataFrame | None = None
    if "Lead" in objects:
        lead_conversions, leads = _leads(objects["Lead"], options)
        conversions.append(lead_conversions)
        identities.append(identity_pairs(leads, pl.col("lead_id"), pl.col("contact_id")))
        identities.append(identity_pairs(leads, pl.col("lead_id"), pl.col("email")))
    if "Contact" in objects:
        contact = objects["Contact"]
        c = contact.frame
        require(c, ["Id"], contact.name, "a Salesforce Contact export")
        identities.append(identity_pairs(c, column(c, "Id"), lower_email(column(c, "Email"))))
    opp_conversions: pl.DataFrame | None = None
    if "Opportunity" in objects:
        opp_conversions, opp_identities = _opportunities(
            objects["Opportunity"], objects.get("OpportunityContactRole"), leads
        )
        conversions.append(opp_conversions)
        identities.append(opp_identities)
    accounts = _account_links(objects, opp_conversions)
    if "CampaignMember" in objects:
        member_touches, member_ids = _campaign_touches(
            objects["CampaignMember"], objects.get("Campaign"), options
        )
        touches.append(member_touches)
        identities.append(member_ids)
    return {
        "touchpoints": finish("touchpoints", concat(touches)) if touches else empty("touchpoints"),
        "conversions": finish("conversions", concat(conversions))
        if conversions
        else empty("conversions"),
        "identities": finish(
            "identities",
            concat(identities).unique(
                subset=["anonymous_id", "user_id"], keep="first", maintain_order=True
            ),
        )
        if identities
        else empty("identities"),
        "accounts": finish("accounts", accounts),
    }


def load(paths: Sequence[str | Path] | str | Path, options: Options | None = None) -> Frames:
    r"""Read Salesforce exports (a folder, files, or ``Object=file`` pairs) into canonical frames.

    Parameters
    ----------
    paths
        A folder of object exports, the files, or ``Lead=leads.csv``-style pairs.
    options
        As :func:`from_objects`.

    Returns
    -------
    dict[str, polars.DataFrame]
        ``touchpoints``, ``conversions``, ``identities``, with ``_file`` / ``_row``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "Lead.csv").write_text(
    ...     "Id,Email,Status,CreatedDate,IsConverted\n00Q9,b@y.com,MQL,2024-01-02,false\n")
    >>> load([folder])["conversions"].select("conversion_id", "stage").rows()
    [('00Q9:lead', 'lead'), ('00Q9:mql', 'mql')]
    """
    return from_objects(_read_objects(paths), options)
