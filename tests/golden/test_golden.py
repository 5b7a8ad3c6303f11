"""Golden tests: hand-worked attribution cases stored as JSON beside this file.

Each ``<model>.json`` holds cases worked out on paper, with a ``why`` field showing
the arithmetic. Do not edit the expected numbers to make a failing test pass unless
the maths changed on purpose (a deliberate change of a model's definition); in that
case, redo the arithmetic by hand, update ``why`` and say so in the changelog.

File format (numbers may be JSON numbers or exact fractions as strings, ``"4/7"``)::

    {"model": "<registry name>",
     "cases": [{"id": ..., "why": ..., "params": {...},
                "journeys": [{"conversion_id": ..., "revenue": ...,
                              "touches": [{"id": ..., "channel": ..., "days_before": ...}]}],
                "non_converting": [{"user_id": ..., "touches": [...]}],      # optional
                "expected": {"weights": {"<touch id>": w},
                             "channels": {"<channel>": {"conversions": c, "revenue": r}}}}]}

``markov_*.json`` files have their own format and are checked by the Markov tests.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from attribution import MODELS, attribute, build_journeys, get_model

REL_TOL = 1e-9
"""Relative tolerance: the cases are exact, only floating-point rounding is allowed."""

ABS_TOL = 1e-12
"""Absolute tolerance, for expected values of exactly zero."""

GOLDEN_DIR = Path(__file__).parent
CONVERSION_TS = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def _golden_files() -> list[Path]:
    return sorted(p for p in GOLDEN_DIR.glob("*.json") if not p.name.startswith("markov_"))


def _load_cases() -> list[Any]:
    params = []
    for path in _golden_files():
        spec = json.loads(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            params.append(pytest.param(spec["model"], case, id=f"{spec['model']}-{case['id']}"))
    return params


CASES = _load_cases()


def number(value: int | float | str) -> float:
    """Read a JSON number or an exact fraction such as ``"4/7"``."""
    return float(Fraction(value)) if isinstance(value, str) else float(value)


def frames(case: dict[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Touchpoints and conversions of a case: every conversion at the same instant."""
    touch_rows: list[dict[str, Any]] = []
    conversion_rows: list[dict[str, Any]] = []

    def add_touches(user_id: str, touches: list[dict[str, Any]]) -> None:
        for touch in touches:
            before = dt.timedelta(days=touch["days_before"])
            touch_rows.append(
                {
                    "touchpoint_id": touch["id"],
                    "user_id": user_id,
                    "ts": CONVERSION_TS - before,
                    "channel": touch["channel"],
                }
            )

    for journey in case["journeys"]:
        user_id = f"user-{journey['conversion_id']}"
        add_touches(user_id, journey["touches"])
        conversion_rows.append(
            {
                "conversion_id": journey["conversion_id"],
                "user_id": user_id,
                "ts": CONVERSION_TS,
                "stage": "purchase",
                "revenue": float(journey["revenue"]),
            }
        )
    for journey in case.get("non_converting", []):
        # Touches of a person who never converts: a non-converting journey, never credited.
        add_touches(journey["user_id"], journey["touches"])
    return pl.DataFrame(touch_rows), pl.DataFrame(conversion_rows)


def test_golden_files_exist() -> None:
    models = {json.loads(p.read_text(encoding="utf-8"))["model"] for p in _golden_files()}
    assert models >= {"first_touch", "last_touch", "linear", "time_decay", "position_based"}
    assert models <= set(MODELS)


@pytest.mark.parametrize(("model_name", "case"), CASES)
def test_golden_case_is_documented(model_name: str, case: dict[str, Any]) -> None:
    assert len(case["why"]) > 20, "explain the arithmetic"
    touch_ids = [t["id"] for j in case["journeys"] for t in j["touches"]]
    assert sorted(case["expected"]["weights"]) == sorted(touch_ids)
    expected_revenue = sum(number(j["revenue"]) for j in case["journeys"])
    channels = case["expected"]["channels"].values()
    assert math.isclose(sum(number(c["revenue"]) for c in channels), expected_revenue)
    assert math.isclose(sum(number(c["conversions"]) for c in channels), len(case["journeys"]))


@pytest.mark.parametrize(("model_name", "case"), CASES)
def test_golden_weights(model_name: str, case: dict[str, Any]) -> None:
    model = get_model(model_name, **case["params"])
    touchpoints, conversions = frames(case)
    credits = model.credit(build_journeys(touchpoints, conversions))
    weights = dict(credits.select("touchpoint_id", "weight").iter_rows())
    expected = {k: number(v) for k, v in case["expected"]["weights"].items()}
    assert sorted(weights) == sorted(expected)
    for touch, value in expected.items():
        assert math.isclose(weights[touch], value, rel_tol=REL_TOL, abs_tol=ABS_TOL), (
            touch,
            weights[touch],
            value,
        )


@pytest.mark.parametrize(("model_name", "case"), CASES)
def test_golden_channel_totals(model_name: str, case: dict[str, Any]) -> None:
    touchpoints, conversions = frames(case)
    report = attribute(touchpoints, conversions, model=model_name, params=case["params"])
    rows = {row["channel"]: row for row in report.data.to_dicts()}
    expected = case["expected"]["channels"]
    assert sorted(rows) == sorted(expected)
    for channel, values in expected.items():
        for column in ("conversions", "revenue"):
            assert math.isclose(
                rows[channel][column], number(values[column]), rel_tol=REL_TOL, abs_tol=ABS_TOL
            ), (channel, column, rows[channel][column], values[column])
