"""shapley_ordered's position × channel table, worked by hand, and its sums (Hypothesis)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution import attribute, build_journeys
from attribution.errors import ParameterError
from attribution.models.base import credit_touches
from attribution.models.shapley_ordered import ShapleyOrdered, position_credit

T0 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _frames(paths: list[tuple[list[str], float]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    touches = [
        {"touchpoint_id": f"p{p}-{k:02d}", "user_id": f"p{p}", "ts": T0 + k * HOUR, "channel": c}
        for p, (channels, _) in enumerate(paths)
        for k, c in enumerate(channels)
    ]
    conversions = [
        {"conversion_id": f"c{p}", "user_id": f"p{p}", "ts": T0 + 48 * HOUR,
         "stage": "purchase", "revenue": revenue}
        for p, (_, revenue) in enumerate(paths)
    ]  # fmt: skip
    return pl.DataFrame(touches), pl.DataFrame(conversions)


def _table(paths: list[tuple[list[str], float]], **options: object) -> dict[tuple[str, str], float]:
    tp, cv = _frames(paths)
    model = ShapleyOrdered(position=str(options.pop("position", "first_visit")))
    credits = credit_touches(build_journeys(tp, cv), model)
    table = position_credit(credits, position=model.position, **options)  # type: ignore[arg-type]
    return {(r["position"], r["channel"]): r["revenue"] for r in table.to_dicts()}


def test_first_visit_positions_by_hand() -> None:
    # A > A > B (60): A is visited first, B second; ½ each, A's repeat earns nothing.
    # B > C > D > E > F > A (60): six channels, 10 each; positions 5 and 6 merge as 5+.
    got = _table([(["A", "A", "B"], 60.0), (["B", "C", "D", "E", "F", "A"], 60.0)])
    assert got == {
        ("1", "A"): 30.0,
        ("1", "B"): 10.0,
        ("2", "B"): 30.0,
        ("2", "C"): 10.0,
        ("3", "D"): 10.0,
        ("4", "E"): 10.0,
        ("5+", "A"): 10.0,
        ("5+", "F"): 10.0,
    }


def test_touch_positions_by_hand() -> None:
    # A > A > B (60) with position=touch: A's half is split over touches 1 and 2.
    got = _table([(["A", "A", "B"], 60.0)], position="touch", max_position=2)
    assert got == {("1", "A"): 15.0, ("2+", "A"): 15.0, ("2+", "B"): 30.0}


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError, match="max_position"):
        _table([(["A"], 1.0)], max_position=0)
    with pytest.raises(ParameterError, match="'position' parameter of position_credit"):
        position_credit(pl.DataFrame(), position="middle")


@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from("ABCDEFG"), min_size=1, max_size=9),
            st.floats(0.0, 1_000.0),
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["first_visit", "touch"]),
)
def test_positions_sum_to_the_report_rows(
    paths: list[tuple[list[str], float]], position: str
) -> None:
    tp, cv = _frames(paths)
    model = ShapleyOrdered(position=position)
    report = attribute(tp, cv, model=model)
    table = position_credit(report.credits, position=position)
    summed = table.group_by("channel").agg(pl.col("conversions", "revenue").sum())
    rows = report.data.join(summed, on="channel", how="left", suffix="_positions")
    for row in rows.to_dicts():
        assert (row["conversions_positions"] or 0.0) == pytest.approx(row["conversions"])
        assert (row["revenue_positions"] or 0.0) == pytest.approx(row["revenue"], abs=1e-6)
