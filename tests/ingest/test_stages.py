"""Stage names: the built-in Salesforce and HubSpot names, your own, and the unknown ones."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution.errors import InputError
from attribution.funnel.stages import B2B_STAGES, ECOMMERCE_STAGES
from ingest.adapters import hubspot, salesforce
from ingest.stages import (
    BUILTIN_PATH,
    BUILTIN_STAGES,
    CANONICAL_STAGES,
    FUNNEL_STAGES,
    StageMap,
    builtin_stages,
    parse_stage_map_args,
    stage_notes,
)

ROOT = Path(__file__).resolve().parents[2]


def test_canonical_stages_are_the_funnels() -> None:
    assert B2B_STAGES.order == FUNNEL_STAGES
    expected = dict.fromkeys([*B2B_STAGES.order, *B2B_STAGES.lost, *ECOMMERCE_STAGES.order])
    assert tuple(expected) == CANONICAL_STAGES


def test_the_built_in_names_cover_the_crms_defaults() -> None:
    names = {(s.source, s.value) for s in BUILTIN_STAGES}
    salesforce_defaults = [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
        "Open - Not Contacted",
        "Working - Contacted",
        "Closed - Converted",
        "Closed - Not Converted",
    ]
    hubspot_defaults = [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    assert {("salesforce", v) for v in salesforce_defaults} <= names
    assert {("hubspot", v) for v in hubspot_defaults} <= names


def test_built_in_names_never_disagree_and_map_to_known_stages() -> None:
    seen: dict[str, str] = {}
    for entry in BUILTIN_STAGES:
        assert entry.stage in (*CANONICAL_STAGES, "subscriber", "other"), entry
        for name in entry.names():
            assert seen.setdefault(name.strip().lower(), entry.stage) == entry.stage, entry


def test_a_disqualified_lead_is_not_a_lost_deal() -> None:
    # closed_lost implies every stage but the won one was reached: not for a lead.
    stages = StageMap()
    assert stages.stage_of("Closed - Not Converted") == "lead"
    assert stages.stage_of("Closed - Converted") == "sql"


def test_the_file_is_package_data() -> None:
    assert BUILTIN_PATH.name == "stages.toml"
    assert BUILTIN_PATH.parent == ROOT / "ingest"
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "*.toml" in package_data["package-data"]["ingest"]


# The adapters read the same data (one source of truth)


def test_salesforce_status_stages_come_from_the_file() -> None:
    assert {
        s.value: s.stage for s in builtin_stages("salesforce", "Lead Status")
    } == salesforce.DEFAULT_STATUS_STAGES
    assert {
        "MQL": "mql",
        "Marketing Qualified": "mql",
        "SQL": "sql",
        "Sales Qualified": "sql",
    }.items() <= (salesforce.DEFAULT_STATUS_STAGES.items())


def test_hubspot_lifecycle_stages_come_from_the_file() -> None:
    # The first lifecycle stage of each funnel stage: evangelist does not date closed_won.
    assert hubspot.LIFECYCLE_STAGES == {
        "lead": "lead",
        "marketingqualifiedlead": "mql",
        "salesqualifiedlead": "sql",
        "opportunity": "opportunity",
        "customer": "closed_won",
    }


def test_hubspot_default_pipeline_comes_from_the_file() -> None:
    expected = pl.DataFrame(
        {
            "pipeline": ["default"] * 7,
            "stage": [
                "appointmentscheduled",
                "qualifiedtobuy",
                "presentationscheduled",
                "decisionmakerboughtin",
                "contractsent",
                "closedwon",
                "closedlost",
            ],
            "probability": [0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 0.0],
            "closed": [False, False, False, False, False, True, True],
        }
    )
    assert_frame_equal(hubspot.DEFAULT_PIPELINE_STAGES, expected)


# --stage-map


def test_parse_stage_map_args() -> None:
    parsed = parse_stage_map_args(["Closed Won=closed_won", "a=b=Opportunity", "won = CLOSED_WON"])
    assert parsed == {"Closed Won": "closed_won", "a=b": "opportunity", "won": "closed_won"}
    assert parse_stage_map_args(["Won=won", "WON = won"]) == {"Won": "won", "WON": "won"}


@pytest.mark.parametrize("arg", ["Closed Won", "=closed_won", "Closed Won=", " = "])
def test_parse_stage_map_args_refuses_half_pairs(arg: str) -> None:
    with pytest.raises(InputError, match=f"Bad --stage-map '{arg}'"):
        parse_stage_map_args([arg])


def test_parse_stage_map_args_refuses_one_stage_mapped_twice() -> None:
    with pytest.raises(InputError) as caught:
        parse_stage_map_args(["Won=closed_won", "won=purchase"])
    assert str(caught.value) == (
        "--stage-map maps 'won' twice: to 'closed_won' and to 'purchase'. Keep one."
    )


# Applying a map


def test_apply_renames_only_what_needs_it_and_counts_unknown_stages() -> None:
    rows = pl.DataFrame({"stage": ["Lead", "lead", " Demo ", "Demo", "", None], "x": range(6)})
    renamed, unknown = StageMap().apply(rows)
    assert renamed["stage"].to_list() == ["lead", "lead", " Demo ", "Demo", "", None]
    assert renamed["x"].to_list() == list(range(6))
    assert unknown == {"Demo": 2}


def test_your_targets_are_known() -> None:
    rows = pl.DataFrame({"stage": ["Demo", "webinar"]})
    renamed, unknown = StageMap({"demo": "demo_booked", "Webinar": "webinar"}).apply(rows)
    assert (renamed["stage"].to_list(), unknown) == (["demo_booked", "webinar"], {})


def test_apply_casts_a_stage_column_that_is_not_text() -> None:
    renamed, unknown = StageMap().apply(pl.DataFrame({"stage": [1, 2]}))
    assert (renamed["stage"].to_list(), unknown) == (["1", "2"], {"1": 1, "2": 1})


def test_without_built_in_names() -> None:
    stages = StageMap(builtin=False)
    assert stages.stage_of("Closed Won") is None
    assert stages.stage_of("CLOSED_WON") == "closed_won"


def test_notes_are_one_line_per_stage_most_rows_first_then_the_rest_counted() -> None:
    unknown = {f"s{i:02d}": i + 1 for i in range(25)}
    lines = stage_notes(unknown, limit=3)
    assert [line.split(" (")[0] for line in lines[:3]] == [
        "stage 's24'",
        "stage 's23'",
        "stage 's22'",
    ]
    assert lines[3] == "... and 22 more stages that are not closedloop stages (253 rows)"


def test_notes_quote_for_a_shell_and_escape_control_characters() -> None:
    (line,) = stage_notes({'say "hi"\x1b': 1})
    assert "stage 'say \"hi\"\\u001b' (1 row)" in line
    assert "--stage-map 'say \"hi\"\\u001b=<stage>'" in line
