"""HubSpot exports (contacts, deals, deal pipeline stages) -> conversions, identities.

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
deal id); identity: deal id <-> that contact.

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

__all__ = ["DEFAULT_PIPELINE_STAGES", "LIFECYCLE_STAGES", "from_exports", "load"]


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


def _contacts(source: Source, stages: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
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
        *[column(frame, name).alias(f"stage:{stage}") for name, stage in dates.items()],
    )
    if not dates:
        return empty("conversions"), base
    long = (
        base.unpivot(
            index=["_file", "_row", "contact_id", "owner", "lead_source"],
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
    return long, base


def _deals(
    source: Source, stage_tables: list[pl.DataFrame]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
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
        contacts.str.replace_all(r"[;,\s]+", ";")
        .str.strip_chars(";")
        .str.split(";")
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias("contacts"),
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
    return concat([created, closed]), identities, associated


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
    deal_contacts = pl.DataFrame(schema={"contact_id": pl.String})
    for source in by_kind["deals"]:
        deal_conversions, deal_ids, associated = _deals(source, stage_tables)
        conversions.append(deal_conversions)
        identities.append(deal_ids)
        deal_contacts = concat([deal_contacts, associated])
    for source in by_kind["contacts"]:
        contact_conversions, base = _contacts(source, stages)
        if by_kind["deals"] and contact_conversions.height:
            in_deal = pl.col("contact_id").is_in(deal_contacts["contact_id"].implode())
            contact_conversions = contact_conversions.filter(
                ~(in_deal & pl.col("stage").is_in(["closed_won", "opportunity"]))
            )
        conversions.insert(0, contact_conversions)
        identities.insert(0, identity_pairs(base, pl.col("contact_id"), pl.col("email")))
    if not conversions:
        raise InputError("A HubSpot ingest needs a contacts or a deals export.")
    return {
        "touchpoints": empty("touchpoints"),
        "conversions": finish("conversions", concat(conversions)),
        "identities": finish("identities", concat(identities))
        if identities
        else empty("identities"),
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
