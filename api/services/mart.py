"""Materialize: every model's credit, revenue and spend per period × channel × campaign, stored.

:func:`build_mart` runs each model where ``closedloop attribute`` runs it,
but touch by touch (each touch's campaign and date): the models that credit
each journey on its own on the engine's converting journeys, first-order
Markov fitted on the engine's step counts and crediting those same
journeys, and only Markov of a higher order and counterfactual Shapley on
the journeys of every touch; each read once per ``data_version`` through the
services' cache. :func:`attribution.mart.credited_periods` sums the credit
per period, channel and campaign and :func:`attribution.mart.spend_periods`
the spend; :func:`materialize` writes the rows of every model in one
transaction (:class:`ingest.mart.Mart`), and :func:`refresh` re-runs the
current runs whose data has changed since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from api.services import Services
from api.services.attribution import on_converting, on_steps
from api.services.context import Context
from api.services.inputs import check_period
from api.services.queries import AttributionQuery, resolve_model
from attribution.compare import model_instances
from attribution.errors import ClosedloopError, ParameterError
from attribution.journeys import Journeys
from attribution.mart import credited_periods, mart_rows, spend_periods
from attribution.metrics import parse_stage_values
from attribution.models import AttributionModel
from attribution.models.markov import Markov
from attribution.numbers import format_number
from attribution.progress import report_progress, stage
from attribution.timeseries import require_interval
from ingest.accounts import check_journey
from ingest.mart import Mart, MartRun
from ingest.store import Store

ALL_MODELS = "all"
"""``--models all``: every registered model that runs on the data."""


@dataclass(frozen=True)
class MartQuery:
    """What to materialize: models, grain, stage, lookback and journeys.

    ``models`` is ``None`` for every registered model that runs on the data
    (those that cannot are skipped, with the reason); models named are all
    required to run.

    Examples
    --------
    >>> query = MartQuery.create("markov,linear", grain="day")
    >>> [m.name for m in query.models], query.grain
    (['markov', 'linear'], 'day')
    >>> MartQuery.create("all").models is None
    True
    >>> MartQuery(grain="quarter")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Unknown interval 'quarter'. Use one of: day, week, month.
    """

    models: tuple[AttributionModel, ...] | None = None
    grain: str = "week"
    stage: str | None = None
    lookback_days: float = 90.0
    journey: str = "person"
    stage_values: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        require_interval(self.grain)
        check_period(self.lookback_days, None, None)
        check_journey(self.journey)
        object.__setattr__(self, "lookback_days", float(self.lookback_days))
        given: Any = self.stage_values
        values = parse_stage_values(given if isinstance(given, str | Mapping) else dict(given))
        object.__setattr__(self, "stage_values", tuple(values.items()))
        if self.models is not None:
            names = [model.name for model in self.models]
            if not names or len(set(names)) != len(names):
                raise ParameterError(
                    f"Give each model once, e.g. --models markov,linear; got {','.join(names)!r}."
                )

    @classmethod
    def create(
        cls,
        models: str | Sequence[str] | None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        **fields: Any,
    ) -> MartQuery:
        """Build the query from model names (``"markov,linear"``, a list, or ``"all"``).

        ``params`` maps a model name to its parameters.

        Examples
        --------
        >>> MartQuery.create(["time_decay"], {"time_decay": {"half_life_days": 3}}).models
        (TimeDecay(half_life_days=3.0),)
        """
        names = models.split(",") if isinstance(models, str) else list(models or [ALL_MODELS])
        names = [name.strip() for name in names if name.strip()]
        if not names:
            raise ParameterError("Give models separated by commas, or all: --models markov,linear.")
        if names == [ALL_MODELS]:
            return cls(models=None, **fields)
        given = params or {}
        resolved = tuple(resolve_model(name, given.get(name)) for name in names)
        return cls(models=resolved, **fields)

    def definition(self) -> dict[str, Any]:
        """Return the query as JSON-able values (what ``mart_run_log.definition`` keeps).

        Examples
        --------
        >>> MartQuery.create("time_decay", grain="month").definition()["models"]
        {'time_decay': {'half_life_days': 7.0}}
        """
        return {
            "models": None
            if self.models is None
            else {model.name: asdict(model) for model in self.models},
            "grain": self.grain,
            "stage": self.stage,
            "lookback_days": self.lookback_days,
            "journey": self.journey,
            "stage_values": dict(self.stage_values),
        }

    @classmethod
    def from_definition(
        cls, definition: Mapping[str, Any], models: Sequence[str] | None = None
    ) -> MartQuery:
        """Rebuild a query from :meth:`definition`, keeping only ``models`` when given.

        Examples
        --------
        >>> kept = MartQuery.create("linear,markov", grain="day").definition()
        >>> [m.name for m in MartQuery.from_definition(kept, ["markov"]).models]
        ['markov']
        """
        asked: Mapping[str, Any] | None = definition.get("models")
        if models is None:
            names = list(asked) if asked else None
        else:  # in the order they were asked for
            names = [name for name in asked if name in models] if asked else list(models)
        return cls.create(
            names,
            asked,
            grain=definition["grain"],
            stage=definition.get("stage"),
            lookback_days=definition.get("lookback_days", 90.0),
            journey=definition.get("journey", "person"),
            stage_values=definition.get("stage_values") or {},
        )


@dataclass(frozen=True)
class MartBuild:
    """One computed run: its description and its rows, not yet written.

    Examples
    --------
    >>> MartBuild(MartRun("day", "purchase", (), {}, 0), pl.DataFrame()).rows.height
    0
    """

    run: MartRun
    rows: pl.DataFrame
    notes: tuple[str, ...] = field(default=())

    def describe(self, verb: str = "materialized") -> list[str]:
        """Say what the run wrote: one line, then each model's rows, conversions and revenue.

        Examples
        --------
        >>> from attribution.report import _tiny_example
        >>> built = build_mart(Services.for_frames(*_tiny_example()), MartQuery.create("linear"))
        >>> for line in built.describe():
        ...     print(line)
        materialized: grain week, stage purchase, data version 0, 1 model, 2 rows
          model   rows  conversions         revenue
          linear     2          1.0          100.00
        """
        run = self.run
        count = len(run.models)
        label = verb if run.run_id is None else f"{verb} run {run.run_id}"
        lines = [
            f"{label}: grain {run.grain}, stage {run.stage}, data version {run.data_version}, "
            f"{count} model{'' if count == 1 else 's'}, {self.rows.height:,} rows"
        ]
        revenue = pl.col("attributed_revenue")
        summary = self.rows.group_by("model", maintain_order=True).agg(
            pl.len().alias("rows"),
            pl.col("attributed_conversions").sum().alias("conversions"),
            # A stage without revenue and without a stage value has none: unknown, not 0.
            pl.when(revenue.is_null().all()).then(None).otherwise(revenue.sum()).alias("revenue"),
        )
        width = max(len("model"), *(len(name) for name in summary["model"]))
        lines.append(f"  {'model':<{width}}  {'rows':>6}  {'conversions':>11}  {'revenue':>14}")
        for name, rows, conversions, value in summary.iter_rows():
            credited = format_number(conversions, "conversions")
            shown = format_number(value, "money")
            lines.append(f"  {name:<{width}}  {rows:>6,}  {credited:>11}  {shown:>14}")
        return lines


def _credit_inputs(
    ctx: Context, query: AttributionQuery
) -> tuple[AttributionModel, Journeys, pl.DataFrame | None, str | None]:
    """Return the model to credit with, the journeys it credits, the costs and the currency.

    As :func:`api.services.attribution.attribution_report` runs a model,
    but touch by touch (the mart needs each touch's campaign and date):
    models that credit each journey on its own on the engine's converting
    journeys; first-order Markov fitted on the engine's step counts of every
    journey and crediting the converting ones; the rest (Markov of a higher
    order, counterfactual Shapley) on the journeys of every touch. All of
    them are read once per ``data_version`` through the services' cache.
    """
    model = query.model
    steps = ctx.steps(query, "channel") if on_steps(query) else None
    engine = ctx.converting(query) if on_converting(query) or steps is not None else None
    if engine is not None:
        ctx.require_conversions(engine, query, "materialize")
        assert engine.converting is not None  # conversions were found in the window
        if steps is not None:
            assert steps.steps is not None  # conversions were found in the window
            assert isinstance(model, Markov)  # on_steps said so
            model = model.on_steps(steps.steps.steps)
        return model, engine.converting.journeys, engine.costs, engine.currency
    inputs = ctx.inputs(query.window)
    ctx.require_conversions(inputs, query, "materialize")
    return model, ctx.journeys(query), inputs.costs, inputs.currency


def build_mart(services: Services, query: MartQuery) -> MartBuild:
    """Compute the mart rows of every model of ``query`` (nothing is written).

    Progress is reported per model (:mod:`attribution.progress`). A model
    that cannot run on the data is skipped with its reason when the models
    were not named (``all``); a named one raises, and nothing is built.

    Raises
    ------
    ClosedloopError
        A named model's error, or the first one when no model could run.

    Examples
    --------
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> built = build_mart(services, MartQuery.create("first_touch", grain="month"))
    >>> built.run.stage, built.rows.select("channel", "attributed_revenue", "spend").rows()
    ('purchase', [('Email', 100.0, 10.0), ('Search', 0.0, 20.0)])
    """
    ctx = services.context
    data_version = services.data_version()  # before reading: a change meanwhile shows as stale
    instances, explicit = model_instances(list(query.models) if query.models else None)
    frames: list[pl.DataFrame] = []
    skipped: dict[str, str] = {}
    failures: list[ClosedloopError] = []
    spend: pl.DataFrame | None = None
    resolved_stage: str | None = None
    currency: str | None = None
    for done, model in enumerate(instances):
        report_progress(f"materialize by {query.grain}", done, len(instances), "models")
        asked = AttributionQuery(
            model=model,
            stage=query.stage,
            lookback_days=query.lookback_days,
            journey=query.journey,
        )
        try:
            with stage(f"model {model.name}"):
                crediting, journeys, costs, currency = _credit_inputs(ctx, asked)
                credited = credited_periods(
                    journeys, crediting, query.grain, dict(query.stage_values)
                )
        except ClosedloopError as exc:
            if explicit:
                raise
            skipped[model.name] = str(exc)
            failures.append(exc)
            continue
        if spend is None:
            spend = spend_periods(costs, query.grain) if costs is not None else None
        resolved_stage = journeys.stage or ""
        frames.append(
            mart_rows(credited, spend, model=model.name, grain=query.grain, stage=resolved_stage)
        )
    report_progress(f"materialize by {query.grain}", len(instances), len(instances), "models")
    if not frames:
        raise failures[0]
    ran = tuple(name for name in (m.name for m in instances) if name not in skipped)
    run = MartRun(
        grain=query.grain,
        stage=resolved_stage or "",
        models=ran,
        definition=query.definition(),
        data_version=data_version,
        lookback_days=query.lookback_days,
        journey=query.journey,
        currency=currency,
        skipped=skipped,
    )
    notes = tuple(f"skipped {name}: {reason}" for name, reason in skipped.items())
    return MartBuild(run, pl.concat(frames), notes)


def materialize(services: Services, mart: Mart, query: MartQuery) -> MartBuild:
    """Build the mart of ``query`` and write it in one transaction; return what was written.

    Examples
    --------
    >>> store = _tiny_store()
    >>> built = materialize(Services.for_store(store), Mart(store), MartQuery.create("linear"))
    >>> built.run.run_id, Mart(store).read()["attributed_revenue"].sum()
    (1, 100.0)
    """
    built = build_mart(services, query)
    (run_id,) = mart.write([(built.run, built.rows)])
    return MartBuild(_with_id(built.run, run_id), built.rows, built.notes)


def _with_id(run: MartRun, run_id: int) -> MartRun:
    return MartRun(**{**run.__dict__, "run_id": run_id})


@dataclass(frozen=True)
class Refresh:
    """What :func:`refresh` did: the runs it wrote, or why it wrote nothing.

    Examples
    --------
    >>> Refresh((), 3, 2).refreshed
    False
    """

    builds: tuple[MartBuild, ...]
    data_version: int
    current_runs: int

    @property
    def refreshed(self) -> bool:
        """Whether any run was computed again.

        Examples
        --------
        >>> Refresh((), 0, 0).refreshed
        False
        """
        return bool(self.builds)

    def describe(self) -> list[str]:
        """Say what was refreshed (each run as :meth:`MartBuild.describe`), or that nothing was.

        Examples
        --------
        >>> Refresh((), 4, 1).describe()
        ['mart is current (data version 4, 1 run): nothing to refresh']
        """
        if not self.builds:
            runs = f"{self.current_runs} run{'' if self.current_runs == 1 else 's'}"
            return [
                f"mart is current (data version {self.data_version}, {runs}): nothing to refresh"
            ]
        return [line for built in self.builds for line in built.describe("refreshed")]


def refresh(services: Services, mart: Mart, *, force: bool = False) -> Refresh:
    """Re-run the current runs whose data has changed (all of them with ``force``), in one write.

    A run is current while some rows of the mart are its own; it is re-run
    with its definition, for the models whose rows it still holds. When the
    store's ``data_version`` is the one every current run read, nothing is
    computed or written.

    Raises
    ------
    ParameterError
        When the store holds no mart yet.

    Examples
    --------
    >>> store = _tiny_store()
    >>> services, mart = Services.for_store(store), Mart(store)
    >>> _ = materialize(services, mart, MartQuery.create("linear"))
    >>> refresh(services, mart).refreshed
    False
    """
    runs = mart.current()
    if not runs:
        raise ParameterError(
            "There is no mart to refresh in this store. Materialize one first, e.g. "
            "closedloop materialize --models markov,linear --grain week."
        )
    version = services.data_version()
    due = [run for run in runs if force or run.data_version != version]
    builds = [
        build_mart(services, MartQuery.from_definition(run.definition, run.models)) for run in due
    ]
    if builds:
        ids = mart.write([(built.run, built.rows) for built in builds])
        builds = [
            MartBuild(_with_id(built.run, run_id), built.rows, built.notes)
            for built, run_id in zip(builds, ids, strict=True)
        ]
    return Refresh(tuple(builds), version, len(runs))


def _tiny_store() -> Store:
    """Return a new store in a temporary folder holding the docstring examples' data."""
    import tempfile
    from pathlib import Path

    from attribution.report import _tiny_example

    touchpoints, conversions, costs = _tiny_example()
    utc = pl.col("ts").str.to_datetime(time_zone="UTC")
    store = Store(Path(tempfile.mkdtemp()) / "mart.duckdb")
    store.upsert_many(
        [
            ("touchpoints", touchpoints.with_columns(utc)),
            ("conversions", conversions.with_columns(utc)),
            ("costs", costs.with_columns(pl.col("date").str.to_date(), campaign=pl.lit(""))),
        ]
    )
    return store


__all__ = [
    "ALL_MODELS",
    "MartBuild",
    "MartQuery",
    "Refresh",
    "build_mart",
    "materialize",
    "refresh",
]
