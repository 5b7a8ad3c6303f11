"""Map the column names users have onto the canonical ones.

A mapping is a ``dict`` from canonical name to the user's name,
``{"user_id": "cookie", "ts": "time"}``. It comes from ``--map`` options
(:func:`parse_map_args`), from a small TOML file (:func:`load_mapping_file`),
or both (merge the dicts; the later one wins). The same file may rename
stage values too, in a ``[stages]`` table (:func:`load_stage_map`; see
:mod:`ingest.stages`). :func:`apply_mapping` renames,
checks the required columns, drops the columns closedloop does not use and
adds the optional ones that are absent.

A canonical column the user did not map is also found when the file's name
for it differs only in case or surrounding spaces (``User_ID``).

Touchpoints without a ``channel`` (no column, or empty values) get one
derived with the channel rules (:mod:`ingest.channels`) from ``source``,
``medium`` and ``campaign``. When the file has a landing-page URL
(``landing_url``, ``page_url`` or ``page_location``) and optionally a
``referrer`` (``page_referrer``, ``referer``), :func:`ingest.utm.parse_landing_urls`
first fills source, medium and campaign from its UTM tags, click ids and
the referrer. Map other names with ``--map landing_url=<yours>`` and
``--map referrer=<yours>``; these two inputs are not stored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from attribution.errors import InputError, MissingColumnsError, UnknownTableError
from attribution.schema import TABLES
from ingest.channels import ChannelRules, assign_channels
from ingest.cost_names import cost_map_from_toml
from ingest.utm import parse_landing_urls
from ingest.validate import CURRENCY_TABLES, require_columns

__all__ = [
    "DERIVE_COLUMNS",
    "apply_mapping",
    "load_mapping_file",
    "load_stage_map",
    "parse_map_args",
    "source_columns",
]

DERIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "landing_url": ("landing_url", "page_url", "page_location"),
    "referrer": ("referrer", "page_referrer", "referer"),
}
"""Inputs touchpoints may carry to derive source, medium, campaign and channel, with the
file column names found without a mapping (in order)."""

_ALL_COLUMNS = frozenset(
    {"currency", *DERIVE_COLUMNS}.union(*(schema.names() for schema in TABLES.values()))
)


def parse_map_args(args: Sequence[str]) -> dict[str, str]:
    """Parse ``--map canonical=yours`` options into a mapping.

    Parameters
    ----------
    args
        Strings of the form ``canonical=yours``. Spaces around either name
        are removed; the user's name may itself contain ``=``.

    Returns
    -------
    dict[str, str]
        Canonical column name -> the user's column name.

    Raises
    ------
    InputError
        When an option has no ``=`` or an empty side, or maps one canonical
        column twice to different columns.

    Examples
    --------
    >>> parse_map_args(["user_id=cookie", "ts = time"])
    {'user_id': 'cookie', 'ts': 'time'}
    >>> parse_map_args(["user_id"])
    Traceback (most recent call last):
    ...
    attribution.errors.InputError: Bad --map 'user_id': expected <canonical column>=<your column>,
    e.g. --map ts=event_time.
    """
    mapping: dict[str, str] = {}
    for arg in args:
        canonical, sep, theirs = arg.partition("=")
        canonical, theirs = canonical.strip(), theirs.strip()
        if not sep or not canonical or not theirs:
            raise InputError(
                f"Bad --map '{arg}': expected <canonical column>=<your column>, "
                "e.g. --map ts=event_time."
            )
        if mapping.get(canonical, theirs) != theirs:
            raise InputError(
                f"--map {canonical} is given twice: '{mapping[canonical]}' and '{theirs}'. "
                "Keep one."
            )
        mapping[canonical] = theirs
    return mapping


def load_mapping_file(path: str | Path) -> dict[str, dict[str, str]]:
    r"""Read a TOML mapping file into one mapping per canonical table.

    The file has a ``[columns]`` section that applies to every table, and/or
    one section per table (``[touchpoints]``, ``[conversions]``, ``[costs]``,
    ``[identities]``) whose entries win over ``[columns]``, and optionally a
    ``[stages]`` table of stage values (:func:`load_stage_map` reads it), and
    ``[cost_map.channel]`` / ``[cost_map.campaign]`` tables of cost names
    (:func:`ingest.cost_names.load_cost_map` reads them)::

        [columns]
        user_id = "cookie"

        [touchpoints]
        ts = "event_time"

        [stages]
        "Closed Won" = "closed_won"

        [cost_map.channel]
        "paid search" = "Paid Search"

    Parameters
    ----------
    path
        The ``.toml`` file.

    Returns
    -------
    dict[str, dict[str, str]]
        For every canonical table, canonical column -> the user's column.
        Combine it with ``--map`` options as ``{**by_table[table], **args}``.

    Raises
    ------
    InputError
        When the file is missing or not valid TOML, has an unknown section,
        a value that is not a string, or a canonical name the table lacks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> toml = pathlib.Path(tempfile.mkdtemp()) / "map.toml"
    >>> _ = toml.write_text('[columns]\nuser_id = "cookie"\n[touchpoints]\nts = "time"\n')
    >>> load_mapping_file(toml)["touchpoints"]
    {'user_id': 'cookie', 'ts': 'time'}
    >>> load_mapping_file(toml)["costs"]
    {'user_id': 'cookie'}
    """
    path = Path(path)
    data = _read_toml(path)
    sections = ["columns", *TABLES, "stages", "cost_map"]
    for section, entries in data.items():
        if not isinstance(entries, dict):
            raise InputError(
                f"Mapping file '{path.name}': '{section}' is outside a section; "
                "put it under [columns] (every table) or under the table's own section."
            )
        if section not in sections:
            raise InputError(
                f"Mapping file '{path.name}' has an unknown section [{section}]. "
                f"Sections: {', '.join(f'[{s}]' for s in sections)}."
            )
        if section == "stages":
            _check_stage_entries(path, entries)
            continue
        if section == "cost_map":  # cost names, read by ingest.cost_names.load_cost_map
            cost_map_from_toml(entries, f"Mapping file '{path.name}', [cost_map]")
            continue
        allowed = _ALL_COLUMNS if section == "columns" else _columns_of(section)
        for canonical, theirs in entries.items():
            if not isinstance(theirs, str):
                raise InputError(
                    f"Mapping file '{path.name}', [{section}] {canonical}: expected a column "
                    f'name in quotes, e.g. {canonical} = "my_column"; got {theirs!r}.'
                )
            if canonical not in allowed:
                raise InputError(
                    f"Mapping file '{path.name}', [{section}]: unknown canonical column "
                    f"'{canonical}'. Columns: {', '.join(sorted(allowed))}."
                )

    def entries_of(name: str) -> dict[str, str]:
        entries = data.get(name, {})
        return {str(k): str(v) for k, v in entries.items()} if isinstance(entries, dict) else {}

    shared = entries_of("columns")
    return {table: {**shared, **entries_of(table)} for table in TABLES}


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"Cannot read mapping file '{path.name}': {exc.strerror}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"Mapping file '{path.name}' is not valid TOML: {exc}.") from None


def _check_stage_entries(path: Path, entries: Mapping[str, object]) -> None:
    for theirs, stage in entries.items():
        if not isinstance(stage, str) or not stage.strip() or not theirs.strip():
            raise InputError(
                f"Mapping file '{path.name}', [stages] {theirs!r}: expected your stage = the "
                f'closedloop stage in quotes, e.g. "Closed Won" = "closed_won"; got {stage!r}.'
            )


def load_stage_map(path: str | Path) -> dict[str, str]:
    r"""Read the ``[stages]`` table of a mapping file: your stage value -> closedloop stage.

    Combine it with ``--stage-map`` options as ``{**from_file, **args}`` (see
    :class:`ingest.stages.StageMap`).

    Parameters
    ----------
    path
        The ``.toml`` mapping file (its column sections are not read here).

    Returns
    -------
    dict[str, str]
        The entries, trimmed; empty when the file has no ``[stages]`` table.

    Raises
    ------
    InputError
        When the file cannot be read, is not TOML, or an entry is not a
        non-empty string.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> toml = pathlib.Path(tempfile.mkdtemp()) / "map.toml"
    >>> _ = toml.write_text('[conversions]\nstage = "StageName"\n[stages]\n"Won" = "closed_won"\n')
    >>> load_stage_map(toml)
    {'Won': 'closed_won'}
    """
    path = Path(path)
    entries = _read_toml(path).get("stages", {})
    if not isinstance(entries, dict):
        raise InputError(
            f"Mapping file '{path.name}': 'stages' must be a table: [stages] then lines like "
            '"Closed Won" = "closed_won".'
        )
    _check_stage_entries(path, entries)
    return {str(k).strip(): str(v).strip() for k, v in entries.items()}


def _columns_of(table: str) -> frozenset[str]:
    extra = {"currency"} if table in CURRENCY_TABLES else set()
    if table == "touchpoints":
        extra |= set(DERIVE_COLUMNS)
    return frozenset(TABLES[table].names()) | extra


def _derive_sources(
    frame: pl.DataFrame, mapping: Mapping[str, str], by_folded: Mapping[str, str]
) -> dict[str, str]:
    """Find the landing-URL and referrer columns of a touchpoints file."""
    found: dict[str, str] = {}
    for canonical, names in DERIVE_COLUMNS.items():
        theirs = mapping.get(canonical)
        if theirs is not None:
            if theirs not in frame.columns:
                raise MissingColumnsError(
                    f"The file has no column '{theirs}' (mapped to '{canonical}' by "
                    f"--map {canonical}={theirs}). Found: "
                    f"{', '.join(repr(c) for c in frame.columns) or '(none)'}."
                )
            found[canonical] = theirs
            continue
        for name in names:
            column = name if name in frame.columns else by_folded.get(name)
            if column is not None:
                found[canonical] = column
                break
    return found


def _with_channels(
    out: pl.DataFrame, derive: Mapping[str, str], rules: ChannelRules | None
) -> pl.DataFrame:
    """Fill source / medium / campaign from the landing URL, then missing channels.

    ``out`` holds the touchpoint columns plus ``__landing_url`` / ``__referrer``
    for the inputs in ``derive``.
    """
    if "landing_url" in derive:
        out = parse_landing_urls(out, "__landing_url", referrer_column="__referrer", rules=rules)
    return assign_channels(out.select(TABLES["touchpoints"].names()), rules)


def source_columns(
    columns: Sequence[str], table: str, mapping: Mapping[str, str] | None, file: str | Path
) -> dict[str, str]:
    """Return, per canonical column of ``table`` (and ``currency``), the file's column feeding it.

    A mapped column first; else the canonical name itself; else a name that
    differs from it only in case or surrounding spaces. Canonical columns the
    file lacks are absent from the result.

    Parameters
    ----------
    columns
        The file's column names.
    table
        A canonical table.
    mapping
        Canonical name -> the user's name.
    file
        The file (its base name is used in messages).

    Raises
    ------
    MissingColumnsError
        When a mapped column is not in the file.

    Examples
    --------
    >>> source_columns(["Email", " TS ", "id"], "identities", {"anonymous_id": "id"}, "f.csv")
    {'anonymous_id': 'id'}
    >>> source_columns(["CloseDate", "User_ID"], "conversions", {"ts": "CloseDate"}, "f.csv")
    {'user_id': 'User_ID', 'ts': 'CloseDate'}
    """
    mapping = mapping or {}
    name = Path(file).name
    wanted = [*TABLES[table].names(), *(["currency"] if table in CURRENCY_TABLES else [])]
    sources: dict[str, str] = {}
    by_folded = {c.strip().lower(): c for c in columns}
    for canonical in wanted:
        theirs = mapping.get(canonical)
        if theirs is not None:
            if theirs not in columns:
                raise MissingColumnsError(
                    f"{name} has no column '{theirs}' (mapped to '{canonical}' by "
                    f"--map {canonical}={theirs}). Found: "
                    f"{', '.join(repr(c) for c in columns) or '(none)'}."
                )
            sources[canonical] = theirs
        elif canonical in columns:
            sources[canonical] = canonical
        elif canonical in by_folded:
            sources[canonical] = by_folded[canonical]
    return sources


def apply_mapping(
    frame: pl.DataFrame,
    table: str,
    mapping: Mapping[str, str] | None,
    file: str | Path,
    *,
    channel_rules: ChannelRules | None = None,
) -> pl.DataFrame:
    """Rename the user's columns to canonical ones and keep only those.

    Parameters
    ----------
    frame
        Rows as read from the user's file.
    table
        The canonical table the rows are for.
    mapping
        Canonical name -> the user's name. Entries for columns of other
        tables are ignored, so one ``[columns]`` mapping can serve all of
        them. The same user column may feed two canonical ones.
    file
        The file the rows came from (its base name is used in messages).
    channel_rules
        The rules that derive a missing touchpoint ``channel`` (see the
        module docstring); ``None`` for GA4's default channel grouping.

    Returns
    -------
    polars.DataFrame
        Every column of the canonical table, in canonical order, with the
        user's values unchanged (validation casts them); absent optional
        columns are null (``revenue`` of conversions is 0.0). Conversions and
        costs keep a ``currency`` column when the file has one. Other columns
        are dropped. A touchpoint's missing channel is derived when the file
        has ``source``, ``medium``, ``campaign`` or a landing-page URL.

    Raises
    ------
    UnknownTableError
        When ``table`` is not a canonical table.
    MissingColumnsError
        When a mapped column is not in the file, or a required column is
        missing after mapping.
    InputError
        When the mapping names a canonical column no table has.

    Examples
    --------
    >>> raw = pl.DataFrame({"cookie": ["a"], "time": ["2024-03-01"], "channel": ["Email"],
    ...                     "touch": ["t1"], "browser": ["firefox"]})
    >>> apply_mapping(raw, "touchpoints", {"user_id": "cookie", "ts": "time",
    ...                                    "touchpoint_id": "touch"}, "events.csv")
    shape: (1, 8)
    ┌───────────────┬─────────┬────────────┬─────────┬──────────┬────────┬────────┬─────────────┐
    │ touchpoint_id ┆ user_id ┆ ts         ┆ channel ┆ campaign ┆ source ┆ medium ┆ interaction │
    │ ---           ┆ ---     ┆ ---        ┆ ---     ┆ ---      ┆ ---    ┆ ---    ┆ ---         │
    │ str           ┆ str     ┆ str        ┆ str     ┆ str      ┆ str    ┆ str    ┆ str         │
    ╞═══════════════╪═════════╪════════════╪═════════╪══════════╪════════╪════════╪═════════════╡
    │ t1            ┆ a       ┆ 2024-03-01 ┆ Email   ┆ null     ┆ null   ┆ null   ┆ null        │
    └───────────────┴─────────┴────────────┴─────────┴──────────┴────────┴────────┴─────────────┘
    >>> apply_mapping(raw, "touchpoints", {"user_id": "cookie"}, "events.csv")
    Traceback (most recent call last):
    ...
    attribution.errors.MissingColumnsError: events.csv is missing required column(s):
    'touchpoint_id', 'ts'. Found: 'cookie', 'time', 'channel', 'touch', 'browser'.
    Map yours with --map touchpoint_id=<your column> --map ts=<your column>.
    """
    if table not in TABLES:
        raise UnknownTableError(table, TABLES)
    name = Path(file).name
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - _ALL_COLUMNS)
    if unknown:
        raise InputError(
            f"Unknown canonical column(s) in the mapping: {', '.join(repr(u) for u in unknown)}. "
            f"Columns of {table}: {', '.join(sorted(_columns_of(table)))}."
        )
    wanted = [*TABLES[table].names(), *(["currency"] if table in CURRENCY_TABLES else [])]
    sources = source_columns(frame.columns, table, mapping, name)
    by_folded = {c.strip().lower(): c for c in frame.columns}
    derive: dict[str, str] = {}
    derivable = False
    if table == "touchpoints":
        derive = _derive_sources(frame, mapping, by_folded)
        derivable = bool(derive) or any(c in sources for c in ("source", "medium", "campaign"))
    available = [*sources, *(["channel"] if derivable else [])]
    require_columns(available, table, name, found=frame.columns)
    columns = []
    for canonical in wanted:
        if canonical in sources:
            columns.append(pl.col(sources[canonical]).alias(canonical))
        elif canonical != "currency":
            columns.append(pl.lit(None, dtype=pl.String).alias(canonical))
    out = frame.select(columns)
    if derivable:
        inputs = [pl.col(theirs).alias(f"__{canonical}") for canonical, theirs in derive.items()]
        out = _with_channels(frame.select(*columns, *inputs), derive, channel_rules)
    if table == "conversions" and "revenue" not in sources:
        out = out.with_columns(pl.lit(0.0).alias("revenue"))
    return out
