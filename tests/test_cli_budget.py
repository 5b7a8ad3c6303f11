"""``closedloop budget curves|plan|whatif`` on the example data."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from api.cli import main
from ingest import Store, ingest_files

DATA = Path(__file__).resolve().parent.parent / "examples" / "data"
# Views count over the lookback: the example data's Paid Social then has a curve to plan with.
FAST = ("--model", "linear", "--stage", "closed_won", "--bootstrap", "20", "--seed", "1",
        "--view-window-days", "90")  # fmt: skip

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
        "--view-window-days", "90",  # Display's impressions count: it has a curve
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


def test_budget_plan_for_a_quarter(capsys: Capture, db: str) -> None:
    code, out, err = run(
        capsys, "budget", "plan", *FAST, "--period", "quarter", "--budget", "250000", "--db", db
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith(" · hill curves · ±30% rail · USD per quarter")
    assert "a week" in lines[2]
    total = "budget $250,000.00 per quarter ($19,230.77 a week): "  # 250,000 / 13 weeks
    assert any(line.startswith(total) for line in lines)


def test_budget_plan_quarter_json_states_the_period(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys, "budget", "plan", *FAST, "--period", "quarter", "--budget", "250000",
        "--max-change", "0.5", "--format", "json", "--db", db,
    )  # fmt: skip
    assert code == 0
    body = json.loads(out)
    assert (body["period"], body["weeks_per_period"], body["max_change"]) == ("quarter", 13, 0.5)
    assert body["totals"]["budget"] == 250_000
    assert body["totals"]["budget_weekly"] == pytest.approx(250_000 / 13)
    for row in body["data"]:
        assert row["recommended_spend"] == pytest.approx(13 * row["recommended_weekly"])
        if row["status"] == "planned":
            change = row["recommended_spend"] / row["current_spend"] - 1
            assert -0.5 - 1e-9 <= change <= 0.5 + 1e-9


def test_budget_arithmetic_is_refused_with_the_period_to_use(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "budget", "plan", *FAST, "--budget", "250000/13", "--db", db)
    assert code == 2
    assert out == ""
    assert err == (
        "closedloop budget: error: --budget must be a plain amount such as 250000, not "
        "arithmetic ('250000/13'). Give the budget of the period you plan and name the period: "
        "--period quarter --budget 250000 (or month, week).\n"
    )


def test_budget_max_change_none_and_bad(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys, "budget", "plan", *FAST, "--max-change", "none", "--format", "json", "--db", db
    )
    assert code == 0
    assert json.loads(out)["max_change"] is None
    code, _, err = run(capsys, "budget", "plan", *FAST, "--max-change", "30%", "--db", db)
    assert code == 2
    assert err.startswith("closedloop budget: error: --max-change must be a fraction of current")


def test_budget_cut_to_zero_needs_allow_zero(capsys: Capture, db: str) -> None:
    views: tuple[str, ...] = ()
    code, _, err = run(
        capsys, "budget", "plan", *FAST, *views, "--min", "Paid Social=0", "--db", db
    )
    assert code == 2
    assert '--allow-zero "Paid Social"' in err
    code, out, err = run(
        capsys, "budget", "plan", *FAST, *views, "--min", "Paid Social=0", "--allow-zero",
        "--format", "json", "--db", db,
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body["allow_zero"] is True
    display = next(r for r in body["data"] if r["channel"] == "Paid Social")
    assert display["lower"] == 0


def test_budget_period_is_not_for_curves(capsys: Capture, db: str) -> None:
    code, _, err = run(capsys, "budget", "curves", *FAST, "--period", "month", "--db", db)
    assert code == 2
    assert "--period goes with `budget plan` and `budget whatif`" in err


def test_budget_whatif_for_a_month(capsys: Capture, db: str) -> None:
    code, out, _ = run(
        capsys, "budget", "whatif", *FAST, "--period", "month", "--allocation",
        "Paid Social=+20%", "--format", "json", "--db", db,
    )  # fmt: skip
    assert code == 0
    body = json.loads(out)
    assert body["period"] == "month"
    social = next(r for r in body["data"] if r["channel"] == "Paid Social")
    assert social["spend"] == pytest.approx(52 / 12 * social["spend_weekly"])
    assert social["spend"] == pytest.approx(1.2 * social["current_spend"])


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_budget_shows_progress_on_a_terminal(
    capsys: Capture, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    # --bootstrap 7: a query no other test asked, so the curves are fitted, not found in a cache.
    fast = ("--model", "linear", "--stage", "closed_won", "--bootstrap", "7", "--seed", "1")
    code = main(["budget", "curves", *fast, "--db", db])
    assert code == 0
    drawn = terminal.getvalue()
    assert "\rbudget curves …\x1b[K" in drawn
    assert "\rbudget curves › attributing (linear) …\x1b[K" in drawn
    fits = re.findall(r"\rbudget curves › curve fits: ([\d,]+) of ([\d,]+) fits", drawn)
    assert fits
    assert fits[-1][0] == fits[-1][1]  # the last step is always drawn
    assert drawn.endswith("\r\x1b[K")  # and the line erased before the results print
    assert capsys.readouterr().out.startswith("response curves · model linear")


def test_budget_is_quiet_when_piped(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "budget", "curves", *FAST, "--bootstrap", "8", "--db", db)
    assert code == 0
    assert out
    assert err == ""


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


# Plans across models: FAST without its --model.
ACROSS = ("--stage", "closed_won", "--bootstrap", "20", "--seed", "1", "--view-window-days", "90")


def test_budget_plan_across_the_default_models(capsys: Capture, db: str) -> None:
    code, out, err = run(
        capsys, "budget", "plan", *ACROSS, "--period", "quarter", "--budget", "250000", "--db", db
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("budget plan across 3 models · stage closed_won · by channel · ")
    assert lines[0].endswith(" · ±30% rail · robust: worst case · USD per quarter")
    header = lines[2]
    for column in ("spend now", "markov", "linear", "position_based", "robust", "robust %"):
        assert f" {column} " in header
    assert any(
        line.startswith("predicted revenue of each plan (rows) under each model") for line in lines
    )
    plans = [line.split("┆")[0].strip("│ ") for line in lines if "┆" in line]
    assert {"current", "markov", "linear", "position_based", "robust"} <= set(plans)
    assert any(
        line.startswith("robust plan (worst case across models): change from now ")
        for line in lines
    )
    # The one number style: spends and revenues in dollars, changes in percent.
    rows = [[c.strip(" │") for c in line.split("┆")] for line in lines if "┆" in line]
    first = rows[1]  # the first channel of the side-by-side table
    assert all(cell.startswith("$") for cell in first[2:4]), first
    assert first[4].endswith("%"), first
    current = next(r for r in rows if r[0] == "current")
    assert all(cell.startswith("$") for cell in current[1:5]), current


def test_budget_plan_across_models_json_and_csv(capsys: Capture, db: str) -> None:
    code, out, err = run(
        capsys, "budget", "plan", *ACROSS, "--models", "markov,linear", "--robust", "mean",
        "--format", "json", "--db", db,
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body["models"] == ["markov", "linear"]
    assert sorted(body["plans"]) == ["linear", "markov"]
    assert body["plans"]["markov"]["model"] == "markov"
    assert body["robust"]["objective"] == "mean"
    robust = body["robust"]["totals"]
    assert robust["recommended_spend"] == pytest.approx(robust["budget"])
    assert set(robust["regret"]) == {"markov", "linear"}
    matrix = {row["plan"]: row for row in body["matrix"]}
    assert list(matrix) == ["current", "markov", "linear", "robust"]
    # Each model's own plan, scored under its own curves, is what that plan predicts.
    for model in ("markov", "linear"):
        own = body["plans"][model]["totals"]["predicted_revenue"]
        assert matrix[model][model] == pytest.approx(own)
    assert (
        matrix["robust"]["mean_change"]
        >= max(matrix[m]["mean_change"] for m in ("markov", "linear")) - 1e-6
    )
    code, out, _ = run(
        capsys, "budget", "plan", *ACROSS, "--models", "markov,linear", "--format", "csv",
        "--db", db,
    )  # fmt: skip
    assert code == 0
    assert out.startswith(
        "channel,status,held_by,current_spend,markov,markov_change_pct,linear,linear_change_pct,"
        "robust,robust_change_pct,binding\r\n"
    )


def test_budget_model_and_models_together_is_a_usage_error(capsys: Capture, db: str) -> None:
    code, out, err = run(capsys, "budget", "plan", *FAST, "--models", "markov,linear", "--db", db)
    assert code == 2
    assert out == ""
    assert err == (
        "closedloop budget: error: --model and --models do not go together: --model NAME plans "
        "under one model, --models A,B,... (or all) under several, side by side. "
        "Give one of them.\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(("curves", "--models", "markov,linear"), "--models go(es) with `budget plan`",
                     id="models-on-curves"),
        pytest.param(("plan", "--models", "markov"), "A plan across models needs two models",
                     id="one-model"),
        pytest.param(("plan", "--models", "markov,markov"), "Each model can be planned under once",
                     id="twice"),
        pytest.param(("plan", "--param", "half_life_days=3"), "--param goes with --model NAME",
                     id="param"),
        pytest.param(("plan", "--model", "linear", "--robust", "mean"),
                     "--robust goes with a plan across models", id="robust-with-model"),
    ],
)  # fmt: skip
def test_budget_models_errors(
    capsys: Capture, db: str, argv: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, "budget", *argv, *ACROSS, "--db", db)
    assert code == 2
    assert out == ""
    assert message in err


def test_budget_plan_across_models_shows_progress_per_model(
    capsys: Capture, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    # --bootstrap 6: a query no other test asked, so the curves are fitted, not found in a cache.
    code = main(
        ["budget", "plan", "--models", "linear,first_touch", "--bootstrap", "6", "--db", db]
    )
    assert code == 0
    drawn = terminal.getvalue()
    assert "\rbudget plan › model 1/2: linear › curve fits: " in drawn
    assert "\rbudget plan › model 2/2: first_touch › curve fits: " in drawn


def test_budget_cli_copies_of_the_robust_names() -> None:
    from api.cli import budget
    from attribution.budget.robust import DEFAULT_MODELS, ROBUST_OBJECTIVES

    assert budget.ROBUST_OBJECTIVES == ROBUST_OBJECTIVES
    assert tuple(budget.DEFAULT_PLAN_MODELS.split(",")) == DEFAULT_MODELS


def test_budget_bound_on_a_channel_one_model_holds_names_the_model(
    capsys: Capture, db: str
) -> None:
    # Under position_based, Paid Social's marginal ROAS interval straddles break-even.
    code, out, err = run(capsys, "budget", "plan", *ACROSS, "--min", "Paid Social=-10%", "--db", db)
    assert code == 2
    assert out == ""
    assert err.startswith(
        "closedloop budget: error: Under the position_based curves: 'Paid Social' has not "
        "enough evidence for a response curve ("
    )
    assert err.endswith(
        "remove its bound. Or plan without position_based: --models markov,linear.\n"
    )
