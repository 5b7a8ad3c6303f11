"""What every service shares: the source, the cache, and the cached inputs and journeys.

:class:`Context` is handed to each service function. Everything it caches
is keyed by the source's ``data_version`` and the normalised query, so an
ingest (from this process or another) makes the next answer reflect it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from api.services.cache import ResultCache
from api.services.inputs import Inputs, PathInputs, Source, Window
from api.services.queries import PeriodQuery
from attribution.errors import EmptyInputError
from attribution.journeys import Journeys, build_journeys

T = TypeVar("T")


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
        return self.cache.get_or_compute(version, key, compute)

    def inputs(self, window: Window) -> Inputs:
        """Return the stitched inputs of ``window`` (read once per ``data_version``).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> import polars as pl
        >>> empty = pl.DataFrame({"user_id": []}, schema={"user_id": pl.String})
        >>> Context(FrameSource(empty, empty), ResultCache(0)).inputs(Window()).currency
        'USD'
        """
        return self.cached(("inputs", window), lambda: self.source.read(window))

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

        def build() -> Journeys:
            inputs = self.inputs(query.window)
            return build_journeys(
                inputs.touchpoints,
                inputs.conversions,
                stage=query.stage,
                lookback_days=query.lookback_days,
                start=query.start,
                end=query.end,
            )

        return self.cached(("journeys", query.journey_key), build)

    def paths(self, query: PeriodQuery, by: str) -> PathInputs | None:
        """Return the engine's aggregated paths of ``query``'s journeys (read once), if any.

        ``None`` when the source has no engine (frames in memory).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> Context(FrameSource(*_tiny_example()), ResultCache(0)).paths(PeriodQuery(), "channel")
        """
        return self.cached(
            ("paths", query.journey_key, by),
            lambda: self.source.paths(
                query.window, by=by, stage=query.stage, lookback_days=query.lookback_days
            ),
        )

    def converting(self, query: PeriodQuery) -> PathInputs | None:
        """Return the engine's converting journeys of ``query``, touch by touch (read once), if any.

        ``None`` when the source has no engine (frames in memory).

        Examples
        --------
        >>> from api.services.inputs import FrameSource
        >>> from attribution.report import _tiny_example
        >>> Context(FrameSource(*_tiny_example()), ResultCache(0)).converting(PeriodQuery())
        """
        return self.cached(
            ("converting", query.journey_key),
            lambda: self.source.converting(
                query.window, stage=query.stage, lookback_days=query.lookback_days
            ),
        )

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


__all__ = ["Context"]
