"""Where a query's frames come from: one store snapshot, or frames given in memory.

A :class:`Source` hands the services the :class:`Inputs` of a read
:class:`Window` — touchpoints and conversions from the window's first
instant, costs over the period, identities — read together (one
transaction, see :meth:`ingest.Store.snapshot`) and keyed by stitched
persons (:func:`stitch_inputs`). :class:`StoreSource` reads the embedded
store; :class:`FrameSource` serves frames a caller already has (the CLI's
``--touchpoints``/``--conversions`` files, a notebook).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from attribution.constants import MAX_LOOKBACK_DAYS
from attribution.errors import InputError, ParameterError
from attribution.schema import TABLES
from attribution.windows import TouchWindows
from engine.diagnostics import AnswerFacts
from engine.paths import (
    ConvertingJourneys,
    PathAggregate,
    StepAggregate,
    remapped,
    store_converting,
    store_paths,
    store_steps,
    window_stages,
)
from engine.sql import funnel_others_sql, funnel_touches_sql
from ingest import Store
from ingest.accounts import JOURNEYS, account_journeys, account_links, check_journey
from ingest.identity import DEFAULT_MAX_COMPONENT_SIZE, StitchResult, stitch_identities
from ingest.store import Snapshot

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def check_period(lookback_days: float, start: dt.date | None, end: dt.date | None) -> None:
    """Reject a lookback window or a period the date arithmetic cannot handle.

    Examples
    --------
    >>> check_period(90, dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    >>> check_period(float("inf"), None, None)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: lookback_days must be > 0 and at most 36500 days. ...
    """
    if not 0 < lookback_days <= MAX_LOOKBACK_DAYS:
        raise ParameterError(
            f"lookback_days must be > 0 and at most {MAX_LOOKBACK_DAYS} days. "
            f"Got {lookback_days!r} instead."
        )
    if start is not None and end is not None and start > end:
        raise ParameterError(
            f"start ({start}) is after end ({end}); the period is inclusive at both ends."
        )
    if end is not None and end >= dt.date.max:
        raise ParameterError(f"end ({end}) is out of range; use a date before 9999-12-31.")


def earliest_touch(start: dt.date | None, lookback_days: float) -> dt.datetime | None:
    """Return the first instant a touch (or an earlier conversion) can matter to the period.

    Examples
    --------
    >>> earliest_touch(dt.date(2024, 4, 1), 90)
    datetime.datetime(2024, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    >>> earliest_touch(None, 90) is None
    True
    """
    if start is None:
        return None
    try:
        midnight = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
        return midnight - dt.timedelta(days=lookback_days)
    except OverflowError:
        return None


@dataclass(frozen=True)
class Window:
    """What to read: touches and conversions from ``since`` to ``end``, costs ``start``–``end``.

    ``stitch`` and ``max_identity_component`` say how persons are formed,
    ``journey`` whether a journey follows a person or every person of an
    account (:mod:`ingest.accounts`). :meth:`for_period` derives the window
    of a report over a period.

    Examples
    --------
    >>> Window.for_period(90, dt.date(2024, 4, 1), None).since
    datetime.datetime(2024, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
    >>> Window.everything().since is None
    True
    """

    since: dt.datetime | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    stitch: bool = True
    max_identity_component: int = DEFAULT_MAX_COMPONENT_SIZE
    journey: str = "person"

    def __post_init__(self) -> None:
        check_journey(self.journey)

    @classmethod
    def for_period(
        cls,
        lookback_days: float,
        start: dt.date | None,
        end: dt.date | None,
        *,
        stitch: bool = True,
        max_identity_component: int = DEFAULT_MAX_COMPONENT_SIZE,
        journey: str = "person",
    ) -> Window:
        """Return the window a report over ``[start, end]`` with this lookback needs.

        Touchpoints *and* conversions are read from ``start - lookback_days``:
        the touches in the lookback window of the period's conversions, and
        the earlier conversions that may claim some of them (a touch belongs
        to the first conversion after it). Costs cover the period.

        Examples
        --------
        >>> Window.for_period(30, None, dt.date(2024, 1, 31)).end
        datetime.date(2024, 1, 31)
        """
        check_period(lookback_days, start, end)
        return cls(
            since=earliest_touch(start, lookback_days),
            start=start,
            end=end,
            stitch=stitch,
            max_identity_component=max_identity_component,
            journey=journey,
        )

    @classmethod
    def everything(
        cls,
        *,
        stitch: bool = True,
        max_identity_component: int = DEFAULT_MAX_COMPONENT_SIZE,
        journey: str = "person",
    ) -> Window:
        """Return the window of every row (the funnel follows persons past any period).

        Examples
        --------
        >>> Window.everything(stitch=False).stitch
        False
        """
        return cls(stitch=stitch, max_identity_component=max_identity_component, journey=journey)

    @property
    def bounded(self) -> bool:
        """Whether the window leaves anything out (it has a first instant or a date).

        Examples
        --------
        >>> Window.everything().bounded, Window.for_period(90, None, dt.date(2024, 1, 31)).bounded
        (False, True)
        """
        return self.since is not None or self.start is not None or self.end is not None

    def resolved(self, extents: Extents) -> Window:
        """Return the window without the bounds that leave out none of ``extents``' rows.

        It reads the same rows, so it shares the cached inputs of the window
        with no bounds (or with only the bound that matters).

        Examples
        --------
        >>> day = dt.date(2024, 1, 5)
        >>> held = Extents(dt.datetime(2024, 1, 5, tzinfo=dt.UTC),
        ...     dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC), day, dt.date(2024, 3, 1))
        >>> Window.for_period(90, dt.date(2024, 1, 5), dt.date(2024, 3, 1)).resolved(held)
        Window(since=None, start=None, end=None, stitch=True, max_identity_component=1000,
               journey='person')
        >>> Window.for_period(90, dt.date(2024, 1, 5), dt.date(2024, 2, 1)).resolved(held).end
        datetime.date(2024, 2, 1)
        """
        since, start, end = self.since, self.start, self.end
        if (since is None or extents.events_from(since)) and (
            start is None or extents.costs_from(start)
        ):
            since = start = None
        if end is not None and extents.through(end):
            end = None
        return replace(self, since=since, start=start, end=end)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@dataclass(frozen=True)
class Extents:
    """The first and last instants of a source's events and days of spend.

    Events are touches and conversions of every stage: a period that covers
    them and the days of spend leaves nothing out, so a query over it
    computes what the same query without dates computes
    (:meth:`api.services.queries.PeriodQuery.resolved`) and the two share
    their inputs in the cache. ``None`` bounds: no such
    rows. ``data_version`` is the version they were read at.

    Examples
    --------
    >>> held = Extents(dt.datetime(2024, 1, 5, 9, tzinfo=dt.UTC),
    ...     dt.datetime(2024, 3, 1, 23, tzinfo=dt.UTC), None, None)
    >>> held.covers_start(dt.date(2024, 1, 5)), held.covers_start(dt.date(2024, 1, 6))
    (True, False)
    >>> held.through(dt.date(2024, 3, 1)), held.through(dt.date(2024, 2, 29))
    (True, False)
    """

    first_event: dt.datetime | None
    last_event: dt.datetime | None
    first_cost: dt.date | None
    last_cost: dt.date | None
    data_version: int = 0

    def events_from(self, since: dt.datetime) -> bool:
        """Whether no event is earlier than ``since``.

        Examples
        --------
        >>> Extents(None, None, None, None).events_from(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        True
        """
        return self.first_event is None or since <= self.first_event

    def costs_from(self, start: dt.date) -> bool:
        """Whether no day of spend is before ``start``.

        Examples
        --------
        >>> Extents(None, None, dt.date(2024, 1, 1), None).costs_from(dt.date(2024, 1, 2))
        False
        """
        return self.first_cost is None or start <= self.first_cost

    def covers_start(self, start: dt.date) -> bool:
        """Whether a period from ``start`` leaves nothing out at its start.

        No event before ``start``'s first instant (so every journey's anchor
        is in the period, and every touch in the read window) and no spend
        before it.

        Examples
        --------
        >>> Extents(None, None, None, None).covers_start(dt.date(2024, 1, 1))
        True
        """
        return self.events_from(_midnight(start)) and self.costs_from(start)

    def through(self, end: dt.date) -> bool:
        """Whether a period to ``end`` (inclusive) leaves nothing out at its end.

        Examples
        --------
        >>> Extents(None, None, None, dt.date(2024, 3, 2)).through(dt.date(2024, 3, 1))
        False
        """
        events = self.last_event is None or self.last_event < _midnight(end + dt.timedelta(days=1))
        return events and (self.last_cost is None or self.last_cost <= end)


@dataclass(frozen=True)
class Inputs:
    """The frames a report is computed on, keyed by stitched persons.

    Examples
    --------
    >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
    >>> Inputs(empty, empty, None, "EUR").currency
    'EUR'
    """

    touchpoints: pl.DataFrame
    conversions: pl.DataFrame
    costs: pl.DataFrame | None
    currency: str | None
    source: str = "the input"
    """Where the frames came from, for messages: the store's file name or the file names."""
    identity: dict[str, Any] | None = None
    """What identity stitching did (see :func:`stitch_inputs`), echoed in the report."""
    data_version: int = 0
    """The store's ``data_version`` the frames were read at (0 for frames in memory)."""
    funnel_others: pl.DataFrame | None = None
    """Touched persons with no conversion row, counted by an engine for a funnel (see
    :func:`engine.sql.funnel_others_sql`); ``touchpoints`` then holds only the others' touches."""


@dataclass(frozen=True)
class PathInputs:
    """What an attribution on aggregated paths needs: the engine's paths, spend, persons.

    Examples
    --------
    >>> PathInputs(None, None, "USD", "the input", None, 0).conversions
    0
    """

    aggregate: PathAggregate | None
    """The distinct paths of the stage's journeys; ``None`` when the window has no conversion."""
    costs: pl.DataFrame | None
    currency: str | None
    source: str
    identity: dict[str, Any] | None
    conversions: int
    """Conversions of any stage in the read window."""
    data_version: int = 0
    converting: ConvertingJourneys | None = None
    """The converting journeys touch by touch, when asked for instead of the paths."""
    steps: StepAggregate | None = None
    """The steps of every journey and the converting paths, when asked for instead of the paths."""


IDENTITY_NOT_STITCHED: dict[str, Any] = {
    "stitched": False,
    "ids": None,
    "persons": None,
    "merged_ids": None,
    "oversized_components": None,
    "unmerged_ids": None,
    "max_component_size": None,
    "note": "identity stitching is off: conversions are credited with touches of the same raw id",
    "touchpoints_remapped": 0,
    "conversions_remapped": 0,
}
"""The ``identity`` member of a report computed on raw ids (``--no-stitch``, ``stitch=false``)."""


NO_PAIRS = pl.Schema({"anonymous_id": pl.String(), "user_id": pl.String()})


def find_persons(identities: pl.DataFrame | None, max_identity_component: int) -> StitchResult:
    """Find the persons of the identity pairs (none merge when there are none).

    Examples
    --------
    >>> pairs = pl.DataFrame({"anonymous_id": ["c1"], "user_id": ["crm-7"]})
    >>> find_persons(pairs, 1000).mapping["person_id"].to_list()
    ['c1', 'c1']
    """
    if isinstance(max_identity_component, bool) or not (
        isinstance(max_identity_component, int) and max_identity_component >= 2
    ):
        raise ParameterError(
            "max_identity_component must be an integer >= 2 (a person needs two ids to "
            f"merge). Got {max_identity_component!r} instead."
        )
    if identities is None:
        identities = pl.DataFrame(schema=NO_PAIRS)
    return stitch_identities(identities, max_component_size=max_identity_component)


def stitch_inputs(
    inputs: Inputs,
    identities: pl.DataFrame | None,
    *,
    stitch: bool = True,
    max_identity_component: int = DEFAULT_MAX_COMPONENT_SIZE,
    journey: str = "person",
    links: pl.DataFrame | None = None,
) -> Inputs:
    """Key touchpoints and conversions by person: stitch ``identities`` and apply them.

    Every ``user_id`` of the touchpoints and conversions that is in a pair of
    ``identities`` is replaced by its person id (:func:`ingest.stitch_identities`,
    smallest id of the connected component), so touches made under a cookie
    join the conversion recorded under a CRM id. ``None`` stands for no
    identities (nothing merges). The returned inputs carry ``identity``, the
    counts a report echoes; with ``stitch=False`` the ids are left as they are.

    With ``journey="account"`` every person linked to an account by
    ``links`` (``user_id``, ``account_id``; see :func:`ingest.accounts.account_links`)
    is then keyed by ``account:`` + the account, and ``identity`` gains
    ``journey`` and ``accounts`` (:func:`ingest.accounts.account_journeys`).

    Examples
    --------
    >>> touches = pl.DataFrame({"user_id": ["cookie-1", "u9"]})
    >>> sales = pl.DataFrame({"user_id": ["crm-7"]})
    >>> pairs = pl.DataFrame({"anonymous_id": ["cookie-1"], "user_id": ["crm-7"]})
    >>> stitched = stitch_inputs(Inputs(touches, sales, None, "USD"), pairs)
    >>> stitched.touchpoints["user_id"].to_list(), stitched.conversions["user_id"].to_list()
    (['cookie-1', 'u9'], ['cookie-1'])
    >>> {k: stitched.identity[k] for k in ("stitched", "ids", "persons", "conversions_remapped")}
    {'stitched': True, 'ids': 2, 'persons': 1, 'conversions_remapped': 1}
    >>> links = pl.DataFrame({"user_id": ["u9"], "account_id": ["acme"]})
    >>> by_account = stitch_inputs(Inputs(touches, sales, None, "USD"), pairs,
    ...     journey="account", links=links)
    >>> by_account.touchpoints["user_id"].to_list(), by_account.identity["accounts"]["accounts"]
    (['cookie-1', 'account:acme'], 1)
    """
    check_journey(journey)
    if not stitch and journey == "person":
        return replace(inputs, identity=dict(IDENTITY_NOT_STITCHED))
    touchpoints, conversions = inputs.touchpoints, inputs.conversions
    people = pl.DataFrame(schema=NO_PERSONS)
    identity: dict[str, Any] = dict(IDENTITY_NOT_STITCHED)
    if stitch:
        result = find_persons(identities, max_identity_component)
        touchpoints = result.apply(touchpoints)
        conversions = result.apply(conversions)
        people = result.mapping.filter(pl.col("id") != pl.col("person_id"))
        identity = {"stitched": True, **result.summary()}
    if journey == "account":
        links = links if links is not None else account_links(None, None)
        accounts = account_journeys(people, links)
        touchpoints = stitched(touchpoints, accounts.mapping)
        conversions = stitched(conversions, accounts.mapping)
        identity |= {"journey": "account", "accounts": accounts.summary()}

    def remapped(before: pl.DataFrame, after: pl.DataFrame) -> int:
        return int((before["user_id"] != after["user_id"]).sum())

    identity |= {
        "touchpoints_remapped": remapped(inputs.touchpoints, touchpoints),
        "conversions_remapped": remapped(inputs.conversions, conversions),
    }
    return replace(inputs, touchpoints=touchpoints, conversions=conversions, identity=identity)


NO_PERSONS = pl.Schema({"id": pl.String(), "person_id": pl.String()})


def persons_of(
    window: Window,
    identities: Callable[[], pl.DataFrame],
    remap: Callable[[pl.DataFrame], dict[str, int]],
    links: Callable[[], pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Return the ids stitching replaces (``id``, ``person_id``) and the ``identity`` member.

    ``identities`` reads the pairs (only when the window stitches); ``remap``
    counts the rows of the window a map rewrites (the engine's query);
    ``links`` reads the person -> account links (only for account journeys:
    the map then keys every linked person by its account, see
    :func:`ingest.accounts.account_journeys`).

    Examples
    --------
    >>> pairs = pl.DataFrame({"anonymous_id": ["c1"], "user_id": ["crm-7"]})
    >>> people, identity = persons_of(Window(), lambda: pairs, lambda m: {"rows": m.height})
    >>> people.to_dicts(), identity["persons"], identity["rows"]
    ([{'id': 'crm-7', 'person_id': 'c1'}], 1, 1)
    >>> links = pl.DataFrame({"user_id": ["crm-7"], "account_id": ["acme"]})
    >>> by_account = Window(journey="account")
    >>> people, _ = persons_of(by_account, lambda: pairs, lambda m: {}, lambda: links)
    >>> sorted(people.rows())
    [('c1', 'account:acme'), ('crm-7', 'account:acme')]
    """
    if not window.stitch and window.journey == "person":
        return pl.DataFrame(schema=NO_PERSONS), dict(IDENTITY_NOT_STITCHED)
    people = pl.DataFrame(schema=NO_PERSONS)
    identity: dict[str, Any] = dict(IDENTITY_NOT_STITCHED)
    if window.stitch:
        persons = find_persons(identities(), window.max_identity_component)
        people = persons.mapping.filter(pl.col("id") != pl.col("person_id")).select(
            "id", "person_id"
        )
        identity = {"stitched": True, **persons.summary()}
    if window.journey == "account":
        accounts = account_journeys(
            people, links() if links is not None else account_links(None, None)
        )
        people = accounts.mapping
        identity |= {"journey": "account", "accounts": accounts.summary()}
    return people, {**identity, **remap(people)}


class Source(Protocol):
    """Where the services read from: a version number and the inputs of a window."""

    name: str
    """How messages name the data (``the store 'demo.duckdb'``)."""

    def identity(self) -> str:
        """Return what tells this source apart from others in one cache."""
        ...  # pragma: no cover

    def data_version(self) -> int:
        """Return a number that moves whenever the data changes."""
        ...  # pragma: no cover

    def read(self, window: Window) -> Inputs:
        """Return the stitched inputs of ``window``, read consistently."""
        ...  # pragma: no cover

    def stages(self) -> list[str]:
        """Return the distinct conversion stages, sorted."""
        ...  # pragma: no cover

    def extents(self) -> Extents | None:
        """Return the extents of the data (:class:`Extents`), or ``None`` when unknown."""
        ...  # pragma: no cover

    def paths(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs | None:
        """Return the engine's aggregated paths of a window, or ``None`` without an engine."""
        ...  # pragma: no cover

    def converting(
        self,
        window: Window,
        *,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs | None:
        """Return the engine's converting journeys of a window, or ``None`` without an engine."""
        ...  # pragma: no cover

    def steps(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs | None:
        """Return the engine's journey steps of a window, or ``None`` without an engine."""
        ...  # pragma: no cover


def stitched(conversions: pl.DataFrame, person_map: pl.DataFrame) -> pl.DataFrame:
    """Replace the conversions' ids by their persons (``person_map``: the ids that change).

    Examples
    --------
    >>> sales = pl.DataFrame({"user_id": ["a", "b"]})
    >>> stitched(sales, pl.DataFrame({"id": ["b"], "person_id": ["a"]}))["user_id"].to_list()
    ['a', 'a']
    """
    if person_map.is_empty():
        return conversions
    persons = person_map.select(pl.col("id").alias("user_id"), "person_id")
    return (
        conversions.join(persons, on="user_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce("person_id", "user_id").alias("user_id"))
        .drop("person_id")
    )


ACCOUNT_LINKS_SQL = """
SELECT user_id, account_id FROM accounts
UNION
SELECT DISTINCT user_id, account_id FROM conversions WHERE account_id IS NOT NULL
"""
"""The person -> account links of a store: its ``accounts`` and the conversions' ``account_id``."""


def store_links(snap: Snapshot) -> pl.DataFrame:
    """Read the person -> account links of a store snapshot (see :mod:`ingest.accounts`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")
    >>> _ = store.upsert("accounts", pl.DataFrame({"user_id": ["bo"], "account_id": ["acme"]}))
    >>> with store.snapshot() as snap:
    ...     store_links(snap).rows()
    [('bo', 'acme')]
    """
    return account_links(snap.query(ACCOUNT_LINKS_SQL), None)


def _no_remap(people: pl.DataFrame) -> dict[str, int]:
    """Count nothing: the funnel echoes no remapped-row counts."""
    return {}


EXTENTS_SQL = """
SELECT (SELECT min(ts) FROM touchpoints) AS t_lo, (SELECT max(ts) FROM touchpoints) AS t_hi,
       (SELECT min(ts) FROM conversions) AS c_lo, (SELECT max(ts) FROM conversions) AS c_hi,
       (SELECT min(date) FROM costs) AS k_lo, (SELECT max(date) FROM costs) AS k_hi
"""
"""The extents of a store (:meth:`StoreSource.extents`)."""


def _earliest(*instants: dt.datetime | None) -> dt.datetime | None:
    known = [i for i in instants if i is not None]
    return min(known) if known else None


def _latest(*instants: dt.datetime | None) -> dt.datetime | None:
    known = [i for i in instants if i is not None]
    return max(known) if known else None


class StoreSource:
    """The embedded DuckDB store: every read of a window in one snapshot.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> source = StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb"))
    >>> source.name, source.data_version()
    ("the store 'demo.duckdb'", 0)
    >>> source.read(Window.everything()).conversions.height
    0
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.name = f"the store '{store.path.name}'"

    def identity(self) -> str:
        """Return the store file's resolved path (never shown to users).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb"
        >>> StoreSource(Store(path)).identity() == str(path.resolve())
        True
        """
        return str(self.store.path.resolve())

    def data_version(self) -> int:
        """Return the store's ``data_version`` (see :meth:`ingest.Store.data_version`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")).data_version()
        0
        """
        return self.store.data_version()

    def read(self, window: Window) -> Inputs:
        """Read touchpoints, conversions, costs and identities in one transaction, then stitch.

        Costs are ``None`` when the store holds none at all (spend unknown),
        and an empty frame when it holds none in the period (spend 0).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> source = StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"))
        >>> source.read(Window.everything()).costs is None
        True
        """
        with self.store.snapshot() as snap:
            touchpoints = snap.read("touchpoints", end=window.end, ts_from=window.since)
            conversions = snap.read("conversions", end=window.end, ts_from=window.since)
            costs = snap.read("costs", start=window.start, end=window.end)
            # No spend ever loaded means spend and the ratios are unknown (null), not 0.
            never_loaded = costs.is_empty() and snap.counts()["costs"] == 0
            identities = snap.read("identities") if window.stitch else None
            links = store_links(snap) if window.journey == "account" else None
            inputs = Inputs(
                touchpoints=touchpoints,
                conversions=conversions,
                costs=None if never_loaded else costs,
                currency=snap.currency,
                source=self.name,
                data_version=snap.data_version,
            )
        return stitch_inputs(
            inputs,
            identities,
            stitch=window.stitch,
            max_identity_component=window.max_identity_component,
            journey=window.journey,
            links=links,
        )

    def paths(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs:
        """Build the window's journeys in DuckDB and return their distinct paths, in one snapshot.

        Only the distinct paths, the conversions no touch reached, the spend
        of the period and the identity pairs reach Python; the touchpoints
        stay in the store (see :mod:`engine.paths`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> source = StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"))
        >>> answer = source.paths(Window(), by="channel", stage=None, lookback_days=90)
        >>> answer.conversions, answer.aggregate is None
        (0, True)
        """
        return self._engine_inputs(
            window,
            lookback_days,
            lambda snap, people, stages: {
                "aggregate": store_paths(
                    snap,
                    people,
                    by=by,
                    stage=stage,
                    lookback_days=lookback_days,
                    start=window.start,
                    end=window.end,
                    stages=stages,
                    windows=windows,
                )
            },
        )

    def steps(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs:
        """Count the window's journey steps in DuckDB; return them with the converting paths.

        What a first-order Markov chain needs (see :func:`engine.paths.store_steps`):
        the steps of every journey are counted in the store, and only the
        converting journeys' paths reach Python.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> source = StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"))
        >>> answer = source.steps(Window(), by="channel", stage=None, lookback_days=90)
        >>> answer.conversions, answer.steps is None
        (0, True)
        """
        return self._engine_inputs(
            window,
            lookback_days,
            lambda snap, people, stages: {
                "steps": store_steps(
                    snap,
                    people,
                    by=by,
                    stage=stage,
                    lookback_days=lookback_days,
                    start=window.start,
                    end=window.end,
                    stages=stages,
                    windows=windows,
                )
            },
        )

    def _engine_inputs(
        self,
        window: Window,
        lookback_days: float,
        compute: Callable[[Snapshot, pl.DataFrame, dict[str, int]], dict[str, Any]],
    ) -> PathInputs:
        """Read, in one snapshot, what every engine answer shares, and ``compute`` the rest.

        ``compute(snap, person_map, stages)`` runs only when the window holds a
        conversion and returns the :class:`PathInputs` fields it fills.
        """
        start, end = window.start, window.end
        with self.store.snapshot() as snap:
            stages = window_stages(snap, lookback_days, start, end)
            costs = snap.read("costs", start=start, end=end)
            never_loaded = costs.is_empty() and snap.counts()["costs"] == 0
            person_map, identity = persons_of(
                window,
                lambda: snap.read("identities"),
                lambda people: remapped(snap, people, lookback_days, start, end),
                lambda: store_links(snap),
            )
            computed = compute(snap, person_map, stages) if sum(stages.values()) else {}
            return PathInputs(
                aggregate=computed.get("aggregate"),
                costs=None if never_loaded else costs,
                currency=snap.currency,
                source=self.name,
                identity=identity,
                conversions=sum(stages.values()),
                data_version=snap.data_version,
                converting=computed.get("converting"),
                steps=computed.get("steps"),
            )

    def funnel_read(
        self, window: Window, *, start: dt.date | None, end: dt.date | None, cut: bool
    ) -> Inputs:
        """Read what a funnel needs, stitched: every conversion, the converted persons' touches.

        The touched persons without a conversion row are counted in the store
        (:func:`engine.sql.funnel_others_sql`), not read one by one; ``cut``
        drops touches after ``end`` (the ``period`` mode).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> source = StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"))
        >>> source.funnel_read(Window.everything(), start=None, end=None, cut=False).currency
        'USD'
        """
        with self.store.snapshot() as snap:
            costs = snap.read("costs", start=window.start, end=window.end)
            never_loaded = costs.is_empty() and snap.counts()["costs"] == 0
            person_map, identity = persons_of(
                window, lambda: snap.read("identities"), _no_remap, lambda: store_links(snap)
            )
            views = {"person_map": person_map}
            touchpoints = snap.query(funnel_touches_sql(end=end, cut=cut), views)
            others = snap.query(funnel_others_sql(start=start, end=end, cut=cut), views)
            conversions = stitched(snap.read("conversions"), person_map)
            return Inputs(
                touchpoints=touchpoints,
                conversions=conversions,
                costs=None if never_loaded else costs,
                currency=snap.currency,
                source=self.name,
                identity=identity,
                data_version=snap.data_version,
                funnel_others=others,
            )

    def converting(
        self,
        window: Window,
        *,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs:
        """Build the window's journeys in DuckDB and return the converting ones, in one snapshot.

        Only the touches of converting journeys, the window's conversions, the
        spend of the period and the identity pairs reach Python (see
        :func:`engine.paths.store_converting`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> source = StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"))
        >>> answer = source.converting(Window(), stage=None, lookback_days=90)
        >>> answer.conversions, answer.converting is None
        (0, True)
        """
        return self._engine_inputs(
            window,
            lookback_days,
            lambda snap, people, stages: {
                "converting": store_converting(
                    snap,
                    people,
                    stitched(
                        snap.read("conversions", end=window.end, ts_from=window.since), people
                    ),
                    stage=stage,
                    lookback_days=lookback_days,
                    start=window.start,
                    end=window.end,
                    stages=stages,
                    windows=windows,
                )
            },
        )

    def extents(self) -> Extents:
        """Read the first and last event instants and days of spend, in one snapshot.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")).extents()
        Extents(first_event=None, last_event=None, first_cost=None, last_cost=None, data_version=0)
        """
        with self.store.snapshot() as snap:
            row = snap.query(EXTENTS_SQL).row(0)
            version = snap.data_version
        t_lo, t_hi, c_lo, c_hi, k_lo, k_hi = row
        return Extents(
            first_event=_earliest(t_lo, c_lo),
            last_event=_latest(t_hi, c_hi),
            first_cost=k_lo,
            last_cost=k_hi,
            data_version=version,
        )

    def lift_tests(self) -> pl.DataFrame:
        """Return the store's lift tests (see :mod:`attribution.calibration`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")).lift_tests().height
        0
        """
        return self.store.read("lift_tests")

    def stages(self) -> list[str]:
        """Return the distinct conversion stages in the store.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> StoreSource(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")).stages()
        []
        """
        return self.store.stages()


class LakeSource:
    """A Parquet lake read by Apache Spark (``--engine spark --lake DIR``).

    Path-exact models are answered from the distinct paths Spark builds
    (:mod:`engine.spark`); other models read the lake's tables with polars,
    filtered to the window. ``data_version`` follows the files' sizes and
    modification times.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> source = LakeSource(pathlib.Path(tempfile.mkdtemp()) / "lake")
    >>> source.name
    "the lake 'lake'"
    """

    def __init__(self, lake: Path, master: str = "local[*]") -> None:
        self.lake = Path(lake)
        self.master = master
        self.name = f"the lake '{self.lake.name}'"
        self._spark: Any = None
        self.currency = _lake_currency(self.lake)

    def identity(self) -> str:
        """Return the lake's resolved path (never shown to users).

        Examples
        --------
        >>> LakeSource(Path("/data/lake")).identity()
        'lake:/data/lake'
        """
        return f"lake:{self.lake.resolve()}"

    def data_version(self) -> int:
        """Return a number that moves when any file of the lake changes.

        Examples
        --------
        >>> import tempfile
        >>> LakeSource(Path(tempfile.mkdtemp())).data_version()
        0
        """
        state = sorted(
            (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in self.lake.rglob("*.parquet")
        )
        return hash(tuple(state)) & (2**62 - 1) if state else 0

    def _session(self) -> Any:
        from engine.spark import register_lake, spark_session

        if self._spark is None:
            self._spark = spark_session(self.master)
        register_lake(self._spark, self.lake)
        return self._spark

    def _table(self, table: str) -> pl.DataFrame:
        from engine.spark import read_lake

        return read_lake(self.lake, table)

    def _costs(self, start: dt.date | None, end: dt.date | None) -> pl.DataFrame | None:
        """Spend of the period; ``None`` when the lake holds none at all (unknown, not 0)."""
        costs = self._table("costs")
        if costs.is_empty():
            return None
        if start is not None:
            costs = costs.filter(pl.col("date") >= start)
        if end is not None:
            costs = costs.filter(pl.col("date") <= end)
        return costs

    def read(self, window: Window) -> Inputs:
        """Read the window's rows of the lake with polars and stitch them.

        Examples
        --------
        >>> LakeSource.read  # doctest: +ELLIPSIS
        <function LakeSource.read at ...>
        """
        touchpoints = _in_window(self._table("touchpoints"), window)
        conversions = _in_window(self._table("conversions"), window)
        costs = self._costs(window.start, window.end)
        inputs = Inputs(
            touchpoints=touchpoints,
            conversions=conversions,
            costs=costs,
            currency=self.currency,
            source=self.name,
        )
        identities = self._table("identities") if window.stitch else None
        return stitch_inputs(
            inputs,
            identities,
            stitch=window.stitch,
            max_identity_component=window.max_identity_component,
            journey=window.journey,
            links=self._links() if window.journey == "account" else None,
        )

    def _links(self) -> pl.DataFrame:
        """Person -> account links of the lake (a lake exported without ``accounts/`` has none)."""
        from engine.spark import lake_table

        try:
            lake_table(self.lake, "accounts")
        except InputError:
            accounts = None
        else:
            accounts = self._table("accounts")
        return account_links(accounts, self._table("conversions"))

    def paths(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs:
        """Build the window's journeys in Spark and return their distinct paths.

        Examples
        --------
        >>> LakeSource.paths  # doctest: +ELLIPSIS
        <function LakeSource.paths at ...>
        """
        from engine.spark import lake_paths

        return self._engine_inputs(
            window,
            lookback_days,
            lambda spark, people, stages: {
                "aggregate": lake_paths(
                    spark,
                    people,
                    by=by,
                    stage=stage,
                    lookback_days=lookback_days,
                    start=window.start,
                    end=window.end,
                    stages=stages,
                    windows=windows,
                )
            },
        )

    def steps(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs:
        """Count the window's journey steps in Spark; return them with the converting paths.

        Examples
        --------
        >>> LakeSource.steps  # doctest: +ELLIPSIS
        <function LakeSource.steps at ...>
        """
        from engine.spark import lake_steps

        return self._engine_inputs(
            window,
            lookback_days,
            lambda spark, people, stages: {
                "steps": lake_steps(
                    spark,
                    people,
                    by=by,
                    stage=stage,
                    lookback_days=lookback_days,
                    start=window.start,
                    end=window.end,
                    stages=stages,
                    windows=windows,
                )
            },
        )

    def _engine_inputs(
        self,
        window: Window,
        lookback_days: float,
        compute: Callable[[SparkSession, pl.DataFrame, dict[str, int]], dict[str, Any]],
    ) -> PathInputs:
        """Read what every Spark answer shares, and ``compute`` the rest (as the store does)."""
        from engine.spark import lake_remapped, lake_stages

        spark = self._session()
        start, end = window.start, window.end
        stages = lake_stages(spark, lookback_days, start, end)
        costs = self._costs(start, end)
        person_map, identity = persons_of(
            window,
            lambda: self._table("identities"),
            lambda people: lake_remapped(spark, people, lookback_days, start, end),
            self._links,
        )
        computed = compute(spark, person_map, stages) if sum(stages.values()) else {}
        return PathInputs(
            aggregate=computed.get("aggregate"),
            costs=costs,
            currency=self.currency,
            source=self.name,
            identity=identity,
            conversions=sum(stages.values()),
            data_version=self.data_version(),
            converting=computed.get("converting"),
            steps=computed.get("steps"),
        )

    def funnel_read(
        self, window: Window, *, start: dt.date | None, end: dt.date | None, cut: bool
    ) -> Inputs:
        """Read what a funnel needs, as the store does, with Spark counting the unconverted.

        Examples
        --------
        >>> LakeSource.funnel_read  # doctest: +ELLIPSIS
        <function LakeSource.funnel_read at ...>
        """
        from engine.spark import lake_funnel

        spark = self._session()
        person_map, identity = persons_of(
            window, lambda: self._table("identities"), _no_remap, self._links
        )
        touchpoints, others = lake_funnel(spark, person_map, start=start, end=end, cut=cut)
        return Inputs(
            touchpoints=touchpoints,
            conversions=stitched(self._table("conversions"), person_map),
            costs=self._costs(window.start, window.end),
            currency=self.currency,
            source=self.name,
            identity=identity,
            data_version=self.data_version(),
            funnel_others=others,
        )

    def converting(
        self,
        window: Window,
        *,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs:
        """Build the window's journeys in Spark and return the converting ones.

        Examples
        --------
        >>> LakeSource.converting  # doctest: +ELLIPSIS
        <function LakeSource.converting at ...>
        """
        from engine.spark import lake_converting

        return self._engine_inputs(
            window,
            lookback_days,
            lambda spark, people, stages: {
                "converting": lake_converting(
                    spark,
                    people,
                    stitched(_in_window(self._table("conversions"), window), people),
                    stage=stage,
                    lookback_days=lookback_days,
                    start=window.start,
                    end=window.end,
                    stages=stages,
                    windows=windows,
                )
            },
        )

    def extents(self) -> Extents | None:
        """Return ``None``: the lake's extents are not read (no query shares another's inputs).

        Examples
        --------
        >>> LakeSource(Path("lake")).extents() is None
        True
        """
        return None

    def facts(
        self,
        window: Window,
        *,
        by: str,
        stage: str,
        lookback_days: float,
        start: dt.date | None,
        end: dt.date | None,
        untouched: bool,
    ) -> tuple[AnswerFacts, dict[str, int]]:
        """Compute an answer's diagnostic figures and the stages' counts with Spark.

        See :func:`engine.diagnostics.lake_facts`; the persons are stitched as
        the window says (only when ``untouched`` asks for the gaps).

        Examples
        --------
        >>> LakeSource.facts  # doctest: +ELLIPSIS
        <function LakeSource.facts at ...>
        """
        from engine.diagnostics import lake_facts
        from engine.spark import lake_stages

        spark = self._session()
        people = (
            persons_of(window, lambda: self._table("identities"), lambda _: {})[0]
            if untouched
            else pl.DataFrame(schema=NO_PERSONS)
        )
        facts = lake_facts(
            spark,
            people,
            has_costs=self._costs(None, None) is not None,
            by=by,
            stage=stage,
            lookback_days=lookback_days,
            start=start,
            end=end,
            untouched=untouched,
        )
        return facts, lake_stages(spark, 0, None, None)

    def lift_tests(self) -> pl.DataFrame:
        """Return the lake's lift tests (none when it has no ``lift_tests/``).

        Examples
        --------
        >>> import tempfile
        >>> LakeSource(Path(tempfile.mkdtemp())).lift_tests().height
        0
        """
        from engine.spark import lake_table

        try:
            lake_table(self.lake, "lift_tests")
        except InputError:
            return pl.DataFrame(schema=TABLES["lift_tests"])
        return self._table("lift_tests")

    def stages(self) -> list[str]:
        """Return the distinct conversion stages of the lake.

        Examples
        --------
        >>> LakeSource.stages  # doctest: +ELLIPSIS
        <function LakeSource.stages at ...>
        """
        return sorted(self._table("conversions")["stage"].unique().drop_nulls().to_list())


def _lake_currency(lake: Path) -> str | None:
    """Return the currency ``closedloop export`` recorded in ``meta.json``, else ``None``.

    A lake written by hand need not have ``meta.json``: its money is then in
    a currency nobody named, reported as ``null``.

    Examples
    --------
    >>> import json, tempfile
    >>> lake = Path(tempfile.mkdtemp())
    >>> _lake_currency(lake) is None
    True
    >>> _ = (lake / "meta.json").write_text(json.dumps({"currency": "EUR"}))
    >>> _lake_currency(lake)
    'EUR'
    """
    import json

    try:
        meta = json.loads((lake / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    currency = meta.get("currency") if isinstance(meta, dict) else None
    return str(currency) if currency else None


def _in_window(frame: pl.DataFrame, window: Window) -> pl.DataFrame:
    if window.since is not None:
        frame = frame.filter(pl.col("ts") >= window.since)
    if window.end is not None:
        day = dt.datetime.combine(window.end + dt.timedelta(days=1), dt.time(), dt.UTC)
        frame = frame.filter(pl.col("ts") < day)
    return frame


class FrameSource:
    """Frames already in memory (files the CLI read, a notebook's frames); version 0.

    Touchpoints and conversions are served whole: the models apply the
    period and the lookback themselves.

    Examples
    --------
    >>> touches = pl.DataFrame({"user_id": ["cookie-1"]})
    >>> sales = pl.DataFrame({"user_id": ["crm-7"], "stage": ["purchase"]})
    >>> pairs = pl.DataFrame({"anonymous_id": ["cookie-1"], "user_id": ["crm-7"]})
    >>> source = FrameSource(touches, sales, identities=pairs, name="'sales.csv'")
    >>> source.read(Window.everything()).conversions["user_id"].to_list()
    ['cookie-1']
    >>> source.stages()
    ['purchase']
    """

    def __init__(
        self,
        touchpoints: pl.DataFrame,
        conversions: pl.DataFrame,
        costs: pl.DataFrame | None = None,
        *,
        identities: pl.DataFrame | None = None,
        accounts: pl.DataFrame | None = None,
        currency: str | None = None,
        name: str = "the input",
        lift_tests: pl.DataFrame | None = None,
    ) -> None:
        code = currency.upper() if currency is not None else None
        self._inputs = Inputs(touchpoints, conversions, costs, code, name)
        self._identities = identities
        self._accounts = accounts
        self._lift_tests = lift_tests
        self.name = name

    def identity(self) -> str:
        """Return this object's id: frames in memory are only ever cached for it.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).identity().startswith("frames-")
        True
        """
        return f"frames-{id(self)}"

    def data_version(self) -> int:
        """Return 0: frames in memory never change.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).data_version()
        0
        """
        return 0

    def read(self, window: Window) -> Inputs:
        """Return the frames, stitched as the window says.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).read(Window(stitch=False)).identity["stitched"]
        False
        """
        links = (
            account_links(self._accounts, self._inputs.conversions)
            if window.journey == "account"
            else None
        )
        return stitch_inputs(
            self._inputs,
            self._identities,
            stitch=window.stitch,
            max_identity_component=window.max_identity_component,
            journey=window.journey,
            links=links,
        )

    def paths(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs | None:
        """Return ``None``: frames in memory are attributed by polars, journey by journey.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).paths(Window(), by="channel", stage=None, lookback_days=90)
        """
        return None

    def converting(
        self,
        window: Window,
        *,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs | None:
        """Return ``None``: frames in memory are attributed by polars, journey by journey.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).converting(Window(), stage=None, lookback_days=90)
        """
        return None

    def steps(
        self,
        window: Window,
        *,
        by: str,
        stage: str | None,
        lookback_days: float,
        windows: TouchWindows | None = None,
    ) -> PathInputs | None:
        """Return ``None``: frames in memory are attributed by polars, journey by journey.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).steps(Window(), by="channel", stage=None, lookback_days=90)
        """
        return None

    def extents(self) -> Extents | None:
        """Return ``None``: frames in memory answer one query at a time, nothing to share.

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).extents() is None
        True
        """
        return None

    def lift_tests(self) -> pl.DataFrame:
        """Return the lift tests given (none by default).

        Examples
        --------
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> FrameSource(empty, empty).lift_tests().columns[:2]
        ['channel', 'campaign']
        """
        if self._lift_tests is None:
            return pl.DataFrame(schema=TABLES["lift_tests"])
        return self._lift_tests

    def stages(self) -> list[str]:
        """Return the distinct conversion stages of the frames.

        Examples
        --------
        >>> sales = pl.DataFrame({"user_id": ["a"], "stage": ["lead"]})
        >>> FrameSource(sales, sales).stages()
        ['lead']
        """
        return sorted(self._inputs.conversions["stage"].unique().drop_nulls().to_list())


__all__ = [
    "ACCOUNT_LINKS_SQL",
    "EXTENTS_SQL",
    "IDENTITY_NOT_STITCHED",
    "JOURNEYS",
    "MAX_LOOKBACK_DAYS",
    "Extents",
    "FrameSource",
    "Inputs",
    "LakeSource",
    "PathInputs",
    "Source",
    "StoreSource",
    "Window",
    "check_period",
    "earliest_touch",
    "stitch_inputs",
    "store_links",
]
