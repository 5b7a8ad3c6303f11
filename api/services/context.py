"""What every service shares: the source, the cache, and the cached inputs and journeys.

:class:`Context` is handed to each service function. Everything it caches
is keyed by the source's ``data_version`` and the normalised query, so an
ingest (from this process or another) makes the next answer reflect it.

A computation the cache misses takes the request's computing turn first
(:func:`attribution.cancel.take_turn`): on the server, answers found in the
cache never wait for the computations running.

A period that covers all the data selects what no period selects, so its
inputs and journeys are those of the undated query (:meth:`Context.shared`,
:meth:`~api.services.queries.PeriodQuery.resolved`): the dashboard's first
request, without dates, and the later ones, with the range its answer
reported, compute them once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol, Self, TypeVar

from api.services.cache import ResultCache
from api.services.inputs import Extents, Inputs, PathInputs, Source, Window
from api.services.queries import PeriodQuery
from attribution.cancel import take_turn
from attribution.errors import EmptyInputError
from attribution.journeys import Journeys, build_journeys

T = TypeVar("T")


class Resolvable(Protocol):
    """A question with dates that :class:`~api.services.inputs.Extents` can make redundant."""

    @property
    def bounded(self) -> bool:
        """Whether it has any date bound at all."""
        ...  # pragma: no cover

    def resolved(self, extents: Extents) -> Self:
        """Return it without the bounds that leave none of the data out."""
        ...  # pragma: no cover


Q = TypeVar("Q", bound=Resolvable)


class Context:
    """A source and a cache: the inputs, journeys and results of its queries.

    Examples
    --------
    >>> import polars as pl
    >>> from api.services.inputs import FrameSource
    >>> from attribution.report import _tiny_example
    >>> tp, cv, costs = _tiny_example()
    >>> ctx = Context(FrameSource(tp, cv, costs), ResultCache(2**20))
    >>> ctx.journeys(PeriodQuery()).n_conversions
    1.0
    """

    def __init__(self, source: Source, cache: ResultCache) -> None:
        self.source = source
        self.cache = cache

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the value of ``key`` at the source's current ``data_version``.

        A miss takes the current request's computing turn before computing
        (none outside a request); concurrent misses of one key compute once.

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> import polars as pl
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> ctx = Context(FrameSource(empty, empty), ResultCache(2**20))
        >>> ctx.cached("k", lambda: 1), ctx.cached("k", lambda: 2)
        (1, 1)
        """
        version = (self.source.identity(), self.source.data_version())
        return self.cache.get_or_compute(version, key, compute, admit=take_turn)

    def extents(self) -> Extents | None:
        """Return the extents of the source's data at its current ``data_version`` (read once).

        ``None`` when the source does not tell them, or when nothing is
        cached (a cache of 0 bytes: nothing could be shared anyway).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> Context(FrameSource(*_tiny_example()), ResultCache(2**20)).extents() is None
        True
        """
        if not self.cache.max_bytes:
            return None
        version = (self.source.identity(), self.source.data_version())
        found = self.cache.get_or_compute(
            version, ("extents",), self.source.extents, admit=take_turn
        )
        return found if found is not None and found.data_version == version[1] else None

    def shared(
        self, asked: Q, fetch: Callable[[Q], T], *, same: Callable[[T], bool] | None = None
    ) -> T:
        """Return ``fetch(asked)``, or ``fetch`` of the question that computes the same.

        That question is ``asked`` without the date bounds that leave none of
        the data out (:meth:`~api.services.queries.PeriodQuery.resolved`,
        :meth:`~api.services.inputs.Window.resolved`), so a question over the
        whole range shares the undated one's cache entries. Its value is used
        when ``same(value)`` agrees (what the answer *reports* may differ:
        an explicit date is echoed) and the data did not change while it was
        fetched (the extents were read at the version it holds); otherwise
        ``asked`` is fetched itself.

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> ctx = Context(FrameSource(*_tiny_example()), ResultCache(2**20))
        >>> ctx.shared(PeriodQuery(), lambda q: q.start is None)
        True
        """
        if not asked.bounded:
            return fetch(asked)
        extents = self.extents()
        if extents is None:
            return fetch(asked)
        resolved = asked.resolved(extents)
        if resolved != asked:
            value = fetch(resolved)
            unchanged = self.source.data_version() == extents.data_version
            if unchanged and (same is None or same(value)):
                return value
        return fetch(asked)

    def inputs(self, window: Window) -> Inputs:
        """Return the stitched inputs of ``window`` (read once per ``data_version``).

        A window that leaves no row out shares the inputs of the window
        without bounds (:meth:`shared`).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> import polars as pl
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> source = FrameSource(empty, empty, currency="usd")
        >>> Context(source, ResultCache(0)).inputs(Window()).currency
        'USD'
        """
        return self.shared(
            window, lambda read: self.cached(("inputs", read), lambda: self.source.read(read))
        )

    def journeys(self, query: PeriodQuery) -> Journeys:
        """Return the journeys of ``query``'s stage, lookback and period (built once).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> ctx = Context(FrameSource(*_tiny_example()), ResultCache(2**20))
        >>> ctx.journeys(PeriodQuery(stage="purchase")).stage
        'purchase'
        """

        def built(asked: PeriodQuery) -> Journeys:
            def build() -> Journeys:
                inputs = self.inputs(asked.window)
                return build_journeys(
                    inputs.touchpoints,
                    inputs.conversions,
                    stage=asked.stage,
                    lookback_days=asked.lookback_days,
                    start=asked.start,
                    end=asked.end,
                    click_window_days=asked.click_window_days,
                    view_window_days=asked.view_window_days,
                )

            return self.cached(("journeys", asked.journey_key), build)

        return self.shared(query, built)

    def paths(self, query: PeriodQuery, by: str) -> PathInputs | None:
        """Return the engine's aggregated paths of ``query``'s journeys (read once), if any.

        ``None`` when the source has no engine (frames in memory).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> Context(FrameSource(*_tiny_example()), ResultCache(0)).paths(PeriodQuery(), "channel")
        """

        def read(asked: PeriodQuery) -> PathInputs | None:
            return self.cached(
                ("paths", asked.journey_key, by),
                lambda: self.source.paths(
                    asked.window,
                    by=by,
                    stage=asked.stage,
                    lookback_days=asked.lookback_days,
                    windows=asked.windows,
                ),
            )

        return self.shared(query, read)

    def steps(self, query: PeriodQuery, by: str) -> PathInputs | None:
        """Return the engine's journey steps and converting paths of ``query`` (read once), if any.

        ``None`` when the source has no engine (frames in memory).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> Context(FrameSource(*_tiny_example()), ResultCache(0)).steps(PeriodQuery(), "channel")
        """

        def read(asked: PeriodQuery) -> PathInputs | None:
            return self.cached(
                ("steps", asked.journey_key, by),
                lambda: self.source.steps(
                    asked.window,
                    by=by,
                    stage=asked.stage,
                    lookback_days=asked.lookback_days,
                    windows=asked.windows,
                ),
            )

        return self.shared(query, read)

    def converting(self, query: PeriodQuery) -> PathInputs | None:
        """Return the engine's converting journeys of ``query``, touch by touch (read once), if any.

        ``None`` when the source has no engine (frames in memory).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> Context(FrameSource(*_tiny_example()), ResultCache(0)).converting(PeriodQuery())
        """

        def read(asked: PeriodQuery) -> PathInputs | None:
            return self.cached(
                ("converting", asked.journey_key),
                lambda: self.source.converting(
                    asked.window,
                    stage=asked.stage,
                    lookback_days=asked.lookback_days,
                    windows=asked.windows,
                ),
            )

        return self.shared(query, read)

    def require_conversions(
        self, inputs: Inputs | PathInputs, query: PeriodQuery | None, what: str = "attribute"
    ) -> None:
        """Refuse to work on inputs without conversions, saying how to load some.

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> import polars as pl
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> ctx = Context(FrameSource(empty, empty, name="'x.csv'"), ResultCache(0))
        >>> ctx.require_conversions(ctx.inputs(Window()), None)
        Traceback (most recent call last):
        ...
        attribution.errors.EmptyInputError: There are no conversions to attribute: 'x.csv' ...
        """
        held = inputs.conversions if isinstance(inputs, PathInputs) else inputs.conversions.height
        if held:
            return
        period = (
            " for that period"
            if query is not None and (query.start is not None or query.end is not None)
            else ""
        )
        raise EmptyInputError(
            f"There are no conversions to {what}: {inputs.source} holds none{period}. "
            "Ingest them first: closedloop ingest conversions FILE, "
            "or POST /v1/ingest/conversions."
        )


__all__ = ["Context", "Resolvable"]
