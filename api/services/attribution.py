"""Attribution: credit revenue to channels or campaigns with one model (``GET /v1/attribution``).

:func:`attribute` answers from the store or frames through the cache;
:func:`attribute_path_table` attributes an uploaded aggregated path table
(``POST /v1/attribution/paths``, ``closedloop attribute --paths``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from api.services.calibration import calibrate_report
from api.services.context import Context
from api.services.diagnose import attribution_diagnostics, with_warnings
from api.services.queries import AttributionQuery, TimeSeriesQuery, check_bootstrap
from api.services.results import Result, json_rows, report_result
from attribution import AttributionModel
from attribution.errors import ParameterError
from attribution.export import text_table
from attribution.models.markov import Markov
from attribution.models.shapley_ordered import MAX_POSITION, ShapleyOrdered, position_credit
from attribution.numbers import column_kind
from attribution.paths import PATH_COLUMNS, attribute_paths, iso_currency
from attribution.report import AttributionReport, report_journeys

Progress = Callable[[int, int], None]


def identity_notes(identity: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Say under a table what identity stitching did, when there was anything to stitch.

    Examples
    --------
    >>> identity_notes({"stitched": False})
    ('identity: not stitched (--no-stitch): conversions credited by raw id',)
    >>> identity_notes(None)
    ()
    >>> identity_notes({"stitched": True, "ids": 0, "journey": "account", "accounts": {
    ...     "accounts": 1, "linked_persons": 2, "note": None}})
    ('journeys: by account: 2 persons linked to 1 account are one journey per account',)
    """
    if identity is None:
        return ()
    return _stitch_notes(identity) + account_notes(identity.get("accounts"))


def _stitch_notes(identity: Mapping[str, Any]) -> tuple[str, ...]:
    if not identity["stitched"]:
        return ("identity: not stitched (--no-stitch): conversions credited by raw id",)
    if not identity["ids"]:
        return ()
    persons = identity["persons"]
    line = (
        f"identity: {identity['ids']:,} ids stitched into {persons:,} "
        f"person{'' if persons == 1 else 's'}; {identity['touchpoints_remapped']:,} touchpoint "
        f"and {identity['conversions_remapped']:,} conversion rows re-keyed"
    )
    return (line, f"note: {identity['note']}") if identity["note"] else (line,)


def account_notes(accounts: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Say under a table what account journeys did (nothing for person journeys).

    Examples
    --------
    >>> account_notes(None)
    ()
    >>> for line in account_notes({"accounts": 0, "linked_persons": 0, "note": "none linked"}):
    ...     print(line)
    journeys: by account: 0 persons linked to 0 accounts are one journey per account
    note: none linked
    """
    if accounts is None:
        return ()
    persons, count = accounts["linked_persons"], accounts["accounts"]
    line = (
        f"journeys: by account: {persons:,} person{'' if persons == 1 else 's'} linked to "
        f"{count:,} account{'' if count == 1 else 's'} are one journey per account"
    )
    return (line, f"note: {accounts['note']}") if accounts["note"] else (line,)


def attribute(ctx: Context, query: AttributionQuery, progress: Progress | None = None) -> Result:
    """Attribute the conversions of ``query``'s period with its model.

    The result's members are the report's (model, params, by, stage, period,
    currency, totals, uncertainty), ``identity`` and ``warnings`` (see
    :mod:`api.services.diagnose`); its rows are the report's per-channel (or
    campaign) rows. When the source holds lift tests and ``query.calibrate``
    (the default), a report by channel also has ``revenue_calibrated`` and
    ``calibration_factor`` columns and a ``calibration`` member
    (:mod:`api.services.calibration`).

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> result = attribute(services.context, AttributionQuery.create("last_touch"))
    >>> result.to_dict()["data"][0]["channel"], result.members["totals"]["revenue"]
    ('Search', 100.0)
    """

    def answer(asked: AttributionQuery) -> Result:
        def compute() -> Result:
            report, identity = attribution_report(ctx, asked, progress)
            report, found, notes = calibrate_report(ctx, asked, report, attribution_report)
            result = with_positions(_result(report, identity).with_notes(*notes), report)
            if found is not None:
                result = replace(result, members={**result.members, "calibration": found.summary()})
            # Computed with the answer and cached with it: a warm answer pays nothing.
            return with_warnings(result, attribution_diagnostics(ctx, asked, report))

        return ctx.cached(("attribution", asked), compute)

    # A period over all the data computes the undated answer; it is that answer when the
    # dates it reports (the data's first and last day) are the ones asked for.
    return ctx.shared(query, answer, same=lambda result: reports_period(result, query))


def reports_period(result: Result, query: AttributionQuery) -> bool:
    """Say whether ``result`` reports the dates ``query`` names (those it does not are free).

    Examples
    --------
    >>> import datetime as dt
    >>> result = Result("x", {"start": "2024-01-01", "end": "2024-03-31"}, pl.DataFrame())
    >>> reports_period(result, AttributionQuery(start=dt.date(2024, 1, 1)))
    True
    >>> reports_period(result, AttributionQuery(end=dt.date(2024, 4, 30)))
    False
    """
    return all(
        result.members.get(name) == asked.isoformat()
        for name, asked in (("start", query.start), ("end", query.end))
        if asked is not None
    )


def attribution_report(
    ctx: Context, query: AttributionQuery, progress: Progress | None = None
) -> tuple[AttributionReport, dict[str, Any] | None]:
    """Compute the report of ``query`` and the identity stitching it used (not cached).

    Models that credit each journey on its own (with or without intervals)
    are credited on the engine's converting journeys (:func:`on_converting`:
    a few percent of the rows, and cheaper to build than every path);
    first-order Markov on the engine's step counts of every journey and its
    converting paths (:func:`on_steps`: no distinct path of a non-converting
    journey is built); the other path-exact ones (Markov of a higher order,
    counterfactual Shapley), which need the non-converting journeys' paths,
    on the engine's distinct paths (:func:`on_paths`); the rest (their
    intervals, Markov's ``order=auto``) on the journeys of every touch.

    Examples
    --------
    >>> from api.services import Services
    >>> from attribution.report import _tiny_example
    >>> services = Services.for_frames(*_tiny_example())
    >>> report, identity = attribution_report(services.context, AttributionQuery())
    >>> report.totals["revenue"], identity["stitched"]
    (100.0, True)
    """
    converting = ctx.converting(query) if on_converting(query) else None
    if converting is not None:
        ctx.require_conversions(converting, query)
        assert converting.converting is not None  # conversions were found in the window
        report = report_journeys(
            converting.converting.journeys,
            query.model,
            costs=converting.costs,
            by=query.by,
            start=query.start,
            end=query.end,
            currency=converting.currency,
            stage_values=dict(query.stage_values),
            ci=query.ci,
            bootstrap=query.bootstrap,
            seed=query.seed,
            progress=progress,
            non_converting=converting.converting.non_converting,
            absent_persons=converting.converting.absent_persons,
        )
        return report, converting.identity
    counted = ctx.steps(query, query.by) if on_steps(query) else None
    if counted is not None:
        ctx.require_conversions(counted, query)
        assert counted.steps is not None  # conversions were found in the window
        report = report_journeys(
            counted.steps.journeys(),
            _on_steps(query.model, counted.steps.steps),
            costs=counted.costs,
            by=query.by,
            start=query.start,
            end=query.end,
            currency=counted.currency,
            stage_values=dict(query.stage_values),
            conversion_dates=counted.steps.conversion_dates,
            non_converting=counted.steps.non_converting,
        )
        return report, counted.identity
    engine = ctx.paths(query, query.by) if on_paths(query) else None
    if engine is not None:
        ctx.require_conversions(engine, query)
        assert engine.aggregate is not None  # conversions were found in the window
        report = report_journeys(
            engine.aggregate.journeys(),
            query.model,
            costs=engine.costs,
            by=query.by,
            start=query.start,
            end=query.end,
            currency=engine.currency,
            stage_values=dict(query.stage_values),
            conversion_dates=engine.aggregate.conversion_dates,
        )
        return report, engine.identity
    inputs = ctx.inputs(query.window)
    ctx.require_conversions(inputs, query)
    report = report_journeys(
        ctx.journeys(query),
        query.model,
        costs=inputs.costs,
        by=query.by,
        start=query.start,
        end=query.end,
        currency=inputs.currency,
        stage_values=dict(query.stage_values),
        ci=query.ci,
        bootstrap=query.bootstrap,
        seed=query.seed,
        progress=progress,
    )
    return report, inputs.identity


PATH_KEYS = ("channel", "campaign")
"""The touch columns the engine builds paths of."""


def on_paths(query: AttributionQuery) -> bool:
    """Say whether the query can be answered from the engine's aggregated paths.

    Yes when the model's credit depends on the path alone (see
    :meth:`attribution.AttributionModel.runs_on_paths`) and no bootstrap is
    asked for (it resamples persons, which paths no longer know).

    Examples
    --------
    >>> on_paths(AttributionQuery.create("markov")), on_paths(AttributionQuery.create("time_decay"))
    (True, False)
    >>> on_paths(AttributionQuery.create("linear", ci=0.9))
    False
    """
    return query.ci is None and query.by in PATH_KEYS and query.model.runs_on_paths(query.by)


def on_steps(query: AttributionQuery) -> bool:
    """Say whether the query can be answered from the engine's step counts.

    Yes for Markov of order 1 without intervals: its chain needs of the
    journeys only how often each step is taken
    (:class:`attribution.markov.FirstOrderChain`), and its credit only the
    converting journeys (:meth:`attribution.models.Markov.on_steps`).

    Examples
    --------
    >>> on_steps(AttributionQuery.create("markov")), on_steps(AttributionQuery.create("shapley"))
    (True, False)
    >>> on_steps(AttributionQuery.create("markov", params={"order": 2}))
    False
    """
    model = query.model
    return (
        query.ci is None
        and query.by in PATH_KEYS
        and isinstance(model, Markov)
        and not isinstance(model.order, str)
        and model.order == 1
    )


def _on_steps(model: AttributionModel, steps: pl.DataFrame) -> AttributionModel:
    """Return the Markov model of an :func:`on_steps` query, crediting from the engine's steps."""
    assert isinstance(model, Markov)  # on_steps said so
    return model.on_steps(steps)


def on_converting(query: AttributionQuery | TimeSeriesQuery) -> bool:
    """Say whether the query can be answered from the engine's converting journeys alone.

    Yes when the model credits each journey on its own (see
    :attr:`attribution.AttributionModel.population_independent`): the
    non-converting journeys then earn nothing and change nothing. A bootstrap
    too: it draws the persons those journeys leave out as well (they add
    nothing), so the intervals vary exactly as over every person.

    Examples
    --------
    >>> on_converting(AttributionQuery.create("time_decay"))
    True
    >>> on_converting(AttributionQuery.create("linear", ci=0.9))
    True
    >>> on_converting(AttributionQuery.create("markov"))
    False
    """
    return query.by in PATH_KEYS and query.model.population_independent


def _result(report: AttributionReport, identity: Mapping[str, Any] | None) -> Result:
    # The per-touch credit is not part of the answer: keep the cache small.
    report = replace(report, credits=report.credits.clear())
    return report_result(
        f"attribution-{report.model}",
        report,
        extra={"identity": identity},
        notes=identity_notes(identity),
    )


@dataclass(frozen=True)
class PathTableQuery:
    """Attribute an aggregated path table (one row per path with its counts).

    Examples
    --------
    >>> PathTableQuery(columns={"conversions": "conv"}).columns
    {'conversions': 'conv'}
    >>> PathTableQuery(columns={"bogus": "x"})
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Unknown path column role(s): bogus. ...

    ``start``, ``end`` and ``currency`` say what period the table covers and
    what its values are in; ``None`` (reported as ``null``) unless given.

    >>> PathTableQuery(currency="eur").currency
    'EUR'
    """

    model: AttributionModel | str = "linear"
    params: Mapping[str, Any] = field(default_factory=dict)
    sep: str = ">"
    columns: Mapping[str, str] = field(default_factory=dict)
    by: str = "channel"
    start: dt.date | None = None
    end: dt.date | None = None
    currency: str | None = None
    source: str = "paths"
    ci: float | None = None
    bootstrap: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(PATH_COLUMNS))
        if unknown:
            raise ParameterError(
                f"Unknown path column role(s): {', '.join(unknown)}. A path table maps "
                f"{', '.join(PATH_COLUMNS)} (e.g. --map conversions=conv)."
            )
        check_bootstrap(self.ci, self.bootstrap)
        if self.currency is not None:
            object.__setattr__(self, "currency", iso_currency(self.currency))
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ParameterError(
                f"start ({self.start}) is after end ({self.end}); the period is inclusive at "
                "both ends."
            )


def attribute_path_table(
    frame: pl.DataFrame, query: PathTableQuery, progress: Progress | None = None
) -> Result:
    """Attribute an aggregated path table (see :func:`attribution.attribute_paths`).

    Examples
    --------
    >>> table = pl.DataFrame({"path": ["A > B", "B"], "total_conversions": [1, 1]})
    >>> result = attribute_path_table(table, PathTableQuery(model="last_touch"))
    >>> [(r["channel"], r["conversions"]) for r in result.to_dict()["data"]]
    [('A', 0.0), ('B', 2.0)]
    """
    report = attribute_paths(
        frame,
        model=query.model,
        sep=query.sep,
        columns=dict(query.columns),
        by=query.by,
        start=query.start,
        end=query.end,
        currency=query.currency,
        params=dict(query.params),
        source=query.source,
        ci=query.ci,
        bootstrap=query.bootstrap,
        seed=query.seed,
        progress=progress,
    )
    return with_positions(report_result(f"attribution-{report.model}", report), report)


def with_positions(result: Result, report: AttributionReport) -> Result:
    """Add the ``positions`` member to a ``shapley_ordered`` answer (others are unchanged).

    ``positions`` holds the model's ``convention`` (its ``position``
    parameter), ``max_position`` and ``data``: one row per position label
    (``"1"`` … ``"4"``, ``"5+"``) and key with the ``conversions`` and
    ``revenue`` credited there (:func:`attribution.models.shapley_ordered.position_credit`).

    Examples
    --------
    >>> from attribution.report import _tiny_example
    >>> from attribution import attribute
    >>> report = attribute(*_tiny_example(), model="shapley_ordered")
    >>> result = with_positions(report_result("x", report), report)
    >>> [(r["position"], r["channel"]) for r in result.members["positions"]["data"]]
    [('1', 'Email'), ('2', 'Search')]
    """
    if report.model != ShapleyOrdered.name:
        return result
    convention = str(report.params.get("position", "first_visit"))
    table = position_credit(report.credits, report.by, position=convention)
    positions = {"convention": convention, "max_position": MAX_POSITION, "data": json_rows(table)}
    return replace(result, members={**result.members, "positions": positions})


def positions_view(result: Result) -> Result:
    """Return a ``shapley_ordered`` answer as its position × key table (``--positions``).

    Its rows (CSV, JSON ``data``) are the long ``positions`` rows; its
    terminal table pivots them: positions as rows, keys as columns, for
    conversions and for revenue.

    Raises
    ------
    ParameterError
        When the answer has no positions (another model).

    Examples
    --------
    >>> from attribution.report import _tiny_example
    >>> from attribution import attribute
    >>> report = attribute(*_tiny_example(), model="shapley_ordered")
    >>> view = positions_view(with_positions(report_result("x", report), report))
    >>> print(view.to_table().splitlines()[0])
    shapley_ordered credit by position (first_visit: the i-th distinct channel visited) and channel
    """
    positions = result.members.get("positions")
    if positions is None:
        raise ParameterError(
            f"Only shapley_ordered splits credit by position; got {result.members.get('model')}. "
            "Use --model shapley_ordered."
        )
    by = result.members["by"]
    rows = pl.DataFrame(
        positions["data"],
        schema={"position": pl.String, by: pl.String, "conversions": pl.Float64,
                "revenue": pl.Float64},
    )  # fmt: skip
    meaning = {
        "first_visit": "the i-th distinct channel visited",
        "touch": "the i-th touch",
    }[positions["convention"]]
    title = f"shapley_ordered credit by position ({positions['convention']}: {meaning}) and {by}"
    currency = result.members.get("currency")

    def table() -> str:
        parts = [title]
        for measure in ("conversions", "revenue"):
            wide = _pivot(rows, by, measure)
            kind = column_kind(measure, pl.Float64())
            kinds = dict.fromkeys(wide.columns[1:], kind)
            parts += [f"{measure}:", text_table(wide, currency=currency, kinds=kinds)]
        return "\n".join(parts)

    members = {k: v for k, v in result.members.items() if k != "positions"}
    members["convention"] = positions["convention"]
    members["max_position"] = positions["max_position"]
    return replace(
        result, name=f"{result.name}-positions", members=members, data=rows, table=table, csv=None
    )


def _pivot(rows: pl.DataFrame, by: str, measure: str) -> pl.DataFrame:
    """Positions as rows (in order), keys as columns (by total credit), and a total column."""
    if rows.is_empty():
        return pl.DataFrame({"position": []}, schema={"position": pl.String})
    keys = (
        rows.group_by(by).agg(pl.col(measure).sum()).sort([measure, by], descending=[True, False])
    )[by].to_list()
    order = rows.select("position").unique(maintain_order=True)
    wide = rows.pivot(on=by, index="position", values=measure).fill_null(0.0)
    wide = order.join(wide, on="position", how="left", maintain_order="left").select(
        "position", *keys
    )
    return wide.with_columns(pl.sum_horizontal(*keys).alias("total"))


__all__ = [
    "PathTableQuery",
    "attribute",
    "attribute_path_table",
    "attribution_report",
    "identity_notes",
    "on_paths",
    "on_steps",
    "positions_view",
    "reports_period",
    "with_positions",
]
