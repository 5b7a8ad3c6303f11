"""Person-level bootstrap intervals (attribution.uncertainty, attribute(ci=...)).

The fast routes (fixed weights, Markov on paths) are checked against a
brute-force rerun of the model on the very same resamples; the slow test at
the end measures the coverage of the intervals on ground-truth data (its
numbers are recorded in docs/uncertainty.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attribution import MODELS, attribute, build_journeys, get_model
from attribution.errors import ParameterError
from attribution.journeys import Journeys
from attribution.markov import PathChain
from attribution.metrics import MEDIA_COLUMNS
from attribution.models import Markov
from attribution.report import INTERVAL_COLUMNS, NO_TOUCHPOINT
from attribution.simulate import random_chain, simulate_markov_journeys, true_removal_effects
from attribution.uncertainty import BootstrapDraws, bootstrap_totals
from attribution.uncertainty.bootstrap import _Persons

REL_TOL = 1e-9

SPEND = {"Search": 500.0, "Social": 300.0, "Email": 0.0}


def simulated(n_persons: int, seed: int, n_channels: int = 4) -> tuple[pl.DataFrame, ...]:
    spec = random_chain(n_channels, seed=1)
    tp, cv = simulate_markov_journeys(n_persons, **spec.as_kwargs(), seed=seed)
    # Varied revenue, so revenue intervals are not a rescaled copy of conversions.
    cv = cv.with_columns((pl.col("revenue") * (1 + pl.int_range(pl.len()) % 3)).alias("revenue"))
    return tp, cv


def with_untouched(tp: pl.DataFrame, cv: pl.DataFrame) -> pl.DataFrame:
    extra = pl.DataFrame(
        {
            "conversion_id": ["x1", "x2"],
            "user_id": ["nobody1", "nobody2"],
            "ts": cv["ts"][:2],
            "stage": ["purchase", "purchase"],
            "revenue": [70.0, 30.0],
        }
    ).cast(cv.schema)
    return pl.concat([cv, extra])


def costs(tp: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": ["2024-01-01"] * len(SPEND),
            "channel": list(SPEND),
            "spend": list(SPEND.values()),
        }
    )


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    tp, cv = simulated(1_500, seed=3)
    return tp, with_untouched(tp, cv)


# ---------------------------------------------------------------------------- report


@pytest.mark.parametrize("model", ["linear", "markov", "shapley"])
def test_report_gets_six_columns_after_the_point_columns(
    data: tuple[pl.DataFrame, pl.DataFrame], model: str
) -> None:
    tp, cv = data
    report = attribute(tp, cv, costs(tp), model=model, ci=0.9, bootstrap=30, seed=1)
    assert report.data.columns == [
        "channel",
        "conversions",
        "revenue",
        "spend",
        "roas",
        "roi",
        "cpa",
        *MEDIA_COLUMNS,
        *INTERVAL_COLUMNS,
    ]
    assert report.uncertainty == {
        "method": "person-level bootstrap, percentile interval",
        "ci": 0.9,
        "bootstrap": 30,
        "seed": 1,
    }
    body = report.to_dict()
    assert body["uncertainty"] == report.uncertainty
    json.dumps(body, allow_nan=False)
    assert report.to_csv().splitlines()[0].endswith(",".join(INTERVAL_COLUMNS))
    assert "roas_high" in report.to_table()


def test_no_ci_no_columns(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    tp, cv = data
    report = attribute(tp, cv, model="linear")
    assert not set(INTERVAL_COLUMNS) & set(report.data.columns)
    assert report.to_dict()["uncertainty"] is None


@pytest.mark.parametrize("model", sorted(MODELS))
def test_low_point_high_in_typical_data(
    data: tuple[pl.DataFrame, pl.DataFrame], model: str
) -> None:
    tp, cv = data
    # The counterfactual Shapley reruns on every resample: fewer keep the suite fast.
    resamples = 20 if model == "shapley_counterfactual" else 40
    report = attribute(tp, cv, costs(tp), model=model, ci=0.95, bootstrap=resamples, seed=2)
    rows = report.data.filter(pl.col("conversions") > 0)
    assert rows.height >= 4
    for low, point, high in (
        ("conversions_low", "conversions", "conversions_high"),
        ("revenue_low", "revenue", "revenue_high"),
    ):
        assert (rows[low] <= rows[point] * (1 + 1e-9)).all(), (model, low)
        assert (rows[point] <= rows[high] * (1 + 1e-9)).all(), (model, high)
    assert (rows["conversions_low"] < rows["conversions_high"]).all()


def test_roas_interval_is_revenue_interval_over_spend_and_null_without_spend(
    data: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    tp, cv = data
    report = attribute(tp, cv, costs(tp), model="linear", ci=0.95, bootstrap=20)
    by_channel = {row["channel"]: row for row in report.data.to_dicts()}
    search = by_channel["Search"]
    assert search["roas_low"] == pytest.approx(search["revenue_low"] / 500.0, rel=REL_TOL)
    assert search["roas_high"] == pytest.approx(search["revenue_high"] / 500.0, rel=REL_TOL)
    for name in ("Email", NO_TOUCHPOINT):  # spend 0, and no spend at all
        assert by_channel[name]["roas_low"] is None
        assert by_channel[name]["roas_high"] is None
    no_costs = attribute(tp, cv, model="linear", ci=0.95, bootstrap=20)
    assert no_costs.data["roas_low"].null_count() == no_costs.data.height


def test_untouched_conversions_get_intervals(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    tp, cv = data
    report = attribute(tp, cv, model="first_touch", ci=0.95, bootstrap=50, seed=4)
    row = report.data.filter(pl.col("channel") == NO_TOUCHPOINT).row(0, named=True)
    assert row["conversions"] == 2.0
    assert row["conversions_low"] <= 2.0 <= row["conversions_high"]
    assert row["conversions_high"] > row["conversions_low"]
    assert row["revenue_high"] > 0


def test_seeded_reproducibility(data: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    tp, cv = data
    a = attribute(tp, cv, model="markov", ci=0.95, bootstrap=20, seed=7).data
    b = attribute(tp, cv, model="markov", ci=0.95, bootstrap=20, seed=7).data
    c = attribute(tp, cv, model="markov", ci=0.95, bootstrap=20, seed=8).data
    assert a.equals(b)
    assert not a.equals(c)


@pytest.mark.parametrize("model", ["position_based", "markov"])
def test_row_order_does_not_matter(data: tuple[pl.DataFrame, pl.DataFrame], model: str) -> None:
    tp, cv = data
    a = attribute(tp, cv, model=model, ci=0.9, bootstrap=20, seed=5).data
    b = attribute(
        tp.sample(fraction=1.0, shuffle=True, seed=1),
        cv.sample(fraction=1.0, shuffle=True, seed=2),
        model=model,
        ci=0.9,
        bootstrap=20,
        seed=5,
    ).data
    assert_frame_equal(a, b, rel_tol=REL_TOL)


def test_width_shrinks_as_data_grows() -> None:
    widths = []
    for n in (400, 6_400):
        tp, cv = simulated(n, seed=11)
        data = attribute(tp, cv, model="linear", ci=0.95, bootstrap=60, seed=1).data
        width = (data["conversions_high"] - data["conversions_low"]) / data["conversions"]
        widths.append(float(width.mean()))  # type: ignore[arg-type]
    # 16 times the persons: relative width about a quarter.
    assert widths[1] < 0.4 * widths[0]


def test_single_person_gives_point_intervals() -> None:
    tp = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2"],
            "user_id": ["a", "a"],
            "ts": ["2024-01-01", "2024-01-02"],
            "channel": ["Email", "Search"],
        }
    )
    cv = pl.DataFrame(
        {
            "conversion_id": ["c1"],
            "user_id": ["a"],
            "ts": ["2024-01-03"],
            "stage": ["purchase"],
            "revenue": [100.0],
        }
    )
    for model in ("linear", "markov", "shapley_counterfactual"):
        data = attribute(tp, cv, model=model, ci=0.95, bootstrap=10).data
        assert (data["conversions_low"] == data["conversions"]).all(), model
        assert (data["conversions_high"] == data["conversions"]).all(), model
        assert (data["revenue_high"] == data["revenue"]).all(), model


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ci": 0.0}, "The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). Got 0.0 instead."),
        ({"ci": 1.0}, "The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). Got 1.0 instead."),
        ({"ci": 95}, "The 'ci' parameter must be > 0 and < 1 (e.g. 0.95). Got 95 instead."),
        (
            {"ci": 0.95, "bootstrap": 9},
            "The 'bootstrap' parameter must be an integer >= 10. Got 9 instead.",
        ),
        (
            {"ci": 0.95, "bootstrap": 20.5},
            "The 'bootstrap' parameter must be an integer >= 10. Got 20.5 instead.",
        ),
        ({"ci": 0.95, "seed": -1}, "The 'seed' parameter must be an integer >= 0. Got -1 instead."),
    ],
)
def test_bad_ci_or_bootstrap(
    data: tuple[pl.DataFrame, pl.DataFrame], kwargs: dict[str, Any], message: str
) -> None:
    tp, cv = data
    with pytest.raises(ParameterError) as caught:
        attribute(tp, cv, model="linear", **kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize("model", ["linear", "markov"])
def test_progress_is_reported(data: tuple[pl.DataFrame, pl.DataFrame], model: str) -> None:
    tp, cv = data
    calls: list[tuple[int, int]] = []
    attribute(tp, cv, model=model, ci=0.9, bootstrap=12, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (12, 12)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ---------------------------------------------------------------------------- routes


def brute_force(
    journeys: Journeys, model_name: str, resamples: int, seed: int, **params: object
) -> BootstrapDraws:
    """Rerun the model's full credit on every resample: the reference for the fast routes."""
    model = get_model(model_name, **params)
    persons = _Persons.of(journeys)
    rng = np.random.default_rng(seed)
    index = persons.index()
    touches = journeys.touches.join(index, on="user_id", how="left")
    untouched = journeys.untouched.join(index, on="user_id", how="left")
    keys = sorted(
        set(journeys.touches["channel"].to_list())
        | ({NO_TOUCHPOINT} if untouched.height else set())
    )
    conv = np.zeros((resamples, len(keys)))
    rev = np.zeros((resamples, len(keys)))
    for b in range(resamples):
        mult = persons.multipliers(rng)
        sample = touches.with_columns(
            pl.col("count") * pl.Series(mult[touches["person"].to_numpy()])
        ).filter(pl.col("count") > 0)
        credited = (
            sample.filter(pl.col("converted"))
            .join(
                model.credit(
                    replace(journeys, touches=sample.drop("person"), untouched=journeys.untouched),
                    "channel",
                ),
                on=["journey_id", "touchpoint_id"],
                how="left",
            )
            .group_by("channel")
            .agg(
                (pl.col("weight") * pl.col("count")).sum().alias("c"),
                (pl.col("revenue_weight") * pl.col("count") * pl.col("revenue")).sum().alias("r"),
            )
        )
        for key, c, r in credited.iter_rows():
            conv[b, keys.index(key)] = c
            rev[b, keys.index(key)] = r
        if untouched.height:
            m = mult[untouched["person"].to_numpy()]
            conv[b, keys.index(NO_TOUCHPOINT)] = m.sum()
            rev[b, keys.index(NO_TOUCHPOINT)] = (m * untouched["revenue"].to_numpy()).sum()
    return BootstrapDraws("channel", tuple(keys), conv, rev, seed, "brute force")


@pytest.fixture(scope="module")
def small_journeys() -> Journeys:
    tp, cv = simulated(300, seed=5)
    return build_journeys(tp, with_untouched(tp, cv))


@pytest.mark.parametrize(
    ("model", "route"),
    [
        ("first_touch", "fixed weights"),
        ("time_decay", "fixed weights"),
        ("position_based", "fixed weights"),
        ("shapley_ordered", "fixed weights"),
        ("markov", "markov paths"),
        ("shapley_counterfactual", "rerun"),
    ],
)
def test_fast_routes_equal_brute_force_on_the_same_draws(
    small_journeys: Journeys, model: str, route: str
) -> None:
    fast = bootstrap_totals(small_journeys, get_model(model), resamples=12, seed=3)
    slow = brute_force(small_journeys, model, resamples=12, seed=3)
    assert fast.route == route
    assert fast.keys == slow.keys
    # IPF stops within 1e-10 conversions per conversion, so Markov's totals match to that.
    rel = 1e-8 if model == "markov" else REL_TOL
    np.testing.assert_allclose(fast.conversions, slow.conversions, rtol=rel, atol=1e-9)
    np.testing.assert_allclose(fast.revenue, slow.revenue, rtol=rel, atol=1e-7)


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("collapse_repeats", [False, True])
def test_markov_path_totals_equal_credit(
    small_journeys: Journeys, order: int, collapse_repeats: bool
) -> None:
    model = Markov(order=order, collapse_repeats=collapse_repeats)
    expected = model.key_totals(small_journeys)
    got = model.path_totals(small_journeys.paths())
    joined = expected.join(got, on="channel", how="full", coalesce=True).fill_null(0.0)
    np.testing.assert_allclose(joined["conversions"], joined["conversions_right"], rtol=1e-8)
    np.testing.assert_allclose(joined["revenue"], joined["revenue_right"], rtol=1e-8)


def test_markov_path_totals_edge_cases() -> None:
    # Z converts only with X and has no removal effect of its own in a chain where
    # X always converts; W is only seen in non-converting paths.
    paths = pl.DataFrame(
        {
            "path": [["X"], ["X", "Z"], ["W"], ["Y"]],
            "conversions": [3.0, 1.0, 0.0, 2.0],
            "revenue": [30.0, 50.0, 0.0, 0.0],
            "nulls": [0.0, 0.0, 4.0, 0.0],
        }
    )
    from attribution.paths import journeys_from_paths

    table = paths.select(
        pl.col("path").list.join(">"),
        pl.col("conversions").alias("total_conversions"),
        pl.col("revenue").alias("total_conversion_value"),
        pl.col("nulls").alias("total_null"),
    )
    journeys = journeys_from_paths(table)
    expected = Markov().key_totals(journeys)
    got = Markov().path_totals(paths)
    joined = expected.join(got, on="channel", how="full", coalesce=True).fill_null(0.0)
    np.testing.assert_allclose(joined["conversions"], joined["conversions_right"], atol=1e-9)
    np.testing.assert_allclose(joined["revenue"], joined["revenue_right"], atol=1e-7)


def test_markov_path_totals_refuses_journey_normalisation() -> None:
    with pytest.raises(ParameterError, match="normalisation='global'"):
        Markov(normalisation="journey").path_totals(pl.DataFrame())


def test_markov_journey_normalisation_reruns(small_journeys: Journeys) -> None:
    draws = bootstrap_totals(small_journeys, Markov(normalisation="journey"), resamples=10)
    assert draws.route == "rerun"


def test_path_chain_sparse_solver_equals_dense(
    small_journeys: Journeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = small_journeys.paths()
    chain = PathChain.from_paths(paths["path"], order=2)
    numbers = [paths[c].to_numpy() for c in ("conversions", "revenue", "nulls")]
    dense = chain.totals(*numbers)
    monkeypatch.setattr("attribution.markov.chain._DENSE_STATES", 0)
    sparse = chain.totals(*numbers)
    np.testing.assert_allclose(dense[0], sparse[0], rtol=1e-10)
    np.testing.assert_allclose(dense[1], sparse[1], rtol=1e-10)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_population_independent_models_credit_a_journey_alone(
    small_journeys: Journeys, name: str
) -> None:
    """The capability the fast route relies on: a journey's weights ignore the others."""
    model = get_model(name)
    if not model.population_independent:
        pytest.skip("population-dependent: rerun by the bootstrap")
    try:
        everyone = model.credit(small_journeys, "channel").sort("journey_id", "touchpoint_id")
    except ParameterError as error:  # e.g. models that need funnel-stage timestamps
        pytest.skip(str(error))
    some = small_journeys.converting["journey_id"].unique().sort()[:25]
    alone = replace(
        small_journeys,
        touches=small_journeys.touches.filter(pl.col("journey_id").is_in(some.implode())),
    )
    subset = model.credit(alone, "channel").sort("journey_id", "touchpoint_id")
    assert_frame_equal(
        everyone.filter(pl.col("journey_id").is_in(some.implode())), subset, rel_tol=REL_TOL
    )


def test_aggregated_paths_resample_each_counted_person() -> None:
    from attribution.paths import journeys_from_paths

    table = pl.DataFrame(
        {"path": ["A>B", "B"], "total_conversions": [40, 60], "total_null": [100, 50]}
    )
    draws = bootstrap_totals(journeys_from_paths(table), get_model("linear"), resamples=200)
    totals = draws.conversions.sum(axis=1)
    # 250 persons, 100 of them converting: binomial spread, not all-or-nothing rows.
    assert totals.mean() == pytest.approx(100, rel=0.05)
    assert 5 < totals.std() < 10


# ---------------------------------------------------------------------------- coverage


@pytest.mark.slow
def test_coverage_of_channel_shares_on_ground_truth() -> None:
    """The 95% interval of each channel's share covers the true share ~95% of the time.

    Recorded in docs/uncertainty.md; run with
    ``python -m pytest -m slow tests/attribution/test_bootstrap.py -k coverage -s``.
    """
    spec = random_chain(6, seed=1)
    truth = true_removal_effects(**spec.as_kwargs())
    total = sum(truth.values())
    channels = sorted(truth)
    true_share = np.array([truth[c] / total for c in channels])
    replications, persons = 200, 5_000
    covered = np.zeros(len(channels))
    for r in range(replications):
        tp, cv = simulate_markov_journeys(persons, **spec.as_kwargs(), seed=1_000 + r)
        draws = bootstrap_totals(build_journeys(tp, cv), Markov(), resamples=200, seed=r)
        assert list(draws.keys) == channels
        low, high = np.quantile(draws.shares(), [0.025, 0.975], axis=0)
        covered += (low <= true_share) & (true_share <= high)
    rate = covered / replications
    print(f"\ncoverage per channel {dict(zip(channels, rate.round(3).tolist(), strict=True))}")
    print(f"overall {rate.mean():.3f} over {replications * len(channels)} intervals")
    assert 0.91 <= rate.mean() <= 0.98
    assert rate.min() >= 0.85


def test_absent_persons_are_drawn_too() -> None:
    """Persons left out of the journeys still take draws: each present person's multiplier is
    Binomial(N, 1/N) over all N persons (variance 1 - 1/N), not over the present ones only."""

    from attribution.uncertainty.bootstrap import _Persons

    present = _Persons(["a", "b", "c", "d", "e"], np.ones(5), 5)
    with_absent = _Persons(["a", "b", "c", "d", "e"], np.ones(5), 5, absent=995)
    rng = np.random.default_rng(0)
    alone = np.stack([present.multipliers(rng) for _ in range(4000)])
    drawn = np.stack([with_absent.multipliers(rng) for _ in range(4000)])
    assert alone.sum(axis=1).std() == 0  # five draws over five persons, always
    assert drawn.mean() == pytest.approx(1.0, abs=0.05)
    assert drawn.var() == pytest.approx(1 - 1 / 1000, abs=0.06)
    assert alone.var() == pytest.approx(1 - 1 / 5, abs=0.06)
