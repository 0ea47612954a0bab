"""The design stage from a user's study file: plan lock, design tables, assignment."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from flows.cli import app
from flows.estimation import estimate_study
from flows.ingest import ingest_wave
from flows.plan import read_plan
from flows.report import build_report
from flows.study import load_study
from tests.flows.estimation.survey import SurveySettings, write_survey_study

runner = CliRunner()


def test_a_locked_plan_then_a_changed_primary_outcome_is_a_deviation_in_the_report(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="planned"))
    study = load_study(study_file)
    ingest_wave(study, study.inbox / "baseline.csv")
    locked = runner.invoke(app, ["plan", "lock", str(study_file)])
    assert locked.exit_code == 0, locked.output
    plan = read_plan(study)
    assert plan is not None and plan.sha256 in locked.output
    assert plan.primary == ["irregular_intention", "risk_perception", "trust_official"]

    ingest_wave(study, study.inbox / "endline.csv")
    # Once the endline is stored a new lock is refused unless the reason is given.
    refused = runner.invoke(app, ["plan", "lock", str(study_file)])
    assert refused.exit_code == 2
    assert "already stored" in refused.output and "--reason" in refused.output

    text = study_file.read_text(encoding="utf-8").replace(
        'primary = ["irregular_intention", "risk_perception", "trust_official"]',
        'primary = ["irregular_intention", "risk_self_death", "trust_official"]',
    )
    study_file.write_text(text, encoding="utf-8")
    changed = load_study(study_file)
    run = estimate_study(changed, bootstrap_draws=49, lee_draws=10, seed=3)
    report = build_report(changed, run_id=run.run_id, out_dir=tmp_path / "report")
    page = report.read_text(encoding="utf-8")
    methods = page[page.index('id="methods"') :]
    assert plan.sha256 in methods
    assert "Deviations from the plan" in methods
    # the deviation names the outcomes by their labels, as the rest of the report
    assert (
        "added [&#39;Own risk of dying on the way&#39;], dropped "
        "[&#39;Perceived risks of the irregular journey&#39;]"
    ) in methods
    # The scorecard reads the plan's mapping and names the plan as its source.
    assert "the locked pre-analysis plan" in page


def test_a_late_lock_with_a_reason_is_recorded_and_a_tampered_plan_is_refused(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="late"))
    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    result = runner.invoke(
        app, ["plan", "lock", str(study_file), "--reason", "protocol registered on paper"]
    )
    assert result.exit_code == 0, result.output
    stored = json.loads((study.root / "plan.lock.json").read_text(encoding="utf-8"))
    assert stored["reason"] == "protocol registered on paper"
    assert stored["stored_waves_at_lock"] == ["baseline", "endline"]
    stored["content"]["primary_outcomes"] = ["trust_official"]
    (study.root / "plan.lock.json").write_text(json.dumps(stored), encoding="utf-8")
    shown = runner.invoke(app, ["plan", "show", str(study_file)])
    assert shown.exit_code == 2
    assert "changed after it was locked" in shown.output


def test_design_prints_the_mde_of_each_primary_outcome_and_writes_power_curves(
    tmp_path: Path,
) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="designed"))
    html = tmp_path / "curves.html"
    result = runner.invoke(
        app,
        ["design", str(study_file), "--clusters", "40", "--cluster-size", "15", "--icc", "0.05",
         "--html", str(html)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # 40 x 15, ICC 0.05, ANCOVA without R²: MDE 0.306 SD (measurement.power's doctest)
    assert "0.306" in result.output
    assert "irregular_intention" in result.output
    assert html.read_text(encoding="utf-8").count("<polyline") == 3
    bad = runner.invoke(app, ["design", str(study_file), "--icc", "high"])
    assert bad.exit_code == 2 and "is not a number" in bad.output


def test_design_reads_icc_and_r_squared_from_the_stored_waves(tmp_path: Path) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="pilot"))
    study = load_study(study_file)
    for path in sorted(study.inbox.iterdir()):
        ingest_wave(study, path)
    result = runner.invoke(
        app,
        ["design", str(study_file), "--from-baseline", "--clusters", "60", "--simulations", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "From the stored waves" in result.output and "baseline R²" in result.output
    assert "Design diagnosis: 3 simulated studies per outcome" in result.output


def test_assign_writes_the_arm_column_reproducibly_with_its_record(tmp_path: Path) -> None:
    study_file = write_survey_study(tmp_path / "study", SurveySettings(study_id="assigned"))
    units = tmp_path / "communities.csv"
    pd.DataFrame(
        {
            "community": [f"c{i}" for i in range(20)],
            "region": ["north"] * 10 + ["south"] * 10,
            "population": range(100, 2100, 100),
        }
    ).to_csv(units, index=False)
    arguments = ["assign", str(study_file), "--units", str(units), "--seed", "9",
                 "--covariates", "population", "--max-difference", "0.2"]  # fmt: skip
    first = runner.invoke(app, [*arguments, "--out", str(tmp_path / "a.csv")])
    second = runner.invoke(app, [*arguments, "--out", str(tmp_path / "b.csv")])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    drawn = pd.read_csv(tmp_path / "a.csv")
    assert drawn.groupby("region")["arm"].value_counts().unstack().eq(5).all().all()
    record = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert record["seed"] == 9 and "0.2" in record["rule"] and record["draws"] >= 1
    assert abs(record["balance"][0]["standardized_difference"]) <= 0.2
    assert second.exit_code == 0
    wrong = tmp_path / "villages.csv"
    pd.DataFrame({"village": ["a", "b"]}).to_csv(wrong, index=False)
    missing = runner.invoke(app, ["assign", str(study_file), "--units", str(wrong), "--seed", "1"])
    assert missing.exit_code == 2
    assert "has no column 'community'" in missing.output
