"""``closedloop budget curves|plan|whatif`` on the example data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from ingest import Store, ingest_files

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"
FAST = ("--model", "linear", "--stage", "closed_won", "--bootstrap", "20", "--seed", "1")

Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("budget") / "budget.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [DATA / f"{table}.csv"])
    return str(path)


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_budget_curves_table(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "budget", "curves", *FAST, "--threshold", "3", "--db", db)
    assert code == 0, err
    assert out.startswith("response curves · model linear · stage closed_won · hill · ")
    assert "Paid Social" in out
    assert "threshold_spend" in out
    assert "note: Paid Search: held at current spend: marginal ROAS at current spend " in out
    assert "straddles break-even (1.00): the data cannot say whether more spend helps" in out


def test_budget_plan_json(capsys: Capture, db: str) -> None:
    code, out, _ = run(capsys, "budget", "plan", *FAST, "--format", "json", "--db", db)
    assert code == 0
    body = json.loads(out)
    rows = {r["channel"]: r for r in body["data"]}
    assert body["totals"]["recommended_spend"] == pytest.approx(body["totals"]["budget"])
    assert rows["Paid Social"]["status"] == "planned"
    assert rows["Organic Search"]["status"] == "no spend"
    assert rows["Organic Search"]["roas"] is None
    assert {"observed", "curve", "marks"} <= set(rows["Paid Social"]["points"])
    low, high = body["totals"]["revenue_low"], body["totals"]["revenue_high"]
    assert low < body["totals"]["predicted_revenue"] < high


def test_budget_plan_csv_with_bounds(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys, "budget", "plan", *FAST, "--budget", "19000", "--min", "Email=-20%",
        "--lock", "Paid Social", "--format", "csv", "--db", db,
    )  # fmt: skip
    assert code == 0
    header, *rows = out.strip().split("\r\n")
    assert header.startswith("channel,status,current_spend,recommended_spend,change,")
    social = next(r for r in rows if r.startswith("Paid Social,"))
    assert social.startswith("Paid Social,locked,")


def test_budget_plan_infeasible_exits_2(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "budget", "plan", *FAST, "--budget", "100", "--db", db)
    assert code == 2
    assert out == ""
    assert err.startswith(
        "closedloop budget: error: Bounds that cannot hold: the minimum spends add up to "
    )


def test_budget_whatif(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys, "budget", "whatif", *FAST, "--allocation", "Paid Social=+20%", "--db", db
    )
    assert code == 0
    assert out.startswith("what-if · model linear · by channel")


def test_budget_whatif_needs_allocation(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "budget", "whatif", *FAST, "--db", db)
    assert code == 2
    assert "`budget whatif` needs --allocation CHANNEL=SPEND" in err


def test_budget_bad_pair(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "budget", "plan", *FAST, "--min", "Display", "--db", db)
    assert code == 2
    assert err == (
        "closedloop budget: error: Bad --min 'Display': expected CHANNEL=VALUE, "
        'e.g. --min "Paid Search=-20%".\n'
    )


def test_budget_curves_estimate_the_decay_and_report_its_profile(capsys: Capture, db: str) -> None:
    code, out, _ = run(capsys, "budget", "curves", *FAST, "--format", "json", "--db", db)
    assert code == 0
    body = json.loads(out)
    assert body["decay"] == "auto"
    assert body["pooling"]["channels"] >= 3
    assert set(body["pooling"]) == {"channels", "log_half", "log_shape"}
    fitted = [r for r in body["data"] if r["status"] != "no spend"]
    for row in fitted:
        profile = row["decay_profile"]
        assert set(profile) == {f"{d / 10:.1f}" for d in range(10)}
        assert max(profile.values()) == 0.0
        assert row["decay"] in {float(d) for d in profile}
        assert row["pooled"] is True
        assert row["marginal_roas_low"] <= row["marginal_roas_high"]
        held = row["status"] == "not enough evidence"
        assert (row["held_reason"] is not None) == held
        if held:
            assert row["marginal_roas_low"] < 1.0 < row["marginal_roas_high"]


def test_budget_curves_with_a_fixed_decay(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys, "budget", "curves", *FAST, "--decay", "0.3", "--format", "json", "--db", db
    )
    assert code == 0
    body = json.loads(out)
    assert body["decay"] == 0.3
    fitted = [r for r in body["data"] if r["status"] != "no spend"]
    assert {r["decay"] for r in fitted} == {0.3}
    assert all(r["decay_profile"] is None for r in fitted)


def test_budget_bad_decay(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "budget", "curves", *FAST, "--decay", "fast", "--db", db)
    assert code == 2
    assert err == (
        "closedloop budget: error: The 'decay' parameter must be 'auto' or a number >= 0 and < 1 "
        "(e.g. 0.3). Got 'fast' instead.\n"
    )
