"""Identity stitching: map every id a person used to one person id.

Touches are usually keyed by an anonymous id (a cookie, GA4's
``user_pseudo_id``, Segment's ``anonymousId``), conversions by a known one
(a login, an email, a CRM lead or contact id). The ``identities`` table holds
pairs of ids seen together (identify and alias calls, events carrying both
ids, CRM lead conversion). :func:`stitch_identities` treats the pairs as the
edges of an undirected graph, takes its connected components, and names each
component after one of its ids; :meth:`StitchResult.apply` then rewrites the
``user_id`` of touchpoints and conversions, so journeys are built per person.

Id types
--------
An id's type only matters when ``prefer`` asks for a type to name persons.
It is, first match wins:

1. the optional column ``anonymous_id_type`` / ``user_id_type`` of the pair
   (``id_type`` is short for ``user_id_type``);
2. the prefix of a *typed id* ``type:value``, such as ``email:ann@example.com``
   or ``sf_contact:0035e00000AbCdE`` (letters, digits and ``_``, before the
   first colon; the prefix stays part of the id);
3. ``"user"`` if the id is the ``user_id`` of some pair, else ``"anonymous"``.

Types are compared in lower case. The store keeps only ``anonymous_id`` and
``user_id``, so typed ids are the way to keep types there.

Large components
----------------
One shared id (a family tablet, a kiosk, a test email typed in every form)
links thousands of people into one component. Components with more than
``max_component_size`` ids are not merged: their ids stay themselves, and
:attr:`StitchResult.oversized` lists them with the id that has the most
pairs (usually the culprit), so it can be removed from the identities.

Speed
-----
Connected components are computed on integer codes with
:func:`scipy.sparse.csgraph.connected_components` (the same components a
networkx graph gives, which the tests check). A million pairs take about 3 s
of CPU, most of it sorting the ids once; building and walking a networkx
graph of the same pairs takes about 10 s before any mapping is made.
Everything else is vectorised polars; only a ``prefer`` callable runs
Python, once per distinct id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.errors import ColumnTypeError, MissingColumnsError, ParameterError

__all__ = [
    "DEFAULT_MAX_COMPONENT_SIZE",
    "StitchResult",
    "id_type_of",
    "stitch_identities",
]

DEFAULT_MAX_COMPONENT_SIZE = 1000
"""Components with more ids than this are reported and left unmerged."""

SAMPLE_SIZE = 5
"""How many ids of an oversized component :attr:`StitchResult.oversized` shows."""

_TYPE_PREFIX = r"^([A-Za-z][A-Za-z0-9_]*):."
_TYPED_ID = re.compile(_TYPE_PREFIX)

Prefer = str | Sequence[str] | Callable[[str], Any] | None
"""A type name, types in order of preference, or a key function on ids (lower wins)."""

MAPPING_SCHEMA = pl.Schema(
    {
        "id": pl.String(),
        "person_id": pl.String(),
        "id_type": pl.String(),
        "component": pl.UInt32(),
    }
)
COMPONENTS_SCHEMA = pl.Schema(
    {
        "component": pl.UInt32(),
        "person_id": pl.String(),
        "size": pl.UInt32(),
        "oversized": pl.Boolean(),
    }
)
OVERSIZED_SCHEMA = pl.Schema(
    {
        "component": pl.UInt32(),
        "size": pl.UInt32(),
        "hub_id": pl.String(),
        "hub_pairs": pl.UInt32(),
        "sample_ids": pl.List(pl.String()),
    }
)


def id_type_of(identifier: str) -> str | None:
    """Return the type prefix of a typed id ``type:value``, in lower case, or ``None``.

    Examples
    --------
    >>> id_type_of("email:ann@example.com")
    'email'
    >>> id_type_of("SF_Contact:0035e00000AbCdE")
    'sf_contact'
    >>> id_type_of("GA1.2.1234.5678") is None
    True
    """
    match = _TYPED_ID.match(identifier)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class StitchResult:
    """Persons found by :func:`stitch_identities`.

    Attributes
    ----------
    mapping
        One row per distinct id of the pairs: ``id``, ``person_id`` (the id
        the person is known by; the id itself in an oversized component),
        ``id_type`` and ``component``.
    components
        One row per connected component, numbered from 0 in the order of
        their smallest id: ``component``, ``person_id`` (null when
        oversized), ``size`` (ids) and ``oversized``.
    oversized
        The components with more than ``max_component_size`` ids, left
        unmerged: ``component``, ``size``, ``hub_id`` (the id with the most
        distinct pairs, smallest on ties), ``hub_pairs`` and ``sample_ids``
        (its smallest ids).
    max_component_size
        The cap the result was computed with.
    """

    mapping: pl.DataFrame
    components: pl.DataFrame
    oversized: pl.DataFrame
    max_component_size: int = DEFAULT_MAX_COMPONENT_SIZE

    @property
    def n_ids(self) -> int:
        """Distinct ids in the pairs."""
        return self.mapping.height

    @property
    def n_persons(self) -> int:
        """Distinct person ids the ids map to (each id of an oversized component counts)."""
        return self.mapping["person_id"].n_unique()

    @property
    def note(self) -> str | None:
        """Say which components were left unmerged and what to do, or ``None``.

        Examples
        --------
        >>> pairs = pl.DataFrame({"anonymous_id": ["kiosk"] * 3, "user_id": ["u1", "u2", "u3"]})
        >>> print(stitch_identities(pairs, max_component_size=3).note)
        1 identity component larger than 3 ids was left unmerged (4 ids): its ids are kept as
        they are. The id with the most pairs is 'kiosk' (3 pairs); a shared device or test
        account often glues persons together. Remove it from the identities, or raise the cap
        (max_component_size / --max-identity-component) if the component is one person.
        """
        if self.oversized.is_empty():
            return None
        count = self.oversized.height
        ids = int(self.oversized["size"].sum())
        worst = self.oversized.sort(["hub_pairs", "size"], descending=True).row(0, named=True)
        one = count == 1
        components, was, its = (
            ("component", "was", "its") if one else ("components", "were", "their")
        )
        return (
            f"{count:,} identity {components} larger than {self.max_component_size:,} ids "
            f"{was} left unmerged ({ids:,} ids): {its} ids are kept as they are. "
            f"The id with the most pairs is '{worst['hub_id']}' ({worst['hub_pairs']:,} pairs); "
            "a shared device or test account often glues persons together. Remove it from the "
            "identities, or raise the cap (max_component_size / --max-identity-component) if "
            "the component is one person."
        )

    def summary(self) -> dict[str, Any]:
        """Return the counts a report echoes, as JSON-ready data.

        ``merged_ids`` is ``ids - persons``: how many ids now go by another
        id. ``unmerged_ids`` counts the ids of oversized components.

        Examples
        --------
        >>> pairs = pl.DataFrame({"anonymous_id": ["c1", "c2"], "user_id": ["u1", "u1"]})
        >>> summary = stitch_identities(pairs).summary()
        >>> {k: summary[k] for k in ("ids", "persons", "merged_ids", "oversized_components")}
        {'ids': 3, 'persons': 1, 'merged_ids': 2, 'oversized_components': 0}
        """
        return {
            "ids": self.n_ids,
            "persons": self.n_persons,
            "merged_ids": self.n_ids - self.n_persons,
            "oversized_components": self.oversized.height,
            "unmerged_ids": int(self.oversized["size"].sum()),
            "max_component_size": self.max_component_size,
            "note": self.note,
        }

    def apply(self, frame: pl.DataFrame, column: str = "user_id") -> pl.DataFrame:
        """Replace the ids in ``column`` by their person ids.

        Ids that are not in :attr:`mapping` stay as they are; the other
        columns, the row order and the column's position do not change. It is
        one vectorised replace (a hash join), whatever the size.

        Parameters
        ----------
        frame
            Any frame with a string ``column``, e.g. touchpoints or conversions.
        column
            The id column to rewrite.

        Returns
        -------
        polars.DataFrame
            ``frame`` with person ids in ``column``.

        Raises
        ------
        MissingColumnsError
            When ``frame`` has no ``column``.
        ColumnTypeError
            When ``column`` does not hold strings.

        Examples
        --------
        >>> pairs = pl.DataFrame({"anonymous_id": ["cookie-9"], "user_id": ["crm-1"]})
        >>> touches = pl.DataFrame({"touchpoint_id": ["t1", "t2"], "user_id": ["cookie-9", "x"]})
        >>> stitch_identities(pairs, prefer="user").apply(touches)
        shape: (2, 2)
        ┌───────────────┬─────────┐
        │ touchpoint_id ┆ user_id │
        │ ---           ┆ ---     │
        │ str           ┆ str     │
        ╞═══════════════╪═════════╡
        │ t1            ┆ crm-1   │
        │ t2            ┆ x       │
        └───────────────┴─────────┘
        """
        if column not in frame.columns:
            found = ", ".join(f"'{c}'" for c in frame.columns) or "(none)"
            raise MissingColumnsError(
                f"Cannot stitch identities: the frame has no '{column}' column. Found: {found}."
            )
        dtype = frame.schema[column]
        if dtype != pl.String:
            raise ColumnTypeError(
                f"Cannot stitch identities: column '{column}' must hold string ids. "
                f"Got {dtype} instead; cast it with pl.col('{column}').cast(pl.String)."
            )
        changed = self.mapping.filter(pl.col("id") != pl.col("person_id"))
        if changed.is_empty():
            return frame
        return frame.with_columns(
            pl.col(column).replace(changed["id"], changed["person_id"]).alias(column)
        )


def _type_ranker(prefer: Prefer) -> tuple[list[str], Callable[[str], Any] | None]:
    """Split ``prefer`` into a list of types (best first) or a key function."""
    if prefer is None:
        return [], None
    if isinstance(prefer, str):
        types = [t.strip().lower() for t in prefer.split(",") if t.strip()]
    elif callable(prefer):
        return [], prefer
    else:
        types = [str(t).strip().lower() for t in prefer]
    if not types or any(not re.fullmatch(r"[a-z][a-z0-9_]*", t) for t in types):
        raise ParameterError(
            "The 'prefer' parameter of stitch_identities must name id types (letters, digits, "
            f"'_'), e.g. 'user' or 'sf_contact,email,user'. Got {prefer!r} instead."
        )
    return types, None


def _typed_pairs(identities: pl.DataFrame) -> pl.DataFrame:
    """Return ``a``, ``b`` (ids) and ``a_type``, ``b_type`` (explicit types or null)."""
    missing = [c for c in ("anonymous_id", "user_id") if c not in identities.columns]
    if missing:
        found = ", ".join(f"'{c}'" for c in identities.columns) or "(none)"
        raise MissingColumnsError(
            "identities is missing required column(s): "
            f"{', '.join(repr(c) for c in missing)}. Found: {found}. "
            "Each row pairs two ids of one person: anonymous_id and user_id."
        )
    user_type = next((c for c in ("user_id_type", "id_type") if c in identities.columns), None)

    def _type(column: str | None) -> pl.Expr:
        if column is None:
            return pl.lit(None, dtype=pl.String)
        return pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()

    anon_type = "anonymous_id_type" if "anonymous_id_type" in identities.columns else None
    pairs = identities.select(
        pl.col("anonymous_id").cast(pl.String).alias("a"),
        pl.col("user_id").cast(pl.String).alias("b"),
        _type(anon_type).alias("a_type"),
        _type(user_type).alias("b_type"),
    )
    # A pair needs two ids; an empty string is no id (CSV exports write absent ids so).
    return pairs.filter(
        pl.col("a").is_not_null()
        & pl.col("b").is_not_null()
        & (pl.col("a") != "")
        & (pl.col("b") != "")
    ).with_columns(pl.col("a_type", "b_type").replace("", None))


def _components(ends: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    """Label the connected components of the graph of ``n`` ids whose edges are ``ends``."""
    # SciPy is imported here, not at the top: ingesting other tables, and answering from a
    # store without identity pairs, does not need it.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(ends[0]), dtype=bool), ends), shape=(n, n)).tocsr()
    labels: np.ndarray = connected_components(graph, directed=False)[1]
    return labels


def stitch_identities(
    identities: pl.DataFrame,
    *,
    prefer: Prefer = None,
    max_component_size: int = DEFAULT_MAX_COMPONENT_SIZE,
) -> StitchResult:
    """Stitch pairs of ids into persons: one person id per connected component.

    Parameters
    ----------
    identities
        Pairs of ids of one person: columns ``anonymous_id`` and ``user_id``
        (any id can be on either side: a chain cookie → lead → contact is
        two pairs), and optionally ``anonymous_id_type`` and ``user_id_type``
        (or ``id_type``, the type of ``user_id``). Rows missing an id are
        ignored. See the module docstring for id types.
    prefer
        How a component picks its person id. ``None`` (default): the
        smallest id (string order). A type name such as ``"user"``, or
        types best first (``"sf_contact,email,user"`` or a list): the
        smallest id of the best type present, else the smallest id. A
        callable ``key(id)``: the id with the lowest key, ties broken by the
        smallest id. The choice is deterministic: row order never matters.
    max_component_size
        Components with more ids than this are not merged (their ids stay
        themselves) and are listed in :attr:`StitchResult.oversized`.

    Returns
    -------
    StitchResult
        The ``mapping`` of ids to person ids, the ``components`` and the
        ``oversized`` ones; :meth:`StitchResult.apply` rewrites a frame.

    Raises
    ------
    MissingColumnsError
        When ``anonymous_id`` or ``user_id`` is missing.
    ParameterError
        When ``prefer`` or ``max_component_size`` is not valid.

    Examples
    --------
    A cookie that filled a form as a lead, converted to a contact: one person.

    >>> pairs = pl.DataFrame(
    ...     {"anonymous_id": ["cookie:9f2", "lead:00Q1"], "user_id": ["lead:00Q1", "contact:0031"]}
    ... )
    >>> stitch_identities(pairs).mapping.select("id", "person_id")
    shape: (3, 2)
    ┌──────────────┬──────────────┐
    │ id           ┆ person_id    │
    │ ---          ┆ ---          │
    │ str          ┆ str          │
    ╞══════════════╪══════════════╡
    │ contact:0031 ┆ contact:0031 │
    │ cookie:9f2   ┆ contact:0031 │
    │ lead:00Q1    ┆ contact:0031 │
    └──────────────┴──────────────┘
    >>> stitch_identities(pairs, prefer="lead,contact").mapping["person_id"].unique().to_list()
    ['lead:00Q1']
    """
    if isinstance(max_component_size, bool) or not (
        isinstance(max_component_size, int) and max_component_size >= 2
    ):
        raise ParameterError(
            "The 'max_component_size' parameter of stitch_identities must be an integer >= 2 "
            f"(a person needs two ids to merge). Got {max_component_size!r} instead."
        )
    types, key = _type_ranker(prefer)
    pairs = _typed_pairs(identities)
    ids, codes = _encode(pl.concat([pairs["a"], pairs["b"]]))
    n, m = ids.len(), pairs.height
    ends = codes[:m], codes[m:]
    nodes = _node_types(pairs, ids, codes)
    nodes = nodes.with_columns(_ranks(nodes, types, key))

    labels = _components(ends, n) if n else np.empty(0, np.int32)
    nodes = nodes.with_columns(label=pl.Series(labels, dtype=pl.UInt32))

    # Codes follow the sorted ids, so the smallest code of a component is its smallest id.
    best = pl.col("rank") == pl.col("rank").min()
    components = (
        nodes.group_by("label")
        .agg(
            first=pl.col("code").min(),
            size=pl.len().cast(pl.UInt32),
            chosen=pl.col("code").filter(best).min(),
        )
        .sort("first")
        .with_row_index("component")
        .with_columns(oversized=pl.col("size") > max_component_size)
    )
    components = components.with_columns(
        person_id=pl.when(pl.col("oversized"))
        .then(None)
        .otherwise(ids.gather(components["chosen"]))
    )
    mapping = nodes.join(
        components.select("label", "component", "person_id"), on="label", maintain_order="left"
    ).select(
        "id",
        pl.coalesce("person_id", "id").alias("person_id"),
        "id_type",
        "component",
    )
    return StitchResult(
        mapping=mapping.cast(MAPPING_SCHEMA),
        components=components.select(list(COMPONENTS_SCHEMA)).cast(COMPONENTS_SCHEMA),
        oversized=_oversized(components, nodes, ends),
        max_component_size=max_component_size,
    )


def _encode(ids: pl.Series) -> tuple[pl.Series, npt.NDArray[np.uint32]]:
    """Return the sorted distinct ids and the code (index among them) of every id.

    One string sort; a ``rank`` or a join on strings costs two to three times more.
    """
    order = ids.arg_sort()
    ordered = ids.gather(order)
    # ne_missing: the first id (compared with the null shifted in) starts a new run.
    new = ordered.ne_missing(ordered.shift(1))
    codes = np.empty(ids.len(), dtype=np.uint32)
    codes[order.to_numpy()] = (new.cast(pl.UInt32).cum_sum() - 1).to_numpy()
    return ordered.filter(new), codes


def _node_types(pairs: pl.DataFrame, ids: pl.Series, codes: npt.NDArray[np.uint32]) -> pl.DataFrame:
    """Return ``code``, ``id`` and ``candidates``: the types an id may have, by precedence."""
    n, m = ids.len(), pairs.height
    in_user = np.zeros(n, dtype=bool)
    in_user[codes[m:]] = True
    nodes = pl.DataFrame(
        {"code": np.arange(n, dtype=np.uint32), "id": ids, "in_user": in_user},
        schema={"code": pl.UInt32, "id": pl.String, "in_user": pl.Boolean},
    )
    implicit = pl.coalesce(
        pl.col("id").str.extract(_TYPE_PREFIX, 1).str.to_lowercase(),
        pl.when("in_user").then(pl.lit("user")).otherwise(pl.lit("anonymous")),
    )
    typed = (
        pl.DataFrame(
            {"code": codes, "t": pl.concat([pairs["a_type"], pairs["b_type"]])},
            schema={"code": pl.UInt32, "t": pl.String},
        )
        .drop_nulls("t")
        .group_by("code")
        .agg(explicit=pl.col("t").unique().sort())
    )
    return (
        nodes.join(typed, on="code", how="left", maintain_order="left")
        .with_columns(
            candidates=pl.when(pl.col("explicit").list.len() > 0)
            .then("explicit")
            .otherwise(pl.concat_list(implicit))
        )
        .select("code", "id", "candidates")
    )


def _ranks(nodes: pl.DataFrame, types: list[str], key: Callable[[str], Any] | None) -> pl.DataFrame:
    """Return ``rank`` (lower wins the person id; ties go to the smallest id) and ``id_type``."""
    first_type = pl.col("candidates").list.first().alias("id_type")
    if types:
        # An id typed twice (email in one pair, contact in another) takes its best type.
        rank_of = {t: k for k, t in enumerate(types)}
        ranks = pl.col("candidates").list.eval(
            pl.element().replace_strict(rank_of, default=len(types), return_dtype=pl.UInt32)
        )
        return nodes.select(
            ranks.list.min().alias("rank"),
            pl.col("candidates").list.get(ranks.list.arg_min()).alias("id_type"),
        )
    if key is not None:
        ids = nodes["id"].to_list()
        order = sorted(range(len(ids)), key=lambda k: (key(ids[k]), k))
        ranks_by_code = np.empty(len(ids), dtype=np.uint32)
        ranks_by_code[np.asarray(order, dtype=np.int64)] = np.arange(len(ids), dtype=np.uint32)
        return nodes.select(pl.Series("rank", ranks_by_code, dtype=pl.UInt32), first_type)
    return nodes.select(pl.lit(0, dtype=pl.UInt32).alias("rank"), first_type)


def _oversized(
    components: pl.DataFrame,
    nodes: pl.DataFrame,
    ends: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]],
) -> pl.DataFrame:
    """Describe the oversized components: size, the best-linked id, a sample of ids."""
    big = components.filter("oversized").select("label", "component", "size")
    if big.is_empty():
        return pl.DataFrame(schema=OVERSIZED_SCHEMA)
    # Distinct pairs, self-pairs aside: how many other ids each id was seen with.
    u, v = np.minimum(*ends).astype(np.int64), np.maximum(*ends).astype(np.int64)
    distinct = np.unique((u * nodes.height + v)[u != v])
    linked = np.concatenate([distinct // nodes.height, distinct % nodes.height])
    pairs = np.bincount(linked, minlength=nodes.height).astype(np.uint32)
    members = (
        nodes.with_columns(pairs=pl.Series(pairs, dtype=pl.UInt32))
        .join(big, on="label", maintain_order="left")
        .select("code", "id", "component", "pairs")
    )
    described = members.group_by("component").agg(
        hub_id=pl.col("id").sort_by("pairs", descending=True, maintain_order=True).first(),
        hub_pairs=pl.col("pairs").max(),
        sample_ids=pl.col("id").head(SAMPLE_SIZE),
    )
    return (
        big.join(described, on="component")
        .sort("component")
        .select(list(OVERSIZED_SCHEMA))
        .cast(OVERSIZED_SCHEMA)
    )
