"""The model contract: what every attribution model is and returns.

A model is a small frozen dataclass. Its parameters are keyword fields with
defaults, so every model can be built with no arguments; ``name`` is the
registry key and the API value. Validate parameters in ``__post_init__``.

To add a model, write one module::

    @dataclass(frozen=True, kw_only=True)
    class HalfAndHalf(AttributionModel):
        '''Half to the first touch, half to the last.'''

        name: ClassVar[str] = "half_and_half"
        summary: ClassVar[str] = "50% first touch, 50% last touch"

        def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
            t = journeys.converting
            first = (pl.col("position") == 0).cast(pl.Float64)
            last = (pl.col("position") == pl.col("n_touches") - 1).cast(pl.Float64)
            return to_credits(t.with_columns(((first + last) / 2).alias("weight")))

and add the class to ``MODELS`` in ``attribution/models/__init__.py`` (or
decorate it with :func:`attribution.register_model`). The contract test then
checks it like every other model.

Uncertainty: the person-level bootstrap (:mod:`attribution.uncertainty`) asks
each model for its own resampling, :meth:`AttributionModel.resampler`, and
never looks at which model it is. The default suits most models: it
reweights the per-touch credit when
:attr:`~AttributionModel.population_independent` says that is right, and
reruns the model on every resample otherwise. A model that can recompute its
totals faster overrides it (Markov re-solves its chain from resampled path
counts).
"""

from __future__ import annotations

import dataclasses
import typing
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import polars as pl

from attribution.constants import NOT_SET
from attribution.errors import ParameterError
from attribution.journeys import Journeys, require_converting, require_touch_column
from attribution.models.resampling import Resampler, ResampleSpec, rerun, reweighted_credit
from attribution.schema import CREDITS

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One model parameter as the CLI and the API describe it."""

    name: str
    type: str
    default: Any
    description: str

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AttributionModel(ABC):
    """Base class of every attribution model.

    A model implements :meth:`credit` (per-touch weights of every converting
    journey); everything else has a default built on it:

    - :meth:`key_totals`: conversions and revenue per channel (or campaign);
    - :meth:`resampler`: how the person-level bootstrap recomputes those
      totals on resamples, ``resampler(journeys, spec, *, credited=None) ->
      Resampler``. The bootstrap calls it once and then
      ``Resampler.evaluate(multipliers)`` on blocks of resamples, with no
      special case for any model. The default reweights the per-touch
      credit computed once when :attr:`population_independent` is ``True``
      (rule-based models, Shapley) and reruns :meth:`key_totals` on every
      resample otherwise; a model that can do better overrides it (Markov
      with ``normalisation="global"`` re-solves its chain from resampled
      path counts).

    Examples
    --------
    >>> from attribution.models import Linear, Markov
    >>> Linear.population_independent, Markov.population_independent
    (True, False)
    """

    name: ClassVar[str]
    label: ClassVar[str] = ""
    """The name people read in reports and the dashboard ("Time decay"); ``name`` if empty."""
    summary: ClassVar[str]
    param_docs: ClassVar[dict[str, str]] = {}
    population_independent: ClassVar[bool] = False
    """Whether a journey's weights depend on that journey alone, not on the others.

    Set to ``True`` by rule-based models and Shapley (an equal split of each
    journey): the default :meth:`resampler` then credits the journeys once and
    reweights them. The default is ``False``, the safe choice for a new model:
    every resample reruns it. Claiming ``True`` for a model whose credit of
    one journey depends on the others (Markov, counterfactual Shapley,
    anything estimated from the whole population) would make the intervals
    too narrow; a test checks each claim.
    """

    path_exact: ClassVar[bool] = False
    """Whether the credit of a journey depends only on its sequence of ``by`` values.

    Such a model gives the same answer on aggregated paths (one journey per
    distinct path, with a count) as on every journey: the engine then builds
    the paths where the data lives and only they reach Python. ``False`` (the
    safe default) for models that read touch times or stage milestones.
    """

    def runs_on_paths(self, by: str = "channel") -> bool:
        """Say whether this model, reporting by ``by``, gives the same credit on aggregated paths.

        Examples
        --------
        >>> from attribution.models import Linear, TimeDecay
        >>> Linear().runs_on_paths(), TimeDecay().runs_on_paths()
        (True, False)
        """
        return self.path_exact

    @abstractmethod
    def credit(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Credit every converting journey to its touches.

        Parameters
        ----------
        journeys
            Output of :func:`attribution.build_journeys`.
        by
            The touch column data-driven models build their states from
            (``channel`` or ``campaign``); rule-based models ignore it.

        Returns
        -------
        polars.DataFrame
            :data:`attribution.schema.CREDITS`: one row per touch of a converting
            journey, the weights of one journey summing to 1.
        """

    def key_totals(self, journeys: Journeys, by: str = "channel") -> pl.DataFrame:
        """Return the conversions and revenue credited to each value of ``by``.

        The default credits the touches and sums them per key, as
        :func:`attribution.attribute` does; models that know their totals
        without per-touch credit may answer faster. The bootstrap calls this
        on every resample of a population-dependent model.

        Returns
        -------
        polars.DataFrame
            ``by`` (``(not set)`` for a touch without a value), ``conversions``
            and ``revenue``, sorted by ``by``; untouched conversions are not included.

        Examples
        --------
        >>> from attribution.models import Linear
        >>> from attribution.report import _tiny_example
        >>> from attribution.journeys import build_journeys
        >>> tp, cv, _ = _tiny_example()
        >>> Linear().key_totals(build_journeys(tp, cv)).rows()
        [('Email', 0.5, 50.0), ('Search', 0.5, 50.0)]
        """
        touches = credit_touches(journeys, self, by)
        return (
            touches.group_by(pl.col(by).cast(pl.String).fill_null(NOT_SET).alias(by))
            .agg(
                pl.col("attributed_conversions").sum().alias("conversions"),
                pl.col("attributed_revenue").sum().alias("revenue"),
            )
            .sort(by)
        )

    def resampler(
        self, journeys: Journeys, spec: ResampleSpec, *, credited: pl.DataFrame | None = None
    ) -> Resampler:
        """Return how to recompute this model's totals on bootstrap resamples of ``journeys``.

        The bootstrap (:func:`attribution.uncertainty.bootstrap_totals`) calls
        this once, then the returned :class:`~attribution.models.resampling.Resampler`'s
        ``evaluate`` on every block of resamples: a ``(units, b)`` array of
        how many times each unit's (person's) journeys count goes in, the
        conversions and revenue credited to each key of ``spec`` in each
        resample come out (two ``(b, keys)`` arrays). The default:

        - if :attr:`population_independent`, credits the touches once (or
          takes ``credited``) and reweights that per-touch credit
          (:func:`~attribution.models.resampling.reweighted_credit`, route
          ``"fixed weights"``);
        - otherwise reruns :meth:`key_totals` on every resample
          (:func:`~attribution.models.resampling.rerun`, route ``"rerun"``).

        Override it when the model can recompute its totals faster, as
        :class:`~attribution.models.markov.Markov` does by re-solving its
        chain from resampled path counts.

        Parameters
        ----------
        journeys
            The journeys of the data.
        spec
            The key column, the keys and the resampling units.
        credited
            The converting touches already credited by this model
            (:func:`credit_touches`), if the caller has them.

        Returns
        -------
        Resampler

        Examples
        --------
        >>> from attribution.models import Linear
        >>> from attribution.report import _tiny_example
        >>> from attribution.journeys import build_journeys
        >>> tp, cv, _ = _tiny_example()
        >>> spec = ResampleSpec("channel", ("Email", "Search"),
        ...     pl.DataFrame({"user_id": ["a"], "unit": [0]}))
        >>> resampler = Linear().resampler(build_journeys(tp, cv), spec)
        >>> resampler.route, resampler.evaluate(np.array([[2.0]]))[0].tolist()
        ('fixed weights', [[1.0, 1.0]])
        """
        if self.population_independent:
            touches = credited if credited is not None else credit_touches(journeys, self, spec.by)
            return reweighted_credit(touches, spec)
        return rerun(journeys, self.key_totals, spec)

    def weights_sum_to_one_per_journey(self) -> bool:
        """Say whether every converting journey's weights sum to exactly 1.

        True for every model except where documented (Markov with
        ``normalisation="global"`` keeps channel totals exact instead when both
        cannot hold). The grand total is always exact.
        """
        return True

    def params(self) -> dict[str, Any]:
        """Return the parameters as a plain dict (what the API echoes)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def param_specs(cls) -> list[ParamSpec]:
        """Describe the parameters: name, type, default and meaning."""
        hints = typing.get_type_hints(cls)
        specs = []
        for f in dataclasses.fields(cls):
            hint = hints.get(f.name, Any)
            specs.append(
                ParamSpec(
                    name=f.name,
                    type=getattr(hint, "__name__", str(hint)),
                    default=f.default,
                    description=cls.param_docs.get(f.name, ""),
                )
            )
        return specs

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Return the model's name, summary, parameters and docstring as JSON-ready data."""
        return {
            "name": cls.name,
            "label": cls.label or cls.name,
            "summary": cls.summary,
            "params": [p.to_dict() for p in cls.param_specs()],
            "doc": (cls.__doc__ or "").strip(),
        }


def credit_touches(
    journeys: Journeys, model: AttributionModel, by: str = "channel"
) -> pl.DataFrame:
    """Run ``model`` and join its credit to the touches, with attributed revenue per touch.

    Returns the converting touches with ``weight``, ``revenue_weight``,
    ``attributed_conversions`` (``weight × count``) and ``attributed_revenue``
    (``revenue_weight × count × revenue``), ready for any ``group_by``.

    Examples
    --------
    >>> from attribution.models import Linear
    >>> from attribution.report import _tiny_example
    >>> from attribution.journeys import build_journeys
    >>> tp, cv, _ = _tiny_example()
    >>> credit_touches(build_journeys(tp, cv), Linear())["attributed_revenue"].to_list()
    [50.0, 50.0]
    """
    require_touch_column(journeys.touches, by)
    require_converting(journeys)
    credits = model.credit(journeys, by)
    touches = journeys.converting.join(credits, on=["journey_id", "touchpoint_id"], how="left")
    weight = pl.col("weight").fill_null(0.0)
    revenue_weight = pl.col("revenue_weight").fill_null(0.0)
    return touches.with_columns(
        weight,
        revenue_weight,
        (weight * pl.col("count")).alias("attributed_conversions"),
        (revenue_weight * pl.col("count") * pl.col("revenue")).alias("attributed_revenue"),
    )


def key_frame(
    by: str, keys: list[str], conversions: FloatArray, revenue: FloatArray
) -> pl.DataFrame:
    """Return ``by``, ``conversions``, ``revenue`` as a frame (what ``key_totals`` returns).

    Examples
    --------
    >>> key_frame("channel", ["A"], np.array([1.0]), np.array([5.0])).row(0)
    ('A', 1.0, 5.0)
    """
    return pl.DataFrame(
        {by: keys, "conversions": conversions, "revenue": revenue},
        schema={by: pl.String, "conversions": pl.Float64, "revenue": pl.Float64},
    )


def to_credits(frame: pl.DataFrame) -> pl.DataFrame:
    """Select the :data:`~attribution.schema.CREDITS` columns from a frame with ``weight``.

    ``revenue_weight`` defaults to ``weight`` when the frame has none.

    Examples
    --------
    >>> to_credits(pl.DataFrame({"journey_id": ["c1"], "touchpoint_id": ["t1"], "weight": [1],
    ...     "channel": ["Email"]}))
    shape: (1, 4)
    ┌────────────┬───────────────┬────────┬────────────────┐
    │ journey_id ┆ touchpoint_id ┆ weight ┆ revenue_weight │
    │ ---        ┆ ---           ┆ ---    ┆ ---            │
    │ str        ┆ str           ┆ f64    ┆ f64            │
    ╞════════════╪═══════════════╪════════╪════════════════╡
    │ c1         ┆ t1            ┆ 1.0    ┆ 1.0            │
    └────────────┴───────────────┴────────┴────────────────┘
    """
    if "revenue_weight" not in frame.columns:
        frame = frame.with_columns(pl.col("weight").alias("revenue_weight"))
    return frame.select(pl.col(c).cast(t) for c, t in CREDITS.items())


def normalise_per_journey(raw: pl.Expr) -> pl.Expr:
    """Scale raw non-negative scores so they sum to 1 within each journey.

    Examples
    --------
    >>> df = pl.DataFrame({"journey_id": ["a", "a", "b"], "s": [1.0, 3.0, 2.0]})
    >>> df.select(normalise_per_journey(pl.col("s")).alias("w"))["w"].to_list()
    [0.25, 0.75, 1.0]
    """
    return raw / raw.sum().over("journey_id")


def require_fraction(model: object, name: str, value: float) -> None:
    """Raise :class:`ParameterError` unless ``0 <= value <= 1``.

    Examples
    --------
    >>> require_fraction(object(), "first_weight", 0.4)
    """
    if not 0.0 <= value <= 1.0:
        raise ParameterError(
            f"The '{name}' parameter of {type(model).__name__} must be between 0 and 1. "
            f"Got {value!r} instead."
        )


def require_positive(model: object, name: str, value: float) -> None:
    """Raise :class:`ParameterError` unless ``value > 0``.

    Examples
    --------
    >>> require_positive(object(), "half_life_days", 7.0)
    """
    if not value > 0:
        raise ParameterError(
            f"The '{name}' parameter of {type(model).__name__} must be > 0. Got {value!r} instead."
        )
