"""Response bodies, as pydantic models so ``/docs`` shows what each route returns.

Names follow the FastAPI template: ``XPublic`` for one item, ``XsPublic`` for a
list with ``data`` and ``count``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.services.inputs import MAX_LOOKBACK_DAYS
from attribution.budget.plan import DEFAULT_CAP_MULTIPLE, DEFAULT_CI, DEFAULT_MAX_CHANGE

CurveKind = Literal["hill", "power", "log"]
BudgetPeriod = Literal["week", "month", "quarter"]


class ProblemItem(BaseModel):
    """One rejected value: the row (1-based, as a spreadsheet shows it) and field."""

    row: int | None = Field(description="1-based data row, null for a whole-file problem")
    field: str | None = Field(description="canonical column, or the request parameter")
    message: str
    file: str | None = Field(default=None, description="the file or source of the row")


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Unknown model"])
    status: int = Field(examples=[404])
    detail: str = Field(
        examples=[
            "Unknown model 'shapely'. Available models: first_touch, last_touch, linear, "
            "position_based, time_decay."
        ]
    )
    instance: str = Field(examples=["/v1/models/shapely"])
    errors: list[ProblemItem] | None = Field(
        default=None, description="rejected rows of an ingest, or unparsable parameters"
    )
    total: int | None = Field(default=None, description="number of problems in all")
    available: list[str] | None = Field(
        default=None, description="the names that exist, for an unknown model or table"
    )


class CachePublic(BaseModel):
    """The result cache of this server."""

    entries: int = Field(description="inputs, journeys and results held")
    bytes: int = Field(description="their estimated size")
    max_bytes: int = Field(description="the bound (`CLOSEDLOOP_CACHE_MB`)")
    hits: int
    misses: int


class HealthPublic(BaseModel):
    """The service is up, and what its store holds.

    Without a key on a server that needs one for reads, only ``status`` and
    ``version`` are answered (a load balancer's probe needs no more).
    """

    status: str = Field(examples=["ok"])
    version: str
    store: str | None = Field(
        default=None, description="file name of the DuckDB store (never its path)"
    )
    counts: dict[str, int] | None = Field(default=None, description="rows per canonical table")
    currency: str | None = Field(
        default=None, description="ISO 4217 reporting currency of the store"
    )
    data_version: int | None = Field(
        default=None, description="moves with every committed change to the store"
    )
    cache: CachePublic | None = None


class ParamPublic(BaseModel):
    """One model parameter."""

    name: str
    type: str
    default: Any
    description: str


class ModelPublic(BaseModel):
    """A registered attribution model and its parameters."""

    name: str = Field(examples=["time_decay"])
    label: str = Field(examples=["Time decay"], description="the name people read")
    summary: str
    params: list[ParamPublic]
    doc: str = Field(description="the model's docstring: assumptions and reference")


class ModelsPublic(BaseModel):
    """Every registered model."""

    data: list[ModelPublic]
    count: int
    next_cursor: str | None = None


class AttributionRow(BaseModel):
    """One row of an attribution report: the ``by`` value and its attributed metrics.

    The ``by`` column (``channel`` or ``campaign``) is the first member;
    interval columns are present with ``ci``.
    """

    model_config = ConfigDict(extra="allow")

    conversions: float = Field(description="attributed (fractional) conversions")
    revenue: float | None = Field(
        default=None, description="attributed revenue (closed_won, purchase and other stages)"
    )
    pipeline: float | None = Field(
        default=None, description="attributed pipeline amount (stage opportunity only)"
    )
    value: float | None = Field(
        default=None,
        description="attributed conversions × the stage value (lead, mql, sql; null without "
        "`stage_values`)",
    )
    spend: float | None = Field(description="spend of the key in the period; null if unknown")
    roas: float | None = Field(
        description="revenue (pipeline, value) / spend; null when spend is 0 or unknown, or "
        "the stage has no revenue and no stage value"
    )
    roi: float | None = Field(description="(revenue − spend) / spend, null as ROAS")
    cpa: float | None = Field(
        default=None, description="spend / conversions (revenue stages); null if nothing was paid"
    )
    cpl: float | None = Field(default=None, description="spend / leads (stage lead only)")
    impressions: int | None = Field(
        default=None, description="impressions of the key's cost rows; null if any is unknown"
    )
    clicks: int | None = Field(
        default=None, description="clicks of the key's cost rows; null if any is unknown"
    )
    ctr: float | None = Field(default=None, description="clicks / impressions")
    cpc: float | None = Field(default=None, description="spend / clicks")
    cpm: float | None = Field(default=None, description="spend / impressions × 1,000")
    other_costs: float | None = Field(
        default=None, description="totals only: non-media costs (channel `(sales)`)"
    )
    cac: float | None = Field(
        default=None,
        description="totals only: (spend + other costs) / customers, at closed_won / purchase",
    )
    conversions_low: float | None = None
    conversions_high: float | None = None
    revenue_low: float | None = None
    revenue_high: float | None = None
    roas_low: float | None = None
    roas_high: float | None = None
    revenue_calibrated: float | None = Field(
        default=None,
        description="with lift tests (by channel): revenue × calibration_factor; it no longer "
        "sums to closed revenue, `revenue` does",
    )
    calibration_factor: float | None = Field(
        default=None, description="with lift tests: the channel's factor (1 without a test)"
    )


class CalibrationPublic(BaseModel):
    """How the lift tests calibrated the report (present only when the store holds some)."""

    calibrated: bool
    tests: int = Field(description="lift tests that counted")
    factors: dict[str, float] = Field(
        description="calibration factor of every tested channel", examples=[{"Paid Social": 0.63}]
    )
    untested: str = Field(description="what happens to channels without a lift test")
    notes: list[str] = Field(description="tests left out, and why")


class UncertaintyPublic(BaseModel):
    """How bootstrap intervals were computed."""

    model_config = ConfigDict(extra="allow")

    method: str
    ci: float
    bootstrap: int
    seed: int


class AccountsPublic(BaseModel):
    """What account journeys (``journey=account``) did: accounts and the persons linked to them."""

    accounts: int = Field(description="distinct accounts the linked persons belong to")
    linked_persons: int = Field(description="persons (after stitching) linked to an account")
    persons_in_several_accounts: int = Field(
        description="linked persons with more than one account (they join the smallest id)"
    )
    note: str | None


class DiagnosticPublic(BaseModel):
    """One thing the data hides from the answer, with its figures and the fix (docs/diagnostics.md).

    Besides ``code``, ``severity`` and ``message``, each code carries its own
    figure fields (``share_revenue``, ``suggested_lookback_days``, ``keys`` …).
    """

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable snake_case code", examples=["no_touch_in_lookback"])
    severity: Literal["info", "warning"]
    message: str = Field(description="one sentence with the figures and the fix")


WARNINGS_DESCRIPTION = (
    "what the data hides from this answer (conversions no touch reached, spend matching no "
    "touch, unknown stages, …), warnings first; empty when nothing was found"
)


class IdentityPublic(BaseModel):
    """What identity stitching did to the ids of the touchpoints and conversions."""

    stitched: bool
    ids: int | None
    persons: int | None
    merged_ids: int | None
    oversized_components: int | None
    unmerged_ids: int | None
    max_component_size: int | None
    note: str | None
    touchpoints_remapped: int
    conversions_remapped: int
    journey: str = Field(
        default="person", description="`person`, or `account` (every person of an account)"
    )
    accounts: AccountsPublic | None = Field(
        default=None, description="with `journey=account`: the accounts journeys follow"
    )


class WindowsPublic(BaseModel):
    """The click and view windows that kept the touches (see the docs on windows)."""

    click_days: float = Field(description="days a click (any touch but a view) counts")
    view_days: float = Field(description="days a view (an impression) counts")
    view_interactions: list[str] = Field(
        description="`interaction` values that are views (trimmed, lower case)",
        examples=[["impression"]],
    )


class PositionRow(BaseModel):
    """Ordered Shapley credit of one key at one position (`1` … `4`, then `5+`)."""

    model_config = ConfigDict(extra="allow")

    position: str = Field(examples=["1", "5+"])
    conversions: float
    revenue: float


class PositionsPublic(BaseModel):
    """`shapley_ordered`'s credit per position and key (Zhao et al. 2018's φ_j^i)."""

    convention: Literal["first_visit", "touch"] = Field(
        description="`first_visit`: position i is the i-th distinct channel visited; "
        "`touch`: the i-th touch (the model's `position` parameter)"
    )
    max_position: int = Field(description="positions from this one on are summed as `<max>+`")
    data: list[PositionRow] = Field(
        description="one row per position and key (the key column is named by `by`); a "
        "key's positions sum to its row of `data`"
    )


class AttributionPublic(BaseModel):
    """Attributed conversions and revenue per channel or campaign, with ROAS, ROI and CPA.

    ``data`` rows have the ``by`` column (``channel`` or ``campaign``) and
    ``conversions``, ``revenue`` (attributed, fractional), ``spend``,
    ``roas`` = revenue / spend, ``roi`` = (revenue − spend) / spend and
    ``cpa`` = spend / conversions; a zero denominator gives null. Other
    stages name the value and cost columns their own way (``value_column``,
    ``cost_column``: ``pipeline`` / ``cost_per_opportunity``, ``value`` /
    ``cpl``, ``cost_per_mql`` …); ``impressions``, ``clicks``, ``ctr``,
    ``cpc`` and ``cpm`` come from the costs. With
    ``ci`` the rows also have ``conversions_low``, ``conversions_high``,
    ``revenue_low``, ``revenue_high``, ``roas_low`` and ``roas_high``, and
    ``uncertainty`` says how they were computed.
    """

    model: str = Field(examples=["time_decay"])
    params: dict[str, Any] = Field(examples=[{"half_life_days": 7.0}])
    by: str = Field(examples=["channel"])
    stage: str | None = Field(examples=["closed_won"])
    start: str | None = Field(description="first day of the period (inclusive)")
    end: str | None = Field(description="last day of the period (inclusive)")
    lookback_days: float
    windows: WindowsPublic | None = Field(
        default=None,
        description="the click and view windows used; the totals' `view_only_conversions` "
        "counts the conversions whose kept touches are all views",
    )
    currency: str = Field(examples=["USD"])
    value_column: str | None = Field(
        default=None,
        description="the rows' value column: `revenue`, `pipeline` (opportunity) or `value`",
        examples=["revenue"],
    )
    cost_column: str | None = Field(
        default=None,
        description="the rows' cost per conversion: `cpa`, `cpl` (lead) or `cost_per_<stage>`",
        examples=["cpa"],
    )
    stage_values: dict[str, float] | None = Field(
        default=None, description="the stage values used (`stage_values=lead=50`)"
    )
    data: list[AttributionRow] = Field(
        examples=[
            [
                {
                    "channel": "Paid Search",
                    "conversions": 12.5,
                    "revenue": 48200.0,
                    "spend": 9100.0,
                    "roas": 5.2967,
                    "roi": 4.2967,
                    "cpa": 728.0,
                }
            ]
        ]
    )
    totals: AttributionRow
    uncertainty: UncertaintyPublic | None = Field(
        default=None,
        description="with `ci`: the interval method, `ci`, `bootstrap` resamples and `seed`",
        examples=[
            {
                "method": "person-level bootstrap, percentile interval",
                "ci": 0.95,
                "bootstrap": 200,
                "seed": 0,
            }
        ],
    )
    count: int | None = Field(
        default=None, description="rows in all pages (with `limit`); `data` holds one page"
    )
    next_cursor: str | None = Field(
        default=None, description="`cursor` of the next page; null on the last page"
    )
    calibration: CalibrationPublic | None = Field(
        default=None,
        description="with lift tests in the store and `calibrate=true` (by channel): the "
        "factors behind `revenue_calibrated`",
    )
    positions: PositionsPublic | None = Field(
        default=None,
        description="with `model=shapley_ordered`: its credit per position × key (docs/paths.md)",
    )
    identity: IdentityPublic | None = Field(
        default=None,
        description="identity stitching: `stitched`, distinct `ids` in the identity pairs, the "
        "`persons` they map to, `merged_ids` (ids - persons), `oversized_components` left "
        "unmerged (more than `max_component_size` ids) with their `unmerged_ids`, the "
        "touchpoint and conversion rows whose id was replaced, and a `note`",
        examples=[
            {
                "stitched": True,
                "ids": 1840,
                "persons": 912,
                "merged_ids": 928,
                "oversized_components": 0,
                "unmerged_ids": 0,
                "max_component_size": 1000,
                "note": None,
                "touchpoints_remapped": 5210,
                "conversions_remapped": 133,
            }
        ],
    )
    warnings: list[DiagnosticPublic] = Field(default=[], description=WARNINGS_DESCRIPTION)


class PageMeta(BaseModel):
    """The members of a paged list."""

    count: int = Field(description="rows in all pages; `data` holds one page")
    next_cursor: str | None = Field(description="`cursor` of the next page; null on the last")


class PathRow(BaseModel):
    """One conversion path: its journeys, conversions, revenue, length and time to convert."""

    path: str = Field(examples=["Paid Search > Email"])
    steps: int
    journeys: float
    conversions: float
    conversion_rate: float | None = Field(description="conversions / journeys")
    revenue: float
    average_length: float | None = Field(description="touches per converting journey")
    average_days_to_conversion: float | None = Field(description="first touch to conversion")


class PathLengthRow(BaseModel):
    """Journeys, conversions and revenue of the paths with ``length`` touches."""

    length: int
    journeys: float
    conversions: float
    revenue: float


class TimeLagRow(BaseModel):
    """Conversions and revenue ``days`` whole days after the first touch."""

    days: int
    conversions: float
    revenue: float


class LengthBucketRow(BaseModel):
    """Journeys, conversions and revenue of the paths in one of GA4's length buckets."""

    bucket: str = Field(description="touches per path: `1` … `7`, `8-11`, `12+`", examples=["8-11"])
    journeys: float
    conversions: float
    revenue: float


class TimeLagBucketRow(BaseModel):
    """Conversions and revenue in one of GA4's time-lag buckets (whole days to convert)."""

    bucket: str = Field(
        description="whole days from first touch to conversion: `0` … `7`, `8-11`, `12+`",
        examples=["0"],
    )
    conversions: float
    revenue: float


class TouchPositionRow(BaseModel):
    """One key's credit from the early, middle and late touches of converting journeys.

    The key column is named by `by` (`channel`, `campaign`, …). Each part's
    conversions (revenue) sum, over the rows, to the conversions (revenue) of
    the journeys with a touch; see docs/paths.md for the split rule.
    """

    model_config = ConfigDict(extra="allow")

    early_conversions: float = Field(description="credit from the first 25% of touches")
    early_revenue: float
    middle_conversions: float = Field(description="credit from the middle 50% of touches")
    middle_revenue: float
    late_conversions: float = Field(description="credit from the last 25% of touches")
    late_revenue: float


class PathsPublic(PageMeta):
    """Top conversion paths (one page), path lengths and time lags."""

    by: str
    stage: str | None
    start: str | None
    end: str | None
    lookback_days: float
    windows: WindowsPublic | None = Field(default=None, description="the click and view windows")
    currency: str
    data: list[PathRow]
    lengths: list[PathLengthRow]
    time_lag: list[TimeLagRow]
    length_buckets: list[LengthBucketRow] = Field(
        description="GA4's path-length buckets, every one in order (zeros where empty)"
    )
    time_lag_buckets: list[TimeLagBucketRow] = Field(
        description="GA4's time-lag buckets, every one in order (zeros where empty); empty "
        "when touch times are unknown"
    )
    touch_positions: list[TouchPositionRow] = Field(
        description="per key: conversions and revenue credited to its early (first 25%), "
        "middle (50%) and late (last 25%) touches of converting journeys; each part sums to "
        "the conversions and revenue of journeys with a touch"
    )
    untouched_conversions: int = Field(description="conversions with no touch in the window")
    warnings: list[DiagnosticPublic] = Field(default=[], description=WARNINGS_DESCRIPTION)


class TimeSeriesRow(BaseModel):
    """One bucket of one key: ``period`` (bucket start), the key column and the metric."""

    model_config = ConfigDict(extra="allow")

    period: str = Field(examples=["2025-03-03"])


class TimeSeriesPublic(PageMeta):
    """One metric per key and bucket, zero-filled."""

    metric: str
    by: str
    interval: str
    model: str
    stage: str | None
    start: str | None
    end: str | None
    periods: int
    currency: str
    data: list[TimeSeriesRow]
    warnings: list[DiagnosticPublic] = Field(default=[], description=WARNINGS_DESCRIPTION)


class CompareRow(BaseModel):
    """One key with every model's ``<model>_conversions``, ``_revenue``, ``_roas``, ``_share``.

    Every model but the baseline also has ``<model>_conversions_change``,
    ``_revenue_change`` and ``_roas_change``: (model − baseline) / baseline, a
    fraction (0.25 is +25%), null where the baseline is 0 or null.
    """

    model_config = ConfigDict(extra="allow")

    spend: float | None
    max_share_gap: float | None = Field(description="max − min revenue share across models")
    max_share_model: str | None
    min_share_model: str | None


class ComparePublic(PageMeta):
    """Several models' credit per key, side by side."""

    models: list[str]
    baseline: str = Field(
        description="the model the others' % change (`<model>_*_change`) is from",
        examples=["last_touch"],
    )
    by: str
    stage: str | None
    start: str | None
    end: str | None
    lookback_days: float
    windows: WindowsPublic | None = Field(default=None, description="the click and view windows")
    currency: str
    data: list[CompareRow]
    totals: dict[str, AttributionRow] = Field(description="each model's totals")
    total_changes: dict[str, dict[str, float | None]] = Field(
        description="each model but the baseline: the % change of its totals "
        "(`conversions_change`, `revenue_change`, `roas_change`)"
    )
    skipped: dict[str, str] = Field(description="models left out, with the reason")
    warnings: list[DiagnosticPublic] = Field(default=[], description=WARNINGS_DESCRIPTION)


class IngestSummaryPublic(BaseModel):
    """What one ingest did: rows read, inserted, updated, unchanged and rejected."""

    table: str = Field(examples=["touchpoints"])
    files: list[str] = Field(description="the uploaded file's name, or `request body`")
    rows_read: int
    inserted: int = Field(description="rows with a new key")
    updated: int = Field(description="rows whose key existed with other values")
    unchanged: int = Field(description="rows already stored as they are")
    rejected: int = Field(description="invalid rows skipped (with `skip_invalid=true`)")
    rejects_path: str | None = Field(description="always null over HTTP: see `problems`")
    seconds: float
    problems: list[ProblemItem] = Field(
        description="the first 50 problems of the rejected rows (with `skip_invalid=true`)"
    )
    ignored: int = Field(
        default=0,
        description="rows left out by rule, not rejected (identity rows with an empty id)",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what to know about the rows written: stage names nothing maps, ignored rows",
    )


class PersonDeletionPublic(BaseModel):
    """What deleting a person removed: the ids and the rows of each table."""

    user_id: str = Field(description="the id asked for")
    ids: list[str] = Field(
        description="every id deleted: the one asked for and those stitched to it"
    )
    touchpoints: int
    conversions: int
    identities: int = Field(description="identity pairs removed")
    accounts: int = Field(default=0, description="person -> account links removed")
    rows: int = Field(description="rows removed from every table together")


class FunnelPublic(BaseModel):
    """Funnel counts and rates per group (``data``) and over everyone (``totals``)."""

    by: str | None = Field(description="the grouping, or null for the total only")
    mode: str = Field(description="`cohort` or `period`")
    assign: str | None = Field(description="how persons are put in a channel or campaign")
    stages: list[str] = Field(description="the funnel, entry stage first, winning stage last")
    lost_stages: list[str]
    absent_stages: list[str] = Field(
        description="stages of the funnel (losing ones included) with no row in the data the "
        "report read: their counts and every rate that needs them are null, never filled in"
    )
    count_columns: list[str] = Field(
        description="the count column of each stage of `stages`, in order (`leads`, `mqls`, "
        "…, `won`)"
    )
    start: str | None
    end: str | None
    currency: str
    data: list[dict[str, Any]] = Field(
        description="one row per group: the group column, counts, rates, times and money "
        "(see docs/funnel.md); a ratio with a zero denominator is null, and so is a count or "
        "rate of an absent stage, `lost` and `win_rate` without a losing stage in the data"
    )
    totals: dict[str, Any]
    notes: list[str] = Field(
        description="what the nulls of absent stages mean, and customers left out of "
        "`days_lead_to_won` (a win dated before the lead row)"
    )
    warnings: list[DiagnosticPublic] = Field(default=[], description=WARNINGS_DESCRIPTION)


class CurvesPublic(BaseModel):
    """Every channel's response curve, with its fit, ROAS and the points to draw it."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=["markov"])
    params: dict[str, Any]
    by: str = Field(examples=["channel"])
    curve: str = Field(examples=["hill"])
    currency: str = Field(examples=["USD"])
    data: list[dict[str, Any]] = Field(
        description="One row per channel: `status` (`curve`, `not enough evidence`, "
        "`no spend`), `reason`, `r2`, `residual_sd`, `weeks`, `spend_min`, `spend_max`, "
        "`current_spend`, `current_revenue`, `average_roas`, `marginal_roas`, "
        "`saturation_spend`, `threshold_spend`, `marginal_roas_low` and `marginal_roas_high` "
        "(the 90% interval at current spend), `decay` (estimated or given), `held_reason` "
        "(why a channel with spend is held), `pooled`, `decay_profile`, `params` and `points` "
        "(`observed` weeks, `curve` on a grid with its 90% range `revenue_low`/`revenue_high`, "
        "`marks` such as `current`, and the `saturation` point where the marginal ROAS falls "
        "below 1)."
    )


class PlanPublic(BaseModel):
    """A recommended weekly allocation per channel, its predicted revenue and warnings."""

    model_config = ConfigDict(extra="allow")

    model: str
    by: str
    data: list[dict[str, Any]] = Field(
        description="One row per channel, amounts in the `period`'s money: `current_spend`, "
        "`recommended_spend`, `change`, `change_pct`, `current_weekly`, `recommended_weekly`, "
        "`lower`, `upper`, `binding` (`cap`, `max`, `min`, `max_change`, `floor`, `zero`, "
        "`lock`, `held`), "
        "`current_revenue`, `predicted_revenue`, `marginal_roas_current`, `marginal_roas`, "
        "`average_roas`, `roas`, `saturation_spend`, `threshold_spend`, `points`."
    )
    totals: dict[str, Any] = Field(
        description="`budget` (and `budget_weekly`), spend and predicted revenue now and as "
        "planned, and the `revenue_low` / `revenue_high` range at level `ci`."
    )
    warnings: list[str]
    period: BudgetPeriod = Field(examples=["quarter"])
    weeks_per_period: float = Field(examples=[13.0])
    max_change: float | None = Field(description="The guard rail used (null: none).")
    allow_zero: bool | list[str]


class RobustPlanPublic(BaseModel):
    """The robust plan across models: its rows, totals and warnings."""

    model_config = ConfigDict(extra="allow")

    objective: Literal["worst", "mean"] = Field(
        description="What it maximises across the models' curves: the `worst` case (maximin) "
        "or the `mean` of the predicted revenue change from the current allocation."
    )
    data: list[dict[str, Any]] = Field(
        description="One row per channel with spend: `status`, `held_by` (the models whose "
        "curves hold it), `current_spend`, `recommended_spend`, `change`, `change_pct`, "
        "`current_weekly`, `recommended_weekly`, `lower`, `upper`, `binding`, `held_reason`."
    )
    totals: dict[str, Any] = Field(
        description="`budget`, spend now and as planned, `current_revenue`, "
        "`predicted_revenue` and `revenue_change` per model, `worst_change` (and "
        "`worst_model`), `mean_change`, and `regret` / `regret_pct` per model: each model's "
        "own plan's revenue minus the robust plan's, under that model's curves."
    )
    warnings: list[str]


class MultiPlanPublic(BaseModel):
    """Plans across models: each model's plan, the robust plan, every plan under every model."""

    model_config = ConfigDict(extra="allow")

    models: list[str] = Field(examples=[["markov", "linear", "position_based"]])
    by: str = Field(examples=["channel"])
    data: list[dict[str, Any]] = Field(
        description="The plans side by side, one row per channel with spend: `status` and "
        "`held_by` (the robust plan's), `current_spend`, then for each model `<model>` (its "
        "recommended spend) and `<model>_change_pct`, then `robust`, `robust_change_pct` and "
        "`binding`; amounts in the `period`'s money."
    )
    plans: dict[str, PlanPublic] = Field(description="Each model's own plan, by model name.")
    robust: RobustPlanPublic
    matrix: list[dict[str, Any]] = Field(
        description="One row per plan (`plan`: `current`, each model, `robust`): its `spend`, "
        "its predicted revenue under each model's curves (one member per model), and its "
        "`worst_change` and `mean_change` from `current` across the models."
    )
    warnings: list[str]
    period: BudgetPeriod = Field(examples=["quarter"])
    weeks_per_period: float = Field(examples=[13.0])
    max_change: float | None = Field(description="The guard rail used (null: none).")
    allow_zero: bool | list[str]


class WhatIfPublic(BaseModel):
    """Predicted revenue and ROAS of an allocation over a period."""

    model_config = ConfigDict(extra="allow")

    model: str
    by: str
    data: list[dict[str, Any]]
    totals: dict[str, Any]
    warnings: list[str]
    period: BudgetPeriod = Field(examples=["quarter"])
    weeks_per_period: float = Field(examples=[13.0])


class CurvesRequest(BaseModel):
    """What the curves are fitted on: the attribution model and the curve's shape."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="linear", description="A registered attribution model.")
    params: dict[str, float | int | str] = Field(
        default_factory=dict, description="The model's parameters."
    )
    by: str = Field(default="channel", description="`channel` or `campaign`.")
    stage: str | None = Field(
        default=None, description="Conversion stage (default as attribution)."
    )
    lookback_days: float = Field(default=90.0, gt=0, le=MAX_LOOKBACK_DAYS)
    click_window_days: float | None = Field(
        default=None,
        gt=0,
        le=MAX_LOOKBACK_DAYS,
        description="Days a click counts (default: lookback_days).",
    )
    view_window_days: float | None = Field(
        default=None,
        ge=0,
        le=MAX_LOOKBACK_DAYS,
        description="Days a view (an impression) counts (default 1).",
    )
    curve: CurveKind = Field(default="hill", description="Curve shape: hill, power or log.")
    decay: Literal["auto"] | float = Field(
        default="auto",
        description="Geometric adstock decay: `auto` (estimated per channel) or a value in [0, 1).",
    )
    bootstrap: int = Field(default=100, ge=0, le=10_000, description="Curve-fit resamples.")
    attribution_bootstrap: int = Field(
        default=0, ge=0, le=10_000, description="Person-level attribution resamples (0: none)."
    )
    seed: int = Field(default=0, ge=0)
    threshold: float | None = Field(
        default=None,
        gt=0,
        description="Also report the spend where marginal ROAS drops below this.",
    )
    points: bool = Field(default=True, description="Include each channel's curve points.")
    journey: Literal["person", "account"] = Field(
        default="person", description="`account`: one journey per account (B2B)."
    )
    calibrate: bool = Field(
        default=True,
        description="Scale each channel with a lift test to agree with it (`false`: ignore "
        "lift tests); the answer's `calibration` says what was done.",
    )


class PlanRequest(CurvesRequest):
    """A budget plan: the period, its total budget, the guard rails and the bounds per channel."""

    period: BudgetPeriod = Field(
        default="week",
        description="The period of `budget`, of the bounds' amounts and of the plan: `week`, "
        "`month` (52/12 weeks) or `quarter` (13 weeks).",
    )
    budget: float | None = Field(
        default=None, ge=0, description="Total budget of one period (default: current total)."
    )
    max_change: float | None = Field(
        default=DEFAULT_MAX_CHANGE,
        ge=0,
        description="Guard rail: each channel moves at most this fraction of its current "
        "spend (0.3: ±30%); `null` removes it. A channel's own `min`/`max` replaces it.",
    )
    allow_zero: bool | list[str] = Field(
        default=False,
        description="Channels the plan may cut below 10% of current spend, to zero "
        "(`true`: every channel).",
        examples=[["Display"]],
    )
    min: dict[str, float | str] = Field(
        default_factory=dict,
        description="Per-channel minimum: an amount per period or a change from current (`-20%`).",
        examples=[{"Display": "-20%"}],
    )
    max: dict[str, float | str] = Field(
        default_factory=dict,
        description="Per-channel maximum: an amount per period or a change from current (`+30%`).",
        examples=[{"Paid Search": 12000}],
    )
    locks: list[str] = Field(default_factory=list, description="Channels kept at current spend.")
    cap_multiple: float = Field(
        default=DEFAULT_CAP_MULTIPLE,
        gt=0,
        description="Cap each channel at this × its largest observed weekly spend.",
    )
    ci: float = Field(default=DEFAULT_CI, gt=0, lt=1, description="Level of the revenue range.")
    models: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Plan under each of these models, side by side, with a robust plan across "
        'them (`["all"]`: every registered model). A body with neither `model` nor `models` '
        "plans under markov, linear and position_based; a body with `model` gets that one "
        "model's plan; both together are an error.",
        examples=[["markov", "linear", "position_based"]],
    )
    robust: Literal["worst", "mean"] = Field(
        default="worst",
        description="Plans across models: the robust plan maximises the `worst` case (maximin) "
        "or the `mean` across the models of the predicted revenue change from now.",
    )


class WhatIfRequest(CurvesRequest):
    """An allocation to predict: spend per channel and period (others stay as they are)."""

    period: BudgetPeriod = Field(
        default="week", description="The period of the allocation: `week`, `month` or `quarter`."
    )
    allocation: dict[str, float | str] = Field(
        description="Spend per channel and period: an amount or a change from current (`+20%`).",
        examples=[{"Paid Social": 6000, "Display": "-25%"}],
    )
    ci: float = Field(default=DEFAULT_CI, gt=0, lt=1)


__all__ = [
    "AccountsPublic",
    "AttributionPublic",
    "AttributionRow",
    "CachePublic",
    "ComparePublic",
    "CompareRow",
    "CurvesPublic",
    "CurvesRequest",
    "FunnelPublic",
    "HealthPublic",
    "IdentityPublic",
    "IngestSummaryPublic",
    "LengthBucketRow",
    "ModelPublic",
    "ModelsPublic",
    "MultiPlanPublic",
    "PageMeta",
    "ParamPublic",
    "PathLengthRow",
    "PathRow",
    "PathsPublic",
    "PersonDeletionPublic",
    "PlanPublic",
    "PlanRequest",
    "PositionRow",
    "PositionsPublic",
    "Problem",
    "ProblemItem",
    "RobustPlanPublic",
    "TimeLagBucketRow",
    "TimeLagRow",
    "TimeSeriesPublic",
    "TimeSeriesRow",
    "TouchPositionRow",
    "UncertaintyPublic",
    "WhatIfPublic",
    "WhatIfRequest",
    "WindowsPublic",
]
