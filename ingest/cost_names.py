"""Make the channel and campaign names of cost rows the ones the touchpoints use.

Spend joins attributed revenue on the name alone: a cost export that writes
``paid search`` or ``BRAND_SEARCH`` where the touches say ``Paid Search`` and
``brand_search`` joins nothing, and its spend sits on rows of its own with no
revenue. Two remedies, both applied **at ingest**, so the store holds the
names the touches use and every answer (reports, time series, budgets, the
Spark lake exported from the store) agrees:

- a **cost map** (:class:`CostMap`): your name -> the touches' name, per
  column, from ``--cost-map FILE`` (CSV ``column,from,to`` or TOML with
  ``[channel]`` / ``[campaign]`` tables) or from a ``[cost_map.channel]`` /
  ``[cost_map.campaign]`` table of the ``--mapping`` file;
- an opt-in **loose match** (``--cost-match loose``): a name that is not a
  touch name but equals exactly one of them ignoring case, surrounding
  spaces and runs of inner spaces takes that touch name. It reads the touch
  names already in the store, so ingest touchpoints first. A name two touch
  spellings share (``Facebook`` and ``facebook``) is left as it is.

The map is applied first; the loose match then looks at the mapped name.
Names that still match no touch are kept as they are, never dropped: their
spend stays visible (on a row of its own in reports). What was renamed is
returned, for one note per renaming in the ingest summary.

Why at ingest rather than at query time: a renamed name is stored once and
read by every engine the same way; a query-time match would have to be
written into every spend join (DuckDB, Spark, polars). The cost is order: a
loose match only sees the touch names stored before it, which the note
(and ``closedloop`` diagnostics of unmatched cost keys) makes visible.
"""

from __future__ import annotations

import csv
import io
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from attribution.errors import InputError, ParameterError

__all__ = [
    "COST_MATCHES",
    "NAME_COLUMNS",
    "CostMap",
    "CostNames",
    "cost_map_from_toml",
    "fold_name",
    "load_cost_map",
    "parse_cost_map_args",
    "rename_notes",
]

NAME_COLUMNS = ("channel", "campaign")
"""The cost columns whose names must equal the touches' for spend to join."""

COST_MATCHES = ("exact", "loose")
"""``--cost-match``: names as written, or equal ignoring case and spaces."""


def fold_name(name: pl.Expr) -> pl.Expr:
    """Return a name as the loose match compares it: lower case, spaces trimmed and collapsed.

    Examples
    --------
    >>> names = pl.Series(["  Paid   Search ", "PAID SEARCH", "paid_search"])
    >>> pl.select(fold_name(pl.lit(names))).to_series().to_list()
    ['paid search', 'paid search', 'paid_search']
    """
    return name.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()


@dataclass(frozen=True)
class CostMap:
    """Cost names to rename: per column, your name -> the touches' name.

    Examples
    --------
    >>> CostMap(channel={"paid search": "Paid Search"}).size
    1
    """

    channel: Mapping[str, str] = field(default_factory=dict)
    campaign: Mapping[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """How many names the map renames."""
        return len(self.channel) + len(self.campaign)

    def of(self, column: str) -> Mapping[str, str]:
        """Return the renamings of one column (``channel`` or ``campaign``)."""
        return self.channel if column == "channel" else self.campaign

    def merged(self, other: CostMap) -> CostMap:
        """Return this map with ``other``'s entries on top (``other`` wins).

        Examples
        --------
        >>> a = CostMap(channel={"x": "X", "y": "Y"})
        >>> dict(a.merged(CostMap(channel={"y": "Why"})).channel)
        {'x': 'X', 'y': 'Why'}
        """
        return CostMap(
            channel={**self.channel, **other.channel},
            campaign={**self.campaign, **other.campaign},
        )


def cost_map_from_toml(tables: object, where: str) -> CostMap:
    """Read ``[channel]`` / ``[campaign]`` tables of names (``"yours" = "touches'"``).

    Parameters
    ----------
    tables
        The parsed TOML: a table holding ``channel`` and/or ``campaign`` tables.
    where
        How messages name it (``costmap.toml`` or ``map.toml, [cost_map]``).

    Raises
    ------
    InputError
        When a table other than ``channel`` / ``campaign`` appears, or a name
        is not a non-empty string.

    Examples
    --------
    >>> cost_map_from_toml({"channel": {"paid search": "Paid Search"}}, "m.toml").channel
    {'paid search': 'Paid Search'}
    >>> cost_map_from_toml({"source": {}}, "m.toml")
    Traceback (most recent call last):
    ...
    attribution.errors.InputError: m.toml: unknown cost-map table [source]; cost names are
    renamed per column in [channel] and [campaign] tables.
    """
    if not isinstance(tables, dict):
        raise InputError(
            f"{where}: expected [channel] and [campaign] tables of names, e.g. "
            '[channel] then "paid search" = "Paid Search".'
        )
    out: dict[str, dict[str, str]] = {column: {} for column in NAME_COLUMNS}
    for column, entries in tables.items():
        if column not in NAME_COLUMNS:
            raise InputError(
                f"{where}: unknown cost-map table [{column}]; cost names are renamed per "
                "column in [channel] and [campaign] tables."
            )
        if not isinstance(entries, dict):
            raise InputError(
                f'{where}: [{column}] must be a table of names: "yours" = "the touches\' name".'
            )
        for theirs, ours in entries.items():
            _check_entry(where, column, theirs, ours)
            out[column][theirs] = str(ours).strip()
    return CostMap(channel=out["channel"], campaign=out["campaign"])


def _check_entry(where: str, column: str, theirs: object, ours: object) -> None:
    if not isinstance(ours, str) or not ours.strip() or not str(theirs).strip():
        raise InputError(
            f"{where}, [{column}] {theirs!r}: expected your name = the touches' name in quotes, "
            f'e.g. "paid search" = "Paid Search"; got {ours!r}.'
        )


def load_cost_map(path: str | Path, *, mapping_file: bool = False) -> CostMap:
    r"""Read a cost map file: CSV ``column,from,to`` (``column`` optional: channel) or TOML.

    A TOML file holds ``[channel]`` and ``[campaign]`` tables, or is an ingest
    mapping file (``--mapping``) with a ``[cost_map.channel]`` /
    ``[cost_map.campaign]`` table. A CSV row's ``column`` is ``channel`` or
    ``campaign``; without that column every row renames a channel. Names are
    taken as written (spaces around them trimmed).

    Parameters
    ----------
    path
        The ``.csv`` or ``.toml`` file.
    mapping_file
        ``path`` is an ingest mapping file (``--mapping``): read its
        ``[cost_map]`` table only; no such table is an empty map.

    Raises
    ------
    InputError
        When the file cannot be read, has other columns or tables, an empty
        name, or renames one name twice to different names (naming the row).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "names.csv").write_text(
    ...     "column,from,to\nchannel,paid search,Paid Search\ncampaign,BRAND_SEARCH,brand_search\n")
    >>> load_cost_map(folder / "names.csv")
    CostMap(channel={'paid search': 'Paid Search'}, campaign={'BRAND_SEARCH': 'brand_search'})
    >>> _ = (folder / "names.toml").write_text('[channel]\n"paid social" = "Paid Social"\n')
    >>> load_cost_map(folder / "names.toml").channel
    {'paid social': 'Paid Social'}
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"Cannot read cost map '{path.name}': {exc.strerror}.") from None
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"Cost map '{path.name}' is not valid TOML: {exc}.") from None
        if "cost_map" in data or mapping_file:
            return cost_map_from_toml(data.get("cost_map", {}), f"{path.name}, [cost_map]")
        return cost_map_from_toml(data, path.name)
    return _csv_cost_map(path.name, list(csv.reader(io.StringIO(text))))


def parse_cost_map_args(column: str, args: Sequence[str], option: str) -> dict[str, str]:
    """Parse ``yours=the touches'`` strings (an HTTP query's ``cost_channel_map=``) into names.

    The last ``=`` separates the names (yours may contain one); spaces around
    either go.

    Raises
    ------
    InputError
        When a string has no ``=`` or an empty side, or renames one name twice.

    Examples
    --------
    >>> parse_cost_map_args("channel", ["paid search=Paid Search"], "cost_channel_map")
    {'paid search': 'Paid Search'}
    >>> parse_cost_map_args("channel", ["Paid Search"], "cost_channel_map")
    Traceback (most recent call last):
    ...
    attribution.errors.InputError: Bad cost_channel_map 'Paid Search': expected <your
    channel>=<the touches' channel>, e.g. cost_channel_map=paid search=Paid Search.
    """
    out: dict[str, str] = {}
    for arg in args:
        theirs, sep, ours = arg.rpartition("=")
        theirs, ours = theirs.strip(), ours.strip()
        if not sep or not theirs or not ours:
            raise InputError(
                f"Bad {option} '{arg}': expected <your {column}>=<the touches' {column}>, "
                f"e.g. {option}=paid search=Paid Search."
            )
        if out.get(theirs, ours) != ours:
            raise InputError(
                f"{option} renames {column} {theirs!r} twice, to {out[theirs]!r} and {ours!r}. "
                "Keep one."
            )
        out[theirs] = ours
    return out


def _csv_cost_map(name: str, rows: Sequence[Sequence[str]]) -> CostMap:
    if not rows:
        raise InputError(f"Cost map '{name}' is empty: expected a header column,from,to.")
    header = [h.strip().lower() for h in rows[0]]
    if header not in (["column", "from", "to"], ["from", "to"]):
        raise InputError(
            f"Cost map '{name}' has columns {', '.join(rows[0])}; expected column,from,to "
            "(column: channel or campaign) or from,to (channel names)."
        )
    out: dict[str, dict[str, str]] = {column: {} for column in NAME_COLUMNS}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if len(cells) != len(header):
            raise InputError(
                f"Cost map '{name}' row {number}: expected {len(header)} fields "
                f"({','.join(header)}), got {len(cells)}."
            )
        column, theirs, ours = cells if len(cells) == 3 else ("channel", *cells)
        if column not in NAME_COLUMNS:
            raise InputError(
                f"Cost map '{name}' row {number}, field 'column': expected channel or "
                f"campaign, got {column!r}."
            )
        if not theirs or not ours:
            raise InputError(f"Cost map '{name}' row {number}: 'from' and 'to' must both be names.")
        if out[column].get(theirs, ours) != ours:
            raise InputError(
                f"Cost map '{name}' row {number}: {column} {theirs!r} is renamed twice, to "
                f"{out[column][theirs]!r} and {ours!r}. Keep one."
            )
        out[column][theirs] = ours
    return CostMap(channel=out["channel"], campaign=out["campaign"])


@dataclass(frozen=True)
class CostNames:
    """How an ingest renames cost names: a :class:`CostMap`, the match, the touches' names.

    ``touch_names`` holds, per column, the names the store's touchpoints use
    (read by the ingest when ``match`` is ``loose``).

    Examples
    --------
    >>> names = CostNames(match="loose", touch_names={"channel": ("Paid Search", "Email")})
    >>> frame = pl.DataFrame({"channel": ["paid search", "EMAIL ", "TV"], "campaign": [None] * 3})
    >>> renamed, counts = names.apply(frame)
    >>> renamed["channel"].to_list()
    ['Paid Search', 'Email', 'TV']
    >>> rename_notes(counts)  # doctest: +NORMALIZE_WHITESPACE
    ["cost channel 'EMAIL ' renamed 'Email' (1 row): matched a touch channel ignoring case and
      spaces",
     "cost channel 'paid search' renamed 'Paid Search' (1 row): matched a touch channel
      ignoring case and spaces"]
    """

    cost_map: CostMap = field(default_factory=CostMap)
    match: str = "exact"
    touch_names: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.match not in COST_MATCHES:
            raise ParameterError(
                f"Bad --cost-match {self.match!r}: expected exact (names as written) or loose "
                "(equal ignoring case and spaces)."
            )
        if self.match == "loose":
            for column in NAME_COLUMNS:
                _folded_map(self.cost_map.of(column), column)  # refuse clashes up front

    @property
    def active(self) -> bool:
        """Whether the ingest has anything to rename."""
        return self.cost_map.size > 0 or self.match == "loose"

    def apply(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Rename the ``channel`` and ``campaign`` names of cost rows.

        Returns
        -------
        tuple[polars.DataFrame, polars.DataFrame]
            The rows renamed, and one row per renaming: ``column``, ``from``,
            ``to``, ``how`` (``cost map``, ``loose`` or ``cost map, loose``)
            and ``rows``.
        """
        counts = []
        out = frame
        for column in NAME_COLUMNS:
            if column not in frame.columns:
                continue
            name = pl.col(column).cast(pl.String)
            mapped = self._mapped(name, column)
            after_map = pl.coalesce(mapped, name)
            matched = self._loose(after_map, column)
            final = pl.coalesce(matched, after_map)
            how = (
                pl.when(mapped.is_not_null() & matched.is_not_null())
                .then(pl.lit("cost map, loose"))
                .when(mapped.is_not_null())
                .then(pl.lit("cost map"))
                .otherwise(pl.lit("loose"))
            )
            changes = (
                frame.select(name.alias("from"), final.alias("to"), how.alias("how"))
                .filter(pl.col("from") != pl.col("to"))
                .group_by("from", "to", "how")
                .agg(pl.len().cast(pl.Int64).alias("rows"))
                .select(pl.lit(column).alias("column"), "from", "to", "how", "rows")
            )
            counts.append(changes)
            out = out.with_columns(final.alias(column))
        if not counts:
            return out, _empty_counts()
        return out, pl.concat(counts)

    def _mapped(self, name: pl.Expr, column: str) -> pl.Expr:
        entries = self.cost_map.of(column)
        if not entries:
            return pl.lit(None, dtype=pl.String)
        stripped = name.str.strip_chars()
        exact = stripped.replace_strict(
            list(entries), list(entries.values()), default=None, return_dtype=pl.String
        )
        if self.match != "loose":
            return exact
        folded = _folded_map(entries, column)
        loose = fold_name(name).replace_strict(
            list(folded), list(folded.values()), default=None, return_dtype=pl.String
        )
        return pl.coalesce(exact, loose)

    def _loose(self, name: pl.Expr, column: str) -> pl.Expr:
        names = list(dict.fromkeys(self.touch_names.get(column, ())))
        if self.match != "loose" or not names:
            return pl.lit(None, dtype=pl.String)
        table = pl.DataFrame({"to": names}, schema={"to": pl.String}).with_columns(
            fold_name(pl.col("to")).alias("key")
        )
        unique = table.filter(pl.col("key").is_unique())
        found = fold_name(name).replace_strict(
            unique["key"], unique["to"], default=None, return_dtype=pl.String
        )
        # A name the touches use as written stays as it is.
        return (
            pl.when(name.is_in(pl.lit(pl.Series(names, dtype=pl.String)).implode()))
            .then(None)
            .otherwise(found)
        )


def _folded_map(entries: Mapping[str, str], column: str) -> dict[str, str]:
    """Fold the cost map's names; refuse two that fold alike but rename differently."""
    folded: dict[str, str] = {}
    seen: dict[str, str] = {}
    for theirs, ours in entries.items():
        key = pl.select(fold_name(pl.lit(theirs))).item()
        if folded.get(key, ours) != ours:
            raise ParameterError(
                f"With --cost-match loose the cost map's {column} names {seen[key]!r} and "
                f"{theirs!r} are the same name ({key!r}) renamed to {folded[key]!r} and "
                f"{ours!r}. Keep one, or use --cost-match exact."
            )
        folded[key] = ours
        seen.setdefault(key, theirs)
    return folded


def _empty_counts() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "column": pl.String,
            "from": pl.String,
            "to": pl.String,
            "how": pl.String,
            "rows": pl.Int64,
        }
    )


_HOW = {
    "cost map": "by the cost map",
    "loose": "matched a touch {column} ignoring case and spaces",
    "cost map, loose": "by the cost map, then matched a touch {column} ignoring case and spaces",
}

MAX_NOTES = 20
"""Renamings noted one by one; the rest are counted on one line."""


def rename_notes(counts: pl.DataFrame) -> list[str]:
    """Say, one line per renamed name, what an ingest renamed (at most :data:`MAX_NOTES`).

    ``counts`` is what :meth:`CostNames.apply` returns, possibly from several
    batches (rows of the same renaming are added up).

    Examples
    --------
    >>> counts = pl.DataFrame({"column": ["channel"], "from": ["paid search"],
    ...     "to": ["Paid Search"], "how": ["cost map"], "rows": [31]})
    >>> rename_notes(counts)
    ["cost channel 'paid search' renamed 'Paid Search' (31 rows): by the cost map"]
    """
    if counts.height == 0:
        return []
    total = (
        counts.group_by("column", "from", "to", "how")
        .agg(pl.col("rows").sum())
        .sort("column", "from")
    )
    notes = [
        f"cost {column} {old!r} renamed {new!r} ({rows:,} row{'' if rows == 1 else 's'}): "
        + _HOW[how].format(column=column)
        for column, old, new, how, rows in total.head(MAX_NOTES).iter_rows()
    ]
    if total.height > MAX_NOTES:
        rest = total.slice(MAX_NOTES)
        notes.append(
            f"… and {rest.height:,} more cost names renamed ({int(rest['rows'].sum()):,} rows)"
        )
    return notes
