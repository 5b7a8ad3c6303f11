"""The application layer: the one way interfaces get results.

HTTP routes (:mod:`api.http`), CLI commands (:mod:`api.cli`) and the HTML
report (:mod:`api.report`) build a validated query object
(:mod:`api.services.queries`), call one method of :class:`Services`, and
format the :class:`~api.services.results.Result` it returns (JSON, CSV,
Parquet, terminal table). Nothing here knows FastAPI or argparse.

Every answer is computed from one consistent snapshot of the store (all
tables read in one transaction) and cached — stitched inputs, journeys and
finished results — keyed by the store's ``data_version`` and the normalised
query, in a cache bounded in bytes (see :mod:`api.services.cache`).

Examples
--------
>>> from attribution.report import _tiny_example
>>> services = Services.for_frames(*_tiny_example())
>>> result = services.attribution(AttributionQuery.create("linear"))
>>> [(row["channel"], row["revenue"]) for row in result.to_dict()["data"]]
[('Email', 50.0), ('Search', 50.0)]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from api.services import attribution as _attribution
from api.services import budget as _budget
from api.services import compare as _compare
from api.services import explain as _explain
from api.services import funnel as _funnel
from api.services import paths as _paths
from api.services import timeseries as _timeseries
from api.services.budget import PlanQuery, WhatIfQuery
from api.services.cache import ResultCache
from api.services.context import Context
from api.services.inputs import FrameSource, Inputs, LakeSource, Source, StoreSource, Window
from api.services.queries import (
    AttributionQuery,
    CompareQuery,
    CurvesQuery,
    ExplainQuery,
    FunnelQuery,
    PathsQuery,
    TimeSeriesQuery,
)
from api.services.results import Result
from attribution.budget import CurveSet
from ingest import Store

Progress = Callable[[int, int], None]


class Services:
    """Every service over one source, sharing one cache.

    Parameters
    ----------
    source
        Where the data is: :class:`StoreSource` or :class:`FrameSource`.
    cache
        The cache to share (a server keeps one for its lifetime); a new
        one bounded by :func:`~api.services.cache.default_cache_bytes`
        when absent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> services = Services.for_store(Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"))
    >>> services.data_version()
    0
    """

    def __init__(self, source: Source, cache: ResultCache | None = None) -> None:
        self.context = Context(source, cache if cache is not None else ResultCache())

    @classmethod
    def for_store(cls, store: Store, cache: ResultCache | None = None) -> Services:
        """Serve the embedded store.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "s.duckdb")
        >>> Services.for_store(store).source.name
        "the store 's.duckdb'"
        """
        return cls(StoreSource(store), cache)

    @classmethod
    def for_frames(
        cls,
        touchpoints: pl.DataFrame,
        conversions: pl.DataFrame,
        costs: pl.DataFrame | None = None,
        *,
        identities: pl.DataFrame | None = None,
        accounts: pl.DataFrame | None = None,
        currency: str | None = None,
        name: str = "the input",
        cache: ResultCache | None = None,
        lift_tests: pl.DataFrame | None = None,
    ) -> Services:
        """Serve frames already in memory (files the CLI read, a notebook's frames).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example(), currency="eur").inputs().currency
        'EUR'
        """
        source = FrameSource(
            touchpoints,
            conversions,
            costs,
            identities=identities,
            accounts=accounts,
            currency=currency,
            name=name,
            lift_tests=lift_tests,
        )
        return cls(source, cache if cache is not None else ResultCache(0))

    @classmethod
    def for_lake(
        cls, lake: str | Path, master: str = "local[*]", cache: ResultCache | None = None
    ) -> Services:
        """Serve a Parquet lake with Apache Spark (``closedloop export`` writes the layout).

        Examples
        --------
        >>> Services.for_lake("lake").source.name
        "the lake 'lake'"
        """
        return cls(LakeSource(Path(lake), master), cache)

    @property
    def source(self) -> Source:
        """Return where the data is.

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example(), name="'c.csv'").source.name
        "'c.csv'"
        """
        return self.context.source

    @property
    def cache(self) -> ResultCache:
        """Return the cache the services share.

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example()).cache.max_bytes
        0
        """
        return self.context.cache

    def data_version(self) -> int:
        """Return the source's ``data_version``.

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example()).data_version()
        0
        """
        return self.source.data_version()

    def inputs(self, window: Window | None = None) -> Inputs:
        """Return the stitched inputs of a window (every row by default).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example()).inputs().conversions.height
        1
        """
        return self.context.inputs(window if window is not None else Window.everything())

    def attribution(self, query: AttributionQuery, progress: Progress | None = None) -> Result:
        """Attribute with one model (see :func:`api.services.attribution.attribute`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.attribution(AttributionQuery.create("first_touch")).members["model"]
        'first_touch'
        """
        return _attribution.attribute(self.context, query, progress)

    def compare(self, query: CompareQuery) -> Result:
        """Compare models side by side (see :func:`api.services.compare.compare`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.compare(CompareQuery.create(["linear"])).members["models"]
        ['linear']
        """
        return _compare.compare(self.context, query)

    def paths(self, query: PathsQuery) -> Result:
        """Summarise paths (see :func:`api.services.paths.paths`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example()).paths(PathsQuery()).total_rows
        1
        """
        return _paths.paths(self.context, query)

    def timeseries(self, query: TimeSeriesQuery) -> Result:
        """Bucket one metric over time (see :func:`api.services.timeseries.timeseries`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.timeseries(TimeSeriesQuery(metric="spend")).members["metric"]
        'spend'
        """
        return _timeseries.timeseries(self.context, query)

    def funnel(self, query: FunnelQuery) -> Result:
        """Count the funnel on stitched persons (see :func:`api.services.funnel.funnel`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.funnel(FunnelQuery.create(stages="purchase")).members["stages"]
        ['purchase']
        """
        return _funnel.funnel(self.context, query)

    def explain(self, query: ExplainQuery) -> Result:
        """Explain the Markov chain (see :func:`api.services.explain.explain`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example()).explain(ExplainQuery()).members["order"]
        1
        """
        return _explain.explain(self.context, query)

    def curves(self, query: CurvesQuery) -> CurveSet:
        """Fit the weekly response curves (see :func:`api.services.budget.curves`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> Services.for_frames(*_tiny_example()).curves(CurvesQuery(bootstrap=0)).by
        'channel'
        """
        return _budget.curves(self.context, query)

    def curves_result(
        self, query: CurvesQuery, threshold: float | None = None, points: bool = True
    ) -> Result:
        """Fit the curves and return them as a result (summary rows, points in JSON).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.curves_result(CurvesQuery(bootstrap=0)).name
        'budget-curves'
        """
        return _budget.curves_result(self.curves(query), threshold, points)

    def plan(self, query: PlanQuery) -> Result:
        """Recommend a weekly budget per channel (see :func:`api.services.budget.plan`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.plan(PlanQuery(CurvesQuery(bootstrap=0))).name
        'budget-plan'
        """
        return _budget.plan(self.context, query)

    def whatif(self, query: WhatIfQuery) -> Result:
        """Predict an allocation's revenue (see :func:`api.services.budget.whatif`).

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> services = Services.for_frames(*_tiny_example())
        >>> services.whatif(WhatIfQuery(CurvesQuery(bootstrap=0), {})).name
        'budget-whatif'
        """
        return _budget.whatif(self.context, query)


__all__ = [
    "AttributionQuery",
    "CompareQuery",
    "CurvesQuery",
    "ExplainQuery",
    "FrameSource",
    "FunnelQuery",
    "Inputs",
    "PathsQuery",
    "PlanQuery",
    "Result",
    "ResultCache",
    "Services",
    "StoreSource",
    "TimeSeriesQuery",
    "WhatIfQuery",
    "Window",
]
