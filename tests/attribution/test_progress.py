"""Progress reports of long work: curve fits and bootstraps tell a listener, nobody by default."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from attribution.budget.curves import _example_weeks, fit_curves
from attribution.journeys import build_journeys
from attribution.models import FirstTouch
from attribution.progress import listening, report_progress, stage
from attribution.report import _tiny_example
from attribution.uncertainty import bootstrap_totals

Report = tuple[str, int, int, str]


def test_curve_fits_report_every_fit_and_end_at_the_total() -> None:
    weeks, spend, revenue = _example_weeks()
    flat = np.full_like(spend, 500.0)  # no variation: not enough evidence, so no refits
    panel = pl.concat(
        [
            pl.DataFrame({"channel": "A", "week": weeks, "spend": spend, "revenue": revenue}),
            pl.DataFrame({"channel": "B", "week": weeks, "spend": flat, "revenue": revenue}),
        ]
    )
    seen: list[Report] = []
    with listening(lambda *report: seen.append(report)):
        curves = fit_curves(panel, resamples=5)
    assert not curves["B"].evidence
    assert {what for what, *_ in seen} == {"curve fits"}
    # Three steps a key: its decay profile, its own fit, its pooled fit.
    assert {(total, unit) for _, _, total, unit in seen} == {(6, "fits")}
    done = [d for _, d, _, _ in seen]
    assert done == sorted(done)
    assert done[-1] == 6


def test_bootstrap_without_a_callback_reports_to_the_listener() -> None:
    tp, cv, _ = _tiny_example()
    seen: list[Report] = []
    with listening(lambda *report: seen.append(report)), stage("compare"):
        bootstrap_totals(build_journeys(tp, cv), FirstTouch(), resamples=10)
    assert seen[0] == ("compare", 0, 0, "")
    assert seen[-1] == ("compare › bootstrap first_touch", 10, 10, "resamples")


def test_a_callback_takes_the_place_of_the_listener() -> None:
    tp, cv, _ = _tiny_example()
    seen: list[Report] = []
    called: list[tuple[int, int]] = []
    with listening(lambda *report: seen.append(report)):
        bootstrap_totals(
            build_journeys(tp, cv), FirstTouch(), resamples=10,
            progress=lambda done, total: called.append((done, total)),
        )  # fmt: skip
    assert seen == []
    assert called[-1] == (10, 10)


def test_nothing_listens_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    with stage("quiet"):
        report_progress("anything", 1, 2)
    assert capsys.readouterr() == ("", "")
