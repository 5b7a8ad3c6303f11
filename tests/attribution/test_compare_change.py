"""GA4's model comparison: the baseline and every other model's % change from it."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import attribute, get_model
from attribution.compare import change, compare_models, compare_reports
from attribution.errors import EmptyInputError, ParameterError
from attribution.models import AttributionModel
from attribution.report import AttributionReport, _tiny_example


def _three_people() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Hand-worked: a Email > Search buys 100, b Search buys 50, c Email > Social buys 30."""
    touchpoints = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2", "t3", "t4", "t5"],
            "user_id": ["a", "a", "b", "c", "c"],
            "ts": [f"2024-01-0{day}T09:00:00Z" for day in (1, 2, 1, 1, 2)],
            "channel": ["Email", "Search", "Search", "Email", "Social"],
        }
    )
    conversions = pl.DataFrame(
        {
            "conversion_id": ["c1", "c2", "c3"],
            "user_id": ["a", "b", "c"],
            "ts": ["2024-01-03T09:00:00Z"] * 3,
            "stage": ["purchase"] * 3,
            "revenue": [100.0, 50.0, 30.0],
        }
    )
    return touchpoints, conversions


def test_change_columns_hand_worked() -> None:
    tp, cv = _three_people()
    result = compare_models(tp, cv, models=["last_touch", "first_touch", "linear"])
    rows = {r["channel"]: r for r in result.data.to_dicts()}
    # last touch: Search 150 (2 conv), Social 30 (1), Email 0.
    # first touch: Email 130 (2), Search 50 (1), Social 0.
    # linear: Email 65 (1), Search 100 (1.5), Social 15 (0.5).
    assert result.baseline == "last_touch"
    assert rows["Search"]["first_touch_revenue_change"] == pytest.approx((50 - 150) / 150)
    assert rows["Search"]["linear_revenue_change"] == pytest.approx((100 - 150) / 150)
    assert rows["Search"]["linear_conversions_change"] == pytest.approx((1.5 - 2) / 2)
    assert rows["Social"]["first_touch_revenue_change"] == pytest.approx(-1.0)
    # The baseline gives Email nothing: no % change, never infinity.
    assert rows["Email"]["first_touch_revenue_change"] is None
    assert rows["Email"]["linear_conversions_change"] is None
    assert "last_touch_revenue_change" not in result.data.columns
    # No costs: no ROAS, so no ROAS change.
    assert rows["Search"]["linear_roas_change"] is None


def test_baseline_named_is_not_the_first_model() -> None:
    tp, cv = _three_people()
    result = compare_models(tp, cv, models=["last_touch", "first_touch"], baseline="first_touch")
    search = result.data.filter(pl.col("channel") == "Search").to_dicts()[0]
    assert result.models == ["last_touch", "first_touch"]
    assert search["last_touch_revenue_change"] == pytest.approx((150 - 50) / 50)
    assert result.to_dict()["baseline"] == "first_touch"
    assert "first_touch_revenue_change" not in result.data.columns


def test_baseline_must_be_compared() -> None:
    with pytest.raises(ParameterError, match="The baseline 'markov' is not among the models"):
        compare_models(*_tiny_example(), models=["first_touch", "linear"], baseline="markov")


def test_total_changes_and_table_total_row() -> None:
    tp, cv, costs = _tiny_example()
    result = compare_models(tp, cv, costs, models=["first_touch", "last_touch"])
    # Every model credits all closed revenue: the totals do not move.
    assert result.total_changes == {
        "last_touch": {"conversions_change": 0.0, "revenue_change": 0.0, "roas_change": 0.0}
    }
    table = result.table_frame()
    assert table["channel"].to_list()[-1] == "TOTAL"
    assert table["last_touch Δ% rev"].to_list() == [-100.0, None, 0.0]
    assert table["first_touch revenue"].to_list() == [100.0, 0.0, 100.0]


def test_csv_keeps_the_fraction() -> None:
    result = compare_models(*_tiny_example(), models=["first_touch", "linear"])
    back = pl.read_csv(result.to_csv().encode())
    assert back["linear_revenue_change"].to_list() == [-0.5, None]


@settings(max_examples=40, deadline=None)
@given(
    value=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    # Money: zero, or at least a cent (a denormal baseline would overflow the change).
    baseline=st.just(0.0) | st.floats(min_value=0.01, max_value=1e6),
)
def test_change_undoes_to_the_value(value: float, baseline: float) -> None:
    moved = change(value, baseline)
    if baseline == 0:
        assert moved is None
    else:
        assert moved is not None
        assert baseline * (1 + moved) == pytest.approx(value, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("by", ["channel", "campaign"])
def test_every_change_undoes_to_the_model_on_seeded_data(
    touchpoints: pl.DataFrame, conversions: pl.DataFrame, costs: pl.DataFrame, by: str
) -> None:
    models = ["linear", "first_touch", "markov"]
    result = compare_models(touchpoints, conversions, costs, models=models, by=by,
                            baseline="markov")  # fmt: skip
    for row in result.data.to_dicts():
        for name in ("linear", "first_touch"):
            for metric in ("conversions", "revenue", "roas"):
                base, moved = row[f"markov_{metric}"], row[f"{name}_{metric}_change"]
                if base is None or base == 0:
                    assert moved is None
                else:
                    assert base * (1 + moved) == pytest.approx(row[f"{name}_{metric}"], rel=1e-9)
    # Every model credits the revenue that closed: the totals do not move.
    for changes in result.total_changes.values():
        assert changes["revenue_change"] == 0.0
        assert changes["conversions_change"] == 0.0


def test_a_baseline_that_cannot_run_is_an_error() -> None:
    tp, cv = _three_people()
    with pytest.raises(ParameterError, match="The baseline 'linear' cannot run on this data"):
        compare_reports(
            [get_model("first_touch"), get_model("linear")],
            lambda m: _fail(m) if m.name == "linear" else attribute(tp, cv, model=m),
            explicit=False,
            by="channel",
            ci=None,
            currency=None,
            baseline="linear",
        )


def _fail(model: AttributionModel) -> AttributionReport:
    raise EmptyInputError(f"{model.name} cannot run here.")
