"""Tests of the Markov model: golden removal effects end to end, and per-touch credit.

Golden numbers come from tests/golden/markov_removal_effects.json (solved by
hand). Do not edit expected numbers unless the maths changed on purpose.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from attribution.errors import EmptyInputError, ParameterError
from attribution.journeys import Journeys, build_journeys
from attribution.models.markov import REMOVAL_EFFECTS, Markov
from attribution.schema import CREDITS

GOLDEN = Path(__file__).parents[1] / "golden" / "markov_removal_effects.json"
CASES: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
ABS_TOL = 1e-12
CREDIT_TOL = 1e-9


def frames_from_paths(
    rows: list[tuple[list[str], int, int]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One person per journey: ``(path, conversions, nulls)`` rows to touchpoints/conversions."""
    touches: list[tuple[str, str, str, str, str]] = []
    conversions: list[tuple[str, str, str, str, float]] = []
    person = 0
    for path, n_conv, n_null in rows:
        for k in range(n_conv + n_null):
            person += 1
            for i, channel in enumerate(path):
                touches.append(
                    (
                        f"t{person}-{i}",
                        f"u{person}",
                        f"2024-01-01T{i:02d}:00:00",
                        channel,
                        f"{channel}-{i % 2}",
                    )
                )
            if k < n_conv:
                conversions.append((f"c{person}", f"u{person}", "2024-01-02", "purchase", 10.0))
    tp = pl.DataFrame(
        touches,
        schema=["touchpoint_id", "user_id", "ts", "channel", "campaign"],
        orient="row",
    )
    cv = pl.DataFrame(
        conversions,
        schema={
            "conversion_id": pl.String,
            "user_id": pl.String,
            "ts": pl.String,
            "stage": pl.String,
            "revenue": pl.Float64,
        },
        orient="row",
    )
    return tp, cv


def journeys_from_paths(rows: list[tuple[list[str], int, int]]) -> Journeys:
    return build_journeys(*frames_from_paths(rows))


def golden_rows(case: dict[str, Any]) -> list[tuple[list[str], int, int]]:
    return [(p["path"], p["conversions"], p["nulls"]) for p in case["paths"]]


def check_credit_invariants(model: Markov, journeys: Journeys) -> None:
    fit = model.fit(journeys)
    credits = fit.credits
    assert credits.schema == CREDITS
    assert credits.height == journeys.converting.height
    assert (credits["weight"] >= 0).all()
    sums = credits.group_by("journey_id").agg(pl.col("weight").sum())
    assert sums.height == journeys.n_conversions
    # The grand total is exact whichever margin wins.
    assert abs(float(credits["weight"].sum()) - journeys.n_conversions) < CREDIT_TOL * sums.height
    feasible = not any("cannot be matched" in note for note in fit.diagnostics)
    if feasible or model.normalisation == "journey":
        assert (sums["weight"] - 1.0).abs().max() < CREDIT_TOL  # type: ignore[operator]
    if (feasible and not fit.diagnostics) or (model.normalisation == "global" and feasible):
        gap = (fit.channel_credit["credited"] - fit.channel_credit["target"]).abs().max()
        assert gap < CREDIT_TOL * journeys.n_conversions  # type: ignore[operator]
    if model.normalisation == "global" and not feasible:
        gap = (fit.channel_credit["credited"] - fit.channel_credit["target"]).abs().max()
        assert gap < CREDIT_TOL * journeys.n_conversions  # type: ignore[operator]


# --- golden, end to end ------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_channel_credit(case: dict[str, Any]) -> None:
    model = Markov(order=case["order"], collapse_repeats=case["collapse_repeats"])
    journeys = journeys_from_paths(golden_rows(case))
    expected = case["expected"]
    fit = model.fit(journeys)

    assert fit.conversion_probability == pytest.approx(
        float(Fraction(expected["conversion_probability"])), abs=ABS_TOL
    )
    effects = fit.removal_effects
    assert effects.schema == REMOVAL_EFFECTS
    assert_frame_equal(effects, model.removal_effects(journeys))
    for channel, removal_effect, share, _, _ in effects.iter_rows():
        assert removal_effect == pytest.approx(
            float(Fraction(expected["removal_effects"][channel])), abs=ABS_TOL
        )
        assert share == pytest.approx(float(Fraction(expected["shares"][channel])), abs=ABS_TOL)

    conversions = expected["conversions"]
    assert journeys.n_conversions == conversions
    for channel, target, credited in fit.channel_credit.iter_rows():
        share = float(Fraction(expected["shares"][channel]))
        assert target == pytest.approx(share * conversions, abs=ABS_TOL)
        assert credited == pytest.approx(share * conversions, abs=CREDIT_TOL)
    check_credit_invariants(model, journeys)


def test_golden_order1_credit_per_touch() -> None:
    # Targets A 8/11, B 20/11, C 5/11 over journeys {A,B}, {A,B} (B > A > B), {B,C}
    # (C > C > B). By symmetry the two {A,B} journeys give A 4/11 each, so B gets
    # 7/11 in each; C's journey gives C 5/11 (5/22 per C touch) and B 6/11.
    journeys = journeys_from_paths(golden_rows(CASES[0]))
    credits = (
        Markov()
        .credit(journeys)
        .join(
            journeys.converting.select("journey_id", "touchpoint_id", "channel"),
            on=["journey_id", "touchpoint_id"],
        )
    )
    per_channel = credits.group_by("journey_id", "channel").agg(pl.col("weight").sum())
    weights = {(j, c): w for j, c, w in per_channel.iter_rows()}
    assert weights["c1", "A"] == pytest.approx(4 / 11, abs=CREDIT_TOL)
    assert weights["c1", "B"] == pytest.approx(7 / 11, abs=CREDIT_TOL)
    c_touches = credits.filter(pl.col("channel") == "C")["weight"].to_list()
    assert c_touches == pytest.approx([5 / 22, 5 / 22], abs=CREDIT_TOL)


# --- per-touch credit ------------------------------------------------------------

journey_rows = st.lists(
    st.tuples(
        st.lists(st.sampled_from(["Email", "Search", "Social", "Display"]), min_size=1, max_size=6),
        st.integers(0, 2),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=6,
).filter(lambda rows: any(c > 0 for _, c, _ in rows))


@settings(max_examples=40, deadline=None)
@given(rows=journey_rows, order=st.integers(1, 3), collapse=st.booleans())
def test_credit_invariants(
    rows: list[tuple[list[str], int, int]], order: int, collapse: bool
) -> None:
    for normalisation in ("global", "journey"):
        check_credit_invariants(
            Markov(order=order, collapse_repeats=collapse, normalisation=normalisation),
            journeys_from_paths(rows),
        )


@settings(max_examples=30, deadline=None)
@given(rows=journey_rows, seed=st.integers(0, 2**32 - 1))
def test_credit_does_not_depend_on_input_row_order(
    rows: list[tuple[list[str], int, int]], seed: int
) -> None:
    tp, cv = frames_from_paths(rows)
    reference = Markov(order=2).credit(build_journeys(tp, cv)).sort("journey_id", "touchpoint_id")
    shuffled = Markov(order=2).credit(
        build_journeys(tp.sample(fraction=1.0, shuffle=True, seed=seed), cv.reverse())
    )
    assert_frame_equal(shuffled.sort("journey_id", "touchpoint_id"), reference, abs_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(rows=journey_rows)
def test_collapse_repeats_does_not_change_order1_credit(
    rows: list[tuple[list[str], int, int]],
) -> None:
    journeys = journeys_from_paths(rows)
    kept = Markov().fit(journeys)
    collapsed = Markov(collapse_repeats=True).fit(journeys)
    assert_frame_equal(kept.removal_effects, collapsed.removal_effects, abs_tol=1e-9)
    assert_frame_equal(kept.credits, collapsed.credits, abs_tol=1e-9)


def test_credit_by_campaign() -> None:
    journeys = journeys_from_paths(golden_rows(CASES[0]))
    effects = Markov().removal_effects(journeys, by="campaign")
    assert effects["channel"].to_list() == ["A-0", "A-1", "B-0", "B-1", "C-0", "C-1"]
    check = Markov().credit(journeys, by="campaign")
    assert check.height == journeys.converting.height


def test_unknown_by_column() -> None:
    journeys = journeys_from_paths(golden_rows(CASES[0]))
    with pytest.raises(ParameterError, match=r"Cannot group by 'device'"):
        Markov().credit(journeys, by="device")


# --- edge cases and diagnostics ------------------------------------------------------


def test_golden_fit_has_no_diagnostics() -> None:
    fit = Markov().fit(journeys_from_paths(golden_rows(CASES[0])))
    assert fit.diagnostics == ()
    assert fit.ipf_error < CREDIT_TOL


def test_no_non_converting_journeys_is_documented_not_an_error() -> None:
    journeys = journeys_from_paths([(["A", "B"], 1, 0), (["B"], 1, 0)])
    model = Markov()
    assert model.conversion_probability(journeys) == pytest.approx(1.0, abs=ABS_TOL)
    notes = model.diagnostics(journeys)
    assert len(notes) == 1
    assert notes[0].startswith("No non-converting journeys")


def test_no_converting_journey_raises() -> None:
    tp, _ = frames_from_paths([(["A"], 0, 2)])
    # The one conversion has no touch, so there is nothing to credit.
    cv = pl.DataFrame(
        {
            "conversion_id": ["c9"],
            "user_id": ["nobody"],
            "ts": ["2024-01-02"],
            "stage": ["purchase"],
        }
    )
    journeys = build_journeys(tp, cv)
    with pytest.raises(EmptyInputError, match="No converting journey to attribute"):
        Markov().credit(journeys)


INFEASIBLE = [(["B"], 1, 2), (["C"], 1, 1), (["A", "C", "A"], 1, 0)]
"""B's lone journey must give B a whole conversion (target 18/23 < 1), and A
appears in one journey yet is owed more than 1: no weights can fit both margins."""


def test_infeasible_targets_journey_normalisation_keeps_journeys_summing_to_one() -> None:
    fit = Markov(normalisation="journey").fit(journeys_from_paths(INFEASIBLE))
    assert fit.ipf_iterations == 1_000
    assert len(fit.diagnostics) == 2  # conversions and revenue
    assert "normalisation='journey' every journey still sums to 1" in fit.diagnostics[0]
    sums = fit.credits.group_by("journey_id").agg(pl.col("weight").sum())["weight"]
    assert sums.to_list() == pytest.approx([1.0, 1.0, 1.0], abs=1e-12)
    assert fit.channel_credit["target"].sum() == pytest.approx(3.0, abs=1e-12)


def test_infeasible_targets_global_normalisation_keeps_channel_totals_exact() -> None:
    fit = Markov().fit(journeys_from_paths(INFEASIBLE))
    assert "channel totals are kept exact" in fit.diagnostics[0]
    assert fit.channel_credit["credited"].to_list() == pytest.approx(
        fit.channel_credit["target"].to_list(), abs=1e-12
    )
    assert fit.credits["weight"].sum() == pytest.approx(3.0, abs=1e-12)
    sums = fit.credits.group_by("journey_id").agg(pl.col("weight").sum())["weight"]
    assert max(abs(s - 1.0) for s in sums) > 0.01


def test_channel_only_in_non_converting_journeys() -> None:
    # A > B never converted, but the chain can go A -> B -> conversion, so A has
    # a removal effect and no converting touch to carry it.
    journeys = journeys_from_paths([(["A", "B"], 0, 1), (["B"], 1, 1)])
    fit = Markov().fit(journeys)
    share_a = fit.removal_effects.filter(pl.col("channel") == "A")["share"].item()
    assert share_a > 0
    assert any(note.startswith("Channel(s) A have a removal effect") for note in fit.diagnostics)
    assert fit.credits["weight"].to_list() == [1.0]


# --- parameters ------------------------------------------------------------------


def test_defaults_and_repr() -> None:
    model = Markov()
    assert model.params() == {
        "order": 1,
        "collapse_repeats": False,
        "normalisation": "global",
        "max_order": 4,
        "holdout": 0.3,
        "holdout_seed": 0,
    }
    assert repr(model) == (
        "Markov(order=1, collapse_repeats=False, normalisation='global', max_order=4, "
        "holdout=0.3, holdout_seed=0)"
    )
    assert Markov.name == "markov"
    assert [s.name for s in Markov.param_specs()] == [
        "order",
        "collapse_repeats",
        "normalisation",
        "max_order",
        "holdout",
        "holdout_seed",
    ]


@pytest.mark.parametrize("order", [0, 5, -1, True])
def test_bad_order(order: Any) -> None:
    with pytest.raises(
        ParameterError,
        match=(
            r"^The 'order' parameter of Markov must be an integer from 1 to 4\. "
            rf"Got {order!r} instead\.$"
        ),
    ):
        Markov(order=order)


def test_bad_collapse_repeats() -> None:
    with pytest.raises(ParameterError, match=r"'collapse_repeats' parameter of Markov"):
        Markov(collapse_repeats="yes")  # type: ignore[arg-type]
