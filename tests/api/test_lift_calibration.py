"""Lift tests end to end: ingest, calibrated reports, and a calibrated plan against ground truth.

Ground truth: three channels whose weekly *incremental* revenue is a known
Hill curve of their weekly spend. Retargeting's attribution is biased: for
every unit of revenue it causes, it also touches buyers who would have
bought anyway worth ``BIAS − 1`` units (they convert after a retargeting
touch, so every model credits it). A lift test over four weeks measures
Retargeting's true incremental revenue. The plan on calibrated curves is
scored with the true curves and must land closer to the true optimum than
the plan on uncalibrated ones.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from api.cli import main
from api.services import AttributionQuery, CurvesQuery, PlanQuery, Services
from attribution.budget import optimise
from attribution.budget.curves import ResponseCurve, curve_value
from ingest import Store, ingest_files
from tests.api.conftest import TestClient

TRUE_CURVES = {
    # channel: (top, half, shape, base weekly spend)
    "Search": (30_000.0, 6_000.0, 1.0, 5_000.0),
    "Social": (25_000.0, 5_000.0, 1.0, 4_000.0),
    "Retargeting": (12_000.0, 2_000.0, 1.0, 3_000.0),
}
BIASED = "Retargeting"
BIAS = 3.0
WEEKS = 30
SALES_PER_WEEK = 4
START = dt.date(2024, 1, 1)  # a Monday
TEST_WEEKS = range(10, 14)


def true_revenue(channel: str, spend: float | np.ndarray) -> Any:
    top, half, shape, _ = TRUE_CURVES[channel]
    return curve_value("hill", spend, (top, half, shape))


def weekly_spend(seed: int = 11) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {c: base * np.exp(rng.normal(0.0, 0.45, WEEKS)) for c, (*_, base) in TRUE_CURVES.items()}


def synthetic_frames() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Touches, sales, daily costs and the lift test of the ground truth above.

    Each sale is one person with one touch, so every model credits the
    touched channel with all of it: attribution sees ``BIAS`` × the true
    incremental revenue of Retargeting, and the truth of the others.
    """
    spend = weekly_spend()
    touches, sales, costs = [], [], []
    for channel, weeks in spend.items():
        for w, amount in enumerate(weeks):
            monday = START + dt.timedelta(weeks=w)
            costs += [
                {"date": monday + dt.timedelta(days=d), "channel": channel, "spend": amount / 7}
                for d in range(7)
            ]
            caused = float(true_revenue(channel, amount))
            attributed = caused * (BIAS if channel == BIASED else 1.0)
            for k in range(SALES_PER_WEEK):
                person = f"{channel}-{w}-{k}"
                at = dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC) + dt.timedelta(weeks=w, days=k)
                touches.append(
                    {"touchpoint_id": person, "user_id": person, "ts": at, "channel": channel}
                )
                sales.append(
                    {
                        "conversion_id": person,
                        "user_id": person,
                        "ts": at + dt.timedelta(hours=2),
                        "stage": "purchase",
                        "revenue": attributed / SALES_PER_WEEK,
                    }
                )
    incremental = float(sum(true_revenue(BIASED, spend[BIASED][w]) for w in TEST_WEEKS))
    lift = pl.DataFrame(
        {
            "channel": [BIASED],
            "start": [START + dt.timedelta(weeks=TEST_WEEKS[0])],
            "end": [START + dt.timedelta(weeks=TEST_WEEKS[-1], days=6)],
            "incremental_revenue": [incremental],
            "lower": [0.9 * incremental],
            "upper": [1.1 * incremental],
        }
    )
    return pl.DataFrame(touches), pl.DataFrame(sales), pl.DataFrame(costs), lift


@pytest.fixture(scope="module")
def services() -> Services:
    touches, sales, costs, lift = synthetic_frames()
    return Services.for_frames(touches, sales, costs, currency="USD", lift_tests=lift)


def true_curve(fitted: ResponseCurve, channel: str) -> ResponseCurve:
    top, half, shape, _ = TRUE_CURVES[channel]
    return ResponseCurve(
        **{**fitted.__dict__, "params": {"top": top, "half": half, "shape": shape}}
    )


def planned(services: Services, calibrate: bool) -> dict[str, dict[str, Any]]:
    curves = CurvesQuery.create("last_touch", bootstrap=0, calibrate=calibrate)
    result = services.plan(PlanQuery(curves))
    return {row["channel"]: row for row in result.data.to_dicts()}


def test_the_calibrated_report_recovers_the_true_incremental_revenue(services: Services) -> None:
    result = services.attribution(AttributionQuery.create("last_touch"))
    rows = {r["channel"]: r for r in result.data.to_dicts()}
    assert result.members["calibration"]["factors"] == {BIASED: pytest.approx(1 / BIAS)}
    truth = float(sum(true_revenue(BIASED, s) for s in weekly_spend()[BIASED]))
    assert rows[BIASED]["revenue"] == pytest.approx(BIAS * truth)
    assert rows[BIASED]["revenue_calibrated"] == pytest.approx(truth)
    assert rows["Search"]["calibration_factor"] == 1.0  # no test: left as it is
    # The uncalibrated column still sums to closed revenue; the calibrated one does not.
    closed = result.members["totals"]["revenue"]
    assert sum(r["revenue"] for r in rows.values()) == pytest.approx(closed)
    assert result.members["totals"]["revenue_calibrated"] < closed
    assert "calibrated by 1 lift test: Retargeting ×0.333" in result.to_table()


def test_no_calibration_leaves_the_report_as_it_was(services: Services) -> None:
    result = services.attribution(AttributionQuery.create("last_touch", calibrate=False))
    assert "revenue_calibrated" not in result.data.columns
    assert "calibration" not in result.members


def test_a_report_by_campaign_says_it_is_not_calibrated(services: Services) -> None:
    result = services.attribution(AttributionQuery.create("last_touch", by="campaign"))
    assert "revenue_calibrated" not in result.data.columns
    assert any("not calibrated" in note for note in result.notes)


def test_the_calibrated_plan_lands_closer_to_the_true_optimum(services: Services) -> None:
    calibrated, uncalibrated = planned(services, True), planned(services, False)
    keys = list(TRUE_CURVES)
    budget = sum(calibrated[c]["current_spend"] for c in keys)
    fitted = services.curves(CurvesQuery.create("last_touch", bootstrap=0))
    lower = np.array([calibrated[c]["lower"] for c in keys])
    upper = np.array([calibrated[c]["upper"] for c in keys])
    best = optimise([true_curve(fitted.curves[c], c) for c in keys], lower, upper, budget)
    optimum = sum(float(true_revenue(c, x)) for c, x in zip(keys, best, strict=True))

    def scored(plan: dict[str, dict[str, Any]]) -> float:
        return sum(float(true_revenue(c, plan[c]["recommended_spend"])) for c in keys)

    assert scored(calibrated) > scored(uncalibrated)
    assert optimum - scored(calibrated) < 0.25 * (optimum - scored(uncalibrated))
    assert scored(calibrated) >= 0.99 * optimum
    # The bias made the uncalibrated plan pour money into retargeting.
    assert uncalibrated[BIASED]["recommended_spend"] > calibrated[BIASED]["recommended_spend"]


def test_the_plan_says_its_curves_are_calibrated(services: Services) -> None:
    result = services.plan(PlanQuery(CurvesQuery.create("last_touch", bootstrap=0)))
    assert result.members["calibration"]["factors"] == {BIASED: pytest.approx(1 / BIAS)}
    assert "curves calibrated by 1 lift test: Retargeting ×0.333" in result.to_table()


def test_every_models_curves_are_calibrated_in_a_plan_across_models(services: Services) -> None:
    from api.services.budget import plan_models

    models, _ = plan_models("last_touch,linear")
    query = PlanQuery(CurvesQuery.create("last_touch", bootstrap=0), models=models)
    result = services.plan(query)
    for model in ("last_touch", "linear"):
        calibration = result.members["plans"][model]["calibration"]
        assert set(calibration["factors"]) == {BIASED}
        assert f"{model}: curves calibrated by 1 lift test: Retargeting ×" in result.to_table()


LIFT_CSV = """\
channel,campaign,start,end,incremental_revenue,incremental_conversions,lower,upper
Search,,2024-01-01,2024-01-31,20,,10,30
Email,,2024-01-01,2024-01-31,,0.5,,
"""


@pytest.fixture
def lift_db(tmp_path: Path, filled_db: Path) -> Path:
    """A copy of the example store (see conftest) with two lift tests."""
    path = tmp_path / "lift.duckdb"
    path.write_bytes(filled_db.read_bytes())
    lift = tmp_path / "lift_tests.csv"
    lift.write_text(LIFT_CSV)
    ingest_files(Store(path), "lift_tests", [lift])
    return path


def test_cli_ingest_refuses_bad_lift_tests_naming_row_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "lift.csv"
    bad.write_text(
        "channel,start,end,incremental_revenue,incremental_conversions,lower,upper\n"
        "Email,2024-03-05,2024-03-01,5,,,\n"
        "Email,2024-03-01,2024-03-31,5,2,,\n"
        "Social,2024-03-01,2024-03-31,50,,60,90\n"
        "Search,2024-03-01,2024-03-31,-10,,-40,20\n"
    )
    code = main(["ingest", "lift_tests", str(bad), "--db", str(tmp_path / "s.duckdb")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[1:] == [
        "lift.csv row 1, field 'end': the test ends (2024-03-01) before it starts (2024-03-05)",
        "lift.csv row 2, field 'incremental_revenue': give exactly one of incremental_revenue "
        "or incremental_conversions",
        "lift.csv row 3, field 'incremental_revenue': the estimate 50.0 is below its lower "
        "bound 60.0",
    ]


def test_cli_attribute_shows_both_columns_and_no_calibration_hides_them(
    lift_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # linear (conftest): Search 100 over January, the test says 20 (10 to 30): factor 0.2;
    # Email 0.5 conversion, the test says 0.5: inside, factor 1.
    assert main(["attribute", "--db", str(lift_db), "--model", "linear", "--format", "csv"]) == 0
    out = capsys.readouterr().out.replace("\r", "").splitlines()
    assert out[0] == (
        "channel,conversions,revenue,revenue_calibrated,calibration_factor,spend,roas,roi,cpa,"
        "impressions,clicks,ctr,cpc,cpm"
    )
    rows = {line.split(",")[0]: line.split(",") for line in out[1:]}
    assert rows["Search"][2:5] == ["100.0", "20.0", "0.2"]
    assert rows["Email"][2:5] == ["50.0", "50.0", "1.0"]
    plain = ["attribute", "--db", str(lift_db), "--model", "linear", "--format", "csv"]
    assert main([*plain, "--no-calibration"]) == 0
    assert "revenue_calibrated" not in capsys.readouterr().out


def test_api_ingests_lift_tests_and_calibrates_on_request(
    empty_client: TestClient, example_files: dict[str, Path]
) -> None:
    for table, path in example_files.items():
        with path.open("rb") as handle:
            assert empty_client.post(f"/v1/ingest/{table}", files={"file": handle}).is_success
    response = empty_client.post("/v1/ingest/lift_tests", files={"file": ("l.csv", LIFT_CSV)})
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 2
    body = empty_client.get("/v1/attribution", params={"model": "linear"}).json()
    assert body["calibration"]["factors"] == {"Email": 1.0, "Search": pytest.approx(0.2)}
    search = next(r for r in body["data"] if r["channel"] == "Search")
    assert (search["revenue"], search["revenue_calibrated"]) == (100.0, pytest.approx(20.0))
    plain = empty_client.get("/v1/attribution", params={"model": "linear", "calibrate": "false"})
    assert "calibration" not in plain.json()
    assert "revenue_calibrated" not in plain.json()["data"][0]


def test_api_refuses_a_bad_lift_test_as_problem_json(
    empty_client: TestClient, assert_problem: Any
) -> None:
    rows = [{"channel": "Email", "start": "2024-03-01", "end": "2024-03-31"}]
    response = empty_client.post("/v1/ingest/lift_tests", json=rows)
    body = assert_problem(response, 422, "Validation failed")
    assert body["errors"][0]["field"] == "incremental_revenue"
    assert body["errors"][0]["row"] == 1


def test_cli_attribute_files_with_lift_tests(
    tmp_path: Path, example_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    lift = tmp_path / "lift.csv"
    lift.write_text(LIFT_CSV)
    files = ["--touchpoints", str(example_files["touchpoints"])]
    files += ["--conversions", str(example_files["conversions"]), "--lift-tests", str(lift)]
    assert main(["attribute", *files, "--model", "linear", "--format", "csv"]) == 0
    out = capsys.readouterr().out.replace("\r", "").splitlines()
    search = next(line.split(",") for line in out if line.startswith("Search,"))
    assert search[2:5] == ["100.0", "20.0", "0.2"]
    store_mode = ["attribute", "--model", "linear", "--lift-tests", str(lift)]
    assert main([*store_mode, "--db", str(tmp_path / "s.duckdb")]) == 2
    assert "--lift-tests goes with --touchpoints" in capsys.readouterr().err
