"""``closedloop stages``: the funnel stages, and the CRM stage names ingest maps onto them.

::

    closedloop stages
    closedloop stages --format json

The funnel counts ``conversions.stage`` values by name. ``closedloop ingest
conversions`` renames the built-in Salesforce and HubSpot names listed here
(case-insensitively, after trimming; kept in ``ingest/stages.toml``), then
yours: ``--stage-map "Closed Won=closed_won"``, which win.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from api.cli._shared import add_format_option, write_output

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop stages``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["stages", "--format", "json"]).format
    'json'
    """
    parser = subparsers.add_parser(
        "stages",
        help="list the funnel stages and the CRM stage names ingest maps onto them",
        description="List closedloop's funnel stages and the built-in Salesforce and HubSpot "
        "stage names `closedloop ingest conversions` maps onto them (case-insensitively). "
        'Add your own with --stage-map "Your stage=closed_won". See docs/funnel.md.',
    )
    add_format_option(parser, ("table", "json"))
    parser.set_defaults(handler=run, parser=parser)
    return parser


def _data() -> dict[str, Any]:
    """Return the stages and the built-in names, as JSON-ready data."""
    from attribution.funnel.stages import B2B_STAGES, ECOMMERCE_STAGES
    from ingest.stages import BUILTIN_STAGES, CANONICAL_STAGES

    return {
        "stages": list(CANONICAL_STAGES),
        "funnels": {
            "b2b": {"order": list(B2B_STAGES.order), "lost": list(B2B_STAGES.lost)},
            "ecommerce": {"order": list(ECOMMERCE_STAGES.order), "lost": []},
        },
        "mappings": [
            {
                "source": s.source,
                "field": s.field,
                "value": s.value,
                "label": s.label,
                "stage": s.stage,
            }
            for s in BUILTIN_STAGES
        ],
    }


def _table() -> str:
    """Return the stages, then the built-in names in a table."""
    import polars as pl

    from attribution.export import text_table
    from attribution.funnel.stages import B2B_STAGES, ECOMMERCE_STAGES
    from ingest.stages import BUILTIN_STAGES

    rows = pl.DataFrame(
        {
            "source": [s.source for s in BUILTIN_STAGES],
            "field": [s.field for s in BUILTIN_STAGES],
            "name": [
                s.value if s.label is None else f"{s.value} ({s.label})" for s in BUILTIN_STAGES
            ],
            "stage": [s.stage for s in BUILTIN_STAGES],
        }
    )
    return "\n".join(
        [
            "stages (conversions.stage):",
            f"  funnel (default)  {B2B_STAGES}",
            f"  e-commerce        {ECOMMERCE_STAGES}",
            "",
            'built-in names ingest maps (case-insensitive; --stage-map "Yours=stage" wins):',
            text_table(rows, raw=True, text_width=80),
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Print the funnel stages and the built-in stage names.

    Examples
    --------
    >>> from api.cli import build_parser
    >>> run(build_parser().parse_args(["stages"]))  # doctest: +ELLIPSIS
    stages (conversions.stage):
      funnel (default)  lead → mql → sql → opportunity → closed_won (lost: closed_lost)
      e-commerce        lead → purchase
    ...
    │ salesforce ┆ Opportunity Stage ┆ Closed Won ...┆ closed_won  │
    ...
    0
    """
    write_output(args.format, table=_table, data=_data)
    return 0


__all__ = ["register", "run"]
