"""Validated, normalised questions the services answer: one frozen dataclass per service.

A query is checked when it is built (period, bounds, model parameters) and
is hashable: two spellings of the same question (``half_life_days=7`` and
``7.0``; ``bootstrap=500`` without ``ci``) are equal, so they share one
cache entry. Build them with the ``create`` class methods, which take model
names and parameter mappings as the interfaces receive them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

from api.services.inputs import Extents, Window, check_period
from attribution import AttributionModel, get_model
from attribution.errors import ParameterError
from attribution.funnel.stages import FunnelStages
from attribution.metrics import parse_stage_values
from attribution.windows import TouchWindows, touch_windows
from ingest.accounts import check_journey
from ingest.identity import DEFAULT_MAX_COMPONENT_SIZE

DEFAULT_BOOTSTRAP = 200
"""Bootstrap resamples when ``ci`` is asked for without a count."""

MIN_BOOTSTRAP = 10
MAX_BOOTSTRAP = 2_000
"""Most bootstrap resamples one request may ask for (each one re-runs the model)."""

MAX_TOP = 10_000
"""Most transitions an explanation lists."""

_LINEAR = get_model("linear")
_MARKOV = get_model("markov")


def resolve_model(
    model: str | AttributionModel, params: Mapping[str, Any] | None = None
) -> AttributionModel:
    """Return the model instance a name and parameters stand for (parameters checked).

    Examples
    --------
    >>> resolve_model("time_decay", {"half_life_days": "7"}) == resolve_model(
    ...     "time_decay", {"half_life_days": 7.0})
    True
    """
    if isinstance(model, AttributionModel):
        if params:
            raise ParameterError("Give model parameters with a model name, not an instance.")
        return model
    return get_model(model, **dict(params or {}))


def check_bootstrap(ci: float | None, bootstrap: int, name: str = "bootstrap") -> None:
    """Refuse more bootstrap resamples than :data:`MAX_BOOTSTRAP` when intervals are asked.

    The lower bound (:data:`MIN_BOOTSTRAP`) is checked by the bootstrap itself.

    Examples
    --------
    >>> check_bootstrap(0.9, 200)
    >>> check_bootstrap(0.9, 10**9)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'bootstrap' parameter must be at most 2000 ...
    """
    if ci is None or isinstance(bootstrap, bool) or not isinstance(bootstrap, int):
        return
    if bootstrap > MAX_BOOTSTRAP:
        raise ParameterError(
            f"The '{name}' parameter must be at most {MAX_BOOTSTRAP} resamples (each one "
            f"re-runs the model). Got {bootstrap!r} instead."
        )


@dataclass(frozen=True)
class PeriodQuery:
    """What every journey-based query shares: stage, lookback window, period, persons.

    ``click_window_days`` and ``view_window_days`` are the click and view
    windows (:func:`attribution.windows.touch_windows`); a value equal to its
    default is stored as ``None``, so both spellings share one cache entry.

    Examples
    --------
    >>> PeriodQuery(lookback_days=30).window.since is None
    True
    >>> PeriodQuery(click_window_days=90, view_window_days=1) == PeriodQuery()
    True
    """

    stage: str | None = None
    lookback_days: float = 90.0
    start: dt.date | None = None
    end: dt.date | None = None
    stitch: bool = True
    max_identity_component: int = DEFAULT_MAX_COMPONENT_SIZE
    journey: str = "person"
    """``person``, or ``account``: every person linked to an account is one journey."""
    click_window_days: float | None = None
    view_window_days: float | None = None

    def __post_init__(self) -> None:
        check_period(self.lookback_days, self.start, self.end)
        check_journey(self.journey)
        object.__setattr__(self, "lookback_days", float(self.lookback_days))
        given = touch_windows(self.lookback_days, self.click_window_days, self.view_window_days)
        defaults = touch_windows(self.lookback_days)
        click = None if given.click_days == defaults.click_days else given.click_days
        view = None if given.view_days == defaults.view_days else given.view_days
        object.__setattr__(self, "click_window_days", click)
        object.__setattr__(self, "view_window_days", view)

    @property
    def windows(self) -> TouchWindows:
        """Return the click and view windows, defaults filled.

        Examples
        --------
        >>> PeriodQuery(lookback_days=30, click_window_days=7).windows
        TouchWindows(click_days=7.0, view_days=1.0)
        """
        return touch_windows(self.lookback_days, self.click_window_days, self.view_window_days)

    @property
    def window(self) -> Window:
        """Return what must be read for this query.

        Examples
        --------
        >>> PeriodQuery(start=dt.date(2024, 4, 1), lookback_days=1).window.since.date()
        datetime.date(2024, 3, 31)
        """
        return Window.for_period(
            self.lookback_days,
            self.start,
            self.end,
            stitch=self.stitch,
            max_identity_component=self.max_identity_component,
            journey=self.journey,
        )

    @property
    def journey_key(self) -> tuple[Any, ...]:
        """Return what the journeys of this query depend on (for the cache).

        Examples
        --------
        >>> PeriodQuery().journey_key[1:]
        (None, 90.0, None, None, TouchWindows(click_days=90.0, view_days=1.0))
        """
        return (self.window, self.stage, self.lookback_days, self.start, self.end, self.windows)

    @property
    def bounded(self) -> bool:
        """Whether the query names a date (``start`` or ``end``).

        Examples
        --------
        >>> PeriodQuery().bounded, PeriodQuery(end=dt.date(2024, 3, 31)).bounded
        (False, True)
        """
        return self.start is not None or self.end is not None

    def resolved(self, extents: Extents) -> Self:
        """Return the query without the dates that leave out none of ``extents``' data.

        A ``start`` no event and no spend precede, an ``end`` no event and no
        spend follow, select exactly what no date selects: the journeys,
        spend and identity counts are the same, so the resolved query shares
        the undated one's cached work. Only what the answer *reports* may
        differ: an explicit date is echoed as given, where no date reports
        the first and last day of the data (the services keep that apart).

        Examples
        --------
        >>> first, last = dt.date(2024, 1, 5), dt.date(2024, 3, 1)
        >>> held = Extents(dt.datetime(2024, 1, 5, 9, tzinfo=dt.UTC),
        ...     dt.datetime(2024, 3, 1, 23, tzinfo=dt.UTC), first, last)
        >>> everything = PeriodQuery(start=dt.date(2024, 1, 5), end=dt.date(2024, 3, 1))
        >>> everything.resolved(held) == PeriodQuery()
        True
        >>> PeriodQuery(start=dt.date(2024, 2, 1), end=dt.date(2024, 3, 9)).resolved(held).start
        datetime.date(2024, 2, 1)
        """
        start = None if self.start is not None and extents.covers_start(self.start) else self.start
        end = None if self.end is not None and extents.through(self.end) else self.end
        if (start, end) == (self.start, self.end):
            return self
        return replace(self, start=start, end=end)


REPORT_KEYS = ("channel", "campaign", "source", "medium", "interaction")
"""The touch columns answers can be reported by: dimensions, never person-level ids or numbers."""

PERSON_KEYS = ("user_id", "touchpoint_id")
"""Person-level columns: only path listings may be keyed by them (over HTTP, with an admin key)."""


def check_by(by: str, *, person_level: bool = False) -> None:
    """Raise :class:`ParameterError` unless ``by`` is a column answers are reported by.

    Parameters
    ----------
    by
        The column asked for.
    person_level
        Also accept :data:`PERSON_KEYS` (path listings: one row per person's path).

    Examples
    --------
    >>> check_by("campaign")
    >>> check_by("user_id", person_level=True)
    >>> check_by("user_id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Cannot report by 'user_id': choose one of channel, ...
    """
    allowed = REPORT_KEYS + PERSON_KEYS if person_level else REPORT_KEYS
    if by not in allowed:
        raise ParameterError(
            f"Cannot report by {str(by)[:64]!r}: choose one of {', '.join(allowed)}."
        )


SPEND_KEYS = ("channel", "campaign")
"""The touch columns spend is recorded by: budgets (curves, plans) are keyed by one of them."""


def check_spend_by(by: str) -> None:
    """Raise :class:`ParameterError` unless spend is recorded by ``by`` (budgets need spend).

    Examples
    --------
    >>> check_spend_by("campaign")
    >>> check_spend_by("source")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Cannot plan a budget by 'source': spend is recorded by
    channel and campaign only. Choose channel or campaign.
    """
    if by not in SPEND_KEYS:
        raise ParameterError(
            f"Cannot plan a budget by {str(by)[:64]!r}: spend is recorded by channel and "
            "campaign only. Choose channel or campaign."
        )


@dataclass(frozen=True)
class IntervalQuery(PeriodQuery):
    """A period query that may ask for bootstrap intervals (``ci``, ``bootstrap``, ``seed``).

    Without ``ci`` the resample count and seed do not change the answer, so
    they are reset to their defaults: such queries share one cache entry.

    Examples
    --------
    >>> IntervalQuery(bootstrap=500, seed=3) == IntervalQuery()
    True
    >>> IntervalQuery(ci=0.9, bootstrap=500).bootstrap
    500
    """

    by: str = "channel"
    ci: float | None = None
    bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_by(self.by)
        check_bootstrap(self.ci, self.bootstrap)
        if self.ci is None:
            object.__setattr__(self, "bootstrap", DEFAULT_BOOTSTRAP)
            object.__setattr__(self, "seed", 0)


@dataclass(frozen=True)
class AttributionQuery(IntervalQuery):
    """Attribute conversions with one model; optionally with bootstrap intervals.

    Examples
    --------
    >>> q = AttributionQuery.create("linear", by="campaign", bootstrap=999)
    >>> q.model.name, q.by, q.bootstrap  # no ci: the bootstrap count does not matter
    ('linear', 'campaign', 200)
    >>> AttributionQuery(stage_values="mql=200,lead=50").stage_values
    (('lead', 50.0), ('mql', 200.0))
    """

    model: AttributionModel = _LINEAR
    calibrate: bool = True
    """Add lift-test calibrated revenue when the data holds lift tests (by channel only)."""
    stage_values: tuple[tuple[str, float], ...] = ()
    """What one conversion of a stage without revenue is worth (``lead=50,mql=200``).

    Given as text or a mapping; kept as sorted pairs so equal values share a cache entry.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        given: Any = self.stage_values
        values = parse_stage_values(
            given if isinstance(given, str | Mapping) else dict(given or ())
        )
        object.__setattr__(self, "stage_values", tuple(values.items()))

    @classmethod
    def create(
        cls,
        model: str | AttributionModel,
        params: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> AttributionQuery:
        """Build the query from a model name (or instance) and its parameters.

        Examples
        --------
        >>> AttributionQuery.create("time_decay", {"half_life_days": "3"}).model.half_life_days
        3.0
        """
        return cls(model=resolve_model(model, params), **fields)


@dataclass(frozen=True)
class CompareQuery(IntervalQuery):
    """Several models side by side (all that run on the data when ``models`` is ``None``).

    ``baseline`` is the model every other one's % change is from (default:
    the first of ``models``); ``stage_values`` as in :class:`AttributionQuery`.

    Examples
    --------
    >>> CompareQuery.create(["first_touch", "linear"]).models[1].name
    'linear'
    >>> CompareQuery.create(["first_touch", "linear"], baseline="markov")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The baseline 'markov' is not among the models compared ...
    """

    models: tuple[AttributionModel, ...] | None = None
    baseline: str | None = None
    stage_values: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        given: Any = self.stage_values
        values = parse_stage_values(
            given if isinstance(given, str | Mapping) else dict(given or ())
        )
        object.__setattr__(self, "stage_values", tuple(values.items()))
        if self.baseline is None:
            return
        names = [m.name for m in self.models] if self.models is not None else None
        if names is None:
            get_model(self.baseline)  # an unknown name fails here, with the closest names
        elif self.baseline not in names:
            raise ParameterError(
                f"The baseline '{self.baseline}' is not among the models compared "
                f"({', '.join(names)}): add it to models or choose one of them."
            )

    @classmethod
    def create(cls, models: Sequence[str] | None = None, **fields: Any) -> CompareQuery:
        """Build the query from model names.

        Examples
        --------
        >>> CompareQuery.create(None).models is None
        True
        """
        if models is not None and not models:
            raise ParameterError("models is empty: give model names separated by commas.")
        resolved = None if models is None else tuple(resolve_model(m) for m in models)
        return cls(models=resolved, **fields)


@dataclass(frozen=True)
class PathsQuery(PeriodQuery):
    """Top paths, path lengths and time lags of the journeys.

    Examples
    --------
    >>> PathsQuery(collapse=False).collapse
    False
    """

    by: str = "channel"
    collapse: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_by(self.by, person_level=True)


TIME_SERIES_METRICS = ("spend", "revenue", "conversions", "roas", "all")
"""What a time series can show; ``all`` keeps every metric (the HTML report's trend)."""
INTERVALS = ("day", "week", "month")


@dataclass(frozen=True)
class TimeSeriesQuery(PeriodQuery):
    """One metric per key and day, ISO week or month.

    Examples
    --------
    >>> TimeSeriesQuery(metric="spend").model.name
    'linear'
    """

    metric: str = "revenue"
    by: str = "channel"
    interval: str = "week"
    model: AttributionModel = _LINEAR

    def __post_init__(self) -> None:
        super().__post_init__()
        check_by(self.by)
        if self.metric not in TIME_SERIES_METRICS:
            raise ParameterError(
                f"Unknown metric '{self.metric}'; choose from {', '.join(TIME_SERIES_METRICS)}."
            )
        if self.interval not in INTERVALS:
            raise ParameterError(
                f"Unknown interval '{self.interval}'; choose from {', '.join(INTERVALS)}."
            )


@dataclass(frozen=True)
class ExplainQuery(PeriodQuery):
    """The Markov chain behind the credit: order, removal effects, top transitions.

    Examples
    --------
    >>> ExplainQuery.create({"order": "2"}).model.order
    2
    >>> ExplainQuery.create(model="linear")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Only the markov model can be explained ...
    """

    model: AttributionModel = _MARKOV
    by: str = "channel"
    top: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.model.name != "markov":
            raise ParameterError(
                f"Only the markov model can be explained (its chain and removal effects); "
                f"got '{self.model.name}'."
            )
        if isinstance(self.top, bool) or not 0 <= self.top <= MAX_TOP:
            raise ParameterError(f"top must be between 0 and {MAX_TOP:,}. Got {self.top!r}.")

    @classmethod
    def create(
        cls,
        params: Mapping[str, Any] | None = None,
        *,
        model: str | AttributionModel = "markov",
        **fields: Any,
    ) -> ExplainQuery:
        """Build the query from Markov parameters.

        Examples
        --------
        >>> ExplainQuery.create(top=5).top
        5
        """
        return cls(model=resolve_model(model, params), **fields)


@dataclass(frozen=True)
class FunnelQuery:
    """Funnel counts and rates per group, on stitched persons like every other answer.

    Examples
    --------
    >>> FunnelQuery.create(by="channel", stages="mql,closed_won").stages.order
    ('mql', 'closed_won')
    """

    by: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    mode: str = "cohort"
    stages: FunnelStages | None = None
    assign: str = "first_touch"
    stitch: bool = True
    max_identity_component: int = DEFAULT_MAX_COMPONENT_SIZE
    journey: str = "person"
    """``person``, or ``account``: the funnel counts accounts (see :class:`PeriodQuery`)."""

    def __post_init__(self) -> None:
        check_journey(self.journey)
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ParameterError(
                f"start ({self.start}) is after end ({self.end}); the period is inclusive at "
                "both ends."
            )

    @property
    def window(self) -> Window:
        """Return the window of every row: a cohort is followed past any period.

        Examples
        --------
        >>> FunnelQuery().window == Window.everything()
        True
        """
        return Window.everything(
            stitch=self.stitch,
            max_identity_component=self.max_identity_component,
            journey=self.journey,
        )

    @classmethod
    def create(
        cls, *, stages: str | None = None, lost_stages: str | None = None, **fields: Any
    ) -> FunnelQuery:
        """Build the query from ``stages`` / ``lost_stages`` text as the interfaces get it.

        Examples
        --------
        >>> FunnelQuery.create().stages is None
        True
        """
        return cls(stages=parse_stages(stages, lost_stages), **fields)


def parse_stages(stages: str | None, lost: str | None) -> FunnelStages | None:
    """Build the funnel from ``--stages`` / ``?stages=`` text, or ``None`` for the default.

    Examples
    --------
    >>> parse_stages("mql,closed_won", None).order
    ('mql', 'closed_won')
    >>> parse_stages(None, None) is None
    True
    """
    if stages is None:
        if lost is not None:
            raise ParameterError(
                "lost stages go with stages: give the funnel too, e.g. "
                "stages=lead,mql,sql,opportunity,closed_won."
            )
        return None
    return FunnelStages.parse(stages, lost="closed_lost" if lost is None else lost)


@dataclass(frozen=True)
class CurvesQuery:
    """Weekly response curves per channel, fitted on attributed revenue and spend.

    Examples
    --------
    >>> CurvesQuery.create("linear", curve="power").curve
    'power'
    """

    model: AttributionModel = _LINEAR
    by: str = "channel"
    stage: str | None = None
    lookback_days: float = 90.0
    curve: str = "hill"
    decay: float | str = "auto"
    """``auto`` (each channel's decay estimated), or a fixed adstock decay in ``[0, 1)``."""
    bootstrap: int = 100
    attribution_bootstrap: int = 0
    seed: int = 0
    journey: str = "person"
    """``person``, or ``account``: curves fitted on account journeys' credit."""
    click_window_days: float | None = None
    view_window_days: float | None = None
    calibrate: bool = True
    """Scale each tested channel's curve by its lift-test calibration factor (if any tests)."""

    def __post_init__(self) -> None:
        check_period(self.lookback_days, None, None)
        check_spend_by(self.by)
        check_journey(self.journey)
        object.__setattr__(self, "lookback_days", float(self.lookback_days))
        touch_windows(self.lookback_days, self.click_window_days, self.view_window_days)
        from attribution.budget.curves import parse_decay

        object.__setattr__(self, "decay", parse_decay(self.decay))
        if isinstance(self.bootstrap, bool) or not 0 <= self.bootstrap <= 10_000:
            raise ParameterError(
                "The 'bootstrap' parameter must be >= 0 and <= 10000. "
                f"Got {self.bootstrap!r} instead."
            )
        if self.attribution_bootstrap:
            check_bootstrap(1.0, self.attribution_bootstrap, "attribution_bootstrap")

    @property
    def window(self) -> Window:
        """Return the window of every row: curves are fitted on the whole history.

        Examples
        --------
        >>> CurvesQuery().window.since is None
        True
        """
        return Window.everything(journey=self.journey)

    @classmethod
    def create(
        cls, model: str | AttributionModel, params: Mapping[str, Any] | None = None, **fields: Any
    ) -> CurvesQuery:
        """Build the query from a model name and its parameters.

        Examples
        --------
        >>> CurvesQuery.create("last_touch").model.name
        'last_touch'
        """
        return cls(model=resolve_model(model, params), **fields)


def without_intervals(query: AttributionQuery) -> AttributionQuery:
    """Return the same query without bootstrap intervals.

    Examples
    --------
    >>> without_intervals(AttributionQuery(ci=0.9)).ci is None
    True
    """
    return replace(query, ci=None)


__all__ = [
    "DEFAULT_BOOTSTRAP",
    "INTERVALS",
    "MAX_BOOTSTRAP",
    "MAX_TOP",
    "MIN_BOOTSTRAP",
    "PERSON_KEYS",
    "REPORT_KEYS",
    "SPEND_KEYS",
    "TIME_SERIES_METRICS",
    "AttributionQuery",
    "CompareQuery",
    "CurvesQuery",
    "ExplainQuery",
    "FunnelQuery",
    "IntervalQuery",
    "PathsQuery",
    "PeriodQuery",
    "TimeSeriesQuery",
    "check_bootstrap",
    "check_by",
    "check_spend_by",
    "parse_stages",
    "resolve_model",
    "without_intervals",
]
