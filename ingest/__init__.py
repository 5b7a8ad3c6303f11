"""Turn what users have into the canonical tables, and keep them in the store.

Read files (:func:`read_table`), map their columns (:func:`apply_mapping`),
validate and cast rows (:func:`validate`), and write them transactionally and
idempotently (:class:`Store`); :func:`ingest_files` and :func:`ingest_frame`
do all of it in one call.

Touchpoints without a channel get one from the GA4 default channel grouping,
kept as data (:func:`load_rules`, :func:`assign_channels`), after source,
medium and campaign are read from landing-page URLs (:func:`parse_landing_urls`).

Identity pairs are stitched into persons (:func:`stitch_identities`), whose
:meth:`StitchResult.apply` keys touchpoints and conversions by person id.

Cost exports are made to join: channel and campaign names renamed to the
touches' (:class:`CostMap`, :func:`load_cost_map`, a loose match), and weekly or
monthly rows spread over their days (:func:`spread_costs`); :func:`ingest_files`
takes them as ``cost_map``, ``cost_match`` and ``cost_grain``.
"""

from ingest.channels import ChannelRules, RuleMatch, assign_channels, load_rules
from ingest.cost_grain import spread_costs
from ingest.cost_names import CostMap, load_cost_map
from ingest.identity import (
    DEFAULT_MAX_COMPONENT_SIZE,
    StitchResult,
    id_type_of,
    stitch_identities,
)
from ingest.loader import IngestSummary, ingest_adapter, ingest_files, ingest_frame
from ingest.mapping import apply_mapping, load_mapping_file, parse_map_args
from ingest.readers import detect_format, read_table
from ingest.store import Store, UpsertCounts, default_db_path
from ingest.timestamps import parse_timestamps
from ingest.utm import parse_landing_urls
from ingest.validate import validate

__all__ = [
    "DEFAULT_MAX_COMPONENT_SIZE",
    "ChannelRules",
    "CostMap",
    "IngestSummary",
    "RuleMatch",
    "StitchResult",
    "Store",
    "UpsertCounts",
    "apply_mapping",
    "assign_channels",
    "default_db_path",
    "detect_format",
    "id_type_of",
    "ingest_adapter",
    "ingest_files",
    "ingest_frame",
    "load_cost_map",
    "load_mapping_file",
    "load_rules",
    "parse_landing_urls",
    "parse_map_args",
    "parse_timestamps",
    "read_table",
    "spread_costs",
    "stitch_identities",
    "validate",
]
