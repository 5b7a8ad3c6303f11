r"""Map the stage names CRM exports carry onto closedloop's funnel stages.

closedloop's funnel counts ``conversions.stage`` values by name
(:data:`CANONICAL_STAGES`, see ``docs/funnel.md``): a CRM export that says
``Closed Won`` or ``marketingqualifiedlead`` counts for nothing until it says
``closed_won`` or ``mql``. A :class:`StageMap` renames them while ingesting:

1. the built-in names of Salesforce and HubSpot, kept as data in
   ``ingest/stages.toml`` (:data:`BUILTIN_STAGES`; ``closedloop stages``
   prints them) and shared with the ``salesforce`` and ``hubspot`` adapters;
2. your own, which win: ``--stage-map "Closed Won=closed_won"``
   (:func:`parse_stage_map_args`) or the ``[stages]`` table of a mapping file
   (:func:`ingest.mapping.load_stage_map`).

A value is matched case-insensitively after trimming spaces; the canonical
names match themselves (``Closed_Won`` is ``closed_won``). A value no entry
names is kept as it is written: a custom stage can be legitimate (a funnel
of your own, ``closedloop funnel --stages``). :meth:`StageMap.apply` counts
the rows of every stage that is neither canonical nor the target of a map, so
the ingest can say so once per stage (:func:`stage_notes`).
"""

from __future__ import annotations

import difflib
import shlex
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from attribution.errors import InputError

__all__ = [
    "BUILTIN_PATH",
    "BUILTIN_STAGES",
    "CANONICAL_STAGES",
    "FUNNEL_STAGES",
    "StageMap",
    "StageName",
    "builtin_stages",
    "parse_stage_map_args",
    "stage_notes",
]

FUNNEL_STAGES = ("lead", "mql", "sql", "opportunity", "closed_won")
"""The default (B2B) funnel, entry first: ``attribution.funnel.B2B_STAGES.order``."""

CANONICAL_STAGES = (*FUNNEL_STAGES, "closed_lost", "purchase")
"""Every stage name the funnel and the stage-aware models know: the B2B funnel, its losing
end (``closed_lost``) and e-commerce's ``purchase`` (``lead → purchase``)."""

BUILTIN_PATH = Path(__file__).with_name("stages.toml")
"""The built-in stage names of Salesforce and HubSpot exports."""

MAX_NOTES = 20
"""Unknown stages named one per line by :func:`stage_notes`; the others are counted."""


@dataclass(frozen=True)
class StageName:
    """One built-in stage name of a CRM and the closedloop stage it means.

    Attributes
    ----------
    source
        The CRM (``salesforce``, ``hubspot``).
    field
        Where the name is found (``Lead Status``, ``lifecyclestage`` ...).
    value
        The name as the CRM stores it.
    stage
        The closedloop stage it maps to.
    label
        The name as the CRM's screens and UI exports show it, when it differs.
    probability
        For a deal stage, its win probability (HubSpot's default pipeline).
    """

    source: str
    field: str
    value: str
    stage: str
    label: str | None = None
    probability: float | None = None

    def names(self) -> tuple[str, ...]:
        """Return the names that match this entry: the value and its label."""
        return (self.value,) if self.label is None else (self.value, self.label)


def _read_builtin(path: Path) -> tuple[StageName, ...]:
    """Read ``stages.toml``: ``[source."field"]`` tables of ``value = stage`` or inline tables."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    found: list[StageName] = []
    for source, fields in data.items():
        for field_name, entries in fields.items():
            for value, entry in entries.items():
                if isinstance(entry, str):
                    found.append(StageName(source, field_name, value, entry))
                    continue
                probability = entry.get("probability")
                found.append(
                    StageName(
                        source,
                        field_name,
                        value,
                        str(entry["stage"]),
                        entry.get("label"),
                        None if probability is None else float(probability),
                    )
                )
    return tuple(found)


BUILTIN_STAGES: tuple[StageName, ...] = _read_builtin(BUILTIN_PATH)
"""Every entry of ``ingest/stages.toml``, in file order."""


def builtin_stages(source: str | None = None, field: str | None = None) -> list[StageName]:
    """Return the built-in stage names, of one CRM and one field if asked.

    Examples
    --------
    >>> [(s.value, s.stage) for s in builtin_stages("salesforce", "Opportunity Stage")][-2:]
    [('Closed Won', 'closed_won'), ('Closed Lost', 'closed_lost')]
    >>> sorted({s.source for s in builtin_stages()})
    ['hubspot', 'salesforce']
    """
    return [
        s
        for s in BUILTIN_STAGES
        if (source is None or s.source == source) and (field is None or s.field == field)
    ]


def _fold(name: str) -> str:
    return name.strip().lower()


def _target(stage: str) -> str:
    """Spell a stage to map to canonically when it is one (``Closed_Won`` -> closed_won)."""
    stripped = stage.strip()
    return stripped.lower() if stripped.lower() in CANONICAL_STAGES else stripped


def parse_stage_map_args(args: Sequence[str], option: str = "--stage-map") -> dict[str, str]:
    """Parse ``--stage-map "Your stage=closedloop_stage"`` options into a mapping.

    Parameters
    ----------
    args
        Strings of the form ``your stage=stage``; the last ``=`` separates
        them (your stage may contain one), spaces around either side go.
    option
        How errors name the option.

    Returns
    -------
    dict[str, str]
        Your stage -> the closedloop stage (a canonical name is lower-cased).

    Raises
    ------
    InputError
        When an option has no ``=`` or an empty side, or maps one stage
        (compared case-insensitively) twice to different stages.

    Examples
    --------
    >>> parse_stage_map_args(["Closed Won=closed_won", " Demo = Opportunity "])
    {'Closed Won': 'closed_won', 'Demo': 'opportunity'}
    >>> parse_stage_map_args(["Closed Won"])
    Traceback (most recent call last):
    ...
    attribution.errors.InputError: Bad --stage-map 'Closed Won': expected <your stage>=<stage>,
    e.g. --stage-map "Closed Won=closed_won" (closedloop stages lists the stages).
    """
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for arg in args:
        theirs, sep, stage = arg.rpartition("=")
        theirs, stage = theirs.strip(), stage.strip()
        if not sep or not theirs or not stage:
            raise InputError(
                f"Bad {option} '{arg}': expected <your stage>=<stage>, e.g. "
                f'{option} "Closed Won=closed_won" (closedloop stages lists the stages).'
            )
        stage = _target(stage)
        earlier = seen.get(_fold(theirs))
        if earlier is not None and mapping[earlier] != stage:
            raise InputError(
                f"{option} maps '{theirs}' twice: to '{mapping[earlier]}' and to '{stage}'. "
                "Keep one."
            )
        seen[_fold(theirs)] = theirs
        mapping[theirs] = stage
    return mapping


class StageMap:
    """The stage names an ingest renames: the built-in ones, then yours (which win).

    Parameters
    ----------
    mapping
        Your stage -> closedloop stage (:func:`parse_stage_map_args`).
    builtin
        Whether the built-in names of ``ingest/stages.toml`` apply.

    Examples
    --------
    >>> stages = StageMap({"Demo Booked": "opportunity"})
    >>> stages.stage_of(" closed won "), stages.stage_of("DEMO BOOKED"), stages.stage_of("Lead")
    ('closed_won', 'opportunity', 'lead')
    >>> stages.stage_of("Webinar") is None
    True
    """

    def __init__(self, mapping: Mapping[str, str] | None = None, *, builtin: bool = True) -> None:
        lookup: dict[str, str] = {_fold(s): s for s in CANONICAL_STAGES}
        targets = set(CANONICAL_STAGES)
        for entry in BUILTIN_STAGES if builtin else ():
            targets.add(entry.stage)
            lookup.update({_fold(name): entry.stage for name in entry.names()})
        for theirs, stage in (mapping or {}).items():
            targets.add(_target(stage))
            lookup[_fold(theirs)] = _target(stage)
        self.lookup = lookup
        """Folded name (trimmed, lower-case) -> the stage it means."""
        self.known = frozenset(targets)
        """Stages no note is given for: canonical ones and every target of a map."""

    def stage_of(self, name: str) -> str | None:
        """Return the stage ``name`` means, or ``None`` when no entry names it."""
        return self.lookup.get(_fold(name))

    def apply(
        self, frame: pl.DataFrame, column: str = "stage"
    ) -> tuple[pl.DataFrame, dict[str, int]]:
        """Rename the stages of ``frame`` and count the rows of each unknown one.

        Works on the distinct values (one ``value_counts``), then renames
        with one vectorised replace, only when some value needs it.

        Parameters
        ----------
        frame
            Rows with a ``column`` of stage names (other columns untouched).
        column
            The stage column.

        Returns
        -------
        tuple[polars.DataFrame, dict[str, int]]
            The frame with its stages renamed (a value no entry names is kept
            as written), and the row count of every stage, trimmed, that is
            not in :attr:`known` (blank values aside).

        Examples
        --------
        >>> rows = pl.DataFrame({"stage": ["Closed Won", "Webinar", "lead", "webinar ", None]})
        >>> renamed, unknown = StageMap().apply(rows)
        >>> renamed["stage"].to_list(), unknown
        (['closed_won', 'Webinar', 'lead', 'webinar ', None], {'Webinar': 1, 'webinar': 1})
        """
        if column not in frame.columns:
            return frame, {}
        values = frame.get_column(column)
        if values.dtype != pl.String:
            values = values.cast(pl.String, strict=False)
            frame = frame.with_columns(values)
        counts = values.value_counts(name="__n").filter(pl.col(column).is_not_null())
        raw = pl.col(column)
        counts = counts.with_columns(
            raw.str.strip_chars()
            .str.to_lowercase()
            .replace_strict(self.lookup, default=None, return_dtype=pl.String)
            .alias("__to")
        )
        renamed = counts.filter(pl.col("__to").is_not_null() & (pl.col("__to") != raw))
        if renamed.height:
            frame = frame.with_columns(raw.replace(renamed[column], renamed["__to"]))
        final = pl.coalesce("__to", raw.str.strip_chars())
        unknown = (
            counts.filter((final != "") & ~final.is_in(list(self.known)))
            .group_by(final.alias("__stage"))
            .agg(pl.col("__n").sum())
            .sort("__stage")
        )
        return frame, {str(s): int(n) for s, n in unknown.iter_rows()}


def _shown(name: str) -> str:
    """Show a stage in a note: control characters escaped, at most 60 characters."""
    text = "".join(
        c if unicodedata.category(c)[0] != "C" else f"\\u{ord(c):04x}" for c in name[:60]
    )
    return text + ("…" if len(name) > 60 else "")


def _option(name: str, stage: str) -> str:
    """``--stage-map "name=stage"``, quoted so a shell keeps it one argument."""
    pair = f"{name}={stage}"
    if any(c in pair for c in '"\\$`!'):
        return f"--stage-map {shlex.quote(pair)}"
    return f'--stage-map "{pair}"'


def stage_notes(
    unknown: Mapping[str, int], stages: StageMap | None = None, limit: int = MAX_NOTES
) -> list[str]:
    """Say, one line per stage, which stages nothing knows, how many rows hold each, and the fix.

    Parameters
    ----------
    unknown
        Row count per unknown stage (:meth:`StageMap.apply`, summed over batches).
    stages
        The map used: a close name it knows suggests the stage to map to.
    limit
        Stages named (most rows first); the others are counted on one more line.

    Returns
    -------
    list[str]
        The lines, without a prefix.

    Examples
    --------
    >>> for line in stage_notes({"Closed-Won": 3, "Webinar": 1}, StageMap()):
    ...     print(line)
    stage 'Closed-Won' (3 rows) is not a closedloop stage: the funnel and the stage-aware models
    do not count it; map it with --stage-map "Closed-Won=closed_won" (closedloop stages lists the
    stages)
    stage 'Webinar' (1 row) is not a closedloop stage: the funnel and the stage-aware models do
    not count it; map it with --stage-map "Webinar=<stage>" (closedloop stages lists the stages)
    """
    stages = stages or StageMap()
    ordered = sorted(unknown.items(), key=lambda item: (-item[1], item[0]))
    lines = []
    for name, rows in ordered[: max(limit, 0)]:
        close = difflib.get_close_matches(_fold(name), list(stages.lookup), n=1, cutoff=0.8)
        stage = stages.lookup[close[0]] if close else "<stage>"
        lines.append(
            f"stage '{_shown(name)}' ({rows:,} row{'' if rows == 1 else 's'}) is not a "
            "closedloop stage: the funnel and the stage-aware models do not count it; map it "
            f"with {_option(_shown(name), stage)} (closedloop stages lists the stages)"
        )
    rest = ordered[max(limit, 0) :]
    if rest:
        rows = sum(n for _, n in rest)
        lines.append(
            f"... and {len(rest):,} more stages that are not closedloop stages ({rows:,} rows)"
        )
    return lines
