"""Tests of the exact Markov chain (attribution.markov.chain).

The golden cases in tests/golden/markov_removal_effects.json were solved by
hand; the algebra is in each case's "why". Do not edit expected numbers
unless the maths changed on purpose.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import networkx as nx
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from attribution.errors import InputError, ParameterError
from attribution.markov import (
    CONVERSION,
    NULL,
    START,
    absorption_probabilities,
    build_chain,
    conversion_probability,
    removal_effects,
    transition_counts,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "markov_removal_effects.json"
CASES: list[dict[str, Any]] = json.loads(GOLDEN.read_text())["cases"]
ABS_TOL = 1e-12


def paths_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "path": [r["path"] for r in rows],
            "conversions": [float(r["conversions"]) for r in rows],
            "revenue": [0.0 for _ in rows],
            "nulls": [float(r["nulls"]) for r in rows],
        },
        schema={
            "path": pl.List(pl.String),
            "conversions": pl.Float64,
            "revenue": pl.Float64,
            "nulls": pl.Float64,
        },
    )


def chain_of(rows: list[dict[str, Any]], order: int = 1, collapse: bool = False) -> nx.DiGraph:
    return build_chain(transition_counts(paths_frame(rows), order, collapse))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_removal_effects(case: dict[str, Any]) -> None:
    chain = chain_of(case["paths"], case["order"], case["collapse_repeats"])
    expected = case["expected"]
    assert conversion_probability(chain) == pytest.approx(
        float(Fraction(expected["conversion_probability"])), abs=ABS_TOL
    )
    effects = removal_effects(chain)
    assert set(effects) == set(expected["removal_effects"])
    for channel, value in expected["removal_effects"].items():
        assert effects[channel] == pytest.approx(float(Fraction(value)), abs=ABS_TOL), channel
    total = sum(effects.values())
    for channel, value in expected["shares"].items():
        assert effects[channel] / total == pytest.approx(float(Fraction(value)), abs=ABS_TOL)


def test_transition_counts_order1_keeps_self_loops() -> None:
    paths = paths_frame(
        [
            {"path": ["A", "A", "B"], "conversions": 2, "nulls": 1},
            {"path": ["B"], "conversions": 0, "nulls": 1},
        ]
    )
    expected = pl.DataFrame(
        {
            "src": [["(start)"], ["(start)"], ["A"], ["A"], ["B"], ["B"]],
            "dst": [["A"], ["B"], ["A"], ["B"], ["(conversion)"], ["(null)"]],
            "count": [3.0, 1.0, 3.0, 3.0, 2.0, 2.0],
        }
    )
    assert_frame_equal(transition_counts(paths), expected)


def test_transition_counts_collapse_repeats() -> None:
    paths = paths_frame([{"path": ["A", "A", "B", "B", "A"], "conversions": 1, "nulls": 0}])
    counts = transition_counts(paths, collapse_repeats=True)
    assert counts.select("src", "dst").rows() == [
        (["(start)"], ["A"]),
        (["A"], ["(conversion)"]),
        (["A"], ["B"]),
        (["B"], ["A"]),
    ]


def test_transition_counts_order3_prefix_states() -> None:
    paths = paths_frame([{"path": ["A", "B", "C", "D"], "conversions": 1, "nulls": 0}])
    counts = transition_counts(paths, order=3)
    assert sorted(counts.select("src", "dst").rows()) == [
        (["(start)"], ["A"]),
        (["A"], ["A", "B"]),
        (["A", "B"], ["A", "B", "C"]),
        (["A", "B", "C"], ["B", "C", "D"]),
        (["B", "C", "D"], ["(conversion)"]),
    ]


def test_transition_counts_skips_empty_and_zero_weight_paths() -> None:
    paths = paths_frame(
        [
            {"path": [], "conversions": 5, "nulls": 0},
            {"path": ["Z"], "conversions": 0, "nulls": 0},
            {"path": ["A"], "conversions": 1, "nulls": 0},
        ]
    )
    assert transition_counts(paths)["src"].to_list() == [["(start)"], ["A"]]


def test_transition_counts_null_channel_is_not_set() -> None:
    paths = paths_frame([{"path": ["A"], "conversions": 1, "nulls": 0}]).with_columns(
        pl.lit([None], dtype=pl.List(pl.String)).alias("path")
    )
    assert ["(not set)"] in transition_counts(paths)["dst"].to_list()


def test_reserved_channel_name_is_refused() -> None:
    paths = paths_frame([{"path": ["(null)"], "conversions": 1, "nulls": 0}])
    with pytest.raises(InputError, match=r"Channel name '\(null\)' is reserved"):
        transition_counts(paths)


@pytest.mark.parametrize("order", [0, 5, True, 1.5])
def test_bad_order_is_refused(order: Any) -> None:
    paths = paths_frame([{"path": ["A"], "conversions": 1, "nulls": 0}])
    with pytest.raises(
        ParameterError,
        match=r"The 'order' parameter of transition_counts must be an integer from 1 to 4\.",
    ):
        transition_counts(paths, order=order)


def test_build_chain_probabilities_are_row_normalised() -> None:
    chain = chain_of(CASES[0]["paths"])
    for state in chain.nodes:
        out = [d["p"] for _, _, d in chain.out_edges(state, data=True)]
        if out:
            assert sum(out) == pytest.approx(1.0, abs=ABS_TOL)
    assert chain.edges[("B",), CONVERSION]["count"] == 3.0
    assert chain.has_node(NULL)


def test_absorption_probabilities_per_state() -> None:
    x = absorption_probabilities(chain_of(CASES[0]["paths"]))
    assert x[START] == pytest.approx(0.5, abs=ABS_TOL)
    assert x[("A",)] == pytest.approx(3 / 8, abs=ABS_TOL)
    assert x[("B",)] == pytest.approx(3 / 4, abs=ABS_TOL)
    assert x[("C",)] == pytest.approx(3 / 8, abs=ABS_TOL)
    removed = absorption_probabilities(chain_of(CASES[0]["paths"]), {"A"})
    assert removed[("A",)] == 0.0
    assert removed[("B",)] == pytest.approx(3 / 5, abs=ABS_TOL)


def test_nothing_converts_gives_zero_effects() -> None:
    chain = chain_of([{"path": ["A", "B"], "conversions": 0, "nulls": 3}])
    assert conversion_probability(chain) == 0.0
    assert removal_effects(chain) == {"A": 0.0, "B": 0.0}


def test_empty_chain() -> None:
    chain = chain_of([])
    assert conversion_probability(chain) == 0.0
    assert removal_effects(chain) == {}


def test_removal_effect_is_share_of_converting_paths_through_channel() -> None:
    # Acyclic chain: P(conv and visit c) can be enumerated by hand over the two routes.
    chain = nx.DiGraph()
    chain.add_edge(START, ("A",), p=0.6)
    chain.add_edge(START, ("B",), p=0.4)
    chain.add_edge(("A",), ("B",), p=0.5)
    chain.add_edge(("A",), NULL, p=0.5)
    chain.add_edge(("B",), CONVERSION, p=0.25)
    chain.add_edge(("B",), NULL, p=0.75)
    p_conv = 0.6 * 0.5 * 0.25 + 0.4 * 0.25
    effects = removal_effects(chain)
    assert effects["A"] == pytest.approx(0.6 * 0.5 * 0.25 / p_conv, abs=ABS_TOL)
    assert effects["B"] == pytest.approx(1.0, abs=ABS_TOL)


# --- ChannelAttribution compatibility ---------------------------------------


def channelattribution_chain(rows: list[dict[str, Any]], order: int) -> nx.DiGraph:
    """Chain as ChannelAttribution's markov_model builds it, written naively for comparison.

    States are sliding windows of ``order`` channels starting at the first
    touch (no prefix states); a path shorter than ``order`` is one state;
    consecutive identical states are merged (no self-loops).
    """
    counts: dict[tuple[tuple[str, ...], tuple[str, ...]], float] = {}

    def add(src: tuple[str, ...], dst: tuple[str, ...], w: float) -> None:
        if w > 0:
            counts[src, dst] = counts.get((src, dst), 0.0) + w

    for row in rows:
        path = row["path"]
        if not path:
            continue
        k = min(order, len(path))
        states = [tuple(path[i : i + k]) for i in range(len(path) - k + 1)]
        merged = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        weight = row["conversions"] + row["nulls"]
        previous = START
        for state in merged:
            add(previous, state, weight)
            previous = state
        add(previous, CONVERSION, row["conversions"])
        add(previous, NULL, row["nulls"])
    frame = pl.DataFrame(
        {
            "src": [list(s) for s, _ in counts],
            "dst": [list(d) for _, d in counts],
            "count": list(counts.values()),
        }
    )
    return build_chain(frame)


path_rows = st.lists(
    st.fixed_dictionaries(
        {
            "path": st.lists(st.sampled_from("ABCD"), min_size=1, max_size=6),
            "conversions": st.integers(0, 3),
            "nulls": st.integers(0, 3),
        }
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(rows=path_rows, order=st.integers(1, 3))
def test_prefix_states_match_channelattribution_windows(
    rows: list[dict[str, Any]], order: int
) -> None:
    ours = chain_of(rows, order)
    theirs = channelattribution_chain(rows, order)
    assert conversion_probability(ours) == pytest.approx(conversion_probability(theirs), abs=1e-9)
    mine, reference = removal_effects(ours), removal_effects(theirs)
    assert set(mine) == set(reference)
    for channel in mine:
        assert mine[channel] == pytest.approx(reference[channel], abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(rows=path_rows)
def test_collapse_repeats_leaves_order1_removal_effects_unchanged(
    rows: list[dict[str, Any]],
) -> None:
    # Collapsing at order 1 removes only self-loop counts, and a self-loop
    # never changes absorption (see the attribution.markov.chain module docstring).
    kept, collapsed = chain_of(rows, 1, False), chain_of(rows, 1, True)
    assert conversion_probability(kept) == pytest.approx(
        conversion_probability(collapsed), abs=1e-9
    )
    a, b = removal_effects(kept), removal_effects(collapsed)
    assert a.keys() == b.keys()
    for channel in a:
        assert a[channel] == pytest.approx(b[channel], abs=1e-9)


def test_collapse_repeats_changes_order2() -> None:
    # Kept, (A, A) pools both journeys and converts half the time from either
    # start: RE_B = 1/2. Collapsed, B > A > D never converts: RE_B = 0.
    rows = [
        {"path": ["A", "A", "C"], "conversions": 1, "nulls": 0},
        {"path": ["B", "A", "A", "D"], "conversions": 0, "nulls": 1},
    ]
    kept, collapsed = removal_effects(chain_of(rows, 2)), removal_effects(chain_of(rows, 2, True))
    assert kept["B"] == pytest.approx(0.5, abs=ABS_TOL)
    assert collapsed["B"] == 0.0


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("collapse", [False, True])
def test_text_state_codes_give_the_same_chain_as_integer_codes(
    monkeypatch: pytest.MonkeyPatch, order: int, collapse: bool
) -> None:
    """Many channels code states as text: the chain must not change."""
    import attribution.markov.chain as chain_module
    from attribution.markov.chain import PathChain

    paths = pl.Series(
        [["A", "B", "B", "C"], ["C"], ["B", "A", "A", "A", "D"], [], ["D", "C", "B", "A"]]
    )
    as_integers = PathChain.from_paths(paths, order=order, collapse_repeats=collapse)
    monkeypatch.setattr(chain_module, "_INTEGER_STATES_BELOW", 0)
    as_text = PathChain.from_paths(paths, order=order, collapse_repeats=collapse)
    assert as_text.states == as_integers.states
    assert (as_text.incidence != as_integers.incidence).nnz == 0
    assert as_text.pair_src.tolist() == as_integers.pair_src.tolist()
    assert as_text.pair_dst.tolist() == as_integers.pair_dst.tolist()
    assert as_text.last_state.tolist() == as_integers.last_state.tolist()
